// Fault shading: sim_fault records (written by the simulator's world) become
// spans per node, which the timeline and network lanes tint.
#include "viz_test_support.hpp"

#include <gantry/sim/world.hpp>
#include <gantry/viz/layout.hpp>
#include <gantry/viz/render.hpp>

#include <catch2/catch.hpp>

using namespace gantry;
using namespace gantry::viz;
using namespace gantry::viz_test;

namespace {

void put(std::vector<u8>& out, u64 value, usize bytes)
{
    for (usize i = 0; i < bytes; ++i)
        out.push_back(static_cast<u8>(value >> (8 * i)));
}

void fault_record(std::vector<u8>& out, TimeNs time, u8 fault, u32 a, u32 b, u8 detail = 0)
{
    put(out, trace_record_header_bytes + 10, 2);
    put(out, static_cast<u8>(TraceKind::sim_fault), 1);
    put(out, 0, 1);
    put(out, 0xffffffff, 4);
    put(out, time, 8);
    put(out, fault, 1);
    put(out, a, 4);
    put(out, b, 4);
    put(out, detail, 1);
}

TraceModel faulty_model()
{
    std::vector<u8> records;
    for (u32 node = 0; node < 3; ++node) {
        ManualTrace trace(node);
        trace.tracer.node_info("app", "sim");
        trace.time = 100 * ns_per_ms;
        trace.tracer.kernel_exit(0);
        std::vector<u8> bytes = trace.finish();
        records.insert(records.end(), bytes.begin(), bytes.end());
    }
    constexpr u32 none = 0xffffffff;
    fault_record(records, 10 * ns_per_ms, 5, 0, 1);       // partition 0 -> 1, both ways
    fault_record(records, 20 * ns_per_ms, 1, 2, none);    // crash node 2
    fault_record(records, 30 * ns_per_ms, 6, 1, 0);       // heal 1, 0 (either order)
    fault_record(records, 40 * ns_per_ms, 2, 2, none);    // restart node 2
    fault_record(records, 50 * ns_per_ms, 3, 1, none);    // pause node 1, never resumed
    fault_record(records, 60 * ns_per_ms, 8, 7, none, 1); // link 7 impaired
    fault_record(records, 99 * ns_per_ms, 42, 0, 0);      // a later version's fault
    return load_trace_bytes(with_header(records));
}

} // namespace

TEST_CASE("faults: sim_fault records pair up into spans per node")
{
    TraceModel model = faulty_model();
    CHECK(model.nodes.size() == 3); // the world's records make no node
    REQUIRE(model.faults.size() == 4);
    const FaultSpan& partition = model.faults[0];
    CHECK(partition.kind == FaultKind::partition);
    CHECK(partition.begin == 10 * ns_per_ms);
    CHECK(partition.end == 30 * ns_per_ms);
    CHECK(!partition.open);
    const FaultSpan& down = model.faults[1];
    CHECK(down.kind == FaultKind::down);
    CHECK(down.node == 2);
    CHECK(down.end == 40 * ns_per_ms);
    const FaultSpan& paused = model.faults[2];
    CHECK(paused.kind == FaultKind::paused);
    CHECK(paused.open);
    CHECK(paused.end == model.last_time);
    CHECK(model.faults[3].kind == FaultKind::link);
    CHECK(model.faults_of(0).size() == 1);
    CHECK(model.faults_of(1).size() == 2);
    CHECK(model.faults_of(2).size() == 1);
}

TEST_CASE("faults: a down node's lanes are tinted red, only while it is down")
{
    TraceModel model = faulty_model();
    Layout layout = compute_layout(model, {1000, 600}, {0, 100 * ns_per_ms},
                                   view_options(View::timeline));
    const Lane* kernel2 = nullptr;
    for (const Lane& lane : layout.timeline->lanes)
        if (lane.kind == LaneKind::kernel && model.nodes[lane.node_slot].node == 2)
            kernel2 = &lane;
    REQUIRE(kernel2 != nullptr);
    std::vector<u8> pixels = render_offscreen(model, layout);
    auto pixel = [&](TimeNs t) {
        int x = static_cast<int>(layout.scale().x_of(t));
        int y = kernel2->rect.y + kernel2->rect.h / 2;
        const u8* p = &pixels[(static_cast<usize>(y) * 1000 + static_cast<usize>(x)) * 4];
        return Color{p[0], p[1], p[2]};
    };
    Color during = pixel(30 * ns_per_ms);
    Color after = pixel(70 * ns_per_ms);
    CHECK(during.r > after.r + 40); // red blended over the lane
    CHECK(during.r > during.g + 40); // and red is what dominates
}

TEST_CASE("faults: the simulator writes a record for each fault it applies")
{
    sim::World world({.seed = 5, .trace_in_memory = true});
    auto a = world.add_node({.app = "hello"});
    auto b = world.add_node({.app = "hello"});
    world.at(1 * ns_per_ms, [&](sim::World& w) { w.partition(a, b); });
    world.at(2 * ns_per_ms, [&](sim::World& w) { w.crash(b); });
    world.at(3 * ns_per_ms, [&](sim::World& w) { w.heal_all(); });
    world.at(4 * ns_per_ms, [&](sim::World& w) { w.restart(b); });
    world.run_until_idle(5 * ns_per_s);
    REQUIRE(world.finish_trace());
    TraceModel model = load_trace_bytes(world.trace_bytes());
    REQUIRE(model.fault_records.size() == 4);
    CHECK(model.fault_records[0].fault == 5);
    CHECK(model.fault_records[1].fault == 1);
    CHECK(model.fault_records[1].a == b);
    CHECK(model.fault_times[2] == 3 * ns_per_ms);
    REQUIRE(model.faults.size() == 2);
    CHECK(model.faults[1].kind == FaultKind::down);
    CHECK(model.faults[1].end == 4 * ns_per_ms);
}

