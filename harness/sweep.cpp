#include "sweep.hpp"

#include "command.hpp"
#include "runner.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace gantry::harness {

namespace {

// What the parent learns about one seed (from a child process or in-process).
struct SeedResult {
    u64 seed = 0;
    bool passed = false;
    bool deterministic = true;
    u64 events = 0;
    u64 event_hash = 0;
    TimeNs end_time = 0;
    double wall_seconds = 0;
    std::vector<std::string> problems; // one line each
    std::vector<std::string> summary;  // one line each (disks)
};

std::vector<u64> seeds_of(const SweepOptions& options)
{
    std::vector<u64> seeds;
    for (u64 seed = options.first_seed;; ++seed) {
        if ((seed - options.first_seed) % options.shard_count == options.shard_index)
            seeds.push_back(seed);
        if (seed == options.last_seed)
            break;
    }
    return seeds;
}

// Which seeds get the determinism re-run: a hash of the seed, so every shard
// and every re-run of a sweep picks the same ones.
bool selected_for_determinism(u64 seed, double fraction)
{
    u64 x = seed + 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    return static_cast<double>(x % 1'000'000) < fraction * 1'000'000.0;
}

std::string seed_dir(const SweepOptions& options, u64 seed)
{
    if (options.out_dir.empty())
        return {};
    return options.sweep ? options.out_dir + "/seed-" + std::to_string(seed) : options.out_dir;
}

void check_determinism(const Scenario& scenario, const RunOutcome& first, SeedResult& result)
{
    RunOptions again;
    again.seed = first.seed;
    again.keep_trace_in_memory = true;
    again.hash_every = 1000;
    RunOutcome second = run_scenario(scenario, again);
    RunOutcome third = run_scenario(scenario, again);
    if (second.trace == third.trace && second.event_hash == third.event_hash &&
        second.event_hash == first.event_hash)
        return;
    result.deterministic = false;
    auto divergence = sim::first_divergence(second.checkpoints, third.checkpoints);
    std::string where = divergence ? "first differing checkpoint at event " +
                                         std::to_string(divergence->event_index)
                                   : "event hashes " + std::to_string(first.event_hash) +
                                         " vs " + std::to_string(third.event_hash);
    result.problems.push_back("NONDETERMINISTIC: the same seed gave different runs (" + where +
                              ")");
}

SeedResult run_one(const Scenario& scenario, const SweepOptions& options, u64 seed)
{
    SeedResult result;
    result.seed = seed;
    RunOptions run;
    run.seed = seed;
    run.out_dir = seed_dir(options, seed);
    RunOutcome outcome = run_scenario(scenario, run);
    result.passed = outcome.passed;
    result.events = outcome.events;
    result.event_hash = outcome.event_hash;
    result.end_time = outcome.end_time;
    result.wall_seconds = outcome.wall_seconds;
    result.summary = outcome.summary;
    for (const CheckOutcome& check : outcome.checks)
        if (!check.passed)
            result.problems.push_back(describe(scenario, check));
    double fraction = options.determinism_set ? options.determinism_fraction
                                              : (options.sweep ? 0.05 : 0.0);
    if (fraction > 0 && selected_for_determinism(seed, fraction)) {
        check_determinism(scenario, outcome, result);
        result.passed = result.passed && result.deterministic;
    }
    return result;
}

// One line per seed on a pipe from a worker process; fields tab-separated,
// problems separated by \x1f, then \x1d and the summary lines the same way
// (neither character is ever in our messages).
void serialize_lines(std::ostringstream& out, const std::vector<std::string>& lines)
{
    for (usize i = 0; i < lines.size(); ++i) {
        std::string line = lines[i];
        std::replace(line.begin(), line.end(), '\n', ' ');
        out << (i ? "\x1f" : "") << line;
    }
}

std::vector<std::string> deserialize_lines(const std::string& field)
{
    std::vector<std::string> lines;
    std::string item;
    std::istringstream split(field);
    while (std::getline(split, item, '\x1f'))
        if (!item.empty())
            lines.push_back(item);
    return lines;
}

std::string serialize(const SeedResult& r)
{
    std::ostringstream out;
    out << r.seed << '\t' << r.passed << '\t' << r.deterministic << '\t' << r.events << '\t'
        << r.event_hash << '\t' << r.end_time << '\t' << r.wall_seconds << '\t';
    serialize_lines(out, r.problems);
    out << '\x1d';
    serialize_lines(out, r.summary);
    out << '\n';
    return out.str();
}

SeedResult deserialize(const std::string& line)
{
    SeedResult r;
    std::istringstream in(line);
    std::string problems;
    in >> r.seed >> r.passed >> r.deterministic >> r.events >> r.event_hash >> r.end_time >>
        r.wall_seconds;
    in.get(); // the tab before the problems
    std::getline(in, problems, '\x1d');
    r.problems = deserialize_lines(problems);
    std::string summary;
    std::getline(in, summary);
    r.summary = deserialize_lines(summary);
    return r;
}

class Progress {
public:
    Progress(usize total, int verbosity) : m_total(total), m_verbosity(verbosity) {}

