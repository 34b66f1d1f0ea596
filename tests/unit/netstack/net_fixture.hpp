// A NetStack on a TestKernel and a TestNic, with builders for the frames a
// peer (10.0.0.1, 02:00:00:00:00:01) sends to it (10.0.0.2/24).
#pragma once

#include "test_nic.hpp"
#include "test_platform.hpp"

#include <gantry/net/stack/stack.hpp>
#include <gantry/net/wire/arp.hpp>
#include <gantry/net/wire/checksum.hpp>
#include <gantry/net/wire/ethernet.hpp>
#include <gantry/net/wire/icmpv4.hpp>
#include <gantry/net/wire/ipv4.hpp>
#include <gantry/net/wire/udp.hpp>

#include <catch2/catch.hpp>

#include <deque>
#include <optional>
#include <vector>

namespace gantry::testing {

using Frame = std::vector<u8>;

inline const net::MacAddress peer_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
inline const net::MacAddress our_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
inline const net::Ipv4Address peer_ip = net::Ipv4Address::from_u32(0x0a000001);
inline const net::Ipv4Address our_ip = net::Ipv4Address::from_u32(0x0a000002);

inline Frame ethernet(net::MacAddress destination, net::MacAddress source,
                      net::EtherType type, const Frame& payload)
{
    Frame frame(net::EthernetRepr::header_len + payload.size());
    net::EthernetRepr repr{source, destination, type};
    repr.emit(MutableBytes(frame.data(), net::EthernetRepr::header_len));
    std::copy(payload.begin(), payload.end(), frame.begin() + 14);
    return frame;
}

inline Frame arp(net::ArpOperation op, net::MacAddress sender_mac, net::Ipv4Address sender_ip,
                 net::MacAddress target_mac, net::Ipv4Address target_ip)
{
    Frame packet(net::ArpRepr::buffer_len);
    net::ArpRepr repr{op, sender_mac, sender_ip, target_mac, target_ip};
    repr.emit(MutableBytes(packet));
    return packet;
}

struct IpOptions {
    u16 ident = 1;
    net::MoreFragments more = net::MoreFragments::no;
    u16 offset = 0;
    u8 ttl = 64;
};

inline Frame ipv4(net::Ipv4Address source, net::Ipv4Address destination, net::IpProtocol proto,
                  const Frame& payload, IpOptions options = {})
{
    Frame packet(20 + payload.size());
    net::Ipv4Repr repr;
    repr.source = source;
    repr.destination = destination;
    repr.protocol = proto;
    repr.payload_len = static_cast<u16>(payload.size());
    repr.ident = options.ident;
    repr.more_fragments = options.more;
    repr.fragment_offset = options.offset;
    repr.ttl = options.ttl;
    repr.emit(MutableBytes(packet.data(), 20));
    std::copy(payload.begin(), payload.end(), packet.begin() + 20);
    return packet;
}

inline Frame udp(net::Ipv4Address source, net::Ipv4Address destination, u16 sport, u16 dport,
                 const Frame& payload)
{
    Frame datagram(8 + payload.size());
    net::UdpRepr repr{sport, dport, Bytes(payload)};
    repr.emit(MutableBytes(datagram), source, destination);
    return datagram;
}

inline Frame icmp_echo(u16 ident, u16 sequence, const Frame& data)
{
    Frame message(8 + data.size());
    net::Icmpv4Repr repr;
    repr.type = net::Icmpv4Type::echo_request;
    repr.ident = ident;
    repr.sequence = sequence;
    repr.data = Bytes(data);
    repr.emit(MutableBytes(message));
    return message;
}

inline Frame pattern(usize size, u8 seed = 0)
{
    Frame data(size);
    for (usize i = 0; i < size; ++i)
        data[i] = static_cast<u8>(i * 7 + seed);
    return data;
}

// The peer's frames as the stack sees them.
inline Frame from_peer_ip(const Frame& ip_packet)
{
    return ethernet(our_mac, peer_mac, net::EtherType::ipv4, ip_packet);
}

struct NetFixture {
    explicit NetFixture(net::Ipv4Address gateway = peer_ip, KernelConfig kernel_config = {})
        : tk(kernel_config), nic(our_mac)
    {
        net::NetConfig config;
        config.address = net::Ipv4Cidr{our_ip, 24};
        config.gateway = gateway;
        auto created = net::NetStack::create(*tk.kernel, nic, config);
        REQUIRE(created.ok());
        stack = created.value();
    }
    ~NetFixture()
    {
        // As at kernel teardown: fibers still blocked in the stack are abandoned.
        tk.kernel->sched().stop();
        net::NetStack::destroy(*tk.kernel, stack);
    }

    Kernel& kernel() { return *tk.kernel; }
    TimeNs now() { return tk.platform.now(); }
    void poll() { stack->poll(now()); }
    void deliver(const Frame& frame)
    {
        nic.inject(frame);
        poll();
    }
    // Teaches the stack the peer's MAC (an ARP request from the peer for us).
    void learn_peer()
    {
        deliver(ethernet(net::MacAddress::broadcast(), peer_mac, net::EtherType::arp,
                         arp(net::ArpOperation::request, peer_mac, peer_ip, {}, our_ip)));
        nic.take_sent();
    }

    TestKernel tk;
    TestNic nic;
    net::NetStack* stack = nullptr;
};

// Parsed views of a frame the stack sent; REQUIREs that it parses.
struct SentIpv4 {
    net::EthernetRepr ethernet;
    net::Ipv4Repr ip;
    Frame payload;
};

inline SentIpv4 parse_sent_ipv4(const Frame& frame)
{
    auto eth = net::EthernetFrame::check(Bytes(frame));
    REQUIRE(eth.ok());
    REQUIRE(eth.value().ethertype() == net::EtherType::ipv4);
    auto ip = net::Ipv4Packet::check(eth.value().payload());
    REQUIRE(ip.ok());
    SentIpv4 out{net::EthernetRepr::parse(eth.value()), net::Ipv4Repr::parse(ip.value()), {}};
    Bytes payload = ip.value().payload();
    out.payload.assign(payload.begin(), payload.end());
    return out;
}

} // namespace gantry::testing
