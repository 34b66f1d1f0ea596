// kv's store: the table plus the log that makes it durable, with group
// commit. A client fiber calls update(); its record joins the open batch; one
// committer fiber writes a whole batch (one sector-aligned write) and flushes,
// then applies its records to the table in sequence order and wakes their
// clients. Clients that arrive while a batch is on its way fill the next one,
// so N concurrent clients cost about one write + flush per batch, not N.
#pragma once

#include "table.hpp"
#include "wal.hpp"

#include <gantry/kernel.hpp>

namespace kv {

enum class UpdateResult : u8 {
    stored,      // SET durable
    deleted,     // DEL durable, the key was there
    not_found,   // DEL durable, the key was not there
    log_full,    // no room left in the log: nothing logged
    table_full,  // no room for another key: nothing logged
    storage_failed, // the disk kept failing: the store takes no more updates
};

struct StoreStats {
    u64 replayed = 0;
    u64 commits = 0;       // batches written and flushed
    u64 records = 0;       // records in them
    u64 batch_records_max = 0;
    u64 write_retries = 0; // disk requests repeated after an error
};

class Store {
public:
    static constexpr usize batch_bytes_max = 32 * 1024;
    static constexpr usize window_bytes = 64 * 1024;

    Store(Kernel& kernel, Disk& disk);
    Store(const Store&) = delete;

    // Replays the log into the table. Fails when the disk keeps failing reads
    // or its sectors are too large for a batch.
    Status<DiskError> open();
    // Runs the committer until stop(); call on its own fiber.
    void run_committer();
    void stop();

    // SET (value) or DEL (no value): returns once durable, or why not.
    UpdateResult update(RecordOp op, Bytes key, Bytes value);
    Table::Lookup get(Bytes key) { return m_table.get(key); }

    const StoreStats& stats() const { return m_stats; }
    u64 log_end_sector() const { return m_end_sector; }
    usize keys() const { return m_table.size(); }

private:
    struct Pending;
    struct Batch {
        u8 bytes[batch_bytes_max + record_bytes_max];
        usize used = 0;
        Pending* first = nullptr;
        Pending* last = nullptr;
        u64 records = 0;
    };

    bool room_for(usize record_bytes) const;
    u64 sectors_for(usize bytes) const;
    bool write_batch(Batch& batch);
    void apply(Pending& pending);
    void finish_batch(Batch& batch, bool durable);
    static void apply_replayed(void* context, const Record& record);

    Kernel& m_kernel;
    Disk& m_disk;
    Table m_table;
    Batch m_batches[2];
    usize m_open = 0;             // the batch clients add to
    u64 m_writing_sectors = 0;    // the batch the committer is writing, if any
    u64 m_end_sector = 0;         // past the last durable commit
    u64 m_next_sequence = 1;
    u32 m_last_crc = 0;
    usize m_reserved_keys = 0;    // SETs queued, not yet applied (each may add a key)
    bool m_failed = false;
    bool m_stopping = false;
    Event m_work;                 // a record joined the open batch, or stop()
    Event m_room;                 // a batch was taken: the open one has room again
    StoreStats m_stats;
    u8 m_window[window_bytes];    // replay's read-ahead
};

std::string_view describe(UpdateResult result);

} // namespace kv
