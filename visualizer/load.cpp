// Reading trace files into a model. Every way a file can be wrong ends in a
// LoadError with the offset where it went wrong, never in a crash: the reader
// never trusts a length, and the builder never trusts an order.
#include <gantry/viz/model.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace gantry::viz {

namespace {

class FileSource final : public TraceSource {
public:
    explicit FileSource(std::FILE* file) : m_file(file) {}
    i64 read(MutableBytes out) override
    {
        usize count = std::fread(out.data(), 1, out.size(), m_file);
        if (count == 0 && std::ferror(m_file))
            return -1;
        return static_cast<i64>(count);
    }

private:
    std::FILE* m_file;
};

std::string hint_for(TraceReadError error)
{
    switch (error) {
    case TraceReadError::io_error:
        return "the file could not be read; check the disk and permissions";
    case TraceReadError::not_a_trace:
        return "trace files start with \"GANTRYTR\"; `build/bin/<app> --trace FILE` writes them";
    case TraceReadError::unsupported_version:
        return "this gantry-viz reads format version " + std::to_string(trace_version) +
               "; a newer gantry-viz may read this file";
    case TraceReadError::truncated_header:
        return "the file ends inside the 32-byte trace header";
    case TraceReadError::truncated_record:
        return "the writer probably stopped mid-record (crash or kill); "
               "`gantry trace dump` shows the intact records before this offset";
    case TraceReadError::bad_record_length:
    case TraceReadError::bad_header_length:
        return "the file is corrupt at this offset (see docs/trace-format.md)";
    }
    return {};
}

LoadError read_error(const std::string& name, u64 offset, TraceReadError error)
{
    std::string message(describe(error));
    if (error == TraceReadError::io_error)
        message += std::string(": ") + std::strerror(errno);
    return LoadError{name, offset, message, hint_for(error)};
}

TraceModel load(TraceSource& source, const std::string& name, TruncatedTail tail)
{
    auto reader = std::make_unique<TraceReader>(source); // 64 KiB: off the stack
    if (auto opened = reader->open(); !opened)
        throw read_error(name, reader->offset(), opened.error());
    ModelBuilder builder;
    TraceRecord record{};
    for (;;) {
        auto more = reader->next(record);
        if (!more && more.error() == TraceReadError::truncated_record &&
            tail == TruncatedTail::ignore)
            break; // the writer is mid-record: the next reload will see it whole
        if (!more)
            throw read_error(name, reader->offset(), more.error());
        if (!more.value())
            break;
        builder.add(record);
    }
    builder.snapshot();
    if (builder.model().empty())
        throw LoadError{name, reader->offset(), "the trace has no records",
                        "the writer stopped right after the header; nothing to show"};
    return std::move(builder.model());
}

} // namespace

TraceModel load_trace_file(const std::string& path, TruncatedTail tail)
{
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr)
        throw LoadError{path, 0, std::string("cannot open: ") + std::strerror(errno),
                        "check the path; traces come from `build/bin/<app> --trace FILE`"};
    struct Closer {
        std::FILE* file;
        ~Closer() { std::fclose(file); }
    } closer{file};
    if (std::fseek(file, 0, SEEK_END) == 0 && std::ftell(file) == 0)
        throw LoadError{path, 0, "the file is empty",
                        "the writer never wrote the trace header; re-run with --trace"};
    std::rewind(file);
    FileSource source(file);
    return load(source, path, tail);
}

TraceModel load_trace_bytes(Bytes bytes, const std::string& name)
{
    if (bytes.empty())
        throw LoadError{name, 0, "the file is empty", "nothing was written"};
    BytesTraceSource source(bytes);
    return load(source, name, TruncatedTail::error);
}

} // namespace gantry::viz
