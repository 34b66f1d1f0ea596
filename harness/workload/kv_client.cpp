// kv_client: random SETs, GETs (and DELs) on a kv server's keys, reconnecting
// whenever the server goes away, then one final GET of every key. Each
// operation is written to the WorkloadLog when it is sent (invoked) and again
// when its reply arrives (answered), so the kv_linearizable check can judge
// the history of all clients together. Unlike `kv -- check`, which judges its
// own keys inside the app, the history here spans clients that share keys.
#include "workload.hpp"

#include <gantry/net/stack/stack.hpp>

#include <cstring>

namespace gantry::harness {

namespace {

constexpr u16 kv_port_default = 7070;
constexpr usize line_bytes_max = 512;
constexpr TimeNs reconnect_pause_ns = 50 * ns_per_ms;

class KvClient final : public App {
public:
    KvClient(const WorkloadSpec& spec, WorkloadLog& log, usize node)
        : m_spec(spec), m_log(log), m_node(node)
    {
    }

    int main(Kernel& kernel, AppArgs) override
    {
        net::NetStack* stack = kernel.net();
        m_tcp = stack ? stack->tcp() : nullptr;
        if (!m_tcp) {
            kernel.log().error("kv_client: no TCP (no network, or out of memory)");
            return 1;
        }
        u64 answered = 0;
        for (u32 op = 0; op < m_spec.ops; ++op) {
            if (!perform(kernel, pick_op(kernel), static_cast<u32>(kernel.random_u64() % m_spec.keys)))
                return give_up(kernel, op);
            ++answered;
            if (m_spec.think_ns > 0)
                kernel.sched().sleep_for(m_spec.think_ns);
        }
        // Every key once more at the end: a lost acknowledged write shows here.
        for (u32 key = 0; key < m_spec.keys; ++key)
            if (!perform(kernel, KvRecord::Op::get, key))
                return give_up(kernel, m_spec.ops);
        kernel.log().info("kv_client: {} operations and {} final reads answered", answered,
                          m_spec.keys);
        drop_connection();
        return 0;
    }

private:
    int give_up(Kernel& kernel, u32 op)
    {
        kernel.log().error("kv_client: gave up at operation {}: no answer for {} ms", op,
                           m_spec.give_up_ns / ns_per_ms);
        drop_connection();
        return 1;
    }

    KvRecord::Op pick_op(Kernel& kernel)
    {
        u64 roll = kernel.random_u64() % 100;
        if (roll < m_spec.get_percent)
            return KvRecord::Op::get;
        if (roll < m_spec.get_percent + m_spec.del_percent)
            return KvRecord::Op::del;
        return KvRecord::Op::set;
    }

    // Sends the op until it gets an answer, reconnecting as needed; false when
    // no answer came within give_up. Each attempt is its own record: one that
    // got no answer may or may not have happened.
    bool perform(Kernel& kernel, KvRecord::Op op, u32 key)
    {
        TimeNs deadline = kernel.now() + m_spec.give_up_ns;
        while (kernel.now() < deadline) {
            if (!m_socket && !connect(kernel)) {
                kernel.sched().sleep_for(reconnect_pause_ns);
                continue;
            }
            usize record = invoke(kernel, op, key);
            if (exchange(kernel) && answer(kernel, record))
                return true;
            drop_connection();
            kernel.sched().sleep_for(reconnect_pause_ns); // the server may be down a while
        }
        return false;
    }

    bool connect(Kernel& kernel)
    {
        u16 port = m_spec.port != 0 ? m_spec.port : kv_port_default;
        auto connected = m_tcp->connect(net::Ipv4Address::from_u32(m_spec.server), port,
                                        kernel.now() + m_spec.timeout_ns);
        if (!connected.ok())
            return false;
        m_socket = connected.value();
        m_socket->set_nagle(net::Nagle::off);
        m_have = 0;
        return true;
    }

    void drop_connection()
    {
        if (m_socket)
            m_socket->abort();
        m_socket = nullptr;
        m_have = 0;
    }

