// A node of the world: its configuration and what survives a crash (console,
// entropy stream position, counters), plus the current incarnation (arena,
// platform, kernel, app), which a crash drops wholesale. Internal to sim/.
#pragma once

#include <gantry/sim/platform.hpp>
#include <gantry/sim/world.hpp>

#include <cstdio>

namespace gantry::sim {

// The node's RAM: anonymous memory, zeroed and committed lazily by the host, so
// a node costs only the pages its kernel touches. The Kernel object itself lives
// at its start; dropping the arena is the crash ("volatile state lost").
class Arena {
public:
    explicit Arena(usize bytes);
    Arena(const Arena&) = delete;
    ~Arena();
    u8* base() const { return m_base; }
    usize bytes() const { return m_bytes; }

private:
    u8* m_base = nullptr;
    usize m_bytes = 0;
};

// The node's allocation-failure fault: installed in its kernel while
// NodeFaults::alloc_fail_ppm is non-zero (World::install_alloc_faults).
class AllocFailer final : public AllocFaultInjector {
public:
    explicit AllocFailer(Node& node) : m_node(node) {}
    bool should_fail(usize bytes) override;

private:
    Node& m_node;
};

class Node {
public:
    Node(NodeId id, NodeConfig config, SimAppFactory factory, u64 seed);
    Node(const Node&) = delete;
    ~Node();

    void console_append(TimeNs virtual_now, std::string_view text);

    NodeId id;
    NodeConfig config;
    SimAppFactory factory;
    std::vector<std::string_view> arg_views; // into config.args, for AppArgs
    NodeState state = NodeState::pending;
    std::optional<int> exit_code;
    u32 incarnation = 0;
    u32 boots = 0;
    Rng entropy;
    // Kernel-level faults: the current settings, the armed boot crash, their
    // own random stream and what they did. All survive crashes.
    NodeFaults faults;
    std::string boot_crash_phase;
    bool booting = false; // inside Kernel::boot / start_app
    Rng fault_rng;
    NodeFaultCounters fault_counters;
    AllocFailer alloc_failer{*this};
    // The node's clock: its drift starts at config.clock_drift_ppm and
    // set_clock_drift changes it; like the hardware, it survives crashes.
    NodeClock clock;
    std::string console;
    bool console_line_start = true;
    std::FILE* console_file = nullptr;
    u64 wake_generation = 0;          // events of older generations are stale
    std::optional<TimeNs> next_wake;  // the pending valid wake-up, if any
    // Virtual time since which the node's work stayed runnable (the watchdog's clock).
    std::optional<TimeNs> busy_since;
    TimeNs last_deadline = deadline_none; // what the last poll returned
    // The node's NICs, one per link, in the order the links were added. They
    // outlive incarnations (the hardware survives a crash; its queue does not).
    std::vector<std::unique_ptr<SimNic>> nics;
    // The node's disks, same story: contents survive, requests in flight do not.
    std::vector<std::unique_ptr<SimDisk>> disks;

    // The current incarnation; all null when not booted.
    std::unique_ptr<Arena> arena;
    std::unique_ptr<SimPlatform> platform;
    Kernel* kernel = nullptr; // constructed inside the arena
    App* app = nullptr;       // allocated from the kernel's heap
};

} // namespace gantry::sim
