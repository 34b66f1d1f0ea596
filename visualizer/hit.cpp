// Reading a layout back: what is under the mouse, and a JSON dump of where
// things were drawn so tests can check pixels without a golden image.
#include <gantry/viz/layout.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace gantry::viz {

Rect phase_rect(const TimeScale& scale, const Lane& lane, const PhaseSpan& phase)
{
    Rect row{lane.rect.x, lane.top + phase.depth * phase_row_px + 1, lane.rect.w,
             phase_row_px - 2};
    int top = std::max(row.y, lane.rect.y);
    int bottom = std::min(row.bottom(), lane.rect.bottom());
    if (bottom <= top)
        return {row.x, row.y, 0, 0};
    Rect rect = scale.span_rect({row.x, top, row.w, bottom - top}, phase.begin, phase.end);
    return rect;
}

namespace {

constexpr int hit_slop_px = 3;

std::optional<Hit> hit_kernel_lane(const NodeIndex& node, usize slot, TimeNs t, TimeNs slop)
{
    TimeNs low = t > slop ? t - slop : 0;
    usize log = first_at_or_after(node.logs, low);
    if (log < node.logs.size() && node.logs[log].time <= t + slop)
        return Hit{HitKind::log, slot, 0, log};
    usize timer = first_at_or_after(node.timers, low);
    if (timer < node.timers.size() && node.timers[timer].time <= t + slop)
        return Hit{HitKind::timer, slot, 0, timer};
    usize idle = first_ending_at_or_after(node.idles, t);
    if (idle < node.idles.size() && node.idles[idle].begin <= t)
        return Hit{HitKind::idle, slot, 0, idle};
    return std::nullopt;
}

std::optional<Hit> hit_lane(const TraceModel& model, const TimeScale& scale, const Lane& lane,
                            int x, int y)
{
    const NodeIndex& node = model.nodes[lane.node_slot];
    TimeNs t = scale.time_at(x);
    TimeNs slop = scale.ns_per_px() * hit_slop_px;
    switch (lane.kind) {
    case LaneKind::phases:
        for (usize i = node.phases.size(); i-- > 0;) // innermost phases were pushed last
            if (phase_rect(scale, lane, node.phases[i]).contains(x, y))
                return Hit{HitKind::phase, lane.node_slot, 0, i};
        return std::nullopt;
    case LaneKind::kernel:
        return hit_kernel_lane(node, lane.node_slot, t, slop);
    case LaneKind::disk: {
        // The most recent request covering t (requests overlap when fibers queue).
        usize i = first_ending_at_or_after(node.block_io, t > slop ? t - slop : 0);
        for (; i < node.block_io.size() && i < first_ending_at_or_after(node.block_io, t) + 64;
             ++i)
            if (node.block_io[i].begin <= t + slop)
                return Hit{HitKind::block_io, lane.node_slot, 0, i};
        return std::nullopt;
    }
    case LaneKind::fiber: {
        const auto& runs = node.fibers[lane.fiber_slot].runs;
        usize run = first_ending_at_or_after(runs, t > slop ? t - slop : 0);
        if (run < runs.size() && runs[run].begin <= t + slop)
            return Hit{HitKind::run, lane.node_slot, lane.fiber_slot, run};
        return std::nullopt;
    }
    }
    return std::nullopt;
}

std::optional<Hit> hit_net_lane(const NodeIndex& node, usize slot, const TimeScale& scale,
                                const NetLane& lane, const NetFilter& filter, int x, int y)
{
    TimeNs t = scale.time_at(x);
    TimeNs slop = scale.ns_per_px() * hit_slop_px;
    TimeNs low = t > slop ? t - slop : 0;
    // Drops first: they matter most and are drawn on top.
    bool upper = y < lane.rect.y + lane.rect.h / 2;
    for (HitKind kind : {HitKind::net_drop, upper ? HitKind::net_tx : HitKind::net_rx}) {
        const auto& events = net_events(node, kind);
        // The first event near the mouse that the filter lets through (drawn).
        for (usize i = first_at_or_after(events, low);
             i < events.size() && events[i].time <= t + slop; ++i)
            if (filter.matches(events[i]))
                return Hit{kind, slot, 0, i};
    }
    return std::nullopt;
}

// Nothing else under the mouse in a node's lane: the fault held on it then.
std::optional<Hit> hit_fault(const TraceModel& model, usize slot, TimeNs t)
{
    u32 node = model.nodes[slot].node;
    for (usize i = model.faults.size(); i-- > 0;) { // the latest fault first
        const FaultSpan& span = model.faults[i];
        if (span.kind != FaultKind::link && (span.node == node || span.peer == node) &&
            span.begin <= t && t <= span.end)
            return Hit{HitKind::fault, slot, 0, i};
    }
    return std::nullopt;
}

// The arrow nearest the pixel, within a few pixels of its line.
std::optional<Hit> hit_arrow(const TraceModel& model, const Layout& layout, int x, int y)
{
    constexpr double reach_px = 3.5;
    std::optional<Hit> best;
    double best_distance = reach_px;
    for (const FrameArrow& a : visible_arrows(model, layout)) {
        double dx = a.x1 - a.x0, dy = a.y1 - a.y0;
        double length2 = dx * dx + dy * dy;
        double along = length2 == 0 ? 0 : ((x - a.x0) * dx + (y - a.y0) * dy) / length2;
        along = std::clamp(along, 0.0, 1.0);
        double ex = a.x0 + along * dx - x, ey = a.y0 + along * dy - y;
        double distance = std::sqrt(ex * ex + ey * ey);
        if (distance <= best_distance) { // drops come last: they win ties
            best_distance = distance;
            const NodeIndex* sender = model.node(model.link_frames[a.frame].from);
            usize slot = sender ? static_cast<usize>(sender - model.nodes.data()) : 0;
            best = Hit{HitKind::link_frame, slot, 0, a.frame};
        }
    }
    return best;
}

std::optional<Hit> hit_snapshot(const TraceModel& model, const MemoryPlot& plot, TimeNs at, int x,
                                int y)
{
    const NodeIndex& node = model.nodes[plot.node_slot];
    if (plot.heap_classes.contains(x, y)) {
        for (const HeapBar& bar : heap_bars(plot.heap_classes, node, heap_sample_at(node, at)))
            if (x >= bar.rect.x && x < bar.rect.right() + 2)
                return Hit{HitKind::heap_class, plot.node_slot, 0, bar.index, at};
        return std::nullopt;
    }
    PageMap map = page_map_at(node, at);
    auto page = page_at(page_map_geometry(plot.page_map, map), map, x, y);
    if (!page)
        return std::nullopt;
    return Hit{HitKind::page_block, plot.node_slot, page->first, page->second, at};
}

} // namespace

