// Round trips through emit/parse for every format, and every malformed input
// rejected with the error the stack will count.
#include <catch2/catch.hpp>

#include <gantry/net/endian.hpp>
#include <gantry/net/wire/arp.hpp>
#include <gantry/net/wire/checksum.hpp>
#include <gantry/net/wire/dhcp.hpp>
#include <gantry/net/wire/dns.hpp>
#include <gantry/net/wire/ethernet.hpp>
#include <gantry/net/wire/icmpv4.hpp>
#include <gantry/net/wire/ipv4.hpp>
#include <gantry/net/wire/udp.hpp>

#include <string>
#include <vector>

using namespace gantry;
using namespace gantry::net;

namespace {

Ipv4Address ip(const char* text)
{
    auto address = Ipv4Address::parse(text);
    REQUIRE(address);
    return *address;
}

MutableBytes span(std::vector<u8>& data) { return MutableBytes(data.data(), data.size()); }
Bytes cspan(const std::vector<u8>& data) { return Bytes(data.data(), data.size()); }

std::vector<u8> ipv4_udp(usize payload_len)
{
    std::vector<u8> packet(20 + 8 + payload_len);
    for (usize i = 0; i < payload_len; i++)
        packet[28 + i] = static_cast<u8>(i * 7);
    UdpRepr udp{1234, 53, Bytes(packet.data() + 28, payload_len)};
    udp.emit(MutableBytes(packet.data() + 20, 8 + payload_len), ip("10.0.0.1"), ip("10.0.0.2"));
    Ipv4Repr ipv4;
    ipv4.source = ip("10.0.0.1");
    ipv4.destination = ip("10.0.0.2");
    ipv4.protocol = IpProtocol::udp;
    ipv4.payload_len = static_cast<u16>(8 + payload_len);
    ipv4.emit(span(packet));
    return packet;
}

} // namespace

TEST_CASE("addresses: parse and format")
{
    CHECK(ip("192.168.1.255").to_u32() == 0xc0a801ff);
    for (const char* bad : {"", "1.2.3", "1.2.3.4.", "1.2.3.256", "1..2.3", "a.b.c.d", "1.2.3.4x",
                            "1234.1.1.1", "-1.2.3.4"})
        CHECK_FALSE(Ipv4Address::parse(bad));
    char text[Ipv4Address::text_bytes_max];
    CHECK(Ipv4Address::broadcast().to_chars(text) == 15);
    CHECK(std::string(text) == "255.255.255.255");
    InlineFormatBuffer<64> out;
    ip("10.0.2.15").format(out);
    out.append(' ');
    MacAddress{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}}.format(out);
    CHECK(out.view() == "10.0.2.15 52:54:00:12:34:56");
    Ipv4Cidr cidr{ip("10.0.2.15"), 24};
    CHECK(cidr.contains(ip("10.0.2.1")));
    CHECK_FALSE(cidr.contains(ip("10.0.3.1")));
    CHECK(cidr.broadcast() == ip("10.0.2.255"));
    CHECK(Ipv4Cidr{ip("1.2.3.4"), 0}.contains(ip("200.1.1.1")));
}

TEST_CASE("ethernet: round trip, VLAN skip, malformed")
{
    std::vector<u8> frame(60);
    EthernetRepr repr{MacAddress{{2, 0, 0, 0, 0, 1}}, MacAddress::broadcast(), EtherType::arp};
    repr.emit(span(frame));
    auto checked = EthernetFrame::check(cspan(frame));
    REQUIRE(checked.ok());
    EthernetRepr parsed = EthernetRepr::parse(checked.value());
    CHECK(parsed.source == repr.source);
    CHECK(parsed.destination == repr.destination);
    CHECK(parsed.ethertype == EtherType::arp);
    CHECK(checked.value().payload().size() == 46);

    // 802.1Q: tag skipped, inner type reported.
    std::vector<u8> tagged = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1,
                              0x81, 0x00, 0x20, 0x2a, 0x08, 0x00, 0x45};
    auto vlan = EthernetFrame::check(cspan(tagged));
    REQUIRE(vlan.ok());
    CHECK(vlan.value().ethertype() == EtherType::ipv4);
    CHECK(vlan.value().vlan_id() == 42);
    CHECK(vlan.value().payload().size() == 1);

    CHECK(EthernetFrame::check(Bytes(frame.data(), 13)).error() == WireError::truncated);
    CHECK(EthernetFrame::check(Bytes(tagged.data(), 17)).error() == WireError::truncated);
    tagged[16] = 0x81, tagged[17] = 0x00; // QinQ
    CHECK(EthernetFrame::check(cspan(tagged)).error() == WireError::unsupported);
    frame[12] = 0x00, frame[13] = 0x40; // an 802.3 length, not a type
    CHECK(EthernetFrame::check(cspan(frame)).error() == WireError::unsupported);
}

