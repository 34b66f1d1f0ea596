// Frame decoding and building for the packetdrill interpreter: Ethernet II
// (IEEE 802.3), ARP (RFC 826), IPv4 (RFC 791), ICMP (RFC 792), TCP (RFC 9293
// 3.1) and its options (RFC 9293 3.2, RFC 7323 2.2 and 3.2, RFC 2018 2 and 3).
#include "segment.hpp"

#include <algorithm>
#include <cstring>

namespace gantry::pkt {

namespace {

constexpr std::size_t ethernet_bytes = 14;
constexpr std::uint16_t ethertype_ipv4 = 0x0800;
constexpr std::uint16_t ethertype_arp = 0x0806;
constexpr std::uint8_t protocol_icmp = 1;
constexpr std::uint8_t protocol_tcp = 6;

std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t get32(const std::uint8_t* p)
{
    return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
           static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}
void put16(std::vector<std::uint8_t>& out, std::uint16_t value)
{
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value));
}
void put32(std::vector<std::uint8_t>& out, std::uint32_t value)
{
    put16(out, static_cast<std::uint16_t>(value >> 16));
    put16(out, static_cast<std::uint16_t>(value));
}
void set16(std::vector<std::uint8_t>& out, std::size_t at, std::uint16_t value)
{
    out[at] = static_cast<std::uint8_t>(value >> 8);
    out[at + 1] = static_cast<std::uint8_t>(value);
}

std::uint32_t sum16(const std::uint8_t* data, std::size_t length, std::uint32_t sum = 0)
{
    for (std::size_t i = 0; i + 1 < length; i += 2)
        sum += get16(data + i);
    if (length % 2 == 1)
        sum += static_cast<std::uint32_t>(data[length - 1]) << 8;
    return sum;
}

