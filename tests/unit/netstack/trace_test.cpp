// Frames received, sent and dropped leave net_rx / net_tx / net_drop records
// that decode_fields reads back.
#include "net_fixture.hpp"

#include <gantry/trace.hpp>

using namespace gantry;
using namespace gantry::testing;

namespace {

class BufferSource final : public TraceSource {
public:
    explicit BufferSource(std::vector<u8> bytes) : m_bytes(std::move(bytes)) {}
    i64 read(MutableBytes out) override
    {
        usize count = std::min(out.size(), m_bytes.size() - m_position);
        std::copy_n(m_bytes.begin() + static_cast<long>(m_position), count, out.begin());
        m_position += count;
        return static_cast<i64>(count);
    }

private:
    std::vector<u8> m_bytes;
    usize m_position = 0;
};

std::vector<std::pair<TraceKind, TraceFields>> net_records(Kernel& kernel)
{
    u8 header[trace_file_header_bytes];
    Tracer::encode_file_header(header);
    std::vector<u8> file(header, header + sizeof(header));
    Bytes buffered = kernel.trace().buffered();
    file.insert(file.end(), buffered.begin(), buffered.end());
    BufferSource source(std::move(file));
    TraceReader reader(source);
    REQUIRE(reader.open().ok());
    std::vector<std::pair<TraceKind, TraceFields>> out;
    TraceRecord record{};
    for (;;) {
        auto more = reader.next(record);
        REQUIRE(more.ok());
        if (!more.value())
            break;
        if (record.kind != TraceKind::net_rx && record.kind != TraceKind::net_tx &&
            record.kind != TraceKind::net_drop)
            continue;
        TraceFields fields;
        REQUIRE(decode_fields(record, fields).ok());
        out.emplace_back(record.kind, fields);
    }
    return out;
}

} // namespace

TEST_CASE("frames in, frames out and drops are traced with addresses, ports and reasons")
{
    KernelConfig config;
    config.trace = true;
    NetFixture f(peer_ip, config);
    f.learn_peer();
    f.deliver(from_peer_ip(ipv4(peer_ip, our_ip, net::IpProtocol::udp,
                                udp(peer_ip, our_ip, 5555, 9, pattern(10)))));
    auto records = net_records(f.kernel());
    // announcement tx, ARP rx, ARP reply tx, UDP rx, ICMP error tx, drop.
    REQUIRE(records.size() == 6);
    CHECK(records[0].first == TraceKind::net_tx);
    CHECK(records[0].second.net.ethertype == 0x0806);
    CHECK(records[1].first == TraceKind::net_rx);
    const TraceFields& udp_rx = records[3].second;
    CHECK(records[3].first == TraceKind::net_rx);
    CHECK(udp_rx.net.ethertype == 0x0800);
    CHECK(udp_rx.net.protocol == 17);
    CHECK(udp_rx.net.source == peer_ip.to_u32());
    CHECK(udp_rx.net.destination == our_ip.to_u32());
    CHECK(udp_rx.net.source_port == 5555);
    CHECK(udp_rx.net.destination_port == 9);
    CHECK(udp_rx.net.length == 14 + 20 + 8 + 10);
    CHECK(records[4].first == TraceKind::net_tx);
    CHECK(records[4].second.net.protocol == 1);
    CHECK(records[5].first == TraceKind::net_drop);
    CHECK(records[5].second.reason == static_cast<u8>(net::DropReason::port_unreachable));
    CHECK(records[5].second.net.destination_port == 9);
}
