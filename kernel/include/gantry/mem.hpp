// Memory: a buddy page allocator over the platform's regions, and a size-class
// heap on top of it. Both keep statistics for the log, the trace and the
// visualiser. Neither ever depends on absolute addresses for its decisions, so
// two runs with the same inputs behave identically wherever the regions land.
#pragma once

#include <gantry/result.hpp>
#include <gantry/types.hpp>

#include <bit>
#include <cstdint>
#include <new>
#include <utility>

namespace gantry {

inline constexpr usize page_size = 4096;

class Tracer;

struct PageStats {
    usize pages_total = 0;
    usize pages_used = 0;
    usize pages_used_high_water = 0;
    usize largest_free_order = 0;   // order of the largest free block (0 if none)
    usize free_blocks_by_order[21] = {}; // count of free blocks per order
    u64 allocations = 0;
    u64 failures = 0;
    // How far free memory is from its best possible shape, per mille (integer).
    // Each free page is weighted by the order of the block holding it; the best
    // shape is, per region, the binary decomposition of its free page count (what
    // a freshly added or fully freed region has). 0 = free memory is in the
    // largest blocks it could possibly form (e.g. one block when that is
    // possible), 1000 = all free memory in single pages.
    u32 fragmentation_permille = 0;
};

enum class MemError : u8 { region_too_small, too_many_regions };

// Fails chosen allocations on purpose: the simulator's allocation-failure
// fault (docs/simulator.md, "Kernel-level faults"). Only whoever owns a kernel
// installs one (Kernel::set_alloc_fault_injector); without one, the cost is a
// pointer test. It is asked once per request: every Heap::alloc, and every
// page block requested directly (not the heap's own slab and large-block
// refills, which are part of a heap request that already asked).
class AllocFaultInjector {
public:
    // true: this request fails (counted in the allocator's `failures`).
    virtual bool should_fail(usize bytes) = 0;

protected:
    ~AllocFaultInjector() = default;
};

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

    // nullptr when no block of that order is free (or the fault injector says
    // so). Contents are not cleared.
    void* alloc_pages(u32 order);
    void free_pages(void* block, u32 order);

    static u32 order_for_bytes(usize bytes);

    // nullptr: no injected failures (the default).
    void set_fault_injector(AllocFaultInjector* injector) { m_fault_injector = injector; }

    // Records every block allocated and freed from now on (page_alloc, page_free),
    // after describing the current state: one page_region per region and one
    // page_alloc per block already in use, so a reader can rebuild the page map
    // at any time from the trace alone. nullptr stops recording. Untraced, the
    // cost is one pointer test per block operation (never per heap object).
    void set_tracer(Tracer* tracer);

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

    // The page holding `address`, rounded down relative to its region's base, and
    // whether an allocated block of some order starts there. `page` is nullptr
    // when the address lies in no region. The heap uses it to find slab headers
    // and to reject pointers it never handed out.
    struct PageRef {
        u8* page = nullptr;
        u8 info = 0; // the page's info byte, see mem/page_allocator.cpp

        bool used_head() const { return (info & info_head_used) != 0; }
        u32 order() const { return info & info_order_mask; }
    };
    // Inline: it is on the heap's free path.
    PageRef page_ref(const void* address) const
    {
        auto where = reinterpret_cast<std::uintptr_t>(address);
        for (usize index = 0; index < m_region_count; ++index) {
            const Region& region = m_regions[index];
            // One unsigned compare: addresses below the base wrap to huge offsets.
            usize offset = where - reinterpret_cast<std::uintptr_t>(region.base);
            if (offset < region.bytes) {
                usize page = offset / page_size;
                return PageRef{region.base + page * page_size, region.page_info[page]};
            }
        }
        return {};
    }

    // Per-page info byte: non-zero only on a block's first page.
    static constexpr u8 info_head_free = 0x80;
    static constexpr u8 info_head_used = 0x40;
    static constexpr u8 info_order_mask = 0x1f;

    // Free blocks of this order and larger (2 MiB and up) keep their free-list
    // links in the region's metadata instead of in their first page.
    static constexpr u32 side_links_order = 9;

private:
    // Free-list links; the lists hold blocks' addresses. Small blocks carry
    // their links in their first page, large ones in Region::side_links.
    struct FreeBlock {
        FreeBlock* next;
        FreeBlock* prev;
    };
    struct Region {
        u8* base = nullptr;  // first usable page (after metadata)
        usize pages = 0;
        usize bytes = 0;     // pages * page_size
        u8* page_info = nullptr; // per page: see mem/page_allocator.cpp
        // One per 2^side_links_order pages: the links of the free block of
        // order >= side_links_order that starts there, if any (not zeroed).
        FreeBlock* side_links = nullptr;
        u32 region_index = 0;
        usize pages_free = 0;
    };

