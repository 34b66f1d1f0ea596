#include "clock.hpp"

#include "cpu.hpp"

namespace gantry::x86 {
namespace {

constexpr u64 pit_frequency_hz = 1'193'182;
constexpr u16 pit_channel0 = 0x40;
constexpr u16 pit_command = 0x43;
constexpr u8 pit_channel0_rate_generator = 0x34; // channel 0, lo/hi byte, mode 2
constexpr u8 pit_channel0_latch = 0x00;
// Three windows of 2 ms of PIT ticks: a poll of the counter costs a few
// microseconds even under TCG, so a window's error stays near 0.2% while boot
// pays about 6 ms.
constexpr u64 calibration_pit_ticks = pit_frequency_hz / 500;
constexpr usize calibration_windows = 3;
// A machine without a PIT reads a constant counter: give up after this many polls.
constexpr u32 calibration_polls_max = 1'000'000;
constexpr u64 assumed_frequency_hz = 1'000'000'000;
constexpr u32 cpuid_hypervisor_present = 1u << 31;
constexpr u32 cpuid_hypervisor_base = 0x40000000;
constexpr u32 cpuid_hypervisor_timing = 0x40000010; // eax = TSC kHz (VMware/KVM/QEMU)

u16 read_pit_counter()
{
    outb(pit_command, pit_channel0_latch);
    const u8 low = inb(pit_channel0);
    const u8 high = inb(pit_channel0);
    return static_cast<u16>(low | (high << 8));
}

u64 frequency_from_hypervisor()
{
    if (!(cpuid(1).ecx & cpuid_hypervisor_present))
        return 0;
    if (cpuid(cpuid_hypervisor_base).eax < cpuid_hypervisor_timing)
        return 0;
    return u64{cpuid(cpuid_hypervisor_timing).eax} * 1000;
}

struct PitSample {
    u16 counter;
    u64 tsc; // midpoint of the TSC readings around the counter read
};

// A vCPU can be descheduled at any instruction; bracketing the counter read with
// two TSC reads bounds the error of each sample to the bracket's width.
PitSample sample_pit()
{
    const u64 before = rdtsc();
    const u16 counter = read_pit_counter();
    const u64 after = rdtsc();
    return {counter, before + (after - before) / 2};
}

// TSC ticks per second over one window of calibration_pit_ticks; 0 if the PIT's
// counter does not move (no PIT).
u64 measure_window()
{
    PitSample first = sample_pit();
    u16 previous = first.counter;
    u64 elapsed = 0;
    for (u32 poll = 0; poll < calibration_polls_max; ++poll) {
        const PitSample now = sample_pit();
        // The counter counts down; u16 arithmetic handles the wrap.
        elapsed += static_cast<u16>(previous - now.counter);
        previous = now.counter;
        if (elapsed >= calibration_pit_ticks)
            return (now.tsc - first.tsc) * pit_frequency_hz / elapsed;
    }
    return 0;
}

// The median of a few windows: a window that lost a counter wrap (the host
// descheduled us for more than 55 ms) or straddled a long stall is outvoted.
u64 frequency_from_pit()
{
    outb(pit_command, pit_channel0_rate_generator);
    outb(pit_channel0, 0x00); // reload 65536: the counter wraps every 55 ms
    outb(pit_channel0, 0x00);
    (void)sample_pit(); // the first read also pays for translating this code under TCG
    u64 windows[calibration_windows];
    for (u64& window : windows)
        window = measure_window();
    for (usize i = 1; i < calibration_windows; ++i)
        for (usize j = i; j > 0 && windows[j - 1] > windows[j]; --j) {
            const u64 swap = windows[j];
            windows[j] = windows[j - 1];
            windows[j - 1] = swap;
        }
    return windows[calibration_windows / 2];
}

} // namespace

std::string_view describe(ClockSource source)
{
    switch (source) {
    case ClockSource::hypervisor_cpuid:
        return "hypervisor CPUID leaf";
    case ClockSource::pit:
        return "PIT calibration";
    case ClockSource::assumed:
        return "assumed 1 GHz (no PIT, no timing leaf: time is approximate)";
    }
    return "?";
}

void TscClock::calibrate(u64 origin_tsc)
{
    m_origin_tsc = origin_tsc;
    m_source = ClockSource::hypervisor_cpuid;
    m_frequency_hz = frequency_from_hypervisor();
    if (m_frequency_hz == 0) {
        m_source = ClockSource::pit;
        m_frequency_hz = frequency_from_pit();
    }
    if (m_frequency_hz == 0) {
        m_source = ClockSource::assumed;
        m_frequency_hz = assumed_frequency_hz;
    }
    m_ns_per_tick_q32 = (ns_per_s << 32) / m_frequency_hz;
}

TimeNs TscClock::ticks_to_ns(u64 ticks) const
{
    return static_cast<TimeNs>((static_cast<unsigned __int128>(ticks) * m_ns_per_tick_q32) >> 32);
}

TimeNs TscClock::now()
{
    // The TSC is invariant on the CPUs and VMMs we target; remembering the last
    // value keeps now() monotonic even if a VMM ever steps it back.
    const u64 tsc = rdtsc();
    const TimeNs ns = ticks_to_ns(tsc > m_origin_tsc ? tsc - m_origin_tsc : 0);
    if (ns > m_last_ns)
        m_last_ns = ns;
    return m_last_ns;
}

} // namespace gantry::x86
