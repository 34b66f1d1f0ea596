// Interrupts, used for one thing: waking a halted vCPU. The local APIC's timer
// in one-shot mode ends idle_until()'s wait at the kernel's deadline, and the
// I/O APIC routes the virtio devices' lines to the same do-nothing handler, so
// a frame or a disk completion ends the wait early. Handlers only acknowledge
// the interrupt: all work happens in the kernel's poll, never in the handler.
#pragma once

#include "clock.hpp"

#include <gantry/types.hpp>

namespace gantry::x86 {

class Interrupts {
public:
    // Finds and enables the local APIC (at its default address), masks the
    // legacy PIC, installs the handlers and starts counting the APIC timer.
    // False, with interrupts left off, when there is no usable local APIC:
    // idle then spins.
    bool init();
    // Once the clock is calibrated: the APIC timer's rate from its count since
    // init() against the TSC (at least 0.25 ms; the devices start in between).
    // Nothing may halt before this.
    bool calibrate_timer(const TscClock& clock);
    bool ready() const { return m_present; }

    // Routes I/O APIC input `gsi` (a device's line) to the wake-up handler,
    // edge-triggered, active high. False if there is no I/O APIC or no such pin.
    bool route_device_line(u32 gsi);
    // The GSI of QEMU microvm's virtio-mmio transport `slot` (its fixed
    // layout: from 24 with the second I/O APIC, else from 5).
    u32 microvm_virtio_gsi(u32 slot) const { return (m_ioapic2_pins ? 24 : 5) + slot; }

    // Halts until an interrupt: the timer after `wait_ns` (none when
    // deadline_none) or a routed device line. Interrupts are off again on return.
    void halt_for(TimeNs wait_ns);

private:
    bool m_present = false;
    u64 m_ticks_per_ms = 0; // APIC timer ticks (after its divider) per millisecond
    u64 m_calibration_start_tsc = 0;
    u32 m_ioapic_pins = 0;
    u32 m_ioapic2_pins = 0;
};

} // namespace gantry::x86
