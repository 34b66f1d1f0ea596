// One TCP connection (the TCB of RFC 9293 section 3.3.1) as a pure state
// machine: it consumes segments and the current time, produces segments
// through a TcpOutput, and says when it next needs to be polled. It never
// reads a clock, never blocks and never allocates after create(), so tests
// drive it with hand-built segments and explicit time, and the socket layer
// (or a benchmark) wires it to IPv4, fibers and timers.
//
// Implemented: RFC 9293 (state machine, sections 3.3.2 and 3.10; simultaneous
// open and close, half-close, TIME-WAIT for 2*MSL), RFC 5961 (challenge ACKs
// for RST and SYN, sections 3 and 4; ACK range check, section 5; rate limit,
// section 7), RFC 6298 (RTO, see rtt.hpp), RFC 5681 + RFC 6582 (slow start,
// congestion avoidance, fast retransmit and NewReno fast recovery), RFC 3042
// (limited transmit), RFC 7323
// (window scale, timestamps with RTTM, PAWS without the 24-day idle rule),
// RFC 2018 (SACK-permitted and SACK blocks on receive), RFC 2883 (D-SACK
// for duplicate data received), and with a SACK peer RFC 8985 RACK-TLP
// (time-based loss detection over a per-segment scoreboard, tail loss
// probes) with RFC 6675's pipe governing recovery (recovery.cpp),
// RFC 1122 4.2.3.2 (delayed ACK), 4.2.3.3/4.2.3.4 (receiver SWS avoidance,
// Nagle), 4.2.2.17 (zero-window probes), 4.2.3.6 (keepalive), RFC 6528 ISNs
// (isn.hpp).
//
// Timers: explicit poll(now), not gantry::Timer. The TCB keeps deadlines
// (retransmission/persist, delayed ACK, keepalive, TIME-WAIT) and returns the
// earliest; the owner arms one Timer per connection for it. That keeps the
// TCB free of the scheduler, deterministic under test, and one heap entry
// per connection instead of four.
#pragma once

#include <gantry/mem.hpp>
#include <gantry/net/tcp/isn.hpp>
#include <gantry/net/tcp/ring.hpp>
#include <gantry/net/tcp/rtt.hpp>
#include <gantry/net/tcp/scoreboard.hpp>
#include <gantry/net/tcp/wire.hpp>
#include <gantry/result.hpp>

#include <optional>

