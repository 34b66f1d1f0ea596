// The sender's per-segment scoreboard (RFC 6675 section 3, RFC 8985 section
// 5.2's per-segment state): see scoreboard.hpp.
#include <gantry/assert.hpp>
#include <gantry/net/tcp/scoreboard.hpp>

#include <new>

namespace gantry::net {

TcpScoreboard::~TcpScoreboard()
{
    if (m_records)
        m_heap->free(m_records);
}

bool TcpScoreboard::allocate(Heap& heap, usize count)
{
    GANTRY_ASSERT(m_records == nullptr);
    count = count < records_min ? records_min : (count > records_max ? records_max : count);
    void* memory = heap.alloc(count * sizeof(TcpSegmentRecord));
    if (!memory)
        return false;
    m_records = static_cast<TcpSegmentRecord*>(memory);
    for (usize i = 0; i < count; i++)
        new (&m_records[i]) TcpSegmentRecord{};
    m_heap = &heap;
    m_capacity = count;
    clear();
    return true;
}

TcpSegmentRecord& TcpScoreboard::at(usize index)
{
    GANTRY_ASSERT(index < m_size);
    return m_records[slot(index)];
}

const TcpSegmentRecord& TcpScoreboard::at(usize index) const
{
    GANTRY_ASSERT(index < m_size);
    return m_records[slot(index)];
}

SeqNumber TcpScoreboard::end() const
{
    GANTRY_ASSERT(m_size > 0);
    return at(m_size - 1).end;
}

usize TcpScoreboard::find_after(SeqNumber seq) const
{
    usize low = 0;
    usize high = m_size;
    while (low < high) { // records are sorted and contiguous: binary search
        usize middle = low + (high - low) / 2;
        if (at(middle).end <= seq)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

void TcpScoreboard::push(SeqNumber start, SeqNumber end, TimeNs now)
{
    GANTRY_ASSERT(has_room());
    GANTRY_ASSERT(start < end);
    GANTRY_ASSERT(m_size == 0 || this->end() == start);
    m_records[slot(m_size)] = TcpSegmentRecord{start, end, now, 0};
    m_size++;
    m_total_bytes += static_cast<u32>(end - start);
}

bool TcpScoreboard::split_at(SeqNumber seq)
{
    usize index = find_after(seq);
    if (index == m_size || at(index).start >= seq)
        return true; // on a boundary already (or beyond the records)
    if (!has_room())
        return false;
    // Shift the records after `index` one place up, then halve the record.
    for (usize i = m_size; i > index + 1; i--)
        m_records[slot(i)] = m_records[slot(i - 1)];
    m_size++;
    TcpSegmentRecord& low = at(index);
    TcpSegmentRecord high = low;
    high.start = seq;
    low.end = seq;
    at(index + 1) = high;
    // The byte counters stay (the same bytes, the same flags); one record more
    // carries the flags.
    if (high.has(TcpSegmentRecord::sacked))
        m_sacked_records++;
    if (high.has(TcpSegmentRecord::lost))
        m_lost_records++;
    return true;
}

void TcpScoreboard::forget_flags(const TcpSegmentRecord& record)
{
    if (record.has(TcpSegmentRecord::sacked)) {
        m_sacked_bytes -= record.length();
        m_sacked_records--;
    }
    if (record.has(TcpSegmentRecord::lost)) {
        m_lost_bytes -= record.length();
        m_lost_records--;
    }
}

void TcpScoreboard::acknowledge(SeqNumber una)
{
    while (m_size > 0 && at(0).end <= una) {
        const TcpSegmentRecord& record = at(0);
        forget_flags(record);
        m_total_bytes -= record.length();
        m_head = slot(1);
        m_size--;
    }
    if (m_size == 0 || at(0).start >= una)
        return;
    TcpSegmentRecord& first = at(0);
    u32 cut = static_cast<u32>(una - first.start);
    if (first.has(TcpSegmentRecord::sacked))
        m_sacked_bytes -= cut;
    if (first.has(TcpSegmentRecord::lost))
        m_lost_bytes -= cut;
    m_total_bytes -= cut;
    first.start = una;
}

void TcpScoreboard::clear()
{
    m_head = 0;
    m_size = 0;
    m_total_bytes = m_sacked_bytes = m_lost_bytes = 0;
    m_sacked_records = m_lost_records = 0;
}

void TcpScoreboard::forget_sacks()
{
    for (usize i = 0; i < m_size; i++)
        at(i).flags &= static_cast<u8>(~TcpSegmentRecord::sacked);
    m_sacked_bytes = 0;
    m_sacked_records = 0;
}

void TcpScoreboard::mark_sacked(usize index)
{
    TcpSegmentRecord& record = at(index);
    if (record.has(TcpSegmentRecord::sacked))
        return;
    if (record.has(TcpSegmentRecord::lost)) {
        m_lost_bytes -= record.length();
        m_lost_records--;
    }
    record.flags = static_cast<u8>((record.flags & ~TcpSegmentRecord::lost) |
                                   TcpSegmentRecord::sacked);
    m_sacked_bytes += record.length();
    m_sacked_records++;
}

void TcpScoreboard::mark_lost(usize index)
{
    TcpSegmentRecord& record = at(index);
    GANTRY_ASSERT(!record.has(TcpSegmentRecord::sacked));
    if (record.has(TcpSegmentRecord::lost))
        return;
    record.flags |= TcpSegmentRecord::lost;
    m_lost_bytes += record.length();
    m_lost_records++;
}

void TcpScoreboard::mark_sent_again(usize index, TimeNs now)
{
    TcpSegmentRecord& record = at(index);
    if (record.has(TcpSegmentRecord::lost)) {
        m_lost_bytes -= record.length();
        m_lost_records--;
    }
    record.flags = static_cast<u8>((record.flags & ~TcpSegmentRecord::lost) |
                                   TcpSegmentRecord::retransmitted);
    record.sent_at = now;
}

} // namespace gantry::net
