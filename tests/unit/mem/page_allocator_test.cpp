// Buddy page allocator: splitting, coalescing, exhaustion, statistics, a
// model-based random test, determinism across regions and the assertions.
#include "mem_test_region.hpp"

#include <catch2/catch.hpp>

#include <gantry/mem.hpp>

#include <cstring>
#include <map>
#include <random>
#include <vector>

using gantry::PageAllocator;
using gantry::page_size;
using gantry::u32;
using gantry::u64;
using gantry::u8;
using gantry::usize;
using gantry::test::dies;
using gantry::test::TestRegion;

namespace {

struct Block {
    u32 region;
    usize page;
    u32 order;
    bool used;
};

std::vector<Block> blocks_of(const PageAllocator& pages)
{
    std::vector<Block> blocks;
    pages.for_each_block(
        [](void* context, u32 region, usize page, u32 order, bool used) {
            static_cast<std::vector<Block>*>(context)->push_back({region, page, order, used});
        },
        &blocks);
    return blocks;
}

usize page_of(const PageAllocator& pages, const void* block)
{
    u32 region = 0;
    usize page = 0;
    REQUIRE(pages.locate(block, region, page));
    return page;
}

} // namespace

TEST_CASE("order_for_bytes rounds up to a power of two of pages", "[mem][pages]")
{
    CHECK(PageAllocator::order_for_bytes(0) == 0);
    CHECK(PageAllocator::order_for_bytes(1) == 0);
    CHECK(PageAllocator::order_for_bytes(page_size) == 0);
    CHECK(PageAllocator::order_for_bytes(page_size + 1) == 1);
    CHECK(PageAllocator::order_for_bytes(2 * page_size) == 1);
    CHECK(PageAllocator::order_for_bytes(3 * page_size) == 2);
    CHECK(PageAllocator::order_for_bytes(usize{1} << 32) == 20);
}

TEST_CASE("a region keeps its metadata in its first page", "[mem][pages]")
{
    TestRegion memory(257);
    PageAllocator pages;
    REQUIRE(pages.add_region(memory.data(), memory.bytes()).ok());
    CHECK(pages.pages_total() == 256);
    CHECK(pages.pages_used() == 0);
    auto stats = pages.stats();
    CHECK(stats.largest_free_order == 8);
    CHECK(stats.free_blocks_by_order[8] == 1);
    CHECK(stats.fragmentation_permille == 0);
    void* first = pages.alloc_pages(0);
    CHECK(static_cast<u8*>(first) == memory.data() + page_size);
}

TEST_CASE("adding a region writes nothing into its blocks of 2 MiB and more", "[mem][pages]")
{
    // 1552 usable pages and one of metadata: a 4 MiB, a 2 MiB and a 64 KiB
    // free block. Under a VMM each first write to guest RAM is a host page
    // fault, so the free lists' links of large blocks live in the metadata.
    const usize total = 1024 + 512 + 16 + 1;
    TestRegion memory(total);
    std::memset(memory.data(), 0xa5, memory.bytes());
    PageAllocator pages;
    REQUIRE(pages.add_region(memory.data(), memory.bytes()).ok());
    const usize usable = pages.pages_total();
    const usize metadata = total - usable;
    auto untouched = [&](usize first_page, usize count) {
        const u8* begin = memory.data() + (metadata + first_page) * page_size;
        for (usize i = 0; i < count * page_size; ++i)
            if (begin[i] != 0xa5)
                return false;
        return true;
    };
    u32 large_blocks = 0;
    std::vector<usize> large_block_heads;
    pages.for_each_block(
        [](void* context, u32, usize first_page, u32 order, bool) {
            if (order >= PageAllocator::side_links_order)
                static_cast<std::vector<usize>*>(context)->push_back(first_page << 8 | order);
        },
        &large_block_heads);
    for (usize packed : large_block_heads) {
        CHECK(untouched(packed >> 8, usize{1} << (packed & 0xff)));
        ++large_blocks;
    }
    CHECK(metadata == 1);
    CHECK(large_blocks == 2);
    // They still work: a 4 MiB allocation, freed, merges back.
    void* big = pages.alloc_pages(10);
    REQUIRE(big != nullptr);
    pages.free_pages(big, 10);
    CHECK(pages.stats().fragmentation_permille == 0);
}

