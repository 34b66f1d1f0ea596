// The simulated network: link timing in exact virtual time, random faults at
// their configured rates (and exactly reproducible), partitions, MTU and queue
// drops, switch learning and flooding, captures, and determinism.
#include "net_test_apps.hpp"

#include <catch2/catch.hpp>
#include <gantry/trace.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

using namespace gantry;
using namespace gantry::sim;
using namespace sim_test;

namespace {

struct LinkRecord {
    TimeNs time;
    TraceLinkFrame frame;
};

std::vector<LinkRecord> link_records(const std::vector<u8>& trace)
{
    BytesTraceSource source(trace);
    TraceReader reader(source);
    REQUIRE(reader.open().ok());
    std::vector<LinkRecord> records;
    TraceRecord record{};
    for (;;) {
        auto next = reader.next(record);
        REQUIRE(next.ok());
        if (!next.value())
            return records;
        if (record.kind != TraceKind::link_frame)
            continue;
        TraceFields fields;
        REQUIRE(decode_fields(record, fields).ok());
        CHECK(record.node == no_node);
        records.push_back({record.time, fields.link});
    }
}

// Two raw nodes, a -> b over one link.
struct Pair {
    RawLog a_log;
    RawLog b_log;
    std::unique_ptr<World> world;
    NodeId a = 0;
    NodeId b = 0;
    LinkId link = 0;

    Pair(u64 seed, LinkConfig config, std::vector<RawSend> sends, TimeNs stop_ns)
    {
        world = std::make_unique<World>(WorldConfig{.seed = seed, .trace_in_memory = true});
        for (RawSend& send : sends)
            send.destination = sim_mac(1, 0);
        a = world->add_node(raw_node({sends, stop_ns, 10 * ns_per_us, &a_log}, "a"));
        b = world->add_node(raw_node({{}, stop_ns, 10 * ns_per_us, &b_log}, "b"));
        link = world->add_link(Endpoint::node(a), Endpoint::node(b), std::move(config));
    }
    const LinkCounters& counters() const { return world->link_counters(link); }
    void run()
    {
        world->run_until_idle(10 * ns_per_s);
        REQUIRE(world->failures().empty());
        REQUIRE(world->finish_trace());
    }
};

} // namespace

TEST_CASE("a link delays frames by serialization plus latency, exactly")
{
    LinkConfig config{.latency_ns = 100 * ns_per_us, .bandwidth_bps = 100'000'000};
    Pair pair(1, config, {{.count = 3, .length = 1000}}, 5 * ns_per_ms);
    pair.run();
    // (1000 + 24 bytes of preamble, FCS and gap) * 8 bits at 100 Mbit/s = 81920 ns.
    constexpr TimeNs serialization = 81920;
    auto records = link_records(pair.world->trace_bytes());
    REQUIRE(records.size() == 3);
    for (usize i = 0; i < 3; ++i) {
        CHECK(records[i].frame.fate == static_cast<u8>(FrameFate::delivered));
        CHECK(records[i].frame.sent == 0);
        CHECK(records[i].frame.from == pair.a);
        CHECK(records[i].frame.to == pair.b);
        CHECK(records[i].frame.length == 1000);
        CHECK(records[i].time == (i + 1) * serialization + 100 * ns_per_us);
    }
    REQUIRE(pair.b_log.received.size() == 3);
    CHECK(pair.counters().sent == 3);
    CHECK(pair.counters().delivered == 3);
}

