// Binary buddy page allocator.
//
// Each region starts with its metadata: one info byte per usable page, then the
// usable pages. Only the first page of a block (its head) has a non-zero info
// byte: `head_free | order` or `head_used | order`. That is all coalescing needs:
// the buddy of the block at page p of order k is the block at p ^ 2^k, and it
// can be merged exactly when its info byte says "free head of order k". So a
// free is O(order) and no search of the free lists is ever needed.
//
// Page numbers are offsets from the region's first usable page, so splitting,
// merging and the LIFO free lists behave identically wherever a region lands.
//
// The free lists' links of a small block live in its first page; those of a
// block of 2 MiB or more live in a side table after the info bytes, one entry
// per 2 MiB of the region. At boot a region is a handful of large free blocks
// far apart; writing links into them would touch memory the kernel does not
// use yet, and under a VMM each first touch of guest RAM is a host page fault
// (about 0.1-0.2 ms for a 2 MiB huge page under QEMU here, docs/hypervisors.md).
#include <gantry/assert.hpp>
#include <gantry/mem.hpp>
#include <gantry/trace.hpp>

#include <bit>
#include <cstdint>

namespace gantry {

namespace {

constexpr u8 head_free = PageAllocator::info_head_free;
constexpr u8 head_used = PageAllocator::info_head_used;
constexpr u8 order_mask = PageAllocator::info_order_mask;
static_assert(PageAllocator::order_max <= order_mask);

constexpr usize pages_in(u32 order) { return usize{1} << order; }

std::uintptr_t address_of(const void* pointer)
{
    return reinterpret_cast<std::uintptr_t>(pointer);
}

// Sum over the blocks of the best possible shape of `free_pages` pages in one
// region (its binary decomposition, capped at order_max) of pages * order.
u64 best_order_weight(usize free_pages)
{
    constexpr usize max_block = pages_in(PageAllocator::order_max);
    u64 weight = u64{free_pages / max_block} * max_block * PageAllocator::order_max;
    usize rest = free_pages % max_block;
    for (u32 order = 1; order < PageAllocator::order_max; ++order)
        if (rest & pages_in(order))
            weight += u64{pages_in(order)} * order;
    return weight;
}

// Metadata of a region with `pages` usable pages: the info bytes, then
// (pointer-aligned) one side-links entry per 2^side_links_order pages.
constexpr usize side_links_offset(usize pages)
{
    constexpr usize align = alignof(void*);
    return (pages + align - 1) / align * align;
}

constexpr usize metadata_bytes(usize pages)
{
    return side_links_offset(pages) +
           (pages >> PageAllocator::side_links_order) * 2 * sizeof(void*);
}

} // namespace

Status<MemError> PageAllocator::add_region(u8* base, usize bytes)
{
    if (m_region_count == regions_max)
        return fail(MemError::too_many_regions);
    GANTRY_ASSERT(base != nullptr);
    // Platforms hand out page-aligned regions; trimming keeps a stray one usable.
    usize misalignment = address_of(base) % page_size;
    usize trim = misalignment == 0 ? 0 : page_size - misalignment;
    if (bytes <= trim)
        return fail(MemError::region_too_small);
    usize total_pages = (bytes - trim) / page_size;
    // m metadata pages describe (total - m) pages with one byte each, plus the
    // side links of regions of 2 MiB and more.
    usize meta_pages = (total_pages + page_size) / (page_size + 1);
    while (meta_pages < total_pages && metadata_bytes(total_pages - meta_pages) > meta_pages * page_size)
        ++meta_pages;
    if (total_pages <= meta_pages)
        return fail(MemError::region_too_small);

    Region& region = m_regions[m_region_count];
    region.page_info = base + trim;
    region.base = region.page_info + meta_pages * page_size;
    region.pages = total_pages - meta_pages;
    region.bytes = region.pages * page_size;
    region.side_links = reinterpret_cast<FreeBlock*>(region.page_info + side_links_offset(region.pages));
    region.region_index = static_cast<u32>(m_region_count);
    region.pages_free = 0;
    GANTRY_ASSERT(metadata_bytes(region.pages) <= meta_pages * page_size);
    for (usize page = 0; page < region.pages; ++page)
        region.page_info[page] = 0;
    ++m_region_count;

    // The greedy split from page 0 is the binary decomposition of the page count:
    // the best shape a region can have (fragmentation 0).
    usize page = 0;
    while (page < region.pages) {
        u32 order = static_cast<u32>(std::bit_width(region.pages - page) - 1);
        if (page != 0 && static_cast<u32>(std::countr_zero(page)) < order)
            order = static_cast<u32>(std::countr_zero(page));
        if (order > order_max)
            order = order_max;
        push_free(region, page, order);
        region.pages_free += pages_in(order);
        page += pages_in(order);
    }
    m_pages_total += region.pages;
    return {};
}

u32 PageAllocator::order_for_bytes(usize bytes)
{
    usize pages = bytes / page_size + (bytes % page_size != 0 ? 1 : 0);
    if (pages <= 1)
        return 0;
    return static_cast<u32>(std::bit_width(pages - 1));
}

void* PageAllocator::alloc_pages(u32 order)
{
    GANTRY_ASSERT(order <= order_max);
    if (m_fault_injector != nullptr && m_fault_injector->should_fail(page_size << order))
        [[unlikely]] {
        ++m_failures;
        return nullptr;
    }
    return alloc_block(order);
}

void* PageAllocator::alloc_block(u32 order)
{
    GANTRY_ASSERT(order <= order_max);
    u32 found = order;
    while (found <= order_max && m_free_lists[found] == nullptr)
        ++found;
    if (found > order_max) {
        ++m_failures;
        return nullptr;
    }
    FreeBlock* block = m_free_lists[found];
    Region& region = region_of_block(block);
    usize page = (address_of(block) - address_of(region.base)) / page_size;
    remove_free(region, page, found);
    // Split down, handing the upper halves back: the lower half stays at `page`.
    while (found > order) {
        --found;
        push_free(region, page + pages_in(found), found);
    }
    region.page_info[page] = static_cast<u8>(head_used | order);
    note_allocation(region, order);
    if (m_tracer != nullptr) [[unlikely]]
        m_tracer->page_alloc(region.region_index, order, page);
    return region.base + page * page_size;
}

void PageAllocator::note_allocation(Region& region, u32 order)
{
    GANTRY_ASSERT(region.pages_free >= pages_in(order));
    region.pages_free -= pages_in(order);
    m_pages_used += pages_in(order);
    GANTRY_ASSERT(m_pages_used <= m_pages_total);
    if (m_pages_used > m_pages_used_high_water)
        m_pages_used_high_water = m_pages_used;
    ++m_allocations;
}

void PageAllocator::free_pages(void* block, u32 order)
{
    GANTRY_ASSERT(block != nullptr);
    GANTRY_ASSERT(order <= order_max);
    Region& region = region_of_block(block);
    usize offset = address_of(block) - address_of(region.base);
    GANTRY_ASSERT(offset % page_size == 0);
    usize page = offset / page_size;
    GANTRY_ASSERT(page % pages_in(order) == 0);
    GANTRY_ASSERT(page + pages_in(order) <= region.pages);
    // Catches double frees, frees of a block's inner pages and wrong orders.
    GANTRY_ASSERT(region.page_info[page] == (head_used | order));
    if (m_tracer != nullptr) [[unlikely]]
        m_tracer->page_free(region.region_index, order, page);
    region.page_info[page] = 0;
    GANTRY_ASSERT(m_pages_used >= pages_in(order));
    m_pages_used -= pages_in(order);
    region.pages_free += pages_in(order);

    while (order < order_max) {
        usize buddy = page ^ pages_in(order);
        if (buddy + pages_in(order) > region.pages)
            break; // the buddy would stick out of the region: it never exists
        if (region.page_info[buddy] != (head_free | order))
            break;
        remove_free(region, buddy, order);
        page = buddy < page ? buddy : page;
        ++order;
    }
    push_free(region, page, order);
}

PageAllocator::FreeBlock& PageAllocator::links_of(Region& region, usize page, u32 order)
{
    if (order < side_links_order)
        return *reinterpret_cast<FreeBlock*>(region.base + page * page_size);
    GANTRY_ASSERT((page >> side_links_order) < (region.pages >> side_links_order));
    return region.side_links[page >> side_links_order];
}

PageAllocator::FreeBlock& PageAllocator::links_of_block(FreeBlock* block, u32 order)
{
    if (order < side_links_order)
        return *block;
    Region& region = region_of_block(block);
    return links_of(region, (address_of(block) - address_of(region.base)) / page_size, order);
}

void PageAllocator::push_free(Region& region, usize page, u32 order)
{
    GANTRY_ASSERT(page % pages_in(order) == 0);
    GANTRY_ASSERT(page + pages_in(order) <= region.pages);
    auto* block = reinterpret_cast<FreeBlock*>(region.base + page * page_size);
    FreeBlock& links = links_of(region, page, order);
    links.prev = nullptr;
    links.next = m_free_lists[order];
    if (links.next != nullptr)
        links_of_block(links.next, order).prev = block;
    m_free_lists[order] = block;
    ++m_free_counts[order];
    region.page_info[page] = static_cast<u8>(head_free | order);
}

void PageAllocator::remove_free(Region& region, usize page, u32 order)
{
    GANTRY_ASSERT(region.page_info[page] == (head_free | order));
    FreeBlock& links = links_of(region, page, order);
    if (links.prev != nullptr)
        links_of_block(links.prev, order).next = links.next;
    else
        m_free_lists[order] = links.next;
    if (links.next != nullptr)
        links_of_block(links.next, order).prev = links.prev;
    GANTRY_ASSERT(m_free_counts[order] > 0);
    --m_free_counts[order];
    region.page_info[page] = 0;
}

const PageAllocator::Region* PageAllocator::region_of(const void* address) const
{
    std::uintptr_t where = address_of(address);
    for (usize index = 0; index < m_region_count; ++index) {
        const Region& region = m_regions[index];
        // One unsigned compare: addresses below the base wrap around to huge offsets.
        if (where - address_of(region.base) < region.bytes)
            return &region;
    }
    return nullptr;
}

PageAllocator::Region& PageAllocator::region_of_block(const void* block)
{
    const Region* region = region_of(block);
    GANTRY_ASSERT(region != nullptr);
    return m_regions[region->region_index];
}

bool PageAllocator::locate(const void* address, u32& region_index, usize& page) const
{
    const Region* region = region_of(address);
    if (region == nullptr)
        return false;
    region_index = region->region_index;
    page = (address_of(address) - address_of(region->base)) / page_size;
    return true;
}

void PageAllocator::for_each_block(BlockVisitor visit, void* context) const
{
    for (usize index = 0; index < m_region_count; ++index) {
        const Region& region = m_regions[index];
        usize page = 0;
        while (page < region.pages) {
            u8 info = region.page_info[page];
            // Blocks tile the region, so every block's first page is a head.
            GANTRY_ASSERT((info & (head_free | head_used)) != 0);
            u32 order = info & order_mask;
            visit(context, region.region_index, page, order, (info & head_used) != 0);
            page += pages_in(order);
        }
        GANTRY_ASSERT(page == region.pages);
    }
}

void PageAllocator::set_tracer(Tracer* tracer)
{
    m_tracer = tracer;
    if (tracer == nullptr)
        return;
    for (usize index = 0; index < m_region_count; ++index)
        tracer->page_region(static_cast<u32>(index), m_regions[index].pages);
    for_each_block(
        [](void* context, u32 region, usize first_page, u32 order, bool used) {
            if (used)
                static_cast<Tracer*>(context)->page_alloc(region, order, first_page);
        },
        tracer);
}

u32 PageAllocator::fragmentation_permille() const
{
    u64 best = 0;
    for (usize index = 0; index < m_region_count; ++index)
        best += best_order_weight(m_regions[index].pages_free);
    if (best == 0)
        return 0; // no free memory, or only lone pages: nothing could be better
    u64 actual = 0;
    for (u32 order = 1; order <= order_max; ++order)
        actual += u64{m_free_counts[order]} * pages_in(order) * order;
    GANTRY_ASSERT(actual <= best);
    return static_cast<u32>((best - actual) * 1000 / best);
}

PageStats PageAllocator::stats() const
{
    PageStats stats;
    stats.pages_total = m_pages_total;
    stats.pages_used = m_pages_used;
    stats.pages_used_high_water = m_pages_used_high_water;
    for (u32 order = 0; order <= order_max; ++order) {
        stats.free_blocks_by_order[order] = m_free_counts[order];
        if (m_free_counts[order] > 0)
            stats.largest_free_order = order;
    }
    stats.allocations = m_allocations;
    stats.failures = m_failures;
    stats.fragmentation_permille = fragmentation_permille();
    return stats;
}

} // namespace gantry
