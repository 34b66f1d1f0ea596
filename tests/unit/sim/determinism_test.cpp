// Determinism is a tested property: the same seed gives the byte-identical
// trace and event hash; different seeds give different schedules.
#include "sim_test_apps.hpp"

#include <catch2/catch.hpp>
#include <gantry/trace.hpp>

#include <cstring>
#include <map>

using namespace gantry;
using namespace gantry::sim;
using namespace sim_test;

namespace {

struct RunOutput {
    std::vector<u8> trace;
    u64 hash;
    u64 events;
    std::vector<EventCheckpoint> checkpoints;
    std::vector<std::string> consoles;
};

enum class Traced : u8 { no, yes };

RunOutput run_world(u64 seed, Traced traced = Traced::yes)
{
    World world({.seed = seed, .trace_in_memory = traced == Traced::yes, .hash_every = 16});
    for (int i = 0; i < 3; ++i)
        world.add_node({.app = "hello"});
    for (int i = 0; i < 3; ++i)
        world.add_node({.factory = factory<RandomSleeper>(), .args = {"8"}});
    NodeId ticker = world.add_node({.factory = factory<TickerApp>(), .args = {"7000000"}});
    world.at(30 * ns_per_ms, [ticker](World& w) { w.crash(ticker); });
    world.at(40 * ns_per_ms, [ticker](World& w) { w.restart(ticker); });
    world.at(60 * ns_per_ms, [ticker](World& w) { w.crash(ticker); });
    RunResult result = world.run_until_idle(ns_per_s);
    CHECK(result.end == RunEnd::all_exited);
    REQUIRE(world.finish_trace());
    RunOutput out{world.trace_bytes(), world.event_hash(), world.events_processed(),
                  {world.checkpoints().begin(), world.checkpoints().end()}, {}};
    for (NodeId id = 0; id < world.node_count(); ++id)
        out.consoles.push_back(world.console(id));
    return out;
}

} // namespace

TEST_CASE("the same seed gives the byte-identical trace and event hash")
{
    for (u64 seed : {1ull, 2ull, 0xdeadbeefull}) {
        INFO("seed " << seed);
        RunOutput first = run_world(seed);
        RunOutput second = run_world(seed);
        CHECK(first.trace.size() > 1000);
        CHECK(first.trace == second.trace);
        CHECK(first.hash == second.hash);
        CHECK(first.events == second.events);
        CHECK(first.checkpoints == second.checkpoints);
        CHECK_FALSE(first_divergence(first.checkpoints, second.checkpoints).has_value());
        CHECK(first.consoles == second.consoles);
    }
}

TEST_CASE("tracing does not change the run: traced and untraced give the same events")
{
    for (u64 seed : {1u, 7u}) {
        RunOutput traced = run_world(seed, Traced::yes);
        RunOutput untraced = run_world(seed, Traced::no);
        CHECK(untraced.trace.empty());
        CHECK(traced.events == untraced.events);
        CHECK(traced.hash == untraced.hash);
        // hello prints its page count, which includes the trace buffer's pages;
        // every other node's console is the same.
        for (usize node = 3; node < traced.consoles.size(); ++node)
            CHECK(traced.consoles[node] == untraced.consoles[node]);
    }
}

TEST_CASE("different seeds give different entropy-driven schedules")
{
    RunOutput a = run_world(1);
    RunOutput b = run_world(2);
    CHECK(a.hash != b.hash);
    CHECK(a.trace != b.trace);
    CHECK(first_divergence(a.checkpoints, b.checkpoints).has_value());
    // hello uses no entropy: its output does not depend on the seed at all.
    CHECK(a.consoles[0] == b.consoles[0]);
    CHECK(a.consoles[3] != b.consoles[3]);
}

TEST_CASE("the world's trace is one readable file with every node's records")
{
    RunOutput out = run_world(3);
    BytesTraceSource source(out.trace);
    TraceReader reader(source);
    REQUIRE(reader.open().ok());
    std::map<u32, usize> records_per_node;
    std::map<u32, usize> node_infos;
    TraceRecord record{};
    for (;;) {
        auto next = reader.next(record);
        REQUIRE(next.ok());
        if (!next.value())
            break;
        ++records_per_node[record.node];
        if (record.kind == TraceKind::node_info)
            ++node_infos[record.node];
        if (record.kind == TraceKind::sim_fault)
            CHECK(record.node == no_node); // the world's own records, not a node's
    }
    // Seven nodes, and the world itself (the sim_fault record of the crash).
    CHECK(records_per_node.size() == 8);
    CHECK(records_per_node[no_node] >= 1);
    for (u32 node = 0; node < 6; ++node)
        CHECK(node_infos[node] == 1);
    CHECK(node_infos[6] == 2); // the ticker booted twice
}

TEST_CASE("adding a node does not perturb the other nodes' streams")
{
    auto consoles = [](bool extra) {
        World world({.seed = 11});
        NodeId a = world.add_node({.factory = factory<RandomSleeper>()});
        NodeId b = world.add_node({.factory = factory<RandomSleeper>()});
        if (extra)
            world.add_node({.factory = factory<RandomSleeper>()});
        world.run_until_idle();
        return std::pair{world.console(a), world.console(b)};
    };
    CHECK(consoles(false) == consoles(true));
}

TEST_CASE("streams are independent per node and purpose")
{
    Rng a(1, 0, Stream::entropy);
    Rng b(1, 1, Stream::entropy);
    Rng c(1, 0, Stream::faults);
    Rng a2(1, 0, Stream::entropy);
    u64 first = a.next_u64();
    CHECK(first != b.next_u64());
    CHECK(first != c.next_u64());
    CHECK(first == a2.next_u64());
    Rng bounded(9, 0, Stream::world);
    for (int i = 0; i < 1000; ++i)
        CHECK(bounded.below(7) < 7);
}
