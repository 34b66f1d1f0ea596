// The network stack of one kernel instance: one Ethernet interface (a Nic),
// ARP, IPv4 with reassembly and fragmentation, ICMP and UDP sockets whose
// blocking calls block only the calling fiber.
//
// Driven like smoltcp's Interface: the kernel calls poll(now), which takes a
// bounded batch of frames from the NIC, runs the protocol timers and returns
// the next deadline. Sending happens at once from the calling fiber. Packets
// live in a PacketPool created once, so the packet path never touches the heap.
#pragma once

#include <gantry/net/address.hpp>
#include <gantry/net/packet.hpp>
#include <gantry/net/stack/arp_cache.hpp>
#include <gantry/net/stack/counters.hpp>
#include <gantry/net/stack/reassembly.hpp>
#include <gantry/net/tcp/socket.hpp>
#include <gantry/net/wire/ipv4.hpp>
#include <gantry/nic.hpp>
#include <gantry/result.hpp>
#include <gantry/sched.hpp>

#include <optional>

namespace gantry {
class Kernel;
class Nic;
struct TraceNetFrame;
} // namespace gantry

namespace gantry::net {

class NetStack;
class Icmpv4Packet;
class DhcpClient;
class DnsResolver;

struct NetConfig {
    Ipv4Cidr address;        // 0.0.0.0/0: no address yet (DHCP later)
    Ipv4Address gateway;     // unspecified: on-link destinations only
    Ipv4Address dns_server;  // unspecified: none until a DHCP lease names one
    PacketPoolConfig pool;
    usize reassembly_bytes = Reassembler::datagram_bytes_default;
};

enum class UdpError : u8 {
    timed_out,      // recv_from: the deadline passed
    closed,         // the socket was closed while waiting
    too_big,        // send_to: larger than a UDP datagram can be
    no_route,
    no_buffer,      // packet pool or ARP pending queue full: try again later
    address_in_use, // bind
    no_socket,      // bind: every socket slot is in use
};
const char* udp_error_name(UdpError error);

enum class PingError : u8 {
    timed_out,
    no_route,
    no_buffer, // packet pool, ARP pending queue or ping slots full
    too_big,
};
const char* ping_error_name(PingError error);

struct UdpMeta {
    usize length;            // bytes copied into the caller's buffer
    usize datagram_length;   // the datagram's length (> length if truncated)
    Ipv4Address source;
    u16 source_port;
};

// A bound UDP socket (RFC 768). Owned by the stack; close() returns it.
class UdpSocket {
public:
    static constexpr usize queue_max = 64;
    static constexpr usize payload_bytes_max = 65535 - 8 - 20;

    UdpSocket(NetStack& stack, Scheduler& scheduler);
    UdpSocket(const UdpSocket&) = delete;
    ~UdpSocket();

    u16 port() const { return m_port; }
    // Sends one datagram from our address; fragments it when it exceeds the MTU.
    Status<UdpError> send_to(Ipv4Address destination, u16 port, Bytes payload);
    // Waits (this fiber only) until a datagram arrives or `deadline` passes
    // (deadline_none: forever). A longer datagram is truncated to `out`.
    Result<UdpMeta, UdpError> recv_from(MutableBytes out, TimeNs deadline = deadline_none);
    usize queued() const { return m_count; }
    u64 drops_queue_full() const { return m_drops_queue_full; }
    // Wakes every waiter with `closed` and gives the slot back to the stack. The
    // object stays valid (the stack reuses it for a later bind), so a fiber woken
    // by close() never touches freed memory.
    void close();
    bool is_open() const { return !m_closed; }

private:
    friend class NetStack;
    struct Queued {
        PacketBuffer* buffer; // trimmed to the UDP payload
        Ipv4Address source;
        u16 source_port;
    };

    // false when the queue is full (the caller drops and counts).
    bool enqueue(PacketBuffer* buffer, Ipv4Address source, u16 source_port);
    void open(u16 port);
    void discard_queue();

