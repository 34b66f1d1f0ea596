// The replay engine. Plan: walk the capture once, decide who is the server,
// sort every frame into a conversation (ARP per client, ICMP echo per
// identifier, UDP and TCP per flow) and note, for each client frame, how far
// the recorded server had got in that conversation before it (its
// dependency). Run: boot the app on a target (target.hpp: a simulated node, a
// hosted process or a VM) with the server's address, send each client frame
// at its time once the node has caught up, rewrite TCP acks to the node's ISN,
// answer the node's ARP, and collect what the node sends. Judge: compare the
// two sides of every conversation with per-protocol rules; the earliest
// difference wins. Planning, feeding and judging are the same for every
// target, so a difference between targets is the app's, not the replay's.
#include "replay.hpp"
#include "target.hpp"

#include <gantry/net/tcp/wire.hpp>
#include <gantry/net/wire/arp.hpp>
#include <gantry/net/wire/ethernet.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>

namespace gantry::harness::replay {

namespace {

using net::Ipv4Address;
using net::MacAddress;
using net::TcpFlags;

// A TCP stream longer than this is not reassembled further (the comparison
// reports it as too long rather than using unbounded memory).
constexpr u64 tcp_stream_bytes_max = 64 * 1024 * 1024;
constexpr usize context_lines_max = 4;
constexpr TimeNs asap_gap_ns = 1 * ns_per_us;

std::string fmt(const char* format, auto... values)
{
    char buffer[512];
    std::snprintf(buffer, sizeof buffer, format, values...);
    return buffer;
}

// --- one side of a conversation -------------------------------------------

struct Side {
    std::vector<Item> items;  // discrete messages, or TCP data segments
    std::vector<Item> events; // TCP: SYN, FIN and RST segments, deduplicated
    std::vector<u8> stream;   // TCP: the reassembled payload bytes
    std::map<u64, std::vector<u8>> pending; // TCP: data past a hole
    bool stream_overflow = false;
    std::optional<u32> isn;   // TCP: the server's initial sequence number
    std::optional<u32> syn_tsval;

