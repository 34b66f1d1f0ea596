// render(): every view of a layout, then the cursor and selection on top.
#include "font.hpp"

#include <gantry/viz/render.hpp>

#include <cinttypes>
#include <cstdio>

namespace gantry::viz {

std::string format_tick(TimeNs t, TimeNs step)
{
    // The unit follows the step, so neighbouring labels differ in their digits.
    const char* unit = "s";
    double scale = 1e9;
    if (step < ns_per_us) {
        unit = "ns";
        scale = 1;
    } else if (step < ns_per_ms) {
        unit = "us";
        scale = 1e3;
    } else if (step < ns_per_s) {
        unit = "ms";
        scale = 1e6;
    }
    int decimals = 0;
    for (double s = static_cast<double>(step) / scale; s < 1 && decimals < 9; s *= 10)
        ++decimals;
    char text[48];
    std::snprintf(text, sizeof(text), "%.*f %s", decimals, static_cast<double>(t) / scale, unit);
    return text;
}

void render_axis(Canvas& canvas, const TimeScale& scale, const Rect& axis, int grid_bottom)
{
    std::vector<TimeNs> ticks = axis_ticks(scale, 110);
    TimeNs step = ticks.size() > 1 ? ticks[1] - ticks[0] : scale.window.span();
    for (TimeNs t : ticks) {
        int x = static_cast<int>(scale.x_of(t));
        canvas.fill({x, axis.y + axis.h - 4, 1, 4}, palette::axis);
        std::string label = format_tick(t, step);
        // The last label may not fit right of its tick: put it on the left instead.
        int w = text_width(label.size());
        int left = x + 2 + w <= axis.right() ? x + 2 : x - 2 - w;
        canvas.text(left, axis.y + 2, label, palette::text_dim);
    }
    canvas.fill({axis.x, axis.bottom() - 1, axis.w, 1}, palette::axis);
}

namespace {

// One tick per pixel column that has an event the filter lets through: events
// it leaves out are stepped over one by one, those drawn skip the rest of
// their column by binary search.
void draw_net_ticks(Canvas& canvas, const std::vector<NetEvent>& events, const TimeScale& scale,
                    const NetFilter& filter, int y, int h)
{
    usize i = first_at_or_after(events, scale.window.from);
    while (i < events.size() && events[i].time <= scale.window.to) {
        if (!filter.matches(events[i])) {
            ++i;
            continue;
        }
        int x = static_cast<int>(scale.x_of(events[i].time));
        canvas.fill({x, y, 1, h}, palette::net_protocol(events[i].protocol, events[i].ethertype));
        i = std::max(first_at_or_after(events, scale.time_at(x + 1)), i + 1);
    }
}

void draw_net_lane(Canvas& canvas, const TraceModel& model, const TimeScale& scale,
                   const NetLane& lane, const NetFilter& filter)
{
    const NodeIndex& node = model.nodes[lane.node_slot];
    const Rect& r = lane.rect;
    canvas.fill(r, palette::lane_even);
    shade_faults(canvas, model, scale, r, node.node);
    canvas.text(6, r.y + (r.h - glyph_h) / 2, "node " + std::to_string(node.node) + " tx/rx",
                palette::text_dim, lane.label.w - 8);
    canvas.clip(r);
    draw_net_ticks(canvas, node.net_tx, scale, filter, r.y + 1, r.h / 2 - 1);
    draw_net_ticks(canvas, node.net_rx, scale, filter, r.y + r.h / 2 + 1, r.h / 2 - 1);
    usize i = first_at_or_after(node.net_drops, scale.window.from);
    while (i < node.net_drops.size() && node.net_drops[i].time <= scale.window.to) {
        if (!filter.matches(node.net_drops[i])) {
            ++i;
            continue;
        }
        int x = static_cast<int>(scale.x_of(node.net_drops[i].time));
        int cy = r.y + r.h / 2;
        for (int d = -3; d <= 3; ++d) // a cross: the frame went nowhere
            canvas.fill({x + d, cy + d, 1, 1}, palette::net_drop),
                canvas.fill({x + d, cy - d, 1, 1}, palette::net_drop);
        i = std::max(first_at_or_after(node.net_drops, scale.time_at(x + 4)), i + 1);
    }
    canvas.unclip();
}

// The sequence diagram over the lanes: drops come last in `arrows`, so their
// crosses are never hidden under a delivered frame's line.
void draw_frame_arrows(Canvas& canvas, const TraceModel& model, const Layout& layout)
{
    canvas.clip(layout.network->plot);
    for (const FrameArrow& arrow : visible_arrows(model, layout)) {
        Color color = arrow_color(arrow.fate);
        canvas.line(arrow.x0, arrow.y0, arrow.x1, arrow.y1, color);
        if (arrow.fate != ArrowFate::dropped)
            continue;
        for (int d = -2; d <= 2; ++d) {
            canvas.fill({arrow.x1 + d, arrow.y1 + d, 1, 1}, color);
            canvas.fill({arrow.x1 + d, arrow.y1 - d, 1, 1}, color);
        }
    }
    canvas.unclip();
}

void render_network(Canvas& canvas, const TraceModel& model, const Layout& layout)
{
    const NetworkLayout& network = *layout.network;
    canvas.fill(network.panel, palette::panel);
    canvas.fill({network.panel.x, network.panel.y, network.panel.w, 1}, palette::axis);
    canvas.text(6, network.panel.y + 5, "Network", palette::text);
    if (network.lanes.empty()) {
        // No network records (hello has no NIC): say so rather than draw nothing.
        canvas.fill(network.plot, palette::lane_even);
        std::string message = "no network events in this trace";
        int w = text_width(message.size());
        canvas.text(network.plot.x + (network.plot.w - w) / 2,
                    network.plot.y + (network.plot.h - glyph_h) / 2, message, palette::text_dim);
        return;
    }
    int legend_x = label_column_px;
    if (network.filter.active()) {
        // Say what is left out, before anything else: a filtered picture must
        // not pass for the whole traffic.
        std::string shown = "FILTER: only " + network.filter.to_string() + " (c clears)";
        int w = text_width(shown.size()) + 8;
        canvas.fill({legend_x - 2, network.panel.y + 3, w, glyph_h + 4}, palette::filter);
        canvas.text(legend_x + 2, network.panel.y + 5, shown, palette::background,
                    network.plot.w);
        legend_x += w + 6;
    }
    canvas.text(legend_x, network.panel.y + 5,
                "NIC ticks: sent (upper half), received (lower) by protocol: TCP blue, UDP "
                "green, ICMP yellow, ARP grey. Link frames: sender to receiver, delivered "
                "grey-blue, corrupted orange, duplicate violet, dropped red X",
                palette::text_dim, std::max(network.plot.right() - legend_x, 0));
    TimeScale scale = layout.scale();
    for (const NetLane& lane : network.lanes)
        draw_net_lane(canvas, model, scale, lane, network.filter);
    draw_frame_arrows(canvas, model, layout);
}

Rect selection_in_lane(const NodeIndex& node, const TimeScale& scale, const Lane& lane,
                       const Hit& hit)
{
    switch (hit.kind) {
    case HitKind::phase:
        return lane.kind == LaneKind::phases ? phase_rect(scale, lane, node.phases[hit.index])
                                             : Rect{};
    case HitKind::run: {
        if (lane.kind != LaneKind::fiber || lane.fiber_slot != hit.fiber_slot)
            return {};
        const RunSpan& run = node.fibers[hit.fiber_slot].runs[hit.index];
        return scale.span_rect(lane.rect, run.begin, run.end);
    }
    case HitKind::idle: {
        const IdleSpan& idle = node.idles[hit.index];
        return lane.kind == LaneKind::kernel ? scale.span_rect(lane.rect, idle.begin, idle.end)
                                             : Rect{};
    }
    case HitKind::log:
    case HitKind::timer: {
        TimeNs at = hit.kind == HitKind::log ? node.logs[hit.index].time
                                             : node.timers[hit.index].time;
        int x = static_cast<int>(scale.x_of(at));
        return lane.kind == LaneKind::kernel ? Rect{x - 3, lane.rect.y, 7, lane.rect.h} : Rect{};
    }
    case HitKind::block_io: {
        const BlockEvent& io = node.block_io[hit.index];
        return lane.kind == LaneKind::disk ? scale.span_rect(lane.rect, io.begin, io.end) : Rect{};
    }
    case HitKind::fault: // spans the node's lanes: selection_rect outlines it
    case HitKind::mem_sample:
    case HitKind::net_tx:
    case HitKind::net_rx:
    case HitKind::net_drop:
    case HitKind::tcp_sample:
    case HitKind::link_frame:
    case HitKind::page_block:
    case HitKind::heap_class:
        return {}; // outside the timeline: the details panel says what it is
    }
    return {};
}

// A fault tints every lane of its node (shade_faults): the outline goes on the
// node's first lane, over the time the fault held.
Rect fault_selection(const TraceModel& model, const Layout& layout, const Hit& hit)
{
    const FaultSpan& span = model.faults[hit.index];
    for (const Lane& lane : layout.timeline->lanes)
        if (lane.node_slot == hit.node_slot)
            return layout.scale().span_rect(lane.rect, span.begin, span.end);
    return {};
}

Rect selection_rect(const TraceModel& model, const Layout& layout, const Hit& hit)
{
    if (!layout.timeline)
        return {};
    if (hit.kind == HitKind::fault)
        return fault_selection(model, layout, hit);
    for (const Lane& lane : layout.timeline->lanes) {
        if (lane.node_slot != hit.node_slot)
            continue;
        Rect rect = selection_in_lane(model.nodes[hit.node_slot], layout.scale(), lane, hit);
        if (rect.w > 0)
            return rect;
    }
    return {};
}

void render_overlay(Canvas& canvas, const TraceModel& model, const Layout& layout,
                    const Overlay& overlay)
{
    TimeScale scale = layout.scale();
    if (overlay.selected) {
        Rect rect = selection_rect(model, layout, *overlay.selected);
        if (rect.w > 0)
            canvas.outline({rect.x - 1, rect.y - 1, rect.w + 2, rect.h + 2}, palette::selection);
    }
    if (!overlay.cursor || *overlay.cursor < layout.window.from ||
        *overlay.cursor > layout.window.to)
        return;
    int x = static_cast<int>(scale.x_of(*overlay.cursor));
    canvas.fill({x, 0, 1, layout.size.h}, palette::cursor);
    std::string label = format_time(*overlay.cursor);
    int w = text_width(label.size()) + 4;
    int left = x + w + 2 < layout.size.w ? x + 2 : x - w - 2;
    canvas.fill({left, 2, w, glyph_h + 4}, palette::background);
    canvas.text(left + 2, 4, label, palette::cursor);
}

} // namespace

void shade_faults(Canvas& canvas, const TraceModel& model, const TimeScale& scale,
                  const Rect& lane, u32 node)
{
    if (model.faults.empty())
        return;
    SDL_SetRenderDrawBlendMode(canvas.sdl(), SDL_BLENDMODE_BLEND);
    for (const FaultSpan* span : model.faults_of(node))
        canvas.fill(scale.span_rect(lane, span->begin, span->end), palette::fault(span->kind));
    SDL_SetRenderDrawBlendMode(canvas.sdl(), SDL_BLENDMODE_NONE);
}

void render(Canvas& canvas, const TraceModel& model, const Layout& layout, const Overlay& overlay)
{
    SDL_SetRenderDrawBlendMode(canvas.sdl(), SDL_BLENDMODE_NONE);
    canvas.fill({0, 0, layout.size.w, layout.size.h}, palette::background);
    if (layout.timeline)
        render_timeline(canvas, model, layout, overlay);
    if (layout.memory)
        render_memory(canvas, model, layout);
    if (layout.network)
        render_network(canvas, model, layout);
    if (layout.tcp)
        render_tcp(canvas, model, layout);
    render_overlay(canvas, model, layout, overlay);
}

} // namespace gantry::viz
