#include "pci.hpp"

#include "cpu.hpp"
#include "serial.hpp"

namespace gantry::x86 {
namespace {

constexpr u16 config_address = 0xcf8;
constexpr u16 config_data = 0xcfc;
constexpr u16 vendor_virtio = 0x1af4;
constexpr u16 device_modern_base = 0x1040;     // 0x1040 + device type
constexpr u16 device_transitional_net = 0x1000;
constexpr u16 device_transitional_block = 0x1001;
constexpr u8 capability_vendor = 0x09;
constexpr u8 capability_msix = 0x11;
constexpr u64 lapic_message_address = 0xfee00000; // destination APIC 0, physical
constexpr u8 cfg_common = 1, cfg_notify = 2, cfg_isr = 3, cfg_device = 4;
constexpr u64 mapped_end = 4ull * 1024 * 1024 * 1024;

void select(u8 bus, u8 slot, u8 function, u8 offset)
{
    outl(config_address, 0x80000000u | (u32{bus} << 16) | (u32{slot} << 11) |
                             (u32{function} << 8) | (offset & 0xfc));
}

u32 config_read32(u8 bus, u8 slot, u8 function, u8 offset)
{
    select(bus, slot, function, offset);
    return inl(config_data);
}

void config_write32(u8 bus, u8 slot, u8 function, u8 offset, u32 value)
{
    select(bus, slot, function, offset);
    outl(config_data, value);
}

u8 config_read8(u8 bus, u8 slot, u8 function, u8 offset)
{
    return static_cast<u8>(config_read32(bus, slot, function, offset) >> (8 * (offset & 3)));
}

// The memory address a BAR decodes (0 when unassigned or an I/O BAR).
u64 bar_address(u8 bus, u8 slot, u8 function, u8 bar)
{
    if (bar > 5)
        return 0;
    const u32 low = config_read32(bus, slot, function, static_cast<u8>(0x10 + 4 * bar));
    if (low & 1)
        return 0; // I/O space
    u64 address = low & ~u32{0xf};
    if (((low >> 1) & 3) == 2 && bar < 5)
        address |= u64{config_read32(bus, slot, function, static_cast<u8>(0x14 + 4 * bar))} << 32;
    return address;
}

virtio::DeviceType type_of(u16 device_id, u16 subsystem_id)
{
    if (device_id >= device_modern_base && device_id < device_modern_base + 0x40)
        return static_cast<virtio::DeviceType>(device_id - device_modern_base);
    if (device_id == device_transitional_net || device_id == device_transitional_block)
        return static_cast<virtio::DeviceType>(subsystem_id);
    return virtio::DeviceType::none;
}

void report(u8 slot, std::string_view why)
{
    serial_write("gantry: virtio-pci in slot ");
    serial_write_decimal(slot);
    serial_write(": ");
    serial_write(why);
    serial_write("\n");
}

// Offset of the next capability with `id` after `after` (0: from the start),
// or 0. The walk is bounded: a looping list cannot hang the boot.
u8 find_capability(const PciVirtioDevice& device, u8 id, u8 after = 0)
{
    const u8 bus = device.bus, slot = device.slot, function = device.function;
    constexpr u32 status_capabilities = 1u << 20; // command/status dword, status bit 4
    if (!(config_read32(bus, slot, function, 0x04) & status_capabilities))
        return 0;
    u8 pointer = after ? config_read8(bus, slot, function, static_cast<u8>(after + 1)) & 0xfc
                       : config_read8(bus, slot, function, 0x34) & 0xfc;
    for (int guard = 0; pointer != 0 && guard < 48; ++guard) {
        if (config_read8(bus, slot, function, pointer) == id)
            return pointer;
        pointer = config_read8(bus, slot, function, static_cast<u8>(pointer + 1)) & 0xfc;
    }
    return 0;
}

// Reads the virtio capabilities; false if a window is missing or unreachable.
bool read_capabilities(PciVirtioDevice& device)
{
    const u8 bus = device.bus, slot = device.slot, function = device.function;
    u8 pointer = find_capability(device, capability_vendor);
    for (int guard = 0; pointer != 0 && guard < 48; ++guard) {
        const u8 kind = config_read8(bus, slot, function, static_cast<u8>(pointer + 3));
        const u8 bar = config_read8(bus, slot, function, static_cast<u8>(pointer + 4));
        const u32 offset = config_read32(bus, slot, function, static_cast<u8>(pointer + 8));
        const u64 base = bar_address(bus, slot, function, bar);
        const u64 address = base ? base + offset : 0;
        if (kind == cfg_common && !device.common) {
            device.common = address;
        } else if (kind == cfg_notify && !device.notify) {
            device.notify = address;
            device.notify_multiplier =
                config_read32(bus, slot, function, static_cast<u8>(pointer + 16));
        } else if (kind == cfg_isr && !device.isr) {
            device.isr = address;
        } else if (kind == cfg_device && !device.device) {
            device.device = address;
        }
        pointer = find_capability(device, capability_vendor, pointer);
    }
    for (u64 address : {device.common, device.notify, device.isr, device.device})
        if (address == 0 || address >= mapped_end)
            return false;
    return true;
}

// Points MSI-X table entry 0 at the local APIC with `vector` and enables
// MSI-X; false if the device has no MSI-X or its table is out of reach.
bool enable_msix(const PciVirtioDevice& device, u8 vector)
{
    const u8 bus = device.bus, slot = device.slot, function = device.function;
    const u8 pointer = find_capability(device, capability_msix);
    if (pointer == 0)
        return false;
    const u32 table = config_read32(bus, slot, function, static_cast<u8>(pointer + 4));
    const u64 base = bar_address(bus, slot, function, static_cast<u8>(table & 7));
    if (base == 0 || base >= mapped_end)
        return false;
    const u64 entry = base + (table & ~u32{7});
    *reinterpret_cast<volatile u32*>(entry + 0) = static_cast<u32>(lapic_message_address);
    *reinterpret_cast<volatile u32*>(entry + 4) = 0;
    *reinterpret_cast<volatile u32*>(entry + 8) = vector;
    *reinterpret_cast<volatile u32*>(entry + 12) = 0; // unmasked
    // Message control is the upper half of the capability's first dword: set
    // Enable (bit 15), clear Function Mask (bit 14).
    const u32 header = config_read32(bus, slot, function, pointer);
    const u32 control = ((header >> 16) | 0x8000) & ~u32{0x4000};
    config_write32(bus, slot, function, pointer, (header & 0xffff) | (control << 16));
    return true;
}

} // namespace

usize find_pci_virtio(PciVirtioDevice* out, usize max, u8 wakeup_vector)
{
    usize count = 0;
    for (u8 slot = 0; slot < 32 && count < max; ++slot) {
        const u32 ids = config_read32(0, slot, 0, 0x00);
        if ((ids & 0xffff) != vendor_virtio)
            continue;
        const u16 subsystem = static_cast<u16>(config_read32(0, slot, 0, 0x2c) >> 16);
        PciVirtioDevice device{};
        device.slot = slot;
        device.type = type_of(static_cast<u16>(ids >> 16), subsystem);
        if (device.type == virtio::DeviceType::none)
            continue;
        if (!read_capabilities(device)) {
            report(slot, "no reachable virtio 1.x capabilities (legacy-only, or above 4 GiB)");
            continue;
        }
        // Memory decoding and bus mastering (the device reads our rings).
        const u32 command = config_read32(0, slot, 0, 0x04);
        config_write32(0, slot, 0, 0x04, (command & 0xffff) | 0x6);
        device.msix = wakeup_vector != 0 && enable_msix(device, wakeup_vector);
        out[count++] = device;
    }
    return count;
}

namespace {

template<typename T>
T mmio_read(u64 address)
{
    return *reinterpret_cast<volatile T*>(address);
}

template<typename T>
void mmio_write(u64 address, T value)
{
    *reinterpret_cast<volatile T*>(address) = value;
}

// virtio_pci_common_cfg offsets.
constexpr u32 common_device_feature_select = 0x00;
constexpr u32 common_device_feature = 0x04;
constexpr u32 common_driver_feature_select = 0x08;
constexpr u32 common_driver_feature = 0x0c;
constexpr u32 common_msix_config = 0x10;
constexpr u32 common_device_status = 0x14;
constexpr u32 common_config_generation = 0x15;
constexpr u32 common_queue_select = 0x16;
constexpr u32 common_queue_size = 0x18;
constexpr u32 common_queue_msix_vector = 0x1a;
constexpr u32 common_queue_enable = 0x1c;
constexpr u32 common_queue_notify_off = 0x1e;
constexpr u32 common_queue_desc = 0x20;
constexpr u32 common_queue_driver = 0x28;
constexpr u32 common_queue_device = 0x30;

} // namespace

u32 PciVirtioRegisters::read32(u32 offset)
{
    const u64 common = m_device.common;
    switch (offset) {
    case virtio::reg::magic: return virtio::mmio_magic;
    case virtio::reg::version: return virtio::mmio_version_modern;
    case virtio::reg::device_id: return static_cast<u32>(m_device.type);
    case virtio::reg::vendor_id: return vendor_virtio;
    case virtio::reg::device_features: return mmio_read<u32>(common + common_device_feature);
    case virtio::reg::queue_size_max: return mmio_read<u16>(common + common_queue_size);
    case virtio::reg::queue_ready: return mmio_read<u16>(common + common_queue_enable);
    // Reading the ISR clears it (and lowers the line): the ack is then a no-op.
    case virtio::reg::interrupt_status: return mmio_read<u8>(m_device.isr);
    case virtio::reg::status: return mmio_read<u8>(common + common_device_status);
    case virtio::reg::config_generation: return mmio_read<u8>(common + common_config_generation);
    default: return 0;
    }
}

void PciVirtioRegisters::write32(u32 offset, u32 value)
{
    const u64 common = m_device.common;
    switch (offset) {
    case virtio::reg::device_features_select:
        return mmio_write<u32>(common + common_device_feature_select, value);
    case virtio::reg::driver_features_select:
        return mmio_write<u32>(common + common_driver_feature_select, value);
    case virtio::reg::driver_features: return mmio_write<u32>(common + common_driver_feature, value);
    case virtio::reg::queue_select:
        m_queue = static_cast<u16>(value);
        return mmio_write<u16>(common + common_queue_select, m_queue);
    case virtio::reg::queue_size: return mmio_write<u16>(common + common_queue_size, static_cast<u16>(value));
    case virtio::reg::queue_ready:
        if (value == 1 && m_queue < queues_max)
            m_notify_offset[m_queue] = mmio_read<u16>(common + common_queue_notify_off);
        // Every queue signals through MSI-X entry 0; configuration changes do not.
        if (value == 1 && m_device.msix) {
            mmio_write<u16>(common + common_msix_config, 0xffff);
            mmio_write<u16>(common + common_queue_msix_vector, 0);
        }
        return mmio_write<u16>(common + common_queue_enable, static_cast<u16>(value));
    case virtio::reg::queue_notify:
        if (value < queues_max)
            mmio_write<u16>(m_device.notify + u64{m_notify_offset[value]} * m_device.notify_multiplier,
                            static_cast<u16>(value));
        return;
    case virtio::reg::status: return mmio_write<u8>(common + common_device_status, static_cast<u8>(value));
    case virtio::reg::queue_desc_low: return mmio_write<u32>(common + common_queue_desc, value);
    case virtio::reg::queue_desc_high: return mmio_write<u32>(common + common_queue_desc + 4, value);
    case virtio::reg::queue_driver_low: return mmio_write<u32>(common + common_queue_driver, value);
    case virtio::reg::queue_driver_high: return mmio_write<u32>(common + common_queue_driver + 4, value);
    case virtio::reg::queue_device_low: return mmio_write<u32>(common + common_queue_device, value);
    case virtio::reg::queue_device_high: return mmio_write<u32>(common + common_queue_device + 4, value);
    default: return; // interrupt_ack: reading the ISR already acknowledged
    }
}

u8 PciVirtioRegisters::read8(u32 offset)
{
    if (offset >= virtio::reg::config)
        return mmio_read<u8>(m_device.device + (offset - virtio::reg::config));
    return static_cast<u8>(read32(offset & ~u32{3}) >> (8 * (offset & 3)));
}

} // namespace gantry::x86
