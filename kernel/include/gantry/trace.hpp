// Tracing: the kernel records what happens (boot phases, fibers, timers, memory,
// log lines; network events in later versions) as compact binary records into a
// bounded buffer, which the platform drains to a sink (a file when hosted).
// The format is documented in docs/trace-format.md; TraceReader reads it back
// and is shared by the harness and the visualiser.
#pragma once

#include <gantry/result.hpp>
#include <gantry/types.hpp>

namespace gantry {

class Platform;

inline constexpr u8 trace_magic[8] = {'G', 'A', 'N', 'T', 'R', 'Y', 'T', 'R'};
inline constexpr u16 trace_version = 1;
inline constexpr usize trace_file_header_bytes = 32;
inline constexpr usize trace_record_header_bytes = 16;
inline constexpr usize trace_record_bytes_max = 0xffff;
// Strings longer than this are truncated when encoded, so that every record of
// every kind fits a record (and a small tracer buffer) whatever the caller passes.
inline constexpr usize trace_str_bytes_max = 1024;

// Record kinds. Values are part of the file format: never renumber, only add.
// Readers skip kinds they do not know (every record carries its length).
enum class TraceKind : u8 {
    boot_phase_begin = 1, // str name
    boot_phase_end = 2,   // str name
    log = 3,              // u8 level, str text
    fiber_spawn = 4,      // u32 fiber, u32 parent, str name
    fiber_switch = 5,     // u32 from, u32 to (0 = the scheduler itself)
    fiber_exit = 6,       // u32 fiber
    timer_fire = 7,       // u32 timers fired in one pass
    page_alloc = 8,       // u8 region, u8 order, u64 first page
    page_free = 9,        // u8 region, u8 order, u64 first page
    mem_stats = 10,       // u64 pages_total, u64 pages_used, u32 fragmentation_permille,
                          // u64 heap_bytes_live, u64 heap_allocations, u64 heap_frees
    kernel_exit = 11,     // i32 exit code
    idle = 12,            // u64 deadline (~0 = none): the kernel waits for an event
    node_info = 13,       // str app, str platform: first record of each node
    // The page map and the heap's size classes (see TraceHeapClasses).
    page_region = 14,     // u8 region, u64 pages: a region the buddy allocator manages
    heap_classes = 15,    // u32 slab pages, u32 large live, u32 large pages, u8 count,
                          // count x (u16 object bytes, u32 objects live)
    // Network frames at a node's NIC (see TraceNetFrame; docs/trace-format.md).
    net_rx = 32,          // u32 iface, u16 length, u16 ethertype, u8 ip protocol,
                          // u32 source ip, u32 destination ip, u16 source port,
                          // u16 destination port
    net_tx = 33,          // the same fields as net_rx
    net_drop = 34,        // the same fields as net_rx, u8 reason (net::DropReason)
    // The simulator's fabric: what became of a frame on one link (see TraceLinkFrame).
    link_frame = 40,      // u32 link, u32 from node, u32 to node, u16 length, u8 fate,
                          // u64 send time
    sim_fault = 41,       // u8 fault, u32 a, u32 b, u8 detail (see TraceSimFault)
    // TCP connections (see TraceTcpConnection; docs/trace-format.md).
    tcp_state = 48,       // u32 local ip, u16 local port, u32 remote ip, u16 remote port,
                          // u8 old state, u8 new state (net::TcpState)
    tcp_stats = 49,       // the 4-tuple, u8 state, u64 srtt ns, u64 rttvar ns, u64 rto ns,
                          // u32 cwnd, u32 ssthresh, u32 snd_wnd, u64 retransmits,
                          // u64 bytes in, u64 bytes out
    // Block devices (see TraceBlockIo).
    block_io = 56,        // u32 disk, u8 op, u8 status, u64 sector, u32 sectors,
                          // u64 latency ns: one request completed
};
inline constexpr u8 trace_kind_max = 56; // the highest kind this version knows

// A frame as the trace records it: enough for a sequence diagram. Fields a frame
// does not have (ports of an ARP frame, ...) are zero; addresses are host-order
// u32 (10.0.0.1 = 0x0a000001).
struct TraceNetFrame {
    u32 iface = 0;
    u16 length = 0;
    u16 ethertype = 0;
    u8 protocol = 0;
    u32 source = 0;
    u32 destination = 0;
    u16 source_port = 0;
    u16 destination_port = 0;
};

// A frame's fate on one simulated link, written by the simulator (record node
// 0xffffffff: the fabric) at the time of the fate. `from` is the node that sent
// the frame, `to` the node it reaches or would have reached (0xffffffff when it
// was lost before a switch chose a port). Fates: 0 delivered, 1 delivered
// corrupted, 2 a duplicate copy (delivered), 3 lost, 4 queue full, 5 mtu,
// 6 partition, 7 node down.
struct TraceLinkFrame {
    u32 link = 0;
    u32 from = 0;
    u32 to = 0;
    u16 length = 0;
    u8 fate = 0;
    TimeNs sent = 0;
};

// A fault the simulator applied, written by the world (record node 0xffffffff)
// at the time it took effect. Faults: 1 crash, 2 restart, 3 pause, 4 resume
// (a = the node); 5 partition (a = from, b = to; detail 0 both ways, 1 one way),
// 6 heal (a, b), 7 heal all; 8 link faults set (a = the link; detail 1 when any
// impairment is on, 0 when cleared); 9 clock drift of node a set (b = the new
// drift in ppm, a two's-complement i32); 10 node a crashed entering a boot
// phase (detail = the phase: sim_boot_phase_names[detail]).
struct TraceSimFault {
    u8 fault = 0;
    u32 a = 0;
    u32 b = 0;
    u8 detail = 0;
};

// The boot phases a boot crash (sim_fault 10) names by number, in boot order;
// 0: a phase this list does not know.
inline constexpr const char* sim_boot_phase_names[] = {"?", "platform", "memory", "net",
                                                        "app start"};
inline constexpr u8 sim_boot_phase_count = 5;

constexpr u8 sim_boot_phase_number(std::string_view name)
{
    for (u8 i = 1; i < sim_boot_phase_count; ++i)
        if (name == sim_boot_phase_names[i])
            return i;
    return 0;
}

constexpr const char* sim_boot_phase_name(u8 number)
{
    return number < sim_boot_phase_count ? sim_boot_phase_names[number] : "?";
}

// A TCP connection's 4-tuple and, for tcp_stats, its figures (addresses as
// host-order u32 like TraceNetFrame). States are net::TcpState values.
struct TraceTcpConnection {
    u32 local = 0;
    u16 local_port = 0;
    u32 remote = 0;
    u16 remote_port = 0;
    u8 old_state = 0; // tcp_state
    u8 state = 0;     // tcp_state: the new state; tcp_stats: the current one
    TimeNs srtt_ns = 0;
    TimeNs rttvar_ns = 0;
    TimeNs rto_ns = 0;
    u32 cwnd = 0;
    u32 ssthresh = 0;
    u32 snd_wnd = 0;
    u64 retransmits = 0;
    u64 bytes_in = 0;
    u64 bytes_out = 0;
};

// One completed block request. op: 0 read, 1 write, 2 flush (gantry::BlockOp);
// status: gantry::BlockStatus (1 ok, 2 I/O error, 3 out of range, 4 read-only).
struct TraceBlockIo {
    u32 disk = 0;
    u8 op = 0;
    u8 status = 0;
    u64 sector = 0;
    u32 sectors = 0;
    TimeNs latency_ns = 0;
};

// The heap by size class, sampled with mem_stats: live objects per class (each
// class's slabs are one-page blocks) and the large allocations, which have page
// blocks of their own.
struct TraceHeapClasses {
    static constexpr usize classes_max = 16; // a record with more: the rest is ignored
    u32 slab_pages = 0;
    u32 large_live = 0;
    u32 large_pages = 0;
    u8 class_count = 0;
    u16 class_bytes[classes_max] = {};
    u32 objects_live[classes_max] = {};
};

// false for kinds added by later versions: readers skip them.
bool is_known(TraceKind kind);
// The kind's name as in docs/trace-format.md ("fiber_switch"); "unknown" otherwise.
std::string_view to_string(TraceKind kind);

// Encodes records into the kernel's buffer and drains it to the platform's sink.
class Tracer {
public:
    static constexpr usize buffer_bytes_default = 64 * 1024;

