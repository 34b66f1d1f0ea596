// Tracer: every kind survives encode -> file -> TraceReader -> decode_fields,
// and a full buffer is flushed (sink) or dropped and counted (no sink).
#include "trace_test_support.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace gantry;
using namespace gantry::trace_test;

namespace {

constexpr u32 node_id = 7;

struct Fixture {
    SinkPlatform platform;
    std::vector<u8> buffer;
    Tracer tracer;

    explicit Fixture(usize buffer_bytes, bool sink = true) : buffer(buffer_bytes)
    {
        platform.m_sink_enabled = sink;
        tracer.attach(platform, node_id, buffer);
        tracer.set_enabled(true);
    }
};

TraceFields decode(const OwnedRecord& owned)
{
    TraceRecord record{owned.kind, owned.node, owned.time, owned.payload, owned.file_offset};
    TraceFields fields;
    auto status = decode_fields(record, fields);
    REQUIRE(status.ok());
    return fields;
}

} // namespace

TEST_CASE("file header is magic, version, header length and zeros")
{
    std::vector<u8> header = file_header();
    REQUIRE(header.size() == 32);
    CHECK(std::string(header.begin(), header.begin() + 8) == "GANTRYTR");
    CHECK(header[8] == 1);
    CHECK(header[9] == 0);
    CHECK(header[10] == 32);
    CHECK(header[11] == 0);
    for (usize i = 12; i < 32; ++i)
        CHECK(header[i] == 0);
}

TEST_CASE("record header is little-endian length, kind, flags, node, time")
{
    Fixture f(256);
    f.platform.m_now = 0x0102030405060708;
    f.tracer.fiber_switch(0x11223344, 2);
    Bytes bytes = f.tracer.buffered();
    REQUIRE(bytes.size() == 24);
    std::vector<u8> expected = {24, 0, 5, 0, 7, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1,
                                0x44, 0x33, 0x22, 0x11, 2, 0, 0, 0};
    CHECK(std::vector<u8>(bytes.begin(), bytes.end()) == expected);
}

TEST_CASE("every kind round-trips through a memory sink")
{
    Fixture f(4096);
    auto tick = [&] { f.platform.m_now += 1000; };
    f.tracer.node_info("hello", "hosted");
    tick();
    f.tracer.boot_phase_begin("memory");
    tick();
    f.tracer.boot_phase_end("memory");
    tick();
    f.tracer.log(2, "disk \"full\"\n");
    tick();
    f.tracer.fiber_spawn(3, 1, "worker");
    tick();
    f.tracer.fiber_switch(0, 3);
    tick();
    f.tracer.fiber_exit(3);
    tick();
    f.tracer.timer_fire(4);
    tick();
    f.tracer.page_alloc(1, 5, 0x123456789a);
    tick();
    f.tracer.page_free(2, 20, ~u64{0});
    tick();
    f.tracer.mem_stats(1000, 250, 333, 1 << 20, 77, 70);
    tick();
    f.tracer.kernel_exit(-3);
    tick();
    f.tracer.idle(deadline_none);
    f.tracer.flush();

    CHECK(f.tracer.records_written() == 13);
    CHECK(f.tracer.records_dropped() == 0);
    CHECK(f.tracer.buffered().empty());
    std::vector<u8> file = trace_file(f.platform);
    ReadOutcome out = read_all(file);
    REQUIRE_FALSE(out.error);
    REQUIRE(out.records.size() == 13);
    for (usize i = 0; i < out.records.size(); ++i) {
        CHECK(out.records[i].node == node_id);
        CHECK(out.records[i].time == i * 1000);
        CHECK(is_known(out.records[i].kind));
    }
    CHECK(out.records[0].file_offset == 32);

    TraceFields r = decode(out.records[0]);
    CHECK(out.records[0].kind == TraceKind::node_info);
    CHECK(r.name == "hello");
    CHECK(r.name2 == "hosted");
    CHECK(out.records[1].kind == TraceKind::boot_phase_begin);
    CHECK(decode(out.records[1]).name == "memory");
    CHECK(out.records[2].kind == TraceKind::boot_phase_end);
    CHECK(decode(out.records[2]).name == "memory");
    r = decode(out.records[3]);
    CHECK(out.records[3].kind == TraceKind::log);
    CHECK(r.level == 2);
    CHECK(r.name == "disk \"full\"\n");
    r = decode(out.records[4]);
    CHECK(out.records[4].kind == TraceKind::fiber_spawn);
    CHECK(r.fiber == 3);
    CHECK(r.parent == 1);
    CHECK(r.name == "worker");
    r = decode(out.records[5]);
    CHECK(out.records[5].kind == TraceKind::fiber_switch);
    CHECK(r.from == 0);
    CHECK(r.to == 3);
    CHECK(decode(out.records[6]).fiber == 3);
    CHECK(out.records[6].kind == TraceKind::fiber_exit);
    CHECK(decode(out.records[7]).count == 4);
    CHECK(out.records[7].kind == TraceKind::timer_fire);
    r = decode(out.records[8]);
    CHECK(out.records[8].kind == TraceKind::page_alloc);
    CHECK(r.region == 1);
    CHECK(r.order == 5);
    CHECK(r.first_page == 0x123456789a);
    r = decode(out.records[9]);
    CHECK(out.records[9].kind == TraceKind::page_free);
    CHECK(r.region == 2);
    CHECK(r.order == 20);
    CHECK(r.first_page == ~u64{0});
    r = decode(out.records[10]);
    CHECK(out.records[10].kind == TraceKind::mem_stats);
    CHECK(r.pages_total == 1000);
    CHECK(r.pages_used == 250);
    CHECK(r.fragmentation_permille == 333);
    CHECK(r.heap_bytes_live == 1 << 20);
    CHECK(r.heap_allocations == 77);
    CHECK(r.heap_frees == 70);
    CHECK(decode(out.records[11]).exit_code == -3);
    CHECK(out.records[11].kind == TraceKind::kernel_exit);
    CHECK(decode(out.records[12]).deadline == deadline_none);
    CHECK(out.records[12].kind == TraceKind::idle);
}

