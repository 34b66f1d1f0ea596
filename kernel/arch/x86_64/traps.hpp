// GDT, TSS and IDT for the exceptions: every CPU exception prints a register dump
// and a frame-pointer backtrace on the serial console, then ends the VM with the
// panic status (power.hpp). Two more vectors wake a halted vCPU (apic.hpp):
// their handlers only acknowledge the interrupt.
#pragma once

#include <gantry/types.hpp>

namespace gantry::x86 {

void traps_init();

inline constexpr u8 vector_wakeup = 0x30;   // the APIC timer and device lines
inline constexpr u8 vector_spurious = 0xff; // the local APIC's spurious vector
// Adds the wake-up and spurious handlers to the IDT (after traps_init()).
void install_wakeup_vectors();

// Frame-pointer walks only follow addresses inside [low, high): RAM as the PVH
// memory map reports it, so a corrupt chain cannot touch device memory.
void set_backtrace_bounds(u64 low, u64 high);

// Prints `first_address` (the faulting or calling instruction) as frame #0, then
// up to backtrace_frames_max return addresses found by walking frame pointers
// from `rbp`. Code built without frame pointers shortens the walk, never crashes it.
void print_backtrace(u64 first_address, u64 rbp);

inline constexpr usize backtrace_frames_max = 16;

} // namespace gantry::x86
