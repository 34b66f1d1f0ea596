// Driver side of the virtio-mmio transport: device initialisation (section
// 3.1.1), feature negotiation, queue set-up, notification and configuration
// space reads.
#pragma once

#include <gantry/result.hpp>
#include <gantry/virtio/mmio.hpp>
#include <gantry/virtio/queue.hpp>

namespace gantry::virtio {

class Transport {
public:
    explicit Transport(Registers& registers) : m_registers(registers) {}

    // Checks the window holds a modern device of `type`, resets it and
    // acknowledges it (ACKNOWLEDGE | DRIVER).
    Status<VirtioError> begin(DeviceType type);

    // Accepts the device's features that are in `supported`; fails if any of
    // `required` is missing or the device rejects the set. Returns what was agreed.
    Result<u64, VirtioError> negotiate(u64 supported, u64 required);

    // Creates queue `index` with min(wanted, the device's maximum) entries
    // (rounded down to a power of two) and hands its rings to the device.
    Status<VirtioError> attach_queue(u16 index, u16 wanted, u16 needed, Virtqueue& queue,
                                     DmaArena& arena);

    void finish() { set_status(status::driver_ok); }
    void mark_failed() { set_status(status::failed); }
    bool needs_reset() { return (m_registers.read32(reg::status) & status::needs_reset) != 0; }

    void notify(u16 queue) { m_registers.write32(reg::queue_notify, queue); }
    // Clears the device's interrupt status, lowering its line, so the next
    // used buffer raises it again (an edge the platform can wake on).
    void ack_interrupts()
    {
        if (const u32 pending = m_registers.read32(reg::interrupt_status))
            m_registers.write32(reg::interrupt_ack, pending);
    }
    void let_device_run() { m_registers.let_device_run(); }

    // Little-endian fields of the configuration space, read consistently
    // (retried while the device's configuration generation changes).
    u64 config(u32 offset, u32 bytes);

private:
    void set_status(u32 bits) { m_registers.write32(reg::status, m_registers.read32(reg::status) | bits); }

    Registers& m_registers;
};

} // namespace gantry::virtio
