// TCP sockets for fibers: listen/accept, connect with a deadline, read/write
// (partial and full), shutdown, close, options. Blocking calls block only the
// calling fiber (gantry::Event); errors are TcpError values.
//
// TcpStack owns every socket and listener of one interface, demultiplexes
// segments by 4-tuple (RFC 9293 3.10.7), answers segments for no connection
// with RST (3.10.7.1), and drives each TCB's deadline from one gantry::Timer.
// A listener keeps a bounded SYN cache (small entries, no buffers: a SYN
// costs no heap) and answers with SYN cookies when it is full (RFC 4987 3.6),
// so a SYN flood can neither exhaust memory nor shut out real clients; the
// TCB and its buffers are created when the handshake's ACK arrives.
//
// The IPv4 seam: the stack hands segments up with input() and takes them
// down through TcpIpOutput. See docs/networking.md for the two lines the
// IPv4 layer adds to call it.
#pragma once

#include <gantry/net/tcp/connection.hpp>
#include <gantry/sched.hpp>
#include <gantry/timer.hpp>

namespace gantry {
class Kernel;
}

namespace gantry::net {

class TcpStack;
class TcpListener;

// How the TCP layer sends: one complete TCP segment (header with checksum,
// payload) from `source` to `destination`. false: the IPv4 layer could not
// send it (no route, no buffer); TCP treats that as a loss.
class TcpIpOutput {
public:
    // What the layer below can finish for TCP (a NIC's offloads).
    struct Offloads {
        bool checksum = false;          // completes a checksum left partial
        usize segment_bytes_max = 0;    // cuts segments this large (TSO); 0: none
    };
    // How a segment handed to tcp_send_ip_offloaded is to be finished.
    struct SegmentOffload {
        bool checksum_partial = false;  // the checksum field holds the pseudo-header sum
        u16 segment_payload = 0;        // cut into segments of this payload; 0: as is
    };

    virtual ~TcpIpOutput() = default;
    virtual bool tcp_send_ip(Ipv4Address source, Ipv4Address destination, Bytes segment) = 0;
    virtual Offloads tcp_offloads() const { return {}; }
    // A segment using what tcp_offloads() offers; only called with that.
    virtual bool tcp_send_ip_offloaded(Ipv4Address source, Ipv4Address destination,
                                       Bytes segment, const SegmentOffload& offload)
    {
        GANTRY_ASSERT(!offload.checksum_partial && offload.segment_payload == 0);
        return tcp_send_ip(source, destination, segment);
    }
};

class TcpSocket {
public:
    TcpSocket(TcpStack& stack, Scheduler& scheduler);
    TcpSocket(const TcpSocket&) = delete;

    // Waits for at least one byte; returns how many were copied, 0 at end of
    // stream (the peer's FIN). timed_out when `deadline` passes first.
    Result<usize, TcpError> read(MutableBytes out, TimeNs deadline = deadline_none);
    // Waits until `out` is full; end of stream first is invalid_state.
    Status<TcpError> read_exact(MutableBytes out, TimeNs deadline = deadline_none);
    // Queues all of `data`, waiting for buffer space; returns the bytes queued
    // (fewer only when the deadline passed).
    Result<usize, TcpError> write(Bytes data, TimeNs deadline = deadline_none);
    // Queues what fits now, without waiting.
    Result<usize, TcpError> write_some(Bytes data);
    // Half-close: FIN after the queued data (RFC 9293 3.10.4).
    Status<TcpError> shutdown();
    // Shuts down and gives the socket back; the stack finishes the close
    // (FIN-WAIT, TIME-WAIT) and reclaims it. Unread data means RST (the peer
    // must not believe it was read, RFC 2525 2.17). Invalid afterwards.
    void close();
    // RST at once, then as close().
    void abort();
    // After TcpStack::connect_start(): waits until the handshake is over.
    // On failure the socket stays the caller's, CLOSED, and error() says why
    // (close() gives it back). At `deadline` in SYN-SENT the attempt ends
    // with timed_out, or with the soft error ICMP reported (RFC 1122
    // 4.2.3.9). close() from another fiber cancels the attempt: this one
    // then returns `closed`.
    Status<TcpError> wait_connected(TimeNs deadline = deadline_none);

    void set_nagle(Nagle nagle) { m_tcb->set_nagle(nagle); }
    void set_delayed_ack(DelayedAck delayed_ack) { m_tcb->set_delayed_ack(delayed_ack); }
    void set_keepalive(Keepalive keepalive);

    TcpState state() const { return m_tcb->state(); }
    // Bytes a read would return now without waiting (FIONREAD, MSG_PEEK).
    usize readable() const { return m_tcb->recv_available(); }
    // Why the connection failed (reset, refused, timed out); nullopt while healthy.
    std::optional<TcpError> error() const { return m_tcb->error(); }
    TcpStats stats() const { return m_tcb->stats(); }
    TcpEndpoint local() const { return m_tcb->local(); }
    TcpEndpoint remote() const { return m_tcb->remote(); }

private:
    friend class TcpStack;
    friend class TcpListener;
    enum class Owner : u8 { free, app, stack };

