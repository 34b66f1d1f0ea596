#include "socket_nic.hpp"

#include <gantry/hosted/os.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace gantry::hosted {

namespace {

bool parse_host_port(const std::string& text, sockaddr_in& out)
{
    auto colon = text.rfind(':');
    if (colon == std::string::npos)
        return false;
    std::string host = text.substr(0, colon);
    unsigned port = 0;
    const char* digits = text.data() + colon + 1;
    auto [end, error] = std::from_chars(digits, text.data() + text.size(), port);
    if (error != std::errc() || end != text.data() + text.size() || port == 0 || port > 65535)
        return false;
    out = sockaddr_in{};
    out.sin_family = AF_INET;
    out.sin_port = htons(static_cast<u16>(port));
    if (host.empty())
        host = "0.0.0.0";
    return inet_pton(AF_INET, host.c_str(), &out.sin_addr) == 1;
}


} // namespace

std::string parse_socket_netdev(std::string_view parameters, SocketNicConfig& out)
{
    while (!parameters.empty()) {
        std::string_view item = parameters.substr(0, parameters.find(','));
        parameters = item.size() < parameters.size() ? parameters.substr(item.size() + 1) : "";
        auto equals = item.find('=');
        std::string_view key = item.substr(0, equals);
        std::string value(equals == std::string_view::npos ? "" : item.substr(equals + 1));
        sockaddr_in check{};
        if ((key == "udp" || key == "localaddr" || key == "mcast" || key == "listen" ||
             key == "connect") &&
            !parse_host_port(value, check))
            return "--net socket: " + std::string(key) + "='" + value +
                   "' is not HOST:PORT (e.g. 127.0.0.1:10001)";
        if (key == "udp")
            out.udp = value;
        else if (key == "localaddr")
            out.localaddr = value;
        else if (key == "mcast")
            out.mcast = value;
        else if (key == "listen")
            out.listen = value;
        else if (key == "connect")
            out.connect = value;
        else if (key != "id")
            return "--net socket: '" + std::string(item) +
                   "' is not supported (use udp=HOST:PORT,localaddr=HOST:PORT, "
                   "mcast=GROUP:PORT, listen=[HOST]:PORT or connect=HOST:PORT)";
    }
    int modes = (!out.udp.empty() || !out.localaddr.empty() ? 1 : 0) + (out.mcast.empty() ? 0 : 1) +
                (out.listen.empty() ? 0 : 1) + (out.connect.empty() ? 0 : 1);
    bool unicast_incomplete = out.udp.empty() != out.localaddr.empty();
    if (modes != 1 || unicast_incomplete)
        return "--net socket needs exactly one of udp=HOST:PORT,localaddr=HOST:PORT, "
               "mcast=GROUP:PORT, listen=[HOST]:PORT, connect=HOST:PORT";
    return {};
}

SocketNic::~SocketNic()
{
    for (int fd : {m_fd, m_listen_fd})
        if (fd >= 0)
            close(fd);
}

void SocketNic::watch(int fd, bool on)
{
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    epoll_ctl(m_epoll, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &event);
}

std::string SocketNic::open(const SocketNicConfig& config, net::MacAddress mac, int epoll_fd)
{
    m_mac = mac;
    m_epoll = epoll_fd;
    if (!config.listen.empty() || !config.connect.empty())
        return open_stream(config);
    return open_datagram(config);
}

std::string SocketNic::open_stream(const SocketNicConfig& config)
{
    m_mode = Mode::stream;
    m_stream.resize(stream_buffer_bytes);
    sockaddr_in address{};
    bool server = !config.listen.empty();
    (void)parse_host_port(server ? config.listen : config.connect, address);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno_text("cannot create the NIC's TCP socket");
    if (server) {
        m_listen_fd = fd;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
            listen(fd, 1) != 0)
            return errno_text("--net socket: cannot listen on " + config.listen);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        watch(fd, true);
        return {};
    }
    m_fd = fd;
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
        return errno_text("--net socket: cannot connect to " + config.connect +
                          " (is the other side listening?)");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    watch(fd, true);
    return {};
}

