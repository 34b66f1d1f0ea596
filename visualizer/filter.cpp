// The network filter: protocol sets, connections, and parsing them from the
// command line (the same text the viewer shows, so it can be copied over).
#include <gantry/viz/filter.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <tuple>

namespace gantry::viz {

namespace {

constexpr std::array<const char*, net_protocols_selectable + 1> protocol_names = {
    "arp", "icmp", "udp", "tcp", "other", "unknown"};
constexpr u8 tcp_or_udp = protocol_bit(NetProtocol::tcp) | protocol_bit(NetProtocol::udp);

std::string ipv4(u32 address)
{
    char text[20];
    std::snprintf(text, sizeof(text), "%u.%u.%u.%u", address >> 24, (address >> 16) & 255,
                  (address >> 8) & 255, address & 255);
    return text;
}

std::string endpoint_text(const NetEndpoint& endpoint)
{
    return ipv4(endpoint.address) + ":" + std::to_string(endpoint.port);
}

// A decimal number of at most `digits` digits, no sign, no leading junk.
std::optional<u32> decimal(std::string_view text, usize digits)
{
    if (text.empty() || text.size() > digits)
        return std::nullopt;
    u32 value = 0;
    for (char c : text) {
        if (c < '0' || c > '9')
            return std::nullopt;
        value = value * 10 + static_cast<u32>(c - '0');
    }
    return value;
}

std::optional<u32> parse_ipv4(std::string_view text)
{
    u32 address = 0;
    for (int part = 0; part < 4; ++part) {
        usize dot = part < 3 ? text.find('.') : text.size();
        if (dot == std::string_view::npos)
            return std::nullopt;
        auto byte = decimal(text.substr(0, dot), 3);
        if (!byte || *byte > 255)
            return std::nullopt;
        address = (address << 8) | *byte;
        text = part < 3 ? text.substr(dot + 1) : std::string_view{};
    }
    return address;
}

std::optional<NetEndpoint> parse_endpoint(std::string_view text, std::string& error)
{
    usize colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        error = "'" + std::string(text) + "' has no port (want IP:PORT)";
        return std::nullopt;
    }
    auto address = parse_ipv4(text.substr(0, colon));
    if (!address) {
        error = "'" + std::string(text.substr(0, colon)) + "' is not an IPv4 address";
        return std::nullopt;
    }
    auto port = decimal(text.substr(colon + 1), 5);
    if (!port || *port == 0 || *port > 0xffff) {
        error = "port '" + std::string(text.substr(colon + 1)) + "' is not 1-65535";
        return std::nullopt;
    }
    return NetEndpoint{*address, static_cast<u16>(*port)};
}

NetConnection make_connection(u8 protocols, NetEndpoint x, NetEndpoint y)
{
    return {protocols, std::min(x, y), std::max(x, y)};
}

bool same_ends(const NetConnection& c, NetEndpoint x, NetEndpoint y)
{
    return (c.a == x && c.b == y) || (c.a == y && c.b == x);
}

} // namespace

const char* net_protocol_name(NetProtocol protocol)
{
    return protocol_names[std::min(static_cast<usize>(protocol), protocol_names.size() - 1)];
}

std::optional<NetProtocol> parse_net_protocol(std::string_view name)
{
    std::string lower(name);
    for (char& c : lower)
        c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    for (usize i = 0; i < net_protocols_selectable; ++i)
        if (lower == protocol_names[i])
            return static_cast<NetProtocol>(i);
    return std::nullopt;
}

std::optional<u8> parse_protocols(std::string_view text, std::string& error)
{
    u8 protocols = 0;
    while (true) {
        usize comma = text.find(',');
        std::string_view name = text.substr(0, comma);
        auto protocol = parse_net_protocol(name);
        if (!protocol) {
            error = "unknown protocol '" + std::string(name) +
                    "': use arp, icmp, udp, tcp or other (several: tcp,udp)";
            return std::nullopt;
        }
        protocols |= protocol_bit(*protocol);
        if (comma == std::string_view::npos)
            return protocols;
        text = text.substr(comma + 1);
    }
}

bool NetConnection::matches(const NetEvent& event) const
{
    return (protocol_bit(net_protocol(event)) & protocols) != 0 &&
           same_ends(*this, {event.source, event.source_port},
                     {event.destination, event.destination_port});
}

bool NetConnection::matches(const TcpConnection& connection) const
{
    return (protocols & protocol_bit(NetProtocol::tcp)) != 0 &&
           same_ends(*this, {connection.local, connection.local_port},
                     {connection.remote, connection.remote_port});
}

