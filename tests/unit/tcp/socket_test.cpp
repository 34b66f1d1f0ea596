// TCP sockets on fibers: two TcpStacks in one kernel, wired through an
// in-memory IPv4 stand-in that delivers each segment 50 us later.
#include "tcp_fixture.hpp"
#include "trace_records.hpp"

#include <gantry/net/endian.hpp>
#include <gantry/net/tcp/socket.hpp>

#include <functional>
#include <string>

using namespace gantry;
using namespace gantry::testing;

namespace {

class LoopWire final : public TcpIpOutput {
public:
    explicit LoopWire(Kernel& kernel) : m_kernel(kernel), m_timer(deliver_due, this) {}
    ~LoopWire() override { m_kernel.timers().cancel(m_timer); }

    bool tcp_send_ip(Ipv4Address source, Ipv4Address destination, Bytes segment) override
    {
        sent++;
        if (drop_all || (drop_filter && drop_filter(segment)))
            return true;
        m_queue.push_back(Frame{source, destination, {segment.begin(), segment.end()}});
        if (!m_timer.armed())
            REQUIRE(m_kernel.timers().arm(m_timer, m_kernel.now() + 50 * ns_per_us));
        return true;
    }
    void attach(TcpStack* stack) { m_stacks.push_back(stack); }

    bool drop_all = false;
    std::function<bool(Bytes)> drop_filter;
    u64 sent = 0;

private:
    struct Frame {
        Ipv4Address source;
        Ipv4Address destination;
        std::vector<u8> bytes;
    };
    static void deliver_due(Timer&, void* context)
    {
        auto* wire = static_cast<LoopWire*>(context);
        std::vector<Frame> frames;
        frames.swap(wire->m_queue);
        for (auto& frame : frames)
            for (TcpStack* stack : wire->m_stacks)
                if (stack->address() == frame.destination)
                    stack->input(frame.source, frame.destination, Bytes(frame.bytes),
                                 wire->m_kernel.now());
    }
    Kernel& m_kernel;
    Timer m_timer;
    std::vector<Frame> m_queue;
    std::vector<TcpStack*> m_stacks;
};

KernelConfig traced_kernel()
{
    KernelConfig config;
    config.trace = true;
    return config;
}

struct TwoHosts {
    TwoHosts(TcpStackConfig config = small_config(), KernelConfig kernel = {})
        : tk(kernel, 32 * 1024 * 1024), wire(*tk.kernel)
    {
        server = TcpStack::create(*tk.kernel, wire, local_ip, config).release_value();
        client = TcpStack::create(*tk.kernel, wire, remote_ip, config).release_value();
        wire.attach(server);
        wire.attach(client);
    }
    ~TwoHosts()
    {
        TcpStack::destroy(*tk.kernel, server);
        TcpStack::destroy(*tk.kernel, client);
    }
    static TcpStackConfig small_config()
    {
        TcpStackConfig config;
        config.tcp.send_buffer_bytes = 32 * 1024;
        config.tcp.receive_buffer_bytes = 32 * 1024;
        config.tcp.msl_ns = 1 * ns_per_s;
        config.sockets_max = 32;
        config.listeners_max = 4;
        return config;
    }
    template<typename F>
    void spawn(const char* name, F body)
    {
        Fiber* fiber = tk.kernel->sched().spawn(name, body);
        REQUIRE(fiber);
        tk.kernel->sched().detach(fiber);
    }
    void run(TimeNs limit = 60 * ns_per_s) { tk.run_until_idle(tk.platform.now() + limit); }

    TestKernel tk;
    LoopWire wire;
    TcpStack* server = nullptr;
    TcpStack* client = nullptr;
};

Bytes bytes_of(std::string_view text)
{
    return Bytes(reinterpret_cast<const u8*>(text.data()), text.size());
}

} // namespace

