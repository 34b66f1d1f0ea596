// Scenario loading: YAML through yaml-cpp, then strict validation. Every error
// names file:line:column, says what is wrong and what was expected; unknown
// keys get a "did you mean". Nothing here crashes on hostile input (fuzzed).
#include "scenario.hpp"

#include <gantry/text.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace gantry::harness {

std::string SourceMark::text() const
{
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

ScenarioError::ScenarioError(const SourceMark& mark, const std::string& message)
    : std::runtime_error(mark.text() + ": " + message)
{
}

const NodeSpec* Scenario::find_node(std::string_view name) const
{
    for (const NodeSpec& node : nodes)
        if (node.name == name)
            return &node;
    return nullptr;
}

const LinkSpec* Scenario::find_link(std::string_view name) const
{
    for (const LinkSpec& link : links)
        if (link.name == name)
            return &link;
    return nullptr;
}

namespace {

// Bounds of chaos blocks: rates per second, and faults one block may generate.
constexpr double chaos_rate_max = 1000;
constexpr u64 chaos_faults_max = 10'000;

std::string closest(std::string_view word, const std::vector<std::string>& candidates)
{
    std::string best;
    usize best_distance = std::max<usize>(3, word.size() / 3) + 1;
    for (const auto& candidate : candidates) {
        usize distance = edit_distance(word, candidate);
        if (distance < best_distance)
            best = candidate, best_distance = distance;
    }
    return best;
}

std::string join(const std::vector<std::string>& words)
{
    std::string out;
    for (const auto& word : words)
        out += (out.empty() ? "" : ", ") + word;
    return out;
}

// Reads one YAML mapping, remembering which keys were used so that unknown
// keys are reported (with a suggestion) instead of silently ignored.
class MapReader {
public:
    MapReader(const YAML::Node& node, std::string file, std::string what)
        : m_node(node), m_file(std::move(file)), m_what(std::move(what))
    {
        if (!node.IsMap())
            throw ScenarioError(mark(node), m_what + " must be a mapping of key: value");
    }

    SourceMark mark(const YAML::Node& node) const
    {
        YAML::Mark m = node.Mark();
        return SourceMark{m_file, m.line + 1, m.column + 1};
    }
    SourceMark mark() const { return mark(m_node); }

    YAML::Node get(const std::string& key)
    {
        m_allowed.push_back(key);
        for (auto it = m_node.begin(); it != m_node.end(); ++it)
            if (it->first.IsScalar() && it->first.Scalar() == key)
                return it->second;
        return YAML::Node(YAML::NodeType::Undefined);
    }

    YAML::Node require(const std::string& key)
    {
        YAML::Node value = get(key);
        if (!value.IsDefined())
            throw ScenarioError(mark(), m_what + " needs '" + key + "'");
        return value;
    }

    std::string scalar(const YAML::Node& value, const std::string& key) const
    {
        if (!value.IsScalar())
            throw ScenarioError(mark(value), "'" + key + "' must be a single value");
        return value.Scalar();
    }

    std::string string(const std::string& key, const std::string& fallback = {})
    {
        YAML::Node value = get(key);
        return value.IsDefined() ? scalar(value, key) : fallback;
    }

    std::string required_string(const std::string& key)
    {
        return scalar(require(key), key);
    }

    TimeNs duration(const YAML::Node& value, const std::string& key) const
    {
        auto parsed = parse_duration(scalar(value, key));
        if (!parsed)
            throw ScenarioError(mark(value), "'" + key + "': '" + value.Scalar() +
                                                 "' is not a duration (examples: 10s, 250ms, 5us)");
        return *parsed;
    }

    u64 integer(const YAML::Node& value, const std::string& key, u64 min, u64 max) const
    {
        std::string text = scalar(value, key);
        u64 number = 0;
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
        if (error != std::errc() || end != text.data() + text.size() || number < min ||
            number > max)
            throw ScenarioError(mark(value), "'" + key + "' must be an integer from " +
                                                 std::to_string(min) + " to " +
                                                 std::to_string(max));
        return number;
    }

    bool boolean(const YAML::Node& value, const std::string& key) const
    {
        std::string text = scalar(value, key);
        if (text == "true")
            return true;
        if (text == "false")
            return false;
        throw ScenarioError(mark(value), "'" + key + "' must be true or false");
    }

    u32 percent(const YAML::Node& value, const std::string& key) const
    {
        auto parsed = parse_percent_ppm(scalar(value, key));
        if (!parsed)
            throw ScenarioError(mark(value), "'" + key + "': '" + value.Scalar() +
                                                 "' is not a percentage from 0% to 100% "
                                                 "(examples: 1%, 0.5%)");
        return *parsed;
    }

    // Reports the first key nobody asked for.
    void finish() const
    {
        for (auto it = m_node.begin(); it != m_node.end(); ++it) {
            std::string key = it->first.IsScalar() ? it->first.Scalar() : "?";
            if (std::find(m_allowed.begin(), m_allowed.end(), key) != m_allowed.end())
                continue;
            std::string hint = closest(key, m_allowed);
            throw ScenarioError(mark(it->first),
                                "unknown key '" + key + "' in " + m_what +
                                    (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                                    "; expected one of: " + join(m_allowed));
        }
    }

private:
    const YAML::Node& m_node;
    std::string m_file;
    std::string m_what;
    std::vector<std::string> m_allowed;
};

u32 read_address(const MapReader& map, const YAML::Node& value, const std::string& key)
{
    auto address = parse_ipv4(map.scalar(value, key));
    if (!address || *address == 0)
        throw ScenarioError(map.mark(value), "'" + key + "': '" + value.Scalar() +
                                                 "' is not an IPv4 address (example: 10.0.0.1)");
    return *address;
}

void read_node_address(MapReader& map, NodeSpec& node)
{
    if (YAML::Node ip = map.get("ip"); ip.IsDefined()) {
        std::string text = map.scalar(ip, "ip");
        usize slash = text.find('/');
        auto address = parse_ipv4(std::string_view(text).substr(0, slash));
        u64 prefix = 24;
        bool ok = address.has_value() && *address != 0;
        if (ok && slash != std::string::npos) {
            std::string_view digits = std::string_view(text).substr(slash + 1);
            auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(),
                                                prefix);
            ok = error == std::errc() && end == digits.data() + digits.size() && prefix >= 1 &&
                 prefix <= 32;
        }
        if (!ok)
            throw ScenarioError(map.mark(ip), "'ip': '" + text + "' is not an IPv4 address "
                                                                 "with a prefix (example: "
                                                                 "10.0.0.1/24)");
        node.ip = *address;
        node.prefix = static_cast<u8>(prefix);
    }
    if (YAML::Node gateway = map.get("gateway"); gateway.IsDefined()) {
        auto address = parse_ipv4(map.scalar(gateway, "gateway"));
        if (!address)
            throw ScenarioError(map.mark(gateway), "'gateway': '" + gateway.Scalar() +
                                                       "' is not an IPv4 address "
                                                       "(example: 10.0.0.254)");
        node.gateway = *address;
    }
    if (YAML::Node dns = map.get("dns"); dns.IsDefined())
        node.dns = read_address(map, dns, "dns");
    if (YAML::Node dhcp = map.get("dhcp"); dhcp.IsDefined()) {
        node.dhcp = map.boolean(dhcp, "dhcp");
        if (node.dhcp && node.ip != 0)
            throw ScenarioError(map.mark(dhcp), "a node takes its address from 'dhcp: true' or "
                                                "from 'ip', not both");
    }
}

// A relative path (a capture, a disk image) is relative to the scenario file,
// so a scenario and its files move together.
std::string resolve_beside(const std::string& path, const std::string& scenario_file)
{
    if (path.empty() || path.front() == '/')
        return path;
    usize slash = scenario_file.rfind('/');
    return slash == std::string::npos ? path : scenario_file.substr(0, slash + 1) + path;
}

// Kernel-level faults (docs/scenarios.md, "Kernel-level faults") -----------

// alloc_fail, timer_late, timer_jitter: shared by a node's kernel_faults and
// the timeline's kernel_faults.
void read_kernel_fault_values(MapReader& map, KernelFaultsSpec& spec)
{
    if (YAML::Node value = map.get("alloc_fail"); value.IsDefined())
        spec.alloc_fail_ppm = map.percent(value, "alloc_fail");
    if (YAML::Node value = map.get("timer_late"); value.IsDefined())
        spec.timer_late_ns = map.duration(value, "timer_late");
    if (YAML::Node value = map.get("timer_jitter"); value.IsDefined())
        spec.timer_jitter_ns = map.duration(value, "timer_jitter");
}

std::string read_boot_phase(MapReader& map, const YAML::Node& value, const std::string& key)
{
    std::string phase = map.scalar(value, key);
    std::vector<std::string> known(std::begin(boot_phase_names), std::end(boot_phase_names));
    if (std::find(known.begin(), known.end(), phase) != known.end())
        return phase;
    std::string hint = closest(phase, known);
    throw ScenarioError(map.mark(value), "'" + key + "': '" + phase + "' is not a boot phase" +
                                             (hint.empty() ? "" : " (did you mean '" + hint +
                                                                      "'?)") +
                                             "; expected one of: " + join(known));
}

void read_node_kernel_faults(MapReader& node_map, const std::string& file, NodeSpec& node)
{
    YAML::Node value = node_map.get("kernel_faults");
    if (!value.IsDefined())
        return;
    MapReader map(value, file, "a node's kernel_faults");
    read_kernel_fault_values(map, node.kernel_faults);
    if (YAML::Node phase = map.get("boot_crash"); phase.IsDefined())
        node.boot_crash_phase = read_boot_phase(map, phase, "boot_crash");
    map.finish();
}

// Disks (docs/scenarios.md, "Disks") -------------------------------------------

DiskSpec read_disk(const YAML::Node& yaml, const std::string& file)
{
    MapReader map(yaml, file, "a disk");
    DiskSpec disk;
    disk.mark = map.mark();
    if (YAML::Node sector = map.get("sector"); sector.IsDefined()) {
        disk.sector_bytes = static_cast<u32>(map.integer(sector, "sector", 512, 65536));
        if ((disk.sector_bytes & (disk.sector_bytes - 1)) != 0)
            throw ScenarioError(map.mark(sector), "'sector' must be a power of two from 512 "
                                                  "to 65536 (examples: 512, 4096)");
    }
    if (YAML::Node size = map.get("size"); size.IsDefined()) {
        auto bytes = parse_bytes(map.scalar(size, "size"));
        if (!bytes || *bytes == 0 || *bytes % disk.sector_bytes != 0 ||
            *bytes > (u64{1} << 40))
            throw ScenarioError(map.mark(size), "'size': '" + size.Scalar() +
                                                    "' is not a whole number of sectors up to "
                                                    "1T (examples: 1M, 64M)");
        disk.size_bytes = *bytes;
    }
    if (disk.size_bytes % disk.sector_bytes != 0)
        throw ScenarioError(disk.mark, "the disk's size is not a whole number of " +
                                           std::to_string(disk.sector_bytes) + "-byte sectors");
    if (YAML::Node value = map.get("latency"); value.IsDefined())
        disk.latency_ns = map.duration(value, "latency");
    if (YAML::Node value = map.get("sector_time"); value.IsDefined())
        disk.sector_ns = map.duration(value, "sector_time");
    if (YAML::Node value = map.get("jitter"); value.IsDefined())
        disk.jitter_ns = map.duration(value, "jitter");
    if (YAML::Node value = map.get("read_errors"); value.IsDefined())
        disk.read_error_ppm = map.percent(value, "read_errors");
    if (YAML::Node value = map.get("write_errors"); value.IsDefined())
        disk.write_error_ppm = map.percent(value, "write_errors");
    if (YAML::Node value = map.get("image"); value.IsDefined()) {
        disk.image = resolve_beside(map.scalar(value, "image"), file);
        std::error_code error;
        disk.image_is_directory = std::filesystem::is_directory(disk.image, error);
        if (!disk.image_is_directory && !std::filesystem::is_regular_file(disk.image, error))
            throw ScenarioError(map.mark(value), "image '" + disk.image + "' is neither a "
                                                 "gantryfs image file nor a directory of files "
                                                 "(a relative path is relative to the scenario "
                                                 "file)");
    }
    if (YAML::Node value = map.get("read_only"); value.IsDefined())
        disk.read_only = map.boolean(value, "read_only");
    if (YAML::Node value = map.get("crash"); value.IsDefined()) {
        disk.crash = map.scalar(value, "crash");
        std::vector<std::string> known(std::begin(disk_crash_policies),
                                       std::end(disk_crash_policies));
        if (std::find(known.begin(), known.end(), disk.crash) == known.end()) {
            std::string hint = closest(disk.crash, known);
            throw ScenarioError(map.mark(value),
                                "'crash': '" + disk.crash + "' is not a crash policy" +
                                    (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                                    "; expected one of: " + join(known));
        }
    }
    map.finish();
    return disk;
}

void read_node_disks(MapReader& map, const std::string& file, NodeSpec& node)
{
    YAML::Node list = map.get("disks");
    if (!list.IsDefined())
        return;
    if (!list.IsSequence())
        throw ScenarioError(map.mark(list), "'disks' must be a list (items start with '- ')");
    if (list.size() > 4)
        throw ScenarioError(map.mark(list), "a node has at most 4 disks");
    for (const auto& item : list)
        node.disks.push_back(read_disk(item, file));
}

// Workload clients (docs/scenarios.md, "Workload clients") ---------------------

void read_workload_common(MapReader& map, WorkloadSpec& spec, const char* server_key)
{
    spec.server = read_address(map, map.require(server_key), server_key);
    if (YAML::Node value = map.get("port"); value.IsDefined())
        spec.port = static_cast<u16>(map.integer(value, "port", 1, 65535));
    if (YAML::Node value = map.get("timeout"); value.IsDefined()) {
        spec.timeout_ns = map.duration(value, "timeout");
        if (spec.timeout_ns == 0)
            throw ScenarioError(map.mark(value), "'timeout' must be longer than 0");
    }
    if (YAML::Node value = map.get("think"); value.IsDefined())
        spec.think_ns = map.duration(value, "think");
}

void read_http_client(MapReader& map, WorkloadSpec& spec)
{
    spec.kind = WorkloadKind::http_client;
    read_workload_common(map, spec, "server");
    YAML::Node paths = map.require("paths");
    if (!paths.IsSequence() || paths.size() == 0 || paths.size() > 64)
        throw ScenarioError(map.mark(paths), "'paths' must be a list of 1 to 64 paths, e.g. "
                                             "[/index.html, /big.bin]");
    for (const auto& path : paths) {
        std::string text = map.scalar(path, "paths");
        if (text.empty() || text.front() != '/' || text.size() > 1024 ||
            text.find_first_of(" \r\n") != std::string::npos)
            throw ScenarioError(map.mark(path), "a path starts with '/' and has no spaces "
                                                "(up to 1024 bytes)");
        spec.paths.push_back(text);
    }
    if (YAML::Node value = map.get("repeat"); value.IsDefined())
        spec.repeat = static_cast<u32>(map.integer(value, "repeat", 1, 100'000));
    if (YAML::Node value = map.get("read_pause"); value.IsDefined())
        spec.read_pause_ns = map.duration(value, "read_pause");
}

void read_kv_client(MapReader& map, WorkloadSpec& spec)
{
    spec.kind = WorkloadKind::kv_client;
    read_workload_common(map, spec, "server");
    if (YAML::Node value = map.get("ops"); value.IsDefined())
        spec.ops = static_cast<u32>(map.integer(value, "ops", 1, 1'000'000));
    if (YAML::Node value = map.get("keys"); value.IsDefined())
        spec.keys = static_cast<u32>(map.integer(value, "keys", 1, 3000));
    if (YAML::Node value = map.get("key_prefix"); value.IsDefined()) {
        spec.key_prefix = map.scalar(value, "key_prefix");
        if (spec.key_prefix.empty() || spec.key_prefix.size() > 32 ||
            spec.key_prefix.find_first_of(" \t\r\n") != std::string::npos)
            throw ScenarioError(map.mark(value), "'key_prefix' must be 1 to 32 bytes without "
                                                 "spaces");
    }
    if (YAML::Node value = map.get("get_percent"); value.IsDefined())
        spec.get_percent = static_cast<u32>(map.integer(value, "get_percent", 0, 100));
    if (YAML::Node value = map.get("del_percent"); value.IsDefined())
        spec.del_percent = static_cast<u32>(map.integer(value, "del_percent", 0, 100));
    if (spec.get_percent + spec.del_percent > 100)
        throw ScenarioError(map.mark(), "'get_percent' and 'del_percent' add up to more "
                                        "than 100");
    if (YAML::Node value = map.get("give_up"); value.IsDefined())
        spec.give_up_ns = map.duration(value, "give_up");
    if (YAML::Node value = map.get("value_bytes"); value.IsDefined())
        spec.value_bytes = static_cast<u32>(map.integer(value, "value_bytes", 0, 256));
}

void read_syn_flood(MapReader& map, WorkloadSpec& spec)
{
    spec.kind = WorkloadKind::syn_flood;
    spec.server = read_address(map, map.require("target"), "target");
    if (YAML::Node value = map.get("port"); value.IsDefined())
        spec.port = static_cast<u16>(map.integer(value, "port", 1, 65535));
    YAML::Node rate = map.require("rate");
    auto parsed = parse_rate(map.scalar(rate, "rate"));
    if (!parsed || *parsed < 1 || *parsed > 1'000'000)
        throw ScenarioError(map.mark(rate), "'rate': '" + rate.Scalar() + "' is not a rate "
                                            "from 1/s to 1000000/s (example: 5000/s)");
    spec.rate = *parsed;
    spec.for_ns = map.duration(map.require("for"), "for");
}

void read_dhcp_server(MapReader& map, WorkloadSpec& spec)
{
    spec.kind = WorkloadKind::dhcp_server;
    YAML::Node pool = map.require("pool");
    if (!pool.IsSequence() || pool.size() != 2)
        throw ScenarioError(map.mark(pool), "'pool' must be [first, last], e.g. "
                                            "[10.0.0.100, 10.0.0.250]");
    spec.pool_first = read_address(map, pool[0], "pool");
    spec.pool_last = read_address(map, pool[1], "pool");
    if (spec.pool_last < spec.pool_first || spec.pool_last - spec.pool_first >= 65536)
        throw ScenarioError(map.mark(pool), "'pool' must run from a first address to a last "
                                            "one no lower, at most 65536 addresses");
    if (YAML::Node value = map.get("lease"); value.IsDefined()) {
        TimeNs lease = map.duration(value, "lease");
        if (lease < ns_per_s || lease > TimeNs{1'000'000} * ns_per_s)
            throw ScenarioError(map.mark(value), "'lease' must be from 1s to 1000000s");
        spec.lease_s = static_cast<u32>(lease / ns_per_s);
    }
    if (YAML::Node value = map.get("router"); value.IsDefined())
        spec.router = read_address(map, value, "router");
    if (YAML::Node value = map.get("dns"); value.IsDefined()) {
        if (!value.IsSequence() || value.size() == 0 || value.size() > 3)
            throw ScenarioError(map.mark(value), "'dns' must list 1 to 3 server addresses");
        for (const auto& server : value)
            spec.dns_servers.push_back(read_address(map, server, "dns"));
    }
}

void read_dns_server(MapReader& map, WorkloadSpec& spec)
{
    spec.kind = WorkloadKind::dns_server;
    YAML::Node records = map.require("records");
    if (!records.IsMap() || records.size() == 0 || records.size() > 256)
        throw ScenarioError(map.mark(records), "'records' must map 1 to 256 names to "
                                               "addresses, e.g. {www.example.test: 10.0.0.80}");
    for (auto it = records.begin(); it != records.end(); ++it) {
        std::string name = map.scalar(it->first, "records");
        if (name.empty() || name.size() > 253 ||
            name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") != std::string::npos)
            throw ScenarioError(map.mark(it->first), "'" + name + "' is not a lowercase host "
                                                              "name");
        spec.records.emplace_back(name, read_address(map, it->second, "records"));
    }
    if (YAML::Node value = map.get("ttl"); value.IsDefined())
        spec.ttl_s = static_cast<u32>(map.duration(value, "ttl") / ns_per_s);
}

// A node runs `app`, or is one of the workload clients.
void read_node_program(MapReader& map, const std::string& file, NodeSpec& node)
{
    struct Kind {
        const char* key;
        void (*read)(MapReader&, WorkloadSpec&);
    };
    constexpr Kind kinds[] = {{"http_client", read_http_client},
                              {"kv_client", read_kv_client},
                              {"syn_flood", read_syn_flood},
                              {"dhcp_server", read_dhcp_server},
                              {"dns_server", read_dns_server}};
    int found = 0;
    if (YAML::Node app = map.get("app"); app.IsDefined()) {
        node.app = map.scalar(app, "app");
        ++found;
    }
    for (const Kind& kind : kinds) {
        YAML::Node value = map.get(kind.key);
        if (!value.IsDefined())
            continue;
        MapReader workload(value, file, std::string("a node's ") + kind.key);
        node.workload.mark = workload.mark();
        kind.read(workload, node.workload);
        workload.finish();
        node.app = workload_name(node.workload.kind);
        ++found;
    }
    if (found != 1)
        throw ScenarioError(map.mark(), "a node needs exactly one of 'app' (an app's name) or "
                                        "a workload client or service: http_client, kv_client, "
                                        "syn_flood, dhcp_server, dns_server");
}

NodeSpec read_node(const YAML::Node& yaml, const std::string& file)
{
    MapReader map(yaml, file, "a node");
    NodeSpec node;
    node.mark = map.mark();
    node.name = map.required_string("name");
    read_node_program(map, file, node);
    if (YAML::Node args = map.get("args"); args.IsDefined()) {
        if (!args.IsSequence())
            throw ScenarioError(map.mark(args), "'args' must be a list, e.g. [--port, \"80\"]");
        for (const auto& arg : args)
            node.args.push_back(map.scalar(arg, "args"));
    }
    if (YAML::Node memory = map.get("memory"); memory.IsDefined()) {
        auto bytes = parse_bytes(map.scalar(memory, "memory"));
        if (!bytes || *bytes < 256 * 1024)
            throw ScenarioError(map.mark(memory), "'memory': '" + memory.Scalar() +
                                                      "' is not a size of at least 256K "
                                                      "(examples: 4M, 16M)");
        node.memory_bytes = *bytes;
    }
    if (YAML::Node drift = map.get("clock_drift_ppm"); drift.IsDefined()) {
        std::string text = map.scalar(drift, "clock_drift_ppm");
        char* end = nullptr;
        node.clock_drift_ppm = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0' || std::fabs(node.clock_drift_ppm) > 1e5)
            throw ScenarioError(map.mark(drift),
                                "'clock_drift_ppm' must be a number between -100000 and 100000");
    }
    read_node_address(map, node);
    read_node_kernel_faults(map, file, node);
    if (YAML::Node start = map.get("start"); start.IsDefined())
        node.start_ns = map.duration(start, "start");
    read_node_disks(map, file, node);
    if (YAML::Node virtio = map.get("virtio"); virtio.IsDefined()) {
        std::string text = map.scalar(virtio, "virtio");
        if (text != "true" && text != "false")
            throw ScenarioError(map.mark(virtio), "'virtio' must be true or false");
        node.virtio = text == "true";
    }
    map.finish();
    return node;
}

SwitchSpec read_switch(const YAML::Node& yaml, const std::string& file)
{
    MapReader map(yaml, file, "a switch");
    SwitchSpec spec{map.required_string("name"), map.mark()};
    map.finish();
    return spec;
}

void read_link_faults(MapReader& map, LinkSpec& link)
{
    struct Rate {
        const char* key;
        u32 LinkSpec::*field;
    };
    constexpr Rate rates[] = {{"loss", &LinkSpec::loss_ppm},
                              {"duplicate", &LinkSpec::duplicate_ppm},
                              {"reorder", &LinkSpec::reorder_ppm},
                              {"corrupt", &LinkSpec::corrupt_ppm}};
    for (const Rate& rate : rates)
        if (YAML::Node value = map.get(rate.key); value.IsDefined())
            link.*rate.field = map.percent(value, rate.key);
    if (YAML::Node delay = map.get("reorder_delay"); delay.IsDefined())
        link.reorder_delay_ns = map.duration(delay, "reorder_delay");
}

LinkSpec read_link(const YAML::Node& yaml, const std::string& file)
{
    MapReader map(yaml, file, "a link");
    LinkSpec link;
    link.mark = map.mark();
    YAML::Node between = map.require("between");
    if (!between.IsSequence() || between.size() != 2)
        throw ScenarioError(map.mark(between), "'between' must name two ends, e.g. [a, b] "
                                               "or [a, switch1]");
    link.a = map.scalar(between[0], "between");
    link.b = map.scalar(between[1], "between");
    link.name = map.string("name", link.a + "-" + link.b);
    // The name becomes a file name (DIR/<link>.pcap).
    if (link.name.empty() || link.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                         "0123456789._-") != std::string::npos)
        throw ScenarioError(map.mark(), "link name '" + link.name + "' may only use letters, "
                                        "digits, '.', '_' and '-' (it names the capture file)");
    if (YAML::Node latency = map.get("latency"); latency.IsDefined())
        link.latency_ns = map.duration(latency, "latency");
    if (YAML::Node jitter = map.get("jitter"); jitter.IsDefined())
        link.jitter_ns = map.duration(jitter, "jitter");
    if (YAML::Node bandwidth = map.get("bandwidth"); bandwidth.IsDefined()) {
        auto parsed = parse_bandwidth(map.scalar(bandwidth, "bandwidth"));
        if (!parsed)
            throw ScenarioError(map.mark(bandwidth),
                                "'bandwidth': '" + bandwidth.Scalar() +
                                    "' is not a rate (examples: 1Gbit, 100Mbit, 512kbit)");
        link.bandwidth_bps = *parsed;
    }
    if (YAML::Node mtu = map.get("mtu"); mtu.IsDefined())
        link.mtu = map.integer(mtu, "mtu", 68, 65521);
    if (YAML::Node queue = map.get("queue"); queue.IsDefined())
        link.queue_frames_max = map.integer(queue, "queue", 1, 1'000'000);
    read_link_faults(map, link);
    map.finish();
    return link;
}

// partition: [a, b] (both ways) or {from: a, to: b} (one way).
void read_partition(MapReader& map, const YAML::Node& value, const std::string& file,
                    FaultSpec& fault)
{
    fault.kind = FaultKind::partition;
    if (value.IsSequence() && value.size() == 2) {
        fault.node = map.scalar(value[0], "partition");
        fault.node2 = map.scalar(value[1], "partition");
        return;
    }
    if (!value.IsMap())
        throw ScenarioError(map.mark(value), "'partition' must be [a, b] (both ways) or "
                                             "{from: a, to: b} (one way)");
    MapReader one_way(value, file, "a one-way partition");
    fault.node = one_way.required_string("from");
    fault.node2 = one_way.required_string("to");
    fault.one_way = true;
    one_way.finish();
}

void read_heal(MapReader& map, const YAML::Node& value, FaultSpec& fault)
{
    fault.kind = FaultKind::heal;
    if (value.IsScalar() && value.Scalar() == "all") {
        fault.heal_all = true;
        return;
    }
    if (!value.IsSequence() || value.size() != 2)
        throw ScenarioError(map.mark(value), "'heal' must be 'all' or two nodes [a, b]");
    fault.node = map.scalar(value[0], "heal");
    fault.node2 = map.scalar(value[1], "heal");
}

void read_loss_burst(const YAML::Node& value, const std::string& file, FaultSpec& fault)
{
    MapReader burst(value, file, "a loss burst");
    fault.kind = FaultKind::loss_burst;
    fault.link = burst.required_string("link");
    fault.loss_ppm = burst.percent(burst.require("loss"), "loss");
    fault.for_ns = burst.duration(burst.require("for"), "for");
    burst.finish();
}

// The network faults of read_fault; returns how many it found.
int read_network_fault(MapReader& map, const std::string& file, FaultSpec& fault)
{
    int found = 0;
    if (YAML::Node value = map.get("partition"); value.IsDefined()) {
        read_partition(map, value, file, fault);
        ++found;
    }
    if (YAML::Node value = map.get("heal"); value.IsDefined()) {
        read_heal(map, value, fault);
        ++found;
    }
    if (YAML::Node value = map.get("loss_burst"); value.IsDefined()) {
        read_loss_burst(value, file, fault);
        ++found;
    }
    return found;
}

// clock_drift: {node, ppm}: a whole number of parts per million, signed.
void read_clock_drift(const YAML::Node& value, const std::string& file, FaultSpec& fault)
{
    MapReader drift(value, file, "a clock_drift fault");
    fault.kind = FaultKind::clock_drift;
    fault.node = drift.required_string("node");
    YAML::Node ppm = drift.require("ppm");
    std::string text = drift.scalar(ppm, "ppm");
    const char* first = text.data();
    if (!text.empty() && text[0] == '+')
        ++first; // from_chars takes no '+'; "+50000" reads naturally for a fast clock
    i64 number = 0;
    auto [end, error] = std::from_chars(first, text.data() + text.size(), number);
    if (error != std::errc() || end != text.data() + text.size() ||
        number < clock_drift_fault_ppm_min || number > clock_drift_fault_ppm_max)
        throw ScenarioError(drift.mark(ppm),
                            "'ppm' must be a whole number from " +
                                std::to_string(clock_drift_fault_ppm_min) + " to " +
                                std::to_string(clock_drift_fault_ppm_max) +
                                " (parts per million: 50000 runs the clock 5% fast, "
                                "-1000 0.1% slow, 0 on time)");
    fault.drift_ppm = number;
    drift.finish();
}

// kernel_faults: {node, alloc_fail, timer_late, timer_jitter}, disk_faults:
// {node, disk, read_errors, write_errors} and boot_crash: {node, phase};
// returns how many of them it found.
int read_kernel_fault(MapReader& map, const std::string& file, FaultSpec& fault)
{
    int found = 0;
    if (YAML::Node value = map.get("kernel_faults"); value.IsDefined()) {
        MapReader faults(value, file, "a kernel_faults fault");
        fault.kind = FaultKind::kernel_faults;
        fault.node = faults.required_string("node");
        read_kernel_fault_values(faults, fault.kernel_faults);
        faults.finish();
        ++found;
    }
    if (YAML::Node value = map.get("disk_faults"); value.IsDefined()) {
        MapReader disk(value, file, "a disk_faults fault");
        fault.kind = FaultKind::disk_faults;
        fault.node = disk.required_string("node");
        if (YAML::Node index = disk.get("disk"); index.IsDefined())
            fault.disk = static_cast<u32>(disk.integer(index, "disk", 0, 3));
        if (YAML::Node rate = disk.get("read_errors"); rate.IsDefined())
            fault.read_error_ppm = disk.percent(rate, "read_errors");
        if (YAML::Node rate = disk.get("write_errors"); rate.IsDefined())
            fault.write_error_ppm = disk.percent(rate, "write_errors");
        disk.finish();
        ++found;
    }
    if (YAML::Node value = map.get("clock_drift"); value.IsDefined()) {
        read_clock_drift(value, file, fault);
        ++found;
    }
    if (YAML::Node value = map.get("boot_crash"); value.IsDefined()) {
        MapReader crash(value, file, "a boot crash");
        fault.kind = FaultKind::boot_crash;
        fault.node = crash.required_string("node");
        fault.phase = read_boot_phase(crash, crash.require("phase"), "phase");
        crash.finish();
        ++found;
    }
    return found;
}

// `every: D` and `until: T` after `at`: the fault repeats.
void read_fault_repeat(const MapReader& map, const YAML::Node& every, const YAML::Node& until,
                       FaultSpec& fault)
{
    if (every.IsDefined() != until.IsDefined())
        throw ScenarioError(fault.mark, "a repeated fault needs both 'every' (the interval) "
                                        "and 'until' (the time of the last one at most)");
    if (!every.IsDefined())
        return;
    fault.every_ns = map.duration(every, "every");
    fault.until_ns = map.duration(until, "until");
    if (fault.every_ns == 0)
        throw ScenarioError(map.mark(every), "'every' must be longer than 0");
    if (fault.until_ns < fault.at_ns)
        throw ScenarioError(map.mark(until), "'until' must not come before 'at'");
    if ((fault.until_ns - fault.at_ns) / fault.every_ns >= fault_repeats_max)
        throw ScenarioError(map.mark(every), "this fault would repeat more than " +
                                                 std::to_string(fault_repeats_max) +
                                                 " times; raise 'every' or lower 'until'");
}

// `at: D` (optionally repeated with `every` and `until`), or
// `random_within: [FROM, UNTIL]` with an optional `probability`.
void read_fault_time(MapReader& map, FaultSpec& fault)
{
    YAML::Node at = map.get("at");
    YAML::Node within = map.get("random_within");
    YAML::Node probability = map.get("probability");
    if (at.IsDefined() == within.IsDefined())
        throw ScenarioError(fault.mark, "a fault needs exactly one of 'at' (a time) or "
                                        "'random_within' ([from, until]: a time drawn per seed)");
    YAML::Node every = map.get("every");
    YAML::Node until = map.get("until");
    if (at.IsDefined()) {
        fault.at_ns = map.duration(at, "at");
        if (probability.IsDefined())
            throw ScenarioError(map.mark(probability), "'probability' goes with "
                                                       "'random_within', not 'at'");
        read_fault_repeat(map, every, until, fault);
        return;
    }
    if (every.IsDefined() || until.IsDefined())
        throw ScenarioError(fault.mark, "'every' and 'until' go with 'at', not "
                                        "'random_within'");
    if (!within.IsSequence() || within.size() != 2)
        throw ScenarioError(map.mark(within), "'random_within' must be [from, until], e.g. "
                                              "[1s, 3s]");
    fault.random = true;
    fault.random_from_ns = map.duration(within[0], "random_within");
    fault.random_until_ns = map.duration(within[1], "random_within");
    if (fault.random_until_ns <= fault.random_from_ns)
        throw ScenarioError(map.mark(within), "'random_within': the window's end must come "
                                              "after its start");
    fault.at_ns = fault.random_from_ns; // the earliest it can happen, until resolved
    if (probability.IsDefined())
        fault.probability_ppm = map.percent(probability, "probability");
}

FaultSpec read_fault(const YAML::Node& yaml, const std::string& file)
{
    MapReader map(yaml, file, "a fault");
    FaultSpec fault;
    fault.mark = map.mark();
    read_fault_time(map, fault);
    struct Action {
        const char* key;
        FaultKind kind;
    };
    constexpr Action actions[] = {{"crash", FaultKind::crash},
                                  {"restart", FaultKind::restart},
                                  {"pause", FaultKind::pause},
                                  {"resume", FaultKind::resume}};
    int found = 0;
    for (const Action& action : actions) {
        if (YAML::Node target = map.get(action.key); target.IsDefined()) {
            fault.kind = action.kind;
            fault.node = map.scalar(target, action.key);
            ++found;
        }
    }
    found += read_network_fault(map, file, fault);
    found += read_kernel_fault(map, file, fault);
    if (found != 1)
        throw ScenarioError(fault.mark, "a fault needs exactly one of crash, restart, pause, "
                                        "resume (naming a node), partition, heal, loss_burst, "
                                        "kernel_faults, disk_faults, clock_drift, boot_crash, "
                                        "beside 'at' or 'random_within'");
    map.finish();
    return fault;
}

ReplayCheckSpec read_replay_check(const YAML::Node& yaml, const std::string& file)
{
    MapReader map(yaml, file, "a replay check");
    ReplayCheckSpec replay;
    YAML::Node capture = map.require("capture");
    replay.capture = resolve_beside(map.scalar(capture, "capture"), file);
    std::error_code error;
    if (!std::filesystem::is_regular_file(replay.capture, error))
        throw ScenarioError(map.mark(capture), "capture '" + replay.capture +
                                                   "' is not a file (a relative path is "
                                                   "relative to the scenario file)");
    replay.filter = map.string("filter");
    replay.server = map.string("server");
    replay.client = map.string("client");
    for (const char* key : {"server", "client"})
        if (YAML::Node address = map.get(key);
            address.IsDefined() && !parse_ipv4(map.scalar(address, key)))
            throw ScenarioError(map.mark(address), std::string("'") + key +
                                                       "' must be an IPv4 address");
    replay.timing = map.string("timing", "recorded");
    if (replay.timing != "recorded" && replay.timing != "asap" &&
        !replay.timing.starts_with("scale="))
        throw ScenarioError(map.mark(map.get("timing")),
                            "'timing' must be recorded, asap or scale=X");
    std::string expect = map.string("expect", "match");
    if (expect != "match" && expect != "diverge")
        throw ScenarioError(map.mark(map.get("expect")), "'expect' must be match or diverge");
    replay.expect_match = expect == "match";
    map.finish();
    return replay;
}

// Chaos blocks and the liveness phase (docs/scenarios.md) --------------------

double read_rate(const MapReader& map, const YAML::Node& value, const std::string& key)
{
    auto rate = parse_rate(map.scalar(value, key));
    if (!rate || *rate > chaos_rate_max)
        throw ScenarioError(map.mark(value), "'" + key + "': '" + value.Scalar() +
                                                 "' is not a rate of at most 1000/s "
                                                 "(examples: 0.5/s, 10/min, 2/h)");
    return *rate;
}

std::vector<std::string> read_names(const MapReader& map, const YAML::Node& value,
                                    const std::string& key)
{
    if (!value.IsSequence())
        throw ScenarioError(map.mark(value), "'" + key + "' must be a list of names, e.g. "
                                                         "[a, b]");
    std::vector<std::string> names;
    for (const auto& item : value)
        names.push_back(map.scalar(item, key));
    return names;
}

ChaosSpec read_chaos_block(const YAML::Node& yaml, const std::string& file)
{
    MapReader map(yaml, file, "a chaos block");
    ChaosSpec chaos;
    chaos.mark = map.mark();
    if (YAML::Node value = map.get("from"); value.IsDefined())
        chaos.from_ns = map.duration(value, "from");
    if (YAML::Node value = map.get("until"); value.IsDefined())
        chaos.until_ns = map.duration(value, "until");
    struct Rate {
        const char* key;
        double ChaosSpec::*field;
    };
    constexpr Rate rates[] = {{"crash_rate", &ChaosSpec::crash_rate},
                              {"pause_rate", &ChaosSpec::pause_rate},
                              {"partition_rate", &ChaosSpec::partition_rate},
                              {"loss_burst_rate", &ChaosSpec::loss_burst_rate},
                              {"one_way_partition_rate", &ChaosSpec::one_way_partition_rate},
                              {"kernel_fault_rate", &ChaosSpec::kernel_fault_rate}};
    bool any_rate = false;
    for (const Rate& rate : rates) {
        if (YAML::Node value = map.get(rate.key); value.IsDefined()) {
            chaos.*rate.field = read_rate(map, value, rate.key);
            any_rate = any_rate || chaos.*rate.field > 0;
        }
    }
    if (YAML::Node value = map.get("mean_duration"); value.IsDefined()) {
        chaos.mean_duration_ns = map.duration(value, "mean_duration");
        if (chaos.mean_duration_ns == 0)
            throw ScenarioError(map.mark(value), "'mean_duration' must be longer than 0");
    }
    if (YAML::Node value = map.get("burst_loss"); value.IsDefined())
        chaos.burst_loss_ppm = map.percent(value, "burst_loss");
    if (YAML::Node value = map.get("nodes"); value.IsDefined())
        chaos.nodes = read_names(map, value, "nodes");
    if (YAML::Node value = map.get("links"); value.IsDefined())
        chaos.links = read_names(map, value, "links");
    if (YAML::Node value = map.get("kernel_faults"); value.IsDefined()) {
        MapReader faults(value, file, "a chaos block's kernel_faults");
        chaos.kernel_faults = {};
        read_kernel_fault_values(faults, chaos.kernel_faults);
        faults.finish();
        if (chaos.kernel_faults == KernelFaultsSpec{})
            throw ScenarioError(faults.mark(), "a chaos block's kernel_faults needs at least "
                                               "one of alloc_fail, timer_late, timer_jitter "
                                               "above 0");
    }
    map.finish();
    if (!any_rate)
        throw ScenarioError(chaos.mark, "a chaos block needs at least one of crash_rate, "
                                        "pause_rate, partition_rate, loss_burst_rate, "
                                        "one_way_partition_rate, kernel_fault_rate above 0");
    return chaos;
}

// chaos: one block (a mapping) or a list of blocks.
std::vector<ChaosSpec> read_chaos(MapReader& map, const std::string& file)
{
    YAML::Node value = map.get("chaos");
    if (!value.IsDefined() || value.IsNull())
        return {};
    if (value.IsMap())
        return {read_chaos_block(value, file)};
    if (!value.IsSequence())
        throw ScenarioError(map.mark(value), "'chaos' must be a block {from: .., until: .., "
                                             "crash_rate: ..} or a list of them");
    std::vector<ChaosSpec> blocks;
    for (const auto& block : value)
        blocks.push_back(read_chaos_block(block, file));
    return blocks;
}

LivenessSpec read_liveness(MapReader& map, const std::string& file)
{
    YAML::Node value = map.get("liveness");
    if (!value.IsDefined())
        return {};
    MapReader live(value, file, "'liveness'");
    LivenessSpec liveness{true, 0, 0, live.mark()};
    liveness.after_ns = live.duration(live.require("after"), "after");
    YAML::Node within = live.require("within");
    liveness.within_ns = live.duration(within, "within");
    if (liveness.within_ns == 0)
        throw ScenarioError(live.mark(within), "'within' must be longer than 0: the time the "
                                               "system has to converge once faults stop");
    live.finish();
    return liveness;
}

std::optional<u64> read_optional_count(MapReader& map, const std::string& key)
{
    YAML::Node value = map.get(key);
    if (!value.IsDefined())
        return std::nullopt;
    return map.integer(value, key, 0, u64{1} << 62);
}

CounterCheckSpec read_counter_check(const YAML::Node& yaml, const std::string& file)
{
    MapReader map(yaml, file, "a counter check");
    CounterCheckSpec counter;
    counter.name = map.required_string("name");
    counter.link = map.string("link");
    counter.node = map.string("node");
    counter.min = read_optional_count(map, "min");
    counter.max = read_optional_count(map, "max");
    if (!counter.min && !counter.max)
        throw ScenarioError(map.mark(), "a counter check needs 'min', 'max' or both");
    if (counter.min && counter.max && *counter.min > *counter.max)
        throw ScenarioError(map.mark(), "a counter check's 'min' is above its 'max'");
    map.finish();
    return counter;
}

HttpCheckSpec read_http_check(const YAML::Node& yaml, const std::string& file)
{
    MapReader map(yaml, file, "an http check");
    HttpCheckSpec http;
    http.node = map.string("node");
    http.path = map.string("path");
    if (YAML::Node value = map.get("status"); value.IsDefined())
        http.status = static_cast<int>(map.integer(value, "status", 100, 599));
    if (YAML::Node value = map.get("sha256"); value.IsDefined()) {
        http.sha256 = map.scalar(value, "sha256");
        if (http.sha256.size() != 64 ||
            http.sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
            throw ScenarioError(map.mark(value), "'sha256' must be 64 lowercase hex digits "
                                                 "(sha256sum's output)");
    }
    http.min = read_optional_count(map, "min");
    if (auto errors = read_optional_count(map, "errors_max"))
        http.errors_max = *errors;
    if (YAML::Node value = map.get("latency_max"); value.IsDefined())
        http.latency_max_ns = map.duration(value, "latency_max");
    map.finish();
    return http;
}

KvCheckSpec read_kv_check(MapReader& map, const YAML::Node& value, const std::string& file)
{
    KvCheckSpec kv;
    if (value.IsScalar() && value.Scalar() == "true")
        return kv;
    if (!value.IsMap())
        throw ScenarioError(map.mark(value), "'kv_linearizable' must be true or "
                                             "{min_acknowledged: N}");
    MapReader options(value, file, "a kv_linearizable check");
    if (auto acknowledged = read_optional_count(options, "min_acknowledged"))
        kv.min_acknowledged = *acknowledged;
    options.finish();
    return kv;
}

// `counter: {node: N}` and `http: {node: N}` say what the check's `node:` says.
void merge_node(CheckSpec& check, const std::string& inner)
{
    if (inner.empty())
        return;
    if (check.node != "*" && check.node != inner)
        throw ScenarioError(check.mark, "the check's 'node' and the 'node' inside it differ");
    check.node = inner;
}

// counter, http, kv_linearizable; returns how many it found.
int read_workload_check(MapReader& map, const std::string& file, CheckSpec& check)
{
    int found = 0;
    if (YAML::Node value = map.get("counter"); value.IsDefined()) {
        check.kind = CheckKind::counter;
        check.counter = read_counter_check(value, file);
        merge_node(check, check.counter.node);
        ++found;
    }
    if (YAML::Node value = map.get("http"); value.IsDefined()) {
        check.kind = CheckKind::http;
        check.http = value.IsScalar() && value.Scalar() == "ok"
                         ? HttpCheckSpec{}
                         : read_http_check(value, file);
        merge_node(check, check.http.node);
        ++found;
    }
    if (YAML::Node value = map.get("kv_linearizable"); value.IsDefined()) {
        check.kind = CheckKind::kv_linearizable;
        check.kv = read_kv_check(map, value, file);
        ++found;
    }
    return found;
}

CheckSpec read_check(const YAML::Node& yaml, const std::string& file)
{
    MapReader map(yaml, file, "a check");
    CheckSpec check;
    check.mark = map.mark();
    check.node = map.string("node", "*");
    int found = 0;
    if (YAML::Node code = map.get("exit_code"); code.IsDefined()) {
        std::string text = map.scalar(code, "exit_code");
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(),
                                            check.exit_code);
        if (error != std::errc() || end != text.data() + text.size())
            throw ScenarioError(map.mark(code), "'exit_code' must be an integer");
        check.kind = CheckKind::exit_code;
        ++found;
    }
    if (YAML::Node text = map.get("log_contains"); text.IsDefined()) {
        check.kind = CheckKind::log_contains;
        check.text = map.scalar(text, "log_contains");
        ++found;
    }
    if (YAML::Node text = map.get("log_absent"); text.IsDefined()) {
        check.kind = CheckKind::log_absent;
        check.text = map.scalar(text, "log_absent");
        ++found;
    }
    if (YAML::Node none = map.get("no_node_failures"); none.IsDefined()) {
        check.kind = CheckKind::no_node_failures;
        ++found;
    }
    if (YAML::Node by = map.get("exited_by"); by.IsDefined()) {
        check.kind = CheckKind::exited_by;
        check.time_ns = map.duration(by, "exited_by");
        ++found;
    }
    if (YAML::Node replay = map.get("replay"); replay.IsDefined()) {
        check.kind = CheckKind::replay;
        check.replay = read_replay_check(replay, file);
        if (check.node == "*")
            throw ScenarioError(check.mark, "a replay check needs 'node': the node whose app "
                                            "answers the capture");
        ++found;
    }
    found += read_workload_check(map, file, check);
    if (found != 1)
        throw ScenarioError(check.mark, "a check needs exactly one of exit_code, log_contains, "
                                        "log_absent, no_node_failures, exited_by, replay, "
                                        "counter, http, kv_linearizable");
    map.finish();
    return check;
}

template<typename T, typename Read>
std::vector<T> read_list(MapReader& map, const std::string& key, const std::string& file,
                         Read read)
{
    std::vector<T> items;
    YAML::Node list = map.get(key);
    if (!list.IsDefined() || list.IsNull())
        return items;
    if (!list.IsSequence())
        throw ScenarioError(map.mark(list), "'" + key + "' must be a list (items start with '- ')");
    for (const auto& item : list)
        items.push_back(read(item, file));
    return items;
}

// Names of nodes and switches, for reference checks with "did you mean".
class Names {
public:
    explicit Names(const Scenario& scenario)
    {
        for (const NodeSpec& node : scenario.nodes)
            add(node.name, node.mark, m_nodes);
        for (const SwitchSpec& sw : scenario.switches)
            add(sw.name, sw.mark, m_switches);
    }
    bool is_node(const std::string& name) const { return m_nodes.count(name) != 0; }
    bool is_switch(const std::string& name) const { return m_switches.count(name) != 0; }

    void require_node(const std::string& name, const SourceMark& mark) const
    {
        if (is_node(name))
            return;
        std::string hint = closest(name, {m_nodes.begin(), m_nodes.end()});
        throw ScenarioError(mark, "no node named '" + name + "'" +
                                      (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }

    void require_end(const std::string& name, const SourceMark& mark) const
    {
        if (is_node(name) || is_switch(name))
            return;
        std::vector<std::string> known(m_nodes.begin(), m_nodes.end());
        known.insert(known.end(), m_switches.begin(), m_switches.end());
        std::string hint = closest(name, known);
        throw ScenarioError(mark, "a link names '" + name + "', which is no node or switch" +
                                      (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }

private:
    void add(const std::string& name, const SourceMark& mark, std::set<std::string>& into)
    {
        if (m_nodes.count(name) && &into == &m_nodes)
            throw ScenarioError(mark, "two nodes are named '" + name + "'");
        if (m_nodes.count(name) || m_switches.count(name))
            throw ScenarioError(mark, "two nodes or switches are named '" + name + "'");
        into.insert(name);
    }
    std::set<std::string> m_nodes;
    std::set<std::string> m_switches;
};

// Switches joined in a loop would flood broadcasts around it forever (there is
// no spanning tree protocol), so their links must form a forest.
void check_switch_loops(const Scenario& scenario, const Names& names)
{
    std::map<std::string, std::string> parent;
    auto root = [&](std::string name) {
        while (parent.count(name) && parent[name] != name)
            name = parent[name];
        return name;
    };
    for (const LinkSpec& link : scenario.links) {
        if (!names.is_switch(link.a) || !names.is_switch(link.b))
            continue;
        std::string a = root(link.a);
        std::string b = root(link.b);
        if (a == b)
            throw ScenarioError(link.mark, "switches '" + link.a + "' and '" + link.b +
                                               "' are already connected: links between "
                                               "switches must not form a loop");
        parent[a] = b;
    }
}

void check_links(const Scenario& scenario, const Names& names)
{
    std::set<std::string> link_names;
    std::map<std::string, std::string> node_link; // node -> its link
    for (const LinkSpec& link : scenario.links) {
        names.require_end(link.a, link.mark);
        names.require_end(link.b, link.mark);
        if (link.a == link.b)
            throw ScenarioError(link.mark, "a link needs two different ends");
        if (!link_names.insert(link.name).second)
            throw ScenarioError(link.mark, "two links are named '" + link.name +
                                               "' (give one a 'name')");
        for (const std::string& end : {link.a, link.b}) {
            if (!names.is_node(end))
                continue;
            if (auto [it, fresh] = node_link.emplace(end, link.name); !fresh)
                throw ScenarioError(link.mark, "node '" + end + "' already has a link ('" +
                                                   it->second + "'); a node has one network "
                                                   "interface: connect more peers through a "
                                                   "switch");
        }
    }
    check_switch_loops(scenario, names);
}

// The latest time a fault can happen (a random_within fault: its window's end).
TimeNs latest_time(const FaultSpec& fault)
{
    if (fault.every_ns != 0)
        return fault.at_ns + (fault.until_ns - fault.at_ns) / fault.every_ns * fault.every_ns;
    return fault.random ? fault.random_until_ns : fault.at_ns;
}

void check_fault(const Scenario& scenario, const Names& names, const FaultSpec& fault)
{
    switch (fault.kind) {
    case FaultKind::partition:
    case FaultKind::heal:
        if (fault.heal_all)
            break;
        names.require_node(fault.node, fault.mark);
        names.require_node(fault.node2, fault.mark);
        if (fault.node == fault.node2)
            throw ScenarioError(fault.mark, "a partition is between two different nodes");
        break;
    case FaultKind::loss_burst:
        if (!scenario.find_link(fault.link)) {
            std::vector<std::string> known;
            for (const LinkSpec& link : scenario.links)
                known.push_back(link.name);
            std::string hint = closest(fault.link, known);
            throw ScenarioError(fault.mark,
                                "no link named '" + fault.link + "'" +
                                    (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
        }
        break;
    case FaultKind::disk_faults: {
        names.require_node(fault.node, fault.mark);
        const NodeSpec* node = scenario.find_node(fault.node);
        if (fault.disk >= node->disks.size())
            throw ScenarioError(fault.mark, "node '" + fault.node + "' has no disk " +
                                                std::to_string(fault.disk) + " (it has " +
                                                std::to_string(node->disks.size()) + ")");
        break;
    }
    default:
        names.require_node(fault.node, fault.mark);
    }
    if (latest_time(fault) > scenario.duration_ns)
        throw ScenarioError(fault.mark, fault.random ? "this fault can happen after the run ends "
                                                       "(raise 'duration' or move "
                                                       "'random_within')"
                                                     : "this fault happens after the run ends "
                                                       "(raise 'duration' or move 'at')");
}

std::string link_of(const NodeSpec& node, const Scenario& scenario)
{
    for (const LinkSpec& link : scenario.links)
        if (link.a == node.name || link.b == node.name)
            return link.name;
    return {};
}

void require_link_named(const Scenario& scenario, const std::string& name,
                        const SourceMark& mark)
{
    if (scenario.find_link(name))
        return;
    std::vector<std::string> known;
    for (const LinkSpec& link : scenario.links)
        known.push_back(link.name);
    std::string hint = closest(name, known);
    throw ScenarioError(mark, "no link named '" + name + "'" +
                                  (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
}

// A node without a link boots no network stack, so it never enters "net".
void check_boot_phase(const Scenario& scenario, const std::string& node_name,
                      const std::string& phase, const SourceMark& mark)
{
    const NodeSpec* node = scenario.find_node(node_name);
    if (phase == "net" && node && link_of(*node, scenario).empty())
        throw ScenarioError(mark, "node '" + node_name + "' has no link, so its boot has no "
                                  "'net' phase to crash in");
}

// Faults stop when the liveness phase begins: nothing may happen (or last) past it.
void check_liveness_faults(const Scenario& scenario)
{
    if (!scenario.liveness.enabled)
        return;
    TimeNs after = scenario.liveness.after_ns;
    for (const FaultSpec& fault : scenario.faults) {
        if (latest_time(fault) > after || (!fault.random && fault.at_ns == after))
            throw ScenarioError(fault.mark, std::string(fault.random ? "this fault can happen"
                                                                     : "this fault happens") +
                                                " in the liveness phase (from " +
                                                std::to_string(after / ns_per_ms) +
                                                " ms, liveness.after), when faults have "
                                                "stopped; move " +
                                                (fault.random ? "the window" : "'at'") +
                                                " before it");
        if (fault.kind == FaultKind::loss_burst && latest_time(fault) + fault.for_ns > after)
            throw ScenarioError(fault.mark, "this loss burst lasts into the liveness phase; "
                                            "shorten 'for' or move 'at'");
    }
}

void check_chaos(const Scenario& scenario, const Names& names, ChaosSpec& chaos)
{
    TimeNs end = scenario.liveness.enabled ? scenario.liveness.after_ns : scenario.duration_ns;
    const char* end_name = scenario.liveness.enabled ? "liveness.after" : "duration";
    if (chaos.until_ns == 0)
        chaos.until_ns = end;
    if (chaos.until_ns > end)
        throw ScenarioError(chaos.mark, std::string("a chaos block must end ('until') by ") +
                                            end_name + " (" + std::to_string(end / ns_per_ms) +
                                            " ms)");
    if (chaos.until_ns <= chaos.from_ns)
        throw ScenarioError(chaos.mark, "a chaos block needs 'until' after 'from'");
    for (const std::string& node : chaos.nodes)
        names.require_node(node, chaos.mark);
    for (const std::string& link : chaos.links)
        require_link_named(scenario, link, chaos.mark);
    usize pool = chaos.nodes.empty() ? scenario.nodes.size() : chaos.nodes.size();
    if ((chaos.partition_rate > 0 || chaos.one_way_partition_rate > 0) && pool < 2)
        throw ScenarioError(chaos.mark, "a partition rate needs at least two nodes to "
                                        "partition");
    if (chaos.loss_burst_rate > 0 && scenario.links.empty())
        throw ScenarioError(chaos.mark, "'loss_burst_rate' needs a link");
    double seconds = static_cast<double>(chaos.until_ns - chaos.from_ns) / 1e9;
    double expected = (chaos.crash_rate + chaos.pause_rate + chaos.partition_rate +
                       chaos.loss_burst_rate + chaos.one_way_partition_rate +
                       chaos.kernel_fault_rate) * seconds;
    if (expected > static_cast<double>(chaos_faults_max))
        throw ScenarioError(chaos.mark, "this chaos block would generate about " +
                                            std::to_string(static_cast<u64>(expected)) +
                                            " faults; at most " +
                                            std::to_string(chaos_faults_max) +
                                            " (lower the rates or the window)");
}

void check_kernel_faults(const Scenario& scenario)
{
    for (const NodeSpec& node : scenario.nodes) {
        check_boot_phase(scenario, node.name, node.boot_crash_phase, node.mark);
        if (node.start_ns > scenario.duration_ns)
            throw ScenarioError(node.mark, "node '" + node.name + "' starts after the run "
                                           "ends (raise 'duration' or lower 'start')");
    }
    for (const FaultSpec& fault : scenario.faults)
        if (fault.kind == FaultKind::boot_crash)
            check_boot_phase(scenario, fault.node, fault.phase, fault.mark);
}

// Workload clients talk over the network: they need a link and an address (the
// raw SYN flooder answers ARP for it).
void check_workloads(const Scenario& scenario)
{
    for (const NodeSpec& node : scenario.nodes) {
        if (node.workload.kind == WorkloadKind::none)
            continue;
        if (!node.args.empty())
            throw ScenarioError(node.mark, "a workload client takes no 'args': its settings "
                                           "are under its kind's key");
        if (link_of(node, scenario).empty())
            throw ScenarioError(node.mark, "workload client '" + node.name + "' needs a link "
                                           "to reach its server");
        bool dhcp_ok = node.workload.kind == WorkloadKind::http_client ||
                       node.workload.kind == WorkloadKind::kv_client;
        if (node.ip == 0 && !(dhcp_ok && node.dhcp))
            throw ScenarioError(node.mark, "node '" + node.name + "' needs an 'ip'" +
                                               (dhcp_ok ? " (or 'dhcp: true')" : ""));
    }
}

bool has_workload(const Scenario& scenario, WorkloadKind kind)
{
    for (const NodeSpec& node : scenario.nodes)
        if (node.workload.kind == kind)
            return true;
    return false;
}

void require_counter_name(const std::string& name, const std::vector<std::string>& known,
                          const std::string& what, const SourceMark& mark)
{
    if (std::find(known.begin(), known.end(), name) != known.end())
        return;
    std::string hint = closest(name, known);
    throw ScenarioError(mark, "'" + name + "' is not a counter of " + what +
                                  (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                                  "; docs/scenarios.md lists them");
}

void check_workload_check(const Scenario& scenario, const CheckSpec& check)
{
    if (check.kind == CheckKind::counter) {
        if (!check.counter.link.empty()) {
            require_link_named(scenario, check.counter.link, check.mark);
            if (check.node != "*")
                throw ScenarioError(check.mark, "a counter check names a 'node' or (inside "
                                                "'counter') a 'link', not both");
            require_counter_name(check.counter.name, link_counter_names(), "a link",
                                 check.mark);
        } else {
            if (check.node.ends_with("*"))
                throw ScenarioError(check.mark, "a counter check needs 'node' naming one node "
                                                "(or a 'link' inside 'counter')");
            std::vector<std::string> known = node_counter_names();
            const NodeSpec* node = scenario.find_node(check.node);
            for (usize disk = 0; node && disk < node->disks.size(); ++disk)
                for (const char* field : {"reads", "writes", "flushes", "read_errors_injected",
                                          "write_errors_injected", "crashes", "writes_lost",
                                          "writes_torn", "writes_kept"})
                    known.push_back("disk." + std::to_string(disk) + "." + field);
            require_counter_name(check.counter.name, known, "node '" + check.node + "'",
                                 check.mark);
        }
    }
    if (check.kind == CheckKind::http) {
        const NodeSpec* node = scenario.find_node(check.node);
        if (node && node->workload.kind != WorkloadKind::http_client)
            throw ScenarioError(check.mark, "node '" + check.node + "' is no http_client");
        if (!has_workload(scenario, WorkloadKind::http_client))
            throw ScenarioError(check.mark, "an http check needs an http_client node");
    }
    if (check.kind == CheckKind::kv_linearizable && !has_workload(scenario, WorkloadKind::kv_client))
        throw ScenarioError(check.mark, "a kv_linearizable check needs a kv_client node");
}

void require_pattern_matches(const Scenario& scenario, const CheckSpec& check)
{
    for (const NodeSpec& node : scenario.nodes)
        if (node_selected(check.node, node.name))
            return;
    throw ScenarioError(check.mark, "no node's name matches '" + check.node + "'");
}

void check_references(Scenario& scenario)
{
    Names names(scenario);
    check_links(scenario, names);
    for (const FaultSpec& fault : scenario.faults)
        check_fault(scenario, names, fault);
    check_kernel_faults(scenario);
    check_liveness_faults(scenario);
    for (ChaosSpec& chaos : scenario.chaos)
        check_chaos(scenario, names, chaos);
    check_workloads(scenario);
    for (const CheckSpec& check : scenario.checks) {
        if (check.node.ends_with("*"))
            require_pattern_matches(scenario, check);
        else
            names.require_node(check.node, check.mark);
        check_workload_check(scenario, check);
    }
}

Scenario read_scenario(const YAML::Node& root, const std::string& file)
{
    if (!root.IsDefined() || root.IsNull())
        throw ScenarioError(SourceMark{file, 1, 1}, "the file is empty; a scenario needs at "
                                                    "least 'name' and 'nodes'");
    MapReader map(root, file, "the scenario");
    Scenario scenario;
    scenario.file = file;
    scenario.name = map.required_string("name");
    scenario.description = map.string("description");
    if (YAML::Node seed = map.get("seed"); seed.IsDefined()) {
        std::string text = map.scalar(seed, "seed");
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(),
                                            scenario.default_seed);
        if (error != std::errc() || end != text.data() + text.size())
            throw ScenarioError(map.mark(seed), "'seed' must be a non-negative integer");
    }
    YAML::Node duration = map.get("duration");
    if (duration.IsDefined())
        scenario.duration_ns = map.duration(duration, "duration");
    scenario.nodes = read_list<NodeSpec>(map, "nodes", file, read_node);
    scenario.switches = read_list<SwitchSpec>(map, "switches", file, read_switch);
    scenario.links = read_list<LinkSpec>(map, "links", file, read_link);
    scenario.faults = read_list<FaultSpec>(map, "faults", file, read_fault);
    scenario.chaos = read_chaos(map, file);
    scenario.liveness = read_liveness(map, file);
    if (scenario.liveness.enabled) {
        if (duration.IsDefined())
            throw ScenarioError(map.mark(duration), "give 'duration' or 'liveness', not both: "
                                                    "with 'liveness' the run ends at "
                                                    "after + within");
        scenario.duration_ns = scenario.liveness.after_ns + scenario.liveness.within_ns;
    }
    scenario.checks = read_list<CheckSpec>(map, "checks", file, read_check);
    map.finish();
    if (scenario.nodes.empty())
        throw ScenarioError(map.mark(), "a scenario needs at least one node under 'nodes'");
    check_references(scenario);
    return scenario;
}

} // namespace

std::optional<TimeNs> parse_duration(std::string_view text)
{
    struct Unit {
        const char* suffix;
        double scale;
    };
    // Longest suffixes first so "ms" is not read as "m" + "s".
    constexpr Unit units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9},
                              {"min", 60e9}, {"h", 3600e9}};
    for (const Unit& unit : units) {
        std::string_view suffix = unit.suffix;
        if (text.size() <= suffix.size() || !text.ends_with(suffix))
            continue;
        std::string number(text.substr(0, text.size() - suffix.size()));
        if (number.find_first_not_of("0123456789.") != std::string::npos)
            continue;
        char* end = nullptr;
        double value = std::strtod(number.c_str(), &end);
        if (end == number.c_str() || *end != '\0' || value < 0 || value * unit.scale > 1e18)
            return std::nullopt;
        return static_cast<TimeNs>(std::llround(value * unit.scale));
    }
    return std::nullopt;
}

namespace {

// A plain non-negative decimal ("12", "0.5"); nullopt for anything else.
std::optional<double> parse_decimal(std::string_view text)
{
    if (text.empty() || text.find_first_not_of("0123456789.") != std::string_view::npos)
        return std::nullopt;
    std::string number(text);
    char* end = nullptr;
    double value = std::strtod(number.c_str(), &end);
    if (end == number.c_str() || *end != '\0')
        return std::nullopt;
    return value;
}

} // namespace

std::optional<u64> parse_bandwidth(std::string_view text)
{
    struct Unit {
        const char* suffix;
        double scale;
    };
    constexpr Unit units[] = {{"Tbit", 1e12}, {"Gbit", 1e9}, {"Mbit", 1e6},
                              {"kbit", 1e3},  {"Kbit", 1e3}, {"bit", 1}};
    for (const Unit& unit : units) {
        std::string_view suffix = unit.suffix;
        if (!text.ends_with(suffix))
            continue;
        auto value = parse_decimal(text.substr(0, text.size() - suffix.size()));
        if (!value)
            continue;
        double bps = *value * unit.scale;
        if (bps < 1 || bps > 1e15)
            return std::nullopt;
        return static_cast<u64>(std::llround(bps));
    }
    return std::nullopt;
}

std::optional<u32> parse_percent_ppm(std::string_view text)
{
    if (!text.ends_with('%'))
        return std::nullopt;
    auto value = parse_decimal(text.substr(0, text.size() - 1));
    if (!value || *value > 100)
        return std::nullopt;
    return static_cast<u32>(std::llround(*value * 1e4));
}

std::string format_percent_ppm(u32 ppm)
{
    std::string text = std::to_string(ppm / 10'000);
    if (u32 fraction = ppm % 10'000; fraction != 0) {
        // Four decimal places hold every ppm value; trailing zeros say nothing.
        std::string digits = std::to_string(10'000 + fraction).substr(1);
        while (digits.back() == '0')
            digits.pop_back();
        text += "." + digits;
    }
    return text + "%";
}

std::optional<double> parse_rate(std::string_view text)
{
    struct Unit {
        const char* suffix;
        double seconds;
    };
    constexpr Unit units[] = {{"/s", 1}, {"/min", 60}, {"/h", 3600}};
    for (const Unit& unit : units) {
        std::string_view suffix = unit.suffix;
        if (!text.ends_with(suffix))
            continue;
        auto value = parse_decimal(text.substr(0, text.size() - suffix.size()));
        if (!value)
            return std::nullopt;
        return *value / unit.seconds;
    }
    return std::nullopt;
}

std::optional<u32> parse_ipv4(std::string_view text)
{
    u32 address = 0;
    for (int part = 0; part < 4; ++part) {
        usize dot = part < 3 ? text.find('.') : text.size();
        if (dot == std::string_view::npos || dot == 0 || dot > 3)
            return std::nullopt;
        u32 octet = 0;
        auto [end, error] = std::from_chars(text.data(), text.data() + dot, octet);
        if (error != std::errc() || end != text.data() + dot || octet > 255)
            return std::nullopt;
        address = (address << 8) | octet;
        text.remove_prefix(part < 3 ? dot + 1 : dot);
    }
    return address;
}

std::optional<usize> parse_bytes(std::string_view text)
{
    usize value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end == text.data())
        return std::nullopt;
    std::string_view suffix(end, static_cast<usize>(text.data() + text.size() - end));
    usize scale = 1;
    if (suffix == "K")
        scale = usize{1} << 10;
    else if (suffix == "M")
        scale = usize{1} << 20;
    else if (suffix == "G")
        scale = usize{1} << 30;
    else if (!suffix.empty())
        return std::nullopt;
    if (value > (usize{1} << 40) / scale)
        return std::nullopt;
    return value * scale;
}

Scenario load_scenario_text(const std::string& text, const std::string& file_name)
{
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& error) {
        throw ScenarioError(SourceMark{file_name, error.mark.line + 1, error.mark.column + 1},
                            "not valid YAML: " + error.msg);
    }
    try {
        return read_scenario(root, file_name);
    } catch (const YAML::Exception& error) {
        throw ScenarioError(SourceMark{file_name, error.mark.line + 1, error.mark.column + 1},
                            error.msg);
    }
}

Scenario load_scenario_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ScenarioError(SourceMark{path, 0, 0}, "cannot read the file (does it exist?)");
    std::stringstream text;
    text << in.rdbuf();
    return load_scenario_text(text.str(), path);
}

} // namespace gantry::harness
