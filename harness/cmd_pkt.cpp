// `gantry pkt SCRIPT.pkt|DIR...`: runs packetdrill scripts against Gantry's
// TCP in the simulator (harness/pkt/) and reports per folder: passed,
// diverged (passed but for permitted divergences), failed, not applicable,
// runner error. docs/conformance.md describes the runner and the results.
#include "command.hpp"
#include "pkt/runner.hpp"

#include <gantry/types.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fnmatch.h>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

namespace gantry::harness {

namespace {

namespace fs = std::filesystem;
using pkt::Outcome;

const char* pkt_usage = R"(usage: gantry pkt [OPTIONS] SCRIPT.pkt|DIR...

Runs packetdrill scripts against a fresh Gantry node each, in the simulator's
virtual time. A directory stands for every *.pkt below it (sorted) and is one
folder of the report; a file belongs to the folder it is in.

options:
  --json FILE        also write the results as JSON
  --define NAME      keep `#ifdef NAME` blocks (default: STANDARD)
  --permit FIELD     count mismatches of FIELD (window, window-sws, options,
                     dsack, rcvbuf, ...) as permitted divergences, not failures
  --strict-options   compare TCP option layout (NOP/EOL padding, order) too
  --divergences FILE documented divergences ("GLOB | TEXT | REASON" lines): a
                     failed script whose path matches GLOB and whose mismatch
                     contains TEXT counts as diverged, with REASON
  --baseline FILE    compare with FILE ("FOLDER OK PASSED" lines: OK = passed +
                     diverged): exit 1 only if a folder has fewer of either
  --pcap DIR         write each script's wire capture to DIR/NAME.pcap
  --quiet            print only failures and the summary
  --verbose          print every event of every script as it runs
exit status: 0 every script passed, diverged or does not apply; 1 a script
failed or the runner could not run it (or, with --baseline, a folder fell
below its baseline); 2 bad usage or unreadable input
)";

struct PktInput {
    std::vector<std::pair<std::string, std::string>> scripts; // (folder, path)
    std::string json_path;
    std::string baseline_path;
    std::string divergences_path;
    std::string pcap_dir;
    pkt::RunOptions options;
    bool quiet = false;
};

std::vector<std::pair<std::string, std::string>> expand(const std::string& arg)
{
    std::vector<std::pair<std::string, std::string>> out;
    std::error_code error;
    if (fs::is_directory(arg, error)) {
        std::string folder = fs::path(arg).lexically_normal().filename().string();
        if (folder.empty())
            folder = fs::path(arg).lexically_normal().parent_path().filename().string();
        std::vector<std::string> files;
        for (auto it = fs::recursive_directory_iterator(arg, error);
             !error && it != fs::recursive_directory_iterator(); it.increment(error))
            if (it->is_regular_file() && it->path().extension() == ".pkt")
                files.push_back(it->path().string());
        if (error)
            throw CommandError("cannot list '" + arg + "': " + error.message());
        std::sort(files.begin(), files.end());
        for (const std::string& file : files)
            out.emplace_back(folder, file);
        if (out.empty())
            throw CommandError("no *.pkt scripts under '" + arg + "'");
        return out;
    }
    if (!fs::is_regular_file(arg, error))
        throw CommandError("cannot read '" + arg + "': no such file or directory",
                           "give packetdrill scripts (*.pkt) or folders of them");
    out.emplace_back(fs::path(arg).parent_path().filename().string(), arg);
    return out;
}

PktInput parse_args(Args args)
{
    PktInput input;
    bool defined = false;
    for (usize i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        bool takes_value = arg == "--json" || arg == "--define" || arg == "--permit" ||
                           arg == "--baseline" || arg == "--divergences" || arg == "--pcap";
        if (takes_value && i + 1 >= args.size())
            throw CommandError(std::string(arg) + " needs a value", "see gantry pkt --help");
        if (arg == "--json") {
            input.json_path = args[++i];
        } else if (arg == "--baseline") {
            input.baseline_path = args[++i];
        } else if (arg == "--divergences") {
            input.divergences_path = args[++i];
        } else if (arg == "--pcap") {
            input.pcap_dir = args[++i];
            std::error_code error;
            if (!fs::is_directory(input.pcap_dir, error))
                throw CommandError("--pcap: '" + input.pcap_dir + "' is not a directory");
        } else if (arg == "--define") {
            if (!defined)
                input.options.defines.clear();
            defined = true;
            input.options.defines.emplace_back(args[++i]);
        } else if (arg == "--permit") {
            input.options.permitted.emplace_back(args[++i]);
        } else if (arg == "--strict-options") {
            input.options.option_match = pkt::OptionMatch::strict;
        } else if (arg == "--quiet") {
            input.quiet = true;
        } else if (arg == "--verbose") {
            input.options.verbose = true;
        } else if (arg.starts_with("-")) {
            throw CommandError("unknown option '" + std::string(arg) + "'",
                               "see gantry pkt --help");
        } else {
            auto found = expand(std::string(arg));
            input.scripts.insert(input.scripts.end(), found.begin(), found.end());
        }
    }
    if (input.scripts.empty())
        throw CommandError("no scripts given", "usage: gantry pkt SCRIPT.pkt|DIR...");
    return input;
}

struct Tally {
    std::array<usize, 5> counts{}; // indexed by Outcome