    Tracer() = default;
    Tracer(const Tracer&) = delete;

    // `buffer` is owned by the kernel and outlives the tracer's use of it.
    void attach(Platform& platform, u32 node, MutableBytes buffer);
    bool enabled() const { return m_enabled; }
    void set_enabled(bool enabled) { m_enabled = enabled && m_buffer.size() > 0; }

    void boot_phase_begin(std::string_view name);
    void boot_phase_end(std::string_view name);
    void log(u8 level, std::string_view text);
    void fiber_spawn(u32 fiber, u32 parent, std::string_view name);
    void fiber_switch(u32 from, u32 to);
    void fiber_exit(u32 fiber);
    void timer_fire(u32 count);
    void page_alloc(u32 region, u32 order, u64 first_page);
    void page_free(u32 region, u32 order, u64 first_page);
    void page_region(u32 region, u64 pages);
    void heap_classes(const TraceHeapClasses& classes);
    void mem_stats(u64 pages_total, u64 pages_used, u32 fragmentation_permille,
                   u64 heap_bytes_live, u64 heap_allocations, u64 heap_frees);
    void kernel_exit(i32 code);
    void idle(TimeNs deadline);
    void node_info(std::string_view app, std::string_view platform);
    void net_rx(const TraceNetFrame& frame);
    void net_tx(const TraceNetFrame& frame);
    void net_drop(const TraceNetFrame& frame, u8 reason);
    void tcp_state(const TraceTcpConnection& connection);
    void tcp_stats(const TraceTcpConnection& connection);
    void block_io(const TraceBlockIo& io);

