// The interpreter loop: a pre-scan that decides whether the script applies to
// Gantry at all (IP version, sysctls, commands), then the events in order
// against a fresh two-node world. See runner.hpp for the set-up.
#include "runner.hpp"

#include "agent.hpp"

#include <gantry/kernel.hpp>
#include <gantry/net/stack/stack.hpp>
#include <gantry/sim/world.hpp>

#include <deque>
#include <fstream>
#include <memory>
#include <sstream>

namespace gantry::pkt {

std::string_view to_string(Outcome outcome)
{
    switch (outcome) {
    case Outcome::passed: return "passed";
    case Outcome::diverged: return "diverged";
    case Outcome::failed: return "failed";
    case Outcome::not_applicable: return "not applicable";
    case Outcome::error: return "runner error";
    }
    return "?";
}

namespace {

using sim::NodeId;
using sim::World;

constexpr TimeNs epoch_ns = 100 * ns_per_ms;   // script time 0, after the node booted
constexpr i64 any_time_limit_us = 600'000'000; // how long a `*` packet is waited for
constexpr u64 steps_max = 50'000'000;          // world events per script
constexpr u32 remote_isn = 1'000'000;          // our ISN as the peer (any value works)
constexpr u16 remote_port_passive = 50'000;    // the peer's port towards a listener
constexpr u32 local_ip = 0xc0a8'0001;          // 192.168.0.1, packetdrill's default
constexpr u32 remote_ip = 0xc0a8'0002;

// The script cannot go on: the outcome, line and reason.
struct Stop {
    Outcome outcome;
    int line;
    std::string message;
};

// A FreeBSD sysctl that Gantry's behaviour corresponds to for some values.
struct Knob {
    const char* name;
    const char* values; // comma-separated accepted values; "*" any
    const char* meaning;
};

// The profile: FreeBSD knobs whose given values describe what Gantry does
// (docs/conformance.md, "The profile"). Buffer sizes are applied, not just
// accepted (AgentState).
constexpr Knob profile[] = {
    {"net.inet.tcp.rfc1323", "1", "window scaling and timestamps on (RFC 7323)"},
    {"net.inet.tcp.sack.enable", "1", "SACK on (RFC 2018)"},
    {"net.inet.tcp.ecn.enable", "0,2", "Gantry never asks for ECN"},
    {"kern.ipc.maxsockbuf", "*", "sizes the window scale offered (RFC 7323 2.3)"},
    {"net.inet.tcp.recvspace", "*", "the receive buffer"},
    {"net.inet.tcp.sendspace", "*", "the send buffer"},
    {"net.inet.tcp.rexmit_initial", "1000", "initial RTO 1 s (RFC 6298 2.1)"},
    {"net.inet.tcp.hostcache.purgenow", "*", "Gantry keeps no host cache"},
    {"net.inet.tcp.blackhole", "0", "RST for segments to closed ports"},
    {"net.inet.tcp.insecure_syn", "0", "RFC 5961 4: challenge ACK for an in-window SYN"},
    {"net.inet.tcp.insecure_rst", "0", "RFC 5961 3: challenge ACK for an inexact RST"},
    {"net.inet.tcp.delacktime", "40", "delayed ACKs after 40 ms (RFC 1122 4.2.3.2)"},
    {"net.inet.tcp.rexmit_slop", "200", "Gantry's RTO floor is 200 ms (RFC 6298 2.4 allows)"},
    {"net.inet.tcp.rexmit_drop_options", "0", "SYN retransmissions keep their options"},
    {"net.inet.tcp.drop_synfin", "0", "a SYN with FIN is processed as a SYN"},
    {"net.inet.tcp.icmp_may_rst", "0,1",
     "ICMP hard errors end an opening connection (applied to new connections)"},
    {"net.inet.tcp.keepinit", "*", "the connect() deadline (applied)"},
    {"net.inet.tcp.keepidle", "*", "keepalive idle time of new sockets (applied)"},
    {"net.inet.tcp.keepintvl", "*", "keepalive probe interval of new sockets (applied)"},
    {"net.inet.tcp.keepcnt", "*", "keepalive probes before giving up (applied)"},
};

// `sockstat -4 -P tcp [-s] [-p PORT] | grep ... | grep -c STATE | grep N`: how
// many connections are in STATE must contain N. FreeBSD's state names.
struct SockstatQuery {
    net::TcpState state;
    std::string state_name;
    u16 port = 0;
    std::string expected; // what `grep N` looks for in the count
};

std::optional<SockstatQuery> parse_sockstat(const std::string& command)
{
    static constexpr std::pair<const char*, net::TcpState> states[] = {
        {"CLOSED", net::TcpState::closed},         {"LISTEN", net::TcpState::listen},
        {"SYN_SENT", net::TcpState::syn_sent},     {"SYN_RCVD", net::TcpState::syn_received},
        {"ESTABLISHED", net::TcpState::established},
        {"FIN_WAIT_1", net::TcpState::fin_wait_1}, {"FIN_WAIT_2", net::TcpState::fin_wait_2},
        {"CLOSE_WAIT", net::TcpState::close_wait}, {"CLOSING", net::TcpState::closing},
        {"LAST_ACK", net::TcpState::last_ack},     {"TIME_WAIT", net::TcpState::time_wait}};
    std::vector<std::vector<std::string>> stages(1);
    std::istringstream words(command);
    for (std::string word; words >> word;) {
        if (word == "|")
            stages.emplace_back();
        else
            stages.back().push_back(word);
    }
    if (stages.size() < 3 || stages[0].empty() || stages[0][0] != "sockstat")
        return std::nullopt;
    SockstatQuery query;
    const std::vector<std::string>& head = stages[0];
    for (usize i = 1; i < head.size(); ++i) {
        if (head[i] == "-p" && i + 1 < head.size())
            query.port = static_cast<u16>(std::stoul(head[++i]));
        else if (head[i] != "-4" && head[i] != "-s" && head[i] != "-P" && head[i] != "tcp")
            return std::nullopt;
    }
    const std::vector<std::string>& count = stages[stages.size() - 2];
    const std::vector<std::string>& check = stages.back();
    if (count.size() != 3 || count[0] != "grep" || count[1] != "-c" || check.size() != 2 ||
        check[0] != "grep")
        return std::nullopt;
    for (usize i = 1; i + 2 < stages.size(); ++i) // `grep packetdril`: every socket is ours
        if (stages[i].size() != 2 || stages[i][0] != "grep")
            return std::nullopt;
    bool known = false;
    for (const auto& [name, state] : states)
        if (count[2] == name) {
            query.state = state;
            known = true;
        }
    if (!known)
        return std::nullopt;
    query.state_name = count[2];
    query.expected = check[1];
    return query;
}

std::optional<Stop> check_command(const std::string& command, int line, AgentState& agent)
{
    if (parse_sockstat(command))
        return std::nullopt;
    std::istringstream words(command);
    std::string tool, flag, setting;
    words >> tool >> flag >> setting;
    if (tool != "sysctl" || flag != "-w" || setting.find('=') == std::string::npos)
        return Stop{Outcome::not_applicable, line, "command `" + command + "` is not emulated"};
    std::string name = setting.substr(0, setting.find('='));
    std::string value = setting.substr(setting.find('=') + 1);
    for (const Knob& knob : profile) {
        if (name != knob.name)
            continue;
        std::string values = std::string(",") + knob.values + ",";
        if (values == ",*," && (value.empty() || value.size() > 12 ||
                                value.find_first_not_of("0123456789") != std::string::npos))
            return Stop{Outcome::error, line,
                        "sysctl " + name + "=" + value + ": expected a decimal number"};
        if (values != ",*," && values.find("," + value + ",") == std::string::npos)
            return Stop{Outcome::not_applicable, line,
                        "sysctl " + name + "=" + value + ": Gantry has only " + knob.values +
                            " (" + knob.meaning + ")"};
        if (name == "net.inet.tcp.recvspace")
            agent.receive_buffer_bytes = std::stoul(value);
        if (name == "net.inet.tcp.sendspace")
            agent.send_buffer_bytes = std::stoul(value);
        if (name == "kern.ipc.maxsockbuf")
            agent.window_scale_bytes = std::stoul(value);
        if (name == "net.inet.tcp.keepidle")
            agent.keepalive_idle_ns = static_cast<TimeNs>(std::stoull(value)) * ns_per_ms;
        if (name == "net.inet.tcp.keepintvl")
            agent.keepalive_interval_ns = static_cast<TimeNs>(std::stoull(value)) * ns_per_ms;
        if (name == "net.inet.tcp.keepcnt")
            agent.keepalive_probes_max = static_cast<u32>(std::stoul(value));
        if (name == "net.inet.tcp.icmp_may_rst")
            agent.icmp_hard_errors = value == "1" ? net::IcmpHardErrors::abort_opening
                                                  : net::IcmpHardErrors::ignore;
        if (name == "net.inet.tcp.keepinit")
            agent.connect_timeout_ns = static_cast<TimeNs>(std::stoull(value)) * ns_per_ms;
        return std::nullopt;
    }
    return Stop{Outcome::not_applicable, line, "sysctl " + name + " is not emulated"};
}

// Remote agent of the peer node: it only has to stay alive, so frames to its
// NIC are delivered; the interpreter reads and writes that NIC itself.
class IdlePeer final : public App {
public:
    int main(Kernel& kernel, AppArgs) override
    {
        gantry::Event never(kernel.sched());
        for (;;)
            never.wait();
    }
};

struct Sent {
    TimeNs at;
    WireSegment segment;
    std::string problem;
};

struct Pending {
    Call* call;
    TimeNs end_ns; // when the script says it returns
    int line;
};

class Interpreter {
public:
    Interpreter(const Script& script, const RunOptions& options)
        : m_script(script), m_options(options), m_world({.seed = 1,
                                                         .watchdog_ns = 100 * ns_per_us,
                                                         .busy_poll_ns = 1})
    {
    }

