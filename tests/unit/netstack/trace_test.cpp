// Frames received, sent and dropped leave net_rx / net_tx / net_drop records
// that decode_fields reads back.
#include "net_fixture.hpp"
#include "trace_records.hpp"

#include <gantry/trace.hpp>

using namespace gantry;
using namespace gantry::testing;

namespace {

std::vector<std::pair<TraceKind, TraceFields>> net_records(Kernel& kernel)
{
    return decode_records(kernel.trace().buffered(),
                          {TraceKind::net_rx, TraceKind::net_tx, TraceKind::net_drop});
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
