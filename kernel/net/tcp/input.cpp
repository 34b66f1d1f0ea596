// Segment arrival, RFC 9293 section 3.10.7, with RFC 5961 (sections 3, 4, 5:
// blind reset, SYN and data injection defences), RFC 7323 sections 4.3 and
// 5.3 (TS.Recent, PAWS), RFC 6298 (RTT samples), RFC 5681 sections 3.1-3.2
// and RFC 6582 section 3.2 (congestion control on ACKs), RFC 1122 4.2.3.2 and
// RFC 5681 4.2 (when to acknowledge), RFC 2018 (out-of-order data for SACK).
#include <gantry/net/tcp/connection.hpp>

namespace gantry::net {

void TcpConnection::input(Ipv4Address source, const TcpRepr& repr, Bytes payload, TimeNs now)
{
    m_stats.segments_in++;
    switch (m_state) {
    case TcpState::closed: return; // the demultiplexer answers with reset_for()
    case TcpState::listen: return input_listen(source, repr, now);
    case TcpState::syn_sent: return input_syn_sent(repr, now);
    default: return input_synchronized(repr, payload, now);
    }
}

// RFC 9293 3.7.1 (MSS), RFC 7323 1.3 and 2.2 (options count only when both
// SYNs carry them), RFC 2018 2, RFC 5681 3.1 equation 3 (initial window).
void TcpConnection::take_options(const TcpRepr& syn)
{
    u32 peer_mss = syn.mss ? *syn.mss : mss_default;
    m_smss = peer_mss < m_config.mss ? peer_mss : m_config.mss;
    if (m_config.window_scaling == WindowScaling::on && syn.window_scale) {
        m_wscale = Negotiated::yes;
        m_snd_wscale = *syn.window_scale;
        m_rcv_wscale = tcp_window_scale_for(m_config, m_recv.capacity());
    }
    if (m_config.sack == TcpSackOption::on && syn.sack_permitted == SackPermitted::yes)
        m_sack = Negotiated::yes;
    if (m_config.timestamps == TcpTimestampOption::on && syn.timestamps) {
        m_timestamps = Negotiated::yes;
        m_ts_recent = syn.timestamps->value;
        m_smss -= 12; // every segment carries the 12-byte option (RFC 9293 3.7.1)
    }
    if (m_path_mss != 0) { // an ICMP "fragmentation needed" came first (RFC 1191)
        u32 path = m_path_mss - (m_timestamps == Negotiated::yes ? 12 : 0);
        m_smss = path < m_smss ? path : m_smss;
    }
    constexpr u32 smss_min = 64;
    m_smss = m_smss < smss_min ? smss_min : m_smss;
    m_cwnd = m_smss > 2190 ? 2 * m_smss : (m_smss > 1095 ? 3 * m_smss : 4 * m_smss);
}

// RFC 9293 3.10.7.2.
void TcpConnection::input_listen(Ipv4Address source, const TcpRepr& repr, TimeNs now)
{
    if (repr.has(TcpFlags::rst))
        return;
    if (repr.has(TcpFlags::ack)) {
        m_remote = TcpEndpoint{source, repr.source_port};
        send_reset(repr.ack);
        m_remote = {};
        return;
    }
    if (!repr.has(TcpFlags::syn))
        return;
    TcpEndpoint remote{source, repr.source_port};
    become_syn_received(remote, repr, m_secret.isn(m_local, remote, now));
    send_syn(now);
}

void TcpConnection::become_syn_received(TcpEndpoint remote, const TcpRepr& syn, SeqNumber iss)
{
    m_remote = remote;
    m_irs = syn.seq;
    m_rcv_nxt = syn.seq + 1;
    m_rcv_adv = m_rcv_nxt;
    init_send(iss);
    take_options(syn);
    m_snd_wnd = syn.window; // a SYN's window is never scaled (RFC 7323 2.2)
    m_max_snd_wnd = m_snd_wnd;
    m_snd_wl1 = syn.seq;
    m_snd_wl2 = m_iss;
    set_state(TcpState::syn_received);
}

Status<TcpError> TcpConnection::restore_syn_received(TcpEndpoint local, TcpEndpoint remote,
                                                     const TcpRepr& syn, SeqNumber iss)
{
    if (m_state != TcpState::closed)
        return fail(TcpError::invalid_state);
    m_local = local;
    m_opened = Opened::passively;
    become_syn_received(remote, syn, iss);
    m_snd_nxt = iss + 1;
    m_snd_max = iss + 1;
    usize free = m_recv.free();
    m_rcv_adv = m_rcv_nxt + static_cast<u32>(free > 0xffff ? 0xffff : free);
    return {};
}

// RFC 9293 3.10.7.3; RFC 5961 3.2 (a RST in SYN-SENT counts only if it
// acknowledges our SYN).
void TcpConnection::input_syn_sent(const TcpRepr& repr, TimeNs now)
{
    if (repr.has(TcpFlags::ack) && (repr.ack <= m_iss || repr.ack > m_snd_max)) {
        if (!repr.has(TcpFlags::rst))
            send_reset(repr.ack);
        return;
    }
    if (repr.has(TcpFlags::rst)) {
        if (repr.has(TcpFlags::ack))
            close_with(TcpError::refused);
        return;
    }
    if (!repr.has(TcpFlags::syn))
        return;
    m_irs = repr.seq;
    m_rcv_nxt = repr.seq + 1;
    m_rcv_adv = m_rcv_nxt;
    take_options(repr);
    m_snd_wnd = repr.window;
    m_max_snd_wnd = m_snd_wnd;
    m_snd_wl1 = repr.seq;
    m_snd_wl2 = repr.ack;
    if (!repr.has(TcpFlags::ack)) {
        // Simultaneous open: answer with SYN-ACK from the same ISS.
        set_state(TcpState::syn_received);
        m_rto_at = deadline_none;
        send_syn(now);
        return;
    }
    sample_rtt(repr, now);
    m_snd_una = repr.ack;
    m_retries = 0;
    m_rto_at = deadline_none;
    set_state(TcpState::established);
    if (m_config.keepalive == Keepalive::on)
        m_keepalive_at = now + m_config.keepalive_idle_ns;
    m_ack_need = AckNeed::now;
    transmit(now);
}

void TcpConnection::input_synchronized(const TcpRepr& original, Bytes payload, TimeNs now)
{
    TcpRepr repr = original; // trimmed to the window below
    if (!check_acceptable(repr, payload, now)) {
        transmit(now);
        return;
    }
    if (!check_rst_syn(repr, now))
        return;
    if (!repr.has(TcpFlags::ack))
        return; // RFC 9293 3.10.7.4, fifth: drop
    if (!process_ack(repr, payload.size(), now)) {
        transmit(now);
        return;
    }
    if (m_config.keepalive == Keepalive::on && m_state == TcpState::established) {
        m_keepalive_at = now + m_config.keepalive_idle_ns;
        m_keepalive_sent = 0;
    }
    process_text(repr, payload, now);
    transmit(now);
    arm_tlp(now); // RFC 8985 7.2: on each ACK
}

// RFC 9293 3.10.7.4, first: the four acceptability cases; RFC 7323 5.3 PAWS
// before it and 4.3 (TS.Recent) after it.
bool TcpConnection::check_acceptable(TcpRepr& repr, Bytes& payload, TimeNs now)
{
    bool rst = repr.has(TcpFlags::rst);
    bool stamped = m_timestamps == Negotiated::yes && repr.timestamps.has_value();
    if (stamped && !rst && static_cast<i32>(repr.timestamps->value - m_ts_recent) < 0) {
        m_stats.paws_drops++;
        m_ack_need = AckNeed::now;
        return false;
    }
    i32 window_signed = m_rcv_adv - m_rcv_nxt;
    u32 window = window_signed > 0 ? static_cast<u32>(window_signed) : 0;
    u32 length = repr.segment_len(payload.size());
    SeqNumber seq = repr.seq;
    SeqNumber edge = m_rcv_nxt + window;
    bool ok;
    if (length == 0)
        ok = window == 0 ? seq == m_rcv_nxt : seq_in_range(seq, m_rcv_nxt, edge);
    else
        ok = window != 0 && (seq_in_range(seq, m_rcv_nxt, edge) ||
                             seq_in_range(seq + (length - 1), m_rcv_nxt, edge));
    if (!ok && window == 0 && seq == m_rcv_nxt && !rst) {
        // RFC 9293 3.10.7.4: with a zero window, still take ACKs; drop the text.
        payload = {};
        repr.flags &= static_cast<u8>(~(TcpFlags::fin | TcpFlags::syn));
        m_ack_need = AckNeed::now;
        ok = true;
    }
    if (!ok) {
        if (!rst)
            m_ack_need = AckNeed::now;
        SeqNumber data = seq + (repr.has(TcpFlags::syn) ? 1u : 0u);
        if (!rst && !payload.empty() && data + static_cast<u32>(payload.size()) <= m_rcv_nxt)
            note_duplicate(data, data + static_cast<u32>(payload.size())); // all old data
        if (m_state == TcpState::time_wait && repr.has(TcpFlags::fin))
            m_time_wait_at = now + 2 * m_config.msl_ns; // a retransmitted FIN
        return false;
    }
    if (stamped && repr.seq <= m_rcv_nxt)
        m_ts_recent = repr.timestamps->value;
    if (repr.seq < m_rcv_nxt && !rst) {
        u32 before = static_cast<u32>(m_rcv_nxt - repr.seq);
        if (repr.has(TcpFlags::syn)) {
            repr.flags &= static_cast<u8>(~TcpFlags::syn);
            repr.seq += 1;
            before--;
        }
        usize cut = before < payload.size() ? before : payload.size();
        if (cut > 0)
            note_duplicate(repr.seq, repr.seq + static_cast<u32>(cut));
        payload = payload.subspan(cut);
        repr.seq += static_cast<u32>(cut);
        m_ack_need = AckNeed::now; // a duplicate: the peer may have lost our ACK
    }
    i32 room = edge - repr.seq;
    if (room >= 0 && payload.size() > static_cast<usize>(room)) {
        payload = payload.first(static_cast<usize>(room));
        repr.flags &= static_cast<u8>(~TcpFlags::fin);
    }
    return true;
}

// RFC 9293 3.10.7.4 second and fourth, as changed by RFC 5961 3.2 and 4.2.
bool TcpConnection::check_rst_syn(const TcpRepr& repr, TimeNs now)
{
    if (repr.has(TcpFlags::rst)) {
        if (repr.seq != m_rcv_nxt) {
            send_challenge_ack(now); // in the window but not exact
            return false;
        }
        switch (m_state) {
        case TcpState::closing:
        case TcpState::last_ack:
        case TcpState::time_wait: close_with(std::nullopt); break;
        // From SYN-SENT (a simultaneous open) the connection was refused.
        case TcpState::syn_received:
            close_with(m_opened == Opened::actively ? TcpError::refused : TcpError::reset);
            break;
        default: close_with(TcpError::reset); break;
        }
        return false;
    }
    if (repr.has(TcpFlags::syn)) {
        send_challenge_ack(now); // any SYN here, in window or not (RFC 5961 4.2)
        return false;
    }
    return true;
}

// RFC 9293 3.10.7.4 fifth, with RFC 5961 5.2's acceptable ACK range.
bool TcpConnection::process_ack(const TcpRepr& repr, usize payload_len, TimeNs now)
{
    SeqNumber ack = repr.ack;
    if (ack > m_snd_max || ack < m_snd_una - m_max_snd_wnd) {
        send_challenge_ack(now);
        return false;
    }
    if (m_state == TcpState::syn_received) {
        if (ack <= m_snd_una) {
            send_reset(ack);
            return false;
        }
        set_state(m_fin_queued == FinQueued::yes ? TcpState::fin_wait_1
                                                   : TcpState::established);
        m_snd_wnd = static_cast<u32>(repr.window) << m_snd_wscale;
        m_max_snd_wnd = m_snd_wnd > m_max_snd_wnd ? m_snd_wnd : m_max_snd_wnd;
        m_snd_wl1 = repr.seq;
        m_snd_wl2 = ack;
        if (m_config.keepalive == Keepalive::on)
            m_keepalive_at = now + m_config.keepalive_idle_ns;
    }
    m_rack_fack_before_ack = m_rack_fack;
    if (sack_recovery() && repr.sack_count > 0)
        take_sack_blocks(repr, now);
    // The window's right edge as the peer last set it: an ACK whose window
    // may not be used (update_send_window) must not move it either.
    SeqNumber window_end = m_snd_una + m_snd_wnd;
    if (ack > m_snd_una)
        on_new_ack(repr, static_cast<u32>(ack - m_snd_una), now);
    else if (payload_len == 0 && !repr.has(TcpFlags::syn | TcpFlags::fin) && flight() > 0 &&
             m_snd_wnd > 0 && (static_cast<u32>(repr.window) << m_snd_wscale) == m_snd_wnd)
        on_dupack(now); // RFC 5681 2; answers to zero-window probes are not dupacks
    update_send_window(repr, window_end);
    if (sack_recovery())
        rack_detect_loss(now); // RFC 8985 6.2 step 5, after the whole ACK is taken
    bool fin_acked = fin_sent() && m_snd_una == m_snd_max;
    if (fin_acked)
        on_fin_acked(now);
    return m_state != TcpState::closed;
}

void TcpConnection::on_fin_acked(TimeNs now)
{
    switch (m_state) {
    case TcpState::fin_wait_1: set_state(TcpState::fin_wait_2); break;
    case TcpState::closing: enter_time_wait(now); break;
    case TcpState::last_ack: close_with(std::nullopt); break;
    default: break;
    }
}

void TcpConnection::update_send_window(const TcpRepr& repr, SeqNumber window_end)
{
    if (!(m_snd_wl1 < repr.seq || (m_snd_wl1 == repr.seq && m_snd_wl2 <= repr.ack))) {
        // An older segment's window is not taken (RFC 9293 3.10.7.4), but
        // SND.WND counts from SND.UNA, which its ACK may have moved: shrink
        // SND.WND by as much, so the right edge stays where the peer put it
        // (as BSD's tcp_input does). Otherwise a retransmission from the peer
        // that acknowledges new data moves the edge right, past the peer's
        // buffer (found by gantry simfuzz, seed 1472).
        i32 room = window_end - m_snd_una;
        m_snd_wnd = room > 0 ? static_cast<u32>(room) : 0;
        return;
    }
    u32 old_window = m_snd_wnd;
    m_snd_wnd = static_cast<u32>(repr.window) << m_snd_wscale;
    m_max_snd_wnd = m_snd_wnd > m_max_snd_wnd ? m_snd_wnd : m_max_snd_wnd;
    m_snd_wl1 = repr.seq;
    m_snd_wl2 = repr.ack;
    if (old_window == 0 && m_snd_wnd > 0) {
        // The window opened: the persist timer stops, and a probe byte the
        // peer did not take goes again at once instead of after an RTO.
        m_snd_nxt = m_snd_una;
        m_rto_at = deadline_none;
        m_rtt.reset_backoff();
    }
}

void TcpConnection::sample_rtt(const TcpRepr& repr, TimeNs now)
{
    // RFC 7323 4.1: with timestamps every ACK that advances SND.UNA gives a
    // sample, and retransmissions are unambiguous (Karn's rule is moot).
    if (m_timestamps == Negotiated::yes && repr.timestamps && repr.timestamps->echo != 0) {
        u32 echoed = repr.timestamps->echo - m_ts_offset;
        u32 elapsed_ms = static_cast<u32>(now / ns_per_ms) - echoed;
        if (elapsed_ms < (1u << 31))
            m_rtt.sample(TimeNs{elapsed_ms} * ns_per_ms);
        m_timing = Timing::idle;
        return;
    }
    if (m_timing == Timing::running && repr.ack >= m_timed_seq) {
        m_rtt.sample(now - m_timed_at);
        m_timing = Timing::idle;
    }
}

// RFC 6298 5.2/5.3, RFC 5681 3.1 (slow start, congestion avoidance with
// appropriate byte counting), RFC 6582 3.2 steps 3 (full and partial ACKs);
// with a SACK peer RFC 6675 5 (cwnd stays at ssthresh until the recovery
// point is acknowledged) and RFC 8985 6.2 steps 1-3 for the acked segments.
void TcpConnection::on_new_ack(const TcpRepr& repr, u32 acked, TimeNs now)
{
    sample_rtt(repr, now);
    if (sack_recovery())
        rack_deliver_acked(repr.ack, now);
    m_scoreboard.acknowledge(repr.ack);
    i32 data_signed = repr.ack - m_send_base;
    u32 data_acked = 0;
    if (data_signed > 0) {
        u32 held = static_cast<u32>(m_send.size());
        data_acked = static_cast<u32>(data_signed) < held ? static_cast<u32>(data_signed) : held;
        m_send.consume(data_acked);
        m_send_base += data_acked;
        m_stats.bytes_out += data_acked;
    }
    (void)acked;
    m_snd_una = repr.ack;
    if (m_snd_nxt < m_snd_una)
        m_snd_nxt = m_snd_una;
    m_retries = 0;
    m_tlp_probes = 0;
    if (m_recovery == Recovery::fast && !sack_recovery() && m_snd_una < m_recover) {
        newreno_partial_ack(data_acked, now);
    } else {
        if (m_recovery != Recovery::none && m_snd_una >= m_recover) {
            if (m_recovery == Recovery::fast) { // RFC 6582 3.2 step 3, full ACK
                u32 floor = flight() + m_smss;
                m_cwnd = m_ssthresh < floor ? m_ssthresh : floor;
            }
            m_recovery = Recovery::none;
        }
        m_dupacks = 0;
        m_limited_sent = 0;
        if (m_recovery != Recovery::fast)
            grow_cwnd(data_acked);
    }
    if (flight() == 0)
        m_rto_at = deadline_none;
    else
        arm_rto(now);
}

// RFC 6582 3.2 step 3, a partial ACK: the next hole goes at once, and the
// window deflates by what was acknowledged.
void TcpConnection::newreno_partial_ack(u32 data_acked, TimeNs now)
{
    if (m_rexmit_high <= m_snd_una)
        m_rexmit_high = m_snd_una + static_cast<u32>(send_data(m_snd_una, m_smss, now));
    m_cwnd = m_cwnd > data_acked ? m_cwnd - data_acked : 0;
    if (data_acked >= m_smss)
        m_cwnd += m_smss;
    m_cwnd = m_cwnd < m_smss ? m_smss : m_cwnd;
}

// RFC 5681 3.1: slow start below ssthresh, else one SMSS per window of bytes
// acknowledged (RFC 3465 appropriate byte counting).
void TcpConnection::grow_cwnd(u32 data_acked)
{
    if (m_cwnd < m_ssthresh) {
        m_cwnd += data_acked < m_smss ? data_acked : m_smss;
        return;
    }
    m_bytes_acked += data_acked;
    if (m_bytes_acked >= m_cwnd) {
        m_bytes_acked -= m_cwnd;
        m_cwnd += m_smss;
    }
}

// RFC 5681 3.2 and RFC 6582 3.2 steps 1, 2 and 4.
void TcpConnection::on_dupack(TimeNs now)
{
    m_stats.dupacks++;
    // With SACK, the blocks on the ACK already told RACK and the pipe what
    // left the network (RFC 6675, RFC 8985): counting duplicates would only
    // let the network's own duplicated ACKs inflate the window.
    if (sack_recovery())
        return;
    if (m_recovery == Recovery::fast) {
        m_cwnd += m_smss; // each dupack: a segment left the network
        return;
    }
    m_dupacks++;
    if (m_dupacks < 3) {
        // RFC 3042: the first two dupacks may each send one new segment if
        // the peer's window allows, so small windows still reach three.
        SeqNumber window_end = m_snd_una + m_snd_wnd;
        i32 room = window_end - m_snd_nxt;
        usize length = unsent() < m_smss ? unsent() : m_smss;
        if (room > 0 && length > 0 && length <= static_cast<usize>(room))
            m_limited_sent += static_cast<u32>(send_data(m_snd_nxt, length, now));
        return;
    }
    if (m_dupacks != 3 || m_snd_una <= m_recover)
        return;
    // RFC 5681 3.2 step 2: limited transmit's segments are not in FlightSize.
    u32 half = (flight() - m_limited_sent) / 2;
    m_ssthresh = half > 2 * m_smss ? half : 2 * m_smss;
    m_recover = m_snd_max;
    m_recovery = Recovery::fast;
    m_stats.fast_retransmits++;
    m_rexmit_high = m_snd_una + static_cast<u32>(send_data(m_snd_una, m_smss, now));
    m_cwnd = m_ssthresh + 3 * m_smss;
}

// RFC 9293 3.10.7.4 seventh (text) and eighth (FIN).
void TcpConnection::process_text(const TcpRepr& repr, Bytes payload, TimeNs now)
{
    bool takes_text = m_state == TcpState::established || m_state == TcpState::fin_wait_1 ||
                      m_state == TcpState::fin_wait_2;
    if (takes_text && !payload.empty()) {
        if (repr.seq == m_rcv_nxt) {
            note_held_duplicate(repr.seq, payload.size());
            m_recv.write_at(m_recv.size(), payload);
            m_recv.commit(payload.size());
            m_rcv_nxt += static_cast<u32>(payload.size());
            m_stats.bytes_in += payload.size();
            bool filled_hole = m_ooo_count > 0;
            drain_ooo(now);
            m_segments_unacked++;
            // RFC 5681 4.2: at least every second full segment, at once when a
            // hole fills; RFC 1122 4.2.3.2: otherwise within the delay.
            if (filled_hole || m_config.delayed_ack == DelayedAck::off ||
                m_segments_unacked >= 2) {
                m_ack_need = AckNeed::now;
            } else if (m_ack_need == AckNeed::none) {
                m_ack_need = AckNeed::delayed;
                m_delack_at = now + m_config.delayed_ack_ns;
            }
        } else {
            store_ooo(repr.seq, payload);
            m_ack_need = AckNeed::now; // RFC 5681 4.2: an immediate duplicate ACK
        }
    }
    if (!repr.has(TcpFlags::fin))
        return;
    SeqNumber fin = repr.seq + static_cast<u32>(payload.size());
    if (m_fin_received == Received::yes) {
        // RFC 9293 3.10.7.4 eighth, TIME-WAIT: acknowledge the FIN and restart
        // the 2 MSL timeout (a FIN below RCV.NXT took the unacceptable path).
        if (m_state == TcpState::time_wait && fin >= m_rcv_nxt) {
            m_ack_need = AckNeed::now;
            m_time_wait_at = now + 2 * m_config.msl_ns;
        }
        return;
    }
    if (fin == m_rcv_nxt)
        process_fin(now);
    else if (fin > m_rcv_nxt && takes_text) {
        m_ooo_fin = fin;
        m_ack_need = AckNeed::now; // out of order: an immediate duplicate ACK (RFC 5681 4.2)
    }
}

void TcpConnection::process_fin(TimeNs now)
{
    m_ooo_fin.reset();
    m_fin_received = Received::yes;
    m_rcv_nxt += 1;
    m_ack_need = AckNeed::now;
    switch (m_state) {
    case TcpState::syn_received:
    case TcpState::established: set_state(TcpState::close_wait); break;
    case TcpState::fin_wait_1:
        if (fin_sent() && m_snd_una == m_snd_max)
            enter_time_wait(now);
        else
            set_state(TcpState::closing); // simultaneous close
        break;
    case TcpState::fin_wait_2: enter_time_wait(now); break;
    default: break;
    }
}

// Out-of-order text sits in the receive ring where it belongs; the ranges
// record what is there. Bounded by ooo_ranges_max and ooo_bytes_max.
void TcpConnection::store_ooo(SeqNumber seq, Bytes payload)
{
    SeqNumber left = seq;
    SeqNumber right = seq + static_cast<u32>(payload.size());
    note_held_duplicate(seq, payload.size());
    usize merged_bytes = 0;
    usize kept = 0;
    OooRange keep[ooo_ranges_max];
    for (usize i = 0; i < m_ooo_count; i++) {
        const OooRange& range = m_ooo[i];
        if (range.right < left || range.left > right) {
            keep[kept++] = range;
            continue;
        }
        merged_bytes += static_cast<u32>(range.right - range.left);
        left = SeqNumber::min(left, range.left);
        right = SeqNumber::max(right, range.right);
    }
    usize bytes = m_ooo_bytes - merged_bytes + static_cast<u32>(right - left);
    usize bytes_max = m_config.ooo_bytes_max != 0 ? m_config.ooo_bytes_max : m_recv.capacity();
    if (kept == ooo_ranges_max || bytes > bytes_max) {
        m_stats.ooo_drops++;
        return;
    }
    usize offset = m_recv.size() + static_cast<u32>(seq - m_rcv_nxt);
    GANTRY_ASSERT(offset + payload.size() <= m_recv.capacity());
    m_recv.write_at(offset, payload);
    // Insert keeping the ranges sorted by their left edge.
    usize at = 0;
    while (at < kept && keep[at].left < left)
        at++;
    for (usize i = kept; i > at; i--)
        keep[i] = keep[i - 1];
    keep[at] = OooRange{left, right, ++m_ooo_stamp};
    for (usize i = 0; i <= kept; i++)
        m_ooo[i] = keep[i];
    m_ooo_count = kept + 1;
    m_ooo_bytes = bytes;
    m_stats.ooo_segments++;
}

// RFC 2883: data that arrived again; the next ACK reports it first (every
// duplicate is acknowledged at once, so one block per ACK is enough).
void TcpConnection::note_duplicate(SeqNumber left, SeqNumber right)
{
    if (m_sack == Negotiated::yes && left < right)
        m_dsack = TcpSackBlock{left, right};
}

// The first out-of-order range (lowest sequence) that already held some of
// the `length` bytes at `seq`: those bytes are a duplicate (RFC 2883 4).
void TcpConnection::note_held_duplicate(SeqNumber seq, usize length)
{
    if (m_dsack)
        return; // the segment's bytes below RCV.NXT were noted first: they count
    SeqNumber end = seq + static_cast<u32>(length);
    for (usize i = 0; i < m_ooo_count; i++) {
        SeqNumber left = SeqNumber::max(seq, m_ooo[i].left);
        SeqNumber right = SeqNumber::min(end, m_ooo[i].right);
        if (left < right)
            return note_duplicate(left, right);
    }
}

void TcpConnection::drain_ooo(TimeNs now)
{
    while (m_ooo_count > 0 && m_ooo[0].left <= m_rcv_nxt) {
        if (m_ooo[0].right > m_rcv_nxt) {
            u32 count = static_cast<u32>(m_ooo[0].right - m_rcv_nxt);
            m_recv.commit(count);
            m_rcv_nxt += count;
            m_stats.bytes_in += count;
        }
        m_ooo_bytes -= static_cast<u32>(m_ooo[0].right - m_ooo[0].left);
        for (usize i = 1; i < m_ooo_count; i++)
            m_ooo[i - 1] = m_ooo[i];
        m_ooo_count--;
    }
    if (m_ooo_fin && *m_ooo_fin == m_rcv_nxt)
        process_fin(now); // the FIN that waited behind the hole
}

} // namespace gantry::net
