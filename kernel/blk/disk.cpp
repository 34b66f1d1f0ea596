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

// The disk's first sectors, read at attach time. `unread` has bit i set while
// sector i may still be handed out: not yet read by anyone, not written since.
struct Disk::ReadAhead {
    explicit ReadAhead(Scheduler& scheduler) : request(scheduler) {}
    Waiter request;
    u64 unread = 0;
    u32 waiters = 0; // fibers waiting for the request: it must outlive their wake-up
};

namespace {

u64 sector_mask(u64 first, u64 count)
{
    GANTRY_ASSERT(count > 0 && first + count <= Disk::read_ahead_sectors_max);
    u64 ones = count == 64 ? ~u64{0} : (u64{1} << count) - 1;
    return ones << first;
}

} // namespace

// The kernel destroys disks only when no fiber can run again; a request still in
// flight would let the device write into a dead fiber's stack later.
Disk::~Disk()
{
    // A read-ahead still in flight keeps its memory: the device may yet write it,
    // and the heap goes away with the kernel anyway.
    if (m_read_ahead && m_read_ahead->request.completed) {
        m_kernel.heap().free(m_read_ahead->request.buffer);
        m_kernel.heap().destroy(m_read_ahead);
    }
}

bool Disk::start_read_ahead(usize bytes)
{
    GANTRY_ASSERT(!m_read_ahead);
    u64 sectors = bytes / m_info.sector_bytes;
    sectors = sectors < read_ahead_sectors_max ? sectors : read_ahead_sectors_max;
    sectors = sectors < m_info.sector_count ? sectors : m_info.sector_count;
    if (sectors == 0)
        return true;
    ReadAhead* ahead = m_kernel.heap().create<ReadAhead>(m_kernel.sched());
    u8* buffer = static_cast<u8*>(m_kernel.heap().alloc(sectors * m_info.sector_bytes));
    if (!ahead || !buffer) {
        m_kernel.heap().free(buffer);
        m_kernel.heap().destroy(ahead);
        return false;
    }
    ahead->request.op = BlockOp::read;
    ahead->request.sector = 0;
    ahead->request.sectors = static_cast<u32>(sectors);
    ahead->request.buffer = buffer;
    ahead->request.started = m_kernel.now();
    ahead->unread = sector_mask(0, sectors);
    if (!m_device.submit(ahead->request)) {
        m_kernel.heap().free(buffer);
        m_kernel.heap().destroy(ahead);
        return false;
    }
    ++m_in_flight;
    m_read_ahead = ahead;
    reap(); // a device that completes at once
    return true;
}

// True if `out` came from the read-ahead. Waits for the read-ahead if it is
// still in flight and holds every sector asked for.
bool Disk::read_from_read_ahead(u64 sector, MutableBytes out)
{
    ReadAhead* ahead = m_read_ahead;
    if (!ahead)
        return false;
    u64 sectors = out.size() / m_info.sector_bytes;
    u64 held = ahead->request.sectors;
    if (sector >= held || sectors > held - sector)
        return false;
    const u64 wanted = sector_mask(sector, sectors);
    if ((ahead->unread & wanted) != wanted)
        return false;
    if (!ahead->request.completed)
        reap(); // its interrupt may have come while the kernel was busy booting
    ++ahead->waiters;
    while (!ahead->request.completed)
        ahead->request.done.wait();
    --ahead->waiters;
    if (ahead->request.status != BlockStatus::ok)
        ahead->unread = 0; // the device reports the error to a read of its own
    // Another fiber may have taken or overwritten the sectors meanwhile.
    const bool served = (ahead->unread & wanted) == wanted;
    if (served) {
        ahead->unread &= ~wanted;
        __builtin_memcpy(out.data(), ahead->request.buffer + sector * m_info.sector_bytes,
                         out.size());
        ++m_stats.reads;
        ++m_stats.read_ahead_hits;
        m_stats.bytes_read += out.size();
    }
    release_spent_read_ahead();
    return served;
}

void Disk::drop_from_read_ahead(u64 sector, u64 sectors)
{
    if (!m_read_ahead || sectors == 0)
        return;
    u64 held = m_read_ahead->request.sectors;
    if (sector >= held)
        return;
    u64 end = sector + sectors < held ? sector + sectors : held;
    m_read_ahead->unread &= ~sector_mask(sector, end - sector);
    release_spent_read_ahead();
}

void Disk::release_spent_read_ahead()
{
    ReadAhead* ahead = m_read_ahead;
    if (!ahead || ahead->unread != 0 || !ahead->request.completed || ahead->waiters != 0)
        return;
    m_kernel.heap().free(ahead->request.buffer);
    m_kernel.heap().destroy(ahead);
    m_read_ahead = nullptr;
}

Status<DiskError> Disk::read(u64 sector, MutableBytes out)
{
    if (auto range = check_range(sector, out.size()); !range.ok())
        return range;
    if (!out.empty() && read_from_read_ahead(sector, out))
        return {};
    return run(BlockOp::read, sector, out.data(), out.size());
}

Status<DiskError> Disk::write(u64 sector, Bytes data)
{
    if (m_info.read_only)
        return fail(DiskError::read_only);
    if (check_range(sector, data.size()).ok())
        drop_from_read_ahead(sector, data.size() / m_info.sector_bytes);
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
