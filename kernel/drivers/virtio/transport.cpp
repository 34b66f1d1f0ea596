#include <gantry/virtio/transport.hpp>

#include <gantry/assert.hpp>

namespace gantry::virtio {

std::string_view to_string(VirtioError error)
{
    switch (error) {
    case VirtioError::no_device: return "no virtio device in this window";
    case VirtioError::legacy_device:
        return "legacy (version 1) virtio-mmio device: boot QEMU with "
               "-global virtio-mmio.force-legacy=false";
    case VirtioError::wrong_device: return "the device is of another type";
    case VirtioError::features_rejected: return "the device rejected the driver's features";
    case VirtioError::queue_unavailable: return "the device has no such queue, or it is in use";
    case VirtioError::queue_too_small: return "the device's queue is too small";
    case VirtioError::out_of_memory: return "out of DMA memory for rings and buffers";
    case VirtioError::device_failed: return "the device failed or broke the ring protocol";
    }
    return "unknown virtio error";
}

void* DmaArena::allocate_unzeroed(usize bytes, usize align)
{
    GANTRY_ASSERT(align != 0 && (align & (align - 1)) == 0);
    const auto next = reinterpret_cast<usize>(m_next);
    const usize aligned = (next + align - 1) & ~(align - 1);
    if (aligned < next || aligned > reinterpret_cast<usize>(m_end) ||
        bytes > reinterpret_cast<usize>(m_end) - aligned)
        return nullptr;
    auto* memory = reinterpret_cast<u8*>(aligned);
    m_next = memory + bytes;
    return memory;
}

void* DmaArena::allocate(usize bytes, usize align)
{
    auto* memory = static_cast<u8*>(allocate_unzeroed(bytes, align));
    if (memory)
        __builtin_memset(memory, 0, bytes);
    return memory;
}

Status<VirtioError> Transport::begin(DeviceType type)
{
    if (m_registers.read32(reg::magic) != mmio_magic)
        return fail(VirtioError::no_device);
    const u32 version = m_registers.read32(reg::version);
    const u32 id = m_registers.read32(reg::device_id);
    if (id == 0)
        return fail(VirtioError::no_device);
    if (version != mmio_version_modern)
        return fail(VirtioError::legacy_device);
    if (id != static_cast<u32>(type))
        return fail(VirtioError::wrong_device);
    m_registers.write32(reg::status, 0); // reset
    m_registers.write32(reg::status, status::acknowledge);
    m_registers.write32(reg::status, status::acknowledge | status::driver);
    return {};
}

Result<u64, VirtioError> Transport::negotiate(u64 supported, u64 required)
{
    m_registers.write32(reg::device_features_select, 0);
    u64 offered = m_registers.read32(reg::device_features);
    m_registers.write32(reg::device_features_select, 1);
    offered |= u64{m_registers.read32(reg::device_features)} << 32;
    const u64 agreed = offered & supported;
    if ((agreed & required) != required) {
        mark_failed();
        return fail(VirtioError::features_rejected);
    }
    m_registers.write32(reg::driver_features_select, 0);
    m_registers.write32(reg::driver_features, static_cast<u32>(agreed));
    m_registers.write32(reg::driver_features_select, 1);
    m_registers.write32(reg::driver_features, static_cast<u32>(agreed >> 32));
    set_status(status::features_ok);
    if ((m_registers.read32(reg::status) & status::features_ok) == 0) {
        mark_failed();
        return fail(VirtioError::features_rejected);
    }
    return agreed;
}

namespace {

u16 power_of_two_at_most(u32 value)
{
    u32 result = 1;
    while (result * 2 <= value && result * 2 <= Virtqueue::size_max)
        result *= 2;
    return static_cast<u16>(result);
}

} // namespace

Status<VirtioError> Transport::attach_queue(u16 index, u16 wanted, u16 needed,
                                            Virtqueue& queue, DmaArena& arena)
{
    m_registers.write32(reg::queue_select, index);
    if (m_registers.read32(reg::queue_ready) != 0)
        return fail(VirtioError::queue_unavailable);
    const u32 maximum = m_registers.read32(reg::queue_size_max);
    if (maximum == 0)
        return fail(VirtioError::queue_unavailable);
    const u16 size = power_of_two_at_most(maximum < wanted ? maximum : wanted);
    if (size < needed)
        return fail(VirtioError::queue_too_small);
    GANTRY_TRY(queue.create(size, arena));
    m_registers.write32(reg::queue_size, size);
    const u64 addresses[3] = {queue.descriptor_address(), queue.driver_address(),
                              queue.device_address()};
    const u32 registers[3] = {reg::queue_desc_low, reg::queue_driver_low, reg::queue_device_low};
    for (int i = 0; i < 3; ++i) {
        m_registers.write32(registers[i], static_cast<u32>(addresses[i]));
        m_registers.write32(registers[i] + 4, static_cast<u32>(addresses[i] >> 32));
    }
    m_registers.write32(reg::queue_ready, 1);
    return {};
}

u64 Transport::config(u32 offset, u32 bytes)
{
    GANTRY_ASSERT(bytes >= 1 && bytes <= 8);
    // Bounded: a device whose generation never settles gets the last read.
    for (int attempt = 0;; ++attempt) {
        const u32 before = m_registers.read32(reg::config_generation);
        u64 value = 0;
        for (u32 i = 0; i < bytes; ++i)
            value |= u64{m_registers.read8(reg::config + offset + i)} << (8 * i);
        if (m_registers.read32(reg::config_generation) == before || attempt == 8)
            return value;
    }
}

} // namespace gantry::virtio
