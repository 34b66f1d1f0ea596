// The log's rate limit (docs/limits.md): a flood of lines is cut to
// lines_per_s per second of the kernel's clock, the dropped lines are counted
// and announced by the next line that passes, and 0 turns the limit off.
#include "test_platform.hpp"

#include <catch2/catch.hpp>

#include <gantry/kernel.hpp>

#include <string>

using namespace gantry;
using namespace gantry::testing;

namespace {

usize count_lines(const std::string& text, std::string_view needle)
{
    usize count = 0;
    for (usize at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
        count++;
    return count;
}

} // namespace

TEST_CASE("log lines beyond the rate limit are dropped, counted and announced", "[log]")
{
    KernelConfig config;
    config.log_lines_per_s = 100;
    TestKernel tk(config);
    Logger& log = tk.kernel->log();
    for (int i = 0; i < 1000; i++)
        log.info("flood {}", i);
    // A second's burst passes, the rest of the instant's flood does not.
    CHECK(count_lines(tk.platform.console(), "info: flood") == 100);
    CHECK(log.lines_suppressed() == 900);
    // Half a second later half a second's worth passes again, announced.
    tk.platform.advance(500 * ns_per_ms);
    for (int i = 0; i < 1000; i++)
        log.info("again {}", i);
    CHECK(count_lines(tk.platform.console(), "info: again") == 50);
    CHECK(count_lines(tk.platform.console(), "log: 900 lines dropped (at most 100 lines/s)") == 1);
    CHECK(log.lines_suppressed() == 1850);
}

TEST_CASE("a log rate limit of 0 lets every line through", "[log]")
{
    KernelConfig config;
    config.log_lines_per_s = 0;
    TestKernel tk(config);
    for (int i = 0; i < 5000; i++)
        tk.kernel->log().info("line {}", i);
    CHECK(count_lines(tk.platform.console(), "info: line") == 5000);
    CHECK(tk.kernel->log().lines_suppressed() == 0);
}

TEST_CASE("the default log rate limit is a second's burst of 1000 lines", "[log]")
{
    TestKernel tk(KernelConfig{});
    for (int i = 0; i < 1500; i++)
        tk.kernel->log().info("line {}", i);
    CHECK(count_lines(tk.platform.console(), "info: line") == 1000);
    CHECK(tk.kernel->log().lines_suppressed() == 500);
}
