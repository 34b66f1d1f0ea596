// gantry::Platform on bare metal (x86-64, PVH). One instance, created by the boot
// entry (main.cpp) on the boot stack, living until the VM powers off.
//
// idle_until() halts the vCPU until the local APIC timer reaches the kernel's
// deadline or a device's interrupt line fires (apic.hpp); it spins with `pause`
// instead when there is no usable APIC or a device without a routed line. An
// idle kernel with no deadline and no device panics: nothing could wake it.
#pragma once

#include "clock.hpp"
#include "devices.hpp"
#include "pvh.hpp"

#include <gantry/platform.hpp>

namespace gantry::x86 {

class BareMetalPlatform final : public Platform {
public:
    BareMetalPlatform(TscClock& clock, const BootMemory& memory, Devices& devices,
                      Interrupts& interrupts);

    TimeNs now() override { return m_clock.now(); }
    void idle_until(TimeNs deadline) override;
    void console_write(std::string_view text) override;
    void fill_entropy(MutableBytes out) override;
    std::span<const MemoryRegion> memory_regions() override;
    bool trace_sink_enabled() override { return m_trace_port; }
    void trace_sink_write(Bytes bytes) override;
    // Sends the trace to COM2 when it exists; false when the VM has none.
    bool enable_trace_port();
    Nic* nic(usize index) override { return index == 0 ? m_devices.nic() : nullptr; }
    BlockDevice* block_device(usize index) override { return m_devices.disk(index); }

    bool has_rdrand() const { return m_has_rdrand; }

private:
    u64 next_entropy_word();

    TscClock& m_clock;
    const BootMemory& m_memory;
    Devices& m_devices;
    Interrupts& m_interrupts;
    bool m_has_rdrand = false;
    bool m_trace_port = false;
    u64 m_fallback_state = 0;
};

} // namespace gantry::x86
