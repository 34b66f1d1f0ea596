// The hosted NIC for user-mode networking (--net user[,hostfwd=...]): libslirp,
// the library behind QEMU's user networking, plays router, DHCP and DNS server
// at 10.0.2.2/.3 and NATs the unikernel's traffic through ordinary host sockets,
// so nothing needs privileges. Port forwards (hostfwd) bring host ports in.
#pragma once

#include <gantry/nic.hpp>

#include "tap_nic.hpp"

#include <deque>
#include <string>
#include <vector>

struct Slirp;
struct pollfd;

namespace gantry::hosted {

struct HostForward {
    bool udp = false;
    std::string host_address; // empty: 127.0.0.1
    u16 host_port = 0;
    std::string guest_address; // empty: the unikernel's address
    u16 guest_port = 0;
};

// "tcp:127.0.0.1:8080-:80" (QEMU's hostfwd syntax); empty string on success.
std::string parse_hostfwd(std::string_view text, HostForward& out);

class UserNic final : public Nic {
public:
    // Frames slirp has for the unikernel, waiting for the next poll.
    static constexpr usize rx_queue_max = 512;

    UserNic() = default;
    UserNic(const UserNic&) = delete;
    ~UserNic() override;

    std::string open(net::MacAddress mac, net::Ipv4Address guest,
                     const std::vector<HostForward>& forwards);
    PcapWriter& pcap() { return m_pcap; }

    net::MacAddress mac() const override { return m_mac; }
    usize receive(MutableBytes out) override;
    bool transmit(Bytes frame) override;

    bool has_rx() const { return !m_rx.empty(); }
    // The idle loop's part: the sockets slirp wants watched and its timeout.
    // fill() appends to `fds` and lowers `timeout_ms`; after poll(), dispatch()
    // hands the results back to slirp and runs its timers.
    void fill(std::vector<pollfd>& fds, int& timeout_ms);
    void dispatch(const std::vector<pollfd>& fds, bool poll_failed);

private:
    struct SlirpTimer {
        int id;
        void* cb_opaque;
        long long expire_ms; // -1: not armed
    };
    static ssize_t send_packet(const void* buf, size_t len, void* opaque);
    static void guest_error(const char* msg, void* opaque);
    static int64_t clock_get_ns(void* opaque);
    static void* timer_new_opaque(int id, void* cb_opaque, void* opaque);
    static void timer_free(void* timer, void* opaque);
    static void timer_mod(void* timer, int64_t expire_ms, void* opaque);
    static void register_poll_fd(int fd, void* opaque);
    static void unregister_poll_fd(int fd, void* opaque);
    static void notify(void* opaque);
    static int add_poll(int fd, int events, void* opaque);
    static int get_revents(int index, void* opaque);
    void run_timers();

    Slirp* m_slirp = nullptr;
    net::MacAddress m_mac;
    std::deque<std::vector<u8>> m_rx;
    std::vector<SlirpTimer*> m_timers;
    std::vector<pollfd>* m_fill_fds = nullptr;
    const std::vector<pollfd>* m_poll_fds = nullptr;
    PcapWriter m_pcap;
    u64 m_rx_dropped = 0;
};

} // namespace gantry::hosted