    u64 progress() const { return items.size() + events.size() + stream.size(); }
};

struct Conversation {
    std::string key;
    Proto proto;
    Side expected;
    Side actual;
    std::vector<Item> client; // the recorded client frames, for context
    TimeNs first_time = 0;
};

void add_stream_bytes(Side& side, u64 offset, const std::vector<u8>& bytes)
{
    if (bytes.empty() || side.stream_overflow)
        return;
    if (offset + bytes.size() > tcp_stream_bytes_max) {
        side.stream_overflow = true;
        return;
    }
    if (offset > side.stream.size()) {
        side.pending.emplace(offset, bytes); // an earlier copy wins: retransmits repeat it
        return;
    }
    u64 end = offset + bytes.size();
    if (end > side.stream.size())
        side.stream.insert(side.stream.end(), bytes.begin() + (side.stream.size() - offset),
                           bytes.end());
    while (!side.pending.empty() && side.pending.begin()->first <= side.stream.size()) {
        auto next = side.pending.extract(side.pending.begin());
        add_stream_bytes(side, next.key(), next.mapped());
    }
}

// A server segment into its side: SYN/FIN/RST as events (retransmissions
// dropped), payload into the stream. Pure ACKs leave no trace: how often a
// stack acknowledges depends on timing the comparison does not hold fixed.
void add_tcp_segment(Side& side, const Packet& packet, TimeNs time, u64 ref)
{
    if ((packet.flags & TcpFlags::syn) && !side.isn) {
        side.isn = packet.seq;
        side.syn_tsval = packet.tsval;
    }
    u8 control = packet.flags & (TcpFlags::syn | TcpFlags::fin | TcpFlags::rst);
    u64 offset = 0;
    bool offset_known = side.isn.has_value();
    if (offset_known)
        offset = static_cast<u32>(packet.seq - *side.isn - 1);
    if (control) {
        u8 shown = packet.flags & (control | TcpFlags::ack);
        std::string summary = tcp_flags_text(shown);
        if (offset_known && !(packet.flags & TcpFlags::syn))
            summary += fmt(" at stream offset %llu",
                           static_cast<unsigned long long>(offset + packet.payload.size()));
        bool repeated = std::any_of(side.events.begin(), side.events.end(),
                                    [&](const Item& e) { return e.summary == summary; });
        if (!repeated)
            side.events.push_back({time, ref, summary, {}, 0});
    }
    if (!packet.payload.empty() && offset_known) {
        side.items.push_back({time, ref,
                              fmt("data at offset %llu, %zu bytes",
                                  static_cast<unsigned long long>(offset), packet.payload.size()),
                              {}, offset, packet.payload.size()});
        add_stream_bytes(side, offset, packet.payload);
    }
}

// --- the plan ---------------------------------------------------------------

struct ClientSend {
    std::vector<u8> frame;
    Packet packet;
    u64 record = 0;
    TimeNs offset_ns = 0;        // since the first selected frame
    std::string conversation;
    u64 depends_on = 0;          // the conversation's recorded server progress before it
};

struct Plan {
    Ipv4Address server;
    MacAddress server_mac;
    std::map<u32, MacAddress> client_macs; // by client IP (host order)
    std::vector<ClientSend> sends;
    std::map<std::string, Conversation> conversations;
    std::vector<std::string> order; // conversation keys by first appearance
    ReplayResult counts;
};

std::string conversation_key(const Packet& packet, Ipv4Address client, bool from_client)
{
    std::string ip = format_ip(client);
    u16 client_port = from_client ? packet.source_port : packet.destination_port;
    u16 server_port = from_client ? packet.destination_port : packet.source_port;
    switch (packet.proto) {
    case Proto::arp: return "arp " + ip;
    case Proto::icmp:
        if (packet.icmp_type == 0 || packet.icmp_type == 8)
            return fmt("icmp echo %s id %u", ip.c_str(), packet.icmp_ident);
        return fmt("icmp %s type %u", ip.c_str(), packet.icmp_type);
    case Proto::udp: return fmt("udp %s:%u <> port %u", ip.c_str(), client_port, server_port);
    case Proto::tcp: return fmt("tcp %s:%u <> port %u", ip.c_str(), client_port, server_port);
    case Proto::ipv4_fragment:
        return fmt("ipv4 fragments %s protocol %u", ip.c_str(), packet.ip_protocol);
    default: return fmt("ipv4 %s protocol %u", ip.c_str(), packet.ip_protocol);
    }
}

Conversation& conversation(Plan& plan, const std::string& key, Proto proto, TimeNs time)
{
    auto found = plan.conversations.find(key);
    if (found != plan.conversations.end())
        return found->second;
    plan.order.push_back(key);
    Conversation& made = plan.conversations[key];
    made.key = key;
    made.proto = proto;
    made.first_time = time;
    return made;
}

// What is compared of a server message (besides the payload): everything the
// protocol fixes, nothing that is free (IP identification, checksums, the MAC
// the simulator gives the node, which both sides show as <server>).
std::string message_summary(const Packet& packet, MacAddress server_mac)
{
    auto mac = [&](MacAddress m) { return m == server_mac ? std::string("<server>") : format_mac(m); };
    switch (packet.proto) {
    case Proto::arp:
        return fmt("ARP %s %s (%s) to %s (%s)", packet.arp_operation == 2 ? "reply" : "request",
                   format_ip(packet.arp_sender_ip).c_str(), mac(packet.arp_sender_mac).c_str(),
                   format_ip(packet.arp_target_ip).c_str(), mac(packet.arp_target_mac).c_str());
    case Proto::icmp:
        return fmt("ICMP type %u code %u id %u seq %u ttl %u, %zu bytes", packet.icmp_type,
                   packet.icmp_code, packet.icmp_ident, packet.icmp_sequence, packet.ttl,
                   packet.payload.size());
    case Proto::udp:
        return fmt("UDP %u > %u ttl %u, %zu bytes", packet.source_port, packet.destination_port,
                   packet.ttl, packet.payload.size());
    case Proto::ipv4_fragment:
        return fmt("IPv4 fragment protocol %u offset %u%s ttl %u, %zu bytes", packet.ip_protocol,
                   packet.fragment_offset, packet.more_fragments ? " MF" : "", packet.ttl,
                   packet.payload.size());
    default:
        return fmt("IPv4 protocol %u ttl %u, %zu bytes", packet.ip_protocol, packet.ttl,
                   packet.payload.size());
    }
}

std::string client_summary(const Packet& packet)
{
    if (packet.proto == Proto::tcp)
        return fmt("TCP %u > %u %s, %zu bytes", packet.source_port, packet.destination_port,
                   tcp_flags_text(packet.flags).c_str(), packet.payload.size());
    return message_summary(packet, MacAddress{});
}

bool is_first_syn(const Packet& p)
{
    return p.proto == Proto::tcp && (p.flags & TcpFlags::syn) && !(p.flags & TcpFlags::ack);
}

// The recorded server: named by the user, or the peer the named client talked
// to, or whoever received the first connection attempt, echo request or datagram.
Ipv4Address find_server(const std::vector<Packet>& packets, const ReplayOptions& options,
                        const std::string& path)
{
    if (options.server)
        return *options.server;
    if (options.client) {
        for (const Packet& p : packets)
            if (p.is_ip() && p.source_ip == *options.client)
                return p.destination_ip;
        throw CaptureError(path + ": no IPv4 packet from the client " +
                           format_ip(*options.client) + " among the selected frames");
    }
    auto first = [&](auto predicate) -> std::optional<Ipv4Address> {
        for (const Packet& p : packets)
            if (predicate(p))
                return p.destination_ip;
        return std::nullopt;
    };
    if (auto found = first(is_first_syn))
        return *found;
    // An echo request, whole or the first fragment of a large one.
    if (auto found = first([](const Packet& p) {
            bool first_fragment = p.proto == Proto::ipv4_fragment && p.fragment_offset == 0 &&
                                  p.ip_protocol == 1 && !p.payload.empty();
            return (p.proto == Proto::icmp && p.icmp_type == 8) ||
                   (first_fragment && p.payload[0] == 8);
        }))
        return *found;
    if (auto found = first([](const Packet& p) {
            return p.proto == Proto::udp && !p.destination_ip.is_broadcast();
        }))
        return *found;
    throw CaptureError(path + ": cannot tell which host is the server (no TCP SYN, echo "
                              "request or UDP datagram); name it with --server IP");
}

void require_whole(const CapturedFrame& frame, const std::string& path)
{
    if (frame.truncated)
        throw CaptureError(path + ": record " + std::to_string(frame.record) + " was cut to " +
                           std::to_string(frame.ethernet.size()) + " of " +
                           std::to_string(frame.wire_len) +
                           " bytes when captured (snap length); capture with -s 0, or leave "
                           "such frames out with --filter");
}

MacAddress synthetic_mac(Ipv4Address ip)
{
    u32 value = ip.to_u32();
    return {{0x02, 0x72, static_cast<u8>(value >> 24), static_cast<u8>(value >> 16),
             static_cast<u8>(value >> 8), static_cast<u8>(value)}};
}

void plan_client_frame(Plan& plan, const CapturedFrame& frame, const Packet& packet,
                       TimeNs offset)
{
    Ipv4Address client = packet.proto == Proto::arp ? packet.arp_sender_ip : packet.source_ip;
    MacAddress mac = packet.source_mac.is_zero() ? synthetic_mac(client) : packet.source_mac;
    plan.client_macs.emplace(client.to_u32(), mac);
    std::string key = conversation_key(packet, client, true);
    Conversation& conv = conversation(plan, key, packet.proto, offset);
    conv.client.push_back({offset, frame.record, client_summary(packet), {}, 0});
    ClientSend send{frame.ethernet, packet, frame.record, offset, key, conv.expected.progress()};
    // A cooked capture's frame gets its source MAC here (the header had none).
    for (usize i = 0; i < 6; ++i)
        send.frame[6 + i] = mac.octets[i];
    plan.sends.push_back(std::move(send));
}

void plan_server_frame(Plan& plan, const CapturedFrame& frame, const Packet& packet,
                       TimeNs offset)
{
    ++plan.counts.server_frames;
    if (!packet.source_mac.is_zero())
        plan.server_mac = packet.source_mac;
    if (packet.proto == Proto::arp && packet.arp_operation != 2) {
        ++plan.counts.server_arp_requests;
        return;
    }
    Ipv4Address client = packet.proto == Proto::arp ? packet.arp_target_ip : packet.destination_ip;
    if (packet.proto == Proto::arp && client == plan.server) {
        ++plan.counts.server_arp_requests; // a gratuitous reply: an announcement
        return;
    }
    Conversation& conv =
        conversation(plan, conversation_key(packet, client, false), packet.proto, offset);
    if (packet.proto == Proto::tcp) {
        add_tcp_segment(conv.expected, packet, offset, frame.record);
        return;
    }
    conv.expected.items.push_back(
        {offset, frame.record, message_summary(packet, plan.server_mac), packet.payload, 0});
}

enum class Role : u8 { client, client_skipped, server, other };

Role role_of(const Packet& packet, Ipv4Address server, const ReplayOptions& options)
{
    if (packet.proto == Proto::arp) {
        // With --client, the server's ARP to other hosts is not this replay's.
        if (packet.arp_sender_ip == server)
            return options.client && packet.arp_target_ip != *options.client &&
                           packet.arp_target_ip != server
                       ? Role::other
                       : Role::server;
        if (packet.arp_target_ip != server ||
            (options.client && packet.arp_sender_ip != *options.client))
            return Role::other;
        return packet.arp_operation == 1 ? Role::client : Role::client_skipped;
    }
    if (!packet.is_ip())
        return Role::other;
    if (packet.source_ip == server &&
        (!options.client || packet.destination_ip == *options.client))
        return Role::server;
    if (packet.destination_ip == server &&
        (!options.client || packet.source_ip == *options.client))
        return Role::client;
    return Role::other;
}

Plan make_plan(const Capture& capture, const ReplayOptions& options)
{
    // A frame cut by the snap length cannot be fed or compared whole.
    for (const CapturedFrame& frame : capture.frames)
        require_whole(frame, capture.path);
    std::vector<Packet> packets;
    packets.reserve(capture.frames.size());
    for (const CapturedFrame& frame : capture.frames)
        packets.push_back(decode(frame.ethernet, Checksums::skip));
    Plan plan;
    plan.server = find_server(packets, options, capture.path);
    TimeNs start = capture.frames.empty() ? 0 : capture.frames.front().time_ns;
    // The server's MAC first, so ARP summaries of early frames normalise it too.
    for (usize i = 0; i < packets.size(); ++i)
        if (role_of(packets[i], plan.server, options) == Role::server &&
            !packets[i].source_mac.is_zero()) {
            plan.server_mac = packets[i].source_mac;
            break;
        }
    for (usize i = 0; i < packets.size(); ++i) {
        const CapturedFrame& frame = capture.frames[i];
        TimeNs offset = frame.time_ns - start;
        switch (role_of(packets[i], plan.server, options)) {
        case Role::client:
            plan_client_frame(plan, frame, packets[i], offset);
            break;
        case Role::server:
            plan_server_frame(plan, frame, packets[i], offset);
            break;
        case Role::client_skipped: ++plan.counts.client_frames_skipped; break;
        case Role::other: ++plan.counts.other_frames; break;
        }
    }
    if (plan.sends.empty())
        throw CaptureError(capture.path + ": no frame from a client to the server " +
                           format_ip(plan.server) + " among the " +
                           std::to_string(capture.frames.size()) +
                           " selected frames; check --filter, --server and --client");
    return plan;
}

// --- the run ----------------------------------------------------------------

// Feeds the plan's client frames to a target and sorts what the app sends
// into the conversations. The same for every target: only how time passes and
// how frames travel differ (target.hpp).
class Runner {
public:
    Runner(Plan& plan, const ReplayOptions& options, Target& target)
        : m_plan(plan), m_options(options), m_target(target),
          m_node_ip(options.node_ip.value_or(plan.server))
    {
    }

