// gantryfs reader (docs/image-format.md). Every value read from the image is
// checked before it is used as an offset, a length or a loop bound.
#include <gantry/fs/image.hpp>


namespace gantry::fs {

using namespace std::string_view_literals;

namespace {

// Superblock field offsets (docs/image-format.md, "Superblock").
constexpr usize sb_magic = 0;
constexpr usize sb_version = 8;
constexpr usize sb_block_bytes = 12;
constexpr usize sb_image_bytes = 16;
constexpr usize sb_entry_count = 24;
constexpr usize sb_names_bytes = 28;
constexpr usize sb_index_offset = 32;
constexpr usize sb_data_offset = 40;
constexpr usize sb_index_crc = 48;
constexpr usize sb_reserved = 52;
constexpr usize sb_crc = superblock_bytes - 4;

u16 load16(const u8* at) { return static_cast<u16>(at[0] | at[1] << 8); }
u32 load32(const u8* at)
{
    return static_cast<u32>(at[0]) | static_cast<u32>(at[1]) << 8 |
           static_cast<u32>(at[2]) << 16 | static_cast<u32>(at[3]) << 24;
}
u64 load64(const u8* at) { return load32(at) | static_cast<u64>(load32(at + 4)) << 32; }
void store16(u8* at, u16 value)
{
    at[0] = static_cast<u8>(value);
    at[1] = static_cast<u8>(value >> 8);
}
void store32(u8* at, u32 value)
{
    for (int i = 0; i < 4; i++)
        at[i] = static_cast<u8>(value >> (8 * i));
}
void store64(u8* at, u64 value)
{
    store32(at, static_cast<u32>(value));
    store32(at + 4, static_cast<u32>(value >> 32));
}

constexpr u64 align_up(u64 value, u64 alignment) { return (value + alignment - 1) / alignment * alignment; }

// Where data may start: the block after the index (entries, then names).
constexpr u64 data_start(u64 index_offset, u32 entry_count, u32 names_bytes)
{
    return align_up(index_offset + static_cast<u64>(entry_count) * entry_bytes + names_bytes,
                    image_block_bytes);
}

} // namespace

std::string_view describe(ImageError error)
{
    switch (error) {
    case ImageError::io_error:
        return "the disk failed a read"sv;
    case ImageError::not_an_image:
        return "not a gantryfs image (bad magic)"sv;
    case ImageError::bad_version:
        return "unsupported gantryfs version"sv;
    case ImageError::bad_superblock:
        return "superblock checksum mismatch"sv;
    case ImageError::bad_geometry:
        return "inconsistent sizes or offsets in the superblock"sv;
    case ImageError::too_large:
        return "more entries or name bytes than the reader allows"sv;
    case ImageError::bad_index:
        return "index checksum mismatch"sv;
    case ImageError::bad_entry:
        return "an index entry is invalid"sv;
    case ImageError::bad_sector_size:
        return "the disk's sectors are larger than the image's blocks"sv;
    case ImageError::not_found:
        return "no such file"sv;
    case ImageError::bad_content:
        return "file data does not match its checksum"sv;
    case ImageError::small_buffer:
        return "buffer too small"sv;
    }
    return "?"sv;
}

Result<ImageSuperblock, ImageError> parse_superblock(Bytes sector, u64 disk_bytes)
{
    if (sector.size() < superblock_bytes)
        return fail(ImageError::small_buffer);
    const u8* at = sector.data();
    for (usize i = 0; i < sizeof(image_magic); i++)
        if (at[sb_magic + i] != image_magic[i])
            return fail(ImageError::not_an_image);
    if (load32(at + sb_version) != image_version)
        return fail(ImageError::bad_version);
    if (load32(at + sb_crc) != crc32c(0, sector.first(sb_crc)))
        return fail(ImageError::bad_superblock);
    ImageSuperblock super;
    super.image_bytes = load64(at + sb_image_bytes);
    super.entry_count = load32(at + sb_entry_count);
    super.names_bytes = load32(at + sb_names_bytes);
    super.index_offset = load64(at + sb_index_offset);
    super.data_offset = load64(at + sb_data_offset);
    super.index_crc = load32(at + sb_index_crc);
    for (usize i = sb_reserved; i < sb_crc; i++)
        if (at[i] != 0)
            return fail(ImageError::bad_geometry);
    if (load32(at + sb_block_bytes) != image_block_bytes)
        return fail(ImageError::bad_geometry);
    if (super.entry_count > entries_max || super.names_bytes > names_bytes_max)
        return fail(ImageError::too_large);
    // Fixed layout: the index starts at block 1, data right after it. With the
    // counts bounded above, none of these sums can overflow.
    if (super.index_offset != image_block_bytes)
        return fail(ImageError::bad_geometry);
    if (super.data_offset != data_start(super.index_offset, super.entry_count, super.names_bytes))
        return fail(ImageError::bad_geometry);
    if (super.image_bytes % image_block_bytes != 0 || super.image_bytes < super.data_offset ||
        super.image_bytes > disk_bytes)
        return fail(ImageError::bad_geometry);
    return super;
}

void emit_superblock(const ImageSuperblock& super, MutableBytes out)
{
    GANTRY_ASSERT(out.size() >= superblock_bytes);
    u8* at = out.data();
    for (usize i = 0; i < superblock_bytes; i++)
        at[i] = 0;
    for (usize i = 0; i < sizeof(image_magic); i++)
        at[sb_magic + i] = image_magic[i];
    store32(at + sb_version, image_version);
    store32(at + sb_block_bytes, image_block_bytes);
    store64(at + sb_image_bytes, super.image_bytes);
    store32(at + sb_entry_count, super.entry_count);
    store32(at + sb_names_bytes, super.names_bytes);
    store64(at + sb_index_offset, super.index_offset);
    store64(at + sb_data_offset, super.data_offset);
    store32(at + sb_index_crc, super.index_crc);
    store32(at + sb_crc, crc32c(0, Bytes(at, sb_crc)));
}

ImageEntry parse_entry(Bytes bytes)
{
    GANTRY_ASSERT(bytes.size() >= entry_bytes);
    const u8* at = bytes.data();
    ImageEntry entry;
    entry.name_offset = load32(at);
    entry.name_length = load16(at + 4);
    entry.flags = load16(at + 6);
    entry.data_offset = load64(at + 8);
    entry.length = load64(at + 16);
    entry.data_crc = load32(at + 24);
    // Bytes 28..31 are reserved; check_entries() insists they are zero.
    return entry;
}

void emit_entry(const ImageEntry& entry, MutableBytes out)
{
    GANTRY_ASSERT(out.size() >= entry_bytes);
    u8* at = out.data();
    store32(at, entry.name_offset);
    store16(at + 4, entry.name_length);
    store16(at + 6, entry.flags);
    store64(at + 8, entry.data_offset);
    store64(at + 16, entry.length);
    store32(at + 24, entry.data_crc);
    store32(at + 28, 0);
}

bool valid_path(std::string_view path)
{
    if (path.empty() || path.size() > path_bytes_max)
        return false;
    usize component_start = 0;
    for (usize i = 0; i <= path.size(); i++) {
        if (i < path.size() && path[i] == '\0')
            return false;
        if (i < path.size() && path[i] != '/')
            continue;
        std::string_view component(path.data() + component_start, i - component_start);
        if (component.empty() || component == "."sv || component == ".."sv)
            return false;
        component_start = i + 1;
    }
    return true;
}

bool DiskSectorSource::read_sectors(u64 sector, MutableBytes out)
{
    return m_disk.read(sector, out).ok();
}

// --- ImageFs --------------------------------------------------------------------

Result<ImageSuperblock, ImageError> ImageFs::probe(SectorSource& source)
{
    u32 sector = source.sector_bytes();
    if (sector < superblock_bytes || sector > sector_bytes_max || (sector & (sector - 1)) != 0)
        return fail(ImageError::bad_sector_size);
    u8 first[sector_bytes_max];
    if (source.sector_count() == 0)
        return fail(ImageError::not_an_image); // smaller than a sector
    if (!source.read_sectors(0, MutableBytes(first, sector)))
        return fail(ImageError::io_error);
    u64 count = source.sector_count();
    u64 disk_bytes = count > ~u64{0} / sector ? ~u64{0} : count * sector;
    return parse_superblock(Bytes(first, sector), disk_bytes);
}

usize ImageFs::table_bytes(const ImageSuperblock& super)
{
    return static_cast<usize>(super.entry_count) * entry_bytes + super.names_bytes;
}

Status<ImageError> ImageFs::mount(SectorSource& source, const ImageSuperblock& super,
                                  MutableBytes table)
{
    GANTRY_ASSERT(!mounted());
    usize bytes = table_bytes(super);
    if (table.size() < bytes)
        return fail(ImageError::small_buffer);
    m_source = &source;
    m_super = super;
    u8 scratch[sector_bytes_max];
    auto loaded = read_bytes(super.index_offset, table.first(bytes), MutableBytes(scratch));
    if (loaded.ok() && crc32c(0, table.first(bytes)) != super.index_crc)
        loaded = fail(ImageError::bad_index);
    m_table = table.data();
    if (loaded.ok())
        loaded = check_entries();
    if (!loaded.ok()) {
        m_source = nullptr;
        m_table = nullptr;
        return loaded;
    }
    return {};
}

ImageEntry ImageFs::entry(u32 index) const
{
    GANTRY_ASSERT(index < m_super.entry_count);
    return parse_entry(Bytes(m_table + static_cast<usize>(index) * entry_bytes, entry_bytes));
}

// One pass: names packed in entry order and strictly increasing (so lookup can
// bisect), data blocks in the same order without overlap, all inside the image.
Status<ImageError> ImageFs::check_entries() const
{
    const u8* names = m_table + static_cast<usize>(m_super.entry_count) * entry_bytes;
    u32 name_at = 0;
    u64 data_at = m_super.data_offset;
    std::string_view previous;
    for (u32 i = 0; i < m_super.entry_count; i++) {
        const u8* raw = m_table + static_cast<usize>(i) * entry_bytes;
        ImageEntry e = entry(i);
        if (e.flags != 0 || load32(raw + 28) != 0)
            return fail(ImageError::bad_entry);
        if (e.name_offset != name_at || e.name_length > m_super.names_bytes - name_at)
            return fail(ImageError::bad_entry);
        std::string_view name(reinterpret_cast<const char*>(names) + name_at, e.name_length);
        if (!valid_path(name) || (i > 0 && !(previous < name)))
            return fail(ImageError::bad_entry);
        name_at += e.name_length;
        previous = name;
        if (e.data_offset % image_block_bytes != 0 || e.data_offset < data_at ||
            e.data_offset > m_super.image_bytes)
            return fail(ImageError::bad_entry);
        u64 room = m_super.image_bytes - e.data_offset;
        if (e.length > room || align_up(e.length, image_block_bytes) > room)
            return fail(ImageError::bad_entry);
        data_at = e.data_offset + align_up(e.length, image_block_bytes);
    }
    if (name_at != m_super.names_bytes)
        return fail(ImageError::bad_entry);
    return {};
}

std::string_view ImageFs::path(u32 index) const
{
    ImageEntry e = entry(index);
    const u8* names = m_table + static_cast<usize>(m_super.entry_count) * entry_bytes;
    return std::string_view(reinterpret_cast<const char*>(names) + e.name_offset, e.name_length);
}

ImageFile ImageFs::file(u32 index) const
{
    ImageEntry e = entry(index);
    return ImageFile{index, e.length, e.data_crc, e.data_offset};
}

Result<ImageFile, ImageError> ImageFs::lookup(std::string_view wanted) const
{
    GANTRY_ASSERT(mounted());
    u32 low = 0;
    u32 high = m_super.entry_count;
    while (low < high) {
        u32 middle = low + (high - low) / 2;
        std::string_view name = path(middle);
        if (name == wanted)
            return file(middle);
        if (name < wanted)
            low = middle + 1;
        else
            high = middle;
    }
    return fail(ImageError::not_found);
}

// Reads image bytes [offset, offset + out.size()): whole sectors straight into
// `out` where they fit, the partial ones through `scratch`.
Status<ImageError> ImageFs::read_bytes(u64 offset, MutableBytes out, MutableBytes scratch) const
{
    u32 sector = m_source->sector_bytes();
    if (scratch.size() < sector)
        return fail(ImageError::small_buffer);
    usize done = 0;
    while (done < out.size()) {
        u64 at = offset + done;
        usize left = out.size() - done;
        u64 in_sector = at % sector;
        if (in_sector == 0 && left >= sector) {
            usize whole = left / sector * sector;
            if (!m_source->read_sectors(at / sector, out.subspan(done, whole)))
                return fail(ImageError::io_error);
            done += whole;
            continue;
        }
        if (!m_source->read_sectors(at / sector, scratch.first(sector)))
            return fail(ImageError::io_error);
        usize piece = sector - static_cast<usize>(in_sector);
        piece = piece < left ? piece : left;
        for (usize i = 0; i < piece; i++)
            out[done + i] = scratch[static_cast<usize>(in_sector) + i];
        done += piece;
    }
    return {};
}

Result<usize, ImageError> ImageFs::read(const ImageFile& file, u64 offset, MutableBytes out,
                                        MutableBytes scratch) const
{
    GANTRY_ASSERT(mounted());
    GANTRY_ASSERT(file.index < m_super.entry_count);
    if (offset >= file.size)
        return usize{0};
    u64 left = file.size - offset;
    usize count = left < out.size() ? static_cast<usize>(left) : out.size();
    GANTRY_TRY(read_bytes(file.data_offset + offset, out.first(count), scratch));
    return count;
}

Status<ImageError> ImageFs::verify(const ImageFile& file, MutableBytes buffer) const
{
    GANTRY_ASSERT(mounted());
    u32 sector = m_source->sector_bytes();
    if (buffer.size() < sector)
        return fail(ImageError::small_buffer);
    // Whole sectors only: check_entries() made sure the file's last block lies
    // inside the image, so reading its padding is in range.
    usize piece_max = buffer.size() / sector * sector;
    u32 crc = 0;
    for (u64 at = 0; at < file.size;) {
        u64 left = file.size - at;
        u64 rounded = align_up(left, sector);
        usize piece = rounded < piece_max ? static_cast<usize>(rounded) : piece_max;
        if (!m_source->read_sectors((file.data_offset + at) / sector, buffer.first(piece)))
            return fail(ImageError::io_error);
        usize used = left < piece ? static_cast<usize>(left) : piece;
        crc = crc32c(crc, Bytes(buffer.data(), used));
        at += used;
    }
    if (crc != file.crc)
        return fail(ImageError::bad_content);
    return {};
}

} // namespace gantry::fs
