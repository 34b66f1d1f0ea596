#include "memory_block_device.hpp"
#include "test_platform.hpp"
#include "trace_records.hpp"

#include <gantry/block.hpp>
#include <gantry/kernel.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace gantry;
using gantry::testing::MemoryBlockDevice;
using gantry::testing::TestKernel;

namespace {

std::vector<u8> pattern(usize bytes, u8 seed)
{
    std::vector<u8> out(bytes);
    for (usize i = 0; i < bytes; ++i)
        out[i] = static_cast<u8>(seed + i * 7);
    return out;
}

void spawn(Kernel& kernel, std::string name, std::function<void()> body)
{
    Fiber* fiber = kernel.sched().spawn(name, std::move(body));
    REQUIRE(fiber != nullptr);
    kernel.sched().detach(fiber);
}

} // namespace

TEST_CASE("disk: the kernel attaches the platform's block devices at boot")
{
    MemoryBlockDevice first(64);
    MemoryBlockDevice second(8, 4096);
    TestKernel tk({}, 16 * 1024 * 1024, {&first, &second});
    REQUIRE(tk.kernel->disk(0) != nullptr);
    REQUIRE(tk.kernel->disk(1) != nullptr);
    CHECK(tk.kernel->disk(2) == nullptr);
    CHECK(tk.kernel->disk(0)->size_bytes() == 64 * 512);
    CHECK(tk.kernel->disk(1)->sector_bytes() == 4096);
    CHECK(tk.platform.console().find("disk 1: 8 sectors of 4096 bytes") != std::string::npos);
}

TEST_CASE("disk: what is written reads back, and flush reaches the device")
{
    MemoryBlockDevice device(64);
    TestKernel tk({}, 16 * 1024 * 1024, {&device});
    Disk& disk = *tk.kernel->disk(0);
    std::vector<u8> written = pattern(3 * 512, 11);
    std::vector<u8> read(3 * 512);
    bool done = false;
    spawn(*tk.kernel, "io", [&] {
        REQUIRE(disk.write(5, written).ok());
        REQUIRE(disk.flush().ok());
        REQUIRE(disk.read(5, read).ok());
        done = true;
    });
    tk.run_until_idle();
    REQUIRE(done);
    CHECK(read == written);
    CHECK(std::equal(written.begin(), written.end(), device.data().begin() + 5 * 512));
    CHECK(device.flushes == 1);
    CHECK(disk.stats().reads == 1);
    CHECK(disk.stats().writes == 1);
    CHECK(disk.stats().flushes == 1);
    CHECK(disk.stats().bytes_written == 3 * 512);
    CHECK(disk.in_flight() == 0);
}

TEST_CASE("disk: bad requests are errors, never sent to the device")
{
    MemoryBlockDevice device(16);
    TestKernel tk({}, 16 * 1024 * 1024, {&device});
    Disk& disk = *tk.kernel->disk(0);
    std::vector<u8> buffer(1024);
    std::vector<DiskError> errors;
    spawn(*tk.kernel, "io", [&] {
        auto record = [&](Status<DiskError> status) {
            REQUIRE(!status.ok());
            errors.push_back(status.error());
        };
        record(disk.read(0, MutableBytes(buffer.data(), 100)));
        record(disk.read(15, buffer));               // 2 sectors from the last one
        record(disk.write(~u64{0}, Bytes(buffer.data(), 512))); // overflow-proof range check
    });
    tk.run_until_idle();
    CHECK(errors == std::vector<DiskError>{DiskError::misaligned, DiskError::out_of_range,
                                           DiskError::out_of_range});
    CHECK(device.submits == 0);
}

TEST_CASE("disk: a read-only device refuses writes and flushes")
{
    MemoryBlockDevice device(16);
    device.set_read_only(true);
    TestKernel tk({}, 16 * 1024 * 1024, {&device});
    Disk& disk = *tk.kernel->disk(0);
    std::vector<u8> buffer(512);
    bool checked = false;
    spawn(*tk.kernel, "io", [&] {
        auto write = disk.write(0, buffer);
        REQUIRE(!write.ok());
        CHECK(write.error() == DiskError::read_only);
        auto flush = disk.flush();
        REQUIRE(!flush.ok());
        CHECK(flush.error() == DiskError::read_only);
        CHECK(disk.read(0, buffer).ok());
        checked = true;
    });
    tk.run_until_idle();
    CHECK(checked);
    CHECK(tk.platform.console().find("(read-only)") != std::string::npos);
}

TEST_CASE("disk: a device error reaches the caller and is counted")
{
    MemoryBlockDevice device(16);
    device.failing_sector = 9;
    TestKernel tk({}, 16 * 1024 * 1024, {&device});
    Disk& disk = *tk.kernel->disk(0);
    std::vector<u8> buffer(4 * 512);
    std::optional<DiskError> error;
    bool other_ok = false;
    spawn(*tk.kernel, "io", [&] {
        auto status = disk.read(8, buffer);
        if (!status.ok())
            error = status.error();
        other_ok = disk.read(0, buffer).ok();
    });
    tk.run_until_idle();
    CHECK(error == DiskError::io_error);
    CHECK(other_ok);
    CHECK(disk.stats().errors == 1);
}

