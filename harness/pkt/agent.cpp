// How each BSD socket call of a script maps onto Gantry's TCP socket API
// (kernel/include/gantry/net/tcp/socket.hpp). Calls with no faithful mapping
// set Call::unsupported, which makes the script "not applicable", never a pass.
#include "agent.hpp"

#include <gantry/kernel.hpp>
#include <gantry/net/stack/stack.hpp>

#include <vector>

namespace gantry::pkt {

namespace {

constexpr i64 o_rdwr = 0x0002;     // FreeBSD <fcntl.h>
constexpr i64 o_nonblock = 0x0004;

std::string errno_for(net::TcpError error)
{
    using net::TcpError;
    switch (error) {
    case TcpError::invalid_state: return "ENOTCONN";
    case TcpError::closed: return "EBADF";
    case TcpError::no_socket: return "ENOBUFS";
    case TcpError::address_in_use: return "EADDRINUSE";
    case TcpError::no_route: return "EHOSTUNREACH";
    case TcpError::reset: return "ECONNRESET";
    case TcpError::refused: return "ECONNREFUSED";
    case TcpError::timed_out: return "ETIMEDOUT";
    case TcpError::unreachable: return "EHOSTUNREACH";
    // FreeBSD reports "administratively prohibited" as ECONNREFUSED (its
    // inetctlerrmap); Linux would say EHOSTUNREACH.
    case TcpError::prohibited: return "ECONNREFUSED";
    case TcpError::aborted: return "ECONNABORTED";
    case TcpError::no_memory: return "ENOMEM";
    }
    return "EIO";
}

const Expr* arg(const Call& call, usize index)
{
    return index < call.spec.args.size() ? &call.spec.args[index] : nullptr;
}

std::string name_arg(const Call& call, usize index)
{
    const Expr* e = arg(call, index);
    return e && e->kind == Expr::Kind::name ? e->text : std::string();
}

std::optional<i64> int_value(const Expr& e)
{
    if (e.kind == Expr::Kind::integer)
        return e.value;
    if (e.kind == Expr::Kind::name) {
        if (e.text == "O_RDWR")
            return o_rdwr;
        if (e.text == "O_NONBLOCK")
            return o_nonblock;
        if (e.text == "MSG_PEEK")
            return 2;
        if (e.text == "SHUT_RD")
            return 0;
        if (e.text == "SHUT_WR")
            return 1;
        if (e.text == "SHUT_RDWR")
            return 2;
    }
    if (e.kind == Expr::Kind::bit_or) {
        i64 value = 0;
        for (const Expr& item : e.items) {
            auto part = int_value(item);
            if (!part)
                return std::nullopt;
            value |= *part;
        }
        return value;
    }
    return std::nullopt;
}

std::optional<i64> int_arg(const Call& call, usize index)
{
    const Expr* e = arg(call, index);
    return e ? int_value(*e) : std::nullopt;
}

void fail_with(Call& call, std::string error_name)
{
    call.result = -1;
    call.error_name = std::move(error_name);
}

// FreeBSD rounds a connection's receive buffer up to a multiple of the MSS
// when it is established (tcp_mss_update); the profile gives Gantry's
// connections that size, for Gantry's MSS of 1460 (docs/conformance.md).
usize connected_receive_buffer(usize bytes)
{
    constexpr usize mss = 1460;
    return (bytes + mss - 1) / mss * mss;
}

net::TcpSocketOptions options_for(const AgentState& state, const FileDescriptor& fd)
{
    net::TcpSocketOptions options;
    options.receive_buffer_bytes = connected_receive_buffer(fd.receive_buffer_bytes);
    options.send_buffer_bytes = fd.send_buffer_bytes;
    options.window_scale_bytes = state.window_scale_bytes;
    options.icmp_hard_errors = state.icmp_hard_errors;
    options.keepalive_idle_ns = fd.keepalive_idle_ns;
    options.keepalive_interval_ns = fd.keepalive_interval_ns;
    options.keepalive_probes_max = fd.keepalive_probes_max;
    return options;
}

class Executor {
public:
    Executor(AgentState& state, Kernel& kernel, Call& call)
        : m_state(state), m_kernel(kernel), m_call(call)
    {
    }

