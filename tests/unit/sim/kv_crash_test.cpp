// kv under crashes: the kv server runs on a simulated disk that tears or loses
// every unflushed write at a crash, while `kv -- check` clients (its own
// oracle: they record every answer) write and read through a switch; the world
// crashes and restarts the server at seeded random times. Every seed must end
// with no acknowledged write lost and every read returning a value that was
// written (docs/apps.md, "kv"). The nightly-style sweep: KV_CRASH_SEEDS=1000.
#include <catch2/catch.hpp>
#include <gantry/sim/world.hpp>

#include <cstdlib>
#include <string>

using namespace gantry;
using namespace gantry::sim;

namespace {

constexpr usize clients = 4; // concurrent: their updates share commits

struct CrashRun {
    bool clients_passed = false;
    std::string why;
    u32 crashes = 0;
    DiskCounters disk;
};

// Crashes the server after a random 10..150 ms of service and restarts it
// 0..30 ms later, over and over, until the clients are done.
void schedule_crash(World& world, NodeId server, Rng& rng, u32& crashes,
                    const std::vector<NodeId>& client_ids)
{
    TimeNs up_for = 10 * ns_per_ms + rng.below(140 * ns_per_ms);
    TimeNs down_for = rng.below(30 * ns_per_ms);
    world.at(world.now() + up_for, [=, &rng, &crashes, &client_ids](World& w) {
        bool clients_running = false;
        for (NodeId id : client_ids)
            clients_running |= w.state(id) == NodeState::running;
        if (!clients_running)
            return;
        w.crash(server);
        ++crashes;
        w.at(w.now() + down_for, [=, &rng, &crashes, &client_ids](World& w2) {
            w2.restart(server);
            schedule_crash(w2, server, rng, crashes, client_ids);
        });
    });
}

// virtio: every node reaches its NIC and disk through the virtio drivers and
// in-process device models (NodeConfig::virtio), as an image does on a VMM.
CrashRun run_kv_under_crashes(u64 seed, u64 ops, bool virtio = false)
{
    World world({.seed = seed});
    NodeConfig server{.app = "kv", .name = "kv"};
    server.virtio = virtio;
    // The drivers' rings and buffers come out of the node's RAM (about half a
    // MiB for the NIC); 8 MiB less that is too little for kv and four clients.
    if (virtio)
        server.memory_bytes = 16 * 1024 * 1024;
    server.ip = net::Ipv4Address::from_u32(0x0a000001);
    DiskConfig disk;
    disk.sector_count = 16384; // 8 MiB: room for every commit of the run
    disk.crash_policy = CrashPolicy::random_torn;
    // A slow disk (as a real one is, next to a LAN) keeps commits in flight
    // often when a crash comes; jitter makes requests complete out of order.
    disk.latency_ns = 500 * ns_per_us;
    disk.sector_ns = 20 * ns_per_us;
    disk.jitter_ns = 300 * ns_per_us;
    disk.read_error_ppm = 2000;
    disk.write_error_ppm = 2000;
    server.disks = {disk};
    NodeId server_id = world.add_node(server);
    SwitchId sw = world.add_switch({.name = "sw"});
    world.add_link(Endpoint::node(server_id), Endpoint::switch_port(sw),
                   {.latency_ns = 50 * ns_per_us});
    std::vector<NodeId> client_ids;
    for (usize i = 0; i < clients; ++i) {
        NodeConfig client{.app = "kv", .name = "client" + std::to_string(i)};
        client.args = {"check", "10.0.0.1", std::to_string(ops), "8", "c" + std::to_string(i)};
        client.ip = net::Ipv4Address::from_u32(0x0a000002 + static_cast<u32>(i));
        client.start_ns = 5 * ns_per_ms; // after the server listens
        client.virtio = virtio;
        NodeId id = world.add_node(client);
        world.add_link(Endpoint::node(id), Endpoint::switch_port(sw),
                       {.latency_ns = 50 * ns_per_us});
        client_ids.push_back(id);
    }
    Rng crash_rng = world.rng(world_owner, Stream::world);
    CrashRun run;
    schedule_crash(world, server_id, crash_rng, run.crashes, client_ids);

    constexpr TimeNs run_limit_ns = 1200 * ns_per_s;
    bool clients_running = true;
    while (clients_running && world.now() < run_limit_ns) {
        world.run_until(world.now() + ns_per_s);
        clients_running = false;
        for (NodeId id : client_ids)
            clients_running |= world.state(id) == NodeState::running ||
                               world.state(id) == NodeState::pending;
    }
    run.clients_passed = true;
    for (NodeId id : client_ids) {
        if (world.exit_code(id) != 0) {
            run.clients_passed = false;
            run.why += "client " + std::to_string(id) + " exit " +
                       std::to_string(world.exit_code(id).value_or(-1)) + " state " +
                       std::string(to_string(world.state(id))) + ":\n" + world.console(id);
        }
    }
    for (const NodeFailure& failure : world.failures()) {
        run.clients_passed = false;
        run.why += failure.describe() + "\n";
    }
    if (!run.clients_passed)
        run.why += "server console:\n" + world.console(server_id);
    run.disk = world.disk(server_id, 0)->counters();
    return run;
}

u64 seed_count()
{
    if (const char* text = std::getenv("KV_CRASH_SEEDS"))
        return std::strtoull(text, nullptr, 10);
    return 40;
}

} // namespace

