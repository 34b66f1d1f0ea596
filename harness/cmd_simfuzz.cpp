// `gantry simfuzz`: the simulation fuzzer. Generates a random world per seed
// (simfuzz.cpp), runs it in a child process under a wall-clock limit (so a
// crash or hang of the harness itself is caught and attributed to its seed),
// and on failure writes the world as a scenario file and prints the commands
// that reproduce and shrink it.
#include "command.hpp"
#include "options.hpp"
#include "runner.hpp"
#include "simfuzz.hpp"

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

namespace gantry::harness {

namespace {

const char* simfuzz_usage = R"(usage: gantry simfuzz [options]

Generates random worlds of real apps from seeds (topology, link faults, chaos,
kernel-level faults; TCP echo transfers, kv durability checkers, pingers, and
late clients that must be served after the faults stop) and runs each in the
simulator. A failing world is written as a scenario file that `gantry sim`
runs and `gantry shrink` minimises.

options:
  --seconds N           generate and run worlds for N wall-clock seconds (default 10)
  --first-seed S        the first seed of a --seconds run (default: from the clock,
                        printed, so the sequence can be repeated)
  --seed S              run only the world of seed S (reproduce a failure)
  --seeds A..B          run the worlds of seeds A to B
  --out DIR             where failing worlds are written (default simfuzz-failures)
  --print               print the world of --seed S as YAML and exit
  --timeout N           wall-clock seconds one world may take (default 120)
  --keep-going          do not stop at the first failing world
exit status: 0 every world passed, 1 a world failed (reproduce commands are
printed), 2 bad usage
)";

struct FuzzOptions {
    double seconds = 10;
    u64 first_seed = 0;
    bool first_seed_given = false;
    u64 last_seed = 0;
    bool range = false; // --seed or --seeds: a fixed list instead of a time budget
    std::string out_dir = "simfuzz-failures";
    bool print_only = false;
    unsigned timeout_s = 120;
    bool keep_going = false;
};

const std::string simfuzz_hint = "see gantry simfuzz --help";

FuzzOptions parse_args(Args args)
{
    FuzzOptions options;
    for (usize i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        // A number given as the value of the option being read.
        auto number = [&] {
            return parse_number_option(option_value(args, i, simfuzz_hint), arg, simfuzz_hint);
        };
        if (arg == "--seconds") {
            options.seconds = static_cast<double>(number());
        } else if (arg == "--first-seed") {
            options.first_seed = number();
            options.first_seed_given = true;
        } else if (arg == "--seed") {
            options.first_seed = options.last_seed = number();
            options.range = true;
        } else if (arg == "--seeds") {
            SeedRange range = parse_seed_range(option_value(args, i, simfuzz_hint), simfuzz_hint);
            options.first_seed = range.first;
            options.last_seed = range.last;
            options.range = true;
        } else if (arg == "--out") {
            options.out_dir = option_value(args, i, simfuzz_hint);
        } else if (arg == "--timeout") {
            options.timeout_s = static_cast<unsigned>(number());
        } else if (arg == "--print") {
            options.print_only = true;
        } else if (arg == "--keep-going") {
            options.keep_going = true;
        } else {
            throw CommandError("unknown option '" + std::string(arg) + "'", simfuzz_hint);
        }
    }
    if (options.print_only && !(options.range && options.first_seed == options.last_seed))
        throw CommandError("--print needs --seed S", "gantry simfuzz --seed 7 --print");
    return options;
}

// The child's side: runs one world, prints what failed, exits 0 (passed),
// 1 (a check failed), 3 (the generator wrote a scenario the loader rejects:
// a bug in simfuzz itself). Every 8th seed also runs twice: a difference in
// the event hash is a determinism bug, which makes seeds useless.
[[noreturn]] void run_child(u64 seed, const GeneratedScenario& generated)
{
    int status = 0;
    try {
        Scenario scenario = load_scenario_text(generated.yaml, "simfuzz-" + std::to_string(seed));
        RunOptions run;
        run.seed = seed;
        RunOutcome outcome = run_scenario(scenario, run);
        for (const CheckOutcome& check : outcome.checks)
            if (!check.passed)
                std::printf("  %s\n", describe(scenario, check).c_str());
        status = outcome.passed ? 0 : 1;
        if (seed % 8 == 0) {
            RunOutcome again = run_scenario(scenario, run);
            if (again.event_hash != outcome.event_hash || again.events != outcome.events) {
                std::printf("  NONDETERMINISTIC: two runs of the same world differ (event "
                            "hashes %llu vs %llu)\n",
                            static_cast<unsigned long long>(outcome.event_hash),
                            static_cast<unsigned long long>(again.event_hash));
                status = 1;
            }
        }
    } catch (const std::exception& error) {
        std::printf("  simfuzz generated a world the loader rejects: %s\n", error.what());
        status = 3;
    }
    std::fflush(stdout);
    _exit(status);
}

enum class Verdict : u8 { passed, failed, generator_bug, crashed, timed_out };

// Forks, runs the world in the child, waits at most timeout_s.
// The child's report arrives on a pipe, so the parent can print it under the
// seed's line.
void drain(int fd, std::string& into)
{
    char buffer[4096];
    for (;;) {
        ssize_t got = read(fd, buffer, sizeof buffer);
        if (got <= 0)
            return;
        into.append(buffer, static_cast<usize>(got));
    }
}

Verdict run_world(u64 seed, const GeneratedScenario& generated, unsigned timeout_s,
                  std::string& report, std::string& detail)
{
    std::fflush(stdout);
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0)
        throw CommandError("simfuzz: pipe failed");
    pid_t child = fork();
    if (child < 0)
        throw CommandError("simfuzz: fork failed");
    if (child == 0) {
        close(pipe_fds[0]);
        dup2(pipe_fds[1], STDOUT_FILENO);
        run_child(seed, generated);
    }
    close(pipe_fds[1]);
    fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
    struct CloseOnExit {
        int fd;
        ~CloseOnExit() { close(fd); }
    } reader{pipe_fds[0]};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    for (;;) {
        int status = 0;
        drain(reader.fd, report);
        pid_t done = waitpid(child, &status, WNOHANG);
        if (done == child) {
            drain(reader.fd, report);
            if (WIFEXITED(status)) {
                switch (WEXITSTATUS(status)) {
                case 0: return Verdict::passed;
                case 1: return Verdict::failed;
                case 3: return Verdict::generator_bug;
                default: break;
                }
                detail = "the run exited with status " + std::to_string(WEXITSTATUS(status));
                return Verdict::crashed;
            }
            detail = "the run died of signal " + std::to_string(WTERMSIG(status));
            return Verdict::crashed;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            kill(child, SIGKILL);
            waitpid(child, &status, 0);
            detail = "the run took longer than " + std::to_string(timeout_s) +
                     " s of wall time (a hang?)";
            return Verdict::timed_out;
        }
        usleep(2000);
    }
}

