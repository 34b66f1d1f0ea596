// The network device seam: what the core's network stack needs from a NIC,
// kept as narrow as smoltcp's Device. Hosted (tap, user, socket), the
// simulator's links and the virtio driver each implement it.
#pragma once

#include <gantry/assert.hpp>
#include <gantry/net/address.hpp>
#include <gantry/types.hpp>

namespace gantry {

// What a device can do for the stack (virtio-net's VIRTIO_NET_F_CSUM and
// HOST_TSO4, a tap's IFF_VNET_HDR). A NIC that says nothing offers nothing
// and only ever receives complete frames of at most mtu() + 14 bytes.
struct NicOffloads {
    // The device completes a TCP checksum the stack left partial (NicTxOffload).
    bool tx_checksum = false;
    // The device cuts a TCP/IPv4 frame with an IP packet up to this many bytes
    // into MTU-sized segments (TSO); 0: no segmentation offload. Implies
    // tx_checksum.
    usize tso_packet_bytes_max = 0;
};

// Per-frame instructions for transmit_offloaded, the fields of a
// virtio_net_hdr (virtio 1.2 section 5.1.6.2) in the stack's words.
struct NicTxOffload {
    // checksum_start != 0: the 16-bit field at checksum_start + checksum_offset
    // holds the pseudo-header sum; the device stores there the checksum over
    // the frame from checksum_start on (VIRTIO_NET_HDR_F_NEEDS_CSUM).
    u16 checksum_start = 0;
    u16 checksum_offset = 0;
    // segment_payload != 0: a TCP/IPv4 frame to cut into segments with this
    // much TCP payload each (gso_size, GSO_TCPV4), the headers being the first
    // header_bytes of the frame (hdr_len).
    u16 segment_payload = 0;
    u16 header_bytes = 0;

    bool none() const { return checksum_start == 0 && segment_payload == 0; }
};

class Nic {
public:
    // Largest Ethernet frame without FCS for a 1500-byte MTU, plus an 802.1Q tag.
    static constexpr usize frame_bytes_max = 1518;

    virtual ~Nic() = default;

    virtual net::MacAddress mac() const = 0;
    // IP MTU of the link (1500 on Ethernet); frames are at most mtu() + 14 bytes.
    virtual usize mtu() const { return 1500; }

    // Copies the next received frame into `out` and returns its length, or 0 when
    // no frame is waiting. Never blocks: the platform's idle loop wakes the
    // kernel when frames arrive. A frame longer than `out` is dropped and counted
    // by the device.
    virtual usize receive(MutableBytes out) = 0;

    // Sends one complete Ethernet frame (no FCS). Returns false if the device
    // dropped it (queue full, link down); the stack counts that as a drop.
    virtual bool transmit(Bytes frame) = 0;

    // What this device offers; the stack asks once, when it is created.
    virtual NicOffloads offloads() const { return {}; }
    // Sends a frame with offload instructions. Only called with what
    // offloads() advertised; a device without offloads gets plain transmit().
    virtual bool transmit_offloaded(Bytes frame, const NicTxOffload& offload)
    {
        GANTRY_ASSERT(offload.none());
        return transmit(frame);
    }
};

} // namespace gantry
