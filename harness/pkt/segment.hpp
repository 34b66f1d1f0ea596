// The wire side of the interpreter: decoding the frames the node under test
// sends (Ethernet, ARP, IPv4, TCP; decoded here, independently of the core's
// own parsers, so a bug there cannot hide itself), building the frames the
// script injects, and matching a sent segment against a `>` line.
#pragma once

#include "script.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gantry::pkt {

struct Addresses {
    std::array<std::uint8_t, 6> local_mac{};
    std::array<std::uint8_t, 6> remote_mac{};
    std::uint32_t local_ip = 0;  // host byte order
    std::uint32_t remote_ip = 0;
};

// A TCP segment as it was on the wire, with absolute numbers.
struct WireSegment {
    std::uint16_t source_port = 0;
    std::uint16_t destination_port = 0;
    std::uint32_t seq = 0;
    std::uint32_t ack = 0;
    // FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80
    std::uint8_t flags = 0;
    std::uint16_t window = 0;
    std::uint16_t urgent = 0;
    std::vector<TcpOptionSpec> options; // in wire order, nop and eol included
    std::uint32_t payload_length = 0;
};

struct Frame {
    enum class Kind : std::uint8_t { arp_request, tcp, icmp, other };
    Kind kind = Kind::other;
    std::uint32_t arp_target = 0;    // arp_request: the address asked for
    std::uint32_t arp_sender = 0;
    std::array<std::uint8_t, 6> arp_sender_mac{};
    WireSegment tcp;                 // tcp
    std::string problem;             // why a frame that looked like TCP is malformed
};

Frame decode_frame(const std::uint8_t* data, std::size_t length);

std::vector<std::uint8_t> build_arp_reply(const Addresses& addresses, const Frame& request);
std::vector<std::uint8_t> build_tcp_frame(const Addresses& addresses, const WireSegment& segment);
// An ICMP error quoting `quoted` as if the local node had sent it.
std::vector<std::uint8_t> build_icmp_frame(const Addresses& addresses, std::uint8_t type,
                                           std::uint8_t code, std::uint32_t mtu,
                                           const WireSegment& quoted);

std::uint8_t flag_bits(const std::string& flags);
std::string flag_text(std::uint8_t bits);

// What relative numbers mean in this connection (packetdrill's convention:
// the local ISN for our sequence space, the remote ISN for the peer's).
struct SeqContext {
    std::uint32_t local_isn = 0;
    std::uint32_t remote_isn = 0;
    bool timestamp_ticks_checked = false; // --tcp_ts_tick_usecs given
    std::uint8_t window_shift = 0; // the window scale the node applies to its windows
};

// RFC 9293 3.8.6.2.2 (receiver SWS avoidance): the receiver moves the right
// edge of its window only in steps of min(RCV.BUFF / 2, MSS). A window that is
// smaller than expected by less than one MSS of 1460 bytes is that choice,
// reported as the field "window-sws" instead of "window".
inline constexpr std::uint32_t sws_step_bytes = 1460;

// How TCP options are compared.
enum class OptionMatch : std::uint8_t {
    // The same options with the same values; NOP/EOL padding and the order of
    // options are not compared (they carry no meaning, RFC 9293 3.1).
    semantic,
    strict, // byte layout too: the same list, padding and order included
};

struct Mismatch {
    // What differs, to classify permitted divergences: "flags", "seq", "ack",
    // "length", "window", "window-sws", "options", "dsack".
    std::string field;
    std::string expected;
    std::string actual;
};

// Every difference between a sent segment and a `>` line (empty: it matches).
std::vector<Mismatch> match_segment(const PacketSpec& expected, const WireSegment& actual,
                                    const SeqContext& context, OptionMatch mode);

// The segment as a `>` line would describe it, relative numbers.
std::string describe_actual(const WireSegment& segment, const SeqContext& context);

} // namespace gantry::pkt
