// The memory view: per node, pages in use and heap bytes live as step areas
// (a mem_stats sample holds until the next one), the high-water mark as a
// dashed line, and a strip of page_alloc/page_free ticks.
#include "font.hpp"

#include <gantry/viz/render.hpp>

#include <algorithm>

namespace gantry::viz {

namespace {

using Value = u64 (*)(const MemSample&);

// The largest value among the samples in effect during column [t0, t1]: the
// sample in effect at t0 plus any that start inside the column (capped, so a
// column costs at most a few dozen steps whatever the trace's size).
u64 column_value(const std::vector<MemSample>& mem, TimeNs t0, TimeNs t1, Value value)
{
    usize i = first_at_or_after(mem, t0 + 1);
    u64 best = i > 0 ? value(mem[i - 1]) : 0;
    for (usize steps = 0; i < mem.size() && mem[i].time <= t1 && steps < 32; ++i, ++steps)
        best = std::max(best, value(mem[i]));
    return best;
}

void draw_series(Canvas& canvas, const NodeIndex& node, const TimeScale& scale, const Rect& plot,
                 Value value, u64 max_value, Color fill, Color line)
{
    if (node.mem.empty())
        return;
    int x0 = std::max(static_cast<int>(scale.x_of(node.mem.front().time)), plot.x);
    int x1 = std::min(static_cast<int>(scale.x_of(node.last_time)) + 1, plot.right());
    std::vector<Rect> tops;
    for (int x = x0; x < x1; ++x) {
        u64 v = column_value(node.mem, scale.time_at(x), scale.time_at(x + 1), value);
        int h = static_cast<int>(static_cast<double>(v) * (plot.h - 1) / max_value);
        canvas.add_rect({x, plot.bottom() - h, 1, h});
        tops.push_back({x, plot.bottom() - h - 1, 1, 2});
    }
    canvas.flush_rects(fill);
    for (const Rect& top : tops)
        canvas.add_rect(top);
    canvas.flush_rects(line);
}

void draw_high_water(Canvas& canvas, const Rect& plot, u64 high_water, u64 max_value)
{
    int y = plot.bottom() - 1 -
            static_cast<int>(static_cast<double>(high_water) * (plot.h - 1) / max_value);
    for (int x = plot.x; x < plot.right(); x += 6)
        canvas.add_rect({x, y, std::min(3, plot.right() - x), 1});
    canvas.flush_rects(palette::high_water);
}

void draw_page_events(Canvas& canvas, const NodeIndex& node, const TimeScale& scale,
                      const Rect& strip)
{
    usize i = first_at_or_after(node.pages, scale.window.from);
    while (i < node.pages.size() && node.pages[i].time <= scale.window.to) {
        const PageEvent& event = node.pages[i];
        int x = static_cast<int>(scale.x_of(event.time));
        if (event.op != PageOp::region)
            canvas.fill({x, strip.y, 1, strip.h}, event.alloc() ? palette::page_alloc
                                                                : palette::page_free);
        i = std::max(first_at_or_after(node.pages, scale.time_at(x + 1)), i + 1);
    }
}

std::string kib(u64 bytes)
{
    return bytes < 10 * 1024 ? std::to_string(bytes) + " B" : std::to_string(bytes / 1024) + " KiB";
}

std::string size_label(u64 bytes)
{
    return bytes >= 1024 && bytes % 1024 == 0 ? std::to_string(bytes / 1024) + "k"
                                               : std::to_string(bytes);
}

void draw_page_map(Canvas& canvas, const PageMap& map, const Rect& area)
{
    canvas.fill(area, palette::panel);
    if (map.region_pages.empty()) {
        canvas.text(area.x + 4, area.y + 2, "no page_region records: no page map",
                    palette::text_dim, area.w - 8);
        return;
    }
    PageMapGeometry geometry = page_map_geometry(area, map);
    for (usize region = 0; region < map.region_pages.size(); ++region) {
        u64 cells = (map.region_pages[region] + geometry.pages_per_cell - 1) /
                    geometry.pages_per_cell;
        if (cells == 0)
            continue;
        u64 first = geometry.region_cell[region];
        for (const Rect& rect : cell_rects(geometry, first, first + cells - 1))
            canvas.add_rect(rect);
    }
    canvas.flush_rects(palette::page_map_free);
    for (const PageRun& run : page_runs(geometry, map))
        canvas.fill(run.rect, palette::page_block(run.block.order));
}

void draw_heap_classes(Canvas& canvas, const NodeIndex& node, const Rect& area, TimeNs at)
{
    canvas.fill(area, palette::panel);
    const HeapSample* sample = heap_sample_at(node, at);
    if (node.heap.empty()) {
        canvas.text(area.x + 4, area.y + 2, "no heap_classes records", palette::text_dim,
                    area.w - 8);
        return;
    }
    for (const HeapBar& bar : heap_bars(area, node, sample)) {
        canvas.fill(bar.rect, palette::lane_even);
        canvas.fill(bar.value, palette::heap);
        std::string label = bar.index < node.heap_class_count
                                ? size_label(node.heap_class_bytes[bar.index])
                                : std::string("big");
        canvas.text(bar.rect.x, bar.rect.bottom() + 2, label, palette::text_dim, bar.rect.w + 1);
    }
}

void draw_snapshot(Canvas& canvas, const NodeIndex& node, const MemoryPlot& plot, TimeNs at)
{
    if (plot.page_map.w <= 0)
        return;
    PageMap map = page_map_at(node, at);
    canvas.text(6, plot.page_map.y, "page map at", palette::text_dim);
    canvas.text(6, plot.page_map.y + 10, format_time(at), palette::text, plot.label.w - 6);
    canvas.text(6, plot.page_map.y + 20, std::to_string(map.used_pages()) + " pages used",
                palette::text_dim, plot.label.w - 6);
    canvas.text(6, plot.page_map.y + 30, "in " + std::to_string(map.used.size()) + " blocks",
                palette::text_dim, plot.label.w - 6);
    draw_page_map(canvas, map, plot.page_map);
    draw_heap_classes(canvas, node, plot.heap_classes, at);
}

void draw_plot(Canvas& canvas, const TraceModel& model, const TimeScale& scale,
               const MemoryPlot& plot, TimeNs at)
{
    const NodeIndex& node = model.nodes[plot.node_slot];
    canvas.text(6, plot.label.y + 2, "node " + std::to_string(node.node), palette::text);
    canvas.text(6, plot.pages.y + 12, "pages", palette::pages);
    canvas.text(6, plot.heap.y + 2, "heap", palette::heap);
    canvas.fill(plot.pages, palette::lane_even);
    canvas.fill(plot.heap, palette::lane_odd);
    canvas.fill(plot.page_events, palette::lane_even);
    u64 pages_max = std::max<u64>(node.pages_high_water + node.pages_high_water / 8, 1);
    u64 heap_max = std::max<u64>(node.heap_high_water + node.heap_high_water / 8, 1);
    canvas.clip(plot.pages);
    draw_series(canvas, node, scale, plot.pages, [](const MemSample& s) { return s.pages_used; },
                pages_max, palette::pages_fill, palette::pages);
    draw_high_water(canvas, plot.pages, node.pages_high_water, pages_max);
    canvas.clip(plot.heap);
    draw_series(canvas, node, scale, plot.heap,
                [](const MemSample& s) { return s.heap_bytes_live; }, heap_max,
                palette::heap_fill, palette::heap);
    draw_high_water(canvas, plot.heap, node.heap_high_water, heap_max);
    canvas.clip(plot.page_events);
    draw_page_events(canvas, node, scale, plot.page_events);
    canvas.unclip();
    u64 total = node.mem.empty() ? 0 : node.mem.back().pages_total;
    std::string summary = node.mem.empty()
        ? "no mem_stats samples"
        : "pages in use, high water " + std::to_string(node.pages_high_water) + " of " +
              std::to_string(total) + "; heap live, high water " + kib(node.heap_high_water) +
              "; " + std::to_string(node.mem.size()) +
              (node.mem.size() == 1 ? " sample" : " samples");
    canvas.text(plot.pages.x + 4, plot.pages.y + 3, summary, palette::text, plot.pages.w - 8);
    draw_snapshot(canvas, node, plot, at);
}

} // namespace

void render_memory(Canvas& canvas, const TraceModel& model, const Layout& layout)
{
    const MemoryLayout& memory = *layout.memory;
    canvas.fill(memory.panel, palette::panel);
    canvas.fill({memory.panel.x, memory.panel.y, memory.panel.w, 1}, palette::axis);
    canvas.text(6, memory.panel.y + 5, "Memory", palette::text);
    canvas.text(label_column_px, memory.panel.y + 5,
                "pages in use (area), heap bytes live, high water (dashed), page alloc/free; "
                "page map (used blocks by order) and heap bytes per size class at the cursor",
                palette::text_dim, memory.plot.w);
    TimeScale scale = layout.scale();
    for (const MemoryPlot& plot : memory.plots)
        draw_plot(canvas, model, scale, plot, layout.at);
}

} // namespace gantry::viz
