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
    SourceMark mark;
};

// What a crash does to a disk's unflushed writes (sim::CrashPolicy).
inline constexpr const char* disk_crash_policies[] = {"lose-unflushed", "keep-unflushed",
                                                      "random-torn"};

struct NodeSpec {
    std::string name;
    std::string app;
    std::vector<std::string> args;
    usize memory_bytes = 16 * 1024 * 1024;
    double clock_drift_ppm = 0;
    // The network stack's address (host order, 10.0.0.1 = 0x0a000001; 0 = none).
    u32 ip = 0;
    u8 prefix = 24;
    u32 gateway = 0;
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
    bool generated = false; // expanded from a chaos block (mark: the block)
    SourceMark mark;
};

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

struct CheckSpec {
    CheckKind kind;
    std::string node; // a node name, or "*" for every node
    int exit_code = 0;
    std::string text;
    TimeNs time_ns = 0;
    ReplayCheckSpec replay; // kind == replay
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

// Parsers shared with the command line: "10s", "250ms", "3us", "12ns", "1.5s".
std::optional<TimeNs> parse_duration(std::string_view text);
// "16M", "512K", "1G", "4096".
std::optional<usize> parse_bytes(std::string_view text);
// "1Gbit", "100Mbit", "64kbit", "9600bit" (bits per second).
std::optional<u64> parse_bandwidth(std::string_view text);
// "1%", "0.5%", "100%" as parts per million.
std::optional<u32> parse_percent_ppm(std::string_view text);
// "2/s", "0.5/s", "30/min", "1/h" as events per second.
std::optional<double> parse_rate(std::string_view text);
// "10.0.0.1" (host order u32).
std::optional<u32> parse_ipv4(std::string_view text);

} // namespace gantry::harness
