// The memory view's page map and heap classes: rebuilt from a real kernel's
// trace, they must equal what the allocator itself held at each moment.
#include "viz_test_support.hpp"

#include <gantry/viz/layout.hpp>

#include <catch2/catch.hpp>

#include <random>

using namespace gantry;
using namespace gantry::viz;
using namespace gantry::viz_test;

namespace {

std::vector<PageBlock> allocator_blocks(const PageAllocator& pages)
{
    std::vector<PageBlock> blocks;
    pages.for_each_block(
        [](void* context, u32 region, usize first_page, u32 order, bool used) {
            if (used)
                static_cast<std::vector<PageBlock>*>(context)->push_back(
                    {first_page, static_cast<u8>(region), static_cast<u8>(order)});
        },
        &blocks);
    return blocks;
}

struct Moment {
    TimeNs time;
    std::vector<PageBlock> blocks;
    HeapStats heap;
};

} // namespace

TEST_CASE("page map: replayed page events equal the allocator's blocks at every moment")
{
    KernelConfig config;
    config.trace = true;
    gantry::testing::TestKernel tk(config);
    Kernel& kernel = *tk.kernel;
    std::mt19937 random(8);
    std::vector<std::pair<void*, u32>> blocks;
    std::vector<void*> objects;
    std::vector<Moment> moments;
    // Enough operations that the map is rebuilt from checkpoints, not from the start.
    for (int step = 0; step < 24000; ++step) {
        tk.platform.advance(1000);
        u32 choice = random() % 8;
        if (choice < 2 && blocks.size() < 200) {
            u32 order = random() % 4;
            if (void* block = kernel.pages().alloc_pages(order))
                blocks.push_back({block, order});
        } else if (choice < 4 && !blocks.empty()) {
            usize i = random() % blocks.size();
            kernel.pages().free_pages(blocks[i].first, blocks[i].second);
            blocks.erase(blocks.begin() + static_cast<long>(i));
        } else if (choice < 6 && objects.size() < 3000) {
            usize sizes[] = {16, 48, 200, 700, 1024, 3000, 9000};
            if (void* object = kernel.heap().alloc(sizes[random() % 7]))
                objects.push_back(object);
        } else if (!objects.empty()) {
            usize i = random() % objects.size();
            kernel.heap().free(objects[i]);
            objects.erase(objects.begin() + static_cast<long>(i));
        }
        if (step % 1000 == 999) {
            kernel.trace_mem_stats();
            moments.push_back({tk.platform.now(), allocator_blocks(kernel.pages()),
                               kernel.heap().stats()});
        }
    }
    kernel.trace().flush();
    TraceModel model = load_trace_bytes(with_header(tk.platform.trace_bytes()));
    REQUIRE(model.nodes.size() == 1);
    const NodeIndex& node = model.nodes[0];
    CHECK(node.pages.size() > 12000);
    CHECK(node.page_checkpoints.size() >= 2);
    REQUIRE(moments.size() == 24);
    for (const Moment& moment : moments) {
        PageMap map = page_map_at(node, moment.time);
        REQUIRE(map.region_pages.size() == 1);
        CHECK(map.region_pages[0] == kernel.pages().pages_total());
        CHECK(map.used == moment.blocks);
        const HeapSample* sample = heap_sample_at(node, moment.time);
        REQUIRE(sample != nullptr);
        CHECK(sample->time == moment.time);
        REQUIRE(node.heap_class_count == Heap::class_count);
        for (usize c = 0; c < Heap::class_count; ++c) {
            CHECK(node.heap_class_bytes[c] == Heap::class_bytes(static_cast<u32>(c)));
            CHECK(sample->objects_live[c] == moment.heap.class_in_use[c]);
        }
        CHECK(sample->slab_pages == moment.heap.slab_pages);
        CHECK(sample->large_live == moment.heap.large_allocations_live);
        CHECK(sample->large_pages == moment.heap.large_pages);
    }
    // From the first record on, the trace buffer's own block is in use.
    CHECK(page_map_at(node, node.first_time).used.size() >= 1);
}

