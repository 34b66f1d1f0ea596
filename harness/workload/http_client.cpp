// http_client: GETs each path (HTTP/1.0, one connection per request, so the
// server always sends Content-Length) `repeat` times and records the status,
// the body's length and SHA-256, and any transport error. With read_pause it
// stops reading after the headers for a while: its receive window closes and
// the server has to probe it (the zero-window scenario).
#include "workload.hpp"

#include <gantry/net/stack/stack.hpp>

#include <cstring>

namespace gantry::harness {

namespace {

constexpr u16 http_port_default = 80;
constexpr usize header_bytes_max = 8 * 1024;
constexpr usize chunk_bytes = 16 * 1024;
constexpr usize request_bytes_max = 1200; // "GET " + a path of up to 1024 bytes + headers

// What one request came to, before it is written to the log.
struct Response {
    int status = 0;
    u64 body_bytes = 0;
    std::optional<u64> content_length;
    const char* error = nullptr; // a static string: nothing on the host heap across a block
};

bool equal_ignoring_case(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    for (usize i = 0; i < a.size(); ++i) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
        char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
        if (x != y)
            return false;
    }
    return true;
}

std::optional<u64> parse_decimal(std::string_view text)
{
    while (!text.empty() && text.front() == ' ')
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\r'))
        text.remove_suffix(1);
    if (text.empty() || text.size() > 15)
        return std::nullopt;
    u64 value = 0;
    for (char c : text) {
        if (c < '0' || c > '9')
            return std::nullopt;
        value = value * 10 + static_cast<u64>(c - '0');
    }
    return value;
}

// The status line and Content-Length of a complete header block.
bool parse_head(std::string_view head, Response& response)
{
    if (head.size() < 12 || head.substr(0, 7) != "HTTP/1." || head[8] != ' ')
        return false;
    auto status = parse_decimal(head.substr(9, 3));
    if (!status)
        return false;
    response.status = static_cast<int>(*status);
    usize line = head.find('\n');
    while (line != std::string_view::npos && line + 1 < head.size()) {
        std::string_view rest = head.substr(line + 1);
        usize end = rest.find('\n');
        std::string_view field = rest.substr(0, end);
        usize colon = field.find(':');
        if (colon != std::string_view::npos &&
            equal_ignoring_case(field.substr(0, colon), "content-length"))
            response.content_length = parse_decimal(field.substr(colon + 1));
        line = end == std::string_view::npos ? end : line + 1 + end;
    }
    return true;
}

class HttpClient final : public App {
public:
    HttpClient(const WorkloadSpec& spec, WorkloadLog& log, usize node)
        : m_spec(spec), m_log(log), m_node(node)
    {
    }

    int main(Kernel& kernel, AppArgs) override
    {
        net::NetStack* stack = kernel.net();
        net::TcpStack* tcp = stack ? stack->tcp() : nullptr;
        if (!tcp) {
            kernel.log().error("http_client: no TCP (no network, or out of memory)");
            return 1;
        }
        u64 failures = 0;
        for (u32 round = 0; round < m_spec.repeat; ++round) {
            for (usize index = 0; index < m_spec.paths.size(); ++index) {
                TimeNs started = kernel.now();
                Response response = fetch(kernel, *tcp, m_spec.paths[index]);
                failures += record(kernel, index, started, response) ? 0 : 1;
                if (m_spec.think_ns > 0)
                    kernel.sched().sleep_for(m_spec.think_ns);
            }
        }
        kernel.log().info("http_client: {} requests, {} failed",
                          m_spec.repeat * m_spec.paths.size(), failures);
        return failures == 0 ? 0 : 1;
    }

private:
    bool record(Kernel& kernel, usize path_index, TimeNs started, const Response& response)
    {
        const std::string& path = m_spec.paths[path_index];
        HttpRecord entry{m_node, path, response.status, response.body_bytes,
                         response.error ? std::string() : m_sha.hex_digest(),
                         response.error ? response.error : "", started, kernel.now()};
        m_log.http.push_back(std::move(entry));
        if (response.error) {
            kernel.log().info("http_client: GET {}: {}", std::string_view(path),
                              std::string_view(response.error));
            return false;
        }
        kernel.log().info("http_client: GET {} -> {} ({} bytes)", std::string_view(path),
                          response.status, response.body_bytes);
        return true;
    }

