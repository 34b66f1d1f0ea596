// The network view: frames sent, received and dropped at a node's NIC become
// per-node lanes with ticks and crosses; the simulator's fabric is not a node.
#include "viz_test_support.hpp"

#include <gantry/viz/layout.hpp>
#include <gantry/viz/render.hpp>

#include <catch2/catch.hpp>

using namespace gantry;
using namespace gantry::viz;
using namespace gantry::viz_test;

namespace {

TraceModel network_model()
{
    ManualTrace trace(3);
    trace.tracer.node_info("echo", "test");
    TraceNetFrame frame;
    frame.length = 60;
    frame.ethertype = 0x0800;
    frame.protocol = 17;
    frame.source = 0x0a000001;
    frame.destination = 0x0a000002;
    frame.source_port = 5000;
    frame.destination_port = 7;
    trace.time = 100 * ns_per_us;
    trace.tracer.net_tx(frame);
    trace.time = 500 * ns_per_us;
    trace.tracer.net_rx(frame);
    trace.time = 800 * ns_per_us;
    trace.tracer.net_drop(frame, 3);
    trace.time = 1000 * ns_per_us;
    trace.tracer.kernel_exit(0);
    std::vector<u8> records = trace.finish();
    // A record from the simulator's fabric (node 0xffffffff) must not become a node.
    std::vector<u8> fabric = {20, 0, 7, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0,
                              1, 0, 0, 0};
    records.insert(records.end(), fabric.begin(), fabric.end());
    return load_trace_bytes(with_header(records));
}

} // namespace

TEST_CASE("network: tx, rx and drops are indexed per node")
{
    TraceModel model = network_model();
    REQUIRE(model.nodes.size() == 1);
    const NodeIndex& node = model.nodes[0];
    REQUIRE(node.net_tx.size() == 1);
    REQUIRE(node.net_rx.size() == 1);
    REQUIRE(node.net_drops.size() == 1);
    CHECK(node.net_tx[0].destination_port == 7);
    CHECK(node.net_drops[0].reason == 3);
    CHECK(model.network_records == 3);
}

TEST_CASE("network: a lane per node with events; a click on a drop describes it")
{
    TraceModel model = network_model();
    Layout layout = compute_layout(model, {1000, 600}, {0, 1000 * ns_per_us});
    REQUIRE(layout.network);
    REQUIRE(layout.network->lanes.size() == 1);
    const NetLane& lane = layout.network->lanes[0];
    int x = static_cast<int>(layout.scale().x_of(800 * ns_per_us));
    auto hit = hit_test(model, layout, x, lane.rect.y + lane.rect.h / 2);
    REQUIRE(hit);
    CHECK(hit->kind == HitKind::net_drop);
    std::string text = describe(model, *hit);
    CHECK(text.find("dropped UDP 10.0.0.1:5000 -> 10.0.0.2:7, 60 bytes") != std::string::npos);
    CHECK(text.find("reason 3") != std::string::npos);
    auto tx = hit_test(model, layout, static_cast<int>(layout.scale().x_of(100 * ns_per_us)),
                       lane.rect.y + 2);
    REQUIRE(tx);
    CHECK(tx->kind == HitKind::net_tx);
    CHECK(search(model, "drop", 10).size() == 1);
}

TEST_CASE("network: the drop's cross is drawn in the drop colour")
{
    TraceModel model = network_model();
    Layout layout = compute_layout(model, {800, 500}, {0, 1000 * ns_per_us});
    const NetLane& lane = layout.network->lanes[0];
    std::vector<u8> pixels = render_offscreen(model, layout);
    int x = static_cast<int>(layout.scale().x_of(800 * ns_per_us));
    int y = lane.rect.y + lane.rect.h / 2;
    const u8* pixel = &pixels[(static_cast<usize>(y) * 800 + x) * 4];
    CHECK(Color{pixel[0], pixel[1], pixel[2]} == palette::net_drop);
}

TEST_CASE("network: without network records the panel has no lanes")
{
    TraceModel model = load_trace_bytes(kernel_trace());
    Layout layout = compute_layout(model, {800, 500}, full_window(model));
    REQUIRE(layout.network);
    CHECK(layout.network->lanes.empty());
}