    void run(ReplayResult& result)
    {
        m_target.start({.ip = m_node_ip, .prefix = m_options.prefix,
                        .gateway = off_link_client()});
        m_node_mac = m_target.node_mac();
        m_start = m_target.now() + m_options.warmup_ns;
        TimeNs last_sent = m_start;
        for (ClientSend& send : m_plan.sends) {
            if (m_target.stopped())
                break;
            TimeNs due = m_options.timing == Timing::asap
                             ? last_sent + asap_gap_ns
                             : m_start + static_cast<TimeNs>(static_cast<double>(send.offset_ns) *
                                                             m_options.scale);
            run_to(std::max(due, m_target.now()));
            wait_for_answers(send);
            transmit(send);
            last_sent = m_target.now();
        }
        settle();
        m_target.finish(result);
        result.node_frames = m_node_frames;
        result.node_arp_requests = m_node_arp_requests;
        result.arp_answered = m_arp_answered;
        result.waits_timed_out = m_waits_timed_out;
        result.client_frames_fed = m_fed;
        result.node_mac = format_mac(m_node_mac);
        if (m_node_ip != m_plan.server)
            result.node_ip = format_ip(m_node_ip);
    }

private:
    // A client outside the server's subnet is reached through a gateway: the
    // replay plays that router too, so the first such client is the gateway.
    Ipv4Address off_link_client() const
    {
        u32 mask = m_options.prefix == 0 ? 0 : ~u32{0} << (32 - m_options.prefix);
        for (const auto& [ip, mac] : m_plan.client_macs)
            if ((ip & mask) != (m_node_ip.to_u32() & mask))
                return Ipv4Address::from_u32(ip);
        return {};
    }

