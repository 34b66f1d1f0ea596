// The stack's counters in the kernel log: one line per protocol and one line of
// drops by reason, so "where did my packet go" has an answer at every exit.
#include <gantry/kernel.hpp>
#include <gantry/net/stack/stack.hpp>

namespace gantry::net {

namespace {

void log_protocol(Logger& log, std::string_view name, const ProtocolCounters& c)
{
    log.info("net: {:5} rx {} ({} B) tx {} ({} B)", name, c.rx_packets, c.rx_bytes,
             c.tx_packets, c.tx_bytes);
}

} // namespace

void NetStack::log_counters()
{
    Logger& log = m_kernel.log();
    const NetCounters& c = m_counters;
    log_protocol(log, "eth", c.ethernet);
    log_protocol(log, "arp", c.arp);
    log_protocol(log, "ipv4", c.ipv4);
    log_protocol(log, "icmp", c.icmp);
    log_protocol(log, "udp", c.udp);
    log.info("net: fragments rx {} reassembled {} tx {} (of {} datagrams); "
             "arp requests {} replies {}; echo replies {} icmp errors {}",
             c.fragments_rx, c.datagrams_reassembled, c.fragments_tx,
             c.datagrams_fragmented, c.arp_requests_tx, c.arp_replies_tx,
             c.icmp_echo_replies, c.icmp_errors_tx);
    InlineFormatBuffer<Logger::line_bytes_max> line;
    format_to(line, "net: drops {}", c.drops_total());
    for (usize reason = 1; reason <= drop_reason_max; ++reason) {
        if (c.drops[reason] == 0)
            continue;
        format_to(line, " {}={}", drop_reason_name(static_cast<DropReason>(reason)),
                  c.drops[reason]);
    }
    log.info("{}", line.view());
    const PacketPoolStats& pool = m_pool.stats();
    log.info("net: packet buffers {} of {} in use (high water {}), {} allocation failures",
             pool.in_use, pool.count, pool.in_use_high_water, pool.failures);
}

} // namespace gantry::net
