// Thin wrappers over the x86-64 instructions the bare-metal platform needs.
// Inline asm only: this folder is the one place in kernel/ that talks to hardware.
#pragma once

#include <gantry/types.hpp>

namespace gantry::x86 {

inline void outb(u16 port, u8 value) { asm volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }
inline void outl(u16 port, u32 value) { asm volatile("outl %0, %1" : : "a"(value), "Nd"(port)); }

inline u32 inl(u16 port)
{
    u32 value;
    asm volatile("inl %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

inline u8 inb(u16 port)
{
    u8 value;
    asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

inline u64 rdtsc()
{
    u32 low, high;
    asm volatile("rdtsc" : "=a"(low), "=d"(high));
    return (u64{high} << 32) | low;
}

inline void pause() { asm volatile("pause"); }
inline void halt() { asm volatile("hlt"); }
inline void disable_interrupts() { asm volatile("cli" : : : "memory"); }

struct CpuidResult {
    u32 eax, ebx, ecx, edx;
};

inline CpuidResult cpuid(u32 leaf, u32 subleaf = 0)
{
    CpuidResult r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                 : "a"(leaf), "c"(subleaf));
    return r;
}

inline u64 read_cr2()
{
    u64 value;
    asm volatile("mov %%cr2, %0" : "=r"(value));
    return value;
}

inline u64 read_cr3()
{
    u64 value;
    asm volatile("mov %%cr3, %0" : "=r"(value));
    return value;
}

// Hardware random number; false when the DRNG had nothing ready (retry).
inline bool rdrand64(u64& out)
{
    unsigned char ok;
    asm volatile("rdrand %0; setc %1" : "=r"(out), "=qm"(ok));
    return ok != 0;
}

} // namespace gantry::x86
