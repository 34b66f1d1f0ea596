// The visualiser's index of a trace: what happened on each node, as compact
// time-sorted arrays that views can binary-search by time. Building it is one
// pass over the records; nothing here depends on SDL, so it is unit-tested alone.
#pragma once

#include <gantry/trace.hpp>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gantry::viz {

// Interned strings: events keep a u32 id instead of a std::string, so a million
// events cost a million small structs, not a million heap blocks.
class StringPool {
public:
    static constexpr u32 empty_id = 0;

    StringPool();
    u32 intern(std::string_view text);
    std::string_view view(u32 id) const { return m_views[id]; }
    usize size() const { return m_views.size(); }

private:
    static constexpr usize block_bytes = 64 * 1024; // > trace_str_bytes_max
    std::vector<std::unique_ptr<char[]>> m_blocks;
    usize m_block_used = block_bytes;
    std::vector<std::string_view> m_views; // point into m_blocks: stable
    std::unordered_map<std::string_view, u32> m_ids;
};

struct PhaseSpan {
    TimeNs begin;
    TimeNs end;
    u32 name;
    u16 depth; // 0 = outermost; phases nest
    bool open; // the trace ended before the phase did
};

struct RunSpan { // one fiber running, between two fiber_switch records
    TimeNs begin;
    TimeNs end;
};

struct IdleSpan {
    TimeNs begin;
    TimeNs end;
    TimeNs deadline; // deadline_none: woken only by an event
};

struct TimerPass {
    TimeNs time;
    u32 count;
};

struct LogMark {
    TimeNs time;
    u32 text;
    u8 level;
};

struct MemSample {
    TimeNs time;
    u64 pages_total;
    u64 pages_used;
    u64 heap_bytes_live;
    u64 heap_allocations;
    u64 heap_frees;
    u32 fragmentation_permille;
};

// A page_alloc, page_free or page_region record. For a region, `first_page`
// holds the region's page count and `order` is unused.
enum class PageOp : u8 { free, alloc, region };
struct PageEvent {
    TimeNs time;
    u64 first_page;
    u8 region;
    u8 order;
    PageOp op;
    bool alloc() const { return op == PageOp::alloc; }
};

// A block of the buddy allocator: 2^order pages from `first_page` of `region`.
struct PageBlock {
    u64 first_page;
    u8 region;
    u8 order;
    bool operator==(const PageBlock&) const = default;
};

// Which blocks were allocated on a node at one time, rebuilt from its page
// events: regions by index (0 pages = never described), used blocks sorted by
// region, then page.
struct PageMap {
    TimeNs time = 0;
    std::vector<u64> region_pages;
    std::vector<PageBlock> used;
    u64 used_pages() const;
};

// The page map after the node's first `events` page events, kept every so many
// events so that the map at any time replays a bounded number of events.
struct PageCheckpoint {
    usize events;
    std::vector<u64> region_pages;
    std::vector<PageBlock> used;
};

// The heap by size class at one time (heap_classes records).
struct HeapSample {
    TimeNs time;
    u32 slab_pages;
    u32 large_live;
    u32 large_pages;
    u32 objects_live[TraceHeapClasses::classes_max];
};

// A frame at a node's NIC (net_rx, net_tx, net_drop records). Addresses are
// host-order IPv4 (0 when the frame has none); ports are 0 when not TCP/UDP.
struct NetEvent {
    TimeNs time;
    u32 source;
    u32 destination;
    u16 length;
    u16 ethertype;
    u16 source_port;
    u16 destination_port;
    u8 protocol; // IP protocol number (1 ICMP, 6 TCP, 17 UDP)
    u8 reason;   // net_drop: net::DropReason
};

// What a frame carried, as the network filter tells it apart (from its
// ethertype and IP protocol). `unknown` is a link frame whose headers the trace
// does not give: no net_tx record of its sender matched it.
enum class NetProtocol : u8 { arp, icmp, udp, tcp, other, unknown };
inline constexpr usize net_protocols_selectable = 5; // arp .. other

