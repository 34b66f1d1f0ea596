// Context switching for the bare-metal target: a small switch of our own
// (context.S) rather than Boost.Context, so the image depends on no host library.
// Same contract as kernel/arch/fcontext: an entry receives {from, data} and must
// never return (the scheduler switches away from finished fibers for good).

#include <gantry/arch/context.hpp>
#include <gantry/assert.hpp>

extern "C" {
gantry::arch::ContextTransfer gantry_x86_switch(gantry::arch::ContextHandle to, void* data);
void gantry_x86_context_start();

[[noreturn]] void gantry_x86_context_returned()
{
    GANTRY_PANIC("a context entry function returned");
}
}

namespace gantry::arch {
namespace {

struct InitialFrame {
    u32 mxcsr;
    u16 x87_control;
    u16 padding;
    u64 r15, r14, r13, r12;
    u64 rbx; // the entry function, called by gantry_x86_context_start
    u64 rbp;
    u64 return_address;
};
static_assert(sizeof(InitialFrame) == 64);

// Power-on defaults: all floating-point exceptions masked, round to nearest.
constexpr u32 mxcsr_default = 0x1f80;
constexpr u16 x87_control_default = 0x037f;
// Room above the frame: a zero "return address" for gantry_x86_context_start's
// frame, so the start is 16-byte aligned and backtraces end cleanly.
constexpr usize stack_top_reserve = 16;

} // namespace

ContextHandle make_context(void* stack_base, usize stack_size, ContextEntry entry)
{
    GANTRY_ASSERT(stack_size >= sizeof(InitialFrame) + stack_top_reserve + 256);
    auto top = reinterpret_cast<u64>(stack_base) + stack_size;
    top &= ~u64{15};
    auto* reserve = reinterpret_cast<u64*>(top - stack_top_reserve);
    reserve[0] = 0;
    reserve[1] = 0;
    auto* frame = reinterpret_cast<InitialFrame*>(top - stack_top_reserve - sizeof(InitialFrame));
    *frame = InitialFrame{mxcsr_default, x87_control_default, 0, 0, 0, 0, 0,
                          reinterpret_cast<u64>(entry), 0,
                          reinterpret_cast<u64>(&gantry_x86_context_start)};
    return frame;
}

ContextTransfer jump_context(ContextHandle to, void* data)
{
    GANTRY_ASSERT(to != nullptr);
    return gantry_x86_switch(to, data);
}

// No sanitizer runs on bare metal: nothing remembers anything about old stacks.
void release_stack(void*, usize) {}

} // namespace gantry::arch
