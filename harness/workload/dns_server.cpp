// dns_server: an authoritative server for a fixed table of A records (RFC
// 1035 4.1): one question per query, an A answer from the table (its name
// compressed to point at the question) or NXDOMAIN. Enough for resolvers to
// be tested against, and to be crashed in a failover scenario.
#include "workload.hpp"

#include <gantry/net/stack/stack.hpp>
#include <gantry/net/wire/dns.hpp>

#include <cstring>

namespace gantry::harness {

namespace {

constexpr u16 dns_port = 53;
constexpr usize answer_bytes = 16; // name pointer, type, class, TTL, length, address
constexpr u16 rcode_nxdomain = 3;

class DnsServer final : public App {
public:
    DnsServer(const WorkloadSpec& spec, WorkloadLog& log, usize node)
        : m_spec(spec), m_log(log), m_node(node)
    {
    }

    int main(Kernel& kernel, AppArgs) override
    {
        net::NetStack* stack = kernel.net();
        if (!stack) {
            kernel.log().error("dns_server: no network");
            return 1;
        }
        auto bound = stack->udp_bind(dns_port);
        if (!bound.ok()) {
            kernel.log().error("dns_server: cannot bind port 53");
            return 1;
        }
        net::UdpSocket& socket = *bound.value();
        kernel.log().info("dns_server: {} records", m_spec.records.size());
        for (;;) {
            auto got = socket.recv_from(MutableBytes(m_in, sizeof(m_in)));
            if (!got.ok())
                return 0;
            const net::UdpMeta& meta = got.value();
            usize length = answer(Bytes(m_in, meta.length));
            if (length > 0)
                (void)socket.send_to(meta.source, meta.source_port, Bytes(m_out, length));
        }
    }

private:
    void count(const char* name) { m_log.service_counters.at(m_node)[name]++; }

    // The address for a question name, in the table (names compare
    // case-insensitively, RFC 4343).
    std::optional<u32> lookup(const net::DnsName& name) const
    {
        for (const auto& [record, address] : m_spec.records) {
            auto wire = net::DnsName::from_dotted(record);
            if (wire.ok() && wire.value().equals(name))
                return address;
        }
        return std::nullopt;
    }

    // Writes the response to m_out; 0 when the query gets no answer at all.
    usize answer(Bytes query)
    {
        auto packet = net::DnsPacket::check(query);
        if (!packet.ok() || packet.value().flags().has(net::DnsFlags::response))
            return 0;
        net::DnsRepr reply = net::DnsRepr::parse(packet.value());
        if (!reply.question)
            return 0;
        count("dns.queries");
        std::optional<u32> address;
        if (reply.question->type == net::DnsRecordType::a)
            address = lookup(reply.question->name);
        reply.flags.bits = static_cast<u16>(net::DnsFlags::response | net::DnsFlags::authoritative |
                                            (reply.flags.bits & net::DnsFlags::recursion_desired));
        if (!lookup(reply.question->name)) {
            reply.flags.bits |= rcode_nxdomain;
            count("dns.nxdomain");
        }
        usize length = reply.buffer_len();
        if (length + answer_bytes > sizeof(m_out))
            return 0;
        reply.emit(MutableBytes(m_out, length));
        if (!address)
            return length;
        u8* record = m_out + length;
        const u8 fields[answer_bytes] = {
            0xc0, 0x0c, 0, 1, 0, 1, // the question's name, type A, class IN
            static_cast<u8>(m_spec.ttl_s >> 24), static_cast<u8>(m_spec.ttl_s >> 16),
            static_cast<u8>(m_spec.ttl_s >> 8), static_cast<u8>(m_spec.ttl_s), 0, 4,
            static_cast<u8>(*address >> 24), static_cast<u8>(*address >> 16),
            static_cast<u8>(*address >> 8), static_cast<u8>(*address)};
        std::memcpy(record, fields, answer_bytes);
        m_out[7] = 1; // ANCOUNT
        count("dns.answers");
        return length + answer_bytes;
    }

    const WorkloadSpec& m_spec;
    WorkloadLog& m_log;
    usize m_node;
    u8 m_in[net::DnsPacket::udp_message_len_max];
    u8 m_out[net::DnsPacket::udp_message_len_max];
};

} // namespace

App* make_dns_server(Kernel& kernel, const WorkloadSpec& spec, WorkloadLog& log, usize node)
{
    return kernel.heap().create<DnsServer>(spec, log, node);
}

} // namespace gantry::harness
