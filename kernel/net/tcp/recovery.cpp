// Loss recovery with a SACK peer: RFC 8985 (RACK-TLP) detects losses by
// time over the per-segment scoreboard (scoreboard.hpp), RFC 6675 sections 4
// and 5 govern what recovery sends (pipe against cwnd, lost segments before
// new data), RFC 2883 and RFC 3708 turn D-SACKs into a wider reordering
// window and an undo of a recovery that was spurious (RFC 4015's response).
//
// Why RACK rather than dupthresh alone: a segment is lost when one sent after
// it was delivered and an RTT plus a reordering window has passed since it was
// sent. That also catches a lost retransmission and losses among the last few
// segments of a small window, which three duplicate ACKs never announce, so
// they no longer cost a retransmission timeout; the tail loss probe covers
// the case where nothing after the loss is delivered at all. Without SACK
// the connection keeps RFC 5681/6582 NewReno (input.cpp).
#include <gantry/net/tcp/connection.hpp>

namespace gantry::net {

// RFC 2018 4, RFC 2883 4 (a first block below SND.UNA or inside the second is
// a D-SACK), RFC 6675 5 (blocks outside (SND.UNA, SND.MAX] are ignored).
void TcpConnection::take_sack_blocks(const TcpRepr& repr, TimeNs now)
{
    for (usize b = 0; b < repr.sack_count; b++) {
        SeqNumber left = repr.sack[b].left;
        SeqNumber right = repr.sack[b].right;
        bool below_ack = right <= repr.ack;
        bool inside_next = b == 0 && repr.sack_count > 1 && repr.sack[1].left <= left &&
                           right <= repr.sack[1].right;
        if (b == 0 && (below_ack || inside_next) && left < right) {
            note_dsack(TcpSackBlock{left, right});
            continue;
        }
        left = SeqNumber::max(left, m_snd_una);
        if (!(left < right) || right > m_snd_max)
            continue;
        // Records are marked only when a block covers them whole; a receiver
        // SACKs what it got, and we send records whole.
        for (usize i = m_scoreboard.find_after(left); i < m_scoreboard.size(); i++) {
            const TcpSegmentRecord& record = m_scoreboard.at(i);
            if (record.end > right)
                break;
            if (record.start < left || record.has(TcpSegmentRecord::sacked))
                continue;
            rack_delivered(record, now);
            m_scoreboard.mark_sacked(i);
            m_tlp_probes = 0; // news from the peer
        }
    }
}

// RFC 8985 6.2 step 4 (a D-SACK round widens the reordering window) and
// RFC 3708 (every retransmission of the recovery came back twice: the
// recovery was spurious, so its window reduction is undone).
void TcpConnection::note_dsack(TcpSackBlock block)
{
    m_stats.dsacks++;
    // Data arrived twice: the network reorders (or duplicates) enough that
    // time, not three SACKs, decides from now on (RFC 8985 6.2 step 4).
    m_reordering = Reordering::seen;
    if (m_snd_una >= m_dsack_round) {
        m_dsack_round = m_snd_max;
        if (m_reo_wnd_steps < reo_wnd_steps_max)
            m_reo_wnd_steps++;
    }
    // Only duplicates of what this recovery could have retransmitted count
    // (a D-SACK may also be the network's own duplicate: RFC 3708 3).
    if (m_undo_retransmits == 0 || block.left < m_undo_marker || block.right > m_recover)
        return;
    m_undo_retransmits--;
    if (m_undo_retransmits == 0)
        undo_recovery();
}

void TcpConnection::undo_recovery()
{
    if (m_prior_cwnd == 0)
        return;
    m_stats.undos++;
    m_cwnd = m_cwnd > m_prior_cwnd ? m_cwnd : m_prior_cwnd;
    m_ssthresh = m_ssthresh > m_prior_ssthresh ? m_ssthresh : m_prior_ssthresh;
    m_prior_cwnd = 0;
    if (m_recovery == Recovery::fast)
        m_recovery = Recovery::none;
}

// RFC 8985 6.2 steps 1-3 for one segment the peer now holds.
void TcpConnection::rack_delivered(const TcpSegmentRecord& record, TimeNs now)
{
    TimeNs rtt = now - record.sent_at;
    bool retransmitted = record.has(TcpSegmentRecord::retransmitted);
    // Step 2: an ACK faster than any RTT seen is for the original
    // transmission, not this retransmission: it says nothing about timing.
    if (retransmitted && m_rack_min_rtt != deadline_none && rtt < m_rack_min_rtt)
        return;
    // An RTT of 0 is an artefact of a platform that hands over a batch of
    // frames with one timestamp (an ACK read in the same batch that sent the
    // segment): it would shrink the reordering window to nothing.
    if (!retransmitted && rtt > 0) {
        m_rack_min_rtt = rtt < m_rack_min_rtt ? rtt : m_rack_min_rtt;
        // SRTT for the probe timeout, RFC 6298's gains, in nanoseconds.
        m_rack_srtt = m_rack_srtt == 0 ? rtt : m_rack_srtt - m_rack_srtt / 8 + rtt / 8;
        // Step 3: delivered below what earlier ACKs delivered, never resent:
        // the network reordered it. (The step takes one ACK's segments in
        // ascending order, so among themselves they never count.)
        if (m_rack_valid && record.end < m_rack_fack_before_ack)
            m_reordering = Reordering::seen;
    }
    // RACK.rtt is the RTT of the most recently sent segment delivered (RFC
    // 8985 takes the segments in the order they were sent, the last one wins).
    bool later = !m_rack_valid || record.sent_at > m_rack_sent_at ||
                 (record.sent_at == m_rack_sent_at && record.end > m_rack_end);
    if (later) {
        m_rack_rtt = rtt;
        m_rack_sent_at = record.sent_at;
        m_rack_end = record.end;
    }
    if (!m_rack_valid || record.end > m_rack_fack)
        m_rack_fack = record.end;
    m_rack_valid = true;
}

// The records a cumulative ACK covers that were not SACKed before.
void TcpConnection::rack_deliver_acked(SeqNumber ack, TimeNs now)
{
    for (usize i = 0; i < m_scoreboard.size(); i++) {
        const TcpSegmentRecord& record = m_scoreboard.at(i);
        if (record.end > ack)
            break;
        if (!record.has(TcpSegmentRecord::sacked))
            rack_delivered(record, now);
    }
}

// RFC 8985 6.2 step 4: no window while nothing suggests reordering and the
// loss is certain enough (in recovery, or DupThresh segments SACKed above);
// else a quarter of the minimum RTT per D-SACK round, at most the SRTT.
//
// On a LAN that window is a few microseconds, far less than the 1 ms a
// --net-faults reordering holds a frame, so reordered segments are declared
// lost and sent again; the D-SACKs that follow undo the window reduction.
// A floor of 1 ms on the window (what Linux's jiffy-granular RACK timer gives
// in practice) was measured and moved the faulty 30 MB download at 15-18
// MB/s against 26-32 MB/s without it: waiting for a hole costs more here
// than a spurious retransmission does.
TimeNs TcpConnection::rack_reordering_window() const
{
    if (m_reordering == Reordering::not_seen &&
        (m_recovery != Recovery::none || m_scoreboard.sacked_records() >= 3))
        return 0;
    TimeNs min_rtt = m_rack_min_rtt == deadline_none ? 0 : m_rack_min_rtt;
    TimeNs window = min_rtt / 4 * m_reo_wnd_steps;
    return window < m_rack_srtt ? window : m_rack_srtt;
}

// RFC 8985 6.2 step 5 and 6.3: a segment sent before the most recently sent
// delivered one is lost once RACK.rtt + the reordering window has passed
// since it was sent; the earliest one still waiting arms the reorder timer.
void TcpConnection::rack_detect_loss(TimeNs now)
{
    m_reorder_at = deadline_none;
    // Without SACKed data or a recovery under way every record left was sent
    // after everything delivered (cumulative ACKs deliver in order; a probe
    // resends the highest record): nothing can be declared lost, and the
    // walk over the scoreboard on every ACK is skipped.
    if (!m_rack_valid || (m_scoreboard.sacked_records() == 0 && m_recovery == Recovery::none))
        return;
    TimeNs window = rack_reordering_window();
    bool found = false;
    for (usize i = 0; i < m_scoreboard.size(); i++) {
        const TcpSegmentRecord& record = m_scoreboard.at(i);
        if (record.has(TcpSegmentRecord::sacked) || record.has(TcpSegmentRecord::lost))
            continue;
        bool sent_before = record.sent_at < m_rack_sent_at ||
                           (record.sent_at == m_rack_sent_at && record.end <= m_rack_end);
        if (!sent_before)
            continue;
        TimeNs lost_at = record.sent_at + m_rack_rtt + window;
        if (lost_at <= now) {
            m_scoreboard.mark_lost(i);
            found = true;
        } else if (lost_at < m_reorder_at) {
            m_reorder_at = lost_at;
        }
    }
    if (found && m_recovery == Recovery::none) {
        enter_sack_recovery();
        // RFC 6675 5 step (4.3): the first lost segment goes at once,
        // whatever the pipe says; the rest as the pipe drains.
        (void)retransmit_lost(now, PipeCheck::skip);
    }
}

// RFC 6675 5 steps (4.1)-(4.2): ssthresh = cwnd = half of what was in
// flight (never under two segments); the recovery lasts until everything
// sent so far is acknowledged.
void TcpConnection::enter_sack_recovery()
{
    m_prior_cwnd = m_cwnd;
    m_prior_ssthresh = m_ssthresh;
    m_undo_retransmits = 0;
    m_undo_marker = m_snd_una;
    u32 in_flight = flight() < m_cwnd ? flight() : m_cwnd;
    u32 half = in_flight / 2;
    m_ssthresh = half > 2 * m_smss ? half : 2 * m_smss;
    m_cwnd = m_ssthresh;
    m_bytes_acked = 0;
    m_recover = m_snd_max;
    m_recovery = Recovery::fast;
    m_stats.fast_retransmits++;
}

// After an RTO every segment the peer has not SACKed is presumed lost and
// goes again as cwnd allows (RFC 6675 5.1 keeps the SACK information; a
// second timeout in a row forgets it, in case the receiver reneged, RFC 2018 8).
void TcpConnection::mark_all_lost()
{
    if (m_rtt.backoff() > 0)
        m_scoreboard.forget_sacks();
    for (usize i = 0; i < m_scoreboard.size(); i++)
        if (!m_scoreboard.at(i).has(TcpSegmentRecord::sacked))
            m_scoreboard.mark_lost(i);
    m_prior_cwnd = 0; // a timeout is never undone here
    m_undo_retransmits = 0;
    m_reorder_at = deadline_none;
    m_tlp_at = deadline_none;
}

// Bookkeeping for every data segment sent: new data gets a record, a
// retransmission refreshes the records it covers (split at its edges).
void TcpConnection::record_transmission(SeqNumber seq, SeqNumber end, TimeNs now,
                                        u32 record_bytes)
{
    GANTRY_ASSERT(record_bytes > 0);
    SeqNumber top = m_scoreboard.empty() ? m_snd_max : m_scoreboard.end();
    if (seq < top) {
        SeqNumber resent_end = SeqNumber::min(end, top);
        (void)m_scoreboard.split_at(seq); // when full, the whole record counts as resent
        (void)m_scoreboard.split_at(resent_end);
        for (usize i = m_scoreboard.find_after(seq); i < m_scoreboard.size(); i++) {
            if (m_scoreboard.at(i).start >= resent_end)
                break;
            m_scoreboard.mark_sent_again(i, now);
            if (m_recovery == Recovery::fast && m_prior_cwnd != 0)
                m_undo_retransmits++;
        }
    }
    // Bounded: a TSO segment has at most tso_length's pieces.
    for (SeqNumber start = SeqNumber::max(seq, top); start < end;) {
        i32 left = end - start;
        SeqNumber piece_end = left > static_cast<i32>(record_bytes) ? start + record_bytes : end;
        GANTRY_ASSERT(m_scoreboard.has_room());
        m_scoreboard.push(start, piece_end, now);
        start = piece_end;
    }
}

// RFC 6675 NextSeg rule 1: the lowest segment declared lost, if the pipe has
// room for it. Returns false when nothing was sent.
bool TcpConnection::retransmit_lost(TimeNs now, PipeCheck check)
{
    if (m_scoreboard.lost_records() == 0)
        return false;
    for (usize i = 0; i < m_scoreboard.size(); i++) {
        const TcpSegmentRecord& record = m_scoreboard.at(i);
        if (!record.has(TcpSegmentRecord::lost))
            continue;
        if (record.start >= m_snd_una + m_snd_wnd)
            return false; // the peer's window shrank below it: wait
        u32 pipe = m_scoreboard.pipe_bytes();
        if (check == PipeCheck::apply && pipe > 0 && pipe + record.length() > m_cwnd)
            return false;
        if (send_record(i, now) == 0)
            return false;
        if (sack_recovery())
            m_stats.sack_retransmits++;
        return true;
    }
    return false;
}

// Sends the record at `index` again, whole (its FIN included).
usize TcpConnection::send_record(usize index, TimeNs now)
{
    const TcpSegmentRecord& record = m_scoreboard.at(index);
    SeqNumber data_end = SeqNumber::min(record.end, send_end());
    i32 length = data_end - record.start;
    return send_data(record.start, length > 0 ? static_cast<usize>(length) : 0, now);
}

// RFC 8985 7.2: with data in flight, a probe after about two RTTs turns a
// lost tail into a loss RACK can see. Unlike RFC 8985, which leaves recovery
// to RACK's timer and the RTO, the probe is armed during recovery too: when
// the ACK that ends a recovery is lost (a whole flight acknowledged by one
// ACK), nothing else would arrive before the RTO, which on a LAN is a
// thousand RTTs; one probe segment costs far less.
void TcpConnection::arm_tlp(TimeNs now)
{
    m_tlp_at = deadline_none;
    if (!sack_recovery() || m_tlp_probes >= tlp_probes_max ||
        flight() == 0 || m_snd_wnd == 0 || m_rack_srtt == 0 || m_rto_at == deadline_none)
        return;
    TimeNs timeout = 2 * m_rack_srtt + tlp_slack_ns;
    if (flight() <= m_smss)
        timeout += tlp_delayed_ack_ns; // the lone segment's ACK may be delayed
    timeout <<= m_tlp_probes;
    if (now + timeout < m_rto_at)
        m_tlp_at = now + timeout;
}

// RFC 8985 7.3: one new segment if the window allows, else the highest one
// the peer has not SACKed, sent again; up to tlp_probes_max of them, then the
// RTO takes over.
void TcpConnection::on_tlp(TimeNs now)
{
    m_tlp_at = deadline_none;
    if (!sack_recovery() || flight() == 0 || m_state == TcpState::closed)
        return;
    usize sent = 0;
    usize length = unsent() < m_smss ? unsent() : m_smss;
    i32 room = (m_snd_una + m_snd_wnd) - m_snd_nxt;
    if (length > 0 && room >= static_cast<i32>(length) && m_snd_nxt >= m_snd_max &&
        has_record_room())
        sent = send_data(m_snd_nxt, length, now);
    for (usize i = m_scoreboard.size(); sent == 0 && i > 0; i--)
        if (!m_scoreboard.at(i - 1).has(TcpSegmentRecord::sacked))
            sent = send_record(i - 1, now);
    if (sent == 0)
        return;
    m_stats.tail_loss_probes++;
    m_tlp_probes++;
    arm_rto(now);
    arm_tlp(now); // the next probe, later, unless the RTO comes first
}

} // namespace gantry::net
