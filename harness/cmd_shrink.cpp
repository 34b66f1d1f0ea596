// `gantry shrink SCENARIO.yaml --seed N`: minimises a failing run's fault
// schedule. It removes faults (one at a time, keeping every removal after
// which the seed still fails), then shortens the run, and writes what is left
// as a standalone scenario that still fails the same way.
#include "command.hpp"
#include "runner.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

namespace gantry::harness {

namespace {

const char* shrink_usage = R"(usage: gantry shrink SCENARIO.yaml --seed N [--out FILE]

Finds a smaller fault schedule that still makes seed N fail: drops every fault
it can do without, then shortens 'duration'. Writes the result as a standalone
scenario (default: SCENARIO.shrunk.yaml) and prints what it removed.
exit status: 0 a smaller failing scenario was written, 1 the seed does not
fail to begin with, 2 bad input
)";

struct ShrinkInput {
    std::string path;
    std::string out_path;
    u64 seed = 0;
    bool have_seed = false;
};

ShrinkInput parse_args(Args args)
{
    ShrinkInput input;
    for (usize i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        if ((arg == "--seed" || arg == "--out") && i + 1 >= args.size())
            throw CommandError(std::string(arg) + " needs a value", "see gantry shrink --help");
        if (arg == "--seed") {
            std::string_view text = args[++i];
            auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), input.seed);
            if (error != std::errc() || end != text.data() + text.size())
                throw CommandError("--seed: '" + std::string(text) + "' is not a number");
            input.have_seed = true;
        } else if (arg == "--out") {
            input.out_path = args[++i];
        } else if (arg.starts_with("-")) {
            throw CommandError("unknown option '" + std::string(arg) + "'",
                               "see gantry shrink --help");
        } else if (input.path.empty()) {
            input.path = arg;
        } else {
            throw CommandError("only one scenario file", "usage: gantry shrink FILE --seed N");
        }
    }
    if (input.path.empty() || !input.have_seed)
        throw CommandError("a scenario file and --seed are required",
                           "usage: gantry shrink FILE --seed N");
    if (input.out_path.empty()) {
        std::string base = input.path;
        if (base.size() > 5 && base.ends_with(".yaml"))
            base.resize(base.size() - 5);
        input.out_path = base + ".shrunk.yaml";
    }
    return input;
}

std::string emit(const YAML::Node& root)
{
    YAML::Emitter out;
    out << root;
    return std::string(out.c_str()) + "\n";
}

// Which checks failed (by position; -1 = "no node may fail"): a candidate only
// counts if it fails the same way, not merely somehow.
using FailureSignature = std::vector<long>;

FailureSignature failures_of(const std::string& text, const std::string& name, u64 seed,
                             TimeNs& end_time)
{
    Scenario scenario = load_scenario_text(text, name);
    RunOptions options;
    options.seed = seed;
    RunOutcome outcome = run_scenario(scenario, options);
    end_time = outcome.end_time;
    FailureSignature signature;
    for (const CheckOutcome& check : outcome.checks)
        if (!check.passed)
            signature.push_back(check.check ? check.check - scenario.checks.data() : -1);
    return signature;
}

// "at: 11ms, crash: beta": one line per removed fault in the report.
std::string describe_fault(const YAML::Node& fault)
{
    if (!fault.IsMap())
        return "?";
    std::string text;
    for (auto it = fault.begin(); it != fault.end(); ++it) {
        YAML::Emitter value;
        value << YAML::Flow << it->second;
        text += (text.empty() ? "" : ", ") + it->first.as<std::string>() + ": " + value.c_str();
    }
    return text;
}