    ScriptResult run(ScriptResult result)
    {
        std::optional<Stop> stop = prescan();
        if (!stop)
            stop = setup();
        for (usize i = 0; !stop && i < m_script.events.size(); ++i)
            stop = event(m_script.events[i]);
        if (!stop)
            stop = finish_pending();
        result.virtual_seconds = static_cast<double>(m_world.now()) / 1e9;
        result.divergences = m_divergences;
        result.log = m_log;
        if (stop) {
            result.outcome = stop->outcome;
            result.line = stop->line;
            result.message = stop->message;
        } else {
            result.outcome = m_divergences.empty() ? Outcome::passed : Outcome::diverged;
        }
        return result;
    }

private:
    // --- before running ----------------------------------------------------------

    std::optional<Stop> prescan()
    {
        for (const ScriptOption& option : m_script.options) {
            if (option.name == "ip_version") {
                if (option.value != "ipv4")
                    return Stop{Outcome::not_applicable, option.line,
                                "--ip_version=" + option.value + ": Gantry has no IPv6"};
            } else if (option.name == "tolerance_usecs") {
                m_tolerance_us = std::stoll("0" + option.value);
            } else if (option.name == "tcp_ts_tick_usecs") {
                m_context.timestamp_ticks_checked = true;
            } else if (option.name == "mtu" && option.value == "1500") {
            } else {
                return Stop{Outcome::not_applicable, option.line,
                            "script option --" + option.name +
                                (option.value.empty() ? "" : "=" + option.value) +
                                " is not emulated"};
            }
        }
        for (const Event& event : m_script.events) {
            if (const auto* command = std::get_if<CommandSpec>(&event.body)) {
                AgentState scratch; // validation only: values apply when the line runs
                if (auto stop = check_command(command->text, event.line, scratch))
                    return stop;
            } else if (std::holds_alternative<CodeSpec>(event.body)) {
                return Stop{Outcome::not_applicable, event.line,
                            "%{ python }% blocks (tcp_info assertions) are not supported"};
            }
        }
        return std::nullopt;
    }