TEST_CASE("faults: a crash entering a boot phase is a down span that names the phase")
{
    sim::World world({.seed = 5, .trace_in_memory = true});
    auto a = world.add_node({.app = "hello", .boot_crash_phase = "memory"});
    world.at(3 * ns_per_ms, [&](sim::World& w) { w.restart(a); });
    world.run_until_idle(5 * ns_per_s);
    REQUIRE(world.finish_trace());
    TraceModel model = load_trace_bytes(world.trace_bytes());
    REQUIRE(model.fault_records.size() == 2);
    CHECK(model.fault_records[0].fault == 10);
    REQUIRE(model.faults.size() == 1);
    const FaultSpan& down = model.faults[0];
    CHECK(down.kind == FaultKind::down);
    CHECK(down.node == a);
    CHECK(down.begin == 0);
    CHECK(down.end == 3 * ns_per_ms);
    CHECK(std::string(sim_boot_phase_name(down.boot_phase)) == "memory");
    std::string text = describe(model, Hit{HitKind::fault, 0, 0, 0});
    CHECK(text.find("down (crashed entering boot phase 'memory')") != std::string::npos);
}

TEST_CASE("faults: clicking a lane where a fault held shows it; search lists faults")
{
    TraceModel model = faulty_model();
    Layout layout = compute_layout(model, {1000, 600}, {0, 100 * ns_per_ms},
                                   view_options(View::timeline));
    const Lane* kernel2 = nullptr;
    for (const Lane& lane : layout.timeline->lanes)
        if (lane.kind == LaneKind::kernel && model.nodes[lane.node_slot].node == 2)
            kernel2 = &lane;
    REQUIRE(kernel2 != nullptr);
    int y = kernel2->rect.y + kernel2->rect.h / 2;
    auto hit = hit_test(model, layout, static_cast<int>(layout.scale().x_of(30 * ns_per_ms)), y);
    REQUIRE(hit);
    CHECK(hit->kind == HitKind::fault);
    CHECK(model.faults[hit->index].kind == FaultKind::down);
    std::string text = describe(model, *hit);
    CHECK(text.find("node 2 down") != std::string::npos);
    CHECK(text.find("lasting 20 ms") != std::string::npos);
    CHECK(hit_time(model, *hit) == 20 * ns_per_ms);
    // After the restart nothing is there to click.
    CHECK_FALSE(hit_test(model, layout, static_cast<int>(layout.scale().x_of(45 * ns_per_ms)), y));
    CHECK(search(model, "fault", 10).size() == 3); // each node fault once; not the link
    std::vector<Hit> node1 = search(model, "node 1", 50);
    usize faults = 0;
    for (const Hit& h : node1)
        faults += h.kind == HitKind::fault ? 1 : 0;
    CHECK(faults == 2); // the partition it was cut off by, and its pause
}

TEST_CASE("faults: a selected fault is outlined on its node's first lane, over its time")
{
    TraceModel model = faulty_model();
    Layout layout = compute_layout(model, {1000, 600}, {0, 100 * ns_per_ms},
                                   view_options(View::timeline));
    const Lane* kernel2 = nullptr;
    const Lane* first2 = nullptr;
    for (const Lane& lane : layout.timeline->lanes) {
        if (model.nodes[lane.node_slot].node != 2)
            continue;
        if (!first2)
            first2 = &lane;
        if (lane.kind == LaneKind::kernel)
            kernel2 = &lane;
    }
    REQUIRE(kernel2 != nullptr);
    REQUIRE(first2 != nullptr);
    TimeScale scale = layout.scale();
    auto hit = hit_test(model, layout, static_cast<int>(scale.x_of(30 * ns_per_ms)),
                        kernel2->rect.y + kernel2->rect.h / 2);
    REQUIRE(hit);
    REQUIRE(hit->kind == HitKind::fault);
    const FaultSpan& span = model.faults[hit->index];
    // The outline's left edge, one pixel left of where the span begins.
    Rect spanned = scale.span_rect(first2->rect, span.begin, span.end);
    int x = spanned.x - 1;
    int y = first2->rect.y + first2->rect.h / 2;
    auto colour_at = [&](const std::vector<u8>& pixels) {
        const u8* p = &pixels[(static_cast<usize>(y) * 1000 + static_cast<usize>(x)) * 4];
        return Color{p[0], p[1], p[2]};
    };
    auto is_selection = [](Color c) {
        return c.r == palette::selection.r && c.g == palette::selection.g &&
               c.b == palette::selection.b;
    };
    Overlay selected;
    selected.selected = hit;
    CHECK(is_selection(colour_at(render_offscreen(model, layout, selected))));
    CHECK_FALSE(is_selection(colour_at(render_offscreen(model, layout))));
}