// Drops faults one at a time, keeping each removal that preserves the failure.
// Returns whether it removed any.
bool shrink_faults_once(YAML::Node& root, const std::string& name, u64 seed,
                        const FailureSignature& target)
{
    if (!root["faults"] || !root["faults"].IsSequence())
        return false;
    bool removed_any = false;
    for (usize i = root["faults"].size(); i-- > 0;) {
        YAML::Node candidate = YAML::Clone(root);
        YAML::Node removed = candidate["faults"][i];
        candidate["faults"].remove(i);
        TimeNs end_time = 0;
        if (failures_of(emit(candidate), name, seed, end_time) == target) {
            std::printf("  removed fault %zu: %s\n", i + 1, describe_fault(removed).c_str());
            root = candidate;
            removed_any = true;
        }
    }
    return removed_any;
}

// Passes until one removes nothing: a fault that had to stay while its
// partner was there (a resume after a pause) may go once the partner has.
void shrink_faults(YAML::Node& root, const std::string& name, u64 seed,
                   const FailureSignature& target)
{
    constexpr int passes_max = 8;
    for (int pass = 0; pass < passes_max && shrink_faults_once(root, name, seed, target); ++pass) {
    }
}

// "250ms", "3us", "1234ns": the largest unit that writes `ns` exactly.
std::string format_duration(TimeNs ns)
{
    if (ns != 0 && ns % ns_per_ms == 0)
        return std::to_string(ns / ns_per_ms) + "ms";
    if (ns != 0 && ns % ns_per_us == 0)
        return std::to_string(ns / ns_per_us) + "us";
    return std::to_string(ns) + "ns";
}

YAML::Node pair_of(const std::string& a, const std::string& b)
{
    YAML::Node pair(YAML::NodeType::Sequence);
    pair.push_back(a);
    pair.push_back(b);
    pair.SetStyle(YAML::EmitterStyle::Flow);
    return pair;
}

// A fault a chaos block generated, as the file would write it.
YAML::Node fault_yaml(const FaultSpec& fault)
{
    YAML::Node node;
    node["at"] = format_duration(fault.at_ns);
    switch (fault.kind) {
    case FaultKind::crash: node["crash"] = fault.node; break;
    case FaultKind::restart: node["restart"] = fault.node; break;
    case FaultKind::pause: node["pause"] = fault.node; break;
    case FaultKind::resume: node["resume"] = fault.node; break;
    case FaultKind::partition:
        if (fault.one_way) {
            YAML::Node one_way;
            one_way["from"] = fault.node;
            one_way["to"] = fault.node2;
            one_way.SetStyle(YAML::EmitterStyle::Flow);
            node["partition"] = one_way;
        } else {
            node["partition"] = pair_of(fault.node, fault.node2);
        }
        break;
    case FaultKind::heal:
        if (fault.heal_all)
            node["heal"] = "all";
        else
            node["heal"] = pair_of(fault.node, fault.node2);
        break;
    case FaultKind::loss_burst: {
        YAML::Node burst;
        burst["link"] = fault.link;
        burst["loss"] = format_percent_ppm(fault.loss_ppm);
        burst["for"] = format_duration(fault.for_ns);
        burst.SetStyle(YAML::EmitterStyle::Flow);
        node["loss_burst"] = burst;
        break;
    }
    case FaultKind::kernel_faults: {
        YAML::Node faults;
        faults["node"] = fault.node;
        if (fault.kernel_faults.alloc_fail_ppm != 0)
            faults["alloc_fail"] = format_percent_ppm(fault.kernel_faults.alloc_fail_ppm);
        if (fault.kernel_faults.timer_late_ns != 0)
            faults["timer_late"] = format_duration(fault.kernel_faults.timer_late_ns);
        if (fault.kernel_faults.timer_jitter_ns != 0)
            faults["timer_jitter"] = format_duration(fault.kernel_faults.timer_jitter_ns);
        faults.SetStyle(YAML::EmitterStyle::Flow);
        node["kernel_faults"] = faults;
        break;
    }
    case FaultKind::disk_faults: {
        YAML::Node faults;
        faults["node"] = fault.node;
        faults["disk"] = fault.disk;
        faults["read_errors"] = format_percent_ppm(fault.read_error_ppm);
        faults["write_errors"] = format_percent_ppm(fault.write_error_ppm);
        faults.SetStyle(YAML::EmitterStyle::Flow);
        node["disk_faults"] = faults;
        break;
    }
    case FaultKind::clock_drift: {
        YAML::Node drift;
        drift["node"] = fault.node;
        drift["ppm"] = fault.drift_ppm;
        drift.SetStyle(YAML::EmitterStyle::Flow);
        node["clock_drift"] = drift;
        break;
    }
    case FaultKind::boot_crash: {
        YAML::Node crash;
        crash["node"] = fault.node;
        crash["phase"] = fault.phase;
        crash.SetStyle(YAML::EmitterStyle::Flow);
        node["boot_crash"] = crash;
        break;
    }
    }
    return node;
}

