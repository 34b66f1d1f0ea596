// The simulated network's own cost: frames per wall second through one link and
// through a learning switch (two hops), raw frames between two nodes that own
// their NICs (no IP stack), so the figure is the fabric's and the world's.
// These have no peer, so the figures are counters and no ratio is registered.
// BM_SimTcpBulk (below) is a TCP transfer through the real stacks; its ns-3
// peer is a separate program that bench/run compares against.
#include <gantry/app.hpp>
#include <gantry/kernel.hpp>
#include <gantry/net/stack/stack.hpp>
#include <gantry/net/tcp/socket.hpp>
#include <gantry/nic.hpp>
#include <gantry/platform.hpp>
#include <gantry/sim/world.hpp>

#include <benchmark/benchmark.h>

#include <cstdio>
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

// ---------------------------------------------------------------------------
// Issue 5's simulator benchmark: two nodes, one TCP transfer over one link,
// the real stacks on both ends. A writer sends BYTES in 64 KiB writes and
// closes; a reader counts until the FIN. The figures: wall time of the whole
// world (boot, handshake, transfer, teardown), the transfer's simulated time
// (connect to the reader's end of stream), simulated seconds per wall second,
// and the goodput the TCP reached in simulated time (how near the link rate).
// bench/run runs the same transfer in ns-3 (bench/peers/ns3_bulk.cc).
namespace {

constexpr u16 bulk_port = 5001;
constexpr usize bulk_write_bytes = 64 * 1024;

// What the two apps report back to the benchmark (outside the nodes' arenas).
struct BulkOutcome {
    u64 expected = 0;
    u64 received = 0;
    TimeNs started_at = 0;
    TimeNs finished_at = 0;
    bool clean_eof = false;
};

class BulkWriter final : public App {
public:
    explicit BulkWriter(BulkOutcome* outcome) : m_outcome(outcome) {}

    int main(Kernel& kernel, AppArgs) override
    {
        net::TcpStack* tcp = kernel.net()->tcp();
        if (!tcp)
            return 1;
        m_outcome->started_at = kernel.now();
        auto connected = tcp->connect(net::Ipv4Address::from_u32(0x0a000001), bulk_port,
                                      kernel.now() + 10 * ns_per_s);
        if (!connected.ok())
            return 1;
        net::TcpSocket& socket = *connected.value();
        for (usize i = 0; i < bulk_write_bytes; ++i)
            m_chunk[i] = static_cast<u8>(i * 7);
        u64 sent = 0;
        while (sent < m_outcome->expected) {
            u64 left = m_outcome->expected - sent;
            usize length = left < bulk_write_bytes ? static_cast<usize>(left) : bulk_write_bytes;
            auto wrote = socket.write(Bytes(m_chunk, length), kernel.now() + 10 * ns_per_s);
            if (!wrote.ok() || wrote.value() != length)
                return 1;
            sent += length;
        }
        // The node stops when main returns: first our FIN, then the reader's
        // FIN after it has read everything, so no byte is left in a buffer.
        if (!socket.shutdown().ok())
            return 1;
        auto end = socket.read(MutableBytes(m_chunk, sizeof(m_chunk)), kernel.now() + 10 * ns_per_s);
        socket.close();
        return end.ok() && end.value() == 0 ? 0 : 1;
    }

private:
    BulkOutcome* m_outcome;
    u8 m_chunk[bulk_write_bytes];
};

class BulkReader final : public App {
public:
    explicit BulkReader(BulkOutcome* outcome) : m_outcome(outcome) {}

    int main(Kernel& kernel, AppArgs) override
    {
        net::TcpStack* tcp = kernel.net()->tcp();
        if (!tcp)
            return 1;
        auto listening = tcp->listen(bulk_port);
        if (!listening.ok())
            return 1;
        auto accepted = listening.value()->accept(kernel.now() + 10 * ns_per_s);
        if (!accepted.ok())
            return 1;
        net::TcpSocket& socket = *accepted.value();
        for (;;) {
            auto got = socket.read(MutableBytes(m_buffer, sizeof(m_buffer)),
                                   kernel.now() + 10 * ns_per_s);
            if (!got.ok())
                break;
            if (got.value() == 0) {
                m_outcome->clean_eof = true;
                break;
            }
            m_outcome->received += got.value();
        }
        m_outcome->finished_at = kernel.now();
        socket.close();
        listening.value()->close();
        return m_outcome->clean_eof && m_outcome->received == m_outcome->expected ? 0 : 1;
    }

private:
    BulkOutcome* m_outcome;
    u8 m_buffer[bulk_write_bytes];
};

NodeConfig bulk_node(const char* name, u32 ip, SimAppFactory factory)
{
    NodeConfig config;
    config.factory = std::move(factory);
    config.name = name;
    config.ip = net::Ipv4Address::from_u32(ip);
    return config;
}

// Args: megabytes (10^6 bytes), link Gbit/s. The link: 50 us each way (100 us
// of round trip), the default queue of 128 frames per direction.
void BM_SimTcpBulk(benchmark::State& state)
{
    const u64 bytes = static_cast<u64>(state.range(0)) * 1'000'000;
    const u64 bandwidth_bps = static_cast<u64>(state.range(1)) * 1'000'000'000;
    double simulated_s = 0;
    u64 events = 0;
    for (auto _ : state) {
        BulkOutcome outcome{.expected = bytes};
        World world({.seed = 1});
        NodeId reader = world.add_node(bulk_node("reader", 0x0a000001, [&outcome](Kernel& k) -> App* {
            return k.heap().create<BulkReader>(&outcome);
        }));
        NodeId writer = world.add_node(bulk_node("writer", 0x0a000002, [&outcome](Kernel& k) -> App* {
            return k.heap().create<BulkWriter>(&outcome);
        }));
        world.add_link(Endpoint::node(reader), Endpoint::node(writer),
                       LinkConfig{.latency_ns = 50 * ns_per_us, .bandwidth_bps = bandwidth_bps});
        RunResult result = world.run_until_idle(600 * ns_per_s);
        if (result.end != RunEnd::all_exited || world.exit_code(reader) != 0 ||
            world.exit_code(writer) != 0) {
            // What went wrong, for whoever runs the benchmark.
            for (const NodeFailure& failure : world.failures())
                std::fprintf(stderr, "%s\n", failure.describe().c_str());
            for (NodeId id : {reader, writer})
                std::fprintf(stderr, "%s", world.console(id).c_str());
            state.SkipWithError("the transfer did not complete");
            break;
        }
        simulated_s += static_cast<double>(outcome.finished_at - outcome.started_at) / 1e9;
        events += result.events;
    }
    auto iterations = static_cast<double>(state.iterations());
    state.SetBytesProcessed(static_cast<i64>(bytes * state.iterations()));
    state.counters["sim_s"] = simulated_s / iterations;
    // Rates over the wall time (UseRealTime): simulated seconds per wall second.
    state.counters["sim_s/wall_s"] = benchmark::Counter(simulated_s, benchmark::Counter::kIsRate);
    state.counters["events/s"] =
        benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
    state.counters["sim_Gbit/s"] =
        simulated_s > 0 ? static_cast<double>(bytes) * 8 * iterations / simulated_s / 1e9 : 0;
}
BENCHMARK(BM_SimTcpBulk)
    ->Args({100, 10}) // issue 5: 100 MB over 10 Gbit/s, 100 us RTT (target: < 1 s wall)
    ->Args({10, 10})  // bench/run --quick
    ->Args({10, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

} // namespace