TEST_CASE("sockets: echo over connect/accept, then both sides reclaimed", "[tcp][socket]")
{
    TwoHosts hosts;
    TcpListener* listener = hosts.server->listen(7).release_value();
    std::string echoed;
    hosts.spawn("server", [&] {
        TcpSocket* socket = listener->accept().release_value();
        u8 buffer[256];
        for (;;) {
            auto got = socket->read(MutableBytes(buffer, sizeof(buffer)));
            REQUIRE(got.ok());
            if (got.value() == 0)
                break;
            REQUIRE(socket->write(Bytes(buffer, got.value())).value() == got.value());
        }
        socket->close();
    });
    hosts.spawn("client", [&] {
        auto connected = hosts.client->connect(local_ip, 7, hosts.tk.kernel->now() + ns_per_s);
        REQUIRE(connected.ok());
        TcpSocket* socket = connected.value();
        CHECK(socket->state() == TcpState::established);
        REQUIRE(socket->write(bytes_of("hello, gantry")).value() == 13);
        REQUIRE(socket->shutdown().ok());
        char buffer[64];
        REQUIRE(socket->read_exact(MutableBytes(reinterpret_cast<u8*>(buffer), 13)).ok());
        echoed.assign(buffer, 13);
        auto end = socket->read(MutableBytes(reinterpret_cast<u8*>(buffer), sizeof(buffer)));
        CHECK(end.value() == 0);
        socket->close();
    });
    hosts.run();
    CHECK(echoed == "hello, gantry");
    CHECK(hosts.server->sockets_in_use() == 0); // after TIME-WAIT (2 * 1 s) too
    CHECK(hosts.client->sockets_in_use() == 0);
}

TEST_CASE("sockets: 1 MiB through write/read_exact with small buffers", "[tcp][socket]")
{
    TwoHosts hosts;
    TcpListener* listener = hosts.server->listen(9).release_value();
    constexpr usize total = 1024 * 1024;
    std::vector<u8> data(total);
    for (usize i = 0; i < total; i++)
        data[i] = static_cast<u8>(i * 31 + (i >> 11));
    std::vector<u8> received(total);
    bool done = false;
    hosts.spawn("server", [&] {
        TcpSocket* socket = listener->accept().release_value();
        REQUIRE(socket->read_exact(MutableBytes(received)).ok());
        done = true;
        socket->close();
    });
    hosts.spawn("client", [&] {
        TcpSocket* socket = hosts.client->connect(local_ip, 9).release_value();
        REQUIRE(socket->write(Bytes(data)).value() == total);
        socket->close();
    });
    hosts.run();
    REQUIRE(done);
    CHECK(received == data);
}

TEST_CASE("sockets: connect to a closed port is refused", "[tcp][socket]")
{
    TwoHosts hosts;
    std::optional<TcpError> error;
    hosts.spawn("client", [&] {
        auto connected = hosts.client->connect(local_ip, 81);
        error = connected.ok() ? std::nullopt : std::optional(connected.error());
    });
    hosts.run();
    CHECK(error == TcpError::refused);
    CHECK(hosts.server->resets_sent() == 1);
}

TEST_CASE("sockets: connect and read deadlines", "[tcp][socket]")
{
    TwoHosts hosts;
    TcpListener* listener = hosts.server->listen(7).release_value();
    std::optional<TcpError> connect_error;
    std::optional<TcpError> read_error;
    TimeNs connect_gave_up = 0;
    hosts.spawn("reader", [&] {
        TcpSocket* socket = hosts.client->connect(local_ip, 7).release_value();
        u8 buffer[16];
        TimeNs deadline = hosts.tk.kernel->now() + 500 * ns_per_ms;
        auto got = socket->read(MutableBytes(buffer, sizeof(buffer)), deadline);
        read_error = got.ok() ? std::nullopt : std::optional(got.error());
        CHECK(hosts.tk.kernel->now() == deadline);
        socket->close();
    });
    hosts.run(10 * ns_per_s);
    CHECK(read_error == TcpError::timed_out);
    CHECK(listener->pending() == 1);
    hosts.wire.drop_all = true;
    hosts.spawn("connector", [&] {
        TimeNs deadline = hosts.tk.kernel->now() + 2500 * ns_per_ms;
        auto connected = hosts.client->connect(local_ip, 7, deadline);
        connect_error = connected.ok() ? std::nullopt : std::optional(connected.error());
        connect_gave_up = hosts.tk.kernel->now() - (deadline - 2500 * ns_per_ms);
    });
    hosts.run(10 * ns_per_s);
    CHECK(connect_error == TcpError::timed_out);
    CHECK(connect_gave_up == 2500 * ns_per_ms);
}