TEST_CASE("page map: corrupt page records are ignored, a re-described region starts empty")
{
    ManualTrace trace(0);
    trace.time = 10;
    trace.tracer.page_region(0, 64);
    trace.tracer.page_alloc(0, 2, 8);
    trace.tracer.page_alloc(200, 0, 0);  // no such region
    trace.tracer.page_alloc(0, 63, 0);   // an order no allocator has
    trace.tracer.page_free(0, 0, 33);    // never allocated
    trace.tracer.page_alloc(0, 0, 1000); // past the region: kept, not drawn
    trace.time = 20;
    trace.tracer.page_region(0, u64{1} << 62); // absurd size: clamped
    trace.tracer.page_alloc(0, 5, 32);
    TraceModel model = load_trace_bytes(with_header(trace.finish()));
    const NodeIndex& node = model.nodes[0];
    PageMap early = page_map_at(node, 15);
    REQUIRE(early.region_pages == std::vector<u64>{64});
    CHECK(early.used == std::vector<PageBlock>{{8, 0, 2}, {1000, 0, 0}});
    PageMapGeometry geometry = page_map_geometry({0, 0, 64, 16}, early);
    std::vector<PageRun> runs = page_runs(geometry, early);
    REQUIRE(runs.size() == 1); // the block past the region has no cell
    CHECK(runs[0].block == PageBlock{8, 0, 2});
    PageMap late = page_map_at(node, 20);
    CHECK(late.used == std::vector<PageBlock>{{32, 0, 5}});
    CHECK(late.region_pages[0] <= u64{1} << 40);
    PageMapGeometry huge = page_map_geometry({0, 0, 300, 40}, late);
    CHECK(huge.cells <= 300u * 40u);
    CHECK(page_runs(huge, late).size() <= 40);
}

TEST_CASE("page map geometry: cells, runs across rows, and the page under a pixel")
{
    PageMap map;
    map.region_pages = {100, 20};
    map.used = {{0, 0, 0}, {8, 0, 3}, {4, 1, 2}};
    // 30 x 20 px: 4 px cells hold 7 x 5 = 35 cells, too few for 120 pages; 1 px
    // cells hold 600 (30 per row), one page each.
    PageMapGeometry g = page_map_geometry({10, 5, 30, 20}, map);
    CHECK(g.cell_px == 2); // 15 x 10 = 150 cells >= 120
    CHECK(g.pages_per_cell == 1);
    CHECK(g.columns == 15);
    CHECK(g.region_cell == std::vector<u64>{0, 100});
    std::vector<PageRun> runs = page_runs(g, map);
    // Block 8..15 of region 0 crosses from row 0 (cells 8..14) into row 1 (cell
    // 15); region 1's block 4..7 is cells 104..107: the end of row 6, then row 7.
    REQUIRE(runs.size() == 5);
    CHECK(runs[0].rect.x == 10);
    CHECK(runs[0].rect.w == 2);
    CHECK(runs[1].rect.x == 10 + 8 * 2);
    CHECK(runs[1].rect.w == 7 * 2);
    CHECK(runs[2].rect.y == 5 + 2);
    CHECK(runs[2].rect.w == 2);
    CHECK(runs[3].rect.x == 10 + 14 * 2);
    CHECK(runs[3].rect.y == 5 + 6 * 2);
    CHECK(runs[4].rect.x == 10);
    CHECK(runs[4].rect.w == 3 * 2);
    auto page = page_at(g, map, runs[3].rect.x, runs[3].rect.y);
    REQUIRE(page);
    CHECK(page->first == 1);
    CHECK(page->second == 4);
    CHECK_FALSE(page_at(g, map, 10 + 14 * 2, 5 + 9 * 2)); // cell 149: past every region
    PageMapGeometry none = page_map_geometry({0, 0, 0, 0}, map); // no room: nothing placed
    CHECK(page_runs(none, map).empty());
    CHECK_FALSE(page_at(none, map, 0, 0));
}

TEST_CASE("heap bars: one per class and one for large allocations, on a shared scale")
{
    NodeIndex node;
    node.heap_class_count = 2;
    node.heap_class_bytes[0] = 16;
    node.heap_class_bytes[1] = 32;
    node.heap.push_back({5, 1, 1, 2, {4, 0}});   // 64 B, 0 B, large 8192 B
    node.heap.push_back({9, 1, 0, 0, {100, 3}}); // 1600 B, 96 B
    node.heap_bar_bytes_max = 8192;
    CHECK(heap_sample_at(node, 4) == nullptr);
    CHECK(heap_sample_at(node, 8) == &node.heap[0]);
    std::vector<HeapBar> bars = heap_bars({0, 0, 90, 60}, node, heap_sample_at(node, 8));
    REQUIRE(bars.size() == 3);
    CHECK(bars[0].bytes == 64);
    CHECK(bars[1].bytes == 0);
    CHECK(bars[1].value.h == 0);
    CHECK(bars[2].bytes == 8192);
    CHECK(bars[2].value.h == 60 - heap_bar_label_px);
    CHECK(bars[0].value.h >= 1); // small but live: still visible
}
