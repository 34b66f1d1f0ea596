// Names the loader checks scenarios against: workload kinds and the counters
// a `counter:` check may read (the runner fills exactly these; a unit test
// keeps the two in step).
#include "scenario.hpp"


namespace gantry::harness {

const char* workload_name(WorkloadKind kind)
{
    switch (kind) {
    case WorkloadKind::none: return "app";
    case WorkloadKind::http_client: return "http_client";
    case WorkloadKind::kv_client: return "kv_client";
    case WorkloadKind::syn_flood: return "syn_flood";
    case WorkloadKind::dhcp_server: return "dhcp_server";
    case WorkloadKind::dns_server: return "dns_server";
    }
    return "?";
}

std::vector<std::string> node_counter_names()
{
    std::vector<std::string> names = {"node.incarnations", "node.boot_crashes",
                                      "node.alloc_failures_injected",
                                      "node.timer_wakeups_delayed"};
    for (const char* protocol : {"ethernet", "arp", "ipv4", "icmp", "udp"})
        for (const char* field : {"rx_packets", "rx_bytes", "tx_packets", "tx_bytes"})
            names.push_back(std::string("net.") + protocol + "." + field);
    for (const char* field : {"fragments_rx", "datagrams_reassembled", "fragments_tx",
                              "datagrams_fragmented", "arp_requests_tx", "arp_replies_tx",
                              "icmp_echo_replies", "icmp_errors_tx", "drops"})
        names.push_back(std::string("net.") + field);
    // net::drop_reason_name's names, written out: the loader links no network
    // stack (a unit test compares the two lists).
    for (const char* reason :
         {"truncated", "bad_length", "bad_checksum", "bad_version", "unsupported", "malformed",
          "unknown_protocol", "not_for_us", "bad_address", "ttl_expired", "no_buffer",
          "queue_full", "no_route", "arp_pending_overflow", "arp_timeout", "reassembly_timeout",
          "reassembly_overflow", "too_big", "nic_tx_failed", "rate_limited", "port_unreachable",
          "oversized_frame"})
        names.push_back(std::string("net.drops.") + reason);
    for (const char* field : {"connections", "retransmits", "timeouts", "fast_retransmits",
                              "zero_window_probes", "keepalive_probes", "challenge_acks",
                              "ooo_segments", "syn_cookies_sent", "syn_cookies_accepted",
                              "accept_overflows", "resets_sent", "bad_segments"})
        names.push_back(std::string("tcp.") + field);
    for (const char* field : {"allocations", "frees", "failures"})
        names.push_back(std::string("heap.") + field);
    // What the service kinds count (0 on other nodes).
    for (const char* name : {"dhcp.offers", "dhcp.acks", "dhcp.naks", "dhcp.leases",
                             "dns.queries", "dns.answers", "dns.nxdomain", "syn_flood.sent"})
        names.push_back(name);
    return names;
}

std::vector<std::string> link_counter_names()
{
    return {"sent",           "delivered",        "duplicated",    "corrupted",
            "reordered",      "dropped",          "dropped.loss",  "dropped.queue_full",
            "dropped.mtu",    "dropped.partition", "dropped.node_down"};
}

} // namespace gantry::harness