std::string SocketNic::open_datagram(const SocketNicConfig& config)
{
    m_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (m_fd < 0)
        return errno_text("cannot create the NIC's UDP socket");
    sockaddr_in local{};
    sockaddr_in remote{};
    if (config.mcast.empty()) {
        (void)parse_host_port(config.localaddr, local);
        (void)parse_host_port(config.udp, remote);
    } else {
        // QEMU's mcast mode: bind the group's port on any address, join the group
        // and loop our own datagrams back so processes on one host see each other.
        (void)parse_host_port(config.mcast, remote);
        local = remote;
        local.sin_addr.s_addr = htonl(INADDR_ANY);
        int one = 1;
        setsockopt(m_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        setsockopt(m_fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof(one));
        // TTL 0 keeps the LAN on this host (QEMU uses 1, which reaches the
        // physical segment); a hosted LAN should not leak onto a real network.
        int ttl = 0;
        setsockopt(m_fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl));
    }
    if (bind(m_fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0)
        return errno_text("--net socket: cannot bind " +
                          (config.mcast.empty() ? config.localaddr : config.mcast));
    if (!config.mcast.empty()) {
        ip_mreq group{};
        group.imr_multiaddr = remote.sin_addr;
        group.imr_interface.s_addr = htonl(INADDR_LOOPBACK);
        setsockopt(m_fd, IPPROTO_IP, IP_MULTICAST_IF, &group.imr_interface,
                   sizeof(group.imr_interface));
        if (setsockopt(m_fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &group, sizeof(group)) != 0)
            return errno_text("--net socket: cannot join multicast group " + config.mcast);
    }
    static_assert(sizeof(m_remote) >= sizeof(sockaddr_in));
    std::memcpy(m_remote, &remote, sizeof(remote));
    watch(m_fd, true);
    return {};
}

usize SocketNic::receive(MutableBytes out)
{
    return m_mode == Mode::stream ? receive_stream(out) : receive_datagram(out);
}

void SocketNic::drop_connection()
{
    if (m_fd >= 0) {
        watch(m_fd, false);
        close(m_fd);
        m_fd = -1;
    }
    m_stream_len = 0;
    if (m_listen_fd >= 0)
        watch(m_listen_fd, true); // wait for the next peer
}

// QEMU's stream framing: u32 big-endian length, then the frame.
usize SocketNic::receive_stream(MutableBytes out)
{
    if (m_fd < 0 && m_listen_fd >= 0) {
        m_fd = accept4(m_listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (m_fd < 0)
            return 0;
        int one = 1;
        setsockopt(m_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        watch(m_listen_fd, false); // one peer at a time, as QEMU's listen= serves
        watch(m_fd, true);
    }
    // Bounded: each round either returns a frame, reads more bytes or stops.
    for (int round = 0; round < 4 && m_fd >= 0; ++round) {
        if (m_stream_len >= 4) {
            u32 length = (u32{m_stream[0]} << 24) | (u32{m_stream[1]} << 16) |
                         (u32{m_stream[2]} << 8) | m_stream[3];
            if (length > stream_buffer_bytes - 4) {
                drop_connection(); // not QEMU's framing: give up on this peer
                return 0;
            }
            if (m_stream_len >= 4 + length) {
                Bytes frame(m_stream.data() + 4, length);
                m_pcap.write(frame);
                usize copied = 0;
                if (length <= out.size()) {
                    std::memcpy(out.data(), frame.data(), length);
                    copied = length;
                }
                std::memmove(m_stream.data(), m_stream.data() + 4 + length,
                             m_stream_len - 4 - length);
                m_stream_len -= 4 + length;
                if (copied > 0)
                    return copied;
                continue;
            }
        }
        ssize_t got = recv(m_fd, m_stream.data() + m_stream_len, m_stream.size() - m_stream_len, 0);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
            drop_connection();
            return 0;
        }
        if (got < 0)
            return 0;
        m_stream_len += static_cast<usize>(got);
    }
    return 0;
}

bool SocketNic::send_all(const u8* data, usize length)
{
    // Bounded: a stalled peer gets 100 ms per frame, then the frame (and the
    // connection, whose framing is now broken) is dropped.
    for (int tries = 0; length > 0 && tries < 100; ++tries) {
        ssize_t sent = send(m_fd, data, length, MSG_NOSIGNAL);
        if (sent > 0) {
            data += sent;
            length -= static_cast<usize>(sent);
            continue;
        }
        if (sent < 0 && errno != EAGAIN && errno != EINTR)
            break;
        pollfd wait{m_fd, POLLOUT, 0};
        poll(&wait, 1, 1);
    }
    return length == 0;
}

usize SocketNic::receive_datagram(MutableBytes out)
{
    // Bounded: skips at most a batch of datagrams we cannot use.
    for (int attempt = 0; attempt < 32; ++attempt) {
        u8 frame[65536];
        ssize_t got = recv(m_fd, frame, sizeof(frame), 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return 0;
        auto length = static_cast<usize>(got);
        // In mcast mode our own frames come back: a real NIC never receives them.
        if (length >= 12 && std::memcmp(frame + 6, m_mac.octets.data(), 6) == 0)
            continue;
        m_pcap.write(Bytes(frame, length));
        if (length > out.size())
            continue;
        std::memcpy(out.data(), frame, length);
        return length;
    }
    return 0;
}

bool SocketNic::transmit(Bytes frame)
{
    if (m_mode == Mode::stream) {
        if (m_fd < 0)
            return false; // no peer connected: the cable is unplugged
        m_pcap.write(frame);
        u8 header[4] = {static_cast<u8>(frame.size() >> 24), static_cast<u8>(frame.size() >> 16),
                        static_cast<u8>(frame.size() >> 8), static_cast<u8>(frame.size())};
        if (send_all(header, sizeof(header)) && send_all(frame.data(), frame.size()))
            return true;
        drop_connection();
        return false;
    }
    m_pcap.write(frame);
    ssize_t sent = sendto(m_fd, frame.data(), frame.size(), 0,
                          reinterpret_cast<const sockaddr*>(m_remote), sizeof(sockaddr_in));
    return sent == static_cast<ssize_t>(frame.size());
}

} // namespace gantry::hosted
