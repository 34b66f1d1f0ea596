// The network device seam: what the core's network stack needs from a NIC,
// kept as narrow as smoltcp's Device. Hosted (tap, user, socket), the
// simulator's links and the virtio driver each implement it.
#pragma once

#include <gantry/net/address.hpp>
#include <gantry/types.hpp>

namespace gantry {

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
};

} // namespace gantry
