// `gantry`: the workbench's command line. Dispatches to one subcommand per file
// (cmd_*.cpp); add a command by adding its file and one line to `commands`.
#include "command.hpp"

#include <cstdio>
#include <exception>
#include <vector>

namespace gantry::harness {

namespace {

constexpr Command commands[] = {
    {"trace", "inspect trace files: dump, stats, export --chrome", cmd_trace},
    {"sim", "run a scenario in the simulator (one seed or a sweep)", cmd_sim},
    {"shrink", "minimise a failing seed's fault schedule", cmd_shrink},
    {"check-scenario", "validate scenario files without running them", cmd_check_scenario},
    {"boot", "boot an app's image under QEMU (KVM if it works, else TCG)", cmd_boot},
    {"mkimage", "build a read-only gantryfs disk image from a directory (or --list one)",
     cmd_mkimage},
    {"pkt", "run packetdrill scripts against Gantry's TCP (conformance)", cmd_pkt},
    {"replay", "replay a capture's client side against an app and compare", cmd_replay},
    {"replay-run", "re-execute a run recorded with a hosted app's --record", cmd_replay_run},
    {"simfuzz", "run random worlds of real apps in the simulator, with invariant checks",
     cmd_simfuzz},
};

void print_help()
{
    std::printf("usage: gantry COMMAND [ARGS...]\n\n"
                "Workbench for Gantry unikernels.\n\ncommands:\n");
    for (const Command& command : commands)
        std::printf("  %-16.*s %.*s\n", static_cast<int>(command.name.size()),
                    command.name.data(), static_cast<int>(command.summary.size()),
                    command.summary.data());
    std::printf("\n`gantry COMMAND --help` describes a command.\n"
                "exit status: 0 ok, 1 a check failed, 2 bad input or usage\n");
}

int run(Args args)
{
    if (args.empty())
        throw CommandError("no command given", "run `gantry --help` for the commands");
    if (is_help(args[0])) {
        print_help();
        return exit_ok;
    }
    for (const Command& command : commands)
        if (command.name == args[0])
            return command.run(args.subspan(1));
    throw CommandError("unknown command '" + std::string(args[0]) + "'",
                       "run `gantry --help` for the commands");
}

} // namespace

bool is_help(std::string_view arg)
{
    return arg == "--help" || arg == "-h" || arg == "help";
}

} // namespace gantry::harness

int main(int argc, char** argv)
{
    using namespace gantry::harness;
    std::vector<std::string_view> args(argv + 1, argv + argc);
    try {
        return run(args);
    } catch (const CommandError& error) {
        std::fflush(stdout);
        std::fprintf(stderr, "gantry: %s\n", error.what());
        if (!error.hint().empty())
            std::fprintf(stderr, "hint: %s\n", error.hint().c_str());
        return exit_bad_input;
    } catch (const std::exception& error) {
        std::fflush(stdout);
        std::fprintf(stderr, "gantry: %s\n", error.what());
        return exit_bad_input;
    }
}
