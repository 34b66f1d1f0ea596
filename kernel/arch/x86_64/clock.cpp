#include "clock.hpp"

#include "cpu.hpp"

namespace gantry::x86 {
namespace {

constexpr u64 pit_frequency_hz = 1'193'182;
constexpr u16 pit_channel0 = 0x40;
constexpr u16 pit_command = 0x43;
constexpr u8 pit_channel0_rate_generator = 0x34; // channel 0, lo/hi byte, mode 2
constexpr u8 pit_channel0_latch = 0x00;
constexpr u64 pit_wrap_ticks = 65536; // reload 0: the counter wraps every 55 ms
// The calibration window runs from begin_calibration() to finish_calibration()
// while the rest of the machine set-up proceeds, and lasts at least 1 ms: a PIT
// read costs a few microseconds of jitter under TCG, so the error stays near
// 0.1% (measured: docs/hypervisors.md, "Boot time").
constexpr u64 window_pit_ticks_min = pit_frequency_hz / 1000;
// The window's last 0.25 ms are polled without a gap: that short estimate (about
// 1%) tells how many times the counter wrapped in the long window, which can
// hold anything the host did to us (a vCPU descheduled for 100 ms, say).
constexpr u64 tail_pit_ticks_min = pit_frequency_hz / 4000;
// The short and the long estimate must agree this well (in 1/1000), else the
// window is measured again without gaps.
constexpr u64 agreement_permille = 30;
// Beyond this the short estimate cannot place the wraps (its error times the
// window must stay well under half a wrap): measure again instead.
constexpr u64 window_ns_max = 500'000'000;
// Windows of the fallback (no gaps): the median of three 2 ms windows.
constexpr u64 fallback_pit_ticks = pit_frequency_hz / 500;
constexpr usize fallback_windows = 3;
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

// A vCPU can be descheduled at any instruction; bracketing the counter read with
// two TSC reads bounds the error of each sample to the bracket's width, and the
// narrowest of three brackets leaves out a read that straddled a stall.
PitSample sample_pit()
{
    PitSample best{};
    u64 best_width = ~u64{0};
    for (int attempt = 0; attempt < 3; ++attempt) {
        const u64 before = rdtsc();
        const u16 counter = read_pit_counter();
        const u64 after = rdtsc();
        if (after - before < best_width) {
            best_width = after - before;
            best = {counter, before + (after - before) / 2};
        }
    }
    return best;
}

// Polls the PIT from `first` until at least `ticks` have passed (and the
// counter has moved at least `also_after_total` ticks since `window_start`,
// wraps not counted); the last sample, with the ticks counted since `first` in
// `elapsed`. False if the counter does not move (no PIT).
bool poll_pit(const PitSample& first, u64 ticks, const PitSample& window_start,
              u64 also_after_total, PitSample& last, u64& elapsed)
{
    const u64 before_first = static_cast<u16>(window_start.counter - first.counter);
    u16 previous = first.counter;
    elapsed = 0;
    for (u32 poll = 0; poll < calibration_polls_max; ++poll) {
        last = sample_pit();
        // The counter counts down; u16 arithmetic handles the wrap.
        elapsed += static_cast<u16>(previous - last.counter);
        previous = last.counter;
        if (elapsed >= ticks && before_first + elapsed >= also_after_total)
            return true;
    }
    return false;
}

u64 ticks_per_second(u64 tsc_ticks, u64 pit_ticks)
{
    return pit_ticks == 0 ? 0
                          : static_cast<u64>(static_cast<unsigned __int128>(tsc_ticks) *
                                             pit_frequency_hz / pit_ticks);
}

// The old way, with no gaps in any window: the median of a few windows, so one
// that lost a counter wrap or straddled a long stall is outvoted.
u64 frequency_from_gapless_windows()
{
    u64 windows[fallback_windows];
    for (u64& window : windows) {
        const PitSample first = sample_pit();
        PitSample last;
        u64 elapsed = 0;
        window = poll_pit(first, fallback_pit_ticks, first, 0, last, elapsed)
                     ? ticks_per_second(last.tsc - first.tsc, elapsed)
                     : 0;
    }
    for (usize i = 1; i < fallback_windows; ++i)
        for (usize j = i; j > 0 && windows[j - 1] > windows[j]; --j) {
            const u64 swap = windows[j];
            windows[j] = windows[j - 1];
            windows[j - 1] = swap;
        }
    return windows[fallback_windows / 2];
}

u64 permille_apart(u64 a, u64 b)
{
    const u64 difference = a > b ? a - b : b - a;
    return static_cast<u64>(static_cast<unsigned __int128>(difference) * 1000 / b);
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

void TscClock::begin_calibration(u64 origin_tsc)
{
    m_origin_tsc = origin_tsc;
    m_source = ClockSource::hypervisor_cpuid;
    m_frequency_hz = frequency_from_hypervisor();
    if (m_frequency_hz != 0)
        return set_frequency(m_frequency_hz);
    m_source = ClockSource::pit;
    outb(pit_command, pit_channel0_rate_generator);
    outb(pit_channel0, 0x00); // reload 65536: the counter wraps every 55 ms
    outb(pit_channel0, 0x00);
    (void)sample_pit(); // the first read also pays for translating this code under TCG
    m_window_start = sample_pit();
}

void TscClock::finish_calibration()
{
    if (m_source != ClockSource::pit)
        return;
    m_frequency_hz = frequency_from_window();
    if (m_frequency_hz == 0)
        m_frequency_hz = frequency_from_gapless_windows();
    if (m_frequency_hz == 0) {
        m_source = ClockSource::assumed;
        m_frequency_hz = assumed_frequency_hz;
    }
    set_frequency(m_frequency_hz);
}

u64 TscClock::frequency_from_window()
{
    const PitSample tail_start = sample_pit();
    PitSample end;
    u64 tail_ticks = 0;
    if (!poll_pit(tail_start, tail_pit_ticks_min, m_window_start, window_pit_ticks_min, end,
                  tail_ticks))
        return 0;
    const u64 tail_hz = ticks_per_second(end.tsc - tail_start.tsc, tail_ticks);
    if (tail_hz == 0)
        return 0;
    // The window's length by the short estimate places its PIT ticks within
    // the counter's wraps; the counter gives the ticks past the last wrap.
    const u64 window_tsc = end.tsc - m_window_start.tsc;
    const u64 window_ns =
        static_cast<u64>(static_cast<unsigned __int128>(window_tsc) * ns_per_s / tail_hz);
    if (window_ns > window_ns_max)
        return 0;
    const u64 estimated_pit_ticks = window_ns * pit_frequency_hz / ns_per_s;
    const u64 past_last_wrap = static_cast<u16>(m_window_start.counter - end.counter);
    // The number of wraps that brings the count nearest to the estimate.
    const u64 rounded = estimated_pit_ticks + pit_wrap_ticks / 2;
    const u64 wraps = rounded > past_last_wrap ? (rounded - past_last_wrap) / pit_wrap_ticks : 0;
    const u64 window_hz = ticks_per_second(window_tsc, past_last_wrap + wraps * pit_wrap_ticks);
    if (window_hz == 0 || permille_apart(window_hz, tail_hz) > agreement_permille)
        return 0;
    return window_hz;
}

void TscClock::set_frequency(u64 hz)
{
    m_frequency_hz = hz;
    m_ns_per_tick_q32 = (ns_per_s << 32) / hz;
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
