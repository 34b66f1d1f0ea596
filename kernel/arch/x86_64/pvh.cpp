#include "pvh.hpp"

extern "C" char __image_start[];
extern "C" char __image_end[];

namespace gantry::x86 {
namespace {

// xen/include/public/arch-x86/hvm/start_info.h, version 1.
struct HvmStartInfo {
    u32 magic;
    u32 version;
    u32 flags;
    u32 nr_modules;
    u64 modlist_paddr;
    u64 cmdline_paddr;
    u64 rsdp_paddr;
    u64 memmap_paddr; // version >= 1
    u32 memmap_entries;
    u32 reserved;
};
static_assert(sizeof(HvmStartInfo) == 56);

struct HvmMemmapEntry {
    u64 addr;
    u64 size;
    u32 type;
    u32 reserved;
};
static_assert(sizeof(HvmMemmapEntry) == 24);

constexpr u32 start_info_magic = 0x336ec578;
constexpr u32 memmap_type_ram = 1;
constexpr u64 low_memory_end = 1024 * 1024;      // BIOS data, option ROMs, start info
constexpr u64 mapped_end = 4ull * 1024 * 1024 * 1024; // boot.S maps 4 GiB
constexpr u64 page_bytes = 4096;
constexpr u32 memmap_entries_max = 128;

u64 align_up(u64 value) { return (value + page_bytes - 1) & ~(page_bytes - 1); }
u64 align_down(u64 value) { return value & ~(page_bytes - 1); }

void add_region(BootMemory& memory, u64 begin, u64 end)
{
    begin = align_up(begin);
    end = align_down(end);
    if (end <= begin || memory.region_count == BootMemory::regions_max)
        return;
    memory.regions[memory.region_count++] = {reinterpret_cast<u8*>(begin), end - begin};
    memory.ram_bytes += end - begin;
}

void add_ram(BootMemory& memory, u64 begin, u64 end)
{
    const u64 image_begin = reinterpret_cast<u64>(__image_start);
    const u64 image_end = reinterpret_cast<u64>(__image_end);
    if (begin < low_memory_end)
        begin = low_memory_end;
    if (end > mapped_end)
        end = mapped_end;
    if (end <= begin)
        return;
    // The image may sit anywhere inside the entry: keep what is below and above it.
    if (begin < image_end && image_begin < end) {
        add_region(memory, begin, image_begin);
        add_region(memory, image_end, end);
        return;
    }
    add_region(memory, begin, end);
}

} // namespace

BootMemory read_boot_memory(u64 start_info_address)
{
    BootMemory memory;
    const auto* info = reinterpret_cast<const HvmStartInfo*>(start_info_address);
    if (info == nullptr || info->magic != start_info_magic || info->version < 1)
        return memory;
    const auto* entries = reinterpret_cast<const HvmMemmapEntry*>(info->memmap_paddr);
    const u32 count = info->memmap_entries < memmap_entries_max ? info->memmap_entries
                                                                  : memmap_entries_max;
    for (u32 i = 0; i < count; ++i) {
        if (entries[i].type != memmap_type_ram)
            continue;
        const u64 end = entries[i].addr + entries[i].size;
        if (end > memory.ram_top)
            memory.ram_top = end;
        add_ram(memory, entries[i].addr, end);
    }
    memory.valid = true;
    return memory;
}

const char* read_boot_cmdline(u64 start_info_address)
{
    const auto* info = reinterpret_cast<const HvmStartInfo*>(start_info_address);
    if (info == nullptr || info->magic != start_info_magic || info->cmdline_paddr == 0 ||
        info->cmdline_paddr >= mapped_end)
        return nullptr;
    return reinterpret_cast<const char*>(info->cmdline_paddr);
}

} // namespace gantry::x86
