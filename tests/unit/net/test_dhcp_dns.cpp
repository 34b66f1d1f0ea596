// DHCP and DNS: round trips, malformed options, compression attacks.
#include <catch2/catch.hpp>

#include <gantry/net/endian.hpp>
#include <gantry/net/wire/dhcp.hpp>
#include <gantry/net/wire/dns.hpp>

#include <string>
#include <vector>

using namespace gantry;
using namespace gantry::net;

namespace {

Ipv4Address ip(const char* text) { return *Ipv4Address::parse(text); }
MutableBytes span(std::vector<u8>& data) { return MutableBytes(data.data(), data.size()); }
Bytes cspan(const std::vector<u8>& data) { return Bytes(data.data(), data.size()); }

std::string text(const DnsName& name)
{
    InlineFormatBuffer<300> out;
    name.format(out);
    return std::string(out.view());
}

DhcpRepr full_ack()
{
    static const u8 parameters[] = {1, 3, 6, 12, 15};
    DhcpRepr repr;
    repr.op = DhcpOp::reply;
    repr.message_type = DhcpMessageType::ack;
    repr.xid = 0xdeadbeef;
    repr.secs = 3;
    repr.broadcast = DhcpBroadcast::yes;
    repr.your_ip = ip("10.0.2.15");
    repr.client_mac = MacAddress{{0x52, 0x54, 0, 0x12, 0x34, 0x56}};
    repr.server_id = ip("10.0.2.2");
    repr.requested_ip = ip("10.0.2.15");
    repr.subnet_mask = ip("255.255.255.0");
    repr.router = ip("10.0.2.2");
    repr.lease_time_s = 86400;
    repr.renewal_time_s = 43200;
    repr.rebinding_time_s = 75600;
    repr.dns_servers = {ip("10.0.2.3"), ip("8.8.8.8"), ip("1.1.1.1")};
    repr.dns_server_count = 3;
    repr.hostname = "gantry";
    repr.parameter_request_list = Bytes(parameters, sizeof(parameters));
    return repr;
}

// A minimal DHCP discover whose options are exactly `options` (no end added).
std::vector<u8> dhcp_with_options(std::vector<u8> options)
{
    std::vector<u8> message(DhcpPacket::options_offset, 0);
    message[0] = 1;
    message[1] = 1;
    message[2] = 6;
    store_be32(span(message), DhcpPacket::fixed_len, DhcpPacket::magic_cookie);
    message.insert(message.end(), options.begin(), options.end());
    return message;
}

} // namespace

TEST_CASE("dhcp: every option round trips")
{
    DhcpRepr repr = full_ack();
    std::vector<u8> buffer(repr.buffer_len());
    repr.emit(span(buffer));
    auto packet = DhcpPacket::check(cspan(buffer));
    REQUIRE(packet.ok());
    auto parsed = DhcpRepr::parse(packet.value());
    REQUIRE(parsed.ok());
    const DhcpRepr& back = parsed.value();
    CHECK(back.op == DhcpOp::reply);
    CHECK(back.message_type == DhcpMessageType::ack);
    CHECK(back.xid == 0xdeadbeef);
    CHECK(back.secs == 3);
    CHECK(back.broadcast == DhcpBroadcast::yes);
    CHECK(back.your_ip == repr.your_ip);
    CHECK(back.client_mac == repr.client_mac);
    CHECK(back.server_id == repr.server_id);
    CHECK(back.requested_ip == repr.requested_ip);
    CHECK(back.subnet_mask == repr.subnet_mask);
    CHECK(back.router == repr.router);
    CHECK(back.lease_time_s == 86400u);
    CHECK(back.renewal_time_s == 43200u);
    CHECK(back.rebinding_time_s == 75600u);
    REQUIRE(back.dns_server_count == 3);
    CHECK(back.dns_servers == repr.dns_servers);
    CHECK(back.hostname == "gantry");
    CHECK(std::vector<u8>(back.parameter_request_list.begin(),
                          back.parameter_request_list.end()) == std::vector<u8>{1, 3, 6, 12, 15});
}

