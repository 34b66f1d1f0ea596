// Simulated disks: latency in virtual time, durability across crashes by
// policy, injected errors, determinism. The apps here run on a node and drive
// its Disk; the test inspects the SimDisk from outside (it outlives the node).
#include <catch2/catch.hpp>
#include <gantry/app.hpp>
#include <gantry/block.hpp>
#include <gantry/sim/disk.hpp>
#include <gantry/sim/world.hpp>

#include <functional>
#include <vector>

using namespace gantry;
using namespace gantry::sim;

namespace {

using Script = std::function<int(Kernel&)>;

// Runs a host-owned script as the app. The app holds only a pointer: a crash
// drops it without a destructor, so it must own nothing outside the arena.
class ScriptApp final : public App {
public:
    explicit ScriptApp(const Script* script) : m_script(script) {}
    int main(Kernel& kernel, AppArgs) override { return (*m_script)(kernel); }

private:
    const Script* m_script;
};

SimAppFactory script_factory(const Script& script)
{
    return [&script](Kernel& kernel) -> App* { return kernel.heap().create<ScriptApp>(&script); };
}

std::vector<u8> filled(usize bytes, u8 value)
{
    return std::vector<u8>(bytes, value);
}

void spawn(Kernel& kernel, std::function<void()> body)
{
    Fiber* fiber = kernel.sched().spawn("io", std::move(body));
    GANTRY_ASSERT(fiber != nullptr);
    kernel.sched().detach(fiber);
}

// What the writer reached, kept outside the node.
struct Progress {
    bool flushed = false;   // sectors 0..3 (value 0xaa) are durable
    bool unflushed = false; // sectors 4..11 (value 0xbb) completed, not flushed
};

// Writes 0xaa to sectors 0..3 and flushes, then 0xbb to sectors 4..11 without a
// flush, then waits for the crash.
Script writer_script(Progress& progress)
{
    return [&progress](Kernel& kernel) {
        Disk& disk = *kernel.disk(0);
        GANTRY_ASSERT(disk.write(0, filled(4 * 512, 0xaa)).ok());
        GANTRY_ASSERT(disk.flush().ok());
        progress.flushed = true;
        GANTRY_ASSERT(disk.write(4, filled(8 * 512, 0xbb)).ok());
        progress.unflushed = true;
        kernel.sched().sleep_for(3600 * ns_per_s);
        return 0;
    };
}

DiskConfig small_disk(CrashPolicy policy)
{
    DiskConfig config;
    config.sector_count = 64;
    config.crash_policy = policy;
    return config;
}

bool all_equal(const std::vector<u8>& bytes, u8 value)
{
    for (u8 byte : bytes)
        if (byte != value)
            return false;
    return true;
}

// Runs the writer until it is done, crashes the node, and returns the disk.
SimDisk& write_then_crash(World& world, const Script& script, CrashPolicy policy)
{
    NodeId node = world.add_node({.factory = script_factory(script),
                                  .disks = {small_disk(policy)}});
    world.run_until(10 * ns_per_ms);
    world.crash(node);
    return *world.disk(node, 0);
}

} // namespace

TEST_CASE("sim disk: requests take their latency in virtual time")
{
    World world;
    TimeNs write_took = 0;
    TimeNs flush_took = 0;
    Script script = [&](Kernel& kernel) {
        Disk& disk = *kernel.disk(0);
        TimeNs begin = kernel.now();
        GANTRY_ASSERT(disk.write(0, filled(4 * 512, 1)).ok());
        write_took = kernel.now() - begin;
        begin = kernel.now();
        GANTRY_ASSERT(disk.flush().ok());
        flush_took = kernel.now() - begin;
        return 0;
    };
    DiskConfig config;
    config.latency_ns = 50 * ns_per_us;
    config.sector_ns = 10 * ns_per_us;
    NodeId node = world.add_node({.factory = script_factory(script), .disks = {config}});
    world.run_until_idle(ns_per_s);
    REQUIRE(world.exit_code(node) == 0);
    CHECK(write_took == 90 * ns_per_us);
    CHECK(flush_took == 50 * ns_per_us);
    const DiskCounters& counters = world.disk(node, 0)->counters();
    CHECK(counters.writes == 1);
    CHECK(counters.flushes == 1);
    CHECK(world.disk(node, 1) == nullptr);
}