    void run()
    {
        const std::string& name = m_call.spec.name;
        if (name == "socket")
            socket();
        else if (name == "fcntl")
            with_fd([this](FileDescriptor& fd) { fcntl(fd); });
        else if (name == "getsockopt")
            with_fd([this](FileDescriptor& fd) { getsockopt(fd); });
        else if (name == "setsockopt")
            with_fd([this](FileDescriptor& fd) { setsockopt(fd); });
        else if (name == "bind")
            with_fd([this](FileDescriptor& fd) { fd.port = m_state.bind_port; });
        else if (name == "listen")
            with_fd([this](FileDescriptor& fd) { listen(fd); });
        else if (name == "accept")
            with_fd([this](FileDescriptor& fd) { accept(fd); });
        else if (name == "connect")
            with_fd([this](FileDescriptor& fd) { connect(fd); });
        else if (name == "write" || name == "send")
            with_fd([this](FileDescriptor& fd) { write(fd); });
        else if (name == "read" || name == "recv")
            with_fd([this](FileDescriptor& fd) { read(fd); });
        else if (name == "shutdown")
            with_fd([this](FileDescriptor& fd) { shutdown(fd); });
        else if (name == "close")
            close();
        else
            m_call.unsupported = "system call " + name + "() has no Gantry mapping";
    }

private:
    template<typename F>
    void with_fd(F body)
    {
        auto number = int_arg(m_call, 0);
        auto found = number ? m_state.fds.find(static_cast<int>(*number)) : m_state.fds.end();
        if (found == m_state.fds.end())
            return fail_with(m_call, "EBADF");
        m_fd_number = found->first;
        body(found->second);
    }

    void socket()
    {
        if (name_arg(m_call, 1) != "SOCK_STREAM") {
            m_call.unsupported = "only SOCK_STREAM sockets (TCP) are mapped";
            return;
        }
        int number = 3;
        while (m_state.fds.count(number))
            ++number;
        FileDescriptor fd;
        fd.receive_buffer_bytes = m_state.receive_buffer_bytes;
        fd.send_buffer_bytes = m_state.send_buffer_bytes;
        fd.keepalive_idle_ns = m_state.keepalive_idle_ns;
        fd.keepalive_interval_ns = m_state.keepalive_interval_ns;
        fd.keepalive_probes_max = m_state.keepalive_probes_max;
        m_state.fds[number] = fd;
        m_call.result = number;
    }

    void fcntl(FileDescriptor& fd)
    {
        std::string command = name_arg(m_call, 1);
        if (command == "F_GETFL") {
            m_call.result = o_rdwr | (fd.nonblocking ? o_nonblock : 0);
        } else if (command == "F_SETFL") {
            auto flags = int_arg(m_call, 2);
            if (!flags) {
                m_call.unsupported = "fcntl F_SETFL with flags other than O_RDWR, O_NONBLOCK";
                return;
            }
            fd.nonblocking = (*flags & o_nonblock) != 0;
        } else {
            m_call.unsupported = "fcntl " + command + " is not mapped";
        }
    }

