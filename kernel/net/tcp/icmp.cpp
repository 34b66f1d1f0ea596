// ICMP errors for TCP: RFC 1122 4.2.3.9 (which errors are soft and which
// hard), RFC 5927 (the in-window check against blind ICMP attacks, section
// 4.1; hard errors end only a connection that is still opening, section
// 5.2), RFC 1191 (packet too big lowers the path MTU, sections 5 and 6.5)
// and RFC 6633 (source quench is ignored). Soft errors never end a
// connection, not even in SYN-SENT (RFC 1122 4.2.3.9 MUST NOT; the
// rejection RFC 5461 describes is non-standard).
#include <gantry/net/tcp/connection.hpp>

namespace gantry::net {

namespace {

constexpr u8 icmp_unreachable = 3;
constexpr u8 icmp_time_exceeded = 11;
constexpr u8 icmp_parameter_problem = 12;

// Below this a "fragmentation needed" MTU is taken as this: every host must
// accept 576-byte datagrams (RFC 1122 3.3.2), so a smaller next-hop MTU is
// more likely forged than real (RFC 5927 7.2 warns of PMTUD attacks that
// shrink segments to nothing).
constexpr u16 path_mtu_min = 576;
constexpr u32 ip_tcp_headers = 40; // IPv4 + TCP without options (RFC 1191 6.3)

} // namespace

std::optional<TcpIcmpKind> tcp_icmp_kind(u8 type, u8 code)
{
    if (type == icmp_time_exceeded || type == icmp_parameter_problem)
        return TcpIcmpKind::soft; // RFC 1122 4.2.3.9: as unreachable codes 0, 1, 5
    if (type != icmp_unreachable)
        return std::nullopt; // source quench (RFC 6633), redirect, echo...
    switch (code) {
    case 2: // protocol unreachable
    case 3: // port unreachable
        return TcpIcmpKind::hard; // RFC 1122 4.2.3.9: codes 2-4 are hard
    case 4: return TcpIcmpKind::packet_too_big; // RFC 1191 took code 4 over
    case 9:  // communication with the destination network ...
    case 10: // ... or host administratively prohibited (RFC 1122 3.2.2.1)
    case 13: // communication administratively prohibited (RFC 1812 5.2.7.1)
        return TcpIcmpKind::prohibited;
    default:
        // 0, 1, 5 (RFC 1122: soft), and 6-8, 11, 12, 14, 15, which RFC 1122
        // does not classify: an unknown or unreachable network or host may
        // come back, so they are soft too.
        return TcpIcmpKind::soft;
    }
}

void TcpConnection::icmp_error(TcpIcmpKind kind, SeqNumber seq, u16 mtu, TimeNs now)
{
    if (m_state == TcpState::closed || m_state == TcpState::listen ||
        m_state == TcpState::time_wait)
        return;
    // RFC 5927 4.1: the quoted segment must be one we sent and that is not yet
    // acknowledged, or a blind attacker could reset or slow the connection.
    if (!(m_snd_una <= seq && seq < m_snd_max)) {
        m_stats.icmp_ignored++;
        return;
    }
    m_stats.icmp_errors++;
    bool opening = m_state == TcpState::syn_sent || m_state == TcpState::syn_received;
    switch (kind) {
    case TcpIcmpKind::packet_too_big: return lower_path_mtu(mtu, now);
    case TcpIcmpKind::soft: m_soft_error = TcpError::unreachable; return;
    case TcpIcmpKind::hard:
    case TcpIcmpKind::prohibited: {
        TcpError error = kind == TcpIcmpKind::hard ? TcpError::refused : TcpError::prohibited;
        // RFC 1122 4.2.3.9 SHOULD abort; RFC 5927 5.2: only a connection that
        // is still opening, since a forged error would otherwise be a way to
        // reset established ones. Otherwise it is kept as a soft error.
        if (opening && m_config.icmp_hard_errors == IcmpHardErrors::abort_opening)
            return close_with(error);
        m_soft_error = error;
        return;
    }
    }
}

// RFC 1191 6.3-6.5: segments no larger than the path MTU allows; the segment
// the router dropped goes again at once at the new size (a lost segment, but
// not congestion: cwnd stays, as RFC 1191 6.5 asks).
void TcpConnection::lower_path_mtu(u16 mtu, TimeNs now)
{
    if (mtu == 0)
        return; // a pre-RFC 1191 router: no plateau search here, the RTO recovers
    u32 path_mtu = mtu < path_mtu_min ? path_mtu_min : mtu;
    u32 path_mss = path_mtu - ip_tcp_headers;
    if (m_path_mss != 0 && path_mss >= m_path_mss)
        return; // the path MTU only ever goes down here (no RFC 1191 6.3 increase probes)
    m_path_mss = path_mss;
    bool synchronized = m_state != TcpState::syn_sent && m_state != TcpState::syn_received;
    u32 mss = path_mss - (m_timestamps == Negotiated::yes ? 12 : 0);
    if (!synchronized || mss >= m_smss)
        return; // take_options() applies it once the peer's MSS is known
    m_smss = mss;
    if (flight() > 0) {
        m_snd_nxt = m_snd_una; // send_data() counts it and applies Karn's rule
        transmit(now);
    }
}

} // namespace gantry::net
