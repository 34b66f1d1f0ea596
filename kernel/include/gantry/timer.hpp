// Timers ordered by deadline. Equal deadlines fire in the order they were armed,
// so a run never depends on heap layout or pointer values.
#pragma once

#include <gantry/types.hpp>

namespace gantry {

class Heap;
class TimerQueue;

// A timer is owned by its user (often on a fiber's stack) and linked into the
// queue while armed. Its callback runs from Kernel::poll, outside any fiber,
// and must not block.
class Timer {
public:
    using Callback = void (*)(Timer&, void* context);

    Timer() = default;
    Timer(Callback callback, void* context) : m_callback(callback), m_context(context) {}
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;
    ~Timer();

    void set_callback(Callback callback, void* context)
    {
        m_callback = callback;
        m_context = context;
    }
    bool armed() const { return m_queue != nullptr; }
    TimeNs deadline() const { return m_deadline; }

private:
    friend class TimerQueue;
    Callback m_callback = nullptr;
    void* m_context = nullptr;
    TimerQueue* m_queue = nullptr;
    TimeNs m_deadline = 0;
    u64 m_sequence = 0; // arming order: the tie-breaker for equal deadlines
    u32 m_heap_index = 0;
};

enum class TimerError : u8 { out_of_memory };

// A binary min-heap of armed timers keyed by (deadline, arming sequence).
class TimerQueue {
public:
    static constexpr u32 timers_max = 1u << 20;

    explicit TimerQueue(Heap& heap) : m_heap(heap) {}
    TimerQueue(const TimerQueue&) = delete;
    ~TimerQueue();

    // Arms (or re-arms) `timer`. Fails only when the heap cannot grow the queue;
    // owners that must not fail (a sleeping fiber) reserve their slot up front.
    [[nodiscard]] bool arm(Timer& timer, TimeNs deadline);

    // Reservations: an owner that must not fail (a sleeping fiber) reserves a slot
    // up front, when failing is still easy, and then arms with arm_reserved().
    [[nodiscard]] bool reserve(usize count);
    void unreserve(usize count);
    void arm_reserved(Timer& timer, TimeNs deadline);
    void cancel(Timer& timer);

    // Disarms every timer (kernel teardown: the owners are about to vanish).
    void clear();

    TimeNs next_deadline() const;
    usize size() const { return m_size; }

    // Fires every timer whose deadline is <= now, in order; returns how many fired.
    // A pass stops at the first due timer armed during the pass itself (Kernel::poll
    // calls again at once), so a timer that re-arms itself for "now" cannot spin.
    usize fire_due(TimeNs now);

private:
    bool less(const Timer* a, const Timer* b) const;
    void place(Timer* timer, u32 index);
    void sift_up(u32 index);
    void sift_down(u32 index);
    void remove_at(u32 index);
    bool grow_to(usize capacity);
    void insert(Timer& timer, TimeNs deadline);

    Heap& m_heap;
    Timer** m_slots = nullptr;
    u32 m_size = 0;
    u32 m_capacity = 0;
    usize m_reserved = 0;
    u64 m_next_sequence = 0;
};

} // namespace gantry
