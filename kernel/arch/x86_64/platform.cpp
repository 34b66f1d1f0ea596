#include "platform.hpp"

#include "cpu.hpp"
#include "serial.hpp"

#include <gantry/assert.hpp>

namespace gantry::x86 {
namespace {

constexpr u32 cpuid_rdrand = 1u << 30; // leaf 1, ecx
constexpr u32 rdrand_retries_max = 10; // Intel's recommendation for transient failure

// splitmix64: a good mixer, not a cryptographic generator.
u64 splitmix64(u64& state)
{
    u64 z = (state += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
}

} // namespace

BareMetalPlatform::BareMetalPlatform(TscClock& clock, const BootMemory& memory,
                                     Devices& devices, Interrupts& interrupts)
    : m_clock(clock), m_memory(memory), m_devices(devices), m_interrupts(interrupts)
{
    m_has_rdrand = (cpuid(1).ecx & cpuid_rdrand) != 0;
    m_fallback_state = rdtsc();
}

void BareMetalPlatform::idle_until(TimeNs deadline)
{
    if (deadline == deadline_none && !m_devices.any())
        GANTRY_PANIC("idle with no deadline and no device that could wake the kernel");
    const bool may_halt = m_interrupts.ready() && m_devices.all_interrupt_driven();
    for (;;) {
        const TimeNs now = m_clock.now();
        if (now >= deadline)
            return;
        // Acknowledge first, then look: work that lands after the look raises a
        // fresh edge, which stays pending and ends the hlt at once.
        m_devices.ack_interrupts();
        if (m_devices.has_work())
            return;
        if (may_halt)
            m_interrupts.halt_for(deadline == deadline_none ? deadline_none : deadline - now);
        else
            pause();
    }
}

void BareMetalPlatform::console_write(std::string_view text) { serial_write(text); }

bool BareMetalPlatform::enable_trace_port()
{
    m_trace_port = trace_port_init();
    return m_trace_port;
}

void BareMetalPlatform::trace_sink_write(Bytes bytes)
{
    if (m_trace_port)
        trace_port_write(bytes);
}

std::span<const MemoryRegion> BareMetalPlatform::memory_regions()
{
    return {m_memory.regions, m_memory.region_count};
}

u64 BareMetalPlatform::next_entropy_word()
{
    if (m_has_rdrand) {
        u64 value = 0;
        for (u32 attempt = 0; attempt < rdrand_retries_max; ++attempt)
            if (rdrand64(value))
                return value;
    }
    // WEAK fallback (no RDRAND, e.g. QEMU TCG's default CPU): the TSC's low bits
    // jitter a little between boots, and mixing makes the output look random, but
    // an attacker who can guess the boot timing can guess these bytes. Fine for
    // hash seeds and ephemeral ports, not for keys (RFC 6528 ISNs want better).
    m_fallback_state ^= rdtsc();
    return splitmix64(m_fallback_state);
}

void BareMetalPlatform::fill_entropy(MutableBytes out)
{
    usize filled = 0;
    while (filled < out.size()) {
        u64 word = next_entropy_word();
        for (usize i = 0; i < 8 && filled < out.size(); ++i, ++filled) {
            out[filled] = static_cast<u8>(word);
            word >>= 8;
        }
    }
}

} // namespace gantry::x86
