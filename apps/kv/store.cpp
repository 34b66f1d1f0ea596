#include "store.hpp"

#include <gantry/assert.hpp>

namespace kv {

using namespace std::string_view_literals;

// One update waiting for its batch. Lives on the client fiber's stack, which
// stays put while it waits; key and value point into that client's buffer.
struct Store::Pending {
    explicit Pending(Scheduler& scheduler) : done(scheduler) {}
    RecordOp op = RecordOp::set;
    Bytes key;
    Bytes value;
    bool finished = false;
    UpdateResult result = UpdateResult::storage_failed;
    Event done;
    Pending* next = nullptr;
};

std::string_view describe(UpdateResult result)
{
    switch (result) {
    case UpdateResult::stored: return "stored"sv;
    case UpdateResult::deleted: return "deleted"sv;
    case UpdateResult::not_found: return "not found"sv;
    case UpdateResult::log_full: return "log full"sv;
    case UpdateResult::table_full: return "table full"sv;
    case UpdateResult::storage_failed: return "storage failed"sv;
    }
    return "?"sv;
}

Store::Store(Kernel& kernel, Disk& disk)
    : m_kernel(kernel), m_disk(disk), m_work(kernel.sched()), m_room(kernel.sched())
{
}

void Store::apply_replayed(void* context, const Record& record)
{
    auto& store = *static_cast<Store*>(context);
    if (record.op == RecordOp::set) {
        // The live count never exceeded keys_max when the record was logged.
        bool stored = store.m_table.set(record.key, record.value);
        GANTRY_ASSERT(stored);
    } else {
        store.m_table.erase(record.key);
    }
    ++store.m_stats.replayed;
}

Status<DiskError> Store::open()
{
    if (m_disk.sector_bytes() > batch_bytes_max / 2 ||
        window_bytes % m_disk.sector_bytes() != 0)
        return fail(DiskError::misaligned);
    auto replayed = replay_log(m_disk, MutableBytes(m_window, window_bytes), apply_replayed, this);
    if (!replayed.ok())
        return fail(replayed.error());
    m_end_sector = replayed.value().end_sector;
    m_next_sequence = replayed.value().last_sequence + 1;
    m_last_crc = replayed.value().last_crc;
    return {};
}

u64 Store::sectors_for(usize bytes) const
{
    return (bytes + m_disk.sector_bytes() - 1) / m_disk.sector_bytes();
}

bool Store::room_for(usize record_bytes) const
{
    const Batch& open = m_batches[m_open];
    u64 needed = m_end_sector + m_writing_sectors + sectors_for(open.used + record_bytes);
    return needed <= m_disk.sector_count();
}

UpdateResult Store::update(RecordOp op, Bytes key, Bytes value)
{
    GANTRY_ASSERT(key.size() >= 1 && key.size() <= key_bytes_max);
    GANTRY_ASSERT(value.size() <= value_bytes_max);
    usize bytes = record_bytes(key.size(), value.size());
    // Wait for room in the open batch (the committer empties one at a time).
    while (!m_failed && m_batches[m_open].used + bytes > batch_bytes_max)
        m_room.wait();
    if (m_failed || m_stopping)
        return UpdateResult::storage_failed;
    if (!room_for(bytes))
        return UpdateResult::log_full;
    if (op == RecordOp::set && !m_table.contains(key) &&
        m_table.size() + m_reserved_keys >= Table::keys_max)
        return UpdateResult::table_full;

    Batch& batch = m_batches[m_open];
    m_last_crc = encode_record(batch.bytes + batch.used, op, m_next_sequence++, m_last_crc, key,
                               value);
    batch.used += bytes;
    Pending pending(m_kernel.sched());
    pending.op = op;
    pending.key = key;
    pending.value = value;
    (batch.last ? batch.last->next : batch.first) = &pending;
    batch.last = &pending;
    ++batch.records;
    if (op == RecordOp::set)
        ++m_reserved_keys;
    m_work.notify_all();
    while (!pending.finished)
        pending.done.wait();
    return pending.result;
}

bool Store::write_batch(Batch& batch)
{
    u32 sector_bytes = m_disk.sector_bytes();
    usize padded = static_cast<usize>(sectors_for(batch.used)) * sector_bytes;
    for (usize i = batch.used; i < padded; ++i)
        batch.bytes[i] = 0;
    Bytes data(batch.bytes, padded);
    Status<DiskError> written = fail(DiskError::io_error);
    for (u32 attempt = 0; attempt < disk_attempts_max && !written.ok(); ++attempt) {
        m_stats.write_retries += attempt > 0 ? 1 : 0;
        written = m_disk.write(m_end_sector, data);
    }
    if (!written.ok())
        return false;
    Status<DiskError> flushed = fail(DiskError::io_error);
    for (u32 attempt = 0; attempt < disk_attempts_max && !flushed.ok(); ++attempt) {
        m_stats.write_retries += attempt > 0 ? 1 : 0;
        flushed = m_disk.flush();
    }
    return flushed.ok();
}

void Store::apply(Pending& pending)
{
    if (pending.op == RecordOp::set) {
        bool stored = m_table.set(pending.key, pending.value);
        GANTRY_ASSERT(stored); // room was reserved in update()
        GANTRY_ASSERT(m_reserved_keys > 0);
        --m_reserved_keys;
        pending.result = UpdateResult::stored;
    } else {
        pending.result = m_table.erase(pending.key) ? UpdateResult::deleted
                                                    : UpdateResult::not_found;
    }
}

void Store::finish_batch(Batch& batch, bool durable)
{
    for (Pending* pending = batch.first; pending;) {
        Pending* next = pending->next; // the waiter may leave once finished is set
        if (durable) {
            apply(*pending);
        } else {
            pending->result = UpdateResult::storage_failed;
            if (pending->op == RecordOp::set)
                --m_reserved_keys;
        }
        pending->finished = true;
        pending->done.notify_all();
        pending = next;
    }
    batch.used = 0;
    batch.first = batch.last = nullptr;
    batch.records = 0;
}

void Store::run_committer()
{
    for (;;) {
        while (m_batches[m_open].records == 0 && !m_stopping)
            m_work.wait();
        if (m_batches[m_open].records == 0)
            return; // stopping, nothing left to write
        Batch& batch = m_batches[m_open];
        m_open ^= 1;
        m_writing_sectors = sectors_for(batch.used);
        m_room.notify_all();
        bool durable = !m_failed && write_batch(batch);
        if (durable) {
            m_end_sector += m_writing_sectors;
            ++m_stats.commits;
            m_stats.records += batch.records;
            if (batch.records > m_stats.batch_records_max)
                m_stats.batch_records_max = batch.records;
        } else if (!m_failed) {
            // The records after these chain to them: nothing more may be
            // appended, so the store fails every update from here on.
            m_failed = true;
            m_kernel.log().error("kv: the disk keeps failing; no more updates are accepted");
        }
        m_writing_sectors = 0;
        finish_batch(batch, durable);
        m_room.notify_all();
    }
}

void Store::stop()
{
    m_stopping = true;
    m_work.notify_all();
    m_room.notify_all();
}

} // namespace kv
