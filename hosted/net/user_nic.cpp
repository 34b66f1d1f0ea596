#include "user_nic.hpp"

#include <gantry/hosted/os.hpp>

#include <arpa/inet.h>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <poll.h>
#include <slirp/libslirp.h>

namespace gantry::hosted {

namespace {

bool parse_port(std::string_view text, u16& out)
{
    unsigned value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535)
        return false;
    out = static_cast<u16>(value);
    return true;
}

in_addr to_in_addr(net::Ipv4Address address)
{
    in_addr out{};
    out.s_addr = htonl(address.to_u32());
    return out;
}

} // namespace

std::string parse_hostfwd(std::string_view text, HostForward& out)
{
    std::string bad = "hostfwd: '" + std::string(text) +
                      "' is not like tcp:127.0.0.1:8080-:80 or udp::5555-:7";
    auto colon = text.find(':');
    if (colon == std::string_view::npos)
        return bad;
    std::string_view protocol = text.substr(0, colon);
    if (protocol != "tcp" && protocol != "udp" && !protocol.empty())
        return bad;
    out.udp = protocol == "udp";
    std::string_view rest = text.substr(colon + 1);
    auto dash = rest.find('-');
    if (dash == std::string_view::npos)
        return bad;
    std::string_view host = rest.substr(0, dash);
    std::string_view guest = rest.substr(dash + 1);
    auto host_colon = host.rfind(':');
    auto guest_colon = guest.rfind(':');
    if (host_colon == std::string_view::npos || guest_colon == std::string_view::npos)
        return bad;
    out.host_address = host.substr(0, host_colon);
    out.guest_address = guest.substr(0, guest_colon);
    if (!parse_port(host.substr(host_colon + 1), out.host_port) ||
        !parse_port(guest.substr(guest_colon + 1), out.guest_port))
        return bad;
    return {};
}

UserNic::~UserNic()
{
    if (m_slirp)
        slirp_cleanup(m_slirp);
    for (SlirpTimer* timer : m_timers)
        delete timer;
}

std::string UserNic::open(net::MacAddress mac, net::Ipv4Address guest,
                          const std::vector<HostForward>& forwards)
{
    m_mac = mac;
    SlirpConfig config{};
    config.version = 4;
    config.in_enabled = true;
    inet_pton(AF_INET, "10.0.2.0", &config.vnetwork);
    inet_pton(AF_INET, "255.255.255.0", &config.vnetmask);
    inet_pton(AF_INET, "10.0.2.2", &config.vhost);
    inet_pton(AF_INET, "10.0.2.15", &config.vdhcp_start);
    inet_pton(AF_INET, "10.0.2.3", &config.vnameserver);
    config.vhostname = "gantry";
    config.if_mtu = 1500;
    config.if_mru = 1500;
    // Libslirp keeps the pointer, so the callbacks live in static storage (this
    // is the hosted platform, not the core).
    static const SlirpCb callbacks = [] {
        SlirpCb cb{};
        cb.send_packet = send_packet;
        cb.guest_error = guest_error;
        cb.clock_get_ns = clock_get_ns;
        cb.timer_free = timer_free;
        cb.timer_mod = timer_mod;
        cb.register_poll_fd = register_poll_fd;
        cb.unregister_poll_fd = unregister_poll_fd;
        cb.notify = notify;
        cb.timer_new_opaque = [](SlirpTimerId id, void* cb_opaque, void* opaque) {
            return timer_new_opaque(static_cast<int>(id), cb_opaque, opaque);
        };
        return cb;
    }();
    m_slirp = slirp_new(&config, &callbacks, this);
    if (!m_slirp)
        return "cannot start user-mode networking (libslirp)";
    for (const HostForward& forward : forwards) {
        in_addr host{};
        in_addr target = to_in_addr(guest);
        std::string host_text = forward.host_address.empty() ? "127.0.0.1" : forward.host_address;
        if (inet_pton(AF_INET, host_text.c_str(), &host) != 1 ||
            (!forward.guest_address.empty() &&
             inet_pton(AF_INET, forward.guest_address.c_str(), &target) != 1))
            return "hostfwd: bad address in " + host_text + " / " + forward.guest_address;
        if (slirp_add_hostfwd(m_slirp, forward.udp ? 1 : 0, host, forward.host_port, target,
                              forward.guest_port) < 0)
            return "hostfwd: cannot listen on " + host_text + ":" +
                   std::to_string(forward.host_port) + " (port in use?)";
    }
    return {};
}

usize UserNic::receive(MutableBytes out)
{
    while (!m_rx.empty()) {
        std::vector<u8> frame = std::move(m_rx.front());
        m_rx.pop_front();
        if (frame.size() > out.size())
            continue;
        std::memcpy(out.data(), frame.data(), frame.size());
        return frame.size();
    }
    return 0;
}

