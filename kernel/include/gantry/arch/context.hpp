// Context switching seam, defined once per target and chosen by CMake:
// kernel/arch/fcontext (Boost.Context's fcontext, hosted and simulator) and the
// bare-metal target. The scheduler is the only user.
#pragma once

#include <gantry/types.hpp>

namespace gantry::arch {

// An opaque suspended execution context.
using ContextHandle = void*;

struct ContextTransfer {
    ContextHandle from; // the context that just switched to us; resume it later
    void* data;
};

using ContextEntry = void (*)(ContextTransfer);

// Prepares a context that will run `entry` on the stack [stack_base, stack_base+size).
ContextHandle make_context(void* stack_base, usize stack_size, ContextEntry entry);

// Suspends the caller and resumes `to`, handing it `data`. Returns when someone
// switches back to the caller.
ContextTransfer jump_context(ContextHandle to, void* data);

// The memory of a finished fiber's stack is about to be reused for something
// else. Targets with AddressSanitizer forget the dead frames' redzones here, so
// a heap object placed there later is not reported as a stack overflow.
void release_stack(void* stack_base, usize stack_size);

} // namespace gantry::arch
