// A fixed-capacity byte ring for a TCP connection's send and receive buffers.
// Allocated once from the kernel heap when the connection is created, so the
// segment path never allocates. Besides the usual FIFO operations it reads and
// writes at an offset past the readable bytes: the send side retransmits from
// anywhere in the unacknowledged data, and the receive side stores
// out-of-order segments in place, where they will be when the hole fills.
#pragma once

#include <gantry/mem.hpp>
#include <gantry/result.hpp>
#include <gantry/types.hpp>

namespace gantry::net {

// Two pieces of a ring's contents (the second is empty unless they wrap).
struct RingSlices {
    Bytes first;
    Bytes second;
    usize size() const { return first.size() + second.size(); }
};

class TcpRing {
public:
    static constexpr usize capacity_max = usize{1} << 30; // windows stay < 2^30 (RFC 7323 2.3)

    TcpRing() = default;
    TcpRing(const TcpRing&) = delete;
    TcpRing& operator=(const TcpRing&) = delete;
    ~TcpRing();

    // false when the heap is exhausted.
    [[nodiscard]] bool allocate(Heap& heap, usize capacity);
    void release();

    usize capacity() const { return m_capacity; }
    usize size() const { return m_size; }
    usize free() const { return m_capacity - m_size; }
    bool empty() const { return m_size == 0; }

    // FIFO: append at the tail (up to free()), consume from the head.
    usize push(Bytes data);
    usize pop(MutableBytes out);
    void consume(usize count);
    // Readable bytes at [offset, offset + length), without consuming.
    RingSlices peek(usize offset, usize length) const;
    // Writes `data` at `offset` past the tail-relative head (offset + size may
    // exceed size(): out-of-order data), without changing size().
    void write_at(usize offset, Bytes data);
    // Makes `count` bytes written by write_at just past the tail readable.
    void commit(usize count);

private:
    usize index(usize offset) const;

    Heap* m_heap = nullptr;
    u8* m_data = nullptr;
    usize m_capacity = 0;
    usize m_head = 0;
    usize m_size = 0;
};

} // namespace gantry::net
