// The timeline: per node a header, boot phases (nested rows), a kernel lane
// (idle shading, timer passes, log markers) and one lane per fiber. Only what
// is inside the window is visited: each lane skips ahead by binary search to
// the next pixel column, so a frame costs O(pixels * log events), not O(events).
#include "font.hpp"

#include <gantry/viz/render.hpp>

#include <algorithm>

namespace gantry::viz {

namespace {

void draw_phases(Canvas& canvas, const TraceModel& model, const TimeScale& scale,
                 const Lane& lane)
{
    const NodeIndex& node = model.nodes[lane.node_slot];
    for (const PhaseSpan& phase : node.phases) {
        Rect rect = phase_rect(scale, lane, phase);
        if (rect.w == 0)
            continue;
        if (rect.w > 3)
            --rect.w; // a gap, so back-to-back phases read as separate spans
        canvas.fill(rect, palette::phase(phase.depth));
        std::string label(model.strings.view(phase.name));
        std::string with_time = label + " " + format_duration(phase.end - phase.begin);
        if (phase.open)
            with_time += " (open)";
        const std::string& shown = text_width(with_time.size()) + 4 <= rect.w ? with_time : label;
        if (text_width(shown.size()) + 4 <= rect.w && rect.h >= glyph_h)
            canvas.text(rect.x + 2, rect.y + (rect.h - glyph_h) / 2, shown, palette::text);
    }
}

// Calls draw(index) for one item per pixel column among time-sorted spans.
template<typename Spans, typename Draw>
void for_visible_spans(const Spans& spans, const TimeScale& scale, Draw&& draw)
{
    usize i = first_ending_at_or_after(spans, scale.window.from);
    while (i < spans.size() && spans[i].begin <= scale.window.to) {
        int right = draw(i);
        usize next = first_ending_at_or_after(spans, scale.time_at(right));
        i = std::max(next, i + 1);
    }
}

template<typename Points, typename Draw>
void for_visible_points(const Points& points, const TimeScale& scale, Draw&& draw)
{
    usize i = first_at_or_after(points, scale.window.from);
    while (i < points.size() && points[i].time <= scale.window.to) {
        int x = draw(i);
        usize next = first_at_or_after(points, scale.time_at(x + 1));
        i = std::max(next, i + 1);
    }
}

void draw_kernel_lane(Canvas& canvas, const TraceModel& model, const TimeScale& scale,
                      const Lane& lane, const Overlay& overlay)
{
    const NodeIndex& node = model.nodes[lane.node_slot];
    Rect band{lane.rect.x, lane.rect.y + 1, lane.rect.w, std::max(lane.rect.h - 2, 1)};
    for_visible_spans(node.idles, scale, [&](usize i) {
        Rect rect = scale.span_rect(band, node.idles[i].begin, node.idles[i].end);
        canvas.add_rect(rect);
        return rect.right();
    });
    canvas.flush_rects(palette::idle);
    for_visible_points(node.timers, scale, [&](usize i) {
        int x = static_cast<int>(scale.x_of(node.timers[i].time));
        canvas.add_rect({x, band.y + band.h / 2, 1, band.h - band.h / 2});
        return x;
    });
    canvas.flush_rects(palette::timer);
    for_visible_points(node.logs, scale, [&](usize i) {
        const LogMark& mark = node.logs[i];
        int x = static_cast<int>(scale.x_of(mark.time));
        bool match = !overlay.search.empty() &&
                     model.strings.view(mark.text).find(overlay.search) != std::string::npos;
        canvas.fill({x - 1, band.y, 3, band.h / 2 + 1}, match ? palette::selection
                                                              : palette::log(mark.level));
        return x + 1;
    });
}

void draw_fiber_lane(Canvas& canvas, const TraceModel& model, const TimeScale& scale,
                     const Lane& lane)
{
    const FiberLane& fiber = model.nodes[lane.node_slot].fibers[lane.fiber_slot];
    Rect band{lane.rect.x, lane.rect.y + 1, lane.rect.w, std::max(lane.rect.h - 2, 1)};
    if (fiber.exited != 0 && fiber.exited >= scale.window.from && fiber.exited <= scale.window.to)
        canvas.fill({static_cast<int>(scale.x_of(fiber.exited)), band.y, 1, band.h},
                    palette::text_dim); // where the fiber ended
    for_visible_spans(fiber.runs, scale, [&](usize i) {
        Rect rect = scale.span_rect(band, fiber.runs[i].begin, fiber.runs[i].end);
        canvas.add_rect(rect);
        return rect.right();
    });
    canvas.flush_rects(palette::fiber(fiber.fiber));
}

// Each request as a bar from submission to completion, coloured by operation
// (errors red): reads on the upper half, writes and flushes on the lower.
void draw_disk_lane(Canvas& canvas, const TraceModel& model, const TimeScale& scale,
                    const Lane& lane)
{
    const NodeIndex& node = model.nodes[lane.node_slot];
    int half = std::max(lane.rect.h / 2 - 1, 1);
    usize i = first_ending_at_or_after(node.block_io, scale.window.from);
    // Requests overlap (many fibers), so visit every one in the window but only
    // up to a bound per frame; the trace of a busy disk is still drawn in time.
    constexpr usize visit_max = 200'000;
    for (usize visited = 0; i < node.block_io.size() && visited < visit_max; ++i, ++visited) {
        const BlockEvent& io = node.block_io[i];
        if (io.begin > scale.window.to)
            continue;
        Rect band{lane.rect.x, io.op == 0 ? lane.rect.y + 1 : lane.rect.y + 1 + half, lane.rect.w,
                  half};
        canvas.fill(scale.span_rect(band, io.begin, io.end), palette::disk_op(io.op, io.status));
        if (io.end > scale.window.to + scale.window.span())
            break;
    }
}

std::string lane_label(const TraceModel& model, const Lane& lane)
{
    const NodeIndex& node = model.nodes[lane.node_slot];
    switch (lane.kind) {
    case LaneKind::phases:
        return "boot phases";
    case LaneKind::kernel:
        return "kernel";
    case LaneKind::disk:
        return "disk I/O";
    case LaneKind::fiber: {
        const FiberLane& fiber = node.fibers[lane.fiber_slot];
        return "#" + std::to_string(fiber.fiber) + " " +
               std::string(model.strings.view(fiber.name));
    }
    }
    return {};
}

void draw_lane(Canvas& canvas, const TraceModel& model, const TimeScale& scale, const Lane& lane,
               const Overlay& overlay, bool odd)
{
    canvas.fill(lane.rect, odd ? palette::lane_odd : palette::lane_even);
    shade_faults(canvas, model, scale, lane.rect, model.nodes[lane.node_slot].node);
    if (lane.rect.h >= glyph_h)
        canvas.text(lane.label.x + 6, lane.rect.y + (lane.rect.h - glyph_h) / 2,
                    lane_label(model, lane), lane.kind == LaneKind::fiber
                        ? palette::fiber(model.nodes[lane.node_slot].fibers[lane.fiber_slot].fiber)
                        : palette::text_dim, lane.label.w - 8);
    canvas.clip(lane.rect);
    if (lane.kind == LaneKind::phases)
        draw_phases(canvas, model, scale, lane);
    else if (lane.kind == LaneKind::kernel)
        draw_kernel_lane(canvas, model, scale, lane, overlay);
    else if (lane.kind == LaneKind::disk)
        draw_disk_lane(canvas, model, scale, lane);
    else
        draw_fiber_lane(canvas, model, scale, lane);
    canvas.unclip();
}

std::string node_title(const TraceModel& model, const NodeIndex& node)
{
    std::string title = "node " + std::to_string(node.node);
    if (node.app != StringPool::empty_id)
        title += "  " + std::string(model.strings.view(node.app)) + " (" +
                 std::string(model.strings.view(node.platform)) + ")";
    if (node.exit_code)
        title += "  exit " + std::to_string(*node.exit_code) + " at " + format_time(node.exit_time);
    return title;
}

} // namespace

void render_timeline(Canvas& canvas, const TraceModel& model, const Layout& layout,
                     const Overlay& overlay)
{
    const TimelineLayout& timeline = *layout.timeline;
    TimeScale scale = layout.scale();
    canvas.fill(timeline.panel, palette::panel);
    canvas.text(6, timeline.panel.y + 4, "Timeline", palette::text);
    canvas.text(label_column_px, timeline.panel.y + 4,
                format_time(layout.window.from) + " .. " + format_time(layout.window.to) +
                    "  (" + format_duration(layout.window.span()) + " shown)",
                palette::text_dim, timeline.panel.w - label_column_px);
    render_axis(canvas, scale, timeline.axis, timeline.plot.bottom());
    for (usize i = 0; i < timeline.lanes.size(); ++i)
        draw_lane(canvas, model, scale, timeline.lanes[i], overlay, i % 2 == 1);
    for (const NodeHeader& header : timeline.node_headers) {
        canvas.fill(header.rect, palette::background);
        canvas.text(6, header.rect.y + 5, node_title(model, model.nodes[header.node_slot]),
                    palette::text);
    }
}

} // namespace gantry::viz
