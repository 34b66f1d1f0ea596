// The simulated world: many kernel instances ("nodes") in one process, one
// thread, one virtual clock, one event queue. Idle time costs nothing: the
// clock jumps to the next event. A run is a pure function of the seed and the
// calls made on the world (see docs/simulator.md).
//
//     gantry::sim::World world({.seed = 42});
//     auto a = world.add_node({.app = "hello"});
//     world.run_until_idle();
//     CHECK(world.state(a) == gantry::sim::NodeState::exited);
#pragma once

#include <gantry/app.hpp>
#include <gantry/arch/context.hpp>
#include <gantry/net/address.hpp>
#include <gantry/sim/disk.hpp>
#include <gantry/sim/network.hpp>
#include <gantry/sim/random.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace gantry::sim {

class Fabric;
class Node;
class TraceWriter;

// Creates a node's app in its kernel's heap (return nullptr when out of memory).
using SimAppFactory = std::function<App*(Kernel&)>;

struct WorldConfig {
    u64 seed = 1;
    // A node that keeps work runnable (never goes idle) for this long is stuck in
    // a loop: the watchdog records a failure and stops it instead of hanging the run.
    TimeNs watchdog_ns = 1 * ns_per_s;
    // Virtual CPU time charged to a poll that leaves work runnable, so a busy
    // node moves the clock forward and the watchdog can see it.
    TimeNs busy_poll_ns = 1 * ns_per_us;
    std::string trace_path = {};  // the whole world's trace file; empty = none
    bool trace_in_memory = false; // also keep the trace bytes (tests compare them)
    // Records (event index, rolling hash) every N events; 0 = off. Two runs that
    // should be identical are compared with first_divergence() to find where not.
    u64 hash_every = 0;
};

// Kernel-level faults of a node (docs/simulator.md, "Kernel-level faults"):
// what only a simulator underneath the kernel can do. Every random decision
// comes from the node's own Stream::faults, so a run stays a function of its
// seed, and zero rates draw nothing (a run without them is unchanged).
struct NodeFaults {
    // Once the app has started, each allocation (every Heap::alloc, every page
    // block requested directly) fails with this probability, parts per million.
    u32 alloc_fail_ppm = 0;
    // Every timer wake-up comes this much late, plus a uniform [0, jitter].
    TimeNs timer_late_ns = 0;
    TimeNs timer_jitter_ns = 0;
    bool operator==(const NodeFaults&) const = default;
};

// What the node's kernel-level faults did (over all incarnations).
struct NodeFaultCounters {
    u64 alloc_failures_injected = 0;
    u64 timer_wakeups_delayed = 0;
    u64 boot_crashes = 0;
};

// Who drives the node's NICs. `kernel`: the kernel's network stack (created at
// boot when the node has a NIC). `app`: the kernel boots without a stack and the
// app reads and writes raw frames through platform().nic(i) (tests, generators).
enum class NicOwner : u8 { kernel, app };

struct NodeConfig {
    std::string app = {};         // a name from the app registry, or
    SimAppFactory factory = {};   // a factory (tests); wins over `app` when set
    std::string name = {};        // for logs and the trace; defaults to the app name
    std::vector<std::string> args = {};
    usize memory_bytes = 8 * 1024 * 1024; // the node's arena: its whole RAM
    i64 clock_drift_ppm = 0;              // > -1'000'000; the node's clock runs fast if > 0
    TimeNs start_ns = 0;                  // virtual time of the first boot
    LogLevel log_level = LogLevel::info;
    TimeNs mem_stats_interval_ns = 10 * ns_per_ms; // memory samples (only when tracing)
    std::string console_path = {};        // also append the console to this file
    usize console_bytes_max = 1024 * 1024; // older console output is dropped beyond this
    NicOwner nic_owner = NicOwner::kernel;
    net::Ipv4Address ip = {};             // the stack's address (unspecified: none)
    u8 prefix = 24;
    net::Ipv4Address gateway = {};
    net::Ipv4Address dns = {};            // the resolver's server (a DHCP lease's replace it)
    NetDhcp dhcp = NetDhcp::off;          // on: the stack takes its address from DHCP
    // The node's disks (platform().block_device(i)): made with the node, they
    // outlive its crashes and restarts (docs/simulator.md, "Disks").
    std::vector<DiskConfig> disks = {};
    NodeFaults faults = {};               // from the first boot on; set_node_faults changes them
    // The first boot crashes on entering this boot phase ("platform", "memory",
    // "net", "app start"); empty: it does not.
    std::string boot_crash_phase = {};
    // Reach the NICs and disks through the virtio drivers and in-process virtio
    // device models (as `--virtio` does hosted): the image's drivers under the
    // simulator's faults. Their rings and buffers take RAM from memory_bytes.
    bool virtio = false;
};

