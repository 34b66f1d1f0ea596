#include "paging.hpp"

#include <gantry/types.hpp>

extern "C" gantry::u64 boot_low_page_table[512];

namespace gantry::x86 {

void unmap_null_page()
{
    boot_low_page_table[0] = 0;
    asm volatile("invlpg (%0)" : : "r"(u64{0}) : "memory");
}

} // namespace gantry::x86
