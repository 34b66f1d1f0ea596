// The stack's link and network layers, driven frame by frame with explicit time.
#include "net_fixture.hpp"

#include <gantry/net/tcp/wire.hpp>

using namespace gantry;
using namespace gantry::testing;
using net::DropReason;

namespace {

net::ArpRepr parse_sent_arp(const Frame& frame)
{
    auto eth = net::EthernetFrame::check(Bytes(frame));
    REQUIRE(eth.ok());
    REQUIRE(eth.value().ethertype() == net::EtherType::arp);
    auto packet = net::ArpPacket::check(eth.value().payload());
    REQUIRE(packet.ok());
    return net::ArpRepr::parse(packet.value());
}

} // namespace

TEST_CASE("a new address is announced with a gratuitous ARP")
{
    NetFixture f;
    auto sent = f.nic.take_sent();
    REQUIRE(sent.size() == 1);
    net::ArpRepr announce = parse_sent_arp(sent[0]);
    CHECK(announce.operation == net::ArpOperation::request);
    CHECK(announce.sender_ip == our_ip);
    CHECK(announce.target_ip == our_ip);
    CHECK(announce.sender_mac == our_mac);
    CHECK(sent[0].size() == 60); // padded to the Ethernet minimum
}

TEST_CASE("an ARP request for our address is answered and its sender learned")
{
    NetFixture f;
    f.nic.take_sent();
    f.deliver(ethernet(net::MacAddress::broadcast(), peer_mac, net::EtherType::arp,
                       arp(net::ArpOperation::request, peer_mac, peer_ip, {}, our_ip)));
    auto sent = f.nic.take_sent();
    REQUIRE(sent.size() == 1);
    net::ArpRepr reply = parse_sent_arp(sent[0]);
    CHECK(reply.operation == net::ArpOperation::reply);
    CHECK(reply.sender_mac == our_mac);
    CHECK(reply.sender_ip == our_ip);
    CHECK(reply.target_mac == peer_mac);
    CHECK(reply.target_ip == peer_ip);
    CHECK(f.stack->arp_cache().lookup(peer_ip, f.now()) == peer_mac);
    CHECK(f.stack->counters().arp_replies_tx == 1);
}

TEST_CASE("an ARP request for another address gets no answer and teaches nothing")
{
    NetFixture f;
    f.nic.take_sent();
    auto other = net::Ipv4Address::from_u32(0x0a000063);
    f.deliver(ethernet(net::MacAddress::broadcast(), peer_mac, net::EtherType::arp,
                       arp(net::ArpOperation::request, peer_mac, peer_ip, {}, other)));
    CHECK(f.nic.take_sent().empty());
    CHECK_FALSE(f.stack->arp_cache().lookup(peer_ip, f.now()));
}

TEST_CASE("a packet waits for ARP resolution, then leaves to the resolved MAC")
{
    NetFixture f;
    f.nic.take_sent();
    auto socket = f.stack->udp_bind(0);
    REQUIRE(socket.ok());
    Frame data = pattern(100);
    REQUIRE(socket.value()->send_to(peer_ip, 9, Bytes(data)).ok());
    auto sent = f.nic.take_sent();
    REQUIRE(sent.size() == 1); // the ARP request only: the datagram is pending
    CHECK(parse_sent_arp(sent[0]).target_ip == peer_ip);
    CHECK(f.stack->next_deadline() == f.now() + net::ArpCache::retry_ns);

    f.deliver(ethernet(our_mac, peer_mac, net::EtherType::arp,
                       arp(net::ArpOperation::reply, peer_mac, peer_ip, our_mac, our_ip)));
    sent = f.nic.take_sent();
    REQUIRE(sent.size() == 1);
    SentIpv4 datagram = parse_sent_ipv4(sent[0]);
    CHECK(datagram.ethernet.destination == peer_mac);
    CHECK(datagram.ip.protocol == net::IpProtocol::udp);
    CHECK(datagram.payload.size() == 108);
    socket.value()->close();
}

