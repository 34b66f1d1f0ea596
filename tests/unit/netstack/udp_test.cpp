// UDP sockets: blocking receive with deadlines, bounded queues, port unreachable
// and its rate limit.
#include "net_fixture.hpp"

using namespace gantry;
using namespace gantry::testing;
using net::DropReason;

namespace {

Frame udp_from_peer(u16 dport, const Frame& data, u16 sport = 5555)
{
    return from_peer_ip(ipv4(peer_ip, our_ip, net::IpProtocol::udp,
                             udp(peer_ip, our_ip, sport, dport, data)));
}

template<typename F>
void spawn(NetFixture& f, F&& body)
{
    Fiber* fiber = f.kernel().sched().spawn("test", std::forward<F>(body));
    REQUIRE(fiber);
    f.kernel().sched().detach(fiber);
}

} // namespace

TEST_CASE("a datagram reaches the bound socket's fiber byte for byte")
{
    NetFixture f;
    f.learn_peer();
    auto bound = f.stack->udp_bind(7);
    REQUIRE(bound.ok());
    net::UdpSocket* socket = bound.value();
    Frame received;
    net::UdpMeta meta{};
    bool done = false;
    spawn(f, [&] {
        u8 buffer[2048];
        auto got = socket->recv_from(MutableBytes(buffer, sizeof(buffer)));
        REQUIRE(got.ok());
        meta = got.value();
        received.assign(buffer, buffer + meta.length);
        // Echo it back, as apps/echo does.
        REQUIRE(socket->send_to(meta.source, meta.source_port, Bytes(buffer, meta.length)).ok());
        done = true;
    });
    f.kernel().poll(); // the reader blocks
    CHECK_FALSE(done);
    Frame data = pattern(1472);
    f.deliver(udp_from_peer(7, data));
    f.kernel().poll();
    REQUIRE(done);
    CHECK(received == data);
    CHECK(meta.source == peer_ip);
    CHECK(meta.source_port == 5555);
    auto sent = f.nic.take_sent();
    REQUIRE(sent.size() == 1);
    SentIpv4 echo = parse_sent_ipv4(sent[0]);
    auto checked = net::UdpPacket::check(Bytes(echo.payload), our_ip, peer_ip);
    REQUIRE(checked.ok());
    CHECK(checked.value().destination_port() == 5555);
    auto payload = checked.value().payload();
    CHECK(Frame(payload.begin(), payload.end()) == data);
    CHECK(f.stack->pool().stats().in_use == 0);
    socket->close();
}

TEST_CASE("recv_from returns timed_out at its deadline, and closed when closed")
{
    NetFixture f;
    auto socket = f.stack->udp_bind(7).release_value();
    TimeNs woke_at = 0;
    std::optional<net::UdpError> error;
    spawn(f, [&] {
        u8 buffer[16];
        auto got = socket->recv_from(MutableBytes(buffer, sizeof(buffer)),
                                     f.now() + 250 * ns_per_ms);
        woke_at = f.now();
        if (!got.ok())
            error = got.error();
    });
    f.tk.run_until_idle();
    REQUIRE(error);
    CHECK(*error == net::UdpError::timed_out);
    CHECK(woke_at == 250 * ns_per_ms);

    error.reset();
    spawn(f, [&] {
        u8 buffer[16];
        auto got = socket->recv_from(MutableBytes(buffer, sizeof(buffer)));
        if (!got.ok())
            error = got.error();
    });
    f.kernel().poll();
    CHECK_FALSE(error);
    socket->close();
    f.kernel().poll();
    REQUIRE(error);
    CHECK(*error == net::UdpError::closed);
}

TEST_CASE("a full receive queue drops and counts")
{
    NetFixture f;
    auto socket = f.stack->udp_bind(7).release_value();
    for (usize i = 0; i < net::UdpSocket::queue_max + 2; ++i)
        f.nic.inject(udp_from_peer(7, pattern(20, static_cast<u8>(i))));
    f.poll();
    f.poll();
    CHECK(socket->queued() == net::UdpSocket::queue_max);
    CHECK(socket->drops_queue_full() == 2);
    CHECK(f.stack->counters().dropped(DropReason::queue_full) == 2);
    // The oldest datagrams are kept, in order.
    u8 buffer[64];
    usize first = 0;
    spawn(f, [&] { first = socket->recv_from(MutableBytes(buffer, 64)).value().length; });
    f.kernel().poll();
    CHECK(first == 20);
    CHECK(buffer[1] == 7);
    socket->close();
    CHECK(f.stack->pool().stats().in_use == 0);
}

TEST_CASE("bind refuses a port in use and hands out ephemeral ports")
{
    NetFixture f;
    auto a = f.stack->udp_bind(7);
    REQUIRE(a.ok());
    auto b = f.stack->udp_bind(7);
    REQUIRE_FALSE(b.ok());
    CHECK(b.error() == net::UdpError::address_in_use);
    auto c = f.stack->udp_bind(0);
    REQUIRE(c.ok());
    CHECK(c.value()->port() == net::NetStack::ephemeral_port_first);
    a.value()->close();
    REQUIRE(f.stack->udp_bind(7).ok());
}

TEST_CASE("a closed port answers port unreachable, rate-limited by a token bucket")
{
    NetFixture f;
    f.learn_peer();
    for (int i = 0; i < 25; ++i)
        f.deliver(udp_from_peer(9999, pattern(30)));
    auto sent = f.nic.take_sent();
    REQUIRE(sent.size() == net::NetStack::icmp_tokens_max);
    SentIpv4 error = parse_sent_ipv4(sent[0]);
    auto icmp = net::Icmpv4Packet::check(Bytes(error.payload));
    REQUIRE(icmp.ok());
    CHECK(icmp.value().type() == net::Icmpv4Type::destination_unreachable);
    CHECK(icmp.value().code() == 3);
    // The quote starts with the offending IPv4 header.
    auto quoted = net::Ipv4Packet::check(icmp.value().data(), net::ChecksumCheck::verify);
    REQUIRE(quoted.ok());
    CHECK(quoted.value().destination() == our_ip);
    CHECK(f.stack->counters().dropped(DropReason::port_unreachable) == 25);
    CHECK(f.stack->counters().dropped(DropReason::rate_limited) == 15);
    // Tokens come back with time.
    f.tk.platform.advance(3 * net::NetStack::icmp_token_interval_ns);
    for (int i = 0; i < 5; ++i)
        f.deliver(udp_from_peer(9999, pattern(30)));
    CHECK(f.nic.take_sent().size() == 3);
}

TEST_CASE("datagrams to broadcast addresses reach sockets but never cause ICMP errors")
{
    NetFixture f;
    f.learn_peer();
    auto socket = f.stack->udp_bind(67).release_value();
    auto broadcast = net::Ipv4Address::from_u32(0x0a0000ff);
    f.deliver(ethernet(net::MacAddress::broadcast(), peer_mac, net::EtherType::ipv4,
                       ipv4(peer_ip, broadcast, net::IpProtocol::udp,
                            udp(peer_ip, broadcast, 68, 67, pattern(10)))));
    CHECK(socket->queued() == 1);
    f.deliver(ethernet(net::MacAddress::broadcast(), peer_mac, net::EtherType::ipv4,
                       ipv4(peer_ip, broadcast, net::IpProtocol::udp,
                            udp(peer_ip, broadcast, 68, 1234, pattern(10)))));
    CHECK(f.nic.take_sent().empty());
    socket->close();
}
