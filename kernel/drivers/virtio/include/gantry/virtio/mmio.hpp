// The virtio-mmio transport (virtio 1.x, section 4.2): register offsets, status
// and feature bits, and the seam between a driver and one device's register
// window. On a VM the window is real MMIO; under the hosted and simulated
// platforms it is an in-process device model (model.hpp), so the same driver
// code runs, and is tested, everywhere.
#pragma once

#include <gantry/types.hpp>

#include <string_view>

namespace gantry::virtio {

namespace reg {
inline constexpr u32 magic = 0x000;
inline constexpr u32 version = 0x004;
inline constexpr u32 device_id = 0x008;
inline constexpr u32 vendor_id = 0x00c;
inline constexpr u32 device_features = 0x010;
inline constexpr u32 device_features_select = 0x014;
inline constexpr u32 driver_features = 0x020;
inline constexpr u32 driver_features_select = 0x024;
inline constexpr u32 queue_select = 0x030;
inline constexpr u32 queue_size_max = 0x034;
inline constexpr u32 queue_size = 0x038;
inline constexpr u32 queue_ready = 0x044;
inline constexpr u32 queue_notify = 0x050;
inline constexpr u32 interrupt_status = 0x060;
inline constexpr u32 interrupt_ack = 0x064;
inline constexpr u32 status = 0x070;
inline constexpr u32 queue_desc_low = 0x080;
inline constexpr u32 queue_desc_high = 0x084;
inline constexpr u32 queue_driver_low = 0x090;
inline constexpr u32 queue_driver_high = 0x094;
inline constexpr u32 queue_device_low = 0x0a0;
inline constexpr u32 queue_device_high = 0x0a4;
inline constexpr u32 config_generation = 0x0fc;
inline constexpr u32 config = 0x100;
} // namespace reg

inline constexpr u32 mmio_magic = 0x74726976; // "virt", little-endian
inline constexpr u32 mmio_version_modern = 2;
inline constexpr u32 mmio_window_bytes = 0x200;

namespace status {
inline constexpr u32 acknowledge = 1;
inline constexpr u32 driver = 2;
inline constexpr u32 driver_ok = 4;
inline constexpr u32 features_ok = 8;
inline constexpr u32 needs_reset = 64;
inline constexpr u32 failed = 128;
} // namespace status

enum class DeviceType : u32 { none = 0, net = 1, block = 2 };

namespace feature {
inline constexpr u64 version_1 = u64{1} << 32;
} // namespace feature

enum class VirtioError : u8 {
    no_device,          // no magic value, or device id 0 (an empty slot)
    legacy_device,      // version 1 (legacy) registers: only modern devices are driven
    wrong_device,       // a different device type than the driver's
    features_rejected,  // the device did not accept the features the driver needs
    queue_unavailable,  // the queue does not exist or is already in use
    queue_too_small,    // the device offers fewer entries than the driver needs
    out_of_memory,      // the DMA arena cannot hold the rings and buffers
    device_failed,      // the device set NEEDS_RESET or broke the ring protocol
};
std::string_view to_string(VirtioError error);

// One device's register window. read8 is for the device-specific configuration
// space (offsets from reg::config), where fields are not 32-bit aligned.
class Registers {
public:
    virtual ~Registers() = default;
    virtual u32 read32(u32 offset) = 0;
    virtual void write32(u32 offset, u32 value) = 0;
    virtual u8 read8(u32 offset) = 0;

    // A real device works on its own; an in-process model works when this is
    // called. Drivers call it before looking at their used rings, so a model
    // gets the CPU exactly when a device's progress could matter.
    virtual void let_device_run() {}
};

// Memory the device reads and writes by address (rings and buffers): a bump
// allocator over one region the platform hands over at boot. Addresses given to
// devices are the pointers' values: identity-mapped on bare metal, and the same
// address space for in-process models.
class DmaArena {
public:
    DmaArena() = default;
    DmaArena(u8* base, usize bytes) : m_next(base), m_end(base + bytes) {}

    // Zeroed memory aligned to `align` (a power of two), or nullptr when full.
    void* allocate(usize bytes, usize align);
    // The same without zeroing, for frame buffers that are always written
    // before they are read (by the device, or by the driver before it hands
    // them over): zeroing a NIC's 384 KiB of buffers cost about 1 ms of boot
    // under QEMU TCG.
    void* allocate_unzeroed(usize bytes, usize align);
    usize bytes_left() const { return static_cast<usize>(m_end - m_next); }

private:
    u8* m_next = nullptr;
    u8* m_end = nullptr;
};

inline u64 dma_address(const void* pointer) { return reinterpret_cast<u64>(pointer); }

} // namespace gantry::virtio