TEST_CASE("ARP is retried once a second and pending packets drop after the last try")
{
    NetFixture f;
    f.nic.take_sent();
    auto socket = f.stack->udp_bind(0);
    REQUIRE(socket.ok());
    Frame data = pattern(10);
    REQUIRE(socket.value()->send_to(peer_ip, 9, Bytes(data)).ok());
    CHECK(f.nic.take_sent().size() == 1);
    for (int second = 1; second <= 2; ++second) {
        f.tk.platform.advance(net::ArpCache::retry_ns);
        f.poll();
        auto sent = f.nic.take_sent();
        REQUIRE(sent.size() == 1);
        CHECK(parse_sent_arp(sent[0]).target_ip == peer_ip);
    }
    CHECK(f.stack->counters().dropped(DropReason::arp_timeout) == 0);
    f.tk.platform.advance(net::ArpCache::retry_ns);
    f.poll();
    CHECK(f.nic.take_sent().empty());
    CHECK(f.stack->counters().dropped(DropReason::arp_timeout) == 1);
    CHECK(f.stack->counters().arp_requests_tx == 4); // announcement + 3 tries
    CHECK(f.stack->pool().stats().in_use == 0);
    socket.value()->close();
}

namespace {

// A binding for peer_ip learned from a request whose sender MAC was damaged
// in flight (ARP has no checksum): one bit of peer_mac flipped.
const net::MacAddress damaged_mac{{0x02, 0x00, 0x80, 0x00, 0x00, 0x01}};

void learn_damaged_binding(NetFixture& f)
{
    f.nic.take_sent();
    f.deliver(ethernet(net::MacAddress::broadcast(), peer_mac, net::EtherType::arp,
                       arp(net::ArpOperation::request, damaged_mac, peer_ip, {}, our_ip)));
    f.nic.take_sent(); // our reply, to the damaged address
    REQUIRE(f.stack->arp_cache().lookup(peer_ip, f.now()) == damaged_mac);
}

Frame echo_request_from_peer()
{
    return from_peer_ip(ipv4(peer_ip, our_ip, net::IpProtocol::icmp, icmp_echo(7, 1, pattern(8))));
}

} // namespace

// Found by simfuzz seed 2446: a pinger's ARP request reached a server with a
// flipped bit in its sender MAC, and the server's replies went to the wrong
// MAC for the 60 s the binding lived.
TEST_CASE("a packet from another MAC than the held binding starts a unicast poll of that binding")
{
    NetFixture f;
    learn_damaged_binding(f);
    f.deliver(echo_request_from_peer());
    auto sent = f.nic.take_sent();
    REQUIRE(sent.size() == 2); // the poll, then the echo reply (still to the held MAC)
    auto poll_eth = net::EthernetFrame::check(Bytes(sent[0]));
    REQUIRE(poll_eth.ok());
    CHECK(poll_eth.value().destination() == damaged_mac); // unicast, not broadcast
    net::ArpRepr poll = parse_sent_arp(sent[0]);
    CHECK(poll.operation == net::ArpOperation::request);
    CHECK(poll.target_ip == peer_ip);
    CHECK(parse_sent_ipv4(sent[1]).ethernet.destination == damaged_mac);

    // More packets during the poll do not start more polls.
    f.deliver(echo_request_from_peer());
    sent = f.nic.take_sent();
    REQUIRE(sent.size() == 1);
    CHECK(parse_sent_ipv4(sent[0]).ethernet.destination == damaged_mac);

    // Nobody owns the damaged MAC: two more polls a second apart, then the
    // binding is forgotten and the next packet resolves afresh by broadcast.
    for (int second = 1; second <= 2; ++second) {
        f.tk.platform.advance(net::ArpCache::retry_ns);
        f.poll();
        sent = f.nic.take_sent();
        REQUIRE(sent.size() == 1);
        CHECK(net::EthernetFrame::check(Bytes(sent[0])).value().destination() == damaged_mac);
    }
    f.tk.platform.advance(net::ArpCache::retry_ns);
    f.poll();
    CHECK(f.nic.take_sent().empty());
    CHECK_FALSE(f.stack->arp_cache().lookup(peer_ip, f.now()));
    CHECK(f.stack->counters().dropped(DropReason::arp_timeout) == 0); // nothing was waiting

    f.deliver(echo_request_from_peer());
    sent = f.nic.take_sent();
    REQUIRE(sent.size() == 1); // the reply waits for the broadcast resolution
    CHECK(net::EthernetFrame::check(Bytes(sent[0])).value().destination().is_broadcast());
    f.deliver(ethernet(our_mac, peer_mac, net::EtherType::arp,
                       arp(net::ArpOperation::reply, peer_mac, peer_ip, our_mac, our_ip)));
    sent = f.nic.take_sent();
    REQUIRE(sent.size() == 1);
    CHECK(parse_sent_ipv4(sent[0]).ethernet.destination == peer_mac);
}

