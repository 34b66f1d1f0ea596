// `gantry mkimage DIR OUT.img` writes a gantryfs image (docs/image-format.md)
// of every regular file under DIR; `gantry mkimage --list IMG` mounts an image
// with the core's own reader, lists it and verifies every file's checksum.
//
// Output is deterministic: entries sorted by path bytes, no timestamps, owners
// or modes, zero padding; the same tree gives the same bytes.
#include "command.hpp"

#include <gantry/fs/image.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

namespace gantry::harness {

namespace {

namespace stdfs = std::filesystem;
using fs::image_block_bytes;

const char* mkimage_usage = R"(usage: gantry mkimage DIR OUT.img
       gantry mkimage --list IMG

Writes a read-only gantryfs image of every regular file under DIR (paths relative
to DIR, '/'-separated) for `--disk OUT.img,ro`; apps such as httpd read it with
gantry::fs::ImageFs. The output depends only on the files' paths and contents:
entries sorted by path bytes, no timestamps. Symbolic links and special files are
refused. Format: docs/image-format.md.

--list IMG mounts IMG with the kernel's reader, prints one line per file (size,
CRC-32C, path) and verifies every file's checksum.

exit status: 0 ok, 2 bad usage, unreadable input or a corrupt image
)";

constexpr usize copy_chunk_bytes = 1 << 20;

struct SourceFile {
    std::string path; // relative, '/'-separated: the name in the image
    stdfs::path full;
    u64 size = 0;
};

u64 align_up(u64 value) { return (value + image_block_bytes - 1) / image_block_bytes * image_block_bytes; }

std::vector<SourceFile> collect(const stdfs::path& root)
{
    std::error_code error;
    if (!stdfs::is_directory(root, error))
        throw CommandError("'" + root.string() + "' is not a directory",
                           "give the directory whose files the image should hold");
    std::vector<SourceFile> files;
    stdfs::recursive_directory_iterator it(root, error), end;
    if (error)
        throw CommandError("cannot read '" + root.string() + "': " + error.message());
    for (; it != end; it.increment(error)) {
        if (error)
            throw CommandError("cannot read under '" + root.string() + "': " + error.message());
        const stdfs::directory_entry& entry = *it;
        std::string relative = stdfs::relative(entry.path(), root).generic_string();
        if (entry.is_symlink())
            throw CommandError("'" + entry.path().string() + "' is a symbolic link",
                               "copy the file it points to into the tree instead");
        if (entry.is_directory())
            continue;
        if (!entry.is_regular_file())
            throw CommandError("'" + entry.path().string() + "' is not a regular file",
                               "remove it from the tree (only files and directories go in)");
        if (!fs::valid_path(relative))
            throw CommandError("'" + relative + "' cannot be a gantryfs path",
                               "paths are at most 255 bytes; rename it");
        files.push_back({relative, entry.path(), static_cast<u64>(entry.file_size())});
    }
    std::sort(files.begin(), files.end(),
              [](const SourceFile& a, const SourceFile& b) { return a.path < b.path; });
    if (files.size() > fs::entries_max)
        throw CommandError("'" + root.string() + "' holds " + std::to_string(files.size()) +
                               " files; a gantryfs image holds at most " +
                               std::to_string(fs::entries_max));
    return files;
}

// Copies one file's bytes to `out`, returning their CRC-32C; the file must
// still have the size it had when the layout was made.
u32 copy_file(const SourceFile& file, std::ofstream& out, std::vector<char>& buffer)
{
    std::ifstream in(file.full, std::ios::binary);
    if (!in)
        throw CommandError("cannot open '" + file.full.string() + "' for reading");
    u32 crc = 0;
    u64 copied = 0;
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        auto got = static_cast<usize>(in.gcount());
        if (got == 0)
            break;
        crc = fs::crc32c(crc, Bytes(reinterpret_cast<const u8*>(buffer.data()), got));
        out.write(buffer.data(), static_cast<std::streamsize>(got));
        copied += got;
    }
    if (in.bad() || copied != file.size)
        throw CommandError("'" + file.full.string() + "' changed while the image was written",
                           "run mkimage again on a tree nobody is writing to");
    return crc;
}

