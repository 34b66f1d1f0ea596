// `gantry replay-run FILE`: re-executes a run recorded with a hosted app's
// `--record FILE`. The app (from the build's registry) boots on a platform
// that answers every call from the recording, in order: the clock readings,
// the entropy, each frame received or its absence, the Ctrl-Cs between
// polls. Every frame the kernel sends is checked against the recorded hash.
// The first call that does not fit the recording ends the re-run as a
// divergence (the run was not deterministic, or the app changed).
#pragma once

#include <gantry/types.hpp>

#include <stdexcept>

#include <string>
#include <vector>

namespace gantry::harness::replay {

struct RerunOptions {
    std::string recording_path;
    std::string trace_path; // write the re-run's trace here (needs a recording made with --trace)
};

struct RerunResult {
    std::string app;
    bool diverged = false;
    std::string divergence;  // what did not fit, at which record
    bool reached_end = false; // the end record was consumed: the whole run re-executed
    bool truncated = false;   // the recording stops without an end record
    int recorded_exit_code = 0;
    int exit_code = 0;
    u64 records = 0;
    u64 polls = 0;
    u64 frames_in = 0;
    u64 frames_out = 0;
};

// Throws RerunError for a recording that cannot be read (exit 2).
class RerunError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

RerunResult rerun(const RerunOptions& options);

} // namespace gantry::harness::replay