std::string write_world(const FuzzOptions& options, u64 seed, const GeneratedScenario& generated)
{
    std::filesystem::create_directories(options.out_dir);
    std::string path = options.out_dir + "/simfuzz-" + std::to_string(seed) + ".yaml";
    std::ofstream out(path);
    out << generated.yaml;
    if (!out)
        throw CommandError("cannot write " + path, "check --out");
    return path;
}

void report_failure(const FuzzOptions& options, u64 seed, const GeneratedScenario& generated,
                    Verdict verdict, const std::string& detail)
{
    if (!detail.empty())
        std::printf("  %s\n", detail.c_str());
    if (verdict == Verdict::generator_bug) {
        std::printf("  (a bug in gantry simfuzz's generator, not in the apps)\n");
        return;
    }
    std::string path = write_world(options, seed, generated);
    std::printf("  world written to %s; reproduce with either of:\n"
                "    gantry sim %s\n"
                "    gantry simfuzz --seed %llu\n"
                "  minimise its faults with:\n"
                "    gantry shrink %s --seed %llu\n",
                path.c_str(), path.c_str(), static_cast<unsigned long long>(seed), path.c_str(),
                static_cast<unsigned long long>(seed));
}

u64 seed_from_clock()
{
    auto now = std::chrono::system_clock::now().time_since_epoch();
    u64 x = static_cast<u64>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
    x ^= static_cast<u64>(getpid()) << 32;
    // Small enough to type; large enough that CI runs rarely overlap.
    return (x * 0x9e3779b97f4a7c15ull) >> 24;
}

} // namespace

int cmd_simfuzz(Args args)
{
    if (!args.empty() && is_help(args[0])) {
        std::fputs(simfuzz_usage, stdout);
        return exit_ok;
    }
    FuzzOptions options = parse_args(args);
    if (options.print_only) {
        std::fputs(generate_fuzz_scenario(options.first_seed).yaml.c_str(), stdout);
        return exit_ok;
    }
    if (!options.range && !options.first_seed_given)
        options.first_seed = seed_from_clock();
    if (!options.range)
        std::printf("simfuzz: %.0f s from seed %llu (repeat with --first-seed %llu)\n",
                    options.seconds, static_cast<unsigned long long>(options.first_seed),
                    static_cast<unsigned long long>(options.first_seed));
    auto started = std::chrono::steady_clock::now();
    auto elapsed = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    };
    u64 worlds = 0;
    u64 failures = 0;
    for (u64 seed = options.first_seed;; ++seed) {
        if (options.range ? seed > options.last_seed : elapsed() >= options.seconds)
            break;
        GeneratedScenario generated = generate_fuzz_scenario(seed);
        double world_started = elapsed();
        std::string report;
        std::string detail;
        Verdict verdict = run_world(seed, generated, options.timeout_s, report, detail);
        worlds++;
        bool passed = verdict == Verdict::passed;
        std::printf("seed %llu: %s (%.2f s) %s\n", static_cast<unsigned long long>(seed),
                    passed ? "ok" : "FAILED", elapsed() - world_started,
                    generated.summary.c_str());
        if (!passed) {
            std::fputs(report.c_str(), stdout);
            failures++;
            report_failure(options, seed, generated, verdict, detail);
            if (!options.keep_going)
                break;
        }
        if (seed == ~u64{0})
            break;
    }
    std::printf("simfuzz: %llu world%s, %llu failed, %.1f s\n",
                static_cast<unsigned long long>(worlds), worlds == 1 ? "" : "s",
                static_cast<unsigned long long>(failures), elapsed());
    return failures == 0 ? exit_ok : exit_check_failed;
}

} // namespace gantry::harness
