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

bool Logger::admit(TimeNs now)
{
    if (m_lines_per_s == 0)
        return true;
    if (now > m_refilled_at) {
        TimeNs refill = now - m_refilled_at;
        m_budget_ns = refill >= ns_per_s - m_budget_ns ? ns_per_s : m_budget_ns + refill;
    }
    m_refilled_at = now > m_refilled_at ? now : m_refilled_at;
    TimeNs cost = ns_per_s / m_lines_per_s;
    if (m_budget_ns < cost)
        return false;
    m_budget_ns -= cost;
    return true;
}

void Logger::write(LogLevel level, std::string_view text)
{
    TimeNs now = m_platform.now();
    if (!admit(now)) {
        ++m_suppressed_pending;
        ++m_suppressed_total;
        return;
    }
    if (m_suppressed_pending > 0) {
        InlineFormatBuffer<96> note;
        format_to(note, "log: {} lines dropped (at most {} lines/s)", m_suppressed_pending,
                  m_lines_per_s);
        m_suppressed_pending = 0;
        emit(LogLevel::warn, note.view(), now);
    }
    emit(level, text, now);
}

void Logger::emit(LogLevel level, std::string_view text, TimeNs now)
{
    // Console line: "[   12.345678] warn: text". Seconds with microseconds keep
    // the column narrow and match what users know from dmesg.
    InlineFormatBuffer<line_bytes_max + 48> line;
    if (m_timestamps)
        format_to(line, "[{:5}.{:06}] ", now / ns_per_s, (now % ns_per_s) / ns_per_us);
    format_to(line, "{}: {}\n", to_string(level), text);
    m_platform.console_write(line.view());
    m_tracer.log(static_cast<u8>(level), text);
    ++m_lines;
}

} // namespace gantry