namespace gantry::net {

enum class TcpState : u8 {
    closed,
    listen,
    syn_sent,
    syn_received,
    established,
    fin_wait_1,
    fin_wait_2,
    close_wait,
    closing,
    last_ack,
    time_wait,
};
const char* tcp_state_name(TcpState state);

enum class Nagle : u8 { on, off };
enum class DelayedAck : u8 { on, off };
enum class Keepalive : u8 { off, on };
enum class TcpSackOption : u8 { on, off };
enum class TcpTimestampOption : u8 { on, off };
enum class WindowScaling : u8 { on, off };
// Whether an ICMP hard error (port or protocol unreachable, administratively
// prohibited) ends a connection that is still opening (RFC 1122 4.2.3.9:
// SHOULD abort; FreeBSD's net.inet.tcp.icmp_may_rst=0 is `ignore`).
enum class IcmpHardErrors : u8 { abort_opening, ignore };

// What an ICMP error about a segment we sent means to TCP (RFC 1122 4.2.3.9,
// RFC 5927, RFC 1191). tcp_icmp_kind() classifies an ICMP type and code.
enum class TcpIcmpKind : u8 {
    soft,           // net/host unreachable, time exceeded, parameter problem...:
                    // remembered for the user, never fatal (RFC 1122 4.2.3.9)
    hard,           // protocol or port unreachable (codes 2, 3): the peer refuses
    prohibited,     // communication administratively prohibited (codes 9, 10, 13)
    packet_too_big, // fragmentation needed and DF set (code 4): the path MTU
};

struct TcpConfig {
    usize send_buffer_bytes = 256 * 1024;
    usize receive_buffer_bytes = 256 * 1024;
    u16 mss = 1460;                  // ours: the link MTU minus 40 (RFC 9293 3.7.1)
    Nagle nagle = Nagle::on;
    DelayedAck delayed_ack = DelayedAck::on;
    Keepalive keepalive = Keepalive::off;
    TcpSackOption sack = TcpSackOption::on;
    TcpTimestampOption timestamps = TcpTimestampOption::on;
    WindowScaling window_scaling = WindowScaling::on;
    IcmpHardErrors icmp_hard_errors = IcmpHardErrors::abort_opening;
    // The window scale we offer covers max(receive buffer, this many bytes):
    // room for a buffer that may grow later (FreeBSD sizes it for
    // kern.ipc.maxsockbuf; RFC 7323 2.3 leaves the choice to the receiver).
    usize window_scale_bytes = 0;
    RttConfig rtt;
    TimeNs msl_ns = 30 * ns_per_s;          // TIME-WAIT lasts 2*MSL (RFC 9293 3.4.2)
    TimeNs delayed_ack_ns = 40 * ns_per_ms; // RFC 1122 4.2.3.2: < 500 ms
    TimeNs keepalive_idle_ns = 7200 * ns_per_s; // RFC 1122 4.2.3.6: >= 2 hours
    TimeNs keepalive_interval_ns = 75 * ns_per_s;
    u32 keepalive_probes_max = 9;
    u32 retries_max = 15;      // data retransmissions before giving up (RFC 1122 4.2.3.5 R2)
    // SYN / SYN-ACK retransmissions (R2 for a SYN): RFC 1122 4.2.3.5 wants
    // at least 3 minutes; with the 60 s RTO ceiling ten last 363 s (the
    // connect() deadline usually ends the attempt first).
    u32 syn_retries_max = 10;
    // Out-of-order bytes held for reassembly; 0: as many as the receive buffer
    // holds. They sit in the receive ring anyway, and a receiver that drops
    // in-window data it has room for hides it from the sender's SACK
    // scoreboard: a lost retransmission then waits for the RTO.
    usize ooo_bytes_max = 0;
    u32 challenge_acks_per_s_max = 10; // RFC 5961 7
    // The largest TCP segment (header and payload) the link cuts into
    // MSS-sized ones itself (TCP segmentation offload); 0: none, every
    // segment fits the MSS. TcpStack sets it from what the IPv4 layer offers.
    usize tso_segment_bytes_max = 0;
};

enum class TcpError : u8 {
    invalid_state, // the call makes no sense in this state (send after shutdown, ...)
    closed,        // the socket was closed locally while a fiber waited on it
    no_socket,     // every socket slot is in use
    address_in_use,
    no_route,      // the IPv4 layer cannot reach the peer (connect)
    reset,         // the peer reset the connection
    refused,       // the peer answered our SYN with RST
    timed_out,     // retransmissions, keepalive probes or the connect deadline ran out
    unreachable,   // ICMP said the network or host cannot be reached (a soft error
                   // reported when the connection then times out, RFC 1122 4.2.3.9)
    prohibited,    // ICMP: communication administratively prohibited (RFC 1812 5.2.7.1)
    aborted,       // closed locally with abort()
    no_memory,     // create(): the heap could not hold the buffers
};
const char* tcp_error_name(TcpError error);

// ICMP type and code to TCP's reaction; nullopt for messages TCP ignores
// (source quench, RFC 6633; redirects, an IP-layer matter; echo, ...).
std::optional<TcpIcmpKind> tcp_icmp_kind(u8 type, u8 code);

// The window scale a receive buffer of `capacity` bytes needs (RFC 7323 2.3).
u8 tcp_window_scale_for(usize capacity);
// The shift a connection with `config` offers for a buffer of `capacity` bytes.
u8 tcp_window_scale_for(const TcpConfig& config, usize capacity);

struct TcpStats {
    TcpState state = TcpState::closed;
    TimeNs srtt_ns = 0;
    TimeNs rttvar_ns = 0;
    TimeNs rto_ns = 0;
    u32 cwnd = 0;
    u32 ssthresh = 0;
    u32 snd_wnd = 0;
    u32 rcv_wnd = 0;
    u64 segments_in = 0;
    u64 segments_out = 0;
    u64 bytes_in = 0;   // payload bytes delivered in order
    u64 bytes_out = 0;  // payload bytes acknowledged by the peer
    u64 retransmits = 0;       // segments sent again (any cause)
    u64 timeouts = 0;          // RTO expiries
    u64 fast_retransmits = 0;
    u64 sack_retransmits = 0;  // segments RACK declared lost and sent again
    u64 tail_loss_probes = 0;  // RFC 8985 7: probes sent instead of waiting for the RTO
    u64 dsacks = 0;            // D-SACK blocks received (RFC 2883): data the peer got twice
    u64 undos = 0;             // recoveries undone because D-SACK showed them spurious
    u64 dupacks = 0;
    u64 challenge_acks = 0;
    u64 ooo_segments = 0;      // stored out of order
    u64 ooo_drops = 0;         // not stored: ooo_bytes_max or ooo_ranges_max
    u64 paws_drops = 0;
    u64 zero_window_probes = 0;
    u64 keepalive_probes = 0;
    u64 icmp_errors = 0;       // ICMP errors that quoted a segment in flight
    u64 icmp_ignored = 0;      // ICMP errors for sequence numbers not in flight (RFC 5927 4.1)
};

// A segment leaving the connection: the header repr and the payload, which
// may wrap around the send ring (two slices). Valid only during the call.
class TcpOutput {
public:
    virtual ~TcpOutput() = default;
    virtual void tcp_transmit(TcpEndpoint local, TcpEndpoint remote, const TcpRepr& repr,
                              RingSlices payload) = 0;
};

class TcpConnection {
public:
    // Out-of-order ranges held at once. ACKs report only the newest 3-4 (RFC
    // 2018 4), but every island held is data the sender need not resend; a
    // burst of tail drops that leaves every other segment (a full queue in
    // slow start) makes dozens of islands per window. 64 ranges of 12 bytes.
    static constexpr usize ooo_ranges_max = 64;
    static constexpr usize segments_per_call_max = 1024; // bound of one output pass
    static constexpr u16 mss_default = 536;               // RFC 9293 3.7.1, no MSS option
    // Scoreboard records per byte of send buffer: one per 512 bytes keeps a
    // full buffer of 536-byte segments in flight (TcpScoreboard bounds it).
    static constexpr usize send_bytes_per_record = 512;
    // RFC 8985 6.2: the reordering window grows with each D-SACK round, up
    // to this many quarters of the minimum RTT (still capped by the SRTT).
    static constexpr u32 reo_wnd_steps_max = 16;
    // RFC 8985 7.2: the probe waits for the peer's delayed ACK when only one
    // segment is out (WCDelAckT); 2 ms of slack otherwise, as Linux adds.
    static constexpr TimeNs tlp_delayed_ack_ns = 200 * ns_per_ms;
    static constexpr TimeNs tlp_slack_ns = 2 * ns_per_ms;
    // Probes in a row without news from the peer before only the RTO is left;
    // each waits twice as long as the one before (as QUIC's PTO, RFC 9002
    // 6.2.4; RFC 8985 sends one).
    static constexpr u32 tlp_probes_max = 3;