// Faults that only mend what an earlier fault broke.
bool is_undoing(const FaultSpec& fault)
{
    switch (fault.kind) {
    case FaultKind::heal:
    case FaultKind::resume:
    case FaultKind::restart:
        return true;
    case FaultKind::kernel_faults:
        return fault.kernel_faults == KernelFaultsSpec{};
    default:
        return false;
    }
}

// Replaces the chaos blocks by the faults they generate for `seed`, after the
// file's own (the order the runner schedules them in), so shrinking can cut
// generated faults like any other; the run stays the same.
void expand_chaos_blocks(YAML::Node& root, const Scenario& scenario, u64 seed)
{
    if (scenario.chaos.empty())
        return;
    std::vector<FaultSpec> generated = expand_chaos(scenario, seed);
    YAML::Node faults = root["faults"] && root["faults"].IsSequence()
                            ? root["faults"]
                            : YAML::Node(YAML::NodeType::Sequence);
    usize written = 0;
    usize left_to_liveness = 0;
    for (const FaultSpec& fault : generated) {
        // A chaos block's last undoing can fall exactly on liveness.after (a
        // fault's duration is cut at the block's end). The liveness phase
        // mends everything at that instant anyway, and the loader rightly
        // refuses a written fault there, so it is left to the phase.
        if (scenario.liveness.enabled && fault.at_ns >= scenario.liveness.after_ns) {
            GANTRY_ASSERT(is_undoing(fault));
            ++left_to_liveness;
            continue;
        }
        faults.push_back(fault_yaml(fault));
        ++written;
    }
    root["faults"] = faults;
    root.remove("chaos");
    std::printf("  expanded %zu chaos block(s) into %zu faults for seed %llu",
                scenario.chaos.size(), written, static_cast<unsigned long long>(seed));
    if (left_to_liveness != 0)
        std::printf(" (%zu undoing(s) at liveness.after left to the liveness phase)",
                    left_to_liveness);
    std::printf("\n");
}

// Gives each random_within fault of the file the time it has for `seed` (or
// drops it when it does not happen for it) and writes each `every:` fault
// out once per time: random faults draw from streams named by their places
// in the file, which shrinking is about to change, and a repeated fault is
// cut down one time at a time. Returns how many faults were random or
// repeated.
usize resolve_file_faults(YAML::Node& root, const Scenario& scenario, u64 seed)
{
    usize random = 0;
    usize repeated = 0;
    for (const FaultSpec& fault : scenario.faults) {
        random += fault.random ? 1 : 0;
        repeated += fault.every_ns != 0 ? 1 : 0;
    }
    if (random + repeated == 0)
        return 0;
    std::vector<FaultSpec> resolved = resolve_random_faults(scenario, seed);
    YAML::Node faults(YAML::NodeType::Sequence);
    for (const FaultSpec& fault : resolved)
        faults.push_back(fault_yaml(fault));
    root["faults"] = faults;
    // Resolved faults keep the marks of the file's faults they came from.
    auto resolved_from = [&](bool (*which)(const FaultSpec&)) {
        usize count = 0;
        for (const FaultSpec& fault : resolved)
            for (const FaultSpec& original : scenario.faults)
                if (which(original) && original.mark.line == fault.mark.line &&
                    original.mark.column == fault.mark.column)
                    ++count;
        return count;
    };
    if (random > 0)
        std::printf("  resolved %zu random_within fault(s) for seed %llu: %zu of them happen\n",
                    random, static_cast<unsigned long long>(seed),
                    resolved_from([](const FaultSpec& f) { return f.random; }));
    if (repeated > 0)
        std::printf("  wrote out %zu repeated fault(s) as %zu faults\n", repeated,
                    resolved_from([](const FaultSpec& f) { return f.every_ns != 0; }));
    return random + repeated;
}

