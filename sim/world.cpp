// The world's event loop, its rolling event hash and the node runner.
#include "fabric.hpp"
#include "node.hpp"

#include <gantry/assert.hpp>
#include <gantry/sim/registry.hpp>
#include <gantry/sim/trace_writer.hpp>
#include <gantry/trace.hpp>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

namespace gantry::sim {

// Defined next to the sim's panic seam (panic.cpp). Referencing it here makes
// every binary that uses the world link the sim's panic, or fail to link.
extern const char panic_seam_name[];

namespace {

constexpr usize runner_stack_bytes = 256 * 1024;

// The world whose node is running on this thread, if any. The panic seam is a
// plain function (gantry::arch::panic) with no context argument, so this is how
// it finds the node to fail. It is the one mutable global of sim/, set only
// while a node runs (call_on_node) and thread_local so that worlds on other
// threads (parallel seed sweeps) never see each other's.
thread_local World* t_running_world = nullptr;

} // namespace

World* running_world()
{
    return t_running_world;
}

std::string_view to_string(NodeState state)
{
    switch (state) {
    case NodeState::pending: return "pending";
    case NodeState::running: return "running";
    case NodeState::paused: return "paused";
    case NodeState::exited: return "exited";
    case NodeState::crashed: return "crashed";
    case NodeState::failed: return "failed";
    }
    return "unknown";
}

std::string_view to_string(FailureKind kind)
{
    switch (kind) {
    case FailureKind::panic: return "panic";
    case FailureKind::boot: return "boot failure";
    case FailureKind::watchdog: return "watchdog";
    case FailureKind::exception: return "exception";
    }
    return "unknown";
}

std::string_view to_string(RunEnd end)
{
    switch (end) {
    case RunEnd::all_exited: return "all nodes finished";
    case RunEnd::time_limit: return "time limit";
    case RunEnd::idle: return "idle";
    }
    return "unknown";
}

std::string NodeFailure::describe() const
{
    std::string text = "node " + std::to_string(node) + " (incarnation " +
                       std::to_string(incarnation) + ") " + std::string(to_string(kind)) +
                       " at " + std::to_string(time) + " ns";
    if (!file.empty())
        text += " at " + file + ":" + std::to_string(line);
    text += ": " + message + " (seed " + std::to_string(seed) + ")";
    return text;
}

std::optional<EventCheckpoint> first_divergence(std::span<const EventCheckpoint> a,
                                                std::span<const EventCheckpoint> b)
{
    usize common = std::min(a.size(), b.size());
    for (usize i = 0; i < common; ++i)
        if (a[i] != b[i])
            return a[i];
    return std::nullopt;
}

World::World(WorldConfig config) : m_config(std::move(config))
{
    GANTRY_ASSERT(panic_seam_name[0] == 's'); // "sim": the right panic is linked
    if (!m_config.trace_path.empty() || m_config.trace_in_memory)
        m_trace = std::make_unique<TraceWriter>(m_config.trace_path, m_config.trace_in_memory);
    m_runner_stack = std::make_unique<u8[]>(runner_stack_bytes);
    m_fabric = std::make_unique<Fabric>(*this);
}

World::~World()
{
    // Nodes still alive keep records in their tracers: a trace must not lose them
    // just because the caller forgot finish_trace().
    if (m_trace)
        finish_trace();
}

bool World::EventLater::operator()(const Event& a, const Event& b) const
{
    // Sequence numbers are unique, so this is a strict total order: the heap pops
    // events in exactly one order whatever their insertion history.
    if (a.time != b.time)
        return a.time > b.time;
    return a.sequence > b.sequence;
}

void World::push(TimeNs time, EventKind kind, NodeId node, u64 data)
{
    GANTRY_ASSERT(time >= m_now);
    m_queue.push_back(Event{time, m_next_sequence++, kind, node, data});
    std::push_heap(m_queue.begin(), m_queue.end(), EventLater{});
}

bool World::stale(const Event& event) const
{
    if (event.kind == EventKind::action)
        return !m_actions.contains(event.data);
    if (event.kind == EventKind::frame || event.kind == EventKind::disk)
        return false; // always due; a disk ignores requests it discarded
    const Node& node = *m_nodes[event.node];
    if (event.data != node.wake_generation)
        return true;
    if (event.kind == EventKind::boot)
        return node.state != NodeState::pending;
    return node.state != NodeState::running;
}

void World::note_event(const Event& event)
{
    ++m_events;
    m_hash = mix64(m_hash ^ event.time);
    m_hash = mix64(m_hash ^ ((u64{event.node} << 8) | static_cast<u8>(event.kind)));
    if (m_config.hash_every != 0 && m_events % m_config.hash_every == 0)
        m_checkpoints.push_back(EventCheckpoint{m_events, m_hash});
}

void World::dispatch(const Event& event)
{
    switch (event.kind) {
    case EventKind::boot:
        boot(*m_nodes[event.node]);
        return;
    case EventKind::wake: {
        Node& node = *m_nodes[event.node];
        node.next_wake.reset();
        poll(node);
        return;
    }
    case EventKind::action: {
        auto found = m_actions.find(event.data);
        auto action = std::move(found->second);
        m_actions.erase(found);
        action(*this);
        return;
    }
    case EventKind::frame:
        m_fabric->arrive(event.data);
        return;
    case EventKind::disk:
        m_nodes[event.node]->disks[event.data & 0xff]->complete(event.data >> 8);
        return;
    }
    GANTRY_UNREACHABLE();
}

bool World::step()
{
    GANTRY_ASSERT(m_running == nullptr);
    while (!m_queue.empty()) {
        std::pop_heap(m_queue.begin(), m_queue.end(), EventLater{});
        Event event = m_queue.back();
        m_queue.pop_back();
        if (stale(event))
            continue;
        GANTRY_ASSERT(event.time >= m_now);
        m_now = event.time;
        note_event(event);
        dispatch(event);
        return true;
    }
    return false;
}

bool World::all_finished() const
{
    if (!m_actions.empty())
        return false;
    return std::all_of(m_nodes.begin(), m_nodes.end(), [](const auto& node) {
        return node->state == NodeState::exited || node->state == NodeState::crashed ||
               node->state == NodeState::failed;
    });
}

RunResult World::run(TimeNs time_limit, bool advance_to_limit)
{
    for (;;) {
        if (all_finished())
            return RunResult{RunEnd::all_exited, m_now, m_events, {}};
        while (!m_queue.empty() && stale(m_queue.front())) {
            std::pop_heap(m_queue.begin(), m_queue.end(), EventLater{});
            m_queue.pop_back();
        }
        if (m_queue.empty()) {
            if (advance_to_limit)
                m_now = std::max(m_now, time_limit);
            return RunResult{RunEnd::idle, m_now, m_events, waiting_nodes()};
        }
        if (m_queue.front().time > time_limit) {
            m_now = std::max(m_now, time_limit);
            return RunResult{RunEnd::time_limit, m_now, m_events, {}};
        }
        step();
    }
}

std::vector<NodeId> World::waiting_nodes() const
{
    std::vector<NodeId> waiting;
    for (const auto& node : m_nodes)
        if (node->state == NodeState::running || node->state == NodeState::paused)
            waiting.push_back(node->id);
    return waiting;
}

RunResult World::run_until(TimeNs time_limit)
{
    return run(time_limit, true);
}

RunResult World::run_until_idle(TimeNs time_limit)
{
    return run(time_limit, false);
}

void World::at(TimeNs time, std::function<void(World&)> action)
{
    GANTRY_ASSERT(m_running == nullptr);
    if (time < m_now)
        throw std::invalid_argument("World::at: time is in the past");
    u64 key = m_next_sequence; // unique, and the event's own sequence number
    m_actions.emplace(key, std::move(action));
    push(time, EventKind::action, world_owner, key);
}

bool World::call_on_node(Node& node, NodeCall call)
{
    GANTRY_ASSERT(m_running == nullptr);
    GANTRY_ASSERT(t_running_world == nullptr); // worlds do not nest on one thread
    m_running = &node;
    m_running_call = call;
    m_panic = PanicInfo{};
    t_running_world = this;
    // A fresh context per call: nothing stays on the runner stack between calls
    // (fibers have their own stacks in the arena), so an abandoned one costs nothing.
    arch::ContextHandle runner =
        arch::make_context(m_runner_stack.get(), runner_stack_bytes, runner_entry);
    arch::jump_context(runner, this);
    t_running_world = nullptr;
    m_running = nullptr;
    return !m_panic.failed;
}

void World::runner_entry(arch::ContextTransfer transfer)
{
    auto* world = static_cast<World*>(transfer.data);
    world->m_world_context = transfer.from;
    // Exceptions thrown on the runner stack (app factories in tests) are caught
    // here; one thrown on a fiber stack cannot unwind to here and terminates.
    try {
        world->m_running_call(*world, *world->m_running);
    } catch (const std::exception& error) {
        world->m_panic.failed = true;
        world->m_panic.kind = FailureKind::exception;
        world->m_panic.exception_message = error.what();
    } catch (...) {
        world->m_panic.failed = true;
        world->m_panic.kind = FailureKind::exception;
        world->m_panic.exception_message = "unknown exception";
    }
    arch::jump_context(world->m_world_context, nullptr);
    std::abort(); // the world never resumes a finished runner
}

void World::crash_booting_node(std::string_view phase)
{
    GANTRY_ASSERT(m_running != nullptr);
    GANTRY_ASSERT(m_running->booting);
    // Like a panic, the runner stack is abandoned; unlike one, nothing failed:
    // boot() stops the node as crashed (and traces it), and restart() boots it again.
    m_panic.failed = true;
    m_panic.crashed = true;
    m_panic.crash_phase = sim_boot_phase_number(phase);
    arch::jump_context(m_world_context, nullptr);
    std::abort();
}

void World::fail_running_node(const char* file, int line, const char* message)
{
    GANTRY_ASSERT(m_running != nullptr);
    // Copied into std::strings later, on the world's stack: the failing stack
    // may be nearly exhausted. The texts stay valid until the arena is dropped.
    m_panic.failed = true;
    m_panic.kind = FailureKind::panic;
    m_panic.file = file;
    m_panic.line = line;
    m_panic.message = message;
    arch::jump_context(m_world_context, nullptr);
    std::abort();
}

} // namespace gantry::sim
