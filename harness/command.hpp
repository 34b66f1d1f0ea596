// The `gantry` tool's subcommands. main.cpp owns the table; each subcommand is
// a function in its own cmd_<name>.cpp. Exit codes follow docs: 0 success,
// 1 a check failed (sim, replay), 2 bad input or bad usage.
#pragma once

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace gantry::harness {

inline constexpr int exit_ok = 0;
inline constexpr int exit_check_failed = 1;
inline constexpr int exit_bad_input = 2;

// Thrown by a subcommand for bad usage or bad input; main prints it as
// "gantry: <message>" followed by "hint: <hint>" and exits with exit_bad_input.
class CommandError : public std::runtime_error {
public:
    CommandError(std::string message, std::string hint = {})
        : std::runtime_error(std::move(message)), m_hint(std::move(hint))
    {
    }
    const std::string& hint() const { return m_hint; }

private:
    std::string m_hint;
};

// Arguments after the subcommand's name.
using Args = std::span<const std::string_view>;

struct Command {
    std::string_view name;
    std::string_view summary; // one line for `gantry --help`
    int (*run)(Args args);
};

// One line per subcommand, defined in cmd_<name>.cpp.
int cmd_trace(Args args);
int cmd_check_scenario(Args args);
int cmd_sim(Args args);
int cmd_shrink(Args args);
int cmd_boot(Args args);
int cmd_mkimage(Args args);
int cmd_pkt(Args args);
int cmd_replay(Args args);
int cmd_replay_run(Args args);
int cmd_simfuzz(Args args);

bool is_help(std::string_view arg);

} // namespace gantry::harness
