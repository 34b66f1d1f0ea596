// DHCP for IPv4: message format RFC 2131 section 2 (on the BOOTP layout of
// RFC 951), options RFC 2132 (message type 9.6, server id 9.7, requested IP 9.1,
// lease time 9.2, T1/T2 9.11/9.12, subnet mask 3.3, router 3.5, DNS 3.8, host
// name 3.14, parameter request list 9.8). Minimum message size RFC 1542 2.1.
//
// Not supported, and documented in docs/networking.md: option overload into the
// sname/file fields (RFC 2131 option 52) and long options split across several
// instances (RFC 3396). For repeated options the last instance wins.
#pragma once

#include <gantry/net/address.hpp>
#include <gantry/net/wire/error.hpp>
#include <gantry/result.hpp>

#include <array>
#include <optional>
#include <string_view>

namespace gantry::net {

enum class DhcpOp : u8 { request = 1, reply = 2 };

enum class DhcpMessageType : u8 {
    discover = 1,
    offer = 2,
    request = 3,
    decline = 4,
    ack = 5,
    nak = 6,
    release = 7,
    inform = 8,
};

enum class DhcpBroadcast : u8 { no, yes };

namespace dhcp_option {
inline constexpr u8 pad = 0;
inline constexpr u8 subnet_mask = 1;
inline constexpr u8 router = 3;
inline constexpr u8 dns_server = 6;
inline constexpr u8 hostname = 12;
inline constexpr u8 requested_ip = 50;
inline constexpr u8 lease_time = 51;
inline constexpr u8 message_type = 53;
inline constexpr u8 server_id = 54;
inline constexpr u8 parameter_request_list = 55;
inline constexpr u8 renewal_time = 58;   // T1
inline constexpr u8 rebinding_time = 59; // T2
inline constexpr u8 end = 255;
} // namespace dhcp_option

inline constexpr u16 dhcp_server_port = 67;
inline constexpr u16 dhcp_client_port = 68;

struct DhcpOption {
    u8 code;
    Bytes data;
};

// Walks the options of a checked packet; cannot fail. Stops at `end` or at the
// end of the buffer; skips pads.
class DhcpOptionReader {
public:
    explicit DhcpOptionReader(Bytes options) : m_options(options) {}
    std::optional<DhcpOption> next();

private:
    Bytes m_options;
    usize m_position = 0;
};

class DhcpPacket {
public:
    static constexpr usize fixed_len = 236;
    static constexpr usize options_offset = 240; // after the magic cookie
    static constexpr u32 magic_cookie = 0x63825363;
    static constexpr usize chaddr_len = 16;

    // Structure only: fixed header, cookie, and every option inside the buffer.
    static Result<DhcpPacket, WireError> check(Bytes packet);

    DhcpOp op() const { return static_cast<DhcpOp>(m_bytes[0]); }
    u8 hardware_type() const { return m_bytes[1]; }
    u8 hardware_len() const { return m_bytes[2]; }
    u32 xid() const;
    u16 secs() const;
    DhcpBroadcast broadcast() const;
    Ipv4Address client_ip() const { return Ipv4Address::from_bytes(m_bytes.subspan(12)); }
    Ipv4Address your_ip() const { return Ipv4Address::from_bytes(m_bytes.subspan(16)); }
    Ipv4Address server_ip() const { return Ipv4Address::from_bytes(m_bytes.subspan(20)); }
    Ipv4Address relay_ip() const { return Ipv4Address::from_bytes(m_bytes.subspan(24)); }
    MacAddress client_mac() const { return MacAddress::from_bytes(m_bytes.subspan(28)); }
    Bytes options() const { return m_bytes.subspan(options_offset); }
    DhcpOptionReader option_reader() const { return DhcpOptionReader(options()); }

private:
    explicit DhcpPacket(Bytes bytes) : m_bytes(bytes) {}
    Bytes m_bytes;
};

struct DhcpRepr {
    static constexpr usize dns_servers_max = 3;
    static constexpr usize hostname_len_max = 63; // one DNS label (RFC 1035 2.3.4)
    static constexpr usize parameter_request_max = 32;
    static constexpr usize message_len_min = 300; // RFC 1542 section 2.1

    DhcpOp op = DhcpOp::request;
    DhcpMessageType message_type = DhcpMessageType::discover;
    u32 xid = 0;
    u16 secs = 0;
    DhcpBroadcast broadcast = DhcpBroadcast::no;
    Ipv4Address client_ip;
    Ipv4Address your_ip;
    Ipv4Address server_ip;
    Ipv4Address relay_ip;
    MacAddress client_mac;

    std::optional<Ipv4Address> server_id;
    std::optional<Ipv4Address> requested_ip;
    std::optional<Ipv4Address> subnet_mask;
    std::optional<Ipv4Address> router; // the first router listed
    std::optional<u32> lease_time_s;
    std::optional<u32> renewal_time_s;
    std::optional<u32> rebinding_time_s;
    std::array<Ipv4Address, dns_servers_max> dns_servers{};
    usize dns_server_count = 0; // extra servers beyond the maximum are ignored
    std::string_view hostname;  // points into the parsed packet
    Bytes parameter_request_list;

    // `unsupported`: not Ethernet, or plain BOOTP (no message type). `malformed`:
    // a known option with an impossible length or value.
    static Result<DhcpRepr, WireError> parse(const DhcpPacket& packet);
    usize buffer_len() const;
    // Writes the whole message, padded to the BOOTP minimum size.
    void emit(MutableBytes buffer) const;
};

} // namespace gantry::net