    usize build_request(std::string_view path)
    {
        char server[net::Ipv4Address::text_bytes_max] = {};
        net::Ipv4Address::from_u32(m_spec.server).to_chars(server);
        usize length = 0;
        auto append = [&](std::string_view text) {
            GANTRY_ASSERT(length + text.size() <= sizeof(m_request));
            std::memcpy(m_request + length, text.data(), text.size());
            length += text.size();
        };
        append("GET ");
        append(path);
        append(" HTTP/1.0\r\nHost: ");
        append(server);
        append("\r\nUser-Agent: gantry-http-client\r\n\r\n");
        return length;
    }

    Response fetch(Kernel& kernel, net::TcpStack& tcp, std::string_view path)
    {
        m_sha = Sha256();
        Response response;
        u16 port = m_spec.port != 0 ? m_spec.port : http_port_default;
        auto connected = tcp.connect(net::Ipv4Address::from_u32(m_spec.server), port,
                                     kernel.now() + m_spec.timeout_ns);
        if (!connected.ok()) {
            response.error = net::tcp_error_name(connected.error());
            return response;
        }
        net::TcpSocket& socket = *connected.value();
        usize length = build_request(path);
        auto wrote = socket.write(Bytes(reinterpret_cast<const u8*>(m_request), length),
                                  kernel.now() + m_spec.timeout_ns);
        if (!wrote.ok() || wrote.value() != length)
            response.error = wrote.ok() ? "timed_out" : net::tcp_error_name(wrote.error());
        else
            read_response(kernel, socket, response);
        if (response.error)
            socket.abort();
        else
            socket.close();
        return response;
    }

    // Headers into m_header, then the body (through the digest) until the
    // server's FIN.
    void read_response(Kernel& kernel, net::TcpSocket& socket, Response& response)
    {
        usize have = 0;
        usize head_end = 0;
        while (head_end == 0) {
            if (have == sizeof(m_header)) {
                response.error = "header block too large";
                return;
            }
            auto got = socket.read(MutableBytes(reinterpret_cast<u8*>(m_header) + have,
                                                sizeof(m_header) - have),
                                   kernel.now() + m_spec.timeout_ns);
            if (!got.ok() || got.value() == 0) {
                response.error = got.ok() ? "closed before the headers"
                                          : net::tcp_error_name(got.error());
                return;
            }
            have += got.value();
            std::string_view text(m_header, have);
            usize end = text.find("\r\n\r\n");
            head_end = end == std::string_view::npos ? 0 : end + 4;
        }
        if (!parse_head(std::string_view(m_header, head_end), response)) {
            response.error = "malformed status line";
            return;
        }
        consume(Bytes(reinterpret_cast<const u8*>(m_header) + head_end, have - head_end),
                response);
        if (m_spec.read_pause_ns > 0)
            kernel.sched().sleep_for(m_spec.read_pause_ns);
        for (;;) {
            auto got = socket.read(MutableBytes(m_chunk, sizeof(m_chunk)),
                                   kernel.now() + m_spec.timeout_ns);
            if (!got.ok()) {
                response.error = net::tcp_error_name(got.error());
                return;
            }
            if (got.value() == 0)
                break;
            consume(Bytes(m_chunk, got.value()), response);
        }
        if (response.content_length && *response.content_length != response.body_bytes)
            response.error = "body shorter or longer than its Content-Length";
    }

    void consume(Bytes data, Response& response)
    {
        m_sha.update(data);
        response.body_bytes += data.size();
    }

    const WorkloadSpec& m_spec;
    WorkloadLog& m_log;
    usize m_node;
    Sha256 m_sha;
    char m_request[request_bytes_max];
    char m_header[header_bytes_max];
    u8 m_chunk[chunk_bytes];
};

} // namespace

App* make_http_client(Kernel& kernel, const WorkloadSpec& spec, WorkloadLog& log, usize node)
{
    return kernel.heap().create<HttpClient>(spec, log, node);
}

} // namespace gantry::harness