TEST_CASE("disabled or unattached tracer records nothing")
{
    Fixture f(256);
    f.tracer.set_enabled(false);
    f.tracer.fiber_switch(1, 2);
    CHECK(f.tracer.records_written() == 0);
    Tracer unattached;
    unattached.set_enabled(true); // no buffer: stays off
    CHECK_FALSE(unattached.enabled());
    unattached.fiber_switch(1, 2);
    unattached.flush();
    CHECK(unattached.records_written() == 0);
}

TEST_CASE("a full buffer is flushed to the sink first: bounded memory, nothing lost")
{
    Fixture f(64); // room for two fiber_switch records (24 bytes each)
    for (u32 i = 0; i < 100; ++i) {
        f.platform.m_now = i;
        f.tracer.fiber_switch(i, i + 1);
        CHECK(f.tracer.buffered().size() <= 64);
    }
    CHECK(f.platform.m_sink_writes == 49); // flushed when the third record arrived
    f.tracer.flush();
    CHECK(f.tracer.records_dropped() == 0);
    ReadOutcome out = read_all(trace_file(f.platform));
    REQUIRE_FALSE(out.error);
    REQUIRE(out.records.size() == 100);
    for (u32 i = 0; i < 100; ++i) {
        CHECK(out.records[i].time == i);
        CHECK(decode(out.records[i]).from == i);
    }
}

TEST_CASE("without a sink a full buffer drops its records and counts them")
{
    Fixture f(64, false);
    for (u32 i = 0; i < 10; ++i)
        f.tracer.fiber_switch(i, i + 1);
    CHECK(f.platform.m_sink_writes == 0);
    CHECK(f.tracer.records_written() == 10);
    CHECK(f.tracer.records_dropped() == 8);
    // Flushing without a sink keeps the newest records for inspection.
    f.tracer.flush();
    std::vector<u8> file = file_header();
    Bytes kept = f.tracer.buffered();
    file.insert(file.end(), kept.begin(), kept.end());
    ReadOutcome out = read_all(file);
    REQUIRE_FALSE(out.error);
    REQUIRE(out.records.size() == 2);
    CHECK(decode(out.records[0]).from == 8);
    CHECK(decode(out.records[1]).from == 9);
}

TEST_CASE("a record larger than the whole buffer is dropped, not written")
{
    Fixture f(40);
    f.tracer.fiber_switch(1, 2);
    f.tracer.log(1, std::string(100, 'x'));
    CHECK(f.tracer.records_dropped() == 1);
    CHECK(f.tracer.records_written() == 1);
    CHECK(f.tracer.buffered().size() == 24);
}

TEST_CASE("long strings are truncated to trace_str_bytes_max")
{
    Fixture f(8192);
    std::string text(trace_str_bytes_max + 500, 'a');
    f.tracer.node_info(text, text);
    f.tracer.flush();
    ReadOutcome out = read_all(trace_file(f.platform));
    REQUIRE(out.records.size() == 1);
    TraceFields fields = decode(out.records[0]);
    CHECK(fields.name.size() == trace_str_bytes_max);
    CHECK(fields.name2.size() == trace_str_bytes_max);
}

TEST_CASE("a sink enabled after attach is used at the next flush")
{
    Fixture f(256, false);
    f.tracer.timer_fire(1);
    f.platform.m_sink_enabled = true;
    f.tracer.flush();
    CHECK(f.platform.m_sink.size() == 20);
    CHECK(f.tracer.buffered().empty());
}
