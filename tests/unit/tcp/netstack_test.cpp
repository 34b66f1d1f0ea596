// TCP through the whole stack: two NetStacks in one kernel, Ethernet frames
// carried between their in-memory NICs (ARP, IPv4, TCP demux, fibers).
#include "tcp_fixture.hpp"
#include "test_nic.hpp"

#include <gantry/net/stack/stack.hpp>

using namespace gantry;
using namespace gantry::testing;

namespace {

struct Host {
    Host(Kernel& kernel, u8 last_octet) : nic(MacAddress{{0x02, 0, 0, 0, 0, last_octet}})
    {
        NetConfig config;
        config.address = Ipv4Cidr{Ipv4Address::from_u32(0x0a000000u | last_octet), 24};
        stack = NetStack::create(kernel, nic, config).release_value();
    }
    TestNic nic;
    NetStack* stack = nullptr;
};

} // namespace

TEST_CASE("TCP over the network stack: connect, echo, close", "[tcp][netstack]")
{
    TestKernel tk(KernelConfig{}, 32 * 1024 * 1024);
    Kernel& kernel = *tk.kernel;
    Host a(kernel, 1), b(kernel, 2);
    REQUIRE(b.stack->tcp());
    TcpListener* listener = b.stack->tcp()->listen(7).release_value();
    std::string echoed;
    bool server_done = false;
    Fiber* server = kernel.sched().spawn("server", [&] {
        TcpSocket* socket = listener->accept().release_value();
        u8 buffer[64];
        auto got = socket->read(MutableBytes(buffer, sizeof(buffer)));
        REQUIRE(got.ok());
        REQUIRE(socket->write(Bytes(buffer, got.value())).ok());
        socket->close();
        server_done = true;
    });
    Fiber* client = kernel.sched().spawn("client", [&] {
        REQUIRE(a.stack->tcp());
        auto connected = a.stack->tcp()->connect(b.stack->address().address, 7,
                                                 kernel.now() + 5 * ns_per_s);
        REQUIRE(connected.ok());
        TcpSocket* socket = connected.value();
        const u8 hello[] = {'h', 'e', 'l', 'l', 'o'};
        REQUIRE(socket->write(Bytes(hello, 5)).ok());
        u8 buffer[8];
        REQUIRE(socket->read_exact(MutableBytes(buffer, 5)).ok());
        echoed.assign(reinterpret_cast<char*>(buffer), 5);
        socket->close();
    });
    kernel.sched().detach(server);
    kernel.sched().detach(client);
    for (int step = 0; step < 100000 && !(server_done && echoed.size() == 5); step++) {
        for (auto& frame : a.nic.take_sent())
            b.nic.inject(std::move(frame));
        for (auto& frame : b.nic.take_sent())
            a.nic.inject(std::move(frame));
        a.stack->poll(tk.platform.now());
        b.stack->poll(tk.platform.now());
        kernel.poll();
        tk.platform.advance(100 * ns_per_us);
    }
    CHECK(echoed == "hello");
    CHECK(server_done);
    NetStack::destroy(kernel, a.stack);
    NetStack::destroy(kernel, b.stack);
}

TEST_CASE("TCP over the network stack: a port without a listener answers RST",
          "[tcp][netstack]")
{
    TestKernel tk;
    Kernel& kernel = *tk.kernel;
    Host a(kernel, 1), b(kernel, 2);
    std::optional<TcpError> error;
    Fiber* client = kernel.sched().spawn("client", [&] {
        auto connected = a.stack->tcp()->connect(b.stack->address().address, 80,
                                                 kernel.now() + 2 * ns_per_s);
        error = connected.ok() ? std::nullopt : std::optional(connected.error());
    });
    kernel.sched().detach(client);
    REQUIRE(b.stack->tcp()); // b speaks TCP, without a listener on port 80
    for (int step = 0; step < 50000 && !error; step++) {
        for (auto& frame : a.nic.take_sent())
            b.nic.inject(std::move(frame));
        for (auto& frame : b.nic.take_sent())
            a.nic.inject(std::move(frame));
        a.stack->poll(tk.platform.now());
        b.stack->poll(tk.platform.now());
        kernel.poll();
        tk.platform.advance(100 * ns_per_us);
    }
    CHECK(error == TcpError::refused);
    NetStack::destroy(kernel, a.stack);
    NetStack::destroy(kernel, b.stack);
}
