// virtio-net driver (virtio 1.x, section 5.1): one receive and one transmit
// queue and a fixed pool of frame buffers in DMA memory. Transmit checksum
// offload (VIRTIO_NET_F_CSUM) and TCP segmentation offload
// (VIRTIO_NET_F_HOST_TSO4) when the device offers them, so the stack leaves
// TCP checksums to the device and hands it segments of up to 48 KiB, which
// take a chain of buffers; receiving stays plain (no GUEST_CSUM or GUEST_TSO:
// every received frame arrives complete and MTU-sized, its checksums still to
// be verified).
// Polled: the platform's idle loop asks has_received() instead of taking
// interrupts.
#pragma once

#include <gantry/nic.hpp>
#include <gantry/virtio/transport.hpp>

namespace gantry::virtio {

// Feature bits of a network device (section 5.1.3).
namespace net_feature {
inline constexpr u64 checksum = u64{1} << 0; // VIRTIO_NET_F_CSUM: takes partial checksums
inline constexpr u64 mac = u64{1} << 5;      // VIRTIO_NET_F_MAC
// VIRTIO_NET_F_HOST_TSO4: cuts TCP/IPv4 frames into segments; requires CSUM.
inline constexpr u64 host_tso4 = u64{1} << 11;
} // namespace net_feature

// struct virtio_net_hdr as of version 1 (section 5.1.6): in front of every
// frame in both directions, little-endian (as are the image and the hosts).
struct NetHeader {
    u8 flags;
    u8 gso_type;
    u16 header_bytes;    // hdr_len
    u16 segment_bytes;   // gso_size
    u16 checksum_start;  // csum_start
    u16 checksum_offset; // csum_offset
    u16 buffer_count;    // num_buffers (received frames only)
};
static_assert(sizeof(NetHeader) == 12);

namespace net_header {
// VIRTIO_NET_HDR_F_NEEDS_CSUM: the 16-bit field at checksum_start +
// checksum_offset holds the pseudo-header sum; the device stores there the
// Internet checksum of the frame from checksum_start on.
inline constexpr u8 needs_checksum = 1;
inline constexpr u8 gso_none = 0;  // VIRTIO_NET_HDR_GSO_NONE
inline constexpr u8 gso_tcpv4 = 1; // VIRTIO_NET_HDR_GSO_TCPV4
} // namespace net_header

class VirtioNet final : public Nic {
public:
    struct Stats {
        u64 received = 0;
        u64 transmitted = 0;
        u64 rx_malformed = 0;  // the device reported a length outside the buffer
        u64 rx_too_long = 0;   // a frame longer than the caller's buffer
        u64 tx_dropped = 0;    // no free transmit buffer, or an oversized frame
        u64 tx_offloaded = 0;  // sent with NEEDS_CSUM: the device completes the checksum
        u64 tx_segmented = 0;  // of those, TSO frames the device cuts into segments
    };

    static constexpr u16 queue_entries_max = 128;
    // 12-byte virtio_net_hdr (version 1 layout) + the largest frame, rounded up.
    static constexpr usize buffer_bytes = 1536;
    static constexpr usize header_bytes = sizeof(NetHeader);
    // A TSO frame takes a chain of transmit buffers: at most a quarter of the
    // ring, so a few are in flight at once (32 of 128: 48 KiB IP packets).
    static constexpr u16 tx_chain_max = queue_entries_max / 4;

    explicit VirtioNet(Registers& registers) : m_transport(registers) {}

    // Initialises the device; rings and buffers come from `arena`.
    Status<VirtioError> start(DmaArena& arena);

    net::MacAddress mac() const override { return m_mac; }
    usize receive(MutableBytes out) override;
    bool transmit(Bytes frame) override;
    // Checksum offload when the device agreed to VIRTIO_NET_F_CSUM, and TSO
    // when also to HOST_TSO4; nothing otherwise.
    NicOffloads offloads() const override { return m_offloads; }
    bool transmit_offloaded(Bytes frame, const NicTxOffload& offload) override;

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
    bool send(Bytes frame, const NetHeader& header);

    Transport m_transport;
    Virtqueue m_rx;
    Virtqueue m_tx;
    u8* m_rx_buffers = nullptr;
    u8* m_tx_buffers = nullptr;
    u16 m_rx_posted_unnotified = 0;
    u16 m_tx_chain_max = 1; // buffers one TSO frame may take (a quarter of the ring)
    net::MacAddress m_mac;
    NicOffloads m_offloads;
    Stats m_stats;
};

} // namespace gantry::virtio
