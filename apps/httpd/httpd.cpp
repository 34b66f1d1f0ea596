// httpd: an HTTP/1.1 static file server on port 80, serving the gantryfs image
// on disk 0 (build it with `gantry mkimage DIR OUT.img`, run with
// `--disk OUT.img,ro`). docs/networking.md ("httpd") describes its behaviour.
//
// One fiber per connection: it reads a request (parse_request), answers it
// and loops while the connection is kept alive. GET and HEAD only; "/" and
// "dir/" mean index.html; bodies over chunked_threshold_bytes go out in
// chunked transfer coding to HTTP/1.1 clients, all others with Content-Length.
// No Date header: Gantry has no wall clock, and RFC 9110 6.6.1 says a server
// without one must not send it.
//
// App arguments (after `--`): --port N (default 80), --max-connections N
// (default 240; more are answered 503 and closed), --idle-timeout S (default
// 15; a connection without a complete request for that long is closed), and
// --stats, which serves counters at /_gantry/stats (text, one "name value" a line).
#include "http_request.hpp"

#include <gantry/app.hpp>
#include <gantry/fs/image.hpp>
#include <gantry/net/stack/dhcp_client.hpp>
#include <gantry/net/stack/stack.hpp>

namespace {

using namespace gantry;
using namespace std::string_view_literals;
using httpd::Method;
using httpd::ParseStatus;
using httpd::Request;
using httpd::Version;

constexpr TimeNs dhcp_wait_ns = 60 * ns_per_s;
// Blocked fibers look at the shutdown flag this often.
constexpr TimeNs step_ns = ns_per_s;
// Bodies larger than this go chunked to HTTP/1.1 clients (documented).
constexpr u64 chunked_threshold_bytes = 256 * 1024;
// Each read from the image and each chunk on the wire.
constexpr usize body_chunk_bytes = 32 * 1024;
// Room before the body for the status line, fields and a chunk-size line,
// and after it for the chunk's CRLF and the last-chunk.
constexpr usize head_room_bytes = 1024;
constexpr usize tail_room_bytes = 8;
// A request body (GET with Content-Length) up to this size is read and
// dropped; a larger one gets 413.
constexpr u64 request_body_max_bytes = 64 * 1024;
// TCP buffers per connection: big enough to keep a tap link busy, small
// enough that hundreds of connections fit in --mem 256M.
constexpr usize tcp_send_buffer_bytes = 128 * 1024;
constexpr usize tcp_receive_buffer_bytes = 16 * 1024;
// Lingering close (see linger_close).
constexpr TimeNs linger_ns = 2 * ns_per_s;
constexpr usize linger_bytes_max = 256 * 1024;
constexpr std::string_view stats_target = "/_gantry/stats"sv;

struct Options {
    u16 port = 80;
    usize connections_max = 240;
    TimeNs idle_timeout_ns = 15 * ns_per_s;
    bool stats = false;
};

struct Counters {
    u64 connections = 0;
    u64 refused = 0; // over connections_max: 503
    u64 requests = 0;
    u64 responses[6] = {}; // by class: [2] = 2xx, [4] = 4xx, [5] = 5xx
    u64 body_bytes = 0;
    u64 idle_closed = 0;
    u64 aborted = 0; // reset by the peer, a write that stalled, a disk error
    usize open = 0;
    usize peak = 0;
};

// Everything one connection needs, allocated when it is accepted.
struct Connection {
    net::TcpSocket* socket = nullptr;
    usize received = 0;
    u8 request[httpd::header_bytes_max];
    char path[httpd::target_bytes_max + 16];
    u8 out[head_room_bytes + body_chunk_bytes + tail_room_bytes];
    u8 scratch[fs::sector_bytes_max];
};

std::string_view reason(u32 status)
{
    switch (status) {
    case 200: return "OK"sv;
    case 400: return "Bad Request"sv;
    case 404: return "Not Found"sv;
    case 405: return "Method Not Allowed"sv;
    case 413: return "Content Too Large"sv;
    case 414: return "URI Too Long"sv;
    case 431: return "Request Header Fields Too Large"sv;
    case 500: return "Internal Server Error"sv;
    case 501: return "Not Implemented"sv;
    case 503: return "Service Unavailable"sv;
    case 505: return "HTTP Version Not Supported"sv;
    default: return "Unknown"sv;
    }
}

u32 status_for(ParseStatus status)
{
    switch (status) {
    case ParseStatus::target_too_long: return 414;
    case ParseStatus::header_too_large: return 431;
    case ParseStatus::bad_version: return 505;
    case ParseStatus::not_implemented: return 501;
    case ParseStatus::incomplete:
    case ParseStatus::complete:
    case ParseStatus::bad_request: break;
    }
    return 400;
}

bool parse_number(std::string_view text, u64 max, u64& out)
{
    if (text.empty() || text.size() > 10)
        return false;
    u64 value = 0;
    for (char c : text) {
        if (c < '0' || c > '9')
            return false;
        value = value * 10 + static_cast<u64>(c - '0');
    }
    if (value == 0 || value > max)
        return false;
    out = value;
    return true;
}

// How a response is framed and whether the connection goes on afterwards.
struct Reply {
    u32 status = 200;
    std::string_view content_type = "text/plain; charset=utf-8"sv;
    u64 length = 0;
    bool chunked = false;
    bool keep_alive = true;
    bool http10_keep_alive = false; // say "Connection: keep-alive" to a 1.0 client
    bool allow = false;             // "Allow: GET, HEAD" (405)
};

class Httpd final : public App {
public:
    int main(Kernel& kernel, AppArgs args) override
    {
        if (!parse_options(kernel, args))
            return 2;
        net::NetStack* stack = kernel.net();
        if (!stack) {
            kernel.log().error("httpd: no network interface (run with --net tap,ifname=IF or "
                               "--net user,hostfwd=tcp:127.0.0.1:8080-:80)");
            return 1;
        }
        if (!mount_image(kernel))
            return 1;
        if (net::DhcpClient* dhcp = stack->dhcp()) {
            if (!dhcp->wait_bound(kernel.now() + dhcp_wait_ns)) {
                kernel.log().error("httpd: no DHCP lease within {} s", dhcp_wait_ns / ns_per_s);
                return 1;
            }
        }
        m_tcp = stack->tcp();
        if (!m_tcp) {
            kernel.log().error("httpd: no TCP (out of memory; raise --mem)");
            return 1;
        }
        net::TcpSocketOptions socket_options;
        socket_options.send_buffer_bytes = tcp_send_buffer_bytes;
        socket_options.receive_buffer_bytes = tcp_receive_buffer_bytes;
        // Responses go out in large writes; Nagle would only hold back the
        // last short segment of each until the client's delayed ACK.
        socket_options.nagle = net::Nagle::off;
        auto listening = m_tcp->listen(m_options.port, net::TcpListener::accept_backlog_max,
                                       socket_options);
        if (!listening.ok()) {
            kernel.log().error("httpd: cannot listen on TCP port {}: {}", m_options.port,
                               net::tcp_error_name(listening.error()));
            return 1;
        }
        net::TcpListener* listener = listening.value();
        Fiber* watcher = kernel.sched().spawn("shutdown", [&kernel, listener] {
            while (!kernel.shutdown_requested())
                kernel.shutdown_event().wait();
            listener->close();
        });
        if (!watcher)
            return 1;
        kernel.sched().detach(watcher);
        char address[net::Ipv4Address::text_bytes_max];
        stack->address().address.to_chars(address);
        kernel.log().info("httpd: serving {} files from disk 0 on {}:{}", m_image.file_count(),
                          std::string_view(address), m_options.port);
        accept_loop(kernel, *listener);
        log_counters(kernel);
        return 0;
    }

private:
    bool parse_options(Kernel& kernel, AppArgs args)
    {
        for (usize i = 0; i < args.values.size(); i++) {
            std::string_view name = args.values[i];
            if (name == "--stats"sv) {
                m_options.stats = true;
                continue;
            }
            u64 value = 0;
            bool has_value = i + 1 < args.values.size();
            std::string_view text = has_value ? args.values[i + 1] : ""sv;
            if (name == "--port"sv && parse_number(text, 65535, value)) {
                m_options.port = static_cast<u16>(value);
            } else if (name == "--max-connections"sv && parse_number(text, 1000, value)) {
                m_options.connections_max = static_cast<usize>(value);
            } else if (name == "--idle-timeout"sv && parse_number(text, 3600, value)) {
                m_options.idle_timeout_ns = value * ns_per_s;
            } else {
                kernel.log().error("httpd: bad argument '{}'; usage: httpd [--disk IMG,ro] -- "
                                   "[--port 1-65535] [--max-connections 1-1000] "
                                   "[--idle-timeout 1-3600] [--stats]",
                                   name);
                return false;
            }
            i++;
        }
        return true;
    }

