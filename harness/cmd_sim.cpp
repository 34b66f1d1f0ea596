// `gantry sim SCENARIO.yaml`: runs a scenario in the simulator for one seed or
// a sweep of seeds (in parallel processes, optionally one shard of the range),
// judges its checks, writes reports, and prints the command that reproduces
// each failure.
#include "command.hpp"
#include "options.hpp"
#include "runner.hpp"
#include "sweep.hpp"

#include <cstdio>

namespace gantry::harness {

namespace {

const char* sim_usage = R"(usage: gantry sim SCENARIO.yaml [options]

Runs the scenario in the deterministic simulator and judges its checks.

options:
  --seed N              run one seed (default: the scenario's 'seed')
  --seeds A..B          run every seed from A to B inclusive
  --jobs J              run seeds in J parallel processes (default 1)
  --shard K/N           run only shard K (0-based) of N of the seed range, for CI
                        matrices or a Kubernetes Indexed Job (K = completion index)
  --out DIR             write trace.gtrace, <node>.log per node, summary.json and
                        junit.xml (per seed under DIR/seed-N/ for sweeps)
  --check-determinism F re-run this fraction of the seeds and fail on any
                        divergence (default 0.05 for sweeps, 0 for one seed)
  --quiet / --verbose   less / more output
exit status: 0 every check held, 1 a check failed (the reproduce command is
printed), 2 bad input (file:line:column: what is wrong)
)";

const std::string sim_hint = "see `gantry sim --help`";

void parse_shard(std::string_view text, SweepOptions& sweep)
{
    auto slash = text.find('/');
    if (slash == std::string_view::npos)
        throw CommandError("--shard: '" + std::string(text) + "' is not K/N", "e.g. --shard 0/4");
    sweep.shard_index = parse_number_option(text.substr(0, slash), "--shard");
    sweep.shard_count = parse_number_option(text.substr(slash + 1), "--shard");
    if (sweep.shard_count == 0 || sweep.shard_index >= sweep.shard_count)
        throw CommandError("--shard: K must be below N (K counts from 0)", "e.g. --shard 0/4");
}

SweepOptions parse_args(Args args)
{
    SweepOptions sweep;
    bool have_seed = false;
    for (usize i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        if (arg == "--seed") {
            sweep.first_seed = sweep.last_seed =
                parse_number_option(option_value(args, i, sim_hint), "--seed");
            have_seed = true;
        } else if (arg == "--seeds") {
            SeedRange range = parse_seed_range(option_value(args, i, sim_hint));
            sweep.first_seed = range.first;
            sweep.last_seed = range.last;
            sweep.sweep = true;
        } else if (arg == "--jobs") {
            u64 jobs = parse_number_option(option_value(args, i, sim_hint), "--jobs");
            // Checked before narrowing: 4294967297 must not become 1.
            if (jobs == 0 || jobs > 256)
                throw CommandError("--jobs must be between 1 and 256");
            sweep.jobs = static_cast<u32>(jobs);
        } else if (arg == "--shard") {
            parse_shard(option_value(args, i, sim_hint), sweep);
        } else if (arg == "--out") {
            sweep.out_dir = option_value(args, i, sim_hint);
        } else if (arg == "--check-determinism") {
            std::string text(option_value(args, i, sim_hint));
            char* end = nullptr;
            sweep.determinism_fraction = std::strtod(text.c_str(), &end);
            if (*end != '\0' || sweep.determinism_fraction < 0 || sweep.determinism_fraction > 1)
                throw CommandError("--check-determinism takes a fraction from 0 to 1");
            sweep.determinism_set = true;
        } else if (arg == "--quiet") {
            sweep.verbosity = 0;
        } else if (arg == "--verbose") {
            sweep.verbosity = 2;
        } else if (arg.starts_with("-")) {
            throw CommandError("unknown option '" + std::string(arg) + "'", sim_hint);
        } else if (sweep.scenario_path.empty()) {
            sweep.scenario_path = arg;
        } else {
            throw CommandError("only one scenario file per run", "run gantry sim once per file");
        }
    }
    if (sweep.scenario_path.empty())
        throw CommandError("no scenario file given", "usage: gantry sim SCENARIO.yaml");
    if (have_seed && sweep.sweep)
        throw CommandError("--seed and --seeds exclude each other");
    sweep.explicit_seed = have_seed;
    return sweep;
}

} // namespace

int cmd_sim(Args args)
{
    if (!args.empty() && is_help(args[0])) {
        std::fputs(sim_usage, stdout);
        return exit_ok;
    }
    SweepOptions options = parse_args(args);
    Scenario scenario;
    try {
        scenario = load_scenario_file(options.scenario_path);
    } catch (const ScenarioError& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return exit_bad_input;
    }
    if (!options.sweep && !options.explicit_seed)
        options.first_seed = options.last_seed = scenario.default_seed;
    return run_sweep(scenario, options);
}

} // namespace gantry::harness
