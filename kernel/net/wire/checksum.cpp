// RFC 1071 (Internet checksum), RFC 1624 (incremental update).
//
// The one's-complement sum is independent of byte order (RFC 1071 section 2B):
// summing words in host order and swapping the folded result once gives the
// same answer as summing big-endian words. So the loop loads 8 bytes at a time
// in host order, assembled from bytes (compilers turn that into one unaligned
// load), and adds them into a 64-bit accumulator with end-around carry.
#include <gantry/net/wire/checksum.hpp>

#include <bit>

namespace gantry::net {

namespace {

inline u64 load_host64(const u8* p)
{
    if constexpr (std::endian::native == std::endian::little) {
        return u64{p[0]} | (u64{p[1]} << 8) | (u64{p[2]} << 16) | (u64{p[3]} << 24) |
               (u64{p[4]} << 32) | (u64{p[5]} << 40) | (u64{p[6]} << 48) | (u64{p[7]} << 56);
    } else {
        return (u64{p[0]} << 56) | (u64{p[1]} << 48) | (u64{p[2]} << 40) | (u64{p[3]} << 32) |
               (u64{p[4]} << 24) | (u64{p[5]} << 16) | (u64{p[6]} << 8) | u64{p[7]};
    }
}

// The 16-bit word at `p` as it would sit in a host-order 64-bit load: for the
// tail, so it lines up with the words summed by load_host64.
inline u64 load_host16(const u8* p)
{
    if constexpr (std::endian::native == std::endian::little)
        return u64{p[0]} | (u64{p[1]} << 8);
    else
        return (u64{p[0]} << 8) | u64{p[1]};
}

inline u64 add_carry(u64 sum, u64 value)
{
    sum += value;
    return sum + (sum < value ? 1 : 0);
}

inline u32 fold64(u64 sum)
{
    // Two folds reduce 64 bits to 32 with all carries wrapped around.
    sum = (sum & 0xffffffff) + (sum >> 32);
    sum = (sum & 0xffffffff) + (sum >> 32);
    return static_cast<u32>(sum);
}

inline u16 fold32(u32 sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<u16>(sum);
}

u64 sum_host_order(const u8* p, usize length)
{
    u64 sum = 0;
    // Four independent loads per step keep the adder busy; carries are wrapped
    // around on each add, so the accumulator can never overflow.
    while (length >= 32) {
        sum = add_carry(sum, load_host64(p));
        sum = add_carry(sum, load_host64(p + 8));
        sum = add_carry(sum, load_host64(p + 16));
        sum = add_carry(sum, load_host64(p + 24));
        p += 32;
        length -= 32;
    }
    while (length >= 8) {
        sum = add_carry(sum, load_host64(p));
        p += 8;
        length -= 8;
    }
    while (length >= 2) {
        sum = add_carry(sum, load_host16(p));
        p += 2;
        length -= 2;
    }
    if (length == 1) {
        // A trailing odd byte is the high byte of a word padded with zero.
        const u8 padded[2] = {p[0], 0};
        sum = add_carry(sum, load_host16(padded));
    }
    return sum;
}

} // namespace

u32 checksum_partial(Bytes data, u32 sum)
{
    u16 folded = fold32(fold64(sum_host_order(data.data(), data.size())));
    if constexpr (std::endian::native == std::endian::little)
        folded = static_cast<u16>((folded >> 8) | (folded << 8));
    return checksum_combine(sum, folded);
}

u32 checksum_combine(u32 a, u32 b)
{
    u64 total = u64{a} + u64{b};
    return fold64(total);
}

u16 checksum_finish(u32 sum)
{
    return static_cast<u16>(~fold32(sum));
}

u16 internet_checksum(Bytes data)
{
    return checksum_finish(checksum_partial(data));
}

u32 pseudo_header_sum(Ipv4Address source, Ipv4Address destination, u8 protocol, u16 length)
{
    u32 sum = (source.to_u32() >> 16) + (source.to_u32() & 0xffff);
    sum += (destination.to_u32() >> 16) + (destination.to_u32() & 0xffff);
    sum += protocol;
    sum += length;
    return sum;
}

u16 checksum_update16(u16 checksum, u16 old_word, u16 new_word)
{
    // HC' = ~(~HC + ~m + m'): no -0 problem, unlike equation 2 of RFC 1624.
    u32 sum = u32{static_cast<u16>(~checksum)} + u32{static_cast<u16>(~old_word)} + new_word;
    return static_cast<u16>(~fold32(sum));
}

u16 checksum_update32(u16 checksum, u32 old_value, u32 new_value)
{
    checksum = checksum_update16(checksum, static_cast<u16>(old_value >> 16),
                                 static_cast<u16>(new_value >> 16));
    return checksum_update16(checksum, static_cast<u16>(old_value), static_cast<u16>(new_value));
}

} // namespace gantry::net