    bool mount_image(Kernel& kernel)
    {
        constexpr std::string_view hint =
            "build one with `gantry mkimage DIR site.img` and run with --disk site.img,ro"sv;
        Disk* disk = kernel.disk(0);
        if (!disk) {
            kernel.log().error("httpd: no disk 0 to serve files from; {}", hint);
            return false;
        }
        m_source = kernel.heap().create<fs::DiskSectorSource>(*disk);
        if (!m_source)
            return false;
        auto probed = fs::ImageFs::probe(*m_source);
        if (!probed.ok()) {
            kernel.log().error("httpd: disk 0: {}; {}", fs::describe(probed.error()), hint);
            return false;
        }
        usize table_bytes = fs::ImageFs::table_bytes(probed.value());
        m_table = static_cast<u8*>(kernel.heap().alloc(table_bytes > 0 ? table_bytes : 1));
        if (!m_table) {
            kernel.log().error("httpd: no memory for the image's index ({} bytes; raise --mem)",
                               table_bytes);
            return false;
        }
        auto mounted = m_image.mount(*m_source, probed.value(), MutableBytes(m_table, table_bytes));
        if (!mounted.ok()) {
            kernel.log().error("httpd: disk 0: {}; {}", fs::describe(mounted.error()), hint);
            return false;
        }
        return true;
    }

