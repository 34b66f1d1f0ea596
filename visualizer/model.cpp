// Building the index: one pass over the records, spans opened and closed as the
// records arrive, per node (records of different nodes may interleave).
#include "page_map.hpp"

#include <gantry/viz/model.hpp>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <tuple>

namespace gantry::viz {

StringPool::StringPool()
{
    m_views.push_back({});
    m_ids.emplace(std::string_view{}, empty_id);
}

u32 StringPool::intern(std::string_view text)
{
    if (auto found = m_ids.find(text); found != m_ids.end())
        return found->second;
    if (m_block_used + text.size() > block_bytes) {
        m_blocks.push_back(std::make_unique<char[]>(std::max(block_bytes, text.size())));
        m_block_used = 0;
    }
    char* copy = m_blocks.back().get() + m_block_used;
    std::memcpy(copy, text.data(), text.size());
    m_block_used += text.size();
    auto id = static_cast<u32>(m_views.size());
    m_views.emplace_back(copy, text.size());
    m_ids.emplace(m_views.back(), id);
    return id;
}

const FiberLane* NodeIndex::fiber(u32 id) const
{
    for (const FiberLane& lane : fibers)
        if (lane.fiber == id)
            return &lane;
    return nullptr;
}

const NodeIndex* TraceModel::node(u32 id) const
{
    auto found = std::lower_bound(nodes.begin(), nodes.end(), id,
                                  [](const NodeIndex& n, u32 v) { return n.node < v; });
    return found != nodes.end() && found->node == id ? &*found : nullptr;
}

std::string LoadError::to_string() const
{
    return path + ":" + std::to_string(offset) + ": " + message;
}

// What is still open on a node between records.
struct ModelBuilder::NodeState {
    std::vector<usize> open_phases; // indexes into NodeIndex::phases, innermost last
    std::unordered_map<u32, usize> fiber_slots;
    std::map<std::tuple<u32, u16, u32, u16>, usize> tcp_slots; // 4-tuple -> NodeIndex::tcp
    usize running = SIZE_MAX; // fiber slot whose last run is open
    bool idle_open = false;
    LivePageMap pages; // the page map after the node's last page event
};

ModelBuilder::ModelBuilder() = default;
ModelBuilder::~ModelBuilder() = default;

ModelBuilder::NodeState& ModelBuilder::state_for(u32 node, TimeNs time)
{
    auto [slot, inserted] = m_node_slots.emplace(node, m_model.nodes.size());
    if (inserted) {
        NodeIndex index;
        index.node = node;
        index.first_time = time;
        index.last_time = time;
        m_model.nodes.push_back(std::move(index));
        m_states.push_back(std::make_unique<NodeState>());
    }
    return *m_states[slot->second];
}

namespace {

// The network kinds start at net_rx; later versions add theirs after it.
constexpr u8 network_kind_first = static_cast<u8>(TraceKind::net_rx);
constexpr u32 fabric_node = 0xffffffff;

usize fiber_slot(NodeIndex& index, std::unordered_map<u32, usize>& slots, u32 fiber,
                 TimeNs time, StringPool& strings)
{
    auto [slot, inserted] = slots.emplace(fiber, index.fibers.size());
    if (inserted) {
        // A switch to a fiber whose spawn was not traced (dropped records).
        FiberLane lane{fiber, strings.intern("fiber " + std::to_string(fiber)), 0, time, 0, {}};
        index.fibers.push_back(std::move(lane));
    }
    return slot->second;
}

} // namespace

namespace {

void add_heap_sample(NodeIndex& index, TimeNs time, const TraceHeapClasses& classes)
{
    HeapSample sample{time, classes.slab_pages, classes.large_live, classes.large_pages, {}};
    // The class sizes are the heap's constants: the latest record describes them.
    index.heap_class_count = classes.class_count;
    for (usize i = 0; i < classes.class_count; ++i) {
        sample.objects_live[i] = classes.objects_live[i];
        index.heap_class_bytes[i] = classes.class_bytes[i];
    }
    index.heap.push_back(sample);
    for (usize i = 0; i <= classes.class_count; ++i)
        index.heap_bar_bytes_max =
            std::max(index.heap_bar_bytes_max, heap_bar_bytes(index, sample, i));
}

} // namespace

void ModelBuilder::fiber_record(NodeState& state, NodeIndex& index, const TraceRecord& record,
                                const TraceFields& fields)
{
    TimeNs time = index.last_time;
    if (record.kind == TraceKind::fiber_spawn) {
        usize slot = fiber_slot(index, state.fiber_slots, fields.fiber, time, m_model.strings);
        FiberLane& lane = index.fibers[slot];
        lane.name = m_model.strings.intern(fields.name);
        lane.parent = fields.parent;
        lane.spawned = time;
        return;
    }
    if (record.kind == TraceKind::fiber_exit) {
        usize slot = fiber_slot(index, state.fiber_slots, fields.fiber, time, m_model.strings);
        index.fibers[slot].exited = time;
        return;
    }
    // fiber_switch: close the running span, open one for `to` (0 = scheduler).
    if (state.running != SIZE_MAX)
        index.fibers[state.running].runs.back().end = time;
    state.running = SIZE_MAX;
    if (fields.to != 0) {
        state.running = fiber_slot(index, state.fiber_slots, fields.to, time, m_model.strings);
        index.fibers[state.running].runs.push_back({time, time});
    }
}

void ModelBuilder::add_fields(NodeState& state, NodeIndex& index, const TraceRecord& record,
                              const TraceFields& f)
{
    TimeNs time = index.last_time;
    switch (record.kind) {
    case TraceKind::boot_phase_begin:
        state.open_phases.push_back(index.phases.size());
        index.phases.push_back({time, time, m_model.strings.intern(f.name),
                                static_cast<u16>(state.open_phases.size() - 1), true});
        break;
    case TraceKind::boot_phase_end:
        if (!state.open_phases.empty()) {
            PhaseSpan& phase = index.phases[state.open_phases.back()];
            phase.end = time;
            phase.open = false;
            state.open_phases.pop_back();
        }
        break;
    case TraceKind::log:
        index.logs.push_back({time, m_model.strings.intern(f.name), f.level});
        break;
    case TraceKind::fiber_spawn:
    case TraceKind::fiber_switch:
    case TraceKind::fiber_exit:
        fiber_record(state, index, record, f);
        break;
    case TraceKind::timer_fire:
        index.timers.push_back({time, f.count});
        break;
    case TraceKind::page_alloc:
    case TraceKind::page_free:
        track_page_event(state.pages, index,
                         {time, f.first_page, f.region, f.order,
                          record.kind == TraceKind::page_alloc ? PageOp::alloc : PageOp::free});
        break;
    case TraceKind::page_region:
        track_page_event(state.pages, index,
                         {time, f.region_pages, f.region, 0, PageOp::region});
        break;
    case TraceKind::heap_classes:
        add_heap_sample(index, time, f.heap);
        break;
    case TraceKind::mem_stats:
        index.mem.push_back({time, f.pages_total, f.pages_used, f.heap_bytes_live,
                             f.heap_allocations, f.heap_frees, f.fragmentation_permille});
        index.pages_high_water = std::max(index.pages_high_water, f.pages_used);
        index.heap_high_water = std::max(index.heap_high_water, f.heap_bytes_live);
        break;
    case TraceKind::kernel_exit:
        index.exit_code = f.exit_code;
        index.exit_time = time;
        break;
    case TraceKind::idle:
        index.idles.push_back({time, time, f.deadline});
        state.idle_open = true;
        break;
    case TraceKind::node_info:
        index.app = m_model.strings.intern(f.name);
        index.platform = m_model.strings.intern(f.name2);
        break;
    case TraceKind::net_rx:
    case TraceKind::net_tx:
    case TraceKind::net_drop: {
        const TraceNetFrame& n = f.net;
        NetEvent event{time, n.source, n.destination, n.length, n.ethertype, n.source_port,
                       n.destination_port, n.protocol, f.reason};
        auto& events = record.kind == TraceKind::net_rx   ? index.net_rx
                       : record.kind == TraceKind::net_tx ? index.net_tx
                                                          : index.net_drops;
        events.push_back(event);
        break;
    }
    case TraceKind::tcp_state:
    case TraceKind::tcp_stats:
        tcp_record(state, index, record, f.tcp);
        break;
    case TraceKind::block_io: {
        const TraceBlockIo& io = f.block;
        TimeNs begin = io.latency_ns < time ? time - io.latency_ns : 0;
        index.block_io.push_back({begin, time, io.sector, io.sectors, io.disk, io.op, io.status});
        break;
    }
    default:
        break; // network kinds of later versions: counted in add(), not indexed
    }
}

void ModelBuilder::tcp_record(NodeState& state, NodeIndex& index, const TraceRecord& record,
                              const TraceTcpConnection& c)
{
    auto key = std::make_tuple(c.local, c.local_port, c.remote, c.remote_port);
    auto [slot, inserted] = state.tcp_slots.emplace(key, index.tcp.size());
    if (inserted) {
        TcpConnection connection;
        connection.local = c.local;
        connection.local_port = c.local_port;
        connection.remote = c.remote;
        connection.remote_port = c.remote_port;
        connection.first_time = record.time;
        index.tcp.push_back(std::move(connection));
    }
    TcpConnection& connection = index.tcp[slot->second];
    connection.last_time = std::max(connection.last_time, record.time);
    if (record.kind == TraceKind::tcp_state) {
        connection.states.push_back({record.time, c.old_state, c.state});
        return;
    }
    connection.samples.push_back({record.time, c.srtt_ns, c.rto_ns, c.cwnd, c.ssthresh, c.snd_wnd,
                                  c.state, c.retransmits, c.bytes_in, c.bytes_out});
    // ssthresh starts "infinite" (a huge value): it would flatten the plot.
    u32 ssthresh = c.ssthresh < (1u << 30) ? c.ssthresh : 0;
    connection.window_max = std::max({connection.window_max, c.cwnd, ssthresh, c.snd_wnd});
    connection.cwnd_max = std::max({connection.cwnd_max, c.cwnd, ssthresh});
    connection.rtt_max = std::max({connection.rtt_max, c.srtt_ns, c.rto_ns});
}

void ModelBuilder::add(const TraceRecord& record)
{
    ++m_model.records;
    // Network kinds (32 and up): counted even when a later version's kind is not
    // indexed, so the network view can say they exist.
    if (static_cast<u8>(record.kind) >= network_kind_first)
        ++m_model.network_records;
    if (!is_known(record.kind)) {
        ++m_model.unknown_records;
        return;
    }
    TraceFields fields;
    if (!decode_fields(record, fields).ok()) {
        ++m_model.malformed_records;
        return;
    }
    // The simulator's fabric writes link records as node 0xffffffff: it is not a
    // kernel, so it gets no lanes; its frames feed the network view's arrows.
    if (record.node == fabric_node) {
        add_link_frame(record, fields);
        return;
    }
    NodeState& state = state_for(record.node, record.time);
    NodeIndex& index = m_model.nodes[m_node_slots[record.node]];
    // Times never go backwards within a node; a corrupt file might, and the
    // binary searches rely on sorted arrays, so clamp rather than trust it.
    index.last_time = std::max(index.last_time, record.time);
    if (state.idle_open) {
        index.idles.back().end = index.last_time; // an idle span lasts until the next record
        state.idle_open = false;
    }
    add_fields(state, index, record, fields);
}

void ModelBuilder::add_link_frame(const TraceRecord& record, const TraceFields& fields)
{
    if (record.kind == TraceKind::sim_fault) {
        m_model.fault_records.push_back(fields.fault);
        m_model.fault_times.push_back(record.time);
        return;
    }
    if (record.kind != TraceKind::link_frame)
        return;
    const TraceLinkFrame& f = fields.link;
    // A send after its fate is corrupt: treat it as instantaneous so the delay
    // bound that limits the visible-frame search stays meaningful.
    TimeNs sent = std::min(f.sent, record.time);
    m_model.link_frames.push_back({record.time, sent, f.link, f.from, f.to, f.length, f.fate});
    m_model.link_delay_max = std::max(m_model.link_delay_max, record.time - sent);
}

namespace {

// Pairs each fault with the record that ends it (restart ends a crash, resume a
// pause, heal or heal-all a partition, a link's clearing its impairments).
std::vector<FaultSpan> derive_fault_spans(const TraceModel& model)
{
    constexpr u32 none = 0xffffffff;
    std::vector<FaultSpan> spans;
    auto close = [&](FaultKind kind, u32 node, u32 peer, TimeNs end, bool either_way) {
        for (FaultSpan& span : spans)
            if (span.open && span.kind == kind &&
                ((span.node == node && span.peer == peer) ||
                 (either_way && span.node == peer && span.peer == node) ||
                 (kind == FaultKind::partition && node == none))) {
                span.end = end;
                span.open = false;
            }
    };
    for (usize i = 0; i < model.fault_records.size(); ++i) {
        const TraceSimFault& f = model.fault_records[i];
        TimeNs t = model.fault_times[i];
        switch (f.fault) {
        case 1: // crash
            close(FaultKind::paused, f.a, none, t, false);
            spans.push_back({t, t, f.a, none, FaultKind::down, true});
            break;
        case 10: // crashed entering a boot phase: down until restarted
            close(FaultKind::paused, f.a, none, t, false);
            spans.push_back({t, t, f.a, none, FaultKind::down, true, f.detail});
            break;
        case 2: // restart
            close(FaultKind::down, f.a, none, t, false);
            close(FaultKind::paused, f.a, none, t, false);
            break;
        case 3:
            spans.push_back({t, t, f.a, none, FaultKind::paused, true});
            break;
        case 4:
            close(FaultKind::paused, f.a, none, t, false);
            break;
        case 5:
            close(FaultKind::partition, f.a, f.b, t, false); // a re-partition restarts it
            spans.push_back({t, t, f.a, f.b, FaultKind::partition, true});
            break;
        case 6:
            close(FaultKind::partition, f.a, f.b, t, true);
            break;
        case 7:
            close(FaultKind::partition, none, none, t, false);
            break;
        case 8:
            close(FaultKind::link, f.a, none, t, false);
            if (f.detail != 0)
                spans.push_back({t, t, f.a, none, FaultKind::link, true});
            break;
        default:
            break; // a later version's fault: nothing to shade
        }
    }
    for (FaultSpan& span : spans)
        if (span.open)
            span.end = std::max(span.begin, model.last_time);
    return spans;
}

} // namespace

std::vector<const FaultSpan*> TraceModel::faults_of(u32 id) const
{
    std::vector<const FaultSpan*> out;
    for (const FaultSpan& span : faults)
        if (span.kind != FaultKind::link && (span.node == id || span.peer == id))
            out.push_back(&span);
    return out;
}

const TraceModel& ModelBuilder::snapshot()
{
    TraceModel& model = m_model;
    // The fabric writes in virtual-time order; a corrupt file might not, and the
    // view binary-searches this array.
    auto by_time = [](const LinkFrame& a, const LinkFrame& b) { return a.time < b.time; };
    if (!std::is_sorted(model.link_frames.begin(), model.link_frames.end(), by_time)) {
        std::stable_sort(model.link_frames.begin(), model.link_frames.end(), by_time);
        m_frames_matched = 0; // frames moved: match them all again
    }
    bool sorted = true;
    for (usize i = 0; i < model.nodes.size(); ++i) {
        NodeIndex& index = model.nodes[i];
        NodeState& state = *m_states[i];
        for (usize open : state.open_phases)
            index.phases[open].end = index.last_time;
        if (state.running != SIZE_MAX)
            index.fibers[state.running].runs.back().end = index.last_time;
        if (state.idle_open)
            index.idles.back().end = index.last_time;
        if (i > 0 && model.nodes[i - 1].node > index.node)
            sorted = false;
    }
    if (!sorted) {
        std::vector<usize> order(model.nodes.size());
        for (usize i = 0; i < order.size(); ++i)
            order[i] = i;
        std::sort(order.begin(), order.end(),
                  [&](usize a, usize b) { return model.nodes[a].node < model.nodes[b].node; });
        std::vector<NodeIndex> nodes;
        std::vector<std::unique_ptr<NodeState>> states;
        for (usize i : order) {
            nodes.push_back(std::move(model.nodes[i]));
            states.push_back(std::move(m_states[i]));
            m_node_slots[nodes.back().node] = nodes.size() - 1;
        }
        model.nodes = std::move(nodes);
        m_states = std::move(states);
    }
    if (!model.nodes.empty()) {
        model.first_time = model.nodes[0].first_time;
        model.last_time = model.nodes[0].last_time;
    }
    for (const NodeIndex& index : model.nodes) {
        model.first_time = std::min(model.first_time, index.first_time);
        model.last_time = std::max(model.last_time, index.last_time);
    }
    if (!model.fault_times.empty())
        model.last_time = std::max(model.last_time, model.fault_times.back());
    model.faults = derive_fault_spans(model);
    // After the nodes are sorted: matching looks senders up by id.
    m_frames_matched = match_frame_headers(model, m_frames_matched);
    return model;
}

namespace {

template<typename T>
usize capacity_bytes(const std::vector<T>& items)
{
    return items.capacity() * sizeof(T);
}

usize node_bytes(const NodeIndex& n)
{
    usize bytes = sizeof(NodeIndex) + capacity_bytes(n.phases) + capacity_bytes(n.fibers) +
                  capacity_bytes(n.idles) + capacity_bytes(n.timers) + capacity_bytes(n.logs) +
                  capacity_bytes(n.mem) + capacity_bytes(n.pages) + capacity_bytes(n.heap) +
                  capacity_bytes(n.net_tx) + capacity_bytes(n.net_rx) +
                  capacity_bytes(n.net_drops) + capacity_bytes(n.tcp) +
                  capacity_bytes(n.block_io) + capacity_bytes(n.page_checkpoints);
    for (const FiberLane& lane : n.fibers)
        bytes += capacity_bytes(lane.runs);
    for (const TcpConnection& c : n.tcp)
        bytes += capacity_bytes(c.states) + capacity_bytes(c.samples);
    for (const PageCheckpoint& c : n.page_checkpoints)
        bytes += capacity_bytes(c.used) + capacity_bytes(c.region_pages);
    return bytes;
}

} // namespace

usize model_bytes(const TraceModel& model)
{
    usize bytes = sizeof(TraceModel) + capacity_bytes(model.nodes) +
                  capacity_bytes(model.link_frames) + capacity_bytes(model.fault_records) +
                  capacity_bytes(model.fault_times) + capacity_bytes(model.faults);
    for (const NodeIndex& node : model.nodes)
        bytes += node_bytes(node) - sizeof(NodeIndex); // counted in nodes' capacity
    for (usize id = 0; id < model.strings.size(); ++id)
        bytes += model.strings.view(id).size() + sizeof(std::string_view) + 32; // + map entry
    return bytes;
}

std::string format_duration(TimeNs ns)
{
    char text[40];
    if (ns < ns_per_us)
        std::snprintf(text, sizeof(text), "%" PRIu64 " ns", ns);
    else if (ns < ns_per_ms)
        std::snprintf(text, sizeof(text), "%.3g us", static_cast<double>(ns) / 1e3);
    else if (ns < ns_per_s)
        std::snprintf(text, sizeof(text), "%.4g ms", static_cast<double>(ns) / 1e6);
    else
        std::snprintf(text, sizeof(text), "%.4g s", static_cast<double>(ns) / 1e9);
    return text;
}

std::string format_time(TimeNs ns)
{
    char text[40];
    std::snprintf(text, sizeof(text), "%" PRIu64 ".%09" PRIu64 " s", ns / ns_per_s,
                  ns % ns_per_s);
    return text;
}

} // namespace gantry::viz
