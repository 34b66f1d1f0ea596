// DNS stub resolver for A records: RFC 1035 (messages, 4.2.1 UDP), RFC 1034
// section 5.3.1 (a stub resolver hands recursion to its server), CNAME chains
// per RFC 1034 3.6.2, TTLs per RFC 2181 section 8; negative answers are not
// cached (RFC 2308 allows it; nothing here needs it yet). Blocks only the
// calling fiber.
#pragma once

#include <gantry/net/address.hpp>
#include <gantry/net/wire/dns.hpp>
#include <gantry/result.hpp>

namespace gantry {
class Kernel;
}

namespace gantry::net {

class NetStack;

enum class DnsError : u8 {
    bad_name,       // not a valid host name
    no_server,      // no DNS server configured (no lease, no --dns)
    name_error,     // NXDOMAIN: the name does not exist
    no_address,     // the name exists but has no A record (after CNAMEs)
    server_failure, // every attempt got SERVFAIL, REFUSED or the like
    timed_out,
    no_socket,
};
const char* dns_error_name(DnsError error);

class DnsResolver {
public:
    static constexpr usize servers_max = 3;
    static constexpr usize cache_entries_max = 16;
    static constexpr u32 attempts_max = 3;                // per name, rotating servers
    static constexpr TimeNs attempt_timeout_ns = 2 * ns_per_s;
    static constexpr usize cname_depth_max = 8;           // queries per resolve()
    static constexpr u32 cache_ttl_max_s = 24 * 3600;

    DnsResolver(Kernel& kernel, NetStack& stack);
    DnsResolver(const DnsResolver&) = delete;

    void set_servers(const Ipv4Address* servers, usize count);
    usize server_count() const { return m_server_count; }

    // The IPv4 address of `name`, from the cache or the servers.
    Result<Ipv4Address, DnsError> resolve(std::string_view name, TimeNs deadline);

    u64 queries_sent() const { return m_queries; }
    u64 cache_hits() const { return m_cache_hits; }

private:
    struct CacheEntry {
        DnsName name;
        Ipv4Address address;
        TimeNs expires = 0; // 0: free
    };
    struct Answer {
        enum class Kind : u8 { address, cname, none } kind = Kind::none;
        Ipv4Address address;
        DnsName cname;
        u32 ttl_s = 0;
    };

    Result<Answer, DnsError> query(const DnsName& name, TimeNs deadline);
    static Answer follow_chain(const DnsPacket& packet, const DnsName& name);
    const CacheEntry* cache_find(const DnsName& name, TimeNs now) const;
    void cache_store(const DnsName& name, Ipv4Address address, u32 ttl_s, TimeNs now);

    Kernel& m_kernel;
    NetStack& m_stack;
    Ipv4Address m_servers[servers_max];
    usize m_server_count = 0;
    CacheEntry m_cache[cache_entries_max];
    u64 m_queries = 0;
    u64 m_cache_hits = 0;
    u8 m_buffer[DnsPacket::udp_message_len_max];
};

} // namespace gantry::net