    // Logs the op as invoked and writes its request line into m_line.
    usize invoke(Kernel& kernel, KvRecord::Op op, u32 key)
    {
        usize index = m_log.kv.size();
        KvRecord record{m_node, m_spec.server, op, m_spec.key_prefix + std::to_string(key),
                        {}, false, kernel.now(), std::nullopt, false};
        // Values name the record, which no other write shares.
        if (op == KvRecord::Op::set) {
            record.value = "w" + std::to_string(index);
            if (record.value.size() < m_spec.value_bytes) // longer records span sectors
                record.value += "-" + std::string(m_spec.value_bytes - record.value.size() - 1,
                                                  static_cast<char>('a' + index % 26));
        }
        const char* verb = op == KvRecord::Op::set ? "SET " : op == KvRecord::Op::get ? "GET "
                                                                                      : "DEL ";
        std::string line = verb + record.key +
                           (op == KvRecord::Op::set ? " " + record.value : std::string()) + "\n";
        GANTRY_ASSERT(line.size() <= sizeof(m_line));
        std::memcpy(m_line, line.data(), line.size());
        m_line_length = line.size();
        m_log.kv.push_back(std::move(record));
        return index;
    }

    // Sends m_line and reads one reply line into m_reply; false when the
    // connection failed or the reply did not come in time.
    bool exchange(Kernel& kernel)
    {
        TimeNs deadline = kernel.now() + m_spec.timeout_ns;
        auto wrote = m_socket->write(Bytes(reinterpret_cast<const u8*>(m_line), m_line_length),
                                     deadline);
        if (!wrote.ok() || wrote.value() != m_line_length)
            return false;
        for (;;) {
            for (usize i = 0; i < m_have; ++i) {
                if (m_in[i] != '\n')
                    continue;
                m_reply_length = i;
                std::memcpy(m_reply, m_in, i);
                std::memmove(m_in, m_in + i + 1, m_have - i - 1);
                m_have -= i + 1;
                return true;
            }
            if (m_have == sizeof(m_in))
                return false; // a reply longer than any the protocol has
            auto got = m_socket->read(MutableBytes(reinterpret_cast<u8*>(m_in) + m_have,
                                                   sizeof(m_in) - m_have),
                                      deadline);
            if (!got.ok() || got.value() == 0)
                return false;
            m_have += got.value();
        }
    }

    // Records the reply; false for one that does not answer the op (ERR ...:
    // the update may or may not be on the disk, so it stays unanswered).
    bool answer(Kernel& kernel, usize index)
    {
        std::string_view reply(m_reply, m_reply_length);
        KvRecord& record = m_log.kv[index];
        bool ok = false;
        if (record.op == KvRecord::Op::set) {
            ok = reply == "OK";
        } else if (record.op == KvRecord::Op::del) {
            ok = reply == "DELETED" || reply == "NOT_FOUND";
        } else if (reply == "NOT_FOUND") {
            ok = true;
        } else if (reply.starts_with("VALUE ")) {
            record.value = std::string(reply.substr(6));
            record.found = true;
            ok = true;
        }
        if (!ok) {
            kernel.log().info("kv_client: '{}' answered with '{}'",
                              std::string_view(m_line, m_line_length - 1), reply);
            return false;
        }
        record.answered = kernel.now();
        record.acknowledged = true;
        return true;
    }

    const WorkloadSpec& m_spec;
    WorkloadLog& m_log;
    usize m_node;
    net::TcpStack* m_tcp = nullptr;
    net::TcpSocket* m_socket = nullptr;
    char m_line[line_bytes_max];
    usize m_line_length = 0;
    char m_in[line_bytes_max];
    usize m_have = 0;
    char m_reply[line_bytes_max];
    usize m_reply_length = 0;
};

} // namespace

App* make_kv_client(Kernel& kernel, const WorkloadSpec& spec, WorkloadLog& log, usize node)
{
    return kernel.heap().create<KvClient>(spec, log, node);
}

} // namespace gantry::harness
