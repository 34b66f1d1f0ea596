// The segment side of the interpreter: frames it builds decode back to what
// was asked for, checksums included, and the matcher reports every field that
// differs from a `>` line, relative to the ISNs.
#include "script.hpp"
#include "segment.hpp"

#include <catch2/catch.hpp>

using namespace gantry::pkt;

namespace {

PacketSpec outbound(const std::string& line)
{
    Script script = parse_script("+0 " + line + "\n", {});
    return std::get<PacketSpec>(script.events.at(0).body);
}

Addresses addresses()
{
    Addresses a;
    a.local_mac = {2, 0, 0, 0, 0, 0};
    a.remote_mac = {2, 0, 0, 0, 1, 0};
    a.local_ip = 0xc0a80001;
    a.remote_ip = 0xc0a80002;
    return a;
}

TcpOptionSpec option(TcpOptionSpec::Kind kind, std::uint32_t value = 0)
{
    TcpOptionSpec o;
    o.kind = kind;
    o.value = value;
    return o;
}

} // namespace

TEST_CASE("pkt segment: a built frame decodes to the same segment", "[pkt]")
{
    WireSegment segment;
    segment.source_port = 50000;
    segment.destination_port = 8080;
    segment.seq = 0xfffffff0;
    segment.ack = 12345;
    segment.flags = flag_bits("S.");
    segment.window = 65535;
    segment.options = {option(TcpOptionSpec::Kind::mss, 1460),
                       option(TcpOptionSpec::Kind::sack_permitted)};
    segment.payload_length = 3;
    std::vector<std::uint8_t> frame = build_tcp_frame(addresses(), segment);
    Frame decoded = decode_frame(frame.data(), frame.size());
    REQUIRE(decoded.kind == Frame::Kind::tcp);
    CHECK(decoded.problem.empty()); // the checksum is right
    CHECK(decoded.tcp.seq == segment.seq);
    CHECK(decoded.tcp.ack == segment.ack);
    CHECK(decoded.tcp.flags == 0x12);
    CHECK(decoded.tcp.payload_length == 3);
    REQUIRE(decoded.tcp.options.size() == 4); // 6 option bytes, padded with two EOLs
    CHECK(decoded.tcp.options[0].value == 1460);
    CHECK(decoded.tcp.options[3].kind == TcpOptionSpec::Kind::eol);

    frame[frame.size() - 1] ^= 1; // a payload bit flipped
    CHECK(decode_frame(frame.data(), frame.size()).problem == "bad TCP checksum");
}

TEST_CASE("pkt segment: ARP requests are answered for the remote address", "[pkt]")
{
    std::vector<std::uint8_t> request = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 0, 0x08, 0x06, // Ethernet
        0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 0, 192, 168, 0, 1,         // sender
        0, 0, 0, 0, 0, 0, 192, 168, 0, 2};                                  // target
    Frame frame = decode_frame(request.data(), request.size());
    REQUIRE(frame.kind == Frame::Kind::arp_request);
    CHECK(frame.arp_target == 0xc0a80002);
    std::vector<std::uint8_t> reply = build_arp_reply(addresses(), frame);
    REQUIRE(reply.size() == 42);
    CHECK(reply[21] == 2); // opcode: reply
    CHECK(decode_frame(reply.data(), reply.size()).kind == Frame::Kind::other);
}

TEST_CASE("pkt segment: the matcher compares relative numbers", "[pkt]")
{
    SeqContext context{.local_isn = 1000, .remote_isn = 5000};
    WireSegment sent;
    sent.seq = 1001;
    sent.ack = 5002;
    sent.flags = flag_bits("F.");
    sent.window = 65535;
    CHECK(match_segment(outbound("> F. 1:1(0) ack 2 win 65535"), sent, context,
                        OptionMatch::semantic)
              .empty());
    CHECK(match_segment(outbound("> F. 1:1(0) ack 2"), sent, context, OptionMatch::semantic)
              .empty()); // no 'win': not compared

    auto differences = match_segment(outbound("> . 2:2(0) ack 3 win 1000"), sent, context,
                                     OptionMatch::semantic);
    REQUIRE(differences.size() == 4);
    CHECK(differences[0].field == "flags");
    CHECK(differences[0].expected == ".");
    CHECK(differences[0].actual == "F.");
    CHECK(differences[1].field == "seq");
    CHECK(differences[1].actual == "1");
    CHECK(differences[2].field == "ack");
    CHECK(differences[3].field == "window");
    CHECK(describe_actual(sent, context) == "> F. 1:1(0) ack 2 win 65535");
}

