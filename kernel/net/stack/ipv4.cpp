// IPv4 for a host: RFC 791 (header, fragmentation section 2.3 and 3.2), RFC 1122
// section 3.2.1 (receive checks: version, checksum, addresses), 3.3.1 (routing:
// on-link or the default gateway; a host never forwards), 3.3.2 (reassembly)
// and 3.3.6 (broadcasts). RFC 1112 section 6.4 for multicast MAC mapping.
#include <gantry/kernel.hpp>
#include <gantry/net/endian.hpp>
#include <gantry/net/stack/stack.hpp>
#include <gantry/net/tcp/connection.hpp>
#include <gantry/net/tcp/wire.hpp>
#include <gantry/net/wire/arp.hpp>
#include <gantry/net/wire/checksum.hpp>
#include <gantry/net/wire/ethernet.hpp>
#include <gantry/nic.hpp>

namespace gantry::net {

namespace {

// Copies [offset, offset + out.size()) of the concatenation head ++ body.
void copy_range(MutableBytes out, Bytes head, Bytes body, usize offset)
{
    usize done = 0;
    if (offset < head.size()) {
        usize take = head.size() - offset < out.size() ? head.size() - offset : out.size();
        copy_bytes(out.first(take), head.subspan(offset, take));
        done = take;
    }
    if (done < out.size()) {
        usize body_offset = offset + done - head.size();
        copy_bytes(out.subspan(done), body.subspan(body_offset, out.size() - done));
    }
}

} // namespace

bool NetStack::accepts_destination(Ipv4Address destination) const
{
    if (destination.is_broadcast())
        return true;
    if (m_address.address.is_unspecified())
        return false;
    if (destination == m_address.address)
        return true;
    // RFC 1122 3.3.6: the directed broadcast of our own subnet (not for /31, /32).
    return m_address.prefix_len < 31 && destination == m_address.broadcast();
}

// A neighbour's packet from an Ethernet address other than the one we send
// it to puts our binding in doubt (ArpCache::suspect): poll the held MAC.
void NetStack::doubt_arp_binding(Ipv4Address source, TimeNs now)
{
    auto frame = EthernetFrame::check(m_rx_frame);
    if (!frame.ok())
        return;
    if (!m_arp.suspect(source, frame.value().source(), now))
        return;
    auto held = m_arp.lookup(source, now);
    GANTRY_ASSERT(held.has_value()); // suspect() only doubts a binding it holds
    send_arp(static_cast<u16>(ArpOperation::request), *held, source, *held);
}

void NetStack::receive_ipv4(PacketBuffer*& buffer, Bytes packet, TimeNs now)
{
    auto checked = Ipv4Packet::check(packet);
    if (!checked.ok())
        return drop_rx(drop_reason_from(checked.error()));
    const Ipv4Packet& ip = checked.value();
    m_counters.ipv4.rx_packets++;
    m_counters.ipv4.rx_bytes += ip.total_len();
    // RFC 1122 3.2.1.3: a source must be a unicast host address.
    Ipv4Address source = ip.source();
    if (source.is_broadcast() || source.is_multicast() ||
        (m_address.prefix_len < 31 && !m_address.address.is_unspecified() &&
         source == m_address.broadcast()))
        return drop_rx(DropReason::bad_address);
    if (!accepts_destination(ip.destination()))
        return drop_rx(DropReason::not_for_us);
    if (ip.ttl() == 0)
        return drop_rx(DropReason::ttl_expired); // nobody may send it; RFC 791 "Time to Live"
    doubt_arp_binding(source, now);
    if (ip.is_fragment()) {
        m_counters.fragments_rx++;
        std::optional<DropReason> refused;
        auto done = m_reassembly.add(ip, now, refused);
        if (refused)
            return drop_rx(*refused);
        if (!done)
            return;
        m_counters.datagrams_reassembled++;
        L4Input input{done->header, Bytes{}, done->payload, nullptr};
        receive_l4(input, now);
        m_reassembly.release(done->slot);
        return;
    }
    L4Input input{Ipv4Repr::parse(ip), ip.header(), ip.payload(), buffer};
    receive_l4(input, now);
    buffer = input.buffer; // nullptr when a socket kept it
}

void NetStack::receive_l4(L4Input& input, TimeNs now)
{
    switch (input.ip.protocol) {
    case IpProtocol::icmp:
        return receive_icmp(input, now);
    case IpProtocol::udp:
        return receive_udp(input, now);
    case IpProtocol::tcp:
        if (m_tcp) // TCP checks and copies what it keeps; the buffer stays ours
            return m_tcp->input(input.ip.source, input.ip.destination, input.payload, now);
        return reset_closed_port(input, now);
    default:
        // RFC 1122 3.2.2.1: a host SHOULD say "protocol unreachable".
        send_icmp_error(input, 3, 2, now);
        return drop_rx(DropReason::unknown_protocol);
    }
}

// Nothing on this node has used TCP yet, so it is not created and every port
// is CLOSED: RFC 9293 3.10.7.1 answers with a reset (TCP speaks here), not
// with "protocol unreachable". Creating TCP for it would cost every node that
// never uses TCP its socket tables.
void NetStack::reset_closed_port(L4Input& input, TimeNs now)
{
    if (input.ip.destination != m_address.address)
        return drop_rx(DropReason::not_for_us); // never answer a broadcast
    auto checked = TcpPacket::check(input.payload, input.ip.source, input.ip.destination);
    if (!checked.ok())
        return drop_rx(drop_reason_from(checked.error()));
    TcpRepr repr = TcpRepr::parse(checked.value());
    drop_rx(DropReason::port_unreachable);
    auto reset = TcpConnection::reset_for(repr, checked.value().payload().size());
    if (!reset)
        return; // a reset is never answered with one
    u8 buffer[TcpPacket::header_len_max];
    MutableBytes segment(buffer, reset->header_len());
    reset->emit(segment, input.ip.destination, input.ip.source, Bytes{});
    (void)send_ipv4(input.ip.source, IpProtocol::tcp, segment, Bytes{}, now);
}

std::optional<Ipv4Address> NetStack::route(Ipv4Address destination) const
{
    if (destination.is_broadcast() || destination.is_multicast())
        return destination;
    if (!m_address.address.is_unspecified() && m_address.contains(destination))
        return destination;
    if (!m_gateway.is_unspecified())
        return m_gateway;
    return std::nullopt;
}

// RFC 791 section 2.3: a datagram larger than the MTU leaves in fragments of
// multiple-of-8 payload, all with the same identification; MF on all but the last.
Status<NetStack::SendError> NetStack::send_ipv4(Ipv4Address destination, IpProtocol protocol,
                                                Bytes head, Bytes body, TimeNs now)
{
    auto next_hop = route(destination);
    if (!next_hop) {
        drop(DropReason::no_route, Bytes{}, Layer::ipv4);
        return fail(SendError::no_route);
    }
    usize total = head.size() + body.size();
    if (total > Ipv4Packet::total_len_max - Ipv4Repr::header_len)
        return fail(SendError::too_big);
    usize room = m_pool.config().buffer_bytes - m_pool.config().headroom;
    usize mtu_payload = m_nic.mtu() - Ipv4Repr::header_len;
    usize max_payload = mtu_payload < room ? mtu_payload : room;
    bool fragmented = total > max_payload;
    usize chunk = fragmented ? (max_payload & ~usize{7}) : total;
    GANTRY_ASSERT(chunk > 0 || total == 0);
    u16 ident = m_next_ident++;
    if (fragmented)
        m_counters.datagrams_fragmented++;
    usize offset = 0;
    // Bounded: at most total / chunk + 1 fragments (about 45 for 64 KiB).
    do {
        usize length = total - offset < chunk ? total - offset : chunk;
        auto allocated = m_pool.alloc();
        if (!allocated.ok()) {
            drop(DropReason::no_buffer, Bytes{}, Layer::ipv4);
            return fail(SendError::no_buffer);
        }
        PacketBuffer* buffer = allocated.value();
        copy_range(buffer->append(length), head, body, offset);
        Ipv4Repr ip;
        ip.source = m_address.address;
        ip.destination = destination;
        ip.protocol = protocol;
        ip.payload_len = static_cast<u16>(length);
        ip.ident = ident;
        ip.more_fragments = offset + length < total ? MoreFragments::yes : MoreFragments::no;
        ip.fragment_offset = static_cast<u16>(offset);
        ip.emit(buffer->prepend(Ipv4Repr::header_len));
        m_counters.ipv4.tx_packets++;
        m_counters.ipv4.tx_bytes += Ipv4Repr::header_len + length;
        m_counters.fragments_tx += fragmented ? 1 : 0;
        output_ipv4(buffer, *next_hop, now);
        offset += length;
    } while (offset < total);
    return {};
}

// A TCP segment whose checksum (and, for a TSO segment, whose cutting into
// MSS-sized pieces) the NIC finishes: one IPv4 packet, never fragmented.
bool NetStack::tcp_send_ip_offloaded(Ipv4Address, Ipv4Address destination, Bytes segment,
                                     const SegmentOffload& offload)
{
    GANTRY_ASSERT(offload.checksum_partial && m_offloads.tx_checksum);
    TimeNs now = m_kernel.now();
    usize mtu_payload = m_nic.mtu() - Ipv4Repr::header_len;
    bool segmented = offload.segment_payload != 0 && segment.size() > mtu_payload;
    if (!segmented && segment.size() > mtu_payload) {
        // IPv4 must fragment it (a link MTU below the MSS): the NIC cannot sum
        // across fragments, so the checksum is completed here. The field holds
        // the pseudo-header sum, so the sum over the segment is the full one.
        u8 head[TcpPacket::header_len_min];
        copy_bytes(MutableBytes(head, sizeof(head)), segment.first(sizeof(head)));
        u16 checksum = checksum_finish(checksum_partial(segment));
        store_be16(MutableBytes(head, sizeof(head)), 16, checksum);
        return send_ipv4(destination, IpProtocol::tcp, Bytes(head, sizeof(head)),
                         segment.subspan(sizeof(head)), now).ok();
    }
    auto next_hop = route(destination);
    if (!next_hop) {
        drop(DropReason::no_route, Bytes{}, Layer::ipv4);
        return false;
    }
    GANTRY_ASSERT(!segmented ||
                  Ipv4Repr::header_len + segment.size() <= m_offloads.tso_packet_bytes_max);
    PacketPool& pool = segmented ? *m_tso_pool : m_pool;
    auto allocated = pool.alloc();
    if (!allocated.ok()) {
        drop(DropReason::no_buffer, Bytes{}, Layer::ipv4);
        return false;
    }
    PacketBuffer* buffer = allocated.value();
    GANTRY_ASSERT(buffer->tailroom() >= segment.size());
    copy_bytes(buffer->append(segment.size()), segment);
    Ipv4Repr ip;
    ip.source = m_address.address;
    ip.destination = destination;
    ip.protocol = IpProtocol::tcp;
    ip.payload_len = static_cast<u16>(segment.size());
    ip.ident = m_next_ident;
    // The NIC numbers the pieces from this identification on (Linux's GSO
    // does): leave room so the next packet's does not repeat one in flight.
    usize piece = offload.segment_payload;
    usize pieces = segmented ? (segment.size() + piece - 1) / piece : 1;
    m_next_ident = static_cast<u16>(m_next_ident + pieces);
    ip.more_fragments = MoreFragments::no;
    ip.fragment_offset = 0;
    ip.emit(buffer->prepend(Ipv4Repr::header_len));
    m_counters.ipv4.tx_packets++;
    m_counters.ipv4.tx_bytes += Ipv4Repr::header_len + segment.size();
    NicTxOffload frame_offload;
    frame_offload.checksum_start = static_cast<u16>(Ipv4Repr::header_len);
    frame_offload.checksum_offset = 16; // TCP's checksum field (RFC 9293 3.1)
    if (segmented) {
        frame_offload.segment_payload = offload.segment_payload;
        frame_offload.header_bytes =
            static_cast<u16>(Ipv4Repr::header_len + static_cast<usize>(segment[12] >> 4) * 4);
    }
    output_ipv4(buffer, *next_hop, now, frame_offload);
    return true;
}

void NetStack::output_ipv4(PacketBuffer* buffer, Ipv4Address next_hop, TimeNs now,
                           const NicTxOffload& offload)
{
    constexpr u16 ethertype = static_cast<u16>(EtherType::ipv4);
    bool subnet_broadcast = m_address.prefix_len < 31 && !m_address.address.is_unspecified() &&
                            next_hop == m_address.broadcast();
    if (next_hop.is_broadcast() || subnet_broadcast)
        return transmit_frame(buffer, MacAddress::broadcast(), ethertype, offload);
    if (next_hop.is_multicast()) {
        // RFC 1112 6.4: 01:00:5e followed by the low 23 bits of the group.
        MacAddress group{{0x01, 0x00, 0x5e, static_cast<u8>(next_hop.octets[1] & 0x7f),
                          next_hop.octets[2], next_hop.octets[3]}};
        return transmit_frame(buffer, group, ethertype, offload);
    }
    if (auto mac = m_arp.lookup(next_hop, now))
        return transmit_frame(buffer, *mac, ethertype, offload);
    bool ask = m_arp.resolve(next_hop, now) == ArpNeed::send_request;
    enqueue_pending(buffer, next_hop, now, offload);
    if (ask) {
        send_arp(static_cast<u16>(ArpOperation::request), MacAddress{}, next_hop,
                 MacAddress::broadcast());
    }
}

} // namespace gantry::net