    Target::FrameSink sink()
    {
        return [this](Bytes frame) {
            ++m_node_frames;
            observe(frame);
        };
    }

    // Runs the target up to `time`, collecting the app's frames as they arrive.
    void run_to(TimeNs time)
    {
        m_target.run_until(time, [this] { return m_target.stopped(); }, sink());
    }

    // After the last client frame: virtual time costs nothing, so the
    // simulator runs the whole settling period; in real time the run ends
    // once every recorded answer has come and the app then stayed quiet
    // (anything more it sends in that time is still compared).
    void settle()
    {
        TimeNs end = m_target.now() + m_options.settle_ns;
        if (!m_target.real_time()) {
            run_to(end);
            return;
        }
        m_target.run_until(end, [this] { return m_target.stopped() || all_answered(); }, sink());
        TimeNs quiet_end = std::min(end, m_target.now() + m_options.quiet_ns);
        run_to(quiet_end);
    }

    bool all_answered() const
    {
        for (const auto& [key, conv] : m_plan.conversations)
            if (conv.actual.progress() < conv.expected.progress())
                return false;
        return true;
    }

    bool answered(const ClientSend& send) const
    {
        const Conversation& conv = m_plan.conversations.at(send.conversation);
        if (conv.actual.progress() < send.depends_on)
            return false;
        // A client ACK can only be rewritten once the node's ISN is known.
        bool needs_isn = send.packet.proto == Proto::tcp && (send.packet.flags & TcpFlags::ack) &&
                         conv.expected.isn.has_value();
        return !needs_isn || conv.actual.isn.has_value();
    }

