// One Ethernet frame of a replay, decoded with the core's wire parsers
// (gantry/net/wire/*, net/tcp/wire.hpp), into the fields the replay feeds,
// rewrites and compares.
#pragma once

#include <gantry/net/address.hpp>

#include <optional>
#include <string>
#include <vector>

namespace gantry::harness::replay {

enum class Proto : u8 { arp, icmp, udp, tcp, ipv4_fragment, ipv4_other, other };
const char* proto_name(Proto proto);

struct Packet {
    Proto proto = Proto::other;
    std::string problem; // why a frame did not decode further (empty: it did)
    net::MacAddress source_mac;
    net::MacAddress destination_mac;
    // ARP
    u16 arp_operation = 0;
    net::MacAddress arp_sender_mac;
    net::Ipv4Address arp_sender_ip;
    net::MacAddress arp_target_mac;
    net::Ipv4Address arp_target_ip;
    // IPv4
    net::Ipv4Address source_ip;
    net::Ipv4Address destination_ip;
    u8 ttl = 0;
    u8 dscp_ecn = 0;
    u8 ip_protocol = 0;
    u16 fragment_offset = 0;
    bool more_fragments = false;
    bool dont_fragment = false;
    usize ip_offset = 0; // of the IPv4 header in the frame
    usize l4_offset = 0; // of the UDP/TCP/ICMP header in the frame
    // UDP, TCP
    u16 source_port = 0;
    u16 destination_port = 0;
    // ICMP
    u8 icmp_type = 0;
    u8 icmp_code = 0;
    u16 icmp_ident = 0;
    u16 icmp_sequence = 0;
    // TCP
    u32 seq = 0;
    u32 ack = 0;
    u8 flags = 0;
    std::optional<u32> tsval;
    std::optional<u32> tsecr;
    // The upper-layer payload (ICMP data, UDP/TCP payload, a fragment's bytes).
    std::vector<u8> payload;

    bool is_ip() const { return proto != Proto::arp && proto != Proto::other; }
};

enum class Checksums : u8 { verify, skip };

// Decodes as far as the frame allows. Captured frames skip checksum checks
// (capture points often see checksums a NIC fills in later); the node's own
// frames are verified, and a bad checksum is a `problem`.
Packet decode(Bytes frame, Checksums checksums);

// Rewrites a client TCP segment in place for the node under test: the ack
// number, SACK blocks and the timestamp echo shift by the given offsets
// (mod 2^32), then the TCP checksum is recomputed. `frame` must have decoded
// as Proto::tcp.
void shift_tcp_client_segment(std::vector<u8>& frame, const Packet& packet, u32 ack_offset,
                              std::optional<u32> tsecr_offset);

// Moves a client frame addressed to `from` (the recorded server) to `to` (the
// node's address, --node-ip): the IPv4 destination, or an ARP request's target
// address. The IPv4 header checksum and, in a datagram's first fragment, the
// UDP/TCP checksum (their pseudo-header holds the address) are updated
// incrementally (RFC 1624), so they stay exactly as valid as captured. Frames
// for other addresses are left alone.
void move_destination(std::vector<u8>& frame, const Packet& packet, net::Ipv4Address from,
                      net::Ipv4Address to);

std::string format_ip(net::Ipv4Address address);
std::string format_mac(net::MacAddress address);
std::string tcp_flags_text(u8 flags); // "SYN+ACK"

} // namespace gantry::harness::replay
