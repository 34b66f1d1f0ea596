// Packet buffers and their bounded pool (see gantry/net/packet.hpp).
#include <gantry/net/packet.hpp>

#include <new>

namespace gantry::net {

namespace {

usize descriptors_bytes(usize count)
{
    usize bytes = count * sizeof(PacketBuffer);
    // Packet data starts aligned, so headers land where DMA engines like them.
    return (bytes + PacketPool::storage_alignment - 1) & ~(PacketPool::storage_alignment - 1);
}

} // namespace

bool PacketPool::valid(const PacketPoolConfig& config)
{
    return config.count > 0 && config.count <= count_max && config.buffer_bytes > 0 &&
           config.buffer_bytes <= buffer_bytes_max && config.headroom < config.buffer_bytes;
}

usize PacketPool::storage_bytes(const PacketPoolConfig& config)
{
    return descriptors_bytes(config.count) + config.count * config.buffer_bytes;
}

Result<PacketPool, PacketError> PacketPool::create(Heap& heap, const PacketPoolConfig& config)
{
    if (!valid(config))
        return fail(PacketError::bad_config);
    void* storage = heap.alloc(storage_bytes(config));
    if (!storage)
        return fail(PacketError::out_of_memory);
    return PacketPool(static_cast<u8*>(storage), config, &heap);
}

Result<PacketPool, PacketError> PacketPool::create(MutableBytes storage,
                                                   const PacketPoolConfig& config)
{
    if (!valid(config) || storage.size() < storage_bytes(config))
        return fail(PacketError::bad_config);
    // Asserted rather than adjusted: rounding the start would make the usable
    // size depend on where the region happens to lie.
    GANTRY_ASSERT(reinterpret_cast<uintptr_t>(storage.data()) % storage_alignment == 0);
    return PacketPool(storage.data(), config, nullptr);
}

PacketPool::PacketPool(u8* storage, const PacketPoolConfig& config, Heap* heap)
    : m_config(config), m_heap(heap), m_storage(storage)
{
    m_buffers = reinterpret_cast<PacketBuffer*>(storage);
    u8* data = storage + descriptors_bytes(config.count);
    m_stats.count = config.count;
    // Threaded so that the first allocation gets buffer 0, then 1, ...
    for (usize i = config.count; i > 0; i--) {
        usize index = i - 1;
        PacketBuffer* buffer = new (&m_buffers[index]) PacketBuffer();
        buffer->m_storage = data + index * config.buffer_bytes;
        buffer->m_capacity = static_cast<u32>(config.buffer_bytes);
        buffer->m_index = static_cast<u32>(index);
        buffer->m_next_free = m_free_head;
        m_free_head = static_cast<u32>(index);
    }
}

PacketPool::PacketPool(PacketPool&& other)
    : m_buffers(other.m_buffers), m_config(other.m_config), m_stats(other.m_stats),
      m_free_head(other.m_free_head), m_heap(other.m_heap), m_storage(other.m_storage)
{
    other.m_buffers = nullptr;
    other.m_heap = nullptr;
    other.m_storage = nullptr;
    other.m_free_head = none;
    other.m_stats = PacketPoolStats{};
}

PacketPool::~PacketPool()
{
    if (m_heap && m_storage)
        m_heap->free(m_storage);
}

Result<PacketBuffer*, PacketError> PacketPool::alloc()
{
    if (m_free_head == none) {
        m_stats.failures++;
        return fail(PacketError::exhausted);
    }
    PacketBuffer* buffer = &m_buffers[m_free_head];
    GANTRY_ASSERT(buffer->m_state == PacketBuffer::State::free);
    m_free_head = buffer->m_next_free;
    buffer->m_next_free = none;
    buffer->m_state = PacketBuffer::State::in_use;
    buffer->reset(m_config.headroom);
    m_stats.in_use++;
    m_stats.allocations++;
    if (m_stats.in_use > m_stats.in_use_high_water)
        m_stats.in_use_high_water = m_stats.in_use;
    return buffer;
}

void PacketPool::free(PacketBuffer* buffer)
{
    GANTRY_ASSERT(buffer != nullptr);
    GANTRY_ASSERT(buffer->m_index < m_stats.count);
    GANTRY_ASSERT(&m_buffers[buffer->m_index] == buffer); // from this pool
    GANTRY_ASSERT(buffer->m_state == PacketBuffer::State::in_use); // no double free
    GANTRY_ASSERT(m_stats.in_use > 0);
    buffer->m_state = PacketBuffer::State::free;
    buffer->m_next_free = m_free_head;
    m_free_head = buffer->m_index;
    m_stats.in_use--;
}

} // namespace gantry::net
