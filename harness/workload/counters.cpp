// The counters a `counter:` check reads, named as node_counter_names() and
// link_counter_names() list them.
#include "judge.hpp"

#include <gantry/net/stack/stack.hpp>

namespace gantry::harness {

namespace {

void add_protocol(std::map<std::string, u64>& into, const char* name,
                  const net::ProtocolCounters& counters)
{
    std::string prefix = std::string("net.") + name + ".";
    into[prefix + "rx_packets"] += counters.rx_packets;
    into[prefix + "rx_bytes"] += counters.rx_bytes;
    into[prefix + "tx_packets"] += counters.tx_packets;
    into[prefix + "tx_bytes"] += counters.tx_bytes;
}

void add_net(std::map<std::string, u64>& into, const net::NetCounters& c)
{
    add_protocol(into, "ethernet", c.ethernet);
    add_protocol(into, "arp", c.arp);
    add_protocol(into, "ipv4", c.ipv4);
    add_protocol(into, "icmp", c.icmp);
    add_protocol(into, "udp", c.udp);
    into["net.fragments_rx"] += c.fragments_rx;
    into["net.datagrams_reassembled"] += c.datagrams_reassembled;
    into["net.fragments_tx"] += c.fragments_tx;
    into["net.datagrams_fragmented"] += c.datagrams_fragmented;
    into["net.arp_requests_tx"] += c.arp_requests_tx;
    into["net.arp_replies_tx"] += c.arp_replies_tx;
    into["net.icmp_echo_replies"] += c.icmp_echo_replies;
    into["net.icmp_errors_tx"] += c.icmp_errors_tx;
    into["net.drops"] += c.drops_total();
    for (usize reason = 1; reason <= net::drop_reason_max; ++reason) {
        auto why = static_cast<net::DropReason>(reason);
        into[std::string("net.drops.") + net::drop_reason_name(why)] += c.dropped(why);
    }
}

void add_tcp(std::map<std::string, u64>& into, const net::TcpStackTotals& t)
{
    into["tcp.connections"] += t.connections;
    into["tcp.retransmits"] += t.retransmits;
    into["tcp.timeouts"] += t.timeouts;
    into["tcp.fast_retransmits"] += t.fast_retransmits;
    into["tcp.zero_window_probes"] += t.zero_window_probes;
    into["tcp.keepalive_probes"] += t.keepalive_probes;
    into["tcp.challenge_acks"] += t.challenge_acks;
    into["tcp.ooo_segments"] += t.ooo_segments;
    into["tcp.syn_cookies_sent"] += t.syn_cookies_sent;
    into["tcp.syn_cookies_accepted"] += t.syn_cookies_accepted;
    into["tcp.accept_overflows"] += t.accept_overflows;
    into["tcp.resets_sent"] += t.resets_sent;
    into["tcp.bad_segments"] += t.bad_segments;
}

} // namespace

void CounterBook::add_kernel(usize node, Kernel& kernel)
{
    std::map<std::string, u64>& into = m_nodes.at(node);
    // Every name exists even when its layer never started (0, not "unknown").
    add_net(into, net::NetCounters{});
    add_tcp(into, net::TcpStackTotals{});
    if (net::NetStack* stack = kernel.net()) {
        add_net(into, stack->counters());
        if (const net::TcpStack* tcp = stack->tcp_if_started())
            add_tcp(into, tcp->totals());
    }
    HeapStats heap = kernel.heap().stats();
    into["heap.allocations"] += heap.allocations;
    into["heap.frees"] += heap.frees;
    into["heap.failures"] += heap.failures;
}

void CounterBook::add_world(usize node, sim::World& world, sim::NodeId id)
{
    std::map<std::string, u64>& into = m_nodes.at(node);
    add_net(into, net::NetCounters{});
    add_tcp(into, net::TcpStackTotals{});
    for (const char* name : {"heap.allocations", "heap.frees", "heap.failures", "dhcp.offers",
                             "dhcp.acks", "dhcp.naks", "dhcp.leases", "dns.queries",
                             "dns.answers", "dns.nxdomain", "syn_flood.sent"})
        into[name] += 0;
    if (Kernel* kernel = world.kernel(id))
        add_kernel(node, *kernel);
    const sim::NodeFaultCounters& faults = world.node_fault_counters(id);
    into["node.incarnations"] = world.incarnation(id) + 1;
    into["node.boot_crashes"] = faults.boot_crashes;
    into["node.alloc_failures_injected"] = faults.alloc_failures_injected;
    into["node.timer_wakeups_delayed"] = faults.timer_wakeups_delayed;
    for (usize index = 0; sim::SimDisk* disk = world.disk(id, index); ++index) {
        const sim::DiskCounters& c = disk->counters();
        std::string prefix = "disk." + std::to_string(index) + ".";
        into[prefix + "reads"] = c.reads;
        into[prefix + "writes"] = c.writes;
        into[prefix + "flushes"] = c.flushes;
        into[prefix + "read_errors_injected"] = c.read_errors_injected;
        into[prefix + "write_errors_injected"] = c.write_errors_injected;
        into[prefix + "crashes"] = c.crashes;
        into[prefix + "writes_lost"] = c.writes_lost;
        into[prefix + "writes_torn"] = c.writes_torn;
        into[prefix + "writes_kept"] = c.writes_kept;
    }
}

void CounterBook::add_service(usize node, const std::map<std::string, u64>& counters)
{
    for (const auto& [name, value] : counters)
        m_nodes.at(node)[name] += value;
}

std::map<std::string, u64> link_counters(const sim::LinkCounters& c)
{
    return {{"sent", c.sent},
            {"delivered", c.delivered},
            {"duplicated", c.duplicated},
            {"corrupted", c.corrupted},
            {"reordered", c.reordered},
            {"dropped", c.dropped_total()},
            {"dropped.loss", c.dropped_by(sim::DropReason::loss)},
            {"dropped.queue_full", c.dropped_by(sim::DropReason::queue_full)},
            {"dropped.mtu", c.dropped_by(sim::DropReason::mtu)},
            {"dropped.partition", c.dropped_by(sim::DropReason::partition)},
            {"dropped.node_down", c.dropped_by(sim::DropReason::node_down)}};
}

CheckOutcome judge_counter(const Scenario& scenario, const CheckSpec& check,
                           const CounterBook& book, sim::World& world)
{
    const CounterCheckSpec& spec = check.counter;
    u64 value = 0;
    std::string owner;
    if (!spec.link.empty()) {
        value = link_counters(world.link_counters(*world.find_link(spec.link))).at(spec.name);
        owner = "link " + spec.link;
    } else {
        usize index = static_cast<usize>(scenario.find_node(check.node) - scenario.nodes.data());
        auto found = book.node(index).find(spec.name);
        value = found == book.node(index).end() ? 0 : found->second;
        owner = "node " + check.node;
    }
    std::string detail = owner + "'s " + spec.name + " is " + std::to_string(value);
    if (spec.min && value < *spec.min)
        return {&check, false, detail + ", below the minimum " + std::to_string(*spec.min)};
    if (spec.max && value > *spec.max)
        return {&check, false, detail + ", above the maximum " + std::to_string(*spec.max)};
    return {&check, true, detail};
}

} // namespace gantry::harness
