// The context-switch seam for the hosted and simulated platforms, on Boost.Context's
// raw fcontext layer (boost::context::fiber needs exceptions; this layer does not).
#include <gantry/arch/context.hpp>

#include <boost/context/detail/fcontext.hpp>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define GANTRY_UNPOISON(base, size) __asan_unpoison_memory_region(base, size)
#else
#define GANTRY_UNPOISON(base, size) ((void)(base), (void)(size))
#endif

namespace gantry::arch {

namespace fc = boost::context::detail;

static_assert(sizeof(fc::fcontext_t) == sizeof(ContextHandle));

namespace {

// fcontext hands entry functions a transfer_t; ours take ContextTransfer. The
// two are layout-identical, checked below, so the entry pointer is reused as is.
static_assert(sizeof(fc::transfer_t) == sizeof(ContextTransfer));
static_assert(alignof(fc::transfer_t) == alignof(ContextTransfer));

} // namespace

ContextHandle make_context(void* stack_base, usize stack_size, ContextEntry entry)
{
    // A recycled stack may still carry the poisoned redzones of dead frames.
    GANTRY_UNPOISON(stack_base, stack_size);
    // fcontext wants the top of the stack (stacks grow down on x86_64).
    void* top = static_cast<u8*>(stack_base) + stack_size;
    return fc::make_fcontext(top, stack_size, reinterpret_cast<void (*)(fc::transfer_t)>(entry));
}

ContextTransfer jump_context(ContextHandle to, void* data)
{
    fc::transfer_t transfer = fc::jump_fcontext(to, data);
    return ContextTransfer{transfer.fctx, transfer.data};
}

void release_stack(void* stack_base, usize stack_size)
{
    GANTRY_UNPOISON(stack_base, stack_size);
}

} // namespace gantry::arch
