// The world's one trace: every node's tracer drains into it, so a run produces
// a single file (node id on each record) that the reader and visualiser read
// like a hosted trace. Kept in memory for tests, written to a file for tools.
#pragma once

#include <gantry/types.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace gantry::sim {

class TraceWriter {
public:
    // Throws std::runtime_error when `path` cannot be opened (a bad scenario input).
    TraceWriter(const std::string& path, bool keep_in_memory);
    TraceWriter(const TraceWriter&) = delete;
    ~TraceWriter();

    void write(Bytes bytes);
    // A sim_fault record (docs/trace-format.md) at world time `now`.
    void write_fault(TimeNs now, u8 fault, u32 a, u32 b, u8 detail);
    // Flushes and closes the file; false if any write failed.
    bool finish();

    const std::vector<u8>& bytes() const { return m_memory; }
    u64 bytes_written() const { return m_bytes_written; }

private:
    std::FILE* m_file = nullptr;
    std::vector<u8> m_memory;
    bool m_keep_in_memory;
    bool m_failed = false;
    u64 m_bytes_written = 0;
};

} // namespace gantry::sim