    void getsockopt(FileDescriptor& fd)
    {
        std::string level = name_arg(m_call, 1);
        std::string option = name_arg(m_call, 2);
        if (level == "IPPROTO_TCP" && option == "TCP_KEEPINIT") { // seconds, as FreeBSD
            TimeNs timeout = fd.connect_timeout_ns ? fd.connect_timeout_ns
                                                   : m_state.connect_timeout_ns;
            m_call.value_out = std::to_string(timeout / ns_per_s);
            return;
        }
        if (level == "IPPROTO_TCP" && option == "TCP_KEEPIDLE") { // seconds
            m_call.value_out = std::to_string(fd.keepalive_idle_ns / ns_per_s);
            return;
        }
        if (level == "IPPROTO_TCP" && option == "TCP_KEEPINTVL") {
            m_call.value_out = std::to_string(fd.keepalive_interval_ns / ns_per_s);
            return;
        }
        if (level == "IPPROTO_TCP" && option == "TCP_KEEPCNT") {
            m_call.value_out = std::to_string(fd.keepalive_probes_max);
            return;
        }
        if (level != "SOL_SOCKET") {
            m_call.unsupported = "getsockopt " + level + " " + option + " is not mapped";
            return;
        }
        if (option == "SO_ERROR") {
            std::string error = fd.pending_error;
            if (error.empty() && fd.socket && fd.socket->error() &&
                *fd.socket->error() != net::TcpError::closed)
                error = errno_for(*fd.socket->error());
            fd.pending_error.clear();
            m_call.value_out = error.empty() ? "0" : error;
        } else if (option == "SO_RCVBUF") {
            bool rounded = fd.kind == FileDescriptor::Kind::connecting && m_state.peer_syn_seen;
            m_call.value_out = std::to_string(rounded ? connected_receive_buffer(
                                                            fd.receive_buffer_bytes)
                                                      : fd.receive_buffer_bytes);
        } else if (option == "SO_SNDBUF") {
            m_call.value_out = std::to_string(fd.send_buffer_bytes);
        } else {
            m_call.unsupported = "getsockopt " + option + " is not mapped";
        }
    }

    void setsockopt(FileDescriptor& fd)
    {
        std::string level = name_arg(m_call, 1);
        std::string option = name_arg(m_call, 2);
        const Expr* value = arg(m_call, 3);
        std::optional<i64> number;
        if (value && value->kind == Expr::Kind::list && value->items.size() == 1)
            number = int_value(value->items[0]);
        if (level == "SOL_SOCKET" && option == "SO_REUSEADDR")
            return; // Gantry never refuses a bind for TIME-WAIT connections
        bool before_open = fd.kind == FileDescriptor::Kind::fresh;
        if (level == "IPPROTO_TCP" && option == "TCP_KEEPINIT" && number && *number > 0 &&
            before_open) {
            fd.connect_timeout_ns = static_cast<TimeNs>(*number) * ns_per_s; // the deadline
            return;
        }
        if (level == "IPPROTO_TCP" && number && *number > 0 && before_open) {
            if (option == "TCP_KEEPIDLE")
                return void(fd.keepalive_idle_ns = static_cast<TimeNs>(*number) * ns_per_s);
            if (option == "TCP_KEEPINTVL")
                return void(fd.keepalive_interval_ns = static_cast<TimeNs>(*number) * ns_per_s);
            if (option == "TCP_KEEPCNT")
                return void(fd.keepalive_probes_max = static_cast<u32>(*number));
        }
        if (level == "SOL_SOCKET" && option == "SO_RCVBUF" && number && before_open) {
            fd.receive_buffer_bytes = static_cast<usize>(*number);
            return;
        }
        if (level == "SOL_SOCKET" && option == "SO_SNDBUF" && number && before_open) {
            fd.send_buffer_bytes = static_cast<usize>(*number);
            return;
        }
        m_call.unsupported = "setsockopt " + level + " " + option + " is not mapped";
    }

    void listen(FileDescriptor& fd)
    {
        if (fd.kind != FileDescriptor::Kind::fresh || fd.port == 0) {
            m_call.unsupported = "listen() without bind() or twice is not mapped";
            return;
        }
        auto backlog = int_arg(m_call, 1).value_or(1);
        usize accept_backlog = backlog < 1 ? 1 : static_cast<usize>(backlog);
        if (accept_backlog > net::TcpListener::accept_backlog_max)
            accept_backlog = net::TcpListener::accept_backlog_max;
        auto listening = tcp().listen(fd.port, accept_backlog, options_for(m_state, fd));
        if (!listening.ok())
            return fail_with(m_call, errno_for(listening.error()));
        fd.listener = listening.value();
        fd.kind = FileDescriptor::Kind::listening;
    }