TEST_CASE("disk: requests completing out of order wake the right fibers")
{
    MemoryBlockDevice device(64);
    device.complete_at_once = false;
    for (u64 sector = 0; sector < 4; ++sector) {
        std::vector<u8> content = pattern(512, static_cast<u8>(sector * 40));
        std::copy(content.begin(), content.end(), device.data().begin() + sector * 512);
    }
    TestKernel tk({}, 16 * 1024 * 1024, {&device});
    Disk& disk = *tk.kernel->disk(0);
    std::vector<std::vector<u8>> got(4, std::vector<u8>(512));
    std::vector<int> finish_order;
    for (int i = 0; i < 4; ++i)
        spawn(*tk.kernel, "reader", [&, i] {
            REQUIRE(disk.read(static_cast<u64>(i), got[static_cast<usize>(i)]).ok());
            finish_order.push_back(i);
        });
    tk.run_until_idle();
    // Every fiber is blocked on its own request; nothing completed yet.
    CHECK(device.waiting() == 4);
    CHECK(disk.in_flight() == 4);
    CHECK(finish_order.empty());

    device.complete_newest_first();
    tk.run_until_idle();
    CHECK(finish_order == std::vector<int>{3, 2, 1, 0});
    for (u64 sector = 0; sector < 4; ++sector)
        CHECK(got[sector] == pattern(512, static_cast<u8>(sector * 40)));
    CHECK(disk.in_flight() == 0);
}

TEST_CASE("disk: a full device queue makes submitters wait, not fail")
{
    MemoryBlockDevice device(64);
    device.complete_at_once = false;
    device.queue_depth = 1;
    TestKernel tk({}, 16 * 1024 * 1024, {&device});
    Disk& disk = *tk.kernel->disk(0);
    int finished = 0;
    std::vector<std::vector<u8>> blocks;
    for (int i = 0; i < 3; ++i)
        blocks.push_back(pattern(512, static_cast<u8>(i + 1)));
    for (int i = 0; i < 3; ++i)
        spawn(*tk.kernel, "writer", [&, i] {
            REQUIRE(disk.write(static_cast<u64>(10 + i), blocks[static_cast<usize>(i)]).ok());
            ++finished;
        });
    for (int round = 0; round < 10 && finished < 3; ++round) {
        tk.run_until_idle();
        CHECK(device.waiting() <= 1);
        if (device.waiting() == 1)
            device.complete(0);
    }
    CHECK(finished == 3);
    CHECK(disk.stats().queue_full >= 2);
    for (int i = 0; i < 3; ++i)
        CHECK(std::equal(blocks[static_cast<usize>(i)].begin(), blocks[static_cast<usize>(i)].end(),
                         device.data().begin() + (10 + i) * 512));
}

TEST_CASE("disk: every completed request is traced with its latency")
{
    MemoryBlockDevice device(64);
    device.complete_at_once = false;
    KernelConfig config;
    config.trace = true;
    TestKernel tk(config, 16 * 1024 * 1024, {&device});
    Disk& disk = *tk.kernel->disk(0);
    std::vector<u8> buffer(2 * 512);
    spawn(*tk.kernel, "io", [&] { REQUIRE(disk.write(7, buffer).ok()); });
    tk.run_until_idle();
    tk.platform.advance(3 * ns_per_ms);
    device.complete(0);
    tk.run_until_idle();
    tk.kernel->trace().flush();
    auto records = gantry::testing::decode_records(tk.platform.trace_bytes(), {TraceKind::block_io});
    REQUIRE(records.size() == 1);
    const TraceBlockIo& io = records[0].second.block;
    CHECK(io.disk == 0);
    CHECK(io.op == static_cast<u8>(BlockOp::write));
    CHECK(io.status == static_cast<u8>(BlockStatus::ok));
    CHECK(io.sector == 7);
    CHECK(io.sectors == 2);
    CHECK(io.latency_ns == 3 * ns_per_ms);
}

namespace {

KernelConfig with_read_ahead(usize bytes)
{
    KernelConfig config;
    config.disk_read_ahead_bytes = bytes;
    return config;
}

void fill_with_pattern(MemoryBlockDevice& device, u8 seed)
{
    std::vector<u8> content = pattern(device.data().size(), seed);
    std::copy(content.begin(), content.end(), device.data().begin());
}

} // namespace

