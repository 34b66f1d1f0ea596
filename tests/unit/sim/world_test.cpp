// The world's basics: running apps, virtual time, scale, pause/resume, drift.
#include "sim_test_apps.hpp"

#include <catch2/catch.hpp>
#include <gantry/sim/platform.hpp>
#include <gantry/sim/registry.hpp>

#include <chrono>

using namespace gantry;
using namespace gantry::sim;
using namespace sim_test;

TEST_CASE("the registry holds every built app, sorted")
{
    CHECK(find_app("hello") != nullptr);
    CHECK(find_app("no-such-app") == nullptr);
    auto apps = app_registry();
    for (usize i = 1; i < apps.size(); ++i)
        CHECK(apps[i - 1].name < apps[i].name);
    World world;
    CHECK_THROWS_AS(world.add_node({.app = "no-such-app"}), std::invalid_argument);
}

TEST_CASE("hello runs in the world")
{
    World world;
    NodeId node = world.add_node({.app = "hello"});
    RunResult result = world.run_until_idle();
    CHECK(result.end == RunEnd::all_exited);
    CHECK(world.state(node) == NodeState::exited);
    CHECK(world.exit_code(node) == 0);
    INFO(world.console(node));
    CHECK(world.console(node).find("hello: done") != std::string::npos);
    CHECK(world.console(node).find("platform sim") != std::string::npos);
    CHECK(world.failures().empty());
}

TEST_CASE("console lines carry the virtual time")
{
    World world;
    NodeId node = world.add_node(
        {.factory = factory<SleepApp>(), .args = {"1500000000", "7"}});
    world.run_until_idle();
    CHECK(world.exit_code(node) == 7);
    CHECK(world.console(node) == "[    1.500000000] slept until 1500000000\n");
}

TEST_CASE("virtual time jumps: an hour of sleep takes milliseconds")
{
    World world;
    NodeId node = world.add_node(
        {.factory = factory<SleepApp>(), .args = {std::to_string(3600 * ns_per_s)}});
    auto wall_begin = std::chrono::steady_clock::now();
    RunResult result = world.run_until_idle();
    auto wall = std::chrono::steady_clock::now() - wall_begin;
    CHECK(result.end == RunEnd::all_exited);
    CHECK(world.now() == 3600 * ns_per_s);
    CHECK(world.exit_code(node) == 0);
    CHECK(world.events_processed() < 10);
    CHECK(wall < std::chrono::seconds(1));
}

TEST_CASE("200 hello nodes run in one process")
{
    World world({.seed = 7});
    constexpr usize nodes = 200;
    for (usize i = 0; i < nodes; ++i)
        world.add_node({.app = "hello", .memory_bytes = 2 * 1024 * 1024});
    RunResult result = world.run_until_idle();
    CHECK(result.end == RunEnd::all_exited);
    for (NodeId id = 0; id < nodes; ++id) {
        CHECK(world.state(id) == NodeState::exited);
        CHECK(world.exit_code(id) == 0);
    }
    CHECK(world.console(199).find("node 199") != std::string::npos);
}

TEST_CASE("run_until advances the clock and stops at the limit")
{
    World world;
    NodeId ticker = world.add_node({.factory = factory<TickerApp>(), .args = {"10000000"}});
    RunResult result = world.run_until(55 * ns_per_ms);
    CHECK(result.end == RunEnd::time_limit);
    CHECK(world.now() == 55 * ns_per_ms);
    CHECK(world.console(ticker).find("tick 5\n") != std::string::npos);
    CHECK(world.console(ticker).find("tick 6") == std::string::npos);
    world.run_until(60 * ns_per_ms);
    CHECK(world.console(ticker).find("tick 6\n") != std::string::npos);
}

TEST_CASE("a node waiting for an event that never comes ends the run as idle")
{
    World world;
    NodeId waiter = world.add_node({.factory = factory<WaitForeverApp>()});
    NodeId sleeper = world.add_node({.factory = factory<SleepApp>(), .args = {"5000000"}});
    RunResult result = world.run_until_idle();
    CHECK(result.end == RunEnd::idle);
    CHECK(result.waiting == std::vector<NodeId>{waiter});
    CHECK(world.state(waiter) == NodeState::running);
    CHECK(world.state(sleeper) == NodeState::exited);
    CHECK(world.now() == 5 * ns_per_ms);
}

TEST_CASE("scheduled actions run in order with the nodes' events")
{
    World world;
    NodeId ticker = world.add_node({.factory = factory<TickerApp>(), .args = {"10000000"}});
    std::vector<TimeNs> seen;
    world.at(25 * ns_per_ms, [&](World& w) { seen.push_back(w.now()); });
    world.at(35 * ns_per_ms, [&](World& w) { seen.push_back(w.now()); w.crash(ticker); });
    RunResult result = world.run_until_idle();
    CHECK(result.end == RunEnd::all_exited);
    CHECK(seen == std::vector<TimeNs>{25 * ns_per_ms, 35 * ns_per_ms});
    CHECK(world.state(ticker) == NodeState::crashed);
}

TEST_CASE("pause stops a node's progress; resume fires its late timers")
{
    World world;
    NodeId node = world.add_node({.factory = factory<SleepApp>(), .args = {"10000000"}});
    world.at(5 * ns_per_ms, [node](World& w) { w.pause(node); });
    world.at(50 * ns_per_ms, [node](World& w) { w.resume(node); });
    world.run_until(30 * ns_per_ms);
    CHECK(world.state(node) == NodeState::paused);
    world.run_until_idle();
    CHECK(world.state(node) == NodeState::exited);
    CHECK(world.console(node) == "[    0.050000000] slept until 50000000\n");
}

TEST_CASE("clock drift changes a node's view of time")
{
    World world;
    NodeId fast = world.add_node({.factory = factory<SleepApp>(),
                                  .args = {std::to_string(ns_per_s)},
                                  .clock_drift_ppm = 1000});
    NodeId slow = world.add_node({.factory = factory<SleepApp>(),
                                  .args = {std::to_string(ns_per_s)},
                                  .clock_drift_ppm = -500});
    world.run_until(10 * ns_per_ms);
    CHECK(world.node_time(fast) == 10'010'000);
    CHECK(world.node_time(slow) == 9'995'000);
    world.run_until_idle();
    // A fast clock reaches its local deadline early in virtual time, and late if slow.
    CHECK(world.console(fast).rfind("[    0.999001000] ", 0) == 0);
    CHECK(world.console(slow).rfind("[    1.000500251] ", 0) == 0);
}

TEST_CASE("drift conversions are exact inverses")
{
    for (i64 ppm : {-999'999LL, -500LL, -1LL, 0LL, 1LL, 37LL, 1000LL, 2'000'000LL}) {
        for (TimeNs local : {TimeNs{0}, TimeNs{1}, TimeNs{999}, TimeNs{123'456'789},
                             TimeNs{3600} * ns_per_s}) {
            TimeNs t = virtual_time_for(local, ppm);
            CHECK(drifted_time(t, ppm) >= local);
            if (t > 0)
                CHECK(drifted_time(t - 1, ppm) < local);
        }
    }
}
