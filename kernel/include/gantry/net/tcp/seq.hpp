// TCP sequence numbers: 32-bit values compared modulo 2^32 (RFC 9293 section
// 3.4, "comparisons ... must use modular arithmetic"). a < b means b lies less
// than 2^31 ahead of a, which is what every window check needs as long as
// windows stay below 2^30 (RFC 7323 section 2.3 caps the scale at 14 for this).
#pragma once

#include <gantry/types.hpp>

namespace gantry::net {

class SeqNumber {
public:
    constexpr SeqNumber() = default;
    constexpr explicit SeqNumber(u32 value) : m_value(value) {}

    constexpr u32 value() const { return m_value; }

    constexpr SeqNumber operator+(u32 count) const { return SeqNumber(m_value + count); }
    constexpr SeqNumber operator-(u32 count) const { return SeqNumber(m_value - count); }
    constexpr SeqNumber& operator+=(u32 count)
    {
        m_value += count;
        return *this;
    }
    // Signed distance from `other` to this (this - other), modulo 2^32.
    constexpr i32 operator-(SeqNumber other) const
    {
        return static_cast<i32>(m_value - other.m_value);
    }

    friend constexpr bool operator==(SeqNumber a, SeqNumber b) = default;
    friend constexpr bool operator<(SeqNumber a, SeqNumber b) { return (a - b) < 0; }
    friend constexpr bool operator<=(SeqNumber a, SeqNumber b) { return (a - b) <= 0; }
    friend constexpr bool operator>(SeqNumber a, SeqNumber b) { return (a - b) > 0; }
    friend constexpr bool operator>=(SeqNumber a, SeqNumber b) { return (a - b) >= 0; }

    static constexpr SeqNumber max(SeqNumber a, SeqNumber b) { return a < b ? b : a; }
    static constexpr SeqNumber min(SeqNumber a, SeqNumber b) { return a < b ? a : b; }

private:
    u32 m_value = 0;
};

// a <= x < b, modulo 2^32.
constexpr bool seq_in_range(SeqNumber x, SeqNumber a, SeqNumber b)
{
    return a <= x && x < b;
}

} // namespace gantry::net