const std::vector<NetEvent>& net_events(const NodeIndex& node, HitKind kind)
{
    return kind == HitKind::net_tx ? node.net_tx
           : kind == HitKind::net_rx ? node.net_rx
                                     : node.net_drops;
}

namespace {

// The headers behind a hit, when it is a frame.
const NetEvent* hit_headers(const TraceModel& model, const Hit& hit)
{
    switch (hit.kind) {
    case HitKind::net_tx:
    case HitKind::net_rx:
    case HitKind::net_drop:
        return &net_events(model.nodes[hit.node_slot], hit.kind)[hit.index];
    case HitKind::link_frame:
        return frame_header(model, model.link_frames[hit.index]);
    default:
        return nullptr;
    }
}

} // namespace

std::optional<NetProtocol> hit_protocol(const TraceModel& model, const Hit& hit)
{
    if (hit.kind == HitKind::tcp_sample)
        return NetProtocol::tcp;
    const NetEvent* headers = hit_headers(model, hit);
    return headers ? std::optional(net_protocol(*headers)) : std::nullopt;
}

std::optional<NetConnection> hit_connection(const TraceModel& model, const Hit& hit)
{
    if (hit.kind == HitKind::tcp_sample)
        return connection_of(model.nodes[hit.node_slot].tcp[hit.fiber_slot]);
    const NetEvent* headers = hit_headers(model, hit);
    return headers ? connection_of(*headers) : std::nullopt;
}