    // alloc_pages without asking the fault injector: the heap's refills.
    void* alloc_block(u32 order);
    const Region* region_of(const void* address) const;
    Region& region_of_block(const void* block);
    FreeBlock& links_of(Region& region, usize page, u32 order);
    FreeBlock& links_of_block(FreeBlock* block, u32 order);
    void push_free(Region& region, usize page, u32 order);
    void remove_free(Region& region, usize page, u32 order);
    void note_allocation(Region& region, u32 order);
    u32 fragmentation_permille() const;

    Region m_regions[regions_max];
    usize m_region_count = 0;
    FreeBlock* m_free_lists[order_max + 1] = {};
    usize m_free_counts[order_max + 1] = {};
    usize m_pages_total = 0;
    usize m_pages_used = 0;
    usize m_pages_used_high_water = 0;
    u64 m_allocations = 0;
    u64 m_failures = 0;
    AllocFaultInjector* m_fault_injector = nullptr;
    Tracer* m_tracer = nullptr;

    friend class Heap; // alloc_block
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
    usize large_pages = 0;               // pages those allocations hold
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

    static constexpr usize class_count = 14;
    static_assert(class_count <= HeapStats::classes_max);

    // Does not touch the page allocator: regions may be added afterwards.
    explicit Heap(PageAllocator& pages);
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

    // Makes the next `count` allocations fail (counted in HeapStats::failures):
    // the simulator's allocation-failure fault. Never called outside the simulator.
    void inject_failures(u32 count)
    {
        m_injected_failures = count;
        update_fault_checks();
    }
    // Fails allocations at whatever rate `injector` decides (nullptr: none).
    void set_fault_injector(AllocFaultInjector* injector)
    {
        m_fault_injector = injector;
        update_fault_checks();
    }

    HeapStats stats() const;
    PageAllocator& pages() { return m_pages; }

    // Size of the objects of class `index`; the classes are 16-byte steps up to
    // 128, then two per power of two up to small_bytes_max.
    static constexpr u32 class_bytes(u32 index)
    {
        if (index < 8)
            return (index + 1) * 16;
        u32 power = 256u << ((index - 8) / 2);
        return (index % 2 == 0) ? power / 4 * 3 : power;
    }
    // Smallest class holding `bytes` (at most small_bytes_max); 0 bytes use class 0.
    static constexpr u32 class_index(usize bytes)
    {
        usize last = bytes == 0 ? 0 : bytes - 1;
        if (last < 128)
            return static_cast<u32>(last / 16);
        u32 width = static_cast<u32>(std::bit_width(last)); // 8..10
        u32 upper = last >= (usize{3} << (width - 2)) ? 1 : 0;
        return 8 + (width - 8) * 2 + upper;
    }

private:
    struct Slab;
    struct SizeClass {
        Slab* partial = nullptr; // slabs with at least one free object
        Slab* empty = nullptr;   // at most one cached empty slab (kept on `partial`)
    };

    void* alloc_slow(usize bytes);
    // One flag for the fast path, whichever kind of injection is on.
    void update_fault_checks()
    {
        m_fault_checks = m_injected_failures != 0 || m_fault_injector != nullptr;
    }
    void* alloc_new_slab(u32 index, usize bytes);
    void* take_object(u32 index, Slab& slab, usize bytes);
    void* alloc_large(usize bytes);
    void* fail_allocation();
    Slab* new_slab(u32 index);
    static void link_partial(SizeClass& size_class, Slab& slab);
    void release_slab(SizeClass& size_class, Slab& slab);
    void free_large(PageAllocator::PageRef block, void* pointer);
    void note_large_allocated(usize bytes);

    // class_index() per 16-byte step, filled by the constructor: a load instead of
    // the bit arithmetic on the allocation fast path.
    static constexpr usize class_steps = small_bytes_max / alignment + 1;
    u8 m_class_of_step[class_steps] = {};

    PageAllocator& m_pages;
    SizeClass m_classes[HeapStats::classes_max];
    // `allocations` and `frees` are derived in stats(), off the hot path.
    HeapStats m_stats;
    u64 m_large_allocations = 0;
    u32 m_injected_failures = 0;
    AllocFaultInjector* m_fault_injector = nullptr;
    bool m_fault_checks = false; // see update_fault_checks
};

} // namespace gantry