    void wait_for_answers(const ClientSend& send)
    {
        if (answered(send))
            return;
        m_target.run_until(m_target.now() + m_options.wait_ns,
                           [&] { return answered(send) || m_target.stopped(); }, sink());
        if (!answered(send))
            ++m_waits_timed_out;
    }

    void transmit(ClientSend& send)
    {
        std::vector<u8> frame = send.frame;
        if (!send.packet.destination_mac.is_multicast())
            m_node_mac.write_to(MutableBytes(frame.data(), 6));
        if (m_node_ip != m_plan.server)
            move_destination(frame, send.packet, m_plan.server, m_node_ip);
        if (send.packet.proto == Proto::tcp)
            rewrite_tcp(send, frame);
        m_target.transmit(frame);
        ++m_fed;
    }

    void rewrite_tcp(const ClientSend& send, std::vector<u8>& frame)
    {
        const Conversation& conv = m_plan.conversations.at(send.conversation);
        if (!conv.expected.isn || !conv.actual.isn)
            return;
        u32 ack_offset = *conv.actual.isn - *conv.expected.isn;
        std::optional<u32> tsecr_offset;
        if (conv.expected.syn_tsval && conv.actual.syn_tsval)
            tsecr_offset = *conv.actual.syn_tsval - *conv.expected.syn_tsval;
        shift_tcp_client_segment(frame, send.packet, ack_offset, tsecr_offset);
    }

