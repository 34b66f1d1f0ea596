// Layout math: time <-> pixels, zoom and pan, axis ticks, lane stacking, the
// split between views, hit testing and search.
#include "viz_test_support.hpp"

#include <gantry/viz/layout.hpp>

#include <catch2/catch.hpp>

using namespace gantry;
using namespace gantry::viz;
using namespace gantry::viz_test;

TEST_CASE("layout: time maps linearly onto the plot and back")
{
    TimeScale scale{{100, 0, 1000, 50}, {1000, 11000}};
    CHECK(scale.x_of(1000) == Approx(100));
    CHECK(scale.x_of(6000) == Approx(600));
    CHECK(scale.x_of(11000) == Approx(1100));
    CHECK(scale.time_at(600) == 6000);
    CHECK(scale.ns_per_px() == 10);
    Rect lane{100, 20, 1000, 10};
    Rect inside = scale.span_rect(lane, 2000, 3000);
    CHECK(inside.x == 200);
    CHECK(inside.w == 100);
    CHECK(inside.y == 20);
    CHECK(scale.span_rect(lane, 0, 500).w == 0);        // before the window
    CHECK(scale.span_rect(lane, 0, 50000).x == 100);    // clamped to the plot
    CHECK(scale.span_rect(lane, 0, 50000).right() == 1100);
    CHECK(scale.span_rect(lane, 5000, 5001).w == 1);    // never thinner than a pixel
}

TEST_CASE("layout: zoom keeps the anchor in place, pan moves by a fraction")
{
    TimeWindow window{1000, 2000};
    TimeWindow in = zoom(window, 0.5, 1200);
    CHECK(in.from == 1100);
    CHECK(in.to == 1600);
    TimeWindow out = zoom(in, 2.0, 1200);
    CHECK(out.from == 1000);
    CHECK(out.to == 2000);
    CHECK(pan(window, 0.5).from == 1500);
    CHECK(pan(window, -5).from == 0); // never before time 0
    CHECK(pan(window, -5).span() == 1000);
    TimeWindow tiny = zoom({0, 1}, 0.01, 0);
    CHECK(tiny.span() >= 1);
}

TEST_CASE("layout: axis ticks fall on 1-2-5 steps and stay apart")
{
    TimeScale scale{{0, 0, 1000, 10}, {0, 10 * ns_per_ms}};
    std::vector<TimeNs> ticks = axis_ticks(scale, 100); // >= 1 ms apart
    REQUIRE(ticks.size() >= 2);
    TimeNs step = ticks[1] - ticks[0];
    CHECK(step == 1 * ns_per_ms);
    CHECK(axis_ticks(scale, 150)[1] - axis_ticks(scale, 150)[0] == 2 * ns_per_ms);
    CHECK(axis_ticks(scale, 300)[1] - axis_ticks(scale, 300)[0] == 5 * ns_per_ms);
    for (TimeNs t : ticks)
        CHECK(t % step == 0);
}

TEST_CASE("layout: lanes stack without overlapping, one set per node")
{
    TraceModel model = load_trace_bytes(kernel_trace());
    Layout layout = compute_layout(model, {1200, 800}, full_window(model));
    REQUIRE(layout.timeline);
    REQUIRE(layout.memory);
    REQUIRE(layout.network);
    const auto& lanes = layout.timeline->lanes;
    // phases + kernel + one per fiber (main, alpha, beta, ...)
    CHECK(lanes.size() == 2 + model.nodes[0].fibers.size());
    for (usize i = 1; i < lanes.size(); ++i)
        CHECK(lanes[i - 1].rect.bottom() <= lanes[i].rect.y);
    for (const Lane& lane : lanes) {
        CHECK(lane.rect.x == label_column_px);
        CHECK(lane.rect.right() <= 1200);
    }
    // The views split the height between them, top to bottom.
    CHECK(layout.timeline->panel.y == 0);
    CHECK(layout.timeline->panel.bottom() == layout.memory->panel.y);
    CHECK(layout.memory->panel.bottom() == layout.network->panel.y);
    CHECK(layout.network->panel.bottom() == 800);
    REQUIRE(layout.memory->plots.size() == 1);
    CHECK(layout.memory->plots[0].pages.x == layout.timeline->plot.x); // cursor lines up
}

