// The DHCP client (RFC 2131) against a scripted server: DISCOVER/OFFER/
// REQUEST/ACK, retransmission, renewal at T1 by unicast, NAK back to INIT.
#include "net_fixture.hpp"

#include <gantry/net/stack/dhcp_client.hpp>
#include <gantry/net/wire/dhcp.hpp>

using namespace gantry;
using namespace gantry::testing;

namespace {

const net::Ipv4Address server_ip = peer_ip;
const net::Ipv4Address leased_ip = net::Ipv4Address::from_u32(0x0a000032);

struct DhcpFixture {
    DhcpFixture() : nic(our_mac)
    {
        auto created = net::NetStack::create(*tk.kernel, nic, net::NetConfig{});
        REQUIRE(created.ok());
        stack = created.value();
        REQUIRE(stack->start_dhcp());
    }
    ~DhcpFixture()
    {
        stack->dhcp()->stop();
        tk.kernel->poll();
        net::NetStack::destroy(*tk.kernel, stack);
    }

    // Runs fibers and delivers queued frames; returns the DHCP messages sent.
    std::vector<net::DhcpRepr> step()
    {
        stack->poll(tk.platform.now());
        tk.kernel->poll();
        std::vector<net::DhcpRepr> out;
        for (const Frame& frame : nic.take_sent()) {
            auto eth = net::EthernetFrame::check(Bytes(frame));
            if (!eth.ok() || eth.value().ethertype() != net::EtherType::ipv4)
                continue;
            SentIpv4 ip = parse_sent_ipv4(frame);
            last_destination = ip.ip.destination;
            auto udp = net::UdpPacket::check(Bytes(ip.payload), ip.ip.source, ip.ip.destination);
            REQUIRE(udp.ok());
            REQUIRE(udp.value().destination_port() == net::dhcp_server_port);
            sent_storage.emplace_back(udp.value().payload().begin(), udp.value().payload().end());
            auto packet = net::DhcpPacket::check(Bytes(sent_storage.back()));
            REQUIRE(packet.ok());
            out.push_back(net::DhcpRepr::parse(packet.value()).release_value());
        }
        return out;
    }

    void reply(const net::DhcpRepr& request, net::DhcpMessageType type, u32 lease_s = 100,
               u32 t1_s = 10)
    {
        net::DhcpRepr message;
        message.op = net::DhcpOp::reply;
        message.message_type = type;
        message.xid = request.xid;
        message.your_ip = type == net::DhcpMessageType::nak ? net::Ipv4Address{} : leased_ip;
        message.client_mac = our_mac;
        message.server_id = server_ip;
        message.subnet_mask = net::Ipv4Address::from_u32(0xffffff00);
        message.router = server_ip;
        message.lease_time_s = lease_s;
        message.renewal_time_s = t1_s;
        Frame payload(message.buffer_len());
        message.emit(MutableBytes(payload));
        auto destination = net::Ipv4Address::broadcast();
        nic.inject(ethernet(net::MacAddress::broadcast(), peer_mac, net::EtherType::ipv4,
                            ipv4(server_ip, destination, net::IpProtocol::udp,
                                 udp(server_ip, destination, 67, 68, payload))));
    }

    TestKernel tk;
    TestNic nic;
    net::NetStack* stack = nullptr;
    net::Ipv4Address last_destination;
    std::deque<Frame> sent_storage;
};

} // namespace

TEST_CASE("dhcp: discover, offer, request, ack binds the address")
{
    DhcpFixture f;
    auto sent = f.step();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].message_type == net::DhcpMessageType::discover);
    CHECK(sent[0].broadcast == net::DhcpBroadcast::yes);
    CHECK(f.last_destination == net::Ipv4Address::broadcast());
    f.reply(sent[0], net::DhcpMessageType::offer);
    sent = f.step();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].message_type == net::DhcpMessageType::request);
    CHECK(sent[0].requested_ip == leased_ip);
    CHECK(sent[0].server_id == server_ip);
    f.reply(sent[0], net::DhcpMessageType::ack);
    f.step();
    CHECK(f.stack->dhcp()->state() == net::DhcpState::bound);
    CHECK(f.stack->address().address == leased_ip);
    CHECK(f.stack->address().prefix_len == 24);
    CHECK(f.stack->gateway() == server_ip);
}

TEST_CASE("dhcp: discover is retransmitted with backoff")
{
    DhcpFixture f;
    CHECK(f.step().size() == 1);
    f.tk.platform.advance(2 * ns_per_s);
    CHECK(f.step().empty()); // the first wait is 4 s +- 1 s
    f.tk.platform.advance(3 * ns_per_s);
    auto again = f.step();
    REQUIRE(again.size() == 1);
    CHECK(again[0].message_type == net::DhcpMessageType::discover);
}

TEST_CASE("dhcp: renews by unicast at T1; a NAK sends it back to INIT")
{
    DhcpFixture f;
    auto sent = f.step();
    f.reply(sent[0], net::DhcpMessageType::offer);
    sent = f.step();
    f.reply(sent[0], net::DhcpMessageType::ack, 100, 10);
    f.step();
    f.nic.take_sent();
    f.tk.platform.advance(10 * ns_per_s);
    f.step(); // the renewal needs the server's MAC first: an ARP request goes out
    f.nic.inject(ethernet(our_mac, peer_mac, net::EtherType::arp,
                          arp(net::ArpOperation::reply, peer_mac, server_ip, our_mac, leased_ip)));
    sent = f.step();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].message_type == net::DhcpMessageType::request);
    CHECK(sent[0].client_ip == leased_ip);
    CHECK(f.last_destination == server_ip);
    CHECK(f.stack->dhcp()->state() == net::DhcpState::renewing);
    f.reply(sent[0], net::DhcpMessageType::ack, 100, 10);
    f.step();
    CHECK(f.stack->dhcp()->renewals() == 1);
    CHECK(f.stack->dhcp()->state() == net::DhcpState::bound);

    f.tk.platform.advance(10 * ns_per_s);
    sent = f.step();
    REQUIRE(sent.size() == 1);
    f.reply(sent[0], net::DhcpMessageType::nak);
    sent = f.step();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].message_type == net::DhcpMessageType::discover);
    CHECK(f.stack->address().address.is_unspecified());
}
