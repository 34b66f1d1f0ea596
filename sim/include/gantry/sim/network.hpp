// The simulated network: NICs that implement gantry::Nic, point-to-point links
// and learning switches, each link with latency, jitter, bandwidth (a bounded
// transmit queue), MTU, loss, duplication, reordering, corruption, and node-to-
// node partitions. Every frame is a world event, every random decision comes
// from the link's own stream, so a run stays a function of its seed
// (docs/simulator.md, "The network").
#pragma once

#include <gantry/net/address.hpp>
#include <gantry/nic.hpp>

#include <array>
#include <deque>
#include <string>
#include <vector>

namespace gantry::sim {

class Fabric;
using NodeId = u32;
using LinkId = u32;
using SwitchId = u32;

// "No node": a frame dropped before a switch chose where it goes has no destination.
inline constexpr u32 no_node = 0xffff'ffff;

// The MAC address the world gives a node's NIC: locally administered, unicast,
// 02:00:<node id, 24 bits>:<nic index>. Stable across runs and restarts.
net::MacAddress sim_mac(NodeId node, u32 nic_index);

// Random faults of a link, per direction, in parts per million of frames.
struct LinkFaults {
    u32 loss_ppm = 0;
    u32 duplicate_ppm = 0;
    u32 reorder_ppm = 0; // these frames get reorder_delay_ns extra, so later ones pass them
    u32 corrupt_ppm = 0; // one random bit flipped after the Ethernet header
};

struct LinkConfig {
    std::string name = {};      // for counters, captures, errors; defaults to "link-N"
    TimeNs latency_ns = 0;      // propagation delay, one way
    TimeNs jitter_ns = 0;       // plus a uniform [0, jitter] per frame (it can reorder too)
    u64 bandwidth_bps = 0;      // 0 = no serialization delay and no queueing
    usize mtu = 1500;           // IP MTU: longer frames (> mtu + 14 bytes) are dropped
    LinkFaults faults = {};
    TimeNs reorder_delay_ns = 1 * ns_per_ms;
    usize queue_frames_max = 128; // frames waiting to be serialized, per direction
    usize in_flight_max = 4096;   // frames on the wire (propagating), per direction
    std::string pcap_path = {};   // capture every frame offered to the link; empty = none
};

struct SwitchConfig {
    std::string name = {};
    usize table_entries_max = 1024; // learned MACs; when full, new ones are flooded to
};

// One end of a link: a node (which gets a new NIC) or a port of a switch.
struct Endpoint {
    enum class Kind : u8 { node, switch_port };
    Kind kind;
    u32 id;
    static Endpoint node(NodeId id) { return {Kind::node, id}; }
    static Endpoint switch_port(SwitchId id) { return {Kind::switch_port, id}; }
};

// Why a link dropped a frame. Values index LinkCounters::dropped.
enum class DropReason : u8 {
    loss,       // the random loss of the link
    queue_full, // transmit queue, wire or the receiving NIC's rx queue full
    mtu,        // longer than the link's MTU allows (or shorter than a header)
    partition,  // the sender and the receiver are partitioned
    node_down,  // the receiver is crashed, failed, exited or not booted yet
};
inline constexpr usize drop_reason_count = 5;
std::string_view to_string(DropReason reason);

// What became of a frame on one hop, as the trace records it (link_frame.fate).
enum class FrameFate : u8 {
    delivered = 0,
    corrupted = 1,  // delivered with a flipped bit
    duplicate = 2,  // the extra copy the link made (delivered)
    lost = 3,
    queue_full = 4,
    mtu = 5,
    partition = 6,
    node_down = 7,
};

struct LinkCounters {
    u64 sent = 0;      // offered to the link, by a NIC or a switch port (= pcap records)
    u64 delivered = 0; // handed to a NIC's rx queue or a switch (copies included)
    u64 duplicated = 0;
    u64 corrupted = 0;
    u64 reordered = 0;
    std::array<u64, drop_reason_count> dropped = {};

    u64 dropped_by(DropReason reason) const { return dropped[static_cast<usize>(reason)]; }
    u64 dropped_total() const;
};

// Partitions are between nodes, end to end, whatever links and switches lie between.
enum class Partition : u8 { one_way, both_ways };

// A node's NIC. receive() pops the rx queue the fabric fills; transmit() hands
// the frame to the link. Owned by the world; survives the node's restarts.
class SimNic final : public Nic {
public:
    static constexpr usize rx_frames_max = 256;

    SimNic(Fabric& fabric, NodeId node, u32 index, LinkId link, u8 side, usize mtu);

    net::MacAddress mac() const override { return m_mac; }
    usize mtu() const override { return m_mtu; }
    usize receive(MutableBytes out) override;
    bool transmit(Bytes frame) override;

    // The fabric's side.
    bool rx_full() const { return m_rx.size() >= rx_frames_max; }
    void rx_push(std::vector<u8>&& frame) { m_rx.push_back(std::move(frame)); }
    void rx_clear(); // the node crashed: what it had not read is lost
    usize rx_queued() const { return m_rx.size(); }
    u64 rx_too_long() const { return m_rx_too_long; }
    NodeId node() const { return m_node; }

private:
    Fabric& m_fabric;
    NodeId m_node;
    LinkId m_link;
    u8 m_side; // which end of the link this NIC is
    usize m_mtu;
    net::MacAddress m_mac;
    std::deque<std::vector<u8>> m_rx;
    u64 m_rx_too_long = 0;
};

} // namespace gantry::sim
