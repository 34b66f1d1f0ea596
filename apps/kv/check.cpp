// The durability checker. It is the oracle of the crash tests: it keeps, per
// key, the last acknowledged update and the updates sent since that got no
// answer (the server may have crashed before or after making them durable).
// A read may return the acknowledged value or one of those; anything else is
// a violation: a lost acknowledged write, or a value nobody wrote.
#include "check.hpp"
#include "protocol.hpp"
#include "wal.hpp"

#include <gantry/format.hpp>

namespace kv {

namespace {

constexpr usize keys_max = 64;
constexpr usize unanswered_max = 32; // per key, between two acknowledgements
constexpr u64 ops_max = 1'000'000;
constexpr TimeNs reply_wait_ns = 3 * ns_per_s;
constexpr TimeNs reconnect_wait_ns = 120 * ns_per_s; // the server may stay down this long
constexpr TimeNs reconnect_pause_ns = 50 * ns_per_ms;
constexpr usize verify_attempts_max = 50;
constexpr i64 absent = -1;

// One update: the op number that wrote it (the value encodes it), or absent
// for a delete.
struct KeyModel {
    i64 acknowledged = absent;
    i64 unanswered[unanswered_max];
    usize unanswered_count = 0;
};

u64 parse_number(std::string_view text, u64 fallback)
{
    if (text.empty())
        return fallback;
    u64 value = 0;
    for (char c : text) {
        if (c < '0' || c > '9' || value > ops_max)
            return 0;
        value = value * 10 + static_cast<u64>(c - '0');
    }
    return value;
}

class Checker {
public:
    Checker(Kernel& kernel, net::TcpStack& tcp, net::Ipv4Address server, std::string_view prefix)
        : m_kernel(kernel), m_tcp(tcp), m_server(server), m_prefix(prefix)
    {
    }

    int run(u64 ops, usize keys);

private:
    enum class Kind : u8 { set, del, get };

    bool connect();
    // Sends one line and reads one reply line into m_reply; false when the
    // connection failed (it is then dropped).
    bool request(std::string_view line);
    void drop_connection();
    void step(u64 op, Kind kind, usize key);
    void record_unanswered(usize key, i64 value);
    bool allowed(usize key, std::string_view reply) const;
    bool could_exist(usize key) const;
    bool verify_all(usize keys);
    void key_name(FormatBuffer& out, usize key) const;
    void value_for(FormatBuffer& out, u64 op) const;
    void violation(usize key, std::string_view reply);

