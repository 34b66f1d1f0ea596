// Node life cycle: boot, poll, exit, crash, restart, pause, resume, failures.
#include "fabric.hpp"
#include "node.hpp"

#include <gantry/assert.hpp>
#include <gantry/sim/registry.hpp>
#include <gantry/sim/trace_writer.hpp>

#include <new>
#include <stdexcept>

namespace gantry::sim {

namespace {

// The Kernel object sits at the start of the arena, page-aligned memory follows.
constexpr usize kernel_bytes = (sizeof(Kernel) + page_size - 1) / page_size * page_size;
static_assert(alignof(Kernel) <= page_size);

SimAppFactory factory_for(const NodeConfig& config)
{
    if (config.factory)
        return config.factory;
    AppFactory factory = find_app(config.app);
    if (!factory) {
        std::string known;
        for (const AppRegistryEntry& entry : app_registry())
            known += (known.empty() ? "" : ", ") + std::string(entry.name);
        throw std::invalid_argument("unknown app '" + config.app + "' (built apps: " +
                                    (known.empty() ? "none" : known) + ")");
    }
    return [factory](Kernel& kernel) { return factory(kernel); };
}

} // namespace

NodeId World::add_node(NodeConfig config)
{
    GANTRY_ASSERT(m_running == nullptr);
    if (config.memory_bytes < kernel_bytes + page_size)
        throw std::invalid_argument("node memory_bytes must be at least " +
                                    std::to_string(kernel_bytes + page_size));
    if (config.clock_drift_ppm <= -1'000'000)
        throw std::invalid_argument("clock_drift_ppm must be greater than -1000000");
    if (config.name.empty())
        config.name = config.app.empty() ? "app" : config.app;
    SimAppFactory factory = factory_for(config);
    auto id = static_cast<NodeId>(m_nodes.size());
    GANTRY_ASSERT(id != world_owner);
    std::vector<std::unique_ptr<SimDisk>> disks = make_disks(id, config.disks);
    TimeNs start = std::max(config.start_ns, m_now);
    m_nodes.push_back(std::make_unique<Node>(id, std::move(config), std::move(factory),
                                             m_config.seed));
    m_nodes.back()->disks = std::move(disks);
    push(start, EventKind::boot, id, m_nodes.back()->wake_generation);
    return id;
}

Node& World::node_ref(NodeId node)
{
    if (node >= m_nodes.size())
        throw std::out_of_range("no node " + std::to_string(node));
    return *m_nodes[node];
}

const Node& World::node_ref(NodeId node) const
{
    if (node >= m_nodes.size())
        throw std::out_of_range("no node " + std::to_string(node));
    return *m_nodes[node];
}

void World::boot(Node& node)
{
    node.arena = std::make_unique<Arena>(node.config.memory_bytes);
    MemoryRegion region{node.arena->base() + kernel_bytes, node.arena->bytes() - kernel_bytes};
    node.platform = std::make_unique<SimPlatform>(*this, node, region);
    for (const auto& nic : node.nics)
        node.platform->attach_nic(nic.get());
    node.platform->set_nics_hidden(node.config.nic_owner == NicOwner::app);
    for (const auto& disk : node.disks)
        node.platform->attach_disk(disk.get());
    if (node.config.virtio) {
        if (std::string error = node.platform->use_virtio(); !error.empty()) {
            record_failure(node, FailureKind::boot, __FILE__, __LINE__, error);
            return stop_node(node, NodeState::failed);
        }
    }
    KernelConfig config;
    config.node_id = node.id;
    config.app_name = node.config.name;
    config.platform_name = "sim";
    config.trace = m_trace != nullptr;
    config.log_level = node.config.log_level;
    config.log_timestamps = false; // the node's console stamps every line with virtual time
    config.mem_stats_interval_ns = node.config.mem_stats_interval_ns;
    config.ip = node.config.ip;
    config.prefix = node.config.prefix;
    config.gateway = node.config.gateway;
    config.dns = node.config.dns;
    config.dhcp = node.config.dhcp;
    node.kernel = new (node.arena->base()) Kernel(*node.platform, config);
    node.state = NodeState::running;
    ++node.boots;
    node.booting = true;
    bool ok = call_on_node(node, [](World& world, Node& n) {
        n.platform->boot_phase_entered("platform");
        n.kernel->record_phase("platform", n.kernel->now(), n.kernel->now());
        if (auto booted = n.kernel->boot(); !booted.ok())
            return world.record_failure(n, FailureKind::boot, {}, 0,
                                        std::string(describe(booted.error())));
        n.platform->set_nics_hidden(false); // the app's now, if it owns them
        n.app = n.factory(*n.kernel);
        if (!n.app)
            return world.record_failure(n, FailureKind::boot, {}, 0,
                                        "out of memory creating the app");
        if (!n.kernel->start_app(*n.app, AppArgs{n.arg_views}).ok())
            return world.record_failure(n, FailureKind::boot, {}, 0,
                                        "out of memory starting the app");
    });
    node.booting = false;
    if (!ok && m_panic.crashed) {
        ++node.fault_counters.boot_crashes;
        u8 phase = m_panic.crash_phase; // stop_node's own call on the node resets m_panic
        stop_node(node, NodeState::crashed);
        // After the node's own records (stop_node flushed them), as for crash().
        return trace_fault(SimFault::boot_crash, node.id, no_node, phase);
    }
    if (!ok)
        record_panic(node);
    if (node.state == NodeState::failed)
        return stop_node(node, NodeState::failed);
    // Injected allocation failures start with the app: a boot that fails for
    // want of memory is a node failure, which is not what the fault is after.
    install_alloc_faults(node);
    request_wake(node, m_now);
}

void World::install_alloc_faults(Node& node)
{
    if (node.kernel)
        node.kernel->set_alloc_fault_injector(node.faults.alloc_fail_ppm != 0 ? &node.alloc_failer
                                                                             : nullptr);
}

TimeNs World::timer_lateness(Node& node)
{
    const NodeFaults& faults = node.faults;
    if (faults.timer_late_ns == 0 && faults.timer_jitter_ns == 0)
        return 0;
    ++node.fault_counters.timer_wakeups_delayed;
    TimeNs jitter = faults.timer_jitter_ns != 0 ? node.fault_rng.below(faults.timer_jitter_ns + 1)
                                                : 0;
    return faults.timer_late_ns + jitter;
}

void World::set_node_faults(NodeId id, NodeFaults faults)
{
    GANTRY_ASSERT(m_running == nullptr);
    Node& node = node_ref(id);
    node.faults = faults;
    install_alloc_faults(node);
}

const NodeFaults& World::node_faults(NodeId id) const
{
    return node_ref(id).faults;
}

const NodeFaultCounters& World::node_fault_counters(NodeId id) const
{
    return node_ref(id).fault_counters;
}

void World::crash_in_boot_phase(NodeId id, std::string phase)
{
    GANTRY_ASSERT(m_running == nullptr);
    node_ref(id).boot_crash_phase = std::move(phase);
}

void World::poll(Node& node)
{
    bool ok = call_on_node(node, [](World& world, Node& n) {
        n.last_deadline = n.kernel->poll();
        // Flushing after every poll keeps the shared trace in world event order.
        if (world.m_trace)
            n.kernel->trace().flush();
    });
    if (!ok) {
        record_panic(node);
        return stop_node(node, NodeState::failed);
    }
    if (node.kernel->exited())
        return finish_exited(node);
    after_poll(node, node.last_deadline);
}

void World::after_poll(Node& node, TimeNs deadline)
{
    if (deadline == deadline_none || deadline > node.clock.local_time(m_now)) {
        node.busy_since.reset();
        if (deadline != deadline_none)
            request_wake(node, std::max(node.clock.virtual_time_for(deadline), m_now + 1) +
                                   timer_lateness(node));
        return;
    }
    // Work is still runnable: charge it virtual CPU time, and watch for a loop.
    if (!node.busy_since)
        node.busy_since = m_now;
    if (m_now - *node.busy_since >= m_config.watchdog_ns) {
        record_failure(node, FailureKind::watchdog, {}, 0,
                       "no progress: work stayed runnable for " +
                           std::to_string(m_now - *node.busy_since) +
                           " ns of virtual time without the node going idle");
        return stop_node(node, NodeState::failed);
    }
    request_wake(node, m_now + std::max<TimeNs>(m_config.busy_poll_ns, 1));
}

void World::request_wake(Node& node, TimeNs time)
{
    // One valid wake-up per node: an earlier pending one will poll and recompute.
    if (node.next_wake && *node.next_wake <= time)
        return;
    node.next_wake = time;
    push(time, EventKind::wake, node.id, ++node.wake_generation);
}

void World::wake(NodeId id)
{
    Node& node = node_ref(id);
    if (node.state == NodeState::running)
        request_wake(node, m_now);
}

void World::finish_exited(Node& node)
{
    node.exit_code = node.kernel->exit_code();
    if (m_incarnation_end)
        m_incarnation_end(node.id, *node.kernel);
    // An orderly end, as on the hosted platform: the app and the kernel are
    // destroyed (on the runner, in case a destructor asserts).
    bool ok = call_on_node(node, [](World&, Node& n) {
        n.kernel->heap().destroy(n.app);
        n.app = nullptr;
        n.kernel->~Kernel();
        n.kernel = nullptr;
    });
    if (!ok) {
        record_panic(node);
        return stop_node(node, NodeState::failed);
    }
    stop_node(node, NodeState::exited);
}

void World::stop_node(Node& node, NodeState state)
{
    if (node.kernel) {
        // Keep the trace up to the stop; the kernel itself is dropped without
        // running a destructor: a crash or a failure leaves no chance to clean up.
        // A panic inside this flush is ignored: the node is already stopping.
        call_on_node(node, [](World&, Node& n) { n.kernel->trace().flush(); });
        if (m_incarnation_end)
            m_incarnation_end(node.id, *node.kernel);
    }
    node.kernel = nullptr;
    node.app = nullptr;
    node.platform.reset();
    for (const auto& nic : node.nics)
        nic->rx_clear(); // frames the node had not read die with it
    // A crash is a power loss for the node's disks; any other stop leaves
    // their caches powered. Either way no request completes into a dead kernel.
    for (const auto& disk : node.disks)
        state == NodeState::crashed ? disk->power_loss() : disk->detach();
    node.arena.reset();
    node.state = state;
    node.next_wake.reset();
    node.busy_since.reset();
    ++node.wake_generation;
}

void World::record_failure(Node& node, FailureKind kind, std::string file, int line,
                           std::string message)
{
    m_failures.push_back(NodeFailure{node.id, node.incarnation, kind, std::move(file), line,
                                     std::move(message), m_config.seed, m_now});
    node.state = NodeState::failed;
}

void World::record_panic(Node& node)
{
    GANTRY_ASSERT(m_panic.failed);
    std::string message = m_panic.kind == FailureKind::exception
                              ? m_panic.exception_message
                              : std::string(m_panic.message ? m_panic.message : "");
    record_failure(node, m_panic.kind, m_panic.file ? m_panic.file : "", m_panic.line,
                   std::move(message));
}

void World::crash(NodeId id)
{
    GANTRY_ASSERT(m_running == nullptr);
    Node& node = node_ref(id);
    if (node.state == NodeState::running || node.state == NodeState::paused ||
        node.state == NodeState::pending) {
        stop_node(node, NodeState::crashed);
        trace_fault(SimFault::crash, id);
    }
}

void World::restart(NodeId id)
{
    GANTRY_ASSERT(m_running == nullptr);
    Node& node = node_ref(id);
    if (node.state == NodeState::running || node.state == NodeState::paused)
        stop_node(node, NodeState::crashed);
    if (node.state == NodeState::pending)
        return; // already about to boot
    ++node.incarnation;
    node.exit_code.reset();
    node.state = NodeState::pending;
    push(m_now, EventKind::boot, id, ++node.wake_generation);
    trace_fault(SimFault::restart, id);
}

void World::pause(NodeId id)
{
    GANTRY_ASSERT(m_running == nullptr);
    Node& node = node_ref(id);
    if (node.state != NodeState::running)
        return;
    node.state = NodeState::paused;
    node.next_wake.reset();
    node.busy_since.reset();
    ++node.wake_generation;
    trace_fault(SimFault::pause, id);
}

void World::resume(NodeId id)
{
    GANTRY_ASSERT(m_running == nullptr);
    Node& node = node_ref(id);
    if (node.state != NodeState::paused)
        return;
    node.state = NodeState::running;
    // Timers that came due while paused fire now, late, as after a VM pause.
    request_wake(node, m_now);
    trace_fault(SimFault::resume, id);
}

void World::set_clock_drift(NodeId id, i64 drift_ppm)
{
    GANTRY_ASSERT(m_running == nullptr);
    if (drift_ppm <= -1'000'000 || drift_ppm > clock_drift_ppm_max)
        throw std::invalid_argument("clock drift must be greater than -1000000 ppm and at "
                                    "most " + std::to_string(clock_drift_ppm_max) + " ppm");
    Node& node = node_ref(id);
    node.clock.set_drift(m_now, drift_ppm);
    // The pending timer wake-up was computed through the old drift. If the
    // clock now reaches the deadline sooner, an earlier wake-up replaces it; if
    // later, the old one stays and polls early, which is harmless (the kernel
    // fires nothing before its own clock says so) and schedules the next
    // wake-up through the new drift. A busy node polls soon anyway, and so
    // does one whose deadline has passed (its wake-up is only late, on purpose).
    if (node.state == NodeState::running && !node.busy_since &&
        node.last_deadline != deadline_none &&
        node.last_deadline > node.clock.local_time(m_now))
        after_poll(node, node.last_deadline);
    trace_fault(SimFault::clock_drift, id, static_cast<u32>(static_cast<i32>(drift_ppm)));
}

i64 World::clock_drift(NodeId node) const
{
    return node_ref(node).clock.drift_ppm();
}

NodeState World::state(NodeId node) const
{
    return node_ref(node).state;
}

std::optional<int> World::exit_code(NodeId node) const
{
    return node_ref(node).exit_code;
}

const std::string& World::console(NodeId node) const
{
    return node_ref(node).console;
}

u32 World::incarnation(NodeId node) const
{
    return node_ref(node).incarnation;
}

Kernel* World::kernel(NodeId node)
{
    return node_ref(node).kernel;
}

TimeNs World::node_time(NodeId node) const
{
    return node_ref(node).clock.local_time(m_now);
}

const std::vector<u8>& World::trace_bytes() const
{
    return m_trace ? m_trace->bytes() : m_no_trace;
}

bool World::finish_trace()
{
    m_fabric->flush_captures();
    if (!m_trace)
        return true;
    for (auto& node : m_nodes)
        if (node->kernel)
            call_on_node(*node, [](World&, Node& n) { n.kernel->trace().flush(); });
    return m_trace->finish();
}

} // namespace gantry::sim
