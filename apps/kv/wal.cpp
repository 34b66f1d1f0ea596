#include "wal.hpp"

#include <gantry/assert.hpp>

namespace kv {

namespace {

void put_u16(u8* out, u16 value)
{
    out[0] = static_cast<u8>(value);
    out[1] = static_cast<u8>(value >> 8);
}

void put_u32(u8* out, u32 value)
{
    for (int i = 0; i < 4; ++i)
        out[i] = static_cast<u8>(value >> (8 * i));
}

void put_u64(u8* out, u64 value)
{
    for (int i = 0; i < 8; ++i)
        out[i] = static_cast<u8>(value >> (8 * i));
}

u16 get_u16(const u8* in)
{
    return static_cast<u16>(in[0] | (in[1] << 8));
}

u32 get_u32(const u8* in)
{
    u32 value = 0;
    for (int i = 3; i >= 0; --i)
        value = (value << 8) | in[i];
    return value;
}

u64 get_u64(const u8* in)
{
    u64 value = 0;
    for (int i = 7; i >= 0; --i)
        value = (value << 8) | in[i];
    return value;
}

// Field offsets in the header.
constexpr usize magic_at = 0, length_at = 4, crc_at = 8, prev_at = 12, sequence_at = 16,
                op_at = 24, key_bytes_at = 25, value_bytes_at = 26;
constexpr usize crc_covers_from = prev_at;

} // namespace

u32 encode_record(u8* out, RecordOp op, u64 sequence, u32 prev_crc, Bytes key, Bytes value)
{
    GANTRY_ASSERT(key.size() >= 1 && key.size() <= key_bytes_max);
    GANTRY_ASSERT(value.size() <= value_bytes_max);
    usize length = record_bytes(key.size(), value.size());
    put_u32(out + magic_at, record_magic);
    put_u32(out + length_at, static_cast<u32>(length));
    put_u32(out + prev_at, prev_crc);
    put_u64(out + sequence_at, sequence);
    out[op_at] = static_cast<u8>(op);
    out[key_bytes_at] = static_cast<u8>(key.size());
    put_u16(out + value_bytes_at, static_cast<u16>(value.size()));
    u8* payload = out + record_header_bytes;
    for (usize i = 0; i < key.size(); ++i)
        payload[i] = key[i];
    for (usize i = 0; i < value.size(); ++i)
        payload[key.size() + i] = value[i];
    u32 crc = crc32c(0, Bytes(out + crc_covers_from, length - crc_covers_from));
    put_u32(out + crc_at, crc);
    return crc;
}

DecodeStatus decode_record(Bytes in, Record& out)
{
    if (in.size() < 4)
        return DecodeStatus::invalid;
    u32 magic = get_u32(in.data() + magic_at);
    if (magic == 0)
        return DecodeStatus::zero;
    if (magic != record_magic || in.size() < record_header_bytes)
        return DecodeStatus::invalid;
    const u8* at = in.data();
    u32 length = get_u32(at + length_at);
    usize key_bytes = at[key_bytes_at];
    usize value_bytes = get_u16(at + value_bytes_at);
    u8 op = at[op_at];
    if (key_bytes == 0 || key_bytes > key_bytes_max || value_bytes > value_bytes_max ||
        length != record_bytes(key_bytes, value_bytes) || length > in.size())
        return DecodeStatus::invalid;
    if (op != static_cast<u8>(RecordOp::set) && op != static_cast<u8>(RecordOp::del))
        return DecodeStatus::invalid;
    u32 crc = crc32c(0, Bytes(at + crc_covers_from, length - crc_covers_from));
    if (crc != get_u32(at + crc_at))
        return DecodeStatus::invalid;
    out.op = static_cast<RecordOp>(op);
    out.sequence = get_u64(at + sequence_at);
    out.crc = crc;
    out.prev_crc = get_u32(at + prev_at);
    out.key = Bytes(at + record_header_bytes, key_bytes);
    out.value = Bytes(at + record_header_bytes + key_bytes, value_bytes);
    return DecodeStatus::ok;
}

namespace {

// A read-ahead window over the disk, so replay reads big runs, not a sector
// per record.
class LogWindow {
public:
    LogWindow(Disk& disk, MutableBytes buffer) : m_disk(disk), m_buffer(buffer)
    {
        GANTRY_ASSERT(buffer.size() >= 2 * record_bytes_max + disk.sector_bytes());
        GANTRY_ASSERT(buffer.size() % disk.sector_bytes() == 0);
    }

    u64 size_bytes() const { return m_disk.size_bytes(); }

    // The bytes from `at` (up to `bytes`, fewer at the end of the disk).
    Result<Bytes, DiskError> view(u64 at, usize bytes)
    {
        if (at + bytes > size_bytes())
            bytes = static_cast<usize>(size_bytes() - at);
        if (at < m_start || at + bytes > m_start + m_length) {
            if (auto loaded = load(at); !loaded.ok())
                return fail(loaded.error());
        }
        return Bytes(m_buffer.data() + (at - m_start), bytes);
    }

private:
    Status<DiskError> load(u64 at)
    {
        u32 sector_bytes = m_disk.sector_bytes();
        u64 start = at / sector_bytes * sector_bytes;
        u64 length = size_bytes() - start < m_buffer.size() ? size_bytes() - start
                                                              : m_buffer.size();
        MutableBytes into(m_buffer.data(), static_cast<usize>(length));
        Status<DiskError> status = fail(DiskError::io_error);
        for (u32 attempt = 0; attempt < disk_attempts_max && !status.ok(); ++attempt)
            status = m_disk.read(start / sector_bytes, into);
        if (!status.ok())
            return status;
        m_start = start;
        m_length = length;
        return {};
    }

    Disk& m_disk;
    MutableBytes m_buffer;
    u64 m_start = 0;
    u64 m_length = 0;
};

} // namespace

Result<ReplayResult, DiskError> replay_log(Disk& disk, MutableBytes window, ApplyRecord apply,
                                           void* context)
{
    LogWindow log(disk, window);
    const u64 sector_bytes = disk.sector_bytes();
    ReplayResult result;
    u64 at = 0;
    while (at < log.size_bytes()) {
        auto bytes = log.view(at, record_bytes_max);
        if (!bytes.ok())
            return fail(bytes.error());
        Record record{};
        bool valid = decode_record(bytes.value(), record) == DecodeStatus::ok &&
                     record.sequence == result.last_sequence + 1 &&
                     record.prev_crc == result.last_crc;
        if (!valid && at % sector_bytes != 0) {
            // The rest of this sector is a commit's zero padding, or what a torn
            // commit left; either way the next commit starts on the next sector
            // (a writer resumes there after a replay that stopped here).
            at = (at / sector_bytes + 1) * sector_bytes;
            continue;
        }
        if (!valid)
            break;
        apply(context, record);
        ++result.records;
        result.last_sequence = record.sequence;
        result.last_crc = record.crc;
        at += record_bytes(record.key.size(), record.value.size());
    }
    result.end_sector = (at + sector_bytes - 1) / sector_bytes;
    return result;
}

} // namespace kv
