// Big-endian (network order) loads and stores over byte spans. Wire formats are
// read and written one field at a time through these helpers instead of copying
// structs onto the wire, so layout, padding and host byte order never leak into
// what goes on the network. Callers check bounds once (a packet's `check`); the
// helpers assert them again because a wrong offset must never read past a buffer.
#pragma once

#include <gantry/assert.hpp>
#include <gantry/types.hpp>

namespace gantry::net {

inline u16 load_be16(Bytes bytes, usize offset)
{
    GANTRY_ASSERT(offset + 2 <= bytes.size());
    return static_cast<u16>((u16{bytes[offset]} << 8) | bytes[offset + 1]);
}

inline u32 load_be32(Bytes bytes, usize offset)
{
    GANTRY_ASSERT(offset + 4 <= bytes.size());
    return (u32{bytes[offset]} << 24) | (u32{bytes[offset + 1]} << 16) |
           (u32{bytes[offset + 2]} << 8) | u32{bytes[offset + 3]};
}

inline void store_be16(MutableBytes bytes, usize offset, u16 value)
{
    GANTRY_ASSERT(offset + 2 <= bytes.size());
    bytes[offset] = static_cast<u8>(value >> 8);
    bytes[offset + 1] = static_cast<u8>(value);
}

inline void store_be32(MutableBytes bytes, usize offset, u32 value)
{
    GANTRY_ASSERT(offset + 4 <= bytes.size());
    bytes[offset] = static_cast<u8>(value >> 24);
    bytes[offset + 1] = static_cast<u8>(value >> 16);
    bytes[offset + 2] = static_cast<u8>(value >> 8);
    bytes[offset + 3] = static_cast<u8>(value);
}

// Copies bytes between spans that may overlap (an emit whose payload already sits
// in place is the common case, and then nothing moves). Every TCP segment's
// payload passes through here twice (ring to segment, segment to packet
// buffer), so it is memmove: the image's runtime provides one (rep movsb) and
// hosted builds get libc's; a byte loop was 46% of the in-memory bulk
// benchmark's instructions.
inline void copy_bytes(MutableBytes to, Bytes from)
{
    GANTRY_ASSERT(from.size() <= to.size());
    if (from.empty() || to.data() == from.data())
        return;
    __builtin_memmove(to.data(), from.data(), from.size());
}

inline void fill_bytes(MutableBytes to, u8 value)
{
    for (auto& byte : to)
        byte = value;
}

} // namespace gantry::net
