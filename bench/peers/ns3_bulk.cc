// The ns-3 peer of the simulator benchmark (bench/run): the same exchange as
// bench/sim-bulk.yaml, where a client writes BYTES over TCP to an echo server
// that sends them back while it writes: here two BulkSend applications, one
// each way, BYTES each, between two nodes on a 1 Gbit/s point-to-point link
// with 100 us of one-way delay (ns-3 3.37, Debian's libns3-dev; NewReno,
// its default TCP). Prints "ns3_bulk BYTES_RECEIVED SIMULATED_S WALL_S", the
// wall time of Simulator::Run alone. Usage: gantry-bench-ns3 [BYTES]
#include <ns3/applications-module.h>
#include <ns3/core-module.h>
#include <ns3/internet-module.h>
#include <ns3/network-module.h>
#include <ns3/point-to-point-module.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

using namespace ns3;

namespace {

// Both directions' bytes seen by the sinks; the run stops when all arrived.
struct Progress {
    uint64_t expected = 0;
    uint64_t received = 0;
    double done_at_s = 0;
};
Progress progress;

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
    uint64_t bytes = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000;
    // Buffers like Gantry's default TCP socket (256 KiB each way).
    Config::SetDefault("ns3::TcpSocket::SndBufSize", UintegerValue(256 * 1024));
    Config::SetDefault("ns3::TcpSocket::RcvBufSize", UintegerValue(256 * 1024));
    Config::SetDefault("ns3::TcpSocket::SegmentSize", UintegerValue(1448));
    NodeContainer nodes;
    nodes.Create(2);
    PointToPointHelper link;
    link.SetDeviceAttribute("DataRate", StringValue("1Gbps"));
    link.SetChannelAttribute("Delay", StringValue("100us"));
    NetDeviceContainer devices = link.Install(nodes);
    InternetStackHelper internet;
    internet.Install(nodes);
    Ipv4AddressHelper addresses;
    addresses.SetBase("10.0.0.0", "255.255.255.0");
    Ipv4InterfaceContainer interfaces = addresses.Assign(devices);

    const uint16_t port = 7;
    PacketSinkHelper sink("ns3::TcpSocketFactory", InetSocketAddress(Ipv4Address::GetAny(), port));
    ApplicationContainer sinks = sink.Install(nodes);
    progress.expected = 2 * bytes;
    for (uint32_t i = 0; i < sinks.GetN(); i++)
        sinks.Get(i)->TraceConnectWithoutContext("Rx", MakeCallback(&on_rx));
    ApplicationContainer senders;
    senders.Add(bulk(nodes.Get(0), interfaces.GetAddress(1), port, bytes));
    senders.Add(bulk(nodes.Get(1), interfaces.GetAddress(0), port, bytes));
    sinks.Start(Seconds(0));
    senders.Start(Seconds(0.001));
    Simulator::Stop(Seconds(600));

    auto started = std::chrono::steady_clock::now();
    Simulator::Run();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    uint64_t received = DynamicCast<PacketSink>(sinks.Get(0))->GetTotalRx() +
                        DynamicCast<PacketSink>(sinks.Get(1))->GetTotalRx();
    double simulated = progress.done_at_s;
    Simulator::Destroy();
    std::printf("ns3_bulk %llu %.6f %.6f\n", static_cast<unsigned long long>(received), simulated,
                wall);
    return received == 2 * bytes ? 0 : 1;
}
