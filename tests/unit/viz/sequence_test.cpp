// The network view's sequence diagram: link frames become arrows between node
// lanes, dropped ones end half-way, and only frames in the window are found.
#include <gantry/viz/layout.hpp>

#include <catch2/catch.hpp>

using namespace gantry;
using namespace gantry::viz;

namespace {

// Two nodes with NIC events (so both get lanes) and hand-placed link frames.
TraceModel sequence_model()
{
    TraceModel model;
    for (u32 id : {0u, 1u}) {
        NodeIndex node;
        node.node = id;
        node.last_time = 1000;
        node.net_tx.push_back({10, 0, 0, 60, 0x0800, 0, 0, 17, 0});
        model.nodes.push_back(std::move(node));
    }
    model.records = 4;
    model.last_time = 1000;
    // time, sent, link, from, to, length, fate
    model.link_frames = {{200, 100, 0, 0, 1, 60, 0},          {300, 250, 0, 1, 0, 60, 1},
                         {400, 350, 0, 0, 1, 60, 6},          {500, 450, 0, 0, 0xffffffff, 60, 3},
                         {900, 800, 0, 1, 0, 60, 2}};
    model.link_delay_max = 100;
    return model;
}

Layout network_layout(const TraceModel& model, TimeWindow window)
{
    LayoutOptions options;
    options.view = View::network;
    return compute_layout(model, {120 + 1000 + 8, 200}, window, options);
}

} // namespace

TEST_CASE("viz: frame fates map to arrow kinds and colours")
{
    CHECK(arrow_fate(0) == ArrowFate::delivered);
    CHECK(arrow_fate(1) == ArrowFate::corrupted);
    CHECK(arrow_fate(2) == ArrowFate::duplicate);
    for (u8 drop = 3; drop <= 7; ++drop)
        CHECK(arrow_fate(drop) == ArrowFate::dropped);
    CHECK(arrow_color(ArrowFate::dropped) == palette::net_drop);
    CHECK(arrow_color(ArrowFate::corrupted) == palette::frame_corrupted);
}

TEST_CASE("viz: a frame's arrow runs from sender lane at send to receiver at arrival")
{
    TraceModel model = sequence_model();
    Layout layout = network_layout(model, {0, 1000}); // 1 px per ns
    const NetworkLayout& network = *layout.network;
    REQUIRE(network.lanes.size() == 2);
    REQUIRE(network.pitch == seq_lane_px);
    int y0 = network.lanes[0].rect.y + network.lanes[0].rect.h / 2;
    int y1 = network.lanes[1].rect.y + network.lanes[1].rect.h / 2;
    CHECK(y1 - y0 == seq_lane_px);
    TimeScale scale = layout.scale();

    auto delivered = frame_arrow(model, network, scale, 0);
    REQUIRE(delivered);
    CHECK(delivered->x0 == 220);
    CHECK(delivered->x1 == 320);
    CHECK(delivered->y0 == y0);
    CHECK(delivered->y1 == y1);
    CHECK(delivered->fate == ArrowFate::delivered);

    auto partitioned = frame_arrow(model, network, scale, 2); // dropped: half-way
    REQUIRE(partitioned);
    CHECK(partitioned->fate == ArrowFate::dropped);
    CHECK(partitioned->x1 == 520);
    CHECK(partitioned->y1 == (y0 + y1) / 2);

    auto lost = frame_arrow(model, network, scale, 3); // no receiver: half a lane on
    REQUIRE(lost);
    CHECK(lost->y1 == y0 + seq_lane_px / 2);
}

TEST_CASE("viz: arrows are clipped to the window and found by time")
{
    TraceModel model = sequence_model();
    // 300..500: frame 0 (ends at 200) is out, frame 4 (sent 800) is out, frame 2 is
    // in, frame 1 ends exactly at the window's start and is in.
    Layout layout = network_layout(model, {300, 500});
    std::vector<FrameArrow> arrows = visible_arrows(model, layout);
    REQUIRE(arrows.size() == 3);
    CHECK(arrows[0].frame == 1); // corrupted
    CHECK(arrows[0].fate == ArrowFate::corrupted);
    CHECK(arrows[0].x0 == layout.plot_columns.x); // sent before the window: clipped
    // Drops come last so their crosses are drawn over everything else.
    CHECK(arrows[1].fate == ArrowFate::dropped);
    CHECK(arrows[2].fate == ArrowFate::dropped);

    Layout whole = network_layout(model, {0, 1000});
    CHECK(visible_arrows(model, whole).size() == 5);
    Layout none = network_layout(model, {600, 700}); // between frames
    CHECK(visible_arrows(model, none).empty());
}

TEST_CASE("viz: clicking a frame's arrow shows the frame; search lists dropped frames")
{
    TraceModel model = sequence_model();
    Layout layout = network_layout(model, {0, 1000});
    const NetworkLayout& network = *layout.network;
    int y0 = network.lanes[0].rect.y + network.lanes[0].rect.h / 2;
    int y1 = network.lanes[1].rect.y + network.lanes[1].rect.h / 2;
    // Half-way along the delivered frame 0 -> 1 sent at 100, arriving at 200.
    auto hit = hit_test(model, layout, 270, (y0 + y1) / 2);
    REQUIRE(hit);
    CHECK(hit->kind == HitKind::link_frame);
    CHECK(hit->index == 0);
    std::string text = describe(model, *hit);
    CHECK(text.find("node 0 -> node 1") != std::string::npos);
    CHECK(text.find("delivered") != std::string::npos);
    CHECK(text.find("after 100 ns") != std::string::npos);
    // The partitioned frame ends in a cross half-way: its end is clickable.
    auto dropped = hit_test(model, layout, 520, (y0 + y1) / 2);
    REQUIRE(dropped);
    CHECK(dropped->kind == HitKind::link_frame);
    CHECK(dropped->index == 2);
    CHECK(describe(model, *dropped).find("dropped: partition") != std::string::npos);
    // Far from every arrow, between the lanes: nothing.
    CHECK_FALSE(hit_test(model, layout, 700, (y0 + y1) / 2));
    std::vector<Hit> frames = search(model, "frame", 10);
    REQUIRE(frames.size() == 3); // partition and loss from node 0, corruption from node 1
    CHECK(frames[0].kind == HitKind::link_frame);
}
