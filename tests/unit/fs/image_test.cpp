// gantryfs reader: round trips through a Disk on a MemoryBlockDevice (both
// sector sizes), and every kind of corruption rejected with its own error.
#include "image_builder.hpp"
#include "memory_block_device.hpp"
#include "test_platform.hpp"

#include <gantry/fs/image.hpp>
#include <gantry/kernel.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace gantry;
using namespace gantry::fs;
using gantry::testing::build_image;
using gantry::testing::ImageFiles;
using gantry::testing::MemoryBlockDevice;
using gantry::testing::MemorySectorSource;
using gantry::testing::raw_superblock;
using gantry::testing::reseal_image;
using gantry::testing::TestKernel;

namespace {

std::vector<u8> pattern(usize bytes, u8 seed)
{
    std::vector<u8> out(bytes);
    for (usize i = 0; i < bytes; ++i)
        out[i] = static_cast<u8>(seed + i * 7 + (i >> 9));
    return out;
}

ImageFiles sample_files()
{
    return {
        {"index.html", pattern(1000, 1)},
        {"css/site.css", pattern(4096, 2)},
        {"empty", {}},
        {"a", pattern(1, 3)},
        {"big/blob.bin", pattern(70000, 4)},
    };
}

// Mounts `image` from memory (no kernel), returning the error or ok.
Status<ImageError> mount_bytes(const std::vector<u8>& image, std::vector<u8>& table, ImageFs& fs,
                               MemorySectorSource& source)
{
    auto probed = ImageFs::probe(source);
    if (!probed.ok())
        return fail(probed.error());
    table.resize(ImageFs::table_bytes(probed.value()));
    return fs.mount(source, probed.value(), MutableBytes(table));
}

ImageError mount_error(const std::vector<u8>& image)
{
    MemorySectorSource source(image);
    std::vector<u8> table;
    ImageFs fs;
    auto mounted = mount_bytes(image, table, fs, source);
    REQUIRE(!mounted.ok());
    CHECK(!fs.mounted());
    return mounted.error();
}

void store32(std::vector<u8>& image, usize at, u32 value)
{
    for (int i = 0; i < 4; i++)
        image[at + i] = static_cast<u8>(value >> (8 * i));
}
void store64(std::vector<u8>& image, usize at, u64 value)
{
    store32(image, at, static_cast<u32>(value));
    store32(image, at + 4, static_cast<u32>(value >> 32));
}

// Byte offset of entry i's field `field` (docs/image-format.md, "Index").
usize entry_field(u32 i, usize field) { return image_block_bytes + i * entry_bytes + field; }

void read_all_through_disk(u32 sector_bytes)
{
    ImageFiles files = sample_files();
    std::vector<u8> image = build_image(files);
    MemoryBlockDevice device(image.size() / sector_bytes + 2, sector_bytes);
    std::copy(image.begin(), image.end(), device.data().begin());
    TestKernel tk({}, 16 * 1024 * 1024, {&device});
    bool done = false;
    Fiber* fiber = tk.kernel->sched().spawn("fs", [&] {
        DiskSectorSource source(*tk.kernel->disk(0));
        auto probed = ImageFs::probe(source);
        REQUIRE(probed.ok());
        std::vector<u8> table(ImageFs::table_bytes(probed.value()));
        ImageFs fs;
        REQUIRE(fs.mount(source, probed.value(), MutableBytes(table)).ok());
        REQUIRE(fs.file_count() == files.size());
        std::vector<u8> scratch(sector_bytes);
        for (const auto& [path, data] : files) {
            auto found = fs.lookup(path);
            REQUIRE(found.ok());
            CHECK(found.value().size == data.size());
            // Whole file in one read, then in odd-sized pieces at odd offsets.
            std::vector<u8> whole(data.size() + 100);
            auto got = fs.read(found.value(), 0, MutableBytes(whole), MutableBytes(scratch));
            REQUIRE(got.ok());
            CHECK(got.value() == data.size());
            CHECK(std::equal(data.begin(), data.end(), whole.begin()));
            std::vector<u8> pieces;
            u8 piece[333];
            for (u64 at = 0;;) {
                auto part = fs.read(found.value(), at, MutableBytes(piece), MutableBytes(scratch));
                REQUIRE(part.ok());
                if (part.value() == 0)
                    break;
                pieces.insert(pieces.end(), piece, piece + part.value());
                at += part.value();
            }
            CHECK(pieces == data);
            std::vector<u8> buffer(sector_bytes * 3);
            CHECK(fs.verify(found.value(), MutableBytes(buffer)).ok());
        }
        auto missing = fs.lookup("nope.html");
        REQUIRE(!missing.ok());
        CHECK(missing.error() == ImageError::not_found);
        CHECK(!fs.lookup("css").ok()); // a directory is not a file
        CHECK(!fs.lookup("").ok());
        done = true;
    });
    REQUIRE(fiber);
    tk.kernel->sched().detach(fiber);
    tk.run_until_idle();
    CHECK(done);
}

} // namespace