    void seed_done(const SeedResult& result)
    {
        ++m_done;
        m_failures += result.passed ? 0 : 1;
        if (m_verbosity >= 2 || (m_verbosity >= 1 && (!result.passed || m_total == 1)))
            print_seed(result);
        if (m_verbosity >= 1 && m_total > 1)
            print_line();
    }
    void finish() const
    {
        if (m_verbosity >= 1 && m_total > 1 && isatty(STDERR_FILENO))
            std::fputc('\n', stderr);
    }

private:
    void print_seed(const SeedResult& r) const
    {
        clear_line();
        std::printf("seed %llu: %s (%llu events, virtual %.3f s, wall %.3f s)\n",
                    static_cast<unsigned long long>(r.seed), r.passed ? "ok" : "FAILED",
                    static_cast<unsigned long long>(r.events),
                    static_cast<double>(r.end_time) / 1e9, r.wall_seconds);
        for (const auto& problem : r.problems)
            std::printf("  %s\n", problem.c_str());
        for (const auto& line : r.summary)
            std::printf("  %s\n", line.c_str());
        std::fflush(stdout);
    }
    void clear_line() const
    {
        if (m_total > 1 && isatty(STDERR_FILENO))
            std::fputs("\r\033[K", stderr);
    }
    void print_line() const
    {
        double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                       m_start).count();
        double rate = elapsed > 0 ? static_cast<double>(m_done) / elapsed : 0;
        double eta = rate > 0 ? static_cast<double>(m_total - m_done) / rate : 0;
        bool tty = isatty(STDERR_FILENO);
        // Without a terminal, print a line every 10% so CI logs stay short.
        if (!tty && m_done != m_total && m_done % std::max<usize>(1, m_total / 10) != 0)
            return;
        std::fprintf(stderr, "%s%zu/%zu seeds, %zu failed, %.1f seeds/s, ETA %.0f s%s",
                     tty ? "\r\033[K" : "", m_done, m_total, m_failures, rate, eta,
                     tty ? "" : "\n");
    }

    usize m_total;
    int m_verbosity;
    usize m_done = 0;
    usize m_failures = 0;
    std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now();
};

std::vector<SeedResult> run_in_process(const Scenario& scenario, const SweepOptions& options,
                                       const std::vector<u64>& seeds, Progress& progress)
{
    std::vector<SeedResult> results;
    for (u64 seed : seeds) {
        results.push_back(run_one(scenario, options, seed));
        progress.seed_done(results.back());
    }
    return results;
}

