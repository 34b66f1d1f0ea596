// Node failures stay inside their node: panics, exceptions, memory exhaustion,
// stuck loops, crashes and restarts.
#include "sim_test_apps.hpp"

#include <catch2/catch.hpp>

using namespace gantry;
using namespace gantry::sim;
using namespace sim_test;

TEST_CASE("a panicking node is recorded as failed and the others go on")
{
    World world({.seed = 99});
    NodeId before = world.add_node({.app = "hello"});
    NodeId bad = world.add_node({.factory = factory<AssertApp>()});
    NodeId after = world.add_node({.app = "hello"});
    RunResult result = world.run_until_idle();
    CHECK(result.end == RunEnd::all_exited);
    CHECK(world.state(bad) == NodeState::failed);
    CHECK_FALSE(world.exit_code(bad).has_value());
    CHECK(world.exit_code(before) == 0);
    CHECK(world.exit_code(after) == 0);
    REQUIRE(world.failures().size() == 1);
    const NodeFailure& failure = world.failures()[0];
    CHECK(failure.node == bad);
    CHECK(failure.kind == FailureKind::panic);
    CHECK(failure.message == "assertion failed: answer == 42");
    CHECK(failure.file.find("sim_test_apps.hpp") != std::string::npos);
    CHECK(failure.line > 0);
    CHECK(failure.seed == 99);
    CHECK(failure.time == 2 * ns_per_ms);
    CHECK(failure.describe().find("seed 99") != std::string::npos);
    CHECK(world.kernel(bad) == nullptr);
}

TEST_CASE("a panic outside any fiber (in the app factory) fails only that node")
{
    World world;
    NodeId bad = world.add_node({.factory = [](Kernel&) -> App* {
        GANTRY_PANIC("factory refused");
    }});
    NodeId throwing = world.add_node({.factory = [](Kernel&) -> App* {
        throw std::runtime_error("factory threw");
    }});
    NodeId good = world.add_node({.app = "hello"});
    world.run_until_idle();
    REQUIRE(world.failures().size() == 2);
    CHECK(world.failures()[0].node == bad);
    CHECK(world.failures()[0].message == "factory refused");
    CHECK(world.failures()[1].node == throwing);
    CHECK(world.failures()[1].kind == FailureKind::exception);
    CHECK(world.failures()[1].message == "factory threw");
    CHECK(world.exit_code(good) == 0);
}

TEST_CASE("memory exhaustion of one node does not disturb the others")
{
    auto run = [](bool with_greedy) {
        World world({.seed = 5});
        for (int i = 0; i < 3; ++i)
            world.add_node({.app = "hello"});
        if (with_greedy)
            world.add_node({.factory = factory<GreedyApp>(), .memory_bytes = 1024 * 1024});
        world.run_until_idle();
        std::vector<std::string> consoles;
        for (NodeId id = 0; id < 3; ++id)
            consoles.push_back(world.console(id));
        if (with_greedy) {
            CHECK(world.exit_code(3) == 3);
            CHECK(world.console(3).find("out of memory after") != std::string::npos);
            CHECK(world.failures().empty());
        }
        return consoles;
    };
    CHECK(run(true) == run(false));
}