TEST_CASE("listener: a full SYN cache answers with cookies, and clients still get in",
          "[tcp][socket][syncookies]")
{
    TwoHosts hosts;
    TcpListener* listener = hosts.server->listen(80).release_value();
    // A flood of SYNs from addresses that never answer fills the cache.
    hosts.wire.drop_filter = [](Bytes segment) {
        return segment.size() >= 4 && load_be16(segment, 2) >= 1000 && load_be16(segment, 2) < 2000;
    };
    for (u16 i = 0; i < 200; i++) {
        TcpRepr syn;
        syn.source_port = static_cast<u16>(1000 + i);
        syn.destination_port = 80;
        syn.seq = SeqNumber(i * 1000u);
        syn.flags = TcpFlags::syn;
        syn.window = 1000;
        std::vector<u8> frame(syn.header_len());
        syn.emit(MutableBytes(frame), remote_ip, local_ip, {});
        hosts.server->input(remote_ip, local_ip, Bytes(frame), hosts.tk.kernel->now());
    }
    CHECK(listener->syn_cookies_sent() == 200 - TcpListener::syn_backlog_max);
    bool connected = false;
    hosts.spawn("server", [&] {
        TcpSocket* socket = listener->accept().release_value();
        u8 buffer[8];
        REQUIRE(socket->read_exact(MutableBytes(buffer, 5)).ok());
        CHECK(std::string(reinterpret_cast<char*>(buffer), 5) == "hello");
        socket->close();
    });
    hosts.spawn("client", [&] {
        auto socket = hosts.client->connect(local_ip, 80, hosts.tk.kernel->now() + ns_per_s);
        REQUIRE(socket.ok());
        connected = true;
        REQUIRE(socket.value()->write(bytes_of("hello")).ok());
        socket.value()->close();
    });
    hosts.run();
    CHECK(connected);
    CHECK(listener->syn_cookies_accepted() == 1);
}

TEST_CASE("listener: close resets queued connections and wakes accept", "[tcp][socket]")
{
    TwoHosts hosts;
    TcpListener* listener = hosts.server->listen(7).release_value();
    std::optional<TcpError> accept_error;
    hosts.spawn("client", [&] { (void)hosts.client->connect(local_ip, 7); });
    hosts.run(ns_per_s);
    REQUIRE(listener->pending() == 1);
    listener->close();
    hosts.spawn("acceptor", [&] {
        auto accepted = listener->accept();
        accept_error = accepted.ok() ? std::nullopt : std::optional(accepted.error());
    });
    hosts.run(5 * ns_per_s);
    CHECK(accept_error == TcpError::closed);
    CHECK(hosts.server->sockets_in_use() == 0);
}

namespace {

// A segment from remote_ip:port to the server's port 80, as a peer sends it.
void inject(TwoHosts& hosts, u16 port, u8 flags, SeqNumber seq, SeqNumber ack = {})
{
    TcpRepr repr;
    repr.source_port = port;
    repr.destination_port = 80;
    repr.seq = seq;
    repr.ack = ack;
    repr.flags = flags;
    repr.window = 1000;
    std::vector<u8> frame(repr.header_len());
    repr.emit(MutableBytes(frame), remote_ip, local_ip, {});
    hosts.server->input(remote_ip, local_ip, Bytes(frame), hosts.tk.kernel->now());
}

} // namespace

