// Loss recovery with a SACK peer: the per-segment scoreboard, RFC 8985
// RACK-TLP (time-based loss detection, lost retransmissions, tail loss
// probes), RFC 6675's pipe (no window inflation from duplicate ACKs), D-SACK
// undo (RFC 3708) and what an RTO keeps (RFC 6675 5.1). The test plays the
// peer; every flight is sent at one instant and the peer answers 1 ms later,
// so RACK's RTT is 1 ms and its reordering window a quarter of that.
#include "tcp_fixture.hpp"

#include <gantry/net/tcp/scoreboard.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace gantry;
using namespace gantry::testing;

namespace {

constexpr u32 mss = 1000;
constexpr TimeNs rtt = 1 * ns_per_ms;

std::string pattern(usize length)
{
    std::string text(length, ' ');
    for (usize i = 0; i < length; i++)
        text[i] = static_cast<char>('a' + i % 26);
    return text;
}

TcpConfig sack_config()
{
    TcpConfig config = plain_config();
    config.sack = TcpSackOption::on;
    return config;
}

// Passive open with SACK and an MSS of 1000; returns our ISS.
u32 establish_sack(TcpFixture& f)
{
    REQUIRE(f.connection->listen(local_ep).ok());
    TcpRepr syn = f.seg(TcpFlags::syn, 1000);
    syn.mss = mss;
    syn.sack_permitted = SackPermitted::yes;
    f.send(syn);
    u32 iss = f.sent_one().repr.seq.value();
    f.send(f.seg(TcpFlags::ack, 1001, iss + 1));
    REQUIRE(f.connection->state() == TcpState::established);
    return iss;
}

// The peer's ACK of `una` with SACK blocks (absolute sequence numbers).
void sack_ack(TcpFixture& f, u32 una, std::vector<std::pair<u32, u32>> blocks)
{
    TcpRepr ack = f.seg(TcpFlags::ack, 1001, una);
    ack.sack_count = static_cast<u8>(blocks.size());
    for (usize i = 0; i < blocks.size(); i++)
        ack.sack[i] = TcpSackBlock{SeqNumber(blocks[i].first), SeqNumber(blocks[i].second)};
    f.send(ack);
}

// Queues 60,000 bytes and lets two slow-start rounds (1 ms each) grow cwnd;
// returns the third flight (16 segments, all sent at f.now) and sets `una`.
std::vector<SentSegment> grow_flight(TcpFixture& f, u32& una)
{
    f.send_app(pattern(60000));
    for (int round = 0; round < 2; round++) {
        auto sent = f.sent();
        REQUIRE(!sent.empty());
        f.advance(rtt);
        for (auto& segment : sent) {
            una = segment.repr.seq.value() + static_cast<u32>(segment.payload.size());
            f.send(f.seg(TcpFlags::ack, 1001, una));
        }
    }
    auto flight = f.sent();
    REQUIRE(flight.size() == 16);
    REQUIRE(flight[0].repr.seq == SeqNumber(una));
    return flight;
}

u32 end_of(const SentSegment& segment)
{
    return segment.repr.seq.value() + static_cast<u32>(segment.payload.size());
}

// Where most recovery cases start: a SACK connection whose third slow-start
// flight (16 segments from `una`, all sent at `now`) is in the air and not yet
// answered. The case advances time itself, so it can look before it does.
struct SackFlight : TcpFixture {
    SackFlight() : TcpFixture(sack_config())
    {
        establish_sack(*this);
        flight = grow_flight(*this, una);
    }
    // Where segment `index` of the flight starts (segments are mss long).
    u32 seq_of(u32 index) const { return una + index * mss; }
    // The peer's ACK of `una` with SACK blocks: a duplicate ACK with news.
    void sack(std::vector<std::pair<u32, u32>> blocks) { sack_ack(*this, una, std::move(blocks)); }

    u32 una = 0;
    std::vector<SentSegment> flight;
};

} // namespace

