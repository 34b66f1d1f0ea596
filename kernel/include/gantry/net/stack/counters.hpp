// Counters of the network stack: per protocol (frames/packets and bytes in each
// direction) and drops by reason. Every drop names one reason, which also goes
// into the trace (TraceKind::net_drop), so a lost packet can always be explained.
#pragma once

#include <gantry/net/wire/error.hpp>
#include <gantry/types.hpp>

namespace gantry::net {

// Values are written into traces (net_drop's reason byte): never renumber, only add.
enum class DropReason : u8 {
    truncated = 1,
    bad_length = 2,
    bad_checksum = 3,
    bad_version = 4,
    unsupported = 5,
    malformed = 6,
    unknown_protocol = 7,    // EtherType or IP protocol this stack does not speak
    not_for_us = 8,          // another host's MAC or IP address
    bad_address = 9,         // broadcast/multicast source, and other martians
    ttl_expired = 10,
    no_buffer = 11,          // the packet pool is empty
    queue_full = 12,         // a socket's receive queue is full
    no_route = 13,           // off-link destination and no gateway
    arp_pending_overflow = 14,
    arp_timeout = 15,        // the next hop never answered ARP
    reassembly_timeout = 16,
    reassembly_overflow = 17, // no free reassembly slot, or too many fragments
    too_big = 18,            // larger than a buffer or the reassembly limit
    nic_tx_failed = 19,
    rate_limited = 20,       // an ICMP error the token bucket refused
    port_unreachable = 21,   // UDP to a closed port (an ICMP error answers it)
    oversized_frame = 22,    // larger than the NIC's MTU
};
inline constexpr usize drop_reason_max = 22;

const char* drop_reason_name(DropReason reason);
DropReason drop_reason_from(WireError error);

struct ProtocolCounters {
    u64 rx_packets = 0;
    u64 rx_bytes = 0;
    u64 tx_packets = 0;
    u64 tx_bytes = 0;
};

struct NetCounters {
    ProtocolCounters ethernet; // frames, at the NIC
    ProtocolCounters arp;
    ProtocolCounters ipv4;     // datagrams (reassembled ones count once more)
    ProtocolCounters icmp;
    ProtocolCounters udp;
    u64 fragments_rx = 0;
    u64 datagrams_reassembled = 0;
    u64 fragments_tx = 0;
    u64 datagrams_fragmented = 0;
    u64 arp_requests_tx = 0;
    u64 arp_replies_tx = 0;
    u64 icmp_echo_replies = 0;
    u64 icmp_errors_tx = 0;
    u64 drops[drop_reason_max + 1] = {}; // indexed by DropReason

    u64 drops_total() const
    {
        u64 total = 0;
        for (u64 count : drops)
            total += count;
        return total;
    }
    u64 dropped(DropReason reason) const { return drops[static_cast<u8>(reason)]; }
};

} // namespace gantry::net
