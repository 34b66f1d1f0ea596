#include "scenario.hpp"
#include "scenario_test_helpers.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace gantry;
using namespace gantry::harness;
using gantry::harness::test_support::error_of;

namespace {

const char* valid = R"(name: demo
description: two nodes
seed: 7
duration: 2s
nodes:
  - name: a
    app: hello
    memory: 8M
    args: [x, "y"]
  - name: b
    app: hello
    clock_drift_ppm: -50
faults:
  - at: 500ms
    crash: b
  - at: 1s
    restart: b
checks:
  - exit_code: 0
  - node: a
    log_contains: "hello: done"
  - no_node_failures: true
  - exited_by: 1500ms
)";

} // namespace

TEST_CASE("scenario: a valid file loads with every field")
{
    Scenario s = load_scenario_text(valid, "s.yaml");
    CHECK(s.name == "demo");
    CHECK(s.default_seed == 7);
    CHECK(s.duration_ns == 2 * ns_per_s);
    REQUIRE(s.nodes.size() == 2);
    CHECK(s.nodes[0].memory_bytes == 8u << 20);
    CHECK(s.nodes[0].args == std::vector<std::string>{"x", "y"});
    CHECK(s.nodes[1].clock_drift_ppm == -50);
    REQUIRE(s.faults.size() == 2);
    CHECK(s.faults[0].kind == FaultKind::crash);
    CHECK(s.faults[0].at_ns == 500 * ns_per_ms);
    REQUIRE(s.checks.size() == 4);
    CHECK(s.checks[0].node == "*");
    CHECK(s.checks[1].kind == CheckKind::log_contains);
    CHECK(s.checks[3].time_ns == 1500 * ns_per_ms);
}

TEST_CASE("scenario: errors name file, line and column and say what is expected")
{
    CHECK(error_of("name: x\nnodes:\n  - name: a\n    app: hello\n    memroy: 4M\n") ==
          "s.yaml:5:5: unknown key 'memroy' in a node (did you mean 'memory'?); expected one "
          "of: name, app, http_client, kv_client, syn_flood, dhcp_server, dns_server, args, "
          "memory, clock_drift_ppm, ip, gateway, dns, dhcp, kernel_faults, start, disks, virtio");
    CHECK(error_of("name: x\nnodes: [{name: a, app: hello}]\nduration: soon\n") ==
          "s.yaml:3:11: 'duration': 'soon' is not a duration (examples: 10s, 250ms, 5us)");
    CHECK(error_of("name: x\nnodes:\n  - app: hello\n") == "s.yaml:3:5: a node needs 'name'");
    CHECK(error_of("name: [x\n").rfind("s.yaml:", 0) == 0);
    CHECK(error_of("name: x\nnodes: [{name: a, app: hello}]\nfaults:\n  - at: 1s\n    crash: aa\n")
              .find("no node named 'aa' (did you mean 'a'?)") != std::string::npos);
    CHECK(error_of("") == "s.yaml:1:1: the file is empty; a scenario needs at least 'name' "
                          "and 'nodes'");
    CHECK(error_of("name: x\nnodes: [{name: a, app: hello}, {name: a, app: hello}]\n")
              .find("two nodes are named 'a'") != std::string::npos);
    CHECK(error_of("name: x\nnodes: [{name: a, app: hello}]\nchecks:\n  - exit_code: zero\n")
              .find("'exit_code' must be an integer") != std::string::npos);
    CHECK(error_of("name: x\nnodes: [{name: a, app: hello}]\nfaults:\n  - at: 1s\n")
              .find("exactly one of crash, restart") != std::string::npos);
    CHECK(error_of("- just\n- a list\n").find("the scenario must be a mapping") !=
          std::string::npos);
}

TEST_CASE("scenario: durations and sizes")
{
    CHECK(parse_duration("10s") == 10 * ns_per_s);
    CHECK(parse_duration("250ms") == 250 * ns_per_ms);
    CHECK(parse_duration("1.5s") == 1500 * ns_per_ms);
    CHECK(parse_duration("3us") == 3000u);
    CHECK(parse_duration("2min") == 120 * ns_per_s);
    CHECK_FALSE(parse_duration("10"));
    CHECK_FALSE(parse_duration("-1s"));
    CHECK_FALSE(parse_duration("s"));
    CHECK(parse_bytes("16M") == usize{16} << 20);
    CHECK_FALSE(parse_bytes("16X"));
}