TEST_CASE("scoreboard: records, splits, cumulative ACKs and the pipe", "[tcp][sack][scoreboard]")
{
    TestKernel tk;
    TcpScoreboard board;
    REQUIRE(board.allocate(tk.kernel->heap(), 4));
    CHECK(board.capacity() == TcpScoreboard::records_min);
    board.push(SeqNumber(100), SeqNumber(200), 1);
    board.push(SeqNumber(200), SeqNumber(300), 2);
    board.push(SeqNumber(300), SeqNumber(400), 3);
    CHECK(board.pipe_bytes() == 300);
    CHECK(board.find_after(SeqNumber(250)) == 1);
    CHECK(board.find_after(SeqNumber(400)) == 3);
    board.mark_sacked(1);
    board.mark_lost(0);
    CHECK(board.pipe_bytes() == 100);
    CHECK(board.sacked_records() == 1);
    CHECK(board.lost_records() == 1);
    // A split keeps flags and counters; a retransmission of one half takes
    // only that half out of the lost count.
    REQUIRE(board.split_at(SeqNumber(150)));
    CHECK(board.size() == 4);
    CHECK(board.at(0).end == SeqNumber(150));
    CHECK(board.at(1).start == SeqNumber(150));
    CHECK(board.at(1).has(TcpSegmentRecord::lost));
    board.mark_sent_again(0, 9);
    CHECK(board.lost_bytes() == 50);
    CHECK(board.at(0).has(TcpSegmentRecord::retransmitted));
    CHECK(board.at(0).sent_at == 9);
    // A cumulative ACK inside a record trims it; the SACKed one goes whole.
    board.acknowledge(SeqNumber(175));
    CHECK(board.size() == 3);
    CHECK(board.at(0).start == SeqNumber(175));
    CHECK(board.lost_bytes() == 25);
    board.acknowledge(SeqNumber(300));
    CHECK(board.size() == 1);
    CHECK(board.sacked_records() == 0);
    CHECK(board.lost_records() == 0);
    CHECK(board.pipe_bytes() == 100);
}

TEST_CASE("RACK: a hole is lost once an RTT and the reordering window have passed (RFC 8985 6.2)",
          "[tcp][sack][rack]")
{
    SackFlight f;
    f.advance(rtt);
    // One segment above the first is SACKed: maybe reordering, maybe loss.
    // The SACKed segment leaves the pipe, so one new segment goes out
    // (limited transmit falls out of the pipe), but nothing is retransmitted.
    f.sack({{f.seq_of(1), f.seq_of(2)}});
    auto sent = f.sent();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].repr.seq == SeqNumber(end_of(f.flight.back())));
    // RACK waits a quarter of the minimum RTT past RACK.rtt ...
    CHECK(f.connection->next_deadline() == f.now + rtt / 4);
    f.fire();
    // ... then the first segment is lost: recovery starts with it.
    sent = f.sent();
    REQUIRE(!sent.empty());
    CHECK(sent[0].repr.seq == SeqNumber(f.una));
    TcpStats stats = f.connection->stats();
    CHECK(stats.fast_retransmits == 1);
    CHECK(stats.sack_retransmits == 1);
    CHECK(stats.timeouts == 0);
    CHECK(stats.cwnd == stats.ssthresh);
    CHECK(stats.ssthresh == 16 * mss / 2);
}

TEST_CASE("RACK: DupThresh SACKed segments mark holes lost at once; duplicate ACKs inflate nothing",
          "[tcp][sack][rack]")
{
    SackFlight f;
    f.advance(rtt);
    // Segments 0 and 3 are missing; four segments are SACKed above them.
    f.sack({{f.seq_of(4), f.seq_of(6)}, {f.seq_of(1), f.seq_of(3)}});
    auto sent = f.sent();
    REQUIRE(sent.size() == 1); // RFC 6675 5 (4.3): the first hole at once
    CHECK(sent[0].repr.seq == SeqNumber(f.una));
    TcpStats stats = f.connection->stats();
    CHECK(stats.cwnd == 8 * mss);
    // pipe = 16 - 4 SACKed - 1 lost (segment 3) = 11 segments > cwnd: the
    // second hole waits until the pipe drains below cwnd.
    f.sack({{f.seq_of(4), f.seq_of(10)}, {f.seq_of(1), f.seq_of(3)}});
    sent = f.sent();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].repr.seq == SeqNumber(f.seq_of(3)));
    // The network duplicates that ACK five times: no window inflation, no
    // segment sent, each hole sent once only.
    for (int i = 0; i < 5; i++)
        f.sack({{f.seq_of(4), f.seq_of(10)}, {f.seq_of(1), f.seq_of(3)}});
    CHECK(f.sent().empty());
    CHECK(f.connection->stats().cwnd == stats.cwnd);
    CHECK(f.connection->stats().retransmits == 2);
}

