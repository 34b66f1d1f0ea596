// The ns-3 peer of the simulator benchmarks (bench/run). By default the same
// exchange as bench/sim-bulk.yaml, where a client writes BYTES over TCP to an
// echo server that sends them back while it writes: here two BulkSend
// applications, one each way, BYTES each, between two nodes on a 1 Gbit/s
// point-to-point link with 100 us of one-way delay (ns-3 3.37, Debian's
// libns3-dev; NewReno, its default TCP). With --one-way, one BulkSend only:
// the same transfer as the BM_SimTcpBulk benchmark (bench/bench_sim_net.cpp).
//
// Prints "ns3_bulk BYTES_RECEIVED SIMULATED_S WALL_S CPU_S DROPS": the
// transfer's simulated time, the wall time of Simulator::Run alone, the CPU
// time of building the world and running it (process start-up excluded, as
// in the Gantry benchmark), and the packets the device queues dropped.
// Usage: gantry-bench-ns3 [BYTES] [--one-way] [--rate=1Gbps] [--delay=100us]
#include <ns3/applications-module.h>
#include <ns3/core-module.h>
#include <ns3/internet-module.h>
#include <ns3/network-module.h>
#include <ns3/point-to-point-module.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

using namespace ns3;

namespace {

// Both directions' bytes seen by the sinks; the run stops when all arrived.
struct Progress {
    uint64_t expected = 0;
    uint64_t received = 0;
    double done_at_s = 0;
};
Progress progress;
uint64_t device_drops = 0;

void on_device_drop(Ptr<const Packet>)
{
    device_drops++;
}

double process_cpu_s()
{
    timespec now{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

void on_rx(Ptr<const Packet> packet, const Address&)
{
    progress.received += packet->GetSize();
    if (progress.received >= progress.expected && progress.done_at_s == 0) {
        progress.done_at_s = Simulator::Now().GetSeconds();
        Simulator::Stop();
    }
}

ApplicationContainer bulk(Ptr<Node> from, Ipv4Address to, uint16_t port, uint64_t bytes)
{
    BulkSendHelper sender("ns3::TcpSocketFactory", InetSocketAddress(to, port));
    sender.SetAttribute("MaxBytes", UintegerValue(bytes));
    sender.SetAttribute("SendSize", UintegerValue(4096));
    return sender.Install(from);
}

} // namespace

int main(int argc, char** argv)
{
    double cpu_started = process_cpu_s();
    uint64_t bytes = 10'000'000;
    bool one_way = false;
    std::string rate = "1Gbps";
    std::string delay = "100us";
    for (int i = 1; i < argc; i++) {
        const char* arg = argv[i];
        if (std::strcmp(arg, "--one-way") == 0)
            one_way = true;
        else if (std::strncmp(arg, "--rate=", 7) == 0)
            rate = arg + 7;
        else if (std::strncmp(arg, "--delay=", 8) == 0)
            delay = arg + 8;
        else if (arg[0] >= '0' && arg[0] <= '9')
            bytes = std::strtoull(arg, nullptr, 10);
        else {
            std::fprintf(stderr, "gantry-bench-ns3: unknown argument '%s'\n"
                         "usage: gantry-bench-ns3 [BYTES] [--one-way] [--rate=1Gbps] "
                         "[--delay=100us]\n", arg);
            return 2;
        }
    }
    // Buffers like Gantry's default TCP socket (256 KiB each way).
    Config::SetDefault("ns3::TcpSocket::SndBufSize", UintegerValue(256 * 1024));
    Config::SetDefault("ns3::TcpSocket::RcvBufSize", UintegerValue(256 * 1024));
    Config::SetDefault("ns3::TcpSocket::SegmentSize", UintegerValue(1448));
    NodeContainer nodes;
    nodes.Create(2);
    PointToPointHelper link;
    link.SetDeviceAttribute("DataRate", StringValue(rate));
    link.SetChannelAttribute("Delay", StringValue(delay));
    NetDeviceContainer devices = link.Install(nodes);
    for (uint32_t i = 0; i < devices.GetN(); i++)
        devices.Get(i)->TraceConnectWithoutContext("MacTxDrop", MakeCallback(&on_device_drop));
    InternetStackHelper internet;
    internet.Install(nodes);
    Ipv4AddressHelper addresses;
    addresses.SetBase("10.0.0.0", "255.255.255.0");
    Ipv4InterfaceContainer interfaces = addresses.Assign(devices);

    const uint16_t port = 7;
    PacketSinkHelper sink("ns3::TcpSocketFactory", InetSocketAddress(Ipv4Address::GetAny(), port));
    ApplicationContainer sinks = sink.Install(nodes);
    const uint64_t expected = one_way ? bytes : 2 * bytes;
    progress.expected = expected;
    for (uint32_t i = 0; i < sinks.GetN(); i++)
        sinks.Get(i)->TraceConnectWithoutContext("Rx", MakeCallback(&on_rx));
    ApplicationContainer senders;
    senders.Add(bulk(nodes.Get(0), interfaces.GetAddress(1), port, bytes));
    if (!one_way)
        senders.Add(bulk(nodes.Get(1), interfaces.GetAddress(0), port, bytes));
    sinks.Start(Seconds(0));
    senders.Start(Seconds(0.001));
    Simulator::Stop(Seconds(600));

    auto started = std::chrono::steady_clock::now();
    Simulator::Run();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    uint64_t received = DynamicCast<PacketSink>(sinks.Get(0))->GetTotalRx() +
                        DynamicCast<PacketSink>(sinks.Get(1))->GetTotalRx();
    double cpu = process_cpu_s() - cpu_started;
    // The transfer's own time: the senders start at 1 ms.
    double simulated = progress.done_at_s - 0.001;
    Simulator::Destroy();
    std::printf("ns3_bulk %llu %.6f %.6f %.6f %llu\n", static_cast<unsigned long long>(received),
                simulated, wall, cpu, static_cast<unsigned long long>(device_drops));
    return received == expected ? 0 : 1;
}