std::string NetConnection::to_string() const
{
    std::string prefix = protocols == protocol_bit(NetProtocol::tcp)   ? "tcp:"
                         : protocols == protocol_bit(NetProtocol::udp) ? "udp:"
                                                                       : "";
    return prefix + endpoint_text(a) + "-" + endpoint_text(b);
}

std::optional<NetConnection> connection_of(const NetEvent& event)
{
    NetProtocol protocol = net_protocol(event);
    if ((protocol != NetProtocol::tcp && protocol != NetProtocol::udp) || event.source_port == 0 ||
        event.destination_port == 0)
        return std::nullopt;
    return make_connection(protocol_bit(protocol), {event.source, event.source_port},
                           {event.destination, event.destination_port});
}

std::optional<NetConnection> connection_of(const TcpConnection& connection)
{
    return make_connection(protocol_bit(NetProtocol::tcp),
                           {connection.local, connection.local_port},
                           {connection.remote, connection.remote_port});
}

std::optional<NetConnection> parse_connection(std::string_view text, std::string& error)
{
    const std::string usage = "want [tcp:|udp:]IP:PORT-IP:PORT, e.g. "
                              "udp:10.0.0.2:49152-10.0.0.1:7";
    u8 protocols = tcp_or_udp;
    if (text.starts_with("tcp:") || text.starts_with("udp:")) {
        protocols = protocol_bit(text[0] == 't' ? NetProtocol::tcp : NetProtocol::udp);
        text = text.substr(4);
    }
    usize dash = text.find('-');
    if (dash == std::string_view::npos || text.find('-', dash + 1) != std::string_view::npos) {
        error = "'" + std::string(text) + "' is not two endpoints: " + usage;
        return std::nullopt;
    }
    auto x = parse_endpoint(text.substr(0, dash), error);
    auto y = x ? parse_endpoint(text.substr(dash + 1), error) : std::nullopt;
    if (!x || !y) {
        error += ": " + usage;
        return std::nullopt;
    }
    return make_connection(protocols, *x, *y);
}

bool NetFilter::matches(const NetEvent& event) const
{
    return (protocols == 0 || (protocol_bit(net_protocol(event)) & protocols) != 0) &&
           (!connection || connection->matches(event));
}

std::string NetFilter::to_string() const
{
    std::string text;
    for (usize i = 0; i < net_protocols_selectable; ++i)
        if (protocols & protocol_bit(static_cast<NetProtocol>(i)))
            text += std::string(text.empty() ? "" : ",") + protocol_names[i];
    if (connection)
        text += (text.empty() ? "" : " and ") + connection->to_string();
    return text;
}

const NetEvent* frame_header(const TraceModel& model, const LinkFrame& frame)
{
    if (frame.header == LinkFrame::no_header)
        return nullptr;
    const NodeIndex* sender = model.node(frame.from);
    if (sender == nullptr || frame.header >= sender->net_tx.size())
        return nullptr;
    return &sender->net_tx[frame.header];
}

bool frame_matches(const NetFilter& filter, const TraceModel& model, const LinkFrame& frame)
{
    if (!filter.active())
        return true;
    if (frame.protocol == NetProtocol::unknown)
        return false; // what the frame carried is not known: it cannot be said to match
    if (filter.protocols != 0 && (protocol_bit(frame.protocol) & filter.protocols) == 0)
        return false;
    if (!filter.connection)
        return true;
    const NetEvent* header = frame_header(model, frame);
    return header != nullptr && filter.connection->matches(*header);
}

std::vector<ConnectionCount> list_connections(const TraceModel& model, usize limit)
{
    using Key = std::tuple<u8, u32, u16, u32, u16>;
    std::map<Key, u64> counts;
    for (const NodeIndex& node : model.nodes)
        for (const auto* events : {&node.net_tx, &node.net_rx, &node.net_drops})
            for (const NetEvent& event : *events)
                if (auto c = connection_of(event))
                    ++counts[{c->protocols, c->a.address, c->a.port, c->b.address, c->b.port}];
    std::vector<ConnectionCount> out;
    for (const auto& [key, frames] : counts) {
        auto [protocols, a, a_port, b, b_port] = key;
        out.push_back({{protocols, {a, a_port}, {b, b_port}}, frames});
    }
    auto busier = [](const ConnectionCount& x, const ConnectionCount& y) {
        return x.frames > y.frames;
    };
    std::stable_sort(out.begin(), out.end(), busier);
    if (out.size() > limit)
        out.resize(limit);
    return out;
}

} // namespace gantry::viz