    std::optional<Stop> setup()
    {
        sim::NodeConfig local{.factory = [this](Kernel& kernel) -> App* {
            return kernel.heap().create<PktAgent>(&m_agent);
        }};
        local.name = "gantry";
        local.ip = net::Ipv4Address::from_u32(local_ip);
        local.prefix = 24;
        sim::NodeConfig remote{.factory = [](Kernel& kernel) -> App* {
            return kernel.heap().create<IdlePeer>();
        }};
        remote.name = "packetdrill";
        remote.nic_owner = sim::NicOwner::app;
        m_local = m_world.add_node(local);
        m_remote = m_world.add_node(remote);
        m_world.add_link(sim::Endpoint::node(m_local), sim::Endpoint::node(m_remote),
                         {.name = "wire", .pcap_path = m_options.pcap_path});
        m_agent.remote = net::Ipv4Address::from_u32(remote_ip);
        m_addresses.local_ip = local_ip;
        m_addresses.remote_ip = remote_ip;
        m_addresses.local_mac = sim::sim_mac(m_local, 0).octets;
        m_addresses.remote_mac = sim::sim_mac(m_remote, 0).octets;
        m_context.remote_isn = remote_isn;
        if (auto stop = advance(epoch_ns, 0))
            return stop;
        if (!m_agent.wake)
            return Stop{Outcome::error, 0, "the agent did not start on the node"};
        return std::nullopt;
    }