enum class NodeState : u8 {
    pending, // waiting for its boot time
    running,
    paused,
    exited,  // the app returned: exit_code() is valid
    crashed, // stopped by crash(); restart() boots it again
    failed,  // panic, boot failure, watchdog: see failures()
};
std::string_view to_string(NodeState state);

enum class FailureKind : u8 { panic, boot, watchdog, exception };
std::string_view to_string(FailureKind kind);

// Everything needed to reproduce and locate a node failure.
struct NodeFailure {
    NodeId node;
    u32 incarnation; // 0 for the first boot, +1 per restart
    FailureKind kind;
    std::string file; // empty unless kind == panic
    int line = 0;
    std::string message;
    u64 seed;
    TimeNs time;
    std::string describe() const;
};

struct EventCheckpoint {
    u64 event_index; // events processed when the hash was taken
    u64 hash;
    bool operator==(const EventCheckpoint&) const = default;
};

// The first checkpoint where two runs differ; nullopt when one is a prefix of
// the other. Re-run both with a smaller hash_every around it to narrow down.
std::optional<EventCheckpoint> first_divergence(std::span<const EventCheckpoint> a,
                                                std::span<const EventCheckpoint> b);

enum class RunEnd : u8 {
    all_exited, // every node exited, crashed or failed and no action is pending
    time_limit,
    idle,       // nothing left to happen: remaining nodes wait for events that never come
};
std::string_view to_string(RunEnd end);

struct RunResult {
    RunEnd end;
    TimeNs time;
    u64 events;
    // With RunEnd::idle: nodes still alive but waiting for an event that will
    // never come (a deadlock, or a server with no clients left).
    std::vector<NodeId> waiting;
};

class World {
public:
    explicit World(WorldConfig config = {});
    World(const World&) = delete;
    World& operator=(const World&) = delete;
    ~World();

    // Throws std::invalid_argument for an unknown app or a bad configuration.
    NodeId add_node(NodeConfig config);

    // Faults, effective at now(). crash(): instant stop, volatile state (the
    // whole arena) lost. restart(): a fresh kernel with the same configuration.
    void crash(NodeId node);
    void restart(NodeId node);
    void pause(NodeId node);
    void resume(NodeId node);
    // Kernel-level faults, from now on (they survive restarts).
    void set_node_faults(NodeId node, NodeFaults faults);
    const NodeFaults& node_faults(NodeId node) const;
    const NodeFaultCounters& node_fault_counters(NodeId node) const;
    // The node's clock runs at `drift_ppm` from now on (> -1'000'000, at most
    // clock_drift_ppm_max): its local time stays continuous and monotonic, and
    // its pending timer wake-up is recomputed. Survives crashes and restarts
    // (the clock is the node's hardware). Throws std::invalid_argument if out of range.
    static constexpr i64 clock_drift_ppm_max = 1'000'000'000;
    void set_clock_drift(NodeId node, i64 drift_ppm);
    i64 clock_drift(NodeId node) const;
    // The node's next boot crashes on entering boot phase `phase` (once); use
    // restart() to make that boot happen now.
    void crash_in_boot_phase(NodeId node, std::string phase);
    // Called with the node's kernel as an incarnation ends (its app exited, a
    // crash, a failure, a restart), before the kernel is dropped, so an observer
    // (a scenario's counter checks) can read statistics that die with it. It
    // must only read (and must not make the kernel allocate).
    using IncarnationEnd = std::function<void(NodeId, Kernel&)>;
    void on_incarnation_end(IncarnationEnd observer) { m_incarnation_end = std::move(observer); }
    // Runs `action` at virtual time `time` (>= now()), in order with all events.
    void at(TimeNs time, std::function<void(World&)> action);

