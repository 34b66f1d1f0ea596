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
//
// TCP echo on port 7 as well: a listener fiber accepts connections, one fiber
// per connection copies bytes back until the peer's FIN; beyond
// tcp_connections_max the connection is reset at once (each costs buffers).
// `echo -- tcp-client A.B.C.D BYTES [IDLE_S]` writes BYTES of a deterministic
// pattern while a reader fiber takes the echo back concurrently (so neither
// side's window stalls), checks every byte and exits 0 only if all came back.
// It gives up when the connection makes no progress for IDLE_S seconds (10):
// chaos scenarios raise it, so that only TCP itself can end the connection.
#include <gantry/app.hpp>
#include <gantry/net/stack/dhcp_client.hpp>
#include <gantry/net/stack/stack.hpp>

namespace {

using namespace gantry;

constexpr u16 echo_port = 7;
constexpr TimeNs dhcp_wait_ns = 60 * ns_per_s;
// The largest UDP payload in one 1500-byte IPv4 packet.
constexpr usize client_payload_max = 1472;
// TCP echo: connections served at once (more are reset), the copy size, and
// how often blocked fibers look at the shutdown flag.
constexpr usize tcp_connections_max = 8;
constexpr usize tcp_chunk_bytes = 4096;
constexpr TimeNs tcp_step_ns = ns_per_s;
// The TCP client gives up when the connection makes no progress this long
// (by default; its IDLE_S argument overrides it, up to tcp_idle_s_max).
constexpr TimeNs tcp_idle_default_ns = 10 * ns_per_s;
constexpr usize tcp_idle_s_max = 3600;

// The client's byte at stream offset k: not periodic in 256, so a shifted or
// repeated chunk does not look right.
constexpr u8 pattern_byte(usize k)
{
    return static_cast<u8>((k * 7) ^ (k >> 9) ^ (k >> 17));
}

// One per TCP connection being echoed; socket == nullptr: free.
struct TcpSlot {
    net::TcpSocket* socket = nullptr;
    u8 buffer[tcp_chunk_bytes];
};

// What the TCP client's reader fiber found.
struct TcpCheck {
    usize expected = 0;
    usize good = 0;         // bytes that matched, in order
    bool clean_eof = false; // the FIN came right after the last byte
};

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
        if (args.values.size() >= 1 && args.values[0] == "tcp-client")
            return tcp_client(kernel, *stack, args);
        auto bound = stack->udp_bind(echo_port);
        if (!bound.ok()) {
            kernel.log().error("echo: cannot bind UDP port {}: {}", echo_port,
                               net::udp_error_name(bound.error()));
            return 1;
        }
        net::UdpSocket* socket = bound.value();
        // TCP is an addition: without it (no memory) UDP still serves.
        net::TcpListener* listener = tcp_listen(kernel, *stack);
        // Ctrl-C closes both, which wakes the serving loops with `closed`.
        Fiber* watcher = kernel.sched().spawn("shutdown", [&kernel, socket, listener] {
            while (!kernel.shutdown_requested())
                kernel.shutdown_event().wait();
            socket->close();
            if (listener)
                listener->close();
        });
        if (!watcher)
            return 1;
        kernel.sched().detach(watcher);
        char address[net::Ipv4Address::text_bytes_max];
        stack->address().address.to_chars(address);
        kernel.log().info("echo: serving UDP {}:{}", std::string_view(address), echo_port);
        Fiber* acceptor = nullptr;
        if (listener) {
            acceptor = kernel.sched().spawn("tcp-accept", [this, &kernel, listener] {
                tcp_accept_loop(kernel, *listener);
            });
            if (acceptor)
                kernel.log().info("echo: serving TCP {}:{}", std::string_view(address),
                                  echo_port);
        }
        int status = serve(kernel, *socket);
        // The acceptor ends once its connections have (each within a step).
        if (acceptor)
            kernel.sched().join(acceptor);
        return status;
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