    // --- the world -----------------------------------------------------------------

    TimeNs at_script(i64 usecs) const { return epoch_ns + usecs * 1000; }
    i64 script_us(TimeNs time) const { return (time - epoch_ns) / 1000; }

    // Runs every event due at or before `limit` (with stop_on_sent, only until
    // the node has sent a TCP segment), answering ARP and collecting what the
    // node sends. The clock stays at the last event run: replies that take the
    // node a few nanoseconds of busy polls stay within the microsecond.
    std::optional<Stop> settle(TimeNs limit, bool stop_on_sent, int line)
    {
        for (;;) {
            if (stop_on_sent && !m_sent.empty())
                return std::nullopt;
            std::optional<TimeNs> next = m_world.next_event_time();
            if (!next || *next > limit)
                return std::nullopt;
            if (++m_steps > steps_max)
                return Stop{Outcome::error, line, "the world ran more than 50M events"};
            m_world.step();
            drain();
            if (!m_world.failures().empty())
                return Stop{Outcome::failed, line,
                            "the Gantry node failed: " + m_world.failures()[0].describe()};
            if (auto stop = check_pending())
                return stop;
        }
    }

    // Runs everything due up to `time` and leaves the clock exactly there: an
    // inbound segment or a system call of the script happens then.
    std::optional<Stop> advance(TimeNs time, int line)
    {
        if (time > m_world.now())
            m_world.at(time, [](World&) {});
        return settle(time, false, line);
    }

    void drain()
    {
        sim::SimNic* nic = m_world.nic(m_remote, 0);
        u8 buffer[2048];
        while (usize length = nic->receive(MutableBytes(buffer, sizeof(buffer)))) {
            Frame frame = decode_frame(buffer, length);
            if (frame.kind == Frame::Kind::arp_request && frame.arp_target == remote_ip) {
                std::vector<u8> reply = build_arp_reply(m_addresses, frame);
                nic->transmit(Bytes(reply.data(), reply.size()));
            } else if (frame.kind == Frame::Kind::tcp) {
                m_sent.push_back({m_world.now(), frame.tcp, frame.problem});
                if (m_options.verbose)
                    m_log.push_back("  sent at " + std::to_string(m_world.now()) + " ns: " +
                                    describe_actual(frame.tcp, m_context));
            }
        }
    }

    // --- events --------------------------------------------------------------------

    std::optional<Stop> event(const Event& event)
    {
        i64 when = event.time.usecs;
        if (event.time.kind == TimeKind::relative)
            when += m_last_us;
        if (m_options.verbose)
            m_log.push_back("line " + std::to_string(event.line) + " at " +
                            std::to_string(when) + " us");
        if (const auto* packet = std::get_if<PacketSpec>(&event.body)) {
            if (auto stop = unsupported_packet(*packet, event.line))
                return stop;
            if (packet->direction == Direction::outbound)
                return outbound(*packet, event, when);
            return inbound(*packet, event.line, when);
        }
        if (const auto* call = std::get_if<SyscallSpec>(&event.body))
            return syscall(*call, event, when);
        // Commands take no time.
        m_last_us = when;
        if (auto stop = advance(at_script(when), event.line))
            return stop;
        if (const auto* command = std::get_if<CommandSpec>(&event.body)) {
            if (auto query = parse_sockstat(command->text))
                return sockstat(*query, event.line);
            return check_command(command->text, event.line, m_agent); // applies a sysctl
        }
        return std::nullopt;
    }

