// ARP, RFC 826, for IPv4 over Ethernet only (hardware type 1, protocol 0x0800).
// Gratuitous ARP (RFC 5227 section 3) is a request with sender == target IP.
#pragma once

#include <gantry/net/address.hpp>
#include <gantry/net/wire/error.hpp>
#include <gantry/result.hpp>

namespace gantry::net {

enum class ArpOperation : u16 { request = 1, reply = 2 };

class ArpPacket {
public:
    static constexpr usize packet_len = 28;
    static constexpr usize fixed_len = 8; // hardware/protocol types and lengths, operation
    static constexpr u16 hardware_ethernet = 1;

    static Result<ArpPacket, WireError> check(Bytes packet);

    ArpOperation operation() const;
    MacAddress sender_mac() const { return MacAddress::from_bytes(m_bytes.subspan(8)); }
    Ipv4Address sender_ip() const { return Ipv4Address::from_bytes(m_bytes.subspan(14)); }
    MacAddress target_mac() const { return MacAddress::from_bytes(m_bytes.subspan(18)); }
    Ipv4Address target_ip() const { return Ipv4Address::from_bytes(m_bytes.subspan(24)); }

private:
    explicit ArpPacket(Bytes bytes) : m_bytes(bytes) {}
    Bytes m_bytes;
};

struct ArpRepr {
    static constexpr usize buffer_len = ArpPacket::packet_len;

    ArpOperation operation = ArpOperation::request;
    MacAddress sender_mac;
    Ipv4Address sender_ip;
    MacAddress target_mac;
    Ipv4Address target_ip;

    static ArpRepr parse(const ArpPacket& packet);
    void emit(MutableBytes buffer) const;
};

} // namespace gantry::net