// Each worker takes every jobs-th seed and streams one line per seed back.
std::vector<SeedResult> run_in_workers(const Scenario& scenario, const SweepOptions& options,
                                       const std::vector<u64>& seeds, Progress& progress)
{
    u32 jobs = static_cast<u32>(std::min<usize>(options.jobs, seeds.size()));
    std::vector<FILE*> pipes;
    std::vector<pid_t> children;
    std::fflush(stdout);
    std::fflush(stderr);
    for (u32 worker = 0; worker < jobs; ++worker) {
        int fds[2];
        if (pipe(fds) != 0)
            throw CommandError("cannot create a pipe for --jobs");
        pid_t pid = fork();
        if (pid < 0)
            throw CommandError("cannot fork a worker for --jobs");
        if (pid == 0) {
            close(fds[0]);
            for (usize i = worker; i < seeds.size(); i += jobs) {
                std::string line = serialize(run_one(scenario, options, seeds[i]));
                if (write(fds[1], line.data(), line.size()) < 0)
                    _exit(3);
            }
            _exit(0);
        }
        close(fds[1]);
        pipes.push_back(fdopen(fds[0], "r"));
        children.push_back(pid);
    }
    std::vector<SeedResult> results;
    // Read the workers in turn; each line is one finished seed.
    std::vector<bool> open(jobs, true);
    for (usize remaining = jobs; remaining > 0;) {
        for (u32 worker = 0; worker < jobs; ++worker) {
            if (!open[worker])
                continue;
            char* line = nullptr;
            size_t capacity = 0;
            if (getline(&line, &capacity, pipes[worker]) > 0) {
                results.push_back(deserialize(line));
                progress.seed_done(results.back());
            } else {
                open[worker] = false;
                --remaining;
            }
            std::free(line);
        }
    }
    for (u32 worker = 0; worker < jobs; ++worker) {
        std::fclose(pipes[worker]);
        int status = 0;
        waitpid(children[worker], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            throw CommandError("a --jobs worker died (status " + std::to_string(status) + ")",
                               "re-run the failing seeds with --jobs 1 to see why");
    }
    std::sort(results.begin(), results.end(),
              [](const SeedResult& a, const SeedResult& b) { return a.seed < b.seed; });
    return results;
}

std::string xml_escape(const std::string& text)
{
    std::string out;
    for (char c : text) {
        switch (c) {
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '&': out += "&amp;"; break;
        case '"': out += "&quot;"; break;
        default:
            if (static_cast<unsigned char>(c) >= 0x20 || c == '\n' || c == '\t')
                out += c;
        }
    }
    return out;
}

std::string json_escape(const std::string& text)
{
    std::string out;
    for (char c : text) {
        if (c == '"' || c == '\\')
            out += '\\', out += c;
        else if (static_cast<unsigned char>(c) < 0x20)
            out += ' ';
        else
            out += c;
    }
    return out;
}

void write_reports(const Scenario& scenario, const SweepOptions& options,
                   const std::vector<SeedResult>& results)
{
    std::filesystem::create_directories(options.out_dir);
    usize failures = 0;
    for (const auto& r : results)
        failures += r.passed ? 0 : 1;
    std::ofstream junit(options.out_dir + "/junit.xml");
    junit << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\""
          << xml_escape(scenario.name) << "\" tests=\"" << results.size() << "\" failures=\""
          << failures << "\">\n";
    for (const auto& r : results) {
        junit << "  <testcase classname=\"" << xml_escape(scenario.name) << "\" name=\"seed "
              << r.seed << "\" time=\"" << r.wall_seconds << "\"";
        if (r.passed) {
            junit << "/>\n";
            continue;
        }
        std::string text;
        for (const auto& problem : r.problems)
            text += problem + "\n";
        junit << ">\n    <failure message=\"" << xml_escape(r.problems.empty() ? "failed"
                                                                              : r.problems[0])
              << "\">" << xml_escape(text + "reproduce: gantry sim " + scenario.file +
                                     " --seed " + std::to_string(r.seed))
              << "</failure>\n  </testcase>\n";
    }
    junit << "</testsuite>\n";
    std::ofstream summary(options.out_dir + "/summary.json");
    summary << "{\n  \"scenario\": \"" << json_escape(scenario.name) << "\",\n  \"file\": \""
            << json_escape(scenario.file) << "\",\n  \"seeds\": " << results.size()
            << ",\n  \"failures\": " << failures << ",\n  \"runs\": [\n";
    for (usize i = 0; i < results.size(); ++i) {
        const auto& r = results[i];
        summary << "    {\"seed\": " << r.seed << ", \"passed\": " << (r.passed ? "true" : "false")
                << ", \"events\": " << r.events << ", \"event_hash\": \"" << std::hex
                << r.event_hash << std::dec << "\", \"virtual_ns\": " << r.end_time
                << ", \"wall_s\": " << r.wall_seconds << ", \"problems\": [";
        for (usize p = 0; p < r.problems.size(); ++p)
            summary << (p ? ", " : "") << "\"" << json_escape(r.problems[p]) << "\"";
        summary << "]}" << (i + 1 < results.size() ? "," : "") << "\n";
    }
    summary << "  ]\n}\n";
    if (!junit || !summary)
        throw CommandError("cannot write the reports in " + options.out_dir);
}

} // namespace

int run_sweep(const Scenario& scenario, const SweepOptions& options)
{
    std::vector<u64> seeds = seeds_of(options);
    if (seeds.empty()) {
        std::printf("shard %llu/%llu has no seeds in this range\n",
                    static_cast<unsigned long long>(options.shard_index),
                    static_cast<unsigned long long>(options.shard_count));
        return exit_ok;
    }
    Progress progress(seeds.size(), options.verbosity);
    std::vector<SeedResult> results;
    try {
        results = options.jobs > 1 ? run_in_workers(scenario, options, seeds, progress)
                                   : run_in_process(scenario, options, seeds, progress);
    } catch (const ScenarioError& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return exit_bad_input;
    }
    progress.finish();
    if (!options.out_dir.empty())
        write_reports(scenario, options, results);
    usize failed = 0;
    for (const auto& r : results)
        failed += r.passed ? 0 : 1;
    if (failed == 0) {
        if (options.verbosity >= 1)
            std::printf("%s: %zu seed%s passed\n", scenario.name.c_str(), results.size(),
                        results.size() == 1 ? "" : "s");
        return exit_ok;
    }
    std::printf("%s: %zu of %zu seeds FAILED; reproduce with:\n", scenario.name.c_str(), failed,
                results.size());
    for (const auto& r : results)
        if (!r.passed)
            std::printf("  gantry sim %s --seed %llu\n", scenario.file.c_str(),
                        static_cast<unsigned long long>(r.seed));
    return exit_check_failed;
}

} // namespace gantry::harness
