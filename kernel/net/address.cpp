// RFC 791 (IPv4 addresses), IEEE 802 (MAC-48). Text forms without libc.
#include <gantry/assert.hpp>
#include <gantry/net/address.hpp>

namespace gantry::net {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// Writes `value` (0..255) in decimal; returns the digits written.
usize write_decimal_octet(char* out, u8 value)
{
    usize length = 0;
    if (value >= 100)
        out[length++] = static_cast<char>('0' + value / 100);
    if (value >= 10)
        out[length++] = static_cast<char>('0' + (value / 10) % 10);
    out[length++] = static_cast<char>('0' + value % 10);
    return length;
}

} // namespace

MacAddress MacAddress::from_bytes(Bytes bytes)
{
    GANTRY_ASSERT(bytes.size() >= size);
    MacAddress address;
    for (usize i = 0; i < size; i++)
        address.octets[i] = bytes[i];
    return address;
}

void MacAddress::write_to(MutableBytes bytes) const
{
    GANTRY_ASSERT(bytes.size() >= size);
    for (usize i = 0; i < size; i++)
        bytes[i] = octets[i];
}

usize MacAddress::to_chars(char (&out)[text_bytes_max]) const
{
    usize length = 0;
    for (usize i = 0; i < size; i++) {
        if (i != 0)
            out[length++] = ':';
        out[length++] = hex_digits[octets[i] >> 4];
        out[length++] = hex_digits[octets[i] & 0x0f];
    }
    GANTRY_ASSERT(length == text_bytes_max - 1);
    out[length] = '\0';
    return length;
}

void MacAddress::format(FormatBuffer& out) const
{
    char text[text_bytes_max];
    usize length = to_chars(text);
    out.append(std::string_view(text, length));
}

Ipv4Address Ipv4Address::from_bytes(Bytes bytes)
{
    GANTRY_ASSERT(bytes.size() >= size);
    Ipv4Address address;
    for (usize i = 0; i < size; i++)
        address.octets[i] = bytes[i];
    return address;
}

void Ipv4Address::write_to(MutableBytes bytes) const
{
    GANTRY_ASSERT(bytes.size() >= size);
    for (usize i = 0; i < size; i++)
        bytes[i] = octets[i];
}

std::optional<Ipv4Address> Ipv4Address::parse(std::string_view text)
{
    Ipv4Address address;
    usize position = 0;
    for (usize octet = 0; octet < size; octet++) {
        if (octet != 0) {
            if (position >= text.size() || text[position] != '.')
                return std::nullopt;
            position++;
        }
        u32 value = 0;
        usize digits = 0;
        // At most three digits per octet: bounds the loop and rejects "0001".
        while (position < text.size() && digits < 3 && text[position] >= '0' &&
               text[position] <= '9') {
            value = value * 10 + static_cast<u32>(text[position] - '0');
            position++;
            digits++;
        }
        if (digits == 0 || value > 255)
            return std::nullopt;
        address.octets[octet] = static_cast<u8>(value);
    }
    if (position != text.size())
        return std::nullopt;
    return address;
}

usize Ipv4Address::to_chars(char (&out)[text_bytes_max]) const
{
    usize length = 0;
    for (usize i = 0; i < size; i++) {
        if (i != 0)
            out[length++] = '.';
        length += write_decimal_octet(out + length, octets[i]);
    }
    GANTRY_ASSERT(length < text_bytes_max);
    out[length] = '\0';
    return length;
}

void Ipv4Address::format(FormatBuffer& out) const
{
    char text[text_bytes_max];
    usize length = to_chars(text);
    out.append(std::string_view(text, length));
}

} // namespace gantry::net