    static Result<TcpConnection*, TcpError> create(Heap& heap, const TcpConfig& config,
                                                   TcpOutput& output, const TcpSecret& secret);
    static void destroy(Heap& heap, TcpConnection* connection);

    TcpConnection(const TcpConfig& config, TcpOutput& output, const TcpSecret& secret);
    TcpConnection(const TcpConnection&) = delete;

    // Active open (RFC 9293 3.10.1): sends SYN.
    Status<TcpError> connect(TcpEndpoint local, TcpEndpoint remote, TimeNs now);
    // Passive open: waits for one SYN to `local` (the socket layer's listener
    // hands each new connection its own TCB in this state).
    Status<TcpError> listen(TcpEndpoint local);
    // The listener's path (socket.hpp): the SYN was answered from the SYN
    // cache or with a cookie, and the handshake's ACK has arrived. Puts the TCB
    // in SYN-RECEIVED as if it had sent the SYN-ACK itself with ISS `iss`;
    // the caller then gives it the ACK through input().
    Status<TcpError> restore_syn_received(TcpEndpoint local, TcpEndpoint remote,
                                          const TcpRepr& syn, SeqNumber iss);
    // The SYN-ACK a passive open answers `syn` with (RFC 9293 3.10.7.2, options
    // per RFC 7323 1.3 and RFC 2018 2), for the listener's SYN cache.
    static TcpRepr syn_ack_for(const TcpConfig& config, const TcpRepr& syn, SeqNumber iss,
                               u32 ts_value);
    // A segment for this connection (demultiplexed by the caller; in LISTEN,
    // any segment to the local endpoint). `source` is the peer's address.
    void input(Ipv4Address source, const TcpRepr& repr, Bytes payload, TimeNs now);
    // An ICMP error that quotes a segment of this connection starting at
    // `seq` (RFC 5927 4.1: acted on only if SND.UNA <= seq < SND.NXT). `mtu`
    // is the next-hop MTU of a packet_too_big (0 if the router gave none).
    void icmp_error(TcpIcmpKind kind, SeqNumber seq, u16 mtu, TimeNs now);
    // Runs due timers and sends what may be sent; returns the next deadline.
    TimeNs poll(TimeNs now);
    TimeNs next_deadline() const;

