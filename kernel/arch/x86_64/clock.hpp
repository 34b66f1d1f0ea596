// Monotonic clock from the TSC. The TSC's frequency comes from the hypervisor's
// timing CPUID leaf when it offers one, else from counting it against the PIT
// (channel 0, whose gate is always on: channel 2's gate sits behind port 0x61,
// which QEMU's microvm does not emulate).
#pragma once

#include <gantry/types.hpp>

namespace gantry::x86 {

enum class ClockSource : u8 { hypervisor_cpuid, pit, assumed };
std::string_view describe(ClockSource source);

struct PitSample {
    u16 counter = 0;
    u64 tsc = 0; // midpoint of the TSC readings around the counter read
};

class TscClock {
public:
    // `origin_tsc` is time zero (the image's first instructions). The
    // calibration window opens at begin and closes at finish, so the machine's
    // other set-up runs inside it instead of after it; nothing may ask the time
    // in between. finish returns once the window is at least 1 ms long.
    void begin_calibration(u64 origin_tsc);
    void finish_calibration();

    TimeNs now();
    TimeNs ticks_to_ns(u64 ticks) const;
    u64 frequency_hz() const { return m_frequency_hz; }
    ClockSource source() const { return m_source; }

private:
    u64 frequency_from_window();
    void set_frequency(u64 hz);

    u64 m_origin_tsc = 0;
    u64 m_frequency_hz = 0;
    u64 m_ns_per_tick_q32 = 0; // nanoseconds per tick, 32.32 fixed point
    ClockSource m_source = ClockSource::assumed;
    TimeNs m_last_ns = 0;
    PitSample m_window_start;
};

} // namespace gantry::x86