    void wake();

    TcpStack& m_stack;
    TcpConnection* m_tcb = nullptr;
    Event m_changed; // any progress: data, space, state
    Owner m_owner = Owner::free;
    TcpState m_traced_state = TcpState::closed; // the last state the trace saw
};

// Per-socket choices for connect() and listen() (accepted sockets inherit
// the listener's). A buffer size of 0 takes the stack's default.
struct TcpSocketOptions {
    usize send_buffer_bytes = 0;
    usize receive_buffer_bytes = 0;
    usize window_scale_bytes = 0; // see TcpConfig::window_scale_bytes; 0 = the stack's
    Nagle nagle = Nagle::on;
    DelayedAck delayed_ack = DelayedAck::on;
    Keepalive keepalive = Keepalive::off;
    IcmpHardErrors icmp_hard_errors = IcmpHardErrors::abort_opening;
    // Keepalive timing (RFC 1122 4.2.3.6); 0 takes the stack's.
    TimeNs keepalive_idle_ns = 0;
    TimeNs keepalive_interval_ns = 0;
    u32 keepalive_probes_max = 0;
};

struct TcpStackConfig {
    TcpConfig tcp; // per connection; buffers default smaller than a lone TCB's
    usize sockets_max = 256;
    usize listeners_max = 16;
    TimeNs connect_timeout_default_ns = 75 * ns_per_s;
    // A tcp_stats trace record per connection this often (only while tracing).
    TimeNs stats_interval_ns = 100 * ns_per_ms;
};

// What the whole stack did, over every connection it ever had (closed ones
// included) and every listener: the counters a scenario's `counter` check and
// a node's exit report read.
struct TcpStackTotals {
    u64 connections = 0;        // connections that had a TCB (active and passive)
    u64 retransmits = 0;
    u64 timeouts = 0;
    u64 fast_retransmits = 0;
    u64 zero_window_probes = 0;
    u64 keepalive_probes = 0;
    u64 challenge_acks = 0;
    u64 ooo_segments = 0;
    u64 syn_cookies_sent = 0;
    u64 syn_cookies_accepted = 0;
    u64 accept_overflows = 0;
    u64 resets_sent = 0;
    u64 bad_segments = 0;
};

class TcpListener {
public:
    static constexpr usize syn_backlog_max = 64;
    static constexpr usize accept_backlog_max = 128;
    static constexpr u32 synack_retries_max = 3;

    TcpListener(TcpStack& stack, Scheduler& scheduler);
    TcpListener(const TcpListener&) = delete;

    // Waits for an established connection.
    Result<TcpSocket*, TcpError> accept(TimeNs deadline = deadline_none);
    // Stops listening: queued connections are reset, waiters get `closed`.
    void close();

    u16 port() const { return m_port; }
    usize pending() const { return m_accept_count; }
    u64 syn_cookies_sent() const { return m_cookies_sent; }
    u64 syn_cookies_accepted() const { return m_cookies_accepted; }
    u64 accept_overflows() const { return m_accept_overflows; }

private:
    friend class TcpStack;
    struct SynEntry {
        TcpRepr syn;       // the options the peer sent
        Ipv4Address source;
        SeqNumber iss;
        TimeNs next_at = deadline_none; // SYN-ACK retransmission
        u32 retries = 0;
        bool used = false;
    };

    void open(u16 port, usize backlog, const TcpConfig& config);
    void on_syn(Ipv4Address source, const TcpRepr& syn, TimeNs now);
    void on_rst(Ipv4Address source, const TcpRepr& rst, TimeNs now);
    // true when the segment completed a handshake (or belonged to one).
    bool on_ack(Ipv4Address source, const TcpRepr& repr, Bytes payload, TimeNs now);
    TimeNs poll(TimeNs now);
    // The earliest SYN-ACK retransmission in the SYN cache (deadline_none if
    // it is empty), kept as entries change: TcpStack::rearm asks often.
    TimeNs next_deadline() const { return m_syn_earliest; }
    void refresh_syn_earliest();
    SynEntry* find_entry(Ipv4Address source, u16 port);
    SeqNumber cookie(Ipv4Address source, const TcpRepr& syn, TimeNs now) const;
    std::optional<u16> check_cookie(Ipv4Address source, const TcpRepr& ack, TimeNs now) const;
    void send_syn_ack(const SynEntry& entry, TimeNs now);
    bool establish(Ipv4Address source, const TcpRepr& syn, SeqNumber iss, const TcpRepr& ack,
                   Bytes payload, TimeNs now);

    TcpStack& m_stack;
    Event m_acceptable;
    TcpConfig m_config; // for SYN-ACKs and the accepted connections
    u16 m_port = 0;
    usize m_backlog = 0;
    bool m_open = false;
    SynEntry m_syns[syn_backlog_max] = {};
    TimeNs m_syn_earliest = deadline_none;
    TcpSocket* m_accept[accept_backlog_max] = {};
    usize m_accept_head = 0;
    usize m_accept_count = 0;
    u64 m_cookies_sent = 0;
    u64 m_cookies_accepted = 0;
    u64 m_accept_overflows = 0;
};

class TcpStack final : public TcpOutput {
public:
    static constexpr usize sockets_max = 1024;
    static constexpr usize listeners_max = 64;
    static constexpr u16 ephemeral_port_first = 49152;

