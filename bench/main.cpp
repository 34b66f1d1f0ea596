// gantry-bench: runs the Google Benchmark suite, then prints ours/peer ratios
// for every registered pair, with the target each one is held to.
#include "ratio.hpp"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>

namespace gantry::bench {

std::vector<RatioPair>& ratio_pairs()
{
    static std::vector<RatioPair> pairs;
    return pairs;
}

namespace {

// Forwards to the console reporter and remembers each benchmark's time per iteration.
class RecordingReporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override
    {
        for (const auto& run : runs)
            if (run.run_type == Run::RT_Iteration && !run.error_occurred)
                times[run.benchmark_name()] = run.GetAdjustedRealTime();
        ConsoleReporter::ReportRuns(runs);
    }
    std::map<std::string, double> times;
};

int print_ratios(const std::map<std::string, double>& times)
{
    int missed = 0;
    std::printf("\n%-46s %12s %12s %8s %8s\n", "ratio (ours / peer, same run)", "ours",
                "peer", "ratio", "target");
    for (const auto& pair : ratio_pairs()) {
        auto ours = times.find(pair.ours);
        auto peer = times.find(pair.peer);
        if (ours == times.end() || peer == times.end() || peer->second <= 0)
            continue; // filtered out of this run
        double ratio = ours->second / peer->second;
        bool met = ratio <= pair.target_max;
        missed += met ? 0 : 1;
        std::printf("%-46s %12.2f %12.2f %8.2f %7s%.2f %s\n", pair.title.c_str(), ours->second,
                    peer->second, ratio, "<=", pair.target_max, met ? "met" : "MISSED");
    }
    return missed;
}

} // namespace
} // namespace gantry::bench

int main(int argc, char** argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 2;
    gantry::bench::RecordingReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    gantry::bench::print_ratios(reporter.times);
    return 0;
}
