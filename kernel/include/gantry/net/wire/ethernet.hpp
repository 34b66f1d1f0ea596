// Ethernet II framing (IEEE 802.3 with an EtherType, RFC 894 for IPv4 over it)
// and IEEE 802.1Q VLAN tags, which are skipped on receive: the stack serves one
// untagged network, but a tagged frame still reaches the right protocol.
#pragma once

#include <gantry/net/address.hpp>
#include <gantry/net/wire/error.hpp>
#include <gantry/result.hpp>

#include <optional>

namespace gantry::net {

enum class EtherType : u16 { ipv4 = 0x0800, arp = 0x0806, vlan = 0x8100, ipv6 = 0x86dd };

// A checked view over one frame (without FCS). Accessors cannot fail.
class EthernetFrame {
public:
    static constexpr usize header_len_min = 14;
    static constexpr usize vlan_tag_len = 4;
    // One tag at most: QinQ stacks are not expected on a host's access port.
    static constexpr usize vlan_tags_max = 1;

    static Result<EthernetFrame, WireError> check(Bytes frame);

    MacAddress destination() const { return MacAddress::from_bytes(m_bytes.subspan(0)); }
    MacAddress source() const { return MacAddress::from_bytes(m_bytes.subspan(6)); }
    // The EtherType after any VLAN tag.
    EtherType ethertype() const { return m_ethertype; }
    std::optional<u16> vlan_id() const { return m_vlan_id; }
    usize header_len() const { return m_header_len; }
    Bytes payload() const { return m_bytes.subspan(m_header_len); }
    Bytes bytes() const { return m_bytes; }

private:
    EthernetFrame(Bytes bytes, usize header_len, EtherType ethertype, std::optional<u16> vlan)
        : m_bytes(bytes), m_header_len(header_len), m_ethertype(ethertype), m_vlan_id(vlan)
    {
    }

    Bytes m_bytes;
    usize m_header_len;
    EtherType m_ethertype;
    std::optional<u16> m_vlan_id;
};

// The parsed header. Emit writes an untagged header.
struct EthernetRepr {
    static constexpr usize header_len = 14;

    MacAddress source;
    MacAddress destination;
    EtherType ethertype = EtherType::ipv4;

    static EthernetRepr parse(const EthernetFrame& frame);
    void emit(MutableBytes header) const;
};

} // namespace gantry::net
