#include "runner.hpp"
#include "replay/replay.hpp"
#include "workload/judge.hpp"

#include <chrono>
#include <cstdlib>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

namespace gantry::harness {

// cmd_mkimage.cpp: a disk `image:` that is a directory becomes a gantryfs image.
void write_gantryfs_image(const std::string& directory, const std::string& out_path);

namespace {

struct NodeRef {
    const NodeSpec* spec;
    sim::NodeId id;
};

sim::CrashPolicy crash_policy(const std::string& name)
{
    if (name == "lose-unflushed")
        return sim::CrashPolicy::lose_unflushed;
    if (name == "keep-unflushed")
        return sim::CrashPolicy::keep_unflushed;
    return sim::CrashPolicy::random_torn; // the loader admits nothing else
}

sim::DiskConfig disk_config(const DiskSpec& spec)
{
    sim::DiskConfig config;
    config.sector_bytes = spec.sector_bytes;
    config.sector_count = spec.size_bytes / spec.sector_bytes;
    config.latency_ns = spec.latency_ns;
    config.sector_ns = spec.sector_ns;
    config.jitter_ns = spec.jitter_ns;
    config.read_error_ppm = spec.read_error_ppm;
    config.write_error_ppm = spec.write_error_ppm;
    config.crash_policy = crash_policy(spec.crash);
    config.read_only = spec.read_only;
    if (!spec.image_is_directory)
        config.image_path = spec.image;
    return config;
}

// A directory becomes a gantryfs image in a temporary file that lives only
// until the disk has read it (SimDisk reads image_path when it is made).
class BuiltImages {
public:
    BuiltImages() = default;
    BuiltImages(const BuiltImages&) = delete;
    ~BuiltImages()
    {
        std::error_code ignored;
        for (const std::string& path : m_paths)
            std::filesystem::remove(path, ignored);
    }
    std::string build(const DiskSpec& spec)
    {
        static_assert(sizeof(pid_t) <= sizeof(long));
        std::string path = (std::filesystem::temp_directory_path() /
                            ("gantry-image-" + std::to_string(static_cast<long>(getpid())) + "-" +
                             std::to_string(m_paths.size()) + ".img"))
                               .string();
        m_paths.push_back(path);
        try {
            write_gantryfs_image(spec.image, path);
        } catch (const std::runtime_error& error) {
            throw ScenarioError(spec.mark, std::string("image: ") + error.what());
        }
        if (std::filesystem::file_size(path) > spec.size_bytes)
            throw ScenarioError(spec.mark, "the image of '" + spec.image + "' takes " +
                                               std::to_string(std::filesystem::file_size(path)) +
                                               " bytes, more than the disk's size");
        return path;
    }

private:
    std::vector<std::string> m_paths;
};

// One line per disk for the run's summary.
std::vector<std::string> disk_summaries(sim::World& world, const std::vector<NodeRef>& nodes)
{
    std::vector<std::string> lines;
    for (const NodeRef& node : nodes) {
        for (usize index = 0; sim::SimDisk* disk = world.disk(node.id, index); ++index) {
            const sim::DiskCounters& c = disk->counters();
            lines.push_back("disk " + node.spec->name + "/" + std::to_string(index) + ": " +
                            std::to_string(c.reads) + " reads, " + std::to_string(c.writes) +
                            " writes, " + std::to_string(c.flushes) + " flushes, " +
                            std::to_string(c.read_errors_injected + c.write_errors_injected) +
                            " errors injected; " + std::to_string(c.crashes) +
                            " crashes: unflushed writes " + std::to_string(c.writes_lost) +
                            " lost, " + std::to_string(c.writes_torn) + " torn, " +
                            std::to_string(c.writes_kept) + " kept");
        }
    }
    return lines;
}

sim::NodeFaults node_faults(const KernelFaultsSpec& spec)
{
    return {spec.alloc_fail_ppm, spec.timer_late_ns, spec.timer_jitter_ns};
}

std::vector<NodeRef> build_nodes(const Scenario& scenario, sim::World& world,
                                 const RunOptions& options, WorkloadLog& log)
{
    std::vector<NodeRef> nodes;
    BuiltImages images;
    for (const NodeSpec& spec : scenario.nodes) {
        sim::NodeConfig config;
        config.app = spec.app;
        if (spec.workload.kind != WorkloadKind::none) {
            config.factory = workload_factory(spec, log, nodes.size());
            config.nic_owner = workload_nic_owner(spec.workload.kind);
        }
        config.name = spec.name;
        config.args = spec.args;
        config.memory_bytes = spec.memory_bytes;
        config.clock_drift_ppm = static_cast<i64>(spec.clock_drift_ppm);
        config.ip = net::Ipv4Address::from_u32(spec.ip);
        config.prefix = spec.prefix;
        config.gateway = net::Ipv4Address::from_u32(spec.gateway);
        config.dns = net::Ipv4Address::from_u32(spec.dns);
        config.dhcp = spec.dhcp ? NetDhcp::on : NetDhcp::off;
        config.faults = node_faults(spec.kernel_faults);
        config.boot_crash_phase = spec.boot_crash_phase;
        config.start_ns = spec.start_ns;
        config.virtio = spec.virtio;
        for (const DiskSpec& disk : spec.disks) {
            config.disks.push_back(disk_config(disk));
            if (disk.image_is_directory)
                config.disks.back().image_path = images.build(disk);
        }
        if (!options.out_dir.empty())
            config.console_path = options.out_dir + "/" + spec.name + ".log";
        try {
            nodes.push_back({&spec, world.add_node(config)});
        } catch (const std::invalid_argument& error) {
            throw ScenarioError(spec.mark, error.what());
        } catch (const std::runtime_error& error) {
            throw ScenarioError(spec.mark, error.what()); // a disk image that cannot be read
        }
    }
    return nodes;
}

sim::NodeId id_of(const std::vector<NodeRef>& nodes, const std::string& name)
{
    for (const NodeRef& node : nodes)
        if (node.spec->name == name)
            return node.id;
    throw std::logic_error("node names are validated by the loader");
}

sim::LinkConfig link_config(const LinkSpec& spec, const RunOptions& options)
{
    sim::LinkConfig config;
    config.name = spec.name;
    config.latency_ns = spec.latency_ns;
    config.jitter_ns = spec.jitter_ns;
    config.bandwidth_bps = spec.bandwidth_bps;
    config.mtu = spec.mtu;
    config.faults = {spec.loss_ppm, spec.duplicate_ppm, spec.reorder_ppm, spec.corrupt_ppm};
    config.reorder_delay_ns = spec.reorder_delay_ns;
    config.queue_frames_max = spec.queue_frames_max;
    if (!options.out_dir.empty())
        config.pcap_path = options.out_dir + "/" + spec.name + ".pcap";
    return config;
}

// Switches first, then links in file order: link ids (in the trace) follow the file.
void build_network(const Scenario& scenario, sim::World& world,
                   const std::vector<NodeRef>& nodes, const RunOptions& options)
{
    std::map<std::string, sim::SwitchId> switches;
    for (const SwitchSpec& spec : scenario.switches)
        switches[spec.name] = world.add_switch({.name = spec.name});
    auto end_of = [&](const std::string& name) {
        auto found = switches.find(name);
        return found != switches.end() ? sim::Endpoint::switch_port(found->second)
                                       : sim::Endpoint::node(id_of(nodes, name));
    };
    for (const LinkSpec& spec : scenario.links) {
        try {
            world.add_link(end_of(spec.a), end_of(spec.b), link_config(spec, options));
        } catch (const std::invalid_argument& error) {
            throw ScenarioError(spec.mark, error.what());
        }
    }
}

// A loss burst raises the link's loss for a while, then restores the file's rate.
void schedule_loss_burst(const Scenario& scenario, sim::World& world, const FaultSpec& fault)
{
    const LinkSpec& spec = *scenario.find_link(fault.link);
    sim::LinkId link = *world.find_link(fault.link);
    u32 burst = fault.loss_ppm;
    u32 base = spec.loss_ppm;
    auto set_loss = [link](u32 loss) {
        return [link, loss](sim::World& w) {
            sim::LinkFaults faults = w.link_config(link).faults;
            faults.loss_ppm = loss;
            w.set_link_faults(link, faults);
        };
    };
    world.at(fault.at_ns, set_loss(burst));
    world.at(fault.at_ns + fault.for_ns, set_loss(base));
}

void schedule_network_fault(const Scenario& scenario, sim::World& world,
                            const std::vector<NodeRef>& nodes, const FaultSpec& fault)
{
    if (fault.kind == FaultKind::loss_burst)
        return schedule_loss_burst(scenario, world, fault);
    if (fault.heal_all)
        return world.at(fault.at_ns, [](sim::World& w) { w.heal_all(); });
    sim::NodeId a = id_of(nodes, fault.node);
    sim::NodeId b = id_of(nodes, fault.node2);
    if (fault.kind == FaultKind::heal)
        return world.at(fault.at_ns, [a, b](sim::World& w) { w.heal(a, b); });
    auto kind = fault.one_way ? sim::Partition::one_way : sim::Partition::both_ways;
    world.at(fault.at_ns, [a, b, kind](sim::World& w) { w.partition(a, b, kind); });
}

// kernel_faults replaces the node's settings; boot_crash reboots the node at
// once with a crash armed for the phase (a later `restart` brings it back).
void schedule_kernel_fault(sim::World& world, const std::vector<NodeRef>& nodes,
                           const FaultSpec& fault)
{
    sim::NodeId node = id_of(nodes, fault.node);
    if (fault.kind == FaultKind::kernel_faults) {
        sim::NodeFaults faults = node_faults(fault.kernel_faults);
        return world.at(fault.at_ns, [node, faults](sim::World& w) {
            w.set_node_faults(node, faults);
        });
    }
    world.at(fault.at_ns, [node, phase = fault.phase](sim::World& w) {
        w.crash_in_boot_phase(node, phase);
        w.restart(node);
    });
}

// The liveness phase begins: every fault stops, and what faults left broken
// is mended (docs/scenarios.md, "Safety and liveness"): partitions heal,
// links lose their loss, duplication, reordering and corruption, kernels
// their kernel-level faults, disks their injected errors, clocks go back to
// the file's drift; crashed nodes boot and paused ones resume.
void schedule_liveness(const Scenario& scenario, sim::World& world,
                       const std::vector<NodeRef>& nodes)
{
    if (!scenario.liveness.enabled)
        return;
    world.at(scenario.liveness.after_ns, [&nodes](sim::World& w) {
        w.heal_all();
        for (sim::LinkId link = 0; link < w.link_count(); ++link)
            w.set_link_faults(link, {});
        for (const NodeRef& node : nodes) {
            w.set_node_faults(node.id, {});
            w.crash_in_boot_phase(node.id, {});
            if (w.clock_drift(node.id) != static_cast<i64>(node.spec->clock_drift_ppm))
                w.set_clock_drift(node.id, static_cast<i64>(node.spec->clock_drift_ppm));
            for (usize index = 0; sim::SimDisk* disk = w.disk(node.id, index); ++index)
                disk->set_error_rates(0, 0);
            if (w.state(node.id) == sim::NodeState::crashed)
                w.restart(node.id);
            else if (w.state(node.id) == sim::NodeState::paused)
                w.resume(node.id);
        }
    });
}

// The file's faults, then those its chaos blocks generate for this seed:
// `gantry shrink` writes them out in the same order, so the run is the same.
void schedule_faults(const Scenario& scenario, const std::vector<FaultSpec>& faults,
                     sim::World& world, const std::vector<NodeRef>& nodes)
{
    for (const FaultSpec& fault : faults) {
        if (fault.kind == FaultKind::partition || fault.kind == FaultKind::heal ||
            fault.kind == FaultKind::loss_burst) {
            schedule_network_fault(scenario, world, nodes, fault);
            continue;
        }
        if (fault.kind == FaultKind::kernel_faults || fault.kind == FaultKind::boot_crash) {
            schedule_kernel_fault(world, nodes, fault);
            continue;
        }
        if (fault.kind == FaultKind::clock_drift) {
            sim::NodeId node = id_of(nodes, fault.node);
            world.at(fault.at_ns, [node, ppm = fault.drift_ppm](sim::World& w) {
                w.set_clock_drift(node, ppm);
            });
            continue;
        }
        if (fault.kind == FaultKind::disk_faults) {
            sim::NodeId node = id_of(nodes, fault.node);
            world.at(fault.at_ns, [node, fault](sim::World& w) {
                w.disk(node, fault.disk)->set_error_rates(fault.read_error_ppm,
                                                          fault.write_error_ppm);
            });
            continue;
        }
        sim::NodeId node = id_of(nodes, fault.node);
        FaultKind kind = fault.kind;
        world.at(fault.at_ns, [node, kind](sim::World& w) {
            switch (kind) {
            case FaultKind::crash:
                w.crash(node);
                break;
            case FaultKind::restart:
                w.restart(node);
                break;
            case FaultKind::pause:
                w.pause(node);
                break;
            case FaultKind::resume:
                w.resume(node);
                break;
            default:
                break; // network faults are scheduled above
            }
        });
    }
}

// exited_by checks look at the node states at their deadline, so they are
// sampled by actions scheduled in the run itself.
struct ExitSample {
    const CheckSpec* check;
    std::vector<std::pair<std::string, sim::NodeState>> states;
};

void schedule_exit_samples(const Scenario& scenario, sim::World& world,
                           const std::vector<NodeRef>& nodes, std::vector<ExitSample>& samples)
{
    samples.reserve(scenario.checks.size()); // the actions keep pointers into it
    for (const CheckSpec& check : scenario.checks) {
        if (check.kind != CheckKind::exited_by)
            continue;
        samples.push_back({&check, {}});
        ExitSample* sample = &samples.back();
        world.at(check.time_ns, [sample, &nodes](sim::World& w) {
            for (const NodeRef& node : nodes)
                if (node_selected(sample->check->node, node.spec->name))
                    sample->states.emplace_back(node.spec->name, w.state(node.id));
        });
    }
}

CheckOutcome judge_exit_code(const CheckSpec& check, const sim::World& world,
                             const std::vector<NodeRef>& nodes)
{
    for (const NodeRef& node : nodes) {
        if (!node_selected(check.node, node.spec->name))
            continue;
        auto code = world.exit_code(node.id);
        if (!code)
            return {&check, false,
                    "node " + node.spec->name + " did not exit (it is " +
                        std::string(sim::to_string(world.state(node.id))) + ")"};
        if (*code != check.exit_code)
            return {&check, false,
                    "node " + node.spec->name + " exited with " + std::to_string(*code)};
    }
    return {&check, true, {}};
}

CheckOutcome judge_log(const CheckSpec& check, const sim::World& world,
                       const std::vector<NodeRef>& nodes)
{
    bool want = check.kind == CheckKind::log_contains;
    for (const NodeRef& node : nodes) {
        if (!node_selected(check.node, node.spec->name))
            continue;
        bool found = world.console(node.id).find(check.text) != std::string::npos;
        if (found != want)
            return {&check, false,
                    "node " + node.spec->name + "'s console " +
                        (want ? "lacks" : "contains") + " \"" + check.text + "\""};
    }
    return {&check, true, {}};
}

CheckOutcome judge_failures(const CheckSpec* check, const sim::World& world,
                            const std::vector<NodeRef>& nodes)
{
    for (const sim::NodeFailure& failure : world.failures()) {
        const std::string& name = nodes.at(failure.node).spec->name;
        if (check && !node_selected(check->node, name))
            continue;
        return {check, false, "node " + name + " failed: " + failure.describe()};
    }
    return {check, true, {}};
}

CheckOutcome judge_exit_sample(const ExitSample& sample)
{
    for (const auto& [name, state] : sample.states)
        if (state != sim::NodeState::exited)
            return {sample.check, false,
                    "node " + name + " was " + std::string(sim::to_string(state)) +
                        " at the deadline"};
    if (sample.states.empty())
        return {sample.check, false, "the run ended before the deadline was reached"};
    return {sample.check, true, {}};
}

replay::ReplayOptions replay_options(const NodeSpec& node, const ReplayCheckSpec& spec, u64 seed)
{
    replay::ReplayOptions options;
    options.app = node.app;
    options.app_args = node.args;
    options.memory_bytes = node.memory_bytes;
    options.seed = seed;
    if (!spec.server.empty())
        options.server = net::Ipv4Address::parse(spec.server);
    if (!spec.client.empty())
        options.client = net::Ipv4Address::parse(spec.client);
    if (spec.timing == "asap")
        options.timing = replay::Timing::asap;
    else if (spec.timing.starts_with("scale="))
        options.scale = std::strtod(spec.timing.c_str() + 6, nullptr);
    return options;
}

// The capture is replayed in a world of its own against the node's app: a
// capture the replay cannot read is bad input (exit 2), like a bad scenario.
CheckOutcome judge_replay(const Scenario& scenario, const CheckSpec& check, u64 seed)
{
    const NodeSpec* node = scenario.find_node(check.node);
    GANTRY_ASSERT(node != nullptr); // the loader checked the name
    replay::ReplayResult result;
    try {
        replay::Capture capture = replay::read_capture(check.replay.capture, check.replay.filter);
        result = replay::run_replay(capture, replay_options(*node, check.replay, seed));
    } catch (const replay::CaptureError& error) {
        throw ScenarioError(check.mark, error.what());
    }
    bool passed = result.matched() == check.replay.expect_match;
    std::string detail = "replay of " + check.replay.capture + " against node " + check.node +
                         (result.matched() ? ": matched" : ": diverged: ");
    if (!result.matched()) {
        detail += result.first->conversation + ": " + result.first->what;
        if (!result.first->detail.empty())
            detail += "; " + result.first->detail.front();
    }
    if (!passed)
        detail += check.replay.expect_match ? " (expected a match)" : " (expected a divergence)";
    return {&check, passed, detail};
}

// What the workload clients recorded and the nodes counted: the inputs of the
// counter, http and kv_linearizable checks.
struct Observations {
    const WorkloadLog& log;
    const CounterBook& counters;
};

std::vector<CheckOutcome> judge(const Scenario& scenario, sim::World& world,
                                const std::vector<NodeRef>& nodes,
                                const std::vector<ExitSample>& samples,
                                const Observations& seen)
{
    // Any node failure (panic, watchdog, boot failure) fails the run, whether
    // or not the scenario asked: it is what the simulator exists to find.
    std::vector<CheckOutcome> outcomes{judge_failures(nullptr, world, nodes)};
    usize next_sample = 0;
    for (const CheckSpec& check : scenario.checks) {
        switch (check.kind) {
        case CheckKind::exit_code:
            outcomes.push_back(judge_exit_code(check, world, nodes));
            break;
        case CheckKind::log_contains:
        case CheckKind::log_absent:
            outcomes.push_back(judge_log(check, world, nodes));
            break;
        case CheckKind::no_node_failures:
            outcomes.push_back(judge_failures(&check, world, nodes));
            break;
        case CheckKind::exited_by:
            outcomes.push_back(judge_exit_sample(samples.at(next_sample++)));
            break;
        case CheckKind::replay:
            outcomes.push_back(judge_replay(scenario, check, world.seed()));
            break;
        case CheckKind::counter:
            outcomes.push_back(judge_counter(scenario, check, seen.counters, world));
            break;
        case CheckKind::http:
            outcomes.push_back(judge_http(scenario, check, seen.log));
            break;
        case CheckKind::kv_linearizable:
            outcomes.push_back(judge_kv(check, seen.log));
            break;
        }
    }
    return outcomes;
}

} // namespace

RunOutcome run_scenario(const Scenario& scenario, const RunOptions& options)
{
    auto started = std::chrono::steady_clock::now();
    if (!options.out_dir.empty())
        std::filesystem::create_directories(options.out_dir);
    sim::WorldConfig config;
    config.seed = options.seed;
    config.hash_every = options.hash_every;
    config.trace_in_memory = options.keep_trace_in_memory;
    if (!options.out_dir.empty())
        config.trace_path = options.out_dir + "/trace.gtrace";
    sim::World world(config);
    WorkloadLog log;
    log.service_counters.resize(scenario.nodes.size());
    std::vector<NodeRef> nodes = build_nodes(scenario, world, options, log);
    // Node ids are the nodes' places in the file (add_node counts from 0).
    CounterBook counters(scenario.nodes.size());
    world.on_incarnation_end([&counters](sim::NodeId id, Kernel& kernel) {
        counters.add_kernel(id, kernel);
    });
    build_network(scenario, world, nodes, options);
    schedule_faults(scenario, faults_for_seed(scenario, options.seed), world, nodes);
    schedule_liveness(scenario, world, nodes);
    std::vector<ExitSample> samples;
    schedule_exit_samples(scenario, world, nodes, samples);

    sim::RunResult result = world.run_until_idle(scenario.duration_ns);
    for (const NodeRef& node : nodes) {
        counters.add_world(node.id, world, node.id);
        counters.add_service(node.id, log.service_counters.at(node.id));
    }
    RunOutcome outcome;
    outcome.seed = options.seed;
    outcome.checks = judge(scenario, world, nodes, samples, {log, counters});
    if (!world.finish_trace())
        throw std::runtime_error("writing the trace to " + config.trace_path + " failed");
    outcome.passed = true;
    for (const CheckOutcome& check : outcome.checks)
        outcome.passed = outcome.passed && check.passed;
    outcome.failures.assign(world.failures().begin(), world.failures().end());
    outcome.summary = disk_summaries(world, nodes);
    outcome.end = result.end;
    outcome.end_time = result.time;
    outcome.events = result.events;
    outcome.event_hash = world.event_hash();
    outcome.checkpoints.assign(world.checkpoints().begin(), world.checkpoints().end());
    if (options.keep_trace_in_memory)
        outcome.trace = world.trace_bytes();
    outcome.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return outcome;
}

std::string describe(const Scenario& scenario, const CheckOutcome& outcome)
{
    if (!outcome.check)
        return "no node may fail: " + outcome.detail;
    usize index = static_cast<usize>(outcome.check - scenario.checks.data()) + 1;
    std::string text = "check " + std::to_string(index) + " (" + outcome.check->mark.text() +
                       "): " + outcome.detail;
    // A history check judges the safety phase as much as the end: it is no
    // statement about convergence.
    if (scenario.liveness.enabled && outcome.check->kind != CheckKind::kv_linearizable)
        text += " (not converged " + std::to_string(scenario.liveness.within_ns / ns_per_ms) +
                " ms after faults stopped at " +
                std::to_string(scenario.liveness.after_ns / ns_per_ms) + " ms)";
    return text;
}

} // namespace gantry::harness