namespace {

const char* network = R"(name: lan
nodes:
  - name: a
    app: echo
    ip: 10.0.0.1/16
    gateway: 10.0.255.254
  - name: b
    app: echo
  - name: c
    app: echo
switches:
  - name: sw
links:
  - between: [a, sw]
    latency: 50us
    jitter: 5us
    bandwidth: 1Gbit
    mtu: 9000
    queue: 32
    loss: 1%
    duplicate: 0.5%
    reorder: 2%
    reorder_delay: 300us
    corrupt: 0.01%
  - name: b-up
    between: [b, sw]
  - between: [sw, c]
faults:
  - at: 1s
    partition: [a, b]
  - at: 2s
    partition: {from: b, to: c}
  - at: 3s
    heal: [a, b]
  - at: 4s
    heal: all
  - at: 5s
    loss_burst: {link: b-up, loss: 50%, for: 200ms}
)";

std::string with_links(const std::string& links)
{
    return "name: x\nnodes: [{name: a, app: echo}, {name: b, app: echo}]\n"
           "switches: [{name: sw}, {name: sw2}, {name: sw3}]\n" +
           links;
}

} // namespace

TEST_CASE("scenario: links, switches, addresses and network faults")
{
    Scenario s = load_scenario_text(network, "n.yaml");
    CHECK(s.nodes[0].ip == 0x0a000001);
    CHECK(s.nodes[0].prefix == 16);
    CHECK(s.nodes[0].gateway == 0x0a00fffe);
    CHECK(s.nodes[1].ip == 0);
    REQUIRE(s.switches.size() == 1);
    REQUIRE(s.links.size() == 3);
    const LinkSpec& l = s.links[0];
    CHECK(l.name == "a-sw");
    CHECK(l.latency_ns == 50 * ns_per_us);
    CHECK(l.jitter_ns == 5 * ns_per_us);
    CHECK(l.bandwidth_bps == 1'000'000'000);
    CHECK(l.mtu == 9000);
    CHECK(l.queue_frames_max == 32);
    CHECK(l.loss_ppm == 10'000);
    CHECK(l.duplicate_ppm == 5'000);
    CHECK(l.reorder_ppm == 20'000);
    CHECK(l.reorder_delay_ns == 300 * ns_per_us);
    CHECK(l.corrupt_ppm == 100);
    CHECK(s.links[1].name == "b-up");
    CHECK(s.links[2].name == "sw-c");
    REQUIRE(s.faults.size() == 5);
    CHECK(s.faults[0].kind == FaultKind::partition);
    CHECK_FALSE(s.faults[0].one_way);
    CHECK(s.faults[1].one_way);
    CHECK(s.faults[1].node == "b");
    CHECK(s.faults[1].node2 == "c");
    CHECK(s.faults[2].kind == FaultKind::heal);
    CHECK(s.faults[3].heal_all);
    CHECK(s.faults[4].kind == FaultKind::loss_burst);
    CHECK(s.faults[4].link == "b-up");
    CHECK(s.faults[4].loss_ppm == 500'000);
    CHECK(s.faults[4].for_ns == 200 * ns_per_ms);
}

TEST_CASE("scenario: impossible topologies and bad network values are rejected")
{
    CHECK(error_of(with_links("links: [{between: [a, b]}, {between: [a, sw]}]\n"))
              .find("node 'a' already has a link ('a-b')") != std::string::npos);
    CHECK(error_of(with_links("links: [{between: [a, zz]}]\n"))
              .find("a link names 'zz', which is no node or switch") != std::string::npos);
    CHECK(error_of(with_links("links: [{between: [a, a]}]\n"))
              .find("two different ends") != std::string::npos);
    CHECK(error_of(with_links("links: [{between: [sw, sw2]}, {between: [sw2, sw3]}, "
                              "{between: [sw3, sw]}]\n"))
              .find("must not form a loop") != std::string::npos);
    CHECK(error_of(with_links("links: [{between: [a, sw], bandwidth: fast}]\n"))
              .find("is not a rate") != std::string::npos);
    CHECK(error_of(with_links("links: [{between: [a, sw], mtu: 20}]\n"))
              .find("'mtu' must be an integer from 68 to 65521") != std::string::npos);
    CHECK(error_of(with_links("links: [{between: [a]}]\n"))
              .find("'between' must name two ends") != std::string::npos);
    CHECK(error_of(with_links("links: [{between: [a, sw], name: a/b}]\n"))
              .find("may only use letters") != std::string::npos);
    CHECK(error_of(with_links("links: [{between: [a, sw]}]\nfaults:\n  - at: 1s\n"
                              "    loss_burst: {link: a-sv, loss: 5%, for: 1s}\n"))
              .find("no link named 'a-sv' (did you mean 'a-sw'?)") != std::string::npos);
    CHECK(error_of(with_links("faults:\n  - at: 1s\n    heal: some\n"))
              .find("'heal' must be 'all' or two nodes") != std::string::npos);
    CHECK(error_of(with_links("faults:\n  - at: 1s\n    partition: [a, sw]\n"))
              .find("no node named 'sw'") != std::string::npos);
    CHECK(error_of("name: x\nnodes: [{name: a, app: echo, ip: 10.0.0.300/24}]\n")
              .find("is not an IPv4 address with a prefix") != std::string::npos);
}

TEST_CASE("scenario: bandwidths, percentages and addresses")
{
    CHECK(parse_bandwidth("1Gbit") == 1'000'000'000u);
    CHECK(parse_bandwidth("100Mbit") == 100'000'000u);
    CHECK(parse_bandwidth("1.5Gbit") == 1'500'000'000u);
    CHECK(parse_bandwidth("64kbit") == 64'000u);
    CHECK(parse_bandwidth("9600bit") == 9600u);
    CHECK_FALSE(parse_bandwidth("100"));
    CHECK_FALSE(parse_bandwidth("0bit"));
    CHECK_FALSE(parse_bandwidth("-1Mbit"));
    CHECK(parse_percent_ppm("1%") == 10'000u);
    CHECK(parse_percent_ppm("0.5%") == 5'000u);
    CHECK(parse_percent_ppm("100%") == 1'000'000u);
    CHECK_FALSE(parse_percent_ppm("101%"));
    CHECK_FALSE(parse_percent_ppm("5"));
    CHECK(parse_ipv4("10.0.0.1") == 0x0a000001u);
    CHECK(parse_ipv4("255.255.255.255") == 0xffffffffu);
    CHECK_FALSE(parse_ipv4("10.0.0"));
    CHECK_FALSE(parse_ipv4("10.0.0.1.2"));
    CHECK_FALSE(parse_ipv4("10.0.0.256"));
    CHECK_FALSE(parse_ipv4("10..0.1"));
}

TEST_CASE("scenario: percentages written from ppm are exact and read back the same")
{
    CHECK(format_percent_ppm(0) == "0%");
    CHECK(format_percent_ppm(1) == "0.0001%");
    CHECK(format_percent_ppm(125) == "0.0125%");
    CHECK(format_percent_ppm(5'000) == "0.5%");
    CHECK(format_percent_ppm(10'000) == "1%");
    CHECK(format_percent_ppm(123'456) == "12.3456%");
    CHECK(format_percent_ppm(1'000'000) == "100%");
    for (u32 ppm : {0u, 1u, 9u, 10u, 125u, 4'999u, 5'000u, 10'000u, 123'456u, 999'999u,
                    1'000'000u}) {
        INFO("ppm " << ppm);
        CHECK(parse_percent_ppm(format_percent_ppm(ppm)) == ppm);
    }
}

TEST_CASE("scenario: a node's disks, with defaults and bad values rejected")
{
    Scenario scenario = load_scenario_text(
        "name: d\nnodes:\n  - name: a\n    app: kv\n    disks:\n"
        "      - {size: 8M, sector: 4096, latency: 1ms, sector_time: 5us, jitter: 2ms,\n"
        "         read_errors: 1%, write_errors: 0.5%, crash: lose-unflushed}\n"
        "      - {}\n",
        "s.yaml");
    REQUIRE(scenario.nodes[0].disks.size() == 2);
    const DiskSpec& first = scenario.nodes[0].disks[0];
    CHECK(first.size_bytes == 8 * 1024 * 1024);
    CHECK(first.sector_bytes == 4096);
    CHECK(first.latency_ns == ns_per_ms);
    CHECK(first.sector_ns == 5 * ns_per_us);
    CHECK(first.jitter_ns == 2 * ns_per_ms);
    CHECK(first.read_error_ppm == 10'000);
    CHECK(first.write_error_ppm == 5'000);
    CHECK(first.crash == "lose-unflushed");
    const DiskSpec& second = scenario.nodes[0].disks[1];
    CHECK(second.size_bytes == 1024 * 1024);
    CHECK(second.sector_bytes == 512);
    CHECK(second.crash == "random-torn");
    auto disk_error = [](const std::string& disk) {
        return error_of("name: d\nnodes:\n  - name: a\n    app: kv\n    disks:\n      - " +
                        disk + "\n");
    };
    CHECK(disk_error("{sector: 1000}").find("'sector' must be a power of two") !=
          std::string::npos);
    CHECK(disk_error("{size: 4M, sector: 65536, latency: soon}").find("is not a duration") !=
          std::string::npos);
    CHECK(disk_error("{crash: keep}").find("is not a crash policy") != std::string::npos);
    CHECK(disk_error("{sise: 1M}").find("did you mean 'size'?") != std::string::npos);
    CHECK(disk_error("{size: 1M}\n      - {}\n      - {}\n      - {}\n      - {}")
              .find("at most 4 disks") != std::string::npos);
}
