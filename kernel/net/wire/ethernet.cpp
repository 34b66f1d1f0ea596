// Ethernet II (IEEE 802.3, RFC 894), IEEE 802.1Q tags skipped on receive.
#include <gantry/net/endian.hpp>
#include <gantry/net/wire/ethernet.hpp>

namespace gantry::net {

Result<EthernetFrame, WireError> EthernetFrame::check(Bytes frame)
{
    if (frame.size() < header_len_min)
        return fail(WireError::truncated);
    usize header_len = header_len_min;
    u16 type = load_be16(frame, 12);
    std::optional<u16> vlan;
    if (type == static_cast<u16>(EtherType::vlan)) {
        if (frame.size() < header_len_min + vlan_tag_len)
            return fail(WireError::truncated);
        // The tag control field's low 12 bits are the VLAN id; priority is ignored.
        vlan = static_cast<u16>(load_be16(frame, 14) & 0x0fff);
        type = load_be16(frame, 16);
        header_len += vlan_tag_len;
        static_assert(vlan_tags_max == 1);
        if (type == static_cast<u16>(EtherType::vlan))
            return fail(WireError::unsupported);
    }
    // Values up to 1500 are IEEE 802.3 lengths (LLC frames), not EtherTypes.
    if (type <= 1500)
        return fail(WireError::unsupported);
    return EthernetFrame(frame, header_len, static_cast<EtherType>(type), vlan);
}

EthernetRepr EthernetRepr::parse(const EthernetFrame& frame)
{
    return {frame.source(), frame.destination(), frame.ethertype()};
}

void EthernetRepr::emit(MutableBytes header) const
{
    GANTRY_ASSERT(header.size() >= header_len);
    destination.write_to(header.subspan(0));
    source.write_to(header.subspan(6));
    store_be16(header, 12, static_cast<u16>(ethertype));
}

} // namespace gantry::net