    void accept_loop(Kernel& kernel, net::TcpListener& listener)
    {
        for (;;) {
            auto accepted = listener.accept();
            if (!accepted.ok())
                break; // closed: shutting down
            net::TcpSocket* socket = accepted.value();
            Connection* connection = nullptr;
            if (m_counters.open < m_options.connections_max)
                connection = kernel.heap().create<Connection>();
            if (!connection) {
                refuse(*socket);
                continue;
            }
            connection->socket = socket;
            Fiber* fiber = kernel.sched().spawn("http", [this, &kernel, connection] {
                serve(kernel, *connection);
                kernel.heap().destroy(connection);
                m_counters.open--;
            });
            if (!fiber) {
                kernel.heap().destroy(connection);
                refuse(*socket);
                continue;
            }
            kernel.sched().detach(fiber);
            m_counters.connections++;
            m_counters.open++;
            m_counters.peak = m_counters.open > m_counters.peak ? m_counters.open : m_counters.peak;
        }
        // Connections notice the shutdown within a step; they use this app's state.
        while (m_counters.open > 0)
            kernel.sched().sleep_for(10 * ns_per_ms);
    }

    // Over the cap (or out of memory): a 503 that fits in the send buffer, then close.
    void refuse(net::TcpSocket& socket)
    {
        constexpr std::string_view busy = "HTTP/1.1 503 Service Unavailable\r\n"
                                          "Content-Type: text/plain; charset=utf-8\r\n"
                                          "Content-Length: 24\r\nConnection: close\r\n\r\n"
                                          "503 Service Unavailable\n"sv;
        (void)socket.write_some(Bytes(reinterpret_cast<const u8*>(busy.data()), busy.size()));
        socket.close();
        m_counters.refused++;
        m_counters.responses[5]++;
    }

