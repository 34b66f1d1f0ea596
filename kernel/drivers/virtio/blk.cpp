#include <gantry/virtio/blk.hpp>

#include <gantry/assert.hpp>

namespace gantry::virtio {

namespace {

constexpr u64 feature_read_only = u64{1} << 5;
constexpr u64 feature_flush = u64{1} << 9;

constexpr u32 request_in = 0;
constexpr u32 request_out = 1;
constexpr u32 request_flush = 4;

constexpr u8 status_ok = 0;
constexpr u8 status_unset = 0xff; // never written by a device: the request failed

constexpr u32 sector_bytes = 512; // virtio-blk addresses 512-byte sectors always

} // namespace

Status<VirtioError> VirtioBlk::start(DmaArena& arena)
{
    GANTRY_TRY(m_transport.begin(DeviceType::block));
    const u64 features = GANTRY_TRY(m_transport.negotiate(
        feature::version_1 | feature_read_only | feature_flush, feature::version_1));
    GANTRY_TRY(m_transport.attach_queue(0, queue_entries_max, 3, m_queue, arena));
    m_headers = static_cast<RequestHeader*>(
        arena.allocate(sizeof(RequestHeader) * m_queue.size(), 16));
    m_statuses = static_cast<u8*>(arena.allocate(m_queue.size(), 1));
    if (!m_headers || !m_statuses) {
        m_transport.mark_failed();
        return fail(VirtioError::out_of_memory);
    }
    m_info.sector_bytes = sector_bytes;
    m_info.sector_count = m_transport.config(0, 8);
    m_info.read_only = (features & feature_read_only) != 0;
    m_has_flush = (features & feature_flush) != 0;
    m_transport.finish();
    return {};
}

void VirtioBlk::complete_now(BlockRequest& request, BlockStatus status)
{
    request.status = status;
    request.next = nullptr;
    if (m_done_last)
        m_done_last->next = &request;
    else
        m_done_first = &request;
    m_done_last = &request;
}

bool VirtioBlk::submit(BlockRequest& request)
{
    GANTRY_ASSERT(request.status == BlockStatus::pending);
    if (m_queue.broken()) {
        complete_now(request, BlockStatus::io_error);
        return true;
    }
    if (request.op != BlockOp::read && m_info.read_only) {
        complete_now(request, BlockStatus::read_only);
        return true;
    }
    if (request.op == BlockOp::flush && !m_has_flush) {
        // No volatile write cache: a completed write is already durable.
        complete_now(request, BlockStatus::ok);
        return true;
    }
    if (request.op != BlockOp::flush &&
        (request.sector > m_info.sector_count ||
         request.sectors > m_info.sector_count - request.sector)) {
        complete_now(request, BlockStatus::out_of_range);
        return true;
    }
    const u16 head = m_queue.next_head();
    const usize parts = request.op == BlockOp::flush ? 2 : 3;
    if (head >= m_queue.size() || m_queue.free_descriptors() < parts)
        return false;

    RequestHeader& header = m_headers[head];
    header.type = request.op == BlockOp::read    ? request_in
                  : request.op == BlockOp::write ? request_out
                                                 : request_flush;
    header.reserved = 0;
    header.sector = request.op == BlockOp::flush ? 0 : request.sector;
    m_statuses[head] = status_unset;
    BufferRef chain[3];
    usize count = 0;
    chain[count++] = {dma_address(&header), sizeof(RequestHeader), false};
    if (request.op != BlockOp::flush)
        chain[count++] = {dma_address(request.buffer), request.sectors * sector_bytes,
                          request.op == BlockOp::read};
    chain[count++] = {dma_address(&m_statuses[head]), 1, true};
    const i32 added = m_queue.add({chain, count});
    GANTRY_ASSERT(added == head);
    m_in_flight[head] = &request;
    m_transport.notify(0);
    return true;
}

BlockRequest* VirtioBlk::fail_one_in_flight()
{
    for (BlockRequest*& slot : m_in_flight) {
        if (slot) {
            BlockRequest* request = slot;
            slot = nullptr;
            request->status = BlockStatus::io_error;
            return request;
        }
    }
    return nullptr;
}

bool VirtioBlk::has_completions()
{
    if (m_done_first || m_queue.broken())
        return true;
    m_transport.let_device_run();
    return m_queue.has_used() || m_queue.broken();
}

BlockRequest* VirtioBlk::reap()
{
    if (BlockRequest* done = m_done_first) {
        m_done_first = done->next;
        if (!m_done_first)
            m_done_last = nullptr;
        done->next = nullptr;
        return done;
    }
    m_transport.let_device_run();
    UsedElement used{};
    if (!m_queue.pop_used(used)) {
        // A broken device never answers: fail what it holds rather than leave
        // fibers waiting forever.
        return m_queue.broken() ? fail_one_in_flight() : nullptr;
    }
    BlockRequest* request = m_in_flight[used.id];
    GANTRY_ASSERT(request != nullptr);
    m_in_flight[used.id] = nullptr;
    request->status = m_statuses[used.id] == status_ok ? BlockStatus::ok : BlockStatus::io_error;
    return request;
}

} // namespace gantry::virtio
