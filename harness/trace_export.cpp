// `gantry trace export --chrome`: the Trace Event Format (the JSON object form,
// https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU).
// Spans are written as complete ("X") events when they close, so the output is
// well formed even when the trace ends mid-span: open spans close at the node's
// last timestamp. page_alloc/page_free are left out (mem_stats carries the totals
// as counters; the visualiser shows individual pages).
#include "command.hpp"
#include "trace_export.hpp"
#include "trace_file.hpp"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <vector>

namespace gantry::harness {

namespace {

constexpr i64 kernel_lane = 0; // fiber ids start at 1; 0 is the scheduler

// Appends `text` as a JSON string. Trace strings are arbitrary bytes: valid
// UTF-8 passes through, anything else becomes U+FFFD so the output stays JSON.
void append_json_string(std::string& out, std::string_view text)
{
    out += '"';
    usize i = 0;
    while (i < text.size()) {
        auto byte = static_cast<unsigned char>(text[i]);
        if (byte == '"' || byte == '\\') {
            out += '\\';
            out += static_cast<char>(byte);
        } else if (byte < 0x20 || byte == 0x7f) {
            char escape[8];
            std::snprintf(escape, sizeof(escape), "\\u%04x", byte);
            out += escape;
        } else if (byte < 0x80) {
            out += static_cast<char>(byte);
        } else {
            usize length = utf8_sequence_length(text.substr(i));
            if (length == 0) {
                out += "\\ufffd";
                ++i;
                continue;
            }
            out += text.substr(i, length);
            i += length;
            continue;
        }
        ++i;
    }
    out += '"';
}

std::string json_string(std::string_view text)
{
    std::string out;
    append_json_string(out, text);
    return out;
}

// Microseconds with nanosecond precision, the unit of "ts" and "dur".
std::string micros(TimeNs ns)
{
    char text[32];
    std::snprintf(text, sizeof(text), "%" PRIu64 ".%03" PRIu64, ns / 1000, ns % 1000);
    return text;
}

struct OpenSpan {
    std::string name;
    TimeNs begin;
};

struct NodeState {
    bool named = false;
    TimeNs last_time = 0;
    std::vector<OpenSpan> phases; // boot phases nest
    std::map<u32, std::string> fiber_names;
    u32 running = 0; // 0: no fiber runs
    TimeNs running_since = 0;
    bool idle = false;
    TimeNs idle_since = 0;
    TimeNs idle_deadline = 0;
};

class ChromeWriter {
public:
    ChromeWriter(std::FILE* out) : m_out(out) { write_raw("{\"traceEvents\":[\n"); }

    void record(const TraceItem& item);
    void finish();

private:
    void write_raw(std::string_view text) { std::fwrite(text.data(), 1, text.size(), m_out); }
    void event(const std::string& fields);
    std::string common(u32 node, i64 lane, TimeNs time, std::string_view phase);
    void metadata(u32 node, i64 lane, std::string_view kind, std::string_view name);
    void span(u32 node, i64 lane, std::string_view name, TimeNs begin, TimeNs end,
              const std::string& args = "{}");
    void instant(u32 node, i64 lane, TimeNs time, std::string_view name, std::string_view scope,
                 const std::string& args);
    void counter(u32 node, TimeNs time, std::string_view name, const std::string& args);

    NodeState& node_state(u32 node);
    std::string fiber_name(NodeState& state, u32 fiber);
    void stop_running(u32 node, NodeState& state, TimeNs time);
    void end_idle(u32 node, NodeState& state, TimeNs time);
    void close_all(u32 node, NodeState& state, TimeNs time);
    void fiber_record(const TraceItem& item, NodeState& state);
    void other_record(const TraceItem& item, NodeState& state);

