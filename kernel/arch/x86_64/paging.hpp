// The boot page tables (boot.S) identity-map the first 4 GiB. This file adjusts
// them once the PVH start info has been read.
#pragma once

namespace gantry::x86 {

// Unmaps the page at address 0 so null dereferences fault with a register dump
// instead of silently reading the real-mode interrupt table. Call it only after
// everything the loader left in low memory (start info, memory map) was read.
void unmap_null_page();

} // namespace gantry::x86
