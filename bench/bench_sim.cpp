// The simulator at scale: many nodes in one process, events per second, wall
// time per run and resident memory per node. There is no peer in this slice
// (the ns-3 comparison needs the network), so the figures are reported as
// counters and no ratio is registered.
#include <gantry/app.hpp>
#include <gantry/sim/world.hpp>

#include "resident.hpp"
#include "sim_rates.hpp"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <unistd.h>

using namespace gantry;
using namespace gantry::sim;

namespace {

using gantry::bench::resident_bytes;

constexpr u64 sleeps_per_node = 100;

// Sleeps about 1 ms (jittered from the node's entropy) `sleeps_per_node` times,
// yielding once per round: one wake-up event per sleep.
class SleepLoop final : public App {
public:
    int main(Kernel& kernel, AppArgs) override
    {
        for (u64 round = 0; round < sleeps_per_node; ++round) {
            kernel.sched().sleep_for(ns_per_ms + kernel.random_u64() % ns_per_ms);
            kernel.sched().yield();
        }
        return 0;
    }
};

App* make_sleep_loop(Kernel& kernel)
{
    return kernel.heap().create<SleepLoop>();
}

void add_nodes(World& world, usize count)
{
    for (usize i = 0; i < count; ++i)
        world.add_node({.factory = make_sleep_loop, .memory_bytes = 2 * 1024 * 1024});
}

// Whole runs of N sleeping nodes: events/s and simulated seconds per wall second.
void BM_SimSleepingNodes(benchmark::State& state)
{
    auto nodes = static_cast<usize>(state.range(0));
    u64 events = 0;
    TimeNs simulated = 0;
    for (auto _ : state) {
        World world({.seed = 1});
        add_nodes(world, nodes);
        RunResult result = world.run_until_idle();
        if (result.end != RunEnd::all_exited)
            state.SkipWithError("the run did not finish");
        events += world.events_processed();
        simulated += world.now();
    }
    gantry::bench::report_sim_rates(state, events, simulated);
}
BENCHMARK(BM_SimSleepingNodes)->Arg(10)->Arg(1000)->Unit(benchmark::kMillisecond);

// Resident memory per node once every node has booted and sleeps.
void BM_SimMemoryPerNode(benchmark::State& state)
{
    auto nodes = static_cast<usize>(state.range(0));
    double per_node = 0;
    for (auto _ : state) {
        usize before = resident_bytes();
        World world({.seed = 1});
        add_nodes(world, nodes);
        world.run_until(ns_per_ms / 2);
        per_node = static_cast<double>(resident_bytes() - before) / static_cast<double>(nodes);
    }
    state.counters["rss_bytes/node"] = per_node;
}
BENCHMARK(BM_SimMemoryPerNode)->Arg(1000)->Unit(benchmark::kMillisecond)->Iterations(3);

} // namespace
