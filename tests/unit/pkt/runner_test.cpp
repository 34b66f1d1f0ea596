// The interpreter end to end against a Gantry node in the simulator: a script
// that matches passes, one that does not fails at its line with expected and
// actual, scripts that do not apply say why, and runs are deterministic.
#include "runner.hpp"

#include <catch2/catch.hpp>

using namespace gantry::pkt;

namespace {

const std::string handshake = R"(--tolerance_usecs=0
 0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0.000 bind(3, ..., ...) = 0
+0.000 listen(3, 1) = 0
+0.000 < S 0:0(0) win 32767 <mss 1460>
+0.000 > S. 0:0(0) ack 1 win 65535 <mss 1460>
+0.100 < . 1:1(0) ack 1 win 32767
+0.000 accept(3, ..., ...) = 4
+0.000 < P. 1:11(10) ack 1 win 32767
+0.000 read(4, ..., 100) = 10
+0.000 close(4) = 0
+0.000 > F. 1:1(0) ack 11 <...>
)";

ScriptResult run(const std::string& text, const std::string& path = "test.pkt")
{
    return run_script(path, text, RunOptions{});
}

} // namespace

TEST_CASE("pkt runner: a handshake, data and close pass", "[pkt]")
{
    ScriptResult result = run(handshake);
    INFO(result.message);
    CHECK(result.outcome == Outcome::passed);
    CHECK(result.divergences.empty());
    CHECK(result.virtual_seconds == Approx(0.2).margin(0.001)); // boot 0.1 s + script 0.1 s
}

TEST_CASE("pkt runner: a wrong expectation fails at its line", "[pkt]")
{
    std::string text = handshake;
    text.replace(text.find("ack 1 win 65535"), 15, "ack 1 win 1234");
    ScriptResult result = run(text);
    CHECK(result.outcome == Outcome::failed);
    CHECK(result.line == 6);
    CHECK(result.message.find("window 1234 != 65535") != std::string::npos);

    std::string late = handshake;
    late.replace(late.find("+0.000 > S."), 11, "+0.050 > S.");
    ScriptResult timing = run(late);
    CHECK(timing.outcome == Outcome::failed);
    CHECK(timing.message.find("time 0.050000 s != 0.000000 s") != std::string::npos);
}

TEST_CASE("pkt runner: a call that blocks when the script says it returns fails", "[pkt]")
{
    ScriptResult result = run("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
                              "+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n"
                              "+0 accept(3, ..., ...) = 4\n");
    CHECK(result.outcome == Outcome::failed);
    CHECK(result.line == 4);
    CHECK(result.message.find("accept() blocked") != std::string::npos);
}

TEST_CASE("pkt runner: what does not apply says why; what does not parse is an error",
          "[pkt]")
{
    ScriptResult v6 = run("--ip_version=ipv6\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n");
    CHECK(v6.outcome == Outcome::not_applicable);
    CHECK(v6.message.find("IPv6") != std::string::npos);
    ScriptResult sysctl = run("0 `sysctl -w net.inet.tcp.sack.enable=0`\n");
    CHECK(sysctl.outcome == Outcome::not_applicable);
    CHECK(sysctl.line == 1);
    ScriptResult call = run("0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3\n");
    CHECK(call.outcome == Outcome::not_applicable);
    ScriptResult broken =
        run("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 > S 0:0(0) <md5 x>\n");
    CHECK(broken.outcome == Outcome::error);
    CHECK(broken.line == 2);
}

TEST_CASE("pkt runner: the same script gives the same result twice", "[pkt]")
{
    std::string text = handshake;
    text.replace(text.find("<...>"), 5, "<nop>");
    ScriptResult a = run(text);
    ScriptResult b = run(text);
    CHECK(a.outcome == b.outcome);
    CHECK(a.message == b.message);
    CHECK(a.virtual_seconds == b.virtual_seconds);
}