    // The network (docs/simulator.md, "The network"). Links to a node give it a
    // new NIC (platform().nic(0) for its first link); add them before the node
    // boots. Throws std::invalid_argument for bad configurations, std::runtime_error
    // when a capture file cannot be opened.
    SwitchId add_switch(SwitchConfig config = {});
    LinkId add_link(Endpoint a, Endpoint b, LinkConfig config = {});
    // Frames from `from` to `to` are dropped on delivery until healed.
    void partition(NodeId from, NodeId to, Partition kind = Partition::both_ways);
    void heal(NodeId a, NodeId b); // both directions
    void heal_all();
    void set_link_faults(LinkId link, LinkFaults faults);
    const LinkConfig& link_config(LinkId link) const;
    const LinkCounters& link_counters(LinkId link) const;
    usize link_count() const;
    std::optional<LinkId> find_link(std::string_view name) const;
    u64 switch_table_size(SwitchId id) const;
    // The node's NICs, for inspection (rx queue, MAC); nullptr past the last.
    SimNic* nic(NodeId node, usize index);

    // The node's disks, for inspection (contents, counters); nullptr past the last.
    SimDisk* disk(NodeId node, usize index);

    // The device seam: something outside the node (a frame on a link, a disk
    // completion) needs it to poll now. Ignored unless the node is running.
    void wake(NodeId node);

    // Processes one event; false when the queue is empty.
    bool step();
    // When the next queued event is due (it may be stale and do nothing);
    // nullopt when nothing is queued. Lets a driver (gantry pkt) run exactly
    // the events up to a time without moving the clock past the last of them.
    std::optional<TimeNs> next_event_time() const
    {
        return m_queue.empty() ? std::nullopt : std::optional<TimeNs>(m_queue.front().time);
    }
    // Runs events up to `time_limit`; the clock ends at time_limit unless every
    // node finished first.
    RunResult run_until(TimeNs time_limit);
    // Runs until nothing is left to happen, every node finished, or time_limit.
    RunResult run_until_idle(TimeNs time_limit = deadline_none);

    TimeNs now() const { return m_now; }
    u64 seed() const { return m_config.seed; }
    const WorldConfig& config() const { return m_config; }
    usize node_count() const { return m_nodes.size(); }

    NodeState state(NodeId node) const;
    std::optional<int> exit_code(NodeId node) const; // set once the app returned
    const std::string& console(NodeId node) const;
    u32 incarnation(NodeId node) const;
    // The running kernel, for inspection by tests; nullptr unless booted and alive.
    Kernel* kernel(NodeId node);
    // The node's own clock (virtual time through its drift).
    TimeNs node_time(NodeId node) const;
    std::span<const NodeFailure> failures() const { return m_failures; }

    // A fresh generator for a (node, purpose) stream: devices and fault sources
    // take theirs here so each gets its own numbers.
    Rng rng(u32 owner, Stream stream) const { return Rng(m_config.seed, owner, stream); }

    u64 events_processed() const { return m_events; }
    u64 event_hash() const { return m_hash; }
    std::span<const EventCheckpoint> checkpoints() const { return m_checkpoints; }

    // The trace so far (with trace_in_memory); finish_trace() flushes every node
    // and closes the file (false if writing failed).
    const std::vector<u8>& trace_bytes() const;
    bool finish_trace();