    void observe(Bytes frame)
    {
        Packet packet = decode(frame, Checksums::verify);
        // Frames sent while the app booted count from the first client frame.
        TimeNs now = m_target.now();
        TimeNs time = now > m_start ? now - m_start : 0;
        if (packet.proto == Proto::arp && packet.arp_operation == 1) {
            ++m_node_arp_requests;
            // An announcement of the node's own address is not a question:
            // answering it would claim the node's address for another MAC.
            if (packet.arp_target_ip != m_node_ip)
                answer_arp(packet);
            return;
        }
        as_recorded_server(packet);
        if (packet.proto == Proto::arp && packet.arp_target_ip == m_plan.server)
            return; // a gratuitous reply
        Ipv4Address client;
        if (packet.proto == Proto::arp)
            client = packet.arp_target_ip;
        else if (packet.is_ip())
            client = packet.destination_ip;
        std::string key = packet.proto == Proto::other && packet.problem.empty()
                              ? "non-IPv4 frames"
                              : conversation_key(packet, client, false);
        if (!packet.problem.empty())
            key = "malformed frames from the node";
        Conversation& conv = conversation(m_plan, key, packet.proto, time);
        if (packet.proto == Proto::tcp && packet.problem.empty()) {
            add_tcp_segment(conv.actual, packet, time, m_node_frames);
            return;
        }
        std::string summary = packet.problem.empty() ? message_summary(packet, m_node_mac)
                                                     : "undecodable: " + packet.problem;
        conv.actual.items.push_back({time, m_node_frames, summary, packet.payload, 0});
    }

    // With --node-ip, the node's address reads as the recorded server's, so
    // its answers compare with the recording's.
    void as_recorded_server(Packet& packet) const
    {
        if (m_node_ip == m_plan.server)
            return;
        for (Ipv4Address* address : {&packet.source_ip, &packet.arp_sender_ip,
                                     &packet.arp_target_ip})
            if (*address == m_node_ip)
                *address = m_plan.server;
    }

    void answer_arp(const Packet& request)
    {
        auto found = m_plan.client_macs.find(request.arp_target_ip.to_u32());
        MacAddress mac = found != m_plan.client_macs.end() ? found->second
                                                           : synthetic_mac(request.arp_target_ip);
        u8 frame[net::EthernetRepr::header_len + net::ArpRepr::buffer_len] = {};
        net::EthernetRepr{.source = mac, .destination = request.source_mac,
                          .ethertype = net::EtherType::arp}
            .emit(MutableBytes(frame, net::EthernetRepr::header_len));
        net::ArpRepr{.operation = net::ArpOperation::reply, .sender_mac = mac,
                     .sender_ip = request.arp_target_ip, .target_mac = request.arp_sender_mac,
                     .target_ip = request.arp_sender_ip}
            .emit(MutableBytes(frame + net::EthernetRepr::header_len, net::ArpRepr::buffer_len));
        m_target.transmit(Bytes(frame, sizeof frame));
        ++m_arp_answered;
    }