    // Packet features the language has and Gantry does not.
    static std::optional<Stop> unsupported_packet(const PacketSpec& packet, int line)
    {
        if (!packet.ip_fields.empty())
            return Stop{Outcome::not_applicable, line,
                        "IP header field (" + packet.ip_fields[0] +
                            "): Gantry has no IP_TTL/IP_TOS socket options"};
        if (packet.options)
            for (const TcpOptionSpec& option : *packet.options)
                if (option.kind == TcpOptionSpec::Kind::md5)
                    return Stop{Outcome::not_applicable, line,
                                "TCP-MD5 signatures (RFC 2385) are not implemented"};
        return std::nullopt;
    }

    std::optional<Stop> sockstat(const SockstatQuery& query, int line)
    {
        Kernel* kernel = m_world.kernel(m_local);
        net::TcpStack* tcp = kernel && kernel->net() ? kernel->net()->tcp() : nullptr;
        if (!tcp)
            return Stop{Outcome::error, line, "the node's TCP stack is gone"};
        std::string count = std::to_string(tcp->connections_in(query.state, query.port));
        if (count.find(query.expected) != std::string::npos)
            return std::nullopt;
        return Stop{Outcome::failed, line,
                    "sockstat: " + count + " connection(s) in " + query.state_name +
                        (query.port ? " on port " + std::to_string(query.port) : "") +
                        ", expected " + query.expected};
    }

    std::optional<Stop> inbound(const PacketSpec& packet, int line, i64 when)
    {
        if (auto stop = advance(at_script(when), line))
            return stop;
        m_last_us = when;
        if (packet.icmp)
            return icmp(*packet.icmp, line);
        if (!packet.window)
            return Stop{Outcome::error, line, "an inbound packet needs 'win N'"};
        WireSegment segment;
        segment.source_port = remote_port();
        segment.destination_port = local_port();
        segment.flags = flag_bits(packet.flags);
        segment.seq = m_context.remote_isn + packet.seq_start;
        segment.ack = packet.ack ? m_context.local_isn + *packet.ack : 0;
        segment.window = static_cast<u16>(*packet.window);
        segment.urgent = static_cast<u16>(packet.urgent.value_or(0));
        segment.payload_length = packet.length;
        if (packet.options_any)
            return Stop{Outcome::error, line, "'<...>' is only meaningful on outbound packets"};
        if (packet.options)
            segment.options = *packet.options;
        if (packet.has_flag('S')) {
            m_agent.peer_syn_seen = true;
            m_peer_window_scaling = false;
        }
        for (TcpOptionSpec& option : segment.options) {
            if (option.kind == TcpOptionSpec::Kind::wscale && packet.has_flag('S'))
                m_peer_window_scaling = true;
            for (auto& [left, right] : option.blocks) {
                left += m_context.local_isn;
                right += m_context.local_isn;
            }
            if (option.kind == TcpOptionSpec::Kind::timestamp)
                option.ts_ecr += m_ts_offset;
        }
        std::vector<u8> frame = build_tcp_frame(m_addresses, segment);
        if (frame.size() > 1514)
            return Stop{Outcome::not_applicable, line,
                        "an inbound segment larger than the link's 1500-byte MTU (packetdrill "
                        "writes it to a tun device, which does not enforce the MTU)"};
        m_world.nic(m_remote, 0)->transmit(Bytes(frame.data(), frame.size()));
        if (m_options.verbose)
            m_log.push_back("  injected at " + std::to_string(m_world.now()) +
                            " ns: seq " + std::to_string(segment.seq) + " ack " +
                            std::to_string(segment.ack) + " ports " +
                            std::to_string(segment.source_port) + "->" +
                            std::to_string(segment.destination_port));
        return std::nullopt;
    }