TEST_CASE("dhcp: option walking (pads, end, missing end, overrun)")
{
    // Pads and a trailing junk after end are fine.
    auto message = dhcp_with_options({0, 0, 53, 1, 1, 0, 255, 99, 99});
    auto packet = DhcpPacket::check(cspan(message));
    REQUIRE(packet.ok());
    CHECK(DhcpRepr::parse(packet.value()).value().message_type == DhcpMessageType::discover);
    // Missing end is tolerated.
    message = dhcp_with_options({53, 1, 3});
    REQUIRE(DhcpPacket::check(cspan(message)).ok());
    // Option length running past the buffer: the tcpdump bootp_asan case.
    message = dhcp_with_options({53, 1, 1, 12, 20, 'a', 'b'});
    CHECK(DhcpPacket::check(cspan(message)).error() == WireError::malformed);
    // A code with no length byte.
    message = dhcp_with_options({53, 1, 1, 12});
    CHECK(DhcpPacket::check(cspan(message)).error() == WireError::malformed);
}

TEST_CASE("dhcp: malformed messages and options")
{
    auto message = dhcp_with_options({53, 1, 1, 255});
    CHECK(DhcpPacket::check(Bytes(message.data(), 239)).error() == WireError::truncated);
    auto broken = message;
    broken[236] = 0x64; // magic cookie
    CHECK(DhcpPacket::check(cspan(broken)).error() == WireError::bad_version);
    broken = message;
    broken[0] = 3;
    CHECK(DhcpPacket::check(cspan(broken)).error() == WireError::malformed);
    broken = message;
    broken[2] = 17; // hlen beyond chaddr
    CHECK(DhcpPacket::check(cspan(broken)).error() == WireError::bad_length);
    broken = message;
    broken[1] = 0; // zeek hw-type0: well formed, but not Ethernet
    CHECK(DhcpRepr::parse(DhcpPacket::check(cspan(broken)).value()).error() ==
          WireError::unsupported);

    auto parse_error = [](std::vector<u8> options) {
        std::vector<u8> message = dhcp_with_options(options);
        auto checked = DhcpPacket::check(cspan(message));
        REQUIRE(checked.ok());
        auto parsed = DhcpRepr::parse(checked.value());
        REQUIRE_FALSE(parsed.ok());
        return parsed.error();
    };
    CHECK(parse_error({255}) == WireError::unsupported); // plain BOOTP
    CHECK(parse_error({53, 2, 1, 1, 255}) == WireError::malformed);
    CHECK(parse_error({53, 1, 9, 255}) == WireError::malformed);
    CHECK(parse_error({53, 1, 1, 54, 3, 1, 2, 3, 255}) == WireError::malformed);
    CHECK(parse_error({53, 1, 1, 51, 2, 1, 2, 255}) == WireError::malformed);
    CHECK(parse_error({53, 1, 1, 3, 5, 1, 2, 3, 4, 5, 255}) == WireError::malformed);
    CHECK(parse_error({53, 1, 1, 6, 0, 255}) == WireError::malformed);
    CHECK(parse_error({53, 1, 1, 12, 0, 255}) == WireError::malformed);
    CHECK(parse_error({53, 1, 1, 55, 0, 255}) == WireError::malformed);
}

TEST_CASE("dhcp: extra DNS servers are ignored, not overrun")
{
    std::vector<u8> options = {53, 1, 5, 6, 20};
    for (u8 i = 0; i < 20; i++)
        options.push_back(i);
    options.push_back(255);
    std::vector<u8> message = dhcp_with_options(options);
    auto checked = DhcpPacket::check(cspan(message));
    auto parsed = DhcpRepr::parse(checked.value());
    REQUIRE(parsed.ok());
    CHECK(parsed.value().dns_server_count == DhcpRepr::dns_servers_max);
    CHECK(parsed.value().dns_servers[2] == ip("8.9.10.11"));
}

