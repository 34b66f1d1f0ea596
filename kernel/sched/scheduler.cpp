// The fiber scheduler: a FIFO ready queue, run from Kernel::poll on the caller's
// stack ("the scheduler context"); each fiber switches back to it when it
// yields, blocks or finishes. Fibers are identified by ids in spawn order, so
// traces never contain pointer values.
#include <gantry/assert.hpp>
#include <gantry/platform.hpp>
#include <gantry/sched.hpp>
#include <gantry/trace.hpp>

namespace gantry {

namespace {

// Written at the lowest address of every stack; checked at each switch so an
// overflow is reported at the switch after it happens instead of corrupting a
// neighbour silently. (Bare metal adds guard pages on top of this.)
constexpr u64 stack_canary = 0x4741'4e54'5259'5354; // "GANTRYST"

// The canary is read and written as one word: the check runs at every switch.
// (__builtin_memcpy stays a plain load/store even under -fno-builtin.)
void write_canary(u8* stack)
{
    __builtin_memcpy(stack, &stack_canary, sizeof(stack_canary));
}

bool canary_intact(const u8* stack)
{
    u64 word;
    __builtin_memcpy(&word, stack, sizeof(word));
    return word == stack_canary;
}

} // namespace

void FiberList::push_back(Fiber* fiber)
{
    GANTRY_ASSERT(fiber->m_list == nullptr);
    fiber->m_list = this;
    fiber->m_list_next = nullptr;
    fiber->m_list_prev = m_tail;
    if (m_tail)
        m_tail->m_list_next = fiber;
    else
        m_head = fiber;
    m_tail = fiber;
    ++m_size;
}

Fiber* FiberList::pop_front()
{
    Fiber* fiber = m_head;
    if (fiber)
        remove(fiber);
    return fiber;
}

void FiberList::remove(Fiber* fiber)
{
    GANTRY_ASSERT(fiber->m_list == this);
    if (fiber->m_list_prev)
        fiber->m_list_prev->m_list_next = fiber->m_list_next;
    else
        m_head = fiber->m_list_next;
    if (fiber->m_list_next)
        fiber->m_list_next->m_list_prev = fiber->m_list_prev;
    else
        m_tail = fiber->m_list_prev;
    fiber->m_list = nullptr;
    fiber->m_list_next = nullptr;
    fiber->m_list_prev = nullptr;
    GANTRY_ASSERT(m_size > 0);
    --m_size;
}

Scheduler::Scheduler(Platform& platform, PageAllocator& pages, Heap& heap, TimerQueue& timers,
                     Tracer& tracer)
    : m_platform(platform), m_pages(pages), m_heap(heap), m_timers(timers), m_tracer(tracer)
{
}

Scheduler::~Scheduler()
{
    // Fibers still alive are abandoned where they stand (the kernel exited):
    // release their memory without running them again.
    GANTRY_ASSERT(m_current == nullptr);
    while (m_all) {
        Fiber* fiber = m_all;
        if (fiber->m_list)
            fiber->m_list->remove(fiber);
        reap(fiber);
    }
}

Fiber* Scheduler::create_fiber(std::string_view name, Fiber::Body body, Fiber::Destroy destroy,
                               void* closure, SpawnOptions options)
{
    GANTRY_ASSERT(body != nullptr);
    if (m_live >= fibers_max)
        return nullptr;
    usize stack_bytes = options.stack_bytes < stack_bytes_min ? stack_bytes_min
                                                               : options.stack_bytes;
    u32 order = PageAllocator::order_for_bytes(stack_bytes);
    Fiber* fiber = m_heap.create<Fiber>();
    if (!fiber)
        return nullptr;
    auto* stack = static_cast<u8*>(m_pages.alloc_pages(order));
    if (!stack || !m_timers.reserve(1)) {
        if (stack)
            m_pages.free_pages(stack, order);
        m_heap.destroy(fiber);
        return nullptr;
    }
    fiber->m_stack = stack;
    fiber->m_stack_order = order;
    fiber->m_id = m_next_id++;
    fiber->m_body = body;
    fiber->m_destroy = destroy;
    fiber->m_closure = closure;
    usize copy = name.size() < Fiber::name_bytes_max ? name.size() : Fiber::name_bytes_max;
    for (usize i = 0; i < copy; ++i)
        fiber->m_name[i] = name[i];
    fiber->m_name_length = static_cast<u8>(copy);
    write_canary(stack);
    fiber->m_context = arch::make_context(stack, page_size << order, trampoline);
    fiber->m_all_next = m_all;
    m_all = fiber;
    ++m_live;
    m_tracer.fiber_spawn(fiber->m_id, m_current ? m_current->m_id : 0, fiber->name());
    fiber->m_state = FiberState::ready;
    m_ready.push_back(fiber);
    return fiber;
}

void Scheduler::trampoline(arch::ContextTransfer transfer)
{
    auto* scheduler = static_cast<Scheduler*>(transfer.data);
    scheduler->m_scheduler_context = transfer.from;
    Fiber* fiber = scheduler->m_current;
    fiber->m_body(fiber->m_closure);
    // The closure is destroyed here, on the fiber, so its destructor may block.
    fiber->m_destroy(scheduler->m_heap, fiber->m_closure);
    fiber->m_closure = nullptr;
    fiber->m_state = FiberState::finished;
    scheduler->switch_to_scheduler();
    GANTRY_UNREACHABLE();
}

void Scheduler::switch_to_scheduler()
{
    GANTRY_ASSERT(m_current != nullptr);
    arch::ContextTransfer back = arch::jump_context(m_scheduler_context, nullptr);
    m_scheduler_context = back.from;
}

void Scheduler::check_stack(const Fiber* fiber) const
{
    if (!canary_intact(fiber->m_stack)) [[unlikely]]
        GANTRY_PANIC("fiber stack overflow (canary overwritten)");
}

void Scheduler::run_ready()
{
    GANTRY_ASSERT(m_current == nullptr);
    u32 previous = 0;
    // Only the fibers ready on entry run in this pass: a fiber that yields goes
    // to the back and waits for the next pass, so a yield loop cannot keep
    // poll() from firing timers, reading devices or returning to the platform.
    for (usize budget = m_ready.size(); budget > 0 && !m_stopped; --budget) {
        Fiber* fiber = m_ready.pop_front();
        GANTRY_ASSERT(fiber != nullptr);
        GANTRY_ASSERT(fiber->m_state == FiberState::ready);
        fiber->m_state = FiberState::running;
        m_current = fiber;
        if (m_tracer.enabled())
            m_tracer.fiber_switch(previous, fiber->m_id);
        previous = fiber->m_id;
        ++m_switches;
        arch::ContextTransfer back = arch::jump_context(fiber->m_context, this);
        fiber->m_context = back.from;
        m_current = nullptr;
        check_stack(fiber);
        if (fiber->m_state == FiberState::finished)
            finish(fiber);
    }
    if (previous != 0 && m_tracer.enabled())
        m_tracer.fiber_switch(previous, 0);
}

void Scheduler::finish(Fiber* fiber)
{
    m_tracer.fiber_exit(fiber->m_id);
    while (Fiber* joiner = fiber->m_joiners.front())
        make_ready(joiner);
    if (fiber->m_detached)
        reap(fiber);
}

void Scheduler::reap(Fiber* fiber)
{
    GANTRY_ASSERT(fiber != m_current);
    GANTRY_ASSERT(fiber->m_list == nullptr);
    Fiber** link = &m_all;
    while (*link != fiber) {
        GANTRY_ASSERT(*link != nullptr);
        link = &(*link)->m_all_next;
    }
    *link = fiber->m_all_next;
    if (fiber->m_closure)
        fiber->m_destroy(m_heap, fiber->m_closure); // never ran to completion
    arch::release_stack(fiber->m_stack, page_size << fiber->m_stack_order);
    m_pages.free_pages(fiber->m_stack, fiber->m_stack_order);
    m_timers.unreserve(1);
    m_heap.destroy(fiber);
    --m_live;
}

void Scheduler::make_ready(Fiber* fiber)
{
    GANTRY_ASSERT(fiber->m_state == FiberState::blocked || fiber->m_state == FiberState::running);
    if (fiber->m_list)
        fiber->m_list->remove(fiber);
    fiber->m_state = FiberState::ready;
    m_ready.push_back(fiber);
}

void Scheduler::block_current(FiberList* wait_list)
{
    GANTRY_ASSERT(m_current != nullptr);
    Fiber* fiber = m_current;
    fiber->m_state = FiberState::blocked;
    if (wait_list)
        wait_list->push_back(fiber);
    switch_to_scheduler();
    GANTRY_ASSERT(fiber->m_state == FiberState::running);
}

void Scheduler::yield()
{
    GANTRY_ASSERT(m_current != nullptr);
    Fiber* fiber = m_current;
    fiber->m_state = FiberState::ready;
    m_ready.push_back(fiber);
    switch_to_scheduler();
}

namespace {

struct SleepWake {
    Scheduler* scheduler;
    Fiber* fiber;
};

void wake_sleeper(Timer&, void* context)
{
    auto* wake = static_cast<SleepWake*>(context);
    wake->scheduler->make_ready(wake->fiber);
}

} // namespace

void Scheduler::sleep_until(TimeNs deadline)
{
    GANTRY_ASSERT(m_current != nullptr);
    SleepWake wake{this, m_current};
    Timer timer(wake_sleeper, &wake);
    m_timers.arm_reserved(timer, deadline);
    block_current(nullptr);
    GANTRY_ASSERT(!timer.armed());
}

void Scheduler::sleep_for(TimeNs duration)
{
    sleep_until(m_platform.now() + duration);
}

void Scheduler::join(Fiber* fiber)
{
    GANTRY_ASSERT(fiber != nullptr);
    GANTRY_ASSERT(fiber != m_current);
    GANTRY_ASSERT(!fiber->m_detached);
    if (fiber->m_state != FiberState::finished)
        block_current(&fiber->m_joiners);
    GANTRY_ASSERT(fiber->m_state == FiberState::finished);
    reap(fiber);
}

void Scheduler::detach(Fiber* fiber)
{
    GANTRY_ASSERT(fiber != nullptr);
    GANTRY_ASSERT(!fiber->m_detached);
    fiber->m_detached = true;
    if (fiber->m_state == FiberState::finished && fiber != m_current)
        reap(fiber);
}

Event::~Event()
{
    // Destroying an event that fibers wait on strands them forever: a bug, unless
    // the kernel has stopped and is tearing everything down.
    GANTRY_ASSERT(m_waiters.empty() || m_scheduler.stopped());
    while (Fiber* fiber = m_waiters.pop_front())
        (void)fiber;
}

void Event::wait()
{
    m_scheduler.block_current(&m_waiters);
}

WaitResult Event::wait_until(TimeNs deadline)
{
    return m_scheduler.block_current_until(&m_waiters, deadline);
}

void Event::notify_one()
{
    if (Fiber* fiber = m_waiters.front())
        m_scheduler.make_ready(fiber);
}

void Event::notify_all()
{
    while (Fiber* fiber = m_waiters.front())
        m_scheduler.make_ready(fiber);
}

namespace {

struct TimedWait {
    Scheduler* scheduler;
    Fiber* fiber;
};

} // namespace

void Scheduler::wake_timed_out(Timer&, void* context)
{
    auto* wait = static_cast<TimedWait*>(context);
    // Something outside the fibers (a frame, a disk completion) may have
    // notified the fiber earlier in this same poll, before its deadline's timer
    // fired: it is ready already and was notified, not timed out.
    if (wait->fiber->m_state == FiberState::ready)
        return;
    wait->fiber->m_woken_by_timeout = true;
    wait->scheduler->make_ready(wait->fiber);
}

WaitResult Scheduler::block_current_until(FiberList* wait_list, TimeNs deadline)
{
    GANTRY_ASSERT(m_current != nullptr);
    Fiber* fiber = m_current;
    TimedWait wait{this, fiber};
    Timer timer(wake_timed_out, &wait);
    fiber->m_woken_by_timeout = false;
    if (deadline != deadline_none)
        m_timers.arm_reserved(timer, deadline);
    block_current(wait_list);
    m_timers.cancel(timer);
    bool timed_out = fiber->m_woken_by_timeout;
    fiber->m_woken_by_timeout = false;
    return timed_out ? WaitResult::timed_out : WaitResult::notified;
}

} // namespace gantry
