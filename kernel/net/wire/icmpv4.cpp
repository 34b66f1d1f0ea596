// ICMP for IPv4, RFC 792; RFC 1191 (next-hop MTU).
#include <gantry/net/endian.hpp>
#include <gantry/net/wire/checksum.hpp>
#include <gantry/net/wire/icmpv4.hpp>

namespace gantry::net {

Result<Icmpv4Packet, WireError> Icmpv4Packet::check(Bytes packet, ChecksumCheck checksum)
{
    if (packet.size() < header_len)
        return fail(WireError::truncated);
    if (checksum == ChecksumCheck::verify && internet_checksum(packet) != 0)
        return fail(WireError::bad_checksum);
    return Icmpv4Packet(packet);
}

u16 Icmpv4Packet::checksum() const { return load_be16(m_bytes, 2); }
u16 Icmpv4Packet::ident() const { return load_be16(m_bytes, 4); }
u16 Icmpv4Packet::sequence() const { return load_be16(m_bytes, 6); }
u16 Icmpv4Packet::next_hop_mtu() const { return load_be16(m_bytes, 6); }

Result<Icmpv4Repr, WireError> Icmpv4Repr::parse(const Icmpv4Packet& packet)
{
    Icmpv4Repr repr;
    repr.type = packet.type();
    repr.code = packet.code();
    repr.data = packet.data();
    switch (packet.type()) {
    case Icmpv4Type::echo_request:
    case Icmpv4Type::echo_reply:
        if (packet.code() != 0)
            return fail(WireError::malformed);
        repr.ident = packet.ident();
        repr.sequence = packet.sequence();
        return repr;
    case Icmpv4Type::destination_unreachable:
        if (packet.code() == static_cast<u8>(Icmpv4Unreachable::fragmentation_needed))
            repr.next_hop_mtu = packet.next_hop_mtu();
        return repr;
    case Icmpv4Type::time_exceeded:
        return repr;
    }
    return fail(WireError::unsupported);
}

void Icmpv4Repr::emit(MutableBytes buffer) const
{
    GANTRY_ASSERT(buffer.size() >= buffer_len());
    buffer[0] = static_cast<u8>(type);
    buffer[1] = code;
    store_be16(buffer, 2, 0);
    switch (type) {
    case Icmpv4Type::echo_request:
    case Icmpv4Type::echo_reply:
        store_be16(buffer, 4, ident);
        store_be16(buffer, 6, sequence);
        break;
    case Icmpv4Type::destination_unreachable:
        store_be16(buffer, 4, 0);
        store_be16(buffer, 6, next_hop_mtu);
        break;
    case Icmpv4Type::time_exceeded:
        store_be32(buffer, 4, 0);
        break;
    }
    copy_bytes(buffer.subspan(Icmpv4Packet::header_len), data);
    MutableBytes message = buffer.first(buffer_len());
    store_be16(buffer, 2, internet_checksum(message));
}

} // namespace gantry::net