TEST_CASE("a poll answered by the binding's owner keeps it, and quiets doubt for a while")
{
    NetFixture f;
    f.nic.take_sent();
    // The peer answers ARP as peer_mac but sends IP from another MAC (as a
    // host behind some bonding or VRRP set-ups does).
    f.deliver(ethernet(net::MacAddress::broadcast(), peer_mac, net::EtherType::arp,
                       arp(net::ArpOperation::request, peer_mac, peer_ip, {}, our_ip)));
    f.nic.take_sent();
    Frame from_other_mac = ethernet(our_mac, damaged_mac, net::EtherType::ipv4,
                                    ipv4(peer_ip, our_ip, net::IpProtocol::icmp,
                                         icmp_echo(7, 1, pattern(8))));
    f.deliver(from_other_mac);
    auto sent = f.nic.take_sent();
    REQUIRE(sent.size() == 2);
    CHECK(net::EthernetFrame::check(Bytes(sent[0])).value().destination() == peer_mac);
    f.deliver(ethernet(our_mac, peer_mac, net::EtherType::arp,
                       arp(net::ArpOperation::reply, peer_mac, peer_ip, our_mac, our_ip)));
    CHECK(f.stack->arp_cache().lookup(peer_ip, f.now()) == peer_mac);

    f.deliver(from_other_mac);
    CHECK(f.nic.take_sent().size() == 1); // the echo reply only: no second poll
    f.tk.platform.advance(net::ArpCache::doubt_quiet_ns);
    f.poll();
    f.nic.take_sent();
    f.deliver(from_other_mac);
    CHECK(f.nic.take_sent().size() == 2); // doubt may return once the quiet time is over
}

TEST_CASE("packets from the held MAC raise no doubt")
{
    NetFixture f;
    f.nic.take_sent();
    f.deliver(ethernet(net::MacAddress::broadcast(), peer_mac, net::EtherType::arp,
                       arp(net::ArpOperation::request, peer_mac, peer_ip, {}, our_ip)));
    f.nic.take_sent();
    f.deliver(echo_request_from_peer());
    auto sent = f.nic.take_sent();
    REQUIRE(sent.size() == 1);
    CHECK(parse_sent_ipv4(sent[0]).ethernet.destination == peer_mac);
    CHECK(f.stack->counters().arp_requests_tx == 1); // the announcement only
}

TEST_CASE("the ARP pending queue is bounded")
{
    NetFixture f;
    auto socket = f.stack->udp_bind(0);
    REQUIRE(socket.ok());
    Frame data = pattern(10);
    for (usize i = 0; i < net::NetStack::arp_pending_max + 3; ++i)
        REQUIRE(socket.value()->send_to(peer_ip, 9, Bytes(data)).ok());
    CHECK(f.stack->counters().dropped(DropReason::arp_pending_overflow) == 3);
    CHECK(f.stack->pool().stats().in_use == net::NetStack::arp_pending_max);
    socket.value()->close();
}

TEST_CASE("off-link destinations go through the gateway; without one there is no route")
{
    SECTION("gateway")
    {
        NetFixture f;
        f.learn_peer();
        auto socket = f.stack->udp_bind(0);
        Frame data = pattern(10);
        auto far = net::Ipv4Address::from_u32(0xc0a80101);
        REQUIRE(socket.value()->send_to(far, 9, Bytes(data)).ok());
        auto sent = f.nic.take_sent();
        REQUIRE(sent.size() == 1);
        SentIpv4 datagram = parse_sent_ipv4(sent[0]);
        CHECK(datagram.ethernet.destination == peer_mac);
        CHECK(datagram.ip.destination == far);
        socket.value()->close();
    }
    SECTION("no gateway")
    {
        NetFixture f(net::Ipv4Address{});
        auto socket = f.stack->udp_bind(0);
        Frame data = pattern(10);
        auto sent = socket.value()->send_to(net::Ipv4Address::from_u32(0xc0a80101), 9, Bytes(data));
        REQUIRE_FALSE(sent.ok());
        CHECK(sent.error() == net::UdpError::no_route);
        CHECK(f.stack->counters().dropped(DropReason::no_route) == 1);
        socket.value()->close();
    }
}

