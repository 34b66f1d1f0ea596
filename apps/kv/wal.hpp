// kv's write-ahead log on a Disk (docs/apps.md, "kv").
//
// Layout: records, back to back, from sector 0. A commit (one batch of records
// from any number of clients) starts on a fresh sector and is zero-padded to
// the end of its last sector, so a later commit never rewrites a sector that
// holds an acknowledged record: a torn or lost write can only damage records
// nobody was told about.
//
// Record (little-endian):
//   u32 magic "KVL1" | u32 length (whole record) | u32 crc32c | u32 prev_crc
//   u64 sequence | u8 op | u8 key_bytes | u16 value_bytes | key | value
// crc32c covers everything after the crc field. prev_crc is the previous
// record's crc and sequence counts up by one from 1: replay accepts a record
// only if both continue the chain, so a stale record left past the end by an
// older, torn commit is never taken for a new one.
//
// Replay accepts records while they are valid (magic, length, crc) and continue
// the chain. Where one does not, inside a sector, the rest of that sector is a
// commit's zero padding or the remains of a torn commit, and replay goes on at
// the next sector start, where the next commit (or a writer that resumed after
// an earlier replay stopped here) begins. At a sector start it stops: that is
// the end of the log, and the next commit goes there. The chain makes skipping
// safe: a stale record cannot continue it.
#pragma once

#include <gantry/block.hpp>
#include <gantry/crc32c.hpp>
#include <gantry/sched.hpp>

namespace kv {

using namespace gantry;

constexpr u32 record_magic = 0x314c564b; // "KVL1"
constexpr usize record_header_bytes = 28;
constexpr usize key_bytes_max = 64;
constexpr usize value_bytes_max = 256;
constexpr usize record_bytes_max = record_header_bytes + key_bytes_max + value_bytes_max;

enum class RecordOp : u8 { set = 1, del = 2 };

// The log's checksum (gantry/crc32c.hpp, shared with gantryfs images).
using gantry::crc32c;

struct Record {
    RecordOp op;
    u64 sequence;
    u32 crc;
    u32 prev_crc;
    Bytes key;
    Bytes value;
};

constexpr usize record_bytes(usize key_bytes, usize value_bytes)
{
    return record_header_bytes + key_bytes + value_bytes;
}

// Writes the record to `out` (record_bytes(...) long); returns its crc.
u32 encode_record(u8* out, RecordOp op, u64 sequence, u32 prev_crc, Bytes key, Bytes value);

enum class DecodeStatus : u8 { ok, zero, invalid };
// Checks the record at `in` (up to `available` bytes): `zero` when its magic
// is zero, `invalid` for anything else that is not a whole, intact record.
DecodeStatus decode_record(Bytes in, Record& out);

// Disk requests that fail are retried this many times before kv gives up.
constexpr u32 disk_attempts_max = 16;

struct ReplayResult {
    u64 records = 0;
    u64 end_sector = 0;    // where the next commit goes
    u64 last_sequence = 0; // 0: empty log
    u32 last_crc = 0;
};

// Reads the log from sector 0 and hands each valid record to `apply` (a
// function pointer with context, so no allocation). Fails only when the disk
// keeps failing reads.
using ApplyRecord = void (*)(void* context, const Record& record);
Result<ReplayResult, DiskError> replay_log(Disk& disk, MutableBytes window, ApplyRecord apply,
                                           void* context);

} // namespace kv