    usize& operator[](Outcome outcome) { return counts[static_cast<usize>(outcome)]; }
    usize at(Outcome outcome) const { return counts[static_cast<usize>(outcome)]; }
    usize applicable() const
    {
        return at(Outcome::passed) + at(Outcome::diverged) + at(Outcome::failed) +
               at(Outcome::error);
    }
};

std::string json_escape(const std::string& text)
{
    std::string out;
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buffer[8];
            std::snprintf(buffer, sizeof(buffer), "\\u%04x", c);
            out += buffer;
        } else {
            out += c;
        }
    }
    return out;
}

void print_result(const pkt::ScriptResult& result, bool quiet)
{
    bool bad = result.outcome == Outcome::failed || result.outcome == Outcome::error;
    if (quiet && !bad)
        return;
    std::printf("%-14s %s", std::string(pkt::to_string(result.outcome)).c_str(),
                result.path.c_str());
    if (result.line > 0)
        std::printf(":%d", result.line);
    if (!result.message.empty())
        std::printf(": %s", result.message.c_str());
    std::printf("\n");
    for (const std::string& line : result.log)
        std::printf("    %s\n", line.c_str());
    if (!quiet)
        for (const std::string& divergence : result.divergences)
            std::printf("    divergence: %s\n", divergence.c_str());
}

void write_json(const std::string& path, const std::map<std::string, Tally>& folders,
                const std::vector<std::pair<std::string, pkt::ScriptResult>>& results,
                double wall_seconds)
{
    std::ofstream out(path);
    if (!out)
        throw CommandError("cannot write '" + path + "'");
    out << "{\n  \"wall_seconds\": " << wall_seconds << ",\n  \"folders\": {";
    bool first = true;
    for (const auto& [folder, tally] : folders) {
        out << (first ? "\n" : ",\n") << "    \"" << json_escape(folder) << "\": {";
        for (usize i = 0; i < tally.counts.size(); ++i) {
            std::string key(pkt::to_string(static_cast<Outcome>(i)));
            std::replace(key.begin(), key.end(), ' ', '_');
            out << (i ? ", " : "") << "\"" << key << "\": " << tally.counts[i];
        }
        out << "}";
        first = false;
    }
    out << "\n  },\n  \"scripts\": [";
    first = true;
    for (const auto& [folder, result] : results) {
        std::string outcome(pkt::to_string(result.outcome));
        std::replace(outcome.begin(), outcome.end(), ' ', '_');
        out << (first ? "\n" : ",\n") << "    {\"folder\": \"" << json_escape(folder)
            << "\", \"path\": \"" << json_escape(result.path) << "\", \"outcome\": \""
            << outcome << "\", \"line\": " << result.line << ", \"message\": \""
            << json_escape(result.message) << "\", \"divergences\": "
            << result.divergences.size() << ", \"virtual_seconds\": "
            << result.virtual_seconds << "}";
        first = false;
    }
    out << "\n  ]\n}\n";
    if (!out)
        throw CommandError("writing '" + path + "' failed");
}

struct Divergence {
    std::string glob;
    std::string text;
    std::string reason;
};

std::string trimmed(const std::string& text)
{
    usize begin = text.find_first_not_of(" \t");
    usize end = text.find_last_not_of(" \t\r");
    return begin == std::string::npos ? std::string() : text.substr(begin, end - begin + 1);
}

std::vector<Divergence> read_divergences(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
        throw CommandError("cannot read divergences '" + path + "'");
    std::vector<Divergence> out;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (trimmed(line).empty() || trimmed(line)[0] == '#')
            continue;
        usize first = line.find('|');
        usize second = first == std::string::npos ? first : line.find('|', first + 1);
        if (second == std::string::npos)
            throw CommandError(path + ":" + std::to_string(number) +
                               ": expected 'GLOB | TEXT | REASON'");
        Divergence d{trimmed(line.substr(0, first)),
                     trimmed(line.substr(first + 1, second - first - 1)),
                     trimmed(line.substr(second + 1))};
        if (d.glob.empty() || d.text.empty() || d.reason.empty())
            throw CommandError(path + ":" + std::to_string(number) +
                               ": GLOB, TEXT and REASON must not be empty");
        out.push_back(std::move(d));
    }
    return out;
}

// A failure the divergence list documents becomes "diverged", with the reason.
void apply_divergences(pkt::ScriptResult& result, const std::vector<Divergence>& divergences)
{
    if (result.outcome != Outcome::failed)
        return;
    for (const Divergence& d : divergences) {
        std::string pattern = "*" + d.glob;
        if (fnmatch(pattern.c_str(), result.path.c_str(), 0) != 0 ||
            result.message.find(d.text) == std::string::npos)
            continue;
        result.outcome = Outcome::diverged;
        result.divergences.push_back("line " + std::to_string(result.line) +
                                     ": documented: " + d.reason);
        result.message = "documented divergence: " + d.reason;
        return;
    }
}

