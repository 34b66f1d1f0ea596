// The command line of gantry-viz, shared by main.cpp and the interactive viewer.
#pragma once

#include <gantry/viz/render.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace gantry::viz {

// A usage error: printed with the usage text, exit status 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct CliOptions {
    std::string trace;
    std::optional<std::string> png;
    std::optional<std::string> layout_json;
    bool follow = false;
    PngOptions render;
};

CliOptions parse_cli(int argc, char** argv);
// "1.5ms", "20us", "300ns", "2s"; a bare number is seconds.
TimeNs parse_time(std::string_view text);

// The interactive viewer (interactive.cpp). Returns the exit status. With a
// follower (--follow), the model is the follower's and grows as it polls.
int run_interactive(const CliOptions& options, TraceModel model,
                    std::unique_ptr<TraceFollower> follower = nullptr);

} // namespace gantry::viz
