// The simulator as a replay target: the app runs as a node of a world of its
// own, linked to a raw-frame node whose NIC the replay reads and writes from
// outside, between world events. Time is virtual, so waiting costs nothing and
// the run is deterministic for a seed.
#include "target.hpp"

#include <gantry/sched.hpp>
#include <gantry/sim/world.hpp>

namespace gantry::harness::replay {

namespace {

constexpr TimeNs link_latency_ns = 10 * ns_per_us;
constexpr usize frame_bytes_max = 9100;

// The replay's own node: it owns its NIC and does nothing; the replay reads and
// writes that NIC from outside, between world events.
class IdleClient final : public App {
public:
    int main(Kernel& kernel, AppArgs) override
    {
        for (;;)
            kernel.sched().sleep_for(3600 * ns_per_s);
    }
};

class SimTarget final : public Target {
public:
    explicit SimTarget(const ReplayOptions& options) : m_options(options) {}

    void start(const TargetSetup& setup) override
    {
        m_world = std::make_unique<sim::World>(
            sim::WorldConfig{.seed = m_options.seed, .trace_path = m_options.trace_path});
        sim::NodeConfig server;
        server.app = m_options.app;
        server.name = "server";
        server.args = m_options.app_args;
        server.memory_bytes = m_options.memory_bytes;
        server.ip = setup.ip;
        server.prefix = setup.prefix;
        server.gateway = setup.gateway;
        m_server = m_world->add_node(server);
        sim::NodeConfig client;
        client.factory = [](Kernel& kernel) -> App* { return kernel.heap().create<IdleClient>(); };
        client.name = "replay-client";
        client.nic_owner = sim::NicOwner::app;
        client.memory_bytes = 2 * 1024 * 1024;
        m_client = m_world->add_node(client);
        m_world->add_link(sim::Endpoint::node(m_server), sim::Endpoint::node(m_client),
                          {.name = "replay", .latency_ns = link_latency_ns, .mtu = m_options.mtu,
                           .pcap_path = m_options.pcap_path});
    }

    net::MacAddress node_mac() const override { return m_world->nic(m_server, 0)->mac(); }
    TimeNs now() const override { return m_world->now(); }
    void transmit(Bytes frame) override { m_world->nic(m_client, 0)->transmit(frame); }
    bool stopped() const override { return false; }
    bool real_time() const override { return false; }

    void run_until(TimeNs deadline, const Predicate& done, const FrameSink& sink) override
    {
        // Shared: the deadline's action may run after this returns.
        auto reached = std::make_shared<bool>(false);
        m_world->at(deadline, [reached](sim::World&) { *reached = true; });
        while (!*reached && !done() && m_world->step())
            drain(sink);
    }

    void finish(ReplayResult& result) override
    {
        m_world->finish_trace();
        result.target = "sim";
        result.end_ns = m_world->now();
        for (const sim::NodeFailure& failure : m_world->failures())
            result.node_failures.push_back(failure.describe());
    }

private:
    void drain(const FrameSink& sink)
    {
        sim::SimNic* nic = m_world->nic(m_client, 0);
        while (nic->rx_queued() > 0) {
            usize length = nic->receive(MutableBytes(m_buffer, sizeof m_buffer));
            if (length > 0)
                sink(Bytes(m_buffer, length));
        }
    }

    const ReplayOptions& m_options;
    std::unique_ptr<sim::World> m_world;
    sim::NodeId m_server = 0;
    sim::NodeId m_client = 0;
    u8 m_buffer[frame_bytes_max];
};

} // namespace

std::unique_ptr<Target> make_sim_target(const ReplayOptions& options)
{
    return std::make_unique<SimTarget>(options);
}

} // namespace gantry::harness::replay
