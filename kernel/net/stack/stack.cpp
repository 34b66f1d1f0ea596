// The stack's frame loop, Ethernet (RFC 894), ARP (RFC 826, RFC 5227 section 3
// for announcements, RFC 1122 section 2.3.2 for caching and queueing), the ARP
// pending queue, counters and tracing. IPv4, ICMP and UDP live beside it.
#include <gantry/kernel.hpp>
#include <gantry/net/endian.hpp>
#include <gantry/net/stack/dhcp_client.hpp>
#include <gantry/net/stack/dns_resolver.hpp>
#include <gantry/net/stack/stack.hpp>
#include <gantry/net/wire/arp.hpp>
#include <gantry/net/wire/ethernet.hpp>
#include <gantry/nic.hpp>

namespace gantry::net {

namespace {

constexpr usize ethernet_min_frame = 60; // without FCS: IEEE 802.3 minimum

// What the trace records about an IPv4 packet, read defensively (garbage too).
void summarize_ipv4(Bytes ip, TraceNetFrame& out)
{
    if (ip.size() < 20)
        return;
    out.protocol = ip[9];
    out.source = load_be32(ip, 12);
    out.destination = load_be32(ip, 16);
    usize header_len = usize{ip[0] & 0x0fu} * 4;
    bool first_fragment = (load_be16(ip, 6) & 0x1fff) == 0;
    bool has_ports = out.protocol == static_cast<u8>(IpProtocol::udp) ||
                     out.protocol == static_cast<u8>(IpProtocol::tcp);
    if (has_ports && first_fragment && header_len >= 20 && ip.size() >= header_len + 4) {
        out.source_port = load_be16(ip, header_len);
        out.destination_port = load_be16(ip, header_len + 2);
    }
}

TraceNetFrame summarize(Bytes bytes, NetStack::Layer layer)
{
    TraceNetFrame out;
    out.iface = NetStack::iface_index;
    out.length = static_cast<u16>(bytes.size() > 0xffff ? 0xffff : bytes.size());
    if (layer == NetStack::Layer::ipv4) {
        out.ethertype = static_cast<u16>(EtherType::ipv4);
        summarize_ipv4(bytes, out);
        return out;
    }
    if (bytes.size() < 14)
        return out;
    out.ethertype = load_be16(bytes, 12);
    if (out.ethertype == static_cast<u16>(EtherType::ipv4))
        summarize_ipv4(bytes.subspan(14), out);
    return out;
}

} // namespace

const char* drop_reason_name(DropReason reason)
{
    switch (reason) {
    case DropReason::truncated: return "truncated";
    case DropReason::bad_length: return "bad_length";
    case DropReason::bad_checksum: return "bad_checksum";
    case DropReason::bad_version: return "bad_version";
    case DropReason::unsupported: return "unsupported";
    case DropReason::malformed: return "malformed";
    case DropReason::unknown_protocol: return "unknown_protocol";
    case DropReason::not_for_us: return "not_for_us";
    case DropReason::bad_address: return "bad_address";
    case DropReason::ttl_expired: return "ttl_expired";
    case DropReason::no_buffer: return "no_buffer";
    case DropReason::queue_full: return "queue_full";
    case DropReason::no_route: return "no_route";
    case DropReason::arp_pending_overflow: return "arp_pending_overflow";
    case DropReason::arp_timeout: return "arp_timeout";
    case DropReason::reassembly_timeout: return "reassembly_timeout";
    case DropReason::reassembly_overflow: return "reassembly_overflow";
    case DropReason::too_big: return "too_big";
    case DropReason::nic_tx_failed: return "nic_tx_failed";
    case DropReason::rate_limited: return "rate_limited";
    case DropReason::port_unreachable: return "port_unreachable";
    case DropReason::oversized_frame: return "oversized_frame";
    }
    return "unknown";
}

DropReason drop_reason_from(WireError error)
{
    switch (error) {
    case WireError::truncated: return DropReason::truncated;
    case WireError::bad_length: return DropReason::bad_length;
    case WireError::bad_checksum: return DropReason::bad_checksum;
    case WireError::bad_version: return DropReason::bad_version;
    case WireError::unsupported: return DropReason::unsupported;
    case WireError::malformed: return DropReason::malformed;
    }
    return DropReason::malformed;
}

Result<NetStack*, NetStack::CreateError> NetStack::create(Kernel& kernel, Nic& nic,
                                                          const NetConfig& config)
{
    if (config.reassembly_bytes == 0 || config.reassembly_bytes > Reassembler::datagram_bytes_max)
        return fail(CreateError::bad_config);
    if (config.pool.buffer_bytes < config.pool.headroom + nic.mtu() + 14 ||
        config.pool.headroom < EthernetRepr::header_len + Ipv4Repr::header_len)
        return fail(CreateError::bad_config);
    auto pool = PacketPool::create(kernel.heap(), config.pool);
    if (!pool.ok())
        return fail(pool.error() == PacketError::bad_config ? CreateError::bad_config
                                                             : CreateError::out_of_memory);
    NetStack* stack = kernel.heap().create<NetStack>(kernel, nic, pool.release_value(), config);
    if (!stack)
        return fail(CreateError::out_of_memory);
    if (!stack->m_reassembly.init(kernel.heap(), config.reassembly_bytes)) {
        destroy(kernel, stack);
        return fail(CreateError::out_of_memory);
    }
    stack->m_dns = kernel.heap().create<DnsResolver>(kernel, *stack);
    if (!stack->m_dns) {
        destroy(kernel, stack);
        return fail(CreateError::out_of_memory);
    }
    if (!config.dns_server.is_unspecified())
        stack->m_dns->set_servers(&config.dns_server, 1);
    if (stack->m_offloads.tso_packet_bytes_max > 0)
        stack->create_tso_pool(config.pool);
    for (UdpSocket*& socket : stack->m_sockets) {
        socket = kernel.heap().create<UdpSocket>(*stack, kernel.sched());
        if (!socket) {
            destroy(kernel, stack);
            return fail(CreateError::out_of_memory);
        }
    }
    if (!config.address.address.is_unspecified())
        stack->set_address(config.address, config.gateway);
    return stack;
}

void NetStack::destroy(Kernel& kernel, NetStack* stack)
{
    kernel.heap().destroy(stack);
}

NetStack::NetStack(Kernel& kernel, Nic& nic, PacketPool pool, const NetConfig& config)
    : m_kernel(kernel), m_nic(nic), m_offloads(nic.offloads()),
      m_pool(static_cast<PacketPool&&>(pool)), m_mac(nic.mac()), m_address(config.address),
      m_gateway(config.gateway)
{
    // TSO needs the NIC to complete the checksums of the pieces it cuts, and
    // no IPv4 packet is larger than its 16-bit total length.
    GANTRY_ASSERT(m_offloads.tso_packet_bytes_max == 0 || m_offloads.tx_checksum);
    if (m_offloads.tso_packet_bytes_max > Ipv4Packet::total_len_max)
        m_offloads.tso_packet_bytes_max = Ipv4Packet::total_len_max;
    if (m_offloads.tso_packet_bytes_max <= nic.mtu())
        m_offloads.tso_packet_bytes_max = 0;
    // The identification field only has to differ between datagrams in flight
    // (RFC 6864); starting from the platform's entropy keeps runs seedable.
    m_next_ident = static_cast<u16>(kernel.random_u64());
    m_icmp_refill = kernel.now();
}

bool NetStack::start_dhcp()
{
    GANTRY_ASSERT(m_dhcp == nullptr);
    m_dhcp = m_kernel.heap().create<DhcpClient>(m_kernel, *this);
    if (!m_dhcp)
        return false;
    DhcpClient* client = m_dhcp;
    Fiber* fiber = m_kernel.sched().spawn("dhcp", [client] { client->run(); });
    if (!fiber)
        return false;
    m_kernel.sched().detach(fiber);
    return true;
}

NetStack::~NetStack()
{
    if (m_tcp)
        TcpStack::destroy(m_kernel, m_tcp);
    // The client's fiber has been abandoned with the scheduler by now.
    m_kernel.heap().destroy(m_dhcp);
    m_kernel.heap().destroy(m_dns);
    for (UdpSocket* socket : m_sockets) {
        if (!socket)
            continue;
        socket->discard_queue();
        m_kernel.heap().destroy(socket);
    }
    while (m_pending_count > 0) {
        release(m_pending[m_pending_head].buffer);
        m_pending_head = (m_pending_head + 1) % arp_pending_max;
        m_pending_count--;
    }
    m_kernel.heap().destroy(m_tso_pool);
}

// Without memory for the large buffers the stack runs without TSO (the
// checksum offload needs none).
void NetStack::create_tso_pool(const PacketPoolConfig& small)
{
    PacketPoolConfig config;
    config.count = tso_buffers;
    config.headroom = small.headroom;
    config.buffer_bytes =
        small.headroom + EthernetRepr::header_len + m_offloads.tso_packet_bytes_max;
    auto pool = PacketPool::create(m_kernel.heap(), config);
    if (pool.ok())
        m_tso_pool = m_kernel.heap().create<PacketPool>(pool.release_value());
    if (!m_tso_pool)
        m_offloads.tso_packet_bytes_max = 0;
}

void NetStack::release(PacketBuffer* buffer)
{
    if (m_tso_pool && buffer->capacity() > m_pool.config().buffer_bytes)
        return m_tso_pool->free(buffer);
    m_pool.free(buffer);
}

void NetStack::set_address(Ipv4Cidr address, Ipv4Address gateway)
{
    GANTRY_ASSERT(address.prefix_len <= Ipv4Cidr::prefix_len_max);
    m_address = address;
    m_gateway = gateway;
    if (m_tcp)
        m_tcp->set_address(address.address);
    if (address.address.is_unspecified())
        return;
    // RFC 5227 section 3, ARP Announcement: a request whose sender and target IP
    // are both ours, so neighbours with a stale entry for it update their caches.
    send_arp(static_cast<u16>(ArpOperation::request), MacAddress{}, address.address,
             MacAddress::broadcast());
}

TcpStack* NetStack::tcp()
{
    if (!m_tcp) {
        auto created = TcpStack::create(m_kernel, *this, m_address.address);
        if (created.ok())
            m_tcp = created.value();
    }
    return m_tcp;
}

bool NetStack::tcp_send_ip(Ipv4Address, Ipv4Address destination, Bytes segment)
{
    return send_ipv4(destination, IpProtocol::tcp, segment, Bytes{}, m_kernel.now()).ok();
}

TcpIpOutput::Offloads NetStack::tcp_offloads() const
{
    Offloads offloads;
    offloads.checksum = m_offloads.tx_checksum;
    if (m_offloads.tso_packet_bytes_max > 0)
        offloads.segment_bytes_max = m_offloads.tso_packet_bytes_max - Ipv4Repr::header_len;
    return offloads;
}

TimeNs NetStack::poll(TimeNs now)
{
    m_arp.expire(now, arp_retry, arp_failed, this);
    expire_pending(now);
    for (usize expired = m_reassembly.expire(now); expired > 0; --expired)
        drop(DropReason::reassembly_timeout, Bytes{}, Layer::ipv4);
    usize frames = 0;
    for (; frames < rx_batch_max; ++frames) {
        auto allocated = m_pool.alloc();
        if (!allocated.ok()) {
            // Keep draining the NIC so a full pool cannot wedge the device queue.
            u8 scratch[Nic::frame_bytes_max];
            usize length = m_nic.receive(MutableBytes(scratch, sizeof(scratch)));
            if (length == 0)
                break;
            drop(DropReason::no_buffer, Bytes(scratch, length), Layer::ethernet);
            continue;
        }
        PacketBuffer* buffer = allocated.value();
        MutableBytes space = buffer->append(buffer->tailroom());
        usize length = m_nic.receive(space);
        if (length == 0) {
            m_pool.free(buffer);
            break;
        }
        GANTRY_ASSERT(length <= space.size());
        buffer->trim_back(space.size() - length);
        receive_frame(buffer, now);
        m_rx_frame = {};
        if (buffer)
            m_pool.free(buffer);
    }
    if (frames == rx_batch_max)
        return now; // the batch bound was hit: more frames may be waiting
    return next_deadline();
}

TimeNs NetStack::next_deadline() const
{
    TimeNs next = m_arp.next_deadline();
    TimeNs reassembly = m_reassembly.next_deadline();
    next = reassembly < next ? reassembly : next;
    for (usize i = 0; i < m_pending_count; ++i) {
        const Pending& pending = m_pending[(m_pending_head + i) % arp_pending_max];
        next = pending.deadline < next ? pending.deadline : next;
    }
    return next;
}

// RFC 894: Ethernet II framing; frames for other hosts or unknown EtherTypes go.
void NetStack::receive_frame(PacketBuffer*& buffer, TimeNs now)
{
    Bytes frame = buffer->data();
    m_counters.ethernet.rx_packets++;
    m_counters.ethernet.rx_bytes += frame.size();
    m_rx_frame = frame;
    trace_frame(static_cast<u8>(TraceKind::net_rx), frame, DropReason::truncated,
                Layer::ethernet);
    auto checked = EthernetFrame::check(frame);
    if (!checked.ok())
        return drop_rx(drop_reason_from(checked.error()));
    const EthernetFrame& ethernet = checked.value();
    MacAddress destination = ethernet.destination();
    if (destination != m_mac && !destination.is_broadcast())
        return drop_rx(DropReason::not_for_us); // no multicast groups joined yet
    if (ethernet.source().is_multicast())
        return drop_rx(DropReason::bad_address);
    switch (ethernet.ethertype()) {
    case EtherType::arp:
        return receive_arp(ethernet.payload(), now);
    case EtherType::ipv4:
        return receive_ipv4(buffer, ethernet.payload(), now);
    default:
        return drop_rx(DropReason::unknown_protocol);
    }
}

// RFC 826 "Packet Reception", in its order: merge the sender into the table if
// known; if we are the target, add it, and answer a request.
void NetStack::receive_arp(Bytes payload, TimeNs now)
{
    auto checked = ArpPacket::check(payload);
    if (!checked.ok())
        return drop_rx(drop_reason_from(checked.error()));
    ArpRepr arp = ArpRepr::parse(checked.value());
    m_counters.arp.rx_packets++;
    m_counters.arp.rx_bytes += ArpPacket::packet_len; // not the link-layer padding
    if (!arp.sender_mac.is_unicast() || arp.sender_mac == m_mac)
        return drop_rx(DropReason::bad_address);
    bool for_us = !m_address.address.is_unspecified() && arp.target_ip == m_address.address;
    // An ARP probe (RFC 5227 section 2.1.1) has sender IP 0.0.0.0: nothing to learn.
    bool learnable = !arp.sender_ip.is_unspecified() && arp.sender_ip != m_address.address;
    if (learnable) {
        auto mode = for_us ? ArpCache::Learn::create : ArpCache::Learn::update_only;
        if (m_arp.learn(arp.sender_ip, arp.sender_mac, now, mode))
            flush_pending(arp.sender_ip, arp.sender_mac);
    }
    if (for_us && arp.operation == ArpOperation::request) {
        send_arp(static_cast<u16>(ArpOperation::reply), arp.sender_mac, arp.sender_ip,
                 arp.sender_mac);
    }
}

void NetStack::send_arp(u16 operation, MacAddress target_mac, Ipv4Address target_ip,
                        MacAddress link_destination)
{
    auto allocated = m_pool.alloc();
    if (!allocated.ok())
        return drop(DropReason::no_buffer, Bytes{}, Layer::ethernet);
    PacketBuffer* buffer = allocated.value();
    ArpRepr arp;
    arp.operation = static_cast<ArpOperation>(operation);
    arp.sender_mac = m_mac;
    arp.sender_ip = m_address.address;
    arp.target_mac = target_mac;
    arp.target_ip = target_ip;
    arp.emit(buffer->append(ArpRepr::buffer_len));
    m_counters.arp.tx_packets++;
    m_counters.arp.tx_bytes += ArpRepr::buffer_len;
    if (arp.operation == ArpOperation::request)
        m_counters.arp_requests_tx++;
    else
        m_counters.arp_replies_tx++;
    transmit_frame(buffer, link_destination, static_cast<u16>(EtherType::arp));
}

void NetStack::transmit_frame(PacketBuffer* buffer, MacAddress destination, u16 ethertype,
                              const NicTxOffload& offload)
{
    EthernetRepr ethernet;
    ethernet.source = m_mac;
    ethernet.destination = destination;
    ethernet.ethertype = static_cast<EtherType>(ethertype);
    ethernet.emit(buffer->prepend(EthernetRepr::header_len));
    // Pad to the 802.3 minimum: a real wire needs it and taps pass it through.
    if (buffer->size() < ethernet_min_frame) {
        usize pad = ethernet_min_frame - buffer->size();
        GANTRY_ASSERT(buffer->tailroom() >= pad);
        fill_bytes(buffer->append(pad), 0);
    }
    Bytes frame = buffer->data();
    // Only what the NIC offers, and only a frame it segments may exceed the MTU.
    bool segmented = offload.segment_payload != 0;
    GANTRY_ASSERT(offload.none() || m_offloads.tx_checksum);
    GANTRY_ASSERT(!segmented || m_offloads.tso_packet_bytes_max > 0);
    usize frame_max = (segmented ? m_offloads.tso_packet_bytes_max : m_nic.mtu()) +
                      EthernetRepr::header_len;
    if (frame.size() > frame_max)
        return drop_packet(DropReason::oversized_frame, buffer, Layer::ethernet);
    bool sent = false;
    if (offload.none()) {
        sent = m_nic.transmit(frame);
    } else {
        // The IPv4 layer's offsets, now behind the Ethernet header.
        constexpr usize ethernet = EthernetRepr::header_len;
        NicTxOffload in_frame = offload;
        in_frame.checksum_start = static_cast<u16>(in_frame.checksum_start + ethernet);
        if (segmented)
            in_frame.header_bytes = static_cast<u16>(in_frame.header_bytes + ethernet);
        sent = m_nic.transmit_offloaded(frame, in_frame);
    }
    if (!sent)
        return drop_packet(DropReason::nic_tx_failed, buffer, Layer::ethernet);
    m_counters.ethernet.tx_packets++;
    m_counters.ethernet.tx_bytes += frame.size();
    trace_frame(static_cast<u8>(TraceKind::net_tx), frame, DropReason::truncated,
                Layer::ethernet);
    release(buffer);
}

// RFC 1122 section 2.3.2.2: packets wait for their next hop's address in a
// bounded FIFO; when it is full the new packet is dropped.
void NetStack::enqueue_pending(PacketBuffer* buffer, Ipv4Address next_hop, TimeNs now,
                               const NicTxOffload& offload)
{
    if (m_pending_count == arp_pending_max)
        return drop_packet(DropReason::arp_pending_overflow, buffer, Layer::ipv4);
    Pending& slot = m_pending[(m_pending_head + m_pending_count) % arp_pending_max];
    slot = Pending{buffer, next_hop, now + arp_pending_timeout_ns, offload};
    m_pending_count++;
}

void NetStack::flush_pending(Ipv4Address resolved, MacAddress mac)
{
    // One pass over the queue: matching packets go, the others keep their order.
    for (usize remaining = m_pending_count; remaining > 0; --remaining) {
        Pending pending = m_pending[m_pending_head];
        m_pending_head = (m_pending_head + 1) % arp_pending_max;
        m_pending_count--;
        if (pending.next_hop == resolved) {
            transmit_frame(pending.buffer, mac, static_cast<u16>(EtherType::ipv4),
                           pending.offload);
        } else {
            m_pending[(m_pending_head + m_pending_count) % arp_pending_max] = pending;
            m_pending_count++;
        }
    }
}

void NetStack::drop_pending(Ipv4Address next_hop, DropReason reason, TimeNs now)
{
    for (usize remaining = m_pending_count; remaining > 0; --remaining) {
        Pending pending = m_pending[m_pending_head];
        m_pending_head = (m_pending_head + 1) % arp_pending_max;
        m_pending_count--;
        if (pending.next_hop == next_hop || pending.deadline <= now) {
            drop_packet(reason, pending.buffer, Layer::ipv4);
        } else {
            m_pending[(m_pending_head + m_pending_count) % arp_pending_max] = pending;
            m_pending_count++;
        }
    }
}

void NetStack::expire_pending(TimeNs now)
{
    // An unspecified next hop matches nothing queued: only the deadline applies.
    drop_pending(Ipv4Address::broadcast(), DropReason::arp_timeout, now);
}

void NetStack::arp_retry(void* context, const ArpEntry& entry)
{
    auto* stack = static_cast<NetStack*>(context);
    if (entry.state == ArpEntryState::probing) {
        stack->send_arp(static_cast<u16>(ArpOperation::request), entry.mac, entry.ip, entry.mac);
        return;
    }
    stack->send_arp(static_cast<u16>(ArpOperation::request), MacAddress{}, entry.ip,
                    MacAddress::broadcast());
}

void NetStack::arp_failed(void* context, const ArpEntry& entry)
{
    auto* stack = static_cast<NetStack*>(context);
    stack->drop_pending(entry.ip, DropReason::arp_timeout, stack->m_kernel.now());
}

void NetStack::drop(DropReason reason, Bytes bytes, Layer layer)
{
    m_counters.drops[static_cast<u8>(reason)]++;
    trace_frame(static_cast<u8>(TraceKind::net_drop), bytes, reason, layer);
}

void NetStack::drop_rx(DropReason reason)
{
    drop(reason, m_rx_frame, Layer::ethernet);
}

void NetStack::drop_packet(DropReason reason, PacketBuffer* buffer, Layer layer)
{
    drop(reason, buffer->data(), layer);
    release(buffer);
}

void NetStack::trace_frame(u8 kind, Bytes bytes, DropReason reason, Layer layer)
{
    Tracer& tracer = m_kernel.trace();
    if (!tracer.enabled())
        return;
    TraceNetFrame summary = summarize(bytes, layer);
    switch (static_cast<TraceKind>(kind)) {
    case TraceKind::net_rx:
        return tracer.net_rx(summary);
    case TraceKind::net_tx:
        return tracer.net_tx(summary);
    default:
        return tracer.net_drop(summary, static_cast<u8>(reason));
    }
}

} // namespace gantry::net
