// echo: the UDP echo service (RFC 862) on port 7. Every datagram goes back to
// its sender unchanged. Runs until Ctrl-C (or SIGTERM); the network counters
// are logged at exit.
//
// `echo -- client A.B.C.D [COUNT]` is the other end: it sends COUNT datagrams
// (default 100) of varying sizes to A.B.C.D:7, checks that each comes back
// byte-identical within a second, and exits 0 if all did. Two unikernels on a
// virtual LAN (--net socket) test each other this way. `echo -- ping A.B.C.D
// [COUNT]` sends COUNT ICMP echo requests (default 10), 10 ms apart, prints each
// round trip and exits 0 if every one was answered.
#include <gantry/app.hpp>
#include <gantry/net/stack/dhcp_client.hpp>
#include <gantry/net/stack/stack.hpp>

namespace {

using namespace gantry;

constexpr u16 echo_port = 7;
constexpr TimeNs dhcp_wait_ns = 60 * ns_per_s;
// The largest UDP payload in one 1500-byte IPv4 packet.
constexpr usize client_payload_max = 1472;

class Echo final : public App {
public:
    int main(Kernel& kernel, AppArgs args) override
    {
        net::NetStack* stack = kernel.net();
        if (!stack) {
            kernel.log().error("echo: no network interface (run with --net tap,ifname=IF)");
            return 1;
        }
        if (net::DhcpClient* dhcp = stack->dhcp()) {
            if (!dhcp->wait_bound(kernel.now() + dhcp_wait_ns)) {
                kernel.log().error("echo: no DHCP lease within {} s", dhcp_wait_ns / ns_per_s);
                return 1;
            }
        }
        if (args.values.size() >= 2 && args.values[0] == "client")
            return client(kernel, *stack, args);
        if (args.values.size() >= 2 && args.values[0] == "ping")
            return ping(kernel, *stack, args);
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
    int client(Kernel& kernel, net::NetStack& stack, AppArgs args)
    {
        auto server = net::Ipv4Address::parse(args.values[1]);
        usize count = 100;
        if (args.values.size() >= 3)
            count = parse_count(args.values[2]);
        if (!server || count == 0) {
            kernel.log().error("echo: usage: echo -- client A.B.C.D [COUNT]");
            return 2;
        }
        auto bound = stack.udp_bind(0);
        if (!bound.ok())
            return 1;
        net::UdpSocket& socket = *bound.value();
        usize good = 0;
        for (usize i = 0; i < count; ++i) {
            usize length = 1 + (i * 397) % client_payload_max;
            for (usize j = 0; j < length; ++j)
                m_buffer[j] = static_cast<u8>(i + j * 13);
            if (!socket.send_to(*server, echo_port, Bytes(m_buffer, length)).ok())
                continue;
            good += receive_echo(kernel, socket, length, i) ? 1 : 0;
        }
        socket.close();
        kernel.log().info("echo client: {}/{} datagrams came back byte-identical", good, count);
        return good == count ? 0 : 1;
    }

    int ping(Kernel& kernel, net::NetStack& stack, AppArgs args)
    {
        auto target = net::Ipv4Address::parse(args.values[1]);
        usize count = args.values.size() >= 3 ? parse_count(args.values[2]) : 10;
        if (!target || count == 0 || count > 65535) {
            kernel.log().error("echo: usage: echo -- ping A.B.C.D [COUNT]");
            return 2;
        }
        for (usize j = 0; j < 56; ++j)
            m_buffer[j] = static_cast<u8>(j);
        usize answered = 0;
        for (usize i = 0; i < count; ++i) {
            auto rtt = stack.ping(*target, static_cast<u16>(i + 1), Bytes(m_buffer, 56),
                                  kernel.now() + ns_per_s);
            if (rtt.ok()) {
                answered++;
                kernel.print("64 bytes from {}: icmp_seq={} time={}.{:03} ms\n", args.values[1],
                             i + 1, rtt.value() / ns_per_ms, rtt.value() / ns_per_us % 1000);
            } else {
                kernel.print("icmp_seq={}: {}\n", i + 1, net::ping_error_name(rtt.error()));
            }
            kernel.sched().sleep_for(10 * ns_per_ms);
        }
        kernel.log().info("echo ping: {}/{} answered", answered, count);
        return answered == count ? 0 : 1;
    }

    bool receive_echo(Kernel& kernel, net::UdpSocket& socket, usize length, usize i)
    {
        u8* back = m_buffer + length;
        auto got = socket.recv_from(MutableBytes(back, length + 1), kernel.now() + ns_per_s);
        if (!got.ok() || got.value().datagram_length != length)
            return false;
        for (usize j = 0; j < length; ++j)
            if (back[j] != static_cast<u8>(i + j * 13))
                return false;
        return true;
    }

    static usize parse_count(std::string_view text)
    {
        usize value = 0;
        for (char c : text) {
            if (c < '0' || c > '9' || value > 1'000'000)
                return 0;
            value = value * 10 + static_cast<usize>(c - '0');
        }
        return value;
    }

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
    u8 m_buffer[2 * net::UdpSocket::payload_bytes_max];
};

} // namespace

GANTRY_APP(echo, Echo)
