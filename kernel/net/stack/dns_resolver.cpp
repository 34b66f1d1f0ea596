// DNS stub resolver: RFC 1035 4.1 (messages) and 4.2.1 (UDP, 512 bytes, match
// replies by id and question), RFC 1034 3.6.2 (follow CNAMEs), RFC 2181 8
// (TTL), RFC 5452 section 9 (accept replies only from the server and port we
// asked, with our random id).
#include <gantry/kernel.hpp>
#include <gantry/net/stack/dns_resolver.hpp>
#include <gantry/net/stack/stack.hpp>

namespace gantry::net {

const char* dns_error_name(DnsError error)
{
    switch (error) {
    case DnsError::bad_name: return "not a valid host name";
    case DnsError::no_server: return "no DNS server configured";
    case DnsError::name_error: return "no such name (NXDOMAIN)";
    case DnsError::no_address: return "the name has no IPv4 address";
    case DnsError::server_failure: return "the DNS server failed";
    case DnsError::timed_out: return "timed out";
    case DnsError::no_socket: return "no free UDP socket";
    }
    return "unknown";
}

DnsResolver::DnsResolver(Kernel& kernel, NetStack& stack) : m_kernel(kernel), m_stack(stack) {}

void DnsResolver::set_servers(const Ipv4Address* servers, usize count)
{
    m_server_count = count < servers_max ? count : servers_max;
    for (usize i = 0; i < m_server_count; ++i)
        m_servers[i] = servers[i];
}

const DnsResolver::CacheEntry* DnsResolver::cache_find(const DnsName& name, TimeNs now) const
{
    for (const CacheEntry& entry : m_cache)
        if (entry.expires > now && entry.name.equals(name))
            return &entry;
    return nullptr;
}

void DnsResolver::cache_store(const DnsName& name, Ipv4Address address, u32 ttl_s, TimeNs now)
{
    if (ttl_s == 0)
        return; // RFC 1035 3.2.1: TTL 0 means "use once, do not cache"
    ttl_s = ttl_s < cache_ttl_max_s ? ttl_s : cache_ttl_max_s;
    // A free or expired entry, else the one expiring first (lowest slot on ties).
    CacheEntry* victim = &m_cache[0];
    for (CacheEntry& entry : m_cache) {
        if (entry.expires <= now) {
            victim = &entry;
            break;
        }
        if (entry.expires < victim->expires)
            victim = &entry;
    }
    victim->name = name;
    victim->address = address;
    victim->expires = now + TimeNs{ttl_s} * ns_per_s;
}

Result<Ipv4Address, DnsError> DnsResolver::resolve(std::string_view text, TimeNs deadline)
{
    auto parsed = DnsName::from_dotted(text);
    if (!parsed.ok() || parsed.value().is_root())
        return fail(DnsError::bad_name);
    DnsName name = parsed.value();
    if (const CacheEntry* hit = cache_find(name, m_kernel.now())) {
        m_cache_hits++;
        return hit->address;
    }
    if (m_server_count == 0)
        return fail(DnsError::no_server);
    // Each query may end in a CNAME whose target the server did not resolve:
    // ask again for the target, a bounded number of times (no loops).
    u32 ttl_s = cache_ttl_max_s;
    for (usize depth = 0; depth < cname_depth_max; ++depth) {
        Answer answer = GANTRY_TRY(query(name, deadline));
        ttl_s = answer.ttl_s < ttl_s ? answer.ttl_s : ttl_s;
        if (answer.kind == Answer::Kind::address) {
            cache_store(parsed.value(), answer.address, ttl_s, m_kernel.now());
            return answer.address;
        }
        if (answer.kind == Answer::Kind::none)
            return fail(DnsError::no_address);
        name = answer.cname;
    }
    return fail(DnsError::no_address);
}

// The answer for `name`: its A record, or the end of its CNAME chain inside
// this message (RFC 1034 3.6.2: servers put the chain in order, but any order
// is accepted). TTL: the smallest along the chain.
DnsResolver::Answer DnsResolver::follow_chain(const DnsPacket& packet, const DnsName& name)
{
    Answer result;
    result.ttl_s = cache_ttl_max_s;
    DnsName current = name;
    for (usize hop = 0; hop <= cname_depth_max; ++hop) {
        bool advanced = false;
        DnsRecordReader reader = packet.answers();
        while (auto record = reader.next()) {
            if (record->klass != static_cast<u16>(DnsClass::in) || !record->name.equals(current))
                continue;
            result.ttl_s = record->ttl_s < result.ttl_s ? record->ttl_s : result.ttl_s;
            if (record->type == DnsRecordType::a) {
                result.kind = Answer::Kind::address;
                result.address = record->address;
                return result;
            }
            if (record->type == DnsRecordType::cname) {
                current = record->cname;
                result.kind = Answer::Kind::cname;
                result.cname = current;
                advanced = true;
                break;
            }
        }
        if (!advanced)
            break;
    }
    return result;
}

Result<DnsResolver::Answer, DnsError> DnsResolver::query(const DnsName& name, TimeNs deadline)
{
    auto bound = m_stack.udp_bind(0);
    if (!bound.ok())
        return fail(DnsError::no_socket);
    UdpSocket& socket = *bound.value();
    DnsError last = DnsError::timed_out;
    for (u32 attempt = 0; attempt < attempts_max && m_kernel.now() < deadline; ++attempt) {
        Ipv4Address server = m_servers[attempt % m_server_count];
        DnsRepr question;
        question.id = static_cast<u16>(m_kernel.random_u64());
        question.question = DnsQuestion{name, DnsRecordType::a, static_cast<u16>(DnsClass::in)};
        usize length = question.buffer_len();
        GANTRY_ASSERT(length <= sizeof(m_buffer));
        question.emit(MutableBytes(m_buffer, length));
        if (!socket.send_to(server, dns_port, Bytes(m_buffer, length)).ok())
            continue;
        m_queries++;
        TimeNs attempt_end = m_kernel.now() + attempt_timeout_ns;
        attempt_end = attempt_end < deadline ? attempt_end : deadline;
        // Replies that are not ours (wrong source, id or question) are skipped.
        for (;;) {
            auto got = socket.recv_from(MutableBytes(m_buffer, sizeof(m_buffer)), attempt_end);
            if (!got.ok())
                break;
            if (got.value().source != server || got.value().source_port != dns_port ||
                got.value().datagram_length > sizeof(m_buffer))
                continue;
            auto packet = DnsPacket::check(Bytes(m_buffer, got.value().length));
            if (!packet.ok() || packet.value().id() != question.id ||
                !packet.value().flags().has(DnsFlags::response))
                continue;
            auto asked = packet.value().question();
            if (!asked || !asked->name.equals(name))
                continue;
            DnsRcode rcode = packet.value().flags().rcode();
            if (rcode == DnsRcode::name_error) {
                socket.close();
                return fail(DnsError::name_error);
            }
            if (rcode != DnsRcode::no_error) {
                last = DnsError::server_failure;
                break; // try the next server
            }
            Answer answer = follow_chain(packet.value(), name);
            socket.close();
            return answer;
        }
    }
    socket.close();
    return fail(last);
}

} // namespace gantry::net
