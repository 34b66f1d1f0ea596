// IPv4, RFC 791 (header format section 3.1); checksum RFC 1071.
#include <gantry/net/endian.hpp>
#include <gantry/net/wire/checksum.hpp>
#include <gantry/net/wire/ipv4.hpp>

namespace gantry::net {

namespace {

constexpr u16 flag_reserved = 0x8000;
constexpr u16 flag_dont_fragment = 0x4000;
constexpr u16 flag_more_fragments = 0x2000;
constexpr u16 fragment_offset_mask = 0x1fff;

} // namespace

Result<Ipv4Packet, WireError> Ipv4Packet::check(Bytes packet, ChecksumCheck checksum)
{
    if (packet.size() < header_len_min)
        return fail(WireError::truncated);
    if ((packet[0] >> 4) != version_ipv4)
        return fail(WireError::bad_version);
    usize header_len = usize{packet[0] & 0x0fu} * 4;
    if (header_len < header_len_min)
        return fail(WireError::bad_length);
    if (header_len > packet.size())
        return fail(WireError::truncated);
    usize total_len = load_be16(packet, 2);
    if (total_len < header_len)
        return fail(WireError::bad_length);
    if (total_len > packet.size())
        return fail(WireError::truncated);
    if (checksum == ChecksumCheck::verify && internet_checksum(packet.first(header_len)) != 0)
        return fail(WireError::bad_checksum);
    // The last fragment must still end inside a 64 KiB datagram ("ping of death").
    usize offset = static_cast<usize>(load_be16(packet, 6) & fragment_offset_mask) * 8;
    if (offset + (total_len - header_len) > total_len_max)
        return fail(WireError::bad_length);
    return Ipv4Packet(packet.first(total_len), header_len);
}

u16 Ipv4Packet::ident() const { return load_be16(m_bytes, 4); }

DontFragment Ipv4Packet::dont_fragment() const
{
    return (load_be16(m_bytes, 6) & flag_dont_fragment) ? DontFragment::yes : DontFragment::no;
}

MoreFragments Ipv4Packet::more_fragments() const
{
    return (load_be16(m_bytes, 6) & flag_more_fragments) ? MoreFragments::yes
                                                         : MoreFragments::no;
}

u16 Ipv4Packet::fragment_offset() const
{
    return static_cast<u16>((load_be16(m_bytes, 6) & fragment_offset_mask) * 8);
}

bool Ipv4Packet::is_fragment() const
{
    return more_fragments() == MoreFragments::yes || fragment_offset() != 0;
}

u16 Ipv4Packet::checksum() const { return load_be16(m_bytes, 10); }

Ipv4Repr Ipv4Repr::parse(const Ipv4Packet& packet)
{
    Ipv4Repr repr;
    repr.source = packet.source();
    repr.destination = packet.destination();
    repr.protocol = packet.protocol();
    repr.payload_len = static_cast<u16>(packet.payload().size());
    repr.ttl = packet.ttl();
    repr.dscp_ecn = packet.dscp_ecn();
    repr.ident = packet.ident();
    repr.dont_fragment = packet.dont_fragment();
    repr.more_fragments = packet.more_fragments();
    repr.fragment_offset = packet.fragment_offset();
    return repr;
}

void Ipv4Repr::emit(MutableBytes header) const
{
    GANTRY_ASSERT(header.size() >= header_len);
    GANTRY_ASSERT(payload_len <= Ipv4Packet::total_len_max - header_len);
    GANTRY_ASSERT(fragment_offset % 8 == 0);
    header[0] = static_cast<u8>((Ipv4Packet::version_ipv4 << 4) | (header_len / 4));
    header[1] = dscp_ecn;
    store_be16(header, 2, static_cast<u16>(header_len + payload_len));
    store_be16(header, 4, ident);
    u16 flags = static_cast<u16>(fragment_offset / 8);
    if (dont_fragment == DontFragment::yes)
        flags |= flag_dont_fragment;
    if (more_fragments == MoreFragments::yes)
        flags |= flag_more_fragments;
    GANTRY_ASSERT((flags & flag_reserved) == 0);
    store_be16(header, 6, flags);
    header[8] = ttl;
    header[9] = static_cast<u8>(protocol);
    store_be16(header, 10, 0);
    source.write_to(header.subspan(12));
    destination.write_to(header.subspan(16));
    store_be16(header, 10, internet_checksum(header.first(header_len)));
}

} // namespace gantry::net