TEST_CASE("arp: round trip and malformed")
{
    ArpRepr repr{ArpOperation::reply, MacAddress{{2, 0, 0, 0, 0, 1}}, ip("10.0.0.1"),
                 MacAddress{{2, 0, 0, 0, 0, 2}}, ip("10.0.0.2")};
    std::vector<u8> packet(46, 0); // with Ethernet padding
    repr.emit(span(packet));
    auto checked = ArpPacket::check(cspan(packet));
    REQUIRE(checked.ok());
    ArpRepr parsed = ArpRepr::parse(checked.value());
    CHECK(parsed.operation == ArpOperation::reply);
    CHECK(parsed.sender_mac == repr.sender_mac);
    CHECK(parsed.sender_ip == repr.sender_ip);
    CHECK(parsed.target_mac == repr.target_mac);
    CHECK(parsed.target_ip == repr.target_ip);

    CHECK(ArpPacket::check(Bytes(packet.data(), 7)).error() == WireError::truncated);
    CHECK(ArpPacket::check(Bytes(packet.data(), 27)).error() == WireError::truncated);
    auto broken = packet;
    broken[1] = 6; // IEEE 802 hardware type
    CHECK(ArpPacket::check(cspan(broken)).error() == WireError::unsupported);
    broken = packet;
    broken[4] = 8; // oversized hardware address (tcpdump arp-too-long-tha)
    CHECK(ArpPacket::check(cspan(broken)).error() == WireError::bad_length);
    broken = packet;
    broken[7] = 3; // RARP request
    CHECK(ArpPacket::check(cspan(broken)).error() == WireError::unsupported);
}

TEST_CASE("ipv4: round trip with fragment fields")
{
    std::vector<u8> packet(20 + 16, 0xab);
    Ipv4Repr repr;
    repr.source = ip("192.0.2.1");
    repr.destination = ip("198.51.100.7");
    repr.protocol = IpProtocol::tcp;
    repr.payload_len = 16;
    repr.ttl = 3;
    repr.dscp_ecn = 0xb8;
    repr.ident = 0xbeef;
    repr.more_fragments = MoreFragments::yes;
    repr.fragment_offset = 1480;
    repr.emit(span(packet));
    auto checked = Ipv4Packet::check(cspan(packet));
    REQUIRE(checked.ok());
    CHECK(checked.value().is_fragment());
    Ipv4Repr parsed = Ipv4Repr::parse(checked.value());
    CHECK(parsed.source == repr.source);
    CHECK(parsed.destination == repr.destination);
    CHECK(parsed.protocol == IpProtocol::tcp);
    CHECK(parsed.payload_len == 16);
    CHECK(parsed.ttl == 3);
    CHECK(parsed.dscp_ecn == 0xb8);
    CHECK(parsed.ident == 0xbeef);
    CHECK(parsed.dont_fragment == DontFragment::no);
    CHECK(parsed.more_fragments == MoreFragments::yes);
    CHECK(parsed.fragment_offset == 1480);
}

