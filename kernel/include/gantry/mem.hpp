// Memory: a buddy page allocator over the platform's regions, and a size-class
// heap on top of it. Both keep statistics for the log, the trace and the
// visualiser. Neither ever depends on absolute addresses for its decisions, so
// two runs with the same inputs behave identically wherever the regions land.
#pragma once

#include <gantry/result.hpp>
#include <gantry/types.hpp>

#include <new>
#include <utility>

namespace gantry {

inline constexpr usize page_size = 4096;

struct PageStats {
    usize pages_total = 0;
    usize pages_used = 0;
    usize pages_used_high_water = 0;
    usize largest_free_order = 0;   // order of the largest free block (0 if none)
    usize free_blocks_by_order[21]; // count of free blocks per order
    u64 allocations = 0;
    u64 failures = 0;
    // 0 = all free memory in one block of the largest possible order, 1000 = all
    // free memory in single pages. Per-mille to stay integer.
    u32 fragmentation_permille = 0;
};

enum class MemError : u8 { region_too_small, too_many_regions };

// Binary buddy allocator. Block of order k = 2^k pages, aligned to its size
// relative to the region start.
class PageAllocator {
public:
    static constexpr u32 order_max = 20; // 4 GiB blocks
    static constexpr usize regions_max = 8;

    PageAllocator() = default;
    PageAllocator(const PageAllocator&) = delete;

    // Hands a region to the allocator. Its first pages hold the per-page metadata.
    Status<MemError> add_region(u8* base, usize bytes);

    // nullptr when no block of that order is free. Contents are not cleared.
    void* alloc_pages(u32 order);
    void free_pages(void* block, u32 order);

    static u32 order_for_bytes(usize bytes);

    PageStats stats() const;
    usize pages_total() const { return m_pages_total; }
    usize pages_used() const { return m_pages_used; }

    // Calls `visit(context, region_index, first_page, order, used)` for every
    // block, in address order within each region: the page map the visualiser draws.
    using BlockVisitor = void (*)(void* context, u32 region, usize first_page, u32 order,
                                  bool used);
    void for_each_block(BlockVisitor visit, void* context) const;

    // Region index and page number of an address inside a region: what the trace
    // records instead of raw pointers.
    bool locate(const void* address, u32& region, usize& page) const;

private:
    struct FreeBlock {
        FreeBlock* next;
        FreeBlock* prev;
    };
    struct Region {
        u8* base = nullptr;  // first usable page (after metadata)
        usize pages = 0;
        u8* page_info = nullptr; // per page: see mem/page_allocator.cpp
        u32 region_index = 0;
    };

    Region* region_of(const void* address);
    void push_free(Region& region, usize page, u32 order);
    void remove_free(Region& region, usize page, u32 order);

    Region m_regions[regions_max];
    usize m_region_count = 0;
    FreeBlock* m_free_lists[order_max + 1] = {};
    usize m_free_counts[order_max + 1] = {};
    usize m_pages_total = 0;
    usize m_pages_used = 0;
    usize m_pages_used_high_water = 0;
    u64 m_allocations = 0;
    u64 m_failures = 0;

    friend struct PageAllocatorInspector;
};

struct HeapStats {
    static constexpr usize classes_max = 16;
    usize class_count = 0;
    u32 class_bytes[classes_max] = {};
    u64 class_in_use[classes_max] = {};  // live objects per size class
    u64 class_allocations[classes_max] = {};
    usize bytes_requested = 0;           // sum of live request sizes
    usize bytes_requested_high_water = 0;
    usize large_allocations_live = 0;    // allocations served directly by pages
    usize slab_pages = 0;                // pages currently held by slabs
    u64 allocations = 0;
    u64 frees = 0;
    u64 failures = 0;
};

// Size-class heap. Small objects live in one-page slabs; larger requests get
// their own page block. 16-byte alignment for everything.
class Heap {
public:
    static constexpr usize alignment = 16;
    static constexpr usize small_bytes_max = 1024;

    explicit Heap(PageAllocator& pages) : m_pages(pages) {}
    Heap(const Heap&) = delete;

    // nullptr when memory is exhausted (or when fault injection says so).
    void* alloc(usize bytes);
    void free(void* pointer);

    template<typename T, typename... Args>
    T* create(Args&&... args)
    {
        static_assert(alignof(T) <= alignment);
        void* memory = alloc(sizeof(T));
        if (!memory)
            return nullptr;
        return new (memory) T(std::forward<Args>(args)...);
    }
    template<typename T>
    void destroy(T* object)
    {
        if (!object)
            return;
        object->~T();
        free(object);
    }

    // Makes the next `count` allocations fail: the simulator's allocation-failure
    // fault. Constant zero outside the simulator.
    void inject_failures(u32 count) { m_injected_failures = count; }

    HeapStats stats() const;
    PageAllocator& pages() { return m_pages; }

private:
    struct Slab;
    struct SizeClass {
        Slab* partial = nullptr; // slabs with at least one free object
        Slab* empty = nullptr;   // at most one cached empty slab
    };

    static u32 class_index(usize bytes);
    Slab* new_slab(u32 index);
    void* alloc_large(usize bytes);

    PageAllocator& m_pages;
    SizeClass m_classes[HeapStats::classes_max];
    HeapStats m_stats;
    u32 m_injected_failures = 0;
};

} // namespace gantry
