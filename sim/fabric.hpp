// The network fabric behind the world's network API: links, switches, frames
// in flight, partitions, captures. Internal to sim/ (the world forwards to it).
#pragma once

#include <gantry/sim/network.hpp>
#include <gantry/sim/random.hpp>

#include <map>
#include <memory>
#include <set>

typedef struct pcap pcap_t;
typedef struct pcap_dumper pcap_dumper_t;

namespace gantry::sim {

class World;

// One pcap file, nanosecond timestamps taken from virtual time.
class PcapCapture {
public:
    explicit PcapCapture(const std::string& path); // throws std::runtime_error
    PcapCapture(const PcapCapture&) = delete;
    ~PcapCapture();
    void write(TimeNs time, Bytes frame);
    void flush();

private:
    pcap_t* m_pcap = nullptr;
    pcap_dumper_t* m_dumper = nullptr;
};

class Fabric {
public:
    // Ethernet's preamble, start delimiter, FCS and inter-frame gap: the bytes a
    // frame costs on the wire beyond what the NIC hands over.
    static constexpr usize wire_overhead_bytes = 24;
    static constexpr usize frames_in_flight_max = 1 << 20; // the whole world's
    static constexpr usize spare_buffers_max = 1024;

    explicit Fabric(World& world);
    ~Fabric();

    SwitchId add_switch(SwitchConfig config);
    LinkId add_link(Endpoint a, Endpoint b, LinkConfig config,
                    std::vector<std::unique_ptr<SimNic>>* nics_a,
                    std::vector<std::unique_ptr<SimNic>>* nics_b);

    // From a NIC (inside its node's poll): false when dropped before the wire.
    bool transmit(LinkId link, u8 side, NodeId origin, Bytes frame);
    // A frame event came due.
    void arrive(u64 slot);

    void partition(NodeId from, NodeId to, Partition kind);
    void heal(NodeId a, NodeId b);
    void heal_all() { m_blocked.clear(); }
    bool blocked(NodeId from, NodeId to) const { return m_blocked.contains({from, to}); }

    void set_faults(LinkId link, LinkFaults faults);
    const LinkConfig& config(LinkId link) const { return m_links.at(link).config; }
    const LinkCounters& counters(LinkId link) const { return m_links.at(link).counters; }
    usize link_count() const { return m_links.size(); }
    usize switch_count() const { return m_switches.size(); }
    std::optional<LinkId> find_link(std::string_view name) const;
    u64 switch_table_size(SwitchId id) const { return m_switches.at(id).table.size(); }
    usize in_flight() const { return m_in_flight; }
    void flush_captures();

private:
    struct End {
        Endpoint endpoint;
        SimNic* nic = nullptr; // for a node end
    };
    struct Direction {
        TimeNs busy_until = 0;              // when the transmitter finishes its queue
        std::deque<TimeNs> queue_finish;    // serialization end of each queued frame
        usize in_flight = 0;
        Rng rng;
    };
    struct Link {
        LinkConfig config;
        std::array<End, 2> ends;
        std::array<Direction, 2> directions; // [s]: from ends[s] to ends[1 - s]
        LinkCounters counters;
        std::unique_ptr<PcapCapture> capture;
    };
    struct Switch {
        SwitchConfig config;
        std::vector<std::pair<LinkId, u8>> ports; // (link, the switch's side of it)
        std::map<u64, u32> table;                 // MAC -> port index
    };
    // A frame on the wire. Slots are reused in a fixed order (a free list), so
    // event data never depends on allocation addresses.
    struct InFlight {
        std::vector<u8> bytes;
        LinkId link = 0;
        u8 direction = 0;
        NodeId origin = no_node;
        TimeNs sent_ns = 0;
        FrameFate fate = FrameFate::delivered;
    };
    struct Hop {
        LinkId link;
        u8 side;
        NodeId origin;
        TimeNs sent_ns;
    };

    bool send(const Hop& hop, Bytes frame);
    bool admit(Link& link, Direction& direction, const Hop& hop, Bytes frame, TimeNs& leave);
    void launch(Link& link, const Hop& hop, Bytes frame, TimeNs leave);
    u64 new_slot(const Hop& hop, Bytes frame, FrameFate fate);
    void deliver_to_node(Link& link, InFlight& frame, const End& end);
    void deliver_to_switch(InFlight& frame, const End& end);
    void drop(Link& link, const Hop& hop, NodeId to, usize length, DropReason reason);
    NodeId far_node(const Link& link, u8 side) const;
    void trace(LinkId link, NodeId from, NodeId to, usize length, FrameFate fate,
               TimeNs sent_ns);
    std::vector<u8> take_buffer(Bytes bytes);
    void give_buffer(std::vector<u8>&& buffer);

    World& m_world;
    std::vector<Link> m_links;
    std::vector<Switch> m_switches;
    std::vector<InFlight> m_slots;
    std::vector<u64> m_free_slots;
    usize m_in_flight = 0;
    std::set<std::pair<NodeId, NodeId>> m_blocked; // (from, to) pairs
    std::vector<std::vector<u8>> m_spare;          // recycled frame buffers
};

} // namespace gantry::sim