    void serve(Kernel& kernel, Connection& connection)
    {
        for (;;) {
            Request request;
            ParseStatus status = ParseStatus::incomplete;
            if (!read_request(kernel, connection, request, status))
                break;
            m_counters.requests++;
            bool go_on = status == ParseStatus::complete
                             ? answer(kernel, connection, request)
                             : send_error(kernel, connection, status_for(status), Reply{});
            if (!go_on)
                break;
            // Keep what came after this request (pipelining).
            usize used = request.header_bytes;
            __builtin_memmove(connection.request, connection.request + used, connection.received - used);
            connection.received -= used;
        }
        if (connection.socket) // not after abort()
            linger_close(kernel, connection);
    }

    // RFC 9112 9.6: closing with unread request bytes would reset the
    // connection, and the client could lose the response it has not read yet.
    // So: FIN first, then read and drop what still comes until the client's
    // FIN, for at most linger_ns and linger_bytes_max.
    void linger_close(Kernel& kernel, Connection& connection)
    {
        net::TcpSocket& socket = *connection.socket;
        if (socket.shutdown().ok()) {
            TimeNs deadline = kernel.now() + linger_ns;
            usize drained = 0;
            while (drained < linger_bytes_max && !kernel.shutdown_requested()) {
                auto got = socket.read(MutableBytes(connection.request), deadline);
                if (!got.ok() || got.value() == 0)
                    break;
                drained += got.value();
            }
        }
        socket.close();
    }

    // false: the connection ended (peer closed, idle, error, shutdown) before a request.
    bool read_request(Kernel& kernel, Connection& connection, Request& request, ParseStatus& status)
    {
        TimeNs idle_deadline = kernel.now() + m_options.idle_timeout_ns;
        for (;;) {
            std::string_view received(reinterpret_cast<const char*>(connection.request),
                                      connection.received);
            status = httpd::parse_request(received, request);
            if (status != ParseStatus::incomplete)
                return true;
            if (kernel.shutdown_requested())
                return false;
            GANTRY_ASSERT(connection.received < sizeof(connection.request));
            TimeNs now = kernel.now();
            if (now >= idle_deadline) {
                m_counters.idle_closed++;
                return false;
            }
            TimeNs deadline = idle_deadline < now + step_ns ? idle_deadline : now + step_ns;
            MutableBytes room(connection.request + connection.received,
                              sizeof(connection.request) - connection.received);
            auto got = connection.socket->read(room, deadline);
            if (!got.ok() && got.error() == net::TcpError::timed_out)
                continue;
            if (!got.ok()) {
                m_counters.aborted++;
                return false;
            }
            if (got.value() == 0)
                return false; // the peer closed between requests
            connection.received += got.value();
        }
    }

    // Drops a request body that is already partly in the buffer.
    bool skip_body(Kernel& kernel, Connection& connection, Request& request)
    {
        u64 left = request.content_length;
        usize buffered = connection.received - request.header_bytes;
        usize take = left < buffered ? static_cast<usize>(left) : buffered;
        __builtin_memmove(connection.request + request.header_bytes,
                     connection.request + request.header_bytes + take, buffered - take);
        connection.received -= take;
        left -= take;
        while (left > 0) {
            u8* room = connection.out;
            usize want = left < sizeof(connection.out) ? static_cast<usize>(left) : sizeof(connection.out);
            auto got = connection.socket->read(MutableBytes(room, want),
                                               kernel.now() + m_options.idle_timeout_ns);
            if (!got.ok() || got.value() == 0)
                return false;
            left -= got.value();
        }
        return true;
    }

    bool answer(Kernel& kernel, Connection& connection, Request& request)
    {
        Reply reply;
        reply.keep_alive = request.keep_alive;
        reply.http10_keep_alive = request.version == Version::http10 && request.keep_alive;
        if (request.content_length > request_body_max_bytes) {
            reply.keep_alive = false; // the body is still coming: the framing is lost
            return send_error(kernel, connection, 413, reply);
        }
        if (request.content_length > 0 && !skip_body(kernel, connection, request))
            return false;
        if (request.method == Method::other) {
            reply.allow = true;
            return send_error(kernel, connection, 405, reply);
        }
        if (m_options.stats && request.target == stats_target)
            return send_stats(kernel, connection, request, reply);
        std::string_view path =
            httpd::target_to_path(request.target, connection.path, sizeof(connection.path));
        if (path.empty())
            return send_error(kernel, connection, 400, reply);
        auto found = m_image.lookup(path);
        if (!found.ok())
            return send_error(kernel, connection, 404, reply);
        fs::ImageFile file = found.value();
        reply.content_type = httpd::content_type(path);
        reply.length = file.size;
        reply.chunked = request.version == Version::http11 && file.size > chunked_threshold_bytes;
        m_counters.responses[2]++;
        if (request.method == Method::head)
            return send(kernel, connection, reply, Bytes{}, true) && reply.keep_alive;
        return send_file(kernel, connection, reply, file) && reply.keep_alive;
    }

