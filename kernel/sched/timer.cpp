#include <gantry/assert.hpp>
#include <gantry/mem.hpp>
#include <gantry/timer.hpp>

namespace gantry {

Timer::~Timer()
{
    if (m_queue)
        m_queue->cancel(*this);
}

TimerQueue::~TimerQueue()
{
    clear();
    m_heap.free(m_slots);
}

void TimerQueue::clear()
{
    for (u32 i = 0; i < m_size; ++i)
        m_slots[i]->m_queue = nullptr;
    m_size = 0;
}

bool TimerQueue::less(const Timer* a, const Timer* b) const
{
    if (a->m_deadline != b->m_deadline)
        return a->m_deadline < b->m_deadline;
    return a->m_sequence < b->m_sequence;
}

void TimerQueue::place(Timer* timer, u32 index)
{
    m_slots[index] = timer;
    timer->m_heap_index = index;
}

void TimerQueue::sift_up(u32 index)
{
    Timer* timer = m_slots[index];
    while (index > 0) {
        u32 parent = (index - 1) / 2;
        if (!less(timer, m_slots[parent]))
            break;
        place(m_slots[parent], index);
        index = parent;
    }
    place(timer, index);
}

void TimerQueue::sift_down(u32 index)
{
    Timer* timer = m_slots[index];
    for (;;) {
        u32 child = 2 * index + 1;
        if (child >= m_size)
            break;
        if (child + 1 < m_size && less(m_slots[child + 1], m_slots[child]))
            ++child;
        if (!less(m_slots[child], timer))
            break;
        place(m_slots[child], index);
        index = child;
    }
    place(timer, index);
}

bool TimerQueue::grow_to(usize wanted)
{
    if (wanted <= m_capacity)
        return true;
    usize capacity = m_capacity == 0 ? 64 : m_capacity;
    while (capacity < wanted)
        capacity *= 2;
    if (capacity > timers_max)
        return false;
    auto** slots = static_cast<Timer**>(m_heap.alloc(capacity * sizeof(Timer*)));
    if (!slots)
        return false;
    for (u32 i = 0; i < m_size; ++i)
        slots[i] = m_slots[i];
    m_heap.free(m_slots);
    m_slots = slots;
    m_capacity = static_cast<u32>(capacity);
    return true;
}

// Capacity accounting: m_capacity >= (armed timers without a reservation) +
// m_reserved, which is >= m_size. Plain arm() keeps room for every reservation.
bool TimerQueue::arm(Timer& timer, TimeNs deadline)
{
    GANTRY_ASSERT(timer.m_callback != nullptr);
    GANTRY_ASSERT(timer.m_queue == nullptr || timer.m_queue == this);
    if (timer.m_queue)
        remove_at(timer.m_heap_index);
    if (!grow_to(usize{m_size} + m_reserved + 1))
        return false;
    insert(timer, deadline);
    return true;
}

void TimerQueue::arm_reserved(Timer& timer, TimeNs deadline)
{
    GANTRY_ASSERT(timer.m_callback != nullptr);
    GANTRY_ASSERT(timer.m_queue == nullptr || timer.m_queue == this);
    GANTRY_ASSERT(m_reserved > 0);
    if (timer.m_queue)
        remove_at(timer.m_heap_index);
    GANTRY_ASSERT(m_size < m_capacity);
    insert(timer, deadline);
}

void TimerQueue::insert(Timer& timer, TimeNs deadline)
{
    timer.m_deadline = deadline;
    timer.m_sequence = m_next_sequence++;
    timer.m_queue = this;
    place(&timer, m_size++);
    sift_up(timer.m_heap_index);
}

bool TimerQueue::reserve(usize count)
{
    if (!grow_to(usize{m_size} + m_reserved + count))
        return false;
    m_reserved += count;
    return true;
}

void TimerQueue::unreserve(usize count)
{
    GANTRY_ASSERT(count <= m_reserved);
    m_reserved -= count;
}

void TimerQueue::remove_at(u32 index)
{
    GANTRY_ASSERT(index < m_size);
    Timer* removed = m_slots[index];
    removed->m_queue = nullptr;
    --m_size;
    if (index == m_size)
        return;
    place(m_slots[m_size], index);
    // The moved timer may belong above or below its new slot.
    if (index > 0 && less(m_slots[index], m_slots[(index - 1) / 2]))
        sift_up(index);
    else
        sift_down(index);
}

void TimerQueue::cancel(Timer& timer)
{
    if (!timer.m_queue)
        return;
    GANTRY_ASSERT(timer.m_queue == this);
    GANTRY_ASSERT(m_slots[timer.m_heap_index] == &timer);
    remove_at(timer.m_heap_index);
}

TimeNs TimerQueue::next_deadline() const
{
    return m_size == 0 ? deadline_none : m_slots[0]->m_deadline;
}

usize TimerQueue::fire_due(TimeNs now)
{
    usize fired = 0;
    // Timers armed by the callbacks below wait for the next call, so a timer that
    // re-arms itself for "now" cannot keep this loop spinning.
    const u64 sequence_limit = m_next_sequence;
    while (m_size > 0 && m_slots[0]->m_deadline <= now &&
           m_slots[0]->m_sequence < sequence_limit) {
        Timer* timer = m_slots[0];
        remove_at(0);
        ++fired;
        // The callback may re-arm this timer or arm others; the loop sees them.
        timer->m_callback(*timer, timer->m_context);
    }
    return fired;
}

} // namespace gantry
