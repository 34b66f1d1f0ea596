// IPv4 reassembly (limits, timeout, overlaps) and fragmentation on send.
#include "net_fixture.hpp"

using namespace gantry;
using namespace gantry::testing;
using net::DropReason;

namespace {

// Splits an IPv4 payload into fragments of `chunk` bytes (a multiple of 8).
std::vector<Frame> fragments(const Frame& payload, net::IpProtocol proto, usize chunk, u16 ident)
{
    std::vector<Frame> out;
    for (usize offset = 0; offset < payload.size(); offset += chunk) {
        usize length = std::min(chunk, payload.size() - offset);
        Frame piece(payload.begin() + offset, payload.begin() + offset + length);
        IpOptions options;
        options.ident = ident;
        options.offset = static_cast<u16>(offset);
        options.more = offset + length < payload.size() ? net::MoreFragments::yes
                                                        : net::MoreFragments::no;
        out.push_back(from_peer_ip(ipv4(peer_ip, our_ip, proto, piece, options)));
    }
    return out;
}

// Reassembles what the stack sent (in order) and checks the fragment headers.
Frame reassemble_sent(const std::vector<Frame>& sent, usize& count)
{
    Frame whole;
    count = 0;
    for (const Frame& frame : sent) {
        SentIpv4 piece = parse_sent_ipv4(frame);
        REQUIRE(piece.ip.fragment_offset == whole.size());
        REQUIRE(frame.size() <= 1514);
        whole.insert(whole.end(), piece.payload.begin(), piece.payload.end());
        count++;
        bool last = piece.ip.more_fragments == net::MoreFragments::no;
        REQUIRE(last == (&frame == &sent.back()));
    }
    return whole;
}

} // namespace

TEST_CASE("a fragmented echo request is reassembled and answered in fragments")
{
    NetFixture f;
    f.learn_peer();
    Frame data = pattern(4000);
    Frame request = icmp_echo(9, 1, data);
    auto pieces = fragments(request, net::IpProtocol::icmp, 1480, 42);
    REQUIRE(pieces.size() == 3);
    // Out of order, with a duplicate.
    f.deliver(pieces[2]);
    f.deliver(pieces[0]);
    f.deliver(pieces[0]);
    CHECK(f.nic.sent().empty());
    CHECK(f.stack->reassembler().in_progress() == 1);
    f.deliver(pieces[1]);
    CHECK(f.stack->reassembler().in_progress() == 0);
    CHECK(f.stack->counters().datagrams_reassembled == 1);
    usize count = 0;
    Frame reply = reassemble_sent(f.nic.take_sent(), count);
    CHECK(count == 3);
    CHECK(f.stack->counters().fragments_tx == 3);
    auto icmp = net::Icmpv4Packet::check(Bytes(reply));
    REQUIRE(icmp.ok());
    CHECK(icmp.value().type() == net::Icmpv4Type::echo_reply);
    CHECK(Frame(icmp.value().data().begin(), icmp.value().data().end()) == data);
}

TEST_CASE("UDP datagrams larger than the MTU leave in fragments with a valid checksum")
{
    NetFixture f;
    f.learn_peer();
    auto socket = f.stack->udp_bind(7).release_value();
    Frame data = pattern(3000, 5);
    REQUIRE(socket->send_to(peer_ip, 5555, Bytes(data)).ok());
    usize count = 0;
    Frame datagram = reassemble_sent(f.nic.take_sent(), count);
    CHECK(count == 3);
    auto checked = net::UdpPacket::check(Bytes(datagram), our_ip, peer_ip);
    REQUIRE(checked.ok());
    CHECK(Frame(checked.value().payload().begin(), checked.value().payload().end()) == data);
    CHECK(f.stack->counters().datagrams_fragmented == 1);
    socket->close();
}

TEST_CASE("a reassembled UDP datagram reaches its socket")
{
    NetFixture f;
    auto socket = f.stack->udp_bind(7).release_value();
    Frame data = pattern(1800, 3);
    for (const Frame& piece : fragments(udp(peer_ip, our_ip, 5555, 7, data),
                                        net::IpProtocol::udp, 1000 - 1000 % 8, 7))
        f.deliver(piece);
    CHECK(socket->queued() == 1);
    socket->close();
}

TEST_CASE("incomplete datagrams time out")
{
    NetFixture f;
    auto pieces = fragments(icmp_echo(1, 1, pattern(3000)), net::IpProtocol::icmp, 1480, 5);
    f.deliver(pieces[0]);
    CHECK(f.stack->next_deadline() == f.now() + net::Reassembler::timeout_ns);
    f.tk.platform.advance(net::Reassembler::timeout_ns);
    f.poll();
    CHECK(f.stack->reassembler().in_progress() == 0);
    CHECK(f.stack->counters().dropped(DropReason::reassembly_timeout) == 1);
    f.deliver(pieces[1]);
    f.deliver(pieces[2]);
    CHECK(f.nic.take_sent().size() == 1); // only the gratuitous ARP: nothing answered
}

TEST_CASE("reassembly limits: slots are bounded and oversized datagrams refused")
{
    NetFixture f;
    for (u16 ident = 0; ident < net::Reassembler::slots_max + 2; ++ident)
        f.deliver(fragments(icmp_echo(1, 1, pattern(3000)), net::IpProtocol::icmp, 1480,
                            ident)[0]);
    CHECK(f.stack->reassembler().in_progress() == net::Reassembler::slots_max);
    CHECK(f.stack->reassembler().evictions() == 2);

    IpOptions far;
    far.offset = static_cast<u16>(net::Reassembler::datagram_bytes_default);
    f.deliver(from_peer_ip(ipv4(peer_ip, our_ip, net::IpProtocol::icmp, pattern(16), far)));
    CHECK(f.stack->counters().dropped(DropReason::too_big) == 1);

    IpOptions odd;
    odd.more = net::MoreFragments::yes;
    f.deliver(from_peer_ip(ipv4(peer_ip, our_ip, net::IpProtocol::icmp, pattern(13), odd)));
    CHECK(f.stack->counters().dropped(DropReason::malformed) == 1);
}

TEST_CASE("counters add up and the log names every drop reason seen")
{
    NetFixture f;
    f.learn_peer();
    f.deliver(from_peer_ip(
        ipv4(peer_ip, our_ip, net::IpProtocol::icmp, icmp_echo(1, 1, pattern(8)))));
    f.deliver(ethernet(our_mac, peer_mac, net::EtherType::ipv6, pattern(40)));
    const net::NetCounters& c = f.stack->counters();
    CHECK(c.ethernet.rx_packets == 3);
    CHECK(c.ipv4.rx_packets == 1);
    CHECK(c.icmp.rx_packets == 1);
    CHECK(c.icmp.tx_packets == 1);
    CHECK(c.ethernet.tx_packets == 3); // announcement, ARP reply, echo reply
    f.stack->log_counters();
    CHECK(f.tk.platform.console().find("unknown_protocol=1") != std::string::npos);
    CHECK(f.tk.platform.console().find("net: icmp  rx 1") != std::string::npos);
}