TEST_CASE("kv: no acknowledged write is lost across crashes with torn and lost writes")
{
    u64 crashes = 0, lost = 0, torn = 0, kept = 0, errors = 0;
    u64 seeds = seed_count();
    for (u64 seed = 1; seed <= seeds; ++seed) {
        CrashRun run = run_kv_under_crashes(seed, 150);
        INFO("seed " << seed << " (reproduce: KV_CRASH_SEEDS, or run_kv_under_crashes(" << seed
                     << ", 150))\n"
                     << run.why);
        REQUIRE(run.clients_passed);
        crashes += run.crashes;
        lost += run.disk.writes_lost;
        torn += run.disk.writes_torn;
        kept += run.disk.writes_kept;
        errors += run.disk.read_errors_injected + run.disk.write_errors_injected;
    }
    // The faults really happened: otherwise this test proves nothing.
    CHECK(crashes >= seeds);
    CHECK(lost > 0);
    CHECK(torn > 0);
    CHECK(kept > 0);
    CHECK(errors > 0);
    WARN("kv crash sweep: " << seeds << " seeds, " << crashes << " crashes, unflushed writes "
                            << lost << " lost, " << torn << " torn, " << kept << " kept; "
                            << errors << " injected disk errors");
}

TEST_CASE("kv: a crash run is a function of its seed")
{
    CrashRun first = run_kv_under_crashes(7, 100);
    CrashRun again = run_kv_under_crashes(7, 100);
    CHECK(first.clients_passed);
    CHECK(first.crashes == again.crashes);
    CHECK(first.disk.writes == again.disk.writes);
    CHECK(first.disk.writes_torn == again.disk.writes_torn);
    CHECK(first.disk.writes_lost == again.disk.writes_lost);
}

TEST_CASE("kv over the virtio drivers: no acknowledged write lost across crashes")
{
    u64 crashes = 0, torn = 0, lost = 0;
    for (u64 seed = 1; seed <= 10; ++seed) {
        CrashRun run = run_kv_under_crashes(seed, 100, true);
        INFO("seed " << seed << " (run_kv_under_crashes(" << seed << ", 100, true))\n" << run.why);
        REQUIRE(run.clients_passed);
        crashes += run.crashes;
        torn += run.disk.writes_torn;
        lost += run.disk.writes_lost;
    }
    CHECK(crashes >= 10);
    CHECK(torn + lost > 0);
    // One seed, one run, through the drivers too.
    CrashRun first = run_kv_under_crashes(3, 80, true);
    CrashRun again = run_kv_under_crashes(3, 80, true);
    CHECK(first.crashes == again.crashes);
    CHECK(first.disk.writes == again.disk.writes);
    CHECK(first.disk.writes_torn == again.disk.writes_torn);
}
