#include "apic.hpp"

#include "cpu.hpp"
#include "traps.hpp"

namespace gantry::x86 {
namespace {

// The architectural default addresses; the image checks the APIC base MSR and
// uses interrupts only when the local APIC is there.
constexpr u64 lapic_base = 0xfee00000;
constexpr u64 ioapic_base = 0xfec00000;
// QEMU microvm's second I/O APIC (ioapic2=on, its default with 24 virtio-mmio
// transports) serves GSIs 24..47.
constexpr u64 ioapic2_base = 0xfec10000;
constexpr u32 ioapic2_first_gsi = 24;
constexpr u32 msr_apic_base = 0x1b;
constexpr u64 apic_base_enable = 1u << 11;

constexpr u32 lapic_eoi = 0xb0;
constexpr u32 lapic_spurious = 0xf0;
constexpr u32 lapic_lvt_timer = 0x320;
constexpr u32 lapic_timer_initial = 0x380;
constexpr u32 lapic_timer_current = 0x390;
constexpr u32 lapic_timer_divide = 0x3e0;
constexpr u32 lvt_masked = 1u << 16;
constexpr u32 divide_by_16 = 0x3;

constexpr u32 ioapic_select = 0x00;
constexpr u32 ioapic_window = 0x10;
constexpr u32 ioapic_version = 0x01;
constexpr u32 ioapic_redirection = 0x10;

// At least ~15,000 ticks at QEMU's 62.5 MHz: 0.01%.
constexpr TimeNs calibration_ns_min = 250'000;

u32 lapic_read(u32 offset) { return *reinterpret_cast<volatile u32*>(lapic_base + offset); }
void lapic_write(u32 offset, u32 value)
{
    *reinterpret_cast<volatile u32*>(lapic_base + offset) = value;
}

u32 ioapic_read(u64 base, u32 index)
{
    *reinterpret_cast<volatile u32*>(base + ioapic_select) = index;
    return *reinterpret_cast<volatile u32*>(base + ioapic_window);
}
void ioapic_write(u64 base, u32 index, u32 value)
{
    *reinterpret_cast<volatile u32*>(base + ioapic_select) = index;
    *reinterpret_cast<volatile u32*>(base + ioapic_window) = value;
}

// Pins of the I/O APIC at `base`, 0 when there is none (unbacked MMIO reads
// as all ones, or zero on some VMMs).
u32 ioapic_pins(u64 base)
{
    const u32 version = ioapic_read(base, ioapic_version);
    if (version == 0xffffffff || version == 0)
        return 0;
    return ((version >> 16) & 0xff) + 1;
}

u64 read_msr(u32 msr)
{
    u32 low, high;
    asm volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
    return (u64{high} << 32) | low;
}

void mask_legacy_pic()
{
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
}

} // namespace

bool Interrupts::init()
{
    constexpr u32 cpuid_apic = 1u << 9; // leaf 1, edx
    if (!(cpuid(1).edx & cpuid_apic))
        return false;
    const u64 base = read_msr(msr_apic_base);
    if (!(base & apic_base_enable) || (base & ~u64{0xfff}) != lapic_base)
        return false;
    mask_legacy_pic();
    install_wakeup_vectors();
    lapic_write(lapic_spurious, 0x100 | vector_spurious); // software-enable
    lapic_write(lapic_timer_divide, divide_by_16);
    // The timer counts down, masked, from here to calibrate_timer(): the
    // devices start meanwhile instead of the boot waiting for it.
    lapic_write(lapic_lvt_timer, lvt_masked | vector_wakeup);
    lapic_write(lapic_timer_initial, 0xffffffff);
    m_calibration_start_tsc = rdtsc();
    m_ioapic_pins = ioapic_pins(ioapic_base);
    m_ioapic2_pins = ioapic_pins(ioapic2_base);
    m_present = true;
    return true;
}

bool Interrupts::calibrate_timer(const TscClock& clock)
{
    if (!m_present)
        return false;
    while (clock.ticks_to_ns(rdtsc() - m_calibration_start_tsc) < calibration_ns_min)
        pause();
    const u32 elapsed_ticks = 0xffffffff - lapic_read(lapic_timer_current);
    const TimeNs elapsed_ns = clock.ticks_to_ns(rdtsc() - m_calibration_start_tsc);
    lapic_write(lapic_timer_initial, 0);
    m_ticks_per_ms = static_cast<u64>(elapsed_ticks) * 1'000'000 / elapsed_ns;
    lapic_write(lapic_lvt_timer, vector_wakeup); // one-shot, unmasked
    if (m_ticks_per_ms == 0)
        m_present = false;
    return m_present;
}

bool Interrupts::route_device_line(u32 gsi)
{
    if (!ready())
        return false;
    u64 base = ioapic_base;
    u32 pin = gsi;
    if (gsi >= ioapic2_first_gsi && gsi - ioapic2_first_gsi < m_ioapic2_pins) {
        base = ioapic2_base;
        pin = gsi - ioapic2_first_gsi;
    } else if (gsi >= m_ioapic_pins) {
        return false;
    }
    // Edge-triggered, active high, fixed delivery to APIC 0: the driver
    // acknowledges the device before it checks its rings, so an edge after the
    // check is never missed (it stays pending while interrupts are off).
    ioapic_write(base, ioapic_redirection + 2 * pin + 1, 0);
    ioapic_write(base, ioapic_redirection + 2 * pin, vector_wakeup);
    return true;
}

void Interrupts::halt_for(TimeNs wait_ns)
{
    if (wait_ns != deadline_none) {
        // Long waits are cut to 10 s: idle re-arms, and the arithmetic stays small.
        const u64 wait_us = (wait_ns < 10 * ns_per_s ? wait_ns : 10 * ns_per_s) / 1000;
        u64 ticks = wait_us * m_ticks_per_ms / 1000;
        ticks = ticks == 0 ? 1 : ticks > 0xffffffff ? 0xffffffff : ticks;
        lapic_write(lapic_timer_initial, static_cast<u32>(ticks));
    }
    // sti takes effect after the next instruction, so an interrupt already
    // pending wakes the hlt rather than slipping in before it.
    asm volatile("sti; hlt; cli" : : : "memory");
    lapic_write(lapic_timer_initial, 0);
}

} // namespace gantry::x86
