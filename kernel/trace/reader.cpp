// TraceReader and PayloadCursor: read docs/trace-format.md back. Input is
// untrusted (files from other versions, truncated by a crash, or fuzzed), so
// every length is checked against what is actually there before it is used,
// and memory stays one maximal record whatever the file's size.
#include <gantry/assert.hpp>
#include <gantry/trace.hpp>

namespace gantry {

using namespace std::string_view_literals; // "x"sv needs no strlen in the image

namespace {

u16 load_u16(const u8* p) { return static_cast<u16>(p[0] | (p[1] << 8)); }
u32 load_u32(const u8* p) { return load_u16(p) | (static_cast<u32>(load_u16(p + 2)) << 16); }
u64 load_u64(const u8* p) { return load_u32(p) | (static_cast<u64>(load_u32(p + 4)) << 32); }

constexpr usize magic_bytes = sizeof(trace_magic);
constexpr usize version_offset = 8;
constexpr usize header_length_offset = 10;

} // namespace

std::string_view describe(TraceReadError error)
{
    switch (error) {
    case TraceReadError::io_error:
        return "read error"sv;
    case TraceReadError::not_a_trace:
        return "not a Gantry trace (bad magic)"sv;
    case TraceReadError::unsupported_version:
        return "unsupported trace format version"sv;
    case TraceReadError::truncated_header:
        return "file header truncated"sv;
    case TraceReadError::truncated_record:
        return "record truncated"sv;
    case TraceReadError::bad_record_length:
        return "record length shorter than a record header"sv;
    case TraceReadError::bad_header_length:
        return "file header length shorter than 32 bytes"sv;
    }
    return "unknown trace read error"sv;
}

Failure<TraceReadError> TraceReader::failed(TraceReadError error, u64 offset)
{
    m_failed = true;
    m_error = error;
    m_offset = offset;
    return fail(error);
}

// Makes at least `bytes_needed` bytes available from m_start, reading as much as
// fits per call so that small reads from the source are amortised. false at the
// end of input (fewer bytes available) or on an I/O error (`io_failed`).
bool TraceReader::fill(usize bytes_needed, bool& io_failed)
{
    GANTRY_ASSERT(bytes_needed <= sizeof(m_buffer));
    io_failed = false;
    if (available() >= bytes_needed)
        return true;
    if (sizeof(m_buffer) - m_start < bytes_needed) {
        // Move the partial record to the front; at most one record is ever kept.
        usize count = available();
        for (usize i = 0; i < count; ++i)
            m_buffer[i] = m_buffer[m_start + i];
        m_start = 0;
        m_end = count;
    }
    // Each pass either adds at least one byte or ends, so this runs at most
    // sizeof(m_buffer) times.
    while (available() < bytes_needed && !m_eof) {
        usize space = sizeof(m_buffer) - m_end;
        GANTRY_ASSERT(space > 0);
        i64 count = m_source.read(MutableBytes(m_buffer + m_end, space));
        if (count < 0) {
            io_failed = true;
            return false;
        }
        GANTRY_ASSERT(static_cast<u64>(count) <= space);
        if (count == 0)
            m_eof = true;
        m_end += static_cast<usize>(count);
    }
    return available() >= bytes_needed;
}

Status<TraceReadError> TraceReader::open()
{
    GANTRY_ASSERT(!m_opened);
    GANTRY_ASSERT(!m_failed);
    bool io_failed = false;
    bool complete = fill(trace_file_header_bytes, io_failed);
    if (io_failed)
        return failed(TraceReadError::io_error, m_offset);
    // Judge the magic on whatever arrived, so a short file of some other kind
    // is "not a trace" rather than "truncated".
    const u8* header = m_buffer + m_start;
    for (usize i = 0; i < magic_bytes && i < available(); ++i)
        if (header[i] != trace_magic[i])
            return failed(TraceReadError::not_a_trace, 0);
    if (!complete)
        return failed(TraceReadError::truncated_header, 0);
    u16 version = load_u16(header + version_offset);
    if (version == 0 || version > trace_version)
        return failed(TraceReadError::unsupported_version, version_offset);
    u16 header_bytes = load_u16(header + header_length_offset);
    if (header_bytes < trace_file_header_bytes)
        return failed(TraceReadError::bad_header_length, header_length_offset);
    // A longer header carries fields this reader does not know: skip them.
    if (!fill(header_bytes, io_failed))
        return failed(io_failed ? TraceReadError::io_error : TraceReadError::truncated_header,
                      0);
    m_start += header_bytes;
    m_offset += header_bytes;
    m_version = version;
    m_opened = true;
    return {};
}

Result<bool, TraceReadError> TraceReader::next(TraceRecord& record)
{
    if (m_failed)
        return fail(m_error);
    GANTRY_ASSERT(m_opened);
    bool io_failed = false;
    if (!fill(trace_record_header_bytes, io_failed)) {
        if (io_failed)
            return failed(TraceReadError::io_error, m_offset);
        if (available() == 0)
            return false;
        return failed(TraceReadError::truncated_record, m_offset);
    }
    usize length = load_u16(m_buffer + m_start);
    if (length < trace_record_header_bytes)
        return failed(TraceReadError::bad_record_length, m_offset);
    if (!fill(length, io_failed))
        return failed(io_failed ? TraceReadError::io_error : TraceReadError::truncated_record,
                      m_offset);
    const u8* bytes = m_buffer + m_start;
    record.kind = static_cast<TraceKind>(bytes[2]);
    // bytes[3] holds flags: none are defined yet, so they are ignored.
    record.node = load_u32(bytes + 4);
    record.time = load_u64(bytes + 8);
    record.payload = Bytes(bytes + trace_record_header_bytes, length - trace_record_header_bytes);
    record.file_offset = m_offset;
    m_start += length;
    m_offset += length;
    GANTRY_ASSERT(m_start <= m_end);
    return true;
}

bool PayloadCursor::take(usize count)
{
    if (!m_ok || m_bytes.size() - m_position < count) {
        m_ok = false;
        return false;
    }
    return true;
}

u8 PayloadCursor::read_u8()
{
    if (!take(1))
        return 0;
    return m_bytes[m_position++];
}

u16 PayloadCursor::read_u16()
{
    if (!take(2))
        return 0;
    u16 value = load_u16(m_bytes.data() + m_position);
    m_position += 2;
    return value;
}

u32 PayloadCursor::read_u32()
{
    if (!take(4))
        return 0;
    u32 value = load_u32(m_bytes.data() + m_position);
    m_position += 4;
    return value;
}

u64 PayloadCursor::read_u64()
{
    if (!take(8))
        return 0;
    u64 value = load_u64(m_bytes.data() + m_position);
    m_position += 8;
    return value;
}

std::string_view PayloadCursor::read_str()
{
    usize length = read_u16();
    if (!take(length))
        return {};
    std::string_view text(reinterpret_cast<const char*>(m_bytes.data() + m_position), length);
    m_position += length;
    return text;
}

i64 BytesTraceSource::read(MutableBytes out)
{
    usize count = m_bytes.size() - m_position;
    count = count < out.size() ? count : out.size();
    count = count < m_chunk_bytes_max ? count : m_chunk_bytes_max;
    for (usize i = 0; i < count; ++i)
        out[i] = m_bytes[m_position + i];
    m_position += count;
    return static_cast<i64>(count);
}

} // namespace gantry