    std::FILE* m_out;
    bool m_first = true;
    std::map<u32, NodeState> m_nodes;
};

void ChromeWriter::event(const std::string& fields)
{
    write_raw(m_first ? "{" : ",\n{");
    m_first = false;
    write_raw(fields);
    write_raw("}");
}

std::string ChromeWriter::common(u32 node, i64 lane, TimeNs time, std::string_view phase)
{
    return "\"ph\":\"" + std::string(phase) + "\",\"pid\":" + std::to_string(node) +
           ",\"tid\":" + std::to_string(lane) + ",\"ts\":" + micros(time);
}

void ChromeWriter::metadata(u32 node, i64 lane, std::string_view kind, std::string_view name)
{
    event(common(node, lane, 0, "M") + ",\"name\":" + json_string(kind) +
          ",\"args\":{\"name\":" + json_string(name) + "}");
}

void ChromeWriter::span(u32 node, i64 lane, std::string_view name, TimeNs begin, TimeNs end,
                        const std::string& args)
{
    event(common(node, lane, begin, "X") + ",\"dur\":" + micros(end - begin) +
          ",\"name\":" + json_string(name) + ",\"args\":" + args);
}

void ChromeWriter::instant(u32 node, i64 lane, TimeNs time, std::string_view name,
                           std::string_view scope, const std::string& args)
{
    event(common(node, lane, time, "i") + ",\"s\":\"" + std::string(scope) +
          "\",\"name\":" + json_string(name) + ",\"args\":" + args);
}

void ChromeWriter::counter(u32 node, TimeNs time, std::string_view name, const std::string& args)
{
    event(common(node, kernel_lane, time, "C") + ",\"name\":" + json_string(name) +
          ",\"args\":" + args);
}

NodeState& ChromeWriter::node_state(u32 node)
{
    NodeState& state = m_nodes[node];
    if (!state.named) {
        // Named here so nodes without a node_info record still get lanes.
        state.named = true;
        metadata(node, kernel_lane, "process_name", "node " + std::to_string(node));
        metadata(node, kernel_lane, "thread_name", "kernel");
        event(common(node, kernel_lane, 0, "M") +
              ",\"name\":\"process_sort_index\",\"args\":{\"sort_index\":" +
              std::to_string(node) + "}");
    }
    return state;
}

std::string ChromeWriter::fiber_name(NodeState& state, u32 fiber)
{
    auto found = state.fiber_names.find(fiber);
    if (found != state.fiber_names.end())
        return found->second;
    return "fiber " + std::to_string(fiber);
}

void ChromeWriter::stop_running(u32 node, NodeState& state, TimeNs time)
{
    if (state.running != 0)
        span(node, state.running, fiber_name(state, state.running), state.running_since, time);
    state.running = 0;
}

void ChromeWriter::end_idle(u32 node, NodeState& state, TimeNs time)
{
    if (!state.idle)
        return;
    state.idle = false;
    std::string deadline = state.idle_deadline == deadline_none
                               ? "\"none\""
                               : json_string(micros(state.idle_deadline) + " us");
    span(node, kernel_lane, "idle", state.idle_since, time, "{\"deadline\":" + deadline + "}");
}

void ChromeWriter::close_all(u32 node, NodeState& state, TimeNs time)
{
    stop_running(node, state, time);
    end_idle(node, state, time);
    while (!state.phases.empty()) {
        OpenSpan& phase = state.phases.back();
        span(node, kernel_lane, phase.name, phase.begin, time);
        state.phases.pop_back();
    }
}

void ChromeWriter::fiber_record(const TraceItem& item, NodeState& state)
{
    const TraceRecord& r = item.record;
    const TraceFields& f = item.fields;
    switch (r.kind) {
    case TraceKind::fiber_spawn:
        state.fiber_names[f.fiber] = std::string(f.name) + " #" + std::to_string(f.fiber);
        metadata(r.node, f.fiber, "thread_name", state.fiber_names[f.fiber]);
        break;
    case TraceKind::fiber_switch:
        stop_running(r.node, state, r.time);
        state.running = f.to;
        state.running_since = r.time;
        break;
    case TraceKind::fiber_exit:
        if (state.running == f.fiber)
            stop_running(r.node, state, r.time);
        instant(r.node, f.fiber, r.time, "exit", "t", "{}");
        break;
    default:
        break;
    }
}

void ChromeWriter::other_record(const TraceItem& item, NodeState& state)
{
    const TraceRecord& r = item.record;
    const TraceFields& f = item.fields;
    switch (r.kind) {
    case TraceKind::node_info:
        metadata(r.node, kernel_lane, "process_name",
                 "node " + std::to_string(r.node) + ": " + std::string(f.name) + " (" +
                     std::string(f.name2) + ")");
        break;
    case TraceKind::boot_phase_begin:
        state.phases.push_back({std::string(f.name), r.time});
        break;
    case TraceKind::boot_phase_end:
        // Close the innermost open phase; an unmatched end is shown as an instant.
        if (state.phases.empty()) {
            instant(r.node, kernel_lane, r.time, "end " + std::string(f.name), "t", "{}");
            break;
        }
        span(r.node, kernel_lane, state.phases.back().name, state.phases.back().begin, r.time);
        state.phases.pop_back();
        break;
    case TraceKind::log:
        instant(r.node, state.running, r.time, f.name, "t",
                "{\"level\":" + json_string(level_name(f.level)) + "}");
        break;
    case TraceKind::timer_fire:
        instant(r.node, kernel_lane, r.time, "timers", "t",
                "{\"count\":" + std::to_string(f.count) + "}");
        break;
    case TraceKind::mem_stats:
        counter(r.node, r.time, "pages",
                "{\"used\":" + std::to_string(f.pages_used) +
                    ",\"free\":" + std::to_string(f.pages_total - std::min(f.pages_total,
                                                                           f.pages_used)) +
                    "}");
        counter(r.node, r.time, "heap bytes",
                "{\"live\":" + std::to_string(f.heap_bytes_live) + "}");
        counter(r.node, r.time, "fragmentation permille",
                "{\"value\":" + std::to_string(f.fragmentation_permille) + "}");
        break;
    case TraceKind::idle:
        state.idle = true;
        state.idle_since = r.time;
        state.idle_deadline = f.deadline;
        break;
    case TraceKind::kernel_exit:
        close_all(r.node, state, r.time);
        instant(r.node, kernel_lane, r.time, "kernel exit", "p",
                "{\"code\":" + std::to_string(f.exit_code) + "}");
        break;
    default:
        break;
    }
}

void ChromeWriter::record(const TraceItem& item)
{
    if (!item.known || item.malformed)
        return; // later versions' kinds are skipped; malformed ones are counted by the caller
    const TraceRecord& r = item.record;
    NodeState& state = node_state(r.node);
    state.last_time = std::max(state.last_time, r.time);
    // The kernel is idle until whatever it does next.
    end_idle(r.node, state, r.time);
    fiber_record(item, state);
    other_record(item, state);
}

void ChromeWriter::finish()
{
    for (auto& [node, state] : m_nodes)
        close_all(node, state, state.last_time);
    write_raw("\n],\"displayTimeUnit\":\"ns\"}\n");
}

} // namespace

usize utf8_sequence_length(std::string_view text)
{
    auto at = [&](usize i) { return static_cast<unsigned char>(text[i]); };
    unsigned char lead = at(0);
    usize length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 ? 2 : 0;
    if (length == 0 || lead > 0xf4 || text.size() < length)
        return 0;
    for (usize i = 1; i < length; ++i)
        if ((at(i) & 0xc0) != 0x80)
            return 0;
    // Overlong forms, UTF-16 surrogates and code points above U+10FFFF.
    if ((lead == 0xe0 && at(1) < 0xa0) || (lead == 0xed && at(1) >= 0xa0) ||
        (lead == 0xf0 && at(1) < 0x90) || (lead == 0xf4 && at(1) >= 0x90))
        return 0;
    return length;
}

int export_chrome(const std::string& trace_path, const std::string& out_path)
{
    TraceFile file(trace_path);
    std::FILE* out = std::fopen(out_path.c_str(), "wb");
    if (out == nullptr)
        throw CommandError(out_path + ": cannot create: " + std::strerror(errno),
                           "check that the directory exists and is writable");
    u64 malformed = 0;
    try {
        ChromeWriter writer(out);
        file.for_each([&](const TraceItem& item) {
            malformed += item.malformed ? 1 : 0;
            writer.record(item);
        });
        writer.finish();
    } catch (...) {
        // A half-written export must not be mistaken for a good one.
        std::fclose(out);
        std::remove(out_path.c_str());
        throw;
    }
    bool write_failed = std::ferror(out) != 0;
    if (std::fclose(out) != 0 || write_failed) {
        std::remove(out_path.c_str());
        throw CommandError(out_path + ": write failed", "check free disk space");
    }
    if (malformed > 0)
        std::fprintf(stderr, "gantry: %s: %" PRIu64 " malformed record(s) left out\n",
                     trace_path.c_str(), malformed);
    return exit_ok;
}

} // namespace gantry::harness
