// virtio-blk driver (virtio 1.x, section 5.2): one request queue, a three-part
// chain per request (header, data, status byte), many requests in flight. It
// implements the core's BlockDevice seam, so the kernel's Disk and every app
// use it exactly like a hosted file or a simulated disk.
#pragma once

#include <gantry/block.hpp>
#include <gantry/virtio/transport.hpp>

namespace gantry::virtio {

class VirtioBlk final : public BlockDevice {
public:
    static constexpr u16 queue_entries_max = 128;

    explicit VirtioBlk(Registers& registers) : m_transport(registers) {}

    Status<VirtioError> start(DmaArena& arena);

    BlockInfo info() const override { return m_info; }
    bool submit(BlockRequest& request) override;
    BlockRequest* reap() override;

    // A completion is waiting (lets an in-process device model run first).
    bool has_completions();
    bool broken() const { return m_queue.broken(); }
    bool has_flush() const { return m_has_flush; }
    // Interrupts for completions (a platform that halts while idle).
    void enable_interrupts() { m_queue.set_interrupts(true); }
    void ack_interrupts() { m_transport.ack_interrupts(); }

private:
    struct RequestHeader {
        u32 type;
        u32 reserved;
        u64 sector;
    };
    static_assert(sizeof(RequestHeader) == 16);

    void complete_now(BlockRequest& request, BlockStatus status);
    BlockRequest* fail_one_in_flight();

    Transport m_transport;
    Virtqueue m_queue;
    BlockInfo m_info;
    bool m_has_flush = false;
    RequestHeader* m_headers = nullptr; // one per descriptor (indexed by chain head)
    u8* m_statuses = nullptr;           // likewise
    BlockRequest* m_in_flight[Virtqueue::size_max] = {};
    BlockRequest* m_done_first = nullptr; // completed without the device
    BlockRequest* m_done_last = nullptr;
};

} // namespace gantry::virtio
