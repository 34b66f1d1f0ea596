// Tracer: encodes trace records (docs/trace-format.md) field by field, little
// endian, into a buffer the kernel owns, and drains it to the platform's sink.
// Fiber switches are traced, so the per-record path is a bounds check, a clock
// read and a few stores; everything else (flushing, dropping) is the rare path.
#include <gantry/assert.hpp>
#include <gantry/platform.hpp>
#include <gantry/trace.hpp>

namespace gantry {

namespace {

// Writes fields into a record that begin_record has already reserved, so the
// space is known to be there and no call can fail.
class Encoder {
public:
    explicit Encoder(u8* out) : m_out(out) {}

    void put_u8(u8 value) { *m_out++ = value; }
    void put_u16(u16 value)
    {
        put_u8(static_cast<u8>(value));
        put_u8(static_cast<u8>(value >> 8));
    }
    void put_u32(u32 value)
    {
        put_u16(static_cast<u16>(value));
        put_u16(static_cast<u16>(value >> 16));
    }
    void put_u64(u64 value)
    {
        put_u32(static_cast<u32>(value));
        put_u32(static_cast<u32>(value >> 32));
    }
    void put_str(std::string_view text)
    {
        usize length = clamped_length(text);
        put_u16(static_cast<u16>(length));
        for (usize i = 0; i < length; ++i)
            put_u8(static_cast<u8>(text[i]));
    }