std::uint16_t fold(std::uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

// Options in wire order; false when they do not parse (lengths out of range).
bool decode_options(const std::uint8_t* data, std::size_t length,
                    std::vector<TcpOptionSpec>& out)
{
    using Kind = TcpOptionSpec::Kind;
    std::size_t i = 0;
    while (i < length) {
        TcpOptionSpec option;
        std::uint8_t kind = data[i];
        if (kind == 0 || kind == 1) {
            option.kind = kind == 0 ? Kind::eol : Kind::nop;
            out.push_back(option);
            ++i;
            continue;
        }
        if (i + 1 >= length)
            return false;
        std::uint8_t size = data[i + 1];
        if (size < 2 || i + size > length)
            return false;
        const std::uint8_t* body = data + i + 2;
        if (kind == 2 && size == 4) {
            option.kind = Kind::mss;
            option.value = get16(body);
        } else if (kind == 3 && size == 3) {
            option.kind = Kind::wscale;
            option.value = body[0];
        } else if (kind == 4 && size == 2) {
            option.kind = Kind::sack_permitted;
        } else if (kind == 5 && size >= 10 && (size - 2) % 8 == 0) {
            option.kind = Kind::sack;
            for (std::size_t b = 0; b + 8 <= static_cast<std::size_t>(size - 2); b += 8)
                option.blocks.emplace_back(get32(body + b), get32(body + b + 4));
        } else if (kind == 8 && size == 10) {
            option.kind = Kind::timestamp;
            option.ts_val = get32(body);
            option.ts_ecr = get32(body + 4);
        } else {
            return false; // an option the interpreter does not know: shown as malformed
        }
        out.push_back(option);
        i += size;
    }
    return true;
}

void encode_option(std::vector<std::uint8_t>& out, const TcpOptionSpec& option)
{
    using Kind = TcpOptionSpec::Kind;
    switch (option.kind) {
    case Kind::eol: out.push_back(0); break;
    case Kind::nop: out.push_back(1); break;
    case Kind::mss:
        out.insert(out.end(), {2, 4});
        put16(out, static_cast<std::uint16_t>(option.value));
        break;
    case Kind::wscale:
        out.insert(out.end(), {3, 3, static_cast<std::uint8_t>(option.value)});
        break;
    case Kind::sack_permitted: out.insert(out.end(), {4, 2}); break;
    case Kind::sack:
        out.push_back(5);
        out.push_back(static_cast<std::uint8_t>(2 + 8 * option.blocks.size()));
        for (const auto& [left, right] : option.blocks) {
            put32(out, left);
            put32(out, right);
        }
        break;
    case Kind::timestamp:
        out.insert(out.end(), {8, 10});
        put32(out, option.ts_val);
        put32(out, option.ts_ecr);
        break;
    case Kind::md5: // never injected: the runner stops such a script first
        out.insert(out.end(), {19, 18});
        out.insert(out.end(), 16, 0);
        break;
    }
}

void put_ethernet(std::vector<std::uint8_t>& out, const std::array<std::uint8_t, 6>& to,
                  const std::array<std::uint8_t, 6>& from, std::uint16_t type)
{
    out.insert(out.end(), to.begin(), to.end());
    out.insert(out.end(), from.begin(), from.end());
    put16(out, type);
}

// An IPv4 header (20 bytes, no options) from remote to local at `at`.
void put_ipv4(std::vector<std::uint8_t>& out, const Addresses& addresses, std::uint8_t protocol,
              std::size_t payload_bytes)
{
    std::size_t at = out.size();
    out.insert(out.end(), {0x45, 0});
    put16(out, static_cast<std::uint16_t>(20 + payload_bytes));
    put16(out, 0);      // identification
    put16(out, 0x4000); // DF
    out.insert(out.end(), {64, protocol, 0, 0});
    put32(out, addresses.remote_ip);
    put32(out, addresses.local_ip);
    set16(out, at + 10, fold(sum16(out.data() + at, 20)));
}

std::vector<std::uint8_t> tcp_bytes(const WireSegment& segment, bool with_payload)
{
    std::vector<std::uint8_t> options;
    for (const TcpOptionSpec& option : segment.options)
        encode_option(options, option);
    while (options.size() % 4 != 0)
        options.push_back(0); // EOL padding to a 32-bit boundary (RFC 9293 3.1)
    std::vector<std::uint8_t> out;
    put16(out, segment.source_port);
    put16(out, segment.destination_port);
    put32(out, segment.seq);
    put32(out, segment.ack);
    out.push_back(static_cast<std::uint8_t>((20 + options.size()) / 4 << 4));
    out.push_back(segment.flags);
    put16(out, segment.window);
    put16(out, 0); // checksum
    put16(out, segment.urgent);
    out.insert(out.end(), options.begin(), options.end());
    if (with_payload)
        out.resize(out.size() + segment.payload_length, 0);
    return out;
}

} // namespace

std::uint8_t flag_bits(const std::string& flags)
{
    std::uint8_t bits = 0;
    for (char c : flags) {
        switch (c) {
        case 'F': bits |= 0x01; break;
        case 'S': bits |= 0x02; break;
        case 'R': bits |= 0x04; break;
        case 'P': bits |= 0x08; break;
        case '.': case 'A': bits |= 0x10; break;
        case 'U': bits |= 0x20; break;
        case 'E': bits |= 0x40; break;
        case 'W': case 'C': bits |= 0x80; break;
        default: break;
        }
    }
    return bits;
}

std::string flag_text(std::uint8_t bits)
{
    std::string text;
    if (bits & 0x02) text += 'S';
    if (bits & 0x01) text += 'F';
    if (bits & 0x04) text += 'R';
    if (bits & 0x08) text += 'P';
    if (bits & 0x20) text += 'U';
    if (bits & 0x40) text += 'E';
    if (bits & 0x80) text += 'W';
    if (bits & 0x10) text += '.';
    return text;
}