TEST_CASE("a region of any size starts as its binary decomposition", "[mem][pages]")
{
    TestRegion memory(1 + 1000); // 1000 usable pages = 512 + 256 + 128 + 64 + 32 + 8
    PageAllocator pages;
    REQUIRE(pages.add_region(memory.data(), memory.bytes()).ok());
    auto blocks = blocks_of(pages);
    std::vector<u32> orders;
    for (auto& block : blocks) {
        CHECK_FALSE(block.used);
        orders.push_back(block.order);
    }
    CHECK(orders == std::vector<u32>{9, 8, 7, 6, 5, 3});
    CHECK(pages.stats().fragmentation_permille == 0);
}

TEST_CASE("rejects too small regions and too many regions", "[mem][pages]")
{
    TestRegion memory(2 * PageAllocator::regions_max + 2);
    PageAllocator pages;
    auto tiny = pages.add_region(memory.data(), page_size); // metadata only
    REQUIRE_FALSE(tiny.ok());
    CHECK(tiny.error() == gantry::MemError::region_too_small);
    for (usize index = 0; index < PageAllocator::regions_max; ++index)
        REQUIRE(pages.add_region(memory.data() + 2 * index * page_size, 2 * page_size).ok());
    auto extra = pages.add_region(memory.data() + memory.bytes() - 2 * page_size, 2 * page_size);
    REQUIRE_FALSE(extra.ok());
    CHECK(extra.error() == gantry::MemError::too_many_regions);
    CHECK(pages.pages_total() == PageAllocator::regions_max);
}

TEST_CASE("buddies split on allocation and coalesce on free", "[mem][pages]")
{
    TestRegion memory(257);
    PageAllocator pages;
    REQUIRE(pages.add_region(memory.data(), memory.bytes()).ok());

    void* a = pages.alloc_pages(0);
    auto stats = pages.stats();
    for (u32 order = 0; order < 8; ++order)
        CHECK(stats.free_blocks_by_order[order] == 1); // the split left one buddy per order
    CHECK(stats.free_blocks_by_order[8] == 0);
    CHECK(stats.largest_free_order == 7);

    void* b = pages.alloc_pages(0);
    void* c = pages.alloc_pages(1);
    CHECK(page_of(pages, a) == 0);
    CHECK(page_of(pages, b) == 1);
    CHECK(page_of(pages, c) == 2);
    CHECK(pages.pages_used() == 4);

    pages.free_pages(a, 0); // buddy b is in use: no merge
    CHECK(pages.stats().free_blocks_by_order[0] == 1);
    pages.free_pages(b, 0); // merges to order 1, whose buddy c is in use
    stats = pages.stats();
    CHECK(stats.free_blocks_by_order[0] == 0);
    CHECK(stats.free_blocks_by_order[1] == 1);
    pages.free_pages(c, 1); // now everything merges back
    stats = pages.stats();
    CHECK(stats.free_blocks_by_order[8] == 1);
    CHECK(stats.largest_free_order == 8);
    CHECK(stats.pages_used == 0);
    CHECK(stats.pages_used_high_water == 4);
    CHECK(stats.allocations == 3);
    CHECK(stats.fragmentation_permille == 0);
    auto blocks = blocks_of(pages);
    REQUIRE(blocks.size() == 1);
    CHECK(blocks[0].order == 8);
}