TEST_CASE("layout: a single view takes the whole picture; hidden nodes take no lanes")
{
    TraceModel model = load_trace_bytes(kernel_trace());
    LayoutOptions options;
    options.view = View::memory;
    Layout memory = compute_layout(model, {800, 600}, full_window(model), options);
    CHECK_FALSE(memory.timeline);
    CHECK(memory.memory->panel.h == 600);
    options.view = View::timeline;
    options.node_visible = {false};
    Layout hidden = compute_layout(model, {800, 600}, full_window(model), options);
    CHECK(hidden.timeline->lanes.empty());
    CHECK(parse_view("network") == View::network);
    CHECK_FALSE(parse_view("pcap"));
}

TEST_CASE("layout: a click on a phase, a run or the memory plot finds it")
{
    // The test platform's clock stands still during boot, so its phases last 0 ns:
    // place one that lasts.
    ManualTrace trace(0);
    trace.time = 100;
    trace.tracer.boot_phase_begin("net");
    trace.time = 900;
    trace.tracer.boot_phase_end("net");
    trace.tracer.mem_stats(100, 10, 0, 64, 1, 0);
    trace.time = 1000;
    trace.tracer.kernel_exit(0);
    TraceModel model = load_trace_bytes(with_header(trace.finish()));
    const NodeIndex& node = model.nodes[0];
    TimeWindow window{0, 1000};
    Layout layout = compute_layout(model, {1000, 700}, window);
    const Lane& phases = layout.timeline->lanes[0];
    REQUIRE(phases.kind == LaneKind::phases);
    Rect rect = phase_rect(layout.scale(), phases, node.phases[0]);
    REQUIRE(rect.w > 10);
    auto hit = hit_test(model, layout, rect.x + rect.w / 2, rect.y + rect.h / 2);
    REQUIRE(hit);
    CHECK(hit->kind == HitKind::phase);
    CHECK(hit->index == 0);
    CHECK(describe(model, *hit).find("boot phase") != std::string::npos);
    CHECK(hit_time(model, *hit) == node.phases[0].begin);

    Layout whole = compute_layout(model, {1000, 700}, full_window(model));
    const MemoryPlot& plot = whole.memory->plots[0];
    auto mem = hit_test(model, whole, plot.pages.right() - 5, plot.pages.y + 5);
    REQUIRE(mem);
    CHECK(mem->kind == HitKind::mem_sample);
    CHECK_FALSE(hit_test(model, whole, 2, 2)); // the title bar: nothing
}

TEST_CASE("layout: search finds log text, names, kinds and nodes")
{
    TraceModel model = load_trace_bytes(kernel_trace());
    CHECK(search(model, "round 2", 100).size() == 2);
    auto alpha = search(model, "alpha", 100);
    REQUIRE(alpha.size() == 1);
    CHECK(alpha[0].kind == HitKind::run);
    CHECK(search(model, "log", 100).size() == 6);
    CHECK(search(model, "log", 4).size() == 4);
    CHECK(search(model, "node 0", 1000).size() > 6);
    CHECK(search(model, "node 5", 1000).empty());
    CHECK(search(model, "", 10).empty());
}

TEST_CASE("layout: the JSON debug output names the phases with their colours")
{
    TraceModel model = load_trace_bytes(kernel_trace());
    Layout layout = compute_layout(model, {1000, 700}, full_window(model));
    std::string json = layout_json(model, layout);
    CHECK(json.find("\"timeline\"") != std::string::npos);
    CHECK(json.find("\"network\"") != std::string::npos);
    CHECK(json.find("\"kind\":\"fiber\"") != std::string::npos);
    CHECK(json.find("[70,130,190]") != std::string::npos); // depth-0 phase colour
}