TEST_CASE("an echo request gets an echo reply with the same identifier, sequence and data")
{
    NetFixture f;
    f.learn_peer();
    Frame data = pattern(56);
    f.deliver(from_peer_ip(ipv4(peer_ip, our_ip, net::IpProtocol::icmp, icmp_echo(77, 3, data))));
    auto sent = f.nic.take_sent();
    REQUIRE(sent.size() == 1);
    SentIpv4 reply = parse_sent_ipv4(sent[0]);
    CHECK(reply.ethernet.destination == peer_mac);
    CHECK(reply.ip.source == our_ip);
    CHECK(reply.ip.destination == peer_ip);
    auto icmp = net::Icmpv4Packet::check(Bytes(reply.payload));
    REQUIRE(icmp.ok()); // includes the checksum
    CHECK(icmp.value().type() == net::Icmpv4Type::echo_reply);
    CHECK(icmp.value().ident() == 77);
    CHECK(icmp.value().sequence() == 3);
    CHECK(Frame(icmp.value().data().begin(), icmp.value().data().end()) == data);
    CHECK(f.stack->counters().icmp_echo_replies == 1);
}

TEST_CASE("receive checks drop and count bad frames by reason")
{
    NetFixture f;
    f.learn_peer();
    Frame packet = ipv4(peer_ip, our_ip, net::IpProtocol::icmp, icmp_echo(1, 1, pattern(8)));
    SECTION("bad IPv4 header checksum")
    {
        packet[10] ^= 0xff;
        f.deliver(from_peer_ip(packet));
        CHECK(f.stack->counters().dropped(DropReason::bad_checksum) == 1);
    }
    SECTION("truncated")
    {
        packet.resize(30);
        f.deliver(from_peer_ip(packet));
        CHECK(f.stack->counters().dropped(DropReason::truncated) == 1);
    }
    SECTION("another host's address")
    {
        packet = ipv4(peer_ip, net::Ipv4Address::from_u32(0x0a000009), net::IpProtocol::icmp,
                      icmp_echo(1, 1, pattern(8)));
        f.deliver(from_peer_ip(packet));
        CHECK(f.stack->counters().dropped(DropReason::not_for_us) == 1);
    }
    SECTION("unknown EtherType")
    {
        f.deliver(ethernet(our_mac, peer_mac, net::EtherType::ipv6, pattern(40)));
        CHECK(f.stack->counters().dropped(DropReason::unknown_protocol) == 1);
    }
    SECTION("unknown IP protocol answers protocol unreachable")
    {
        packet = ipv4(peer_ip, our_ip, static_cast<net::IpProtocol>(99), pattern(8));
        f.deliver(from_peer_ip(packet));
        CHECK(f.stack->counters().dropped(DropReason::unknown_protocol) == 1);
        CHECK(f.stack->counters().icmp_errors_tx == 1);
    }
    CHECK(f.nic.take_sent().size() == (f.stack->counters().icmp_errors_tx));
    CHECK(f.stack->counters().drops_total() == 1);
    CHECK(f.stack->pool().stats().in_use == 0);
}