void write_image(const std::vector<SourceFile>& files, const std::string& out_path,
                 bool report = true)
{
    u64 names_bytes = 0;
    for (const SourceFile& file : files)
        names_bytes += file.path.size();
    if (names_bytes > fs::names_bytes_max)
        throw CommandError("the paths add up to " + std::to_string(names_bytes) +
                           " bytes; a gantryfs image holds at most " +
                           std::to_string(fs::names_bytes_max));
    fs::ImageSuperblock super;
    super.entry_count = static_cast<u32>(files.size());
    super.names_bytes = static_cast<u32>(names_bytes);
    super.index_offset = image_block_bytes;
    super.data_offset = align_up(super.index_offset + files.size() * fs::entry_bytes + names_bytes);

    std::vector<u8> index(files.size() * fs::entry_bytes + names_bytes);
    std::vector<fs::ImageEntry> entries(files.size());
    u64 data_at = super.data_offset;
    u32 name_at = 0;
    for (usize i = 0; i < files.size(); i++) {
        entries[i].name_offset = name_at;
        entries[i].name_length = static_cast<u16>(files[i].path.size());
        entries[i].data_offset = data_at;
        entries[i].length = files[i].size;
        std::copy(files[i].path.begin(), files[i].path.end(),
                  index.begin() + static_cast<std::ptrdiff_t>(files.size() * fs::entry_bytes + name_at));
        name_at += static_cast<u32>(files[i].path.size());
        data_at += align_up(files[i].size);
    }
    super.image_bytes = data_at;

    // Data first (its checksums go into the index), then the head, into a
    // temporary file renamed at the end: a failed run leaves no half image.
    std::string temporary = out_path + ".tmp";
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out)
        throw CommandError("cannot create '" + temporary + "'", "check the directory exists and is writable");
    std::vector<char> buffer(copy_chunk_bytes);
    const std::vector<char> zeros(image_block_bytes, 0);
    out.write(zeros.data(), 1); // make the head's bytes exist before seeking past them
    for (usize i = 0; i < files.size(); i++) {
        out.seekp(static_cast<std::streamoff>(entries[i].data_offset));
        entries[i].data_crc = copy_file(files[i], out, buffer);
        u64 padding = align_up(files[i].size) - files[i].size;
        out.write(zeros.data(), static_cast<std::streamsize>(padding));
    }
    for (usize i = 0; i < files.size(); i++)
        fs::emit_entry(entries[i], MutableBytes(index.data() + i * fs::entry_bytes, fs::entry_bytes));
    super.index_crc = fs::crc32c(0, Bytes(index.data(), index.size()));

    std::vector<u8> head(super.data_offset, 0);
    fs::emit_superblock(super, MutableBytes(head.data(), fs::superblock_bytes));
    std::copy(index.begin(), index.end(), head.begin() + static_cast<std::ptrdiff_t>(super.index_offset));
    out.seekp(0);
    out.write(reinterpret_cast<const char*>(head.data()), static_cast<std::streamsize>(head.size()));
    out.close();
    std::error_code error;
    if (!out || stdfs::file_size(temporary, error) != super.image_bytes) {
        stdfs::remove(temporary, error);
        throw CommandError("cannot write '" + temporary + "' (disk full?)");
    }
    stdfs::rename(temporary, out_path, error);
    if (error)
        throw CommandError("cannot rename '" + temporary + "' to '" + out_path + "': " + error.message());
    if (report)
        std::printf("%s: %zu files, %llu bytes\n", out_path.c_str(), files.size(),
                static_cast<unsigned long long>(super.image_bytes));
}

// An image file as a sector source for the core's reader.
class FileSectorSource final : public fs::SectorSource {
public:
    explicit FileSectorSource(const std::string& path) : m_in(path, std::ios::binary)
    {
        if (!m_in)
            throw CommandError("cannot open '" + path + "'");
        std::error_code error;
        u64 bytes = stdfs::file_size(path, error);
        if (error)
            throw CommandError("cannot get the size of '" + path + "': " + error.message());
        m_sectors = bytes / sector;
    }
    u32 sector_bytes() const override { return sector; }
    u64 sector_count() const override { return m_sectors; }
    bool read_sectors(u64 first, MutableBytes out) override
    {
        m_in.clear();
        m_in.seekg(static_cast<std::streamoff>(first * sector));
        m_in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size()));
        return static_cast<usize>(m_in.gcount()) == out.size();
    }

private:
    static constexpr u32 sector = 512;
    std::ifstream m_in;
    u64 m_sectors = 0;
};

[[noreturn]] void corrupt(const std::string& path, fs::ImageError error, const std::string& what = {})
{
    throw CommandError("'" + path + "'" + what + ": " + std::string(fs::describe(error)),
                       "rebuild it with `gantry mkimage DIR " + path + "`");
}

int list_image(const std::string& path)
{
    FileSectorSource source(path);
    auto probed = fs::ImageFs::probe(source);
    if (!probed.ok())
        corrupt(path, probed.error());
    std::vector<u8> table(fs::ImageFs::table_bytes(probed.value()));
    fs::ImageFs image;
    if (auto mounted = image.mount(source, probed.value(), MutableBytes(table)); !mounted.ok())
        corrupt(path, mounted.error());
    std::vector<u8> buffer(copy_chunk_bytes);
    u64 total = 0;
    for (u32 i = 0; i < image.file_count(); i++) {
        fs::ImageFile file = image.file(i);
        std::string name(image.path(i));
        if (auto verified = image.verify(file, MutableBytes(buffer)); !verified.ok())
            corrupt(path, verified.error(), " (" + name + ")");
        std::printf("%12llu  %08x  %s\n", static_cast<unsigned long long>(file.size), file.crc,
                    name.c_str());
        total += file.size;
    }
    std::printf("%s: gantryfs v%u, %u files, %llu bytes of data, image %llu bytes, all checksums ok\n",
                path.c_str(), fs::image_version, image.file_count(),
                static_cast<unsigned long long>(total),
                static_cast<unsigned long long>(image.superblock().image_bytes));
    return exit_ok;
}

} // namespace

// For scenarios whose disk `image:` is a directory (runner.cpp).
void write_gantryfs_image(const std::string& directory, const std::string& out_path)
{
    write_image(collect(stdfs::path(directory)), out_path, false);
}

int cmd_mkimage(Args args)
{
    if (!args.empty() && is_help(args[0])) {
        std::fputs(mkimage_usage, stdout);
        return exit_ok;
    }
    if (args.size() == 2 && args[0] == "--list")
        return list_image(std::string(args[1]));
    if (args.size() != 2 || args[0].starts_with("-") || args[1].starts_with("-"))
        throw CommandError("mkimage takes DIR and OUT.img (or --list IMG)",
                           "run `gantry mkimage --help`");
    write_image(collect(stdfs::path(args[0])), std::string(args[1]));
    return exit_ok;
}

} // namespace gantry::harness
