// virtio-net driver (virtio 1.x, section 5.1): one receive and one transmit
// queue, a fixed pool of frame buffers in DMA memory, no offloads. Polled: the
// platform's idle loop asks has_received() instead of taking interrupts.
#pragma once

#include <gantry/nic.hpp>
#include <gantry/virtio/transport.hpp>

namespace gantry::virtio {

class VirtioNet final : public Nic {
public:
    struct Stats {
        u64 received = 0;
        u64 transmitted = 0;
        u64 rx_malformed = 0;  // the device reported a length outside the buffer
        u64 rx_too_long = 0;   // a frame longer than the caller's buffer
        u64 tx_dropped = 0;    // no free transmit buffer, or an oversized frame
    };

    static constexpr u16 queue_entries_max = 128;
    // 12-byte virtio_net_hdr (version 1 layout) + the largest frame, rounded up.
    static constexpr usize buffer_bytes = 1536;
    static constexpr usize header_bytes = 12;

    explicit VirtioNet(Registers& registers) : m_transport(registers) {}

    // Initialises the device; rings and buffers come from `arena`.
    Status<VirtioError> start(DmaArena& arena);

    net::MacAddress mac() const override { return m_mac; }
    usize receive(MutableBytes out) override;
    bool transmit(Bytes frame) override;

    // A received frame is waiting (lets an in-process device model run first).
    bool has_received();
    const Stats& stats() const { return m_stats; }
    bool broken() const { return m_rx.broken() || m_tx.broken(); }
    // Interrupts for received frames (a platform that halts while idle).
    void enable_interrupts() { m_rx.set_interrupts(true); }
    void ack_interrupts() { m_transport.ack_interrupts(); }

private:
    static constexpr u16 rx_queue = 0;
    static constexpr u16 tx_queue = 1;

    u8* rx_buffer(u16 head) { return m_rx_buffers + usize{head} * buffer_bytes; }
    u8* tx_buffer(u16 head) { return m_tx_buffers + usize{head} * buffer_bytes; }
    void post_receive_buffer();
    void reclaim_transmitted();

    Transport m_transport;
    Virtqueue m_rx;
    Virtqueue m_tx;
    u8* m_rx_buffers = nullptr;
    u8* m_tx_buffers = nullptr;
    u16 m_rx_posted_unnotified = 0;
    net::MacAddress m_mac;
    Stats m_stats;
};

} // namespace gantry::virtio