    Plan& m_plan;
    const ReplayOptions& m_options;
    Target& m_target;
    Ipv4Address m_node_ip; // the recorded server's address unless --node-ip
    MacAddress m_node_mac;
    TimeNs m_start = 0;
    u64 m_fed = 0;
    u64 m_node_frames = 0;
    u64 m_node_arp_requests = 0;
    u64 m_arp_answered = 0;
    u64 m_waits_timed_out = 0;
};


// --- the judgement ------------------------------------------------------------

std::string printable(u8 byte) { return byte >= 0x20 && byte < 0x7f ? std::string(1, char(byte)) : "."; }

// "  expected: 68 65 6c ...  |hel|" around `at`.
std::string hex_window(const char* label, const std::vector<u8>& bytes, usize at)
{
    usize from = at >= 8 ? at - 8 : 0;
    usize to = std::min(bytes.size(), from + 16);
    std::string hex;
    std::string text;
    for (usize i = from; i < to; ++i) {
        hex += fmt(i == at ? "[%02x]" : " %02x ", bytes[i]);
        text += printable(bytes[i]);
    }
    return fmt("%s @%zu:%s |%s|", label, from, hex.c_str(), text.c_str());
}

void byte_difference(const std::vector<u8>& expected, const std::vector<u8>& actual,
                     std::vector<std::string>& detail, usize base = 0)
{
    usize common = std::min(expected.size(), actual.size());
    usize at = 0;
    while (at < common && expected[at] == actual[at])
        ++at;
    if (at == common && expected.size() == actual.size())
        return;
    if (at < common)
        detail.push_back(fmt("payload differs at byte %zu: expected 0x%02x '%s', got 0x%02x '%s'",
                             base + at, expected[at], printable(expected[at]).c_str(), actual[at],
                             printable(actual[at]).c_str()));
    else
        detail.push_back(fmt("payload lengths differ: expected %zu bytes, got %zu (the first %zu "
                             "agree)",
                             base + expected.size(), base + actual.size(), base + common));
    // Centre both windows on the first difference (or the last byte there is).
    auto centre = [at](const std::vector<u8>& bytes) {
        return bytes.empty() ? usize{0} : std::min(at, bytes.size() - 1);
    };
    detail.push_back(hex_window("  expected", expected, centre(expected)));
    detail.push_back(hex_window("  actual  ", actual, centre(actual)));
}

void add_context(const Conversation& conv, TimeNs before, Divergence& divergence)
{
    // The recorded exchange of this conversation up to the divergence, both ways.
    std::vector<std::pair<TimeNs, std::string>> merged;
    for (const Item& item : conv.client)
        if (item.time <= before)
            merged.emplace_back(item.time, fmt("record %llu  client > %s",
                                               static_cast<unsigned long long>(item.ref),
                                               item.summary.c_str()));
    for (const std::vector<Item>* list : {&conv.expected.items, &conv.expected.events})
        for (const Item& item : *list)
            if (item.time < before)
                merged.emplace_back(item.time, fmt("record %llu  server > %s",
                                                   (unsigned long long)item.ref,
                                                   item.summary.c_str()));
    std::stable_sort(merged.begin(), merged.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    usize from = merged.size() > context_lines_max ? merged.size() - context_lines_max : 0;
    for (usize i = from; i < merged.size(); ++i)
        divergence.context.push_back(fmt("+%.6fs  ", merged[i].first / 1e9) + merged[i].second);
}

std::optional<Divergence> compare_items(const Conversation& conv, const std::vector<Item>& expected,
                                        const std::vector<Item>& actual, const char* noun)
{
    usize count = std::max(expected.size(), actual.size());
    for (usize i = 0; i < count; ++i) {
        Divergence d;
        d.conversation = conv.key;
        if (i >= actual.size()) {
            d.kind = "missing";
            d.what = fmt("%s %zu of %zu never came from the node", noun, i + 1, expected.size());
        } else if (i >= expected.size()) {
            d.kind = "unexpected";
            d.what = fmt("the node sent %s %zu, the recording has only %zu", noun, i + 1,
                         expected.size());
        } else if (expected[i].summary != actual[i].summary ||
                   expected[i].payload != actual[i].payload) {
            d.kind = "different";
            d.what = fmt("%s %zu of %zu differs", noun, i + 1, expected.size());
            if (expected[i].summary != actual[i].summary)
                d.detail.push_back("header fields differ (see expected/actual above)");
            byte_difference(expected[i].payload, actual[i].payload, d.detail);
        } else {
            continue;
        }
        if (i < expected.size())
            d.expected = expected[i];
        if (i < actual.size())
            d.actual = actual[i];
        d.time = i < expected.size() ? expected[i].time : actual[i].time;
        add_context(conv, d.time, d);
        return d;
    }
    return std::nullopt;
}

const Item* segment_at(const std::vector<Item>& segments, u64 offset)
{
    for (const Item& segment : segments)
        if (offset >= segment.offset && offset < segment.offset + segment.length)
            return &segment;
    // Past the end of the stream: the last segment is the nearest.
    return segments.empty() ? nullptr : &segments.back();
}

std::optional<Divergence> compare_stream(const Conversation& conv)
{
    const std::vector<u8>& expected = conv.expected.stream;
    const std::vector<u8>& actual = conv.actual.stream;
    if (expected == actual && !conv.expected.stream_overflow)
        return std::nullopt;
    Divergence d;
    d.conversation = conv.key;
    if (conv.expected.stream_overflow || conv.actual.stream_overflow) {
        d.kind = "different";
        d.what = fmt("a stream is longer than the %llu bytes the replay compares",
                     (unsigned long long)tcp_stream_bytes_max);
        return d;
    }
    usize common = std::min(expected.size(), actual.size());
    usize at = 0;
    while (at < common && expected[at] == actual[at])
        ++at;
    d.kind = at < common ? "different" : (actual.size() < expected.size() ? "missing" : "unexpected");
    d.what = fmt("the node's byte stream differs from byte %zu (recorded %zu bytes, node sent %zu)",
                 at, expected.size(), actual.size());
    byte_difference(expected, actual, d.detail);
    if (const Item* segment = segment_at(conv.expected.items, at))
        d.expected = *segment;
    if (const Item* segment = segment_at(conv.actual.items, at))
        d.actual = *segment;
    d.time = d.expected ? d.expected->time : (d.actual ? d.actual->time : conv.first_time);
    add_context(conv, d.time, d);
    return d;
}

std::optional<Divergence> compare(const Conversation& conv)
{
    if (conv.proto != Proto::tcp)
        return compare_items(conv, conv.expected.items, conv.actual.items, "message");
    auto events = compare_items(conv, conv.expected.events, conv.actual.events, "control segment");
    auto stream = compare_stream(conv);
    if (events && stream)
        return events->time <= stream->time ? events : stream;
    return events ? events : stream;
}

ConversationOutcome outcome_of(const Conversation& conv, bool matched)
{
    ConversationOutcome outcome{conv.key, conv.proto};
    outcome.expected = conv.expected.items.size() + conv.expected.events.size();
    outcome.actual = conv.actual.items.size() + conv.actual.events.size();
    auto bytes = [&](const Side& side) {
        if (conv.proto == Proto::tcp)
            return static_cast<u64>(side.stream.size());
        u64 total = 0;
        for (const Item& item : side.items)
            total += item.payload.size();
        return total;
    };
    outcome.expected_bytes = bytes(conv.expected);
    outcome.actual_bytes = bytes(conv.actual);
    outcome.matched = matched;
    return outcome;
}

void judge(Plan& plan, ReplayResult& result)
{
    for (const std::string& key : plan.order) {
        const Conversation& conv = plan.conversations.at(key);
        std::optional<Divergence> divergence = compare(conv);
        result.conversations.push_back(outcome_of(conv, !divergence));
        if (divergence && (!result.first || divergence->time < result.first->time))
            result.first = std::move(divergence);
    }
    // A node that failed before the replay could feed everything (a live app
    // that did not start or ended) explains every missing answer: say that.
    bool cut_short = result.client_frames_fed < plan.sends.size();
    if (!result.node_failures.empty() && (!result.first || cut_short)) {
        Divergence d;
        d.conversation = "node";
        d.kind = "node-failed";
        d.what = result.node_failures.front();
        result.first = d;
    }
}

} // namespace

const char* target_name(TargetKind kind)
{
    switch (kind) {
    case TargetKind::sim: return "sim";
    case TargetKind::hosted: return "hosted";
    case TargetKind::vm: return "vm";
    }
    return "?";
}

ReplayResult run_replay(const Capture& capture, const ReplayOptions& options)
{
    Plan plan = make_plan(capture, options);
    ReplayResult result = plan.counts;
    result.capture_path = capture.path;
    result.link_name = capture.link_name;
    result.records = capture.records;
    result.selected = capture.frames.size();
    result.server_ip = format_ip(plan.server);
    result.server_mac = format_mac(plan.server_mac);
    for (const auto& [ip, mac] : plan.client_macs)
        result.clients.push_back(format_ip(Ipv4Address::from_u32(ip)));
    std::unique_ptr<Target> target = options.target == TargetKind::sim
                                         ? make_sim_target(options)
                                         : make_live_target(options);
    Runner runner(plan, options, *target);
    runner.run(result);
    judge(plan, result);
    return result;
}

} // namespace gantry::harness::replay