TEST_CASE("image: crc32c gives the standard check value")
{
    const char* check = "123456789";
    CHECK(crc32c(0, Bytes(reinterpret_cast<const u8*>(check), 9)) == 0xE3069283u);
    // Pieces chain.
    u32 split = crc32c(crc32c(0, Bytes(reinterpret_cast<const u8*>(check), 4)),
                       Bytes(reinterpret_cast<const u8*>(check) + 4, 5));
    CHECK(split == 0xE3069283u);
}

TEST_CASE("image: valid paths")
{
    CHECK(valid_path("index.html"));
    CHECK(valid_path("a/b/c.txt"));
    CHECK(valid_path(".hidden"));
    CHECK(valid_path("a/...")); // three dots is a name
    CHECK(!valid_path(""));
    CHECK(!valid_path("/a"));
    CHECK(!valid_path("a/"));
    CHECK(!valid_path("a//b"));
    CHECK(!valid_path("a/../b"));
    CHECK(!valid_path("./a"));
    CHECK(!valid_path(".."));
    CHECK(!valid_path(std::string_view("a\0b", 3)));
    CHECK(valid_path(std::string(255, 'x')));
    CHECK(!valid_path(std::string(256, 'x')));
}

TEST_CASE("image: files read back through a Disk with 512-byte sectors")
{
    read_all_through_disk(512);
}

TEST_CASE("image: files read back through a Disk with 4096-byte sectors")
{
    read_all_through_disk(4096);
}

TEST_CASE("image: an empty image mounts with no files")
{
    std::vector<u8> image = build_image({});
    CHECK(image.size() == image_block_bytes);
    MemorySectorSource source(image);
    std::vector<u8> table;
    ImageFs fs;
    REQUIRE(mount_bytes(image, table, fs, source).ok());
    CHECK(fs.file_count() == 0);
    CHECK(fs.lookup("index.html").error() == ImageError::not_found);
}

TEST_CASE("image: the superblock is checked field by field")
{
    std::vector<u8> good = build_image(sample_files());
    fs::ImageSuperblock super = raw_superblock(good);

    SECTION("wrong magic")
    {
        std::vector<u8> image = good;
        image[0] = 'X';
        CHECK(mount_error(image) == ImageError::not_an_image);
    }
    SECTION("an unknown version, even with a valid checksum")
    {
        std::vector<u8> image = good;
        store32(image, 8, 2);
        store32(image, 508, crc32c(0, Bytes(image.data(), 508)));
        CHECK(mount_error(image) == ImageError::bad_version);
    }
    SECTION("one flipped bit anywhere in the superblock")
    {
        std::vector<u8> image = good;
        image[100] ^= 0x10;
        CHECK(mount_error(image) == ImageError::bad_superblock);
    }
    SECTION("an image larger than the disk")
    {
        std::vector<u8> image = good;
        super.image_bytes += image_block_bytes;
        reseal_image(image, super);
        CHECK(mount_error(image) == ImageError::bad_geometry);
    }
    SECTION("data that does not start right after the index")
    {
        std::vector<u8> image = good;
        super.data_offset += image_block_bytes;
        reseal_image(image, super);
        CHECK(mount_error(image) == ImageError::bad_geometry);
    }
    SECTION("more entries than the reader allows")
    {
        std::vector<u8> image = good;
        super.entry_count = entries_max + 1;
        reseal_image(image, super);
        CHECK(mount_error(image) == ImageError::too_large);
    }
    SECTION("a disk too small to hold a sector")
    {
        std::vector<u8> image(100, 0);
        CHECK(mount_error(image) == ImageError::not_an_image);
    }
}

