// Clock drift as a fault: a node's drift changes at any virtual time, its
// clock stays continuous and monotonic, its pending timer wake-up follows the
// new drift, the setting survives crash and restart, runs stay deterministic,
// and the change is a sim_fault record in the trace.
#include "sim_test_apps.hpp"

#include <catch2/catch.hpp>
#include <gantry/sim/platform.hpp>
#include <gantry/trace.hpp>

using namespace gantry;
using namespace gantry::sim;
using namespace sim_test;

TEST_CASE("a node clock stays continuous and monotonic across drift changes")
{
    NodeClock clock(1000);
    struct Change {
        TimeNs at;
        i64 ppm;
    };
    const Change changes[] = {{3'333'333, 50'000}, {7'000'001, -999'999}, {7'500'000, 0},
                              {9'000'000, -1},     {9'000'000, 2'000'000}, {12'345'678, -500}};
    TimeNs previous = clock.local_time(0);
    CHECK(previous == 0);
    TimeNs virtual_ns = 0;
    for (const Change& change : changes) {
        for (; virtual_ns < change.at; virtual_ns += 9973) {
            TimeNs local = clock.local_time(virtual_ns);
            CHECK(local >= previous);
            previous = local;
        }
        TimeNs before = clock.local_time(change.at);
        clock.set_drift(change.at, change.ppm);
        // Continuous: the change does not move the clock at that instant.
        CHECK(clock.local_time(change.at) == before);
        CHECK(clock.drift_ppm() == change.ppm);
        virtual_ns = change.at;
    }
    // After the last change (-500 ppm from 12'345'678) the clock runs slow.
    TimeNs base = clock.local_time(12'345'678);
    CHECK(clock.local_time(12'345'678 + 10 * ns_per_ms) == base + 10 * ns_per_ms - 5000);
}