    // Queues up to send_space() bytes and returns how many were taken.
    Result<usize, TcpError> send(Bytes data, TimeNs now);
    // Copies in-order data out; 0 with at_eof() means the peer closed.
    Result<usize, TcpError> recv(MutableBytes out, TimeNs now);
    // Half-close (RFC 9293 3.10.4): FIN after the queued data.
    Status<TcpError> shutdown_write(TimeNs now);
    // RFC 9293 3.10.5: RST and CLOSED at once.
    void abort(TimeNs now);
    // The user's deadline for an open passed in SYN-SENT: CLOSED with `error`
    // and nothing sent (RFC 9293 3.10.4: there is no connection to reset yet).
    void give_up_open(TcpError error);

    void set_nagle(Nagle nagle) { m_config.nagle = nagle; }
    void set_delayed_ack(DelayedAck delayed_ack) { m_config.delayed_ack = delayed_ack; }
    void set_keepalive(Keepalive keepalive, TimeNs now);

    TcpState state() const { return m_state; }
    std::optional<TcpError> error() const { return m_error; }
    // The last soft error ICMP reported (RFC 1122 4.2.3.9), nullopt if none.
    std::optional<TcpError> soft_error() const { return m_soft_error; }
    TcpEndpoint local() const { return m_local; }
    TcpEndpoint remote() const { return m_remote; }
    usize send_space() const;
    usize recv_available() const { return m_recv.size(); }
    bool at_eof() const { return m_fin_received == Received::yes && m_recv.empty(); }
    bool can_send() const;
    TcpStats stats() const;
    u32 send_mss() const { return m_smss; }
    SeqNumber iss() const { return m_iss; }
    SeqNumber irs() const { return m_irs; }

    // The RST that answers a segment for which no connection exists (RFC 9293
    // 3.10.7.1), or nothing if the segment was itself a RST.
    static std::optional<TcpRepr> reset_for(const TcpRepr& repr, usize payload_len);

private:
    enum class Received : u8 { no, yes };
    enum class FinQueued : u8 { no, yes };
    enum class AckNeed : u8 { none, delayed, now };
    enum class Timing : u8 { idle, running };
    // fast: after a loss detected by dupacks or RACK; timeout: after an RTO,
    // until everything sent before it is acknowledged (RFC 6582 3.2 step 4).
    enum class Recovery : u8 { none, fast, timeout };
    enum class Reordering : u8 { not_seen, seen };
    enum class Negotiated : u8 { no, yes };
    enum class Opened : u8 { actively, passively };

    struct OooRange {
        SeqNumber left;
        SeqNumber right;
        u32 stamp; // insertion order, for RFC 2018 4's most-recent-first rule
    };

