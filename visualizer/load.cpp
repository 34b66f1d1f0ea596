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

namespace {

// The saved header, then the file from where the last poll stopped: a reader
// sees a well-formed trace whose records are only the new ones.
class TailSource final : public TraceSource {
public:
    TailSource(const std::vector<u8>& header, std::FILE* file, u64& bytes_read)
        : m_header(header), m_file(file), m_bytes_read(bytes_read)
    {
    }
    i64 read(MutableBytes out) override
    {
        if (m_header_sent < m_header.size()) {
            usize count = std::min(out.size(), m_header.size() - m_header_sent);
            std::memcpy(out.data(), m_header.data() + m_header_sent, count);
            m_header_sent += count;
            return static_cast<i64>(count);
        }
        usize count = std::fread(out.data(), 1, out.size(), m_file);
        if (count == 0 && std::ferror(m_file))
            return -1;
        m_bytes_read += count;
        return static_cast<i64>(count);
    }

private:
    const std::vector<u8>& m_header;
    usize m_header_sent = 0;
    std::FILE* m_file;
    u64& m_bytes_read;
};

struct FileCloser {
    std::FILE* file;
    ~FileCloser() { std::fclose(file); }
};

} // namespace

TraceFollower::TraceFollower(std::string path) : m_path(std::move(path)) { reset(); }
TraceFollower::~TraceFollower() = default;

void TraceFollower::reset()
{
    m_builder = std::make_unique<ModelBuilder>();
    m_header.clear();
    m_consumed = 0;
    m_failed = false;
}

const TraceModel& TraceFollower::model() const { return m_builder->model(); }

// Reads and checks the file header once it is all there; false until then.
bool TraceFollower::read_header(std::FILE* file, u64 size)
{
    if (size < trace_file_header_bytes)
        return false;
    std::vector<u8> header(trace_file_header_bytes);
    if (std::fread(header.data(), 1, header.size(), file) != header.size())
        return false;
    m_bytes_read += header.size();
    usize header_bytes = header[10] | (header[11] << 8);
    if (header_bytes > trace_file_header_bytes) { // a later version's longer header
        if (size < header_bytes)
            return false;
        header.resize(header_bytes);
        if (std::fread(header.data() + trace_file_header_bytes, 1,
                       header_bytes - trace_file_header_bytes, file) !=
            header_bytes - trace_file_header_bytes)
            return false;
        m_bytes_read += header_bytes - trace_file_header_bytes;
    }
    BytesTraceSource source(header);
    auto reader = std::make_unique<TraceReader>(source);
    if (auto opened = reader->open(); !opened)
        throw read_error(m_path, reader->offset(), opened.error());
    m_header = std::move(header);
    m_consumed = m_header.size();
    return true;
}

bool TraceFollower::poll()
{
    std::FILE* file = std::fopen(m_path.c_str(), "rb");
    if (file == nullptr)
        throw LoadError{m_path, 0, std::string("cannot open: ") + std::strerror(errno),
                        "check the path; --follow needs the file to exist"};
    FileCloser closer{file};
    if (std::fseek(file, 0, SEEK_END) != 0)
        throw LoadError{m_path, 0, "cannot seek", "--follow needs a regular file"};
    auto size = static_cast<u64>(std::ftell(file));
    if (size < m_consumed) { // truncated and rewritten: a new run
        reset();
        ++m_restarts;
    }
    if (m_header.empty()) {
        std::rewind(file);
        if (!read_header(file, size))
            return false;
    }
    if (size == m_consumed || m_failed)
        return false;
    if (std::fseek(file, static_cast<long>(m_consumed), SEEK_SET) != 0)
        throw LoadError{m_path, m_consumed, "cannot seek", "--follow needs a regular file"};
    TailSource source(m_header, file, m_bytes_read);
    auto reader = std::make_unique<TraceReader>(source);
    if (auto opened = reader->open(); !opened) // the saved header was fine: an I/O error
        throw read_error(m_path, m_consumed, opened.error());
    u64 start = m_consumed;
    u64 records = m_builder->model().records;
    auto file_offset = [&] { return start + (reader->offset() - m_header.size()); };
    TraceRecord record{};
    for (;;) {
        auto more = reader->next(record);
        if (!more && more.error() == TraceReadError::truncated_record)
            break; // the writer is mid-record: the next poll sees it whole
        if (!more) {
            m_consumed = file_offset();
            m_failed = true;
            m_builder->snapshot();
            throw read_error(m_path, m_consumed, more.error());
        }
        if (!more.value())
            break;
        m_builder->add(record);
    }
    m_consumed = file_offset();
    m_builder->snapshot();
    return m_builder->model().records > records;
}

} // namespace gantry::viz