    static Result<TcpStack*, TcpError> create(Kernel& kernel, TcpIpOutput& ip,
                                              Ipv4Address address,
                                              const TcpStackConfig& config = {});
    static void destroy(Kernel& kernel, TcpStack* stack);
    // Everything the stack counted, closed connections included.
    TcpStackTotals totals() const;

    TcpStack(Kernel& kernel, TcpIpOutput& ip, Ipv4Address address,
             const TcpStackConfig& config);
    TcpStack(const TcpStack&) = delete;
    ~TcpStack() override;

    // A TCP segment from IPv4 (checksum not yet verified).
    void input(Ipv4Address source, Ipv4Address destination, Bytes segment, TimeNs now);
    // An ICMP error (type, code, next-hop MTU) about a TCP segment we sent from
    // `local` to `remote` with sequence number `seq` (the IPv4 layer parsed the
    // quoted header, RFC 792: IPv4 header + 8 bytes). Handed to that
    // connection, if there is one (RFC 1122 4.2.3.9, RFC 5927).
    void icmp_error(TcpEndpoint local, TcpEndpoint remote, SeqNumber seq, u8 type, u8 code,
                    u16 mtu, TimeNs now);

    Result<TcpListener*, TcpError> listen(u16 port,
                                          usize backlog = TcpListener::accept_backlog_max,
                                          const TcpSocketOptions& options = {});
    // Active open from a fiber; waits for ESTABLISHED until `deadline`.
    Result<TcpSocket*, TcpError> connect(Ipv4Address address, u16 port,
                                         TimeNs deadline = deadline_none,
                                         const TcpSocketOptions& options = {});
    // Active open without waiting (a non-blocking connect): sends the SYN and
    // returns the socket in SYN-SENT; see TcpSocket::wait_connected().
    Result<TcpSocket*, TcpError> connect_start(Ipv4Address address, u16 port,
                                               const TcpSocketOptions& options = {});

    void set_address(Ipv4Address address) { m_address = address; }
    Ipv4Address address() const { return m_address; }
    const TcpStackConfig& config() const { return m_config; }
    usize sockets_in_use() const;
    // Connections in `state` on `local_port` (0: any), as netstat counts them:
    // SYN-RECEIVED includes the listeners' SYN cache entries.
    usize connections_in(TcpState state, u16 local_port = 0) const;
    u64 resets_sent() const { return m_resets_sent; }
    u64 bad_segments() const { return m_bad_segments; }
    u64 icmp_errors() const { return m_icmp_errors; }

    // TcpOutput: a TCB's segment, emitted into the scratch frame.
    void tcp_transmit(TcpEndpoint local, TcpEndpoint remote, const TcpRepr& repr,
                      RingSlices payload) override;

private:
    friend class TcpSocket;
    friend class TcpListener;

    TcpSocket* find_socket(TcpEndpoint local, TcpEndpoint remote);
    TcpListener* find_listener(u16 port);
    Result<TcpSocket*, TcpError> new_socket(const TcpConfig& config);
    TcpConfig config_for(const TcpSocketOptions& options) const;
    void release(TcpSocket* socket);
    void after(TcpSocket* socket, TimeNs now); // settle, then re-arm the timer
    void settle(TcpSocket* socket, TimeNs now); // wake waiters, reclaim if done
    void send_reset(Ipv4Address destination, const TcpRepr& to, usize payload_len);
    void poll(TimeNs now);
    void rearm();
    void rearm_for(const TcpSocket* socket); // only ever earlier: see socket.cpp
    static void on_timer(Timer& timer, void* context);
    void trace_state(TcpSocket* socket);
    void trace_stats(TimeNs now);
    bool tracing() const;
    bool port_in_use(u16 port) const;

    Kernel& m_kernel;
    TcpIpOutput& m_ip;
    Ipv4Address m_address;
    TcpStackConfig m_config;
    TcpSecret m_secret;
    TcpStackTotals m_released; // the connections already released, summed
    Timer m_timer;
    bool m_timer_reserved = false; // its slot in the TimerQueue, so arming cannot fail
    TcpSocket** m_sockets = nullptr;   // config.sockets_max slots
    usize m_sockets_live = 0;          // slots not free: rearm() stops after them
    TcpListener** m_listeners = nullptr;
    u8* m_scratch = nullptr;           // one segment: header + MSS, or the TSO limit
    usize m_scratch_bytes = 0;
    TcpIpOutput::Offloads m_offloads;  // what the IPv4 layer finishes for us
    u16 m_next_ephemeral = ephemeral_port_first;
    TimeNs m_stats_at = deadline_none;
    u64 m_resets_sent = 0;
    u64 m_bad_segments = 0;
    u64 m_icmp_errors = 0; // for a connection of ours, whatever the connection made of it
};

} // namespace gantry::net
