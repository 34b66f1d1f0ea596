// UDP, RFC 768; checksums per RFC 1122 section 4.1.3.4 (always computed on send,
// zero sent as 0xffff); port unreachable per RFC 1122 section 4.1.3.1.
#include <gantry/kernel.hpp>
#include <gantry/net/endian.hpp>
#include <gantry/net/stack/stack.hpp>
#include <gantry/net/wire/checksum.hpp>
#include <gantry/net/wire/udp.hpp>

namespace gantry::net {

const char* udp_error_name(UdpError error)
{
    switch (error) {
    case UdpError::timed_out: return "timed out";
    case UdpError::closed: return "socket closed";
    case UdpError::too_big: return "datagram too big";
    case UdpError::no_route: return "no route to host";
    case UdpError::no_buffer: return "no buffer (try again)";
    case UdpError::address_in_use: return "port in use";
    case UdpError::no_socket: return "no free socket";
    }
    return "unknown";
}

UdpSocket::UdpSocket(NetStack& stack, Scheduler& scheduler)
    : m_stack(stack), m_readable(scheduler)
{
}

UdpSocket::~UdpSocket()
{
    GANTRY_ASSERT(m_count == 0);
}

void UdpSocket::open(u16 port)
{
    GANTRY_ASSERT(m_closed);
    GANTRY_ASSERT(m_count == 0);
    m_port = port;
    m_closed = false;
    m_drops_queue_full = 0;
}

void UdpSocket::discard_queue()
{
    while (m_count > 0) {
        m_stack.free_buffer(m_queue[m_head].buffer);
        m_queue[m_head] = Queued{};
        m_head = (m_head + 1) % queue_max;
        m_count--;
    }
}

void UdpSocket::close()
{
    if (m_closed)
        return;
    m_closed = true;
    discard_queue();
    m_readable.notify_all();
}

bool UdpSocket::enqueue(PacketBuffer* buffer, Ipv4Address source, u16 source_port)
{
    GANTRY_ASSERT(!m_closed);
    if (m_count == queue_max) {
        m_drops_queue_full++;
        return false;
    }
    m_queue[(m_head + m_count) % queue_max] = Queued{buffer, source, source_port};
    m_count++;
    m_readable.notify_one();
    return true;
}

Status<UdpError> UdpSocket::send_to(Ipv4Address destination, u16 port, Bytes payload)
{
    if (m_closed)
        return fail(UdpError::closed);
    return m_stack.udp_send(m_port, destination, port, payload);
}

Result<UdpMeta, UdpError> UdpSocket::recv_from(MutableBytes out, TimeNs deadline)
{
    // Loops only on wake-ups that found the queue empty (another fiber took the
    // datagram); each round blocks until a notify or the deadline.
    while (m_count == 0) {
        if (m_closed)
            return fail(UdpError::closed);
        if (m_readable.wait_until(deadline) == WaitResult::timed_out && m_count == 0)
            return fail(m_closed ? UdpError::closed : UdpError::timed_out);
    }
    Queued item = m_queue[m_head];
    m_queue[m_head] = Queued{};
    m_head = (m_head + 1) % queue_max;
    m_count--;
    Bytes data = item.buffer->data();
    usize length = data.size() < out.size() ? data.size() : out.size();
    copy_bytes(out.first(length), data.first(length));
    UdpMeta meta{length, data.size(), item.source, item.source_port};
    m_stack.free_buffer(item.buffer);
    return meta;
}

Result<UdpSocket*, UdpError> NetStack::udp_bind(u16 port)
{
    if (port == 0) {
        // Bounded: one pass over the ephemeral range finds a free port or none.
        constexpr usize range = 65536 - ephemeral_port_first;
        for (usize tries = 0; tries < range && port == 0; ++tries) {
            u16 candidate = m_next_ephemeral;
            m_next_ephemeral = m_next_ephemeral == 65535 ? ephemeral_port_first
                                                         : static_cast<u16>(m_next_ephemeral + 1);
            if (!find_socket(candidate))
                port = candidate;
        }
        if (port == 0)
            return fail(UdpError::address_in_use);
    } else if (find_socket(port)) {
        return fail(UdpError::address_in_use);
    }
    for (UdpSocket* socket : m_sockets) {
        if (!socket->is_open()) {
            socket->open(port);
            return socket;
        }
    }
    return fail(UdpError::no_socket);
}

void NetStack::udp_release(UdpSocket* socket) { socket->close(); }

UdpSocket* NetStack::find_socket(u16 port)
{
    for (UdpSocket* socket : m_sockets)
        if (socket && socket->is_open() && socket->port() == port)
            return socket;
    return nullptr;
}

Status<UdpError> NetStack::udp_send(u16 source_port, Ipv4Address destination, u16 port,
                                    Bytes payload)
{
    if (payload.size() > UdpSocket::payload_bytes_max)
        return fail(UdpError::too_big);
    u16 length = static_cast<u16>(UdpPacket::header_len + payload.size());
    u8 header[UdpPacket::header_len];
    MutableBytes header_bytes(header, sizeof(header));
    store_be16(header_bytes, 0, source_port);
    store_be16(header_bytes, 2, port);
    store_be16(header_bytes, 4, length);
    store_be16(header_bytes, 6, 0);
    // Summed in pieces: the payload may leave in several fragments.
    u32 sum = pseudo_header_sum(m_address.address, destination,
                                static_cast<u8>(IpProtocol::udp), length);
    sum = checksum_combine(sum, checksum_partial(header_bytes));
    sum = checksum_combine(sum, checksum_partial(payload));
    u16 checksum = checksum_finish(sum);
    store_be16(header_bytes, 6, checksum == 0 ? 0xffff : checksum);
    auto sent = send_ipv4(destination, IpProtocol::udp, header_bytes, payload, m_kernel.now());
    if (!sent.ok()) {
        switch (sent.error()) {
        case SendError::no_route: return fail(UdpError::no_route);
        case SendError::no_buffer: return fail(UdpError::no_buffer);
        case SendError::too_big: return fail(UdpError::too_big);
        }
    }
    m_counters.udp.tx_packets++;
    m_counters.udp.tx_bytes += length;
    return {};
}

void NetStack::receive_udp(L4Input& input, TimeNs now)
{
    const Ipv4Repr& ip = input.ip;
    auto checked = UdpPacket::check(input.payload, ip.source, ip.destination);
    if (!checked.ok())
        return drop_rx(drop_reason_from(checked.error()));
    const UdpPacket& udp = checked.value();
    m_counters.udp.rx_packets++;
    m_counters.udp.rx_bytes += udp.length();
    UdpSocket* socket = find_socket(udp.destination_port());
    if (!socket) {
        send_icmp_error(input, 3, 3, now); // RFC 1122 4.1.3.1: port unreachable
        return drop_rx(DropReason::port_unreachable);
    }
    Bytes payload = udp.payload();
    PacketBuffer* buffer = input.buffer;
    if (buffer) {
        // Zero copy: the frame's buffer becomes the queued datagram.
        usize front = static_cast<usize>(payload.data() - buffer->data().data());
        buffer->trim_front(front);
        buffer->trim_back(buffer->size() - payload.size());
    } else {
        auto allocated = m_pool.alloc();
        if (!allocated.ok())
            return drop_rx(DropReason::no_buffer);
        buffer = allocated.value();
        if (buffer->tailroom() < payload.size()) {
            m_pool.free(buffer);
            return drop_rx(DropReason::too_big);
        }
        copy_bytes(buffer->append(payload.size()), payload);
    }
    if (!socket->enqueue(buffer, ip.source, udp.source_port())) {
        if (!input.buffer)
            m_pool.free(buffer);
        return drop_rx(DropReason::queue_full);
    }
    input.buffer = nullptr;
}

} // namespace gantry::net
