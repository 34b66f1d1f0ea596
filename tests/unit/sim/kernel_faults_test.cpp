// Kernel-level faults (docs/simulator.md, "Kernel-level faults"): allocation
// failures at a rate, late and jittery timer wake-ups, a crash on entering a
// chosen boot phase. Each is seed-deterministic and leaves other nodes alone.
#include "sim_test_apps.hpp"

#include <catch2/catch.hpp>
#include <gantry/trace.hpp>

#include <cstring>

using namespace gantry;
using namespace gantry::sim;
using namespace sim_test;

namespace {

// Makes `rounds` small and large allocations, one per poll, and reports how
// many the kernel refused. Exits 0: running out is handled, not fatal.
class AllocCounterApp final : public App {
public:
    int main(Kernel& kernel, AppArgs args) override
    {
        u64 rounds = arg_u64(args, 0, 1000);
        u64 refused = 0;
        for (u64 round = 0; round < rounds; ++round) {
            usize bytes = round % 10 == 0 ? 3 * page_size : 48;
            void* memory = kernel.heap().alloc(bytes);
            if (memory == nullptr)
                ++refused;
            kernel.heap().free(memory);
            kernel.sched().sleep_for(10 * ns_per_us);
        }
        kernel.print("refused {} of {}\n", refused, rounds);
        return 0;
    }
};

// Sleeps `period` ns `rounds` times and records, host-side, how late each
// wake-up was by the node's own clock.
struct Lateness {
    std::vector<TimeNs> late_ns;
};

class LatenessApp final : public App {
public:
    explicit LatenessApp(Lateness* out) : m_out(out) {}
    int main(Kernel& kernel, AppArgs) override
    {
        for (int round = 0; round < 50; ++round) {
            TimeNs due = kernel.now() + ns_per_ms;
            kernel.sched().sleep_for(ns_per_ms);
            m_out->late_ns.push_back(kernel.now() - due);
        }
        return 0;
    }

private:
    Lateness* m_out;
};

u64 count_of(const std::string& console, const char* prefix)
{
    usize at = console.find(prefix);
    REQUIRE(at != std::string::npos);
    return std::strtoull(console.c_str() + at + std::strlen(prefix), nullptr, 10);
}

} // namespace

