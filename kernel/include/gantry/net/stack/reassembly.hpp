// IPv4 fragment reassembly (RFC 791 section 3.2 "Fragmentation and
// Reassembly"; RFC 815 for the idea of tracking what is still missing; RFC 1122
// section 3.3.2 for the timeout). Holes are tracked as a bitmap of 8-byte
// fragment blocks, so overlapping and duplicated fragments need no list
// surgery and every step is bounded.
//
// Limits: slots_max datagrams in progress, each at most datagram_bytes_max
// bytes of payload; a slot that is not complete after timeout_ns is dropped.
// When every slot is busy the oldest is evicted: a flood of first fragments
// cannot pin the reassembler forever.
#pragma once

#include <gantry/mem.hpp>
#include <gantry/net/stack/counters.hpp>
#include <gantry/net/wire/ipv4.hpp>
#include <gantry/types.hpp>

#include <optional>

namespace gantry::net {

struct ReassembledDatagram {
    Ipv4Repr header;   // fragment fields cleared, payload_len = full length
    Bytes payload;     // valid until release()
    u32 slot;
};

class Reassembler {
public:
    static constexpr usize slots_max = 4;
    static constexpr usize datagram_bytes_default = 16 * 1024;
    static constexpr usize datagram_bytes_max = 65535 - 20;
    // RFC 1122 suggests 60-120 s; Linux uses 30 s, which frees memory sooner.
    static constexpr TimeNs timeout_ns = 30 * ns_per_s;

    Reassembler() = default;
    Reassembler(const Reassembler&) = delete;
    ~Reassembler();

    // Takes its buffers from `heap` once. false when the heap is exhausted.
    [[nodiscard]] bool init(Heap& heap, usize datagram_bytes);

    // Adds one fragment. Returns the whole datagram when this fragment completed
    // it; otherwise nothing, with `drop` set when the fragment was refused.
    std::optional<ReassembledDatagram> add(const Ipv4Packet& fragment, TimeNs now,
                                           std::optional<DropReason>& drop);
    // Frees the slot of a datagram returned by add().
    void release(u32 slot);

    // Drops datagrams that timed out; returns how many.
    usize expire(TimeNs now);
    TimeNs next_deadline() const;
    usize in_progress() const;
    u64 evictions() const { return m_evictions; }

private:
    enum class SlotState : u8 { free, filling, complete };
    struct Slot {
        SlotState state = SlotState::free;
        Ipv4Address source;
        Ipv4Address destination;
        u8 protocol = 0;
        u16 ident = 0;
        u8 ttl = 0;
        u8 dscp_ecn = 0;
        u32 total_len = 0;     // payload bytes; 0 until the last fragment arrives
        u32 high_water = 0;    // highest byte received + 1
        TimeNs deadline = 0;
        u64 started = 0;       // arrival order, for eviction
        u8* data = nullptr;
        u8* bitmap = nullptr;  // one bit per 8-byte block
    };

    Slot* find_or_claim(const Ipv4Packet& fragment, TimeNs now);
    bool covered(const Slot& slot) const;
    void mark(Slot& slot, usize first_block, usize blocks);

    Heap* m_heap = nullptr;
    u8* m_memory = nullptr;
    usize m_datagram_bytes = 0;
    Slot m_slots[slots_max];
    u64 m_next_start = 0;
    u64 m_evictions = 0;
};

} // namespace gantry::net
