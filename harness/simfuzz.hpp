// The simulation fuzzer's scenario generator (`gantry simfuzz`,
// docs/scenarios.md "Simulation fuzzing"): from one seed, a random world of
// real apps (a topology, link faults, chaos, kernel-level faults) and the
// workloads whose invariants it checks. The result is scenario YAML, so a
// failing world is an ordinary file that `gantry sim` and `gantry shrink` read.
#pragma once

#include <gantry/types.hpp>

#include <string>

namespace gantry::harness {

// What one seed generated: the YAML text and a one-line summary for progress.
struct GeneratedScenario {
    std::string yaml;
    std::string summary; // "2 tcp, 1 kv (3 clients), 1 ping; 2 switches; chaos: crash pause"
};

// Deterministic in `seed` alone (its own PRNG, no library distributions), so
// `gantry simfuzz --seed N` rebuilds exactly the world that failed.
GeneratedScenario generate_fuzz_scenario(u64 seed);

} // namespace gantry::harness
