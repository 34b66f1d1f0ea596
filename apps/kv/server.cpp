// kv's TCP server: one fiber per connection, lines in, lines out; updates go
// through the Store, which answers only once they are durable.
#include "protocol.hpp"
#include "store.hpp"

#include <gantry/format.hpp>

namespace kv {

namespace {

constexpr usize connections_max = 32;
// Blocked fibers look at the shutdown flag this often.
constexpr TimeNs step_ns = ns_per_s;
constexpr usize reply_bytes_max = 16 + value_bytes_max;

struct Connection {
    net::TcpSocket* socket = nullptr;
    u8 in[line_bytes_max];
    usize used = 0;
};

Bytes as_bytes(std::string_view text)
{
    return Bytes(reinterpret_cast<const u8*>(text.data()), text.size());
}

std::string_view as_text(Bytes bytes)
{
    return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// Splits off the first word (up to a space or the end).
std::string_view next_word(std::string_view& rest)
{
    usize end = 0;
    while (end < rest.size() && rest[end] != ' ')
        ++end;
    std::string_view word(rest.data(), end);
    rest = end < rest.size() ? std::string_view(rest.data() + end + 1, rest.size() - end - 1)
                             : std::string_view();
    return word;
}

class Server {
public:
    Server(Kernel& kernel, Disk& disk) : m_kernel(kernel), m_store(kernel, disk) {}

    int run(net::NetStack& stack);

private:
    void accept_loop(net::TcpListener& listener);
    void serve_connection(Connection& connection);
    bool handle_line(Connection& connection, std::string_view line);
    void answer(FormatBuffer& reply, std::string_view line);
    void answer_update(FormatBuffer& reply, RecordOp op, std::string_view key, Bytes value);
    static bool write_all(Kernel& kernel, net::TcpSocket& socket, Bytes data);
    usize active() const;

    Kernel& m_kernel;
    Store m_store;
    Connection m_connections[connections_max] = {};
    u64 m_served = 0;
    u64 m_rejected = 0;
};

int Server::run(net::NetStack& stack)
{
    if (auto opened = m_store.open(); !opened.ok()) {
        m_kernel.log().error("kv: cannot replay the log: {}", describe(opened.error()));
        return 1;
    }
    m_kernel.log().info("kv: replayed {} records ({} keys), the log ends at sector {} of {}",
                        m_store.stats().replayed, m_store.keys(), m_store.log_end_sector(),
                        m_kernel.disk(0)->sector_count());
    net::TcpStack* tcp = stack.tcp();
    if (!tcp) {
        m_kernel.log().error("kv: no TCP (out of memory)");
        return 1;
    }
    auto listening = tcp->listen(kv_port);
    if (!listening.ok()) {
        m_kernel.log().error("kv: cannot listen on TCP port {}: {}", kv_port,
                             net::tcp_error_name(listening.error()));
        return 1;
    }
    net::TcpListener& listener = *listening.value();
    Fiber* committer = m_kernel.sched().spawn("kv-commit", [this] { m_store.run_committer(); });
    Fiber* acceptor = m_kernel.sched().spawn("kv-accept", [this, &listener] {
        accept_loop(listener);
    });
    if (!committer || !acceptor) {
        m_kernel.log().error("kv: out of memory starting fibers");
        return 1;
    }
    char address[net::Ipv4Address::text_bytes_max];
    stack.address().address.to_chars(address);
    m_kernel.log().info("kv: serving TCP {}:{}", std::string_view(address), kv_port);
    while (!m_kernel.shutdown_requested())
        m_kernel.shutdown_event().wait();
    listener.close();
    m_kernel.sched().join(acceptor);
    m_store.stop();
    m_kernel.sched().join(committer);
    const StoreStats& stats = m_store.stats();
    m_kernel.log().info("kv: {} connections ({} rejected), {} records in {} commits (at most {} "
                        "in one), {} retried disk requests",
                        m_served, m_rejected, stats.records, stats.commits,
                        stats.batch_records_max, stats.write_retries);
    return 0;
}

usize Server::active() const
{
    usize count = 0;
    for (const Connection& connection : m_connections)
        count += connection.socket ? 1 : 0;
    return count;
}

void Server::accept_loop(net::TcpListener& listener)
{
    for (;;) {
        auto accepted = listener.accept();
        if (!accepted.ok())
            break; // closed: shutting down
        Connection* slot = nullptr;
        for (Connection& connection : m_connections)
            if (!connection.socket && !slot)
                slot = &connection;
        if (!slot) {
            accepted.value()->abort(); // over the limit: tell the peer at once
            ++m_rejected;
            continue;
        }
        slot->socket = accepted.value();
        slot->used = 0;
        Fiber* fiber = m_kernel.sched().spawn("kv-conn", [this, slot] { serve_connection(*slot); });
        if (!fiber) {
            slot->socket->abort();
            slot->socket = nullptr;
            ++m_rejected;
            continue;
        }
        m_kernel.sched().detach(fiber);
        ++m_served;
    }
    // The connections live in this server: wait until no fiber uses them.
    while (active() > 0)
        m_kernel.sched().sleep_for(10 * ns_per_ms);
}

void Server::serve_connection(Connection& connection)
{
    net::TcpSocket& socket = *connection.socket;
    bool open = true;
    while (open && !m_kernel.shutdown_requested()) {
        MutableBytes space(connection.in + connection.used, line_bytes_max - connection.used);
        auto got = socket.read(space, m_kernel.now() + step_ns);
        if (!got.ok() && got.error() == net::TcpError::timed_out)
            continue;
        if (!got.ok() || got.value() == 0)
            break; // reset, or the peer's FIN
        connection.used += got.value();
        // Every complete line, in order; keep a partial one for the next read.
        usize start = 0;
        for (usize i = 0; i < connection.used && open; ++i) {
            if (connection.in[i] != '\n')
                continue;
            usize end = i > start && connection.in[i - 1] == '\r' ? i - 1 : i;
            open = handle_line(connection, as_text(Bytes(connection.in + start, end - start)));
            start = i + 1;
        }
        for (usize i = start; i < connection.used; ++i)
            connection.in[i - start] = connection.in[i];
        connection.used -= start;
        if (open && connection.used == line_bytes_max) {
            (void)write_all(m_kernel, socket, as_bytes("ERR line too long\n"));
            break;
        }
    }
    socket.close();
    connection.socket = nullptr;
}

bool Server::handle_line(Connection& connection, std::string_view line)
{
    InlineFormatBuffer<reply_bytes_max> reply;
    answer(reply, line);
    reply.append('\n');
    return write_all(m_kernel, *connection.socket, as_bytes(reply.view()));
}

void Server::answer(FormatBuffer& reply, std::string_view line)
{
    std::string_view rest = line;
    std::string_view command = next_word(rest);
    if (command == "SET" || command == "DEL" || command == "GET") {
        std::string_view key = next_word(rest);
        if (key.empty() || key.size() > key_bytes_max)
            return reply.append("ERR key must be 1 to 64 bytes without spaces");
        if (command == "SET") {
            if (rest.data() == nullptr || rest.size() > value_bytes_max)
                return reply.append(rest.data() == nullptr ? "ERR usage: SET <key> <value>"
                                                           : "ERR value longer than 256 bytes");
            return answer_update(reply, RecordOp::set, key, as_bytes(rest));
        }
        if (!rest.empty())
            return reply.append("ERR usage: GET|DEL <key>");
        if (command == "DEL")
            return answer_update(reply, RecordOp::del, key, {});
        Table::Lookup found = m_store.get(as_bytes(key));
        if (!found.found)
            return reply.append("NOT_FOUND");
        reply.append("VALUE ");
        return reply.append(as_text(found.value));
    }
    if (command == "PING" && rest.empty())
        return reply.append("PONG");
    if (command == "STATS" && rest.empty()) {
        const StoreStats& stats = m_store.stats();
        return format_to(reply, "STATS keys={} records={} commits={} log_sector={}",
                         m_store.keys(), stats.records + stats.replayed, stats.commits,
                         m_store.log_end_sector());
    }
    reply.append("ERR unknown command (SET, GET, DEL, PING, STATS)");
}

void Server::answer_update(FormatBuffer& reply, RecordOp op, std::string_view key, Bytes value)
{
    switch (m_store.update(op, as_bytes(key), value)) {
    case UpdateResult::stored:
        return reply.append("OK");
    case UpdateResult::deleted:
        return reply.append("DELETED");
    case UpdateResult::not_found:
        return reply.append("NOT_FOUND");
    case UpdateResult::log_full:
        return reply.append("ERR log full");
    case UpdateResult::table_full:
        return reply.append("ERR too many keys");
    case UpdateResult::storage_failed:
        return reply.append("ERR storage failed");
    }
}

bool Server::write_all(Kernel& kernel, net::TcpSocket& socket, Bytes data)
{
    usize done = 0;
    while (done < data.size()) {
        if (kernel.shutdown_requested())
            return false;
        auto wrote = socket.write(data.subspan(done), kernel.now() + step_ns);
        if (!wrote.ok())
            return false;
        done += wrote.value();
    }
    return true;
}

} // namespace

int serve(Kernel& kernel, net::NetStack& stack)
{
    Disk* disk = kernel.disk(0);
    if (!disk) {
        kernel.log().error("kv: no disk for the log (run with --disk FILE)");
        return 1;
    }
    if (disk->info().read_only) {
        kernel.log().error("kv: disk 0 is read-only; the log needs a writable disk");
        return 1;
    }
    Server* server = kernel.heap().create<Server>(kernel, *disk);
    if (!server) {
        kernel.log().error("kv: out of memory for the store");
        return 1;
    }
    int status = server->run(stack);
    kernel.heap().destroy(server);
    return status;
}

} // namespace kv