    void format_head(FormatBuffer& head, const Reply& reply)
    {
        format_to(head, "HTTP/1.1 {} {}\r\nServer: gantry-httpd\r\nContent-Type: {}\r\n",
                  reply.status, reason(reply.status), reply.content_type);
        if (reply.chunked)
            head.append("Transfer-Encoding: chunked\r\n"sv);
        else
            format_to(head, "Content-Length: {}\r\n", reply.length);
        if (reply.allow)
            head.append("Allow: GET, HEAD\r\n"sv);
        if (!reply.keep_alive)
            head.append("Connection: close\r\n"sv);
        else if (reply.http10_keep_alive)
            head.append("Connection: keep-alive\r\n"sv);
        head.append("\r\n"sv);
    }

    // Sends the head (if `with_head`) and `body` as one write: the head is
    // placed in connection.out right before the body, which must already be at
    // connection.out + head_room_bytes (or be empty).
    bool send(Kernel& kernel, Connection& connection, const Reply& reply, Bytes body,
              bool with_head)
    {
        InlineFormatBuffer<head_room_bytes> head;
        if (with_head)
            format_head(head, reply);
        GANTRY_ASSERT(!head.truncated());
        u8* start = connection.out + head_room_bytes - head.size();
        __builtin_memcpy(start, head.view().data(), head.size());
        GANTRY_ASSERT(body.empty() || body.data() == connection.out + head_room_bytes);
        return write_all(kernel, *connection.socket, Bytes(start, head.size() + body.size()));
    }

    bool send_error(Kernel& kernel, Connection& connection, u32 status, Reply reply)
    {
        reply.status = status;
        if (status != 404 && status != 405)
            reply.keep_alive = false; // after a malformed request the framing is not trusted
        reply.chunked = false;
        m_counters.responses[status / 100 < 6 ? status / 100 : 5]++;
        u8* body = connection.out + head_room_bytes;
        InlineFormatBuffer<64> text;
        format_to(text, "{} {}\n", status, reason(status));
        __builtin_memcpy(body, text.view().data(), text.size());
        reply.length = text.size();
        bool sent = send(kernel, connection, reply, Bytes(body, text.size()), true);
        return sent && reply.keep_alive;
    }

    bool send_stats(Kernel& kernel, Connection& connection, Request& request, Reply& reply)
    {
        u8* body = connection.out + head_room_bytes;
        FormatBuffer text(reinterpret_cast<char*>(body), body_chunk_bytes);
        format_to(text,
                  "connections_open {}\nconnections_peak {}\nconnections_total {}\n"
                  "connections_refused {}\nconnections_idle_closed {}\nconnections_aborted {}\n"
                  "requests {}\nresponses_2xx {}\nresponses_4xx {}\nresponses_5xx {}\n"
                  "body_bytes {}\ntcp_sockets_in_use {}\n",
                  m_counters.open, m_counters.peak, m_counters.connections, m_counters.refused,
                  m_counters.idle_closed, m_counters.aborted, m_counters.requests,
                  m_counters.responses[2], m_counters.responses[4], m_counters.responses[5],
                  m_counters.body_bytes, m_tcp->sockets_in_use());
        reply.length = text.size();
        m_counters.responses[2]++;
        bool head_only = request.method == Method::head;
        return send(kernel, connection, reply, head_only ? Bytes{} : Bytes(body, text.size()), true) &&
               reply.keep_alive;
    }

