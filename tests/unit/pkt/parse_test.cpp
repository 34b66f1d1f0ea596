// The packetdrill script parser: times, packets, options, system calls,
// commands, #ifdef blocks, and clean line-numbered errors for what it does
// not support.
#include "script.hpp"

#include <catch2/catch.hpp>

using namespace gantry::pkt;

namespace {

Script parse(const std::string& text, std::vector<std::string> defines = {"STANDARD"})
{
    return parse_script(text, defines);
}

int error_line(const std::string& text)
{
    try {
        parse(text);
    } catch (const ParseError& error) {
        return error.line();
    }
    return -1;
}

std::string error_text(const std::string& text)
{
    try {
        parse(text);
    } catch (const ParseError& error) {
        return error.what();
    }
    return "";
}

} // namespace

TEST_CASE("pkt parser: header options and times", "[pkt]")
{
    Script script = parse("--ip_version=ipv4\n--tolerance_usecs=75000\n"
                          " 0.00 close(3) = 0\n+0.1 close(4) = 0\n* > S 0:0(0) <...>\n"
                          "1.00...6.00 connect(3, ..., ...) = -1 ETIMEDOUT "
                          "(Operation timed out)\n");
    REQUIRE(script.options.size() == 2);
    CHECK(script.options[0].name == "ip_version");
    CHECK(script.options[0].value == "ipv4");
    CHECK(script.options[1].line == 2);
    REQUIRE(script.events.size() == 4);
    CHECK(script.events[0].time.kind == TimeKind::absolute);
    CHECK(script.events[0].line == 3);
    CHECK(script.events[1].time.kind == TimeKind::relative);
    CHECK(script.events[1].time.usecs == 100'000);
    CHECK(script.events[2].time.kind == TimeKind::any);
    const EventTime& blocking = script.events[3].time;
    CHECK(blocking.usecs == 1'000'000);
    REQUIRE(blocking.end.has_value());
    CHECK(blocking.end->second == 6'000'000);
    const auto& call = std::get<SyscallSpec>(script.events[3].body);
    CHECK(call.name == "connect");
    CHECK(call.args.size() == 3);
    CHECK(call.args[1].kind == Expr::Kind::ellipsis);
    CHECK(call.result.value == -1);
    CHECK(call.errno_name == "ETIMEDOUT");
}

TEST_CASE("pkt parser: TCP packets with options", "[pkt]")
{
    Script script = parse(
        "+0 > S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 7>\n"
        "+0 < . 1:11(10) ack 1 win 257 <nop,nop,sack 16:32 40:48>\n"
        "+0 > F. 1:1(0) ack 2\n");
    REQUIRE(script.events.size() == 3);
    const auto& synack = std::get<PacketSpec>(script.events[0].body);
    CHECK(synack.direction == Direction::outbound);
    CHECK(synack.flags == "S.");
    CHECK(synack.ack == 1u);
    CHECK(synack.window == 65535u);
    REQUIRE(synack.options.has_value());
    REQUIRE(synack.options->size() == 5);
    CHECK((*synack.options)[0].kind == TcpOptionSpec::Kind::mss);
    CHECK((*synack.options)[0].value == 1460);
    CHECK((*synack.options)[2].value == 6);
    CHECK((*synack.options)[4].ts_val == 100);
    CHECK((*synack.options)[4].ts_ecr == 7);
    const auto& data = std::get<PacketSpec>(script.events[1].body);
    CHECK(data.direction == Direction::inbound);
    CHECK(data.seq_start == 1);
    CHECK(data.length == 10);
    REQUIRE(data.options->size() == 3);
    CHECK((*data.options)[2].blocks.size() == 2);
    CHECK((*data.options)[2].blocks[1] == std::make_pair(40u, 48u));
    const auto& fin = std::get<PacketSpec>(script.events[2].body);
    CHECK_FALSE(fin.window.has_value());
    CHECK_FALSE(fin.options.has_value());
    CHECK(describe(synack) ==
          "> S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 7>");
}

TEST_CASE("pkt parser: system call arguments, commands, ICMP", "[pkt]")
{
    Script script = parse("+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0\n"
                          "+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0\n"
                          "+0 fcntl(3, F_GETFL) = 0x02 (flags O_RDWR)\n"
                          "+0 `sysctl -w net.inet.tcp.sack.enable=1`\n"
                          "+0 < icmp unreachable port_unreachable [0:0(0)]\n"
                          "+0 %{ assert tcpi_state == 1 }%\n");
    REQUIRE(script.events.size() == 6);
    const auto& setfl = std::get<SyscallSpec>(script.events[0].body);
    CHECK(setfl.args[2].kind == Expr::Kind::bit_or);
    CHECK(setfl.args[2].items.size() == 2);
    const auto& error = std::get<SyscallSpec>(script.events[1].body);
    CHECK(error.args[3].kind == Expr::Kind::list);
    CHECK(error.args[3].items[0].text == "ECONNRESET");
    CHECK(std::get<SyscallSpec>(script.events[2].body).result.value == 2);
    CHECK(std::get<CommandSpec>(script.events[3].body).text ==
          "sysctl -w net.inet.tcp.sack.enable=1");
    const auto& icmp = std::get<PacketSpec>(script.events[4].body);
    REQUIRE(icmp.icmp.has_value());
    CHECK(icmp.icmp->type == "unreachable");
    CHECK(icmp.icmp->code == "port_unreachable");
    CHECK(std::holds_alternative<CodeSpec>(script.events[5].body));
}

TEST_CASE("pkt parser: #ifdef keeps the defined blocks only", "[pkt]")
{
    std::string text = "#ifdef STANDARD\n+0 close(3) = 0\n#else\n+0 close(4) = 0\n#endif\n"
                       "#ifdef FreeBSD\n+0 close(5) = 0\n#endif\n";
    Script standard = parse(text);
    REQUIRE(standard.events.size() == 1);
    CHECK(standard.events[0].line == 2);
    CHECK(std::get<SyscallSpec>(standard.events[0].body).args[0].value == 3);
    Script freebsd = parse(text, {"FreeBSD"});
    REQUIRE(freebsd.events.size() == 2);
    CHECK(std::get<SyscallSpec>(freebsd.events[0].body).args[0].value == 4);
    CHECK(freebsd.events[1].line == 7);
}

TEST_CASE("pkt parser: errors name the line and what is wrong", "[pkt]")
{
    CHECK(error_line("+0 close(3) = 0\n+0 > S 0:1(0) win 1\n") == 2);
    CHECK(error_text("+0 > S 0:1(0)") == "sequence range 0:1 does not span 0 bytes");
    CHECK(error_line("\n\n+0 > Q 0:0(0)\n") == 3);
    CHECK(error_text("+0 > S 0:0(0) <FO 1234>") == "unsupported TCP option 'FO'");
    CHECK(error_text("+0 > S 0:0(0) <md5 abc>") ==
          "expected 'valid' or 'invalid' after 'md5', found 'abc'");
    CHECK(error_text("+0 < (ttl 300) S 0:0(0) win 1") ==
          "ttl 300 does not fit the 8-bit header field");
    CHECK(error_text("+0 < (hops 4) S 0:0(0) win 1").find("unknown IP header field 'hops'") !=
          std::string::npos);
    CHECK(error_text("+0 < (ttl 4) S 0:0(0) win 1 / udp").find("UDP encapsulation") !=
          std::string::npos);
    CHECK(error_line("+0 close(3)\n") == 1);
    CHECK(error_line("#ifdef X\n+0 close(3) = 0\n") == 1);
    CHECK(error_line("#endif\n") == 1);
    CHECK(error_line("#define X\n") == 1);
    CHECK(error_line("+0 `sysctl\n\n") == 1);
    CHECK(error_line("+0 close(3) = 0 /* open\n") == 1);
    CHECK(error_text("close(3) = 0").find("expected an event time") == 0);
    CHECK(error_line("+0 > S 0:0(0) win 99999999999\n") == 1);
    CHECK(error_line("+0 > S 0:0(0) <sack>\n") == 1);
    CHECK(error_line("+0 $\n") == 1);
}

TEST_CASE("pkt parser: IP header fields and the md5 option parse (the runner says n/a)", "[pkt]")
{
    Script script = parse("+0 > (tos 0x20) (ttl 4) S. 0:0(0) ack 1 win 1 <nop,nop,md5 valid>\n");
    REQUIRE(script.events.size() == 1);
    const auto& packet = std::get<PacketSpec>(script.events[0].body);
    CHECK(packet.ip_fields == std::vector<std::string>{"tos 32", "ttl 4"});
    REQUIRE(packet.options);
    REQUIRE(packet.options->size() == 3);
    CHECK((*packet.options)[2].kind == TcpOptionSpec::Kind::md5);
    CHECK((*packet.options)[2].value == 1);
    CHECK(describe((*packet.options)[2]) == "md5 valid");
}