TEST_CASE("ipv4: options skipped, link padding trimmed")
{
    std::vector<u8> packet(24 + 4 + 10, 0);
    Ipv4Repr repr;
    repr.payload_len = 4;
    repr.emit(span(packet));
    // Rewrite as a 24-byte header carrying a NOP option list.
    std::vector<u8> with_options(packet.begin(), packet.begin() + 20);
    with_options.insert(with_options.end(), {1, 1, 1, 0});
    with_options.insert(with_options.end(), {9, 8, 7, 6});
    with_options.insert(with_options.end(), 10, 0); // Ethernet padding
    with_options[0] = 0x46;
    store_be16(span(with_options), 2, 28);
    store_be16(span(with_options), 10, 0);
    store_be16(span(with_options), 10, internet_checksum(Bytes(with_options.data(), 24)));
    auto checked = Ipv4Packet::check(cspan(with_options));
    REQUIRE(checked.ok());
    CHECK(checked.value().header_len() == 24);
    CHECK(checked.value().options().size() == 4);
    REQUIRE(checked.value().payload().size() == 4);
    CHECK(checked.value().payload()[0] == 9);
}

TEST_CASE("ipv4: malformed headers")
{
    std::vector<u8> good = ipv4_udp(10);
    REQUIRE(Ipv4Packet::check(cspan(good)).ok());
    auto reject = [&](std::vector<u8> packet, WireError expected) {
        CHECK(Ipv4Packet::check(cspan(packet)).error() == expected);
    };
    reject(std::vector<u8>(good.begin(), good.begin() + 19), WireError::truncated);
    auto packet = good;
    packet[0] = 0x65;
    reject(packet, WireError::bad_version);
    packet = good;
    packet[0] = 0x44; // IHL 16 bytes
    reject(packet, WireError::bad_length);
    packet = good;
    packet[0] = 0x4f; // IHL 60 bytes > 38-byte buffer
    reject(packet, WireError::truncated);
    packet = good;
    store_be16(span(packet), 2, 19); // total length below the header
    reject(packet, WireError::bad_length);
    packet = good;
    store_be16(span(packet), 2, 39); // total length beyond the buffer
    reject(packet, WireError::truncated);
    packet = good;
    packet[8] ^= 1; // TTL changed, checksum not
    reject(packet, WireError::bad_checksum);
    CHECK(Ipv4Packet::check(cspan(packet), ChecksumCheck::skip).ok());
    // Fragment at offset 65528 carrying 18 bytes: ends past 64 KiB.
    packet = good;
    store_be16(span(packet), 6, 0x1fff);
    store_be16(span(packet), 10, 0);
    store_be16(span(packet), 10, internet_checksum(Bytes(packet.data(), 20)));
    reject(packet, WireError::bad_length);
}

TEST_CASE("udp: round trip, zero checksum, malformed")
{
    std::vector<u8> packet = ipv4_udp(5); // odd payload length
    Bytes udp_bytes(packet.data() + 20, 13);
    auto checked = UdpPacket::check(udp_bytes, ip("10.0.0.1"), ip("10.0.0.2"));
    REQUIRE(checked.ok());
    UdpRepr parsed = UdpRepr::parse(checked.value());
    CHECK(parsed.source_port == 1234);
    CHECK(parsed.destination_port == 53);
    REQUIRE(parsed.payload.size() == 5);
    CHECK(parsed.payload[4] == 28);

    // The pseudo-header matters: the same bytes between other hosts fail.
    CHECK(UdpPacket::check(udp_bytes, ip("10.0.0.1"), ip("10.0.0.3")).error() ==
          WireError::bad_checksum);
    packet[28] ^= 0x40;
    CHECK(UdpPacket::check(udp_bytes, ip("10.0.0.1"), ip("10.0.0.2")).error() ==
          WireError::bad_checksum);
    store_be16(span(packet), 26, 0); // "no checksum" is accepted
    CHECK(UdpPacket::check(udp_bytes, ip("10.0.0.1"), ip("10.0.0.2")).ok());

    CHECK(UdpPacket::check(udp_bytes.first(7), {}, {}).error() == WireError::truncated);
    store_be16(span(packet), 24, 7);
    CHECK(UdpPacket::check(udp_bytes, {}, {}).error() == WireError::bad_length);
    store_be16(span(packet), 24, 14); // tcpdump udp-length-heapoverflow
    CHECK(UdpPacket::check(udp_bytes, {}, {}).error() == WireError::truncated);
}