    void accept(FileDescriptor& fd)
    {
        if (fd.kind != FileDescriptor::Kind::listening)
            return fail_with(m_call, "EINVAL");
        net::TcpListener* listener = fd.listener;
        bool nonblocking = fd.nonblocking;
        usize rcvbuf = fd.receive_buffer_bytes;
        usize sndbuf = fd.send_buffer_bytes;
        auto accepted = listener->accept(nonblocking ? m_kernel.now() : deadline_none);
        if (!accepted.ok())
            return fail_with(m_call, accepted.error() == net::TcpError::timed_out
                                         ? "EAGAIN"
                                         : errno_for(accepted.error()));
        int number = 3;
        while (m_state.fds.count(number))
            ++number;
        FileDescriptor child;
        child.kind = FileDescriptor::Kind::connected;
        child.socket = accepted.value();
        child.receive_buffer_bytes = connected_receive_buffer(rcvbuf);
        child.send_buffer_bytes = sndbuf;
        m_state.fds[number] = child;
        m_call.result = number;
    }

    // A non-blocking connect returns EINPROGRESS at once and this fiber goes
    // on waiting for the handshake, recording its outcome for SO_ERROR.
    void connect(FileDescriptor& fd)
    {
        if (fd.kind != FileDescriptor::Kind::fresh) {
            m_call.unsupported = "connect() on a used socket is not mapped";
            return;
        }
        if (fd.port != 0) {
            m_call.unsupported = "connect() from a bound port is not mapped";
            return;
        }
        fd.kind = FileDescriptor::Kind::connecting;
        int number = m_fd_number;
        net::TcpSocketOptions options = options_for(m_state, fd);
        TimeNs timeout = fd.connect_timeout_ns ? fd.connect_timeout_ns
                                               : m_state.connect_timeout_ns;
        TimeNs deadline = m_kernel.now() + timeout;
        if (!fd.nonblocking) {
            auto connected = tcp().connect(m_state.remote, m_state.remote_port, deadline, options);
            if (!connected.ok()) {
                fd.kind = FileDescriptor::Kind::fresh;
                return fail_with(m_call, errno_for(connected.error()));
            }
            fd.kind = FileDescriptor::Kind::connected;
            fd.receive_buffer_bytes = connected_receive_buffer(fd.receive_buffer_bytes);
            fd.socket = connected.value();
            return;
        }
        // Non-blocking: EINPROGRESS now; this fiber goes on waiting for the
        // handshake, whose failure SO_ERROR then reports. close() cancels it.
        auto started = tcp().connect_start(m_state.remote, m_state.remote_port, options);
        if (!started.ok()) {
            fd.kind = FileDescriptor::Kind::fresh;
            return fail_with(m_call, errno_for(started.error()));
        }
        net::TcpSocket* socket = started.value();
        fd.socket = socket;
        fail_with(m_call, "EINPROGRESS");
        finish();
        auto connected = socket->wait_connected(deadline);
        auto found = m_state.fds.find(number);
        if (found == m_state.fds.end() || found->second.socket != socket)
            return; // closed meanwhile: close() gave the socket back
        FileDescriptor& now = found->second;
        if (connected.ok()) {
            now.kind = FileDescriptor::Kind::connected;
            now.receive_buffer_bytes = connected_receive_buffer(now.receive_buffer_bytes);
            return;
        }
        now.kind = FileDescriptor::Kind::fresh;
        now.pending_error = errno_for(connected.error());
        now.socket = nullptr;
        socket->close();
    }

    void write(FileDescriptor& fd)
    {
        auto length = int_arg(m_call, 2);
        if (!length || *length < 0 || *length > 16 * 1024 * 1024) {
            m_call.unsupported = "write() needs a literal length";
            return;
        }
        if (fd.kind == FileDescriptor::Kind::connecting)
            return fail_with(m_call, "EAGAIN");
        if (!fd.socket)
            return fail_with(m_call, "ENOTCONN");
        std::vector<u8> data(static_cast<usize>(*length), 0);
        auto sent = fd.nonblocking ? fd.socket->write_some(Bytes(data.data(), data.size()))
                                   : fd.socket->write(Bytes(data.data(), data.size()));
        if (!sent.ok())
            return fail_with(m_call, sent.error() == net::TcpError::invalid_state
                                         ? "EPIPE"
                                         : errno_for(sent.error()));
        if (sent.value() == 0 && *length > 0)
            return fail_with(m_call, "EAGAIN");
        m_call.result = static_cast<i64>(sent.value());
    }

