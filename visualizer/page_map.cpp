// The page map at any time: page events replayed from the nearest checkpoint.
// The builder keeps the live map while it reads the trace and stores a copy
// every so often; page_map_at restores the last copy before t and replays the
// few events after it, so scrubbing a million-event trace stays cheap.
#include "page_map.hpp"

#include <algorithm>

namespace gantry::viz {

void track_page_event(LivePageMap& live, NodeIndex& node, const PageEvent& event)
{
    // Checkpoints are spaced by at least four times the blocks they copy, so
    // they cost at most ~4 bytes per event and a lookup replays at most
    // max(checkpoint_events_min, 4 x live blocks) events.
    constexpr usize checkpoint_events_min = 4096;
    live.apply(event);
    node.pages.push_back(event);
    usize last = node.page_checkpoints.empty() ? 0 : node.page_checkpoints.back().events;
    usize since = node.pages.size() - last;
    if (since >= std::max(checkpoint_events_min, 4 * live.used.size()))
        node.page_checkpoints.push_back({node.pages.size(), live.region_pages, live.blocks()});
}


u64 PageMap::used_pages() const
{
    u64 pages = 0;
    for (const PageBlock& block : used)
        pages += u64{1} << block.order;
    return pages;
}

PageMap page_map_at(const NodeIndex& node, TimeNs t)
{
    // Events at or before t: the first index whose time is after t.
    usize end = first_at_or_after(node.pages, t == ~TimeNs{0} ? t : t + 1);
    auto checkpoint = std::upper_bound(
        node.page_checkpoints.begin(), node.page_checkpoints.end(), end,
        [](usize events, const PageCheckpoint& c) { return events < c.events; });
    LivePageMap live;
    usize begin = 0;
    if (checkpoint != node.page_checkpoints.begin()) {
        --checkpoint;
        live.restore(*checkpoint);
        begin = checkpoint->events;
    }
    for (usize i = begin; i < end; ++i)
        live.apply(node.pages[i]);
    return {t, std::move(live.region_pages), live.blocks()};
}

const HeapSample* heap_sample_at(const NodeIndex& node, TimeNs t)
{
    usize after = first_at_or_after(node.heap, t == ~TimeNs{0} ? t : t + 1);
    return after == 0 ? nullptr : &node.heap[after - 1];
}

u64 heap_bar_bytes(const NodeIndex& node, const HeapSample& sample, usize index)
{
    if (index >= node.heap_class_count)
        return u64{sample.large_pages} * 4096;
    return u64{sample.objects_live[index]} * node.heap_class_bytes[index];
}

} // namespace gantry::viz