    // The file in body_chunk_bytes pieces, each (with its chunk framing and,
    // for the first, the head) in one write.
    bool send_file(Kernel& kernel, Connection& connection, const Reply& reply,
                   const fs::ImageFile& file)
    {
        u8* data = connection.out + head_room_bytes;
        u64 offset = 0;
        bool first = true;
        do {
            if (kernel.shutdown_requested())
                return abort(connection);
            auto got = m_image.read(file, offset, MutableBytes(data, body_chunk_bytes),
                                    MutableBytes(connection.scratch));
            if (!got.ok()) {
                kernel.log().warn("httpd: reading {}: {}", m_image.path(file.index),
                                  fs::describe(got.error()));
                return abort(connection);
            }
            usize length = got.value();
            offset += length;
            bool last = offset >= file.size;
            if (!send_piece(kernel, connection, reply, Bytes(data, length), first, last))
                return abort(connection);
            m_counters.body_bytes += length;
            first = false;
        } while (offset < file.size);
        return true;
    }

    bool send_piece(Kernel& kernel, Connection& connection, const Reply& reply, Bytes data,
                    bool first, bool last)
    {
        InlineFormatBuffer<head_room_bytes> head;
        if (first)
            format_head(head, reply);
        if (reply.chunked && !data.empty())
            format_to(head, "{:x}\r\n", data.size());
        GANTRY_ASSERT(!head.truncated());
        u8* start = connection.out + head_room_bytes - head.size();
        __builtin_memcpy(start, head.view().data(), head.size());
        usize length = head.size() + data.size();
        if (reply.chunked) {
            constexpr std::string_view end_of_chunk = "\r\n"sv;
            constexpr std::string_view last_chunk = "0\r\n\r\n"sv;
            u8* tail = start + length;
            if (!data.empty()) {
                __builtin_memcpy(tail, end_of_chunk.data(), end_of_chunk.size());
                length += end_of_chunk.size();
            }
            if (last) {
                __builtin_memcpy(start + length, last_chunk.data(), last_chunk.size());
                length += last_chunk.size();
            }
            GANTRY_ASSERT(start + length <= connection.out + sizeof(connection.out));
        }
        return write_all(kernel, *connection.socket, Bytes(start, length));
    }

    bool abort(Connection& connection)
    {
        m_counters.aborted++;
        connection.socket->abort();
        // abort() gave the socket back; serve() must not close it again.
        connection.socket = nullptr;
        return false;
    }

    // false: the peer reset, the write made no progress for idle_timeout, or shutdown.
    bool write_all(Kernel& kernel, net::TcpSocket& socket, Bytes data)
    {
        usize done = 0;
        TimeNs stalled_at = kernel.now() + m_options.idle_timeout_ns;
        while (done < data.size()) {
            if (kernel.shutdown_requested() || kernel.now() >= stalled_at)
                return false;
            auto wrote = socket.write(data.subspan(done), kernel.now() + step_ns);
            if (!wrote.ok())
                return false;
            if (wrote.value() > 0)
                stalled_at = kernel.now() + m_options.idle_timeout_ns;
            done += wrote.value();
        }
        return true;
    }

    void log_counters(Kernel& kernel)
    {
        kernel.log().info("httpd: {} connections (at most {} at once, {} refused over the cap of "
                          "{}), {} requests: {} 2xx, {} 4xx, {} 5xx; {} body bytes sent",
                          m_counters.connections, m_counters.peak, m_counters.refused,
                          m_options.connections_max, m_counters.requests, m_counters.responses[2],
                          m_counters.responses[4], m_counters.responses[5], m_counters.body_bytes);
        kernel.log().info("httpd: {} closed idle, {} aborted; TCP sockets still in use: {}",
                          m_counters.idle_closed, m_counters.aborted, m_tcp->sockets_in_use());
    }

    Options m_options;
    Counters m_counters;
    fs::DiskSectorSource* m_source = nullptr;
    u8* m_table = nullptr;
    fs::ImageFs m_image;
    net::TcpStack* m_tcp = nullptr;
};

} // namespace

GANTRY_APP(httpd, Httpd)
