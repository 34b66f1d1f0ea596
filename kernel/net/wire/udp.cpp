// UDP, RFC 768; checksum rules RFC 1122 section 4.1.3.4.
#include <gantry/net/endian.hpp>
#include <gantry/net/wire/checksum.hpp>
#include <gantry/net/wire/ipv4.hpp>
#include <gantry/net/wire/udp.hpp>

namespace gantry::net {

Result<UdpPacket, WireError> UdpPacket::check(Bytes packet, Ipv4Address source,
                                              Ipv4Address destination, ChecksumCheck checksum)
{
    if (packet.size() < header_len)
        return fail(WireError::truncated);
    usize length = load_be16(packet, 4);
    if (length < header_len)
        return fail(WireError::bad_length);
    if (length > packet.size())
        return fail(WireError::truncated);
    Bytes datagram = packet.first(length);
    // Zero means the sender computed no checksum (RFC 768): accepted.
    if (checksum == ChecksumCheck::verify && load_be16(packet, 6) != 0) {
        u32 sum = pseudo_header_sum(source, destination, static_cast<u8>(IpProtocol::udp),
                                    static_cast<u16>(length));
        if (checksum_finish(checksum_partial(datagram, sum)) != 0)
            return fail(WireError::bad_checksum);
    }
    return UdpPacket(datagram);
}

u16 UdpPacket::source_port() const { return load_be16(m_bytes, 0); }
u16 UdpPacket::destination_port() const { return load_be16(m_bytes, 2); }
u16 UdpPacket::checksum() const { return load_be16(m_bytes, 6); }

UdpRepr UdpRepr::parse(const UdpPacket& packet)
{
    return {packet.source_port(), packet.destination_port(), packet.payload()};
}

void UdpRepr::emit(MutableBytes buffer, Ipv4Address source, Ipv4Address destination) const
{
    usize length = buffer_len();
    GANTRY_ASSERT(length <= UdpPacket::length_max);
    GANTRY_ASSERT(buffer.size() >= length);
    store_be16(buffer, 0, source_port);
    store_be16(buffer, 2, destination_port);
    store_be16(buffer, 4, static_cast<u16>(length));
    store_be16(buffer, 6, 0);
    copy_bytes(buffer.subspan(UdpPacket::header_len), payload);
    u32 sum = pseudo_header_sum(source, destination, static_cast<u8>(IpProtocol::udp),
                                static_cast<u16>(length));
    u16 checksum = checksum_finish(checksum_partial(buffer.first(length), sum));
    // A computed zero is sent as all ones: zero on the wire means "no checksum".
    store_be16(buffer, 6, checksum == 0 ? 0xffff : checksum);
}

} // namespace gantry::net
