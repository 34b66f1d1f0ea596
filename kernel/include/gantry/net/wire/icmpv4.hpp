// ICMP for IPv4, RFC 792; host requirements RFC 1122 section 3.2.2; the
// "fragmentation needed" MTU field, RFC 1191 section 4. Only the messages a host
// sends or acts on are represented: echo, destination unreachable, time exceeded.
#pragma once

#include <gantry/net/wire/error.hpp>
#include <gantry/result.hpp>
#include <gantry/types.hpp>

namespace gantry::net {

enum class Icmpv4Type : u8 {
    echo_reply = 0,
    destination_unreachable = 3,
    echo_request = 8,
    time_exceeded = 11,
};

enum class Icmpv4Unreachable : u8 {
    net = 0,
    host = 1,
    protocol = 2,
    port = 3,
    fragmentation_needed = 4,
};

enum class Icmpv4TimeExceeded : u8 { ttl = 0, reassembly = 1 };

class Icmpv4Packet {
public:
    static constexpr usize header_len = 8;

    static Result<Icmpv4Packet, WireError> check(Bytes packet,
                                                 ChecksumCheck checksum = ChecksumCheck::verify);

    Icmpv4Type type() const { return static_cast<Icmpv4Type>(m_bytes[0]); }
    u8 code() const { return m_bytes[1]; }
    u16 checksum() const;
    // Echo: bytes 4..7 are identifier and sequence number.
    u16 ident() const;
    u16 sequence() const;
    // Fragmentation needed: bytes 6..7 are the next-hop MTU.
    u16 next_hop_mtu() const;
    Bytes data() const { return m_bytes.subspan(header_len); }

private:
    explicit Icmpv4Packet(Bytes bytes) : m_bytes(bytes) {}
    Bytes m_bytes;
};

struct Icmpv4Repr {
    Icmpv4Type type = Icmpv4Type::echo_request;
    u8 code = 0;
    u16 ident = 0;        // echo only
    u16 sequence = 0;     // echo only
    u16 next_hop_mtu = 0; // destination unreachable, fragmentation needed only
    // Echo: the payload to echo. Errors: the offending datagram's header and at
    // least its first 8 payload bytes (RFC 792), which the caller re-parses.
    Bytes data;

    // `unsupported` for any other message type (redirects, timestamps...).
    static Result<Icmpv4Repr, WireError> parse(const Icmpv4Packet& packet);
    usize buffer_len() const { return Icmpv4Packet::header_len + data.size(); }
    // Writes header and data (data may already be in place) and the checksum.
    void emit(MutableBytes buffer) const;
};

} // namespace gantry::net
