// The ARP cache (RFC 826; timeouts and retransmission as RFC 1122 section
// 2.3.2.1 asks: entries expire, requests are retried a bounded number of times
// and at most once per second per address).
//
// Fixed capacity; when full, the entry that expires first is replaced (ties go
// to the lowest slot), so eviction never depends on pointer values.
#pragma once

#include <gantry/net/address.hpp>
#include <gantry/types.hpp>

#include <optional>

namespace gantry::net {

enum class ArpEntryState : u8 { free, incomplete, reachable };

struct ArpEntry {
    Ipv4Address ip;
    MacAddress mac;
    ArpEntryState state = ArpEntryState::free;
    TimeNs expires = 0;      // reachable: when to forget; incomplete: next retry
    TimeNs bound = 0;        // reachable: when `mac` was last set (see locktime_ns)
    u8 requests_sent = 0;    // incomplete only
};

// What the caller must do after asking for an address.
enum class ArpNeed : u8 { none, send_request };

class ArpCache {
public:
    static constexpr usize entries_max = 64;
    static constexpr TimeNs reachable_ns = 60 * ns_per_s;
    static constexpr TimeNs retry_ns = 1 * ns_per_s;
    static constexpr u8 requests_max = 3;
    // A binding this young is not replaced by a different MAC (Linux's
    // neighbour "locktime", 1 s by default). ARP has no checksum: a reply
    // corrupted on the wire, or a second responder, arriving right after the
    // binding was learned would otherwise redirect every frame to a MAC nobody
    // has until the entry expires, which no transport can notice.
    static constexpr TimeNs locktime_ns = 1 * ns_per_s;

    std::optional<MacAddress> lookup(Ipv4Address ip, TimeNs now) const;

    // Records a binding learned from the wire. `create` adds a new entry (we were
    // the target: RFC 826's "merge" rule); otherwise only known addresses update.
    enum class Learn : u8 { update_only, create };
    // true if an incomplete entry became reachable (pending packets can go now).
    // A different MAC for a binding younger than locktime_ns is ignored.
    bool learn(Ipv4Address ip, MacAddress mac, TimeNs now, Learn mode);

    // The caller has a packet for `ip` and no binding: starts a resolution, or
    // joins one in progress.
    ArpNeed resolve(Ipv4Address ip, TimeNs now);

    // Expires stale entries and schedules retries. Calls `retry(context, ip)` for
    // each address to ask again, `failed(context, ip)` for each given up on.
    using Callback = void (*)(void* context, Ipv4Address ip);
    void expire(TimeNs now, Callback retry, Callback failed, void* context);

    TimeNs next_deadline() const;
    usize size() const;
    const ArpEntry* entries() const { return m_entries; }

private:
    ArpEntry* find(Ipv4Address ip);
    const ArpEntry* find(Ipv4Address ip) const;
    ArpEntry& claim();

    ArpEntry m_entries[entries_max];
};

} // namespace gantry::net
