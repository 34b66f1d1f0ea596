#include "devices.hpp"

#include "serial.hpp"
#include "traps.hpp"

#include <new>

namespace gantry::x86 {
namespace {

// QEMU's microvm machine: 24 virtio-mmio transports of 512 bytes from here.
constexpr u64 microvm_mmio_base = 0xfeb00000;
constexpr usize microvm_mmio_count = 24;
// Rings and buffers: a NIC needs about 400 KiB (two rings of 128 frame
// buffers), a disk a few KiB; objects live here too.
constexpr u64 dma_bytes = 1024 * 1024;
constexpr usize found_max = 8;

void report(std::string_view what, u64 address, std::string_view why)
{
    serial_write("gantry: virtio ");
    serial_write(what);
    serial_write(" at 0x");
    serial_write_hex(address, 8);
    serial_write(": ");
    serial_write(why);
    serial_write("\n");
}

// Takes `bytes` from the end of the largest region.
u8* carve(BootMemory& memory, u64 bytes)
{
    MemoryRegion* largest = nullptr;
    for (usize i = 0; i < memory.region_count; ++i)
        if (!largest || memory.regions[i].bytes > largest->bytes)
            largest = &memory.regions[i];
    if (!largest || largest->bytes < 4 * bytes)
        return nullptr;
    largest->bytes -= bytes;
    memory.ram_bytes -= bytes;
    return largest->base + largest->bytes;
}

} // namespace

usize Devices::find(const BootArgs& args, const Interrupts& interrupts, Found* out, usize max)
{
    usize count = 0;
    auto probe = [&](u64 address, u32 irq) {
        MmioWindow window(address);
        if (window.read32(virtio::reg::magic) != virtio::mmio_magic)
            return;
        const u32 id = window.read32(virtio::reg::device_id);
        if (id == 0 || count == max)
            return;
        out[count++] = Found{address, static_cast<virtio::DeviceType>(id), irq, false, {}};
    };
    for (usize i = 0; i < args.mmio_device_count; ++i)
        probe(args.mmio_devices[i].address, args.mmio_devices[i].irq);
    if (args.mmio_device_count == 0) {
        for (usize i = 0; i < microvm_mmio_count; ++i)
            probe(microvm_mmio_base + i * virtio::mmio_window_bytes,
                  interrupts.microvm_virtio_gsi(static_cast<u32>(i)));
    }
    // Highest address first: QEMU fills microvm's transports from the top
    // down, so this is the order of the -device options (disk 0 = the first).
    for (usize i = 0; i < count; ++i)
        for (usize j = i + 1; j < count; ++j)
            if (out[j].address > out[i].address) {
                Found swap = out[i];
                out[i] = out[j];
                out[j] = swap;
            }
    // PCI devices come in slot order, which is also the -device order.
    PciVirtioDevice pci[found_max];
    const usize pci_count =
        find_pci_virtio(pci, max - count, interrupts.ready() ? vector_wakeup : 0);
    for (usize i = 0; i < pci_count; ++i)
        out[count++] = Found{pci[i].common, pci[i].type, irq_none, true, pci[i]};
    return count;
}

template<typename T>
T* Devices::place()
{
    void* memory = m_arena.allocate(sizeof(T), alignof(T));
    return memory ? static_cast<T*>(memory) : nullptr;
}

void Devices::start_one(const Found& found, Interrupts& interrupts)
{
    // Without a routed line the device cannot wake a halted vCPU: idle spins.
    const bool routed = found.pci ? found.pci_device.msix
                                  : found.irq != irq_none && interrupts.route_device_line(found.irq);
    virtio::Registers* window = nullptr;
    if (found.pci) {
        if (auto* pci = place<PciVirtioRegisters>())
            window = new (pci) PciVirtioRegisters(found.pci_device);
    } else if (auto* mmio = place<MmioWindow>()) {
        window = new (mmio) MmioWindow(found.address);
    }
    if (!window)
        return report("device", found.address, "out of DMA memory");
    if (found.type == virtio::DeviceType::net) {
        if (m_nic)
            return report("net", found.address, "only one NIC is supported; ignored");
        auto* nic = place<virtio::VirtioNet>();
        if (!nic)
            return report("net", found.address, "out of DMA memory");
        new (nic) virtio::VirtioNet(*window);
        if (auto started = nic->start(m_arena); !started.ok())
            return report("net", found.address, virtio::to_string(started.error()));
        m_nic = nic;
        if (routed)
            nic->enable_interrupts();
        m_all_routed &= routed;
    } else if (found.type == virtio::DeviceType::block) {
        if (m_disk_count == disks_max)
            return report("blk", found.address, "at most 4 disks; ignored");
        auto* disk = place<virtio::VirtioBlk>();
        if (!disk)
            return report("blk", found.address, "out of DMA memory");
        new (disk) virtio::VirtioBlk(*window);
        if (auto started = disk->start(m_arena); !started.ok())
            return report("blk", found.address, virtio::to_string(started.error()));
        m_disks[m_disk_count++] = disk;
        if (routed)
            disk->enable_interrupts();
        m_all_routed &= routed;
    } else {
        report("device", found.address, "not a net or block device; ignored");
    }
}

void Devices::start(const BootArgs& args, BootMemory& memory, Interrupts& interrupts)
{
    Found found[found_max];
    const usize count = find(args, interrupts, found, found_max);
    if (count == 0)
        return;
    u8* dma = carve(memory, dma_bytes);
    if (!dma) {
        report("devices", found[0].address, "not enough RAM for their buffers; none started");
        return;
    }
    m_arena = virtio::DmaArena(dma, dma_bytes);
    for (usize i = 0; i < count; ++i)
        start_one(found[i], interrupts);
}

void Devices::ack_interrupts()
{
    if (m_nic)
        m_nic->ack_interrupts();
    for (usize i = 0; i < m_disk_count; ++i)
        m_disks[i]->ack_interrupts();
}

bool Devices::has_work()
{
    if (m_nic && m_nic->has_received())
        return true;
    for (usize i = 0; i < m_disk_count; ++i)
        if (m_disks[i]->has_completions())
            return true;
    return false;
}

} // namespace gantry::x86
