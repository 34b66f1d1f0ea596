// The sender's record of every segment in flight: what RFC 6675 calls the
// scoreboard and RFC 8985 (RACK-TLP) needs per segment. One record per
// segment as it was sent, oldest sequence first, each with the time of its
// last transmission and whether the peer SACKed it, whether loss detection
// declared it lost, and whether it was ever retransmitted.
//
// Records live in a ring allocated once when the connection is created; a
// full ring stops new data (the connection asks has_room() before sending),
// so the segment path never allocates. Counters kept on every flag change
// give RFC 6675's pipe in O(1).
#pragma once

#include <gantry/mem.hpp>
#include <gantry/net/tcp/seq.hpp>
#include <gantry/types.hpp>

namespace gantry::net {

struct TcpSegmentRecord {
    static constexpr u8 sacked = 1;        // the peer holds it (a SACK block covered it)
    static constexpr u8 lost = 2;          // declared lost and not sent again since
    static constexpr u8 retransmitted = 4; // sent more than once

    SeqNumber start;
    SeqNumber end;
    TimeNs sent_at = 0; // the last transmission
    u8 flags = 0;

    bool has(u8 flag) const { return (flags & flag) != 0; }
    u32 length() const { return static_cast<u32>(end - start); }
};

class TcpScoreboard {
public:
    static constexpr usize records_min = 16;
    static constexpr usize records_max = 8192;

    TcpScoreboard() = default;
    TcpScoreboard(const TcpScoreboard&) = delete;
    TcpScoreboard& operator=(const TcpScoreboard&) = delete;
    ~TcpScoreboard();

    // Room for `count` records (clamped to [records_min, records_max]); false
    // when the heap is exhausted.
    [[nodiscard]] bool allocate(Heap& heap, usize count);

    usize size() const { return m_size; }
    usize capacity() const { return m_capacity; }
    bool empty() const { return m_size == 0; }
    // One more record fits (a new segment, or a split for a retransmission).
    bool has_room() const { return m_size < m_capacity; }
    TcpSegmentRecord& at(usize index);
    const TcpSegmentRecord& at(usize index) const;
    // The first record whose end lies above `seq` (size() if none).
    usize find_after(SeqNumber seq) const;

    // New data [start, end) sent at `now`; start is the last record's end.
    void push(SeqNumber start, SeqNumber end, TimeNs now);
    // Splits the record holding `seq` strictly inside it into two (flags and
    // time copied). false if the ring is full (the record stays whole).
    bool split_at(SeqNumber seq);
    // Everything below `una` was acknowledged: drops those records and trims
    // the one `una` falls inside.
    void acknowledge(SeqNumber una);
    void clear();
    // Clears every SACK mark (after repeated timeouts: the peer may have
    // discarded what it SACKed, RFC 2018 8).
    void forget_sacks();

    // Flag changes that keep the byte counters right.
    void mark_sacked(usize index);
    void mark_lost(usize index);
    void mark_sent_again(usize index, TimeNs now);

    u32 sacked_bytes() const { return m_sacked_bytes; }
    u32 lost_bytes() const { return m_lost_bytes; }
    usize sacked_records() const { return m_sacked_records; }
    usize lost_records() const { return m_lost_records; }
    // RFC 6675 pipe: bytes sent and neither SACKed nor declared lost since
    // their last transmission.
    u32 pipe_bytes() const { return m_total_bytes - m_sacked_bytes - m_lost_bytes; }
    SeqNumber end() const;

private:
    usize slot(usize index) const { return (m_head + index) % m_capacity; }
    void forget_flags(const TcpSegmentRecord& record);

    Heap* m_heap = nullptr;
    TcpSegmentRecord* m_records = nullptr;
    usize m_capacity = 0;
    usize m_head = 0;
    usize m_size = 0;
    u32 m_total_bytes = 0;
    u32 m_sacked_bytes = 0;
    u32 m_lost_bytes = 0;
    usize m_sacked_records = 0;
    usize m_lost_records = 0;
};

} // namespace gantry::net
