#include <gantry/sim/trace_writer.hpp>
#include <gantry/trace.hpp>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace gantry::sim {

TraceWriter::TraceWriter(const std::string& path, bool keep_in_memory)
    : m_keep_in_memory(keep_in_memory)
{
    if (!path.empty()) {
        m_file = std::fopen(path.c_str(), "wb");
        if (!m_file)
            throw std::runtime_error("cannot open trace file '" + path +
                                     "': " + std::strerror(errno));
    }
    u8 header[trace_file_header_bytes];
    Tracer::encode_file_header(header);
    write(Bytes(header, sizeof(header)));
}

TraceWriter::~TraceWriter()
{
    if (m_file)
        std::fclose(m_file);
}

void TraceWriter::write(Bytes bytes)
{
    m_bytes_written += bytes.size();
    if (m_keep_in_memory)
        m_memory.insert(m_memory.end(), bytes.begin(), bytes.end());
    if (m_file && !m_failed &&
        std::fwrite(bytes.data(), 1, bytes.size(), m_file) != bytes.size())
        m_failed = true;
}

bool TraceWriter::finish()
{
    if (!m_file)
        return !m_failed;
    bool ok = std::fclose(m_file) == 0 && !m_failed;
    m_file = nullptr;
    return ok;
}

} // namespace gantry::sim

namespace gantry::sim {

void TraceWriter::write_fault(TimeNs now, u8 fault, u32 a, u32 b, u8 detail)
{
    constexpr usize payload_bytes = 1 + 4 + 4 + 1;
    u8 record[trace_record_header_bytes + payload_bytes];
    usize at = 0;
    auto put = [&](u64 value, usize bytes) {
        for (usize i = 0; i < bytes; ++i)
            record[at++] = static_cast<u8>(value >> (8 * i));
    };
    put(sizeof(record), 2);
    put(static_cast<u8>(TraceKind::sim_fault), 1);
    put(0, 1);
    put(0xffff'ffffu, 4); // the world itself, like the fabric's link_frame records
    put(now, 8);
    put(fault, 1);
    put(a, 4);
    put(b, 4);
    put(detail, 1);
    write(Bytes(record, at));
}

} // namespace gantry::sim