std::optional<Hit> hit_test(const TraceModel& model, const Layout& layout, int x, int y)
{
    TimeScale scale = layout.scale();
    if (layout.timeline)
        for (const Lane& lane : layout.timeline->lanes)
            if (lane.rect.contains(x, y)) {
                if (auto hit = hit_lane(model, scale, lane, x, y))
                    return hit;
                return hit_fault(model, lane.node_slot, scale.time_at(x));
            }
    if (layout.network && layout.network->plot.contains(x, y)) {
        for (const NetLane& lane : layout.network->lanes)
            if (lane.rect.contains(x, y))
                if (auto hit = hit_net_lane(model.nodes[lane.node_slot], lane.node_slot, scale,
                                            lane, layout.network->filter, x, y))
                    return hit;
        if (auto hit = hit_arrow(model, layout, x, y))
            return hit;
        for (const NetLane& lane : layout.network->lanes)
            if (lane.rect.contains(x, y))
                return hit_fault(model, lane.node_slot, scale.time_at(x));
    }
    if (layout.tcp)
        for (const TcpPlot& plot : layout.tcp->plots) {
            if (!plot.window.contains(x, y) && !plot.rtt.contains(x, y) &&
                !plot.events.contains(x, y))
                continue;
            const auto& samples = model.nodes[plot.node_slot].tcp[plot.connection].samples;
            usize sample = first_at_or_after(samples, scale.time_at(x) + 1);
            if (sample > 0)
                return Hit{HitKind::tcp_sample, plot.node_slot, plot.connection, sample - 1};
            return std::nullopt;
        }
    if (layout.memory)
        for (const MemoryPlot& plot : layout.memory->plots) {
            if (plot.page_map.contains(x, y) || plot.heap_classes.contains(x, y))
                return hit_snapshot(model, plot, layout.at, x, y);
            if (!plot.pages.contains(x, y) && !plot.heap.contains(x, y))
                continue;
            const auto& mem = model.nodes[plot.node_slot].mem;
            usize sample = first_at_or_after(mem, scale.time_at(x));
            // The sample whose value is drawn at x is the last one at or before it.
            if (sample == mem.size() || (sample > 0 && mem[sample].time > scale.time_at(x)))
                sample = sample > 0 ? sample - 1 : sample;
            if (sample < mem.size())
                return Hit{HitKind::mem_sample, plot.node_slot, 0, sample};
        }
    return std::nullopt;
}

namespace {

std::string json_rect(const Rect& rect)
{
    char text[80];
    std::snprintf(text, sizeof(text), "[%d,%d,%d,%d]", rect.x, rect.y, rect.w, rect.h);
    return text;
}

std::string json_color(Color color)
{
    char text[40];
    std::snprintf(text, sizeof(text), "[%d,%d,%d]", color.r, color.g, color.b);
    return text;
}

std::string json_string(std::string_view text)
{
    std::string out = "\"";
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\')
            out += {'\\', c};
        else if (byte < 0x20 || byte >= 0x7f)
            out += '?'; // debug output: keep it ASCII and always valid JSON
        else
            out += c;
    }
    return out + "\"";
}

const char* lane_kind_name(LaneKind kind)
{
    switch (kind) {
    case LaneKind::phases:
        return "phases";
    case LaneKind::kernel:
        return "kernel";
    case LaneKind::disk:
        return "disk";
    case LaneKind::fiber:
        return "fiber";
    }
    return "?";
}

void append_timeline(std::string& out, const TraceModel& model, const Layout& layout)
{
    const TimelineLayout& timeline = *layout.timeline;
    TimeScale scale = layout.scale();
    std::string lanes, phases;
    for (const Lane& lane : timeline.lanes) {
        const NodeIndex& node = model.nodes[lane.node_slot];
        u32 fiber = lane.kind == LaneKind::fiber ? node.fibers[lane.fiber_slot].fiber : 0;
        lanes += std::string(lanes.empty() ? "" : ",") + "{\"kind\":\"" +
                 lane_kind_name(lane.kind) + "\",\"node\":" + std::to_string(node.node) +
                 ",\"fiber\":" + std::to_string(fiber) + ",\"rect\":" + json_rect(lane.rect);
        if (lane.kind == LaneKind::fiber) {
            const auto& runs = node.fibers[lane.fiber_slot].runs;
            usize first = first_ending_at_or_after(runs, layout.window.from);
            usize visible = 0;
            for (usize i = first; i < runs.size() && runs[i].begin <= layout.window.to; ++i)
                ++visible;
            lanes += ",\"color\":" + json_color(palette::fiber(fiber)) +
                     ",\"visible_runs\":" + std::to_string(visible);
        }
        lanes += "}";
        if (lane.kind != LaneKind::phases)
            continue;
        for (const PhaseSpan& phase : node.phases) {
            Rect rect = phase_rect(scale, lane, phase);
            if (rect.w == 0)
                continue;
            phases += std::string(phases.empty() ? "" : ",") + "{\"node\":" +
                      std::to_string(node.node) + ",\"name\":" +
                      json_string(model.strings.view(phase.name)) + ",\"depth\":" +
                      std::to_string(phase.depth) + ",\"begin\":" + std::to_string(phase.begin) +
                      ",\"end\":" + std::to_string(phase.end) + ",\"rect\":" + json_rect(rect) +
                      ",\"color\":" + json_color(palette::phase(phase.depth)) + "}";
        }
    }
    out += ",\"timeline\":{\"panel\":" + json_rect(timeline.panel) + ",\"plot\":" +
           json_rect(timeline.plot) + ",\"lanes\":[" + lanes + "],\"phases\":[" + phases + "]}";
}

