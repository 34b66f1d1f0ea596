// Block devices: the device seam (BlockDevice, implemented by the hosted file
// disk, the simulator's disks and the virtio-blk driver) and the kernel's
// fiber-blocking front end (Disk) that apps use.
//
// Durability contract, the same on every platform: a write is durable once a
// flush that was *submitted after the write completed* has completed. Until
// then a crash may lose it or tear it (some of its sectors written, others not).
// The simulator's disks do exactly that on a crash, so apps are tested against it.
#pragma once

#include <gantry/result.hpp>
#include <gantry/sched.hpp>
#include <gantry/types.hpp>

namespace gantry {

class Kernel;

enum class BlockOp : u8 { read = 0, write = 1, flush = 2 };
std::string_view to_string(BlockOp op);

// Outcome of one request, set by the device on completion.
enum class BlockStatus : u8 {
    pending = 0,
    ok = 1,
    io_error = 2,     // the medium failed (a simulated read error, EIO when hosted)
    out_of_range = 3, // past the end of the device
    read_only = 4,    // a write or flush to a read-only device
};
std::string_view to_string(BlockStatus status);

struct BlockInfo {
    u32 sector_bytes = 512;
    u64 sector_count = 0;
    bool read_only = false;
};

// One request in flight. It belongs to the submitter, which keeps it (and its
// buffer) alive until the device hands it back from reap().
struct BlockRequest {
    BlockOp op = BlockOp::read;
    u64 sector = 0;
    u32 sectors = 0;         // 0 for flush
    u8* buffer = nullptr;    // sectors * sector_bytes: filled by a read, the data of a write
    BlockStatus status = BlockStatus::pending;
    BlockRequest* next = nullptr; // for the device's queues; not for the submitter
};

class BlockDevice {
public:
    virtual ~BlockDevice() = default;

    virtual BlockInfo info() const = 0;

    // Queues a request; the device may complete it at once or later. Returns
    // false when its queue is full (the request is untouched: retry after a
    // completion). Requests may complete in any order; a flush covers the writes
    // that completed before it was submitted.
    virtual bool submit(BlockRequest& request) = 0;

    // The next completed request (status set), or nullptr. Never blocks. A
    // device completing asynchronously wakes the kernel through its platform.
    virtual BlockRequest* reap() = 0;
};

enum class DiskError : u8 {
    io_error,     // the device failed the request
    out_of_range, // sector + count past the end of the disk
    read_only,
    misaligned,   // a buffer that is not a whole number of sectors
    timed_out,    // the deadline passed first; the request still completes later
};
std::string_view describe(DiskError error);

struct DiskStats {
    u64 reads = 0;
    u64 writes = 0;
    u64 flushes = 0;
    u64 bytes_read = 0;
    u64 bytes_written = 0;
    u64 errors = 0;
    u64 queue_full = 0; // submits the device refused for lack of room (retried)
    u64 read_ahead_hits = 0; // reads answered from the read-ahead (see Disk)
};

// A block device as apps see it: read, write and flush block only the calling
// fiber. Any number of fibers may have requests in flight at once.
class Disk {
public:
    Disk(Kernel& kernel, BlockDevice& device, u32 index);
    Disk(const Disk&) = delete;
    Disk& operator=(const Disk&) = delete;
    ~Disk();

    const BlockInfo& info() const { return m_info; }
    u32 sector_bytes() const { return m_info.sector_bytes; }
    u64 sector_count() const { return m_info.sector_count; }
    u64 size_bytes() const { return m_info.sector_count * m_info.sector_bytes; }

    // `out`/`data` must be a whole number of sectors. A request that fails
    // part-way leaves the other sectors in an unspecified state.
    Status<DiskError> read(u64 sector, MutableBytes out);
    Status<DiskError> write(u64 sector, Bytes data);
    // Makes every write that completed before this call durable.
    Status<DiskError> flush();

    // Starts reading the disk's first `bytes` (whole sectors, at most
    // read_ahead_sectors_max of them and at most the disk) into a buffer of its
    // own, without waiting. The kernel does this when it attaches the disk (see
    // KernelConfig::disk_read_ahead_bytes), so the read overlaps the rest of the
    // boot: an app's first reads (a superblock, an index, a log's head) then need
    // no round trip to the device. A sector is handed out once; a write to it
    // drops it; a failed read-ahead hands out nothing. The read-ahead assumes
    // nothing but this Disk writes the device while the kernel runs. False
    // (and no read-ahead) without memory or room in the device's queue.
    bool start_read_ahead(usize bytes);
    static constexpr u32 read_ahead_sectors_max = 64;

    // Hands completed requests back to their fibers. The kernel calls it from
    // poll(); true if anything completed.
    bool reap();
    usize in_flight() const { return m_in_flight; }
    const DiskStats& stats() const { return m_stats; }

private:
    struct Waiter;
    struct ReadAhead;
    Status<DiskError> run(BlockOp op, u64 sector, u8* buffer, usize bytes);
    Status<DiskError> check_range(u64 sector, usize bytes) const;
    void submit_waiting(Waiter& waiter);
    bool read_from_read_ahead(u64 sector, MutableBytes out);
    void drop_from_read_ahead(u64 sector, u64 sectors);
    void release_spent_read_ahead();

    Kernel& m_kernel;
    BlockDevice& m_device;
    BlockInfo m_info;
    u32 m_index;
    Event m_room; // a completion made room in a full device queue
    usize m_in_flight = 0;
    DiskStats m_stats;
    ReadAhead* m_read_ahead = nullptr;
};

} // namespace gantry
