// gantry-viz: loads a trace, then either renders it headless to a PNG or opens
// the interactive viewer. Bad input (usage, unreadable trace) exits 2 with a
// message saying where and what, never a crash.
#include "cli.hpp"

#include <gantry/viz/layout.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace gantry::viz {

namespace {

constexpr const char* usage_text =
    "usage: gantry-viz TRACE                       open the interactive viewer\n"
    "       gantry-viz --follow TRACE              ... and re-read records appended to TRACE\n"
    "       gantry-viz TRACE --png OUT.png [--view timeline|memory|network|tcp|all]\n"
    "                  [--from T] [--to T] [--at T] [--size WxH] [--layout-json FILE|-]\n"
    "                  [--protocol P[,P...]] [--connection [tcp:|udp:]IP:PORT-IP:PORT]\n"
    "--at: the time of the memory view's page map and heap classes (default: --to, or the end)\n"
    "--protocol: show only these in the network view: arp, icmp, udp, tcp, other\n"
    "--connection: show only this TCP/UDP conversation (either direction) in the network\n"
    "              view and the TCP rows, e.g. udp:10.0.0.2:49152-10.0.0.1:7\n"
    "              (both filters also apply to the window; c clears them there)\n"
    "times: 1.5s, 20ms, 300us, 40ns (a bare number is seconds)\n";

Size parse_size(std::string_view text)
{
    auto x = text.find('x');
    if (x == std::string_view::npos)
        throw UsageError("--size wants WxH, e.g. 1600x900");
    int w = std::atoi(std::string(text.substr(0, x)).c_str());
    int h = std::atoi(std::string(text.substr(x + 1)).c_str());
    if (w < 200 || h < 120 || w > 16384 || h > 16384)
        throw UsageError("--size must be between 200x120 and 16384x16384");
    return {w, h};
}

u8 parse_protocol_option(std::string_view text)
{
    std::string error;
    auto protocols = parse_protocols(text, error);
    if (!protocols)
        throw UsageError("--protocol: " + error);
    return *protocols;
}

NetConnection parse_connection_option(std::string_view text)
{
    std::string error;
    auto connection = parse_connection(text, error);
    if (!connection)
        throw UsageError("--connection: " + error);
    return *connection;
}

} // namespace

TimeNs parse_time(std::string_view text)
{
    std::string value(text);
    char* end = nullptr;
    double number = std::strtod(value.c_str(), &end);
    std::string_view unit(end);
    double scale = unit == "ns" ? 1 : unit == "us" ? 1e3 : unit == "ms" ? 1e6
                 : unit == "s" || unit.empty() ? 1e9 : -1;
    if (end == value.c_str() || scale < 0 || number < 0 || number * scale > 1.8e19)
        throw UsageError("bad time '" + value + "': use e.g. 1.5s, 20ms, 300us, 40ns");
    return static_cast<TimeNs>(number * scale);
}

CliOptions parse_cli(int argc, char** argv)
{
    CliOptions options;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        auto value = [&]() -> std::string_view {
            if (i + 1 >= argc)
                throw UsageError(std::string(arg) + " needs a value");
            return argv[++i];
        };
        if (arg == "--png")
            options.png = std::string(value());
        else if (arg == "--layout-json")
            options.layout_json = std::string(value());
        else if (arg == "--follow")
            options.follow = true;
        else if (arg == "--view") {
            auto view = parse_view(value());
            if (!view)
                throw UsageError("--view is one of timeline, memory, network, tcp, all");
            options.render.layout.view = *view;
        } else if (arg == "--from")
            options.render.from = parse_time(value());
        else if (arg == "--to")
            options.render.to = parse_time(value());
        else if (arg == "--at")
            options.render.layout.at = parse_time(value());
        else if (arg == "--size")
            options.render.size = parse_size(value());
        else if (arg == "--protocol")
            options.render.layout.net_filter.protocols = parse_protocol_option(value());
        else if (arg == "--connection")
            options.render.layout.net_filter.connection = parse_connection_option(value());
        else if (arg.starts_with("-") && arg.size() > 1)
            throw UsageError("unknown option " + std::string(arg));
        else if (options.trace.empty())
            options.trace = arg;
        else
            throw UsageError("one trace at a time (got '" + options.trace + "' and '" +
                             std::string(arg) + "')");
    }
    if (options.trace.empty())
        throw UsageError("no trace file given");
    if (options.render.from && options.render.to && *options.render.to <= *options.render.from)
        throw UsageError("--to must be later than --from");
    return options;
}

namespace {

void write_layout_json(const CliOptions& options, const TraceModel& model)
{
    Layout layout = compute_layout(model, options.render.size, png_window(model, options.render),
                                   options.render.layout);
    std::string json = layout_json(model, layout);
    if (*options.layout_json == "-") {
        std::fwrite(json.data(), 1, json.size(), stdout);
        return;
    }
    std::FILE* out = std::fopen(options.layout_json->c_str(), "w");
    if (out == nullptr || std::fwrite(json.data(), 1, json.size(), out) != json.size())
        throw std::runtime_error(*options.layout_json + ": cannot write: " + std::strerror(errno));
    std::fclose(out);
}

int run(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::fputs(usage_text, stdout);
            return 0;
        }
    CliOptions options = parse_cli(argc, argv);
    if (options.follow && !options.png && !options.layout_json) {
        // Whatever is there now (perhaps only a header), then what gets appended.
        auto follower = std::make_unique<TraceFollower>(options.trace);
        follower->poll();
        return run_interactive(options, {}, std::move(follower));
    }
    TraceModel model = load_trace_file(options.trace);
    if (model.malformed_records > 0)
        std::fprintf(stderr, "%s: warning: %llu records too short for their kind were skipped\n",
                     options.trace.c_str(),
                     static_cast<unsigned long long>(model.malformed_records));
    if (options.layout_json)
        write_layout_json(options, model);
    if (options.png) {
        export_png(model, options.render, *options.png);
        return 0;
    }
    if (options.layout_json)
        return 0;
    return run_interactive(options, std::move(model));
}

} // namespace

} // namespace gantry::viz

int main(int argc, char** argv)
{
    using namespace gantry::viz;
    try {
        return run(argc, argv);
    } catch (const UsageError& error) {
        std::fprintf(stderr, "gantry-viz: %s\n%s", error.what(), usage_text);
    } catch (const LoadError& error) {
        std::fprintf(stderr, "gantry-viz: %s\nhint: %s\n", error.to_string().c_str(),
                     error.hint.c_str());
    } catch (const std::exception& error) {
        std::fprintf(stderr, "gantry-viz: %s\n", error.what());
        return 1;
    }
    return 2;
}
