// Fixed-width integer names and the few vocabulary types the core uses.
// Only freestanding headers are allowed here (see scripts/check-layers.py).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace gantry {

using u8 = std::uint8_t;
using u16 = std::uint16_t;
using u32 = std::uint32_t;
using u64 = std::uint64_t;
using i8 = std::int8_t;
using i16 = std::int16_t;
using i32 = std::int32_t;
using i64 = std::int64_t;
using usize = std::size_t;

using Bytes = std::span<const u8>;
using MutableBytes = std::span<u8>;

// Nanoseconds on the platform's monotonic clock. The origin is whatever the
// platform says (boot for bare metal, process start for hosted, 0 for sim).
using TimeNs = u64;

inline constexpr TimeNs ns_per_us = 1'000;
inline constexpr TimeNs ns_per_ms = 1'000'000;
inline constexpr TimeNs ns_per_s = 1'000'000'000;

// "No deadline": the kernel has nothing scheduled and waits for an external event.
inline constexpr TimeNs deadline_none = ~TimeNs{0};

} // namespace gantry