TEST_CASE("disk: the read-ahead answers the first reads with one device request")
{
    MemoryBlockDevice device(64);
    device.complete_at_once = false;
    fill_with_pattern(device, 3);
    TestKernel tk(with_read_ahead(8 * 512), 16 * 1024 * 1024, {&device});
    Disk& disk = *tk.kernel->disk(0);
    // Attached and already reading: sectors 0..7 in one request.
    REQUIRE(device.waiting() == 1);
    CHECK(device.submits == 1);
    std::vector<u8> superblock(512), index(2 * 512), again(512), beyond(512);
    int done = 0;
    spawn(*tk.kernel, "mount", [&] {
        REQUIRE(disk.read(0, superblock).ok()); // waits for the read-ahead
        REQUIRE(disk.read(3, index).ok());      // no request of its own
        ++done;
        REQUIRE(disk.read(0, again).ok()); // handed out once: the device again
        REQUIRE(disk.read(8, beyond).ok()); // past the read-ahead
        ++done;
    });
    tk.run_until_idle();
    CHECK(done == 0); // the read-ahead has not completed
    device.complete(0);
    tk.run_until_idle();
    CHECK(done == 1);
    CHECK(device.submits == 2);
    device.complete(0);
    tk.run_until_idle();
    device.complete(0);
    tk.run_until_idle();
    CHECK(done == 2);
    CHECK(device.submits == 3);
    const std::vector<u8> expected = pattern(device.data().size(), 3);
    auto same = [&](const std::vector<u8>& got, u64 sector) {
        return std::equal(got.begin(), got.end(), expected.begin() + sector * 512);
    };
    CHECK(same(superblock, 0));
    CHECK(same(index, 3));
    CHECK(same(again, 0));
    CHECK(same(beyond, 8));
    CHECK(disk.stats().reads == 4);
    CHECK(disk.stats().read_ahead_hits == 2);
    CHECK(disk.in_flight() == 0);
}

TEST_CASE("disk: a write drops its sectors from the read-ahead")
{
    MemoryBlockDevice device(64);
    fill_with_pattern(device, 5);
    TestKernel tk(with_read_ahead(8 * 512), 16 * 1024 * 1024, {&device});
    Disk& disk = *tk.kernel->disk(0);
    const std::vector<u8> written = pattern(2 * 512, 99);
    std::vector<u8> read(4 * 512), untouched(512);
    bool done = false;
    spawn(*tk.kernel, "io", [&] {
        REQUIRE(disk.write(2, written).ok());
        REQUIRE(disk.read(1, read).ok()); // overlaps the write: from the device
        REQUIRE(disk.read(6, untouched).ok()); // still from the read-ahead
        done = true;
    });
    tk.run_until_idle();
    REQUIRE(done);
    CHECK(std::equal(written.begin(), written.end(), read.begin() + 512));
    const std::vector<u8> original = pattern(device.data().size(), 5);
    CHECK(std::equal(read.begin(), read.begin() + 512, original.begin() + 512));
    CHECK(std::equal(untouched.begin(), untouched.end(), original.begin() + 6 * 512));
    CHECK(disk.stats().read_ahead_hits == 1);
    CHECK(device.submits == 3); // read-ahead, write, the overlapping read
}

TEST_CASE("disk: a failed read-ahead leaves the error to the reads themselves")
{
    MemoryBlockDevice device(64);
    device.failing_sector = 2;
    TestKernel tk(with_read_ahead(8 * 512), 16 * 1024 * 1024, {&device});
    Disk& disk = *tk.kernel->disk(0);
    std::vector<u8> first(512), failing(512);
    Status<DiskError> first_status, failing_status;
    spawn(*tk.kernel, "io", [&] {
        first_status = disk.read(0, first);
        failing_status = disk.read(2, failing);
    });
    tk.run_until_idle();
    CHECK(first_status.ok()); // sector 0 itself reads fine from the device
    REQUIRE(!failing_status.ok());
    CHECK(failing_status.error() == DiskError::io_error);
    CHECK(disk.stats().read_ahead_hits == 0);
    CHECK(device.submits == 3);
}

TEST_CASE("disk: a read-ahead larger than the disk or its limit is cut to fit")
{
    MemoryBlockDevice small(4);
    MemoryBlockDevice large(1024);
    small.complete_at_once = false;
    large.complete_at_once = false;
    TestKernel tk(with_read_ahead(1024 * 1024), 16 * 1024 * 1024, {&small, &large});
    std::vector<u8> whole_small(4 * 512), whole_limit(Disk::read_ahead_sectors_max * 512);
    int done = 0;
    spawn(*tk.kernel, "io", [&] {
        REQUIRE(tk.kernel->disk(0)->read(0, whole_small).ok());
        REQUIRE(tk.kernel->disk(1)->read(0, whole_limit).ok());
        ++done;
    });
    tk.run_until_idle();
    REQUIRE(small.waiting() == 1);
    REQUIRE(large.waiting() == 1);
    small.complete(0);
    large.complete(0);
    tk.run_until_idle();
    CHECK(done == 1);
    CHECK(small.submits == 1);
    CHECK(large.submits == 1);
    CHECK(tk.kernel->disk(1)->stats().read_ahead_hits == 1);
}

TEST_CASE("disk: without read-ahead configured the kernel reads nothing at attach")
{
    MemoryBlockDevice device(64);
    TestKernel tk({}, 16 * 1024 * 1024, {&device});
    CHECK(device.submits == 0);
}
