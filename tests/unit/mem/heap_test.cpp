// Size-class heap: classes, alignment, statistics and high-water marks, the slab
// cache, large blocks, fault injection, a model-based random test, determinism
// across regions and the assertions.
#include "mem_test_region.hpp"

#include <catch2/catch.hpp>

#include <gantry/mem.hpp>

#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <vector>

using gantry::Heap;
using gantry::HeapStats;
using gantry::PageAllocator;
using gantry::page_size;
using gantry::u32;
using gantry::u64;
using gantry::u8;
using gantry::usize;
using gantry::test::dies;
using gantry::test::TestRegion;

namespace {

struct HeapFixture {
    // One metadata byte per usable page (rounded up to 8) and 16 bytes of free-list
    // links per 2^side_links_order pages, in whole pages ahead of them.
    static usize metadata_pages(usize usable_pages)
    {
        const usize bytes = (usable_pages + 7) / 8 * 8 +
                            (usable_pages >> PageAllocator::side_links_order) * 16;
        return (bytes + page_size - 1) / page_size;
    }
    explicit HeapFixture(usize usable_pages)
        : memory(usable_pages + metadata_pages(usable_pages)), heap(pages)
    {
        REQUIRE(pages.add_region(memory.data(), memory.bytes()).ok());
        REQUIRE(pages.pages_total() == usable_pages);
    }
    TestRegion memory;
    PageAllocator pages;
    Heap heap;
};

u32 class_for(const HeapStats& stats, usize bytes)
{
    for (u32 index = 0; index < stats.class_count; ++index)
        if (stats.class_bytes[index] >= bytes)
            return index;
    FAIL("no class for " << bytes);
    return 0;
}

} // namespace

TEST_CASE("size classes cover 0..small_bytes_max tightly", "[mem][heap]")
{
    CHECK(Heap::class_bytes(0) == 16);
    CHECK(Heap::class_bytes(Heap::class_count - 1) == Heap::small_bytes_max);
    for (usize bytes = 0; bytes <= Heap::small_bytes_max; ++bytes) {
        u32 index = Heap::class_index(bytes);
        REQUIRE(index < Heap::class_count);
        REQUIRE(Heap::class_bytes(index) >= bytes);
        if (index > 0)
            REQUIRE(Heap::class_bytes(index - 1) < bytes);
    }
    PageAllocator pages;
    Heap heap(pages);
    auto stats = heap.stats();
    CHECK(stats.class_count == Heap::class_count);
    for (u32 index = 0; index < Heap::class_count; ++index)
        CHECK(stats.class_bytes[index] == Heap::class_bytes(index));
}

TEST_CASE("every allocation is 16-byte aligned", "[mem][heap]")
{
    HeapFixture fixture(256);
    std::vector<void*> live;
    for (usize bytes : {0, 1, 7, 15, 16, 17, 33, 100, 129, 500, 1000, 1024, 1025, 4000, 5000,
                        8192, 20000}) {
        void* pointer = fixture.heap.alloc(bytes);
        REQUIRE(pointer != nullptr);
        CHECK(reinterpret_cast<std::uintptr_t>(pointer) % Heap::alignment == 0);
        std::memset(pointer, 0xab, bytes);
        live.push_back(pointer);
    }
    for (void* pointer : live)
        fixture.heap.free(pointer);
    fixture.heap.free(nullptr); // like free(3): a no-op
    CHECK(fixture.heap.stats().bytes_requested == 0);
}

TEST_CASE("statistics count live objects, bytes and high-water marks", "[mem][heap]")
{
    HeapFixture fixture(64);
    Heap& heap = fixture.heap;
    void* a = heap.alloc(10);
    void* b = heap.alloc(16);
    void* c = heap.alloc(100);
    void* big = heap.alloc(5000);
    auto stats = heap.stats();
    CHECK(stats.class_in_use[0] == 2);
    CHECK(stats.class_in_use[Heap::class_index(100)] == 1);
    CHECK(stats.class_allocations[0] == 2);
    CHECK(stats.bytes_requested == 10 + 16 + 100 + 5000);
    CHECK(stats.bytes_requested_high_water == 5126);
    CHECK(stats.large_allocations_live == 1);
    CHECK(stats.slab_pages == 2);
    CHECK(stats.allocations == 4);
    CHECK(fixture.pages.pages_used() == 2 + 2); // two slabs, 5016 bytes -> 2 pages

    heap.free(big);
    heap.free(a);
    stats = heap.stats();
    CHECK(stats.bytes_requested == 116);
    CHECK(stats.bytes_requested_high_water == 5126);
    CHECK(stats.large_allocations_live == 0);
    CHECK(stats.class_in_use[0] == 1);
    CHECK(stats.frees == 2);
    void* d = heap.alloc(50);
    CHECK(heap.stats().bytes_requested_high_water == 5126);
    heap.free(b);
    heap.free(c);
    heap.free(d);
    stats = heap.stats();
    CHECK(stats.bytes_requested == 0);
    CHECK(stats.class_allocations[0] == 2);
    CHECK(stats.frees == 5);
}

