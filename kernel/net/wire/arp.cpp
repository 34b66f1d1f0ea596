// ARP, RFC 826 (IPv4 over Ethernet only).
#include <gantry/net/endian.hpp>
#include <gantry/net/wire/arp.hpp>
#include <gantry/net/wire/ethernet.hpp>

namespace gantry::net {

Result<ArpPacket, WireError> ArpPacket::check(Bytes packet)
{
    if (packet.size() < fixed_len)
        return fail(WireError::truncated);
    if (load_be16(packet, 0) != hardware_ethernet ||
        load_be16(packet, 2) != static_cast<u16>(EtherType::ipv4))
        return fail(WireError::unsupported);
    // Other address lengths with these types are contradictions, not another kind.
    if (packet[4] != MacAddress::size || packet[5] != Ipv4Address::size)
        return fail(WireError::bad_length);
    if (packet.size() < packet_len)
        return fail(WireError::truncated);
    u16 operation = load_be16(packet, 6);
    if (operation != static_cast<u16>(ArpOperation::request) &&
        operation != static_cast<u16>(ArpOperation::reply))
        return fail(WireError::unsupported);
    // Ethernet pads ARP to the 60-byte minimum frame: the padding is not ours.
    return ArpPacket(packet.first(packet_len));
}

ArpOperation ArpPacket::operation() const
{
    return static_cast<ArpOperation>(load_be16(m_bytes, 6));
}

ArpRepr ArpRepr::parse(const ArpPacket& packet)
{
    return {packet.operation(), packet.sender_mac(), packet.sender_ip(), packet.target_mac(),
            packet.target_ip()};
}

void ArpRepr::emit(MutableBytes buffer) const
{
    GANTRY_ASSERT(buffer.size() >= buffer_len);
    store_be16(buffer, 0, ArpPacket::hardware_ethernet);
    store_be16(buffer, 2, static_cast<u16>(EtherType::ipv4));
    buffer[4] = MacAddress::size;
    buffer[5] = Ipv4Address::size;
    store_be16(buffer, 6, static_cast<u16>(operation));
    sender_mac.write_to(buffer.subspan(8));
    sender_ip.write_to(buffer.subspan(14));
    target_mac.write_to(buffer.subspan(18));
    target_ip.write_to(buffer.subspan(24));
}

} // namespace gantry::net
