// The ARP cache (RFC 826; timeouts and retransmission as RFC 1122 section
// 2.3.2.1 asks: entries expire, requests are retried a bounded number of times
// and at most once per second per address). A binding in doubt is revalidated
// by RFC 1122's "unicast poll": see suspect().
//
// Fixed capacity; when full, the entry that expires first is replaced (ties go
// to the lowest slot), so eviction never depends on pointer values.
#pragma once

#include <gantry/net/address.hpp>
#include <gantry/types.hpp>

#include <optional>

namespace gantry::net {

// probing: a reachable binding in doubt; still used while unicast requests
// ask its owner to confirm it, forgotten if none answers.
enum class ArpEntryState : u8 { free, incomplete, reachable, probing };

struct ArpEntry {
    Ipv4Address ip;
    MacAddress mac;
    ArpEntryState state = ArpEntryState::free;
    TimeNs expires = 0;      // reachable: when to forget; incomplete, probing: next request
    TimeNs doubt_after = 0;  // reachable: suspect() is ignored before this (a poll just passed)
    u8 requests_sent = 0;    // incomplete and probing only
};

// What the caller must do after asking for an address.
enum class ArpNeed : u8 { none, send_request };

class ArpCache {
public:
    static constexpr usize entries_max = 64;
    static constexpr TimeNs reachable_ns = 60 * ns_per_s;
    static constexpr TimeNs retry_ns = 1 * ns_per_s;
    static constexpr u8 requests_max = 3;
    // After a unicast poll confirms a binding, further doubt waits this long
    // (a host that sends from one MAC and answers ARP with another would
    // otherwise cost a poll per packet).
    static constexpr TimeNs doubt_quiet_ns = 30 * ns_per_s;

    std::optional<MacAddress> lookup(Ipv4Address ip, TimeNs now) const;

    // Records a binding learned from the wire. `create` adds a new entry (we were
    // the target: RFC 826's "merge" rule); otherwise only known addresses update.
    enum class Learn : u8 { update_only, create };
    // true if an incomplete entry became reachable (pending packets can go now).
    bool learn(Ipv4Address ip, MacAddress mac, TimeNs now, Learn mode);

    // The caller has a packet for `ip` and no binding: starts a resolution, or
    // joins one in progress.
    ArpNeed resolve(Ipv4Address ip, TimeNs now);

    // A packet from `ip` came from Ethernet address `seen`, which is not the
    // binding we hold. ARP has no checksum, so a binding learned from a frame
    // corrupted in flight (or from a host that has since moved) would misdirect
    // every packet until it expired. Returns true when the binding enters
    // `probing`: the caller sends a unicast request to the held MAC (RFC 1122
    // 2.3.2.1, "unicast poll"); an answer confirms it, silence forgets it and
    // the next packet resolves afresh by broadcast.
    bool suspect(Ipv4Address ip, MacAddress seen, TimeNs now);

    // Expires stale entries and schedules retries. Calls `retry(context, entry)`
    // for each request to send again (broadcast for an incomplete entry, to
    // entry.mac for a probing one), `failed(context, entry)` for each
    // resolution given up on (a probing entry is forgotten silently: no packet
    // waits for it).
    using Callback = void (*)(void* context, const ArpEntry& entry);
    void expire(TimeNs now, Callback retry, Callback failed, void* context);

    // The earliest `expires` of any entry, kept up to date by every change:
    // NetStack::poll asks on every poll, and then walks no entries.
    TimeNs next_deadline() const { return m_earliest; }
    usize size() const;
    const ArpEntry* entries() const { return m_entries; }

private:
    ArpEntry* find(Ipv4Address ip);
    const ArpEntry* find(Ipv4Address ip) const;
    ArpEntry& claim();
    void refresh_earliest();

    ArpEntry m_entries[entries_max];
    TimeNs m_earliest = deadline_none;
};

} // namespace gantry::net
