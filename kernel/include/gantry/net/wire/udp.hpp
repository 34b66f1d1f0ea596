// UDP, RFC 768; checksum rules RFC 1122 section 4.1.3.4 (a zero checksum means
// "not computed" on receive; a computed zero is sent as 0xffff).
#pragma once

#include <gantry/net/address.hpp>
#include <gantry/net/wire/error.hpp>
#include <gantry/result.hpp>

namespace gantry::net {

class UdpPacket {
public:
    static constexpr usize header_len = 8;
    static constexpr usize length_max = 65535;

    // The pseudo-header needs the addresses of the enclosing IPv4 datagram.
    static Result<UdpPacket, WireError> check(Bytes packet, Ipv4Address source,
                                              Ipv4Address destination,
                                              ChecksumCheck checksum = ChecksumCheck::verify);

    u16 source_port() const;
    u16 destination_port() const;
    u16 length() const { return static_cast<u16>(m_bytes.size()); }
    u16 checksum() const;
    Bytes payload() const { return m_bytes.subspan(header_len); }

private:
    explicit UdpPacket(Bytes bytes) : m_bytes(bytes) {}
    Bytes m_bytes; // exactly `length` bytes
};

struct UdpRepr {
    u16 source_port = 0;
    u16 destination_port = 0;
    Bytes payload;

    static UdpRepr parse(const UdpPacket& packet);
    usize buffer_len() const { return UdpPacket::header_len + payload.size(); }
    // Writes header and payload (which may already be in place) and the checksum.
    void emit(MutableBytes buffer, Ipv4Address source, Ipv4Address destination) const;
};

} // namespace gantry::net