    NetStack& m_stack;
    Event m_readable;
    u16 m_port = 0;
    Queued m_queue[queue_max] = {};
    usize m_head = 0;
    usize m_count = 0;
    u64 m_drops_queue_full = 0;
    bool m_closed = true;
};

class NetStack final : public TcpIpOutput {
public:
    static constexpr usize rx_batch_max = 64;
    static constexpr usize sockets_max = 16;
    static constexpr usize arp_pending_max = 32;
    static constexpr TimeNs arp_pending_timeout_ns =
        ArpCache::retry_ns * ArpCache::requests_max;
    // ICMP errors: RFC 1812 section 4.3.2.8 / RFC 1122 section 3.2.2 want them
    // rate-limited. A token bucket: a burst of this many, then one per interval.
    static constexpr u32 icmp_tokens_max = 10;
    static constexpr TimeNs icmp_token_interval_ns = 10 * ns_per_ms;
    static constexpr u16 ephemeral_port_first = 49152;
    // The interface number in traces: one interface per stack for now.
    static constexpr u32 iface_index = 0;
    // Buffers for TSO frames (up to 64 KiB each), beside the MTU-sized pool:
    // a frame is normally written out at once, so a few cover the ARP queue.
    static constexpr usize tso_buffers = 4;

    enum class CreateError : u8 { out_of_memory, bad_config };
    static Result<NetStack*, CreateError> create(Kernel& kernel, Nic& nic,
                                                 const NetConfig& config);
    static void destroy(Kernel& kernel, NetStack* stack);

    NetStack(Kernel& kernel, Nic& nic, PacketPool pool, const NetConfig& config);
    NetStack(const NetStack&) = delete;
    ~NetStack();

    // Receives up to rx_batch_max frames and runs timers. Returns the next
    // deadline: `now` when frames may still be waiting.
    TimeNs poll(TimeNs now);
    TimeNs next_deadline() const;

    // Sets the interface address and announces it (gratuitous ARP, RFC 5227 3).
    void set_address(Ipv4Cidr address, Ipv4Address gateway);
    Ipv4Cidr address() const { return m_address; }
    Ipv4Address gateway() const { return m_gateway; }
    MacAddress mac() const { return m_mac; }

    // TCP (kernel/net/tcp): created on first use, so a node without TCP spends
    // no memory or entropy on it; until then TCP segments get "protocol
    // unreachable". nullptr when the heap is exhausted.
    TcpStack* tcp();
    // TCP if it was ever used, without creating it (observers, statistics).
    const TcpStack* tcp_if_started() const { return m_tcp; }
    // TcpIpOutput: TCP's segments leave through send_ipv4.
    bool tcp_send_ip(Ipv4Address source, Ipv4Address destination, Bytes segment) override;
    // The NIC's checksum and segmentation offloads, as TCP sees them.
    Offloads tcp_offloads() const override;
    bool tcp_send_ip_offloaded(Ipv4Address source, Ipv4Address destination, Bytes segment,
                               const SegmentOffload& offload) override;
    const NicOffloads& nic_offloads() const { return m_offloads; }

    // port 0 picks a free ephemeral port.
    Result<UdpSocket*, UdpError> udp_bind(u16 port);

    // Starts the DHCP client (RFC 2131) on its own fiber; the address is then
    // the lease's. false when memory is exhausted. Apps wait with
    // dhcp()->wait_bound(deadline).
    [[nodiscard]] bool start_dhcp();
    DhcpClient* dhcp() { return m_dhcp; }
    // The stub resolver (A records), using NetConfig::dns_server or the lease's.
    DnsResolver& dns() { return *m_dns; }

    // Sends an ICMP echo request (RFC 792) and waits, blocking only the calling
    // fiber, for the matching reply until `deadline`. Returns the round trip.
    Result<TimeNs, PingError> ping(Ipv4Address destination, u16 sequence, Bytes data,
                                   TimeNs deadline);

    const NetCounters& counters() const { return m_counters; }
    const PacketPool& pool() const { return m_pool; }
    const ArpCache& arp_cache() const { return m_arp; }
    const Reassembler& reassembler() const { return m_reassembly; }
    // Writes the counters to the kernel log (at exit).
    void log_counters();

    // Where a traced packet starts: at its Ethernet or its IPv4 header.
    enum class Layer : u8 { ethernet, ipv4 };

    // For UdpSocket: the stack's side of send and close.
    Status<UdpError> udp_send(u16 source_port, Ipv4Address destination, u16 port,
                              Bytes payload);
    void udp_release(UdpSocket* socket);
    void free_buffer(PacketBuffer* buffer) { m_pool.free(buffer); }

private:
    // A fiber waiting in ping() for its echo reply.
    struct PingWait {
        Event* replied;
        Ipv4Address destination;
        u16 ident;
        u16 sequence;
        TimeNs reply_at; // 0 until the reply arrives
    };
    static constexpr usize ping_waits_max = 16;

