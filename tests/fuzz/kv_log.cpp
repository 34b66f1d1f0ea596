// Fuzzes kv's log replay (apps/kv/wal.cpp) with arbitrary disk contents (the
// input, zero-padded to whole 512-byte sectors): replay must never read past
// the disk or crash, must hand over only records that continue the chain, and
// every record it accepts must re-encode to the very same bytes.
#include "memory_block_device.hpp"
#include "test_platform.hpp"
#include "wal.hpp"

#include <gantry/assert.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

using namespace gantry;

namespace {

struct Seen {
    u64 records = 0;
    u64 last_sequence = 0;
    u32 last_crc = 0;
};

void check_record(void* context, const kv::Record& record)
{
    auto& seen = *static_cast<Seen*>(context);
    GANTRY_ASSERT(record.sequence == seen.last_sequence + 1);
    GANTRY_ASSERT(record.prev_crc == seen.last_crc);
    std::vector<u8> again(kv::record_bytes(record.key.size(), record.value.size()));
    u32 crc = kv::encode_record(again.data(), record.op, record.sequence, record.prev_crc,
                                record.key, record.value);
    GANTRY_ASSERT(crc == record.crc);
    kv::Record decoded{};
    GANTRY_ASSERT(kv::decode_record(again, decoded) == kv::DecodeStatus::ok);
    GANTRY_ASSERT(decoded.crc == record.crc);
    seen.records++;
    seen.last_sequence = record.sequence;
    seen.last_crc = record.crc;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size > 256 * 1024)
        return 0;
    u64 sectors = size / 512 + 1;
    gantry::testing::MemoryBlockDevice device(sectors);
    std::memcpy(device.data().data(), data, size);
    gantry::testing::TestKernel tk({}, 4 * 1024 * 1024, {&device});
    Kernel& kernel = *tk.kernel;
    static_assert(64 * 1024 % 512 == 0);
    std::vector<u8> window(64 * 1024);
    Seen seen;
    bool finished = false;
    Fiber* fiber = kernel.sched().spawn("replay", [&] {
        auto replayed = kv::replay_log(*kernel.disk(0), MutableBytes(window), check_record, &seen);
        GANTRY_ASSERT(replayed.ok()); // an in-memory disk never fails a read
        GANTRY_ASSERT(replayed.value().records == seen.records);
        GANTRY_ASSERT(replayed.value().end_sector <= sectors);
        GANTRY_ASSERT(replayed.value().last_sequence == seen.last_sequence);
        finished = true;
    });
    GANTRY_ASSERT(fiber != nullptr);
    kernel.sched().detach(fiber);
    tk.run_until_idle();
    GANTRY_ASSERT(finished);
    return 0;
}
