#include "scenario.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace gantry;
using namespace gantry::harness;

namespace {

std::string error_of(const std::string& text)
{
    try {
        load_scenario_text(text, "s.yaml");
    } catch (const ScenarioError& error) {
        return error.what();
    }
    return "no error";
}

const char* valid = R"(name: demo
description: two nodes
seed: 7
duration: 2s
nodes:
  - name: a
    app: hello
    memory: 8M
    args: [x, "y"]
  - name: b
    app: hello
    clock_drift_ppm: -50
faults:
  - at: 500ms
    crash: b
  - at: 1s
    restart: b
checks:
  - exit_code: 0
  - node: a
    log_contains: "hello: done"
  - no_node_failures: true
  - exited_by: 1500ms
)";

} // namespace

TEST_CASE("scenario: a valid file loads with every field")
{
    Scenario s = load_scenario_text(valid, "s.yaml");
    CHECK(s.name == "demo");
    CHECK(s.default_seed == 7);
    CHECK(s.duration_ns == 2 * ns_per_s);
    REQUIRE(s.nodes.size() == 2);
    CHECK(s.nodes[0].memory_bytes == 8u << 20);
    CHECK(s.nodes[0].args == std::vector<std::string>{"x", "y"});
    CHECK(s.nodes[1].clock_drift_ppm == -50);
    REQUIRE(s.faults.size() == 2);
    CHECK(s.faults[0].kind == FaultKind::crash);
    CHECK(s.faults[0].at_ns == 500 * ns_per_ms);
    REQUIRE(s.checks.size() == 4);
    CHECK(s.checks[0].node == "*");
    CHECK(s.checks[1].kind == CheckKind::log_contains);
    CHECK(s.checks[3].time_ns == 1500 * ns_per_ms);
}

TEST_CASE("scenario: errors name file, line and column and say what is expected")
{
    CHECK(error_of("name: x\nnodes:\n  - name: a\n    app: hello\n    memroy: 4M\n") ==
          "s.yaml:5:5: unknown key 'memroy' in a node (did you mean 'memory'?); expected one "
          "of: name, app, args, memory, clock_drift_ppm");
    CHECK(error_of("name: x\nnodes: [{name: a, app: hello}]\nduration: soon\n") ==
          "s.yaml:3:11: 'duration': 'soon' is not a duration (examples: 10s, 250ms, 5us)");
    CHECK(error_of("name: x\nnodes:\n  - app: hello\n") == "s.yaml:3:5: a node needs 'name'");
    CHECK(error_of("name: [x\n").rfind("s.yaml:", 0) == 0);
    CHECK(error_of("name: x\nnodes: [{name: a, app: hello}]\nfaults:\n  - at: 1s\n    crash: aa\n")
              .find("no node named 'aa' (did you mean 'a'?)") != std::string::npos);
    CHECK(error_of("") == "s.yaml:1:1: the file is empty; a scenario needs at least 'name' "
                          "and 'nodes'");
    CHECK(error_of("name: x\nnodes: [{name: a, app: hello}, {name: a, app: hello}]\n")
              .find("two nodes are named 'a'") != std::string::npos);
    CHECK(error_of("name: x\nnodes: [{name: a, app: hello}]\nchecks:\n  - exit_code: zero\n")
              .find("'exit_code' must be an integer") != std::string::npos);
    CHECK(error_of("name: x\nnodes: [{name: a, app: hello}]\nfaults:\n  - at: 1s\n")
              .find("exactly one of crash, restart") != std::string::npos);
    CHECK(error_of("- just\n- a list\n").find("the scenario must be a mapping") !=
          std::string::npos);
}

TEST_CASE("scenario: durations and sizes")
{
    CHECK(parse_duration("10s") == 10 * ns_per_s);
    CHECK(parse_duration("250ms") == 250 * ns_per_ms);
    CHECK(parse_duration("1.5s") == 1500 * ns_per_ms);
    CHECK(parse_duration("3us") == 3000u);
    CHECK(parse_duration("2min") == 120 * ns_per_s);
    CHECK_FALSE(parse_duration("10"));
    CHECK_FALSE(parse_duration("-1s"));
    CHECK_FALSE(parse_duration("s"));
    CHECK(parse_bytes("16M") == usize{16} << 20);
    CHECK_FALSE(parse_bytes("16X"));
}