    std::optional<Stop> icmp(const IcmpSpec& spec, int line)
    {
        static constexpr std::pair<const char*, u8> types[] = {
            {"unreachable", 3}, {"source_quench", 4}, {"redirect", 5},
            {"time_exceeded", 11}, {"parameter_problem", 12}};
        static constexpr std::pair<const char*, u8> codes[] = {
            {"net_unreachable", 0}, {"host_unreachable", 1}, {"protocol_unreachable", 2},
            {"port_unreachable", 3}, {"frag_needed", 4}, {"source_route_failed", 5},
            {"net_unknown", 6}, {"host_unknown", 7}, {"source_host_isolated", 8},
            {"net_prohibited", 9}, {"host_prohibited", 10}, {"net_unreachable_for_tos", 11},
            {"host_unreachable_for_tos", 12}, {"packet_filtered", 13},
            {"precedence_violation", 14}, {"precedence_cutoff", 15},
            {"ttl_exceeded", 0}, {"ttl_exceeded_in_transit", 0}, {"frag_reass_exceeded", 1},
            {"code_0", 0}, {"code_1", 1}, {"code_2", 2}};
        std::optional<u8> type;
        for (const auto& [name, value] : types)
            if (spec.type == name)
                type = value;
        std::optional<u8> code = spec.code.empty() ? std::optional<u8>(0) : std::nullopt;
        for (const auto& [name, value] : codes)
            if (spec.code == name)
                code = value;
        if (!type || !code)
            return Stop{Outcome::error, line,
                        "unknown ICMP type or code '" + spec.type + " " + spec.code + "'"};
        WireSegment quoted;
        quoted.source_port = local_port();
        quoted.destination_port = remote_port();
        quoted.seq = m_context.local_isn + spec.seq_start;
        quoted.payload_length = spec.length;
        std::vector<u8> frame =
            build_icmp_frame(m_addresses, *type, *code, spec.mtu.value_or(0), quoted);
        m_world.nic(m_remote, 0)->transmit(Bytes(frame.data(), frame.size()));
        return std::nullopt;
    }

    std::optional<Stop> outbound(const PacketSpec& packet, const Event& event, i64 when)
    {
        if (packet.icmp)
            return Stop{Outcome::error, event.line, "outbound ICMP is not supported"};
        bool any = event.time.kind == TimeKind::any;
        i64 latest = any ? m_last_us + any_time_limit_us : when + m_tolerance_us;
        if (auto stop = settle(at_script(latest) + 999, true, event.line))
            return stop;
        if (m_sent.empty())
            return Stop{Outcome::failed, event.line,
                        "expected " + describe(packet) + " at " + seconds(when) +
                            " s, but nothing was sent by " + seconds(latest) + " s"};
        Sent sent = m_sent.front();
        m_sent.pop_front();
        i64 actual_us = script_us(sent.at);
        if (!sent.problem.empty())
            return Stop{Outcome::failed, event.line,
                        "the node sent a bad segment (" + sent.problem + ")"};
        if (!m_local_isn_known && (sent.segment.flags & 0x02) != 0) {
            m_context.local_isn = sent.segment.seq - packet.seq_start;
            m_local_isn_known = true;
        }
        if (m_local_port == 0)
            m_local_port = sent.segment.source_port;
        if (sent.segment.flags & 0x02)
            for (const TcpOptionSpec& option : sent.segment.options)
                if (option.kind == TcpOptionSpec::Kind::wscale)
                    m_local_window_shift = static_cast<u8>(option.value);
        m_context.window_shift = m_peer_window_scaling ? m_local_window_shift : 0;
        std::vector<Mismatch> mismatches =
            match_segment(packet, sent.segment, m_context, m_options.option_match);
        if (!any && actual_us < when - m_tolerance_us)
            mismatches.insert(mismatches.begin(),
                              {"time", seconds(when) + " s", seconds(actual_us) + " s"});
        if (auto stop = judge(mismatches, event.line, describe(packet),
                              describe_actual(sent.segment, m_context) + " at " +
                                  seconds(actual_us) + " s"))
            return stop;
        remember_timestamp(packet, sent.segment);
        m_last_us = actual_us;
        return std::nullopt;
    }

    // The peer's TS ecr values are script values; map them onto the node's clock
    // through the last TS val it sent (packetdrill does the same).
    void remember_timestamp(const PacketSpec& packet, const WireSegment& actual)
    {
        if (!packet.options)
            return;
        for (const TcpOptionSpec& want : *packet.options)
            for (const TcpOptionSpec& got : actual.options)
                if (want.kind == TcpOptionSpec::Kind::timestamp &&
                    got.kind == TcpOptionSpec::Kind::timestamp)
                    m_ts_offset = got.ts_val - want.ts_val;
    }

