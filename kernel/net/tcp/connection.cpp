// TCP connection life cycle, user calls and timers: RFC 9293 sections 3.10.1-
// 3.10.6 (OPEN, SEND, RECEIVE, CLOSE, ABORT) and 3.10.8 (timeouts), RFC 6298
// section 5 (managing the retransmission timer), RFC 5681 section 3.1 (what a
// timeout does to the congestion window), RFC 1122 4.2.2.17 (zero-window
// probes) and 4.2.3.6 (keepalive).
#include <gantry/net/tcp/connection.hpp>

namespace gantry::net {

const char* tcp_state_name(TcpState state)
{
    switch (state) {
    case TcpState::closed: return "CLOSED";
    case TcpState::listen: return "LISTEN";
    case TcpState::syn_sent: return "SYN-SENT";
    case TcpState::syn_received: return "SYN-RECEIVED";
    case TcpState::established: return "ESTABLISHED";
    case TcpState::fin_wait_1: return "FIN-WAIT-1";
    case TcpState::fin_wait_2: return "FIN-WAIT-2";
    case TcpState::close_wait: return "CLOSE-WAIT";
    case TcpState::closing: return "CLOSING";
    case TcpState::last_ack: return "LAST-ACK";
    case TcpState::time_wait: return "TIME-WAIT";
    }
    return "?";
}

const char* tcp_error_name(TcpError error)
{
    switch (error) {
    case TcpError::invalid_state: return "invalid state";
    case TcpError::closed: return "socket closed";
    case TcpError::no_socket: return "no free socket";
    case TcpError::address_in_use: return "address in use";
    case TcpError::no_route: return "no route to host";
    case TcpError::reset: return "connection reset";
    case TcpError::refused: return "connection refused";
    case TcpError::timed_out: return "timed out";
    case TcpError::unreachable: return "network or host unreachable";
    case TcpError::prohibited: return "administratively prohibited";
    case TcpError::aborted: return "aborted";
    case TcpError::no_memory: return "no memory";
    }
    return "?";
}

TcpConnection::TcpConnection(const TcpConfig& config, TcpOutput& output,
                             const TcpSecret& secret)
    : m_config(config), m_output(output), m_secret(secret), m_rtt(config.rtt)
{
}

Result<TcpConnection*, TcpError> TcpConnection::create(Heap& heap, const TcpConfig& config,
                                                       TcpOutput& output,
                                                       const TcpSecret& secret)
{
    GANTRY_ASSERT(config.mss >= 64);
    auto* connection = heap.create<TcpConnection>(config, output, secret);
    if (!connection)
        return fail(TcpError::no_memory);
    usize records = config.send_buffer_bytes / send_bytes_per_record + TcpScoreboard::records_min;
    if (!connection->m_send.allocate(heap, config.send_buffer_bytes) ||
        !connection->m_recv.allocate(heap, config.receive_buffer_bytes) ||
        !connection->m_scoreboard.allocate(heap, records)) {
        heap.destroy(connection);
        return fail(TcpError::no_memory);
    }
    return connection;
}

void TcpConnection::destroy(Heap& heap, TcpConnection* connection) { heap.destroy(connection); }

void TcpConnection::init_send(SeqNumber iss)
{
    m_iss = iss;
    m_snd_una = iss;
    m_snd_nxt = iss;
    m_snd_max = iss;
    m_send_base = iss + 1;
    m_recover = iss;
    m_rack_fack = iss;
    m_rack_fack_before_ack = iss;
    m_dsack_round = iss;
    m_undo_marker = iss;
    m_ts_offset = m_secret.timestamp_offset(m_local, m_remote);
    // RFC 5681 3.1 equation 3 (IW) is set once the MSS is known; until then one segment.
    m_cwnd = m_smss;
    m_ssthresh = 0x7fffffff; // RFC 5681 3.1: arbitrarily high
}

Status<TcpError> TcpConnection::connect(TcpEndpoint local, TcpEndpoint remote, TimeNs now)
{
    if (m_state != TcpState::closed)
        return fail(TcpError::invalid_state);
    m_local = local;
    m_remote = remote;
    init_send(m_secret.isn(local, remote, now));
    set_state(TcpState::syn_sent);
    send_syn(now);
    return {};
}

Status<TcpError> TcpConnection::listen(TcpEndpoint local)
{
    if (m_state != TcpState::closed)
        return fail(TcpError::invalid_state);
    m_local = local;
    m_opened = Opened::passively;
    set_state(TcpState::listen);
    return {};
}

void TcpConnection::set_state(TcpState state)
{
    m_state = state;
}

void TcpConnection::close_with(std::optional<TcpError> error)
{
    if (error && !m_error)
        m_error = error;
    set_state(TcpState::closed);
    m_rto_at = m_delack_at = m_keepalive_at = m_time_wait_at = deadline_none;
    m_reorder_at = m_tlp_at = deadline_none;
    m_ack_need = AckNeed::none;
}

void TcpConnection::enter_time_wait(TimeNs now)
{
    set_state(TcpState::time_wait);
    m_rto_at = m_delack_at = m_keepalive_at = deadline_none;
    m_reorder_at = m_tlp_at = deadline_none;
    m_time_wait_at = now + 2 * m_config.msl_ns; // RFC 9293 3.10.7.4, eighth step
}

bool TcpConnection::fin_sent() const
{
    return m_fin_queued == FinQueued::yes && m_snd_max == send_end() + 1;
}

usize TcpConnection::unsent() const
{
    i32 sent = m_snd_nxt - m_send_base;
    if (sent < 0)
        return m_send.size();
    return static_cast<usize>(sent) >= m_send.size() ? 0 : m_send.size() - static_cast<usize>(sent);
}

usize TcpConnection::send_space() const { return m_send.free(); }

bool TcpConnection::can_send() const
{
    return (m_state == TcpState::established || m_state == TcpState::close_wait ||
            m_state == TcpState::syn_sent || m_state == TcpState::syn_received) &&
           m_fin_queued == FinQueued::no;
}

Result<usize, TcpError> TcpConnection::send(Bytes data, TimeNs now)
{
    if (m_error)
        return fail(*m_error);
    if (!can_send())
        return fail(TcpError::invalid_state);
    usize taken = m_send.push(data);
    transmit(now);
    return taken;
}

Result<usize, TcpError> TcpConnection::recv(MutableBytes out, TimeNs now)
{
    if (m_recv.empty() && m_error)
        return fail(*m_error);
    usize before = m_recv.free();
    usize count = m_recv.pop(out);
    // RFC 1122 4.2.3.3: tell the peer once the window has opened by enough.
    u32 promised = static_cast<u32>(m_rcv_adv - m_rcv_nxt);
    usize threshold = m_recv.capacity() / 2 < m_smss ? m_recv.capacity() / 2 : m_smss;
    if (count > 0 && before < m_recv.capacity() && m_recv.free() >= promised + threshold &&
        m_state != TcpState::closed && m_state != TcpState::listen &&
        m_state != TcpState::syn_sent) {
        m_ack_need = AckNeed::now;
        transmit(now);
    }
    return count;
}

Status<TcpError> TcpConnection::shutdown_write(TimeNs now)
{
    switch (m_state) {
    case TcpState::listen:
    case TcpState::syn_sent:
        // RFC 9293 3.10.4: nothing was sent yet, so the connection just ends.
        close_with(std::nullopt);
        return {};
    case TcpState::syn_received:
        // RFC 9293 3.10.4: the FIN waits for ESTABLISHED (process_ack then
        // moves on to FIN-WAIT-1).
        m_fin_queued = FinQueued::yes;
        return {};
    case TcpState::established:
    case TcpState::close_wait:
        if (m_fin_queued == FinQueued::yes)
            return {};
        m_fin_queued = FinQueued::yes;
        set_state(m_state == TcpState::close_wait ? TcpState::last_ack : TcpState::fin_wait_1);
        transmit(now);
        return {};
    default: return {}; // FIN already queued, or closed
    }
}

void TcpConnection::abort(TimeNs now)
{
    (void)now;
    bool synchronized = m_state != TcpState::closed && m_state != TcpState::listen &&
                        m_state != TcpState::syn_sent && m_state != TcpState::time_wait;
    if (synchronized)
        send_reset(m_snd_nxt); // RFC 9293 3.10.5
    close_with(TcpError::aborted);
}

void TcpConnection::give_up_open(TcpError error)
{
    GANTRY_ASSERT(m_state == TcpState::syn_sent);
    close_with(error);
}

void TcpConnection::set_keepalive(Keepalive keepalive, TimeNs now)
{
    m_config.keepalive = keepalive;
    m_keepalive_sent = 0;
    m_keepalive_at = keepalive == Keepalive::on && m_state == TcpState::established
                         ? now + m_config.keepalive_idle_ns
                         : deadline_none;
}

void TcpConnection::arm_rto(TimeNs now) { m_rto_at = now + m_rtt.rto(); }

TimeNs TcpConnection::next_deadline() const
{
    TimeNs next = m_rto_at;
    for (TimeNs at : {m_delack_at, m_keepalive_at, m_time_wait_at, m_reorder_at, m_tlp_at})
        next = at < next ? at : next;
    return next;
}

TimeNs TcpConnection::poll(TimeNs now)
{
    if (m_time_wait_at <= now) {
        close_with(std::nullopt); // RFC 9293 3.10.8: the time-wait timeout
        return deadline_none;
    }
    if (m_rto_at <= now)
        on_rto(now);
    if (m_reorder_at <= now)
        rack_detect_loss(now); // RFC 8985 6.3: the reordering window has passed
    if (m_tlp_at <= now)
        on_tlp(now);
    if (m_keepalive_at <= now)
        on_keepalive(now);
    if (m_delack_at <= now) {
        m_delack_at = deadline_none;
        if (m_ack_need != AckNeed::none)
            m_ack_need = AckNeed::now;
    }
    transmit(now);
    return next_deadline();
}

// RFC 6298 5.4-5.7 and RFC 5681 3.1 (equation 4); with a zero send window the
// same timer is the persist timer of RFC 1122 4.2.2.17, whose probes continue
// as long as the peer answers and never count as retries.
void TcpConnection::on_rto(TimeNs now)
{
    m_rto_at = deadline_none;
    // Our SYN is unacknowledged: the SYN (or SYN-ACK) is what goes again.
    bool synchronizing = m_snd_una == m_iss;
    bool persist = !synchronizing && m_snd_wnd == 0 && flight() <= 1 &&
                   (unsent() > 0 || flight() == 1);
    if (persist) {
        send_probe(now);
        m_rtt.back_off();
        arm_rto(now);
        return;
    }
    if (flight() == 0 && !synchronizing)
        return;
    m_retries++;
    u32 limit = synchronizing ? m_config.syn_retries_max : m_config.retries_max;
    if (m_retries > limit) {
        // RFC 1122 4.2.3.9: the soft error ICMP reported says why, if there was one.
        close_with(m_soft_error.value_or(TcpError::timed_out));
        return;
    }
    m_stats.timeouts++;
    if (m_rtt.backoff() == 0) {
        u32 half = flight() / 2;
        m_ssthresh = half > 2 * m_smss ? half : 2 * m_smss;
    }
    m_cwnd = m_smss; // the loss window
    m_bytes_acked = 0;
    m_dupacks = 0;
    m_limited_sent = 0;
    m_recovery = Recovery::timeout;
    m_recover = m_snd_max; // RFC 6582 3.2 step 4: no fast retransmit for these
    mark_all_lost();       // they go again in order as cwnd allows (no go-back-N)
    m_timing = Timing::idle; // Karn
    m_rtt.back_off();
    if (synchronizing) {
        send_syn(now);
        m_stats.retransmits++;
        return;
    }
    transmit(now);
    if (m_rto_at == deadline_none)
        arm_rto(now);
}

void TcpConnection::on_keepalive(TimeNs now)
{
    m_keepalive_at = deadline_none;
    if (m_state != TcpState::established || m_config.keepalive != Keepalive::on)
        return;
    if (m_keepalive_sent >= m_config.keepalive_probes_max) {
        close_with(TcpError::timed_out);
        return;
    }
    if (flight() == 0) {
        // RFC 1122 4.2.3.6: SEG.SEQ = SND.NXT - 1 makes the peer answer with an ACK.
        TcpRepr repr = base_repr(now);
        repr.seq = m_snd_nxt - 1;
        emit(repr, {}, now);
        m_keepalive_sent++;
        m_stats.keepalive_probes++;
    }
    m_keepalive_at = now + m_config.keepalive_interval_ns;
}

TcpStats TcpConnection::stats() const
{
    TcpStats stats = m_stats;
    stats.state = m_state;
    stats.srtt_ns = m_rtt.srtt();
    stats.rttvar_ns = m_rtt.rttvar();
    stats.rto_ns = m_rtt.rto();
    stats.cwnd = m_cwnd;
    stats.ssthresh = m_ssthresh;
    stats.snd_wnd = m_snd_wnd;
    stats.rcv_wnd = static_cast<u32>(m_rcv_adv - m_rcv_nxt);
    return stats;
}

std::optional<TcpRepr> TcpConnection::reset_for(const TcpRepr& repr, usize payload_len)
{
    if (repr.has(TcpFlags::rst))
        return std::nullopt;
    TcpRepr reset;
    reset.source_port = repr.destination_port;
    reset.destination_port = repr.source_port;
    if (repr.has(TcpFlags::ack)) {
        reset.seq = repr.ack; // <SEQ=SEG.ACK><CTL=RST>
        reset.flags = TcpFlags::rst;
    } else {
        // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
        reset.seq = SeqNumber(0);
        reset.ack = repr.seq + repr.segment_len(payload_len);
        reset.flags = TcpFlags::rst | TcpFlags::ack;
    }
    return reset;
}

} // namespace gantry::net
