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