TEST_CASE("dns: names from text")
{
    auto name = DnsName::from_dotted("www.Example.com.");
    REQUIRE(name.ok());
    CHECK(name.value().wire().size() == 17);
    CHECK(text(name.value()) == "www.Example.com");
    CHECK(name.value().equals(DnsName::from_dotted("WWW.example.COM").value()));
    CHECK_FALSE(name.value().equals(DnsName::from_dotted("www.example.org").value()));
    CHECK(DnsName::from_dotted("").value().is_root());
    CHECK(text(DnsName::from_dotted(".").value()) == ".");
    CHECK(DnsName::from_dotted("a..b").error() == WireError::bad_length);
    CHECK(DnsName::from_dotted(std::string(64, 'a')).error() == WireError::bad_length);
    CHECK(DnsName::from_dotted(std::string(63, 'a')).ok());
    std::string long_name;
    for (int i = 0; i < 4; i++)
        long_name += std::string(63, 'a') + ".";
    CHECK(DnsName::from_dotted(long_name).error() == WireError::bad_length); // 257 bytes
    long_name = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') +
                "." + std::string(61, 'd');
    CHECK(DnsName::from_dotted(long_name).value().wire().size() == 255);
}

TEST_CASE("dns: query emit round trips")
{
    DnsRepr query;
    query.id = 0xabcd;
    query.question = DnsQuestion{DnsName::from_dotted("gantry.example").value(),
                                 DnsRecordType::a, static_cast<u16>(DnsClass::in)};
    std::vector<u8> buffer(query.buffer_len());
    query.emit(span(buffer));
    CHECK(buffer.size() == 12 + 16 + 4);
    auto packet = DnsPacket::check(cspan(buffer));
    REQUIRE(packet.ok());
    DnsRepr parsed = DnsRepr::parse(packet.value());
    CHECK(parsed.id == 0xabcd);
    CHECK(parsed.flags.has(DnsFlags::recursion_desired));
    CHECK_FALSE(parsed.flags.has(DnsFlags::response));
    REQUIRE(parsed.question);
    CHECK(parsed.question->name.equals(query.question->name));
    CHECK(parsed.question->type == DnsRecordType::a);
    CHECK(packet.value().answer_count() == 0);
}

namespace {

// Response to "a.example" with hand-placed records appended by the test.
std::vector<u8> dns_response(u16 answers)
{
    std::vector<u8> message = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, static_cast<u8>(answers), 0, 0,
                               0, 0};
    const u8 question[] = {1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1};
    message.insert(message.end(), question, question + sizeof(question));
    return message;
}

void add_record(std::vector<u8>& message, std::vector<u8> name, u16 type, std::vector<u8> rdata)
{
    message.insert(message.end(), name.begin(), name.end());
    const u8 fixed[] = {static_cast<u8>(type >> 8), static_cast<u8>(type), 0, 1, 0, 0, 1, 0,
                        static_cast<u8>(rdata.size() >> 8), static_cast<u8>(rdata.size())};
    message.insert(message.end(), fixed, fixed + sizeof(fixed));
    message.insert(message.end(), rdata.begin(), rdata.end());
}

} // namespace

TEST_CASE("dns: CNAME chain then A, compressed")
{
    auto message = dns_response(2);
    // a.example CNAME b.example (b + pointer to "example" at 14), then b.example A.
    add_record(message, {0xc0, 12}, 5, {1, 'b', 0xc0, 14});
    usize b_offset = message.size() - 4;
    add_record(message, {0xc0, static_cast<u8>(b_offset)}, 1, {10, 0, 0, 9});
    auto packet = DnsPacket::check(cspan(message));
    REQUIRE(packet.ok());
    DnsRecordReader reader = packet.value().answers();
    auto cname = reader.next();
    REQUIRE(cname);
    CHECK(text(cname->name) == "a.example");
    CHECK(text(cname->cname) == "b.example");
    CHECK(cname->ttl_s == 256);
    auto a = reader.next();
    REQUIRE(a);
    CHECK(text(a->name) == "b.example");
    CHECK(a->address == ip("10.0.0.9"));
    CHECK_FALSE(reader.next());
}

