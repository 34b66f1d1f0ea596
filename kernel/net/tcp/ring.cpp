// The byte ring behind TCP's send and receive buffers (RFC 9293 3.3.2 calls
// them the send and receive sequence space; this is their storage).
#include <gantry/net/endian.hpp>
#include <gantry/net/tcp/ring.hpp>

namespace gantry::net {

namespace {

// Bulk copies between the ring and callers' buffers never overlap. memcpy is
// one of the few symbols the image's runtime provides (docs/architecture.md),
// and a byte loop would halve bulk throughput.
void copy_to(u8* to, Bytes from)
{
    if (!from.empty())
        __builtin_memcpy(to, from.data(), from.size());
}

} // namespace

TcpRing::~TcpRing() { release(); }

bool TcpRing::allocate(Heap& heap, usize capacity)
{
    GANTRY_ASSERT(m_data == nullptr);
    GANTRY_ASSERT(capacity > 0);
    GANTRY_ASSERT(capacity <= capacity_max);
    m_data = static_cast<u8*>(heap.alloc(capacity));
    if (!m_data)
        return false;
    m_heap = &heap;
    m_capacity = capacity;
    m_head = 0;
    m_size = 0;
    return true;
}

void TcpRing::release()
{
    if (m_data)
        m_heap->free(m_data);
    m_data = nullptr;
    m_capacity = 0;
    m_size = 0;
    m_head = 0;
}

usize TcpRing::index(usize offset) const
{
    GANTRY_ASSERT(offset < 2 * m_capacity);
    usize at = m_head + offset;
    return at >= m_capacity ? at - m_capacity : at;
}

usize TcpRing::push(Bytes data)
{
    usize count = data.size() < free() ? data.size() : free();
    write_at(m_size, data.first(count));
    m_size += count;
    return count;
}

usize TcpRing::pop(MutableBytes out)
{
    usize count = out.size() < m_size ? out.size() : m_size;
    RingSlices slices = peek(0, count);
    copy_to(out.data(), slices.first);
    copy_to(out.data() + slices.first.size(), slices.second);
    consume(count);
    return count;
}

void TcpRing::consume(usize count)
{
    GANTRY_ASSERT(count <= m_size);
    m_size -= count;
    // The head never snaps back to 0 on empty: out-of-order data may sit past the tail.
    m_head = index(count);
}

RingSlices TcpRing::peek(usize offset, usize length) const
{
    GANTRY_ASSERT(offset <= m_size);
    GANTRY_ASSERT(length <= m_size - offset);
    if (length == 0)
        return {};
    usize start = index(offset);
    usize first = m_capacity - start < length ? m_capacity - start : length;
    return {Bytes(m_data + start, first), Bytes(m_data, length - first)};
}

void TcpRing::write_at(usize offset, Bytes data)
{
    GANTRY_ASSERT(offset + data.size() <= m_capacity);
    if (data.empty())
        return;
    usize start = index(offset);
    usize first = m_capacity - start < data.size() ? m_capacity - start : data.size();
    copy_to(m_data + start, data.first(first));
    copy_to(m_data, data.subspan(first));
}

void TcpRing::commit(usize count)
{
    GANTRY_ASSERT(count <= free());
    m_size += count;
}

} // namespace gantry::net
