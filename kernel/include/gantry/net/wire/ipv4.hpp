// IPv4, RFC 791; header checksum RFC 1071; fragment rules also from RFC 815
// and RFC 1122 section 3.3.2. Options are validated for length only and
// skipped: RFC 1122 section 3.2.1.8 lets a host ignore the ones it does not know.
#pragma once

#include <gantry/net/address.hpp>
#include <gantry/net/wire/error.hpp>
#include <gantry/result.hpp>

namespace gantry::net {

enum class IpProtocol : u8 { icmp = 1, tcp = 6, udp = 17 };

enum class DontFragment : u8 { no, yes };
enum class MoreFragments : u8 { no, yes };

class Ipv4Packet {
public:
    static constexpr usize header_len_min = 20;
    static constexpr usize header_len_max = 60;
    static constexpr usize total_len_max = 65535;
    static constexpr u8 version_ipv4 = 4;

    static Result<Ipv4Packet, WireError> check(Bytes packet,
                                               ChecksumCheck checksum = ChecksumCheck::verify);

    usize header_len() const { return m_header_len; }
    u8 dscp_ecn() const { return m_bytes[1]; }
    u16 total_len() const { return static_cast<u16>(m_bytes.size()); }
    u16 ident() const;
    DontFragment dont_fragment() const;
    MoreFragments more_fragments() const;
    // In bytes (the header field counts 8-byte units).
    u16 fragment_offset() const;
    bool is_fragment() const;
    u8 ttl() const { return m_bytes[8]; }
    IpProtocol protocol() const { return static_cast<IpProtocol>(m_bytes[9]); }
    u16 checksum() const;
    Ipv4Address source() const { return Ipv4Address::from_bytes(m_bytes.subspan(12)); }
    Ipv4Address destination() const { return Ipv4Address::from_bytes(m_bytes.subspan(16)); }
    Bytes header() const { return m_bytes.first(m_header_len); }
    Bytes options() const { return m_bytes.subspan(header_len_min, m_header_len - header_len_min); }
    // Up to total length: link-layer padding after it is not part of the datagram.
    Bytes payload() const { return m_bytes.subspan(m_header_len); }
    Bytes bytes() const { return m_bytes; }

private:
    Ipv4Packet(Bytes bytes, usize header_len) : m_bytes(bytes), m_header_len(header_len) {}

    Bytes m_bytes; // exactly total_len bytes
    usize m_header_len;
};

// The parsed header, options dropped. Emit writes a 20-byte header with checksum.
struct Ipv4Repr {
    static constexpr usize header_len = Ipv4Packet::header_len_min;
    static constexpr u8 ttl_default = 64;

    Ipv4Address source;
    Ipv4Address destination;
    IpProtocol protocol = IpProtocol::udp;
    u16 payload_len = 0;
    u8 ttl = ttl_default;
    u8 dscp_ecn = 0;
    u16 ident = 0;
    DontFragment dont_fragment = DontFragment::no;
    MoreFragments more_fragments = MoreFragments::no;
    u16 fragment_offset = 0; // bytes, a multiple of 8

    static Ipv4Repr parse(const Ipv4Packet& packet);
    void emit(MutableBytes header) const;
};

} // namespace gantry::net