    // input.cpp: RFC 9293 3.10.7.
    void input_listen(Ipv4Address source, const TcpRepr& repr, TimeNs now);
    void input_syn_sent(const TcpRepr& repr, TimeNs now);
    void input_synchronized(const TcpRepr& repr, Bytes payload, TimeNs now);
    bool check_acceptable(TcpRepr& repr, Bytes& payload, TimeNs now);
    bool check_rst_syn(const TcpRepr& repr, TimeNs now);
    bool process_ack(const TcpRepr& repr, usize payload_len, TimeNs now);
    void on_new_ack(const TcpRepr& repr, u32 acked, TimeNs now);
    void on_dupack(TimeNs now);
    void newreno_partial_ack(u32 data_acked, TimeNs now);
    void grow_cwnd(u32 data_acked);
    void on_fin_acked(TimeNs now);
    void update_send_window(const TcpRepr& repr, SeqNumber window_end);
    void process_text(const TcpRepr& repr, Bytes payload, TimeNs now);
    void store_ooo(SeqNumber seq, Bytes payload);
    void note_duplicate(SeqNumber left, SeqNumber right);
    void note_held_duplicate(SeqNumber seq, usize length);
    void drain_ooo(TimeNs now);
    void process_fin(TimeNs now);
    void take_options(const TcpRepr& syn);
    void become_syn_received(TcpEndpoint remote, const TcpRepr& syn, SeqNumber iss);
    void sample_rtt(const TcpRepr& repr, TimeNs now);
    void lower_path_mtu(u16 mtu, TimeNs now);

    // output.cpp.
    void transmit(TimeNs now);
    usize send_data(SeqNumber seq, usize max_len, TimeNs now);
    // How much of `length` new bytes one TSO segment of `payload_max`-byte
    // pieces takes: whole pieces, the last one short only at the end of the data.
    usize tso_length(usize length, usize payload_max, bool reaches_end) const;
    void send_syn(TimeNs now);
    void send_ack(TimeNs now);
    void send_challenge_ack(TimeNs now);
    void send_reset(SeqNumber seq);
    void send_probe(TimeNs now);
    void emit(TcpRepr& repr, RingSlices payload, TimeNs now);
    TcpRepr base_repr(TimeNs now);
    u16 advertise_window();
    void fill_sack(TcpRepr& repr) const;
    u32 ts_now(TimeNs now) const;
    bool nagle_holds(usize length, usize unsent) const;

    // recovery.cpp: RFC 8985 RACK-TLP and RFC 6675 recovery with a SACK peer.
    bool sack_recovery() const { return m_sack == Negotiated::yes; }
    void take_sack_blocks(const TcpRepr& repr, TimeNs now);
    void note_dsack(TcpSackBlock block);
    void rack_delivered(const TcpSegmentRecord& record, TimeNs now);
    void rack_deliver_acked(SeqNumber ack, TimeNs now);
    TimeNs rack_reordering_window() const;
    void rack_detect_loss(TimeNs now);
    void enter_sack_recovery();
    void undo_recovery();
    // New data gets records of at most `record_bytes` (a TSO segment one per
    // segment the link cuts it into, as the peer sees them).
    void record_transmission(SeqNumber seq, SeqNumber end, TimeNs now, u32 record_bytes);
    enum class PipeCheck : u8 { apply, skip };
    bool retransmit_lost(TimeNs now, PipeCheck check = PipeCheck::apply);
    usize send_record(usize index, TimeNs now);
    void arm_tlp(TimeNs now);
    void on_tlp(TimeNs now);
    void mark_all_lost();
    bool has_record_room() const { return m_scoreboard.size() + 3 <= m_scoreboard.capacity(); }

    // connection.cpp: timers and transitions.
    void on_rto(TimeNs now);
    void on_keepalive(TimeNs now);
    void arm_rto(TimeNs now);
    void set_state(TcpState state);
    void enter_time_wait(TimeNs now);
    void close_with(std::optional<TcpError> error);
    void init_send(SeqNumber iss);
    u32 flight() const { return static_cast<u32>(m_snd_max - m_snd_una); }
    SeqNumber send_end() const { return m_send_base + static_cast<u32>(m_send.size()); }
    bool fin_sent() const;
    usize unsent() const;

    TcpConfig m_config;
    TcpOutput& m_output;
    const TcpSecret& m_secret;
    TcpState m_state = TcpState::closed;
    std::optional<TcpError> m_error;
    std::optional<TcpError> m_soft_error; // from ICMP, until the connection ends
    Opened m_opened = Opened::actively;
    TcpEndpoint m_local;
    TcpEndpoint m_remote;