// The stack keeps each listener's earliest SYN-ACK retransmission instead of
// walking every SYN cache after every segment. Three half-open connections
// whose SYN-ACKs are lost: the one due first completes, the next is reset,
// and the last must still be retransmitted at exactly 1, 2 and 4 s (RFC 4987
// 3.3's cache, synack_retries_max = 3) and then time out. The stack's timer,
// the only one armed while the injecting fiber runs, must follow the earliest
// entry left, neither late (a lost retransmission) nor early (a wake-up for
// an entry already gone).
TEST_CASE("listener: SYN-ACK retransmissions follow the SYN cache's earliest entry",
          "[tcp][socket]")
{
    TwoHosts hosts;
    TcpListener* listener = hosts.server->listen(80).release_value();
    struct SynAck {
        u16 port;
        TimeNs at;
        SeqNumber iss;
    };
    std::vector<SynAck> syn_acks;
    hosts.wire.drop_filter = [&](Bytes segment) {
        auto checked = TcpPacket::check(segment, local_ip, remote_ip);
        REQUIRE(checked.ok());
        TcpRepr repr = TcpRepr::parse(checked.value());
        if (repr.source_port == 80 && repr.has(TcpFlags::syn) && repr.has(TcpFlags::ack))
            syn_acks.push_back({repr.destination_port, hosts.tk.kernel->now(), repr.seq});
        return true; // lost: the peers never hear from the server
    };
    Scheduler& sched = hosts.tk.kernel->sched();
    TimeNs start = hosts.tk.kernel->now();
    auto iss_of = [&](u16 port) {
        for (const SynAck& sent : syn_acks)
            if (sent.port == port)
                return sent.iss;
        FAIL("no SYN-ACK to port " << port);
        return SeqNumber{};
    };
    hosts.spawn("peers", [&] {
        inject(hosts, 1003, TcpFlags::syn, SeqNumber(3000));
        sched.sleep_until(start + 100 * ns_per_ms);
        inject(hosts, 1002, TcpFlags::syn, SeqNumber(2000));
        sched.sleep_until(start + 500 * ns_per_ms);
        inject(hosts, 1001, TcpFlags::syn, SeqNumber(1000));
        CHECK(hosts.tk.kernel->timers().next_deadline() == start + ns_per_s);

        sched.sleep_until(start + 600 * ns_per_ms);
        inject(hosts, 1003, TcpFlags::ack, SeqNumber(3001), iss_of(1003) + 1);
        CHECK(listener->pending() == 1);
        CHECK(hosts.tk.kernel->timers().next_deadline() == start + 1100 * ns_per_ms);

        sched.sleep_until(start + 700 * ns_per_ms);
        inject(hosts, 1002, TcpFlags::rst, SeqNumber(2001)); // exactly RCV.NXT: ends it
        CHECK(hosts.tk.kernel->timers().next_deadline() == start + 1500 * ns_per_ms);
    });
    hosts.run(30 * ns_per_s);

    std::vector<std::pair<u16, TimeNs>> seen;
    for (const SynAck& sent : syn_acks)
        seen.emplace_back(sent.port, sent.at - start);
    std::vector<std::pair<u16, TimeNs>> expected{
        {1003, 0},
        {1002, 100 * ns_per_ms},
        {1001, 500 * ns_per_ms},
        {1001, 1500 * ns_per_ms},
        {1001, 3500 * ns_per_ms},
        {1001, 7500 * ns_per_ms},
    };
    CHECK(seen == expected);
    CHECK(hosts.server->connections_in(TcpState::syn_received, 80) == 0);
    CHECK(hosts.tk.kernel->timers().next_deadline() == deadline_none);
}

