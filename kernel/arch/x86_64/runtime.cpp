// The minimal C/C++ runtime of the image: no libc, so the few symbols that the
// compiler, libgcc and libstdc++'s headers expect are defined here.
//
// The memory functions use `rep movs/stos`: fast on every CPU, and a
// plain C loop could be turned back into a call to itself by the optimiser.

#include "runtime.hpp"

#include <gantry/assert.hpp>
#include <gantry/types.hpp>

#include <bits/functexcept.h>
#include <new>

using gantry::u64;
using gantry::usize;

extern "C" {

// Eight bytes per step, then the rest: QEMU's TCG runs `rep movsb`/`rep stosb`
// one byte per iteration, so word steps make copies and zeroing (rings, socket
// tables, frames) several times faster there; on hardware and under KVM both
// forms run at full speed.
void* memcpy(void* destination, const void* source, usize bytes)
{
    void* result = destination;
    usize words = bytes / 8;
    bytes %= 8;
    asm volatile("rep movsq" : "+D"(destination), "+S"(source), "+c"(words) : : "memory");
    asm volatile("rep movsb" : "+D"(destination), "+S"(source), "+c"(bytes) : : "memory");
    return result;
}

void* memset(void* destination, int value, usize bytes)
{
    void* result = destination;
    usize words = bytes / 8;
    bytes %= 8;
    const u64 pattern = 0x0101010101010101ull * static_cast<unsigned char>(value);
    asm volatile("rep stosq" : "+D"(destination), "+c"(words) : "a"(pattern) : "memory");
    asm volatile("rep stosb" : "+D"(destination), "+c"(bytes) : "a"(pattern) : "memory");
    return result;
}

void* memmove(void* destination, const void* source, usize bytes)
{
    auto* d = static_cast<unsigned char*>(destination);
    const auto* s = static_cast<const unsigned char*>(source);
    if (d <= s || d >= s + bytes)
        return memcpy(destination, source, bytes);
    // Overlap with the destination above the source: copy backwards.
    d += bytes - 1;
    s += bytes - 1;
    asm volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(bytes) : : "memory");
    return destination;
}

int memcmp(const void* left, const void* right, usize bytes)
{
    const auto* a = static_cast<const unsigned char*>(left);
    const auto* b = static_cast<const unsigned char*>(right);
    for (usize i = 0; i < bytes; ++i) {
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    }
    return 0;
}

void* memchr(const void* memory, int value, usize bytes)
{
    const auto* p = static_cast<const unsigned char*>(memory);
    for (usize i = 0; i < bytes; ++i) {
        if (p[i] == static_cast<unsigned char>(value))
            return const_cast<unsigned char*>(p + i);
    }
    return nullptr;
}

usize strlen(const char* text)
{
    usize length = 0;
    while (text[length] != '\0')
        ++length;
    return length;
}

// Static destructors never run: the image ends by powering the VM off.
void* __dso_handle = nullptr;
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }

[[noreturn]] void __cxa_pure_virtual() { GANTRY_PANIC("pure virtual function called"); }
[[noreturn]] void __stack_chk_fail() { GANTRY_PANIC("stack smashing detected"); }

extern void (*__init_array_start[])();
extern void (*__init_array_end[])();

} // extern "C"

// Apps and the kernel allocate through Kernel::heap(): a global operator new would
// be a second, hidden heap outside the kernel instance, so reaching it is a bug.
void* operator new(usize) { GANTRY_PANIC("operator new: allocate through kernel.heap()"); }
void* operator new[](usize) { GANTRY_PANIC("operator new[]: allocate through kernel.heap()"); }
void* operator new(usize, std::align_val_t) { GANTRY_PANIC("aligned operator new"); }

// Virtual destructors make the compiler emit "deleting destructors" that name
// operator delete, so it must exist. Nothing calls it: objects are released with
// Heap::destroy(), which runs the complete destructor and frees on the kernel
// heap. A call would free memory operator new never handed out, hence the panic.
void operator delete(void*) noexcept { GANTRY_PANIC("operator delete: use Heap::destroy()"); }
void operator delete(void*, usize) noexcept { GANTRY_PANIC("sized delete: use Heap::destroy()"); }
void operator delete[](void*) noexcept { GANTRY_PANIC("operator delete[]"); }
void operator delete[](void*, usize) noexcept { GANTRY_PANIC("operator delete[]"); }
void operator delete(void*, std::align_val_t) noexcept { GANTRY_PANIC("aligned delete"); }
void operator delete(void*, usize, std::align_val_t) noexcept { GANTRY_PANIC("aligned delete"); }

// libstdc++'s headers call these on precondition failures (string_view::substr
// out of range, ...); with no exceptions they become panics.
namespace std {
void __throw_bad_alloc() { GANTRY_PANIC("std::bad_alloc"); }
void __throw_bad_array_new_length() { GANTRY_PANIC("std::bad_array_new_length"); }
void __throw_length_error(const char* what) { GANTRY_PANIC(what); }
void __throw_logic_error(const char* what) { GANTRY_PANIC(what); }
void __throw_out_of_range(const char* what) { GANTRY_PANIC(what); }
void __throw_out_of_range_fmt(const char* what, ...) { GANTRY_PANIC(what); }
void __throw_invalid_argument(const char* what) { GANTRY_PANIC(what); }
void __throw_bad_function_call() { GANTRY_PANIC("std::bad_function_call"); }
} // namespace std

namespace gantry::x86 {

void run_static_constructors()
{
    for (auto* constructor = __init_array_start; constructor != __init_array_end; ++constructor)
        (*constructor)();
}

} // namespace gantry::x86
