// Issue 5's scale benchmark: 1,000 networked nodes in one process. Every node
// boots within 2 s, takes its address from one DHCP server (the harness's
// dhcp_server workload, RFC 2131) over a switched LAN where every DISCOVER,
// OFFER and ACK is broadcast to all of them, then pings the server ten times
// (`echo -- ping`) and exits. Reported: time per run, world events and
// simulated seconds per second (of CPU time, Google Benchmark's default), the
// leases the server granted and the share of pings answered (within 1 s); and,
// in a second world whose clients stay up as echo servers once leased, the
// resident memory the world added per node with all of them alive (issue 5's
// target: under 2 MB). Boots are spread because the server's ARP cache holds
// 64 neighbours: with many more clients pinging at once its replies wait for
// ARP, whose broadcasts reach every node, and most are lost.
#include <gantry/sim/world.hpp>

#include "workload.hpp"

#include "resident.hpp"
#include "sim_rates.hpp"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

using namespace gantry;
using namespace gantry::sim;

namespace {

using gantry::bench::resident_bytes;

constexpr usize hosts_per_edge_switch = 40;
constexpr u32 server_ip = 0x0a000002; // 10.0.0.2/16
// Boots spread over 2 s: about 50 clients ping at any time, fewer than the
// server's 64 ARP cache entries (all 1,000 within 100 ms: 10% answered).
constexpr TimeNs boot_spread_ns = 2 * ns_per_s;
constexpr TimeNs run_limit_ns = 120 * ns_per_s;
constexpr TimeNs step_ns = 20 * ns_per_ms;
constexpr u64 pings_per_client = 10;

// "echo ping: 9/10 answered": the 9 (0 when the line is missing).
u64 pings_answered(const std::string& console)
{
    const std::string marker = "echo ping: ";
    usize at = console.rfind(marker);
    return at == std::string::npos ? 0 : std::strtoull(console.c_str() + at + marker.size(),
                                                       nullptr, 10);
}

harness::NodeSpec dhcp_server_spec(usize clients)
{
    harness::NodeSpec spec;
    spec.name = "dhcpd";
    spec.ip = server_ip;
    spec.prefix = 16;
    spec.workload.kind = harness::WorkloadKind::dhcp_server;
    spec.workload.pool_first = 0x0a000100;                           // 10.0.1.0
    spec.workload.pool_last = 0x0a000100 + static_cast<u32>(clients) + 100;
    spec.workload.lease_s = 3600;
    return spec;
}

struct Fleet {
    NodeId server;
    std::vector<NodeId> clients;
};

// The server on a core switch, the clients on edge switches of 40 under it.
Fleet build_fleet(World& world, const harness::NodeSpec& server_spec,
                  harness::WorkloadLog& log, usize clients, std::vector<std::string> client_args)
{
    Fleet fleet;
    NodeConfig server{.factory = harness::workload_factory(server_spec, log, 0),
                      .name = "dhcpd"};
    server.ip = net::Ipv4Address::from_u32(server_ip);
    server.prefix = 16;
    fleet.server = world.add_node(server);
    SwitchId core = world.add_switch({.name = "core"});
    world.add_link(Endpoint::node(fleet.server), Endpoint::switch_port(core),
                   {.latency_ns = 20 * ns_per_us, .bandwidth_bps = 10'000'000'000});
    SwitchId edge = core;
    for (usize i = 0; i < clients; ++i) {
        if (i % hosts_per_edge_switch == 0) {
            edge = world.add_switch({.name = "edge-" + std::to_string(i / hosts_per_edge_switch)});
            world.add_link(Endpoint::switch_port(edge), Endpoint::switch_port(core),
                           {.latency_ns = 20 * ns_per_us, .bandwidth_bps = 10'000'000'000});
        }
        NodeConfig client{.app = "echo",
                          .name = "host-" + std::to_string(i),
                          .args = client_args,
                          .memory_bytes = 2 * 1024 * 1024,
                          .start_ns = boot_spread_ns * static_cast<TimeNs>(i) /
                                      static_cast<TimeNs>(clients)};
        client.dhcp = NetDhcp::on;
        fleet.clients.push_back(world.add_node(client));
        world.add_link(Endpoint::node(fleet.clients.back()), Endpoint::switch_port(edge),
                       {.latency_ns = 20 * ns_per_us, .bandwidth_bps = 1'000'000'000});
    }
    return fleet;
}

void BM_SimDhcpPingFleet(benchmark::State& state)
{
    auto clients = static_cast<usize>(state.range(0));
    u64 events = 0;
    TimeNs simulated = 0;
    usize leases = 0;
    u64 answered = 0;
    for (auto _ : state) {
        harness::NodeSpec server_spec = dhcp_server_spec(clients);
        harness::WorkloadLog log;
        log.service_counters.resize(1);
        World world({.seed = 1});
        Fleet fleet = build_fleet(world, server_spec, log, clients,
                                  {"ping", "10.0.0.2", std::to_string(pings_per_client)});
        // Step through the run, to stop as soon as every client has exited.
        RunResult result{};
        for (TimeNs until = step_ns; until <= run_limit_ns; until += step_ns) {
            result = world.run_until(until);
            bool all_done = true;
            for (NodeId id : fleet.clients)
                all_done = all_done && world.state(id) == NodeState::exited;
            if (all_done)
                break;
        }
        answered = 0;
        for (NodeId id : fleet.clients) {
            if (world.state(id) != NodeState::exited) {
                state.SkipWithError(("a client did not finish: " + world.console(id)).c_str());
                return;
            }
            answered += pings_answered(world.console(id));
        }
        if (!world.failures().empty()) {
            state.SkipWithError(world.failures().front().describe().c_str());
            return;
        }
        events += world.events_processed();
        simulated += world.now();
        leases = log.service_counters[0]["dhcp.leases"];
        (void)result;
    }
    gantry::bench::report_sim_rates(state, events, simulated);
    state.counters["leases"] = static_cast<double>(leases);
    state.counters["pings_answered_%"] =
        100.0 * static_cast<double>(answered) / static_cast<double>(clients * pings_per_client);
}
BENCHMARK(BM_SimDhcpPingFleet)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond)->Iterations(1);

// Memory with every node alive: the clients are echo servers that take a
// DHCP lease and then serve forever, so at 3 s all of them have booted, hold
// a lease and run their network stack. Resident memory the world added, per node.
void BM_SimDhcpFleetMemory(benchmark::State& state)
{
    auto clients = static_cast<usize>(state.range(0));
    double per_node = 0;
    usize leases = 0;
    for (auto _ : state) {
        usize before = resident_bytes();
        harness::NodeSpec server_spec = dhcp_server_spec(clients);
        harness::WorkloadLog log;
        log.service_counters.resize(1);
        World world({.seed = 1});
        Fleet fleet = build_fleet(world, server_spec, log, clients, {});
        world.run_until(boot_spread_ns + ns_per_s);
        for (NodeId id : fleet.clients)
            if (world.state(id) != NodeState::running ||
                world.console(id).find("echo: serving UDP") == std::string::npos) {
                state.SkipWithError(("a client is not serving: " + world.console(id)).c_str());
                return;
            }
        leases = log.service_counters[0]["dhcp.leases"];
        per_node = static_cast<double>(resident_bytes() - before) /
                   static_cast<double>(clients + 1);
    }
    state.counters["rss_bytes/node"] = per_node;
    state.counters["leases"] = static_cast<double>(leases);
}
BENCHMARK(BM_SimDhcpFleetMemory)->Arg(1000)->Unit(benchmark::kMillisecond)->Iterations(1);

} // namespace