    struct Pending {
        PacketBuffer* buffer; // a complete IPv4 packet with Ethernet headroom
        Ipv4Address next_hop;
        TimeNs deadline;
        NicTxOffload offload; // relative to the IPv4 header; Ethernet added when sent
    };
    enum class SendError : u8 { no_route, no_buffer, too_big };
    enum class Origin : u8 { frame, reassembled };
    struct L4Input {
        Ipv4Repr ip;
        Bytes ip_header;       // the original header (for ICMP errors)
        Bytes payload;
        PacketBuffer* buffer;  // the frame's buffer; nullptr once taken or if reassembled
    };

    // Receive path (stack.cpp, ipv4.cpp, icmp.cpp, udp.cpp).
    void receive_frame(PacketBuffer*& buffer, TimeNs now);
    void receive_arp(Bytes payload, TimeNs now);
    void receive_ipv4(PacketBuffer*& buffer, Bytes packet, TimeNs now);
    void doubt_arp_binding(Ipv4Address source, TimeNs now);
    bool accepts_destination(Ipv4Address destination) const;
    void receive_l4(L4Input& input, TimeNs now);
    void receive_icmp(L4Input& input, TimeNs now);
    void receive_echo_reply(const L4Input& input, u16 ident, u16 sequence, TimeNs now);
    void receive_icmp_error(const L4Input& input, const Icmpv4Packet& icmp, TimeNs now);
    void receive_udp(L4Input& input, TimeNs now);
    void reset_closed_port(L4Input& input, TimeNs now);

    // Send path.
    Status<SendError> send_ipv4(Ipv4Address destination, IpProtocol protocol, Bytes head,
                                Bytes body, TimeNs now);
    std::optional<Ipv4Address> route(Ipv4Address destination) const;
    void output_ipv4(PacketBuffer* buffer, Ipv4Address next_hop, TimeNs now,
                     const NicTxOffload& offload = {});
    void transmit_frame(PacketBuffer* buffer, MacAddress destination, u16 ethertype,
                        const NicTxOffload& offload = {});
    void create_tso_pool(const PacketPoolConfig& small);
    // Gives a buffer back to the pool it came from (MTU-sized or TSO).
    void release(PacketBuffer* buffer);
    void send_arp(u16 operation, MacAddress target_mac, Ipv4Address target_ip,
                  MacAddress link_destination);
    void send_icmp_error(const L4Input& input, u8 type, u8 code, TimeNs now);
    bool take_icmp_token(TimeNs now);

    // ARP pending queue.
    void enqueue_pending(PacketBuffer* buffer, Ipv4Address next_hop, TimeNs now,
                         const NicTxOffload& offload);
    void flush_pending(Ipv4Address resolved, MacAddress mac);
    void drop_pending(Ipv4Address next_hop, DropReason reason, TimeNs now);
    void expire_pending(TimeNs now);
    static void arp_retry(void* context, const ArpEntry& entry);
    static void arp_failed(void* context, const ArpEntry& entry);

    // Counting and tracing.
    void drop(DropReason reason, Bytes bytes, Layer layer);
    void drop_rx(DropReason reason); // the frame being received
    void drop_packet(DropReason reason, PacketBuffer* buffer, Layer layer);
    void trace_frame(u8 kind, Bytes bytes, DropReason reason, Layer layer);
    UdpSocket* find_socket(u16 port);

    Kernel& m_kernel;
    Nic& m_nic;
    NicOffloads m_offloads; // what the NIC offers and the stack uses
    PacketPool m_pool;
    PacketPool* m_tso_pool = nullptr; // only when the NIC offers TSO
    MacAddress m_mac;
    Ipv4Cidr m_address;
    Ipv4Address m_gateway;
    ArpCache m_arp;
    Reassembler m_reassembly;
    NetCounters m_counters;
    Bytes m_rx_frame; // the frame receive_frame is working on, for drop traces
    Pending m_pending[arp_pending_max] = {};
    usize m_pending_head = 0;
    usize m_pending_count = 0;
    UdpSocket* m_sockets[sockets_max] = {};
    TcpStack* m_tcp = nullptr;
    u16 m_next_ephemeral = ephemeral_port_first;
    u16 m_next_ident = 0;
    PingWait* m_ping_waits[ping_waits_max] = {};
    DhcpClient* m_dhcp = nullptr;
    DnsResolver* m_dns = nullptr;
    u16 m_next_ping_ident = 1;
    u32 m_icmp_tokens = icmp_tokens_max;
    TimeNs m_icmp_refill = 0;
};

} // namespace gantry::net