TEST_CASE("sim disk: flushed data survives a crash and the restarted node reads it")
{
    World world({.seed = 3});
    Progress progress;
    Script writer = writer_script(progress);
    bool verified = false;
    Script reader = [&](Kernel& kernel) {
        std::vector<u8> back(4 * 512);
        GANTRY_ASSERT(kernel.disk(0)->read(0, back).ok());
        verified = all_equal(back, 0xaa);
        return verified ? 0 : 1;
    };
    const Script* current = &writer;
    SimAppFactory factory = [&current](Kernel& kernel) -> App* {
        return kernel.heap().create<ScriptApp>(current);
    };
    NodeId node = world.add_node(
        {.factory = factory, .disks = {small_disk(CrashPolicy::lose_unflushed)}});
    world.run_until(10 * ns_per_ms);
    REQUIRE(progress.unflushed);
    world.crash(node);
    current = &reader;
    world.restart(node);
    world.run_until_idle(ns_per_s);
    CHECK(world.exit_code(node) == 0);
    CHECK(verified);
    CHECK(world.incarnation(node) == 1);
}

TEST_CASE("sim disk: lose-unflushed drops every write no flush covered")
{
    World world;
    Progress progress;
    Script script = writer_script(progress);
    SimDisk& disk = write_then_crash(world, script, CrashPolicy::lose_unflushed);
    REQUIRE(progress.unflushed);
    CHECK(all_equal(disk.peek(0, 4), 0xaa));
    CHECK(all_equal(disk.peek(4, 8), 0));
    CHECK(disk.counters().crashes == 1);
    CHECK(disk.counters().writes_lost == 1);
    CHECK(disk.counters().writes_kept == 0);
    CHECK(disk.cached_writes() == 0);
}

TEST_CASE("sim disk: keep-unflushed keeps completed writes")
{
    World world;
    Progress progress;
    Script script = writer_script(progress);
    SimDisk& disk = write_then_crash(world, script, CrashPolicy::keep_unflushed);
    REQUIRE(progress.unflushed);
    CHECK(all_equal(disk.peek(0, 4), 0xaa));
    CHECK(all_equal(disk.peek(4, 8), 0xbb));
    CHECK(disk.counters().writes_kept == 1);
    CHECK(disk.counters().writes_lost == 0);
}

TEST_CASE("sim disk: random-torn keeps, loses or tears whole sectors, by seed")
{
    u64 kept = 0, lost = 0, torn = 0;
    for (u64 seed = 1; seed <= 60; ++seed) {
        World world({.seed = seed});
        Progress progress;
        Script script = writer_script(progress);
        SimDisk& disk = write_then_crash(world, script, CrashPolicy::random_torn);
        REQUIRE(progress.unflushed);
        // Durable data is never touched by a crash.
        REQUIRE(all_equal(disk.peek(0, 4), 0xaa));
        usize new_sectors = 0;
        for (u64 sector = 4; sector < 12; ++sector) {
            std::vector<u8> bytes = disk.peek(sector, 1);
            // A sector is written whole or not at all: never a mix inside one.
            bool whole = all_equal(bytes, 0xbb);
            REQUIRE((whole || all_equal(bytes, 0)));
            new_sectors += whole ? 1 : 0;
        }
        const DiskCounters& counters = disk.counters();
        REQUIRE(counters.writes_kept + counters.writes_lost + counters.writes_torn == 1);
        if (counters.writes_kept == 1)
            CHECK(new_sectors == 8);
        if (counters.writes_lost == 1)
            CHECK(new_sectors == 0);
        if (counters.writes_torn == 1) {
            CHECK(new_sectors > 0);
            CHECK(new_sectors < 8);
        }
        kept += counters.writes_kept;
        lost += counters.writes_lost;
        torn += counters.writes_torn;
    }
    // Each fate is a third: over 60 seeds all three happen.
    CHECK(kept > 0);
    CHECK(lost > 0);
    CHECK(torn > 0);
}