    net::TcpListener* tcp_listen(Kernel& kernel, net::NetStack& stack)
    {
        net::TcpStack* tcp = stack.tcp();
        if (!tcp) {
            kernel.log().warn("echo: no TCP (out of memory); serving UDP only");
            return nullptr;
        }
        auto listening = tcp->listen(echo_port);
        if (!listening.ok()) {
            kernel.log().warn("echo: cannot listen on TCP port {}: {}", echo_port,
                              net::tcp_error_name(listening.error()));
            return nullptr;
        }
        return listening.value();
    }

    TcpSlot* free_tcp_slot()
    {
        for (TcpSlot& slot : m_tcp)
            if (!slot.socket)
                return &slot;
        return nullptr;
    }

    usize tcp_active() const
    {
        usize active = 0;
        for (const TcpSlot& slot : m_tcp)
            active += slot.socket ? 1 : 0;
        return active;
    }

    void tcp_accept_loop(Kernel& kernel, net::TcpListener& listener)
    {
        u64 served = 0;
        u64 rejected = 0;
        for (;;) {
            auto accepted = listener.accept();
            if (!accepted.ok())
                break; // closed: shutting down
            TcpSlot* slot = free_tcp_slot();
            if (!slot) {
                // Over the limit: a reset tells the peer at once, not after a timeout.
                accepted.value()->abort();
                rejected++;
                continue;
            }
            slot->socket = accepted.value();
            Fiber* fiber = kernel.sched().spawn("tcp-echo", [this, &kernel, slot] {
                tcp_echo_connection(kernel, *slot);
            });
            if (!fiber) {
                slot->socket->abort();
                slot->socket = nullptr;
                rejected++;
                continue;
            }
            kernel.sched().detach(fiber);
            served++;
        }
        // The slots live in this app: wait until no fiber uses them. Each
        // notices the shutdown within tcp_step_ns.
        while (tcp_active() > 0)
            kernel.sched().sleep_for(10 * ns_per_ms);
        kernel.log().info("echo: {} TCP connections echoed, {} rejected (at most {} at once); "
                          "syn cookies sent {} accepted {}, accept queue overflows {}",
                          served, rejected, tcp_connections_max, listener.syn_cookies_sent(),
                          listener.syn_cookies_accepted(), listener.accept_overflows());
    }

    void tcp_echo_connection(Kernel& kernel, TcpSlot& slot)
    {
        net::TcpSocket& socket = *slot.socket;
        while (!kernel.shutdown_requested()) {
            // A deadline only so that shutdown is noticed on an idle connection.
            auto got = socket.read(MutableBytes(slot.buffer, sizeof(slot.buffer)),
                                   kernel.now() + tcp_step_ns);
            if (!got.ok() && got.error() == net::TcpError::timed_out)
                continue;
            if (!got.ok() || got.value() == 0)
                break; // reset, or the peer's FIN: all echoed
            if (!tcp_write_all(kernel, socket, Bytes(slot.buffer, got.value())))
                break;
        }
        // What the connection went through, so interop tests (and users) can see
        // the stack's defences at work: challenge ACKs, PAWS drops, retransmits.
        net::TcpStats stats = socket.stats();
        kernel.log().info("echo: tcp connection closed: {} bytes in, {} out, {} retransmits, "
                          "{} challenge acks, {} paws drops, {} out-of-order segments",
                          stats.bytes_in, stats.bytes_out, stats.retransmits,
                          stats.challenge_acks, stats.paws_drops, stats.ooo_segments);
        socket.close(); // FIN after the echoed data
        slot.socket = nullptr;
    }

    // false: the connection failed or the app is shutting down.
    static bool tcp_write_all(Kernel& kernel, net::TcpSocket& socket, Bytes data)
    {
        usize done = 0;
        while (done < data.size()) {
            if (kernel.shutdown_requested())
                return false;
            auto wrote = socket.write(data.subspan(done), kernel.now() + tcp_step_ns);
            if (!wrote.ok())
                return false;
            done += wrote.value();
        }
        return true;
    }