    // Send sequence space (RFC 9293 3.3.2). snd_max is the highest sequence
    // sent; snd_nxt falls back to snd_una after a timeout (go-back-N).
    SeqNumber m_iss;
    SeqNumber m_snd_una;
    SeqNumber m_snd_nxt;
    SeqNumber m_snd_max;
    SeqNumber m_snd_wl1;
    SeqNumber m_snd_wl2;
    SeqNumber m_send_base; // sequence number of the send ring's first byte
    u32 m_snd_wnd = 0;
    u32 m_max_snd_wnd = 0;
    u8 m_snd_wscale = 0;
    u32 m_smss = mss_default;
    u32 m_path_mss = 0; // path MTU - 40, from ICMP "fragmentation needed"; 0: unknown
    TcpRing m_send;
    FinQueued m_fin_queued = FinQueued::no;

    // Receive sequence space.
    SeqNumber m_irs;
    SeqNumber m_rcv_nxt;
    SeqNumber m_rcv_adv; // right edge of the window we advertised
    u8 m_rcv_wscale = 0;
    TcpRing m_recv;
    Received m_fin_received = Received::no;
    std::optional<SeqNumber> m_ooo_fin; // a FIN that arrived past a hole
    // RFC 2883: the duplicate data the next ACK reports as its first SACK block.
    std::optional<TcpSackBlock> m_dsack;
    OooRange m_ooo[ooo_ranges_max] = {};
    usize m_ooo_count = 0;
    usize m_ooo_bytes = 0;
    u32 m_ooo_stamp = 0;

    // Options negotiated on the SYNs.
    Negotiated m_sack = Negotiated::no;
    Negotiated m_timestamps = Negotiated::no;
    Negotiated m_wscale = Negotiated::no;
    u32 m_ts_recent = 0;
    u32 m_ts_offset = 0;

    // RTT, RTO, congestion (RFC 6298, 5681, 6582).
    RttEstimator m_rtt;
    Timing m_timing = Timing::idle;
    SeqNumber m_timed_seq;
    TimeNs m_timed_at = 0;
    u32 m_retries = 0;
    u32 m_cwnd = 0;
    u32 m_ssthresh = 0;
    u32 m_bytes_acked = 0;
    u32 m_dupacks = 0;
    u32 m_limited_sent = 0; // RFC 3042 bytes sent on the first two dupacks
    Recovery m_recovery = Recovery::none;
    SeqNumber m_recover;
    // NewReno without SACK: how far recovery has retransmitted.
    SeqNumber m_rexmit_high;
    // Every segment in flight (RFC 6675 scoreboard, RFC 8985 per-segment state).
    TcpScoreboard m_scoreboard;
    // RACK (RFC 8985 6.1): the most recently sent segment that was delivered,
    // its RTT, the highest sequence delivered, the minimum RTT (ns from our
    // own send times, finer than the 1 ms timestamp clock) and a smoothed RTT
    // for the probe timeout.
    bool m_rack_valid = false;
    TimeNs m_rack_sent_at = 0;
    SeqNumber m_rack_end;
    TimeNs m_rack_rtt = 0;
    TimeNs m_rack_min_rtt = deadline_none;
    TimeNs m_rack_srtt = 0;
    SeqNumber m_rack_fack;
    SeqNumber m_rack_fack_before_ack; // RACK.fack as the ACK being processed found it
    Reordering m_reordering = Reordering::not_seen;
    u32 m_reo_wnd_steps = 1;
    SeqNumber m_dsack_round;
    // D-SACK undo (RFC 3708 detection, RFC 4015's response): the window
    // before the recovery, and retransmissions of it not yet shown spurious.
    u32 m_prior_cwnd = 0;
    u32 m_prior_ssthresh = 0;
    u32 m_undo_retransmits = 0;
    SeqNumber m_undo_marker; // SND.UNA when the recovery began
    u32 m_tlp_probes = 0; // probes sent since the peer last told us something

    // Timers (deadline_none when off).
    TimeNs m_rto_at = deadline_none;
    TimeNs m_delack_at = deadline_none;
    TimeNs m_keepalive_at = deadline_none;
    TimeNs m_time_wait_at = deadline_none;
    TimeNs m_reorder_at = deadline_none; // RACK's reordering timer (RFC 8985 6.3)
    TimeNs m_tlp_at = deadline_none;     // the probe timeout (RFC 8985 7.2)
    AckNeed m_ack_need = AckNeed::none;
    u32 m_segments_unacked = 0;
    u32 m_keepalive_sent = 0;
    u32 m_challenge_count = 0;
    TimeNs m_challenge_window_at = 0;

    TcpStats m_stats;
};

} // namespace gantry::net
