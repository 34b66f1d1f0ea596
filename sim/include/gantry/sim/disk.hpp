// Simulated disks (docs/simulator.md, "Disks"): a BlockDevice whose requests
// complete as world events at virtual time, with seeded latency, jitter and
// injected errors, and a volatile write cache that a crash may lose or tear.
//
// A disk belongs to its node, not to an incarnation: it outlives crashes and
// restarts, so what reached the medium is there when the node boots again.
// The durability contract it enforces is block.hpp's: a write is durable once
// a flush submitted after it completed has completed.
#pragma once

#include <gantry/block.hpp>
#include <gantry/sim/network.hpp>
#include <gantry/sim/random.hpp>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace gantry::sim {

class World;

// As many disks as a kernel attaches (Kernel::disks_max).
inline constexpr u32 disks_per_node_max = 4;

// What a crash (power loss) does to writes that are not yet durable: those
// that completed but no completed flush covers yet, and those still in flight.
enum class CrashPolicy : u8 {
    lose_unflushed, // every one of them is lost
    keep_unflushed, // completed ones survive (a battery-backed cache); in-flight ones are lost
    random_torn,    // each is, by the disk's seeded stream, kept, lost or torn
                    // (a random subset of its sectors reaches the medium)
};
std::string_view to_string(CrashPolicy policy);

struct DiskConfig {
    u32 sector_bytes = 512; // a power of two, 512 .. 65536
    u64 sector_count = 2048;
    bool read_only = false;
    // A request takes latency_ns + sectors * sector_ns + uniform [0, jitter_ns].
    // Jitter lets requests complete out of order, as the seam allows.
    TimeNs latency_ns = 100 * ns_per_us;
    TimeNs sector_ns = 2 * ns_per_us;
    TimeNs jitter_ns = 0;
    // Injected failures, parts per million of requests: a failed read returns
    // io_error and no data; a failed write changes nothing; a failed flush makes
    // nothing durable. Flushes fail at write_error_ppm.
    u32 read_error_ppm = 0;
    u32 write_error_ppm = 0;
    CrashPolicy crash_policy = CrashPolicy::random_torn;
    u32 queue_depth = 32;           // requests in flight; submit() refuses beyond it
    // The write cache's bound: past it the oldest cached write reaches the
    // medium on its own (destaged), as a real drive's cache does.
    u32 cached_writes_max = 4096;
    std::string image_path = {};    // initial contents (read when the disk is made); empty: zeros
    bool operator==(const DiskConfig&) const = default;
};

// What a disk did, over all incarnations of its node.
struct DiskCounters {
    u64 reads = 0;
    u64 writes = 0;
    u64 flushes = 0;
    u64 read_errors_injected = 0;
    u64 write_errors_injected = 0; // writes and flushes
    u64 queue_full = 0;            // submits refused
    u64 destaged = 0;              // cached writes made durable by the cache bound
    u64 crashes = 0;               // power losses
    u64 discarded = 0;             // requests in flight (or unreaped) when the node stopped
    // At crashes: not-yet-durable writes that survived whole, vanished, or were torn.
    u64 writes_kept = 0;
    u64 writes_lost = 0;
    u64 writes_torn = 0;
};

class SimDisk final : public BlockDevice {
public:
    static constexpr usize chunk_bytes = 64 * 1024;

    // Throws std::invalid_argument for a bad configuration, std::runtime_error
    // when image_path cannot be read.
    SimDisk(World& world, NodeId node, u32 index, DiskConfig config);
    SimDisk(const SimDisk&) = delete;
    SimDisk& operator=(const SimDisk&) = delete;
    ~SimDisk() override;

    // The BlockDevice seam, used by the node's kernel.
    BlockInfo info() const override;
    bool submit(BlockRequest& request) override;
    BlockRequest* reap() override;

    // From the world: the request with this id came due.
    void complete(u64 id);
    // The node lost power: not-yet-durable writes meet the crash policy, and
    // requests in flight are discarded (never completed into the dead kernel).
    void power_loss();
    // The node stopped without losing power (exit, failure): requests in flight
    // are discarded; the write cache stays as it is.
    void detach();

    const DiskConfig& config() const { return m_config; }
    // Injected error rates from now on (a scenario's disk_faults, or its
    // liveness phase turning them off); requests already submitted keep theirs.
    void set_error_rates(u32 read_error_ppm, u32 write_error_ppm)
    {
        m_config.read_error_ppm = read_error_ppm;
        m_config.write_error_ppm = write_error_ppm;
    }
    const DiskCounters& counters() const { return m_counters; }
    usize in_flight() const { return m_in_flight.size(); }
    usize cached_writes() const { return m_cache.size(); }

    // For tests and tools: what a read would return now (medium plus cache),
    // and what the medium alone holds (what a crash that loses the cache leaves).
    std::vector<u8> peek(u64 sector, u64 sectors) const;
    std::vector<u8> peek_durable(u64 sector, u64 sectors) const;

private:
    struct InFlight {
        BlockRequest* request; // the submitter's, valid until completed or discarded
        BlockOp op;
        u64 sector;
        u32 sectors;
        BlockStatus outcome;        // decided at submit
        std::vector<u8> data;       // a write's bytes, copied at submit
        u64 flush_covers = 0;       // a flush: completed writes up to this number
    };
    struct CachedWrite {
        u64 number; // completion order
        u64 sector;
        std::vector<u8> data;
    };
    enum class Fate : u8 { kept, lost, torn };

    BlockStatus decide_outcome(const BlockRequest& request);
    TimeNs latency_for(u32 sectors);
    void finish_write(InFlight& write);
    void finish_flush(const InFlight& flush);
    void finish_read(InFlight& read);
    void destage_oldest();
    Fate apply_at_crash(u64 sector, Bytes data);
    void discard_requests();

    void medium_read(u64 sector, u64 sectors, u8* out) const;
    void medium_write(u64 sector, u64 sectors, const u8* data);
    u8* chunk_for(u64 byte_offset, bool create);
    const u8* chunk_at(u64 byte_offset) const;

    World& m_world;
    NodeId m_node;
    u32 m_index;
    DiskConfig m_config;
    Rng m_rng;
    // The medium, in lazily allocated chunks (nullptr: all zeros), so a large
    // disk costs only what was written.
    std::vector<std::unique_ptr<u8[]>> m_chunks;
    std::deque<CachedWrite> m_cache; // completed, not yet durable, in completion order
    u64 m_writes_completed = 0;
    std::map<u64, InFlight> m_in_flight;
    u64 m_next_id = 1;
    std::deque<BlockRequest*> m_completed; // waiting for reap()
    DiskCounters m_counters;
};

} // namespace gantry::sim
