#include <gantry/log.hpp>
#include <gantry/platform.hpp>
#include <gantry/trace.hpp>

namespace gantry {

std::string_view to_string(LogLevel level)
{
    switch (level) {
    case LogLevel::debug:
        return "debug";
    case LogLevel::info:
        return "info";
    case LogLevel::warn:
        return "warn";
    case LogLevel::error:
        return "error";
    }
    return "?";
}

void Logger::write(LogLevel level, std::string_view text)
{
    // Console line: "[   12.345678] warn: text". Seconds with microseconds keep
    // the column narrow and match what users know from dmesg.
    InlineFormatBuffer<line_bytes_max + 48> line;
    if (m_timestamps) {
        TimeNs now = m_platform.now();
        format_to(line, "[{:5}.{:06}] ", now / ns_per_s, (now % ns_per_s) / ns_per_us);
    }
    format_to(line, "{}: {}\n", to_string(level), text);
    m_platform.console_write(line.view());
    m_tracer.log(static_cast<u8>(level), text);
    ++m_lines;
}

} // namespace gantry