NetProtocol net_protocol(u16 ethertype, u8 ip_protocol);
inline NetProtocol net_protocol(const NetEvent& event)
{
    return net_protocol(event.ethertype, event.protocol);
}

// How a link frame was matched to its sender's net_tx record (the fabric's
// record has no headers): the only record sent then with that length (or all
// such records carry the same headers), the only one the receiver's net_rx at
// the arrival confirms, or, among several frames handed over together, by
// their order. `none`: no record matched (the sender did not trace its NIC).
enum class HeaderMatch : u8 { none, exact, by_receiver, by_order };

// A frame's fate on one simulated link (link_frame, written by the fabric):
// `time` is when the fate was decided (arrival for a delivery), `sent` when
// `from` handed it to its NIC. `to` is 0xffffffff when no receiver was chosen.
struct LinkFrame {
    TimeNs time;
    TimeNs sent;
    u32 link;
    u32 from;
    u32 to;
    u16 length;
    u8 fate; // FrameFate: 0 delivered, 1 corrupted, 2 duplicate, 3.. dropped
    // Derived when the model is built (match_frame_headers in snapshot()):
    NetProtocol protocol = NetProtocol::unknown;
    HeaderMatch match = HeaderMatch::none;
    u32 header = no_header; // index into the sender's net_tx
    static constexpr u32 no_header = 0xffffffff;
};

// One TCP connection as the trace saw it (tcp_state and tcp_stats records with
// the same 4-tuple on one node; a 4-tuple reused later stays one connection).
struct TcpStateChange {
    TimeNs time;
    u8 from; // net::TcpState
    u8 to;
};

struct TcpSample {
    TimeNs time;
    TimeNs srtt;
    TimeNs rto;
    u32 cwnd;
    u32 ssthresh;
    u32 snd_wnd;
    u8 state;
    u64 retransmits;
    u64 bytes_in;
    u64 bytes_out;
};

struct TcpConnection {
    u32 local = 0;
    u32 remote = 0;
    u16 local_port = 0;
    u16 remote_port = 0;
    std::vector<TcpStateChange> states;
    std::vector<TcpSample> samples;
    u32 window_max = 0; // largest cwnd, finite ssthresh or snd_wnd
    u32 cwnd_max = 0;   // largest cwnd or finite ssthresh: the plot's scale (the peer's
                        // window, often far larger, is clipped at the top)
    TimeNs rtt_max = 0; // largest srtt or rto
    TimeNs first_time = 0;
    TimeNs last_time = 0;
};

// A completed block request (block_io): it ran from `begin` (end minus its
// latency) to `end`.
struct BlockEvent {
    TimeNs begin;
    TimeNs end;
    u64 sector;
    u32 sectors;
    u32 disk;
    u8 op;     // gantry::BlockOp: 0 read, 1 write, 2 flush
    u8 status; // gantry::BlockStatus: 1 ok, else an error
};

// A period during which the simulator held a fault on a node (from sim_fault
// records): down (crashed until restarted), paused, or cut off from `peer` by a
// partition; link impairments switched on are kept per link.
enum class FaultKind : u8 { down, paused, partition, link };
struct FaultSpan {
    TimeNs begin;
    TimeNs end;
    u32 node; // the node, or the link for FaultKind::link
    u32 peer; // partition: the other node; else 0xffffffff
    FaultKind kind;
    bool open;         // the trace ended before the fault did
    u8 boot_phase = 0; // down after a boot crash: the phase (sim_boot_phase_name)
};

struct FiberLane {
    u32 fiber; // per-node id, from 1
    u32 name;  // StringPool id
    u32 parent;
    TimeNs spawned;
    TimeNs exited; // 0: did not exit within the trace
    std::vector<RunSpan> runs; // sorted, never overlapping
};

