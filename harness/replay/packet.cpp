#include "packet.hpp"

#include <gantry/net/tcp/wire.hpp>
#include <gantry/net/wire/arp.hpp>
#include <gantry/net/wire/checksum.hpp>
#include <gantry/net/wire/ethernet.hpp>
#include <gantry/net/wire/icmpv4.hpp>
#include <gantry/net/wire/ipv4.hpp>
#include <gantry/net/wire/udp.hpp>

namespace gantry::harness::replay {

namespace {

using namespace gantry::net;

ChecksumCheck check_of(Checksums checksums)
{
    return checksums == Checksums::verify ? ChecksumCheck::verify : ChecksumCheck::skip;
}

u32 read_be32(const u8* bytes)
{
    return (u32{bytes[0]} << 24) | (u32{bytes[1]} << 16) | (u32{bytes[2]} << 8) | bytes[3];
}

void write_be32(u8* bytes, u32 value)
{
    bytes[0] = static_cast<u8>(value >> 24);
    bytes[1] = static_cast<u8>(value >> 16);
    bytes[2] = static_cast<u8>(value >> 8);
    bytes[3] = static_cast<u8>(value);
}

void decode_arp(Bytes payload, Packet& packet)
{
    auto checked = ArpPacket::check(payload);
    if (!checked.ok()) {
        packet.problem = std::string("ARP: ") + wire_error_name(checked.error());
        return;
    }
    ArpRepr arp = ArpRepr::parse(checked.value());
    packet.proto = Proto::arp;
    packet.arp_operation = static_cast<u16>(arp.operation);
    packet.arp_sender_mac = arp.sender_mac;
    packet.arp_sender_ip = arp.sender_ip;
    packet.arp_target_mac = arp.target_mac;
    packet.arp_target_ip = arp.target_ip;
}

void decode_icmp(const Ipv4Packet& ip, Packet& packet, Checksums checksums)
{
    auto checked = Icmpv4Packet::check(ip.payload(), check_of(checksums));
    if (!checked.ok()) {
        packet.problem = std::string("ICMP: ") + wire_error_name(checked.error());
        return;
    }
    const Icmpv4Packet& icmp = checked.value();
    packet.proto = Proto::icmp;
    packet.icmp_type = static_cast<u8>(icmp.type());
    packet.icmp_code = icmp.code();
    packet.icmp_ident = icmp.ident();
    packet.icmp_sequence = icmp.sequence();
    packet.payload.assign(icmp.data().begin(), icmp.data().end());
}

void decode_udp(const Ipv4Packet& ip, Packet& packet, Checksums checksums)
{
    auto checked =
        UdpPacket::check(ip.payload(), ip.source(), ip.destination(), check_of(checksums));
    if (!checked.ok()) {
        packet.problem = std::string("UDP: ") + wire_error_name(checked.error());
        return;
    }
    packet.proto = Proto::udp;
    packet.source_port = checked.value().source_port();
    packet.destination_port = checked.value().destination_port();
    packet.payload.assign(checked.value().payload().begin(), checked.value().payload().end());
}

void decode_tcp(const Ipv4Packet& ip, Packet& packet, Checksums checksums)
{
    auto checked =
        TcpPacket::check(ip.payload(), ip.source(), ip.destination(), check_of(checksums));
    if (!checked.ok()) {
        packet.problem = std::string("TCP: ") + wire_error_name(checked.error());
        return;
    }
    TcpRepr tcp = TcpRepr::parse(checked.value());
    packet.proto = Proto::tcp;
    packet.source_port = tcp.source_port;
    packet.destination_port = tcp.destination_port;
    packet.seq = tcp.seq.value();
    packet.ack = tcp.ack.value();
    packet.flags = tcp.flags;
    if (tcp.timestamps) {
        packet.tsval = tcp.timestamps->value;
        packet.tsecr = tcp.timestamps->echo;
    }
    Bytes payload = checked.value().payload();
    packet.payload.assign(payload.begin(), payload.end());
}

void decode_ipv4(Bytes frame, const EthernetFrame& ethernet, Packet& packet, Checksums checksums)
{
    auto checked = Ipv4Packet::check(ethernet.payload(), check_of(checksums));
    if (!checked.ok()) {
        packet.problem = std::string("IPv4: ") + wire_error_name(checked.error());
        return;
    }
    const Ipv4Packet& ip = checked.value();
    packet.ip_offset = static_cast<usize>(ethernet.payload().data() - frame.data());
    packet.l4_offset = packet.ip_offset + ip.header_len();
    packet.source_ip = ip.source();
    packet.destination_ip = ip.destination();
    packet.ttl = ip.ttl();
    packet.dscp_ecn = ip.dscp_ecn();
    packet.ip_protocol = static_cast<u8>(ip.protocol());
    packet.fragment_offset = ip.fragment_offset();
    packet.more_fragments = ip.more_fragments() == MoreFragments::yes;
    packet.dont_fragment = ip.dont_fragment() == DontFragment::yes;
    if (ip.is_fragment()) {
        packet.proto = Proto::ipv4_fragment;
        packet.payload.assign(ip.payload().begin(), ip.payload().end());
        return;
    }
    packet.proto = Proto::ipv4_other;
    switch (ip.protocol()) {
    case IpProtocol::icmp: decode_icmp(ip, packet, checksums); break;
    case IpProtocol::udp: decode_udp(ip, packet, checksums); break;
    case IpProtocol::tcp: decode_tcp(ip, packet, checksums); break;
    default: packet.payload.assign(ip.payload().begin(), ip.payload().end()); break;
    }
}

} // namespace

const char* proto_name(Proto proto)
{
    switch (proto) {
    case Proto::arp: return "arp";
    case Proto::icmp: return "icmp";
    case Proto::udp: return "udp";
    case Proto::tcp: return "tcp";
    case Proto::ipv4_fragment: return "ipv4-fragment";
    case Proto::ipv4_other: return "ipv4";
    case Proto::other: return "other";
    }
    return "other";
}

Packet decode(Bytes frame, Checksums checksums)
{
    Packet packet;
    auto checked = EthernetFrame::check(frame);
    if (!checked.ok()) {
        packet.problem = std::string("Ethernet: ") + wire_error_name(checked.error());
        return packet;
    }
    const EthernetFrame& ethernet = checked.value();
    packet.source_mac = ethernet.source();
    packet.destination_mac = ethernet.destination();
    if (ethernet.ethertype() == EtherType::arp)
        decode_arp(ethernet.payload(), packet);
    else if (ethernet.ethertype() == EtherType::ipv4)
        decode_ipv4(frame, ethernet, packet, checksums);
    return packet;
}

void shift_tcp_client_segment(std::vector<u8>& frame, const Packet& packet, u32 ack_offset,
                              std::optional<u32> tsecr_offset)
{
    GANTRY_ASSERT(packet.proto == Proto::tcp);
    u8* tcp = frame.data() + packet.l4_offset;
    usize header_len = static_cast<usize>(tcp[12] >> 4) * 4;
    usize segment_len = frame.size() - packet.l4_offset;
    GANTRY_ASSERT(header_len >= TcpPacket::header_len_min && header_len <= segment_len);
    if (packet.flags & TcpFlags::ack)
        write_be32(tcp + 8, read_be32(tcp + 8) + ack_offset);
    // The options were validated by decode(): kinds with lengths that fit.
    for (usize at = TcpPacket::header_len_min; at < header_len;) {
        u8 kind = tcp[at];
        if (kind == static_cast<u8>(TcpOptionKind::end))
            break;
        if (kind == static_cast<u8>(TcpOptionKind::nop)) {
            ++at;
            continue;
        }
        usize length = tcp[at + 1];
        if (kind == static_cast<u8>(TcpOptionKind::sack))
            for (usize block = at + 2; block + 4 <= at + length; block += 4)
                write_be32(tcp + block, read_be32(tcp + block) + ack_offset);
        if (kind == static_cast<u8>(TcpOptionKind::timestamps) && tsecr_offset &&
            read_be32(tcp + at + 6) != 0)
            write_be32(tcp + at + 6, read_be32(tcp + at + 6) + *tsecr_offset);
        at += length;
    }
    tcp[16] = 0;
    tcp[17] = 0;
    const u8* ip = frame.data() + packet.ip_offset;
    u32 sum = pseudo_header_sum(Ipv4Address::from_bytes(Bytes(ip + 12, 4)),
                                Ipv4Address::from_bytes(Bytes(ip + 16, 4)),
                                static_cast<u8>(IpProtocol::tcp), static_cast<u16>(segment_len));
    u16 checksum = checksum_finish(checksum_partial(Bytes(tcp, segment_len), sum));
    tcp[16] = static_cast<u8>(checksum >> 8);
    tcp[17] = static_cast<u8>(checksum);
}

namespace {

void update_checksum_at(std::vector<u8>& frame, usize at, u32 old_address, u32 new_address)
{
    GANTRY_ASSERT(at + 2 <= frame.size());
    u16 checksum = static_cast<u16>(frame[at] << 8 | frame[at + 1]);
    checksum = checksum_update32(checksum, old_address, new_address);
    frame[at] = static_cast<u8>(checksum >> 8);
    frame[at + 1] = static_cast<u8>(checksum);
}

} // namespace

void move_destination(std::vector<u8>& frame, const Packet& packet, Ipv4Address from,
                      Ipv4Address to)
{
    // ARP: the target protocol address follows op, sender MAC and IP, target MAC.
    constexpr usize arp_target_ip_offset = EthernetRepr::header_len + 24;
    if (packet.proto == Proto::arp) {
        if (packet.arp_target_ip == from && frame.size() >= arp_target_ip_offset + 4)
            write_be32(frame.data() + arp_target_ip_offset, to.to_u32());
        return;
    }
    if (!packet.is_ip() || packet.destination_ip != from)
        return;
    u8* ip = frame.data() + packet.ip_offset;
    GANTRY_ASSERT(packet.ip_offset + Ipv4Packet::header_len_min <= frame.size());
    write_be32(ip + 16, to.to_u32());
    update_checksum_at(frame, packet.ip_offset + 10, from.to_u32(), to.to_u32());
    // Only the first fragment (or a whole datagram) carries the L4 header.
    if (packet.fragment_offset != 0)
        return;
    usize l4_length = frame.size() - packet.l4_offset;
    if (packet.ip_protocol == static_cast<u8>(IpProtocol::tcp) && l4_length >= 18)
        update_checksum_at(frame, packet.l4_offset + 16, from.to_u32(), to.to_u32());
    bool udp_checksum = packet.ip_protocol == static_cast<u8>(IpProtocol::udp) &&
                        l4_length >= 8 &&
                        (frame[packet.l4_offset + 6] | frame[packet.l4_offset + 7]) != 0;
    if (udp_checksum) { // zero means "no checksum" (RFC 768) and stays so
        update_checksum_at(frame, packet.l4_offset + 6, from.to_u32(), to.to_u32());
        if ((frame[packet.l4_offset + 6] | frame[packet.l4_offset + 7]) == 0)
            frame[packet.l4_offset + 6] = frame[packet.l4_offset + 7] = 0xff; // a computed 0
    }
}

std::string format_ip(net::Ipv4Address address)
{
    char text[net::Ipv4Address::text_bytes_max];
    address.to_chars(text);
    return text;
}

std::string format_mac(net::MacAddress address)
{
    char text[net::MacAddress::text_bytes_max];
    address.to_chars(text);
    return text;
}

std::string tcp_flags_text(u8 flags)
{
    static constexpr struct {
        u8 bit;
        const char* name;
    } names[] = {{TcpFlags::syn, "SYN"}, {TcpFlags::fin, "FIN"}, {TcpFlags::rst, "RST"},
                 {TcpFlags::psh, "PSH"}, {TcpFlags::ack, "ACK"}, {TcpFlags::urg, "URG"},
                 {TcpFlags::ece, "ECE"}, {TcpFlags::cwr, "CWR"}};
    std::string text;
    for (const auto& name : names)
        if (flags & name.bit)
            text += (text.empty() ? "" : "+") + std::string(name.name);
    return text.empty() ? "none" : text;
}

} // namespace gantry::harness::replay
