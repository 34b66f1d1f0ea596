#include <gantry/block.hpp>
#include <gantry/kernel.hpp>

namespace gantry {

using namespace std::string_view_literals;

std::string_view to_string(BlockOp op)
{
    switch (op) {
    case BlockOp::read:
        return "read"sv;
    case BlockOp::write:
        return "write"sv;
    case BlockOp::flush:
        return "flush"sv;
    }
    return "?"sv;
}

std::string_view to_string(BlockStatus status)
{
    switch (status) {
    case BlockStatus::pending:
        return "pending"sv;
    case BlockStatus::ok:
        return "ok"sv;
    case BlockStatus::io_error:
        return "io error"sv;
    case BlockStatus::out_of_range:
        return "out of range"sv;
    case BlockStatus::read_only:
        return "read-only"sv;
    }
    return "?"sv;
}

std::string_view describe(DiskError error)
{
    switch (error) {
    case DiskError::io_error:
        return "I/O error"sv;
    case DiskError::out_of_range:
        return "past the end of the disk"sv;
    case DiskError::read_only:
        return "the disk is read-only"sv;
    case DiskError::misaligned:
        return "not a whole number of sectors"sv;
    case DiskError::timed_out:
        return "timed out"sv;
    }
    return "?"sv;
}

// A request and the fiber waiting for it. Lives on that fiber's stack, which
// stays put while it waits, so the device may hold a pointer to it.
struct Disk::Waiter : BlockRequest {
    explicit Waiter(Scheduler& scheduler) : done(scheduler) {}
    Event done;
    TimeNs started = 0;
    bool completed = false;
};

Disk::Disk(Kernel& kernel, BlockDevice& device, u32 index)
    : m_kernel(kernel), m_device(device), m_info(device.info()), m_index(index),
      m_room(kernel.sched())
{
    GANTRY_ASSERT(m_info.sector_bytes >= 512 && (m_info.sector_bytes & (m_info.sector_bytes - 1)) == 0);
}

// The kernel destroys disks only when no fiber can run again; a request still in
// flight would let the device write into a dead fiber's stack later.
Disk::~Disk() = default;

Status<DiskError> Disk::read(u64 sector, MutableBytes out)
{
    return run(BlockOp::read, sector, out.data(), out.size());
}

Status<DiskError> Disk::write(u64 sector, Bytes data)
{
    if (m_info.read_only)
        return fail(DiskError::read_only);
    // The device only reads a write's buffer; BlockRequest has one pointer for both.
    return run(BlockOp::write, sector, const_cast<u8*>(data.data()), data.size());
}

Status<DiskError> Disk::flush()
{
    if (m_info.read_only)
        return fail(DiskError::read_only);
    return run(BlockOp::flush, 0, nullptr, 0);
}

Status<DiskError> Disk::check_range(u64 sector, usize bytes) const
{
    if (bytes % m_info.sector_bytes != 0)
        return fail(DiskError::misaligned);
    u64 sectors = bytes / m_info.sector_bytes;
    if (sector > m_info.sector_count || sectors > m_info.sector_count - sector)
        return fail(DiskError::out_of_range);
    return {};
}

void Disk::submit_waiting(Waiter& waiter)
{
    while (!m_device.submit(waiter)) {
        ++m_stats.queue_full;
        // Only requests already in flight can make room; with none the device
        // refuses for good, which is a device bug.
        GANTRY_ASSERT(m_in_flight > 0);
        m_room.wait();
    }
    ++m_in_flight;
}

Status<DiskError> Disk::run(BlockOp op, u64 sector, u8* buffer, usize bytes)
{
    if (op != BlockOp::flush) {
        if (auto range = check_range(sector, bytes); !range.ok())
            return range;
        if (bytes == 0)
            return {};
    }
    Waiter waiter(m_kernel.sched());
    waiter.op = op;
    waiter.sector = sector;
    waiter.sectors = static_cast<u32>(bytes / m_info.sector_bytes);
    waiter.buffer = buffer;
    waiter.started = m_kernel.now();
    GANTRY_ASSERT(bytes / m_info.sector_bytes <= 0xffffffffu);
    submit_waiting(waiter);
    // A device that completes at once (the hosted file) needs no trip through
    // the scheduler.
    reap();
    while (!waiter.completed)
        waiter.done.wait();

    switch (op) {
    case BlockOp::read:
        ++m_stats.reads;
        m_stats.bytes_read += bytes;
        break;
    case BlockOp::write:
        ++m_stats.writes;
        m_stats.bytes_written += bytes;
        break;
    case BlockOp::flush:
        ++m_stats.flushes;
        break;
    }
    switch (waiter.status) {
    case BlockStatus::ok:
        return {};
    case BlockStatus::out_of_range:
        ++m_stats.errors;
        return fail(DiskError::out_of_range);
    case BlockStatus::read_only:
        ++m_stats.errors;
        return fail(DiskError::read_only);
    case BlockStatus::pending:
    case BlockStatus::io_error:
        break;
    }
    ++m_stats.errors;
    return fail(DiskError::io_error);
}

bool Disk::reap()
{
    bool any = false;
    while (BlockRequest* request = m_device.reap()) {
        GANTRY_ASSERT(request->status != BlockStatus::pending);
        GANTRY_ASSERT(m_in_flight > 0);
        auto* waiter = static_cast<Waiter*>(request);
        GANTRY_ASSERT(!waiter->completed);
        waiter->completed = true;
        --m_in_flight;
        TraceBlockIo io;
        io.disk = m_index;
        io.op = static_cast<u8>(request->op);
        io.status = static_cast<u8>(request->status);
        io.sector = request->sector;
        io.sectors = request->sectors;
        io.latency_ns = m_kernel.now() - waiter->started;
        m_kernel.trace().block_io(io);
        waiter->done.notify_all();
        any = true;
    }
    if (any)
        m_room.notify_all();
    return any;
}

} // namespace gantry
