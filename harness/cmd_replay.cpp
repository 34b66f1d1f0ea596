// `gantry replay CAPTURE --app APP`: replays the client side of a recorded
// capture against an app in the simulator and compares the answers
// (harness/replay/, docs/replay.md).
#include "command.hpp"
#include "replay/replay.hpp"
#include "scenario.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>

namespace gantry::harness {

namespace {

using namespace replay;

const char* replay_usage = R"(usage: gantry replay CAPTURE --app APP [options] [-- APP-ARGS...]

Feeds the client side of CAPTURE (pcap or pcapng; Ethernet or Linux cooked
SLL/SLL2) to a node running APP, with the recorded server's address, and
compares the node's answers with the recorded server's: ARP and ICMP exactly
(but for free identifiers), UDP by payload, TCP by byte stream and SYN/FIN/RST
sequence (ISN and timestamps normalised). The node is a simulated one, or the
same app as a hosted process or a VM (a differential run).

options:
  --app NAME            the app to run as the server (required; as in build/bin/)
  --target T            sim (default: the simulator, virtual time) | hosted
                        (build/bin/APP on --net socket) | vm (build/images/APP.elf
                        under QEMU on -netdev socket); the live targets run in
                        real time over a UDP cable on 127.0.0.1, no root needed.
                        A list (sim,vm) or all: a differential run, one report
                        per target and a verdict on whether they agree
  --filter BPF          select frames with a tcpdump filter expression
  --server IP           the recorded server (default: who got the first TCP SYN,
                        echo request or UDP datagram)
  --client IP           replay only this client's traffic
  --node-ip IP          run the node at IP instead of the recorded server's
                        address (client frames are readdressed, answers mapped
                        back before the comparison)
  --prefix N            the node's prefix length (default 24)
  --timing MODE         recorded (default) | scale=X (recorded gaps times X) |
                        asap (each frame once the answers before it are back)
  --wait DURATION       how long a frame waits for the recorded answers that
                        preceded it (default 1s, virtual time)
  --settle DURATION     run on after the last client frame (default 2s)
  --seed N              the simulator's seed (default 1)
  --mtu N               the link's MTU (default 1500)
  --memory SIZE         the node's RAM (default 16M)
  --report FILE.json    also write the report as JSON
  --pcap FILE           capture the replay's own link
  --trace FILE          write the run's trace (gantry-viz FILE)
  --quiet               print only the result line and the divergence
live targets (hosted, vm):
  --timeout S           kill the app and end the run after S seconds (default 60)
  --ready TEXT          the app serves once it printed a line containing TEXT
                        (default "serving"; waited for up to 20 s)
  --accel A             vm: tcg (default) or kvm
  --image FILE          vm: boot this image instead of build/images/APP.elf
  --bin-dir DIR         hosted: take APP from DIR instead of build/bin
exit status: 0 the node's answers match, 1 they diverge (the first divergence
is printed), 2 bad input (unreadable, corrupt or unsupported capture, bad option)
)";

std::string_view value_of(Args args, usize& i)
{
    if (i + 1 >= args.size())
        throw CommandError(std::string(args[i]) + " needs a value", "see `gantry replay --help`");
    return args[++i];
}

u64 parse_number(std::string_view text, const char* what)
{
    u64 value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size())
        throw CommandError(std::string(what) + ": '" + std::string(text) + "' is not a number");
    return value;
}

net::Ipv4Address parse_address(std::string_view text, const char* what)
{
    auto address = net::Ipv4Address::parse(text);
    if (!address)
        throw CommandError(std::string(what) + ": '" + std::string(text) +
                           "' is not an IPv4 address");
    return *address;
}

TimeNs parse_time(std::string_view text, const char* what)
{
    auto duration = parse_duration(text);
    if (!duration)
        throw CommandError(std::string(what) + ": '" + std::string(text) + "' is not a duration",
                           "write e.g. 500ms or 2s");
    return *duration;
}

void parse_timing(std::string_view text, ReplayOptions& options)
{
    if (text == "recorded") {
        options.timing = Timing::recorded;
        return;
    }
    if (text == "asap") {
        options.timing = Timing::asap;
        return;
    }
    if (text.starts_with("scale=")) {
        std::string number(text.substr(6));
        char* end = nullptr;
        double scale = std::strtod(number.c_str(), &end);
        if (!number.empty() && end && *end == '\0' && scale > 0 && scale <= 1e6) {
            options.timing = Timing::recorded;
            options.scale = scale;
            return;
        }
    }
    throw CommandError("--timing: '" + std::string(text) + "' is not a timing mode",
                       "use recorded, asap or scale=X with X > 0 (e.g. scale=0.5)");
}

TargetKind parse_target(std::string_view text)
{
    if (text == "sim")
        return TargetKind::sim;
    if (text == "hosted")
        return TargetKind::hosted;
    if (text == "vm")
        return TargetKind::vm;
    throw CommandError("--target: '" + std::string(text) + "' is not a target",
                       "use sim, hosted, vm, a list like sim,vm, or all");
}

std::string parse_accel(std::string_view text)
{
    if (text != "tcg" && text != "kvm")
        throw CommandError("--accel: '" + std::string(text) + "' is not tcg or kvm");
    return std::string(text);
}

// "all" or a comma-separated list: sim,hosted,vm.
std::vector<TargetKind> parse_targets(std::string_view text)
{
    if (text == "all")
        return {TargetKind::sim, TargetKind::hosted, TargetKind::vm};
    std::vector<TargetKind> targets;
    while (!text.empty()) {
        usize comma = text.find(',');
        TargetKind kind = parse_target(text.substr(0, comma));
        if (std::find(targets.begin(), targets.end(), kind) != targets.end())
            throw CommandError("--target: '" + std::string(target_name(kind)) + "' twice");
        targets.push_back(kind);
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    }
    return targets;
}

