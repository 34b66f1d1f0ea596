// A split virtqueue, driver side (virtio 1.x, section 2.7): the descriptor table,
// the available ring the driver fills and the used ring the device fills.
//
// The device is not trusted: every used element is checked against what the
// driver has in flight, using bookkeeping kept outside the shared memory, and
// a device that breaks the protocol marks the queue broken instead of steering
// the driver into memory it does not own.
#pragma once

#include <gantry/result.hpp>
#include <gantry/virtio/mmio.hpp>

#include <span>

namespace gantry::virtio {

struct Descriptor {
    u64 address;
    u32 bytes;
    u16 flags;
    u16 next;
};
static_assert(sizeof(Descriptor) == 16);

namespace descriptor_flag {
inline constexpr u16 next = 1;
inline constexpr u16 device_writes = 2;
} // namespace descriptor_flag

struct UsedElement {
    u32 id;
    u32 bytes;
};
static_assert(sizeof(UsedElement) == 8);

struct AvailRing {
    u16 flags;
    u16 index;
    u16 ring[]; // queue size entries, then used_event
};

struct UsedRing {
    u16 flags;
    u16 index;
    UsedElement ring[]; // queue size entries, then avail_event
};

inline constexpr u16 avail_flag_no_interrupt = 1;

// One buffer of a chain: the device reads it, or writes it when device_writes.
struct BufferRef {
    u64 address;
    u32 bytes;
    bool device_writes;
};

class Virtqueue {
public:
    static constexpr u16 size_max = 256;

    // Allocates the rings for `size` entries (a power of two, at most size_max).
    Status<VirtioError> create(u16 size, DmaArena& arena);

    u16 size() const { return m_size; }
    u16 free_descriptors() const { return m_free_count; }
    // The descriptor add() will use as the head of the next chain, for drivers
    // that keep one buffer per descriptor; size() when none is free.
    u16 next_head() const { return m_free_count == 0 ? m_size : m_free_head; }
    // The descriptors the next add() of out.size() buffers will use, in chain
    // order (the first is next_head()); false when fewer are free.
    bool next_chain(std::span<u16> out) const;

    // Publishes a chain to the device (it still needs a notify) and returns its
    // head, or -1 when fewer than chain.size() descriptors are free.
    i32 add(std::span<const BufferRef> chain);

    // The next chain the device finished: its head and the bytes it wrote.
    // False when there is none, or when the device broke the protocol (then
    // broken() is true and the queue stays dead).
    bool pop_used(UsedElement& out);
    bool has_used() const;
    bool broken() const { return m_broken; }
    // Asks the device to interrupt when it uses buffers (off by default: the
    // drivers poll, and hosted and simulated models have no interrupts).
    void set_interrupts(bool on) { m_avail->flags = on ? 0 : avail_flag_no_interrupt; }
    // Chains handed to the device and not yet returned.
    u16 in_flight() const { return static_cast<u16>(m_size - m_free_count) ; }

    u64 descriptor_address() const { return dma_address(m_descriptors); }
    u64 driver_address() const { return dma_address(m_avail); }
    u64 device_address() const { return dma_address(m_used); }

private:
    void release_chain(u16 head);

    Descriptor* m_descriptors = nullptr;
    AvailRing* m_avail = nullptr;
    UsedRing* m_used = nullptr;
    u16 m_size = 0;
    u16 m_free_head = 0;
    u16 m_free_count = 0;
    u16 m_avail_index = 0;
    u16 m_last_used = 0;
    bool m_broken = false;
    // Driver-private mirror of the chains: the device could rewrite the shared
    // descriptor table, so freeing never follows its `next` fields.
    u16 m_next[size_max] = {};
    u16 m_chain_length[size_max] = {}; // at a chain's head while it is in flight
};

} // namespace gantry::virtio
