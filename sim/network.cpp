// The network fabric: NICs, links with their timing and faults, learning
// switches, partitions, captures and the fabric's trace records.
#include "fabric.hpp"
#include "node.hpp"

#include <gantry/assert.hpp>
#include <gantry/sim/trace_writer.hpp>
#include <gantry/trace.hpp>

#include <pcap/pcap.h>

#include <cstring>
#include <stdexcept>

namespace gantry::sim {

namespace {

constexpr usize ethernet_header_bytes = 14;
constexpr u32 ppm = 1'000'000;

u64 mac_key(Bytes mac)
{
    u64 key = 0;
    for (usize i = 0; i < 6; ++i)
        key = (key << 8) | mac[i];
    return key;
}

bool is_group(Bytes mac)
{
    return (mac[0] & 0x01) != 0; // broadcast and multicast alike
}

// Serialization delay of `bytes` at `bps`, rounded up so a frame never leaves early.
TimeNs serialization_ns(usize bytes, u64 bps)
{
    if (bps == 0)
        return 0;
    unsigned __int128 bits = static_cast<unsigned __int128>(bytes) * 8 * ns_per_s;
    return static_cast<TimeNs>((bits + bps - 1) / bps);
}

FrameFate fate_of(DropReason reason)
{
    switch (reason) {
    case DropReason::loss: return FrameFate::lost;
    case DropReason::queue_full: return FrameFate::queue_full;
    case DropReason::mtu: return FrameFate::mtu;
    case DropReason::partition: return FrameFate::partition;
    case DropReason::node_down: return FrameFate::node_down;
    }
    return FrameFate::lost;
}

} // namespace

net::MacAddress sim_mac(NodeId node, u32 nic_index)
{
    GANTRY_ASSERT(node < (1u << 24));
    GANTRY_ASSERT(nic_index < 256);
    return {{0x02, 0x00, static_cast<u8>(node >> 16), static_cast<u8>(node >> 8),
             static_cast<u8>(node), static_cast<u8>(nic_index)}};
}

std::string_view to_string(DropReason reason)
{
    switch (reason) {
    case DropReason::loss: return "loss";
    case DropReason::queue_full: return "queue_full";
    case DropReason::mtu: return "mtu";
    case DropReason::partition: return "partition";
    case DropReason::node_down: return "node_down";
    }
    return "unknown";
}

u64 LinkCounters::dropped_total() const
{
    u64 total = 0;
    for (u64 count : dropped)
        total += count;
    return total;
}

SimNic::SimNic(Fabric& fabric, NodeId node, u32 index, LinkId link, u8 side, usize mtu)
    : m_fabric(fabric), m_node(node), m_link(link), m_side(side), m_mtu(mtu),
      m_mac(sim_mac(node, index))
{
}

usize SimNic::receive(MutableBytes out)
{
    while (!m_rx.empty()) {
        std::vector<u8> frame = std::move(m_rx.front());
        m_rx.pop_front();
        if (frame.size() > out.size()) {
            ++m_rx_too_long; // the Nic contract: drop and count
            continue;
        }
        std::memcpy(out.data(), frame.data(), frame.size());
        return frame.size();
    }
    return 0;
}

bool SimNic::transmit(Bytes frame)
{
    return m_fabric.transmit(m_link, m_side, m_node, frame);
}

void SimNic::rx_clear()
{
    m_rx.clear();
}

PcapCapture::PcapCapture(const std::string& path)
{
    m_pcap = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
    if (m_pcap)
        m_dumper = pcap_dump_open(m_pcap, path.c_str());
    if (!m_dumper) {
        std::string why = m_pcap ? pcap_geterr(m_pcap) : "pcap_open_dead failed";
        if (m_pcap)
            pcap_close(m_pcap);
        throw std::runtime_error("cannot open capture '" + path + "': " + why);
    }
}

PcapCapture::~PcapCapture()
{
    pcap_dump_close(m_dumper);
    pcap_close(m_pcap);
}

void PcapCapture::write(TimeNs time, Bytes frame)
{
    pcap_pkthdr header{};
    header.ts.tv_sec = static_cast<time_t>(time / ns_per_s);
    header.ts.tv_usec = static_cast<suseconds_t>(time % ns_per_s); // ns: nano precision
    header.caplen = static_cast<bpf_u_int32>(frame.size());
    header.len = static_cast<bpf_u_int32>(frame.size());
    pcap_dump(reinterpret_cast<u_char*>(m_dumper), &header, frame.data());
}

void PcapCapture::flush()
{
    pcap_dump_flush(m_dumper);
}

Fabric::Fabric(World& world) : m_world(world) {}

Fabric::~Fabric() = default;

SwitchId Fabric::add_switch(SwitchConfig config)
{
    auto id = static_cast<SwitchId>(m_switches.size());
    if (config.name.empty())
        config.name = "switch-" + std::to_string(id);
    m_switches.push_back(Switch{std::move(config), {}, {}});
    return id;
}

LinkId Fabric::add_link(Endpoint a, Endpoint b, LinkConfig config,
                        std::vector<std::unique_ptr<SimNic>>* nics_a,
                        std::vector<std::unique_ptr<SimNic>>* nics_b)
{
    auto id = static_cast<LinkId>(m_links.size());
    if (config.name.empty())
        config.name = "link-" + std::to_string(id);
    if (config.queue_frames_max == 0 || config.in_flight_max == 0)
        throw std::invalid_argument("link '" + config.name + "': queues need room for a frame");
    if (config.mtu < 68 || config.mtu > 65535 - ethernet_header_bytes)
        throw std::invalid_argument("link '" + config.name + "': mtu must be 68..65521");
    for (const Endpoint& end : {a, b})
        if (end.kind == Endpoint::Kind::switch_port && end.id >= m_switches.size())
            throw std::invalid_argument("link '" + config.name + "': no switch " +
                                        std::to_string(end.id));
    Link link;
    link.config = std::move(config);
    if (!link.config.pcap_path.empty())
        link.capture = std::make_unique<PcapCapture>(link.config.pcap_path);
    std::array<std::vector<std::unique_ptr<SimNic>>*, 2> nics = {nics_a, nics_b};
    for (u8 side = 0; side < 2; ++side) {
        Endpoint end = side == 0 ? a : b;
        link.ends[side].endpoint = end;
        // A stream per direction, named by the link's id: links added later never
        // shift the numbers an existing link draws.
        link.directions[side].rng = m_world.rng(id * 2 + side, Stream::link);
        if (end.kind == Endpoint::Kind::switch_port) {
            m_switches[end.id].ports.emplace_back(id, side);
            continue;
        }
        auto& list = *nics[side];
        auto index = static_cast<u32>(list.size());
        list.push_back(std::make_unique<SimNic>(*this, end.id, index, id, side, link.config.mtu));
        link.ends[side].nic = list.back().get();
    }
    m_links.push_back(std::move(link));
    return id;
}

std::optional<LinkId> Fabric::find_link(std::string_view name) const
{
    for (usize i = 0; i < m_links.size(); ++i)
        if (m_links[i].config.name == name)
            return static_cast<LinkId>(i);
    return std::nullopt;
}

void Fabric::set_faults(LinkId link, LinkFaults faults)
{
    m_links.at(link).config.faults = faults;
}

void Fabric::partition(NodeId from, NodeId to, Partition kind)
{
    m_blocked.insert({from, to});
    if (kind == Partition::both_ways)
        m_blocked.insert({to, from});
}

void Fabric::heal(NodeId a, NodeId b)
{
    m_blocked.erase({a, b});
    m_blocked.erase({b, a});
}

void Fabric::flush_captures()
{
    for (Link& link : m_links)
        if (link.capture)
            link.capture->flush();
}

bool Fabric::transmit(LinkId link, u8 side, NodeId origin, Bytes frame)
{
    return send(Hop{link, side, origin, m_world.now()}, frame);
}

NodeId Fabric::far_node(const Link& link, u8 side) const
{
    const End& end = link.ends[1 - side];
    return end.endpoint.kind == Endpoint::Kind::node ? end.endpoint.id : no_node;
}

bool Fabric::send(const Hop& hop, Bytes frame)
{
    Link& link = m_links[hop.link];
    Direction& direction = link.directions[hop.side];
    ++link.counters.sent;
    if (link.capture)
        link.capture->write(m_world.now(), frame);
    TimeNs leave = 0;
    if (!admit(link, direction, hop, frame, leave))
        return false;
    const LinkFaults& faults = link.config.faults;
    if (faults.loss_ppm > 0 && direction.rng.below(ppm) < faults.loss_ppm) {
        drop(link, hop, far_node(link, hop.side), frame.size(), DropReason::loss);
        return true; // the wire lost it: the sender cannot know
    }
    launch(link, hop, frame, leave);
    return true;
}

// The size and queue checks; on success `leave` is when the last bit leaves.
bool Fabric::admit(Link& link, Direction& direction, const Hop& hop, Bytes frame, TimeNs& leave)
{
    TimeNs now = m_world.now();
    NodeId to = far_node(link, hop.side);
    if (frame.size() < ethernet_header_bytes ||
        frame.size() > link.config.mtu + ethernet_header_bytes) {
        drop(link, hop, to, frame.size(), DropReason::mtu);
        return false;
    }
    while (!direction.queue_finish.empty() && direction.queue_finish.front() <= now)
        direction.queue_finish.pop_front();
    if (direction.queue_finish.size() >= link.config.queue_frames_max ||
        direction.in_flight >= link.config.in_flight_max ||
        m_in_flight >= frames_in_flight_max) {
        drop(link, hop, to, frame.size(), DropReason::queue_full);
        return false;
    }
    TimeNs start = std::max(now, direction.busy_until);
    leave = start + serialization_ns(frame.size() + wire_overhead_bytes,
                                     link.config.bandwidth_bps);
    direction.busy_until = leave;
    if (link.config.bandwidth_bps != 0)
        direction.queue_finish.push_back(leave);
    return true;
}

// Puts an admitted frame on the wire: corruption, delay, reordering, duplication.
void Fabric::launch(Link& link, const Hop& hop, Bytes frame, TimeNs leave)
{
    Direction& direction = link.directions[hop.side];
    const LinkFaults& faults = link.config.faults;
    FrameFate fate = FrameFate::delivered;
    u64 slot = new_slot(hop, frame, fate);
    std::vector<u8>& bytes = m_slots[slot].bytes;
    if (faults.corrupt_ppm > 0 && direction.rng.below(ppm) < faults.corrupt_ppm &&
        bytes.size() > ethernet_header_bytes) {
        // After the Ethernet header: the frame still reaches its NIC, and the
        // checksums of IP, UDP and TCP have to catch the damage.
        u64 bit = direction.rng.below((bytes.size() - ethernet_header_bytes) * 8);
        bytes[ethernet_header_bytes + bit / 8] ^= static_cast<u8>(1u << (bit % 8));
        m_slots[slot].fate = FrameFate::corrupted;
        ++link.counters.corrupted;
    }
    TimeNs arrival = leave + link.config.latency_ns;
    if (link.config.jitter_ns > 0)
        arrival += direction.rng.below(link.config.jitter_ns + 1);
    if (faults.reorder_ppm > 0 && direction.rng.below(ppm) < faults.reorder_ppm) {
        arrival += link.config.reorder_delay_ns;
        ++link.counters.reordered;
    }
    ++direction.in_flight;
    m_world.schedule_frame(arrival, slot);
    if (faults.duplicate_ppm > 0 && direction.rng.below(ppm) < faults.duplicate_ppm &&
        direction.in_flight < link.config.in_flight_max && m_in_flight < frames_in_flight_max) {
        u64 copy = new_slot(hop, Bytes(m_slots[slot].bytes), FrameFate::duplicate);
        ++link.counters.duplicated;
        ++direction.in_flight;
        m_world.schedule_frame(arrival, copy); // same time, later sequence: right after
    }
}

u64 Fabric::new_slot(const Hop& hop, Bytes frame, FrameFate fate)
{
    u64 slot = 0;
    if (!m_free_slots.empty()) {
        slot = m_free_slots.back();
        m_free_slots.pop_back();
    } else {
        slot = m_slots.size();
        m_slots.emplace_back();
    }
    InFlight& entry = m_slots[slot];
    entry.bytes = take_buffer(frame);
    entry.link = hop.link;
    entry.direction = hop.side;
    entry.origin = hop.origin;
    entry.sent_ns = hop.sent_ns;
    entry.fate = fate;
    ++m_in_flight;
    return slot;
}

void Fabric::arrive(u64 slot)
{
    // Moved out first: forwarding may add slots, which moves the slot vector.
    InFlight frame = std::move(m_slots.at(slot));
    m_slots[slot].bytes = {};
    m_free_slots.push_back(slot);
    Link& link = m_links[frame.link];
    --link.directions[frame.direction].in_flight;
    --m_in_flight;
    const End& end = link.ends[1 - frame.direction];
    if (end.endpoint.kind == Endpoint::Kind::node)
        deliver_to_node(link, frame, end);
    else
        deliver_to_switch(frame, end);
    give_buffer(std::move(frame.bytes));
}

void Fabric::deliver_to_node(Link& link, InFlight& frame, const End& end)
{
    Hop hop{frame.link, frame.direction, frame.origin, frame.sent_ns};
    NodeId to = end.endpoint.id;
    if (frame.origin != no_node && blocked(frame.origin, to))
        return drop(link, hop, to, frame.bytes.size(), DropReason::partition);
    NodeState state = m_world.state(to);
    // A paused node's NIC keeps receiving (up to its bound), as a paused VM's would.
    if (state != NodeState::running && state != NodeState::paused)
        return drop(link, hop, to, frame.bytes.size(), DropReason::node_down);
    if (end.nic->rx_full())
        return drop(link, hop, to, frame.bytes.size(), DropReason::queue_full);
    ++link.counters.delivered;
    trace(frame.link, frame.origin, to, frame.bytes.size(), frame.fate, frame.sent_ns);
    end.nic->rx_push(std::move(frame.bytes));
    m_world.wake(to);
}

// A learning switch (IEEE 802.1D, without spanning tree): learn the source's
// port, forward to the destination's port when known, else flood.
void Fabric::deliver_to_switch(InFlight& frame, const End& end)
{
    Link& in_link = m_links[frame.link];
    ++in_link.counters.delivered;
    Switch& sw = m_switches[end.endpoint.id];
    u32 in_port = 0;
    while (sw.ports[in_port].first != frame.link)
        ++in_port;
    Bytes bytes(frame.bytes);
    u64 source = mac_key(bytes.subspan(6, 6));
    if (!is_group(bytes.subspan(6, 6)) &&
        (sw.table.contains(source) || sw.table.size() < sw.config.table_entries_max))
        sw.table[source] = in_port; // a station that moved is re-learned
    std::optional<u32> out_port;
    if (!is_group(bytes.first(6)))
        if (auto found = sw.table.find(mac_key(bytes.first(6))); found != sw.table.end())
            out_port = found->second;
    for (u32 port = 0; port < sw.ports.size(); ++port) {
        if (port == in_port || (out_port && port != *out_port))
            continue;
        auto [link, side] = sw.ports[port];
        send(Hop{link, side, frame.origin, frame.sent_ns}, bytes);
    }
}

void Fabric::drop(Link& link, const Hop& hop, NodeId to, usize length, DropReason reason)
{
    ++link.counters.dropped[static_cast<usize>(reason)];
    trace(hop.link, hop.origin, to, length, fate_of(reason), hop.sent_ns);
}

// A link_frame record (docs/trace-format.md): written straight into the world's
// trace under the node id of the fabric itself (no_node), at world time.
void Fabric::trace(LinkId link, NodeId from, NodeId to, usize length, FrameFate fate,
                   TimeNs sent_ns)
{
    TraceWriter* writer = m_world.trace_writer();
    if (!writer)
        return;
    constexpr usize payload_bytes = 4 + 4 + 4 + 2 + 1 + 8;
    u8 record[trace_record_header_bytes + payload_bytes];
    usize at = 0;
    auto put = [&](u64 value, usize bytes) {
        for (usize i = 0; i < bytes; ++i)
            record[at++] = static_cast<u8>(value >> (8 * i));
    };
    put(sizeof(record), 2);
    put(static_cast<u8>(TraceKind::link_frame), 1);
    put(0, 1);
    put(no_node, 4);
    put(m_world.now(), 8);
    put(link, 4);
    put(from, 4);
    put(to, 4);
    put(std::min<usize>(length, 0xffff), 2);
    put(static_cast<u8>(fate), 1);
    put(sent_ns, 8);
    GANTRY_ASSERT(at == sizeof(record));
    writer->write(Bytes(record, sizeof(record)));
}

std::vector<u8> Fabric::take_buffer(Bytes bytes)
{
    std::vector<u8> buffer;
    if (!m_spare.empty()) {
        buffer = std::move(m_spare.back());
        m_spare.pop_back();
    }
    buffer.assign(bytes.begin(), bytes.end());
    return buffer;
}

void Fabric::give_buffer(std::vector<u8>&& buffer)
{
    if (buffer.capacity() > 0 && m_spare.size() < spare_buffers_max)
        m_spare.push_back(std::move(buffer));
}

} // namespace gantry::sim
