#include <gantry/virtio/queue.hpp>

#include <gantry/assert.hpp>

namespace gantry::virtio {

Status<VirtioError> Virtqueue::create(u16 size, DmaArena& arena)
{
    GANTRY_ASSERT(size != 0 && size <= size_max && (size & (size - 1)) == 0);
    GANTRY_ASSERT(m_size == 0);
    // Sizes from section 2.7: flags, index, the ring, and the event word.
    const usize avail_bytes = 6 + 2 * usize{size};
    const usize used_bytes = 6 + 8 * usize{size};
    auto* descriptors = arena.allocate(16 * usize{size}, 16);
    auto* avail = arena.allocate(avail_bytes, 2);
    auto* used = arena.allocate(used_bytes, 4);
    if (!descriptors || !avail || !used)
        return fail(VirtioError::out_of_memory);
    m_descriptors = static_cast<Descriptor*>(descriptors);
    m_avail = static_cast<AvailRing*>(avail);
    m_used = static_cast<UsedRing*>(used);
    // Polled drivers: spare the device (and a hypervisor) the interrupts.
    m_avail->flags = avail_flag_no_interrupt;
    m_size = size;
    for (u16 i = 0; i < size; ++i)
        m_next[i] = static_cast<u16>(i + 1);
    m_free_head = 0;
    m_free_count = size;
    return {};
}

i32 Virtqueue::add(std::span<const BufferRef> chain)
{
    GANTRY_ASSERT(!chain.empty() && chain.size() <= m_size);
    if (m_broken || chain.size() > m_free_count)
        return -1;
    const u16 head = m_free_head;
    u16 index = head;
    for (usize i = 0; i < chain.size(); ++i) {
        Descriptor& descriptor = m_descriptors[index];
        descriptor.address = chain[i].address;
        descriptor.bytes = chain[i].bytes;
        const bool last = i + 1 == chain.size();
        descriptor.flags = static_cast<u16>((last ? 0 : descriptor_flag::next) |
                                            (chain[i].device_writes ? descriptor_flag::device_writes : 0));
        descriptor.next = last ? 0 : m_next[index];
        if (!last)
            index = m_next[index];
    }
    m_free_head = m_next[index];
    m_free_count = static_cast<u16>(m_free_count - chain.size());
    m_chain_length[head] = static_cast<u16>(chain.size());
    m_avail->ring[m_avail_index % m_size] = head;
    ++m_avail_index;
    // The ring entry and descriptors must be visible before the new index.
    __atomic_store_n(&m_avail->index, m_avail_index, __ATOMIC_RELEASE);
    return head;
}

bool Virtqueue::next_chain(std::span<u16> out) const
{
    if (out.size() > m_free_count)
        return false;
    u16 index = m_free_head;
    for (usize i = 0; i < out.size(); ++i) {
        GANTRY_ASSERT(index < m_size);
        out[i] = index;
        index = m_next[index];
    }
    return true;
}

bool Virtqueue::has_used() const
{
    return !m_broken && __atomic_load_n(&m_used->index, __ATOMIC_ACQUIRE) != m_last_used;
}

bool Virtqueue::pop_used(UsedElement& out)
{
    if (m_broken)
        return false;
    const u16 device_index = __atomic_load_n(&m_used->index, __ATOMIC_ACQUIRE);
    if (device_index == m_last_used)
        return false;
    // More used entries than chains in flight, or an id that is not the head of
    // a chain in flight: the device is broken or hostile.
    const u16 published = static_cast<u16>(device_index - m_last_used);
    const UsedElement element = m_used->ring[m_last_used % m_size];
    if (published > in_flight() || element.id >= m_size || m_chain_length[element.id] == 0) {
        m_broken = true;
        return false;
    }
    ++m_last_used;
    release_chain(static_cast<u16>(element.id));
    out = element;
    return true;
}

void Virtqueue::release_chain(u16 head)
{
    u16 last = head;
    for (u16 i = 1; i < m_chain_length[head]; ++i)
        last = m_next[last];
    m_next[last] = m_free_head;
    m_free_head = head;
    m_free_count = static_cast<u16>(m_free_count + m_chain_length[head]);
    m_chain_length[head] = 0;
    GANTRY_ASSERT(m_free_count <= m_size);
}

} // namespace gantry::virtio
