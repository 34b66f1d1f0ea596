// The simulated network's own cost: frames per wall second through one link and
// through a learning switch (two hops), raw frames between two nodes that own
// their NICs (no IP stack), so the figure is the fabric's and the world's.
// There is no peer in this slice (ns-3's comparison needs TCP over the stack),
// so the figures are counters and no ratio is registered.
#include <gantry/app.hpp>
#include <gantry/nic.hpp>
#include <gantry/platform.hpp>
#include <gantry/sim/world.hpp>

#include <benchmark/benchmark.h>

#include <cstring>

using namespace gantry;
using namespace gantry::sim;

namespace {

constexpr u64 frames_per_run = 100'000;
constexpr u64 batch_frames = 64;
constexpr TimeNs batch_interval_ns = 10 * ns_per_us;
constexpr usize frame_bytes = 512;

// Sends frames_per_run frames to node 1's NIC in batches, then exits.
class Blaster final : public App {
public:
    int main(Kernel& kernel, AppArgs) override
    {
        Nic& nic = *kernel.platform().nic(0);
        u8 frame[frame_bytes] = {};
        sim_mac(1, 0).write_to(MutableBytes(frame, 6));
        nic.mac().write_to(MutableBytes(frame + 6, 6));
        frame[12] = 0x88;
        frame[13] = 0xb5;
        for (u64 sent = 0; sent < frames_per_run;) {
            for (u64 i = 0; i < batch_frames && sent < frames_per_run; ++i, ++sent) {
                std::memcpy(frame + 14, &sent, sizeof(sent));
                nic.transmit(Bytes(frame, sizeof(frame)));
            }
            kernel.sched().sleep_for(batch_interval_ns);
        }
        return 0;
    }
};

// Drains its NIC every batch interval until it has seen every frame.
class Sink final : public App {
public:
    int main(Kernel& kernel, AppArgs) override
    {
        Nic& nic = *kernel.platform().nic(0);
        u64 received = 0;
        while (received < frames_per_run) {
            while (nic.receive(MutableBytes(m_buffer, sizeof(m_buffer))) != 0)
                ++received;
            kernel.sched().sleep_for(batch_interval_ns);
        }
        return 0;
    }

private:
    u8 m_buffer[2048];
};

template<typename T>
NodeConfig raw(const char* name)
{
    NodeConfig config;
    config.factory = [](Kernel& kernel) -> App* { return kernel.heap().create<T>(); };
    config.name = name;
    config.memory_bytes = 2 * 1024 * 1024;
    config.nic_owner = NicOwner::app;
    return config;
}

void run_frames(benchmark::State& state, bool through_switch)
{
    u64 events = 0;
    for (auto _ : state) {
        World world({.seed = 1});
        NodeId a = world.add_node(raw<Blaster>("blaster"));
        NodeId b = world.add_node(raw<Sink>("sink"));
        // 64 frames of 536 wire bytes take 2.7 us at 100 Gbit/s: the queue never fills.
        LinkConfig link{.latency_ns = 10 * ns_per_us, .bandwidth_bps = 100'000'000'000};
        if (through_switch) {
            SwitchId sw = world.add_switch({.name = "sw"});
            world.add_link(Endpoint::node(a), Endpoint::switch_port(sw), link);
            world.add_link(Endpoint::node(b), Endpoint::switch_port(sw), link);
        } else {
            world.add_link(Endpoint::node(a), Endpoint::node(b), link);
        }
        RunResult result = world.run_until_idle(10 * ns_per_s);
        if (result.end != RunEnd::all_exited || world.exit_code(b) != 0)
            state.SkipWithError("not every frame arrived");
        events += result.events;
    }
    auto total = static_cast<double>(frames_per_run * state.iterations());
    state.counters["frames/s"] = benchmark::Counter(total, benchmark::Counter::kIsRate);
    state.counters["events/s"] =
        benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}

void BM_SimNetLink(benchmark::State& state)
{
    run_frames(state, false);
}
BENCHMARK(BM_SimNetLink)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SimNetSwitch(benchmark::State& state)
{
    run_frames(state, true);
}
BENCHMARK(BM_SimNetSwitch)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace
