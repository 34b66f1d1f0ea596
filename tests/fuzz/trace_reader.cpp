// Fuzz target for the trace reader: any bytes must give records or an error,
// never a crash, an assertion or a read out of bounds, and every known kind's
// payload must decode or fail cleanly. Reads in odd chunk sizes (taken from the
// last byte) so buffer compaction is exercised too.
#include <gantry/trace.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace {

using namespace gantry;

// Touches every decoded field so the sanitizers see each read.
u64 consume(const TraceFields& f)
{
    u64 sum = f.level + f.region + f.order + f.fiber + f.parent + f.from + f.to + f.count;
    sum += f.fragmentation_permille + static_cast<u32>(f.exit_code) + f.first_page;
    sum += f.pages_total + f.pages_used + f.heap_bytes_live + f.heap_allocations + f.heap_frees;
    for (char c : f.name)
        sum += static_cast<u8>(c);
    for (char c : f.name2)
        sum += static_cast<u8>(c);
    sum += f.region_pages + f.heap.slab_pages + f.heap.large_live + f.heap.large_pages;
    for (usize i = 0; i < f.heap.class_count; ++i)
        sum += f.heap.class_bytes[i] + f.heap.objects_live[i];
    return sum + f.deadline;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    usize chunk = size > 0 ? 1 + data[size - 1] * usize{257} : 1;
    BytesTraceSource source(Bytes(data, size), chunk);
    static_assert(sizeof(TraceReader) < 128 * 1024);
    auto* reader = new TraceReader(source); // 64 KiB: too big for a fuzzer's stack frame
    volatile u64 sink = 0;
    if (reader->open().ok()) {
        TraceRecord record{};
        for (;;) {
            auto more = reader->next(record);
            if (!more || !more.value())
                break;
            TraceFields fields;
            if (decode_fields(record, fields).ok())
                sink = sink + consume(fields);
            if (record.payload.size() + trace_record_header_bytes > trace_record_bytes_max)
                __builtin_trap();
        }
    }
    delete reader;
    return 0;
}