TEST_CASE("dns: compression loops and pointer abuse are rejected")
{
    // Pointer to itself.
    auto message = dns_response(1);
    add_record(message, {0xc0, static_cast<u8>(message.size())}, 1, {1, 2, 3, 4});
    CHECK(DnsPacket::check(cspan(message)).error() == WireError::malformed);
    // Two pointers pointing at each other (forward, then back).
    message = dns_response(1);
    usize at = message.size();
    add_record(message, {0xc0, static_cast<u8>(at + 2), 0xc0, static_cast<u8>(at)}, 1,
               {1, 2, 3, 4});
    CHECK(DnsPacket::check(cspan(message)).error() == WireError::malformed);
    // Label, then a pointer back to that label: a cycle that only moves backward
    // once (the "target before the pointer" rule alone would loop forever).
    message = dns_response(1);
    at = message.size();
    add_record(message, {1, 'x', 0xc0, static_cast<u8>(at)}, 1, {1, 2, 3, 4});
    CHECK(DnsPacket::check(cspan(message)).error() == WireError::malformed);
    // Pointer past the end of the message.
    message = dns_response(1);
    add_record(message, {0xff, 0xff}, 1, {1, 2, 3, 4});
    CHECK(DnsPacket::check(cspan(message)).error() == WireError::malformed);
    // A pointer cut in half.
    message = dns_response(0);
    message.push_back(0xc0);
    message[7] = 1;
    CHECK(DnsPacket::check(cspan(message)).error() == WireError::truncated);
}

TEST_CASE("dns: pointer chains are bounded")
{
    // A long chain where each pointer points at the previous one: all strictly
    // backward, so only the jump bound stops it.
    std::vector<u8> message = {0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0};
    message.insert(message.end(), {1, 'z', 0});
    usize previous = 12;
    for (usize i = 0; i < DnsName::pointer_jumps_max + 1; i++) {
        usize here = message.size();
        message.insert(message.end(), {0xc0, static_cast<u8>(previous)});
        previous = here;
    }
    // Starting at the last pointer takes one jump more than allowed.
    auto limited = dns_read_name(cspan(message), previous);
    CHECK_FALSE(limited.ok());
    CHECK(limited.error() == WireError::malformed);
    // One jump less is fine, and the name ends right after the first pointer.
    auto fine = dns_read_name(cspan(message), previous - 2);
    REQUIRE(fine.ok());
    CHECK(text(fine.value().name) == "z");
    CHECK(fine.value().end == previous);
}

TEST_CASE("dns: malformed messages")
{
    auto message = dns_response(1);
    CHECK(DnsPacket::check(Bytes(message.data(), 11)).error() == WireError::truncated);
    // Answer count says 1 but nothing follows.
    CHECK(DnsPacket::check(cspan(message)).error() == WireError::truncated);
    // A record with 5 bytes of data.
    message = dns_response(1);
    add_record(message, {0xc0, 12}, 1, {1, 2, 3, 4, 5});
    CHECK(DnsPacket::check(cspan(message)).error() == WireError::bad_length);
    // rdlength past the end.
    message = dns_response(1);
    add_record(message, {0xc0, 12}, 16, {1, 2, 3, 4});
    message.pop_back();
    CHECK(DnsPacket::check(cspan(message)).error() == WireError::truncated);
    // CNAME whose name runs past rdlength.
    message = dns_response(1);
    add_record(message, {0xc0, 12}, 5, {1, 'b', 0xc0, 14, 0});
    CHECK(DnsPacket::check(cspan(message)).error() == WireError::bad_length);
    // Label running off the end of the message.
    message = dns_response(0);
    message[5] = 2;
    message.insert(message.end(), {9, 'a'});
    CHECK(DnsPacket::check(cspan(message)).error() == WireError::truncated);
    // Extended label type 0x40.
    message = dns_response(1);
    add_record(message, {0x41, 0}, 1, {1, 2, 3, 4});
    CHECK(DnsPacket::check(cspan(message)).error() == WireError::unsupported);
    // Too many questions for a stub resolver.
    message = dns_response(0);
    message[5] = DnsPacket::questions_max + 1;
    CHECK(DnsPacket::check(cspan(message)).error() == WireError::unsupported);
    // Unknown record types are walked over; TTLs with the top bit read as 0.
    message = dns_response(1);
    add_record(message, {0xc0, 12}, 99, {1, 2, 3});
    message[message.size() - 9] = 0x80;
    auto packet = DnsPacket::check(cspan(message));
    REQUIRE(packet.ok());
    auto record = packet.value().answers().next();
    REQUIRE(record);
    CHECK(record->ttl_s == 0);
    CHECK(record->rdata.size() == 3);
}
