// The "pkt agent": the app on the node under test that executes a script's
// system calls against Gantry's TCP socket API, one fiber per call, so a
// blocking call blocks only itself. Its state (the file descriptor table and
// the queue of calls) lives on the interpreter's side, in host memory, so the
// interpreter can read results between world steps.
#pragma once

#include "script.hpp"

#include <gantry/app.hpp>
#include <gantry/net/tcp/socket.hpp>

#include <deque>
#include <map>
#include <optional>
#include <string>

namespace gantry::pkt {

// One system call from the script, filled in by the agent.
struct Call {
    SyscallSpec spec;
    int line = 0;
    bool done = false;
    i64 result = 0;
    std::string error_name;   // errno name when result == -1
    std::string unsupported;  // set when the call has no Gantry mapping
    std::optional<std::string> value_out; // getsockopt: the value read, as text
    TimeNs done_at = 0;
};

struct FileDescriptor {
    enum class Kind : u8 { fresh, listening, connecting, connected };
    Kind kind = Kind::fresh;
    bool nonblocking = false;
    u16 port = 0;
    net::TcpListener* listener = nullptr;
    net::TcpSocket* socket = nullptr;
    std::string pending_error; // SO_ERROR: errno name, empty for none
    usize receive_buffer_bytes = 0;
    usize send_buffer_bytes = 0;
    TimeNs connect_timeout_ns = 0; // TCP_KEEPINIT; 0: the profile's keepinit
    // TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT: from the profile at socket().
    TimeNs keepalive_idle_ns = 0;
    TimeNs keepalive_interval_ns = 0;
    u32 keepalive_probes_max = 0;
};

struct AgentState {
    Kernel* kernel = nullptr;
    gantry::Event* wake = nullptr;
    std::deque<Call*> queue;
    std::map<int, FileDescriptor> fds;
    net::Ipv4Address remote;
    u16 remote_port = 8080; // connect(..., ...) goes there
    u16 bind_port = 8080;   // bind(..., ...) takes this one (packetdrill's default)
    usize receive_buffer_bytes = 65536; // the profile: net.inet.tcp.recvspace
    usize send_buffer_bytes = 32768;    // net.inet.tcp.sendspace
    usize window_scale_bytes = 2097152; // kern.ipc.maxsockbuf sizes the window scale
    TimeNs connect_timeout_ns = 75 * ns_per_s; // net.inet.tcp.keepinit
    // net.inet.tcp.keepidle, keepintvl, keepcnt (FreeBSD's defaults; RFC 1122
    // 4.2.3.6 asks for an idle time of at least two hours).
    TimeNs keepalive_idle_ns = 7200 * ns_per_s;
    TimeNs keepalive_interval_ns = 75 * ns_per_s;
    u32 keepalive_probes_max = 8;
    // net.inet.tcp.icmp_may_rst: 1 (FreeBSD's default) lets ICMP hard errors
    // end a connection that is opening, as Gantry does by default.
    net::IcmpHardErrors icmp_hard_errors = net::IcmpHardErrors::abort_opening;
    bool peer_syn_seen = false; // the MSS is known: FreeBSD rounds the buffer then
};

class PktAgent final : public App {
public:
    explicit PktAgent(AgentState* state) : m_state(state) {}
    int main(Kernel& kernel, AppArgs args) override;

private:
    void execute(Call& call);
    AgentState* m_state;
};

} // namespace gantry::pkt
