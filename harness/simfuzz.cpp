// The simulation fuzzer's generator. Every choice is drawn from one seeded
// stream in a fixed order, so a seed names a world. The worlds are bounded to
// what the apps promise to survive, so that a failed check is a bug and not an
// unfair test:
//   - TCP echo (`echo -- tcp-client`): every byte must come back, in order,
//     through loss, duplication, reordering, corruption, pauses, partitions and
//     loss bursts; the echo server is never crashed (a crash ends a TCP
//     connection, which the client rightly reports as a failure).
//   - kv (`kv -- check`): no acknowledged write is lost through server crashes
//     (torn, lost and kept unflushed writes), disk errors and all the above.
//   - ping (`echo -- ping`): the last echo, sent after the faults stop, is
//     answered.
//   - liveness: after the faults stop, a late client of every server (its own
//     protocol) must be served in full: no node is left stuck.
// Faults stop at `liveness.after`; the checks are judged `within` later.
#include "simfuzz.hpp"

#include "scenario.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace gantry::harness {

namespace {

// splitmix64: tiny, well mixed and identical everywhere (std::uniform_*
// distributions differ between standard libraries, which would break
// reproduction on another machine).
class FuzzRng {
public:
    explicit FuzzRng(u64 seed) : m_state(seed ^ 0x5eed'f022'5eed'f022ull) {}

    u64 next()
    {
        u64 z = (m_state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // Uniform in [low, high] (the bias of the modulo is irrelevant here).
    u64 between(u64 low, u64 high) { return low + next() % (high - low + 1); }
    bool chance(u32 percent) { return between(1, 100) <= percent; }
    template <typename T, usize n>
    const T& pick(const T (&items)[n])
    {
        return items[between(0, n - 1)];
    }

private:
    u64 m_state;
};

enum class Role : u8 { echo_server, kv_server, tcp_client, kv_client, pinger, probe };

struct FuzzNode {
    std::string name;
    Role role;
    u32 ip_last_octet;
    std::vector<std::string> args;
    std::string extra; // more flow-map keys: ", start: 2s, disks: [...]"
    std::string lan;   // the switch it hangs off
};

struct World {
    std::vector<FuzzNode> nodes;
    std::vector<std::string> switches;
    std::vector<std::string> checks;
    std::vector<std::string> chaos;
    std::vector<std::string> links;     // rendered link lines
    std::vector<std::string> link_names;
    TimeNs after_ns = 0;
    std::string summary;
};

std::string ip_of(u32 last_octet)
{
    return "10.0.0." + std::to_string(last_octet);
}

std::string ms(TimeNs ns)
{
    return std::to_string(ns / ns_per_ms) + "ms";
}

std::string us(TimeNs ns)
{
    return std::to_string(ns / ns_per_us) + "us";
}

std::string quoted_list(const std::vector<std::string>& items)
{
    std::string text = "[";
    for (usize i = 0; i < items.size(); ++i)
        text += (i ? ", \"" : "\"") + items[i] + "\"";
    return text + "]";
}

void check(World& world, const std::string& node, const std::string& what)
{
    world.checks.push_back("  - {node: " + node + ", " + what + "}");
}

FuzzNode& add_node(World& world, FuzzRng& rng, std::string name, Role role)
{
    u32 octet = static_cast<u32>(world.nodes.size()) + 1;
    const std::string& lan = world.switches[rng.between(0, world.switches.size() - 1)];
    world.nodes.push_back({std::move(name), role, octet, {}, {}, lan});
    return world.nodes.back();
}

// Sizes that cross segment and window boundaries, or anything up to 2 MB.
u64 transfer_bytes(FuzzRng& rng)
{
    static constexpr u64 edges[] = {1, 536, 1448, 1460, 65535, 65536, 65537, 262144};
    return rng.chance(30) ? rng.pick(edges) : rng.between(1, 2'000'000);
}

void add_tcp_workload(World& world, FuzzRng& rng, usize index)
{
    std::string server = "echo" + std::to_string(index);
    u32 server_ip = add_node(world, rng, server, Role::echo_server).ip_last_octet;
    check(world, server, "log_contains: \"echo: serving TCP " + ip_of(server_ip) + ":7\"");
    usize clients = rng.between(1, 3);
    for (usize c = 0; c < clients; ++c) {
        u64 bytes = transfer_bytes(rng);
        std::string name = server + "-tcp" + std::to_string(c);
        FuzzNode& node = add_node(world, rng, name, Role::tcp_client);
        node.args = {"tcp-client", ip_of(server_ip), std::to_string(bytes)};
        node.extra = ", start: " + ms(rng.between(1, 200) * ns_per_ms);
        check(world, name, "exit_code: 0");
        std::string total = std::to_string(bytes);
        check(world, name, "log_contains: \"" + total + "/" + total +
                               " bytes came back byte-identical\"");
    }
}

std::string disk_yaml(FuzzRng& rng)
{
    static constexpr const char* policies[] = {"lose-unflushed", "keep-unflushed",
                                               "random-torn"};
    return ", disks: [{size: 8M, latency: " + us(rng.between(20, 1000) * ns_per_us) +
           ", jitter: " + us(rng.between(0, 500) * ns_per_us) +
           ", read_errors: " + format_percent_ppm(static_cast<u32>(rng.between(0, 5000))) +
           ", write_errors: " + format_percent_ppm(static_cast<u32>(rng.between(0, 5000))) +
           ", crash: " + rng.pick(policies) + "}]";
}

void add_kv_workload(World& world, FuzzRng& rng, usize index)
{
    std::string server = "kv" + std::to_string(index);
    FuzzNode& node = add_node(world, rng, server, Role::kv_server);
    node.extra = disk_yaml(rng);
    u32 server_ip = node.ip_last_octet;
    check(world, server, "log_contains: \"kv: replayed\"");
    usize clients = rng.between(1, 3);
    for (usize c = 0; c < clients; ++c) {
        std::string name = server + "-check" + std::to_string(c);
        FuzzNode& client = add_node(world, rng, name, Role::kv_client);
        client.args = {"check", ip_of(server_ip), std::to_string(rng.between(20, 300)),
                       std::to_string(rng.between(1, 16)), "c" + std::to_string(c)};
        client.extra = ", start: " + ms(rng.between(1, 100) * ns_per_ms);
        check(world, name, "exit_code: 0");
        check(world, name, "log_contains: \" 0 violations\"");
    }
}

// A pinger sends until after the faults stop (10 ms apart), so its last echo
// must be answered.
void add_pinger(World& world, FuzzRng& rng, usize index, u32 target_ip)
{
    std::string name = "pinger" + std::to_string(index);
    usize count = static_cast<usize>(world.after_ns / (10 * ns_per_ms)) + 20;
    FuzzNode& node = add_node(world, rng, name, Role::pinger);
    node.args = {"ping", ip_of(target_ip), std::to_string(count)};
    check(world, name, "log_contains: \"icmp_seq=" + std::to_string(count) + " time=\"");
}

// Late clients, one per server, started well after the faults stop: the
// server must serve them in full however the safety phase left it.
void add_probes(World& world, FuzzRng& rng, TimeNs start_ns)
{
    usize servers = world.nodes.size();
    for (usize i = 0; i < servers; ++i) {
        FuzzNode server = world.nodes[i];
        if (server.role != Role::echo_server && server.role != Role::kv_server)
            continue;
        std::string name = "late-" + server.name;
        FuzzNode& probe = add_node(world, rng, name, Role::probe);
        probe.extra = ", start: " + ms(start_ns);
        if (server.role == Role::echo_server)
            probe.args = {"tcp-client", ip_of(server.ip_last_octet), "10000"};
        else
            probe.args = {"check", ip_of(server.ip_last_octet), "20", "4", "late"};
        check(world, name, "exit_code: 0");
    }
}

void add_topology(World& world, FuzzRng& rng)
{
    usize count = rng.chance(30) ? 2 : 1;
    for (usize i = 0; i < count; ++i)
        world.switches.push_back("lan" + std::to_string(i));
    if (count == 2)
        world.links.push_back("  - {name: trunk, between: [lan0, lan1], latency: " +
                              us(rng.between(1, 500) * ns_per_us) + "}");
    if (count == 2)
        world.link_names.push_back("trunk");
}

std::string link_faults(FuzzRng& rng)
{
    std::string text;
    if (rng.chance(50))
        text += ", loss: " + format_percent_ppm(static_cast<u32>(rng.between(1, 30'000)));
    if (rng.chance(30))
        text += ", duplicate: " + format_percent_ppm(static_cast<u32>(rng.between(1, 10'000)));
    if (rng.chance(30))
        text += ", reorder: " + format_percent_ppm(static_cast<u32>(rng.between(1, 20'000)));
    if (rng.chance(20))
        text += ", corrupt: " + format_percent_ppm(static_cast<u32>(rng.between(1, 2'000)));
    return text;
}

void add_links(World& world, FuzzRng& rng)
{
    static constexpr const char* bandwidths[] = {"10Mbit", "100Mbit", "1Gbit", "10Gbit"};
    for (const FuzzNode& node : world.nodes) {
        std::string name = node.name + "-port";
        std::string line = "  - {name: " + name + ", between: [" + node.name + ", " + node.lan +
                           "], latency: " + us(rng.between(1, 5000) * ns_per_us);
        if (rng.chance(30))
            line += ", jitter: " + us(rng.between(1, 1000) * ns_per_us);
        if (rng.chance(60))
            line += std::string(", bandwidth: ") + rng.pick(bandwidths);
        if (rng.chance(20))
            line += ", queue: " + std::to_string(rng.between(8, 256));
        line += link_faults(rng) + "}";
        world.links.push_back(line);
        world.link_names.push_back(name);
    }
}

std::vector<std::string> names_with(const World& world, bool (*wanted)(Role))
{
    std::vector<std::string> names;
    for (const FuzzNode& node : world.nodes)
        if (wanted(node.role))
            names.push_back(node.name);
    return names;
}

std::string chaos_block(FuzzRng& rng, const std::string& rate_key, u64 rate_max,
                        const std::string& targets)
{
    return "  - {from: " + ms(rng.between(0, 100) * ns_per_ms) + ", " + rate_key + ": " +
           std::to_string(rng.between(1, rate_max)) +
           "/s, mean_duration: " + ms(rng.between(5, 300) * ns_per_ms) + targets + "}";
}

void add_chaos(World& world, FuzzRng& rng)
{
    auto kv_servers = names_with(world, [](Role r) { return r == Role::kv_server; });
    auto workload = names_with(world, [](Role r) { return r != Role::probe; });
    auto servers = names_with(
        world, [](Role r) { return r == Role::kv_server || r == Role::echo_server; });
    std::string kinds;
    if (!kv_servers.empty() && rng.chance(70)) {
        world.chaos.push_back(
            chaos_block(rng, "crash_rate", 10, ", nodes: " + quoted_list(kv_servers)));
        kinds += " crash";
    }
    if (rng.chance(50)) {
        world.chaos.push_back(
            chaos_block(rng, "pause_rate", 4, ", nodes: " + quoted_list(servers)));
        kinds += " pause";
    }
    if (rng.chance(50)) {
        world.chaos.push_back(
            chaos_block(rng, "partition_rate", 4, ", nodes: " + quoted_list(workload)));
        kinds += " partition";
    }
    if (rng.chance(50)) {
        u32 burst_loss_ppm = static_cast<u32>(rng.between(1, 100)) * 10'000;
        world.chaos.push_back(chaos_block(rng, "loss_burst_rate", 4,
                                          ", burst_loss: " + format_percent_ppm(burst_loss_ppm)));
        kinds += " loss_burst";
    }
    world.summary += "; chaos:" + (kinds.empty() ? std::string(" none") : kinds);
}

// Late and jittery timers and drifting clocks on some nodes.
void add_kernel_faults(World& world, FuzzRng& rng)
{
    for (FuzzNode& node : world.nodes) {
        if (node.role == Role::probe)
            continue;
        if (rng.chance(15))
            node.extra += ", kernel_faults: {timer_late: " + us(rng.between(1, 2000) * ns_per_us) +
                          ", timer_jitter: " + us(rng.between(0, 2000) * ns_per_us) + "}";
        if (rng.chance(20))
            node.extra += std::string(", clock_drift_ppm: ") + (rng.chance(50) ? "-" : "") +
                          std::to_string(rng.between(1, 1000));
    }
}

std::string render(const World& world, u64 seed, TimeNs within_ns)
{
    std::string yaml = "# Generated by: gantry simfuzz --seed " + std::to_string(seed) +
                       "\n# Reproduce: gantry sim THIS_FILE\n";
    yaml += "name: simfuzz-" + std::to_string(seed) + "\n";
    yaml += "description: \"" + world.summary + "\"\n";
    yaml += "seed: " + std::to_string(seed) + "\nnodes:\n";
    for (const FuzzNode& node : world.nodes) {
        const char* app = node.role == Role::kv_server || node.role == Role::kv_client ||
                                  (node.role == Role::probe && node.args[0] == "check")
                              ? "kv"
                              : "echo";
        yaml += "  - {name: " + node.name + ", app: " + app + ", ip: " +
                ip_of(node.ip_last_octet) + "/24";
        if (!node.args.empty())
            yaml += ", args: " + quoted_list(node.args);
        yaml += node.extra + "}\n";
    }
    yaml += "switches:\n";
    for (const std::string& name : world.switches)
        yaml += "  - {name: " + name + "}\n";
    yaml += "links:\n";
    for (const std::string& line : world.links)
        yaml += line + "\n";
    if (!world.chaos.empty()) {
        yaml += "chaos:\n";
        for (const std::string& line : world.chaos)
            yaml += line + "\n";
    }
    yaml += "liveness: {after: " + ms(world.after_ns) + ", within: " + ms(within_ns) + "}\n";
    yaml += "checks:\n";
    for (const std::string& line : world.checks)
        yaml += line + "\n";
    yaml += "  - no_node_failures: true\n";
    return yaml;
}

} // namespace

GeneratedScenario generate_fuzz_scenario(u64 seed)
{
    FuzzRng rng(seed);
    World world;
    world.after_ns = rng.between(2, 30) * 100 * ns_per_ms;
    add_topology(world, rng);
    usize tcp = rng.between(0, 2);
    usize kv = rng.between(tcp == 0 ? 1 : 0, 2);
    for (usize i = 0; i < tcp; ++i)
        add_tcp_workload(world, rng, i);
    for (usize i = 0; i < kv; ++i)
        add_kv_workload(world, rng, i);
    usize pingers = rng.between(0, 2);
    auto servers = names_with(
        world, [](Role r) { return r == Role::kv_server || r == Role::echo_server; });
    for (usize i = 0; i < pingers; ++i) {
        const std::string& target = servers[rng.between(0, servers.size() - 1)];
        for (const FuzzNode& node : world.nodes)
            if (node.name == target) {
                add_pinger(world, rng, i, node.ip_last_octet);
                break;
            }
    }
    TimeNs within_ns = 60 * ns_per_s;
    add_probes(world, rng, world.after_ns + 5 * ns_per_s);
    add_links(world, rng);
    add_kernel_faults(world, rng);
    world.summary = std::to_string(tcp) + " tcp, " + std::to_string(kv) + " kv, " +
                    std::to_string(pingers) + " ping, " + std::to_string(world.nodes.size()) +
                    " nodes, " + std::to_string(world.switches.size()) + " switch(es), faults until " +
                    ms(world.after_ns) + world.summary;
    add_chaos(world, rng);
    return {render(world, seed, within_ns), world.summary};
}

} // namespace gantry::harness
