// The hosted NIC on a socket, QEMU's -netdev socket framings, so hosted
// unikernels and QEMU guests share a virtual LAN without root:
//   udp=HOST:PORT,localaddr=HOST:PORT   one Ethernet frame per UDP datagram
//   mcast=GROUP:PORT                    the same over a multicast group
//   listen=[HOST]:PORT | connect=HOST:PORT
//                                       a TCP stream, each frame preceded by its
//                                       length (4 bytes, big endian), one peer
//                                       at a time With mcast every member sees every frame; the
// group is joined on the loopback interface with TTL 0, so the LAN never
// leaves this host.
#pragma once

#include <gantry/nic.hpp>

#include "tap_nic.hpp"

#include <string>
#include <vector>

namespace gantry::hosted {

struct SocketNicConfig {
    std::string udp;       // remote HOST:PORT (unicast mode)
    std::string localaddr; // local HOST:PORT to bind (unicast mode)
    std::string mcast;     // GROUP:PORT (multicast mode)
    std::string listen;    // [HOST]:PORT (stream, server side)
    std::string connect;   // HOST:PORT (stream, client side)
};

// Parses "socket,udp=...,localaddr=..." parameters (after "socket,").
std::string parse_socket_netdev(std::string_view parameters, SocketNicConfig& out);

class SocketNic final : public Nic {
public:
    SocketNic() = default;
    SocketNic(const SocketNic&) = delete;
    ~SocketNic() override;

    // Registers its descriptors with `epoll_fd` (EPOLLIN, data.fd = the fd).
    std::string open(const SocketNicConfig& config, net::MacAddress mac, int epoll_fd);
    PcapWriter& pcap() { return m_pcap; }

    net::MacAddress mac() const override { return m_mac; }
    usize receive(MutableBytes out) override;
    bool transmit(Bytes frame) override;

private:
    static constexpr usize stream_buffer_bytes = 4 + 65536;

    std::string open_datagram(const SocketNicConfig& config);
    std::string open_stream(const SocketNicConfig& config);
    usize receive_datagram(MutableBytes out);
    usize receive_stream(MutableBytes out);
    bool send_all(const u8* data, usize length);
    void watch(int fd, bool on);
    void drop_connection();

    enum class Mode : u8 { datagram, stream };
    Mode m_mode = Mode::datagram;
    int m_epoll = -1;
    int m_fd = -1;        // the datagram socket or the stream's connection
    int m_listen_fd = -1; // stream server side
    std::vector<u8> m_stream; // bytes received but not yet framed
    usize m_stream_len = 0;
    net::MacAddress m_mac;
    unsigned char m_remote[16] = {}; // sockaddr_in of the peer or group
    PcapWriter m_pcap;
};

} // namespace gantry::hosted
