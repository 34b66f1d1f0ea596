// The workload clients are usable from the C++ world API, not only from YAML
// (docs/simulator.md, "Scripted clients from C++"): a kv server on a simulated
// disk and two kv_client nodes made with workload_factory, their histories
// judged by the same kv_linearizable check the scenario runner uses.
#include "judge.hpp"
#include "workload.hpp"

#include <gantry/sim/world.hpp>

#include <catch2/catch.hpp>

using namespace gantry;
using namespace gantry::harness;

TEST_CASE("world API: kv_client nodes record every acknowledged write, judged linearizable")
{
    sim::World world({.seed = 9});
    sim::NodeConfig server{.app = "kv", .name = "kv"};
    server.ip = net::Ipv4Address::from_u32(0x0a000001);
    sim::DiskConfig disk;
    disk.sector_count = 16384; // 8 MiB for kv's log
    server.disks = {disk};
    sim::NodeId kv = world.add_node(server);
    sim::SwitchId lan = world.add_switch({.name = "lan"});
    world.add_link(sim::Endpoint::node(kv), sim::Endpoint::switch_port(lan),
                   {.latency_ns = 100 * ns_per_us});

    // The specs and the log must outlive the world: the factories point at them.
    std::vector<NodeSpec> specs(2);
    WorkloadLog log;
    log.service_counters.resize(3);
    std::vector<sim::NodeId> clients;
    for (usize i = 0; i < specs.size(); ++i) {
        NodeSpec& spec = specs[i];
        spec.name = "client" + std::to_string(i);
        spec.ip = 0x0a000002 + static_cast<u32>(i);
        spec.workload.kind = WorkloadKind::kv_client;
        spec.workload.server = 0x0a000001;
        spec.workload.ops = 60;
        spec.workload.keys = 4; // both clients share keys k0..k3
        sim::NodeConfig config{.factory = workload_factory(spec, log, i + 1), .name = spec.name};
        config.ip = net::Ipv4Address::from_u32(spec.ip);
        clients.push_back(world.add_node(config));
        world.add_link(sim::Endpoint::node(clients.back()), sim::Endpoint::switch_port(lan),
                       {.latency_ns = 100 * ns_per_us});
    }
    world.run_until(30 * ns_per_s);

    for (sim::NodeId id : clients) {
        INFO(world.console(id));
        CHECK(world.exit_code(id) == 0);
    }
    CHECK(world.failures().empty());
    u64 acknowledged_writes = 0;
    for (const KvRecord& record : log.kv)
        if (record.op == KvRecord::Op::set && record.acknowledged)
            ++acknowledged_writes;
    // 60 random operations each, 30% GETs, then a GET of every key.
    CHECK(log.kv.size() >= 2 * 60);
    CHECK(acknowledged_writes >= 60);
    CheckSpec check{}; // field by field: g++ 12 flags {.kind, .kv} for the members left out
    check.kind = CheckKind::kv_linearizable;
    check.kv.min_acknowledged = 60;
    CheckOutcome outcome = judge_kv(check, log);
    INFO(outcome.detail);
    CHECK(outcome.passed);
    // The oracle is not blind: a read of a value nobody wrote fails it.
    for (KvRecord& record : log.kv)
        if (record.op == KvRecord::Op::get && record.found) {
            record.value = "never-written";
            break;
        }
    CHECK_FALSE(judge_kv(check, log).passed);
}
