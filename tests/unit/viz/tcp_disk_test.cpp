// The TCP panel (tcp_state/tcp_stats per connection) and the disk lane
// (block_io): indexed per node, laid out, clickable, and drawn where the
// layout says.
#include "viz_test_support.hpp"

#include <gantry/viz/layout.hpp>
#include <gantry/viz/render.hpp>

#include <catch2/catch.hpp>

using namespace gantry;
using namespace gantry::viz;
using namespace gantry::viz_test;

namespace {

TraceTcpConnection tuple(u16 remote_port)
{
    TraceTcpConnection c;
    c.local = 0x0a000001;
    c.local_port = 7;
    c.remote = 0x0a000002;
    c.remote_port = remote_port;
    return c;
}

TraceModel tcp_disk_model()
{
    ManualTrace trace(2);
    trace.tracer.node_info("kv", "test");
    TraceTcpConnection c = tuple(40000);
    c.old_state = 1;
    c.state = 4; // listen -> established
    trace.time = 10 * ns_per_ms;
    trace.tracer.tcp_state(c);
    for (u32 i = 0; i < 5; ++i) {
        trace.time = (20 + 10 * i) * ns_per_ms;
        c.state = 4;
        c.cwnd = 2920 * (i + 1);
        c.ssthresh = 0xffffffff; // "infinite": must not set the scale
        c.snd_wnd = 65535;
        c.srtt_ns = (1 + i) * ns_per_ms;
        c.rto_ns = 200 * ns_per_ms;
        c.retransmits = i >= 3 ? 1 : 0; // one retransmission between samples 2 and 3
        c.bytes_in = 1000 * i;
        trace.tracer.tcp_stats(c);
    }
    TraceTcpConnection other = tuple(40001);
    other.old_state = 0;
    other.state = 2;
    trace.time = 30 * ns_per_ms;
    trace.tracer.tcp_state(other);

    TraceBlockIo io;
    io.op = 1;
    io.status = 1;
    io.sector = 8;
    io.sectors = 2;
    io.latency_ns = 5 * ns_per_ms;
    trace.time = 60 * ns_per_ms; // a write from 55 to 60 ms
    trace.tracer.block_io(io);
    io.op = 0;
    io.status = 2; // a failed read from 65 to 70 ms
    trace.time = 70 * ns_per_ms;
    trace.tracer.block_io(io);
    trace.time = 100 * ns_per_ms;
    trace.tracer.kernel_exit(0);
    return load_trace_bytes(with_header(trace.finish()));
}

} // namespace

TEST_CASE("tcp view: connections are indexed per 4-tuple with states and samples")
{
    TraceModel model = tcp_disk_model();
    REQUIRE(model.nodes.size() == 1);
    const NodeIndex& node = model.nodes[0];
    REQUIRE(node.tcp.size() == 2);
    const TcpConnection& first = node.tcp[0];
    CHECK(first.remote_port == 40000);
    REQUIRE(first.states.size() == 1);
    CHECK(first.states[0].from == 1);
    CHECK(first.states[0].to == 4);
    REQUIRE(first.samples.size() == 5);
    CHECK(first.samples[4].cwnd == 5 * 2920);
    CHECK(first.cwnd_max == 5 * 2920); // the infinite ssthresh is left out
    CHECK(first.window_max == 65535);
    CHECK(first.rtt_max == 200 * ns_per_ms);
    CHECK(node.tcp[1].samples.empty());
    CHECK(node.tcp[1].states.size() == 1);
}

TEST_CASE("disk lane: block_io records become spans from submission to completion")
{
    TraceModel model = tcp_disk_model();
    const NodeIndex& node = model.nodes[0];
    REQUIRE(node.block_io.size() == 2);
    CHECK(node.block_io[0].begin == 55 * ns_per_ms);
    CHECK(node.block_io[0].end == 60 * ns_per_ms);
    CHECK(node.block_io[0].op == 1);
    CHECK(node.block_io[1].status == 2);

    Layout layout = compute_layout(model, {1000, 600}, {0, 100 * ns_per_ms},
                                   view_options(View::timeline));
    const Lane* disk = nullptr;
    for (const Lane& lane : layout.timeline->lanes)
        if (lane.kind == LaneKind::disk)
            disk = &lane;
    REQUIRE(disk != nullptr);
    TimeScale scale = layout.scale();
    int write_x = static_cast<int>(scale.x_of(57 * ns_per_ms));
    // Writes on the lower half of the lane, reads (here a failed one) on the upper.
    int lower_y = disk->rect.y + disk->rect.h * 3 / 4;
    int upper_y = disk->rect.y + disk->rect.h / 4;
    auto hit = hit_test(model, layout, write_x, lower_y);
    REQUIRE(hit);
    CHECK(hit->kind == HitKind::block_io);
    CHECK(hit->index == 0);
    CHECK(describe(model, *hit).find("write on disk 0, sectors 8..+2 (1024 bytes): ok") !=
          std::string::npos);

    std::vector<u8> pixels = render_offscreen(model, layout);
    auto pixel = [&](int x, int y) {
        const u8* p = &pixels[(static_cast<usize>(y) * 1000 + static_cast<usize>(x)) * 4];
        return Color{p[0], p[1], p[2]};
    };
    CHECK(pixel(write_x, lower_y) == palette::disk_write);
    CHECK(pixel(static_cast<int>(scale.x_of(67 * ns_per_ms)), upper_y) == palette::disk_error);
    CHECK(pixel(static_cast<int>(scale.x_of(40 * ns_per_ms)), lower_y) != palette::disk_write);
}