TEST_CASE("RACK: a lost retransmission is found again without an RTO (RFC 8985 6.2)",
          "[tcp][sack][rack]")
{
    SackFlight f;
    f.advance(rtt);
    f.sack({{f.seq_of(1), f.seq_of(4)}});
    REQUIRE(f.sent_one().repr.seq == SeqNumber(f.una)); // the retransmission, at t1
    // The rest of the flight arrives; the pipe lets new data out (at t2).
    f.advance(rtt);
    u32 top = end_of(f.flight.back());
    f.sack({{f.seq_of(1), top}});
    auto fresh = f.sent();
    REQUIRE(!fresh.empty());
    CHECK(fresh[0].repr.seq == SeqNumber(top));
    CHECK(f.connection->stats().retransmits == 1); // t1's retransmission is not overdue
    // The new data is SACKed but the retransmission never is: sent before
    // something that arrived, and more than RACK.rtt ago, it was lost too.
    f.advance(rtt);
    f.sack({{f.seq_of(1), end_of(fresh.back())}});
    auto sent = f.sent();
    REQUIRE(!sent.empty());
    CHECK(sent[0].repr.seq == SeqNumber(f.una));
    TcpStats stats = f.connection->stats();
    CHECK(stats.retransmits == 2);
    CHECK(stats.timeouts == 0);
    CHECK(stats.fast_retransmits == 1); // one recovery, one window reduction
}

TEST_CASE("TLP: a lost tail is probed after two RTTs, not after the RTO (RFC 8985 7)",
          "[tcp][sack][tlp]")
{
    TcpFixture f(sack_config());
    u32 iss = establish_sack(f);
    // One exchange gives RACK its RTT.
    f.send_app(pattern(mss));
    f.sent();
    f.advance(rtt);
    f.send(f.seg(TcpFlags::ack, 1001, iss + 1 + mss));
    u32 una = iss + 1 + mss;

    SECTION("new data is the probe when there is some")
    {
        f.send_app(pattern(5 * mss + 500)); // cwnd 5 segments: 500 bytes wait
        auto flight = f.sent();
        REQUIRE(flight.size() == 5);
        TimeNs sent_at = f.now;
        f.fire(); // nothing comes back
        CHECK(f.now - sent_at == 2 * rtt + TcpConnection::tlp_slack_ns);
        SentSegment probe = f.sent_one();
        CHECK(probe.repr.seq == SeqNumber(end_of(flight.back())));
        CHECK(probe.payload.size() == 500);
        CHECK(f.connection->stats().tail_loss_probes == 1);
        CHECK(f.connection->stats().timeouts == 0);
        // The probe's ACK SACKs it: RACK sees the lost tail and recovers it.
        f.advance(rtt);
        sack_ack(f, una + 2 * mss, {{end_of(flight.back()), end_of(probe)}});
        auto sent = f.sent();
        REQUIRE(sent.size() >= 1);
        CHECK(sent[0].repr.seq == SeqNumber(una + 2 * mss));
        CHECK(f.connection->stats().timeouts == 0);
    }
    SECTION("else the last segment goes again")
    {
        f.send_app(pattern(3 * mss));
        auto flight = f.sent();
        REQUIRE(flight.size() == 3);
        TimeNs sent_at = f.now;
        f.fire();
        TimeNs timeout = 2 * rtt + TcpConnection::tlp_slack_ns;
        CHECK(f.now - sent_at == timeout);
        SentSegment probe = f.sent_one();
        CHECK(probe.repr.seq == flight.back().repr.seq);
        CHECK(f.connection->stats().tail_loss_probes == 1);
        // Still nothing: more probes, each after twice the wait, then the RTO.
        for (u32 probes = 2; probes <= TcpConnection::tlp_probes_max; probes++) {
            TimeNs before = f.now;
            f.fire();
            CHECK(f.now - before == timeout << (probes - 1));
            CHECK(f.sent_one().repr.seq == flight.back().repr.seq);
            CHECK(f.connection->stats().tail_loss_probes == probes);
        }
        CHECK(f.connection->stats().timeouts == 0);
        f.fire();
        CHECK(f.connection->stats().timeouts == 1);
        CHECK(f.connection->stats().tail_loss_probes == TcpConnection::tlp_probes_max);
    }
}

