// Pairs of benchmarks whose time ratio the benchmark binary prints after its
// table: ours against a peer measured in the same run (never a bare time).
#pragma once

#include <string>
#include <vector>

namespace gantry::bench {

struct RatioPair {
    std::string title;
    std::string ours;   // benchmark name (as Google Benchmark prints it)
    std::string peer;   // the peer's benchmark name
    double target_max;  // ours/peer must be at or below this to meet the target
};

std::vector<RatioPair>& ratio_pairs();

struct RatioRegistration {
    RatioRegistration(std::string title, std::string ours, std::string peer, double target_max)
    {
        ratio_pairs().push_back({std::move(title), std::move(ours), std::move(peer), target_max});
    }
};

} // namespace gantry::bench

#define GANTRY_RATIO_CONCAT2(a, b) a##b
#define GANTRY_RATIO_CONCAT(a, b) GANTRY_RATIO_CONCAT2(a, b)
// GANTRY_RATIO("fiber switch vs raw fcontext", "BM_FiberSwitch", "BM_RawFcontext", 1.5)
#define GANTRY_RATIO(title, ours, peer, target_max)                                   \
    static ::gantry::bench::RatioRegistration GANTRY_RATIO_CONCAT(gantry_ratio_, __LINE__)( \
        title, ours, peer, target_max)