TEST_CASE("allocating until exhausted and freeing all restores one block", "[mem][pages]")
{
    TestRegion memory(257);
    PageAllocator pages;
    REQUIRE(pages.add_region(memory.data(), memory.bytes()).ok());
    std::vector<void*> live;
    while (void* block = pages.alloc_pages(0))
        live.push_back(block);
    CHECK(live.size() == 256);
    CHECK(pages.pages_used() == 256);
    CHECK(pages.stats().failures == 1);
    CHECK(pages.alloc_pages(3) == nullptr);
    CHECK(pages.stats().failures == 2);
    CHECK(pages.stats().fragmentation_permille == 0); // nothing free, nothing fragmented

    // Free every other page first: all free memory in single pages.
    for (usize index = 0; index < live.size(); index += 2)
        pages.free_pages(live[index], 0);
    auto stats = pages.stats();
    CHECK(stats.fragmentation_permille == 1000);
    CHECK(stats.free_blocks_by_order[0] == 128);
    CHECK(stats.largest_free_order == 0);

    std::mt19937_64 random(7);
    std::vector<void*> rest;
    for (usize index = 1; index < live.size(); index += 2)
        rest.push_back(live[index]);
    std::shuffle(rest.begin(), rest.end(), random);
    for (void* block : rest)
        pages.free_pages(block, 0);
    stats = pages.stats();
    CHECK(stats.pages_used == 0);
    CHECK(stats.fragmentation_permille == 0);
    CHECK(stats.free_blocks_by_order[8] == 1);
    CHECK(blocks_of(pages).size() == 1);
    CHECK(stats.pages_used_high_water == 256);
}

TEST_CASE("fragmentation is measured against the best shape", "[mem][pages]")
{
    TestRegion memory(1 + 8);
    PageAllocator pages;
    REQUIRE(pages.add_region(memory.data(), memory.bytes()).ok());
    void* first = pages.alloc_pages(0);
    // Free: pages 1, 2-3, 4-7 (7 pages, best shape 4+2+1 as well): weight 2*1+4*2 = 10.
    CHECK(pages.stats().fragmentation_permille == 0);
    void* second = pages.alloc_pages(1); // takes pages 2-3
    // Free: page 1 and pages 4-7; best for 5 pages is 4+1: still ideal.
    CHECK(pages.stats().fragmentation_permille == 0);
    pages.free_pages(first, 0);
    // Pages 0 and 1 merge (their order-1 buddy 2-3 is in use): 4+2, ideal again.
    CHECK(pages.stats().fragmentation_permille == 0);
    CHECK(page_of(pages, pages.alloc_pages(0)) == 0); // splits 0-1 again
    void* fourth = pages.alloc_pages(1);             // splits 4-7, takes 4-5
    CHECK(page_of(pages, fourth) == 4);
    // Free: one page and pages 6-7: 3 pages as 2+1, ideal.
    CHECK(pages.stats().fragmentation_permille == 0);
    pages.free_pages(second, 1);
    // Free: one page, 2-3, 6-7 = 5 pages; best 4+1 has weight 8, actual 4: 500.
    CHECK(pages.stats().fragmentation_permille == 500);
    pages.free_pages(fourth, 1);
    CHECK(pages.stats().largest_free_order == 2);
}

TEST_CASE("blocks are visited in address order and locate finds their region",
          "[mem][pages]")
{
    TestRegion first(1 + 16);
    TestRegion second(1 + 8);
    PageAllocator pages;
    REQUIRE(pages.add_region(first.data(), first.bytes()).ok());
    REQUIRE(pages.add_region(second.data(), second.bytes()).ok());
    CHECK(pages.pages_total() == 24);
    std::vector<void*> live;
    for (int index = 0; index < 4; ++index)
        live.push_back(pages.alloc_pages(2));
    auto blocks = blocks_of(pages);
    usize previous_end = 0;
    u32 previous_region = 0;
    for (auto& block : blocks) {
        if (block.region != previous_region)
            previous_end = 0;
        CHECK(block.page == previous_end);
        previous_end = block.page + (usize{1} << block.order);
        previous_region = block.region;
    }
    u32 region = 99;
    usize page = 0;
    CHECK(pages.locate(second.data() + page_size + 3 * page_size + 5, region, page));
    CHECK(region == 1);
    CHECK(page == 3);
    CHECK_FALSE(pages.locate(second.data(), region, page)); // metadata is not a page
    int outside = 0;
    CHECK_FALSE(pages.locate(&outside, region, page));
    for (void* block : live)
        pages.free_pages(block, 2);
    CHECK(pages.pages_used() == 0);
}

