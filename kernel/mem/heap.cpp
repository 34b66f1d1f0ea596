// Size-class heap over the page allocator.
//
// Small requests (up to small_bytes_max) come from one-page slabs. A slab starts
// with its header, then one "slack" byte per object (class size minus requested
// size, so bytes_requested stays exact without a per-object header), then the
// objects, 16-byte aligned. The slab of an object is the page it lies in,
// rounded down relative to its region: the page allocator answers that, and also
// says whether a block starts there, so a foreign pointer is caught before its
// "header" is trusted. Free objects are tracked in a bitmap: allocation takes
// the lowest free index (deterministic, no pointer chasing) and a double free is
// one bit test.
//
// Larger requests get a block of pages of their own with a small header.
#include <gantry/assert.hpp>
#include <gantry/mem.hpp>

#include <bit>
#include <cstdint>
#include <limits>

namespace gantry {

struct Heap::Slab {
    static constexpr usize map_words = 4;

    u32 magic;
    u16 class_index;
    u16 in_use;
    u16 capacity;
    u16 object_bytes;
    u16 first_offset; // of object 0, from the slab start
    u16 slack_offset; // of object 0's slack byte
    u32 reciprocal;   // turns "offset / object_bytes" into a multiply on free
    Slab* next;       // partial list of the class
    Slab* prev;
    u64 free_map[map_words]; // bit set = object free
};

namespace {

constexpr u32 slab_magic = 0x5ab5ab01;
constexpr u32 large_magic = 0x1a26e001;

struct LargeHeader {
    u32 magic;
    u32 order;
    usize bytes; // as requested
};
static_assert(sizeof(LargeHeader) % Heap::alignment == 0);

constexpr usize align_up(usize value, usize alignment)
{
    return (value + alignment - 1) / alignment * alignment;
}

struct SlabLayout {
    usize capacity;
    usize first_offset;
};

constexpr SlabLayout slab_layout(usize object_bytes, usize header_bytes)
{
    usize capacity = (page_size - header_bytes) / (object_bytes + 1);
    while (align_up(header_bytes + capacity, Heap::alignment) + capacity * object_bytes >
           page_size)
        --capacity;
    return {capacity, align_up(header_bytes + capacity, Heap::alignment)};
}

constexpr u32 reciprocal_of(u32 divisor)
{
    return static_cast<u32>((u64{1} << 32) / divisor + 1);
}

// The multiply-shift division must be exact for every offset inside a page.
constexpr bool reciprocals_exact()
{
    for (u32 index = 0; index < Heap::class_count; ++index) {
        u32 divisor = Heap::class_bytes(index);
        for (u64 offset = 0; offset < page_size; ++offset)
            if (((offset * reciprocal_of(divisor)) >> 32) != offset / divisor)
                return false;
    }
    return true;
}
static_assert(reciprocals_exact());

constexpr bool classes_ordered()
{
    for (u32 index = 1; index < Heap::class_count; ++index)
        if (Heap::class_bytes(index) <= Heap::class_bytes(index - 1))
            return false;
    for (u32 index = 0; index < Heap::class_count; ++index)
        if (Heap::class_bytes(index) % Heap::alignment != 0)
            return false;
    return Heap::class_bytes(Heap::class_count - 1) == Heap::small_bytes_max &&
           Heap::class_index(Heap::small_bytes_max) == Heap::class_count - 1;
}
static_assert(classes_ordered());

} // namespace

Heap::Heap(PageAllocator& pages) : m_pages(pages)
{
    m_stats.class_count = class_count;
    for (u32 index = 0; index < class_count; ++index)
        m_stats.class_bytes[index] = class_bytes(index);
    // Class sizes are multiples of the alignment, so rounding up to 16 first
    // never changes the class.
    for (usize step = 0; step < class_steps; ++step)
        m_class_of_step[step] = static_cast<u8>(class_index(step * alignment));
}

// The fast path: one class lookup, one bitmap scan, a few counters. Everything
// rare (injected faults, large requests, new slabs) leaves through a tail call,
// so the fast path needs no stack frame.
void* Heap::alloc(usize bytes)
{
    if (m_fault_checks || bytes > small_bytes_max) [[unlikely]]
        return alloc_slow(bytes);
    u32 index = m_class_of_step[(bytes + alignment - 1) / alignment];
    Slab* slab = m_classes[index].partial;
    if (slab == nullptr) [[unlikely]]
        return alloc_new_slab(index, bytes);
    return take_object(index, *slab, bytes);
}

void* Heap::alloc_new_slab(u32 index, usize bytes)
{
    Slab* slab = new_slab(index);
    if (slab == nullptr)
        return fail_allocation();
    return take_object(index, *slab, bytes);
}

// Takes the lowest free object of `slab`, the head of its class's partial list.
[[gnu::always_inline]] inline void* Heap::take_object(u32 index, Slab& slab, usize bytes)
{
    SizeClass& size_class = m_classes[index];
    if (&slab == size_class.empty)
        size_class.empty = nullptr;
    usize word = 0;
    while (slab.free_map[word] == 0) {
        ++word;
        GANTRY_ASSERT(word < Slab::map_words); // a partial slab has a free object
    }
    usize object = word * 64 + static_cast<usize>(std::countr_zero(slab.free_map[word]));
    slab.free_map[word] &= slab.free_map[word] - 1;
    GANTRY_ASSERT(object < slab.capacity);
    if (++slab.in_use == slab.capacity) [[unlikely]] {
        size_class.partial = slab.next; // full slabs leave the partial list
        if (slab.next != nullptr)
            slab.next->prev = nullptr;
        slab.next = nullptr;
    }
    auto* base = reinterpret_cast<u8*>(&slab);
    base[slab.slack_offset + object] = static_cast<u8>(slab.object_bytes - bytes);
    ++m_stats.class_in_use[index];
    ++m_stats.class_allocations[index];
    m_stats.bytes_requested += bytes;
    if (m_stats.bytes_requested > m_stats.bytes_requested_high_water)
        m_stats.bytes_requested_high_water = m_stats.bytes_requested;
    return base + slab.first_offset + object * slab.object_bytes;
}

void* Heap::alloc_slow(usize bytes)
{
    if (m_injected_failures != 0) {
        --m_injected_failures;
        update_fault_checks();
        return fail_allocation();
    }
    if (m_fault_injector != nullptr && m_fault_injector->should_fail(bytes))
        return fail_allocation();
    if (bytes > small_bytes_max)
        return alloc_large(bytes);
    // The fast path, taken from here while an injector is installed.
    u32 index = m_class_of_step[(bytes + alignment - 1) / alignment];
    Slab* slab = m_classes[index].partial;
    if (slab == nullptr)
        return alloc_new_slab(index, bytes);
    return take_object(index, *slab, bytes);
}

void* Heap::fail_allocation()
{
    ++m_stats.failures;
    return nullptr;
}

void Heap::note_large_allocated(usize bytes)
{
    m_stats.bytes_requested += bytes;
    if (m_stats.bytes_requested > m_stats.bytes_requested_high_water)
        m_stats.bytes_requested_high_water = m_stats.bytes_requested;
}

void Heap::link_partial(SizeClass& size_class, Slab& slab)
{
    slab.prev = nullptr;
    slab.next = size_class.partial;
    if (slab.next != nullptr)
        slab.next->prev = &slab;
    size_class.partial = &slab;
}

Heap::Slab* Heap::new_slab(u32 index)
{
    void* page = m_pages.alloc_block(0);
    if (page == nullptr)
        return nullptr;
    constexpr usize header_bytes = sizeof(Slab);
    SlabLayout layout = slab_layout(class_bytes(index), header_bytes);
    GANTRY_ASSERT(layout.capacity > 0);
    GANTRY_ASSERT(layout.capacity <= Slab::map_words * 64);
    auto* slab = new (page) Slab{};
    slab->magic = slab_magic;
    slab->class_index = static_cast<u16>(index);
    slab->capacity = static_cast<u16>(layout.capacity);
    slab->object_bytes = static_cast<u16>(class_bytes(index));
    slab->first_offset = static_cast<u16>(layout.first_offset);
    slab->slack_offset = static_cast<u16>(header_bytes);
    slab->reciprocal = reciprocal_of(class_bytes(index));
    for (usize object = 0; object < layout.capacity; ++object)
        slab->free_map[object / 64] |= u64{1} << (object % 64);
    link_partial(m_classes[index], *slab);
    ++m_stats.slab_pages;
    return slab;
}

void* Heap::alloc_large(usize bytes)
{
    if (bytes > std::numeric_limits<usize>::max() - page_size)
        return fail_allocation();
    u32 order = PageAllocator::order_for_bytes(bytes + sizeof(LargeHeader));
    if (order > PageAllocator::order_max)
        return fail_allocation();
    void* block = m_pages.alloc_block(order);
    if (block == nullptr)
        return fail_allocation();
    new (block) LargeHeader{large_magic, order, bytes};
    ++m_stats.large_allocations_live;
    m_stats.large_pages += usize{1} << order;
    ++m_large_allocations;
    note_large_allocated(bytes);
    return static_cast<u8*>(block) + sizeof(LargeHeader);
}

void Heap::free(void* pointer)
{
    if (pointer == nullptr)
        return;
    PageAllocator::PageRef block = m_pages.page_ref(pointer);
    auto* slab = reinterpret_cast<Slab*>(block.page);
    // A slab is a used one-page block; anything else (or no region) is checked
    // out of line.
    if (block.info != PageAllocator::info_head_used || slab->magic != slab_magic) [[unlikely]]
        return free_large(block, pointer);
    // Unsigned 32-bit arithmetic: a pointer into the header wraps to a huge index.
    u32 relative = static_cast<u32>(static_cast<u8*>(pointer) - block.page) - slab->first_offset;
    usize object = static_cast<usize>((u64{relative} * slab->reciprocal) >> 32);
    GANTRY_ASSERT(object < slab->capacity);
    GANTRY_ASSERT(object * slab->object_bytes == relative); // not an object's start
    u64 bit = u64{1} << (object % 64);
    u64& word = slab->free_map[object / 64];
    GANTRY_ASSERT((word & bit) == 0); // double free
    word |= bit;

    // The bitmap said the object was live, so the slab's and the class's
    // counters are at least one.
    u32 index = slab->class_index;
    --m_stats.class_in_use[index];
    usize bytes = slab->object_bytes - block.page[slab->slack_offset + object];
    GANTRY_ASSERT(m_stats.bytes_requested >= bytes);
    m_stats.bytes_requested -= bytes;

    SizeClass& size_class = m_classes[index];
    if (slab->in_use == slab->capacity) [[unlikely]] {
        slab->prev = nullptr;
        slab->next = size_class.partial;
        if (slab->next != nullptr)
            slab->next->prev = slab;
        size_class.partial = slab;
    }
    if (--slab->in_use == 0) {
        // One cached empty slab per class absorbs alloc/free ping-pong at a slab
        // boundary; any further empty slab goes back to the page allocator.
        if (size_class.empty == nullptr)
            size_class.empty = slab;
        else
            return release_slab(size_class, *slab);
    }
}

void Heap::release_slab(SizeClass& size_class, Slab& slab)
{
    GANTRY_ASSERT(size_class.empty != &slab);
    if (slab.prev != nullptr)
        slab.prev->next = slab.next;
    else
        size_class.partial = slab.next;
    if (slab.next != nullptr)
        slab.next->prev = slab.prev;
    slab.magic = 0; // stale pointers into the page must not find a slab here
    GANTRY_ASSERT(m_stats.slab_pages > 0);
    --m_stats.slab_pages;
    m_pages.free_pages(&slab, 0);
}

void Heap::free_large(PageAllocator::PageRef block, void* pointer)
{
    GANTRY_ASSERT(block.page != nullptr); // not inside any region
    GANTRY_ASSERT(block.used_head());     // no allocated block starts at this page
    auto* header = reinterpret_cast<LargeHeader*>(block.page);
    GANTRY_ASSERT(header->magic == large_magic); // a page block the heap did not allocate
    GANTRY_ASSERT(static_cast<u8*>(pointer) == block.page + sizeof(LargeHeader));
    GANTRY_ASSERT(header->order == block.order());
    GANTRY_ASSERT(m_stats.large_allocations_live > 0);
    GANTRY_ASSERT(m_stats.bytes_requested >= header->bytes);
    m_stats.bytes_requested -= header->bytes;
    --m_stats.large_allocations_live;
    GANTRY_ASSERT(m_stats.large_pages >= (usize{1} << block.order()));
    m_stats.large_pages -= usize{1} << block.order();
    header->magic = 0;
    m_pages.free_pages(block.page, block.order());
}

HeapStats Heap::stats() const
{
    HeapStats stats = m_stats;
    u64 live = stats.large_allocations_live;
    stats.allocations = m_large_allocations;
    for (u32 index = 0; index < class_count; ++index) {
        stats.allocations += stats.class_allocations[index];
        live += stats.class_in_use[index];
    }
    GANTRY_ASSERT(stats.allocations >= live);
    stats.frees = stats.allocations - live;
    return stats;
}

} // namespace gantry