    // Writes the file header to the sink. Called once per output file (hosted and
    // sim call it; a sim run with many nodes writes one header for all).
    static void encode_file_header(u8 (&out)[trace_file_header_bytes]);

    // Hands everything buffered to the sink. Safe to call at any time.
    void flush();

    // Records encoded into the buffer (including any dropped later).
    u64 records_written() const { return m_records; }
    u64 records_dropped() const { return m_dropped; } // lost for lack of a sink
    // What is buffered and not yet handed to a sink: the in-memory ring a
    // platform without a sink (or a test) can inspect.
    Bytes buffered() const { return m_buffer.first(m_used); }

private:
    // Reserves a record of `payload_bytes` and writes its header; nullptr if tracing is off.
    u8* begin_record(TraceKind kind, usize payload_bytes);
    // Makes room for `record_bytes`; false if the record can never fit.
    bool make_room(usize record_bytes);
    void record_str(TraceKind kind, std::string_view text);
    void record_net(TraceKind kind, const TraceNetFrame& frame, u8 reason);

    Platform* m_platform = nullptr;
    MutableBytes m_buffer;
    usize m_used = 0;
    usize m_buffered_records = 0; // records in m_buffer[0, m_used)
    u32 m_node = 0;
    bool m_enabled = false;
    bool m_has_sink = false;
    u64 m_records = 0;
    u64 m_dropped = 0;
};

// One decoded record. `payload` points into the reader's buffer and is valid
// until the next call to TraceReader::next.
struct TraceRecord {
    TraceKind kind;
    u32 node;
    TimeNs time;
    Bytes payload;
    u64 file_offset; // where the record starts, for error messages
};

enum class TraceReadError : u8 {
    io_error,
    not_a_trace,          // bad magic
    unsupported_version,
    truncated_header,
    truncated_record,
    bad_record_length,    // shorter than a record header
    bad_header_length,    // the file header says it is shorter than 32 bytes
};
std::string_view describe(TraceReadError error);

// Supplies bytes to the reader. Returns the count read; 0 at end of input, or
// -1 on an I/O error.
class TraceSource {
public:
    virtual ~TraceSource() = default;
    virtual i64 read(MutableBytes out) = 0;
};

// A trace already in memory. Hands out at most `chunk_bytes_max` bytes per read,
// as a pipe or a slow disk might; tests and the fuzzer use small chunks to
// exercise the reader's refilling.
class BytesTraceSource final : public TraceSource {
public:
    explicit BytesTraceSource(Bytes bytes, usize chunk_bytes_max = ~usize{0})
        : m_bytes(bytes), m_chunk_bytes_max(chunk_bytes_max)
    {
    }
    i64 read(MutableBytes out) override;

private:
    Bytes m_bytes;
    usize m_chunk_bytes_max;
    usize m_position = 0;
};

// Streams records from a source with a fixed buffer (bounded memory whatever
// the trace's size). Never trusts lengths in the file.
class TraceReader {
public:
    explicit TraceReader(TraceSource& source) : m_source(source) {}

