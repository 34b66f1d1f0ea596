// The hosted NIC on a UDP socket (--net socket,udp=HOST:PORT,localaddr=HOST:PORT
// or --net socket,mcast=GROUP:PORT): QEMU's -netdev socket datagram framing,
// one Ethernet frame per datagram, so hosted unikernels and QEMU guests share a
// virtual LAN without root. With mcast every member sees every frame; the
// group is joined on the loopback interface with TTL 0, so the LAN never
// leaves this host.
#pragma once

#include <gantry/nic.hpp>

#include "tap_nic.hpp"

#include <string>

namespace gantry::hosted {

struct SocketNicConfig {
    std::string udp;       // remote HOST:PORT (unicast mode)
    std::string localaddr; // local HOST:PORT to bind (unicast mode)
    std::string mcast;     // GROUP:PORT (multicast mode)
};

// Parses "socket,udp=...,localaddr=..." parameters (after "socket,").
std::string parse_socket_netdev(std::string_view parameters, SocketNicConfig& out);

class SocketNic final : public Nic {
public:
    SocketNic() = default;
    SocketNic(const SocketNic&) = delete;
    ~SocketNic() override;

    std::string open(const SocketNicConfig& config, net::MacAddress mac);
    int fd() const { return m_fd; }
    PcapWriter& pcap() { return m_pcap; }

    net::MacAddress mac() const override { return m_mac; }
    usize receive(MutableBytes out) override;
    bool transmit(Bytes frame) override;

private:
    int m_fd = -1;
    net::MacAddress m_mac;
    unsigned char m_remote[16] = {}; // sockaddr_in of the peer or group
    PcapWriter m_pcap;
};

} // namespace gantry::hosted
