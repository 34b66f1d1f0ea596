// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as in iSCSI and ext4:
// the checksum of on-disk formats (gantryfs images, kv's log). Start with
// crc = 0 and feed pieces in order: crc32c(crc32c(0, a), b) == crc32c(0, a + b).
#pragma once

#include <gantry/types.hpp>

namespace gantry {

u32 crc32c(u32 crc, Bytes data);

} // namespace gantry
