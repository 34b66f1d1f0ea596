// The scenario model: what a YAML scenario file describes (docs/scenarios.md),
// after validation. The loader fills it; the runner turns it into a sim World.
#pragma once

#include <gantry/types.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace gantry::harness {

// Where something was written, for error messages: "file:line:column".
struct SourceMark {
    std::string file;
    int line = 0;   // 1-based
    int column = 0; // 1-based
    std::string text() const;
};

// Bad input in a scenario file; `what()` is the full "file:line:col: message".
class ScenarioError : public std::runtime_error {
public:
    ScenarioError(const SourceMark& mark, const std::string& message);
};

// Kernel-level faults of a node (docs/scenarios.md, "Kernel-level faults"):
// a node's `kernel_faults:`, or a `kernel_faults:` fault in the timeline.
struct KernelFaultsSpec {
    u32 alloc_fail_ppm = 0;
    TimeNs timer_late_ns = 0;
    TimeNs timer_jitter_ns = 0;
    bool operator==(const KernelFaultsSpec&) const = default;
};

// The boot phases a `boot_crash` may name, in boot order ("net" only on a
// node with a link).
inline constexpr const char* boot_phase_names[] = {"platform", "memory", "net", "app start"};

// A node's simulated disk (docs/scenarios.md, "Disks"); see sim::DiskConfig.
struct DiskSpec {
    u64 size_bytes = 1024 * 1024;
    u32 sector_bytes = 512;
    TimeNs latency_ns = 100 * ns_per_us;
    TimeNs sector_ns = 2 * ns_per_us;
    TimeNs jitter_ns = 0;
    u32 read_error_ppm = 0;
    u32 write_error_ppm = 0;
    std::string crash = "random-torn"; // one of disk_crash_policies
    // Initial contents: a gantryfs image file, or a directory the runner turns
    // into one (as `gantry mkimage` does); resolved against the scenario's
    // folder. Empty: zeros.
    std::string image;
    bool image_is_directory = false;
    bool read_only = false;
    SourceMark mark;
};

// What a crash does to a disk's unflushed writes (sim::CrashPolicy).
inline constexpr const char* disk_crash_policies[] = {"lose-unflushed", "keep-unflushed",
                                                      "random-torn"};

// Workload clients: built-in node kinds that drive a service and record what
// they saw, for the http and kv_linearizable checks (docs/scenarios.md,
// "Workload clients"). They run on the node's kernel like any app.
enum class WorkloadKind : u8 {
    none,        // the node runs `app`
    http_client, // GETs paths from an HTTP server, records status and body SHA-256
    kv_client,   // SETs and GETs on a kv server, records every operation's history
    syn_flood,   // raw SYNs from spoofed addresses at a rate, never completing
    dhcp_server, // leases addresses from a pool (RFC 2131), with a router and DNS servers
    dns_server,  // answers A queries from a fixed table (RFC 1035), NXDOMAIN otherwise
};
const char* workload_name(WorkloadKind kind);

struct WorkloadSpec {
    WorkloadKind kind = WorkloadKind::none;
    u32 server = 0;  // the server's address (host order)
    u16 port = 0;    // 0: the kind's default (80, 7070)
    TimeNs timeout_ns = 5 * ns_per_s; // per request (connect, reply)
    TimeNs think_ns = 0;              // pause between requests
    // http_client
    std::vector<std::string> paths;
    u32 repeat = 1;
    TimeNs read_pause_ns = 0; // after a response's headers, read nothing this long
    // kv_client
    u32 ops = 100;
    u32 keys = 8;
    std::string key_prefix = "k"; // clients with the same prefix share keys
    u32 get_percent = 30;
    u32 del_percent = 0;
    u32 value_bytes = 0; // values padded to this length (0: just the write's name)
    TimeNs give_up_ns = 30 * ns_per_s; // stop reconnecting after this long without progress
    // syn_flood
    double rate = 1000;  // SYNs per second
    TimeNs for_ns = 1 * ns_per_s;
    // dhcp_server
    u32 pool_first = 0;
    u32 pool_last = 0;
    u32 lease_s = 3600;
    u32 router = 0;
    std::vector<u32> dns_servers;
    // dns_server
    std::vector<std::pair<std::string, u32>> records;
    u32 ttl_s = 60;
    SourceMark mark;
};

struct NodeSpec {
    std::string name;
    std::string app;
    WorkloadSpec workload; // kind != none: a workload client instead of `app`
    std::vector<std::string> args;
    usize memory_bytes = 16 * 1024 * 1024;
    double clock_drift_ppm = 0;
    // The network stack's address (host order, 10.0.0.1 = 0x0a000001; 0 = none).
    u32 ip = 0;
    u8 prefix = 24;
    u32 gateway = 0;
    u32 dns = 0;        // the resolver's DNS server (0: none, or the lease's)
    bool dhcp = false;  // the address comes from a DHCP server (needs a link, no ip)
    KernelFaultsSpec kernel_faults;
    std::string boot_crash_phase; // the first boot crashes entering it; empty: no
    TimeNs start_ns = 0;          // virtual time of the first boot
    std::vector<DiskSpec> disks;  // disk 0, 1, ...: they survive crashes and restarts
    bool virtio = false;          // NICs and disks through the virtio drivers and models
    SourceMark mark;
};