    static usize clamped_length(std::string_view text)
    {
        return text.size() < trace_str_bytes_max ? text.size() : trace_str_bytes_max;
    }
    static usize str_bytes(std::string_view text) { return 2 + clamped_length(text); }

private:
    u8* m_out;
};

static_assert(trace_record_header_bytes + 2 * (2 + trace_str_bytes_max) + 8 <
                  trace_record_bytes_max,
              "the largest record of every kind must fit the u16 length");

} // namespace

void Tracer::attach(Platform& platform, u32 node, MutableBytes buffer)
{
    // Re-attaching with records still buffered would lose them silently.
    GANTRY_ASSERT(m_used == 0);
    m_platform = &platform;
    m_node = node;
    m_buffer = buffer;
    m_used = 0;
    m_buffered_records = 0;
    m_has_sink = platform.trace_sink_enabled();
    m_enabled = m_enabled && m_buffer.size() > 0;
}

void Tracer::encode_file_header(u8 (&out)[trace_file_header_bytes])
{
    for (usize i = 0; i < trace_file_header_bytes; ++i)
        out[i] = 0; // reserved bytes are zero in version 1
    Encoder encoder(out);
    for (u8 byte : trace_magic)
        encoder.put_u8(byte);
    encoder.put_u16(trace_version);
    encoder.put_u16(static_cast<u16>(trace_file_header_bytes));
}

void Tracer::flush()
{
    if (m_platform == nullptr || m_used == 0)
        return;
    // Asked every time (flushes are rare) so a sink opened after attach is used.
    m_has_sink = m_platform->trace_sink_enabled();
    if (!m_has_sink)
        return; // keep the ring: it is all there is
    m_platform->trace_sink_write(m_buffer.first(m_used));
    m_used = 0;
    m_buffered_records = 0;
}

bool Tracer::make_room(usize record_bytes)
{
    if (record_bytes > m_buffer.size()) {
        ++m_dropped; // a buffer this small can never hold the record
        return false;
    }
    flush();
    if (m_used > 0) {
        // No sink: the oldest records go, so the newest are what a crash dump shows.
        m_dropped += m_buffered_records;
        m_used = 0;
        m_buffered_records = 0;
    }
    GANTRY_ASSERT(m_buffer.size() - m_used >= record_bytes);
    return true;
}

u8* Tracer::begin_record(TraceKind kind, usize payload_bytes)
{
    if (!m_enabled) [[likely]]
        return nullptr;
    GANTRY_ASSERT(m_platform != nullptr);
    usize record_bytes = trace_record_header_bytes + payload_bytes;
    GANTRY_ASSERT(record_bytes <= trace_record_bytes_max);
    if (m_buffer.size() - m_used < record_bytes && !make_room(record_bytes))
        return nullptr;
    u8* record = m_buffer.data() + m_used;
    m_used += record_bytes;
    ++m_buffered_records;
    ++m_records;
    Encoder encoder(record);
    encoder.put_u16(static_cast<u16>(record_bytes));
    encoder.put_u8(static_cast<u8>(kind));
    encoder.put_u8(0); // flags: none defined in version 1
    encoder.put_u32(m_node);
    encoder.put_u64(m_platform->now());
    return record + trace_record_header_bytes;
}

void Tracer::record_str(TraceKind kind, std::string_view text)
{
    if (u8* out = begin_record(kind, Encoder::str_bytes(text)))
        Encoder(out).put_str(text);
}

void Tracer::boot_phase_begin(std::string_view name)
{
    record_str(TraceKind::boot_phase_begin, name);
}

void Tracer::boot_phase_end(std::string_view name)
{
    record_str(TraceKind::boot_phase_end, name);
}

void Tracer::log(u8 level, std::string_view text)
{
    if (u8* out = begin_record(TraceKind::log, 1 + Encoder::str_bytes(text))) {
        Encoder encoder(out);
        encoder.put_u8(level);
        encoder.put_str(text);
    }
}

void Tracer::fiber_spawn(u32 fiber, u32 parent, std::string_view name)
{
    if (u8* out = begin_record(TraceKind::fiber_spawn, 8 + Encoder::str_bytes(name))) {
        Encoder encoder(out);
        encoder.put_u32(fiber);
        encoder.put_u32(parent);
        encoder.put_str(name);
    }
}

void Tracer::fiber_switch(u32 from, u32 to)
{
    if (u8* out = begin_record(TraceKind::fiber_switch, 8)) {
        Encoder encoder(out);
        encoder.put_u32(from);
        encoder.put_u32(to);
    }
}

void Tracer::fiber_exit(u32 fiber)
{
    if (u8* out = begin_record(TraceKind::fiber_exit, 4))
        Encoder(out).put_u32(fiber);
}

void Tracer::timer_fire(u32 count)
{
    if (u8* out = begin_record(TraceKind::timer_fire, 4))
        Encoder(out).put_u32(count);
}

namespace {

void encode_page(u8* out, u32 region, u32 order, u64 first_page)
{
    // The wire has one byte each: regions_max and order_max are far below 256.
    GANTRY_ASSERT(region <= 0xff);
    GANTRY_ASSERT(order <= 0xff);
    Encoder encoder(out);
    encoder.put_u8(static_cast<u8>(region));
    encoder.put_u8(static_cast<u8>(order));
    encoder.put_u64(first_page);
}

} // namespace

void Tracer::page_alloc(u32 region, u32 order, u64 first_page)
{
    if (u8* out = begin_record(TraceKind::page_alloc, 10))
        encode_page(out, region, order, first_page);
}

void Tracer::page_free(u32 region, u32 order, u64 first_page)
{
    if (u8* out = begin_record(TraceKind::page_free, 10))
        encode_page(out, region, order, first_page);
}

void Tracer::page_region(u32 region, u64 pages)
{
    GANTRY_ASSERT(region <= 0xff);
    if (u8* out = begin_record(TraceKind::page_region, 9)) {
        Encoder encoder(out);
        encoder.put_u8(static_cast<u8>(region));
        encoder.put_u64(pages);
    }
}

void Tracer::heap_classes(const TraceHeapClasses& classes)
{
    GANTRY_ASSERT(classes.class_count <= TraceHeapClasses::classes_max);
    if (u8* out = begin_record(TraceKind::heap_classes, 13 + 6 * usize{classes.class_count})) {
        Encoder encoder(out);
        encoder.put_u32(classes.slab_pages);
        encoder.put_u32(classes.large_live);
        encoder.put_u32(classes.large_pages);
        encoder.put_u8(classes.class_count);
        for (usize index = 0; index < classes.class_count; ++index) {
            encoder.put_u16(classes.class_bytes[index]);
            encoder.put_u32(classes.objects_live[index]);
        }
    }
}

void Tracer::mem_stats(u64 pages_total, u64 pages_used, u32 fragmentation_permille,
                       u64 heap_bytes_live, u64 heap_allocations, u64 heap_frees)
{
    if (u8* out = begin_record(TraceKind::mem_stats, 44)) {
        Encoder encoder(out);
        encoder.put_u64(pages_total);
        encoder.put_u64(pages_used);
        encoder.put_u32(fragmentation_permille);
        encoder.put_u64(heap_bytes_live);
        encoder.put_u64(heap_allocations);
        encoder.put_u64(heap_frees);
    }
}

void Tracer::kernel_exit(i32 code)
{
    if (u8* out = begin_record(TraceKind::kernel_exit, 4))
        Encoder(out).put_u32(static_cast<u32>(code));
}

void Tracer::idle(TimeNs deadline)
{
    if (u8* out = begin_record(TraceKind::idle, 8))
        Encoder(out).put_u64(deadline);
}

void Tracer::record_net(TraceKind kind, const TraceNetFrame& frame, u8 reason)
{
    constexpr usize frame_bytes = 4 + 2 + 2 + 1 + 4 + 4 + 2 + 2;
    bool with_reason = kind == TraceKind::net_drop;
    u8* out = begin_record(kind, frame_bytes + (with_reason ? 1 : 0));
    if (!out)
        return;
    Encoder encoder(out);
    encoder.put_u32(frame.iface);
    encoder.put_u16(frame.length);
    encoder.put_u16(frame.ethertype);
    encoder.put_u8(frame.protocol);
    encoder.put_u32(frame.source);
    encoder.put_u32(frame.destination);
    encoder.put_u16(frame.source_port);
    encoder.put_u16(frame.destination_port);
    if (with_reason)
        encoder.put_u8(reason);
}

void Tracer::net_rx(const TraceNetFrame& frame) { record_net(TraceKind::net_rx, frame, 0); }
void Tracer::net_tx(const TraceNetFrame& frame) { record_net(TraceKind::net_tx, frame, 0); }
void Tracer::net_drop(const TraceNetFrame& frame, u8 reason)
{
    record_net(TraceKind::net_drop, frame, reason);
}

namespace {

void put_tcp_tuple(Encoder& encoder, const TraceTcpConnection& connection)
{
    encoder.put_u32(connection.local);
    encoder.put_u16(connection.local_port);
    encoder.put_u32(connection.remote);
    encoder.put_u16(connection.remote_port);
}

} // namespace

void Tracer::tcp_state(const TraceTcpConnection& connection)
{
    if (u8* out = begin_record(TraceKind::tcp_state, 12 + 2)) {
        Encoder encoder(out);
        put_tcp_tuple(encoder, connection);
        encoder.put_u8(connection.old_state);
        encoder.put_u8(connection.state);
    }
}

void Tracer::block_io(const TraceBlockIo& io)
{
    if (u8* out = begin_record(TraceKind::block_io, 4 + 1 + 1 + 8 + 4 + 8)) {
        Encoder encoder(out);
        encoder.put_u32(io.disk);
        encoder.put_u8(io.op);
        encoder.put_u8(io.status);
        encoder.put_u64(io.sector);
        encoder.put_u32(io.sectors);
        encoder.put_u64(io.latency_ns);
    }
}

void Tracer::tcp_stats(const TraceTcpConnection& connection)
{
    if (u8* out = begin_record(TraceKind::tcp_stats, 12 + 1 + 3 * 8 + 3 * 4 + 3 * 8)) {
        Encoder encoder(out);
        put_tcp_tuple(encoder, connection);
        encoder.put_u8(connection.state);
        encoder.put_u64(connection.srtt_ns);
        encoder.put_u64(connection.rttvar_ns);
        encoder.put_u64(connection.rto_ns);
        encoder.put_u32(connection.cwnd);
        encoder.put_u32(connection.ssthresh);
        encoder.put_u32(connection.snd_wnd);
        encoder.put_u64(connection.retransmits);
        encoder.put_u64(connection.bytes_in);
        encoder.put_u64(connection.bytes_out);
    }
}

void Tracer::node_info(std::string_view app, std::string_view platform)
{
    usize payload_bytes = Encoder::str_bytes(app) + Encoder::str_bytes(platform);
    if (u8* out = begin_record(TraceKind::node_info, payload_bytes)) {
        Encoder encoder(out);
        encoder.put_str(app);
        encoder.put_str(platform);
    }
}

} // namespace gantry