struct Baseline {
    usize ok = 0;     // passed + diverged
    usize passed = 0;
};

// "FOLDER OK PASSED" lines; '#' starts a comment.
std::map<std::string, Baseline> read_baseline(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
        throw CommandError("cannot read baseline '" + path + "'");
    std::map<std::string, Baseline> baseline;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        line = line.substr(0, line.find('#'));
        std::istringstream words(line);
        std::string folder;
        long long ok = -1;
        long long passed = -1;
        if (!(words >> folder))
            continue;
        if (!(words >> ok >> passed) || ok < 0 || passed < 0 || passed > ok)
            throw CommandError(path + ":" + std::to_string(number) +
                               ": expected 'FOLDER OK PASSED' (counts, PASSED <= OK)");
        baseline[folder] = {static_cast<usize>(ok), static_cast<usize>(passed)};
    }
    return baseline;
}

} // namespace

int cmd_pkt(Args args)
{
    if (!args.empty() && is_help(args[0])) {
        std::fputs(pkt_usage, stdout);
        return exit_ok;
    }
    PktInput input = parse_args(args);
    std::map<std::string, Baseline> baseline;
    if (!input.baseline_path.empty())
        baseline = read_baseline(input.baseline_path);
    std::vector<Divergence> divergences;
    if (!input.divergences_path.empty())
        divergences = read_divergences(input.divergences_path);
    auto start = std::chrono::steady_clock::now();
    std::map<std::string, Tally> folders;
    std::vector<std::pair<std::string, pkt::ScriptResult>> results;
    for (const auto& [folder, path] : input.scripts) {
        pkt::ScriptResult result;
        try {
            pkt::RunOptions options = input.options;
            if (!input.pcap_dir.empty())
                options.pcap_path = (fs::path(input.pcap_dir) /
                                     fs::path(path).filename().replace_extension(".pcap"))
                                        .string();
            result = pkt::run_script_file(path, options);
        } catch (const std::exception& error) {
            result.path = path;
            result.outcome = Outcome::error;
            result.message = std::string("interpreter exception: ") + error.what();
        }
        apply_divergences(result, divergences);
        print_result(result, input.quiet);
        folders[folder][result.outcome]++;
        results.emplace_back(folder, std::move(result));
    }
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::printf("\n%-22s %6s %8s %6s %6s %6s %9s\n", "folder", "passed", "diverged", "failed",
                "n/a", "error", "pass rate");
    Tally total;
    for (const auto& [folder, tally] : folders) {
        usize ok = tally.at(Outcome::passed) + tally.at(Outcome::diverged);
        char rate[16] = "-";
        if (tally.applicable())
            std::snprintf(rate, sizeof(rate), "%.1f%%",
                          100.0 * static_cast<double>(ok) /
                              static_cast<double>(tally.applicable()));
        std::printf("%-22s %6zu %8zu %6zu %6zu %6zu %9s\n", folder.c_str(),
                    tally.at(Outcome::passed), tally.at(Outcome::diverged),
                    tally.at(Outcome::failed), tally.at(Outcome::not_applicable),
                    tally.at(Outcome::error), rate);
        for (usize i = 0; i < total.counts.size(); ++i)
            total.counts[i] += tally.counts[i];
    }
    std::printf("%zu scripts in %.2f s wall time; pass rate = (passed + diverged) / "
                "(all - not applicable)\n",
                results.size(), wall);
    if (!input.json_path.empty())
        write_json(input.json_path, folders, results, wall);

    if (!input.baseline_path.empty()) {
        bool below = false;
        for (const auto& [folder, expected] : baseline) {
            usize passed = folders[folder].at(Outcome::passed);
            usize ok = passed + folders[folder].at(Outcome::diverged);
            if (ok < expected.ok || passed < expected.passed) {
                std::printf("baseline: %s has %zu ok (%zu passed), fewer than the recorded "
                            "%zu (%zu)\n",
                            folder.c_str(), ok, passed, expected.ok, expected.passed);
                below = true;
            } else if (ok > expected.ok || passed > expected.passed) {
                std::printf("baseline: %s has %zu ok (%zu passed), more than the recorded "
                            "%zu (%zu): raise the baseline\n",
                            folder.c_str(), ok, passed, expected.ok, expected.passed);
            }
        }
        for (const auto& [folder, tally] : folders)
            if (!baseline.count(folder)) {
                std::printf("baseline: folder %s is not in %s\n", folder.c_str(),
                            input.baseline_path.c_str());
                below = true;
            }
        if (!below)
            std::printf("baseline: every folder at or above %s\n", input.baseline_path.c_str());
        return below ? exit_check_failed : exit_ok;
    }
    bool bad = total.at(Outcome::failed) > 0 || total.at(Outcome::error) > 0;
    return bad ? exit_check_failed : exit_ok;
}

} // namespace gantry::harness
