// The live page map the model builder and page_map_at replay page events into
// (private to the visualiser's model library).
#pragma once

#include <gantry/viz/model.hpp>

#include <algorithm>
#include <map>

namespace gantry::viz {

// A trace can claim anything; these bound what the map believes.
inline constexpr usize page_map_regions_max = 8; // PageAllocator::regions_max
inline constexpr u32 page_map_order_max = 40;    // far above PageAllocator::order_max
inline constexpr u64 page_map_region_pages_max = u64{1} << 40;

// The live state both the builder and page_map_at replay into.
struct LivePageMap {
    std::vector<u64> region_pages;
    std::map<std::pair<u8, u64>, u8> used; // (region, first page) -> order

    void apply(const PageEvent& event)
    {
        if (event.region >= page_map_regions_max)
            return;
        if (event.op == PageOp::region) {
            // A region described again is a restarted kernel: it starts empty.
            if (region_pages.size() <= event.region)
                region_pages.resize(event.region + 1, 0);
            region_pages[event.region] = std::min(event.first_page, page_map_region_pages_max);
            auto first = used.lower_bound({event.region, 0});
            auto last = used.lower_bound({static_cast<u8>(event.region + 1), 0});
            used.erase(first, last);
            return;
        }
        if (event.order > page_map_order_max)
            return;
        std::pair<u8, u64> key{event.region, event.first_page};
        if (event.op == PageOp::alloc)
            used[key] = event.order;
        else
            used.erase(key); // freeing a block never allocated (a corrupt trace): nothing
    }

    void restore(const PageCheckpoint& checkpoint)
    {
        region_pages = checkpoint.region_pages;
        used.clear();
        for (const PageBlock& block : checkpoint.used)
            used.emplace_hint(used.end(), std::make_pair(block.region, block.first_page),
                              block.order);
    }

    std::vector<PageBlock> blocks() const
    {
        std::vector<PageBlock> out;
        out.reserve(used.size());
        for (const auto& [key, order] : used)
            out.push_back({key.second, key.first, order});
        return out;
    }
};

// Applies a page event to `live`, appends it to the node and stores a
// checkpoint when it is time for one.
void track_page_event(LivePageMap& live, NodeIndex& node, const PageEvent& event);

} // namespace gantry::viz