    // Used by SimPlatform and the panic seam; not for tests.
    Node& node_ref(NodeId node);
    const Node& node_ref(NodeId node) const;
    TraceWriter* trace_writer() { return m_trace.get(); }
    // Used by the fabric: a frame event for in-flight slot `slot` at `time`.
    void schedule_frame(TimeNs time, u64 slot);
    // Used by a SimDisk: a completion event (its data) for the node's disk at `time`.
    void schedule_disk(TimeNs time, NodeId node, u64 data);
    [[noreturn]] void fail_running_node(const char* file, int line, const char* message);
    // Used by SimPlatform: the booting node crashes now, entering `phase`
    // (crash_in_boot_phase).
    [[noreturn]] void crash_booting_node(std::string_view phase);

private:
    // The sim_fault record's fault numbers (docs/trace-format.md).
    enum class SimFault : u8 {
        crash = 1, restart = 2, pause = 3, resume = 4, partition = 5, heal = 6, heal_all = 7,
        link_faults = 8, clock_drift = 9, boot_crash = 10
    };
    // Records a fault in the trace (when tracing) so the visualiser can shade it.
    void trace_fault(SimFault fault, u32 a, u32 b = no_node, u8 detail = 0);
    enum class EventKind : u8 { boot = 1, wake = 2, action = 3, frame = 4, disk = 5 };
    struct Event {
        TimeNs time;
        u64 sequence;
        EventKind kind;
        NodeId node;
        u64 data; // wake: the node's wake generation; action: its key; frame: its slot;
                  // disk: request id << 8 | disk index
    };
    struct EventLater {
        bool operator()(const Event& a, const Event& b) const;
    };
    using NodeCall = void (*)(World&, Node&);

    void push(TimeNs time, EventKind kind, NodeId node, u64 data);
    bool stale(const Event& event) const;
    void dispatch(const Event& event);
    void note_event(const Event& event);
    bool all_finished() const;
    std::vector<NodeId> waiting_nodes() const;
    RunResult run(TimeNs time_limit, bool advance_to_limit);

    void boot(Node& node);
    void poll(Node& node);
    void after_poll(Node& node, TimeNs deadline);
    TimeNs timer_lateness(Node& node);
    void install_alloc_faults(Node& node);
    void request_wake(Node& node, TimeNs time);
    std::vector<std::unique_ptr<SimDisk>> make_disks(NodeId node,
                                                     const std::vector<DiskConfig>& configs);
    void stop_node(Node& node, NodeState state);
    void finish_exited(Node& node);
    void drop_incarnation(Node& node, bool flush_trace);
    void record_failure(Node& node, FailureKind kind, std::string file, int line,
                        std::string message);
    bool call_on_node(Node& node, NodeCall call);
    void record_panic(Node& node);
    static void runner_entry(arch::ContextTransfer transfer);

    WorldConfig m_config;
    TimeNs m_now = 0;
    u64 m_next_sequence = 0;
    std::vector<Event> m_queue; // a binary heap under EventLater
    std::map<u64, std::function<void(World&)>> m_actions;
    std::vector<std::unique_ptr<Node>> m_nodes;
    std::vector<NodeFailure> m_failures;
    std::unique_ptr<TraceWriter> m_trace;
    std::unique_ptr<Fabric> m_fabric;
    std::vector<u8> m_no_trace; // what trace_bytes() shows when there is no trace
    u64 m_events = 0;
    u64 m_hash = 0;
    std::vector<EventCheckpoint> m_checkpoints;
    // The node runner: every call into a node runs on this stack, so a panic can
    // abandon it and jump back to m_world_context (see call_on_node).
    std::unique_ptr<u8[]> m_runner_stack;
    arch::ContextHandle m_world_context = nullptr;
    struct PanicInfo {
        bool failed = false;
        bool crashed = false; // crash_booting_node, not a failure
        u8 crash_phase = 0;   // crashed: the phase, as sim_boot_phase_number names it
        FailureKind kind = FailureKind::panic;
        const char* file = "";
        int line = 0;
        const char* message = "";
        std::string exception_message;
    };
    Node* m_running = nullptr;
    NodeCall m_running_call = nullptr;
    PanicInfo m_panic;
    IncarnationEnd m_incarnation_end;
};

} // namespace gantry::sim
