// PCI: configuration space through I/O ports 0xcf8/0xcfc, a scan of bus 0 for
// virtio devices, and a virtio::Registers adapter that maps the virtio-mmio
// register set the drivers speak onto a modern virtio-pci device's
// capabilities (common, notify, ISR and device configuration, virtio 1.x
// section 4.1.4). The same drivers thus run on QEMU's pc and q35 machines.
// Interrupts come by MSI-X, straight to the local APIC's wake-up vector: no
// I/O APIC routing, and edge semantics, as idle's halt needs (apic.hpp).
#pragma once

#include <gantry/virtio/mmio.hpp>

namespace gantry::x86 {

struct PciVirtioDevice {
    u8 bus, slot, function;
    virtio::DeviceType type;
    u64 common, notify, isr, device; // addresses of the capability windows
    u32 notify_multiplier;
    bool msix; // MSI-X entry 0 sends the wake-up vector; queues use it
};

// Finds modern-capable virtio devices on bus 0, in slot order (the order of
// QEMU's -device options), and enables their memory decoding and bus
// mastering. Devices whose windows are not below 4 GiB are reported and skipped.
// With `wakeup_vector` non-zero, MSI-X is enabled on devices that have it.
usize find_pci_virtio(PciVirtioDevice* out, usize max, u8 wakeup_vector);

class PciVirtioRegisters final : public virtio::Registers {
public:
    explicit PciVirtioRegisters(const PciVirtioDevice& device) : m_device(device) {}
    u32 read32(u32 offset) override;
    void write32(u32 offset, u32 value) override;
    u8 read8(u32 offset) override;

private:
    static constexpr usize queues_max = 8;

    PciVirtioDevice m_device;
    u16 m_queue = 0;
    u16 m_notify_offset[queues_max] = {};
};

} // namespace gantry::x86
