// TCP sockets on fibers and the per-interface demultiplexer: RFC 9293 3.10.7
// (segment arrives: which connection, or RST for none, 3.10.7.1), 3.10.1-3.10.6
// (user calls), RFC 4987 3.6 (SYN cache and SYN cookies against SYN floods),
// RFC 2525 2.17 (RST when closing with unread data).
#include <gantry/kernel.hpp>
#include <gantry/net/endian.hpp>
#include <gantry/net/tcp/socket.hpp>
#include <gantry/net/wire/checksum.hpp>
#include <gantry/net/wire/ipv4.hpp>

namespace gantry::net {

namespace {

// SYN cookies: 5 bits of a 64-second counter, 2 bits of MSS index, 25 bits of
// MAC over the 4-tuple, the peer's ISN and the counter.
constexpr TimeNs cookie_period_ns = 64 * ns_per_s;
constexpr u16 cookie_mss[] = {536, 1220, 1440, 1460};

u32 cookie_clock(TimeNs now) { return static_cast<u32>(now / cookie_period_ns); }

} // namespace

// --- TcpSocket ----------------------------------------------------------------

TcpSocket::TcpSocket(TcpStack& stack, Scheduler& scheduler)
    : m_stack(stack), m_changed(scheduler)
{
}

void TcpSocket::wake() { m_changed.notify_all(); }

Result<usize, TcpError> TcpSocket::read(MutableBytes out, TimeNs deadline)
{
    // Each round either returns or blocks until progress or the deadline.
    for (;;) {
        if (m_owner != Owner::app)
            return fail(TcpError::closed);
        TimeNs now = m_stack.m_kernel.now();
        auto got = m_tcb->recv(out, now);
        if (!got.ok())
            return fail(got.error());
        if (got.value() > 0 || out.empty()) {
            m_stack.after(this, now);
            return got.value();
        }
        if (m_tcb->at_eof() || m_tcb->state() == TcpState::closed)
            return usize{0};
        if (m_changed.wait_until(deadline) == WaitResult::timed_out &&
            m_tcb->recv_available() == 0 && !m_tcb->at_eof())
            return fail(TcpError::timed_out);
    }
}

Status<TcpError> TcpSocket::read_exact(MutableBytes out, TimeNs deadline)
{
    usize done = 0;
    while (done < out.size()) {
        usize got = GANTRY_TRY(read(out.subspan(done), deadline));
        if (got == 0)
            return fail(TcpError::invalid_state); // end of stream before `out` filled
        done += got;
    }
    return {};
}

Result<usize, TcpError> TcpSocket::write_some(Bytes data)
{
    if (m_owner != Owner::app)
        return fail(TcpError::closed);
    TimeNs now = m_stack.m_kernel.now();
    auto sent = m_tcb->send(data, now);
    m_stack.after(this, now);
    return sent;
}

Result<usize, TcpError> TcpSocket::write(Bytes data, TimeNs deadline)
{
    usize written = 0;
    for (;;) {
        written += GANTRY_TRY(write_some(data.subspan(written)));
        if (written == data.size())
            return written;
        if (m_tcb->state() == TcpState::syn_sent || m_tcb->send_space() == 0) {
            if (m_changed.wait_until(deadline) == WaitResult::timed_out &&
                m_tcb->send_space() == 0)
                return written;
        }
    }
}

Status<TcpError> TcpSocket::shutdown()
{
    if (m_owner != Owner::app)
        return fail(TcpError::closed);
    TimeNs now = m_stack.m_kernel.now();
    auto status = m_tcb->shutdown_write(now);
    m_stack.after(this, now);
    return status;
}

void TcpSocket::close()
{
    if (m_owner != Owner::app)
        return;
    TimeNs now = m_stack.m_kernel.now();
    if (m_tcb->recv_available() > 0)
        m_tcb->abort(now);
    else
        (void)m_tcb->shutdown_write(now);
    m_owner = Owner::stack;
    wake();
    m_stack.after(this, now);
}

void TcpSocket::abort()
{
    if (m_owner != Owner::app)
        return;
    TimeNs now = m_stack.m_kernel.now();
    m_tcb->abort(now);
    m_owner = Owner::stack;
    wake();
    m_stack.after(this, now);
}

Status<TcpError> TcpSocket::wait_connected(TimeNs deadline)
{
    // Each round blocks until the state changes or the deadline passes.
    for (;;) {
        if (m_owner != Owner::app)
            return fail(TcpError::closed);
        TcpState state = m_tcb->state();
        if (state != TcpState::syn_sent && state != TcpState::syn_received)
            break;
        if (m_changed.wait_until(deadline) == WaitResult::timed_out && m_owner == Owner::app &&
            m_tcb->state() == TcpState::syn_sent) {
            TimeNs now = m_stack.m_kernel.now();
            m_tcb->give_up_open(m_tcb->soft_error().value_or(TcpError::timed_out));
            m_stack.after(this, now);
            break;
        }
    }
    if (m_tcb->state() == TcpState::closed)
        return fail(m_tcb->error().value_or(TcpError::reset));
    return {};
}

void TcpSocket::set_keepalive(Keepalive keepalive)
{
    TimeNs now = m_stack.m_kernel.now();
    m_tcb->set_keepalive(keepalive, now);
    m_stack.after(this, now);
}

// --- TcpStack -------------------------------------------------------------------

Result<TcpStack*, TcpError> TcpStack::create(Kernel& kernel, TcpIpOutput& ip,
                                             Ipv4Address address, const TcpStackConfig& config)
{
    GANTRY_ASSERT(config.sockets_max > 0 && config.sockets_max <= sockets_max);
    GANTRY_ASSERT(config.listeners_max > 0 && config.listeners_max <= listeners_max);
    Heap& heap = kernel.heap();
    auto* stack = heap.create<TcpStack>(kernel, ip, address, config);
    if (!stack)
        return fail(TcpError::no_memory);
    stack->m_scratch_bytes = TcpPacket::header_len_max + config.tcp.mss;
    if (stack->m_offloads.segment_bytes_max > stack->m_scratch_bytes)
        stack->m_scratch_bytes = stack->m_offloads.segment_bytes_max;
    stack->m_scratch = static_cast<u8*>(heap.alloc(stack->m_scratch_bytes));
    stack->m_sockets = static_cast<TcpSocket**>(heap.alloc(sizeof(void*) * config.sockets_max));
    stack->m_listeners =
        static_cast<TcpListener**>(heap.alloc(sizeof(void*) * config.listeners_max));
    bool ok = stack->m_scratch && stack->m_sockets && stack->m_listeners;
    if (ok && kernel.timers().reserve(1))
        stack->m_timer_reserved = true;
    ok = ok && stack->m_timer_reserved;
    for (usize i = 0; ok && i < config.sockets_max; i++) {
        stack->m_sockets[i] = heap.create<TcpSocket>(*stack, kernel.sched());
        ok = stack->m_sockets[i] != nullptr;
    }
    for (usize i = 0; ok && i < config.listeners_max; i++) {
        stack->m_listeners[i] = heap.create<TcpListener>(*stack, kernel.sched());
        ok = stack->m_listeners[i] != nullptr;
    }
    if (!ok) {
        destroy(kernel, stack);
        return fail(TcpError::no_memory);
    }
    return stack;
}

TcpStack::TcpStack(Kernel& kernel, TcpIpOutput& ip, Ipv4Address address,
                   const TcpStackConfig& config)
    : m_kernel(kernel), m_ip(ip), m_address(address), m_config(config),
      m_timer(on_timer, this), m_offloads(ip.tcp_offloads())
{
    u8 key[TcpSecret::key_bytes];
    kernel.random_bytes(MutableBytes(key, sizeof(key)));
    m_secret = TcpSecret(Bytes(key, sizeof(key)));
}

TcpStack::~TcpStack() = default;

void TcpStack::destroy(Kernel& kernel, TcpStack* stack)
{
    Heap& heap = kernel.heap();
    if (stack->m_sockets) {
        for (usize i = 0; i < stack->m_config.sockets_max; i++) {
            TcpSocket* socket = stack->m_sockets[i];
            if (socket && socket->m_tcb)
                TcpConnection::destroy(heap, socket->m_tcb);
            heap.destroy(socket);
        }
    }
    if (stack->m_listeners)
        for (usize i = 0; i < stack->m_config.listeners_max; i++)
            heap.destroy(stack->m_listeners[i]);
    kernel.timers().cancel(stack->m_timer);
    if (stack->m_timer_reserved)
        kernel.timers().unreserve(1);
    heap.free(stack->m_scratch);
    heap.free(stack->m_sockets);
    heap.free(stack->m_listeners);
    heap.destroy(stack);
}

usize TcpStack::sockets_in_use() const
{
    usize count = 0;
    for (usize i = 0; i < m_config.sockets_max; i++)
        count += m_sockets[i]->m_owner != TcpSocket::Owner::free ? 1 : 0;
    GANTRY_ASSERT(count == m_sockets_live);
    return count;
}

usize TcpStack::connections_in(TcpState state, u16 local_port) const
{
    usize count = 0;
    for (usize i = 0; i < m_config.sockets_max; i++) {
        const TcpSocket* socket = m_sockets[i];
        if (socket->m_owner == TcpSocket::Owner::free || socket->m_tcb->state() != state)
            continue;
        if (local_port == 0 || socket->m_tcb->local().port == local_port)
            count++;
    }
    if (state != TcpState::syn_received)
        return count;
    for (usize i = 0; i < m_config.listeners_max; i++) {
        const TcpListener* listener = m_listeners[i];
        if (!listener->m_open || (local_port != 0 && listener->m_port != local_port))
            continue;
        for (const TcpListener::SynEntry& entry : listener->m_syns)
            count += entry.used ? 1 : 0;
    }
    return count;
}

TcpSocket* TcpStack::find_socket(TcpEndpoint local, TcpEndpoint remote)
{
    for (usize i = 0; i < m_config.sockets_max; i++) {
        TcpSocket* socket = m_sockets[i];
        if (socket->m_owner == TcpSocket::Owner::free)
            continue;
        const TcpConnection& tcb = *socket->m_tcb;
        if (tcb.state() != TcpState::closed && tcb.local() == local && tcb.remote() == remote)
            return socket;
    }
    return nullptr;
}

TcpListener* TcpStack::find_listener(u16 port)
{
    for (usize i = 0; i < m_config.listeners_max; i++)
        if (m_listeners[i]->m_open && m_listeners[i]->m_port == port)
            return m_listeners[i];
    return nullptr;
}

bool TcpStack::port_in_use(u16 port) const
{
    for (usize i = 0; i < m_config.listeners_max; i++)
        if (m_listeners[i]->m_open && m_listeners[i]->m_port == port)
            return true;
    for (usize i = 0; i < m_config.sockets_max; i++)
        if (m_sockets[i]->m_owner != TcpSocket::Owner::free &&
            m_sockets[i]->m_tcb->local().port == port)
            return true;
    return false;
}

TcpConfig TcpStack::config_for(const TcpSocketOptions& options) const
{
    TcpConfig config = m_config.tcp;
    if (options.send_buffer_bytes > 0)
        config.send_buffer_bytes = options.send_buffer_bytes;
    if (options.receive_buffer_bytes > 0)
        config.receive_buffer_bytes = options.receive_buffer_bytes;
    if (options.window_scale_bytes > 0)
        config.window_scale_bytes = options.window_scale_bytes;
    config.nagle = options.nagle;
    config.delayed_ack = options.delayed_ack;
    config.keepalive = options.keepalive;
    config.icmp_hard_errors = options.icmp_hard_errors;
    config.tso_segment_bytes_max = m_offloads.segment_bytes_max;
    if (options.keepalive_idle_ns > 0)
        config.keepalive_idle_ns = options.keepalive_idle_ns;
    if (options.keepalive_interval_ns > 0)
        config.keepalive_interval_ns = options.keepalive_interval_ns;
    if (options.keepalive_probes_max > 0)
        config.keepalive_probes_max = options.keepalive_probes_max;
    return config;
}

Result<TcpSocket*, TcpError> TcpStack::new_socket(const TcpConfig& config)
{
    for (usize i = 0; i < m_config.sockets_max; i++) {
        TcpSocket* socket = m_sockets[i];
        if (socket->m_owner != TcpSocket::Owner::free)
            continue;
        auto created = TcpConnection::create(m_kernel.heap(), config, *this, m_secret);
        if (!created.ok())
            return fail(created.error());
        socket->m_tcb = created.value();
        socket->m_owner = TcpSocket::Owner::app;
        m_sockets_live++;
        return socket;
    }
    return fail(TcpError::no_socket);
}

namespace {

void add_connection_stats(TcpStackTotals& totals, const TcpStats& stats)
{
    totals.connections++;
    totals.retransmits += stats.retransmits;
    totals.timeouts += stats.timeouts;
    totals.fast_retransmits += stats.fast_retransmits;
    totals.zero_window_probes += stats.zero_window_probes;
    totals.keepalive_probes += stats.keepalive_probes;
    totals.challenge_acks += stats.challenge_acks;
    totals.ooo_segments += stats.ooo_segments;
}

} // namespace

TcpStackTotals TcpStack::totals() const
{
    TcpStackTotals totals = m_released;
    for (usize i = 0; i < m_config.sockets_max; i++) {
        const TcpSocket* socket = m_sockets[i];
        if (socket->m_owner != TcpSocket::Owner::free && socket->m_tcb)
            add_connection_stats(totals, socket->m_tcb->stats());
    }
    for (usize i = 0; i < m_config.listeners_max; i++) {
        const TcpListener* listener = m_listeners[i];
        totals.syn_cookies_sent += listener->m_cookies_sent;
        totals.syn_cookies_accepted += listener->m_cookies_accepted;
        totals.accept_overflows += listener->m_accept_overflows;
    }
    totals.resets_sent = m_resets_sent;
    totals.bad_segments = m_bad_segments;
    return totals;
}

void TcpStack::release(TcpSocket* socket)
{
    GANTRY_ASSERT(socket->m_owner != TcpSocket::Owner::free);
    add_connection_stats(m_released, socket->m_tcb->stats());
    trace_state(socket);
    socket->m_traced_state = TcpState::closed;
    TcpConnection::destroy(m_kernel.heap(), socket->m_tcb);
    socket->m_tcb = nullptr;
    socket->m_owner = TcpSocket::Owner::free;
    GANTRY_ASSERT(m_sockets_live > 0);
    m_sockets_live--;
}

void TcpStack::after(TcpSocket* socket, TimeNs now)
{
    settle(socket, now);
    rearm_for(socket);
}

// One connection's deadlines changed: move the timer only if that connection
// now needs it sooner. A deadline that moved later (the retransmission timer
// restarted by an ACK: nearly every segment) leaves the timer early; it fires,
// poll() finds nothing due and rearm() looks at every socket and SYN cache
// again. That walk after every segment was a fifth of a simulated bulk
// transfer's instructions, still 5% once it stopped at the last live socket
// (issue 5, callgrind); a stale timer costs one wake-up.
void TcpStack::rearm_for(const TcpSocket* socket)
{
    if (socket->m_owner == TcpSocket::Owner::free)
        return; // released: its deadlines went with it
    TimeNs at = socket->m_tcb->next_deadline();
    if (at != deadline_none && (!m_timer.armed() || at < m_timer.deadline()))
        m_kernel.timers().arm_reserved(m_timer, at);
}

bool TcpStack::tracing() const { return m_kernel.trace().enabled(); }

namespace {

TraceTcpConnection trace_tuple(const TcpConnection& tcb)
{
    TraceTcpConnection out;
    out.local = tcb.local().address.to_u32();
    out.local_port = tcb.local().port;
    out.remote = tcb.remote().address.to_u32();
    out.remote_port = tcb.remote().port;
    out.state = static_cast<u8>(tcb.state());
    return out;
}

} // namespace

void TcpStack::trace_state(TcpSocket* socket)
{
    TcpState state = socket->m_tcb->state();
    if (state == socket->m_traced_state)
        return;
    if (tracing()) {
        TraceTcpConnection record = trace_tuple(*socket->m_tcb);
        record.old_state = static_cast<u8>(socket->m_traced_state);
        m_kernel.trace().tcp_state(record);
    }
    socket->m_traced_state = state;
}

void TcpStack::trace_stats(TimeNs now)
{
    if (!tracing()) {
        m_stats_at = deadline_none;
        return;
    }
    if (m_stats_at == deadline_none || m_stats_at > now)
        return;
    for (usize i = 0; i < m_config.sockets_max; i++) {
        TcpSocket* socket = m_sockets[i];
        if (socket->m_owner == TcpSocket::Owner::free)
            continue;
        TcpStats stats = socket->m_tcb->stats();
        TraceTcpConnection record = trace_tuple(*socket->m_tcb);
        record.srtt_ns = stats.srtt_ns;
        record.rttvar_ns = stats.rttvar_ns;
        record.rto_ns = stats.rto_ns;
        record.cwnd = stats.cwnd;
        record.ssthresh = stats.ssthresh;
        record.snd_wnd = stats.snd_wnd;
        record.retransmits = stats.retransmits;
        record.bytes_in = stats.bytes_in;
        record.bytes_out = stats.bytes_out;
        m_kernel.trace().tcp_stats(record);
    }
    m_stats_at = now + m_config.stats_interval_ns;
}

void TcpStack::settle(TcpSocket* socket, TimeNs now)
{
    trace_state(socket);
    if (m_stats_at == deadline_none && tracing())
        m_stats_at = now + m_config.stats_interval_ns;
    socket->wake();
    if (socket->m_owner == TcpSocket::Owner::stack) {
        // Closed by the app: data arriving now can never be read (RFC 2525 2.17).
        if (socket->m_tcb->recv_available() > 0)
            socket->m_tcb->abort(now);
        trace_state(socket);
        if (socket->m_tcb->state() == TcpState::closed)
            release(socket);
    }
}

void TcpStack::input(Ipv4Address source, Ipv4Address destination, Bytes segment, TimeNs now)
{
    trace_stats(now); // arriving segments are the other moment the stack runs anyway
    auto checked = TcpPacket::check(segment, source, destination);
    if (!checked.ok() || destination != m_address) {
        m_bad_segments++;
        return;
    }
    TcpRepr repr = TcpRepr::parse(checked.value());
    Bytes payload = checked.value().payload();
    TcpEndpoint local{destination, repr.destination_port};
    TcpEndpoint remote{source, repr.source_port};
    if (TcpSocket* socket = find_socket(local, remote)) {
        socket->m_tcb->input(source, repr, payload, now);
        after(socket, now);
        return;
    }
    TcpListener* listener = find_listener(local.port);
    if (listener && repr.has(TcpFlags::rst)) {
        listener->on_rst(source, repr, now); // for a pending connection, if any
        rearm();
        return;
    }
    // RFC 9293 3.10.7.2: in LISTEN a segment with neither SYN nor ACK (a bare
    // FIN, data) is dropped; only ACK-bearing segments are answered with RST.
    if (listener && !repr.has(TcpFlags::syn) && !repr.has(TcpFlags::ack))
        return;
    if (listener && !repr.has(TcpFlags::rst)) {
        if (repr.has(TcpFlags::syn) && !repr.has(TcpFlags::ack)) {
            listener->on_syn(source, repr, now);
            rearm();
            return;
        }
        if (repr.has(TcpFlags::ack) && !repr.has(TcpFlags::syn) &&
            listener->on_ack(source, repr, payload, now)) {
            rearm();
            return;
        }
    }
    send_reset(source, repr, payload.size()); // RFC 9293 3.10.7.1
}

void TcpStack::icmp_error(TcpEndpoint local, TcpEndpoint remote, SeqNumber seq, u8 type,
                          u8 code, u16 mtu, TimeNs now)
{
    std::optional<TcpIcmpKind> kind = tcp_icmp_kind(type, code);
    if (!kind || local.address != m_address)
        return;
    // A SYN-ACK from a listener's SYN cache has no connection to tell; its
    // retransmissions run out on their own (synack_retries_max).
    TcpSocket* socket = find_socket(local, remote);
    if (!socket)
        return;
    m_icmp_errors++;
    socket->m_tcb->icmp_error(*kind, seq, mtu, now);
    after(socket, now);
}

void TcpStack::tcp_transmit(TcpEndpoint local, TcpEndpoint remote, const TcpRepr& repr,
                            RingSlices payload)
{
    usize header = repr.header_len();
    usize length = header + payload.size();
    GANTRY_ASSERT(length <= m_scratch_bytes);
    MutableBytes frame(m_scratch, length);
    copy_bytes(frame.subspan(header), payload.first);
    copy_bytes(frame.subspan(header + payload.first.size()), payload.second);
    if (!m_offloads.checksum) {
        GANTRY_ASSERT(repr.tso_segment_payload == 0);
        repr.emit(frame, local.address, remote.address, frame.subspan(header));
        (void)m_ip.tcp_send_ip(local.address, remote.address, frame);
        return;
    }
    // The NIC sums the payload: the checksum field carries the pseudo-header
    // sum (virtio 1.2 5.1.6.2, NEEDS_CSUM), over the whole segment's length
    // even when the NIC cuts it up (it corrects each piece's length).
    repr.emit_header(frame.first(header), local.address, remote.address, payload.size(), 0);
    u32 pseudo = pseudo_header_sum(local.address, remote.address,
                                   static_cast<u8>(IpProtocol::tcp), static_cast<u16>(length));
    store_be16(frame, 16, static_cast<u16>(~checksum_finish(pseudo)));
    TcpIpOutput::SegmentOffload offload{true, repr.tso_segment_payload};
    (void)m_ip.tcp_send_ip_offloaded(local.address, remote.address, frame, offload);
}

void TcpStack::send_reset(Ipv4Address destination, const TcpRepr& to, usize payload_len)
{
    auto reset = TcpConnection::reset_for(to, payload_len);
    if (!reset)
        return;
    m_resets_sent++;
    tcp_transmit(TcpEndpoint{m_address, reset->source_port},
                 TcpEndpoint{destination, reset->destination_port}, *reset, {});
}

Result<TcpListener*, TcpError> TcpStack::listen(u16 port, usize backlog,
                                               const TcpSocketOptions& options)
{
    if (port == 0 || find_listener(port))
        return fail(TcpError::address_in_use);
    for (usize i = 0; i < m_config.listeners_max; i++) {
        if (!m_listeners[i]->m_open) {
            m_listeners[i]->open(port, backlog, config_for(options));
            return m_listeners[i];
        }
    }
    return fail(TcpError::no_socket);
}

Result<TcpSocket*, TcpError> TcpStack::connect(Ipv4Address address, u16 port, TimeNs deadline,
                                               const TcpSocketOptions& options)
{
    TcpSocket* socket = GANTRY_TRY(connect_start(address, port, options));
    auto connected = socket->wait_connected(deadline);
    if (!connected.ok()) {
        socket->close(); // CLOSED already: the stack reclaims it
        return fail(connected.error());
    }
    return socket;
}

Result<TcpSocket*, TcpError> TcpStack::connect_start(Ipv4Address address, u16 port,
                                                     const TcpSocketOptions& options)
{
    u16 local_port = 0;
    constexpr usize range = 65536 - ephemeral_port_first;
    for (usize tries = 0; tries < range && local_port == 0; tries++) {
        u16 candidate = m_next_ephemeral;
        m_next_ephemeral = m_next_ephemeral == 65535 ? ephemeral_port_first
                                                     : static_cast<u16>(m_next_ephemeral + 1);
        if (!port_in_use(candidate))
            local_port = candidate;
    }
    if (local_port == 0)
        return fail(TcpError::address_in_use);
    TcpSocket* socket = GANTRY_TRY(new_socket(config_for(options)));
    TimeNs now = m_kernel.now();
    (void)socket->m_tcb->connect(TcpEndpoint{m_address, local_port}, TcpEndpoint{address, port},
                                 now);
    after(socket, now);
    return socket;
}

void TcpStack::rearm()
{
    TimeNs next = deadline_none;
    // Runs after every segment: stop at the last live socket rather than
    // visiting every slot (the slots were 11% of a bulk transfer's instructions).
    usize seen = 0;
    for (usize i = 0; i < m_config.sockets_max && seen < m_sockets_live; i++) {
        TcpSocket* socket = m_sockets[i];
        if (socket->m_owner == TcpSocket::Owner::free)
            continue;
        seen++;
        TimeNs at = socket->m_tcb->next_deadline();
        next = at < next ? at : next;
    }
    for (usize i = 0; i < m_config.listeners_max; i++) {
        if (!m_listeners[i]->m_open)
            continue;
        TimeNs at = m_listeners[i]->next_deadline();
        next = at < next ? at : next;
    }
    // Statistics are sampled when the stack runs anyway, never by a wake-up of
    // their own: tracing must not change when a kernel runs (a traced and an
    // untraced simulation of one seed are the same run).
    if (next == deadline_none)
        m_kernel.timers().cancel(m_timer);
    else if (!m_timer.armed() || m_timer.deadline() != next)
        m_kernel.timers().arm_reserved(m_timer, next);
}

void TcpStack::on_timer(Timer&, void* context) { static_cast<TcpStack*>(context)->poll(0); }

void TcpStack::poll(TimeNs)
{
    TimeNs now = m_kernel.now();
    // Before the timers: a connection whose TIME-WAIT ends now gets its last sample.
    trace_stats(now);
    for (usize i = 0; i < m_config.sockets_max; i++) {
        TcpSocket* socket = m_sockets[i];
        if (socket->m_owner == TcpSocket::Owner::free ||
            socket->m_tcb->next_deadline() > now)
            continue;
        socket->m_tcb->poll(now);
        settle(socket, now);
    }
    for (usize i = 0; i < m_config.listeners_max; i++)
        if (m_listeners[i]->m_open)
            m_listeners[i]->poll(now);
    rearm();
}

// --- TcpListener ------------------------------------------------------------------

TcpListener::TcpListener(TcpStack& stack, Scheduler& scheduler)
    : m_stack(stack), m_acceptable(scheduler)
{
}

void TcpListener::open(u16 port, usize backlog, const TcpConfig& config)
{
    GANTRY_ASSERT(!m_open);
    m_config = config;
    m_port = port;
    m_backlog = backlog == 0 || backlog > accept_backlog_max ? accept_backlog_max : backlog;
    m_open = true;
    m_accept_head = m_accept_count = 0;
    // The slot's earlier listener keeps counting in the stack's totals.
    m_stack.m_released.syn_cookies_sent += m_cookies_sent;
    m_stack.m_released.syn_cookies_accepted += m_cookies_accepted;
    m_stack.m_released.accept_overflows += m_accept_overflows;
    m_cookies_sent = m_cookies_accepted = m_accept_overflows = 0;
    for (auto& entry : m_syns)
        entry = SynEntry{};
    m_syn_earliest = deadline_none;
}

Result<TcpSocket*, TcpError> TcpListener::accept(TimeNs deadline)
{
    for (;;) {
        if (!m_open)
            return fail(TcpError::closed);
        if (m_accept_count > 0) {
            TcpSocket* socket = m_accept[m_accept_head];
            m_accept_head = (m_accept_head + 1) % accept_backlog_max;
            m_accept_count--;
            return socket;
        }
        if (m_acceptable.wait_until(deadline) == WaitResult::timed_out && m_accept_count == 0)
            return fail(m_open ? TcpError::timed_out : TcpError::closed);
    }
}

void TcpListener::close()
{
    if (!m_open)
        return;
    m_open = false;
    TimeNs now = m_stack.m_kernel.now();
    while (m_accept_count > 0) {
        TcpSocket* socket = m_accept[m_accept_head];
        m_accept_head = (m_accept_head + 1) % accept_backlog_max;
        m_accept_count--;
        socket->abort();
    }
    for (auto& entry : m_syns)
        entry = SynEntry{};
    m_syn_earliest = deadline_none;
    m_acceptable.notify_all();
    (void)now;
    m_stack.rearm();
}

// After an entry is added, removed or rescheduled. TcpStack::rearm asks for the
// deadline after every segment a listener handles (each SYN of a flood) and on
// every timer expiry; walking every listener's whole SYN cache there was 2.2%
// of scenarios/syn-flood.yaml's instructions (seed 1, callgrind).
void TcpListener::refresh_syn_earliest()
{
    TimeNs next = deadline_none;
    for (const auto& entry : m_syns)
        if (entry.used && entry.next_at < next)
            next = entry.next_at;
    m_syn_earliest = next;
}

TcpListener::SynEntry* TcpListener::find_entry(Ipv4Address source, u16 port)
{
    for (auto& entry : m_syns)
        if (entry.used && entry.source == source && entry.syn.source_port == port)
            return &entry;
    return nullptr;
}

void TcpListener::send_syn_ack(const SynEntry& entry, TimeNs now)
{
    TcpEndpoint local{m_stack.m_address, m_port};
    TcpEndpoint remote{entry.source, entry.syn.source_port};
    u32 ts_value = static_cast<u32>(now / ns_per_ms) +
                   m_stack.m_secret.timestamp_offset(local, remote);
    TcpRepr repr = TcpConnection::syn_ack_for(m_config, entry.syn, entry.iss, ts_value);
    m_stack.tcp_transmit(local, remote, repr, {});
}

// RFC 9293 3.10.7.4 (SYN-RECEIVED, second check) as RFC 5961 3.2 changes it,
// for connections still in the SYN cache: a RST exactly at RCV.NXT ends the
// pending connection (the listener goes on listening), one elsewhere in the
// window the SYN-ACK offered gets a challenge ACK, any other is ignored.
void TcpListener::on_rst(Ipv4Address source, const TcpRepr& rst, TimeNs now)
{
    SynEntry* entry = find_entry(source, rst.source_port);
    if (!entry)
        return;
    SeqNumber rcv_nxt = entry->syn.seq + 1;
    if (rst.seq == rcv_nxt) {
        *entry = SynEntry{};
        refresh_syn_earliest();
        return;
    }
    TcpEndpoint local{m_stack.m_address, m_port};
    TcpEndpoint remote{entry->source, entry->syn.source_port};
    u32 ts_value = static_cast<u32>(now / ns_per_ms) +
                   m_stack.m_secret.timestamp_offset(local, remote);
    TcpRepr ack = TcpConnection::syn_ack_for(m_config, entry->syn, entry->iss, ts_value);
    if (!(rst.seq > rcv_nxt && rst.seq < rcv_nxt + ack.window))
        return;
    ack.flags = TcpFlags::ack;
    ack.seq = entry->iss + 1;
    ack.mss.reset();
    ack.sack_permitted = SackPermitted::no;
    if (ack.window_scale) // windows after the SYN-ACK are scaled (RFC 7323 2.2)
        ack.window = static_cast<u16>(ack.window >> *ack.window_scale);
    ack.window_scale.reset();
    m_stack.tcp_transmit(local, remote, ack, {});
}

// RFC 4987 3.3 (SYN cache) and 3.6 (SYN cookies when it is full).
void TcpListener::on_syn(Ipv4Address source, const TcpRepr& syn, TimeNs now)
{
    if (SynEntry* entry = find_entry(source, syn.source_port)) {
        send_syn_ack(*entry, now); // a retransmitted SYN
        return;
    }
    if (m_accept_count >= m_backlog) {
        m_accept_overflows++; // nobody accepts: let the peer retry later
        return;
    }
    TcpEndpoint local{m_stack.m_address, m_port};
    TcpEndpoint remote{source, syn.source_port};
    for (auto& entry : m_syns) {
        if (entry.used)
            continue;
        entry = SynEntry{syn, source, m_stack.m_secret.isn(local, remote, now),
                         now + ns_per_s, 0, true};
        m_syn_earliest = entry.next_at < m_syn_earliest ? entry.next_at : m_syn_earliest;
        send_syn_ack(entry, now);
        return;
    }
    // Full: a SYN cookie. Only the MSS survives (encoded in the ISS).
    SynEntry stateless{};
    stateless.syn.source_port = syn.source_port;
    stateless.syn.destination_port = syn.destination_port;
    stateless.syn.seq = syn.seq;
    stateless.syn.mss = cookie_mss[0];
    for (u16 mss : cookie_mss)
        if (syn.mss && mss <= *syn.mss)
            stateless.syn.mss = mss;
    stateless.source = source;
    stateless.iss = cookie(source, stateless.syn, now);
    m_cookies_sent++;
    send_syn_ack(stateless, now);
}

SeqNumber TcpListener::cookie(Ipv4Address source, const TcpRepr& syn, TimeNs now) const
{
    u32 index = 0;
    for (u32 i = 0; i < 4; i++)
        if (syn.mss && cookie_mss[i] == *syn.mss)
            index = i;
    u32 clock = cookie_clock(now);
    TcpEndpoint local{m_stack.m_address, m_port};
    TcpEndpoint remote{source, syn.source_port};
    u32 mac = static_cast<u32>(
        m_stack.m_secret.hash(local, remote, syn.seq.value() ^ (clock * 0x9e3779b9u)));
    return SeqNumber(((clock & 0x1f) << 27) | (index << 25) | (mac & 0x1ffffff));
}

std::optional<u16> TcpListener::check_cookie(Ipv4Address source, const TcpRepr& ack,
                                             TimeNs now) const
{
    u32 value = (ack.ack - 1).value();
    u32 clock_now = cookie_clock(now);
    u32 age = (clock_now - (value >> 27)) & 0x1f;
    if (age > 1)
        return std::nullopt; // older than one to two periods
    TcpRepr syn;
    syn.source_port = ack.source_port;
    syn.seq = ack.seq - 1;
    syn.mss = cookie_mss[(value >> 25) & 3];
    if (cookie(source, syn, (clock_now - age) * cookie_period_ns) != SeqNumber(value))
        return std::nullopt;
    return syn.mss;
}

bool TcpListener::on_ack(Ipv4Address source, const TcpRepr& ack, Bytes payload, TimeNs now)
{
    if (SynEntry* entry = find_entry(source, ack.source_port)) {
        if (ack.ack != entry->iss + 1)
            return false; // RFC 9293 3.10.7.4: RST for an unacceptable ACK
        if (m_accept_count >= m_backlog) {
            m_accept_overflows++;
            return true; // the peer's next segment or our SYN-ACK retry comes back
        }
        TcpRepr syn = entry->syn;
        SeqNumber iss = entry->iss;
        entry->used = false;
        refresh_syn_earliest();
        return establish(source, syn, iss, ack, payload, now);
    }
    auto mss = check_cookie(source, ack, now);
    if (!mss)
        return false;
    if (m_accept_count >= m_backlog) {
        m_accept_overflows++;
        return true;
    }
    TcpRepr syn;
    syn.source_port = ack.source_port;
    syn.destination_port = ack.destination_port;
    syn.seq = ack.seq - 1;
    syn.window = ack.window;
    syn.mss = *mss;
    m_cookies_accepted++;
    return establish(source, syn, ack.ack - 1, ack, payload, now);
}

bool TcpListener::establish(Ipv4Address source, const TcpRepr& syn, SeqNumber iss,
                            const TcpRepr& ack, Bytes payload, TimeNs now)
{
    auto created = m_stack.new_socket(m_config);
    if (!created.ok())
        return true; // out of sockets or memory: dropped, the peer retries
    TcpSocket* socket = created.value();
    TcpConnection& tcb = *socket->m_tcb;
    TcpEndpoint local{m_stack.m_address, m_port};
    (void)tcb.restore_syn_received(local, TcpEndpoint{source, syn.source_port}, syn, iss);
    tcb.input(source, ack, payload, now);
    if (tcb.state() != TcpState::established && tcb.state() != TcpState::close_wait) {
        m_stack.release(socket);
        return true;
    }
    m_accept[(m_accept_head + m_accept_count) % accept_backlog_max] = socket;
    m_accept_count++;
    m_acceptable.notify_one();
    m_stack.after(socket, now);
    return true;
}

TimeNs TcpListener::poll(TimeNs now)
{
    if (now < m_syn_earliest)
        return m_syn_earliest; // nothing is due, or the cache is empty: no walk
    TimeNs next = deadline_none;
    for (auto& entry : m_syns) {
        if (!entry.used)
            continue;
        if (entry.next_at <= now) {
            if (entry.retries >= synack_retries_max) {
                entry.used = false; // RFC 4987 3.3: the cache entry times out
                continue;
            }
            entry.retries++;
            send_syn_ack(entry, now);
            entry.next_at = now + (ns_per_s << entry.retries);
        }
        next = entry.next_at < next ? entry.next_at : next;
    }
    m_syn_earliest = next;
    return next;
}

} // namespace gantry::net