Frame decode_frame(const std::uint8_t* data, std::size_t length)
{
    Frame frame;
    if (length < ethernet_bytes)
        return frame;
    std::uint16_t type = get16(data + 12);
    const std::uint8_t* p = data + ethernet_bytes;
    std::size_t left = length - ethernet_bytes;
    if (type == ethertype_arp) {
        if (left >= 28 && get16(p + 6) == 1) {
            frame.kind = Frame::Kind::arp_request;
            std::memcpy(frame.arp_sender_mac.data(), p + 8, 6);
            frame.arp_sender = get32(p + 14);
            frame.arp_target = get32(p + 24);
        }
        return frame;
    }
    if (type != ethertype_ipv4 || left < 20 || (p[0] >> 4) != 4)
        return frame;
    std::size_t header = static_cast<std::size_t>(p[0] & 0x0f) * 4;
    std::size_t total = get16(p + 2);
    if (header < 20 || total < header || total > left) {
        frame.kind = Frame::Kind::tcp;
        frame.problem = "malformed IPv4 header";
        return frame;
    }
    if (p[9] == protocol_icmp) {
        frame.kind = Frame::Kind::icmp;
        return frame;
    }
    if (p[9] != protocol_tcp)
        return frame;
    frame.kind = Frame::Kind::tcp;
    const std::uint8_t* t = p + header;
    std::size_t tcp_length = total - header;
    if (tcp_length < 20 || (t[12] >> 4) * 4u < 20 || (t[12] >> 4) * 4u > tcp_length) {
        frame.problem = "malformed TCP header";
        return frame;
    }
    std::uint32_t pseudo = sum16(p + 12, 8) + protocol_tcp + static_cast<std::uint32_t>(tcp_length);
    if (fold(sum16(t, tcp_length, pseudo)) != 0)
        frame.problem = "bad TCP checksum";
    WireSegment& s = frame.tcp;
    s.source_port = get16(t);
    s.destination_port = get16(t + 2);
    s.seq = get32(t + 4);
    s.ack = get32(t + 8);
    s.flags = t[13];
    s.window = get16(t + 14);
    s.urgent = get16(t + 18);
    std::size_t offset = static_cast<std::size_t>(t[12] >> 4) * 4;
    if (!decode_options(t + 20, offset - 20, s.options) && frame.problem.empty())
        frame.problem = "malformed or unknown TCP option";
    s.payload_length = static_cast<std::uint32_t>(tcp_length - offset);
    return frame;
}

std::vector<std::uint8_t> build_arp_reply(const Addresses& addresses, const Frame& request)
{
    std::vector<std::uint8_t> out;
    put_ethernet(out, request.arp_sender_mac, addresses.remote_mac, ethertype_arp);
    put16(out, 1);      // Ethernet
    put16(out, ethertype_ipv4);
    out.insert(out.end(), {6, 4});
    put16(out, 2);      // reply
    out.insert(out.end(), addresses.remote_mac.begin(), addresses.remote_mac.end());
    put32(out, request.arp_target);
    out.insert(out.end(), request.arp_sender_mac.begin(), request.arp_sender_mac.end());
    put32(out, request.arp_sender);
    return out;
}

std::vector<std::uint8_t> build_tcp_frame(const Addresses& addresses, const WireSegment& segment)
{
    std::vector<std::uint8_t> tcp = tcp_bytes(segment, true);
    std::vector<std::uint8_t> pseudo;
    put32(pseudo, addresses.remote_ip);
    put32(pseudo, addresses.local_ip);
    std::uint32_t sum =
        sum16(pseudo.data(), 8) + protocol_tcp + static_cast<std::uint32_t>(tcp.size());
    set16(tcp, 16, fold(sum16(tcp.data(), tcp.size(), sum)));
    std::vector<std::uint8_t> out;
    put_ethernet(out, addresses.local_mac, addresses.remote_mac, ethertype_ipv4);
    put_ipv4(out, addresses, protocol_tcp, tcp.size());
    out.insert(out.end(), tcp.begin(), tcp.end());
    return out;
}

