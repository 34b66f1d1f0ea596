// DHCP client, RFC 2131 (section 4.4 client behaviour; 4.1 retransmission;
// 4.3.6 message fields per state; 4.4.5 T1/T2) over the stack's UDP sockets.
#include <gantry/kernel.hpp>
#include <gantry/net/stack/dhcp_client.hpp>
#include <gantry/net/stack/dns_resolver.hpp>

namespace gantry::net {

namespace {

// What we ask the server for (RFC 2132 9.8): mask, router, DNS, lease times.
constexpr u8 requested_options[] = {dhcp_option::subnet_mask, dhcp_option::router,
                                    dhcp_option::dns_server, dhcp_option::lease_time,
                                    dhcp_option::renewal_time, dhcp_option::rebinding_time};

u8 prefix_from_mask(Ipv4Address mask)
{
    u32 bits = mask.to_u32();
    u8 prefix = 0;
    while (prefix < 32 && (bits & (0x80000000u >> prefix)) != 0)
        ++prefix;
    return prefix;
}

} // namespace

const char* dhcp_state_name(DhcpState state)
{
    switch (state) {
    case DhcpState::init: return "init";
    case DhcpState::selecting: return "selecting";
    case DhcpState::requesting: return "requesting";
    case DhcpState::bound: return "bound";
    case DhcpState::renewing: return "renewing";
    case DhcpState::rebinding: return "rebinding";
    case DhcpState::stopped: return "stopped";
    }
    return "unknown";
}

DhcpClient::DhcpClient(Kernel& kernel, NetStack& stack)
    : m_kernel(kernel), m_stack(stack), m_changed(kernel.sched())
{
}

void DhcpClient::set_state(DhcpState state)
{
    m_state = state;
    m_changed.notify_all();
}

bool DhcpClient::wait_bound(TimeNs deadline)
{
    for (;;) {
        bool bound = m_state == DhcpState::bound || m_state == DhcpState::renewing ||
                     m_state == DhcpState::rebinding;
        if (bound)
            return true;
        if (m_state == DhcpState::stopped || m_changed.wait_until(deadline) == WaitResult::timed_out)
            return false;
    }
}

void DhcpClient::stop()
{
    set_state(DhcpState::stopped);
    if (m_socket)
        m_socket->close(); // wakes run() out of its receive
}

TimeNs DhcpClient::backoff(u32 attempt)
{
    TimeNs wait = retransmit_first_ns << (attempt < 4 ? attempt : 4);
    wait = wait < retransmit_max_ns ? wait : retransmit_max_ns;
    // +-1 s, from the platform's entropy (seeded under the simulator).
    return wait - ns_per_s + m_kernel.random_u64() % (2 * ns_per_s);
}

void DhcpClient::run()
{
    auto bound = m_stack.udp_bind(dhcp_client_port);
    if (!bound.ok()) {
        m_kernel.log().error("dhcp: cannot bind UDP port 68: {}", udp_error_name(bound.error()));
        set_state(DhcpState::stopped);
        return;
    }
    m_socket = bound.value();
    while (m_state != DhcpState::stopped) {
        select();
        if (m_state == DhcpState::stopped)
            break;
        if (request())
            hold_lease();
    }
    m_socket->close();
}

// INIT -> SELECTING (RFC 2131 4.4.1): broadcast DISCOVER until an OFFER comes.
void DhcpClient::select()
{
    m_stack.set_address(Ipv4Cidr{}, Ipv4Address{});
    m_xid = static_cast<u32>(m_kernel.random_u64());
    for (u32 attempt = 0; m_state != DhcpState::stopped; ++attempt) {
        set_state(DhcpState::selecting);
        (void)send(DhcpMessageType::discover, Ipv4Address::broadcast(), {}, std::nullopt,
                   std::nullopt);
        TimeNs deadline = m_kernel.now() + backoff(attempt);
        DhcpRepr reply;
        for (Reply got = receive(deadline, reply); got != Reply::timed_out;
             got = receive(deadline, reply)) {
            if (got == Reply::offer && reply.server_id && !reply.your_ip.is_unspecified()) {
                m_offer = reply;
                return;
            }
        }
    }
}

// REQUESTING (RFC 2131 4.4.1, 4.3.2): broadcast REQUEST with the offer's server id.
bool DhcpClient::request()
{
    set_state(DhcpState::requesting);
    for (u32 attempt = 0; attempt < requests_max && m_state != DhcpState::stopped; ++attempt) {
        (void)send(DhcpMessageType::request, Ipv4Address::broadcast(), {}, m_offer.your_ip,
                   m_offer.server_id);
        TimeNs deadline = m_kernel.now() + backoff(attempt);
        DhcpRepr reply;
        for (Reply got = receive(deadline, reply); got != Reply::timed_out;
             got = receive(deadline, reply)) {
            if (got == Reply::nak)
                return false;
            if (got == Reply::ack && reply.your_ip == m_offer.your_ip) {
                apply(reply, "bound");
                m_leases++;
                return true;
            }
        }
    }
    return false;
}

// BOUND -> RENEWING at T1 (unicast to the server) -> REBINDING at T2
// (broadcast) -> INIT at expiry (RFC 2131 4.4.5).
void DhcpClient::hold_lease()
{
    while (m_state != DhcpState::stopped) {
        TimeNs now = m_kernel.now();
        if (now >= m_lease.expires) {
            m_kernel.log().warn("dhcp: lease expired");
            return;
        }
        bool rebinding = now >= m_lease.t2;
        TimeNs phase_end = rebinding ? m_lease.expires : m_lease.t2;
        if (now < m_lease.t1) {
            set_state(DhcpState::bound);
            (void)m_socket->recv_from(MutableBytes(m_buffer, sizeof(m_buffer)), m_lease.t1);
            continue; // stray datagrams (or close) just re-check the clock
        }
        set_state(rebinding ? DhcpState::rebinding : DhcpState::renewing);
        Ipv4Address destination = rebinding ? Ipv4Address::broadcast() : m_lease.server;
        (void)send(DhcpMessageType::request, destination, m_lease.address.address, std::nullopt,
                   std::nullopt);
        // RFC 2131 4.4.5: wait half the time left in this phase, at least 60 s.
        TimeNs wait = (phase_end - now) / 2;
        wait = wait > renew_retry_min_ns ? wait : renew_retry_min_ns;
        TimeNs deadline = now + wait < phase_end ? now + wait : phase_end;
        DhcpRepr reply;
        for (Reply got = receive(deadline, reply); got != Reply::timed_out;
             got = receive(deadline, reply)) {
            if (got == Reply::nak)
                return;
            if (got == Reply::ack && reply.your_ip == m_lease.address.address) {
                apply(reply, rebinding ? "rebound" : "renewed");
                m_renewals++;
                break;
            }
        }
    }
}

Status<UdpError> DhcpClient::send(DhcpMessageType type, Ipv4Address destination,
                                  Ipv4Address client_ip, std::optional<Ipv4Address> requested,
                                  std::optional<Ipv4Address> server)
{
    DhcpRepr message;
    message.op = DhcpOp::request;
    message.message_type = type;
    message.xid = m_xid;
    // Without an address we cannot take unicast replies: ask for broadcasts (4.1).
    message.broadcast = client_ip.is_unspecified() ? DhcpBroadcast::yes : DhcpBroadcast::no;
    message.client_ip = client_ip;
    message.client_mac = m_stack.mac();
    message.requested_ip = requested;
    message.server_id = server;
    message.parameter_request_list = Bytes(requested_options, sizeof(requested_options));
    usize length = message.buffer_len();
    GANTRY_ASSERT(length <= sizeof(m_buffer));
    message.emit(MutableBytes(m_buffer, length));
    return m_socket->send_to(destination, dhcp_server_port, Bytes(m_buffer, length));
}

DhcpClient::Reply DhcpClient::receive(TimeNs deadline, DhcpRepr& out)
{
    // Bounded by the deadline: every datagram that is not ours is skipped.
    for (;;) {
        auto got = m_socket->recv_from(MutableBytes(m_buffer, sizeof(m_buffer)), deadline);
        if (!got.ok())
            return Reply::timed_out;
        auto packet = DhcpPacket::check(Bytes(m_buffer, got.value().length));
        if (!packet.ok() || got.value().source_port != dhcp_server_port)
            continue;
        auto parsed = DhcpRepr::parse(packet.value());
        if (!parsed.ok() || parsed.value().op != DhcpOp::reply ||
            parsed.value().xid != m_xid || parsed.value().client_mac != m_stack.mac())
            continue;
        out = parsed.value();
        switch (out.message_type) {
        case DhcpMessageType::offer: return Reply::offer;
        case DhcpMessageType::ack: return Reply::ack;
        case DhcpMessageType::nak: return Reply::nak;
        default: continue;
        }
    }
}

void DhcpClient::apply(const DhcpRepr& ack, std::string_view what)
{
    TimeNs now = m_kernel.now();
    u32 lease_s = ack.lease_time_s.value_or(3600);
    DhcpLease lease;
    lease.address = Ipv4Cidr{ack.your_ip, ack.subnet_mask ? prefix_from_mask(*ack.subnet_mask)
                                                          : u8{24}};
    lease.gateway = ack.router.value_or(Ipv4Address{});
    lease.server = ack.server_id.value_or(m_lease.server);
    lease.obtained = now;
    lease.expires = now + TimeNs{lease_s} * ns_per_s;
    // RFC 2131 4.4.5 defaults: T1 = 0.5, T2 = 0.875 of the lease.
    lease.t1 = now + TimeNs{ack.renewal_time_s.value_or(lease_s / 2)} * ns_per_s;
    lease.t2 = now + TimeNs{ack.rebinding_time_s.value_or(lease_s / 8 * 7)} * ns_per_s;
    lease.t2 = lease.t2 < lease.t1 ? lease.t1 : lease.t2;
    lease.dns_server_count = ack.dns_server_count;
    for (usize i = 0; i < ack.dns_server_count; ++i)
        lease.dns_servers[i] = ack.dns_servers[i];
    if (lease.dns_server_count > 0)
        m_stack.dns().set_servers(lease.dns_servers, lease.dns_server_count);
    bool changed = lease.address.address != m_stack.address().address;
    m_lease = lease;
    if (changed || lease.gateway != m_stack.gateway())
        m_stack.set_address(lease.address, lease.gateway);
    char address[Ipv4Address::text_bytes_max];
    lease.address.address.to_chars(address);
    m_kernel.log().info("dhcp: {} {}/{} for {} s (renew in {} s)", what,
                        std::string_view(address),
                        lease.address.prefix_len, lease_s, (lease.t1 - now) / ns_per_s);
    set_state(DhcpState::bound);
}

} // namespace gantry::net