namespace {

struct LiveBlock {
    u32 order;
    u64 tag;
    u8* address;
};

void write_pattern(const LiveBlock& block)
{
    for (usize page = 0; page < (usize{1} << block.order); ++page) {
        u64 head = block.tag ^ page;
        u64 tail = ~head;
        std::memcpy(block.address + page * page_size, &head, sizeof head);
        std::memcpy(block.address + (page + 1) * page_size - sizeof tail, &tail, sizeof tail);
    }
}

bool pattern_intact(const LiveBlock& block)
{
    for (usize page = 0; page < (usize{1} << block.order); ++page) {
        u64 head = 0;
        u64 tail = 0;
        std::memcpy(&head, block.address + page * page_size, sizeof head);
        std::memcpy(&tail, block.address + (page + 1) * page_size - sizeof tail, sizeof tail);
        if (head != (block.tag ^ page) || tail != ~(block.tag ^ page))
            return false;
    }
    return true;
}

// The allocator's page map must match the model exactly, tile the region and
// never leave two free buddies of the same order unmerged.
void check_against_model(const PageAllocator& pages, const std::map<usize, LiveBlock>& model)
{
    auto blocks = blocks_of(pages);
    usize used = 0;
    usize free_by_order[PageAllocator::order_max + 1] = {};
    std::map<usize, u32> free_blocks;
    for (auto& block : blocks) {
        if (block.used) {
            auto found = model.find(block.page);
            REQUIRE(found != model.end());
            REQUIRE(found->second.order == block.order);
            ++used;
        } else {
            ++free_by_order[block.order];
            free_blocks[block.page] = block.order;
        }
    }
    REQUIRE(used == model.size());
    for (auto& [page, order] : free_blocks) {
        auto buddy = free_blocks.find(page ^ (usize{1} << order));
        REQUIRE((buddy == free_blocks.end() || buddy->second != order));
    }
    auto stats = pages.stats();
    for (u32 order = 0; order <= PageAllocator::order_max; ++order)
        REQUIRE(stats.free_blocks_by_order[order] == free_by_order[order]);
}

} // namespace

