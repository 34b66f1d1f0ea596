// Cooperative fibers. Blocking-style APIs (sleep, wait on an event, join) block
// only the calling fiber; the scheduler runs from Kernel::poll and hands control
// back to the platform when nothing is runnable.
#pragma once

#include <gantry/arch/context.hpp>
#include <gantry/mem.hpp>
#include <gantry/timer.hpp>
#include <gantry/types.hpp>

#include <new>
#include <type_traits>
#include <utility>

namespace gantry {

class Tracer;
class Platform;
class Scheduler;
class Fiber;

// An intrusive FIFO of fibers; a fiber is on at most one list at a time.
class FiberList {
public:
    void push_back(Fiber* fiber);
    Fiber* pop_front();
    void remove(Fiber* fiber);
    bool empty() const { return m_head == nullptr; }
    Fiber* front() const { return m_head; }
    usize size() const { return m_size; }

private:
    Fiber* m_head = nullptr;
    Fiber* m_tail = nullptr;
    usize m_size = 0;
};

enum class FiberState : u8 { ready, running, blocked, finished };

class Fiber {
public:
    u32 id() const { return m_id; }
    std::string_view name() const { return {m_name, m_name_length}; }
    FiberState state() const { return m_state; }

private:
    friend class Scheduler;
    friend class FiberList;
    friend class Event;

    static constexpr usize name_bytes_max = 31;

    using Body = void (*)(void* closure);
    using Destroy = void (*)(Heap&, void* closure);

    arch::ContextHandle m_context = nullptr;
    Fiber* m_list_next = nullptr;
    Fiber* m_list_prev = nullptr;
    FiberList* m_list = nullptr;   // the list the fiber is on, if any
    Fiber* m_all_next = nullptr;   // every live fiber, in spawn order
    u8* m_stack = nullptr;
    u32 m_stack_order = 0;
    u32 m_id = 0;
    FiberState m_state = FiberState::ready;
    bool m_detached = false;
    bool m_woken_by_timeout = false;
    Body m_body = nullptr;
    Destroy m_destroy = nullptr;
    void* m_closure = nullptr;
    FiberList m_joiners;
    char m_name[name_bytes_max + 1] = {};
    u8 m_name_length = 0;
};

enum class WaitResult : u8 { notified, timed_out };

// A condition a fiber can wait for. Notifying with no waiter is not remembered
// (use a counter or flag beside the event, as with condition variables).
class Event {
public:
    explicit Event(Scheduler& scheduler) : m_scheduler(scheduler) {}
    Event(const Event&) = delete;
    ~Event();

    void wait();
    WaitResult wait_until(TimeNs deadline);
    void notify_one();
    void notify_all();
    bool has_waiters() const { return !m_waiters.empty(); }

private:
    Scheduler& m_scheduler;
    FiberList m_waiters;
};

struct SpawnOptions {
    usize stack_bytes = 64 * 1024;
};

enum class SpawnError : u8 { out_of_memory };

class Scheduler {
public:
    static constexpr usize fibers_max = 1u << 16;
    static constexpr usize stack_bytes_min = 16 * 1024;

    Scheduler(Platform& platform, PageAllocator& pages, Heap& heap, TimerQueue& timers,
              Tracer& tracer);
    Scheduler(const Scheduler&) = delete;
    ~Scheduler();

    // Starts `body` (any callable taking no arguments) on a new fiber. It first
    // runs at the next poll. Returns nullptr when memory is exhausted.
    template<typename F>
    Fiber* spawn(std::string_view name, F&& body, SpawnOptions options = {});

    void yield();
    void sleep_until(TimeNs deadline);
    void sleep_for(TimeNs duration);
    // Waits for `fiber` to finish and releases it. Each fiber is joined or detached once.
    void join(Fiber* fiber);
    // The fiber is released as soon as it finishes.
    void detach(Fiber* fiber);

    Fiber* current() const { return m_current; }
    bool in_fiber() const { return m_current != nullptr; }
    usize live_fibers() const { return m_live; }
    usize runnable_fibers() const { return m_ready.size(); }
    u64 switches() const { return m_switches; }

    // Runs each fiber that is ready on entry once. Called by Kernel::poll only.
    void run_ready();

    // After stop() no fiber runs again; blocked fibers are abandoned (kernel exit).
    void stop() { m_stopped = true; }
    bool stopped() const { return m_stopped; }

    // For Event and timers: block the current fiber (optionally until a deadline)
    // and make a blocked fiber ready.
    void block_current(FiberList* wait_list);
    WaitResult block_current_until(FiberList* wait_list, TimeNs deadline);
    void make_ready(Fiber* fiber);

private:
    Fiber* create_fiber(std::string_view name, Fiber::Body body, Fiber::Destroy destroy,
                        void* closure, SpawnOptions options);
    void switch_to_scheduler();
    void finish(Fiber* fiber);
    void reap(Fiber* fiber);
    static void wake_timed_out(Timer& timer, void* context);
    void check_stack(const Fiber* fiber) const;
    static void trampoline(arch::ContextTransfer transfer);

    Platform& m_platform;
    PageAllocator& m_pages;
    Heap& m_heap;
    TimerQueue& m_timers;
    Tracer& m_tracer;
    FiberList m_ready;
    Fiber* m_current = nullptr;
    Fiber* m_all = nullptr;
    arch::ContextHandle m_scheduler_context = nullptr;
    u32 m_next_id = 1; // 0 means "the scheduler" in the trace
    usize m_live = 0;
    u64 m_switches = 0;
    bool m_stopped = false;
};

template<typename F>
Fiber* Scheduler::spawn(std::string_view name, F&& body, SpawnOptions options)
{
    using Closure = std::decay_t<F>;
    void* memory = m_heap.alloc(sizeof(Closure));
    if (!memory)
        return nullptr;
    auto* closure = new (memory) Closure(std::forward<F>(body));
    Fiber* fiber = create_fiber(
        name, [](void* c) { (*static_cast<Closure*>(c))(); },
        [](Heap& heap, void* c) {
            static_cast<Closure*>(c)->~Closure();
            heap.free(c);
        },
        closure, options);
    if (!fiber) {
        closure->~Closure();
        m_heap.free(closure);
    }
    return fiber;
}

} // namespace gantry
