#include <gantry/crc32c.hpp>

namespace gantry {

namespace {

struct Crc32cTable {
    u32 entries[256];
};

constexpr Crc32cTable make_crc32c_table()
{
    Crc32cTable table{};
    for (u32 i = 0; i < 256; i++) {
        u32 crc = i;
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        table.entries[i] = crc;
    }
    return table;
}

constexpr Crc32cTable crc32c_table = make_crc32c_table();

} // namespace

u32 crc32c(u32 crc, Bytes data)
{
    crc = ~crc;
    for (u8 byte : data)
        crc = crc32c_table.entries[(crc ^ byte) & 0xff] ^ (crc >> 8);
    return ~crc;
}

} // namespace gantry