struct SwitchSpec {
    std::string name;
    SourceMark mark;
};

// A point-to-point link between two nodes, or a node and a switch (or two switches).
struct LinkSpec {
    std::string name; // defaults to "<a>-<b>"
    std::string a;
    std::string b;
    TimeNs latency_ns = 0;
    TimeNs jitter_ns = 0;
    u64 bandwidth_bps = 0; // 0 = unlimited
    usize mtu = 1500;
    u32 loss_ppm = 0;
    u32 duplicate_ppm = 0;
    u32 reorder_ppm = 0;
    u32 corrupt_ppm = 0;
    TimeNs reorder_delay_ns = 1 * ns_per_ms;
    usize queue_frames_max = 128;
    SourceMark mark;
};

enum class FaultKind : u8 {
    crash,
    restart,
    pause,
    resume,
    partition,
    heal,
    loss_burst,
    kernel_faults, // sets the node's kernel-level faults from then on
    boot_crash,    // the node reboots at once and crashes entering `phase`
    disk_faults,   // a node's disk fails reads and writes at these rates from then on
    clock_drift,   // the node's clock runs at drift_ppm from then on
};

struct FaultSpec {
    FaultKind kind;
    TimeNs at_ns = 0;
    std::string node;  // crash..resume; partition/heal: the first node
    std::string node2; // partition/heal: the second node
    bool one_way = false;  // partition {from, to}: node -> node2 only
    bool heal_all = false; // heal: all
    std::string link;      // loss_burst
    u32 loss_ppm = 0;      // loss_burst
    TimeNs for_ns = 0;     // loss_burst
    KernelFaultsSpec kernel_faults; // kernel_faults
    std::string phase;     // boot_crash
    u32 disk = 0;                // disk_faults: which of the node's disks
    u32 read_error_ppm = 0;      // disk_faults
    u32 write_error_ppm = 0;     // disk_faults
    i64 drift_ppm = 0;           // clock_drift
    bool generated = false; // expanded from a chaos block (mark: the block)
    // random_within: instead of `at`, a time drawn uniformly from [from, until)
    // for each seed, and the fault happens only with `probability`
    // (resolve_random_faults turns it into an `at` or drops it).
    bool random = false;
    TimeNs random_from_ns = 0;
    TimeNs random_until_ns = 0;
    u32 probability_ppm = 1'000'000;
    // every: the fault happens at `at`, then every `every_ns`, up to `until_ns`
    // (resolve_random_faults writes out each time).
    TimeNs every_ns = 0;
    TimeNs until_ns = 0;
    SourceMark mark;
};

// The range of a clock_drift fault's ppm: a clock may stop almost (but never
// run backwards) or run up to twice as fast.
inline constexpr i64 clock_drift_fault_ppm_min = -999'999;
inline constexpr i64 clock_drift_fault_ppm_max = 1'000'000;

// The most times an `every:` fault may repeat (the loader refuses more).
inline constexpr u64 fault_repeats_max = 10'000;