    std::optional<Stop> judge(const std::vector<Mismatch>& mismatches, int line,
                              const std::string& expected, const std::string& actual)
    {
        std::vector<std::string> hard;
        std::vector<std::string> soft;
        for (const Mismatch& m : mismatches) {
            std::string text = m.field + " " + m.expected + " != " + m.actual;
            bool permitted = false;
            for (const std::string& field : m_options.permitted)
                permitted = permitted || field == m.field;
            (permitted ? soft : hard).push_back(text);
        }
        if (!hard.empty()) {
            std::string message = "expected: " + expected + "\n  actual:   " + actual + "\n  (";
            for (usize i = 0; i < hard.size(); ++i)
                message += (i ? "; " : "") + hard[i];
            return Stop{Outcome::failed, line, message + ")"};
        }
        for (const std::string& text : soft)
            m_divergences.push_back("line " + std::to_string(line) + ": " + text);
        return std::nullopt;
    }

    std::optional<Stop> syscall(const SyscallSpec& spec, const Event& event, i64 when)
    {
        if (auto stop = advance(at_script(when), event.line))
            return stop;
        m_calls.push_back(std::make_unique<Call>());
        Call& call = *m_calls.back();
        call.spec = spec;
        call.line = event.line;
        if (spec.name == "connect")
            m_active_open = true;
        m_agent.queue.push_back(&call);
        m_agent.wake->notify_one();
        m_world.wake(m_local);
        // The call runs at `when`; what it does within the microsecond is "at once".
        if (auto stop = settle(at_script(when) + 999, false, event.line))
            return stop;
        if (!event.time.end) {
            m_last_us = when;
            if (!call.unsupported.empty())
                return Stop{Outcome::not_applicable, event.line, call.unsupported};
            if (!call.done)
                return Stop{Outcome::failed, event.line,
                            spec.name + "() blocked; the script expects it to return at once"};
            return check_call(call);
        }
        i64 end = event.time.end->second +
                  (event.time.end->first == TimeKind::relative ? when : 0);
        m_last_us = when; // later relative times count from the call's start
        m_pending.push_back({&call, at_script(end), event.line});
        return check_pending();
    }

    // A blocking call (`start...end`) is checked when it returns, or at the end.
    std::optional<Stop> check_pending()
    {
        for (usize i = 0; i < m_pending.size(); ++i) {
            Pending pending = m_pending[i];
            if (!pending.call->done)
                continue;
            m_pending.erase(m_pending.begin() + static_cast<std::ptrdiff_t>(i));
            if (!pending.call->unsupported.empty())
                return Stop{Outcome::not_applicable, pending.line, pending.call->unsupported};
            i64 end_us = script_us(pending.end_ns);
            i64 at_us = script_us(pending.call->done_at);
            if (at_us < end_us - m_tolerance_us || at_us > end_us + m_tolerance_us)
                return Stop{Outcome::failed, pending.line,
                            pending.call->spec.name + "() returned at " + seconds(at_us) +
                                " s, expected at " + seconds(end_us) + " s"};
            return check_call(*pending.call);
        }
        return std::nullopt;
    }

    std::optional<Stop> finish_pending()
    {
        while (!m_pending.empty()) {
            Pending pending = m_pending.front();
            TimeNs limit = pending.end_ns + m_tolerance_us * 1000;
            if (auto stop = settle(limit + 999, false, pending.line))
                return stop;
            if (!m_pending.empty() && m_pending.front().call == pending.call)
                return Stop{Outcome::failed, pending.line,
                            pending.call->spec.name + "() had not returned by " +
                                seconds(script_us(limit)) + " s"};
        }
        return std::nullopt;
    }