std::vector<std::uint8_t> build_icmp_frame(const Addresses& addresses, std::uint8_t type,
                                           std::uint8_t code, std::uint32_t mtu,
                                           const WireSegment& quoted)
{
    // The quoted datagram: the IPv4 header the local node would have sent and
    // the first 8 bytes of its TCP header (RFC 792; enough for ports and seq).
    std::vector<std::uint8_t> inner;
    std::vector<std::uint8_t> tcp = tcp_bytes(quoted, false);
    inner.insert(inner.end(), {0x45, 0});
    put16(inner, static_cast<std::uint16_t>(20 + tcp.size() + quoted.payload_length));
    put16(inner, 0);
    put16(inner, 0x4000);
    inner.insert(inner.end(), {64, protocol_tcp, 0, 0});
    put32(inner, addresses.local_ip);
    put32(inner, addresses.remote_ip);
    set16(inner, 10, fold(sum16(inner.data(), 20)));
    inner.insert(inner.end(), tcp.begin(), tcp.begin() + 8);

    std::vector<std::uint8_t> icmp{type, code, 0, 0};
    put16(icmp, 0);
    put16(icmp, static_cast<std::uint16_t>(mtu)); // next-hop MTU (RFC 1191) or unused
    icmp.insert(icmp.end(), inner.begin(), inner.end());
    set16(icmp, 2, fold(sum16(icmp.data(), icmp.size())));

    std::vector<std::uint8_t> out;
    put_ethernet(out, addresses.local_mac, addresses.remote_mac, ethertype_ipv4);
    put_ipv4(out, addresses, protocol_icmp, icmp.size());
    out.insert(out.end(), icmp.begin(), icmp.end());
    return out;
}

namespace {

// The options without padding, in a canonical order, with relative SACK
// blocks; what the semantic comparison looks at.
std::vector<TcpOptionSpec> meaningful(const std::vector<TcpOptionSpec>& options)
{
    std::vector<TcpOptionSpec> out;
    for (const TcpOptionSpec& option : options)
        if (option.kind != TcpOptionSpec::Kind::nop && option.kind != TcpOptionSpec::Kind::eol)
            out.push_back(option);
    std::stable_sort(out.begin(), out.end(), [](const TcpOptionSpec& a, const TcpOptionSpec& b) {
        return a.kind < b.kind;
    });
    return out;
}

bool same_option(const TcpOptionSpec& expected, const TcpOptionSpec& actual,
                 const SeqContext& context)
{
    using Kind = TcpOptionSpec::Kind;
    if (expected.kind != actual.kind)
        return false;
    switch (expected.kind) {
    case Kind::mss:
    case Kind::wscale: return expected.value == actual.value;
    case Kind::sack: return expected.blocks == actual.blocks;
    case Kind::timestamp:
        // packetdrill checks TS val only with --tcp_ts_tick_usecs; ecr echoes
        // the script's own inbound value, so it is compared as written.
        return actual.ts_ecr == expected.ts_ecr &&
               (!context.timestamp_ticks_checked || actual.ts_val == expected.ts_val);
    default: return true;
    }
}

std::string option_list(const std::vector<TcpOptionSpec>& options)
{
    if (options.empty())
        return "(none)";
    std::string text = "<";
    for (std::size_t i = 0; i < options.size(); ++i)
        text += (i ? "," : "") + describe(options[i]);
    return text + ">";
}

// Absolute SACK edges of a sent segment (they acknowledge the peer's data)
// as offsets from the remote ISN.
std::vector<TcpOptionSpec> relative_options(const WireSegment& segment, const SeqContext& context)
{
    std::vector<TcpOptionSpec> options = segment.options;
    for (TcpOptionSpec& option : options)
        for (auto& [left, right] : option.blocks) {
            left -= context.remote_isn;
            right -= context.remote_isn;
        }
    return options;
}

bool same_options(const std::vector<TcpOptionSpec>& want, const std::vector<TcpOptionSpec>& got,
                  const SeqContext& context, OptionMatch mode)
{
    std::vector<TcpOptionSpec> a = mode == OptionMatch::strict ? want : meaningful(want);
    std::vector<TcpOptionSpec> b = mode == OptionMatch::strict ? got : meaningful(got);
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!same_option(a[i], b[i], context))
            return false;
    return true;
}