    Status<TraceReadError> open();
    u16 version() const { return m_version; }
    // true and a record, false at a clean end of the trace, or an error. Records
    // of unknown kinds are returned too (callers skip them: see is_known). After
    // an error every further call returns the same error.
    Result<bool, TraceReadError> next(TraceRecord& record);
    // The file offset of the next unread byte; after an error, where the bad
    // item starts (the header field for header errors, the record otherwise).
    u64 offset() const { return m_offset; }

private:
    bool fill(usize bytes_needed, bool& io_failed);
    Failure<TraceReadError> failed(TraceReadError error, u64 offset);
    usize available() const { return m_end - m_start; }

    TraceSource& m_source;
    u8 m_buffer[trace_record_bytes_max + 1];
    usize m_start = 0; // first unconsumed byte in m_buffer
    usize m_end = 0;   // one past the last valid byte
    u64 m_offset = 0;  // file offset of m_buffer[m_start]
    u16 m_version = 0;
    bool m_opened = false;
    bool m_eof = false;
    bool m_failed = false;
    TraceReadError m_error = TraceReadError::io_error;
};

// Little-endian cursor for decoding payloads. Every read checks bounds; after
// a failed read `ok()` is false and further reads return zeros.
class PayloadCursor {
public:
    explicit PayloadCursor(Bytes bytes) : m_bytes(bytes) {}
    u8 read_u8();
    u16 read_u16();
    u32 read_u32();
    u64 read_u64();
    i32 read_i32() { return static_cast<i32>(read_u32()); }
    std::string_view read_str();
    bool ok() const { return m_ok; }
    bool at_end() const { return m_position == m_bytes.size(); }

private:
    bool take(usize count);
    Bytes m_bytes;
    usize m_position = 0;
    bool m_ok = true;
};

// A record's payload decoded by kind. Only the fields TraceKind lists for the
// record's kind are set; the rest stay zero. Strings point into the record.
struct TraceFields {
    std::string_view name;  // boot phase, fiber name, log text, node_info app
    std::string_view name2; // node_info platform
    u8 level = 0;
    u8 region = 0;
    u8 order = 0;
    u32 fiber = 0;          // fiber_spawn, fiber_exit
    u32 parent = 0;
    u32 from = 0;
    u32 to = 0;
    u32 count = 0;          // timer_fire
    u32 fragmentation_permille = 0;
    i32 exit_code = 0;
    u64 first_page = 0;
    u64 pages_total = 0;
    u64 pages_used = 0;
    u64 heap_bytes_live = 0;
    u64 heap_allocations = 0;
    u64 heap_frees = 0;
    TimeNs deadline = 0;    // idle
    TraceNetFrame net;      // net_rx, net_tx, net_drop
    u8 reason = 0;          // net_drop
    TraceLinkFrame link;    // link_frame
    TraceTcpConnection tcp; // tcp_state, tcp_stats
    TraceBlockIo block;     // block_io
    TraceSimFault fault;    // sim_fault
    u64 region_pages = 0;   // page_region (its index is `region`)
    TraceHeapClasses heap;  // heap_classes
};

enum class TraceDecodeError : u8 {
    unknown_kind,      // skip the record: a later version wrote it
    truncated_payload, // shorter than its kind's fields
};
std::string_view describe(TraceDecodeError error);

// Decodes the payload of a known kind. Bytes after the known fields are
// ignored: later versions may append fields to a kind.
Status<TraceDecodeError> decode_fields(const TraceRecord& record, TraceFields& out);

} // namespace gantry