struct NodeIndex {
    u32 node = 0;
    u32 app = StringPool::empty_id;
    u32 platform = StringPool::empty_id;
    TimeNs first_time = 0;
    TimeNs last_time = 0;
    std::optional<i32> exit_code;
    TimeNs exit_time = 0;
    std::vector<PhaseSpan> phases; // in begin order
    std::vector<FiberLane> fibers; // in spawn order
    std::vector<IdleSpan> idles;
    std::vector<TimerPass> timers;
    std::vector<LogMark> logs;
    std::vector<MemSample> mem;
    std::vector<PageEvent> pages;
    std::vector<PageCheckpoint> page_checkpoints; // by `events`, ascending
    std::vector<HeapSample> heap;
    u8 heap_class_count = 0; // classes the node's heap has (from its heap_classes records)
    u16 heap_class_bytes[TraceHeapClasses::classes_max] = {};
    u64 heap_bar_bytes_max = 0; // largest class (or large) bytes in any sample: the bars' scale
    std::vector<NetEvent> net_tx; // one array per direction: each is drawn and
    std::vector<NetEvent> net_rx; // searched on its own, so a drop is never
    std::vector<NetEvent> net_drops; // hidden behind a frame in the same pixel
    std::vector<TcpConnection> tcp;  // in order of first appearance
    std::vector<BlockEvent> block_io; // sorted by end (completion) time
    u64 pages_high_water = 0;
    u64 heap_high_water = 0;

    const FiberLane* fiber(u32 id) const;
};

struct TraceModel {
    StringPool strings;
    std::vector<NodeIndex> nodes; // sorted by node id
    TimeNs first_time = 0;
    TimeNs last_time = 0;
    u64 records = 0;
    u64 unknown_records = 0;   // kinds from a later format version, skipped
    u64 malformed_records = 0; // known kinds with a short payload, skipped
    u64 network_records = 0;   // net_rx, net_tx, net_drop and later network kinds
    std::vector<LinkFrame> link_frames; // sorted by time (the fate's, not `sent`)
    std::vector<TraceSimFault> fault_records; // in trace order, with...
    std::vector<TimeNs> fault_times;          // ...their times
    std::vector<FaultSpan> faults;            // derived by snapshot(), by begin
    TimeNs link_delay_max = 0;          // longest time - sent: bounds the search

    bool empty() const { return records == 0; }
    const NodeIndex* node(u32 id) const;
    // The fault spans that concern node `id` (down, paused, partitions it is in).
    std::vector<const FaultSpan*> faults_of(u32 id) const;
};

// Raised for an unreadable trace: where (file offset) and what, plus a hint.
struct LoadError {
    std::string path;
    u64 offset = 0;
    std::string message;
    std::string hint;
    std::string to_string() const; // "PATH:OFFSET: message"
};

// Feeds records one at a time (a file, a test's buffer, or the growing tail of a
// followed trace) and keeps the spans that are still open between feeds.
class ModelBuilder {
public:
    ModelBuilder();
    ~ModelBuilder();
    void add(const TraceRecord& record);
    // Closes still-open spans at their node's last time and returns the model.
    // May be called again after more add()s: open spans stay open and grow.
    const TraceModel& snapshot();
    TraceModel& model() { return m_model; }

private:
    struct NodeState;
    NodeState& state_for(u32 node, TimeNs time);
    void add_fields(NodeState& state, NodeIndex& index, const TraceRecord& record,
                    const TraceFields& fields);
    void add_link_frame(const TraceRecord& record, const TraceFields& fields);
    void fiber_record(NodeState& state, NodeIndex& index, const TraceRecord& record,
                      const TraceFields& fields);
    void tcp_record(NodeState& state, NodeIndex& index, const TraceRecord& record,
                    const TraceTcpConnection& connection);

