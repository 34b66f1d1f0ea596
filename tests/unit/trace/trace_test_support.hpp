// Helpers for the trace tests: a platform with a manual clock and a memory
// sink, sources that hand out bytes in chunks (or fail), and a reader loop.
#pragma once

#include <gantry/platform.hpp>
#include <gantry/trace.hpp>

#include <algorithm>
#include <optional>
#include <vector>

namespace gantry::trace_test {

class SinkPlatform final : public Platform {
public:
    TimeNs now() override { return m_now; }
    void idle_until(TimeNs) override {}
    void console_write(std::string_view) override {}
    void fill_entropy(MutableBytes out) override { std::fill(out.begin(), out.end(), 0); }
    std::span<const MemoryRegion> memory_regions() override { return {}; }
    bool trace_sink_enabled() override { return m_sink_enabled; }
    void trace_sink_write(Bytes bytes) override
    {
        ++m_sink_writes;
        m_sink.insert(m_sink.end(), bytes.begin(), bytes.end());
    }

    TimeNs m_now = 0;
    bool m_sink_enabled = true;
    usize m_sink_writes = 0;
    std::vector<u8> m_sink;
};

// Delivers `good_bytes` and then fails.
class FailingSource final : public TraceSource {
public:
    FailingSource(Bytes bytes, usize good_bytes) : m_inner(bytes, 7), m_left(good_bytes) {}
    i64 read(MutableBytes out) override
    {
        if (m_left == 0)
            return -1;
        i64 count = m_inner.read(out.first(std::min(out.size(), m_left)));
        m_left -= static_cast<usize>(count);
        return count;
    }

private:
    BytesTraceSource m_inner;
    usize m_left;
};

struct OwnedRecord {
    TraceKind kind;
    u32 node;
    TimeNs time;
    std::vector<u8> payload;
    u64 file_offset;
    bool operator==(const OwnedRecord&) const = default;
};

struct ReadOutcome {
    std::vector<OwnedRecord> records;
    std::optional<TraceReadError> error;
    u64 error_offset = 0;
};

inline ReadOutcome read_all(TraceSource& source)
{
    ReadOutcome outcome;
    TraceReader reader(source);
    if (auto opened = reader.open(); !opened) {
        outcome.error = opened.error();
        outcome.error_offset = reader.offset();
        return outcome;
    }
    TraceRecord record{};
    for (;;) {
        auto more = reader.next(record);
        if (!more) {
            outcome.error = more.error();
            outcome.error_offset = reader.offset();
            return outcome;
        }
        if (!more.value())
            return outcome;
        outcome.records.push_back({record.kind, record.node, record.time,
                                   {record.payload.begin(), record.payload.end()},
                                   record.file_offset});
    }
}

inline ReadOutcome read_all(Bytes bytes, usize chunk = ~usize{0})
{
    BytesTraceSource source(bytes, chunk);
    return read_all(source);
}

inline std::vector<u8> file_header()
{
    u8 header[trace_file_header_bytes];
    Tracer::encode_file_header(header);
    return {header, header + trace_file_header_bytes};
}

// A file: header + what the platform's sink received.
inline std::vector<u8> trace_file(const SinkPlatform& platform)
{
    std::vector<u8> file = file_header();
    file.insert(file.end(), platform.m_sink.begin(), platform.m_sink.end());
    return file;
}

// Appends a raw record, so tests can build what no tracer would write.
inline void append_record(std::vector<u8>& file, u16 length, u8 kind, u32 node, u64 time,
                          const std::vector<u8>& payload)
{
    auto put = [&](u64 value, int bytes) {
        for (int i = 0; i < bytes; ++i)
            file.push_back(static_cast<u8>(value >> (8 * i)));
    };
    put(length, 2);
    put(kind, 1);
    put(0, 1);
    put(node, 4);
    put(time, 8);
    file.insert(file.end(), payload.begin(), payload.end());
}

} // namespace gantry::trace_test