TEST_CASE("sim disk: the same seed tears the same way; other seeds differ")
{
    auto outcome = [](u64 seed) {
        World world({.seed = seed});
        Progress progress;
        Script script = writer_script(progress);
        DiskConfig config = small_disk(CrashPolicy::random_torn);
        config.jitter_ns = 30 * ns_per_us;
        NodeId node = world.add_node({.factory = script_factory(script), .disks = {config}});
        world.run_until(10 * ns_per_ms);
        world.crash(node);
        return world.disk(node, 0)->peek(0, 64);
    };
    CHECK(outcome(11) == outcome(11));
    bool any_differs = false;
    for (u64 seed = 12; seed < 30 && !any_differs; ++seed)
        any_differs = outcome(seed) != outcome(11);
    CHECK(any_differs);
}

TEST_CASE("sim disk: a flush covers only writes that completed before it was submitted")
{
    World world;
    TimeNs flush_submitted = 0, flush_completed = 0, write_completed = 0;
    Script script = [&](Kernel& kernel) {
        Disk& disk = *kernel.disk(0);
        // The write (1 ms) completes while the flush (1 ms, submitted 10 us
        // later) is in flight: the flush must not cover it.
        spawn(kernel, [&] {
            GANTRY_ASSERT(disk.write(8, filled(16 * 512, 0xcc)).ok());
            write_completed = kernel.now();
        });
        kernel.sched().sleep_for(10 * ns_per_us);
        flush_submitted = kernel.now();
        GANTRY_ASSERT(disk.flush().ok());
        flush_completed = kernel.now();
        kernel.sched().sleep_for(3600 * ns_per_s);
        return 0;
    };
    DiskConfig config = small_disk(CrashPolicy::lose_unflushed);
    config.latency_ns = ns_per_ms;
    config.sector_ns = 0;
    NodeId node = world.add_node({.factory = script_factory(script), .disks = {config}});
    world.run_until(50 * ns_per_ms);
    REQUIRE(flush_completed != 0);
    REQUIRE(flush_submitted < write_completed);
    REQUIRE(write_completed < flush_completed);
    world.crash(node);
    SimDisk& disk = *world.disk(node, 0);
    CHECK(all_equal(disk.peek(8, 16), 0));
    CHECK(disk.counters().writes_lost == 1);
}

TEST_CASE("sim disk: requests in flight at a crash never complete into the next kernel")
{
    World world;
    u64 boots = 0;
    bool second_boot_read_ok = false;
    Script script = [&](Kernel& kernel) {
        ++boots;
        Disk& disk = *kernel.disk(0);
        if (boots == 1) {
            // Several requests in flight; the crash comes before any completes.
            for (int i = 0; i < 4; ++i)
                spawn(kernel, [&disk, i] { (void)disk.write(u64(i) * 4, filled(4 * 512, 7)); });
            kernel.sched().sleep_for(3600 * ns_per_s);
            return 0;
        }
        std::vector<u8> back(512);
        second_boot_read_ok = disk.read(0, back).ok();
        return disk.in_flight() == 0 ? 0 : 1;
    };
    DiskConfig config = small_disk(CrashPolicy::lose_unflushed);
    config.latency_ns = 5 * ns_per_ms;
    NodeId node = world.add_node({.factory = script_factory(script), .disks = {config}});
    world.run_until(1 * ns_per_ms);
    REQUIRE(world.disk(node, 0)->in_flight() == 4);
    world.crash(node);
    CHECK(world.disk(node, 0)->in_flight() == 0);
    CHECK(world.disk(node, 0)->counters().discarded == 4);
    world.restart(node);
    world.run_until_idle(ns_per_s);
    CHECK(world.exit_code(node) == 0);
    CHECK(second_boot_read_ok);
    CHECK(world.disk(node, 0)->counters().writes == 0);
    CHECK(all_equal(world.disk(node, 0)->peek(0, 16), 0));
    CHECK(world.failures().empty());
}

