// The PVH start info (Xen's hvm_start_info, also produced by QEMU, Firecracker and
// Cloud Hypervisor): where RAM is. Read once at boot, before page 0 is unmapped.
#pragma once

#include <gantry/platform.hpp>
#include <gantry/types.hpp>

namespace gantry::x86 {

struct BootMemory {
    static constexpr usize regions_max = 8; // PageAllocator::regions_max
    MemoryRegion regions[regions_max];
    usize region_count = 0;
    u64 ram_bytes = 0; // usable bytes handed to the kernel
    u64 ram_top = 0;   // end of the highest RAM entry (for backtrace bounds)
    bool valid = false; // start info found, with a memory map
};

// Usable RAM from the start info's memory map: type-1 entries, minus the first
// MiB, the image itself, and anything above the 4 GiB that boot.S maps.
BootMemory read_boot_memory(u64 start_info_address);

// The kernel command line the VMM passed (NUL-terminated), or nullptr.
const char* read_boot_cmdline(u64 start_info_address);

} // namespace gantry::x86
