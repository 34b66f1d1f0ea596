// The memory view's "at a time" part: where the page map's cells and the heap
// class bars go. Pure geometry from a PageMap or HeapSample, shared by the
// renderer, hit testing and --layout-json.
#include <gantry/viz/layout.hpp>

#include <algorithm>

namespace gantry::viz {

namespace palette {

Color page_block(u8 order)
{
    // Single pages (slabs, small stacks) green, growing blocks towards orange.
    static constexpr Color colors[] = {{60, 190, 150},  {110, 200, 190}, {90, 160, 230},
                                       {150, 130, 235}, {210, 120, 210}, {235, 120, 130},
                                       {240, 160, 80},  {240, 210, 90}};
    return colors[std::min<usize>(order, 7)];
}

} // namespace palette

namespace {

u64 cells_needed(const PageMap& map, u64 pages_per_cell)
{
    u64 cells = 0;
    for (u64 pages : map.region_pages)
        cells += (pages + pages_per_cell - 1) / pages_per_cell;
    return cells;
}

u64 total_pages(const PageMap& map)
{
    u64 pages = 0;
    for (u64 region : map.region_pages)
        pages += region;
    return pages;
}

} // namespace

PageMapGeometry page_map_geometry(const Rect& rect, const PageMap& map)
{
    PageMapGeometry g;
    g.rect = rect;
    if (rect.w <= 0 || rect.h <= 0)
        return g;
    u64 pages = std::max<u64>(total_pages(map), 1);
    // The biggest square cells that show every page on its own, else 1 px cells
    // holding as many pages as it takes to fit.
    for (int cell = 4; cell >= 1; --cell) {
        u64 capacity = u64(rect.w / cell) * u64(rect.h / cell);
        if (capacity >= cells_needed(map, 1) || cell == 1) {
            g.cell_px = cell;
            g.columns = std::max(rect.w / cell, 1);
            u64 rows = std::max(rect.h / cell, 1);
            capacity = u64(g.columns) * rows;
            g.pages_per_cell = std::max<u64>((pages + capacity - 1) / capacity, 1);
            // Each region starts on a fresh cell: round up until they all fit.
            while (cells_needed(map, g.pages_per_cell) > capacity)
                ++g.pages_per_cell;
            break;
        }
    }
    u64 cell = 0;
    for (u64 region : map.region_pages) {
        g.region_cell.push_back(cell);
        cell += (region + g.pages_per_cell - 1) / g.pages_per_cell;
    }
    g.cells = cell;
    return g;
}

std::vector<PageRun> page_runs(const PageMapGeometry& g, const PageMap& map)
{
    std::vector<PageRun> runs;
    if (g.region_cell.size() != map.region_pages.size())
        return runs; // an empty rectangle: nothing was placed
    for (const PageBlock& block : map.used) {
        if (block.region >= map.region_pages.size() || block.first_page >= map.region_pages[block.region])
            continue; // outside any described region: a corrupt trace, nothing to place
        u64 last_page = std::min(block.first_page + (u64{1} << block.order),
                                 map.region_pages[block.region]) - 1;
        u64 first = g.region_cell[block.region] + block.first_page / g.pages_per_cell;
        u64 last = g.region_cell[block.region] + last_page / g.pages_per_cell;
        for (const Rect& rect : cell_rects(g, first, last))
            runs.push_back({rect, block});
    }
    return runs;
}

std::vector<Rect> cell_rects(const PageMapGeometry& g, u64 first, u64 last)
{
    std::vector<Rect> rects;
    u64 columns = static_cast<u64>(g.columns);
    while (first <= last) {
        u64 row = first / columns;
        u64 end = std::min(last, row * columns + columns - 1); // this row's part
        Rect rect{g.rect.x + static_cast<int>(first % columns) * g.cell_px,
                  g.rect.y + static_cast<int>(row) * g.cell_px,
                  static_cast<int>(end - first + 1) * g.cell_px, g.cell_px};
        if (rect.bottom() > g.rect.bottom())
            break;
        rects.push_back(rect);
        first = end + 1;
    }
    return rects;
}

std::optional<std::pair<u8, u64>> page_at(const PageMapGeometry& g, const PageMap& map, int x,
                                          int y)
{
    if (!g.rect.contains(x, y) || g.region_cell.size() != map.region_pages.size())
        return std::nullopt;
    u64 cell = u64((y - g.rect.y) / g.cell_px) * u64(g.columns) + u64((x - g.rect.x) / g.cell_px);
    for (usize region = map.region_pages.size(); region-- > 0;) {
        if (cell < g.region_cell[region])
            continue;
        u64 page = (cell - g.region_cell[region]) * g.pages_per_cell;
        if (page >= map.region_pages[region])
            return std::nullopt;
        return std::make_pair(static_cast<u8>(region), page);
    }
    return std::nullopt;
}

std::vector<HeapBar> heap_bars(const Rect& area, const NodeIndex& node, const HeapSample* sample)
{
    std::vector<HeapBar> bars;
    usize count = node.heap_class_count + 1u; // + the large allocations
    if (node.heap.empty() || area.w <= 0 || area.h <= heap_bar_label_px + 4)
        return bars;
    int slot_w = std::max(area.w / static_cast<int>(count), 3);
    int bar_h = area.h - heap_bar_label_px;
    u64 scale = std::max<u64>(node.heap_bar_bytes_max, 1);
    for (usize i = 0; i < count; ++i) {
        Rect slot{area.x + static_cast<int>(i) * slot_w, area.y, slot_w - 2, bar_h};
        if (slot.right() > area.right())
            break;
        u64 bytes = sample ? heap_bar_bytes(node, *sample, i) : 0;
        int h = static_cast<int>(static_cast<double>(bytes) * bar_h / static_cast<double>(scale));
        if (bytes > 0)
            h = std::max(h, 1); // a live class is never invisible
        bars.push_back({slot, {slot.x, slot.bottom() - h, slot.w, h}, i, bytes});
    }
    return bars;
}

} // namespace gantry::viz
