// dhcp_server: a small DHCP server (RFC 2131) for one subnet. DISCOVER gets an
// OFFER of the client's existing lease or the next free address of the pool;
// REQUEST gets an ACK when it names our offer (or renews our lease) and a NAK
// otherwise. Replies are broadcast (4.1: a client without an address cannot
// take unicast). Leases are kept in the app, so a crash forgets them, as a
// server without stable storage would; clients then renew into a NAK and
// start over, which is what a DHCP scenario with crashes can show.
#include "workload.hpp"

#include <gantry/net/stack/stack.hpp>
#include <gantry/net/wire/dhcp.hpp>

namespace gantry::harness {

namespace {

constexpr usize leases_max = 4096;
constexpr usize message_bytes_max = 576;

struct Lease {
    net::MacAddress client;
    u32 address = 0;
    bool bound = false; // ACKed (an offer only reserves it)
};

class DhcpServer final : public App {
public:
    DhcpServer(const WorkloadSpec& spec, u32 own_ip, u8 prefix, WorkloadLog& log, usize node)
        : m_spec(spec), m_own_ip(own_ip), m_prefix(prefix), m_log(log), m_node(node)
    {
    }

    int main(Kernel& kernel, AppArgs) override
    {
        net::NetStack* stack = kernel.net();
        if (!stack) {
            kernel.log().error("dhcp_server: no network");
            return 1;
        }
        auto bound = stack->udp_bind(net::dhcp_server_port);
        if (!bound.ok()) {
            kernel.log().error("dhcp_server: cannot bind port 67");
            return 1;
        }
        net::UdpSocket& socket = *bound.value();
        kernel.log().info("dhcp_server: serving {} addresses", pool_size());
        for (;;) {
            auto got = socket.recv_from(MutableBytes(m_in, sizeof(m_in)));
            if (!got.ok())
                return 0;
            handle(kernel, socket, Bytes(m_in, got.value().length));
        }
    }

private:
    u32 pool_size() const { return m_spec.pool_last - m_spec.pool_first + 1; }

    void count(const char* name) { m_log.service_counters.at(m_node)[name]++; }

    void handle(Kernel& kernel, net::UdpSocket& socket, Bytes message)
    {
        auto packet = net::DhcpPacket::check(message);
        if (!packet.ok())
            return;
        auto parsed = net::DhcpRepr::parse(packet.value());
        if (!parsed.ok() || parsed.value().op != net::DhcpOp::request)
            return;
        const net::DhcpRepr& request = parsed.value();
        if (request.message_type == net::DhcpMessageType::discover)
            return offer(kernel, socket, request);
        if (request.message_type == net::DhcpMessageType::request)
            return acknowledge(kernel, socket, request);
    }

    Lease* find(net::MacAddress client)
    {
        for (usize i = 0; i < m_lease_count; ++i)
            if (m_leases[i].client == client)
                return &m_leases[i];
        return nullptr;
    }

    Lease* reserve(net::MacAddress client)
    {
        if (Lease* lease = find(client))
            return lease;
        if (m_lease_count == leases_max || m_lease_count == pool_size())
            return nullptr;
        Lease& lease = m_leases[m_lease_count];
        lease = {client, m_spec.pool_first + static_cast<u32>(m_lease_count), false};
        ++m_lease_count;
        return &lease;
    }

    void offer(Kernel& kernel, net::UdpSocket& socket, const net::DhcpRepr& request)
    {
        Lease* lease = reserve(request.client_mac);
        if (!lease) {
            kernel.log().info("dhcp_server: pool exhausted");
            return;
        }
        reply(socket, request, net::DhcpMessageType::offer, lease->address);
        count("dhcp.offers");
    }

    void acknowledge(Kernel& kernel, net::UdpSocket& socket, const net::DhcpRepr& request)
    {
        // SELECTING names a server; a request for another server's offer is
        // not ours to answer (RFC 2131 4.3.2).
        if (request.server_id && request.server_id->to_u32() != m_own_ip)
            return;
        u32 wanted = request.requested_ip ? request.requested_ip->to_u32()
                                          : request.client_ip.to_u32();
        Lease* lease = find(request.client_mac);
        if (!lease || lease->address != wanted) {
            reply(socket, request, net::DhcpMessageType::nak, 0);
            count("dhcp.naks");
            return;
        }
        if (!lease->bound) {
            lease->bound = true;
            count("dhcp.leases");
        }
        reply(socket, request, net::DhcpMessageType::ack, lease->address);
        count("dhcp.acks");
        char text[net::Ipv4Address::text_bytes_max] = {};
        net::Ipv4Address::from_u32(lease->address).to_chars(text);
        kernel.log().info("dhcp_server: ack {}", std::string_view(text));
    }

    void reply(net::UdpSocket& socket, const net::DhcpRepr& request, net::DhcpMessageType type,
               u32 address)
    {
        net::DhcpRepr answer;
        answer.op = net::DhcpOp::reply;
        answer.message_type = type;
        answer.xid = request.xid;
        answer.broadcast = net::DhcpBroadcast::yes;
        answer.your_ip = net::Ipv4Address::from_u32(address);
        answer.server_ip = net::Ipv4Address::from_u32(m_own_ip);
        answer.client_mac = request.client_mac;
        answer.server_id = net::Ipv4Address::from_u32(m_own_ip);
        if (type != net::DhcpMessageType::nak) {
            answer.subnet_mask = net::Ipv4Address::from_u32(
                m_prefix == 0 ? 0 : ~u32{0} << (32 - m_prefix));
            answer.lease_time_s = m_spec.lease_s;
            if (m_spec.router != 0)
                answer.router = net::Ipv4Address::from_u32(m_spec.router);
            for (u32 server : m_spec.dns_servers)
                answer.dns_servers[answer.dns_server_count++] = net::Ipv4Address::from_u32(server);
        }
        usize length = answer.buffer_len();
        GANTRY_ASSERT(length <= sizeof(m_out));
        answer.emit(MutableBytes(m_out, length));
        (void)socket.send_to(net::Ipv4Address::broadcast(), net::dhcp_client_port,
                             Bytes(m_out, length));
    }

    const WorkloadSpec& m_spec;
    u32 m_own_ip;
    u8 m_prefix;
    WorkloadLog& m_log;
    usize m_node;
    Lease m_leases[leases_max];
    usize m_lease_count = 0;
    u8 m_in[1500];
    u8 m_out[message_bytes_max];
};

} // namespace

App* make_dhcp_server(Kernel& kernel, const WorkloadSpec& spec, u32 own_ip, u8 prefix,
                      WorkloadLog& log, usize node)
{
    return kernel.heap().create<DhcpServer>(spec, own_ip, prefix, log, node);
}

} // namespace gantry::harness
