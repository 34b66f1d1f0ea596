// The clock_drift timeline fault: how the loader reads it, what it refuses
// (with file:line:col), and every/random_within like other faults.
#include "scenario.hpp"
#include "scenario_test_helpers.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace gantry;
using namespace gantry::harness;
using gantry::harness::test_support::error_of;

namespace {

std::string with_fault(const std::string& fault)
{
    return "name: x\nduration: 2s\nnodes: [{name: a, app: hello}, {name: b, app: hello}]\n"
           "faults:\n  - " + fault + "\n";
}

} // namespace

TEST_CASE("scenario: a clock_drift fault reads its node and ppm")
{
    Scenario s = load_scenario_text(
        with_fault("{at: 1s, clock_drift: {node: a, ppm: 50000}}") +
            "  - {at: 1500ms, clock_drift: {node: b, ppm: -999999}}\n"
            "  - {at: 1600ms, clock_drift: {node: b, ppm: +1000000}}\n"
            "  - {at: 1700ms, clock_drift: {node: a, ppm: 0}}\n",
        "s.yaml");
    REQUIRE(s.faults.size() == 4);
    CHECK(s.faults[0].kind == FaultKind::clock_drift);
    CHECK(s.faults[0].node == "a");
    CHECK(s.faults[0].at_ns == ns_per_s);
    CHECK(s.faults[0].drift_ppm == 50'000);
    CHECK(s.faults[1].drift_ppm == -999'999);
    CHECK(s.faults[2].drift_ppm == 1'000'000);
    CHECK(s.faults[3].drift_ppm == 0);
}

TEST_CASE("scenario: a clock_drift fault repeats and takes random times like the others")
{
    Scenario every = load_scenario_text(
        with_fault("{at: 100ms, every: 100ms, until: 500ms, clock_drift: {node: a, ppm: 10}}"),
        "s.yaml");
    REQUIRE(every.faults.size() == 1);
    CHECK(every.faults[0].every_ns == 100 * ns_per_ms);
    CHECK(every.faults[0].until_ns == 500 * ns_per_ms);
    Scenario random = load_scenario_text(
        with_fault("{random_within: [100ms, 1s], probability: 50%, "
                   "clock_drift: {node: b, ppm: -20}}"),
        "s.yaml");
    REQUIRE(random.faults.size() == 1);
    CHECK(random.faults[0].random);
    CHECK(random.faults[0].kind == FaultKind::clock_drift);
    CHECK(random.faults[0].drift_ppm == -20);
}

TEST_CASE("scenario: bad clock_drift faults are refused with where and why")
{
    const std::string range = "'ppm' must be a whole number from -999999 to 1000000";
    CHECK(error_of(with_fault("{at: 1s, clock_drift: {node: a, ppm: -1000000}}"))
              .rfind("s.yaml:5:42: " + range, 0) == 0);
    CHECK(error_of(with_fault("{at: 1s, clock_drift: {node: a, ppm: 1000001}}")).find(range) !=
          std::string::npos);
    CHECK(error_of(with_fault("{at: 1s, clock_drift: {node: a, ppm: 5%}}")).find(range) !=
          std::string::npos);
    CHECK(error_of(with_fault("{at: 1s, clock_drift: {node: a, ppm: 1.5}}")).find(range) !=
          std::string::npos);
    CHECK(error_of(with_fault("{at: 1s, clock_drift: {node: a, ppm: ''}}")).find(range) !=
          std::string::npos);
    CHECK(error_of(with_fault("{at: 1s, clock_drift: {node: a}}"))
              .find("s.yaml:5:27: a clock_drift fault needs 'ppm'") != std::string::npos);
    CHECK(error_of(with_fault("{at: 1s, clock_drift: {node: zz, ppm: 1}}"))
              .find("no node named 'zz'") != std::string::npos);
    CHECK(error_of(with_fault("{at: 1s, clock_drift: {node: a, ppm: 1, skew: 2}}"))
              .find("unknown key 'skew'") != std::string::npos);
    CHECK(error_of(with_fault("{at: 3s, clock_drift: {node: a, ppm: 1}}"))
              .find("this fault happens after the run ends") != std::string::npos);
    CHECK(error_of(with_fault("{at: 1s, clock_drift: {node: a, ppm: 1}, crash: a}"))
              .find("exactly one of crash") != std::string::npos);
    CHECK(error_of(with_fault("{at: 1s, clock_drift: 50000}")).rfind("s.yaml:5:", 0) == 0);
}
