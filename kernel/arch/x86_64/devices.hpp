// The image's devices: virtio-mmio windows found from the command line (or, on
// QEMU microvm without one, by probing its fixed window), or virtio-pci devices
// on bus 0 (QEMU pc and q35), each driven by the same virtio drivers the hosted
// and simulated platforms test against models.
#pragma once

#include "apic.hpp"
#include "cmdline.hpp"
#include "pci.hpp"
#include "pvh.hpp"

#include <gantry/virtio/blk.hpp>
#include <gantry/virtio/net.hpp>

namespace gantry::x86 {

// One device's registers as uncached MMIO.
class MmioWindow final : public virtio::Registers {
public:
    explicit MmioWindow(u64 address) : m_base(reinterpret_cast<volatile u8*>(address)) {}
    u32 read32(u32 offset) override { return *reinterpret_cast<volatile u32*>(m_base + offset); }
    void write32(u32 offset, u32 value) override
    {
        *reinterpret_cast<volatile u32*>(m_base + offset) = value;
    }
    u8 read8(u32 offset) override { return m_base[offset]; }

private:
    volatile u8* m_base;
};

class Devices {
public:
    static constexpr usize disks_max = 4;

    // Finds and starts the devices; their rings and buffers are carved from
    // the top of `memory`'s largest region, before the kernel gets the rest.
    // Problems are printed on the console and leave the device out.
    // Devices whose interrupt line the command line names are routed to
    // `interrupts` (when ready) so a halted vCPU wakes on their work.
    void start(const BootArgs& args, BootMemory& memory, Interrupts& interrupts);

    Nic* nic() { return m_nic; }
    BlockDevice* disk(usize index) { return index < m_disk_count ? m_disks[index] : nullptr; }
    usize disk_count() const { return m_disk_count; }
    bool any() const { return m_nic != nullptr || m_disk_count > 0; }
    // A frame arrived or a disk request completed.
    bool has_work();
    // Every device can wake a halted vCPU (so idle may halt).
    bool all_interrupt_driven() const { return m_all_routed; }
    void ack_interrupts();

private:
    struct Found {
        u64 address; // the MMIO window, or the common configuration of a PCI device
        virtio::DeviceType type;
        u32 irq;
        bool pci;
        PciVirtioDevice pci_device;
    };

    usize find(const BootArgs& args, const Interrupts& interrupts, Found* out, usize max);
    void start_one(const Found& found, Interrupts& interrupts);
    template<typename T>
    T* place();

    virtio::DmaArena m_arena;
    virtio::VirtioNet* m_nic = nullptr;
    virtio::VirtioBlk* m_disks[disks_max] = {};
    usize m_disk_count = 0;
    bool m_all_routed = true;
};

} // namespace gantry::x86