TEST_CASE("udp: a computed zero checksum is sent as 0xffff")
{
    // Search payloads until the checksum comes out as zero; then emit must not
    // write 0 (which would mean "not computed").
    std::vector<u8> packet(8 + 2);
    bool seen = false;
    for (u32 value = 0; value < 65536 && !seen; value++) {
        packet[8] = static_cast<u8>(value >> 8);
        packet[9] = static_cast<u8>(value);
        UdpRepr repr{1, 2, Bytes(packet.data() + 8, 2)};
        repr.emit(span(packet), ip("1.2.3.4"), ip("5.6.7.8"));
        if (load_be16(cspan(packet), 6) == 0xffff)
            seen = true;
        REQUIRE(load_be16(cspan(packet), 6) != 0);
        REQUIRE(UdpPacket::check(cspan(packet), ip("1.2.3.4"), ip("5.6.7.8")).ok());
    }
    CHECK(seen);
}

TEST_CASE("icmpv4: round trips and malformed")
{
    const u8 data[] = {1, 2, 3, 4, 5};
    Icmpv4Repr echo;
    echo.type = Icmpv4Type::echo_reply;
    echo.ident = 0x1234;
    echo.sequence = 7;
    echo.data = Bytes(data, sizeof(data));
    std::vector<u8> buffer(echo.buffer_len());
    echo.emit(span(buffer));
    auto checked = Icmpv4Packet::check(cspan(buffer));
    REQUIRE(checked.ok());
    auto parsed = Icmpv4Repr::parse(checked.value());
    REQUIRE(parsed.ok());
    CHECK(parsed.value().type == Icmpv4Type::echo_reply);
    CHECK(parsed.value().ident == 0x1234);
    CHECK(parsed.value().sequence == 7);
    CHECK(parsed.value().data.size() == 5);

    std::vector<u8> quoted = ipv4_udp(8);
    Icmpv4Repr unreachable;
    unreachable.type = Icmpv4Type::destination_unreachable;
    unreachable.code = static_cast<u8>(Icmpv4Unreachable::fragmentation_needed);
    unreachable.next_hop_mtu = 1400;
    unreachable.data = cspan(quoted);
    buffer.assign(unreachable.buffer_len(), 0);
    unreachable.emit(span(buffer));
    auto parsed_unreachable = Icmpv4Repr::parse(Icmpv4Packet::check(cspan(buffer)).value());
    REQUIRE(parsed_unreachable.ok());
    CHECK(parsed_unreachable.value().next_hop_mtu == 1400);
    // The quoted datagram is intact and parses.
    CHECK(Ipv4Packet::check(parsed_unreachable.value().data).ok());

    Icmpv4Repr exceeded;
    exceeded.type = Icmpv4Type::time_exceeded;
    exceeded.code = static_cast<u8>(Icmpv4TimeExceeded::reassembly);
    exceeded.data = cspan(quoted);
    exceeded.emit(span(buffer));
    CHECK(Icmpv4Repr::parse(Icmpv4Packet::check(cspan(buffer)).value()).value().code == 1);

    CHECK(Icmpv4Packet::check(Bytes(buffer.data(), 7)).error() == WireError::truncated);
    buffer[10] ^= 0xff;
    CHECK(Icmpv4Packet::check(cspan(buffer)).error() == WireError::bad_checksum);
    std::vector<u8> redirect = {5, 0, 0, 0, 0, 0, 0, 0};
    store_be16(span(redirect), 2, internet_checksum(cspan(redirect)));
    auto redirect_packet = Icmpv4Packet::check(cspan(redirect));
    REQUIRE(redirect_packet.ok());
    CHECK(Icmpv4Repr::parse(redirect_packet.value()).error() == WireError::unsupported);
}