    int tcp_client(Kernel& kernel, net::NetStack& stack, AppArgs args)
    {
        bool arity_ok = args.values.size() == 3 || args.values.size() == 4;
        auto server = arity_ok ? net::Ipv4Address::parse(args.values[1]) : std::nullopt;
        usize total = arity_ok ? parse_count(args.values[2]) : 0;
        usize idle_s = args.values.size() == 4 ? parse_count(args.values[3])
                                               : tcp_idle_default_ns / ns_per_s;
        if (!server || total == 0 || idle_s == 0 || idle_s > tcp_idle_s_max) {
            kernel.log().error("echo: usage: echo -- tcp-client A.B.C.D BYTES [IDLE_S], "
                               "IDLE_S 1..{}", tcp_idle_s_max);
            return 2;
        }
        m_tcp_idle_max_ns = static_cast<TimeNs>(idle_s) * ns_per_s;
        net::TcpStack* tcp = stack.tcp();
        if (!tcp) {
            kernel.log().error("echo: no TCP (out of memory)");
            return 1;
        }
        TimeNs start = kernel.now();
        auto connected = tcp->connect(*server, echo_port, start + m_tcp_idle_max_ns);
        if (!connected.ok()) {
            kernel.log().error("echo: tcp connect to {}:{}: {}", args.values[1], echo_port,
                               net::tcp_error_name(connected.error()));
            return 1;
        }
        net::TcpSocket& socket = *connected.value();
        TcpCheck check{total};
        Fiber* reader = kernel.sched().spawn("tcp-reader", [this, &kernel, &socket, &check] {
            tcp_read_back(kernel, socket, check);
        });
        if (!reader) {
            socket.abort();
            return 1;
        }
        bool sent = tcp_send_pattern(kernel, socket, total);
        // Our FIN ends the server's copy loop, its FIN ends the reader; after a
        // failed write the reader ends with the connection's error.
        if (!socket.shutdown().ok())
            sent = false; // the connection is gone; the reader says why
        kernel.sched().join(reader);
        TimeNs elapsed = kernel.now() - start;
        socket.close();
        kernel.log().info("tcp echo client: {}/{} bytes came back byte-identical in {} ms",
                          check.good, total, elapsed / ns_per_ms);
        return sent && check.good == total && check.clean_eof ? 0 : 1;
    }

    bool tcp_send_pattern(Kernel& kernel, net::TcpSocket& socket, usize total)
    {
        usize sent = 0;
        while (sent < total) {
            usize length = total - sent < sizeof(m_tcp_out) ? total - sent : sizeof(m_tcp_out);
            for (usize j = 0; j < length; ++j)
                m_tcp_out[j] = pattern_byte(sent + j);
            auto wrote = socket.write(Bytes(m_tcp_out, length), kernel.now() + m_tcp_idle_max_ns);
            if (!wrote.ok() || wrote.value() != length) {
                kernel.log().error("echo: tcp write stalled after {} bytes: {}", sent,
                                   wrote.ok() ? "timed_out" : net::tcp_error_name(wrote.error()));
                return false;
            }
            sent += length;
        }
        return true;
    }

    void tcp_read_back(Kernel& kernel, net::TcpSocket& socket, TcpCheck& check)
    {
        for (;;) {
            auto got = socket.read(MutableBytes(m_tcp_in, sizeof(m_tcp_in)),
                                   kernel.now() + m_tcp_idle_max_ns);
            if (!got.ok()) {
                kernel.log().error("echo: tcp read after {} bytes: {}", check.good,
                                   net::tcp_error_name(got.error()));
                return;
            }
            if (got.value() == 0) {
                check.clean_eof = check.good == check.expected;
                return;
            }
            for (usize j = 0; j < got.value(); ++j) {
                if (check.good >= check.expected || m_tcp_in[j] != pattern_byte(check.good)) {
                    kernel.log().error("echo: tcp byte {} came back wrong", check.good);
                    return;
                }
                check.good++;
            }
        }
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

    TcpSlot m_tcp[tcp_connections_max] = {};
    u8 m_tcp_out[tcp_chunk_bytes]; // the TCP client's writer
    u8 m_tcp_in[tcp_chunk_bytes];  // the TCP client's reader
    TimeNs m_tcp_idle_max_ns = tcp_idle_default_ns;
};

} // namespace

GANTRY_APP(echo, Echo)
