// DHCP client, RFC 2131: INIT -> SELECTING -> REQUESTING -> BOUND -> RENEWING
// -> REBINDING (section 4.4, figure 5), with retransmission backoff (4.1),
// T1/T2 defaults (4.4.5) and lease expiry. Runs as a fiber of the kernel that
// blocks on its UDP socket (port 68), so the code reads as the state diagram.
#pragma once

#include <gantry/net/address.hpp>
#include <gantry/net/stack/stack.hpp>
#include <gantry/net/wire/dhcp.hpp>
#include <gantry/sched.hpp>

namespace gantry::net {

enum class DhcpState : u8 { init, selecting, requesting, bound, renewing, rebinding, stopped };
const char* dhcp_state_name(DhcpState state);

struct DhcpLease {
    Ipv4Cidr address;
    Ipv4Address gateway;
    Ipv4Address server;
    TimeNs obtained = 0;
    TimeNs t1 = 0;      // absolute: renew from here (unicast to the server)
    TimeNs t2 = 0;      // absolute: rebind from here (broadcast)
    TimeNs expires = 0; // absolute: the address is gone
    Ipv4Address dns_servers[DhcpRepr::dns_servers_max];
    usize dns_server_count = 0;
};

class DhcpClient {
public:
    // RFC 2131 4.1: start at 4 s, double to 64 s, each randomised by +-1 s.
    static constexpr TimeNs retransmit_first_ns = 4 * ns_per_s;
    static constexpr TimeNs retransmit_max_ns = 64 * ns_per_s;
    static constexpr u32 requests_max = 4;  // REQUESTING tries before INIT again
    static constexpr TimeNs renew_retry_min_ns = 60 * ns_per_s; // RFC 2131 4.4.5

    DhcpClient(Kernel& kernel, NetStack& stack);
    DhcpClient(const DhcpClient&) = delete;

    // The fiber body; returns when stop() is called.
    void run();
    void stop();
    // Blocks the calling fiber until bound (true) or the deadline (false).
    bool wait_bound(TimeNs deadline);

    DhcpState state() const { return m_state; }
    const DhcpLease& lease() const { return m_lease; }
    u64 leases_obtained() const { return m_leases; }
    u64 renewals() const { return m_renewals; }

private:
    enum class Reply : u8 { offer, ack, nak, timed_out };
    void select(); // INIT + SELECTING
    bool request(); // REQUESTING; true when bound
    void hold_lease(); // BOUND, RENEWING, REBINDING until the lease ends
    Status<UdpError> send(DhcpMessageType type, Ipv4Address destination, Ipv4Address client_ip,
                          std::optional<Ipv4Address> requested, std::optional<Ipv4Address> server);
    Reply receive(TimeNs deadline, DhcpRepr& out);
    void apply(const DhcpRepr& ack, std::string_view what);
    TimeNs backoff(u32 attempt);
    void set_state(DhcpState state);

    Kernel& m_kernel;
    NetStack& m_stack;
    UdpSocket* m_socket = nullptr;
    Event m_changed;
    DhcpState m_state = DhcpState::init;
    DhcpLease m_lease;
    DhcpRepr m_offer;
    u32 m_xid = 0;
    u64 m_leases = 0;
    u64 m_renewals = 0;
    u8 m_buffer[576];
};

} // namespace gantry::net
