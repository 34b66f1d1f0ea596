// Monotonic clock from the TSC. The TSC's frequency comes from the hypervisor's
// timing CPUID leaf when it offers one, else from counting it against the PIT
// (channel 0, whose gate is always on: channel 2's gate sits behind port 0x61,
// which QEMU's microvm does not emulate).
#pragma once

#include <gantry/types.hpp>

namespace gantry::x86 {

enum class ClockSource : u8 { hypervisor_cpuid, pit, assumed };
std::string_view describe(ClockSource source);

class TscClock {
public:
    // `origin_tsc` is time zero (the image's first instructions).
    void calibrate(u64 origin_tsc);

    TimeNs now();
    TimeNs ticks_to_ns(u64 ticks) const;
    u64 frequency_hz() const { return m_frequency_hz; }
    ClockSource source() const { return m_source; }

private:
    u64 m_origin_tsc = 0;
    u64 m_frequency_hz = 0;
    u64 m_ns_per_tick_q32 = 0; // nanoseconds per tick, 32.32 fixed point
    ClockSource m_source = ClockSource::assumed;
    TimeNs m_last_ns = 0;
};

} // namespace gantry::x86