TEST_CASE("tcp view: a row per connection, the cwnd line where the scale puts it")
{
    TraceModel model = tcp_disk_model();
    Layout layout = compute_layout(model, {1000, 600}, {0, 100 * ns_per_ms},
                                   view_options(View::tcp));
    REQUIRE(layout.tcp);
    REQUIRE(layout.tcp->plots.size() == 2);
    CHECK(layout.tcp->hidden == 0);
    const TcpPlot& plot = layout.tcp->plots[0];
    CHECK(plot.window.bottom() <= plot.rtt.y);
    CHECK(plot.rtt.bottom() <= plot.events.y);
    CHECK(layout.tcp->plots[1].label.y >= plot.events.bottom());

    // Last sample (cwnd 14600 = cwnd_max) from 60 ms to the connection's end is
    // drawn at 1/1.25 of the plot's height.
    std::vector<u8> pixels = render_offscreen(model, layout);
    TimeScale scale = layout.scale();
    int x = static_cast<int>(scale.x_of(55 * ns_per_ms));
    const TcpSample& sample = model.nodes[0].tcp[0].samples[3]; // in effect at 55 ms
    u64 max = model.nodes[0].tcp[0].cwnd_max * 5 / 4;
    int y = plot.window.bottom() - 2 -
            static_cast<int>(static_cast<double>(sample.cwnd) * (plot.window.h - 3) /
                             static_cast<double>(max));
    const u8* p = &pixels[(static_cast<usize>(y) * 1000 + static_cast<usize>(x)) * 4];
    CHECK(Color{p[0], p[1], p[2]} == palette::tcp_cwnd);

    // The retransmission between samples 2 (40 ms) and 3 (50 ms) is marked at 50 ms.
    int rx = static_cast<int>(scale.x_of(50 * ns_per_ms));
    const u8* r = &pixels[(static_cast<usize>(plot.events.y + 1) * 1000 + static_cast<usize>(rx)) * 4];
    CHECK(Color{r[0], r[1], r[2]} == palette::tcp_retransmit);

    auto hit = hit_test(model, layout, x, plot.window.y + 5);
    REQUIRE(hit);
    CHECK(hit->kind == HitKind::tcp_sample);
    CHECK(hit->index == 3);
    CHECK(describe(model, *hit).find("TCP 10.0.0.1:7 -> 10.0.0.2:40000") != std::string::npos);
    CHECK(hit_time(model, *hit) == 50 * ns_per_ms);
}

TEST_CASE("tcp view: search finds retransmissions and disk requests")
{
    TraceModel model = tcp_disk_model();
    auto retransmits = search(model, "retransmit", 10);
    REQUIRE(retransmits.size() == 1);
    CHECK(retransmits[0].kind == HitKind::tcp_sample);
    CHECK(retransmits[0].index == 3);
    CHECK(search(model, "disk", 10).size() == 2);
}

TEST_CASE("tcp view: the all view adds a TCP panel only when there are connections")
{
    TraceModel with_tcp = tcp_disk_model();
    Layout layout = compute_layout(with_tcp, {1200, 900}, full_window(with_tcp));
    REQUIRE(layout.tcp);
    CHECK(layout.tcp->panel.y >= layout.network->panel.bottom());
    CHECK(layout.tcp->panel.bottom() <= 900);
    TraceModel without = load_trace_bytes(kernel_trace());
    CHECK(!compute_layout(without, {1200, 900}, full_window(without)).tcp);
    CHECK(parse_view("tcp") == View::tcp);
}
