// Feeds arbitrary frames to a whole network stack (10.77.0.2/24, MAC
// 02:77:00:00:00:02, the addresses scripts/netns-test uses, so frames captured
// there seed the corpus unchanged; on a TestNic,
// UDP port 7 bound) and checks that nothing crashes, no packet buffer leaks
// and every frame it sends parses. Input: records of [u8 time step][u16 length,
// big endian][frame]; a short last record takes the rest of the input. The time
// step (in 10 ms units) moves the clock before the frame, so ARP retries and
// reassembly timeouts run too. A fiber resolves a name through 10.77.0.1
// meanwhile, so DNS replies in the input reach the resolver (its first query
// comes from port 49152, the first ephemeral port).
#include "test_nic.hpp"
#include "test_platform.hpp"

#include <gantry/net/stack/dns_resolver.hpp>
#include <gantry/net/stack/stack.hpp>
#include <gantry/net/wire/ethernet.hpp>
#include <gantry/net/wire/ipv4.hpp>

#include <cstddef>
#include <cstdint>

using namespace gantry;
using namespace gantry::testing;

namespace {

constexpr usize frames_max = 256;

void check_sent(TestNic& nic)
{
    for (const auto& frame : nic.take_sent()) {
        auto ethernet = net::EthernetFrame::check(Bytes(frame));
        GANTRY_ASSERT(ethernet.ok());
        if (ethernet.value().ethertype() == net::EtherType::ipv4)
            GANTRY_ASSERT(net::Ipv4Packet::check(ethernet.value().payload()).ok());
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    TestKernel tk(KernelConfig{}, 4 * 1024 * 1024);
    TestNic nic(net::MacAddress{{0x02, 0x77, 0x00, 0x00, 0x00, 0x02}});
    net::NetConfig config;
    config.address = net::Ipv4Cidr{net::Ipv4Address::from_u32(0x0a4d0002), 24};
    config.gateway = net::Ipv4Address::from_u32(0x0a4d0001);
    auto created = net::NetStack::create(*tk.kernel, nic, config);
    GANTRY_ASSERT(created.ok());
    net::NetStack* stack = created.value();
    config.dns_server = config.gateway;
    net::UdpSocket* socket = stack->udp_bind(7).release_value();
    stack->dns().set_servers(&config.dns_server, 1);
    bool resolver_done = false;
    Fiber* resolver = tk.kernel->sched().spawn("resolver", [&] {
        for (int round = 0; round < 4; ++round)
            (void)stack->dns().resolve("svc.gantry.test", tk.platform.now() + 5 * ns_per_s);
        resolver_done = true;
    });
    GANTRY_ASSERT(resolver);
    tk.kernel->sched().detach(resolver);
    tk.kernel->poll();
    Bytes input(data, size);
    for (usize count = 0; count < frames_max && !input.empty(); ++count) {
        tk.platform.advance(input[0] * 10 * ns_per_ms);
        input = input.subspan(1);
        usize length = input.size() >= 2 ? (usize{input[0]} << 8 | input[1]) : input.size();
        input = input.subspan(input.size() >= 2 ? 2 : input.size());
        length = length <= input.size() ? length : input.size();
        nic.inject(input.first(length));
        input = input.subspan(length);
        stack->poll(tk.platform.now());
        tk.kernel->poll();
        check_sent(nic);
    }
    // Echo whatever arrived, then let every timer run out.
    u8 buffer[2048];
    while (socket->queued() > 0) {
        Fiber* reader = tk.kernel->sched().spawn("reader", [&] {
            auto got = socket->recv_from(MutableBytes(buffer, sizeof(buffer)));
            if (got.ok())
                (void)socket->send_to(got.value().source, got.value().source_port,
                                      Bytes(buffer, got.value().length));
        });
        GANTRY_ASSERT(reader);
        tk.kernel->sched().detach(reader);
        tk.kernel->poll();
    }
    tk.platform.advance(60 * ns_per_s);
    stack->poll(tk.platform.now());
    tk.platform.advance(60 * ns_per_s);
    stack->poll(tk.platform.now());
    check_sent(nic);
    // Let the resolver give up (every attempt has a deadline), then nothing may
    // still hold a packet buffer.
    for (int step = 0; step < 64 && !resolver_done; ++step) {
        tk.platform.advance(ns_per_s);
        stack->poll(tk.platform.now());
        tk.kernel->poll();
    }
    GANTRY_ASSERT(resolver_done);
    tk.platform.advance(60 * ns_per_s);
    stack->poll(tk.platform.now());
    check_sent(nic);
    socket->close();
    GANTRY_ASSERT(stack->pool().stats().in_use == 0);
    net::NetStack::destroy(*tk.kernel, stack);
    return 0;
}
