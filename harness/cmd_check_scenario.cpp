// `gantry check-scenario FILE...`: validates scenario files without running them.
#include "command.hpp"
#include "scenario.hpp"

#include <cstdio>
#include <string>

namespace gantry::harness {

int cmd_check_scenario(Args args)
{
    if (args.empty() || is_help(args[0])) {
        std::printf("usage: gantry check-scenario FILE...\n\n"
                    "Validates scenario files (docs/scenarios.md) without running them.\n"
                    "exit status: 0 all valid, 2 a file is invalid (file:line:column: why)\n");
        return args.empty() ? exit_bad_input : exit_ok;
    }
    int status = exit_ok;
    for (std::string_view path : args) {
        try {
            Scenario scenario = load_scenario_file(std::string(path));
            std::string extra;
            if (!scenario.chaos.empty())
                extra += ", " + std::to_string(scenario.chaos.size()) + " chaos block(s)";
            if (scenario.liveness.enabled)
                extra += ", liveness after " +
                         std::to_string(scenario.liveness.after_ns / ns_per_ms) + " ms";
            std::printf("%.*s: ok (%zu nodes, %zu faults, %zu checks%s)\n",
                        static_cast<int>(path.size()), path.data(), scenario.nodes.size(),
                        scenario.faults.size(), scenario.checks.size(), extra.c_str());
        } catch (const ScenarioError& error) {
            std::fprintf(stderr, "%s\n", error.what());
            status = exit_bad_input;
        }
    }
    return status;
}

} // namespace gantry::harness