// What the tcp-echo interop test saw when the unikernel ran late (see
// scripts/netns-test): the app closes after the peer's FIN, our FIN is
// retransmitted from LAST-ACK, the peer's ACK then closes the connection, and
// the peer (in TIME-WAIT) ACKs the retransmitted FIN again. No connection is
// left, so the stack answers <SEQ=SEG.ACK><CTL=RST>: a RST at our FIN + 1
// (RFC 9293 3.10.7.1), not an ACK; LAST-ACK keeps no state to re-ACK with.
TEST_CASE("LAST-ACK: the peer's late second ACK of our FIN gets a RST at FIN + 1 once closed",
          "[tcp][socket]")
{
    TwoHosts hosts;
    TcpListener* listener = hosts.server->listen(80).release_value();
    std::vector<TcpRepr> sent; // everything the server sends; the peer is played here
    hosts.wire.drop_filter = [&](Bytes segment) {
        auto checked = TcpPacket::check(segment, local_ip, remote_ip);
        REQUIRE(checked.ok());
        sent.push_back(TcpRepr::parse(checked.value()));
        return true;
    };
    auto fins_sent = [&] {
        usize count = 0;
        for (const TcpRepr& repr : sent)
            count += repr.has(TcpFlags::fin) ? 1 : 0;
        return count;
    };
    hosts.spawn("echo", [&] {
        TcpSocket* socket = listener->accept().release_value();
        u8 buffer[64];
        for (;;) {
            auto got = socket->read(MutableBytes(buffer, sizeof(buffer)));
            if (!got.ok() || got.value() == 0)
                break;
        }
        socket->close(); // after the peer's FIN: CLOSE-WAIT -> LAST-ACK
    });
    Scheduler& sched = hosts.tk.kernel->sched();
    bool reset_checked = false;
    hosts.spawn("peer", [&] {
        inject(hosts, 1001, TcpFlags::syn, SeqNumber(1000));
        REQUIRE(sent.size() == 1);
        SeqNumber iss = sent[0].seq;
        inject(hosts, 1001, TcpFlags::ack, SeqNumber(1001), iss + 1);
        inject(hosts, 1001, TcpFlags::fin | TcpFlags::ack, SeqNumber(1001), iss + 1);
        // Our ACKs are lost: the FIN goes out again when its timer runs.
        TimeNs give_up = hosts.tk.kernel->now() + 10 * ns_per_s;
        while (fins_sent() < 2 && hosts.tk.kernel->now() < give_up)
            sched.sleep_for(10 * ns_per_ms);
        REQUIRE(fins_sent() == 2);
        SeqNumber fin = sent.back().seq;
        CHECK(fin == iss + 1);
        inject(hosts, 1001, TcpFlags::ack, SeqNumber(1002), fin + 1); // closes it
        CHECK(hosts.server->sockets_in_use() == 0);
        usize before = sent.size();
        inject(hosts, 1001, TcpFlags::ack, SeqNumber(1002), fin + 1); // TIME-WAIT's re-ACK
        REQUIRE(sent.size() == before + 1);
        CHECK(sent.back().flags == TcpFlags::rst);
        CHECK(sent.back().seq == fin + 1);
        reset_checked = true;
    });
    hosts.run(30 * ns_per_s);
    CHECK(reset_checked);
}

namespace {

std::vector<std::pair<TraceKind, TraceFields>> tcp_records(TestKernel& tk)
{
    tk.kernel->trace().flush();
    return decode_records(tk.platform.trace_bytes(), {TraceKind::tcp_state, TraceKind::tcp_stats});
}

} // namespace

