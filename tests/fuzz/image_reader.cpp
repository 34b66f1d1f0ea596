// Fuzzes the gantryfs reader (kernel/fs/image.cpp) with arbitrary images: the
// input is the disk's content (zero-padded to whole sectors); its last byte's
// low bit picks 512- or 4096-byte sectors, and its next bit re-seals the
// image (recomputes both checksums) so mutations reach the checks behind them. A mounted image must be
// self-consistent: every listed path looks up to its own entry, every file
// reads back exactly its size, in pieces as in one go.
#include "image_builder.hpp"

#include <gantry/fs/image.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

using namespace gantry;
using namespace gantry::fs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    u32 sector = (size > 0 && (data[size - 1] & 1)) ? 4096 : 512;
    std::vector<u8> disk(data, data + size);
    disk.resize((size + sector - 1) / sector * sector, 0);
    if (size > 0 && (data[size - 1] & 2) && disk.size() >= superblock_bytes)
        gantry::testing::reseal_image(disk, gantry::testing::raw_superblock(disk));
    gantry::testing::MemorySectorSource source(disk, sector);
    auto probed = ImageFs::probe(source);
    if (!probed.ok())
        return 0;
    GANTRY_ASSERT(probed.value().image_bytes <= disk.size());
    std::vector<u8> table(ImageFs::table_bytes(probed.value()));
    ImageFs fs;
    if (!fs.mount(source, probed.value(), MutableBytes(table)).ok())
        return 0;
    std::vector<u8> scratch(sector);
    std::vector<u8> whole;
    u8 piece[1000];
    std::vector<u8> verify_buffer(2 * sector);
    for (u32 i = 0; i < fs.file_count(); i++) {
        ImageFile file = fs.file(i);
        auto found = fs.lookup(fs.path(i));
        GANTRY_ASSERT(found.ok());
        GANTRY_ASSERT(found.value().index == i);
        GANTRY_ASSERT(file.data_offset + file.size <= disk.size());
        whole.assign(static_cast<usize>(file.size), 0);
        auto got = fs.read(file, 0, MutableBytes(whole), MutableBytes(scratch));
        GANTRY_ASSERT(got.ok() && got.value() == file.size);
        u64 at = 0;
        while (at < file.size) {
            auto part = fs.read(file, at, MutableBytes(piece), MutableBytes(scratch));
            GANTRY_ASSERT(part.ok() && part.value() > 0);
            for (usize j = 0; j < part.value(); j++)
                GANTRY_ASSERT(piece[j] == whole[static_cast<usize>(at) + j]);
            at += part.value();
        }
        (void)fs.verify(file, MutableBytes(verify_buffer));
    }
    (void)fs.lookup("index.html");
    return 0;
}