TEST_CASE("a node that runs out of memory on a LAN does not disturb the traffic of others")
{
    // An echo client and server exchange datagrams and pings through a switch
    // while a third node on the same switch, with its own network stack
    // (its gratuitous ARP floods to the others), exhausts its arena. The
    // pair's consoles, bar the network counters they log at exit (the third
    // node's ARP is counted there), are the same as in a world without it.
    auto run = [](bool with_greedy) {
        World world({.seed = 8});
        NodeConfig server{.app = "echo", .name = "server"};
        server.ip = net::Ipv4Address::from_u32(0x0a000001);
        NodeConfig client{.app = "echo", .name = "client", .args = {"client", "10.0.0.1", "40"}};
        client.ip = net::Ipv4Address::from_u32(0x0a000002);
        NodeConfig pinger{.app = "echo", .name = "pinger", .args = {"ping", "10.0.0.1", "20"}};
        pinger.ip = net::Ipv4Address::from_u32(0x0a000004);
        std::vector<NodeId> pair = {world.add_node(server), world.add_node(client),
                                    world.add_node(pinger)};
        SwitchId lan = world.add_switch({.name = "lan"});
        for (NodeId id : pair)
            world.add_link(Endpoint::node(id), Endpoint::switch_port(lan),
                           {.latency_ns = 100 * ns_per_us});
        if (with_greedy) {
            NodeConfig greedy{.factory = factory<GreedyApp>(), .name = "greedy",
                              .memory_bytes = 2 * 1024 * 1024};
            greedy.ip = net::Ipv4Address::from_u32(0x0a000003);
            NodeId hog = world.add_node(greedy);
            world.add_link(Endpoint::node(hog), Endpoint::switch_port(lan),
                           {.latency_ns = 100 * ns_per_us});
        }
        world.run_until(3 * ns_per_s);
        CHECK(world.failures().empty());
        CHECK(world.exit_code(pair[1]) == 0);
        CHECK(world.exit_code(pair[2]) == 0);
        if (with_greedy) {
            CHECK(world.exit_code(3) == 3);
            CHECK(world.console(3).find("out of memory after") != std::string::npos);
        }
        std::vector<std::string> consoles;
        for (NodeId id : pair) {
            std::string kept;
            std::string console = world.console(id);
            for (usize at = 0; at < console.size();) {
                usize end = console.find('\n', at);
                end = end == std::string::npos ? console.size() : end + 1;
                std::string line = console.substr(at, end - at);
                if (line.find("info: net: ") == std::string::npos)
                    kept += line;
                at = end;
            }
            consoles.push_back(kept);
        }
        return consoles;
    };
    std::vector<std::string> with = run(true);
    std::vector<std::string> without = run(false);
    CHECK(with[1].find("echo client: 40/40 datagrams came back") != std::string::npos);
    CHECK(with[2].find("echo ping: 20/20 answered") != std::string::npos);
    CHECK(with == without);
}

TEST_CASE("an arena too small to boot is a clean boot failure")
{
    World world;
    NodeId tiny = world.add_node({.app = "hello", .memory_bytes = 64 * 1024});
    NodeId good = world.add_node({.app = "hello"});
    world.run_until_idle();
    CHECK(world.state(tiny) == NodeState::failed);
    REQUIRE(world.failures().size() == 1);
    CHECK(world.failures()[0].kind == FailureKind::boot);
    CHECK(world.exit_code(good) == 0);
    CHECK_THROWS_AS(world.add_node({.app = "hello", .memory_bytes = 4096}),
                    std::invalid_argument);
}

TEST_CASE("the watchdog reports a node stuck in a loop instead of hanging")
{
    World world({.watchdog_ns = 5 * ns_per_ms, .busy_poll_ns = 10 * ns_per_us});
    NodeId spinner = world.add_node({.factory = factory<SpinApp>()});
    NodeId good = world.add_node({.factory = factory<SleepApp>(), .args = {"20000000"}});
    RunResult result = world.run_until_idle();
    CHECK(result.end == RunEnd::all_exited);
    CHECK(world.state(spinner) == NodeState::failed);
    REQUIRE(world.failures().size() == 1);
    CHECK(world.failures()[0].kind == FailureKind::watchdog);
    CHECK(world.failures()[0].time == 5 * ns_per_ms);
    CHECK(world.exit_code(good) == 0);
    CHECK(world.now() == 20 * ns_per_ms);
}

TEST_CASE("crash loses volatile state; restart boots a fresh kernel")
{
    World world;
    NodeId ticker = world.add_node({.factory = factory<TickerApp>(), .args = {"10000000"}});
    world.at(35 * ns_per_ms, [ticker](World& w) { w.crash(ticker); });
    world.at(100 * ns_per_ms, [ticker](World& w) { w.restart(ticker); });
    world.run_until(125 * ns_per_ms);
    CHECK(world.state(ticker) == NodeState::running);
    CHECK(world.incarnation(ticker) == 1);
    CHECK(world.console(ticker) == "[    0.010000000] tick 1\n"
                                   "[    0.020000000] tick 2\n"
                                   "[    0.030000000] tick 3\n"
                                   "[    0.110000000] tick 1\n"
                                   "[    0.120000000] tick 2\n");
    world.crash(ticker);
    CHECK(world.kernel(ticker) == nullptr);
    CHECK(world.run_until_idle().end == RunEnd::all_exited);
}

TEST_CASE("a node that exited can be restarted and runs again")
{
    World world;
    NodeId node = world.add_node({.factory = factory<SleepApp>(), .args = {"1000", "4"}});
    world.run_until_idle();
    CHECK(world.exit_code(node) == 4);
    world.restart(node);
    CHECK(world.state(node) == NodeState::pending);
    CHECK_FALSE(world.exit_code(node).has_value());
    world.run_until_idle();
    CHECK(world.exit_code(node) == 4);
    CHECK(world.incarnation(node) == 1);
}