bool UserNic::transmit(Bytes frame)
{
    m_pcap.write(frame);
    slirp_input(m_slirp, frame.data(), static_cast<int>(frame.size()));
    return true;
}

ssize_t UserNic::send_packet(const void* buf, size_t len, void* opaque)
{
    auto* nic = static_cast<UserNic*>(opaque);
    auto* bytes = static_cast<const u8*>(buf);
    nic->m_pcap.write(Bytes(bytes, len));
    if (nic->m_rx.size() >= rx_queue_max) {
        nic->m_rx_dropped++;
        return static_cast<ssize_t>(len); // dropped, as a full NIC queue would
    }
    nic->m_rx.emplace_back(bytes, bytes + len);
    return static_cast<ssize_t>(len);
}

void UserNic::guest_error(const char* msg, void*)
{
    std::fprintf(stderr, "user networking: %s\n", msg);
}

int64_t UserNic::clock_get_ns(void*) { return monotonic_ns(); }

void* UserNic::timer_new_opaque(int id, void* cb_opaque, void* opaque)
{
    auto* nic = static_cast<UserNic*>(opaque);
    auto* timer = new SlirpTimer{id, cb_opaque, -1};
    nic->m_timers.push_back(timer);
    return timer;
}

void UserNic::timer_free(void* timer, void* opaque)
{
    auto* nic = static_cast<UserNic*>(opaque);
    auto* t = static_cast<SlirpTimer*>(timer);
    std::erase(nic->m_timers, t);
    delete t;
}

void UserNic::timer_mod(void* timer, int64_t expire_ms, void*)
{
    static_cast<SlirpTimer*>(timer)->expire_ms = expire_ms;
}

void UserNic::register_poll_fd(int, void*) {}
void UserNic::unregister_poll_fd(int, void*) {}
void UserNic::notify(void*) {}

int UserNic::add_poll(int fd, int events, void* opaque)
{
    auto* nic = static_cast<UserNic*>(opaque);
    pollfd entry{};
    entry.fd = fd;
    entry.events = static_cast<short>(((events & SLIRP_POLL_IN) ? POLLIN : 0) |
                                      ((events & SLIRP_POLL_OUT) ? POLLOUT : 0) |
                                      ((events & SLIRP_POLL_PRI) ? POLLPRI : 0));
    nic->m_fill_fds->push_back(entry);
    return static_cast<int>(nic->m_fill_fds->size() - 1);
}

int UserNic::get_revents(int index, void* opaque)
{
    auto* nic = static_cast<UserNic*>(opaque);
    short revents = (*nic->m_poll_fds)[static_cast<usize>(index)].revents;
    return ((revents & POLLIN) ? SLIRP_POLL_IN : 0) | ((revents & POLLOUT) ? SLIRP_POLL_OUT : 0) |
           ((revents & POLLPRI) ? SLIRP_POLL_PRI : 0) | ((revents & POLLERR) ? SLIRP_POLL_ERR : 0) |
           ((revents & POLLHUP) ? SLIRP_POLL_HUP : 0);
}

void UserNic::fill(std::vector<pollfd>& fds, int& timeout_ms)
{
    uint32_t timeout = timeout_ms < 0 ? UINT32_MAX : static_cast<uint32_t>(timeout_ms);
    m_fill_fds = &fds;
    slirp_pollfds_fill(m_slirp, &timeout, add_poll, this);
    m_fill_fds = nullptr;
    long long now_ms = monotonic_ns() / 1'000'000;
    for (const SlirpTimer* timer : m_timers) {
        if (timer->expire_ms < 0)
            continue;
        long long wait = timer->expire_ms > now_ms ? timer->expire_ms - now_ms : 0;
        if (wait < timeout)
            timeout = static_cast<uint32_t>(wait);
    }
    timeout_ms = timeout == UINT32_MAX ? -1 : static_cast<int>(timeout);
}

void UserNic::dispatch(const std::vector<pollfd>& fds, bool poll_failed)
{    m_poll_fds = &fds;
    slirp_pollfds_poll(m_slirp, poll_failed ? 1 : 0, get_revents, this);
    m_poll_fds = nullptr;
    run_timers();
}

void UserNic::run_timers()
{
    long long now_ms = monotonic_ns() / 1'000'000;
    for (usize i = 0; i < m_timers.size(); ++i) {
        SlirpTimer* timer = m_timers[i];
        if (timer->expire_ms < 0 || timer->expire_ms > now_ms)
            continue;
        timer->expire_ms = -1;
        slirp_handle_timer(m_slirp, static_cast<SlirpTimerId>(timer->id), timer->cb_opaque);
    }
}

} // namespace gantry::hosted
