// The network view's filter by protocol and connection, on the trace of a real
// simulated run (TCP, UDP, ICMP and ARP through a switch, one lossy link): link
// frames take their headers from the sender's net_tx record, and arrows, NIC
// ticks, clicks and TCP rows follow the filter.
#include "viz_test_support.hpp"

#include <gantry/sim/world.hpp>
#include <gantry/viz/filter.hpp>
#include <gantry/viz/layout.hpp>
#include <gantry/viz/render.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <tuple>

using namespace gantry;
using namespace gantry::viz;
using namespace gantry::viz_test;

namespace {

constexpr u32 server_ip = 0x0a000001;
constexpr u32 tcp_client_ip = 0x0a000002;
constexpr u32 udp_client_ip = 0x0a000003;

// An echo server, a TCP client, a UDP client and a pinger on one switch; the
// UDP client's link loses frames, so some arrows end in a cross.
const TraceModel& simulated_model()
{
    static const TraceModel model = [] {
        sim::World world({.seed = 3, .trace_in_memory = true});
        auto node = [&](const char* name, u32 ip, std::vector<std::string> args) {
            sim::NodeConfig config{.app = "echo", .name = name, .args = std::move(args)};
            config.ip = net::Ipv4Address::from_u32(ip);
            return world.add_node(config);
        };
        sim::NodeId server = node("server", server_ip, {});
        sim::NodeId tcp = node("tcp", tcp_client_ip, {"tcp-client", "10.0.0.1", "30000"});
        sim::NodeId udp = node("udp", udp_client_ip, {"client", "10.0.0.1", "30"});
        sim::NodeId ping = node("ping", 0x0a000004, {"ping", "10.0.0.1", "5"});
        sim::SwitchId lan = world.add_switch({.name = "lan"});
        for (sim::NodeId id : {server, tcp, ping})
            world.add_link(sim::Endpoint::node(id), sim::Endpoint::switch_port(lan),
                           {.latency_ns = 100 * ns_per_us});
        world.add_link(sim::Endpoint::node(udp), sim::Endpoint::switch_port(lan),
                       {.latency_ns = 200 * ns_per_us, .faults = {.loss_ppm = 100'000}});
        world.run_until(3 * ns_per_s);
        GANTRY_ASSERT(world.finish_trace());
        return load_trace_bytes(world.trace_bytes(), "filter-test");
    }();
    return model;
}

bool same_headers(const NetEvent& a, const NetEvent& b)
{
    return std::tie(a.ethertype, a.protocol, a.source, a.destination, a.source_port,
                    a.destination_port) == std::tie(b.ethertype, b.protocol, b.source,
                                                    b.destination, b.source_port,
                                                    b.destination_port);
}

// Built field by field, not as {.protocols = ...}: see view_options().
NetFilter protocols_only(u8 protocol_bits)
{
    NetFilter filter;
    filter.protocols = protocol_bits;
    return filter;
}

Layout network_layout(const TraceModel& model, NetFilter filter = {})
{
    return compute_layout(model, {1600, 400}, full_window(model),
                          view_options(View::network, filter));
}

NetConnection tcp_connection(const TraceModel& model)
{
    for (const NodeIndex& node : model.nodes)
        if (!node.tcp.empty())
            return *connection_of(node.tcp[0]);
    FAIL("no TCP connection in the trace");
    return {};
}

// Arrows as geometry + fate: what is drawn, whichever frame stood for it.
std::set<std::tuple<int, int, int, int, int>> geometries(const std::vector<FrameArrow>& arrows)
{
    std::set<std::tuple<int, int, int, int, int>> out;
    for (const FrameArrow& a : arrows)
        out.insert({a.x0, a.y0, a.x1, a.y1, static_cast<int>(a.fate)});
    return out;
}

} // namespace

TEST_CASE("filter: a simulated run's link frames get the headers their senders sent")
{
    const TraceModel& model = simulated_model();
    REQUIRE(model.link_frames.size() > 100);
    usize by_protocol[net_protocols_selectable + 1] = {};
    usize dropped = 0, confirmed = 0;
    for (const LinkFrame& frame : model.link_frames) {
        ++by_protocol[static_cast<usize>(frame.protocol)];
        const NetEvent* header = frame_header(model, frame);
        REQUIRE(header != nullptr); // every node traces its NIC: nothing is unknown
        CHECK(header->time == frame.sent);
        CHECK(header->length == frame.length);
        CHECK(net_protocol(*header) == frame.protocol);
        dropped += frame.fate >= 3;
        if (frame.fate != 0 && frame.fate != 2)
            continue;
        // A delivered frame arrived with the headers it was sent with: the
        // receiver's own net_rx record at the arrival says so, independently.
        const NodeIndex* receiver = model.node(frame.to);
        REQUIRE(receiver != nullptr);
        bool received = false;
        for (usize i = first_at_or_after(receiver->net_rx, frame.time);
             i < receiver->net_rx.size() && receiver->net_rx[i].time == frame.time; ++i)
            received |= same_headers(receiver->net_rx[i], *header);
        CHECK(received);
        confirmed += received;
    }
    CHECK(by_protocol[static_cast<usize>(NetProtocol::arp)] > 0);
    CHECK(by_protocol[static_cast<usize>(NetProtocol::icmp)] > 0);
    CHECK(by_protocol[static_cast<usize>(NetProtocol::udp)] > 0);
    CHECK(by_protocol[static_cast<usize>(NetProtocol::tcp)] > 50);
    CHECK(by_protocol[static_cast<usize>(NetProtocol::unknown)] == 0);
    CHECK(dropped > 0);
    CHECK(confirmed > model.link_frames.size() / 2);
}

TEST_CASE("filter: by protocol, exactly the arrows of that protocol are drawn")
{
    const TraceModel& model = simulated_model();
    auto all = visible_arrows(model, network_layout(model));
    for (NetProtocol protocol : {NetProtocol::tcp, NetProtocol::udp, NetProtocol::arp}) {
        INFO(net_protocol_name(protocol));
        NetFilter filter = protocols_only(protocol_bit(protocol));
        auto kept = visible_arrows(model, network_layout(model, filter));
        REQUIRE(!kept.empty());
        CHECK(kept.size() < all.size());
        for (const FrameArrow& arrow : kept)
            CHECK(model.link_frames[arrow.frame].protocol == protocol);
        // Every arrow of that protocol in the unfiltered picture is still drawn.
        auto kept_paths = geometries(kept);
        for (const FrameArrow& arrow : all)
            if (model.link_frames[arrow.frame].protocol == protocol)
                CHECK(kept_paths.count({arrow.x0, arrow.y0, arrow.x1, arrow.y1,
                                        static_cast<int>(arrow.fate)}) == 1);
    }
    // Two protocols at once: their union.
    NetFilter both = protocols_only(
        static_cast<u8>(protocol_bit(NetProtocol::udp) | protocol_bit(NetProtocol::icmp)));
    usize udp_or_icmp = 0;
    for (const FrameArrow& arrow : visible_arrows(model, network_layout(model, both))) {
        NetProtocol p = model.link_frames[arrow.frame].protocol;
        CHECK((p == NetProtocol::udp || p == NetProtocol::icmp));
        ++udp_or_icmp;
    }
    CHECK(udp_or_icmp > 0);
}

TEST_CASE("filter: by connection, both directions of that conversation and nothing else")
{
    const TraceModel& model = simulated_model();
    NetConnection connection = tcp_connection(model);
    CHECK(connection.to_string().starts_with("tcp:10.0.0.1:7-10.0.0.2:"));
    auto kept = visible_arrows(model, network_layout(model, {.connection = connection}));
    REQUIRE(!kept.empty());
    std::set<u32> senders;
    for (const FrameArrow& arrow : kept) {
        const LinkFrame& frame = model.link_frames[arrow.frame];
        const NetEvent* header = frame_header(model, frame);
        REQUIRE(header != nullptr);
        CHECK(connection.matches(*header));
        CHECK(frame.protocol == NetProtocol::tcp);
        senders.insert(frame.from);
    }
    CHECK(senders.size() == 2); // the client's segments and the server's
    // The UDP client's conversation is another one: none of its frames match.
    auto listed = list_connections(model, 100);
    const NetConnection* udp = nullptr;
    for (const ConnectionCount& entry : listed)
        if (entry.connection.a.address == udp_client_ip ||
            entry.connection.b.address == udp_client_ip)
            udp = &entry.connection;
    REQUIRE(udp != nullptr);
    CHECK(udp->protocols == protocol_bit(NetProtocol::udp));
    for (const FrameArrow& arrow : kept)
        CHECK_FALSE(udp->matches(*frame_header(model, model.link_frames[arrow.frame])));
    // The same connection without saying TCP or UDP matches the same frames.
    NetConnection either = connection;
    either.protocols = protocol_bit(NetProtocol::tcp) | protocol_bit(NetProtocol::udp);
    CHECK(visible_arrows(model, network_layout(model, {.connection = either})).size() ==
          kept.size());
    // And with a protocol filter that excludes it, nothing is left.
    NetFilter contradiction{.protocols = protocol_bit(NetProtocol::udp), .connection = connection};
    CHECK(visible_arrows(model, network_layout(model, contradiction)).empty());
}

TEST_CASE("filter: clicks, TCP rows and the layout's JSON follow the filter")
{
    const TraceModel& model = simulated_model();
    NetConnection tcp = tcp_connection(model);
    // A TCP arrow, clicked with a UDP filter on, is not there to be clicked.
    const LinkFrame* segment = nullptr;
    for (const LinkFrame& frame : model.link_frames)
        if (frame.protocol == NetProtocol::tcp && frame.fate == 0 && segment == nullptr)
            segment = &frame;
    REQUIRE(segment != nullptr);
    TimeWindow around{segment->sent - 200 * ns_per_us, segment->time + 200 * ns_per_us};
    auto zoomed = [&](NetFilter filter) {
        return compute_layout(model, {1600, 400}, around, view_options(View::network, filter));
    };
    Layout unfiltered = zoomed({});
    std::optional<FrameArrow> tcp_arrow;
    for (const FrameArrow& arrow : visible_arrows(model, unfiltered))
        if (&model.link_frames[arrow.frame] == segment)
            tcp_arrow = arrow;
    REQUIRE(tcp_arrow);
    // A point of its line where a click finds a TCP frame (other arrows cross it).
    std::optional<Hit> hit;
    int x = 0, y = 0;
    for (int step = 1; step < 20 && !(hit && hit_protocol(model, *hit) == NetProtocol::tcp);
         ++step) {
        x = tcp_arrow->x0 + (tcp_arrow->x1 - tcp_arrow->x0) * step / 20;
        y = tcp_arrow->y0 + (tcp_arrow->y1 - tcp_arrow->y0) * step / 20;
        hit = hit_test(model, unfiltered, x, y);
    }
    REQUIRE(hit);
    INFO(describe(model, *hit));
    REQUIRE(hit->kind == HitKind::link_frame);
    CHECK(hit_protocol(model, *hit) == NetProtocol::tcp);
    CHECK(hit_connection(model, *hit) == tcp);
    CHECK(describe(model, *hit).find("TCP 10.0.0.") != std::string::npos);
    Layout udp_only = zoomed(protocols_only(protocol_bit(NetProtocol::udp)));
    auto filtered_hit = hit_test(model, udp_only, x, y);
    CHECK((!filtered_hit || filtered_hit->kind != HitKind::link_frame ||
           model.link_frames[filtered_hit->index].protocol == NetProtocol::udp));

    // TCP rows: the connection's two ends with its filter, none with the UDP one.
    LayoutOptions options = view_options(View::tcp);
    Layout rows = compute_layout(model, {1600, 900}, full_window(model), options);
    REQUIRE(rows.tcp->plots.size() == 2);
    CHECK(rows.tcp->filtered == 0);
    Hit row{HitKind::tcp_sample, rows.tcp->plots[0].node_slot, rows.tcp->plots[0].connection, 0};
    CHECK(hit_connection(model, row) == tcp);
    options.net_filter.connection = tcp;
    CHECK(compute_layout(model, {1600, 900}, full_window(model), options).tcp->plots.size() == 2);
    std::string error;
    options.net_filter.connection = parse_connection("udp:10.0.0.3:1-10.0.0.1:7", error);
    Layout none = compute_layout(model, {1600, 900}, full_window(model), options);
    CHECK(none.tcp->plots.empty());
    CHECK(none.tcp->filtered == 2);

    std::string json = layout_json(model, network_layout(model, {.connection = tcp}));
    CHECK(json.find("\"filter\":\"" + tcp.to_string() + "\"") != std::string::npos);
    CHECK(json.find("\"udp\"") == std::string::npos); // no UDP arrow listed
}

TEST_CASE("filter: NIC ticks the filter leaves out are not drawn")
{
    ManualTrace trace(0);
    trace.tracer.node_info("echo", "test");
    TraceNetFrame udp{.length = 60, .ethertype = 0x0800, .protocol = 17, .source = server_ip,
                      .destination = tcp_client_ip, .source_port = 7, .destination_port = 5000};
    TraceNetFrame arp{.length = 60, .ethertype = 0x0806};
    trace.time = 200 * ns_per_us;
    trace.tracer.net_tx(udp);
    trace.time = 600 * ns_per_us;
    trace.tracer.net_tx(arp);
    trace.time = 1000 * ns_per_us;
    trace.tracer.kernel_exit(0);
    TraceModel model = load_trace_bytes(with_header(trace.finish()));
    auto tick = [&](const NetFilter& filter, TimeNs t) {
        Layout layout = compute_layout(model, {800, 200}, {0, 1000 * ns_per_us},
                                       view_options(View::network, filter));
        const NetLane& lane = layout.network->lanes.at(0);
        std::vector<u8> pixels = render_offscreen(model, layout);
        int x = static_cast<int>(layout.scale().x_of(t)), y = lane.rect.y + 3; // upper half: tx
        const u8* p = &pixels[(static_cast<usize>(y) * 800 + static_cast<usize>(x)) * 4];
        return Color{p[0], p[1], p[2]};
    };
    Color udp_colour = palette::net_protocol(17, 0x0800);
    Color arp_colour = palette::net_protocol(0, 0x0806);
    CHECK(tick({}, 200 * ns_per_us) == udp_colour);
    CHECK(tick({}, 600 * ns_per_us) == arp_colour);
    NetFilter udp_only = protocols_only(protocol_bit(NetProtocol::udp));
    CHECK(tick(udp_only, 200 * ns_per_us) == udp_colour);
    CHECK(tick(udp_only, 600 * ns_per_us) == palette::lane_even);
    NetFilter arp_only = protocols_only(protocol_bit(NetProtocol::arp));
    CHECK(tick(arp_only, 200 * ns_per_us) == palette::lane_even);
    CHECK(tick(arp_only, 600 * ns_per_us) == arp_colour);
    NetFilter conversation{.connection = connection_of(model.nodes[0].net_tx[0])};
    CHECK(tick(conversation, 200 * ns_per_us) == udp_colour);
    CHECK(tick(conversation, 600 * ns_per_us) == palette::lane_even);
}

TEST_CASE("filter: frames sent together are told apart by the receiver, then by order")
{
    TraceModel model;
    auto tx = [](u32 destination, u16 port) {
        return NetEvent{100, server_ip, destination, 60, 0x0800, 7, port, 6, 0};
    };
    NodeIndex sender;
    sender.node = 0;
    sender.last_time = 1000;
    sender.net_tx = {tx(tcp_client_ip, 1000), tx(udp_client_ip, 2000), tx(tcp_client_ip, 1001)};
    NodeIndex first;
    first.node = 1;
    first.last_time = 1000;
    first.net_rx = {sender.net_tx[0], sender.net_tx[2]}; // both of its segments at 300
    first.net_rx[0].time = first.net_rx[1].time = 300;
    NodeIndex second;
    second.node = 2;
    second.last_time = 1000;
    second.net_rx = {sender.net_tx[1]};
    second.net_rx[0].time = 300;
    model.nodes = {sender, first, second};
    // time, sent, link, from, to, length, fate: three frames handed over at 100.
    model.link_frames = {{300, 100, 0, 0, 1, 60, 0}, {300, 100, 0, 0, 2, 60, 0},
                         {300, 100, 0, 0, 1, 60, 0}, {400, 100, 0, 0, 2, 61, 3}};
    CHECK(match_frame_headers(model, 0) == model.link_frames.size()); // all final
    // The frame to node 2: its net_rx confirms one of the three.
    CHECK(model.link_frames[1].match == HeaderMatch::by_receiver);
    CHECK(model.link_frames[1].header == 1);
    // Node 1 received two: the first frame is the first sent, the second the third.
    CHECK(model.link_frames[0].match == HeaderMatch::by_order);
    CHECK(model.link_frames[0].header == 0);
    CHECK(model.link_frames[2].match == HeaderMatch::by_order);
    CHECK(model.link_frames[2].header == 2);
    // No net_tx of that length: the headers are unknown, and an active filter hides it.
    CHECK(model.link_frames[3].match == HeaderMatch::none);
    CHECK(model.link_frames[3].protocol == NetProtocol::unknown);
    CHECK(frame_matches({}, model, model.link_frames[3]));
    CHECK_FALSE(frame_matches(protocols_only(protocol_bit(NetProtocol::other)), model,
                              model.link_frames[3]));
    // While the sender has written nothing after the frame's send time, its match is
    // provisional (a followed trace may still append records of that moment).
    model.nodes[0].last_time = 100;
    CHECK(match_frame_headers(model, 0) == 0);
}

TEST_CASE("filter: --protocol and --connection values, good and bad")
{
    std::string error;
    CHECK(parse_protocols("tcp", error) == protocol_bit(NetProtocol::tcp));
    CHECK(parse_protocols("TCP,udp,arp", error) ==
          (protocol_bit(NetProtocol::tcp) | protocol_bit(NetProtocol::udp) |
           protocol_bit(NetProtocol::arp)));
    CHECK(parse_protocols("other,icmp", error) ==
          (protocol_bit(NetProtocol::other) | protocol_bit(NetProtocol::icmp)));
    for (const char* bad : {"", "tcp,", "tcp,,udp", "sctp", "unknown", "tcp udp"}) {
        INFO(bad);
        error.clear();
        CHECK_FALSE(parse_protocols(bad, error));
        CHECK(error.find("use arp, icmp, udp, tcp or other") != std::string::npos);
    }

    auto good = parse_connection("udp:10.0.0.2:49152-10.0.0.1:7", error);
    REQUIRE(good);
    CHECK(good->protocols == protocol_bit(NetProtocol::udp));
    CHECK(good->a == NetEndpoint{server_ip, 7});
    CHECK(good->b == NetEndpoint{tcp_client_ip, 49152});
    CHECK(good->to_string() == "udp:10.0.0.1:7-10.0.0.2:49152"); // one form per conversation
    CHECK(parse_connection(good->to_string(), error) == good);
    auto either = parse_connection("10.0.0.1:7-10.0.0.2:49152", error);
    REQUIRE(either);
    CHECK(either->protocols ==
          (protocol_bit(NetProtocol::tcp) | protocol_bit(NetProtocol::udp)));
    CHECK(either->to_string() == "10.0.0.1:7-10.0.0.2:49152");

    struct Bad {
        const char* text;
        const char* says;
    };
    for (Bad bad : {Bad{"10.0.0.1:80", "not two endpoints"},
                    Bad{"10.0.0.1:80-10.0.0.2:1-10.0.0.3:2", "not two endpoints"},
                    Bad{"10.0.0.1-10.0.0.2:1", "has no port"},
                    Bad{"300.0.0.1:80-10.0.0.2:1", "'300.0.0.1' is not an IPv4 address"},
                    Bad{"10.0.0:80-10.0.0.2:1", "is not an IPv4 address"},
                    Bad{"10.0.0.1.5:80-10.0.0.2:1", "is not an IPv4 address"},
                    Bad{"10.0.0.1:0-10.0.0.2:1", "port '0' is not 1-65535"},
                    Bad{"10.0.0.1:70000-10.0.0.2:1", "port '70000' is not 1-65535"},
                    Bad{"10.0.0.1:80-10.0.0.2:", "port '' is not 1-65535"},
                    Bad{"icmp:10.0.0.1:80-10.0.0.2:1", "is not an IPv4 address"}}) {
        INFO(bad.text);
        error.clear();
        CHECK_FALSE(parse_connection(bad.text, error));
        CHECK(error.find(bad.says) != std::string::npos);
        CHECK(error.find("[tcp:|udp:]IP:PORT-IP:PORT") != std::string::npos);
    }
}
