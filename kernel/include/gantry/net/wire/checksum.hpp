// The Internet checksum: RFC 1071 (computation), RFC 1624 (incremental update),
// RFC 768 / RFC 793 (the IPv4 pseudo-header of UDP and TCP).
//
// Partial sums are 32-bit values holding a not-yet-complemented one's-complement
// sum of big-endian 16-bit words, so sums over several pieces (pseudo-header,
// header, payload) combine with checksum_combine. Every piece but the last must
// have an even length: an odd piece would shift the word boundaries after it.
#pragma once

#include <gantry/net/address.hpp>
#include <gantry/types.hpp>

namespace gantry::net {

// One's-complement sum of `data` added to `sum`. Fast path: 8 bytes per step,
// any alignment, any length.
u32 checksum_partial(Bytes data, u32 sum = 0);

// Adds two partial sums.
u32 checksum_combine(u32 a, u32 b);

// Folds a partial sum and complements it: the value to put on the wire.
u16 checksum_finish(u32 sum);

// checksum_finish(checksum_partial(data)). Verifying a received header that
// includes its checksum field yields 0.
u16 internet_checksum(Bytes data);

// Partial sum of the IPv4 pseudo-header (RFC 768): source, destination, zero,
// protocol, upper-layer length.
u32 pseudo_header_sum(Ipv4Address source, Ipv4Address destination, u8 protocol, u16 length);

// RFC 1624 equation 3: the new checksum after one 16-bit word of the covered
// data changes from `old_word` to `new_word`, e.g. a TTL decrement or a NAT
// address rewrite (call once per word), without summing the data again.
u16 checksum_update16(u16 checksum, u16 old_word, u16 new_word);
u16 checksum_update32(u16 checksum, u32 old_value, u32 new_value);

} // namespace gantry::net
