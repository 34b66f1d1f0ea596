// Two TCBs back to back through an in-memory pipe that loses, duplicates,
// delays and reorders segments, driven by a seeded RNG: every byte must
// arrive once and in order, whatever the seed, and both ends must close.
#include "tcp_fixture.hpp"

#include <map>
#include <random>
#include <tuple>

using namespace gantry;
using namespace gantry::testing;

namespace {

struct Faults {
    double loss = 0;
    double duplicate = 0;
    double reorder = 0; // probability of an extra delay that lets later frames pass
};

class LossyPipe final : public TcpOutput {
public:
    LossyPipe(u64 seed, Faults faults) : m_rng(seed), m_faults(faults) {}

    void tcp_transmit(TcpEndpoint local, TcpEndpoint remote, const TcpRepr& repr,
                      RingSlices payload) override
    {
        std::vector<u8> frame(repr.header_len() + payload.size());
        std::vector<u8> data(payload.first.begin(), payload.first.end());
        data.insert(data.end(), payload.second.begin(), payload.second.end());
        repr.emit(MutableBytes(frame), local.address, remote.address, Bytes(data));
        // Options (timestamps, SACK blocks) must come out of the payload, never push
        // a segment past the MSS: IP would have to fragment it.
        if (frame.size() > 20 + TcpConfig{}.mss)
            oversized++;
        std::uniform_real_distribution<double> coin(0, 1);
        if (coin(m_rng) < m_faults.loss) {
            lost++;
            return;
        }
        int copies = coin(m_rng) < m_faults.duplicate ? 2 : 1;
        for (int i = 0; i < copies; i++) {
            TimeNs delay = latency_ns;
            if (coin(m_rng) < m_faults.reorder)
                delay += std::uniform_int_distribution<TimeNs>(1, 5 * latency_ns)(m_rng);
            m_queue.emplace(std::make_tuple(now + delay, m_sequence++),
                            Frame{local.address, remote.address, frame});
        }
    }

    struct Frame {
        Ipv4Address source;
        Ipv4Address destination;
        std::vector<u8> bytes;
    };

    TimeNs next_delivery() const
    {
        return m_queue.empty() ? deadline_none : std::get<0>(m_queue.begin()->first);
    }
    bool pop_due(TimeNs at, Frame& out)
    {
        if (m_queue.empty() || std::get<0>(m_queue.begin()->first) > at)
            return false;
        out = std::move(m_queue.begin()->second);
        m_queue.erase(m_queue.begin());
        return true;
    }

    static constexpr TimeNs latency_ns = 1 * ns_per_ms;
    TimeNs now = 0;
    u64 lost = 0;
    u64 oversized = 0;

private:
    std::mt19937_64 m_rng;
    Faults m_faults;
    std::map<std::tuple<TimeNs, u64>, Frame> m_queue;
    u64 m_sequence = 0;
};

u8 byte_at(u64 index) { return static_cast<u8>((index * 2654435761u) >> 13); }

struct Transfer {
    u64 bytes_received = 0;
    TimeNs finished_at = 0;
    TcpStats sender;
    TcpStats receiver;
    u64 lost = 0;
};

void deliver(LossyPipe& pipe, TcpConnection& a, TcpConnection& b, TimeNs now)
{
    LossyPipe::Frame frame;
    for (int i = 0; i < 100000 && pipe.pop_due(now, frame); i++) {
        auto checked = TcpPacket::check(Bytes(frame.bytes), frame.source, frame.destination);
        REQUIRE(checked.ok());
        TcpConnection& to = frame.destination == a.local().address ? a : b;
        to.input(frame.source, TcpRepr::parse(checked.value()), checked.value().payload(), now);
    }
}

Transfer run_transfer(u64 seed, Faults faults, u64 total, const TcpConfig& config)
{
    TestKernel tk;
    TcpSecret secret = test_secret();
    LossyPipe pipe(seed, faults);
    Heap& heap = tk.kernel->heap();
    TcpConnection* server = TcpConnection::create(heap, config, pipe, secret).release_value();
    TcpConnection* client = TcpConnection::create(heap, config, pipe, secret).release_value();
    REQUIRE(server->listen(local_ep).ok());
    REQUIRE(client->connect(remote_ep, local_ep, pipe.now).ok());
    u64 sent = 0;
    Transfer result;
    std::vector<u8> chunk(16384);
    bool closed_write = false;
    for (u64 step = 0; step < 5'000'000; step++) {
        deliver(pipe, *server, *client, pipe.now);
        if (client->state() == TcpState::established || client->state() == TcpState::close_wait) {
            while (sent < total && client->send_space() > 0) {
                usize n = static_cast<usize>(std::min<u64>(chunk.size(), total - sent));
                for (usize i = 0; i < n; i++)
                    chunk[i] = byte_at(sent + i);
                auto taken = client->send(Bytes(chunk.data(), n), pipe.now);
                REQUIRE(taken.ok());
                sent += taken.value();
                if (taken.value() < n)
                    break;
            }
        }
        if (sent == total && !closed_write && client->state() == TcpState::established) {
            REQUIRE(client->shutdown_write(pipe.now).ok());
            closed_write = true;
        }
        while (server->recv_available() > 0) {
            auto got = server->recv(MutableBytes(chunk), pipe.now);
            REQUIRE(got.ok());
            usize mismatches = 0;
            for (usize i = 0; i < got.value(); i++)
                mismatches += chunk[i] != byte_at(result.bytes_received + i) ? 1 : 0;
            REQUIRE(mismatches == 0);
            result.bytes_received += got.value();
        }
        if (server->at_eof() && server->state() == TcpState::close_wait)
            REQUIRE(server->shutdown_write(pipe.now).ok());
        bool done = server->state() == TcpState::closed &&
                    (client->state() == TcpState::time_wait ||
                     client->state() == TcpState::closed);
        if (done && result.finished_at == 0)
            result.finished_at = pipe.now;
        if (done)
            break;
        TimeNs next = std::min({pipe.next_delivery(), server->poll(pipe.now),
                                client->poll(pipe.now)});
        REQUIRE(next != deadline_none);
        pipe.now = std::max(next, pipe.now);
    }
    result.sender = client->stats();
    result.receiver = server->stats();
    result.lost = pipe.lost;
    CHECK(pipe.oversized == 0);
    CHECK(!client->error());
    CHECK(!server->error());
    TcpConnection::destroy(heap, server);
    TcpConnection::destroy(heap, client);
    return result;
}

TcpConfig bulk_config()
{
    TcpConfig config;
    config.send_buffer_bytes = 128 * 1024;
    config.receive_buffer_bytes = 128 * 1024;
    return config;
}

} // namespace