TEST_CASE("100k random page operations agree with a model", "[mem][pages][model]")
{
    const u64 seed = GENERATE(1, 2);
    CAPTURE(seed);
    TestRegion memory(1 + 3000); // not a power of two: edge blocks have no buddy
    PageAllocator pages;
    REQUIRE(pages.add_region(memory.data(), memory.bytes()).ok());
    std::mt19937_64 random(seed);
    std::map<usize, LiveBlock> model; // first page -> block
    usize model_pages = 0;
    u64 model_allocations = 0;
    u64 model_failures = 0;

    for (int step = 0; step < 100'000; ++step) {
        bool allocate = model.empty() || random() % 100 < 55;
        if (allocate) {
            u32 order = random() % 2 == 0 ? 0 : static_cast<u32>(1 + random() % 6);
            auto before = pages.stats();
            auto* address = static_cast<u8*>(pages.alloc_pages(order));
            if (address == nullptr) {
                // Only allowed when no free block is big enough.
                for (u32 bigger = order; bigger <= PageAllocator::order_max; ++bigger)
                    REQUIRE(before.free_blocks_by_order[bigger] == 0);
                ++model_failures;
                continue;
            }
            usize page = page_of(pages, address);
            usize size = usize{1} << order;
            REQUIRE(page % size == 0);
            REQUIRE(page + size <= pages.pages_total());
            auto next = model.lower_bound(page);
            if (next != model.end())
                REQUIRE(page + size <= next->first);
            if (next != model.begin()) {
                auto previous = std::prev(next);
                REQUIRE(previous->first + (usize{1} << previous->second.order) <= page);
            }
            LiveBlock block{order, random(), address};
            write_pattern(block);
            model[page] = block;
            model_pages += size;
            ++model_allocations;
        } else {
            auto victim = model.begin();
            std::advance(victim, static_cast<long>(random() % model.size()));
            REQUIRE(pattern_intact(victim->second));
            pages.free_pages(victim->second.address, victim->second.order);
            model_pages -= usize{1} << victim->second.order;
            model.erase(victim);
        }
        REQUIRE(pages.pages_used() == model_pages);
        if (step % 997 == 0)
            check_against_model(pages, model);
    }
    auto stats = pages.stats();
    CHECK(stats.allocations == model_allocations);
    CHECK(stats.failures == model_failures);
    check_against_model(pages, model);
    for (auto& [page, block] : model) {
        REQUIRE(pattern_intact(block));
        pages.free_pages(block.address, block.order);
    }
    CHECK(pages.pages_used() == 0);
    CHECK(pages.stats().fragmentation_permille == 0);
}

TEST_CASE("two allocators on different regions make the same choices", "[mem][pages]")
{
    TestRegion first(1 + 512);
    TestRegion second(1 + 512); // elsewhere in memory: only offsets may match
    PageAllocator a;
    PageAllocator b;
    REQUIRE(a.add_region(first.data(), first.bytes()).ok());
    REQUIRE(b.add_region(second.data(), second.bytes()).ok());
    std::mt19937_64 random(42);
    std::vector<std::pair<void*, void*>> live;
    std::vector<u32> orders;
    for (int step = 0; step < 20'000; ++step) {
        if (live.empty() || random() % 2 == 0) {
            u32 order = static_cast<u32>(random() % 5);
            void* block_a = a.alloc_pages(order);
            void* block_b = b.alloc_pages(order);
            REQUIRE((block_a == nullptr) == (block_b == nullptr));
            if (block_a == nullptr)
                continue;
            REQUIRE(static_cast<u8*>(block_a) - first.data() ==
                    static_cast<u8*>(block_b) - second.data());
            live.emplace_back(block_a, block_b);
            orders.push_back(order);
        } else {
            usize index = random() % live.size();
            a.free_pages(live[index].first, orders[index]);
            b.free_pages(live[index].second, orders[index]);
            live[index] = live.back();
            orders[index] = orders.back();
            live.pop_back();
            orders.pop_back();
        }
    }
    CHECK(a.stats().fragmentation_permille == b.stats().fragmentation_permille);
    CHECK(a.stats().allocations == b.stats().allocations);
}

TEST_CASE("page allocator assertions catch misuse", "[mem][pages][death]")
{
    TestRegion memory(1 + 64);
    PageAllocator pages;
    REQUIRE(pages.add_region(memory.data(), memory.bytes()).ok());
    auto* block = static_cast<u8*>(pages.alloc_pages(2));
    REQUIRE(block != nullptr);

    CHECK(dies([&] {
        pages.free_pages(block, 2);
        pages.free_pages(block, 2);
    }));
    CHECK(dies([&] { pages.free_pages(block, 1); }));              // wrong order
    CHECK(dies([&] { pages.free_pages(block + page_size, 0); }));  // inner page
    CHECK(dies([&] { pages.free_pages(block + 8, 2); }));          // misaligned
    CHECK(dies([&] { (void)pages.alloc_pages(PageAllocator::order_max + 1); }));
    int outside = 0;
    CHECK(dies([&] { pages.free_pages(&outside, 0); }));
    CHECK_FALSE(dies([&] { pages.free_pages(block, 2); })); // the right free is fine
}
