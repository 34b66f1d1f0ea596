// `gantry trace dump|stats|export`: reads trace files (docs/trace-format.md)
// with bounded memory, so multi-gigabyte simulator traces work too.
#include "command.hpp"
#include "trace_export.hpp"
#include "trace_file.hpp"

#include <cinttypes>
#include <cstdio>
#include <map>
#include <set>

namespace gantry::harness {

namespace {

constexpr std::string_view trace_usage =
    "usage: gantry trace dump FILE                   one line per record\n"
    "       gantry trace stats FILE                  records per kind, time span\n"
    "       gantry trace export --chrome FILE OUT.json\n"
    "                                                Chrome/Perfetto trace-event JSON\n";

[[noreturn]] void usage_error(std::string message)
{
    throw CommandError(std::move(message) + "\n" + std::string(trace_usage),
                       "run `gantry trace --help`");
}

std::string format_time(TimeNs time)
{
    char text[32];
    std::snprintf(text, sizeof(text), "%" PRIu64 ".%09" PRIu64, time / ns_per_s,
                  time % ns_per_s);
    return text;
}

// Quoted, with control bytes and invalid UTF-8 escaped so one record stays one
// readable line.
std::string quoted(std::string_view text)
{
    std::string out = "\"";
    for (usize i = 0; i < text.size(); ++i) {
        char c = text[i];
        auto byte = static_cast<unsigned char>(c);
        usize utf8_length = byte >= 0x80 ? utf8_sequence_length(text.substr(i)) : 0;
        if (utf8_length > 0) {
            out += text.substr(i, utf8_length);
            i += utf8_length - 1;
        } else if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (byte < 0x20 || byte >= 0x7f) {
            char escape[8];
            std::snprintf(escape, sizeof(escape), "\\x%02x", byte);
            out += escape;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string num(u64 value) { return std::to_string(value); }

std::string ipv4_text(u32 address)
{
    return num(address >> 24) + "." + num((address >> 16) & 0xff) + "." +
           num((address >> 8) & 0xff) + "." + num(address & 0xff);
}

std::string describe_tcp(TraceKind kind, const TraceTcpConnection& c)
{
    std::string text = ipv4_text(c.local) + ":" + num(c.local_port) + " " +
                       ipv4_text(c.remote) + ":" + num(c.remote_port);
    if (kind == TraceKind::tcp_state)
        return text + " state=" + num(c.old_state) + "->" + num(c.state);
    return text + " state=" + num(c.state) + " srtt=" + format_time(c.srtt_ns) +
           " rto=" + format_time(c.rto_ns) + " cwnd=" + num(c.cwnd) +
           " ssthresh=" + num(c.ssthresh) + " retransmits=" + num(c.retransmits) +
           " bytes_in=" + num(c.bytes_in) + " bytes_out=" + num(c.bytes_out);
}

std::string describe_fields(TraceKind kind, const TraceFields& f)
{
    switch (kind) {
    case TraceKind::boot_phase_begin:
    case TraceKind::boot_phase_end:
        return "name=" + quoted(f.name);
    case TraceKind::log:
        return "level=" + std::string(level_name(f.level)) + " text=" + quoted(f.name);
    case TraceKind::fiber_spawn:
        return "fiber=" + num(f.fiber) + " parent=" + num(f.parent) + " name=" + quoted(f.name);
    case TraceKind::fiber_switch:
        return "from=" + num(f.from) + " to=" + num(f.to);
    case TraceKind::fiber_exit:
        return "fiber=" + num(f.fiber);
    case TraceKind::timer_fire:
        return "count=" + num(f.count);
    case TraceKind::page_alloc:
    case TraceKind::page_free:
        return "region=" + num(f.region) + " order=" + num(f.order) +
               " first_page=" + num(f.first_page);
    case TraceKind::mem_stats:
        return "pages_total=" + num(f.pages_total) + " pages_used=" + num(f.pages_used) +
               " fragmentation_permille=" + num(f.fragmentation_permille) +
               " heap_bytes_live=" + num(f.heap_bytes_live) +
               " heap_allocations=" + num(f.heap_allocations) +
               " heap_frees=" + num(f.heap_frees);
    case TraceKind::kernel_exit:
        return "code=" + std::to_string(f.exit_code);
    case TraceKind::idle:
        return "deadline=" + (f.deadline == deadline_none ? "none" : format_time(f.deadline));
    case TraceKind::node_info:
        return "app=" + quoted(f.name) + " platform=" + quoted(f.name2);
    case TraceKind::net_rx:
    case TraceKind::net_tx:
    case TraceKind::net_drop:
        return "iface=" + num(f.net.iface) + " length=" + num(f.net.length) +
               " ethertype=" + num(f.net.ethertype) + " protocol=" + num(f.net.protocol) +
               (kind == TraceKind::net_drop ? " reason=" + num(f.reason) : "");
    case TraceKind::link_frame:
        return "link=" + num(f.link.link) + " from=" + num(f.link.from) +
               " to=" + num(f.link.to) + " length=" + num(f.link.length) +
               " fate=" + num(f.link.fate) + " sent=" + format_time(f.link.sent);
    case TraceKind::tcp_state:
    case TraceKind::tcp_stats:
        return describe_tcp(kind, f.tcp);
    case TraceKind::sim_fault:
        return "fault=" + num(f.fault.fault) + " a=" + num(f.fault.a) + " b=" + num(f.fault.b) +
               " detail=" + num(f.fault.detail) +
               (f.fault.fault == 10 ? " boot_crash phase=" +
                                          quoted(sim_boot_phase_name(f.fault.detail))
                                    : "");
    case TraceKind::page_region:
        return "region=" + num(f.region) + " pages=" + num(f.region_pages);
    case TraceKind::heap_classes: {
        std::string text = "slab_pages=" + num(f.heap.slab_pages) +
                           " large_live=" + num(f.heap.large_live) +
                           " large_pages=" + num(f.heap.large_pages) + " live=";
        for (usize i = 0; i < f.heap.class_count; ++i)
            text += (i == 0 ? "" : ",") + num(f.heap.class_bytes[i]) + ":" +
                    num(f.heap.objects_live[i]);
        return text;
    }
    case TraceKind::block_io:
        return "disk=" + num(f.block.disk) + " op=" + num(f.block.op) +
               " status=" + num(f.block.status) + " sector=" + num(f.block.sector) +
               " sectors=" + num(f.block.sectors) + " latency=" + format_time(f.block.latency_ns);
    }
    return {};
}

std::string dump_line(const TraceItem& item)
{
    const TraceRecord& r = item.record;
    std::string line = format_time(r.time) + " node " + num(r.node) + " ";
    if (!item.known)
        return line + "kind " + num(static_cast<u8>(r.kind)) + " (unknown) bytes=" +
               num(r.payload.size());
    line += to_string(r.kind);
    if (item.malformed)
        return line + " <malformed payload: " + num(r.payload.size()) + " bytes>";
    return line + " " + describe_fields(r.kind, item.fields);
}

// Malformed payloads do not stop a dump (the rest of the file is fine), but they
// do make the command fail, so CI notices.
void report_malformed(const TraceFile& file, u64 count, u64 first_offset)
{
    if (count == 0)
        return;
    throw CommandError(file.where(first_offset, std::to_string(count) +
                                                    " record(s) with a payload shorter than "
                                                    "their kind's fields"),
                       "the writer and docs/trace-format.md disagree; run `gantry trace "
                       "dump` to see them");
}

int trace_dump(const std::string& path)
{
    TraceFile file(path);
    u64 malformed = 0;
    u64 first_malformed = 0;
    file.for_each([&](const TraceItem& item) {
        std::string line = dump_line(item);
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), stdout);
        if (item.malformed && malformed++ == 0)
            first_malformed = item.record.file_offset;
    });
    report_malformed(file, malformed, first_malformed);
    return exit_ok;
}

int trace_stats(const std::string& path)
{
    TraceFile file(path);
    std::map<u8, u64> per_kind;
    std::set<u32> nodes;
    u64 records = 0;
    u64 malformed = 0;
    u64 first_malformed = 0;
    TimeNs first = 0;
    TimeNs last = 0;
    file.for_each([&](const TraceItem& item) {
        const TraceRecord& r = item.record;
        first = records == 0 ? r.time : std::min(first, r.time);
        last = records == 0 ? r.time : std::max(last, r.time);
        ++records;
        ++per_kind[static_cast<u8>(r.kind)];
        nodes.insert(r.node);
        if (item.malformed && malformed++ == 0)
            first_malformed = r.file_offset;
    });
    std::printf("file     %s\nversion  %u\nbytes    %" PRIu64 "\nrecords  %" PRIu64
                "\nnodes    %zu\n",
                path.c_str(), static_cast<unsigned>(trace_version), file.offset(), records,
                nodes.size());
    if (records > 0)
        std::printf("time     %s .. %s (span %s s)\n", format_time(first).c_str(),
                    format_time(last).c_str(), format_time(last - first).c_str());
    std::printf("per kind:\n");
    for (auto [kind, count] : per_kind) {
        std::string name = is_known(TraceKind{kind}) ? std::string(to_string(TraceKind{kind}))
                                                     : "kind " + num(kind) + " (unknown)";
        std::printf("  %-18s %" PRIu64 "\n", name.c_str(), count);
    }
    report_malformed(file, malformed, first_malformed);
    return exit_ok;
}

int trace_export(Args args)
{
    if (args.size() != 3 || args[0] != "--chrome")
        usage_error("trace export needs --chrome FILE OUT.json");
    return export_chrome(std::string(args[1]), std::string(args[2]));
}

} // namespace

int cmd_trace(Args args)
{
    if (args.empty())
        usage_error("trace needs a subcommand");
    if (is_help(args[0])) {
        std::fwrite(trace_usage.data(), 1, trace_usage.size(), stdout);
        return exit_ok;
    }
    std::string_view sub = args[0];
    Args rest = args.subspan(1);
    if (sub == "export")
        return trace_export(rest);
    if (sub != "dump" && sub != "stats")
        usage_error("unknown trace subcommand '" + std::string(sub) + "'");
    if (rest.size() != 1)
        usage_error("trace " + std::string(sub) + " needs exactly one FILE");
    return sub == "dump" ? trace_dump(std::string(rest[0])) : trace_stats(std::string(rest[0]));
}

} // namespace gantry::harness
