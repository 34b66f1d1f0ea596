// The network view's filter: which frames to show, by protocol and by
// connection. A NIC tick (net_tx, net_rx, net_drop) carries its headers; a link
// frame gets them from the sender's net_tx record the model matched it to
// (LinkFrame::header). No SDL here: the layout, renderer, CLI and tests share it.
#pragma once

#include <gantry/viz/model.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gantry::viz {

const char* net_protocol_name(NetProtocol protocol); // "arp", "icmp", ...
std::optional<NetProtocol> parse_net_protocol(std::string_view name);
inline constexpr u8 protocol_bit(NetProtocol protocol)
{
    return static_cast<u8>(1u << static_cast<u8>(protocol));
}

struct NetEndpoint {
    u32 address = 0; // host order, like the trace
    u16 port = 0;
    auto operator<=>(const NetEndpoint&) const = default;
};

// A TCP or UDP conversation: two endpoints, either direction. `protocols` is a
// set of protocol bits (TCP, UDP or both when the user did not say which).
struct NetConnection {
    u8 protocols = 0;
    NetEndpoint a; // a <= b, so a conversation has one form
    NetEndpoint b;
    bool operator==(const NetConnection&) const = default;
    bool matches(const NetEvent& event) const;
    bool matches(const TcpConnection& connection) const;
    // "udp:10.0.0.2:49152-10.0.0.1:7" ("10.0.0.2:..." when both protocols):
    // the form --connection takes.
    std::string to_string() const;
};

// The connection a frame belongs to: TCP or UDP with ports (a later IP
// fragment has none, and belongs to no connection).
std::optional<NetConnection> connection_of(const NetEvent& event);
std::optional<NetConnection> connection_of(const TcpConnection& connection);
// Parses "[tcp:|udp:]A.B.C.D:PORT-A.B.C.D:PORT"; on failure, says why in `error`.
std::optional<NetConnection> parse_connection(std::string_view text, std::string& error);

struct NetFilter {
    u8 protocols = 0; // protocol bits; 0: every protocol
    std::optional<NetConnection> connection;

    bool active() const { return protocols != 0 || connection.has_value(); }
    bool matches(const NetEvent& event) const;
    // "tcp,udp", "udp:10.0.0.2:49152-10.0.0.1:7", both joined by " and ", or "".
    std::string to_string() const;
    bool operator==(const NetFilter&) const = default;
};

// Parses --protocol's comma-separated list; on failure, says why in `error`.
std::optional<u8> parse_protocols(std::string_view text, std::string& error);

// The headers of a link frame: the sender's matched net_tx record, or nullptr.
const NetEvent* frame_header(const TraceModel& model, const LinkFrame& frame);
// A link frame without headers (protocol unknown) matches no active filter.
bool frame_matches(const NetFilter& filter, const TraceModel& model, const LinkFrame& frame);

// Every TCP and UDP connection the NIC records show, busiest first, at most
// `limit` (the viewer's list).
struct ConnectionCount {
    NetConnection connection;
    u64 frames = 0; // NIC records (sent, received, dropped) on every node
};
std::vector<ConnectionCount> list_connections(const TraceModel& model, usize limit);

} // namespace gantry::viz