TEST_CASE("loss, duplication, reordering and corruption happen at their rates")
{
    LinkConfig config{.latency_ns = 50 * ns_per_us,
                      .jitter_ns = 0,
                      .faults = {.loss_ppm = 100'000, .duplicate_ppm = 50'000,
                                 .reorder_ppm = 50'000, .corrupt_ppm = 20'000},
                      .reorder_delay_ns = 100 * ns_per_us};
    RawSend send{.count = 10'000, .interval_ns = 10 * ns_per_us, .length = 200};
    auto run = [&](u64 seed) {
        auto pair = std::make_unique<Pair>(seed, config, std::vector{send}, 120 * ns_per_ms);
        pair->run();
        return pair;
    };
    auto first = run(7);
    const LinkCounters& c = first->counters();
    CHECK(c.sent == 10'000);
    CHECK(c.dropped_by(DropReason::loss) > 850);
    CHECK(c.dropped_by(DropReason::loss) < 1150);
    CHECK(c.duplicated > 350);
    CHECK(c.duplicated < 550);
    CHECK(c.reordered > 350);
    CHECK(c.reordered < 550);
    CHECK(c.corrupted > 120);
    CHECK(c.corrupted < 250);
    CHECK(c.delivered == c.sent - c.dropped_by(DropReason::loss) + c.duplicated);
    const auto& got = first->b_log.received;
    REQUIRE(got.size() == c.delivered);
    usize damaged = 0;
    usize out_of_order = 0;
    for (usize i = 0; i < got.size(); ++i) {
        damaged += !got[i].intact;
        out_of_order += i > 0 && got[i].sequence < got[i - 1].sequence;
    }
    CHECK(damaged >= c.corrupted); // a duplicate of a damaged frame is damaged too
    CHECK(out_of_order > 300);

    // The same seed gives exactly the same run; another seed does not.
    auto again = run(7);
    CHECK(again->b_log == first->b_log);
    CHECK(again->world->trace_bytes() == first->world->trace_bytes());
    auto other = run(8);
    CHECK_FALSE(other->b_log == first->b_log);
}

TEST_CASE("partitions block frames until healed, one way or both")
{
    RawSend send{.count = 100, .interval_ns = ns_per_ms, .length = 64};
    SECTION("two-way")
    {
        Pair pair(3, {}, {send}, 120 * ns_per_ms);
        pair.world->at(20 * ns_per_ms + 1, [&](World& w) { w.partition(pair.a, pair.b); });
        pair.world->at(50 * ns_per_ms + 1, [&](World& w) { w.heal(pair.a, pair.b); });
        pair.run();
        CHECK(pair.counters().dropped_by(DropReason::partition) == 30);
        CHECK(pair.b_log.received.size() == 70);
    }
    SECTION("one-way: only the blocked direction loses frames")
    {
        Pair pair(3, {}, {send}, 120 * ns_per_ms);
        pair.world->partition(pair.b, pair.a, Partition::one_way);
        pair.run();
        CHECK(pair.b_log.received.size() == 100);
        Pair blocked(3, {}, {send}, 120 * ns_per_ms);
        blocked.world->partition(blocked.a, blocked.b, Partition::one_way);
        blocked.run();
        CHECK(blocked.b_log.received.empty());
        CHECK(blocked.counters().dropped_by(DropReason::partition) == 100);
    }
}

TEST_CASE("frames beyond the MTU and beyond the queue are dropped and counted")
{
    SECTION("mtu")
    {
        Pair pair(1, {.mtu = 500}, {{.count = 2, .length = 600}, {.at_ns = 1, .length = 514}},
                  ns_per_ms);
        pair.run();
        CHECK(pair.counters().dropped_by(DropReason::mtu) == 2);
        CHECK(pair.a_log.transmit_refused == 2);
        CHECK(pair.b_log.received.size() == 1);
        CHECK(pair.world->nic(pair.a, 0)->mtu() == 500);
    }
    SECTION("queue tail drop")
    {
        LinkConfig config{.bandwidth_bps = 10'000'000, .queue_frames_max = 8};
        Pair pair(1, config, {{.count = 20, .length = 1000}}, 20 * ns_per_ms);
        pair.run();
        CHECK(pair.counters().dropped_by(DropReason::queue_full) == 12);
        CHECK(pair.a_log.transmit_refused == 12);
        CHECK(pair.b_log.received.size() == 8);
    }
}

TEST_CASE("frames to a crashed node are dropped; a paused node queues them")
{
    RawSend send{.count = 10, .interval_ns = ns_per_ms, .length = 64};
    Pair pair(1, {}, {send}, 30 * ns_per_ms);
    pair.world->at(2 * ns_per_ms + 1, [&](World& w) { w.pause(pair.b); });
    pair.world->at(4 * ns_per_ms + 1, [&](World& w) { w.resume(pair.b); });
    pair.world->at(6 * ns_per_ms + 1, [&](World& w) { w.crash(pair.b); });
    pair.run();
    CHECK(pair.counters().dropped_by(DropReason::node_down) == 3); // 7, 8, 9 ms
    CHECK(pair.counters().delivered == 7);
}

TEST_CASE("a switch learns addresses and floods only unknown and broadcast frames")
{
    World world({.seed = 1, .trace_in_memory = true});
    RawLog logs[3];
    // a sends to b (unknown yet: flooded), b answers a (a was learned: only a),
    // then a sends to b again (b learned now: only b), then a broadcast.
    NodeId a = world.add_node(raw_node({{{.at_ns = 0, .destination = sim_mac(1, 0)},
                                         {.at_ns = 2 * ns_per_ms, .destination = sim_mac(1, 0)},
                                         {.at_ns = 3 * ns_per_ms,
                                          .destination = net::MacAddress::broadcast()}},
                                        5 * ns_per_ms, 10 * ns_per_us, &logs[0]},
                                       "a"));
    NodeId b = world.add_node(raw_node(
        {{{.at_ns = ns_per_ms, .destination = sim_mac(0, 0)}}, 5 * ns_per_ms, 10 * ns_per_us,
         &logs[1]},
        "b"));
    NodeId c = world.add_node(raw_node({{}, 5 * ns_per_ms, 10 * ns_per_us, &logs[2]}, "c"));
    SwitchId sw = world.add_switch({.name = "sw"});
    for (NodeId node : {a, b, c})
        world.add_link(Endpoint::node(node), Endpoint::switch_port(sw),
                       {.latency_ns = 10 * ns_per_us});
    world.run_until_idle(ns_per_s);
    REQUIRE(world.failures().empty());
    CHECK(logs[0].received.size() == 1); // b's answer
    CHECK(logs[1].received.size() == 3); // flooded, unicast, broadcast
    CHECK(logs[2].received.size() == 2); // flooded, broadcast
    CHECK(world.switch_table_size(sw) == 2);
    CHECK(logs[2].received[0].source == sim_mac(0, 0));
    // Through a switch a frame takes two hops: 2 x 10 us.
    CHECK(logs[1].received[0].time >= 20 * ns_per_us);
}

TEST_CASE("captures are pcap files with virtual nanosecond timestamps")
{
    auto dir = std::filesystem::temp_directory_path() / "gantry-simnet-pcap";
    std::filesystem::create_directories(dir);
    auto capture = [&](const std::string& name) {
        RawLog a_log;
        RawLog b_log;
        World world({.seed = 5, .trace_in_memory = true});
        RawSend send{.destination = sim_mac(1, 0), .count = 5, .interval_ns = 1500 * ns_per_us};
        NodeId a = world.add_node(raw_node({{send}, 10 * ns_per_ms, 10 * ns_per_us, &a_log}));
        NodeId b = world.add_node(raw_node({{}, 10 * ns_per_ms, 10 * ns_per_us, &b_log}));
        world.add_link(Endpoint::node(a), Endpoint::node(b),
                       {.name = "ab", .faults = {.loss_ppm = 300'000},
                        .pcap_path = (dir / name).string()});
        world.run_until_idle();
        REQUIRE(world.finish_trace());
        return world.trace_bytes();
    };
    auto trace_1 = capture("one.pcap");
    auto trace_2 = capture("two.pcap");
    auto read = [&](const char* name) {
        std::ifstream in(dir / name, std::ios::binary);
        return std::vector<char>(std::istreambuf_iterator<char>(in), {});
    };
    CHECK(trace_1 == trace_2);
    CHECK(read("one.pcap") == read("two.pcap"));
    CHECK(read("one.pcap").size() == 24 + 5 * (16 + 100));
    if (std::system("command -v tshark > /dev/null 2>&1") != 0) {
        WARN("skipped: tshark is not installed");
        return;
    }
    std::string command = "tshark -r " + (dir / "one.pcap").string() +
                          " -T fields -e frame.time_epoch 2> /dev/null";
    std::FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    char buffer[256];
    while (std::fgets(buffer, sizeof(buffer), pipe))
        output += buffer;
    pclose(pipe);
    CHECK(output == "0.000000000\n0.001500000\n0.003000000\n0.004500000\n0.006000000\n");
}

TEST_CASE("a faulty switched network is byte-identical across runs of one seed")
{
    auto dir = std::filesystem::temp_directory_path() / "gantry-simnet-determinism";
    auto run = [&](u64 seed, const std::string& tag) {
        std::filesystem::create_directories(dir / tag);
        RawLog logs[3];
        World world({.seed = seed, .trace_in_memory = true});
        std::vector<NodeId> nodes;
        for (u32 i = 0; i < 3; ++i) {
            RawSend send{.destination = sim_mac((i + 1) % 3, 0), .count = 300,
                         .interval_ns = 50 * ns_per_us, .length = 300};
            nodes.push_back(world.add_node(
                raw_node({{send}, 40 * ns_per_ms, 20 * ns_per_us, &logs[i]})));
        }
        SwitchId sw = world.add_switch();
        for (NodeId node : nodes)
            world.add_link(Endpoint::node(node), Endpoint::switch_port(sw),
                           {.name = "port" + std::to_string(node),
                            .latency_ns = 20 * ns_per_us,
                            .jitter_ns = 5 * ns_per_us,
                            .bandwidth_bps = 100'000'000,
                            .faults = {50'000, 20'000, 20'000, 10'000},
                            .pcap_path = (dir / tag / ("port" + std::to_string(node))).string()});
        world.at(5 * ns_per_ms, [&](World& w) { w.partition(nodes[0], nodes[1]); });
        world.at(9 * ns_per_ms, [](World& w) { w.heal_all(); });
        world.run_until_idle();
        REQUIRE(world.failures().empty());
        REQUIRE(world.finish_trace());
        std::vector<std::vector<char>> files;
        for (NodeId node : nodes) {
            std::ifstream in(dir / tag / ("port" + std::to_string(node)), std::ios::binary);
            files.emplace_back(std::istreambuf_iterator<char>(in),
                               std::istreambuf_iterator<char>());
        }
        return std::pair{world.trace_bytes(), files};
    };
    auto first = run(21, "a");
    auto second = run(21, "b");
    auto other = run(22, "c");
    CHECK(first.first.size() > 10'000);
    CHECK(first.first == second.first);
    CHECK(first.second == second.second);
    CHECK(first.first != other.first);
    CHECK(first.second.at(0).size() > 24 + 300 * 16);
}