TEST_CASE("at most one empty slab per class stays cached", "[mem][heap]")
{
    HeapFixture fixture(64);
    Heap& heap = fixture.heap;
    std::vector<void*> live;
    for (int index = 0; index < 12; ++index) // 1024-byte objects: 3 per slab
        live.push_back(heap.alloc(1024));
    CHECK(heap.stats().slab_pages == 4);
    CHECK(fixture.pages.pages_used() == 4);
    for (void* pointer : live)
        heap.free(pointer);
    CHECK(heap.stats().slab_pages == 1);
    CHECK(fixture.pages.pages_used() == 1);
    // Ping-pong at a slab boundary reuses the cached slab.
    for (int round = 0; round < 100; ++round)
        heap.free(heap.alloc(1000));
    CHECK(fixture.pages.stats().allocations == 4);
    CHECK(fixture.pages.pages_used() == 1);
}

TEST_CASE("inject_failures fails exactly the next n allocations", "[mem][heap]")
{
    HeapFixture fixture(16);
    Heap& heap = fixture.heap;
    heap.inject_failures(3);
    CHECK(heap.alloc(8) == nullptr);
    CHECK(heap.alloc(5000) == nullptr);
    CHECK(heap.create<u64>(5) == nullptr);
    auto stats = heap.stats();
    CHECK(stats.failures == 3);
    CHECK(stats.allocations == 0);
    CHECK(fixture.pages.pages_used() == 0); // failed before touching the pages
    u64* value = heap.create<u64>(5);
    REQUIRE(value != nullptr);
    CHECK(*value == 5);
    heap.destroy(value);
    CHECK(heap.stats().failures == 3);
}

TEST_CASE("exhausting the pages fails allocations, freeing recovers", "[mem][heap]")
{
    HeapFixture fixture(16);
    Heap& heap = fixture.heap;
    std::vector<void*> live;
    while (void* pointer = heap.alloc(64))
        live.push_back(pointer);
    CHECK(live.size() > 16 * 50);
    CHECK(heap.stats().failures == 1);
    CHECK(fixture.pages.pages_used() == 16);
    CHECK(heap.alloc(100000) == nullptr);
    CHECK(heap.alloc(~usize{0}) == nullptr); // no overflow in the size arithmetic
    CHECK(heap.stats().failures == 3);
    for (void* pointer : live)
        heap.free(pointer);
    CHECK(fixture.pages.pages_used() == 1); // the cached empty slab
    void* big = heap.alloc(7 * page_size);
    CHECK(big != nullptr);
    heap.free(big);
}

namespace {

struct LiveObject {
    usize bytes;
    u8 seed;
};

void fill(u8* pointer, const LiveObject& object)
{
    for (usize index = 0; index < object.bytes; ++index)
        pointer[index] = static_cast<u8>(object.seed + index * 7);
}

bool intact(const u8* pointer, const LiveObject& object)
{
    for (usize index = 0; index < object.bytes; ++index)
        if (pointer[index] != static_cast<u8>(object.seed + index * 7))
            return false;
    return true;
}

// Sizes from 1 to 8192, log-uniform so the small classes get their share.
usize random_size(std::mt19937_64& random)
{
    usize bits = random() % 14;
    return 1 + random() % (usize{1} << bits);
}

struct HeapModel {
    std::map<std::uintptr_t, LiveObject> live;
    u64 in_use[HeapStats::classes_max] = {};
    u64 class_allocations[HeapStats::classes_max] = {};
    usize bytes = 0;
    usize bytes_high = 0;
    usize large = 0;
    u64 allocations = 0;
    u64 frees = 0;

    void check(const HeapStats& stats) const
    {
        for (u32 index = 0; index < stats.class_count; ++index) {
            REQUIRE(stats.class_in_use[index] == in_use[index]);
            REQUIRE(stats.class_allocations[index] == class_allocations[index]);
        }
        REQUIRE(stats.bytes_requested == bytes);
        REQUIRE(stats.bytes_requested_high_water == bytes_high);
        REQUIRE(stats.large_allocations_live == large);
        REQUIRE(stats.allocations == allocations);
        REQUIRE(stats.frees == frees);
    }
};

} // namespace