// The page map's used runs (at most `runs_max`) and the heap class bars, as drawn.
std::string snapshot_json(const NodeIndex& node, const MemoryPlot& plot, TimeNs at)
{
    constexpr usize runs_max = 3000;
    if (plot.page_map.w <= 0)
        return {};
    PageMap map = page_map_at(node, at);
    PageMapGeometry geometry = page_map_geometry(plot.page_map, map);
    std::string runs;
    usize listed = 0;
    for (const PageRun& run : page_runs(geometry, map)) {
        if (listed++ == runs_max)
            break;
        runs += std::string(runs.empty() ? "" : ",") + "[" + json_rect(run.rect) + "," +
                json_color(palette::page_block(run.block.order)) + "]";
    }
    std::string bars;
    for (const HeapBar& bar : heap_bars(plot.heap_classes, node, heap_sample_at(node, at)))
        bars += std::string(bars.empty() ? "" : ",") + "{\"class_bytes\":" +
                std::to_string(bar.index < node.heap_class_count
                                   ? node.heap_class_bytes[bar.index] : 0) +
                ",\"bytes\":" + std::to_string(bar.bytes) + ",\"slot\":" +
                json_rect(bar.rect) + ",\"value\":" + json_rect(bar.value) + "}";
    return ",\"at\":" + std::to_string(at) + ",\"page_map\":{\"rect\":" +
           json_rect(plot.page_map) + ",\"free_color\":" + json_color(palette::page_map_free) +
           ",\"regions\":" + std::to_string(map.region_pages.size()) + ",\"cell_px\":" +
           std::to_string(geometry.cell_px) + ",\"pages_per_cell\":" +
           std::to_string(geometry.pages_per_cell) + ",\"cells\":" +
           std::to_string(geometry.cells) + ",\"used_pages\":" +
           std::to_string(map.used_pages()) + ",\"blocks\":" + std::to_string(map.used.size()) +
           ",\"runs\":[" + runs + "]},\"heap_classes\":{\"rect\":" +
           json_rect(plot.heap_classes) + ",\"color\":" + json_color(palette::heap) +
           ",\"samples\":" + std::to_string(node.heap.size()) + ",\"bars\":[" + bars + "]}";
}

void append_memory(std::string& out, const TraceModel& model, const Layout& layout)
{
    std::string plots;
    for (const MemoryPlot& plot : layout.memory->plots)
        plots += std::string(plots.empty() ? "" : ",") + "{\"node\":" +
                 std::to_string(model.nodes[plot.node_slot].node) + ",\"pages\":" +
                 json_rect(plot.pages) + ",\"pages_color\":" + json_color(palette::pages) +
                 ",\"heap\":" + json_rect(plot.heap) + ",\"heap_color\":" +
                 json_color(palette::heap) + ",\"samples\":" +
                 std::to_string(model.nodes[plot.node_slot].mem.size()) +
                 snapshot_json(model.nodes[plot.node_slot], plot, layout.at) + "}";
    out += ",\"memory\":{\"panel\":" + json_rect(layout.memory->panel) + ",\"plots\":[" +
           plots + "]}";
}

// A link frame's protocol and connection ("" when it has none), for tests that
// check a filter against the unfiltered picture.
std::string frame_headers_json(const TraceModel& model, const LinkFrame& frame)
{
    const NetEvent* header = frame_header(model, frame);
    std::optional<NetConnection> connection = header ? connection_of(*header) : std::nullopt;
    return std::string("\"") + net_protocol_name(frame.protocol) + "\",\"" +
           (connection ? connection->to_string() : "") + "\"";
}