// Random faults at rates (docs/scenarios.md, "Chaos"), in the spirit of
// FoundationDB's buggify and TigerBeetle's VOPR. expand_chaos turns a block
// into concrete faults for one seed; each kind of each block draws from its
// own stream, so a new rate never moves the others' faults.
struct ChaosSpec {
    TimeNs from_ns = 0;
    TimeNs until_ns = 0;        // 0: the end of the safety phase (or the run)
    double crash_rate = 0;      // per second of virtual time: crash, then restart
    double pause_rate = 0;      // pause, then resume
    double partition_rate = 0;  // a two-way partition, then its heal
    double loss_burst_rate = 0; // a loss burst on a link
    double one_way_partition_rate = 0; // frames from one node to another dropped, then healed
    double kernel_fault_rate = 0;      // a node's kernel-level faults, then cleared
    KernelFaultsSpec kernel_faults{50'000, 0, 0}; // what kernel_fault_rate sets (alloc_fail 5%)
    TimeNs mean_duration_ns = 200 * ns_per_ms; // how long a fault lasts, on average
    u32 burst_loss_ppm = 500'000;
    std::vector<std::string> nodes; // who may be hit; empty: every node
    std::vector<std::string> links; // loss bursts; empty: every link
    SourceMark mark;
};

// The two phases of a run, as in TigerBeetle's VOPR: faults until `after`
// (safety), then none: partitions heal, links and kernels run clean, crashed
// nodes restart, paused ones resume, and every check must hold `within` later,
// when the run ends.
struct LivenessSpec {
    bool enabled = false;
    TimeNs after_ns = 0;
    TimeNs within_ns = 0;
    SourceMark mark;
};

enum class CheckKind : u8 {
    exit_code,
    log_contains,
    log_absent,
    no_node_failures,
    exited_by,
    replay,
    counter,         // a node's or a link's counter within bounds
    http,            // the http clients' responses
    kv_linearizable, // the kv clients' histories: no acknowledged write lost, reads valid
};

// `counter:` a named counter of a node (node.*, net.*, tcp.*, heap.*, disk.N.*)
// or of a link (sent, delivered, dropped.*), summed over the node's
// incarnations, compared at the end of the run.
struct CounterCheckSpec {
    std::string link; // a link's counter when set, else the check's node's
    std::string node; // `counter: {node: N, ...}` (the same as the check's `node:`)
    std::string name;
    std::optional<u64> min;
    std::optional<u64> max;
};

// `http:` judges the responses the http clients recorded.
struct HttpCheckSpec {
    std::string node;       // `http: {node: N, ...}` (the same as the check's `node:`)
    std::string path;       // empty: every path
    int status = 200;
    std::string sha256;     // hex; empty: the served image's file when it is a directory
    std::optional<u64> min; // responses that must match; default every planned request
    u64 errors_max = 0;     // transport errors (refused, reset, timed out) tolerated
    TimeNs latency_max_ns = 0; // 0: no bound on a response's time
};

// `kv_linearizable:` judges the kv clients' histories (docs/scenarios.md).
struct KvCheckSpec {
    u64 min_acknowledged = 1; // acknowledged writes needed, so the check cannot pass empty
};

// `replay:` (docs/replay.md, "In a scenario"): the capture's client side is fed
// to the check's node (its app, args and memory) in a world of its own, with
// the run's seed; the check holds when the outcome is the expected one.
struct ReplayCheckSpec {
    std::string capture; // resolved against the scenario file's folder
    std::string filter;  // BPF; empty = everything
    std::string server;  // dotted quad; empty = inferred
    std::string client;
    std::string timing = "recorded"; // recorded | asap | scale=X
    bool expect_match = true;        // expect: match | diverge
};

// A check's `node:`: a name, "*" for every node, or a prefix ending in "*"
// ("host-*") for every node whose name starts with it.
inline bool node_selected(const std::string& pattern, const std::string& name)
{
    if (!pattern.empty() && pattern.back() == '*')
        return name.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
    return pattern == name;
}

struct CheckSpec {
    CheckKind kind;
    std::string node; // a node name, "*" for every node, or "prefix*"
    int exit_code = 0;
    std::string text;
    TimeNs time_ns = 0;
    ReplayCheckSpec replay; // kind == replay
    CounterCheckSpec counter;
    HttpCheckSpec http;
    KvCheckSpec kv;
    SourceMark mark;
};

struct Scenario {
    std::string name;
    std::string description;
    std::string file;
    u64 default_seed = 1;
    TimeNs duration_ns = 60 * ns_per_s; // virtual time limit of the run
    std::vector<NodeSpec> nodes;
    std::vector<SwitchSpec> switches;
    std::vector<LinkSpec> links;
    std::vector<FaultSpec> faults;
    std::vector<ChaosSpec> chaos;
    LivenessSpec liveness;
    std::vector<CheckSpec> checks;

    const NodeSpec* find_node(std::string_view name) const;
    const LinkSpec* find_link(std::string_view name) const;
};

// Reads and validates a scenario; throws ScenarioError on any bad input.
Scenario load_scenario_file(const std::string& path);
Scenario load_scenario_text(const std::string& text, const std::string& file_name);

// The faults a scenario's chaos blocks generate for `seed`, in time order
// (runs append them to the file's faults; `gantry shrink` writes them out).
std::vector<FaultSpec> expand_chaos(const Scenario& scenario, u64 seed);

// The file's faults for `seed`: each random_within fault gets its time, or is
// dropped when its probability says it does not happen (each draws from its
// own stream, the fault's place in the file, so faults do not shift each
// other), and each `every:` fault is written out once per time.
std::vector<FaultSpec> resolve_random_faults(const Scenario& scenario, u64 seed);

// Every fault of a run for `seed`, in the order the runner schedules them: the
// file's (random ones resolved), then the chaos blocks'.
std::vector<FaultSpec> faults_for_seed(const Scenario& scenario, u64 seed);

// The counters a `counter:` check may name: for nodes and for links.
std::vector<std::string> node_counter_names();
std::vector<std::string> link_counter_names();

// Parsers shared with the command line: "10s", "250ms", "3us", "12ns", "1.5s".
std::optional<TimeNs> parse_duration(std::string_view text);
// "16M", "512K", "1G", "4096".
std::optional<usize> parse_bytes(std::string_view text);
// "1Gbit", "100Mbit", "64kbit", "9600bit" (bits per second).
std::optional<u64> parse_bandwidth(std::string_view text);
// "1%", "0.5%", "100%" as parts per million.
std::optional<u32> parse_percent_ppm(std::string_view text);
// The inverse: parts per million as the shortest exact percentage ("50%",
// "0.0125%", "0.0001%"), so generated and shrunk files load back to the same value.
std::string format_percent_ppm(u32 ppm);
// "2/s", "0.5/s", "30/min", "1/h" as events per second.
std::optional<double> parse_rate(std::string_view text);
// "10.0.0.1" (host order u32).
std::optional<u32> parse_ipv4(std::string_view text);

} // namespace gantry::harness
