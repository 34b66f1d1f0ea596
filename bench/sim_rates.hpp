// The simulator benchmarks' common counters: events per wall second, simulated
// seconds per wall second, and events per run.
#pragma once

#include <gantry/types.hpp>

#include <benchmark/benchmark.h>

namespace gantry::bench {

inline void report_sim_rates(benchmark::State& state, u64 events, TimeNs simulated)
{
    state.counters["events/s"] = benchmark::Counter(static_cast<double>(events),
                                                    benchmark::Counter::kIsRate);
    state.counters["sim_s/wall_s"] = benchmark::Counter(
        static_cast<double>(simulated) / ns_per_s, benchmark::Counter::kIsRate);
    state.counters["events/run"] =
        static_cast<double>(events) / static_cast<double>(state.iterations());
}

} // namespace gantry::bench