TEST_CASE("ping waits for the matching echo reply and measures the round trip")
{
    NetFixture f;
    f.learn_peer();
    std::optional<Result<TimeNs, net::PingError>> result;
    Frame data = pattern(32);
    Fiber* pinger = f.kernel().sched().spawn("ping", [&] {
        result.emplace(f.stack->ping(peer_ip, 5, Bytes(data), f.now() + ns_per_s));
    });
    REQUIRE(pinger);
    f.kernel().sched().detach(pinger);
    f.kernel().poll();
    auto sent = f.nic.take_sent();
    REQUIRE(sent.size() == 1);
    SentIpv4 request = parse_sent_ipv4(sent[0]);
    auto icmp = net::Icmpv4Packet::check(Bytes(request.payload));
    REQUIRE(icmp.ok());
    CHECK(icmp.value().type() == net::Icmpv4Type::echo_request);
    CHECK(icmp.value().sequence() == 5);
    // A reply with the wrong sequence number is ignored; the right one wakes it.
    auto reply = [&](u16 sequence) {
        Frame message = icmp_echo(icmp.value().ident(), sequence, data);
        message[0] = 0; // echo reply
        message[2] = message[3] = 0;
        u16 checksum = net::internet_checksum(Bytes(message));
        message[2] = static_cast<u8>(checksum >> 8);
        message[3] = static_cast<u8>(checksum);
        return from_peer_ip(ipv4(peer_ip, our_ip, net::IpProtocol::icmp, message));
    };
    f.tk.platform.advance(3 * ns_per_ms);
    f.deliver(reply(6));
    f.kernel().poll();
    CHECK_FALSE(result);
    f.deliver(reply(5));
    f.kernel().poll();
    REQUIRE(result);
    REQUIRE(result->ok());
    CHECK(result->value() == 3 * ns_per_ms);
}

TEST_CASE("ping times out at its deadline")
{
    NetFixture f;
    f.learn_peer();
    std::optional<net::PingError> error;
    Fiber* pinger = f.kernel().sched().spawn("ping", [&] {
        auto got = f.stack->ping(peer_ip, 1, Bytes{}, f.now() + 100 * ns_per_ms);
        if (!got.ok())
            error = got.error();
    });
    REQUIRE(pinger);
    f.kernel().sched().detach(pinger);
    f.tk.run_until_idle();
    REQUIRE(error);
    CHECK(*error == net::PingError::timed_out);
}

namespace {

Frame tcp_segment(u8 flags, u32 seq, u32 ack)
{
    net::TcpRepr repr;
    repr.source_port = 40000;
    repr.destination_port = 80;
    repr.seq = net::SeqNumber(seq);
    repr.ack = net::SeqNumber(ack);
    repr.flags = flags;
    repr.window = 1000;
    Frame segment(repr.header_len());
    repr.emit(MutableBytes(segment.data(), segment.size()), peer_ip, our_ip, Bytes{});
    return segment;
}

} // namespace

TEST_CASE("TCP to a node that never used TCP gets a reset, not protocol unreachable")
{
    // RFC 9293 3.10.7.1: the port is CLOSED. The stack creates TCP only when
    // something uses it, so this is answered without creating it.
    NetFixture f;
    f.learn_peer();
    f.deliver(from_peer_ip(ipv4(peer_ip, our_ip, net::IpProtocol::tcp,
                                tcp_segment(net::TcpFlags::syn, 1000, 0))));
    auto sent = f.nic.take_sent();
    REQUIRE(sent.size() == 1);
    SentIpv4 reply = parse_sent_ipv4(sent[0]);
    CHECK(reply.ip.protocol == net::IpProtocol::tcp);
    auto packet = net::TcpPacket::check(Bytes(reply.payload), our_ip, peer_ip);
    REQUIRE(packet.ok());
    net::TcpRepr reset = net::TcpRepr::parse(packet.value());
    CHECK(reset.has(net::TcpFlags::rst));
    CHECK(reset.has(net::TcpFlags::ack));
    CHECK(reset.ack.value() == 1001); // SEG.SEQ + SEG.LEN of the SYN
    CHECK(reset.source_port == 80);
    CHECK(reset.destination_port == 40000);
    CHECK(f.stack->counters().icmp_errors_tx == 0);
    CHECK(f.stack->counters().dropped(DropReason::port_unreachable) == 1);

    // A reset is never answered, and a segment with a bad checksum is dropped.
    f.deliver(from_peer_ip(ipv4(peer_ip, our_ip, net::IpProtocol::tcp,
                                tcp_segment(net::TcpFlags::rst, 5, 0))));
    Frame bad = tcp_segment(net::TcpFlags::ack, 7, 9);
    bad[16] ^= 0x55;
    f.deliver(from_peer_ip(ipv4(peer_ip, our_ip, net::IpProtocol::tcp, bad)));
    CHECK(f.nic.take_sent().empty());
    CHECK(f.stack->counters().dropped(DropReason::bad_checksum) == 1);
}
