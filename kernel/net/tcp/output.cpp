// Sending: RFC 9293 3.8.6 (windows), 3.10.2 (SEND); RFC 5681 (cwnd limits
// what is in flight); RFC 1122 4.2.3.4 (Nagle, sender SWS avoidance) and
// 4.2.3.3 (receiver SWS avoidance when advertising); RFC 7323 2.3, 3.2
// (scaled windows, timestamps on every segment); RFC 2018 4 (SACK blocks,
// most recent first); RFC 1122 4.2.2.17 (zero-window probes).
#include <gantry/net/tcp/connection.hpp>

namespace gantry::net {

u8 tcp_window_scale_for(usize capacity)
{
    u8 shift = 0;
    while (shift < TcpRepr::window_scale_max && (capacity >> shift) > 0xffff)
        shift++;
    return shift;
}

u8 tcp_window_scale_for(const TcpConfig& config, usize capacity)
{
    return tcp_window_scale_for(capacity > config.window_scale_bytes ? capacity
                                                                     : config.window_scale_bytes);
}

u32 TcpConnection::ts_now(TimeNs now) const
{
    return static_cast<u32>(now / ns_per_ms) + m_ts_offset;
}

u16 TcpConnection::advertise_window()
{
    i32 promised_signed = m_rcv_adv - m_rcv_nxt;
    u32 promised = promised_signed > 0 ? static_cast<u32>(promised_signed) : 0;
    u32 window = static_cast<u32>(m_recv.free());
    u32 threshold = static_cast<u32>(m_recv.capacity() / 2 < m_smss ? m_recv.capacity() / 2
                                                                      : m_smss);
    // Receiver SWS avoidance (RFC 9293 3.8.6.2.2, MUST-39; RFC 1122 4.2.3.3):
    // never offer a window smaller than min(RCV.BUFF / 2, Eff.snd.MSS); below
    // that the right edge stays where it was. A window at least that large is
    // offered whole on every segment, as BSD stacks do, instead of moving the
    // edge only in steps of that size (the RFC's "suggested" variant): the
    // sender's own SWS avoidance (3.8.6.2.1) keeps it from sending a silly
    // segment into a small increment, so nothing small is invited either way.
    if (window < threshold)
        window = 0;
    // The right edge never moves left (RFC 9293 3.8.6.2.2, RFC 7323 2.4).
    if (window < promised)
        window = promised;
    u32 scaled = window >> m_rcv_wscale;
    if (scaled > 0xffff)
        scaled = 0xffff;
    SeqNumber edge = m_rcv_nxt + (scaled << m_rcv_wscale);
    if (edge > m_rcv_adv)
        m_rcv_adv = edge;
    return static_cast<u16>(scaled);
}

void TcpConnection::fill_sack(TcpRepr& repr) const
{
    // RFC 2883 4: a D-SACK block, when there is one, comes first; then, as
    // RFC 2018 4 orders them, the block holding the most recently received
    // segment and the other blocks, most recent first (a duplicate of
    // out-of-order data refreshed its block's stamp, so the block holding it
    // comes second, as RFC 2883 4 asks).
    usize block = 0;
    if (m_dsack)
        repr.sack[block++] = *m_dsack;
    bool used[ooo_ranges_max] = {};
    for (usize taken = 0; taken < m_ooo_count && block < TcpRepr::sack_blocks_max; taken++) {
        usize best = ooo_ranges_max;
        for (usize i = 0; i < m_ooo_count; i++)
            if (!used[i] && (best == ooo_ranges_max || m_ooo[i].stamp > m_ooo[best].stamp))
                best = i;
        used[best] = true;
        repr.sack[block++] = TcpSackBlock{m_ooo[best].left, m_ooo[best].right};
    }
    repr.sack_count = static_cast<u8>(block);
}

TcpRepr TcpConnection::base_repr(TimeNs now)
{
    TcpRepr repr;
    repr.source_port = m_local.port;
    repr.destination_port = m_remote.port;
    // When snd_nxt goes back (a window that opened, a smaller path MTU), the
    // peer may have received everything up to snd_max and moved RCV.NXT
    // there. A pure ACK stamped with the rewound snd_nxt would be below its window,
    // unacceptable (RFC 9293 3.10.7.4), and its ACK field ignored; when both
    // ends are in that state they trade such ACKs forever and neither learns
    // what the other received (found by gantry simfuzz, seed 1049). So segments
    // without data carry snd_max, as BSD's tcp_output does, but no more than
    // the peer's window edge (Linux's tcp_acceptable_seq): beyond it, as with
    // data sent into a window that closed, the ACK would be unacceptable again.
    // send_data sets the sequence number of a (re)transmission itself.
    SeqNumber window_end = m_snd_una + m_snd_wnd;
    repr.seq = m_snd_max <= window_end ? m_snd_max : window_end;
    repr.ack = m_rcv_nxt;
    repr.flags = TcpFlags::ack;
    repr.window = advertise_window();
    if (m_timestamps == Negotiated::yes)
        repr.timestamps = TcpTimestamps{ts_now(now), m_ts_recent};
    if (m_sack == Negotiated::yes && (m_ooo_count > 0 || m_dsack))
        fill_sack(repr);
    m_dsack.reset(); // reported once (RFC 2883 4)
    return repr;
}

void TcpConnection::emit(TcpRepr& repr, RingSlices payload, TimeNs now)
{
    (void)now;
    m_output.tcp_transmit(m_local, m_remote, repr, payload);
    m_stats.segments_out++;
    if (repr.has(TcpFlags::ack)) {
        m_ack_need = AckNeed::none;
        m_delack_at = deadline_none;
        m_segments_unacked = 0;
    }
}

TcpRepr TcpConnection::syn_ack_for(const TcpConfig& config, const TcpRepr& syn, SeqNumber iss,
                                   u32 ts_value)
{
    TcpRepr repr;
    repr.source_port = syn.destination_port;
    repr.destination_port = syn.source_port;
    repr.seq = iss;
    repr.ack = syn.seq + 1;
    repr.flags = TcpFlags::syn | TcpFlags::ack;
    repr.mss = config.mss;
    usize free = config.receive_buffer_bytes;
    repr.window = static_cast<u16>(free > 0xffff ? 0xffff : free); // never scaled (7323 2.2)
    if (config.window_scaling == WindowScaling::on && syn.window_scale)
        repr.window_scale = tcp_window_scale_for(config, config.receive_buffer_bytes);
    if (config.sack == TcpSackOption::on && syn.sack_permitted == SackPermitted::yes)
        repr.sack_permitted = SackPermitted::yes;
    if (config.timestamps == TcpTimestampOption::on && syn.timestamps)
        repr.timestamps = TcpTimestamps{ts_value, syn.timestamps->value};
    return repr;
}

// RFC 9293 3.10.1 (SYN) and 3.10.7.2/3.10.7.3 (SYN-ACK); options per
// RFC 7323 1.3 (only on the SYN-ACK if the SYN had them) and RFC 2018 2.
void TcpConnection::send_syn(TimeNs now)
{
    bool answer = m_state == TcpState::syn_received;
    TcpRepr repr;
    repr.source_port = m_local.port;
    repr.destination_port = m_remote.port;
    repr.seq = m_iss;
    repr.ack = m_rcv_nxt;
    repr.flags = answer ? (TcpFlags::syn | TcpFlags::ack) : TcpFlags::syn;
    repr.mss = m_config.mss;
    usize free = m_recv.free();
    repr.window = static_cast<u16>(free > 0xffff ? 0xffff : free); // never scaled (7323 2.2)
    if (answer)
        m_rcv_adv = SeqNumber::max(m_rcv_adv, m_rcv_nxt + repr.window);
    if (m_config.window_scaling == WindowScaling::on && (!answer || m_wscale == Negotiated::yes))
        repr.window_scale = tcp_window_scale_for(m_config, m_recv.capacity());
    if (m_config.sack == TcpSackOption::on && (!answer || m_sack == Negotiated::yes))
        repr.sack_permitted = SackPermitted::yes;
    if (m_config.timestamps == TcpTimestampOption::on &&
        (!answer || m_timestamps == Negotiated::yes))
        repr.timestamps = TcpTimestamps{ts_now(now), answer ? m_ts_recent : 0};
    if (m_retries == 0 && m_timing == Timing::idle) {
        m_timing = Timing::running;
        m_timed_seq = m_iss + 1;
        m_timed_at = now;
    }
    m_snd_nxt = m_iss + 1;
    m_snd_max = SeqNumber::max(m_snd_max, m_snd_nxt);
    if (m_rto_at == deadline_none)
        arm_rto(now);
    emit(repr, {}, now);
}

usize TcpConnection::send_data(SeqNumber seq, usize max_len, TimeNs now)
{
    i32 offset_signed = seq - m_send_base;
    GANTRY_ASSERT(offset_signed >= 0);
    usize offset = static_cast<usize>(offset_signed);
    usize available = offset < m_send.size() ? m_send.size() - offset : 0;
    usize length = available < max_len ? available : max_len;
    TcpRepr repr = base_repr(now);
    repr.seq = seq;
    // m_smss already leaves room for the timestamp option; SACK blocks on this
    // segment take more, so the payload shrinks to keep the packet within the
    // MSS (RFC 9293 3.7.1) instead of being fragmented by IP.
    usize options_expected = TcpPacket::header_len_min +
                             (repr.timestamps ? usize{12} : usize{0});
    usize options_extra = repr.header_len() > options_expected
                              ? repr.header_len() - options_expected : 0;
    usize payload_max = m_smss > options_extra ? m_smss - options_extra : 1;
    // New data beyond one MSS goes as one TSO segment when the link cuts it
    // up: whole MSS-sized pieces, each with this header (RFC 9293 3.7.1
    // holds per piece); retransmissions stay one MSS (records are per piece).
    bool tso = length > payload_max && seq >= m_snd_max && m_config.tso_segment_bytes_max > 0;
    if (tso)
        length = tso_length(length, payload_max, offset + length == m_send.size());
    else
        length = length < payload_max ? length : payload_max;
    if (length > payload_max)
        repr.tso_segment_payload = static_cast<u16>(payload_max);
    else
        tso = false;
    bool reaches_end = offset + length == m_send.size();
    if (reaches_end && length > 0)
        repr.flags |= TcpFlags::psh;
    if (reaches_end && m_fin_queued == FinQueued::yes)
        repr.flags |= TcpFlags::fin;
    u32 consumed = repr.segment_len(length);
    if (consumed == 0)
        return 0;
    SeqNumber end = seq + consumed;
    if (end > m_snd_max && !has_record_room())
        return 0; // the scoreboard is full: new data waits for ACKs
    GANTRY_ASSERT(!tso || repr.header_len() + length <= m_config.tso_segment_bytes_max);
    if (seq < m_snd_max) {
        m_stats.retransmits++;
        if (m_timing == Timing::running && m_timed_seq > seq)
            m_timing = Timing::idle; // Karn: the timed segment was sent again
    } else if (m_timing == Timing::idle) {
        m_timing = Timing::running;
        m_timed_seq = end;
        m_timed_at = now;
    }
    if (tso) {
        // One record per piece the NIC cuts, the last one carrying the FIN.
        usize tail = length % payload_max == 0 ? payload_max : length % payload_max;
        SeqNumber last_piece = seq + static_cast<u32>(length - tail);
        record_transmission(seq, last_piece, now, static_cast<u32>(payload_max));
        record_transmission(last_piece, end, now, static_cast<u32>(end - last_piece));
    } else {
        record_transmission(seq, end, now, consumed); // one record, as the segment
    }
    if (seq == m_snd_nxt)
        m_snd_nxt = end;
    m_snd_max = SeqNumber::max(m_snd_max, end);
    if (m_rto_at == deadline_none)
        arm_rto(now); // RFC 6298 5.1
    emit(repr, m_send.peek(offset, length), now);
    return consumed;
}

usize TcpConnection::tso_length(usize length, usize payload_max, bool reaches_end) const
{
    usize header_max = TcpPacket::header_len_max;
    usize limit = m_config.tso_segment_bytes_max - header_max;
    // Each piece takes a scoreboard record; keep has_record_room's slack.
    usize records_free = m_scoreboard.capacity() - m_scoreboard.size();
    usize pieces_max = records_free > 3 ? records_free - 2 : 1;
    usize pieces_limit = limit / payload_max;
    pieces_max = pieces_max < pieces_limit ? pieces_max : pieces_limit;
    if (pieces_max <= 1)
        return payload_max < length ? payload_max : length;
    usize whole = length / payload_max;
    if (whole >= pieces_max)
        return pieces_max * payload_max;
    // A short last piece only at the end of the data: in the middle it
    // would be a silly segment (RFC 1122 4.2.3.4).
    return reaches_end ? length : whole * payload_max;
}

bool TcpConnection::nagle_holds(usize length, usize unsent_len) const
{
    if (length >= m_smss)
        return false;
    bool last_before_fin = m_fin_queued == FinQueued::yes && length == unsent_len;
    if (last_before_fin || flight() == 0)
        return false;
    // RFC 1122 4.2.3.4: a small segment cut short by the window waits for more
    // window (sender SWS avoidance); a small tail waits for the ACK (Nagle).
    if (length < unsent_len)
        return true;
    return m_config.nagle == Nagle::on;
}

void TcpConnection::transmit(TimeNs now)
{
    bool sends_data = m_state == TcpState::established || m_state == TcpState::close_wait ||
                      m_state == TcpState::fin_wait_1 || m_state == TcpState::closing ||
                      m_state == TcpState::last_ack;
    bool sent_new = false;
    for (usize round = 0; sends_data && round < segments_per_call_max; round++) {
        // RFC 6675 NextSeg: what was declared lost goes before new data.
        if (retransmit_lost(now))
            continue;
        if (m_scoreboard.lost_records() > 0)
            break;
        usize unsent_len = unsent();
        bool fin_pending = m_fin_queued == FinQueued::yes && m_snd_nxt <= send_end();
        if (unsent_len == 0 && !fin_pending)
            break;
        i32 window_room = (m_snd_una + m_snd_wnd) - m_snd_nxt;
        // cwnd limits the pipe (RFC 6675; without SACK or losses it equals
        // FlightSize). Resending below SND.MAX after a window opened or the
        // path MTU fell goes back from SND.NXT, counted as before.
        i32 cwnd_room = m_snd_nxt < m_snd_max
                            ? (m_snd_una + m_cwnd) - m_snd_nxt
                            : static_cast<i32>(m_cwnd) - static_cast<i32>(m_scoreboard.pipe_bytes());
        i32 usable_signed = window_room < cwnd_room ? window_room : cwnd_room;
        usize usable = usable_signed > 0 ? static_cast<usize>(usable_signed) : 0;
        usize length = unsent_len < usable ? unsent_len : usable;
        // New data may go as one TSO segment; send_data cuts it to whole MSSes.
        bool may_tso = m_config.tso_segment_bytes_max > 0 && m_snd_nxt >= m_snd_max;
        usize segment_max = may_tso ? m_config.tso_segment_bytes_max : m_smss;
        length = length < segment_max ? length : segment_max;
        if (length == 0 && unsent_len > 0)
            break; // window or cwnd closed (the persist timer handles a zero window)
        // Nagle and sender SWS avoidance hold new data only: what was sent
        // before goes again whole (after an RTO or a smaller path MTU).
        if (m_snd_nxt >= m_snd_max && nagle_holds(length, unsent_len))
            break;
        bool new_data = m_snd_nxt >= m_snd_max;
        if (send_data(m_snd_nxt, length, now) == 0)
            break;
        sent_new = sent_new || new_data;
    }
    if (sent_new)
        arm_tlp(now); // RFC 8985 7.2: after new data
    if (sends_data && m_snd_wnd == 0 && unsent() > 0 && m_rto_at == deadline_none)
        arm_rto(now); // RFC 1122 4.2.2.17: the persist timer
    if (m_ack_need == AckNeed::now)
        send_ack(now);
}

void TcpConnection::send_ack(TimeNs now)
{
    if (m_state == TcpState::closed || m_state == TcpState::listen ||
        m_state == TcpState::syn_sent) {
        m_ack_need = AckNeed::none;
        return;
    }
    if (m_state == TcpState::syn_received && m_snd_una == m_iss) {
        send_syn(now); // our SYN is not acknowledged: the ACK is a SYN-ACK
        return;
    }
    TcpRepr repr = base_repr(now);
    emit(repr, {}, now);
}

// RFC 5961 7: at most challenge_acks_per_s_max per second.
void TcpConnection::send_challenge_ack(TimeNs now)
{
    if (now - m_challenge_window_at >= ns_per_s || now < m_challenge_window_at) {
        m_challenge_window_at = now;
        m_challenge_count = 0;
    }
    if (m_challenge_count >= m_config.challenge_acks_per_s_max)
        return;
    m_challenge_count++;
    m_stats.challenge_acks++;
    send_ack(now);
}

void TcpConnection::send_reset(SeqNumber seq)
{
    TcpRepr repr;
    repr.source_port = m_local.port;
    repr.destination_port = m_remote.port;
    repr.seq = seq;
    repr.flags = TcpFlags::rst;
    m_output.tcp_transmit(m_local, m_remote, repr, {});
    m_stats.segments_out++;
}

// RFC 1122 4.2.2.17 / RFC 9293 3.8.6.1: one octet past the closed window; the
// peer's ACK of it (or not) tells whether the window opened.
void TcpConnection::send_probe(TimeNs now)
{
    m_stats.zero_window_probes++;
    if (flight() == 1)
        send_data(m_snd_una, 1, now);
    else
        send_data(m_snd_nxt, 1, now);
}

} // namespace gantry::net