// The drawn arrows (at most `arrow_list_max`, drops first so a test sees them)
// and their count per fate: tests check these pixels in the PNG.
std::string arrows_json(const TraceModel& model, const Layout& layout)
{
    constexpr usize arrow_list_max = 4000;
    std::vector<FrameArrow> arrows = visible_arrows(model, layout);
    std::array<usize, arrow_fate_count> counts{};
    for (const FrameArrow& arrow : arrows)
        ++counts[static_cast<usize>(arrow.fate)];
    std::string list, fates;
    for (usize f = 0; f < arrow_fate_count; ++f) {
        ArrowFate fate = static_cast<ArrowFate>(f);
        fates += std::string(fates.empty() ? "" : ",") + "\"" + arrow_fate_name(fate) +
                 "\":{\"arrows\":" + std::to_string(counts[f]) +
                 ",\"color\":" + json_color(arrow_color(fate)) + "}";
    }
    usize listed = 0;
    for (usize pass = 0; pass < 2; ++pass)
        for (const FrameArrow& a : arrows) {
            if ((a.fate == ArrowFate::dropped) != (pass == 0) || listed == arrow_list_max)
                continue;
            list += std::string(list.empty() ? "" : ",") + "[" + std::to_string(a.x0) + "," +
                    std::to_string(a.y0) + "," + std::to_string(a.x1) + "," +
                    std::to_string(a.y1) + ",\"" + arrow_fate_name(a.fate) + "\"," +
                    frame_headers_json(model, model.link_frames[a.frame]) + "]";
            ++listed;
        }
    return ",\"link_frames\":" + std::to_string(model.link_frames.size()) +
           ",\"fates\":{" + fates + "},\"arrows\":[" + list + "]";
}

void append_network(std::string& out, const TraceModel& model, const Layout& layout)
{
    std::string lanes;
    for (const NetLane& lane : layout.network->lanes) {
        const NodeIndex& node = model.nodes[lane.node_slot];
        lanes += std::string(lanes.empty() ? "" : ",") + "{\"node\":" +
                 std::to_string(node.node) + ",\"rect\":" + json_rect(lane.rect) +
                 ",\"tx\":" + std::to_string(node.net_tx.size()) + ",\"rx\":" +
                 std::to_string(node.net_rx.size()) + ",\"drops\":" +
                 std::to_string(node.net_drops.size()) + ",\"drop_color\":" +
                 json_color(palette::net_drop) + "}";
    }
    out += ",\"network\":{\"panel\":" + json_rect(layout.network->panel) + ",\"plot\":" +
           json_rect(layout.network->plot) + ",\"records\":" +
           std::to_string(model.network_records) + ",\"filter\":\"" +
           layout.network->filter.to_string() + "\"" + arrows_json(model, layout) +
           ",\"lanes\":[" + lanes + "]}";
}

void append_tcp(std::string& out, const TraceModel& model, const Layout& layout)
{
    std::string plots;
    for (const TcpPlot& plot : layout.tcp->plots) {
        const TcpConnection& c = model.nodes[plot.node_slot].tcp[plot.connection];
        u64 retransmits = c.samples.empty() ? 0 : c.samples.back().retransmits;
        plots += std::string(plots.empty() ? "" : ",") + "{\"node\":" +
                 std::to_string(model.nodes[plot.node_slot].node) + ",\"local_port\":" +
                 std::to_string(c.local_port) + ",\"remote_port\":" +
                 std::to_string(c.remote_port) + ",\"window\":" + json_rect(plot.window) +
                 ",\"rtt\":" + json_rect(plot.rtt) + ",\"events\":" + json_rect(plot.events) +
                 ",\"samples\":" + std::to_string(c.samples.size()) + ",\"states\":" +
                 std::to_string(c.states.size()) + ",\"retransmits\":" +
                 std::to_string(retransmits) + ",\"window_max\":" + std::to_string(c.window_max) +
                 ",\"cwnd_color\":" + json_color(palette::tcp_cwnd) + ",\"srtt_color\":" +
                 json_color(palette::tcp_srtt) + "}";
    }
    out += ",\"tcp\":{\"panel\":" + json_rect(layout.tcp->panel) + ",\"hidden\":" +
           std::to_string(layout.tcp->hidden) + ",\"filtered\":" +
           std::to_string(layout.tcp->filtered) + ",\"plots\":[" + plots + "]}";
}

} // namespace

std::string layout_json(const TraceModel& model, const Layout& layout)
{
    std::string out = "{\"size\":[" + std::to_string(layout.size.w) + "," +
                      std::to_string(layout.size.h) + "],\"window\":[" +
                      std::to_string(layout.window.from) + "," +
                      std::to_string(layout.window.to) + "],\"background\":" +
                      json_color(palette::background);
    if (layout.timeline)
        append_timeline(out, model, layout);
    if (layout.memory)
        append_memory(out, model, layout);
    if (layout.network)
        append_network(out, model, layout);
    if (layout.tcp)
        append_tcp(out, model, layout);
    return out + "}\n";
}

} // namespace gantry::viz