TEST_CASE("sockets: state changes and periodic statistics are traced", "[tcp][socket][trace]")
{
    TwoHosts hosts(TwoHosts::small_config(), traced_kernel());
    TcpListener* listener = hosts.server->listen(7).release_value();
    hosts.spawn("server", [&] {
        TcpSocket* socket = listener->accept().release_value();
        u8 buffer[4096];
        while (socket->read(MutableBytes(buffer, sizeof(buffer))).value() > 0) {
        }
        socket->close();
    });
    hosts.spawn("client", [&] {
        TcpSocket* socket = hosts.client->connect(local_ip, 7).release_value();
        std::vector<u8> data(100000, 7);
        REQUIRE(socket->write(Bytes(data)).ok());
        socket->close();
    });
    hosts.run();
    std::vector<std::pair<u8, u8>> client_states;
    usize stats = 0;
    for (auto& [kind, fields] : tcp_records(hosts.tk)) {
        if (kind == TraceKind::tcp_stats) {
            stats++;
            continue;
        }
        if (fields.tcp.local == remote_ip.to_u32())
            client_states.emplace_back(fields.tcp.old_state, fields.tcp.state);
    }
    using S = TcpState;
    auto pair = [](S from, S to) { return std::pair<u8, u8>(u8(from), u8(to)); };
    std::vector<std::pair<u8, u8>> expected = {
        pair(S::closed, S::syn_sent),        pair(S::syn_sent, S::established),
        pair(S::established, S::fin_wait_1), pair(S::fin_wait_1, S::fin_wait_2),
        pair(S::fin_wait_2, S::time_wait),   pair(S::time_wait, S::closed),
    };
    CHECK(client_states == expected);
    CHECK(stats > 0);
}

TEST_CASE("sockets: per-socket buffer sizes and options", "[tcp][socket]")
{
    TwoHosts hosts;
    TcpSocketOptions options;
    options.receive_buffer_bytes = 1024 * 1024;
    options.nagle = Nagle::off;
    TcpListener* listener = hosts.server->listen(7, 4, options).release_value();
    u32 server_window = 0;
    hosts.spawn("server", [&] {
        TcpSocket* socket = listener->accept().release_value();
        std::vector<u8> buffer(4096);
        REQUIRE(socket->read_exact(MutableBytes(buffer).first(2048)).ok());
        REQUIRE(socket->write(bytes_of("x")).ok());
        (void)socket->read(MutableBytes(buffer)); // the client's FIN
        socket->close();
    });
    hosts.spawn("client", [&] {
        TcpSocketOptions small;
        small.send_buffer_bytes = 2048;
        TcpSocket* socket = hosts.client->connect(local_ip, 7, deadline_none, small).value();
        // Only 2048 bytes fit the send buffer: write_some takes what fits.
        std::vector<u8> data(10000, 1);
        CHECK(socket->write_some(Bytes(data)).value() == 2048);
        u8 reply[1];
        REQUIRE(socket->read_exact(MutableBytes(reply, 1)).ok());
        server_window = socket->stats().snd_wnd;
        socket->close();
    });
    hosts.run();
    // The listener's 1 MiB receive buffer shows in the scaled window it offers.
    CHECK(server_window > 65535);
}

TEST_CASE("limits: sockets_max and listeners_max bound a stack's connections",
          "[tcp][socket][limits]")
{
    TcpStackConfig config = TwoHosts::small_config();
    config.sockets_max = 3;
    config.listeners_max = 1;
    TwoHosts h(config);
    auto listener = h.server->listen(80);
    REQUIRE(listener.ok());
    auto second_listener = h.server->listen(81);
    REQUIRE(!second_listener.ok());
    CHECK(second_listener.error() == TcpError::no_socket);
    std::vector<TcpSocket*> accepted;
    int connected = 0;
    bool refused_at_limit = false;
    h.spawn("acceptor", [&] {
        for (int i = 0; i < 3; i++) {
            auto socket = listener.value()->accept();
            if (socket.ok())
                accepted.push_back(socket.value());
        }
    });
    h.spawn("client", [&] {
        for (int i = 0; i < 3; i++)
            connected += h.client->connect(local_ip, 80, h.tk.kernel->now() + 5 * ns_per_s).ok();
        // Every slot of the client's stack is in use: the fourth fails at
        // once, without a SYN, and nothing else is disturbed.
        auto extra = h.client->connect(local_ip, 80, h.tk.kernel->now() + 5 * ns_per_s);
        refused_at_limit = !extra.ok() && extra.error() == TcpError::no_socket;
    });
    h.run(10 * ns_per_s);
    CHECK(connected == 3);
    CHECK(accepted.size() == 3);
    CHECK(refused_at_limit);
    CHECK(h.client->sockets_in_use() == 3);
    CHECK(h.server->sockets_in_use() == 3);
}
