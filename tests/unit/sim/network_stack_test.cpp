// The kernel's own network stack over the simulated fabric: ARP resolves
// through a learning switch and UDP datagrams reach the echo app and come back,
// with the link's loss and the same seed giving exactly the same exchange.
#include "sim_test_apps.hpp"

#include <catch2/catch.hpp>
#include <gantry/net/stack/stack.hpp>

#include <cstring>

using namespace gantry;
using namespace gantry::sim;
using namespace sim_test;

namespace {

struct EchoLog {
    std::vector<std::pair<u32, TimeNs>> replies; // (sequence, round-trip time)
    int sent = 0;
};

// Sends `count` datagrams to 10.0.0.1:7 (the echo app), one every 10 ms, and
// waits up to 20 ms for each answer.
class UdpClient final : public App {
public:
    UdpClient(EchoLog* log, u32 count) : m_log(log), m_count(count) {}

    int main(Kernel& kernel, AppArgs) override
    {
        net::NetStack* stack = kernel.net();
        GANTRY_ASSERT(stack != nullptr);
        auto bound = stack->udp_bind(0);
        GANTRY_ASSERT(bound.ok());
        net::UdpSocket& socket = *bound.value();
        auto server = net::Ipv4Address::from_u32(0x0a000001);
        for (u32 sequence = 0; sequence < m_count; ++sequence) {
            TimeNs start = kernel.now();
            if (socket.send_to(server, 7, Bytes(reinterpret_cast<u8*>(&sequence), 4)).ok())
                ++m_log->sent;
            u8 answer[64];
            auto got = socket.recv_from(MutableBytes(answer, sizeof(answer)),
                                        start + 20 * ns_per_ms);
            if (got.ok() && got.value().length == 4) {
                u32 echoed = 0;
                std::memcpy(&echoed, answer, 4);
                m_log->replies.emplace_back(echoed, kernel.now() - start);
            }
            kernel.sched().sleep_until(start + 10 * ns_per_ms);
        }
        return 0;
    }

private:
    EchoLog* m_log;
    u32 m_count;
};

EchoLog run_echo(u64 seed, u32 loss_ppm)
{
    EchoLog log;
    World world({.seed = seed});
    NodeConfig server{.app = "echo", .name = "server"};
    server.ip = net::Ipv4Address::from_u32(0x0a000001);
    NodeConfig client{.factory = [&log](Kernel& kernel) -> App* {
        return kernel.heap().create<UdpClient>(&log, 50);
    }};
    client.name = "client";
    client.ip = net::Ipv4Address::from_u32(0x0a000002);
    NodeId a = world.add_node(server);
    NodeId b = world.add_node(client);
    SwitchId sw = world.add_switch({.name = "sw"});
    world.add_link(Endpoint::node(a), Endpoint::switch_port(sw), {.latency_ns = 100 * ns_per_us});
    world.add_link(Endpoint::node(b), Endpoint::switch_port(sw),
                   {.latency_ns = 100 * ns_per_us, .faults = {.loss_ppm = loss_ppm}});
    world.run_until_idle(10 * ns_per_s);
    REQUIRE(world.failures().empty());
    CHECK(world.exit_code(b) == 0);
    CHECK(world.console(a).find("echo: serving UDP 10.0.0.1:7") != std::string::npos);
    return log;
}

} // namespace

TEST_CASE("the kernel's stack resolves ARP and echoes UDP through a switch")
{
    EchoLog log = run_echo(1, 0);
    CHECK(log.sent == 50);
    REQUIRE(log.replies.size() == 50);
    for (u32 i = 0; i < 50; ++i)
        CHECK(log.replies[i].first == i);
    // Four hops of 100 us each way and back; the first also waits for ARP.
    CHECK(log.replies[1].second >= 400 * ns_per_us);
    CHECK(log.replies[1].second < 500 * ns_per_us);
    CHECK(log.replies[0].second > log.replies[1].second);
}

TEST_CASE("UDP over a lossy link loses some echoes, the same ones for one seed")
{
    EchoLog first = run_echo(4, 200'000);
    EchoLog again = run_echo(4, 200'000);
    CHECK(first.replies.size() > 15);
    CHECK(first.replies.size() < 45);
    CHECK(first.replies == again.replies);
}
