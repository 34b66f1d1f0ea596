// Packet buffers: fixed-size buffers with headroom, so each layer prepends its
// header in place on the way down and trims it on the way up, never copying the
// payload; and a bounded pool that hands them out from a free list, so the packet
// path does no heap allocation at all. The pool's storage comes once from a
// gantry::Heap or from a span the caller owns (a static region on bare metal).
//
// Determinism: the free list is LIFO over buffer indices fixed at creation, so
// which buffer a given allocation gets depends only on the sequence of calls.
#pragma once

#include <gantry/assert.hpp>
#include <gantry/mem.hpp>
#include <gantry/result.hpp>
#include <gantry/types.hpp>

namespace gantry::net {

enum class PacketError : u8 { exhausted, bad_config, out_of_memory };

class PacketBuffer {
public:
    // The bytes of the packet, from the current head to the current tail.
    MutableBytes data() { return {m_storage + m_head, m_tail - m_head}; }
    Bytes data() const { return {m_storage + m_head, m_tail - m_head}; }
    usize size() const { return m_tail - m_head; }
    usize headroom() const { return m_head; }
    usize tailroom() const { return m_capacity - m_tail; }
    usize capacity() const { return m_capacity; }
    u32 index() const { return m_index; }

    // Grows the packet at the front by `bytes` and returns them: a header's
    // space. Running out of headroom is a bug in the layer sizing, so it asserts.
    MutableBytes prepend(usize bytes)
    {
        GANTRY_ASSERT(bytes <= m_head);
        m_head -= static_cast<u32>(bytes);
        return {m_storage + m_head, bytes};
    }
    // Grows the packet at the back. Callers check tailroom() first.
    MutableBytes append(usize bytes)
    {
        GANTRY_ASSERT(bytes <= tailroom());
        u8* start = m_storage + m_tail;
        m_tail += static_cast<u32>(bytes);
        return {start, bytes};
    }
    // Drops a parsed header from the front.
    void trim_front(usize bytes)
    {
        GANTRY_ASSERT(bytes <= size());
        m_head += static_cast<u32>(bytes);
    }
    // Drops bytes from the back (link-layer padding beyond the IP total length).
    void trim_back(usize bytes)
    {
        GANTRY_ASSERT(bytes <= size());
        m_tail -= static_cast<u32>(bytes);
    }
    // A sub-range of the packet; the packet keeps owning the bytes.
    MutableBytes slice(usize offset, usize length)
    {
        GANTRY_ASSERT(offset <= size());
        GANTRY_ASSERT(length <= size() - offset);
        return {m_storage + m_head + offset, length};
    }
    // Empties the packet, leaving `headroom` bytes in front for headers.
    void reset(usize headroom)
    {
        GANTRY_ASSERT(headroom <= m_capacity);
        m_head = m_tail = static_cast<u32>(headroom);
    }

private:
    friend class PacketPool;
    enum class State : u8 { free, in_use };

    u8* m_storage = nullptr;
    u32 m_capacity = 0;
    u32 m_head = 0;
    u32 m_tail = 0;
    u32 m_index = 0;
    u32 m_next_free = 0; // index, or PacketPool::none
    State m_state = State::free;
};

struct PacketPoolConfig {
    usize count = 256;
    // 1514-byte frame + 128 headroom fits, with room for a VLAN tag.
    usize buffer_bytes = 2048;
    usize headroom = 128;
};

struct PacketPoolStats {
    usize count = 0;
    usize in_use = 0;
    usize in_use_high_water = 0;
    u64 allocations = 0;
    u64 failures = 0; // exhausted
};

class PacketPool {
public:
    static constexpr usize count_max = 1u << 20;
    static constexpr usize buffer_bytes_max = 65536 + 256;
    static constexpr usize storage_alignment = 16;

    // Bytes of storage a pool with this configuration needs.
    static usize storage_bytes(const PacketPoolConfig& config);
    // Storage from the heap, released when the pool is destroyed.
    static Result<PacketPool, PacketError> create(Heap& heap, const PacketPoolConfig& config);
    // Storage from the caller (aligned to storage_alignment), which outlives the pool.
    static Result<PacketPool, PacketError> create(MutableBytes storage,
                                                  const PacketPoolConfig& config);

    PacketPool(PacketPool&& other);
    PacketPool(const PacketPool&) = delete;
    PacketPool& operator=(const PacketPool&) = delete;
    PacketPool& operator=(PacketPool&&) = delete;
    ~PacketPool();

    // An empty buffer with the configured headroom; `exhausted` when none is free.
    Result<PacketBuffer*, PacketError> alloc();
    void free(PacketBuffer* buffer);

    usize available() const { return m_stats.count - m_stats.in_use; }
    const PacketPoolStats& stats() const { return m_stats; }
    const PacketPoolConfig& config() const { return m_config; }

private:
    static constexpr u32 none = ~u32{0};

    PacketPool(u8* storage, const PacketPoolConfig& config, Heap* heap);
    static bool valid(const PacketPoolConfig& config);

    PacketBuffer* m_buffers = nullptr;
    PacketPoolConfig m_config;
    PacketPoolStats m_stats;
    u32 m_free_head = none;
    Heap* m_heap = nullptr; // owner of the storage, or nullptr
    u8* m_storage = nullptr;
};

} // namespace gantry::net
