// The DNS stub resolver against a scripted server: A answers, CNAME chains
// (in one answer and by re-query), the cache and its TTL, NXDOMAIN, retries.
#include "net_fixture.hpp"

#include <gantry/net/stack/dns_resolver.hpp>
#include <gantry/net/wire/dns.hpp>

using namespace gantry;
using namespace gantry::testing;

namespace {

const net::Ipv4Address dns_ip = peer_ip;

struct Query {
    Frame message;
    u16 source_port;
};

struct DnsFixture : NetFixture {
    DnsFixture()
    {
        stack->dns().set_servers(&dns_ip, 1);
        learn_peer();
    }

    // Starts resolve(name) on a fiber; `result` is set when it returns.
    void start(std::string_view name, TimeNs timeout = 10 * ns_per_s)
    {
        result.reset();
        Fiber* fiber = kernel().sched().spawn("resolve", [this, name, timeout] {
            result.emplace(stack->dns().resolve(name, now() + timeout));
        });
        REQUIRE(fiber);
        kernel().sched().detach(fiber);
        kernel().poll();
    }

    std::vector<Query> queries()
    {
        std::vector<Query> out;
        for (const Frame& frame : nic.take_sent()) {
            SentIpv4 ip = parse_sent_ipv4(frame);
            auto udp = net::UdpPacket::check(Bytes(ip.payload), our_ip, dns_ip);
            REQUIRE(udp.ok());
            REQUIRE(udp.value().destination_port() == net::dns_port);
            out.push_back({Frame(udp.value().payload().begin(), udp.value().payload().end()),
                           udp.value().source_port()});
        }
        return out;
    }

    // Answers `query` with records (name pointer to the question).
    void answer(const Query& query, u8 rcode, const std::vector<Frame>& records)
    {
        Frame reply = query.message;
        reply[2] |= 0x80; // response
        reply[3] = static_cast<u8>((reply[3] & 0xf0) | rcode);
        reply[7] = static_cast<u8>(records.size());
        for (const Frame& record : records)
            reply.insert(reply.end(), record.begin(), record.end());
        deliver(from_peer_ip(ipv4(dns_ip, our_ip, net::IpProtocol::udp,
                                  udp(dns_ip, our_ip, 53, query.source_port, reply))));
        kernel().poll();
    }

    std::optional<Result<net::Ipv4Address, net::DnsError>> result;
};

Frame record_header(const Frame& owner, u16 type, u32 ttl, u16 rdlength)
{
    Frame out = owner;
    u8 fixed[] = {static_cast<u8>(type >> 8), static_cast<u8>(type), 0, 1,
                  static_cast<u8>(ttl >> 24), static_cast<u8>(ttl >> 16),
                  static_cast<u8>(ttl >> 8), static_cast<u8>(ttl),
                  static_cast<u8>(rdlength >> 8), static_cast<u8>(rdlength)};
    out.insert(out.end(), fixed, fixed + sizeof(fixed));
    return out;
}

const Frame question_name{0xc0, 0x0c};

Frame a_record(const Frame& owner, u32 address, u32 ttl)
{
    Frame out = record_header(owner, 1, ttl, 4);
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<u8>(address >> shift));
    return out;
}

Frame wire_name(std::string_view dotted)
{
    auto name = net::DnsName::from_dotted(dotted);
    REQUIRE(name.ok());
    return Frame(name.value().wire().begin(), name.value().wire().end());
}

Frame cname_record(const Frame& owner, std::string_view target, u32 ttl)
{
    Frame target_wire = wire_name(target);
    Frame out = record_header(owner, 5, ttl, static_cast<u16>(target_wire.size()));
    out.insert(out.end(), target_wire.begin(), target_wire.end());
    return out;
}

} // namespace

TEST_CASE("dns: an A answer resolves and is cached for its TTL")
{
    DnsFixture f;
    f.start("svc.example");
    auto sent = f.queries();
    REQUIRE(sent.size() == 1);
    f.answer(sent[0], 0, {a_record(question_name, 0x0a0000c8, 30)});
    REQUIRE(f.result);
    REQUIRE(f.result->ok());
    CHECK(f.result->value() == net::Ipv4Address::from_u32(0x0a0000c8));

    f.start("SVC.example."); // names compare case-insensitively
    CHECK(f.queries().empty());
    REQUIRE(f.result);
    CHECK(f.result->ok());
    CHECK(f.stack->dns().cache_hits() == 1);

    f.tk.platform.advance(31 * ns_per_s);
    f.start("svc.example");
    CHECK(f.queries().size() == 1); // expired: asked again
}

TEST_CASE("dns: CNAME chains are followed, in the answer and by asking again")
{
    DnsFixture f;
    f.start("alias.example");
    auto sent = f.queries();
    REQUIRE(sent.size() == 1);
    f.answer(sent[0], 0, {cname_record(question_name, "mid.example", 60),
                          cname_record(wire_name("mid.example"), "end.example", 60)});
    CHECK_FALSE(f.result);
    sent = f.queries(); // the chain stopped at end.example: ask for it
    REQUIRE(sent.size() == 1);
    f.answer(sent[0], 0, {a_record(question_name, 0x0a000001, 5)});
    REQUIRE(f.result);
    REQUIRE(f.result->ok());
    CHECK(f.result->value() == net::Ipv4Address::from_u32(0x0a000001));
}

TEST_CASE("dns: NXDOMAIN, bad names and a silent server")
{
    DnsFixture f;
    f.start("nosuch.example");
    f.answer(f.queries()[0], 3, {});
    REQUIRE(f.result);
    CHECK(f.result->error() == net::DnsError::name_error);

    f.start("bad..name");
    REQUIRE(f.result);
    CHECK(f.result->error() == net::DnsError::bad_name);

    f.start("silent.example");
    CHECK(f.queries().size() == 1);
    f.tk.run_until_idle();
    REQUIRE(f.result);
    CHECK(f.result->error() == net::DnsError::timed_out);
    CHECK(f.stack->dns().queries_sent() == 1 + net::DnsResolver::attempts_max);
}

TEST_CASE("dns: replies with the wrong id or from another port are ignored")
{
    DnsFixture f;
    f.start("svc.example");
    Query query = f.queries()[0];
    Query forged = query;
    forged.message[0] ^= 0xff;
    f.answer(forged, 0, {a_record(question_name, 0x01020304, 30)});
    CHECK_FALSE(f.result);
    f.answer(query, 0, {a_record(question_name, 0x0a0000c8, 30)});
    REQUIRE(f.result);
    CHECK(f.result->value() == net::Ipv4Address::from_u32(0x0a0000c8));
}
