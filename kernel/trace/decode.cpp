// Names of record kinds and decoding of their payloads (docs/trace-format.md),
// shared by the gantry tool, the visualiser and the tests so that the layout of
// each kind is written down in exactly one decoder.
#include <gantry/trace.hpp>

namespace gantry {

using namespace std::string_view_literals; // "x"sv needs no strlen in the image

bool is_known(TraceKind kind)
{
    // Kinds are not contiguous (network kinds start at 32): ask the name table.
    return to_string(kind) != "unknown"sv;
}

std::string_view to_string(TraceKind kind)
{
    switch (kind) {
    case TraceKind::boot_phase_begin:
        return "boot_phase_begin"sv;
    case TraceKind::boot_phase_end:
        return "boot_phase_end"sv;
    case TraceKind::log:
        return "log"sv;
    case TraceKind::fiber_spawn:
        return "fiber_spawn"sv;
    case TraceKind::fiber_switch:
        return "fiber_switch"sv;
    case TraceKind::fiber_exit:
        return "fiber_exit"sv;
    case TraceKind::timer_fire:
        return "timer_fire"sv;
    case TraceKind::page_alloc:
        return "page_alloc"sv;
    case TraceKind::page_free:
        return "page_free"sv;
    case TraceKind::mem_stats:
        return "mem_stats"sv;
    case TraceKind::kernel_exit:
        return "kernel_exit"sv;
    case TraceKind::idle:
        return "idle"sv;
    case TraceKind::node_info:
        return "node_info"sv;
    case TraceKind::page_region:
        return "page_region"sv;
    case TraceKind::heap_classes:
        return "heap_classes"sv;
    case TraceKind::net_rx:
        return "net_rx"sv;
    case TraceKind::net_tx:
        return "net_tx"sv;
    case TraceKind::net_drop:
        return "net_drop"sv;
    case TraceKind::link_frame:
        return "link_frame"sv;
    case TraceKind::sim_fault:
        return "sim_fault"sv;
    case TraceKind::tcp_state:
        return "tcp_state"sv;
    case TraceKind::tcp_stats:
        return "tcp_stats"sv;
    case TraceKind::block_io:
        return "block_io"sv;
    }
    return "unknown"sv;
}

std::string_view describe(TraceDecodeError error)
{
    switch (error) {
    case TraceDecodeError::unknown_kind:
        return "unknown record kind"sv;
    case TraceDecodeError::truncated_payload:
        return "payload shorter than its kind's fields"sv;
    }
    return "unknown trace decode error"sv;
}

namespace {

// Classes beyond classes_max are left unread (extra payload is ignored anyway).
void decode_heap_classes(PayloadCursor& cursor, TraceHeapClasses& out)
{
    out.slab_pages = cursor.read_u32();
    out.large_live = cursor.read_u32();
    out.large_pages = cursor.read_u32();
    u8 count = cursor.read_u8();
    out.class_count = count < TraceHeapClasses::classes_max
                          ? count
                          : static_cast<u8>(TraceHeapClasses::classes_max);
    for (usize index = 0; index < out.class_count; ++index) {
        out.class_bytes[index] = cursor.read_u16();
        out.objects_live[index] = cursor.read_u32();
    }
}

void decode_mem_stats(PayloadCursor& cursor, TraceFields& out)
{
    out.pages_total = cursor.read_u64();
    out.pages_used = cursor.read_u64();
    out.fragmentation_permille = cursor.read_u32();
    out.heap_bytes_live = cursor.read_u64();
    out.heap_allocations = cursor.read_u64();
    out.heap_frees = cursor.read_u64();
}

void decode_net(PayloadCursor& cursor, TraceFields& out)
{
    out.net.iface = cursor.read_u32();
    out.net.length = cursor.read_u16();
    out.net.ethertype = cursor.read_u16();
    out.net.protocol = cursor.read_u8();
    out.net.source = cursor.read_u32();
    out.net.destination = cursor.read_u32();
    out.net.source_port = cursor.read_u16();
    out.net.destination_port = cursor.read_u16();
}

void decode_tcp_tuple(PayloadCursor& cursor, TraceFields& out)
{
    out.tcp.local = cursor.read_u32();
    out.tcp.local_port = cursor.read_u16();
    out.tcp.remote = cursor.read_u32();
    out.tcp.remote_port = cursor.read_u16();
}

void decode_tcp_stats(PayloadCursor& cursor, TraceFields& out)
{
    decode_tcp_tuple(cursor, out);
    out.tcp.state = cursor.read_u8();
    out.tcp.srtt_ns = cursor.read_u64();
    out.tcp.rttvar_ns = cursor.read_u64();
    out.tcp.rto_ns = cursor.read_u64();
    out.tcp.cwnd = cursor.read_u32();
    out.tcp.ssthresh = cursor.read_u32();
    out.tcp.snd_wnd = cursor.read_u32();
    out.tcp.retransmits = cursor.read_u64();
    out.tcp.bytes_in = cursor.read_u64();
    out.tcp.bytes_out = cursor.read_u64();
}

// false for kinds this version does not know.
bool decode_known(TraceKind kind, PayloadCursor& cursor, TraceFields& out)
{
    switch (kind) {
    case TraceKind::boot_phase_begin:
    case TraceKind::boot_phase_end:
        out.name = cursor.read_str();
        return true;
    case TraceKind::log:
        out.level = cursor.read_u8();
        out.name = cursor.read_str();
        return true;
    case TraceKind::fiber_spawn:
        out.fiber = cursor.read_u32();
        out.parent = cursor.read_u32();
        out.name = cursor.read_str();
        return true;
    case TraceKind::fiber_switch:
        out.from = cursor.read_u32();
        out.to = cursor.read_u32();
        return true;
    case TraceKind::fiber_exit:
        out.fiber = cursor.read_u32();
        return true;
    case TraceKind::timer_fire:
        out.count = cursor.read_u32();
        return true;
    case TraceKind::page_alloc:
    case TraceKind::page_free:
        out.region = cursor.read_u8();
        out.order = cursor.read_u8();
        out.first_page = cursor.read_u64();
        return true;
    case TraceKind::mem_stats:
        decode_mem_stats(cursor, out);
        return true;
    case TraceKind::kernel_exit:
        out.exit_code = cursor.read_i32();
        return true;
    case TraceKind::idle:
        out.deadline = cursor.read_u64();
        return true;
    case TraceKind::node_info:
        out.name = cursor.read_str();
        out.name2 = cursor.read_str();
        return true;
    case TraceKind::page_region:
        out.region = cursor.read_u8();
        out.region_pages = cursor.read_u64();
        return true;
    case TraceKind::heap_classes:
        decode_heap_classes(cursor, out.heap);
        return true;
    case TraceKind::net_rx:
    case TraceKind::net_tx:
        decode_net(cursor, out);
        return true;
    case TraceKind::net_drop:
        decode_net(cursor, out);
        out.reason = cursor.read_u8();
        return true;
    case TraceKind::link_frame:
        out.link.link = cursor.read_u32();
        out.link.from = cursor.read_u32();
        out.link.to = cursor.read_u32();
        out.link.length = cursor.read_u16();
        out.link.fate = cursor.read_u8();
        out.link.sent = cursor.read_u64();
        return true;
    case TraceKind::sim_fault:
        out.fault.fault = cursor.read_u8();
        out.fault.a = cursor.read_u32();
        out.fault.b = cursor.read_u32();
        out.fault.detail = cursor.read_u8();
        return true;
    case TraceKind::tcp_state:
        decode_tcp_tuple(cursor, out);
        out.tcp.old_state = cursor.read_u8();
        out.tcp.state = cursor.read_u8();
        return true;
    case TraceKind::tcp_stats:
        decode_tcp_stats(cursor, out);
        return true;
    case TraceKind::block_io:
        out.block.disk = cursor.read_u32();
        out.block.op = cursor.read_u8();
        out.block.status = cursor.read_u8();
        out.block.sector = cursor.read_u64();
        out.block.sectors = cursor.read_u32();
        out.block.latency_ns = cursor.read_u64();
        return true;
    }
    return false;
}

} // namespace

Status<TraceDecodeError> decode_fields(const TraceRecord& record, TraceFields& out)
{
    out = TraceFields{};
    PayloadCursor cursor(record.payload);
    if (!decode_known(record.kind, cursor, out))
        return fail(TraceDecodeError::unknown_kind);
    if (!cursor.ok())
        return fail(TraceDecodeError::truncated_payload);
    return {};
}

} // namespace gantry
