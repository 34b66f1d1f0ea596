// The network stack end to end: a UDP echo round trip between two stack
// instances wired back to back through in-memory NICs (send, frame hand-over,
// receive into the socket queue, echo, and back), beside the same round trip
// through Linux's own stack on the loopback interface, measured in the same run.
#include "ratio.hpp"

#include <benchmark/benchmark.h>

#include "test_nic.hpp"
#include "test_platform.hpp"

#include <gantry/net/stack/stack.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace {

using namespace gantry;
using namespace gantry::testing;

constexpr usize payload_bytes = 64;

struct Node {
    Node(u8 last_octet)
        : nic(net::MacAddress{{0x02, 0, 0, 0, 0, last_octet}})
    {
        net::NetConfig config;
        config.address = net::Ipv4Cidr{net::Ipv4Address::from_u32(0x0a000000 | last_octet), 24};
        stack = net::NetStack::create(*tk.kernel, nic, config).release_value();
        socket = stack->udp_bind(7).release_value();
    }
    ~Node()
    {
        socket->close();
        net::NetStack::destroy(*tk.kernel, stack);
    }
    TestKernel tk;
    TestNic nic;
    net::NetStack* stack = nullptr;
    net::UdpSocket* socket = nullptr;
};

void carry(Node& from, Node& to)
{
    for (auto& frame : from.nic.take_sent())
        to.nic.inject(std::move(frame));
    to.stack->poll(to.tk.platform.now());
}

void BM_NetstackUdpEchoRoundTrip(benchmark::State& state)
{
    Node a(1), b(2);
    std::vector<u8> payload(payload_bytes, 0x5a);
    u8 buffer[2048];
    auto b_address = b.stack->address().address;
    // Resolve ARP both ways once, outside the timed loop.
    (void)a.socket->send_to(b_address, 7, Bytes(payload));
    for (int i = 0; i < 3; ++i) {
        carry(a, b);
        carry(b, a);
    }
    while (b.socket->queued() > 0)
        (void)b.socket->recv_from(MutableBytes(buffer, sizeof(buffer)));
    for (auto _ : state) {
        (void)a.socket->send_to(b_address, 7, Bytes(payload));
        carry(a, b);
        auto got = b.socket->recv_from(MutableBytes(buffer, sizeof(buffer)));
        (void)b.socket->send_to(got.value().source, got.value().source_port,
                                Bytes(buffer, got.value().length));
        carry(b, a);
        auto back = a.socket->recv_from(MutableBytes(buffer, sizeof(buffer)));
        benchmark::DoNotOptimize(back.value().length);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NetstackUdpEchoRoundTrip);

// The peer: two UDP sockets on 127.0.0.1, one datagram there and back per iteration.
void BM_LinuxLoopbackUdpEchoRoundTrip(benchmark::State& state)
{
    int client = socket(AF_INET, SOCK_DGRAM, 0);
    int server = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(server, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    getsockname(server, reinterpret_cast<sockaddr*>(&address), &length);
    std::vector<u8> payload(payload_bytes, 0x5a);
    u8 buffer[2048];
    for (auto _ : state) {
        sendto(client, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&address),
               sizeof(address));
        sockaddr_in from{};
        socklen_t from_length = sizeof(from);
        ssize_t got = recvfrom(server, buffer, sizeof(buffer), 0,
                               reinterpret_cast<sockaddr*>(&from), &from_length);
        sendto(server, buffer, static_cast<size_t>(got), 0, reinterpret_cast<sockaddr*>(&from),
               from_length);
        benchmark::DoNotOptimize(recv(client, buffer, sizeof(buffer), 0));
    }
    state.SetItemsProcessed(state.iterations());
    close(client);
    close(server);
}
BENCHMARK(BM_LinuxLoopbackUdpEchoRoundTrip);

GANTRY_RATIO("UDP echo round trip: two Gantry stacks in memory vs Linux loopback",
             "BM_NetstackUdpEchoRoundTrip", "BM_LinuxLoopbackUdpEchoRoundTrip", 1.0);

} // namespace