TEST_CASE("allocation failures come at the chosen rate and the app handles them")
{
    World world({.seed = 3});
    NodeId faulty = world.add_node({.factory = factory<AllocCounterApp>(), .args = {"2000"},
                                    .faults = {.alloc_fail_ppm = 100'000}});
    NodeId clean = world.add_node({.factory = factory<AllocCounterApp>(), .args = {"2000"}});
    world.run_until_idle(10 * ns_per_s);
    REQUIRE(world.exit_code(faulty) == 0);
    REQUIRE(world.exit_code(clean) == 0);
    CHECK(world.failures().empty());
    u64 refused = count_of(world.console(faulty), "refused ");
    // 10% of 2000 requests: the binomial's standard deviation is ~13.
    CHECK(refused > 130);
    CHECK(refused < 270);
    // Each refusal the app saw is one the injector decided (the kernel's own
    // allocations share the stream, so the counter can only be larger).
    CHECK(world.node_fault_counters(faulty).alloc_failures_injected >= refused);
    CHECK(count_of(world.console(clean), "refused ") == 0);
    CHECK(world.node_fault_counters(clean).alloc_failures_injected == 0);
}

TEST_CASE("allocation failures can be switched on and off at run time")
{
    World world({.seed = 8});
    NodeId node = world.add_node({.factory = factory<AllocCounterApp>(), .args = {"3000"}});
    // 3000 rounds of ~10 us: failures only in the middle third.
    world.at(10 * ns_per_ms, [node](World& w) { w.set_node_faults(node, {.alloc_fail_ppm = 500'000}); });
    world.at(20 * ns_per_ms, [node](World& w) { w.set_node_faults(node, {}); });
    world.run_until_idle(10 * ns_per_s);
    REQUIRE(world.exit_code(node) == 0);
    u64 refused = count_of(world.console(node), "refused ");
    CHECK(refused > 200);
    CHECK(refused < 900);
    CHECK(world.node_faults(node) == NodeFaults{});
}

TEST_CASE("a TCP server under allocation failures refuses cleanly and recovers")
{
    u64 injected = 0;
    int early_echoed = 0;
    for (u64 seed = 1; seed <= 8; ++seed) {
        World world({.seed = seed});
        NodeConfig server{.app = "echo", .name = "server"};
        server.ip = net::Ipv4Address::from_u32(0x0a000001);
        // One client while the server's allocations fail, one after.
        NodeConfig early{.app = "echo", .name = "early",
                         .args = {"tcp-client", "10.0.0.1", "100000"}, .start_ns = 10 * ns_per_ms};
        early.ip = net::Ipv4Address::from_u32(0x0a000002);
        NodeConfig late = early;
        late.name = "late";
        late.start_ns = 3 * ns_per_s;
        late.ip = net::Ipv4Address::from_u32(0x0a000003);
        NodeId a = world.add_node(server);
        NodeId b = world.add_node(early);
        NodeId c = world.add_node(late);
        SwitchId sw = world.add_switch({});
        for (NodeId id : {a, b, c})
            world.add_link(Endpoint::node(id), Endpoint::switch_port(sw), {.latency_ns = 100 * ns_per_us});
        world.at(5 * ns_per_ms, [a](World& w) { w.set_node_faults(a, {.alloc_fail_ppm = 300'000}); });
        world.at(2 * ns_per_s, [a](World& w) { w.set_node_faults(a, {}); });
        world.run_until(10 * ns_per_s);
        INFO("seed " << seed << "\n" << world.console(a) << "---\n" << world.console(b)
                     << "---\n" << world.console(c));
        // Refusing a connection for want of memory is allowed; a panic, a
        // stuck server or a leak that breaks the next connection is not.
        CHECK(world.failures().empty());
        CHECK(world.state(a) == NodeState::running);
        CHECK(world.exit_code(b).has_value());
        CHECK(world.exit_code(c) == 0);
        CHECK(world.console(c).find("100000/100000 bytes came back byte-identical") !=
              std::string::npos);
        early_echoed += world.exit_code(b) == 0 ? 1 : 0;
        injected += world.node_fault_counters(a).alloc_failures_injected;
    }
    CHECK(injected > 0);
    // At this rate most early connections are refused (2 of 8 get through).
    CHECK(early_echoed < 8);
}

TEST_CASE("timer wake-ups come late by at most the bound, seeded")
{
    auto run = [](u64 seed, NodeFaults faults) {
        Lateness lateness;
        World world({.seed = seed});
        NodeId node = world.add_node(
            {.factory = [&lateness](Kernel& k) -> App* { return k.heap().create<LatenessApp>(&lateness); },
             .faults = faults});
        world.run_until_idle(10 * ns_per_s);
        CHECK(world.exit_code(node) == 0);
        CHECK(world.node_fault_counters(node).timer_wakeups_delayed >= 50);
        return lateness.late_ns;
    };
    std::vector<TimeNs> fixed = run(1, {.timer_late_ns = 300 * ns_per_us});
    REQUIRE(fixed.size() == 50);
    for (TimeNs late : fixed)
        CHECK(late == 300 * ns_per_us);

    NodeFaults jittery{.timer_late_ns = 100 * ns_per_us, .timer_jitter_ns = 2 * ns_per_ms};
    std::vector<TimeNs> first = run(7, jittery);
    REQUIRE(first.size() == 50);
    TimeNs smallest = first[0], largest = first[0];
    for (TimeNs late : first) {
        CHECK(late >= 100 * ns_per_us);
        CHECK(late <= 2100 * ns_per_us);
        smallest = std::min(smallest, late);
        largest = std::max(largest, late);
    }
    CHECK(largest - smallest > ns_per_ms); // spread over the bound, not one value
    CHECK(run(7, jittery) == first);
    CHECK(run(8, jittery) != first);
}

TEST_CASE("a crash on entering a boot phase stops the node, and a restart boots it")
{
    for (const char* phase : {"platform", "memory", "net", "app start"}) {
        World world({.seed = 2});
        NodeConfig config{.app = "echo", .name = "victim", .boot_crash_phase = phase};
        config.ip = net::Ipv4Address::from_u32(0x0a000001);
        NodeId node = world.add_node(config);
        NodeId peer = world.add_node({.app = "hello"});
        world.add_link(Endpoint::node(node), Endpoint::node(peer), {});
        world.run_until(ns_per_ms);
        INFO(phase);
        CHECK(world.state(node) == NodeState::crashed);
        CHECK(world.failures().empty());
        CHECK(world.node_fault_counters(node).boot_crashes == 1);
        CHECK(world.console(node).find("crash entering boot phase '" + std::string(phase) + "'") !=
              std::string::npos);
        CHECK(world.console(node).find("echo: serving") == std::string::npos);
        world.restart(node);
        world.run_until(10 * ns_per_ms);
        CHECK(world.state(node) == NodeState::running);
        CHECK(world.console(node).find("echo: serving UDP 10.0.0.1:7") != std::string::npos);
        CHECK(world.node_fault_counters(node).boot_crashes == 1);
    }
}

TEST_CASE("a boot crash is a sim_fault record naming the node and the phase")
{
    World world({.seed = 3, .trace_in_memory = true});
    NodeId bystander = world.add_node({.app = "hello"});
    NodeConfig config{.app = "echo", .name = "victim", .boot_crash_phase = "net"};
    config.ip = net::Ipv4Address::from_u32(0x0a000001);
    NodeId victim = world.add_node(config);
    NodeId peer = world.add_node({.app = "hello"});
    world.add_link(Endpoint::node(victim), Endpoint::node(peer), {});
    world.at(5 * ns_per_ms, [victim](World& w) { w.restart(victim); }); // boots normally
    world.at(7 * ns_per_ms, [victim](World& w) {
        w.crash_in_boot_phase(victim, "app start");
        w.restart(victim);
    });
    world.run_until(10 * ns_per_ms);
    REQUIRE(world.finish_trace());
    BytesTraceSource source(world.trace_bytes());
    TraceReader reader(source);
    REQUIRE(reader.open().ok());
    struct Seen {
        TimeNs time;
        TraceSimFault fault;
    };
    std::vector<Seen> faults;
    TimeNs victim_last_record = 0;
    for (;;) {
        TraceRecord record{};
        auto next = reader.next(record);
        REQUIRE(next.ok());
        if (!next.value())
            break;
        if (record.node == victim)
            victim_last_record = std::max(victim_last_record, record.time);
        if (record.kind != TraceKind::sim_fault)
            continue;
        TraceFields fields;
        REQUIRE(decode_fields(record, fields).ok());
        faults.push_back({record.time, fields.fault});
    }
    // boot crash in "net" at 0; restart at 5 ms; restart at 7 ms and a boot
    // crash in "app start" at once.
    REQUIRE(faults.size() == 4);
    CHECK(faults[0].time == 0);
    CHECK(faults[0].fault.fault == 10);
    CHECK(faults[0].fault.a == victim);
    CHECK(std::string(sim_boot_phase_name(faults[0].fault.detail)) == "net");
    CHECK(faults[1].fault.fault == 2);
    CHECK(faults[2].fault.fault == 2);
    CHECK(faults[3].time == 7 * ns_per_ms);
    CHECK(faults[3].fault.fault == 10);
    CHECK(faults[3].fault.a == victim);
    CHECK(std::string(sim_boot_phase_name(faults[3].fault.detail)) == "app start");
    CHECK(victim_last_record >= 7 * ns_per_ms); // the boot phases it did enter are traced
    CHECK(world.node_fault_counters(bystander).boot_crashes == 0);
}

TEST_CASE("crash_in_boot_phase arms the next boot only")
{
    World world({.seed = 4});
    NodeId node = world.add_node({.app = "hello"});
    world.at(5 * ns_per_ms, [node](World& w) {
        w.crash_in_boot_phase(node, "app start");
        w.restart(node);
    });
    world.at(8 * ns_per_ms, [node](World& w) {
        CHECK(w.state(node) == NodeState::crashed);
        w.restart(node);
    });
    world.run_until_idle(10 * ns_per_s);
    CHECK(world.exit_code(node) == 0);
    CHECK(world.incarnation(node) == 2);
    CHECK(world.node_fault_counters(node).boot_crashes == 1);
    CHECK(world.failures().empty());
}

TEST_CASE("with every kernel fault on, one seed gives one trace")
{
    auto run = [](u64 seed) {
        World world({.seed = seed, .trace_in_memory = true, .hash_every = 64});
        NodeFaults faults{.alloc_fail_ppm = 50'000, .timer_late_ns = 50 * ns_per_us,
                          .timer_jitter_ns = 500 * ns_per_us};
        NodeConfig server{.app = "echo", .name = "server", .faults = faults,
                          .boot_crash_phase = "net"};
        server.ip = net::Ipv4Address::from_u32(0x0a000001);
        NodeConfig client{.app = "echo", .name = "client", .args = {"client", "10.0.0.1", "30"},
                          .faults = faults};
        client.ip = net::Ipv4Address::from_u32(0x0a000002);
        NodeId a = world.add_node(server);
        NodeId b = world.add_node(client);
        world.add_link(Endpoint::node(a), Endpoint::node(b),
                       {.latency_ns = 200 * ns_per_us, .faults = {.loss_ppm = 20'000}});
        world.at(20 * ns_per_ms, [a](World& w) { w.restart(a); });
        world.run_until(3 * ns_per_s);
        world.finish_trace();
        CHECK(world.failures().empty());
        return std::make_pair(world.trace_bytes(), world.console(a) + world.console(b));
    };
    auto first = run(11);
    auto again = run(11);
    auto other = run(12);
    CHECK(first.first.size() > 1000);
    CHECK(first.first == again.first);
    CHECK(first.second == again.second);
    CHECK(first.first != other.first);
}