// RFC 2883 (D-SACK): the script expects the first SACK block to report a
// duplicate (below the ACK, or inside the second block). Gantry does not send
// D-SACK; when that block is all that differs, the field is "dsack".
bool reports_dsack(const PacketSpec& expected, std::vector<TcpOptionSpec> want,
                   const std::vector<TcpOptionSpec>& got, const SeqContext& context,
                   OptionMatch mode)
{
    for (std::size_t i = 0; i < want.size(); ++i) {
        TcpOptionSpec& option = want[i];
        if (option.kind != TcpOptionSpec::Kind::sack || option.blocks.empty())
            continue;
        auto [left, right] = option.blocks[0];
        bool below_ack = expected.ack && static_cast<std::int32_t>(right - *expected.ack) <= 0;
        bool inside_next = option.blocks.size() > 1 &&
                           static_cast<std::int32_t>(left - option.blocks[1].first) >= 0 &&
                           static_cast<std::int32_t>(option.blocks[1].second - right) >= 0;
        if (!below_ack && !inside_next)
            return false;
        option.blocks.erase(option.blocks.begin());
        if (option.blocks.empty()) {
            want.erase(want.begin() + static_cast<std::ptrdiff_t>(i));
            // The NOP,NOP that aligned the option go with it (strict layout).
            if (mode == OptionMatch::strict)
                std::erase_if(want, [](const TcpOptionSpec& o) {
                    return o.kind == TcpOptionSpec::Kind::nop;
                });
        }
        return same_options(want, got, context, mode);
    }
    return false;
}

} // namespace

std::string describe_actual(const WireSegment& segment, const SeqContext& context)
{
    std::uint32_t start = segment.seq - context.local_isn;
    std::string text = "> " + flag_text(segment.flags) + " " + std::to_string(start) + ":" +
                       std::to_string(start + segment.payload_length) + "(" +
                       std::to_string(segment.payload_length) + ")";
    if (segment.flags & 0x10)
        text += " ack " + std::to_string(segment.ack - context.remote_isn);
    text += " win " + std::to_string(segment.window);
    std::vector<TcpOptionSpec> options = relative_options(segment, context);
    if (!options.empty())
        text += " " + option_list(options);
    return text;
}

std::vector<Mismatch> match_segment(const PacketSpec& expected, const WireSegment& actual,
                                    const SeqContext& context, OptionMatch mode)
{
    std::vector<Mismatch> out;
    auto differ = [&out](const char* field, std::string want, std::string got) {
        out.push_back({field, std::move(want), std::move(got)});
    };
    std::uint8_t want_flags = flag_bits(expected.flags);
    if (want_flags != actual.flags)
        differ("flags", flag_text(want_flags), flag_text(actual.flags));
    std::uint32_t seq = actual.seq - context.local_isn;
    if (seq != expected.seq_start)
        differ("seq", std::to_string(expected.seq_start), std::to_string(seq));
    if (actual.payload_length != expected.length)
        differ("length", std::to_string(expected.length), std::to_string(actual.payload_length));
    if (expected.ack) {
        std::uint32_t ack = actual.ack - context.remote_isn;
        if (!(actual.flags & 0x10))
            differ("ack", std::to_string(*expected.ack), "no ACK flag");
        else if (ack != *expected.ack)
            differ("ack", std::to_string(*expected.ack), std::to_string(ack));
    }
    if (expected.window && *expected.window != actual.window) {
        std::uint32_t shortfall = (*expected.window - actual.window) << context.window_shift;
        bool sws = actual.window < *expected.window && shortfall < sws_step_bytes;
        differ(sws ? "window-sws" : "window", std::to_string(*expected.window),
               std::to_string(actual.window));
    }
    if (expected.options_any)
        return out;
    std::vector<TcpOptionSpec> want = expected.options.value_or(std::vector<TcpOptionSpec>{});
    std::vector<TcpOptionSpec> got = relative_options(actual, context);
    bool equal = same_options(want, got, context, mode);
    if (!equal && reports_dsack(expected, want, got, context, mode))
        differ("dsack", option_list(want), option_list(got));
    else if (!equal)
        differ("options", option_list(want), option_list(got));
    return out;
}

} // namespace gantry::pkt
