// Seed sweeps for `gantry sim`: which seeds this machine runs, in how many
// processes, the determinism self-check, progress, reports and exit status.
#pragma once

#include "scenario.hpp"

#include <string>

namespace gantry::harness {

struct SweepOptions {
    std::string scenario_path;
    u64 first_seed = 1;
    u64 last_seed = 1;
    bool sweep = false;         // --seeds given
    bool explicit_seed = false; // --seed given
    u32 jobs = 1;
    u64 shard_index = 0;
    u64 shard_count = 1;
    std::string out_dir;
    double determinism_fraction = 0.05;
    bool determinism_set = false;
    int verbosity = 1; // 0 quiet, 1 normal, 2 verbose
};

// Runs the seeds and reports; returns the process exit status (0, 1 or 2).
int run_sweep(const Scenario& scenario, const SweepOptions& options);

} // namespace gantry::harness