struct CliOptions {
    std::vector<TargetKind> targets{TargetKind::sim};
    std::string capture;
    std::string filter;
    std::string report;
    bool quiet = false;
    ReplayOptions replay;
};

bool parse_option(Args args, usize& i, CliOptions& cli)
{
    std::string_view arg = args[i];
    ReplayOptions& o = cli.replay;
    if (arg == "--app") o.app = value_of(args, i);
    else if (arg == "--filter") cli.filter = value_of(args, i);
    else if (arg == "--server") o.server = parse_address(value_of(args, i), "--server");
    else if (arg == "--client") o.client = parse_address(value_of(args, i), "--client");
    else if (arg == "--node-ip") o.node_ip = parse_address(value_of(args, i), "--node-ip");
    else if (arg == "--timing") parse_timing(value_of(args, i), o);
    else if (arg == "--wait") o.wait_ns = parse_time(value_of(args, i), "--wait");
    else if (arg == "--settle") o.settle_ns = parse_time(value_of(args, i), "--settle");
    else if (arg == "--seed") o.seed = parse_number(value_of(args, i), "--seed");
    else if (arg == "--report") cli.report = value_of(args, i);
    else if (arg == "--pcap") o.pcap_path = value_of(args, i);
    else if (arg == "--trace") o.trace_path = value_of(args, i);
    else if (arg == "--quiet") cli.quiet = true;
    else if (arg == "--target") cli.targets = parse_targets(value_of(args, i));
    else if (arg == "--ready") o.ready_text = value_of(args, i);
    else if (arg == "--accel") o.accel = parse_accel(value_of(args, i));
    else if (arg == "--image") o.image = value_of(args, i);
    else if (arg == "--bin-dir") o.bin_dir = value_of(args, i);
    else return false;
    return true;
}

void parse_sized_option(Args args, usize& i, CliOptions& cli)
{
    std::string_view arg = args[i];
    ReplayOptions& o = cli.replay;
    if (arg == "--prefix") {
        u64 prefix = parse_number(value_of(args, i), "--prefix");
        if (prefix < 1 || prefix > 30)
            throw CommandError("--prefix: must be 1..30");
        o.prefix = static_cast<u8>(prefix);
    } else if (arg == "--mtu") {
        o.mtu = parse_number(value_of(args, i), "--mtu");
        if (o.mtu < 576 || o.mtu > 9000)
            throw CommandError("--mtu: must be 576..9000");
    } else if (arg == "--timeout") {
        u64 seconds = parse_number(value_of(args, i), "--timeout");
        if (seconds < 1 || seconds > 86400)
            throw CommandError("--timeout: a number of seconds, 1..86400");
        o.timeout_s = static_cast<int>(seconds);
    } else if (arg == "--memory") {
        auto bytes = parse_bytes(value_of(args, i));
        if (!bytes || *bytes < 1024 * 1024)
            throw CommandError("--memory: a size of at least 1M, e.g. 16M");
        o.memory_bytes = *bytes;
    } else {
        throw CommandError("unknown option '" + std::string(arg) + "'",
                           "see `gantry replay --help`");
    }
}

CliOptions parse_args(Args args)
{
    CliOptions cli;
    for (usize i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        if (arg == "--") {
            for (++i; i < args.size(); ++i)
                cli.replay.app_args.emplace_back(args[i]);
            break;
        }
        if (!arg.starts_with("-")) {
            if (!cli.capture.empty())
                throw CommandError("more than one capture given ('" + cli.capture + "', '" +
                                   std::string(arg) + "')",
                                   "replay one capture per run; app arguments go after --");
            cli.capture = arg;
            continue;
        }
        if (!parse_option(args, i, cli))
            parse_sized_option(args, i, cli);
    }
    if (cli.capture.empty())
        throw CommandError("no capture given", "gantry replay CAPTURE.pcap --app APP");
    if (cli.replay.app.empty())
        throw CommandError("--app is required", "e.g. gantry replay " + cli.capture + " --app echo");
    return cli;
}

} // namespace

int cmd_replay(Args args)
{
    if (!args.empty() && is_help(args[0])) {
        std::fputs(replay_usage, stdout);
        return exit_ok;
    }
    CliOptions cli = parse_args(args);
    std::vector<ReplayResult> results;
    try {
        Capture capture = read_capture(cli.capture, cli.filter);
        for (TargetKind target : cli.targets) {
            cli.replay.target = target;
            results.push_back(run_replay(capture, cli.replay));
            std::string text = text_report(results.back());
            if (cli.quiet && results.back().matched())
                text = "result: MATCH\n";
            if (cli.targets.size() > 1)
                text = "== " + std::string(target_name(target)) + "\n" + text;
            std::fputs(text.c_str(), stdout);
            std::fflush(stdout);
            if (live_run_interrupted())
                break;
        }
    } catch (const CaptureError& error) {
        throw CommandError(error.what());
    } catch (const std::invalid_argument& error) {
        throw CommandError(error.what(), "`gantry replay --help`; apps are listed by gantry sim");
    }
    bool differential = results.size() > 1;
    if (differential)
        std::fputs(differential_text(results).c_str(), stdout);
    if (!cli.report.empty()) {
        std::ofstream out(cli.report, std::ios::binary);
        out << (differential ? differential_json(results) : json_report(results.front()));
        if (!out)
            throw CommandError("cannot write the report to '" + cli.report + "'");
    }
    bool all_match = std::all_of(results.begin(), results.end(),
                                 [](const ReplayResult& r) { return r.matched(); });
    return all_match ? exit_ok : exit_check_failed;
}

} // namespace gantry::harness
