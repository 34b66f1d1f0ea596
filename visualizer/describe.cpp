// Words for what the user clicked or searched: the details panel and the
// search results list of the interactive viewer.
#include <gantry/viz/layout.hpp>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

namespace gantry::viz {

namespace {

std::string level_name(u8 level)
{
    static constexpr const char* names[] = {"debug", "info", "warn", "error"};
    return level < 4 ? names[level] : "level " + std::to_string(level);
}

std::string span_text(TimeNs begin, TimeNs end)
{
    return "from " + format_time(begin) + "\nto   " + format_time(end) + "\nlasting " +
           format_duration(end - begin);
}

std::string describe_mem(const MemSample& s)
{
    char text[256];
    std::snprintf(text, sizeof(text),
                  "pages used %" PRIu64 " of %" PRIu64 "\nfragmentation %u.%u%%\nheap live %" PRIu64
                  " bytes\nheap allocations %" PRIu64 ", frees %" PRIu64,
                  s.pages_used, s.pages_total, s.fragmentation_permille / 10,
                  s.fragmentation_permille % 10, s.heap_bytes_live, s.heap_allocations,
                  s.heap_frees);
    return text;
}

std::string ipv4(u32 address)
{
    char text[20];
    std::snprintf(text, sizeof(text), "%u.%u.%u.%u", address >> 24, (address >> 16) & 255,
                  (address >> 8) & 255, address & 255);
    return text;
}

std::string protocol_name(const NetEvent& event)
{
    if (event.ethertype == 0x0806)
        return "ARP";
    switch (event.protocol) {
    case 1:
        return "ICMP";
    case 6:
        return "TCP";
    case 17:
        return "UDP";
    }
    return event.ethertype == 0x0800 ? "IPv4 proto " + std::to_string(event.protocol)
                                     : "ethertype 0x" + std::to_string(event.ethertype);
}

std::string endpoint(u32 address, u16 port)
{
    return port == 0 ? ipv4(address) : ipv4(address) + ":" + std::to_string(port);
}

std::string describe_net(const NetEvent& event, HitKind kind)
{
    std::string what = kind == HitKind::net_tx ? "sent" : kind == HitKind::net_rx ? "received"
                                                                                 : "dropped";
    std::string text = what + " " + protocol_name(event) + " " +
                       endpoint(event.source, event.source_port) + " -> " +
                       endpoint(event.destination, event.destination_port) + ", " +
                       std::to_string(event.length) + " bytes, at " + format_time(event.time);
    if (kind == HitKind::net_drop) // the number is net::DropReason (counters.hpp)
        text += "\nreason " + std::to_string(event.reason);
    return text;
}

std::string describe_block(const BlockEvent& io)
{
    static constexpr const char* ops[] = {"read", "write", "flush"};
    static constexpr const char* statuses[] = {"pending", "ok", "I/O error", "out of range",
                                               "read-only"};
    std::string text = std::string(io.op < 3 ? ops[io.op] : "op ?") + " on disk " +
                       std::to_string(io.disk);
    if (io.op != 2)
        text += ", sectors " + std::to_string(io.sector) + "..+" + std::to_string(io.sectors) +
                " (" + std::to_string(static_cast<u64>(io.sectors) * 512) + " bytes)";
    return text + ": " + (io.status < 5 ? statuses[io.status] : "status ?") + "\n" +
           span_text(io.begin, io.end);
}

std::string describe_tcp(const TcpConnection& connection, const TcpSample& s)
{
    char figures[320];
    std::snprintf(figures, sizeof(figures),
                  "\ncwnd %u, ssthresh %u, peer window %u\nretransmits %" PRIu64
                  "\nbytes in %" PRIu64 ", out %" PRIu64,
                  s.cwnd, s.ssthresh, s.snd_wnd, s.retransmits, s.bytes_in, s.bytes_out);
    return "TCP " + endpoint(connection.local, connection.local_port) + " -> " +
           endpoint(connection.remote, connection.remote_port) + " at " + format_time(s.time) +
           "\nsrtt " + format_duration(s.srtt) + ", rto " + format_duration(s.rto) + figures;
}

std::string fate_name(u8 fate)
{
    static constexpr const char* names[] = {"delivered", "delivered corrupted (a flipped bit)",
                                            "duplicate copy (delivered)", "lost",
                                            "dropped: queue full", "dropped: mtu",
                                            "dropped: partition", "dropped: node down"};
    return fate < 8 ? names[fate] : "fate " + std::to_string(fate);
}

std::string node_name(u32 node)
{
    return node == 0xffffffff ? std::string("none") : "node " + std::to_string(node);
}

// What the frame carried, from the sender's net_tx record it was matched to.
std::string frame_headers(const TraceModel& model, const LinkFrame& f)
{
    const NetEvent* header = frame_header(model, f);
    if (header == nullptr)
        return "\nheaders unknown (no net_tx record of the sender matches it)";
    std::string text = "\n" + protocol_name(*header) + " " +
                       endpoint(header->source, header->source_port) + " -> " +
                       endpoint(header->destination, header->destination_port);
    if (f.match == HeaderMatch::by_order)
        text += "\n(headers matched by order among frames the sender handed over at the "
                "same time with the same length: they may be another's)";
    return text;
}

std::string describe_frame(const TraceModel& model, const LinkFrame& f)
{
    return "link " + std::to_string(f.link) + " frame, " + node_name(f.from) + " -> " +
           node_name(f.to) + ", " + std::to_string(f.length) + " bytes: " + fate_name(f.fate) +
           frame_headers(model, f) + "\nsent " + format_time(f.sent) + "\n" +
           (f.fate <= 2 ? "arrived " : "dropped ") + format_time(f.time) + " (after " +
           format_duration(f.time - f.sent) + ")";
}

std::string describe_fault(const FaultSpan& f)
{
    std::string crashed = f.boot_phase == 0 ? std::string(" down (crashed)")
                                            : std::string(" down (crashed entering boot phase '") +
                                                  sim_boot_phase_name(f.boot_phase) + "')";
    std::string what = f.kind == FaultKind::down     ? node_name(f.node) + crashed
                       : f.kind == FaultKind::paused ? node_name(f.node) + " paused"
                       : f.kind == FaultKind::link
                           ? "link " + std::to_string(f.node) + " impaired"
                           : "partition " + node_name(f.node) + " -> " + node_name(f.peer);
    return "fault: " + what + (f.open ? " (not over when the trace ends)" : "") + "\n" +
           span_text(f.begin, f.end);
}

std::string describe_page(const NodeIndex& node, u8 region, u64 page, TimeNs at)
{
    PageMap map = page_map_at(node, at);
    std::string where = "region " + std::to_string(region) + ", page " + std::to_string(page);
    for (const PageBlock& b : map.used)
        if (b.region == region && b.first_page <= page && page < b.first_page + (u64{1} << b.order))
            return "page map at " + format_time(at) + "\n" + where + ": used, block of order " +
                   std::to_string(b.order) + " (" + std::to_string(u64{1} << b.order) +
                   " pages from page " + std::to_string(b.first_page) + ")\n" +
                   std::to_string(map.used_pages()) + " pages used in " +
                   std::to_string(map.used.size()) + " blocks";
    return "page map at " + format_time(at) + "\n" + where + ": free\n" +
           std::to_string(map.used_pages()) + " pages used in " + std::to_string(map.used.size()) +
           " blocks";
}

std::string describe_heap_class(const NodeIndex& node, usize index, TimeNs at)
{
    const HeapSample* s = heap_sample_at(node, at);
    if (s == nullptr)
        return "heap classes: no sample before " + format_time(at);
    std::string head = "heap at " + format_time(s->time) + " (the sample in effect at " +
                       format_time(at) + ")\n";
    if (index >= node.heap_class_count)
        return head + "large allocations: " + std::to_string(s->large_live) + " live in " +
               std::to_string(s->large_pages) + " pages\nslabs hold " +
               std::to_string(s->slab_pages) + " pages";
    return head + "size class " + std::to_string(node.heap_class_bytes[index]) + " B: " +
           std::to_string(s->objects_live[index]) + " objects live, " +
           std::to_string(heap_bar_bytes(node, *s, index)) + " bytes";
}

} // namespace

std::string describe(const TraceModel& model, const Hit& hit)
{
    const NodeIndex& node = model.nodes[hit.node_slot];
    std::string head = "node " + std::to_string(node.node) + ": ";
    switch (hit.kind) {
    case HitKind::phase: {
        const PhaseSpan& phase = node.phases[hit.index];
        return head + "boot phase '" + std::string(model.strings.view(phase.name)) + "'" +
               (phase.open ? " (still open at the end of the trace)" : "") + "\n" +
               span_text(phase.begin, phase.end) + "\ndepth " + std::to_string(phase.depth);
    }
    case HitKind::run: {
        const FiberLane& fiber = node.fibers[hit.fiber_slot];
        const RunSpan& run = fiber.runs[hit.index];
        return head + "fiber #" + std::to_string(fiber.fiber) + " '" +
               std::string(model.strings.view(fiber.name)) + "' running\n" +
               span_text(run.begin, run.end) + "\nrun " + std::to_string(hit.index + 1) + " of " +
               std::to_string(fiber.runs.size()) + ", parent #" + std::to_string(fiber.parent);
    }
    case HitKind::idle: {
        const IdleSpan& idle = node.idles[hit.index];
        return head + "idle\n" + span_text(idle.begin, idle.end) + "\ndeadline " +
               (idle.deadline == deadline_none ? std::string("none (waits for an event)")
                                               : format_time(idle.deadline));
    }
    case HitKind::timer: {
        const TimerPass& timer = node.timers[hit.index];
        return head + "timer pass at " + format_time(timer.time) + "\n" +
               std::to_string(timer.count) + " timer(s) fired";
    }
    case HitKind::log: {
        const LogMark& log = node.logs[hit.index];
        return head + level_name(log.level) + " log at " + format_time(log.time) + "\n" +
               std::string(model.strings.view(log.text));
    }
    case HitKind::mem_sample:
        return head + "mem_stats at " + format_time(node.mem[hit.index].time) + "\n" +
               describe_mem(node.mem[hit.index]);
    case HitKind::net_tx:
    case HitKind::net_rx:
    case HitKind::net_drop:
        return head + describe_net(net_events(node, hit.kind)[hit.index], hit.kind);
    case HitKind::block_io:
        return head + describe_block(node.block_io[hit.index]);
    case HitKind::tcp_sample: {
        const TcpConnection& connection = node.tcp[hit.fiber_slot];
        return head + describe_tcp(connection, connection.samples[hit.index]);
    }
    case HitKind::link_frame:
        return describe_frame(model, model.link_frames[hit.index]);
    case HitKind::fault:
        return describe_fault(model.faults[hit.index]);
    case HitKind::page_block:
        return head + describe_page(node, static_cast<u8>(hit.fiber_slot), hit.index, hit.at);
    case HitKind::heap_class:
        return head + describe_heap_class(node, hit.index, hit.at);
    }
    return head;
}

TimeNs hit_time(const TraceModel& model, const Hit& hit)
{
    const NodeIndex& node = model.nodes[hit.node_slot];
    switch (hit.kind) {
    case HitKind::phase:
        return node.phases[hit.index].begin;
    case HitKind::run:
        return node.fibers[hit.fiber_slot].runs[hit.index].begin;
    case HitKind::idle:
        return node.idles[hit.index].begin;
    case HitKind::timer:
        return node.timers[hit.index].time;
    case HitKind::log:
        return node.logs[hit.index].time;
    case HitKind::mem_sample:
        return node.mem[hit.index].time;
    case HitKind::net_tx:
    case HitKind::net_rx:
    case HitKind::net_drop:
        return net_events(node, hit.kind)[hit.index].time;
    case HitKind::block_io:
        return node.block_io[hit.index].begin;
    case HitKind::tcp_sample:
        return node.tcp[hit.fiber_slot].samples[hit.index].time;
    case HitKind::link_frame:
        return model.link_frames[hit.index].sent;
    case HitKind::fault:
        return model.faults[hit.index].begin;
    case HitKind::page_block:
    case HitKind::heap_class:
        return hit.at;
    }
    return 0;
}

namespace {

bool contains(const TraceModel& model, u32 id, std::string_view query)
{
    return model.strings.view(id).find(query) != std::string_view::npos;
}

void search_node(const TraceModel& model, usize slot, std::string_view query, bool all,
                 std::vector<Hit>& out, usize limit)
{
    const NodeIndex& node = model.nodes[slot];
    bool phases = all || query == "phase";
    for (usize i = 0; i < node.phases.size() && out.size() < limit; ++i)
        if (phases || contains(model, node.phases[i].name, query))
            out.push_back({HitKind::phase, slot, 0, i});
    for (usize f = 0; f < node.fibers.size() && out.size() < limit; ++f)
        if ((all || query == "fiber" || contains(model, node.fibers[f].name, query)) &&
            !node.fibers[f].runs.empty())
            out.push_back({HitKind::run, slot, f, 0});
    bool logs = all || query == "log";
    for (usize i = 0; i < node.logs.size() && out.size() < limit; ++i)
        if (logs || contains(model, node.logs[i].text, query))
            out.push_back({HitKind::log, slot, 0, i});
    for (usize i = 0; query == "idle" && i < node.idles.size() && out.size() < limit; ++i)
        out.push_back({HitKind::idle, slot, 0, i});
    for (usize i = 0; query == "drop" && i < node.net_drops.size() && out.size() < limit; ++i)
        out.push_back({HitKind::net_drop, slot, 0, i});
    for (usize i = 0; query == "disk" && i < node.block_io.size() && out.size() < limit; ++i)
        out.push_back({HitKind::block_io, slot, 0, i});
    // "fault" lists each fault once, under the node it names first; "node N"
    // lists every fault N was in (either end of a partition).
    for (usize i = 0; (all || query == "fault") && i < model.faults.size() && out.size() < limit;
         ++i) {
        const FaultSpan& f = model.faults[i];
        bool concerns = f.node == node.node || (all && f.peer == node.node);
        if (f.kind != FaultKind::link && concerns)
            out.push_back({HitKind::fault, slot, 0, i});
    }
    // "frame": frames this node sent that a link dropped (or mangled).
    for (usize i = 0; query == "frame" && i < model.link_frames.size() && out.size() < limit; ++i)
        if (model.link_frames[i].from == node.node && model.link_frames[i].fate != 0 &&
            model.link_frames[i].fate != 2)
            out.push_back({HitKind::link_frame, slot, 0, i});
    // "retransmit": the samples where a connection's retransmission count went up.
    for (usize c = 0; query == "retransmit" && c < node.tcp.size(); ++c) {
        const auto& samples = node.tcp[c].samples;
        for (usize i = 0; i < samples.size() && out.size() < limit; ++i)
            if (samples[i].retransmits > (i > 0 ? samples[i - 1].retransmits : 0))
                out.push_back({HitKind::tcp_sample, slot, c, i});
    }
}

} // namespace

std::vector<Hit> search(const TraceModel& model, std::string_view query, usize limit)
{
    std::vector<Hit> out;
    if (query.empty())
        return out;
    // "node N" lists that node's phases, fibers and logs.
    std::optional<u32> node_id;
    if (query.starts_with("node ") && query.size() > 5)
        node_id = static_cast<u32>(std::strtoul(std::string(query.substr(5)).c_str(), nullptr, 10));
    for (usize slot = 0; slot < model.nodes.size() && out.size() < limit; ++slot) {
        if (node_id && model.nodes[slot].node != *node_id)
            continue;
        search_node(model, slot, query, node_id.has_value(), out, limit);
    }
    return out;
}

} // namespace gantry::viz
