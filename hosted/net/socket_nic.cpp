#include "socket_nic.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <netinet/in.h>
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

std::string errno_text(const std::string& what)
{
    return what + ": " + std::strerror(errno);
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
        if ((key == "udp" || key == "localaddr" || key == "mcast") &&
            !parse_host_port(value, check))
            return "--net socket: " + std::string(key) + "='" + value +
                   "' is not HOST:PORT (e.g. 127.0.0.1:10001)";
        if (key == "udp")
            out.udp = value;
        else if (key == "localaddr")
            out.localaddr = value;
        else if (key == "mcast")
            out.mcast = value;
        else if (key != "id")
            return "--net socket: '" + std::string(item) +
                   "' is not supported (use udp=HOST:PORT,localaddr=HOST:PORT or "
                   "mcast=GROUP:PORT; listen=/connect= streams are not implemented yet)";
    }
    bool unicast = !out.udp.empty() && !out.localaddr.empty();
    if (unicast == !out.mcast.empty())
        return "--net socket needs either udp=HOST:PORT,localaddr=HOST:PORT or mcast=GROUP:PORT";
    return {};
}

SocketNic::~SocketNic()
{
    if (m_fd >= 0)
        close(m_fd);
}

std::string SocketNic::open(const SocketNicConfig& config, net::MacAddress mac)
{
    m_mac = mac;
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
    return {};
}

usize SocketNic::receive(MutableBytes out)
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
    m_pcap.write(frame);
    ssize_t sent = sendto(m_fd, frame.data(), frame.size(), 0,
                          reinterpret_cast<const sockaddr*>(m_remote), sizeof(sockaddr_in));
    return sent == static_cast<ssize_t>(frame.size());
}

} // namespace gantry::hosted
