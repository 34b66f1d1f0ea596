// gantryfs: a read-only file-system image (docs/image-format.md specifies it
// byte by byte). `gantry mkimage DIR OUT.img` writes one; ImageFs mounts it on
// a block device and reads files by path.
//
// The image is untrusted input: mount() checks every field, offset, length and
// name once (and both checksums), after which lookups and reads cannot step
// outside the image. Work is bounded by the limits below, never by a value
// read from the image. No heap: the caller hands mount() the memory for the
// index (table_bytes() says how much).
#pragma once

#include <gantry/block.hpp>
#include <gantry/crc32c.hpp>
#include <gantry/result.hpp>
#include <gantry/types.hpp>

#include <optional>

namespace gantry::fs {

// Wire constants (docs/image-format.md).
inline constexpr u8 image_magic[8] = {'G', 'A', 'N', 'T', 'R', 'Y', 'F', 'S'};
inline constexpr u32 image_version = 1;
inline constexpr u32 image_block_bytes = 4096; // data alignment; any sector size up to it works
inline constexpr usize superblock_bytes = 512;
inline constexpr usize entry_bytes = 32;
// Limits the reader enforces (the writer refuses to exceed them).
inline constexpr u32 entries_max = 65536;
inline constexpr u32 names_bytes_max = 4 * 1024 * 1024;
inline constexpr usize path_bytes_max = 255;
inline constexpr usize sector_bytes_max = 4096;

// The images' checksum (gantry/crc32c.hpp).
using gantry::crc32c;

enum class ImageError : u8 {
    io_error,         // the disk failed a read
    not_an_image,     // wrong magic
    bad_version,      // a version this reader does not know
    bad_superblock,   // superblock checksum mismatch
    bad_geometry,     // sizes/offsets inconsistent, misaligned, or past the disk's end
    too_large,        // more entries or name bytes than the limits allow
    bad_index,        // index checksum mismatch
    bad_entry,        // an entry's name or data range is invalid, or entries unsorted/overlapping
    bad_sector_size,  // the disk's sectors are larger than image_block_bytes
    not_found,        // lookup: no such path
    bad_content,      // verify: a file's data does not match its checksum
    small_buffer,     // the caller's memory is smaller than asked for
};
std::string_view describe(ImageError error);

// The fields of a checked superblock.
struct ImageSuperblock {
    u64 image_bytes = 0;
    u32 entry_count = 0;
    u32 names_bytes = 0;
    u64 index_offset = 0; // entries, then names, contiguous
    u64 data_offset = 0;  // first byte of file data
    u32 index_crc = 0;    // over entries and names
};

// Parses and checks sector 0 (at least superblock_bytes). `disk_bytes`: the
// device's size, which the image must fit in.
Result<ImageSuperblock, ImageError> parse_superblock(Bytes sector, u64 disk_bytes);
// Writes a superblock (with its checksum) into `out` (superblock_bytes).
void emit_superblock(const ImageSuperblock& super, MutableBytes out);

// One index entry as stored (docs/image-format.md, "Index").
struct ImageEntry {
    u32 name_offset = 0;
    u16 name_length = 0;
    u16 flags = 0;
    u64 data_offset = 0;
    u64 length = 0;
    u32 data_crc = 0;
};
ImageEntry parse_entry(Bytes bytes); // bytes.size() >= entry_bytes
void emit_entry(const ImageEntry& entry, MutableBytes out);

// A path is 1..path_bytes_max bytes of '/'-separated components, each
// non-empty, not "." or "..", without NUL; no leading or trailing '/'.
bool valid_path(std::string_view path);

// Where ImageFs reads sectors: a Disk when running, plain memory in the fuzzer
// and in `gantry mkimage --list`.
class SectorSource {
public:
    virtual ~SectorSource() = default;
    virtual u32 sector_bytes() const = 0;
    virtual u64 sector_count() const = 0;
    // `out` is a whole number of sectors. false: the read failed.
    virtual bool read_sectors(u64 sector, MutableBytes out) = 0;
};

// A gantry::Disk as a SectorSource (reads block the calling fiber).
class DiskSectorSource final : public SectorSource {
public:
    explicit DiskSectorSource(Disk& disk) : m_disk(disk) {}
    u32 sector_bytes() const override { return m_disk.sector_bytes(); }
    u64 sector_count() const override { return m_disk.sector_count(); }
    bool read_sectors(u64 sector, MutableBytes out) override;

private:
    Disk& m_disk;
};

struct ImageFile {
    u32 index = 0;
    u64 size = 0;
    u32 crc = 0;
    u64 data_offset = 0;
};

class ImageFs {
public:
    // Reads and checks the superblock; says how much memory mount() needs.
    static Result<ImageSuperblock, ImageError> probe(SectorSource& source);
    static usize table_bytes(const ImageSuperblock& super);

    // Reads and checks the index into `table` (at least table_bytes(super)),
    // which must outlive the ImageFs.
    Status<ImageError> mount(SectorSource& source, const ImageSuperblock& super,
                             MutableBytes table);

    bool mounted() const { return m_source != nullptr; }
    u32 file_count() const { return m_super.entry_count; }
    const ImageSuperblock& superblock() const { return m_super; }

    // Binary search over the sorted index: O(log n).
    Result<ImageFile, ImageError> lookup(std::string_view path) const;
    ImageFile file(u32 index) const;
    std::string_view path(u32 index) const;

    // Copies up to out.size() bytes of `file` from `offset`; returns the count
    // (0 at or past the end). `scratch` (at least one sector) absorbs partial
    // sectors; each fiber reading at once needs its own.
    Result<usize, ImageError> read(const ImageFile& file, u64 offset, MutableBytes out,
                                   MutableBytes scratch) const;
    // Reads the whole file and compares its CRC-32C. `buffer`: any size of at
    // least one sector (larger is faster).
    Status<ImageError> verify(const ImageFile& file, MutableBytes buffer) const;

private:
    Status<ImageError> check_entries() const;
    Status<ImageError> read_bytes(u64 offset, MutableBytes out, MutableBytes scratch) const;
    ImageEntry entry(u32 index) const;

    SectorSource* m_source = nullptr;
    ImageSuperblock m_super;
    const u8* m_table = nullptr; // entries, then names
};

} // namespace gantry::fs