    TraceModel m_model;
    // Parallel to m_model.nodes until snapshot() sorts both by node id.
    std::vector<std::unique_ptr<NodeState>> m_states;
    std::unordered_map<u32, usize> m_node_slots;
    usize m_frames_matched = 0; // link frames before this have their final headers
};

// What to do with a record cut off at the end of the file: an error for a
// finished trace; ignored when following a trace that is still being written.
enum class TruncatedTail : u8 { error, ignore };

// Loads a whole trace file. Throws LoadError (never crashes) for a missing,
// empty, corrupt or truncated file.
TraceModel load_trace_file(const std::string& path, TruncatedTail tail = TruncatedTail::error);

// Loads from bytes in memory (tests, benchmarks); `name` prefixes error messages.
TraceModel load_trace_bytes(Bytes bytes, const std::string& name = "<memory>");

// Follows a trace that is still being written (gantry-viz --follow): each
// poll() reads only the bytes appended since the last one and feeds their
// records to the same builder, so keeping up costs what was appended, not the
// file's size. A record cut off at the end (the writer is mid-flush) waits for
// the next poll. A file that shrank was replaced: it is read again from the start.
class TraceFollower {
public:
    explicit TraceFollower(std::string path);
    ~TraceFollower();
    // true when records arrived. Throws LoadError for a missing or corrupt file;
    // the records before the error stay in the model.
    bool poll();
    const TraceModel& model() const;
    u64 consumed() const { return m_consumed; }     // file offset after the last whole record
    u64 bytes_read() const { return m_bytes_read; } // from the file, over every poll
    u64 restarts() const { return m_restarts; }     // times the file was replaced

private:
    bool read_header(std::FILE* file, u64 size);
    void reset();

    std::string m_path;
    std::unique_ptr<ModelBuilder> m_builder;
    std::vector<u8> m_header; // the file's header, replayed to a fresh reader each poll
    u64 m_consumed = 0;
    u64 m_bytes_read = 0;
    u64 m_restarts = 0;
    bool m_failed = false; // corrupt at m_consumed: wait until the file is rewritten
};

// Binary search helpers: index of the first item whose end (or time) is >= t.
template<typename T>
usize first_ending_at_or_after(const std::vector<T>& spans, TimeNs t)
{
    usize low = 0, high = spans.size();
    while (low < high) {
        usize mid = low + (high - low) / 2;
        if (spans[mid].end < t)
            low = mid + 1;
        else
            high = mid;
    }
    return low;
}

template<typename T>
usize first_at_or_after(const std::vector<T>& points, TimeNs t)
{
    usize low = 0, high = points.size();
    while (low < high) {
        usize mid = low + (high - low) / 2;
        if (points[mid].time < t)
            low = mid + 1;
        else
            high = mid;
    }
    return low;
}

// The page map of `node` at time `t` (every page event at or before t applied).
PageMap page_map_at(const NodeIndex& node, TimeNs t);
// The heap_classes sample in effect at `t` (the last at or before it), if any.
const HeapSample* heap_sample_at(const NodeIndex& node, TimeNs t);
// Bytes in a heap sample's bar: class `index` (objects x object bytes), or the
// large allocations' pages when index == node.heap_class_count.
u64 heap_bar_bytes(const NodeIndex& node, const HeapSample& sample, usize index);

// Matches link frames [first, end) to the net_tx records of their senders
// (LinkFrame::header, protocol, match) and returns the first frame whose match
// may still change when more records arrive (--follow): its sender, or its
// receiver, has no record later than the frame yet. snapshot() calls it.
usize match_frame_headers(TraceModel& model, usize first);

// Rough bytes the model holds (arrays' capacities, strings): for the benchmark's
// memory-per-record figure.
usize model_bytes(const TraceModel& model);

std::string format_duration(TimeNs ns); // "1.234 ms", "17 us", "2.5 s"
std::string format_time(TimeNs ns);     // seconds with as many digits as useful

} // namespace gantry::viz
