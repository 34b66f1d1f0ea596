// The scenario model: what a YAML scenario file describes (docs/scenarios.md),
// after validation. The loader fills it; the runner turns it into a sim World.
#pragma once

#include <gantry/types.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace gantry::harness {

// Where something was written, for error messages: "file:line:column".
struct SourceMark {
    std::string file;
    int line = 0;   // 1-based
    int column = 0; // 1-based
    std::string text() const;
};

// Bad input in a scenario file; `what()` is the full "file:line:col: message".
class ScenarioError : public std::runtime_error {
public:
    ScenarioError(const SourceMark& mark, const std::string& message);
};

struct NodeSpec {
    std::string name;
    std::string app;
    std::vector<std::string> args;
    usize memory_bytes = 16 * 1024 * 1024;
    double clock_drift_ppm = 0;
    SourceMark mark;
};

enum class FaultKind : u8 { crash, restart, pause, resume };

struct FaultSpec {
    FaultKind kind;
    TimeNs at_ns = 0;
    std::string node;
    SourceMark mark;
};

enum class CheckKind : u8 { exit_code, log_contains, log_absent, no_node_failures, exited_by };

struct CheckSpec {
    CheckKind kind;
    std::string node; // a node name, or "*" for every node
    int exit_code = 0;
    std::string text;
    TimeNs time_ns = 0;
    SourceMark mark;
};

struct Scenario {
    std::string name;
    std::string description;
    std::string file;
    u64 default_seed = 1;
    TimeNs duration_ns = 60 * ns_per_s; // virtual time limit of the run
    std::vector<NodeSpec> nodes;
    std::vector<FaultSpec> faults;
    std::vector<CheckSpec> checks;

    const NodeSpec* find_node(std::string_view name) const;
};

// Reads and validates a scenario; throws ScenarioError on any bad input.
Scenario load_scenario_file(const std::string& path);
Scenario load_scenario_text(const std::string& text, const std::string& file_name);

// Parsers shared with the command line: "10s", "250ms", "3us", "12ns", "1.5s".
std::optional<TimeNs> parse_duration(std::string_view text);
// "16M", "512K", "1G", "4096".
std::optional<usize> parse_bytes(std::string_view text);

} // namespace gantry::harness
