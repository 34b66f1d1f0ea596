// echo: the UDP echo service (RFC 862) on port 7. Every datagram goes back to
// its sender unchanged. Runs until Ctrl-C (or SIGTERM); the network counters
// are logged at exit.
#include <gantry/app.hpp>
#include <gantry/net/stack/stack.hpp>

namespace {

using namespace gantry;

constexpr u16 echo_port = 7;

class Echo final : public App {
public:
    int main(Kernel& kernel, AppArgs) override
    {
        net::NetStack* stack = kernel.net();
        if (!stack) {
            kernel.log().error("echo: no network interface (run with --net tap,ifname=IF)");
            return 1;
        }
        auto bound = stack->udp_bind(echo_port);
        if (!bound.ok()) {
            kernel.log().error("echo: cannot bind UDP port {}: {}", echo_port,
                               net::udp_error_name(bound.error()));
            return 1;
        }
        net::UdpSocket* socket = bound.value();
        // Ctrl-C closes the socket, which wakes the serving loop with `closed`.
        Fiber* watcher = kernel.sched().spawn("shutdown", [&kernel, socket] {
            while (!kernel.shutdown_requested())
                kernel.shutdown_event().wait();
            socket->close();
        });
        if (!watcher)
            return 1;
        kernel.sched().detach(watcher);
        char address[net::Ipv4Address::text_bytes_max];
        stack->address().address.to_chars(address);
        kernel.log().info("echo: serving UDP {}:{}", std::string_view(address), echo_port);
        return serve(kernel, *socket);
    }

private:
    int serve(Kernel& kernel, net::UdpSocket& socket)
    {
        u64 echoed = 0;
        for (;;) {
            auto received = socket.recv_from(MutableBytes(m_buffer, sizeof(m_buffer)));
            if (!received.ok())
                break; // closed: shutting down
            const net::UdpMeta& meta = received.value();
            auto sent = socket.send_to(meta.source, meta.source_port,
                                       Bytes(m_buffer, meta.length));
            if (sent.ok())
                echoed++;
        }
        kernel.log().info("echo: {} datagrams echoed", echoed);
        return 0;
    }

    // A member, not a global: one buffer per kernel instance (per simulated node).
    u8 m_buffer[net::UdpSocket::payload_bytes_max];
};

} // namespace

GANTRY_APP(echo, Echo)