TEST_CASE("D-SACK: a recovery whose only retransmission was a duplicate is undone (RFC 3708)",
          "[tcp][sack][dsack]")
{
    SackFlight f;
    u32 cwnd_before = f.connection->stats().cwnd;
    f.advance(rtt);
    f.sack({{f.seq_of(1), f.seq_of(4)}});
    REQUIRE(f.sent()[0].repr.seq == SeqNumber(f.una));
    REQUIRE(f.connection->stats().cwnd < cwnd_before);
    // The original was only delayed: the peer acknowledges the whole flight
    // and reports the retransmission as a duplicate (RFC 2883 4.1.1).
    f.advance(rtt);
    sack_ack(f, end_of(f.flight.back()), {{f.seq_of(0), f.seq_of(1)}});
    TcpStats stats = f.connection->stats();
    CHECK(stats.dsacks == 1);
    CHECK(stats.undos == 1);
    CHECK(stats.cwnd >= cwnd_before);
    CHECK(stats.ssthresh > cwnd_before);
}

TEST_CASE("D-SACK of data outside the recovery undoes nothing", "[tcp][sack][dsack]")
{
    SackFlight f;
    f.advance(rtt);
    f.sack({{f.seq_of(1), f.seq_of(4)}});
    REQUIRE(f.sent()[0].repr.seq == SeqNumber(f.una));
    u32 reduced = f.connection->stats().cwnd;
    // A duplicate of old data (below the recovery's start) is the network's.
    f.advance(rtt);
    f.sack({{f.una - mss, f.una}, {f.seq_of(1), f.seq_of(4)}});
    CHECK(f.connection->stats().dsacks == 1);
    CHECK(f.connection->stats().undos == 0);
    CHECK(f.connection->stats().cwnd == reduced);
}

TEST_CASE("RTO with a SACK peer: SACKed segments are not sent again (RFC 6675 5.1)",
          "[tcp][sack][rto]")
{
    SackFlight f;
    f.advance(rtt);
    f.sack({{f.seq_of(1), f.seq_of(3)}});
    f.sent(); // new data: two segments left the pipe
    f.fire(); // RACK's timer: the first segment is retransmitted
    REQUIRE(f.sent()[0].repr.seq == SeqNumber(f.una));
    while (f.connection->stats().tail_loss_probes < TcpConnection::tlp_probes_max)
        f.fire(); // nothing answers: the probes
    f.sent();
    f.fire(); // still nothing: the RTO, one segment (the loss window)
    CHECK(f.connection->stats().timeouts == 1);
    CHECK(f.sent_one().repr.seq == SeqNumber(f.una));
    // Its ACK opens cwnd to two segments: the next losses, skipping the two
    // segments the peer SACKed before the timeout.
    f.advance(rtt);
    f.send(f.seg(TcpFlags::ack, 1001, f.seq_of(1)));
    auto sent = f.sent();
    REQUIRE(sent.size() == 2);
    CHECK(sent[0].repr.seq == SeqNumber(f.seq_of(3)));
    CHECK(sent[1].repr.seq == SeqNumber(f.seq_of(4)));
}