TEST_CASE("image: the index is checked entry by entry")
{
    std::vector<u8> good = build_image(sample_files());
    fs::ImageSuperblock super = raw_superblock(good);
    // Sorted: a, big/blob.bin, css/site.css, empty, index.html.

    SECTION("a flipped byte in the index fails its checksum")
    {
        std::vector<u8> image = good;
        image[entry_field(1, 16)] ^= 1;
        CHECK(mount_error(image) == ImageError::bad_index);
    }
    SECTION("a file whose data runs past the image")
    {
        std::vector<u8> image = good;
        store64(image, entry_field(4, 16), super.image_bytes);
        reseal_image(image, super);
        CHECK(mount_error(image) == ImageError::bad_entry);
    }
    SECTION("a huge length that would overflow offset + length")
    {
        std::vector<u8> image = good;
        store64(image, entry_field(4, 16), ~u64{0} - 10);
        reseal_image(image, super);
        CHECK(mount_error(image) == ImageError::bad_entry);
    }
    SECTION("two files sharing data blocks")
    {
        std::vector<u8> image = good;
        u64 first_data = super.data_offset;
        store64(image, entry_field(1, 8), first_data);
        reseal_image(image, super);
        CHECK(mount_error(image) == ImageError::bad_entry);
    }
    SECTION("misaligned data")
    {
        std::vector<u8> image = good;
        store64(image, entry_field(4, 8), super.image_bytes - image_block_bytes + 1);
        reseal_image(image, super);
        CHECK(mount_error(image) == ImageError::bad_entry);
    }
    SECTION("names out of order")
    {
        std::vector<u8> image = good;
        u8* names = image.data() + image_block_bytes + super.entry_count * entry_bytes;
        names[0] = 'z'; // "a" becomes "z", before "big/blob.bin"
        reseal_image(image, super);
        CHECK(mount_error(image) == ImageError::bad_entry);
    }
    SECTION("a name that climbs out with ..")
    {
        std::vector<u8> image = build_image({{"ab", {1}}, {"ac", {2}}});
        fs::ImageSuperblock two = raw_superblock(image);
        u8* names = image.data() + image_block_bytes + 2 * entry_bytes;
        names[0] = '.';
        names[1] = '.';
        reseal_image(image, two);
        CHECK(mount_error(image) == ImageError::bad_entry);
    }
    SECTION("a name outside the name table")
    {
        std::vector<u8> image = good;
        store32(image, entry_field(4, 4), 0xffff);
        reseal_image(image, super);
        CHECK(mount_error(image) == ImageError::bad_entry);
    }
    SECTION("nonzero flags")
    {
        std::vector<u8> image = good;
        image[entry_field(0, 6)] = 1;
        reseal_image(image, super);
        CHECK(mount_error(image) == ImageError::bad_entry);
    }
}

TEST_CASE("image: corrupt file data is caught by verify, not by mount")
{
    std::vector<u8> image = build_image(sample_files());
    fs::ImageSuperblock super = raw_superblock(image);
    image[super.data_offset + 0] ^= 0xff; // the first file, "a"
    MemorySectorSource source(image);
    std::vector<u8> table;
    ImageFs fs;
    REQUIRE(mount_bytes(image, table, fs, source).ok());
    std::vector<u8> buffer(512);
    CHECK(fs.verify(fs.lookup("a").value(), MutableBytes(buffer)).error() ==
          ImageError::bad_content);
    CHECK(fs.verify(fs.lookup("index.html").value(), MutableBytes(buffer)).ok());
}

TEST_CASE("image: a disk read error is an io_error")
{
    std::vector<u8> image = build_image(sample_files());
    MemoryBlockDevice device(image.size() / 512, 512);
    std::copy(image.begin(), image.end(), device.data().begin());
    fs::ImageSuperblock super = raw_superblock(image);
    device.failing_sector = super.data_offset / 512; // the first file's data
    TestKernel tk({}, 16 * 1024 * 1024, {&device});
    bool done = false;
    Fiber* fiber = tk.kernel->sched().spawn("fs", [&] {
        DiskSectorSource source(*tk.kernel->disk(0));
        auto probed = ImageFs::probe(source);
        REQUIRE(probed.ok());
        std::vector<u8> table(ImageFs::table_bytes(probed.value()));
        ImageFs fs;
        REQUIRE(fs.mount(source, probed.value(), MutableBytes(table)).ok());
        u8 out[16];
        u8 scratch[512];
        auto got = fs.read(fs.lookup("a").value(), 0, MutableBytes(out), MutableBytes(scratch));
        REQUIRE(!got.ok());
        CHECK(got.error() == ImageError::io_error);
        done = true;
    });
    REQUIRE(fiber);
    tk.kernel->sched().detach(fiber);
    tk.run_until_idle();
    CHECK(done);
}

TEST_CASE("image: a table buffer that is too small is refused")
{
    std::vector<u8> image = build_image(sample_files());
    MemorySectorSource source(image);
    auto probed = ImageFs::probe(source);
    REQUIRE(probed.ok());
    std::vector<u8> table(ImageFs::table_bytes(probed.value()) - 1);
    ImageFs fs;
    CHECK(fs.mount(source, probed.value(), MutableBytes(table)).error() == ImageError::small_buffer);
    CHECK(!fs.mounted());
}
