// Kernel log: levelled lines to the console and into the trace.
#pragma once

#include <gantry/format.hpp>
#include <gantry/types.hpp>

namespace gantry {

enum class LogLevel : u8 { debug = 0, info = 1, warn = 2, error = 3 };
std::string_view to_string(LogLevel level);

class Platform;
class Tracer;

class Logger {
public:
    static constexpr usize line_bytes_max = 512;
    // At most this many lines per second of the kernel's clock, with bursts of
    // a second's worth: a flood (a hostile peer making the stack log on every
    // packet, an app logging in a loop) cannot turn into unbounded console
    // output. Lines over the limit are dropped and counted; the next line
    // that passes is preceded by how many were dropped.
    static constexpr u32 lines_per_s_default = 1000;

    Logger(Platform& platform, Tracer& tracer) : m_platform(platform), m_tracer(tracer) {}

    void set_level(LogLevel level) { m_level = level; }
    void set_timestamps(bool on) { m_timestamps = on; }
    LogLevel level() const { return m_level; }
    bool enabled(LogLevel level) const { return level >= m_level; }

    template<typename... Args>
    void log(LogLevel level, std::string_view format, const Args&... args)
    {
        if (!enabled(level))
            return;
        InlineFormatBuffer<line_bytes_max> line;
        format_to(line, format, args...);
        write(level, line.view());
    }
    template<typename... Args>
    void debug(std::string_view f, const Args&... a) { log(LogLevel::debug, f, a...); }
    template<typename... Args>
    void info(std::string_view f, const Args&... a) { log(LogLevel::info, f, a...); }
    template<typename... Args>
    void warn(std::string_view f, const Args&... a) { log(LogLevel::warn, f, a...); }
    template<typename... Args>
    void error(std::string_view f, const Args&... a) { log(LogLevel::error, f, a...); }

    u64 lines_written() const { return m_lines; }
    // 0: no limit.
    void set_rate_limit(u32 lines_per_s) { m_lines_per_s = lines_per_s; }
    u32 rate_limit() const { return m_lines_per_s; }
    u64 lines_suppressed() const { return m_suppressed_total; }

private:
    void write(LogLevel level, std::string_view text);
    void emit(LogLevel level, std::string_view text, TimeNs now);
    // Token bucket in nanoseconds of budget: a line costs 1 s / rate, the
    // budget refills with the clock and holds at most one second.
    bool admit(TimeNs now);

    Platform& m_platform;
    Tracer& m_tracer;
    LogLevel m_level = LogLevel::info;
    bool m_timestamps = true;
    u64 m_lines = 0;
    u32 m_lines_per_s = lines_per_s_default;
    TimeNs m_budget_ns = ns_per_s;
    TimeNs m_refilled_at = 0;
    u64 m_suppressed_pending = 0; // dropped since the last line written
    u64 m_suppressed_total = 0;
};

} // namespace gantry