// Shortens the run to just past the failure, if the failure survives that.
// With a liveness phase the end is after + within, not 'duration': left alone.
void shrink_duration(YAML::Node& root, const std::string& name, u64 seed,
                     const FailureSignature& target, TimeNs end_time)
{
    if (root["liveness"])
        return;
    TimeNs shorter = end_time + ns_per_ms;
    YAML::Node candidate = YAML::Clone(root);
    candidate["duration"] = std::to_string(shorter) + "ns";
    TimeNs ignored = 0;
    if (failures_of(emit(candidate), name, seed, ignored) == target) {
        std::printf("  shortened the run to %llu ns\n", static_cast<unsigned long long>(shorter));
        root = candidate;
    }
}

} // namespace

int cmd_shrink(Args args)
{
    if (!args.empty() && is_help(args[0])) {
        std::fputs(shrink_usage, stdout);
        return exit_ok;
    }
    ShrinkInput input = parse_args(args);
    std::ifstream in(input.path, std::ios::binary);
    if (!in)
        throw CommandError("cannot read " + input.path, "check the path");
    std::stringstream text;
    text << in.rdbuf();
    try {
        TimeNs end_time = 0;
        FailureSignature target = failures_of(text.str(), input.path, input.seed, end_time);
        if (target.empty()) {
            std::printf("seed %llu passes: nothing to shrink\n",
                        static_cast<unsigned long long>(input.seed));
            return exit_check_failed;
        }
        YAML::Node root = YAML::Load(text.str());
        std::printf("shrinking %s, seed %llu:\n", input.path.c_str(),
                    static_cast<unsigned long long>(input.seed));
        Scenario original = load_scenario_text(text.str(), input.path);
        usize random = resolve_file_faults(root, original, input.seed);
        expand_chaos_blocks(root, original, input.seed);
        usize faults_before = root["faults"] ? root["faults"].size() : 0;
        if (!original.chaos.empty() || random > 0) {
            // Expanded: the concrete schedule must fail exactly as the chaos did.
            TimeNs ignored = 0;
            if (failures_of(emit(root), input.path, input.seed, ignored) != target)
                throw CommandError("the expanded chaos schedule does not fail like the "
                                   "original (a determinism bug: please report it)");
        }
        shrink_faults(root, input.path, input.seed, target);
        TimeNs failing_end = 0;
        failures_of(emit(root), input.path, input.seed, failing_end);
        shrink_duration(root, input.path, input.seed, target, failing_end);
        root["name"] = root["name"].as<std::string>() + "-shrunk";
        std::ofstream out(input.out_path);
        out << "# Shrunk by: gantry shrink " << input.path << " --seed " << input.seed << "\n"
            << "# Reproduce: gantry sim " << input.out_path << " --seed " << input.seed << "\n"
            << emit(root);
        if (!out)
            throw CommandError("cannot write " + input.out_path);
        usize faults_after = root["faults"] ? root["faults"].size() : 0;
        std::printf("%zu of %zu faults left; wrote %s\n", faults_after, faults_before,
                    input.out_path.c_str());
    } catch (const ScenarioError& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return exit_bad_input;
    }
    return exit_ok;
}

} // namespace gantry::harness
