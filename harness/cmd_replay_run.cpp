// `gantry replay-run FILE`: re-executes a run recorded with `--record FILE`
// (harness/replay/rerun.hpp, docs/replay.md "Record and re-run").
#include "command.hpp"
#include "replay/rerun.hpp"

#include <cstdio>

namespace gantry::harness {

namespace {

const char* replay_run_usage = R"(usage: gantry replay-run RECORDING [--trace FILE] [--quiet]

Re-executes a run recorded by a hosted app's --record RECORDING: the same app
(from this build) boots and gets, call for call, the recorded clock readings,
entropy, received frames and Ctrl-Cs; every frame it sends is checked against
the recording. The app's console output is printed as it was.

options:
  --trace FILE   write the re-run's trace (the recording must have been made
                 with --trace; the two traces are then identical)
  --quiet        print only the summary line
exit status: 0 the whole run re-executed identically, 1 it diverged (the
first call that did not fit is named), 2 bad input (unreadable recording)
)";

} // namespace

int cmd_replay_run(Args args)
{
    replay::RerunOptions options;
    bool quiet = false;
    for (usize i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        if (is_help(arg)) {
            std::fputs(replay_run_usage, stdout);
            return exit_ok;
        }
        if (arg == "--trace" && i + 1 < args.size())
            options.trace_path = args[++i];
        else if (arg == "--quiet")
            quiet = true;
        else if (!arg.starts_with("-") && options.recording_path.empty())
            options.recording_path = arg;
        else
            throw CommandError("unexpected argument '" + std::string(arg) + "'",
                               "see `gantry replay-run --help`");
    }
    if (options.recording_path.empty())
        throw CommandError("no recording given", "gantry replay-run RUN.grec");
    // --quiet: the app's console goes nowhere, the summary still to stderr.
    if (quiet && !std::freopen("/dev/null", "w", stdout))
        throw CommandError("cannot silence stdout");
    replay::RerunResult result;
    try {
        result = replay::rerun(options);
    } catch (const replay::RerunError& error) {
        throw CommandError(error.what());
    }
    std::fprintf(stderr,
                 "replay-run: %s: %llu records, %llu polls, %llu frames in, %llu out; ",
                 result.app.c_str(), static_cast<unsigned long long>(result.records),
                 static_cast<unsigned long long>(result.polls),
                 static_cast<unsigned long long>(result.frames_in),
                 static_cast<unsigned long long>(result.frames_out));
    if (result.diverged) {
        std::fprintf(stderr, "DIVERGED at %s\n", result.divergence.c_str());
        return exit_check_failed;
    }
    if (result.truncated) {
        std::fprintf(stderr, "the recording ends without its end record (the recorded process "
                             "was killed?): re-executed up to there\n");
        return exit_ok;
    }
    std::fprintf(stderr, "identical to the end (exit code %d)\n", result.exit_code);
    return exit_ok;
}

} // namespace gantry::harness
