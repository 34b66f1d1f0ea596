// Runs a scenario in the simulator for one seed and judges its checks.
#pragma once

#include "scenario.hpp"

#include <gantry/sim/world.hpp>

#include <string>
#include <vector>

namespace gantry::harness {

struct RunOptions {
    u64 seed = 1;
    std::string out_dir;      // empty: write nothing
    bool keep_trace_in_memory = false;
    u64 hash_every = 0;       // event-hash checkpoints (determinism checks)
};

struct CheckOutcome {
    const CheckSpec* check = nullptr; // nullptr for the implicit "no node failed"
    bool passed = false;
    std::string detail;               // what was seen, for failures
};

struct RunOutcome {
    u64 seed = 0;
    bool passed = false;
    std::vector<CheckOutcome> checks;
    std::vector<sim::NodeFailure> failures;
    sim::RunEnd end = sim::RunEnd::idle;
    TimeNs end_time = 0;
    u64 events = 0;
    u64 event_hash = 0;
    std::vector<sim::EventCheckpoint> checkpoints;
    std::vector<u8> trace; // with keep_trace_in_memory
    double wall_seconds = 0;
    std::vector<std::string> summary; // one line each: what the nodes' disks did
};

// Throws ScenarioError for scenario problems only found when building the
// world (an unknown app name).
RunOutcome run_scenario(const Scenario& scenario, const RunOptions& options);

// "check 3 (scenarios/x.yaml:12:5): exit_code 0 on node a: node a exited with 1"
std::string describe(const Scenario& scenario, const CheckOutcome& outcome);

} // namespace gantry::harness
