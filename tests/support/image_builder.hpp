// Builds gantryfs images in memory for the reader's unit tests and fuzz corpus,
// with the core's own emit functions, and re-seals an image after a test has
// tampered with it (so a test reaches the check it means, not a checksum).
#pragma once

#include <gantry/fs/image.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace gantry::testing {

using ImageFiles = std::vector<std::pair<std::string, std::vector<u8>>>;

inline u64 image_align(u64 value)
{
    return (value + fs::image_block_bytes - 1) / fs::image_block_bytes * fs::image_block_bytes;
}

// Files in any order; sorted by path as mkimage does.
inline std::vector<u8> build_image(ImageFiles files)
{
    std::sort(files.begin(), files.end());
    u64 names = 0;
    for (auto& file : files)
        names += file.first.size();
    fs::ImageSuperblock super;
    super.entry_count = static_cast<u32>(files.size());
    super.names_bytes = static_cast<u32>(names);
    super.index_offset = fs::image_block_bytes;
    super.data_offset = image_align(super.index_offset + files.size() * fs::entry_bytes + names);
    u64 data_at = super.data_offset;
    for (auto& file : files)
        data_at += image_align(file.second.size());
    super.image_bytes = data_at;
    std::vector<u8> image(super.image_bytes, 0);
    u8* index = image.data() + super.index_offset;
    u8* name_area = index + files.size() * fs::entry_bytes;
    u32 name_at = 0;
    data_at = super.data_offset;
    for (usize i = 0; i < files.size(); i++) {
        const auto& [path, data] = files[i];
        fs::ImageEntry entry;
        entry.name_offset = name_at;
        entry.name_length = static_cast<u16>(path.size());
        entry.data_offset = data_at;
        entry.length = data.size();
        entry.data_crc = fs::crc32c(0, Bytes(data.data(), data.size()));
        fs::emit_entry(entry, MutableBytes(index + i * fs::entry_bytes, fs::entry_bytes));
        std::copy(path.begin(), path.end(), name_area + name_at);
        std::copy(data.begin(), data.end(), image.begin() + static_cast<std::ptrdiff_t>(data_at));
        name_at += static_cast<u32>(path.size());
        data_at += image_align(data.size());
    }
    super.index_crc = fs::crc32c(0, Bytes(index, files.size() * fs::entry_bytes + names));
    fs::emit_superblock(super, MutableBytes(image.data(), fs::superblock_bytes));
    return image;
}

// Recomputes the index checksum (from the superblock's counts) and the
// superblock's own checksum (and rewrites magic, version and reserved bytes
// canonically). Leaves the index checksum alone if the counts are absurd.
inline void reseal_image(std::vector<u8>& image, const fs::ImageSuperblock& super)
{
    u64 index_bytes = static_cast<u64>(super.entry_count) * fs::entry_bytes + super.names_bytes;
    fs::ImageSuperblock sealed = super;
    if (super.index_offset <= image.size() && index_bytes <= image.size() - super.index_offset)
        sealed.index_crc = fs::crc32c(0, Bytes(image.data() + super.index_offset, index_bytes));
    fs::emit_superblock(sealed, MutableBytes(image.data(), fs::superblock_bytes));
}

// The superblock fields as written, without any checks.
inline fs::ImageSuperblock raw_superblock(const std::vector<u8>& image)
{
    auto at = [&](usize offset, usize bytes) {
        u64 value = 0;
        for (usize i = 0; i < bytes; i++)
            value |= static_cast<u64>(image[offset + i]) << (8 * i);
        return value;
    };
    fs::ImageSuperblock super;
    super.image_bytes = at(16, 8);
    super.entry_count = static_cast<u32>(at(24, 4));
    super.names_bytes = static_cast<u32>(at(28, 4));
    super.index_offset = at(32, 8);
    super.data_offset = at(40, 8);
    super.index_crc = static_cast<u32>(at(48, 4));
    return super;
}

// Sectors from a byte vector, for tests and fuzzers that need no kernel.
class MemorySectorSource final : public fs::SectorSource {
public:
    MemorySectorSource(const std::vector<u8>& bytes, u32 sector_bytes = 512)
        : m_bytes(bytes), m_sector(sector_bytes)
    {
    }
    u32 sector_bytes() const override { return m_sector; }
    u64 sector_count() const override { return m_bytes.size() / m_sector; }
    bool read_sectors(u64 sector, MutableBytes out) override
    {
        GANTRY_ASSERT(out.size() % m_sector == 0);
        if (sector > sector_count() || out.size() / m_sector > sector_count() - sector)
            return false;
        std::copy_n(m_bytes.begin() + static_cast<std::ptrdiff_t>(sector * m_sector), out.size(),
                    out.begin());
        reads++;
        return true;
    }
    u64 reads = 0;

private:
    const std::vector<u8>& m_bytes;
    u32 m_sector;
};

} // namespace gantry::testing