TEST_CASE("100k random heap operations agree with a model", "[mem][heap][model]")
{
    const u64 seed = GENERATE(11, 12);
    CAPTURE(seed);
    HeapFixture fixture(16384); // 64 MiB: the live set below always fits
    Heap& heap = fixture.heap;
    const HeapStats initial = heap.stats();
    std::mt19937_64 random(seed);
    HeapModel model;
    constexpr usize live_max = 3000;

    for (int step = 0; step < 100'000; ++step) {
        bool allocate = model.live.empty() || (model.live.size() < live_max && random() % 2);
        if (allocate) {
            LiveObject object{random_size(random), static_cast<u8>(random())};
            auto* pointer = static_cast<u8*>(heap.alloc(object.bytes));
            REQUIRE(pointer != nullptr);
            auto where = reinterpret_cast<std::uintptr_t>(pointer);
            REQUIRE(where % Heap::alignment == 0);
            auto next = model.live.lower_bound(where);
            if (next != model.live.end())
                REQUIRE(where + object.bytes <= next->first);
            if (next != model.live.begin()) {
                auto previous = std::prev(next);
                REQUIRE(previous->first + previous->second.bytes <= where);
            }
            fill(pointer, object);
            model.live[where] = object;
            if (object.bytes > Heap::small_bytes_max) {
                ++model.large;
            } else {
                ++model.in_use[class_for(initial, object.bytes)];
                ++model.class_allocations[class_for(initial, object.bytes)];
            }
            model.bytes += object.bytes;
            model.bytes_high = std::max(model.bytes_high, model.bytes);
            ++model.allocations;
        } else {
            auto victim = model.live.begin();
            std::advance(victim, static_cast<long>(random() % model.live.size()));
            auto* pointer = reinterpret_cast<u8*>(victim->first);
            REQUIRE(intact(pointer, victim->second));
            heap.free(pointer);
            if (victim->second.bytes > Heap::small_bytes_max)
                --model.large;
            else
                --model.in_use[class_for(initial, victim->second.bytes)];
            model.bytes -= victim->second.bytes;
            ++model.frees;
            model.live.erase(victim);
        }
        if (step % 101 == 0)
            model.check(heap.stats());
    }
    model.check(heap.stats());
    for (auto& [where, object] : model.live) {
        REQUIRE(intact(reinterpret_cast<u8*>(where), object));
        heap.free(reinterpret_cast<void*>(where));
    }
    auto stats = heap.stats();
    CHECK(stats.bytes_requested == 0);
    CHECK(stats.large_allocations_live == 0);
    CHECK(stats.failures == 0);
    for (u32 index = 0; index < stats.class_count; ++index)
        CHECK(stats.class_in_use[index] == 0);
    CHECK(stats.slab_pages <= Heap::class_count); // only the cached empty slabs remain
    CHECK(fixture.pages.pages_used() == stats.slab_pages);
}

TEST_CASE("two heaps on different regions hand out the same offsets", "[mem][heap]")
{
    HeapFixture a(2048);
    HeapFixture b(2048);
    std::mt19937_64 random(99);
    std::vector<std::pair<void*, void*>> live;
    for (int step = 0; step < 50'000; ++step) {
        if (live.empty() || random() % 2 == 0) {
            usize bytes = random_size(random);
            auto* pointer_a = static_cast<u8*>(a.heap.alloc(bytes));
            auto* pointer_b = static_cast<u8*>(b.heap.alloc(bytes));
            REQUIRE(pointer_a != nullptr);
            REQUIRE(pointer_a - a.memory.data() == pointer_b - b.memory.data());
            live.emplace_back(pointer_a, pointer_b);
        } else {
            usize index = random() % live.size();
            a.heap.free(live[index].first);
            b.heap.free(live[index].second);
            live[index] = live.back();
            live.pop_back();
        }
    }
    CHECK(a.pages.stats().fragmentation_permille == b.pages.stats().fragmentation_permille);
    CHECK(a.heap.stats().slab_pages == b.heap.stats().slab_pages);
}

TEST_CASE("heap assertions catch misuse", "[mem][heap][death]")
{
    HeapFixture fixture(16);
    Heap& heap = fixture.heap;
    auto* small = static_cast<u8*>(heap.alloc(64));
    auto* other = static_cast<u8*>(heap.alloc(64));
    auto* large = static_cast<u8*>(heap.alloc(6000));
    auto* raw = static_cast<u8*>(fixture.pages.alloc_pages(0));
    std::memset(raw, 0, page_size);
    int outside = 0;

    CHECK(dies([&] {
        heap.free(small);
        heap.free(small);
    }));
    CHECK(dies([&] {
        heap.free(large);
        heap.free(large);
    }));
    CHECK(dies([&] { heap.free(small + 16); }));       // inside an object
    CHECK(dies([&] { heap.free(large + 16); }));       // inside a large block
    CHECK(dies([&] { heap.free(large + page_size); })); // its second page
    CHECK(dies([&] { heap.free(raw + 64); }));         // pages the heap never owned
    CHECK(dies([&] { heap.free(&outside); }));         // not in any region
    CHECK_FALSE(dies([&] {
        heap.free(small);
        heap.free(other);
        heap.free(large);
    }));
}
