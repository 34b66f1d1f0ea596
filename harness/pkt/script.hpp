// A packetdrill script as data: the parsed form of the language described in
// packetdrill's documentation (Cardwell et al., USENIX ATC 2013), written here
// from that description. One script is a list of header options
// (`--tolerance_usecs=...`) and timed events: an inbound or outbound TCP
// segment (`<`, `>`), an inbound ICMP error, a system call, a shell command
// in backticks or a python block (`%{ }%`).
//
// The parser throws ParseError (line and message) for anything it does not
// understand, so an unsupported construct is reported as such, never skipped.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace gantry::pkt {

class ParseError : public std::runtime_error {
public:
    ParseError(int line, const std::string& message)
        : std::runtime_error(message), m_line(line)
    {
    }
    int line() const { return m_line; }

private:
    int m_line;
};

// When an event happens, in microseconds of script time.
enum class TimeKind : std::uint8_t {
    absolute, // `1.5`: since the start of the script
    relative, // `+0.1`: after the previous event
    any,      // `*`: outbound packet at whatever time it comes
};

struct EventTime {
    TimeKind kind = TimeKind::absolute;
    std::int64_t usecs = 0;
    // `start...end`: a system call that blocks from start until end.
    std::optional<std::pair<TimeKind, std::int64_t>> end;
};

struct TcpOptionSpec {
    // md5: RFC 2385's signature, `md5 valid` or `md5 invalid` (value 1 or 0);
    // Gantry has no TCP-MD5, so a script that reaches one does not apply.
    enum class Kind : std::uint8_t { eol, nop, mss, wscale, sack_permitted, sack, timestamp, md5 };
    Kind kind = Kind::nop;
    std::uint32_t value = 0;                                  // mss, wscale, md5
    std::vector<std::pair<std::uint32_t, std::uint32_t>> blocks; // sack, relative
    std::uint32_t ts_val = 0;
    std::uint32_t ts_ecr = 0;
};

enum class Direction : std::uint8_t { inbound, outbound };

struct IcmpSpec {
    std::string type; // "unreachable", "time_exceeded", ...
    std::string code; // "port_unreachable", "" when the script gives none
    std::uint32_t seq_start = 0; // the quoted TCP segment, relative to our ISN
    std::uint32_t seq_end = 0;
    std::uint32_t length = 0;
    std::optional<std::uint32_t> mtu;
};

struct PacketSpec {
    Direction direction = Direction::inbound;
    std::string flags; // letters of "SAFRPUEWC", '.' for ACK, in script order
    std::uint32_t seq_start = 0;
    std::uint32_t seq_end = 0;
    std::uint32_t length = 0;
    std::optional<std::uint32_t> ack;
    std::optional<std::uint32_t> window;
    std::optional<std::uint32_t> urgent;
    // nullopt: the script lists no options; `<...>` sets options_any.
    std::optional<std::vector<TcpOptionSpec>> options;
    bool options_any = false;
    std::optional<IcmpSpec> icmp;
    // `(ttl N)`, `(tos N)` before the flags: IPv4 header fields, as written
    // ("ttl 4"). Gantry has no IP_TTL/IP_TOS, so a script reaching one does
    // not apply.
    std::vector<std::string> ip_fields;

    bool has_flag(char flag) const { return flags.find(flag) != std::string::npos; }
};

// A system call argument or result.
struct Expr {
    enum class Kind : std::uint8_t { ellipsis, integer, name, list, bit_or, string };
    Kind kind = Kind::integer;
    std::int64_t value = 0;  // integer
    std::string text;        // name, string
    std::vector<Expr> items; // list, bit_or
};

struct SyscallSpec {
    std::string name;
    std::vector<Expr> args;
    Expr result;
    std::string errno_name; // "EINPROGRESS" when the script expects -1 with errno
};

struct CommandSpec {
    std::string text; // between the backticks
};

struct CodeSpec {
    std::string text; // between %{ and }%
};

struct Event {
    int line = 0;
    EventTime time;
    std::variant<PacketSpec, SyscallSpec, CommandSpec, CodeSpec> body;
};

struct ScriptOption {
    int line = 0;
    std::string name;  // without the leading "--"
    std::string value; // empty for a bare flag
};

struct Script {
    std::vector<ScriptOption> options;
    std::vector<Event> events;
};

// `#ifdef NAME` blocks are kept when NAME is in `defines`.
Script parse_script(const std::string& text, const std::vector<std::string>& defines);

// For messages: the packet as packetdrill writes it.
std::string describe(const PacketSpec& packet);
std::string describe(const TcpOptionSpec& option);

} // namespace gantry::pkt
