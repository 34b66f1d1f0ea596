// Kernel-level faults, chaos blocks and the liveness phase in scenario files:
// what the loader accepts, what it rejects (file:line:column), and what a
// chaos block expands into.
#include "scenario.hpp"
#include "scenario_test_helpers.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <string>

using namespace gantry;
using namespace gantry::harness;

namespace {

std::string error_of(const std::string& text)
{
    return test_support::error_of(text, "c.yaml");
}

const char* world = R"(name: chaos
nodes:
  - {name: a, app: echo, ip: 10.0.0.1/24}
  - {name: b, app: echo, ip: 10.0.0.2/24}
  - {name: c, app: echo, ip: 10.0.0.3/24}
switches:
  - name: sw
links:
  - {between: [a, sw]}
  - {between: [b, sw]}
  - {name: c-up, between: [c, sw]}
)";

Scenario load(const std::string& rest)
{
    return load_scenario_text(std::string(world) + rest, "c.yaml");
}

} // namespace

TEST_CASE("scenario: kernel faults on nodes and in the timeline")
{
    Scenario s = load_scenario_text(R"(name: k
duration: 2s
nodes:
  - name: a
    app: echo
    ip: 10.0.0.1/24
    kernel_faults: {alloc_fail: 0.5%, timer_late: 1ms, timer_jitter: 250us, boot_crash: net}
  - name: b
    app: echo
    ip: 10.0.0.2/24
links:
  - between: [a, b]
faults:
  - at: 1s
    kernel_faults: {node: b, alloc_fail: 2%}
  - at: 1500ms
    boot_crash: {node: b, phase: app start}
)", "k.yaml");
    const NodeSpec& a = s.nodes[0];
    CHECK(a.kernel_faults.alloc_fail_ppm == 5'000);
    CHECK(a.kernel_faults.timer_late_ns == ns_per_ms);
    CHECK(a.kernel_faults.timer_jitter_ns == 250 * ns_per_us);
    CHECK(a.boot_crash_phase == "net");
    REQUIRE(s.faults.size() == 2);
    CHECK(s.faults[0].kind == FaultKind::kernel_faults);
    CHECK(s.faults[0].node == "b");
    CHECK(s.faults[0].kernel_faults.alloc_fail_ppm == 20'000);
    CHECK(s.faults[0].kernel_faults.timer_late_ns == 0);
    CHECK(s.faults[1].kind == FaultKind::boot_crash);
    CHECK(s.faults[1].phase == "app start");
}

TEST_CASE("scenario: bad kernel faults are rejected where they are written")
{
    CHECK(error_of("name: k\nnodes:\n  - name: a\n    app: hello\n    kernel_faults: "
                   "{boot_crash: nett}\n") ==
          "c.yaml:5:33: 'boot_crash': 'nett' is not a boot phase (did you mean 'net'?); "
          "expected one of: platform, memory, net, app start");
    CHECK(error_of("name: k\nnodes:\n  - name: a\n    app: hello\n    kernel_faults: "
                   "{boot_crash: net}\n") ==
          "c.yaml:3:5: node 'a' has no link, so its boot has no 'net' phase to crash in");
    CHECK(error_of("name: k\nnodes:\n  - name: a\n    app: hello\n    kernel_faults: "
                   "{alloc_fail: 200%}\n")
              .starts_with("c.yaml:5:33: 'alloc_fail': '200%' is not a percentage"));
    CHECK(error_of("name: k\nnodes:\n  - name: a\n    app: hello\n    kernel_faults: "
                   "{timer_jiter: 1ms}\n")
              .starts_with("c.yaml:5:21: unknown key 'timer_jiter' in a node's kernel_faults "
                           "(did you mean 'timer_jitter'?)"));
    CHECK(error_of("name: k\nnodes:\n  - name: a\n    app: hello\nfaults:\n  - at: 1s\n"
                   "    boot_crash: {node: x, phase: memory}\n") ==
          "c.yaml:6:5: no node named 'x' (did you mean 'a'?)");
}

TEST_CASE("scenario: chaos blocks and the liveness phase load with their defaults")
{
    Scenario s = load(R"(chaos:
  from: 100ms
  crash_rate: 2/s
  partition_rate: 30/min
  nodes: [a, b]
liveness:
  after: 3s
  within: 2s
)");
    REQUIRE(s.chaos.size() == 1);
    const ChaosSpec& chaos = s.chaos[0];
    CHECK(chaos.from_ns == 100 * ns_per_ms);
    CHECK(chaos.until_ns == 3 * ns_per_s); // defaults to the end of the safety phase
    CHECK(chaos.crash_rate == 2);
    CHECK(chaos.partition_rate == 0.5);
    CHECK(chaos.pause_rate == 0);
    CHECK(chaos.mean_duration_ns == 200 * ns_per_ms);
    CHECK(chaos.nodes == std::vector<std::string>{"a", "b"});
    CHECK(s.liveness.enabled);
    CHECK(s.liveness.after_ns == 3 * ns_per_s);
    CHECK(s.liveness.within_ns == 2 * ns_per_s);
    CHECK(s.duration_ns == 5 * ns_per_s); // the run ends at after + within
}

TEST_CASE("scenario: bad chaos blocks and liveness phases are rejected")
{
    CHECK(error_of(std::string(world) + "chaos: {crash_rate: fast}\n") ==
          "c.yaml:12:21: 'crash_rate': 'fast' is not a rate of at most 1000/s (examples: "
          "0.5/s, 10/min, 2/h)");
    CHECK(error_of(std::string(world) + "chaos: {from: 1s}\n") ==
          "c.yaml:12:8: a chaos block needs at least one of crash_rate, pause_rate, "
          "partition_rate, loss_burst_rate, one_way_partition_rate, kernel_fault_rate above 0");
    CHECK(error_of(std::string(world) + "duration: 5s\nchaos: {crash_rate: 1/s, until: 6s}\n") ==
          "c.yaml:13:8: a chaos block must end ('until') by duration (5000 ms)");
    CHECK(error_of(std::string(world) + "chaos: {crash_rate: 1/s, nodes: [a, bb]}\n") ==
          "c.yaml:12:8: no node named 'bb' (did you mean 'b'?)");
    CHECK(error_of(std::string(world) + "chaos: {loss_burst_rate: 1/s, links: [c-upp]}\n") ==
          "c.yaml:12:8: no link named 'c-upp' (did you mean 'c-up'?)");
    CHECK(error_of(std::string(world) + "chaos: {crash_rate: 1000/s, until: 1h}\nduration: 2h\n")
              .find("would generate about 3600000 faults; at most 10000") != std::string::npos);
    CHECK(error_of(std::string(world) + "chaos: {crash_rate: 1/s, pase_rate: 1/s}\n")
              .starts_with("c.yaml:12:26: unknown key 'pase_rate' in a chaos block (did you "
                           "mean 'pause_rate'?)"));
    CHECK(error_of(std::string(world) + "duration: 5s\nliveness: {after: 1s, within: 1s}\n") ==
          "c.yaml:12:11: give 'duration' or 'liveness', not both: with 'liveness' the run ends "
          "at after + within");
    CHECK(error_of(std::string(world) + "liveness: {after: 1s}\n") ==
          "c.yaml:12:11: 'liveness' needs 'within'");
    CHECK(error_of(std::string(world) + "liveness: {after: 1s, within: 2s}\nfaults:\n"
                                        "  - at: 1500ms\n    crash: a\n") ==
          "c.yaml:14:5: this fault happens in the liveness phase (from 1000 ms, "
          "liveness.after), when faults have stopped; move 'at' before it");
    CHECK(error_of(std::string(world) + "liveness: {after: 1s, within: 2s}\nfaults:\n"
                                        "  - at: 900ms\n    loss_burst: {link: c-up, loss: 50%, "
                                        "for: 200ms}\n") ==
          "c.yaml:14:5: this loss burst lasts into the liveness phase; shorten 'for' or move "
          "'at'");
    CHECK(error_of(std::string(world) + "liveness: {after: 1s, within: 1s}\n"
                                        "chaos: {crash_rate: 1/s, until: 2s}\n") ==
          "c.yaml:13:8: a chaos block must end ('until') by liveness.after (1000 ms)");
}

TEST_CASE("scenario: a chaos block expands into seeded, paired faults inside its window")
{
    Scenario s = load(R"(duration: 30s
chaos:
  from: 1s
  until: 21s
  crash_rate: 1/s
  pause_rate: 0.5/s
  partition_rate: 1/s
  loss_burst_rate: 1/s
  burst_loss: 40%
  mean_duration: 300ms
)");
    std::vector<FaultSpec> faults = expand_chaos(s, 42);
    std::map<FaultKind, int> kinds;
    TimeNs last = 0;
    std::map<std::string, int> down; // crash/pause minus restart/resume per node
    for (const FaultSpec& fault : faults) {
        CHECK(fault.generated);
        CHECK(fault.at_ns >= s.chaos[0].from_ns);
        CHECK(fault.at_ns <= s.chaos[0].until_ns);
        CHECK(fault.at_ns >= last); // time order
        last = fault.at_ns;
        ++kinds[fault.kind];
        if (fault.kind == FaultKind::crash || fault.kind == FaultKind::pause)
            CHECK(++down[fault.node] == 1); // never hit while already down
        if (fault.kind == FaultKind::restart || fault.kind == FaultKind::resume)
            CHECK(--down[fault.node] == 0);
        if (fault.kind == FaultKind::loss_burst) {
            CHECK(fault.loss_ppm == 400'000);
            CHECK(fault.at_ns + fault.for_ns <= s.chaos[0].until_ns);
        }
        if (fault.kind == FaultKind::partition)
            CHECK(fault.node != fault.node2);
    }
    // 20 s at these rates: ~20 crashes, ~10 pauses, ~20 partitions, ~20 bursts,
    // fewer where a target was still down.
    CHECK(kinds[FaultKind::crash] == kinds[FaultKind::restart]);
    CHECK(kinds[FaultKind::pause] == kinds[FaultKind::resume]);
    CHECK(kinds[FaultKind::partition] == kinds[FaultKind::heal]);
    CHECK(kinds[FaultKind::crash] > 5);
    CHECK(kinds[FaultKind::pause] > 2);
    CHECK(kinds[FaultKind::partition] > 5);
    CHECK(kinds[FaultKind::loss_burst] > 5);

    auto times = [](const std::vector<FaultSpec>& list) {
        std::vector<std::pair<TimeNs, int>> out;
        for (const FaultSpec& f : list)
            out.emplace_back(f.at_ns, static_cast<int>(f.kind));
        return out;
    };
    CHECK(times(expand_chaos(s, 42)) == times(faults));
    CHECK(times(expand_chaos(s, 43)) != times(faults));
}

TEST_CASE("scenario: a new rate in a chaos block leaves the other kinds' faults alone")
{
    Scenario base = load("duration: 10s\nchaos: {crash_rate: 1/s, mean_duration: 1ms}\n");
    Scenario more = load("duration: 10s\nchaos: {crash_rate: 1/s, mean_duration: 1ms, "
                         "loss_burst_rate: 3/s}\n");
    auto crashes = [](const std::vector<FaultSpec>& list) {
        std::vector<std::pair<TimeNs, std::string>> out;
        for (const FaultSpec& f : list)
            if (f.kind == FaultKind::crash)
                out.emplace_back(f.at_ns, f.node);
        return out;
    };
    CHECK(!crashes(expand_chaos(base, 5)).empty());
    CHECK(crashes(expand_chaos(base, 5)) == crashes(expand_chaos(more, 5)));
}

TEST_CASE("scenario: rates")
{
    CHECK(parse_rate("2/s") == 2.0);
    CHECK(parse_rate("30/min") == 0.5);
    CHECK(parse_rate("36/h") == 0.01);
    CHECK(parse_rate("0.25/s") == 0.25);
    CHECK_FALSE(parse_rate("2"));
    CHECK_FALSE(parse_rate("/s"));
    CHECK_FALSE(parse_rate("-1/s"));
    CHECK_FALSE(parse_rate("1/day"));
}
