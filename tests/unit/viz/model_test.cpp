// The model: a real kernel's trace and hand-placed records become the spans,
// markers and samples the views draw; bad input becomes a LoadError.
#include "viz_test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace gantry;
using namespace gantry::viz;
using namespace gantry::viz_test;

TEST_CASE("model: a real kernel's trace has phases, fiber runs, idle, timers, logs, memory")
{
    std::vector<u8> bytes = kernel_trace();
    TraceModel model = load_trace_bytes(bytes);
    REQUIRE(model.nodes.size() == 1);
    const NodeIndex& node = model.nodes[0];
    CHECK(model.strings.view(node.app) == "viz-test");
    CHECK(model.strings.view(node.platform) == "test");
    REQUIRE_FALSE(node.phases.empty());
    for (const PhaseSpan& phase : node.phases) {
        CHECK_FALSE(phase.open);
        CHECK(phase.end >= phase.begin);
    }
    const FiberLane* alpha = nullptr;
    const FiberLane* beta = nullptr;
    for (const FiberLane& lane : node.fibers) {
        if (model.strings.view(lane.name) == "alpha")
            alpha = &lane;
        if (model.strings.view(lane.name) == "beta")
            beta = &lane;
    }
    REQUIRE(alpha != nullptr);
    REQUIRE(beta != nullptr);
    // Each fiber runs once at spawn and once per wake-up (three sleeps each).
    CHECK(alpha->runs.size() >= 4);
    CHECK(beta->runs.size() >= 4);
    CHECK(alpha->exited != 0);
    CHECK(node.logs.size() == 6);
    CHECK(model.strings.view(node.logs[0].text) == "round 0 of fiber 1");
    CHECK_FALSE(node.idles.empty());
    CHECK_FALSE(node.timers.empty());
    CHECK_FALSE(node.mem.empty());
    CHECK(node.pages_high_water > 0);
    CHECK(model.network_records == 0);
}

TEST_CASE("model: spans are sorted and disjoint, as the binary searches need")
{
    TraceModel model = load_trace_bytes(kernel_trace());
    const NodeIndex& node = model.nodes[0];
    for (const FiberLane& lane : node.fibers)
        for (usize i = 1; i < lane.runs.size(); ++i)
            CHECK(lane.runs[i - 1].end <= lane.runs[i].begin);
    for (usize i = 1; i < node.idles.size(); ++i)
        CHECK(node.idles[i - 1].end <= node.idles[i].begin);
    for (const IdleSpan& idle : node.idles)
        CHECK(idle.end >= idle.begin);
    CHECK(std::is_sorted(node.logs.begin(), node.logs.end(),
                         [](const LogMark& a, const LogMark& b) { return a.time < b.time; }));
}

TEST_CASE("model: nested phases, open spans at the end, idle until the next record")
{
    ManualTrace trace(4);
    trace.tracer.boot_phase_begin("boot");
    trace.time = 10;
    trace.tracer.boot_phase_begin("memory");
    trace.time = 20;
    trace.tracer.boot_phase_end("memory");
    trace.tracer.fiber_spawn(1, 0, "main");
    trace.tracer.fiber_switch(0, 1);
    trace.time = 50;
    trace.tracer.fiber_switch(1, 0);
    trace.tracer.idle(500);
    trace.time = 300;
    trace.tracer.timer_fire(2);
    trace.tracer.fiber_switch(0, 1); // still running when the trace ends
    trace.time = 400;
    trace.tracer.log(2, "late");
    TraceModel model = load_trace_bytes(with_header(trace.finish()));
    const NodeIndex& node = *model.node(4);
    REQUIRE(node.phases.size() == 2);
    CHECK(node.phases[0].depth == 0);
    CHECK(node.phases[0].open);     // "boot" never ended
    CHECK(node.phases[0].end == 400); // drawn until the node's last record
    CHECK(node.phases[1].depth == 1);
    CHECK(node.phases[1].begin == 10);
    CHECK(node.phases[1].end == 20);
    REQUIRE(node.fibers.size() == 1);
    REQUIRE(node.fibers[0].runs.size() == 2);
    CHECK(node.fibers[0].runs[0].begin == 20);
    CHECK(node.fibers[0].runs[0].end == 50);
    CHECK(node.fibers[0].runs[1].end == 400);
    REQUIRE(node.idles.size() == 1);
    CHECK(node.idles[0].begin == 50);
    CHECK(node.idles[0].end == 300);
    CHECK(node.idles[0].deadline == 500);
    CHECK(node.timers[0].count == 2);
    CHECK(node.logs[0].level == 2);
    CHECK(model.first_time == 0);
    CHECK(model.last_time == 400);
}

