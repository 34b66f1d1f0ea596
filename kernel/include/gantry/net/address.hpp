// Link and network layer addresses: MAC-48 (IEEE 802) and IPv4 (RFC 791,
// dotted-quad text form as in RFC 1123 section 2.1). Both are plain byte arrays
// in network order, so equality and ordering never depend on host endianness.
#pragma once

#include <gantry/format.hpp>
#include <gantry/types.hpp>

#include <array>
#include <optional>
#include <string_view>

namespace gantry::net {

struct MacAddress {
    static constexpr usize size = 6;
    // "aa:bb:cc:dd:ee:ff" plus a terminating NUL.
    static constexpr usize text_bytes_max = 18;

    std::array<u8, size> octets{};

    static constexpr MacAddress broadcast() { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
    static MacAddress from_bytes(Bytes bytes);

    bool is_broadcast() const { return *this == broadcast(); }
    bool is_multicast() const { return (octets[0] & 0x01) != 0; }
    bool is_unicast() const { return !is_multicast(); }
    bool is_zero() const { return *this == MacAddress{}; }
    void write_to(MutableBytes bytes) const;

    // Writes the text form and a NUL; returns the text length (17).
    usize to_chars(char (&out)[text_bytes_max]) const;
    void format(FormatBuffer& out) const;

    friend bool operator==(const MacAddress&, const MacAddress&) = default;
};

struct Ipv4Address {
    static constexpr usize size = 4;
    // "255.255.255.255" plus a terminating NUL.
    static constexpr usize text_bytes_max = 16;

    std::array<u8, size> octets{};

    static constexpr Ipv4Address from_u32(u32 value)
    {
        return {{static_cast<u8>(value >> 24), static_cast<u8>(value >> 16),
                 static_cast<u8>(value >> 8), static_cast<u8>(value)}};
    }
    static constexpr Ipv4Address unspecified() { return {}; }
    static constexpr Ipv4Address broadcast() { return from_u32(0xffffffff); }
    static Ipv4Address from_bytes(Bytes bytes);
    // Strict dotted quad: four decimal octets, no leading '+', no trailing junk.
    static std::optional<Ipv4Address> parse(std::string_view text);

    constexpr u32 to_u32() const
    {
        return (u32{octets[0]} << 24) | (u32{octets[1]} << 16) | (u32{octets[2]} << 8) |
               u32{octets[3]};
    }
    bool is_unspecified() const { return to_u32() == 0; }
    bool is_broadcast() const { return to_u32() == 0xffffffff; }
    bool is_multicast() const { return (octets[0] & 0xf0) == 0xe0; }
    bool is_loopback() const { return octets[0] == 127; }
    void write_to(MutableBytes bytes) const;

    usize to_chars(char (&out)[text_bytes_max]) const;
    void format(FormatBuffer& out) const;

    friend bool operator==(const Ipv4Address&, const Ipv4Address&) = default;
};

// An address with its prefix length, e.g. 10.0.2.15/24.
struct Ipv4Cidr {
    static constexpr u8 prefix_len_max = 32;

    Ipv4Address address;
    u8 prefix_len = 0;

    u32 netmask() const
    {
        return prefix_len == 0 ? 0 : ~u32{0} << (prefix_len_max - prefix_len);
    }
    bool contains(Ipv4Address other) const
    {
        return (address.to_u32() & netmask()) == (other.to_u32() & netmask());
    }
    Ipv4Address broadcast() const
    {
        return Ipv4Address::from_u32(address.to_u32() | ~netmask());
    }
};

} // namespace gantry::net
