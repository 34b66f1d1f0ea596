// Reading trace files from the command line: a TraceSource over a FILE*, and a
// loop that turns reader errors into "FILE:OFFSET: what is wrong" + a hint.
#pragma once

#include "command.hpp"

#include <gantry/trace.hpp>

#include <cstdio>
#include <memory>
#include <string>

namespace gantry::harness {

class FileTraceSource final : public TraceSource {
public:
    explicit FileTraceSource(std::FILE* file) : m_file(file) {}
    i64 read(MutableBytes out) override;

private:
    std::FILE* m_file;
};

// One decoded record as the subcommands see it.
struct TraceItem {
    const TraceRecord& record;
    const TraceFields& fields;
    bool known;     // false: a kind from a later version, skipped by most commands
    bool malformed; // a known kind whose payload is too short for its fields
};

class TraceFile {
public:
    // Opens and checks the header; throws CommandError when it cannot.
    explicit TraceFile(std::string path);
    ~TraceFile();
    TraceFile(const TraceFile&) = delete;

    // Calls `visit(const TraceItem&)` for every record; throws CommandError at the
    // first unreadable one, after visiting all records before it.
    template<typename Visit>
    void for_each(Visit&& visit)
    {
        TraceRecord record{};
        TraceFields fields;
        while (next(record)) {
            auto decoded = decode_fields(record, fields);
            bool known = is_known(record.kind);
            visit(TraceItem{record, fields, known, known && !decoded.ok()});
        }
    }

    const std::string& path() const { return m_path; }
    u64 offset() const { return m_reader->offset(); }

    // "FILE:OFFSET: message", the prefix of every error about the file's contents.
    std::string where(u64 offset, std::string_view message) const;

private:
    bool next(TraceRecord& record);
    [[noreturn]] void throw_read_error(TraceReadError error) const;

    std::string m_path;
    std::FILE* m_file = nullptr;
    std::unique_ptr<FileTraceSource> m_source;
    std::unique_ptr<TraceReader> m_reader; // 64 KiB: keep it off the stack
};

std::string_view level_name(u8 level);

} // namespace gantry::harness