TEST_CASE("bulk transfer over a clean pipe", "[tcp][bulk]")
{
    constexpr u64 total = 4 * 1024 * 1024;
    Transfer transfer = run_transfer(1, Faults{}, total, bulk_config());
    CHECK(transfer.bytes_received == total);
    CHECK(transfer.finished_at > 0);
    CHECK(transfer.sender.retransmits == 0);
    CHECK(transfer.sender.bytes_out == total);
}

TEST_CASE("bulk transfer through loss, duplication and reordering, several seeds",
          "[tcp][bulk]")
{
    constexpr u64 total = 1024 * 1024;
    Faults faults{0.03, 0.02, 0.05};
    for (u64 seed : {1, 2, 3, 4, 5, 6, 7, 8}) {
        INFO("seed " << seed);
        TcpConfig config = bulk_config();
        if (seed % 2 == 0) {
            config.timestamps = TcpTimestampOption::off;
            config.sack = TcpSackOption::off;
        }
        if (seed % 3 == 0)
            config.delayed_ack = DelayedAck::off;
        Transfer transfer = run_transfer(seed, faults, total, config);
        CHECK(transfer.bytes_received == total);
        CHECK(transfer.finished_at > 0);
        CHECK(transfer.lost > 0);
        CHECK(transfer.sender.retransmits > 0);
        INFO("seed " << seed << ": " << transfer.finished_at / ns_per_ms << " ms, lost "
                              << transfer.lost << ", retransmits "
                              << transfer.sender.retransmits << ", fast "
                              << transfer.sender.fast_retransmits << ", timeouts "
                              << transfer.sender.timeouts);
    }
}

TEST_CASE("bulk transfer with heavy loss still completes", "[tcp][bulk]")
{
    Faults faults{0.20, 0.05, 0.10};
    Transfer transfer = run_transfer(42, faults, 256 * 1024, bulk_config());
    CHECK(transfer.bytes_received == 256 * 1024);
    CHECK(transfer.finished_at > 0);
}

TEST_CASE("the same seed gives the same transfer (determinism)", "[tcp][bulk]")
{
    Faults faults{0.05, 0.02, 0.05};
    Transfer a = run_transfer(99, faults, 256 * 1024, bulk_config());
    Transfer b = run_transfer(99, faults, 256 * 1024, bulk_config());
    CHECK(a.finished_at == b.finished_at);
    CHECK(a.sender.retransmits == b.sender.retransmits);
    CHECK(a.sender.segments_out == b.sender.segments_out);
    CHECK(a.receiver.segments_out == b.receiver.segments_out);
    CHECK(a.sender.srtt_ns == b.sender.srtt_ns);
}