TEST_CASE("model: interleaved nodes are separated and sorted by id")
{
    ManualTrace b(9), a(2);
    b.time = 100;
    b.tracer.node_info("b", "sim");
    a.time = 50;
    a.tracer.node_info("a", "sim");
    std::vector<u8> records = b.finish();
    std::vector<u8> more = a.finish();
    records.insert(records.end(), more.begin(), more.end());
    TraceModel model = load_trace_bytes(with_header(records));
    REQUIRE(model.nodes.size() == 2);
    CHECK(model.nodes[0].node == 2);
    CHECK(model.nodes[1].node == 9);
    CHECK(model.strings.view(model.nodes[1].app) == "b");
    CHECK(model.first_time == 50);
}

TEST_CASE("model: strings are interned once")
{
    StringPool pool;
    u32 a = pool.intern("worker");
    u32 b = pool.intern("worker");
    u32 c = pool.intern(std::string(2000, 'x')); // longer than a trace string may be
    CHECK(a == b);
    CHECK(a != c);
    CHECK(pool.view(a) == "worker");
    CHECK(pool.view(c).size() == 2000);
    CHECK(pool.intern("") == StringPool::empty_id);
}

namespace {

LoadError load_error(const std::vector<u8>& bytes)
{
    try {
        load_trace_bytes(bytes, "t.trace");
    } catch (const LoadError& error) {
        return error;
    }
    FAIL("no LoadError");
    return {};
}

} // namespace

TEST_CASE("model: empty, foreign, truncated and record-less traces are errors with offsets")
{
    CHECK(load_error({}).message == "the file is empty");
    LoadError foreign = load_error({'h', 'e', 'l', 'l', 'o'});
    CHECK(foreign.offset == 0);
    CHECK_FALSE(foreign.hint.empty());
    std::vector<u8> bytes = kernel_trace();
    std::vector<u8> cut(bytes.begin(), bytes.end() - 3); // inside the last record
    LoadError truncated = load_error(cut);
    CHECK(truncated.offset > 32);
    CHECK(truncated.offset < cut.size());
    CHECK(truncated.message.find("truncated") != std::string::npos);
    CHECK(truncated.to_string().starts_with("t.trace:" + std::to_string(truncated.offset) + ": "));
    CHECK(load_error(with_header({})).message == "the trace has no records");
}

TEST_CASE("model: unknown kinds are skipped, short payloads counted, backwards time clamped")
{
    ManualTrace trace(1);
    trace.time = 100;
    trace.tracer.timer_fire(1);
    std::vector<u8> records = trace.finish();
    // kind 200 from a future writer, and a timer_fire whose payload is too short
    std::vector<u8> unknown = {16, 0, 200, 0, 1, 0, 0, 0, 150, 0, 0, 0, 0, 0, 0, 0};
    std::vector<u8> short_timer = {17, 0, 7, 0, 1, 0, 0, 0, 160, 0, 0, 0, 0, 0, 0, 0, 1};
    std::vector<u8> earlier = {20, 0, 7, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0};
    for (auto* extra : {&unknown, &short_timer, &earlier})
        records.insert(records.end(), extra->begin(), extra->end());
    TraceModel model = load_trace_bytes(with_header(records));
    CHECK(model.records == 4);
    CHECK(model.unknown_records == 1);
    CHECK(model.malformed_records == 1);
    const NodeIndex& node = model.nodes[0];
    REQUIRE(node.timers.size() == 2);
    CHECK(node.timers[1].time == 100); // clamped: never before the node's last record
}
