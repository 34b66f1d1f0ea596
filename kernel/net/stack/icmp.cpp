// ICMP for a host: RFC 792 (messages), RFC 1122 section 3.2.2 (when a host must
// and must not send errors; 3.2.2.6 echo; 3.2.2.1 errors go to the transport
// protocol named in the quoted header), RFC 1812 section 4.3.2.8 (rate
// limiting, which RFC 1122 allows hosts too).
#include <gantry/kernel.hpp>
#include <gantry/net/endian.hpp>
#include <gantry/net/stack/stack.hpp>
#include <gantry/net/wire/checksum.hpp>
#include <gantry/net/wire/icmpv4.hpp>

namespace gantry::net {

namespace {

// What an error quotes: the offending header and up to this many bytes after it,
// keeping the whole error within the 576 bytes every host accepts (RFC 1812 4.3.2.3).
constexpr usize quote_bytes_max = 576 - 20 - 8 - 60;

void write_icmp_header(MutableBytes header, u8 type, u8 code, u32 rest)
{
    header[0] = type;
    header[1] = code;
    store_be16(header, 2, 0);
    store_be32(header, 4, rest);
}

// The checksum of header ++ body without a contiguous copy (header has even length).
void finish_icmp_checksum(MutableBytes header, Bytes body)
{
    GANTRY_ASSERT(header.size() % 2 == 0);
    u32 sum = checksum_combine(checksum_partial(header), checksum_partial(body));
    store_be16(header, 2, checksum_finish(sum));
}

} // namespace

void NetStack::receive_icmp(L4Input& input, TimeNs now)
{
    auto checked = Icmpv4Packet::check(input.payload);
    if (!checked.ok())
        return drop_rx(drop_reason_from(checked.error()));
    const Icmpv4Packet& icmp = checked.value();
    m_counters.icmp.rx_packets++;
    m_counters.icmp.rx_bytes += input.payload.size();
    if (icmp.type() == Icmpv4Type::echo_reply)
        return receive_echo_reply(input, icmp.ident(), icmp.sequence(), now);
    if (icmp.type() != Icmpv4Type::echo_request)
        return receive_icmp_error(input, icmp, now);
    // RFC 1122 3.2.2.6: echo to a broadcast address MAY be ignored; we do, so a
    // broadcast ping cannot make every Gantry node answer at once.
    if (input.ip.destination != m_address.address)
        return;
    // RFC 792 echo reply: same identifier, sequence number and data.
    u8 header[Icmpv4Packet::header_len];
    MutableBytes header_bytes(header, sizeof(header));
    write_icmp_header(header_bytes, static_cast<u8>(Icmpv4Type::echo_reply), 0,
                      load_be32(input.payload, 4));
    finish_icmp_checksum(header_bytes, icmp.data());
    if (send_ipv4(input.ip.source, IpProtocol::icmp, header_bytes, icmp.data(), now).ok()) {
        m_counters.icmp.tx_packets++;
        m_counters.icmp.tx_bytes += input.payload.size();
        m_counters.icmp_echo_replies++;
    }
}

// RFC 1122 3.2.2: an error quotes the offending datagram's IPv4 header and at
// least 8 bytes of its payload, which for TCP hold the ports and the sequence
// number; TCP decides what the error means (tcp_icmp_kind). UDP has no use
// for errors yet. Nothing here trusts the quote beyond its own bytes.
void NetStack::receive_icmp_error(const L4Input& input, const Icmpv4Packet& icmp, TimeNs now)
{
    if (!m_tcp || input.ip.destination != m_address.address)
        return;
    Bytes quoted = icmp.data();
    if (quoted.size() < Ipv4Packet::header_len_min || (quoted[0] >> 4) != 4)
        return;
    usize header = usize{quoted[0] & 0x0fu} * 4;
    if (header < Ipv4Packet::header_len_min || quoted.size() < header + 8 ||
        quoted[9] != static_cast<u8>(IpProtocol::tcp))
        return;
    Ipv4Address source = Ipv4Address::from_u32(load_be32(quoted, 12));
    Ipv4Address destination = Ipv4Address::from_u32(load_be32(quoted, 16));
    if (source != m_address.address)
        return; // not a datagram we sent
    Bytes tcp = quoted.subspan(header);
    m_tcp->icmp_error(TcpEndpoint{source, load_be16(tcp, 0)},
                      TcpEndpoint{destination, load_be16(tcp, 2)}, SeqNumber(load_be32(tcp, 4)),
                      static_cast<u8>(icmp.type()), icmp.code(), icmp.next_hop_mtu(), now);
}

const char* ping_error_name(PingError error)
{
    switch (error) {
    case PingError::timed_out: return "timed out";
    case PingError::no_route: return "no route to host";
    case PingError::no_buffer: return "no buffer (try again)";
    case PingError::too_big: return "too big";
    }
    return "unknown";
}

void NetStack::receive_echo_reply(const L4Input& input, u16 ident, u16 sequence, TimeNs now)
{
    for (PingWait* wait : m_ping_waits) {
        if (!wait || wait->reply_at != 0 || wait->ident != ident || wait->sequence != sequence ||
            wait->destination != input.ip.source)
            continue;
        wait->reply_at = now;
        wait->replied->notify_all();
        return;
    }
}

// RFC 792 echo: the identifier tells this stack's pings apart (one per call),
// the sequence number is the caller's.
Result<TimeNs, PingError> NetStack::ping(Ipv4Address destination, u16 sequence, Bytes data,
                                         TimeNs deadline)
{
    usize slot = 0;
    while (slot < ping_waits_max && m_ping_waits[slot])
        ++slot;
    if (slot == ping_waits_max)
        return fail(PingError::no_buffer);
    Event replied(m_kernel.sched());
    PingWait wait{&replied, destination, m_next_ping_ident++, sequence, 0};
    u8 header[Icmpv4Packet::header_len];
    MutableBytes header_bytes(header, sizeof(header));
    write_icmp_header(header_bytes, static_cast<u8>(Icmpv4Type::echo_request), 0,
                      (u32{wait.ident} << 16) | sequence);
    finish_icmp_checksum(header_bytes, data);
    TimeNs sent_at = m_kernel.now();
    m_ping_waits[slot] = &wait;
    auto sent = send_ipv4(destination, IpProtocol::icmp, header_bytes, data, sent_at);
    if (!sent.ok()) {
        m_ping_waits[slot] = nullptr;
        switch (sent.error()) {
        case SendError::no_route: return fail(PingError::no_route);
        case SendError::no_buffer: return fail(PingError::no_buffer);
        case SendError::too_big: return fail(PingError::too_big);
        }
    }
    m_counters.icmp.tx_packets++;
    m_counters.icmp.tx_bytes += header_bytes.size() + data.size();
    // Each round blocks until a notify or the deadline; only the matching reply
    // notifies, so this ends with the reply or the timeout.
    WaitResult waited = WaitResult::notified;
    while (wait.reply_at == 0 && waited == WaitResult::notified)
        waited = replied.wait_until(deadline);
    m_ping_waits[slot] = nullptr;
    if (wait.reply_at == 0)
        return fail(PingError::timed_out);
    return wait.reply_at - sent_at;
}

bool NetStack::take_icmp_token(TimeNs now)
{
    if (now > m_icmp_refill) {
        TimeNs earned = (now - m_icmp_refill) / icmp_token_interval_ns;
        if (earned > 0) {
            u64 tokens = m_icmp_tokens + earned;
            m_icmp_tokens = static_cast<u32>(tokens > icmp_tokens_max ? icmp_tokens_max : tokens);
            m_icmp_refill += earned * icmp_token_interval_ns;
        }
    }
    if (m_icmp_tokens == 0)
        return false;
    m_icmp_tokens--;
    return true;
}

// RFC 1122 3.2.2: never answer an ICMP error, a broadcast or multicast datagram,
// a non-initial fragment, or a datagram whose source is not a unicast host.
void NetStack::send_icmp_error(const L4Input& input, u8 type, u8 code, TimeNs now)
{
    const Ipv4Repr& ip = input.ip;
    if (m_address.address.is_unspecified() || ip.destination != m_address.address)
        return;
    if (ip.source.is_unspecified() || ip.source.is_broadcast() || ip.source.is_multicast() ||
        ip.source.is_loopback())
        return;
    if (ip.protocol == IpProtocol::icmp) {
        auto quoted = Icmpv4Packet::check(input.payload, ChecksumCheck::skip);
        if (!quoted.ok() || (quoted.value().type() != Icmpv4Type::echo_request &&
                             quoted.value().type() != Icmpv4Type::echo_reply))
            return;
    }
    if (!take_icmp_token(now))
        return drop(DropReason::rate_limited, Bytes{}, Layer::ipv4);
    // Header: ICMP's 8 bytes, then the offending IPv4 header (rebuilt for a
    // reassembled datagram, whose fragments' headers are gone).
    u8 head[Icmpv4Packet::header_len + Ipv4Packet::header_len_max];
    usize quoted_header = input.ip_header.size();
    if (quoted_header == 0) {
        Ipv4Repr whole = ip;
        whole.payload_len = static_cast<u16>(input.payload.size());
        whole.emit(MutableBytes(head + Icmpv4Packet::header_len, Ipv4Repr::header_len));
        quoted_header = Ipv4Repr::header_len;
    } else {
        copy_bytes(MutableBytes(head + Icmpv4Packet::header_len, quoted_header),
                   input.ip_header);
    }
    MutableBytes head_bytes(head, Icmpv4Packet::header_len + quoted_header);
    write_icmp_header(head_bytes, type, code, 0);
    usize quote = input.payload.size() < quote_bytes_max ? input.payload.size()
                                                         : quote_bytes_max;
    Bytes body = input.payload.first(quote);
    finish_icmp_checksum(head_bytes, body);
    if (send_ipv4(ip.source, IpProtocol::icmp, head_bytes, body, now).ok()) {
        m_counters.icmp.tx_packets++;
        m_counters.icmp.tx_bytes += head_bytes.size() + body.size();
        m_counters.icmp_errors_tx++;
    }
}

} // namespace gantry::net
