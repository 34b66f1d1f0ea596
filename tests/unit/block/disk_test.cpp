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
