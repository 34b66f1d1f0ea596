// The ARP cache alone, with explicit time. The cache keeps its earliest
// deadline instead of walking its entries on every poll; these tests hold that
// kept value to the walk it replaced, through every kind of change.
#include <gantry/net/stack/arp_cache.hpp>

#include <catch2/catch.hpp>

#include <random>

using namespace gantry;
using net::ArpCache;
using net::ArpEntry;
using net::ArpEntryState;

namespace {

// The minimum over the entries, computed the way next_deadline() used to be.
TimeNs earliest_by_walk(const ArpCache& cache)
{
    TimeNs next = deadline_none;
    for (usize i = 0; i < ArpCache::entries_max; i++) {
        const ArpEntry& entry = cache.entries()[i];
        if (entry.state != ArpEntryState::free && entry.expires < next)
            next = entry.expires;
    }
    return next;
}

bool holds(const ArpCache& cache, net::Ipv4Address ip)
{
    for (usize i = 0; i < ArpCache::entries_max; i++)
        if (cache.entries()[i].state != ArpEntryState::free && cache.entries()[i].ip == ip)
            return true;
    return false;
}

struct Calls {
    usize retries = 0;
    usize failures = 0;
};

void count_retry(void* context, const ArpEntry&) { static_cast<Calls*>(context)->retries++; }
void count_failure(void* context, const ArpEntry&) { static_cast<Calls*>(context)->failures++; }

net::MacAddress mac_for(u32 host, u8 variant)
{
    return net::MacAddress{{0x02, variant, 0, 0, static_cast<u8>(host >> 8),
                            static_cast<u8>(host)}};
}

} // namespace

TEST_CASE("an empty ARP cache has no deadline and expire does nothing")
{
    ArpCache cache;
    CHECK(cache.next_deadline() == deadline_none);
    Calls calls;
    cache.expire(1000 * ns_per_s, count_retry, count_failure, &calls);
    CHECK(calls.retries == 0);
    CHECK(calls.failures == 0);
    CHECK(cache.size() == 0);
}

TEST_CASE("the ARP cache's deadline follows resolution, retries, learning and expiry")
{
    ArpCache cache;
    auto ip = net::Ipv4Address::from_u32(0x0a000001);
    TimeNs now = 5 * ns_per_s;
    REQUIRE(cache.resolve(ip, now) == net::ArpNeed::send_request);
    CHECK(cache.next_deadline() == now + ArpCache::retry_ns);

    Calls calls;
    cache.expire(now + ArpCache::retry_ns - 1, count_retry, count_failure, &calls);
    CHECK(calls.retries == 0); // one nanosecond early: nothing is due
    now += ArpCache::retry_ns;
    cache.expire(now, count_retry, count_failure, &calls);
    CHECK(calls.retries == 1);
    CHECK(cache.next_deadline() == now + ArpCache::retry_ns);

    REQUIRE(cache.learn(ip, mac_for(1, 0), now, ArpCache::Learn::update_only));
    CHECK(cache.next_deadline() == now + ArpCache::reachable_ns);

    // A frame from another MAC puts the binding in doubt: a unicast poll is due
    // in a second, long before the binding would have expired.
    now += ns_per_s;
    REQUIRE(cache.suspect(ip, mac_for(1, 1), now));
    CHECK(cache.next_deadline() == now + ArpCache::retry_ns);
    REQUIRE_FALSE(cache.learn(ip, mac_for(1, 0), now, ArpCache::Learn::update_only));
    CHECK(cache.next_deadline() == now + ArpCache::reachable_ns); // the poll confirmed it

    now += ArpCache::reachable_ns;
    cache.expire(now, count_retry, count_failure, &calls);
    CHECK(cache.size() == 0);
    CHECK(cache.next_deadline() == deadline_none);
    CHECK(calls.failures == 0);
}

// A seeded random walk over more addresses than the cache holds (so entries
// are evicted), with bindings that change MAC (so they are suspected and
// probed) and pauses long enough for resolutions to fail and bindings to
// expire. After every operation the kept deadline must equal the walk's.
TEST_CASE("the ARP cache's kept deadline equals a walk over its entries after every change")
{
    std::mt19937 random(2446);
    ArpCache cache;
    Calls calls;
    TimeNs now = ns_per_s;
    usize evictions_seen = 0;
    usize probes_started = 0;
    usize resolutions_started = 0;
    constexpr u32 hosts = ArpCache::entries_max + 16;
    for (usize step = 0; step < 20000; step++) {
        u32 host = 1 + random() % hosts;
        auto ip = net::Ipv4Address::from_u32(0x0a000000 + host);
        u8 variant = static_cast<u8>(random() % 2);
        // In every other stretch of steps nothing new is resolved, so the
        // retries die out and a probe or a binding holds the earliest deadline.
        bool resolving = step / 1000 % 2 == 0;
        switch (random() % 6) {
        case 0:
            if (!resolving)
                break;
            if (cache.size() == ArpCache::entries_max && !holds(cache, ip))
                evictions_seen++;
            if (cache.resolve(ip, now) == net::ArpNeed::send_request)
                resolutions_started++;
            break;
        case 1:
            (void)cache.learn(ip, mac_for(host, variant), now, ArpCache::Learn::create);
            break;
        case 2:
            (void)cache.learn(ip, mac_for(host, variant), now, ArpCache::Learn::update_only);
            break;
        case 3:
            if (cache.suspect(ip, mac_for(host, variant), now))
                probes_started++;
            break;
        case 4:
            cache.expire(now, count_retry, count_failure, &calls);
            // Everything that was due has been retried or removed.
            CHECK(cache.next_deadline() > now);
            break;
        default:
            // Mostly small steps, sometimes past every retry or a whole lifetime.
            now += random() % 32 == 0 ? (random() % 70) * ns_per_s : (random() % 100) * ns_per_ms;
            break;
        }
        REQUIRE(cache.next_deadline() == earliest_by_walk(cache));
    }
    // The walk reached every kind of change it is meant to cover.
    CHECK(evictions_seen > 0);
    CHECK(probes_started > 0);
    CHECK(resolutions_started > 0);
    CHECK(calls.retries > 0);
    CHECK(calls.failures > 0);
}
