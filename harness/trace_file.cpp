// Trace files for the command line: errors carry the file, the offset and what
// the user can do about it.
#include "trace_file.hpp"

#include <cerrno>
#include <cstring>

namespace gantry::harness {

i64 FileTraceSource::read(MutableBytes out)
{
    usize count = std::fread(out.data(), 1, out.size(), m_file);
    if (count == 0 && std::ferror(m_file))
        return -1;
    return static_cast<i64>(count);
}

TraceFile::TraceFile(std::string path) : m_path(std::move(path))
{
    m_file = std::fopen(m_path.c_str(), "rb");
    if (m_file == nullptr)
        throw CommandError(m_path + ": cannot open: " + std::strerror(errno),
                           "check the path; traces come from `build/bin/<app> --trace FILE`");
    m_source = std::make_unique<FileTraceSource>(m_file);
    m_reader = std::make_unique<TraceReader>(*m_source);
    if (auto opened = m_reader->open(); !opened)
        throw_read_error(opened.error());
}

TraceFile::~TraceFile()
{
    if (m_file != nullptr)
        std::fclose(m_file);
}

std::string TraceFile::where(u64 offset, std::string_view message) const
{
    return m_path + ":" + std::to_string(offset) + ": " + std::string(message);
}

bool TraceFile::next(TraceRecord& record)
{
    auto more = m_reader->next(record);
    if (!more)
        throw_read_error(more.error());
    return more.value();
}

namespace {

std::string hint_for(TraceReadError error)
{
    switch (error) {
    case TraceReadError::io_error:
        return "the file could not be read; check the disk and permissions";
    case TraceReadError::not_a_trace:
        return "trace files start with \"GANTRYTR\"; they are written by "
               "`build/bin/<app> --trace FILE` (see docs/trace-format.md)";
    case TraceReadError::unsupported_version:
        return "this gantry reads trace format versions 1.." + std::to_string(trace_version) +
               "; a newer gantry may read this file";
    case TraceReadError::truncated_header:
        return "the file ends inside the 32-byte trace header: the writer stopped "
               "before writing it, or this is not a trace";
    case TraceReadError::truncated_record:
        return "the writer probably stopped mid-record (crash or kill); the records "
               "before this offset are intact";
    case TraceReadError::bad_record_length:
    case TraceReadError::bad_header_length:
        return "the file is corrupt at this offset (docs/trace-format.md describes "
               "the layout)";
    }
    return {};
}

} // namespace

void TraceFile::throw_read_error(TraceReadError error) const
{
    std::string message(describe(error));
    if (error == TraceReadError::io_error)
        message += std::string(": ") + std::strerror(errno);
    throw CommandError(where(m_reader->offset(), message), hint_for(error));
}

std::string_view level_name(u8 level)
{
    switch (level) {
    case 0:
        return "debug";
    case 1:
        return "info";
    case 2:
        return "warn";
    case 3:
        return "error";
    }
    return "level?";
}

} // namespace gantry::harness