    void read(FileDescriptor& fd)
    {
        auto length = int_arg(m_call, 2);
        i64 flags = int_arg(m_call, 3).value_or(0);
        if (!length || *length < 0 || *length > 16 * 1024 * 1024 || (flags & ~i64{2}) != 0) {
            m_call.unsupported = "read()/recv() needs a literal length and flags 0 or MSG_PEEK";
            return;
        }
        if (!fd.socket || fd.kind == FileDescriptor::Kind::connecting)
            return fail_with(m_call, "ENOTCONN");
        if (flags == 2) { // MSG_PEEK: only the count is observable in a script
            usize ready = fd.socket->readable();
            if (ready == 0) {
                m_call.unsupported = "a MSG_PEEK that would wait is not mapped";
                return;
            }
            m_call.result = static_cast<i64>(ready < static_cast<usize>(*length)
                                                  ? ready
                                                  : static_cast<usize>(*length));
            return;
        }
        std::vector<u8> buffer(static_cast<usize>(*length));
        auto got = fd.socket->read(MutableBytes(buffer.data(), buffer.size()),
                                   fd.nonblocking ? m_kernel.now() : deadline_none);
        if (!got.ok())
            return fail_with(m_call, got.error() == net::TcpError::timed_out
                                         ? "EAGAIN"
                                         : errno_for(got.error()));
        m_call.result = static_cast<i64>(got.value());
    }

    void shutdown(FileDescriptor& fd)
    {
        if (name_arg(m_call, 1) != "SHUT_WR") {
            m_call.unsupported = "shutdown " + name_arg(m_call, 1) + " is not mapped (SHUT_WR is)";
            return;
        }
        if (!fd.socket || fd.kind == FileDescriptor::Kind::connecting)
            return fail_with(m_call, "ENOTCONN");
        auto status = fd.socket->shutdown();
        if (!status.ok())
            fail_with(m_call, errno_for(status.error()));
    }

    void close()
    {
        auto number = int_arg(m_call, 0);
        auto found = number ? m_state.fds.find(static_cast<int>(*number)) : m_state.fds.end();
        if (found == m_state.fds.end())
            return fail_with(m_call, "EBADF");
        FileDescriptor& fd = found->second;
        // During a non-blocking connect this cancels it (the TCB in SYN-SENT
        // is deleted, RFC 9293 3.10.4); the connecting fiber sees `closed`.
        if (fd.listener)
            fd.listener->close();
        if (fd.socket)
            fd.socket->close();
        m_state.fds.erase(found);
    }

    void finish()
    {
        m_call.done = true;
        m_call.done_at = m_kernel.now();
    }

    net::TcpStack& tcp()
    {
        net::TcpStack* stack = m_kernel.net()->tcp();
        GANTRY_ASSERT(stack != nullptr);
        return *stack;
    }

    AgentState& m_state;
    Kernel& m_kernel;
    Call& m_call;
    int m_fd_number = -1;

public:
    bool finished() const { return m_call.done; }
    void complete()
    {
        if (!m_call.done)
            finish();
    }
};

} // namespace

int PktAgent::main(Kernel& kernel, AppArgs)
{
    gantry::Event wake(kernel.sched());
    // A host that runs TCP has its TCP layer from the start, so segments to
    // closed ports get RST (RFC 9293 3.10.7.1), not "protocol unreachable".
    if (!kernel.net() || !kernel.net()->tcp())
        return 1;
    m_state->kernel = &kernel;
    m_state->wake = &wake;
    for (;;) {
        while (!m_state->queue.empty()) {
            Call* call = m_state->queue.front();
            m_state->queue.pop_front();
            Fiber* fiber = kernel.sched().spawn("pkt-call", [this, call] { execute(*call); });
            if (fiber) {
                kernel.sched().detach(fiber);
            } else {
                call->unsupported = "the node ran out of memory for a fiber";
                call->done = true;
            }
        }
        wake.wait();
    }
}

void PktAgent::execute(Call& call)
{
    Executor executor(*m_state, *m_state->kernel, call);
    executor.run();
    executor.complete();
}

} // namespace gantry::pkt