TEST_CASE("sim disk: injected read and write errors surface as DiskError::io_error")
{
    World world;
    std::optional<DiskError> read_error;
    std::optional<DiskError> write_error;
    std::optional<DiskError> flush_error;
    Script script = [&](Kernel& kernel) {
        Disk& disk = *kernel.disk(0);
        std::vector<u8> buffer(512);
        if (auto result = disk.read(0, buffer); !result.ok())
            read_error = result.error();
        if (auto result = disk.write(0, filled(512, 9)); !result.ok())
            write_error = result.error();
        if (auto result = disk.flush(); !result.ok())
            flush_error = result.error();
        return 0;
    };
    DiskConfig config = small_disk(CrashPolicy::lose_unflushed);
    config.read_error_ppm = 1'000'000;
    config.write_error_ppm = 1'000'000;
    NodeId node = world.add_node({.factory = script_factory(script), .disks = {config}});
    world.run_until_idle(ns_per_s);
    REQUIRE(world.exit_code(node) == 0);
    CHECK(read_error == DiskError::io_error);
    CHECK(write_error == DiskError::io_error);
    CHECK(flush_error == DiskError::io_error);
    const DiskCounters& counters = world.disk(node, 0)->counters();
    CHECK(counters.read_errors_injected == 1);
    CHECK(counters.write_errors_injected == 2);
    // A failed write changed nothing.
    CHECK(all_equal(world.disk(node, 0)->peek(0, 1), 0));
}

TEST_CASE("sim disk: a rate of errors fails some requests and not others")
{
    World world({.seed = 9});
    u64 failures = 0;
    Script script = [&](Kernel& kernel) {
        std::vector<u8> buffer(512);
        for (int i = 0; i < 200; ++i)
            failures += kernel.disk(0)->read(u64(i % 64), buffer).ok() ? 0 : 1;
        return 0;
    };
    DiskConfig config = small_disk(CrashPolicy::lose_unflushed);
    config.read_error_ppm = 100'000; // 10%
    NodeId node = world.add_node({.factory = script_factory(script), .disks = {config}});
    world.run_until_idle(ns_per_s);
    REQUIRE(world.exit_code(node) == 0);
    CHECK(failures > 5);
    CHECK(failures < 50);
    CHECK(world.disk(node, 0)->counters().read_errors_injected == failures);
}

TEST_CASE("sim disk: a full queue makes writers wait, not fail")
{
    World world;
    int done = 0;
    Script script = [&](Kernel& kernel) {
        Disk& disk = *kernel.disk(0);
        for (int i = 0; i < 8; ++i)
            spawn(kernel, [&disk, &done, i] {
                GANTRY_ASSERT(disk.write(u64(i), filled(512, u8(i + 1))).ok());
                ++done;
            });
        while (done < 8)
            kernel.sched().sleep_for(ns_per_ms);
        return 0;
    };
    DiskConfig config = small_disk(CrashPolicy::lose_unflushed);
    config.queue_depth = 2;
    NodeId node = world.add_node({.factory = script_factory(script), .disks = {config}});
    world.run_until_idle(ns_per_s);
    REQUIRE(world.exit_code(node) == 0);
    CHECK(done == 8);
    CHECK(world.disk(node, 0)->counters().queue_full > 0);
    for (u64 i = 0; i < 8; ++i)
        CHECK(all_equal(world.disk(node, 0)->peek(i, 1), u8(i + 1)));
}

TEST_CASE("sim disk: bad configurations are refused with a reason")
{
    World world;
    DiskConfig odd;
    odd.sector_bytes = 1000;
    CHECK_THROWS_AS(world.add_node({.app = "hello", .disks = {odd}}), std::invalid_argument);
    DiskConfig rate;
    rate.read_error_ppm = 2'000'000;
    CHECK_THROWS_AS(world.add_node({.app = "hello", .disks = {rate}}), std::invalid_argument);
    CHECK_THROWS_AS(world.add_node({.app = "hello", .disks = std::vector<DiskConfig>(5)}),
                    std::invalid_argument);
    DiskConfig missing;
    missing.image_path = "/nonexistent/disk.img";
    CHECK_THROWS_AS(world.add_node({.app = "hello", .disks = {missing}}), std::runtime_error);
    CHECK(world.node_count() == 0);
}