TEST_CASE("a node clock's inverse is exact on the current segment")
{
    NodeClock clock(0);
    clock.set_drift(100 * ns_per_ms, 50'000);
    TimeNs base_local = clock.local_time(100 * ns_per_ms);
    CHECK(base_local == 100 * ns_per_ms);
    for (TimeNs local : {base_local + 1, base_local + 999, base_local + 900 * ns_per_ms}) {
        TimeNs t = clock.virtual_time_for(local);
        CHECK(clock.local_time(t) >= local);
        CHECK(clock.local_time(t - 1) < local);
    }
    // A local time already passed maps to the segment's start, never before it.
    CHECK(clock.virtual_time_for(base_local - 5) == 100 * ns_per_ms);
}

TEST_CASE("a sleeping node wakes at its local deadline after its drift changes")
{
    World world;
    // Both sleep one local second; at 100 ms one clock speeds up by 5 %, the
    // other slows to half speed. 900 ms of local time remain for each.
    NodeId fast = world.add_node({.factory = factory<SleepApp>(),
                                  .args = {std::to_string(ns_per_s)}});
    NodeId slow = world.add_node({.factory = factory<SleepApp>(),
                                  .args = {std::to_string(ns_per_s)}});
    world.at(100 * ns_per_ms, [&](World& w) {
        w.set_clock_drift(fast, 50'000);
        w.set_clock_drift(slow, -500'000);
    });
    world.run_until_idle();
    INFO(world.console(fast));
    INFO(world.console(slow));
    // 900 ms local at 1.05: ceil(857'142'857.14) virtual ns after 100 ms.
    CHECK(world.console(fast) == "[    0.957142858] slept until 1000000000\n");
    // 900 ms local at 0.5: 1.8 s virtual after 100 ms. The wake-up the old
    // drift asked for (1 s) came first and fired nothing early.
    CHECK(world.console(slow) == "[    1.900000000] slept until 1000000000\n");
    CHECK(world.clock_drift(fast) == 50'000);
    CHECK(world.clock_drift(slow) == -500'000);
}

TEST_CASE("a ticking node follows each drift change")
{
    World world;
    NodeId node = world.add_node({.factory = factory<TickerApp>(),
                                  .args = {std::to_string(10 * ns_per_ms)}});
    // Doubled speed from 25 ms (local 25 ms): tick 3 (local 30 ms) comes at
    // virtual 27.5 ms, tick 4 (local 40) at 32.5; back to normal speed at 35 ms
    // (local 45 ms), so tick 5 (local 50) comes at 40 and tick 6 at 50.
    world.at(25 * ns_per_ms, [node](World& w) { w.set_clock_drift(node, 1'000'000); });
    world.at(35 * ns_per_ms, [node](World& w) { w.set_clock_drift(node, 0); });
    world.run_until(51 * ns_per_ms);
    CHECK(world.node_time(node) == 61 * ns_per_ms);
    CHECK(world.console(node) == "[    0.010000000] tick 1\n"
                                 "[    0.020000000] tick 2\n"
                                 "[    0.027500000] tick 3\n"
                                 "[    0.032500000] tick 4\n"
                                 "[    0.040000000] tick 5\n"
                                 "[    0.050000000] tick 6\n");
}

TEST_CASE("a drift change survives crash and restart")
{
    World world;
    NodeId node = world.add_node({.factory = factory<SleepApp>(),
                                  .args = {std::to_string(100 * ns_per_ms)}});
    world.at(50 * ns_per_ms, [node](World& w) { w.set_clock_drift(node, 50'000); });
    world.at(60 * ns_per_ms, [node](World& w) { w.crash(node); });
    world.at(301 * ns_per_ms, [node](World& w) { w.restart(node); });
    world.run_until(300 * ns_per_ms);
    CHECK(world.state(node) == NodeState::crashed);
    // The clock kept running through the crash at the new drift.
    CHECK(world.node_time(node) == 50 * ns_per_ms + 262'500'000);
    world.run_until_idle();
    CHECK(world.state(node) == NodeState::exited);
    CHECK(world.clock_drift(node) == 50'000);
    INFO(world.console(node));
    // Boot at local 313.55 ms, sleep 100 ms local: 95'238'096 virtual ns later.
    CHECK(world.console(node).find("[    0.396238096] slept until 413550000\n") !=
          std::string::npos);
}

TEST_CASE("drift changes are rejected out of range")
{
    World world;
    NodeId node = world.add_node({.factory = factory<SleepApp>()});
    CHECK_THROWS_AS(world.set_clock_drift(node, -1'000'000), std::invalid_argument);
    CHECK_THROWS_AS(world.set_clock_drift(node, World::clock_drift_ppm_max + 1),
                    std::invalid_argument);
    CHECK(world.clock_drift(node) == 0);
}

namespace {

struct DriftRun {
    std::string console;
    u64 hash;
    std::vector<u8> trace;
};

DriftRun run_with_drift_changes(u64 seed)
{
    World world({.seed = seed, .trace_in_memory = true});
    NodeId node = world.add_node({.factory = factory<RandomSleeper>(), .args = {"40"},
                                  .clock_drift_ppm = 300});
    i64 ppm = -20'000;
    for (TimeNs at = 7 * ns_per_ms; at < 150 * ns_per_ms; at += 13 * ns_per_ms, ppm += 9'001)
        world.at(at, [node, ppm](World& w) { w.set_clock_drift(node, ppm); });
    world.run_until_idle();
    REQUIRE(world.finish_trace());
    return {world.console(node), world.event_hash(), world.trace_bytes()};
}

} // namespace

TEST_CASE("runs with drift changes are deterministic")
{
    DriftRun a = run_with_drift_changes(5);
    DriftRun b = run_with_drift_changes(5);
    CHECK(a.console == b.console);
    CHECK(a.hash == b.hash);
    CHECK(a.trace == b.trace);
    DriftRun other = run_with_drift_changes(6);
    CHECK(other.console != a.console);
}

TEST_CASE("a drift change is a sim_fault record")
{
    World world({.trace_in_memory = true});
    NodeId node = world.add_node({.factory = factory<SleepApp>()});
    world.at(200 * ns_per_us, [node](World& w) { w.set_clock_drift(node, -30'000); });
    world.run_until_idle();
    REQUIRE(world.finish_trace());
    BytesTraceSource source(world.trace_bytes());
    TraceReader reader(source);
    REQUIRE(reader.open().ok());
    int found = 0;
    TraceRecord record{};
    for (;;) {
        auto next = reader.next(record);
        REQUIRE(next.ok());
        if (!next.value())
            break;
        if (record.kind != TraceKind::sim_fault)
            continue;
        TraceFields fields;
        REQUIRE(decode_fields(record, fields).ok());
        CHECK(record.time == 200 * ns_per_us);
        CHECK(fields.fault.fault == 9);
        CHECK(fields.fault.a == node);
        CHECK(static_cast<i32>(fields.fault.b) == -30'000);
        ++found;
    }
    CHECK(found == 1);
}