    std::optional<Stop> check_call(const Call& call)
    {
        const SyscallSpec& spec = call.spec;
        std::string got = std::to_string(call.result) +
                          (call.error_name.empty() ? "" : " " + call.error_name);
        std::string want;
        if (spec.result.kind == Expr::Kind::integer)
            want = std::to_string(spec.result.value);
        else
            return Stop{Outcome::error, call.line, "the result of " + spec.name +
                                                       "() must be a number"};
        if (!spec.errno_name.empty())
            want += " " + spec.errno_name;
        std::vector<Mismatch> mismatches;
        bool result_ok = call.result == spec.result.value &&
                         (call.result != -1 || spec.errno_name.empty() ||
                          spec.errno_name == call.error_name);
        if (!result_ok)
            mismatches.push_back({"result", want, got});
        if (call.value_out && spec.args.size() > 3 && spec.args[3].kind == Expr::Kind::list &&
            spec.args[3].items.size() == 1) {
            const Expr& value = spec.args[3].items[0];
            std::string expected = value.kind == Expr::Kind::integer ? std::to_string(value.value)
                                                                     : value.text;
            if (expected != *call.value_out)
                mismatches.push_back({name_of_value(spec), expected, *call.value_out});
        }
        if (m_local_port == 0 && spec.name == "bind")
            m_local_port = m_agent.bind_port;
        std::string line = spec.name + "(...) = " + want;
        return judge(mismatches, call.line, line, spec.name + "(...) = " + got);
    }

    static std::string name_of_value(const SyscallSpec& spec)
    {
        const Expr& option = spec.args.size() > 2 ? spec.args[2] : spec.result;
        if (option.text == "SO_RCVBUF")
            return "rcvbuf";
        if (option.text == "SO_SNDBUF")
            return "sndbuf";
        return "sockopt";
    }

    u16 local_port() const { return m_local_port ? m_local_port : m_agent.bind_port; }
    // The peer's port: packetdrill's 8080 when the node connects to it, else
    // a port of the peer's own towards the node's listener.
    u16 remote_port() const { return m_active_open ? m_agent.remote_port : remote_port_passive; }

    static std::string seconds(i64 usecs)
    {
        char text[32];
        std::snprintf(text, sizeof(text), "%s%lld.%06lld", usecs < 0 ? "-" : "",
                      static_cast<long long>((usecs < 0 ? -usecs : usecs) / 1'000'000),
                      static_cast<long long>((usecs < 0 ? -usecs : usecs) % 1'000'000));
        return text;
    }

    const Script& m_script;
    const RunOptions& m_options;
    World m_world;
    NodeId m_local = 0;
    NodeId m_remote = 0;
    AgentState m_agent;
    Addresses m_addresses;
    SeqContext m_context;
    bool m_local_isn_known = false;
    bool m_active_open = false;
    bool m_peer_window_scaling = false; // the script's SYN offered window scaling
    u8 m_local_window_shift = 0;        // what the node's SYN offered
    u16 m_local_port = 0;
    u32 m_ts_offset = 0;
    i64 m_tolerance_us = 0;
    i64 m_last_us = 0;
    u64 m_steps = 0;
    std::deque<Sent> m_sent;
    std::vector<std::unique_ptr<Call>> m_calls;
    std::vector<Pending> m_pending;
    std::vector<std::string> m_divergences;
    std::vector<std::string> m_log;
};

} // namespace

ScriptResult run_script(const std::string& path, const std::string& text,
                        const RunOptions& options)
{
    ScriptResult result;
    result.path = path;
    // IPv6 scripts are not applicable whatever else they contain, so decide
    // that before parsing (their IPv6-only syntax is not the parser's concern).
    std::istringstream lines(text);
    int number = 0;
    for (std::string line; std::getline(lines, line);) {
        ++number;
        if (line.find("--ip_version=ipv6") != std::string::npos &&
            line.find_first_not_of(" \t") == line.find("--")) {
            result.outcome = Outcome::not_applicable;
            result.line = number;
            result.message = "--ip_version=ipv6: Gantry has no IPv6";
            return result;
        }
    }
    Script script;
    try {
        script = parse_script(text, options.defines);
    } catch (const ParseError& error) {
        result.outcome = Outcome::error;
        result.line = error.line();
        result.message = error.what();
        return result;
    }
    Interpreter interpreter(script, options);
    return interpreter.run(std::move(result));
}

ScriptResult run_script_file(const std::string& path, const RunOptions& options)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        ScriptResult result;
        result.path = path;
        result.outcome = Outcome::error;
        result.message = "cannot read the file";
        return result;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return run_script(path, text.str(), options);
}

} // namespace gantry::pkt