TEST_CASE("pkt segment: options compare by meaning or by layout", "[pkt]")
{
    SeqContext context{.local_isn = 0, .remote_isn = 100};
    WireSegment sent;
    sent.flags = flag_bits("S.");
    sent.ack = 101;
    sent.window = 65535;
    sent.options = {option(TcpOptionSpec::Kind::mss, 1460), option(TcpOptionSpec::Kind::nop),
                    option(TcpOptionSpec::Kind::nop),
                    option(TcpOptionSpec::Kind::sack_permitted)};
    PacketSpec freebsd = outbound("> S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,eol,eol>");
    CHECK(match_segment(freebsd, sent, context, OptionMatch::semantic).empty());
    auto strict = match_segment(freebsd, sent, context, OptionMatch::strict);
    REQUIRE(strict.size() == 1);
    CHECK(strict[0].field == "options");
    CHECK(strict[0].actual == "<mss 1460,nop,nop,sackOK>");

    PacketSpec other_mss = outbound("> S. 0:0(0) ack 1 <mss 536,sackOK>");
    CHECK(match_segment(other_mss, sent, context, OptionMatch::semantic).size() == 1);
    PacketSpec none = outbound("> S. 0:0(0) ack 1");
    CHECK(match_segment(none, sent, context, OptionMatch::semantic).size() == 1);
    PacketSpec any = outbound("> S. 0:0(0) ack 1 <...>");
    CHECK(match_segment(any, sent, context, OptionMatch::semantic).empty());

    // SACK blocks of a sent segment are relative to the peer's ISN.
    TcpOptionSpec sack = option(TcpOptionSpec::Kind::sack);
    sack.blocks = {{116, 132}};
    sent.options = {option(TcpOptionSpec::Kind::nop), option(TcpOptionSpec::Kind::nop), sack};
    sent.flags = flag_bits(".");
    CHECK(match_segment(outbound("> . 0:0(0) ack 1 <nop,nop,sack 16:32>"), sent, context,
                        OptionMatch::strict)
              .empty());
    CHECK(match_segment(outbound("> . 0:0(0) ack 1 <nop,nop,sack 16:33>"), sent, context,
                        OptionMatch::semantic)
              .size() == 1);
}

TEST_CASE("pkt segment: timestamps compare ecr, and val only when ticks are set", "[pkt]")
{
    SeqContext context;
    WireSegment sent;
    sent.flags = flag_bits("S");
    TcpOptionSpec ts = option(TcpOptionSpec::Kind::timestamp);
    ts.ts_val = 987654;
    ts.ts_ecr = 0;
    sent.options = {ts};
    CHECK(match_segment(outbound("> S 0:0(0) <TS val 100 ecr 0>"), sent, context,
                        OptionMatch::semantic)
              .empty());
    CHECK(match_segment(outbound("> S 0:0(0) <TS val 100 ecr 5>"), sent, context,
                        OptionMatch::semantic)
              .size() == 1);
    context.timestamp_ticks_checked = true;
    CHECK(match_segment(outbound("> S 0:0(0) <TS val 100 ecr 0>"), sent, context,
                        OptionMatch::semantic)
              .size() == 1);
}

TEST_CASE("pkt segment: malformed frames are reported, not trusted", "[pkt]")
{
    WireSegment segment;
    segment.options = {option(TcpOptionSpec::Kind::mss, 1460)};
    std::vector<std::uint8_t> frame = build_tcp_frame(addresses(), segment);
    frame[14 + 20 + 12] = 0xf0; // data offset 60 bytes: past the end
    CHECK(decode_frame(frame.data(), frame.size()).problem == "malformed TCP header");
    CHECK(decode_frame(frame.data(), 10).kind == Frame::Kind::other);
    std::vector<std::uint8_t> icmp = build_icmp_frame(addresses(), 3, 3, 0, segment);
    CHECK(decode_frame(icmp.data(), icmp.size()).kind == Frame::Kind::icmp);
}