    Kernel& m_kernel;
    net::TcpStack& m_tcp;
    net::Ipv4Address m_server;
    std::string_view m_prefix;
    net::TcpSocket* m_socket = nullptr;
    KeyModel m_keys[keys_max];
    char m_in[line_bytes_max];
    usize m_in_used = 0;
    std::string_view m_reply;
    u64 m_acknowledged = 0;
    u64 m_unanswered = 0;
    u64 m_reconnects = 0;
    u64 m_reads_checked = 0;
    u64 m_violations = 0;
    bool m_overflow = false;
};

void Checker::key_name(FormatBuffer& out, usize key) const
{
    format_to(out, "{}k{}", m_prefix, key);
}

// "v<op>-" and a filler whose length depends on op, so records vary in size
// and a value names the op that wrote it.
void Checker::value_for(FormatBuffer& out, u64 op) const
{
    format_to(out, "v{}-", op);
    usize filler = static_cast<usize>((op * 37) % 240);
    for (usize i = 0; i < filler; ++i)
        out.append(static_cast<char>('a' + (op + i) % 26));
}

bool Checker::connect()
{
    TimeNs give_up = m_kernel.now() + reconnect_wait_ns;
    while (m_kernel.now() < give_up) {
        auto connected = m_tcp.connect(m_server, kv_port, m_kernel.now() + ns_per_s);
        if (connected.ok()) {
            m_socket = connected.value();
            m_socket->set_nagle(net::Nagle::off);
            m_in_used = 0;
            return true;
        }
        m_kernel.sched().sleep_for(reconnect_pause_ns);
    }
    m_kernel.log().error("kv check: the server did not come back within {} s",
                         reconnect_wait_ns / ns_per_s);
    return false;
}

void Checker::drop_connection()
{
    if (m_socket)
        m_socket->abort();
    m_socket = nullptr;
    ++m_reconnects;
}

bool Checker::request(std::string_view line)
{
    if (!m_socket)
        return false;
    InlineFormatBuffer<line_bytes_max> out;
    out.append(line);
    out.append('\n');
    Bytes data(reinterpret_cast<const u8*>(out.view().data()), out.size());
    auto wrote = m_socket->write(data, m_kernel.now() + reply_wait_ns);
    if (!wrote.ok() || wrote.value() != data.size())
        return drop_connection(), false;
    TimeNs deadline = m_kernel.now() + reply_wait_ns;
    for (;;) {
        for (usize i = 0; i < m_in_used; ++i) {
            if (m_in[i] != '\n')
                continue;
            m_reply = std::string_view(m_in, i);
            return true; // consumed by the caller before the next request
        }
        if (m_in_used == sizeof(m_in))
            return drop_connection(), false;
        MutableBytes space(reinterpret_cast<u8*>(m_in) + m_in_used, sizeof(m_in) - m_in_used);
        auto got = m_socket->read(space, deadline);
        if (!got.ok() || got.value() == 0)
            return drop_connection(), false;
        m_in_used += got.value();
    }
}

void Checker::record_unanswered(usize key, i64 value)
{
    KeyModel& model = m_keys[key];
    ++m_unanswered;
    if (model.unanswered_count == unanswered_max) {
        m_overflow = true; // the model can no longer judge this key
        return;
    }
    model.unanswered[model.unanswered_count++] = value;
}

bool Checker::allowed(usize key, std::string_view reply) const
{
    const KeyModel& model = m_keys[key];
    i64 seen = absent;
    if (reply != "NOT_FOUND") {
        // "VALUE v<op>-<filler>": the op, and the value must be exactly its value.
        std::string_view prefix = "VALUE v";
        if (reply.size() < prefix.size() ||
            std::string_view(reply.data(), prefix.size()) != prefix)
            return false;
        u64 op = 0;
        usize at = prefix.size();
        while (at < reply.size() && reply[at] >= '0' && reply[at] <= '9')
            op = op * 10 + static_cast<u64>(reply[at++] - '0');
        InlineFormatBuffer<line_bytes_max> expected;
        expected.append("VALUE ");
        value_for(expected, op);
        if (expected.view() != reply)
            return false;
        seen = static_cast<i64>(op);
    }
    if (model.acknowledged == seen)
        return true;
    for (usize i = 0; i < model.unanswered_count; ++i)
        if (model.unanswered[i] == seen)
            return true;
    return false;
}

// Some value may be stored (what a DEL answered with DELETED must agree with).
bool Checker::could_exist(usize key) const
{
    const KeyModel& model = m_keys[key];
    if (model.acknowledged != absent)
        return true;
    for (usize i = 0; i < model.unanswered_count; ++i)
        if (model.unanswered[i] != absent)
            return true;
    return false;
}

void Checker::violation(usize key, std::string_view reply)
{
    ++m_violations;
    const KeyModel& model = m_keys[key];
    InlineFormatBuffer<96> name;
    key_name(name, key);
    m_kernel.log().error("kv check: VIOLATION: {} read '{}' but the last acknowledged update "
                         "was {} ({} unanswered since)",
                         name.view(),
                         std::string_view(reply.data(), reply.size() < 40 ? reply.size() : 40),
                         model.acknowledged, model.unanswered_count);
}

void Checker::step(u64 op, Kind kind, usize key)
{
    InlineFormatBuffer<line_bytes_max> line;
    line.append(kind == Kind::set ? "SET " : kind == Kind::del ? "DEL " : "GET ");
    key_name(line, key);
    if (kind == Kind::set) {
        line.append(' ');
        value_for(line, op);
    }
    i64 written = kind == Kind::set ? static_cast<i64>(op) : absent;
    bool answered = request(line.view());
    if (!answered) {
        if (kind != Kind::get)
            record_unanswered(key, written);
        return;
    }
    std::string_view reply = m_reply;
    KeyModel& model = m_keys[key];
    if (kind == Kind::get) {
        ++m_reads_checked;
        if (!allowed(key, reply))
            violation(key, reply);
    } else if ((kind == Kind::set && reply == "OK") ||
               (kind == Kind::del && (reply == "DELETED" || reply == "NOT_FOUND"))) {
        // What DEL found must agree with the model too.
        if (kind == Kind::del) {
            bool consistent = reply == "NOT_FOUND" ? allowed(key, reply) : could_exist(key);
            if (!consistent)
                violation(key, reply);
        }
        model.acknowledged = written;
        model.unanswered_count = 0;
        ++m_acknowledged;
    } else if (reply.size() >= 4 && std::string_view(reply.data(), 4) == "ERR ") {
        // ERR storage failed: the record may or may not be on the disk.
        record_unanswered(key, written);
    } else {
        violation(key, reply); // not a reply this protocol has
    }
    // Drop the reply line from the input buffer.
    usize consumed = reply.size() + 1;
    for (usize i = consumed; i < m_in_used; ++i)
        m_in[i - consumed] = m_in[i];
    m_in_used -= consumed;
}

bool Checker::verify_all(usize keys)
{
    for (usize attempt = 0; attempt < verify_attempts_max; ++attempt) {
        if (!m_socket && !connect())
            return false;
        bool complete = true;
        for (usize key = 0; key < keys && complete; ++key) {
            u64 before = m_reads_checked;
            step(0, Kind::get, key);
            complete = m_reads_checked > before;
        }
        if (complete)
            return true;
    }
    return false;
}

int Checker::run(u64 ops, usize keys)
{
    if (!connect())
        return 1;
    for (u64 op = 1; op <= ops; ++op) {
        if (!m_socket) {
            // The server went away: it must come back with every acknowledged write.
            if (!verify_all(keys))
                return 1;
        }
        u64 roll = m_kernel.random_u64();
        usize key = static_cast<usize>((roll >> 8) % keys);
        u64 choice = roll % 10;
        Kind kind = choice < 6 ? Kind::set : choice < 7 ? Kind::del : Kind::get;
        step(op, kind, key);
    }
    bool verified = verify_all(keys);
    if (m_socket)
        m_socket->close();
    m_socket = nullptr;
    m_kernel.print("kv check: {} ops, {} acknowledged, {} unanswered, {} reconnects, {} reads "
                   "checked, {} violations{}\n",
                   ops, m_acknowledged, m_unanswered, m_reconnects, m_reads_checked, m_violations,
                   m_overflow ? " (too many unanswered updates to judge some keys)" : "");
    return verified && m_violations == 0 && !m_overflow && m_acknowledged > 0 ? 0 : 1;
}

} // namespace

int run_check(Kernel& kernel, net::NetStack& stack, AppArgs args)
{
    auto server = args.values.size() >= 2 ? net::Ipv4Address::parse(args.values[1])
                                           : std::nullopt;
    u64 ops = parse_number(args.values.size() >= 3 ? args.values[2] : "", 1000);
    u64 keys = parse_number(args.values.size() >= 4 ? args.values[3] : "", 16);
    std::string_view prefix = args.values.size() >= 5 ? args.values[4] : "";
    if (!server || ops == 0 || keys == 0 || keys > keys_max || prefix.size() > 16 ||
        args.values.size() > 5) {
        kernel.log().error("kv: usage: kv -- check A.B.C.D [OPS] [KEYS <= 64] [PREFIX]");
        return 2;
    }
    net::TcpStack* tcp = stack.tcp();
    if (!tcp) {
        kernel.log().error("kv check: no TCP (out of memory)");
        return 1;
    }
    Checker* checker = kernel.heap().create<Checker>(kernel, *tcp, *server, prefix);
    if (!checker)
        return 1;
    int status = checker->run(ops, static_cast<usize>(keys));
    kernel.heap().destroy(checker);
    return status;
}

} // namespace kv
