// Data transfer in ESTABLISHED: Nagle and delayed ACK (RFC 1122 4.2.3),
// window scaling (RFC 7323 2), zero-window probes (RFC 1122 4.2.2.17),
// reassembly limits and SACK generation (RFC 2018 4), RTO (RFC 6298 5),
// NewReno (RFC 5681 3.2, RFC 6582 3.2), keepalive (RFC 1122 4.2.3.6), PAWS.
#include "tcp_fixture.hpp"

#include <string>

using namespace gantry;
using namespace gantry::testing;

namespace {

// Establishes passively from a SYN the test shaped; returns our ISS.
u32 establish_with(TcpFixture& f, TcpRepr syn, u16 window = 65535)
{
    REQUIRE(f.connection->listen(local_ep).ok());
    f.send(syn);
    SentSegment syn_ack = f.sent_one();
    u32 iss = syn_ack.repr.seq.value();
    TcpRepr ack = f.seg(TcpFlags::ack, syn.seq.value() + 1, iss + 1, window);
    if (syn_ack.repr.timestamps)
        ack.timestamps = TcpTimestamps{syn.timestamps->value + 1, syn_ack.repr.timestamps->value};
    f.send(ack);
    REQUIRE(f.connection->state() == TcpState::established);
    return iss;
}

std::string pattern(usize length, usize start = 0)
{
    std::string text(length, ' ');
    for (usize i = 0; i < length; i++)
        text[i] = static_cast<char>('a' + (start + i) % 26);
    return text;
}

} // namespace

TEST_CASE("Nagle holds small segments while data is unacknowledged", "[tcp][nagle]")
{
    TcpConfig config = plain_config();
    config.nagle = Nagle::on;
    TcpFixture f(config);
    u32 iss = f.establish_passive();
    f.send_app("a");
    CHECK(text_of(f.sent_one()) == "a"); // nothing in flight: goes at once
    f.send_app("b");
    f.send_app("c");
    CHECK(f.sent().empty()); // held: "a" is unacknowledged
    f.send(f.seg(TcpFlags::ack, 1001, iss + 2));
    CHECK(text_of(f.sent_one()) == "bc");
    SECTION("switched off per socket")
    {
        f.connection->set_nagle(Nagle::off);
        f.send_app("d");
        f.send_app("e");
        CHECK(f.sent().size() == 2);
    }
    SECTION("a full segment is never held")
    {
        f.send_app(pattern(536));
        CHECK(f.sent().size() == 1);
    }
}

TEST_CASE("delayed ACK: every second segment at once, else after the delay", "[tcp][delack]")
{
    TcpConfig config = plain_config();
    config.delayed_ack = DelayedAck::on;
    TcpFixture f(config);
    u32 iss = f.establish_passive();
    f.send_text(f.seg(TcpFlags::ack, 1001, iss + 1), "one");
    CHECK(f.sent().empty());
    CHECK(f.connection->next_deadline() == f.now + config.delayed_ack_ns);
    f.send_text(f.seg(TcpFlags::ack, 1004, iss + 1), "two");
    CHECK(f.sent_one().repr.ack == SeqNumber(1007));
    f.send_text(f.seg(TcpFlags::ack, 1007, iss + 1), "three");
    CHECK(f.sent().empty());
    f.fire();
    CHECK(f.sent_one().repr.ack == SeqNumber(1012));
    SECTION("data we send carries the ACK")
    {
        f.send_text(f.seg(TcpFlags::ack, 1012, iss + 1), "x");
        f.send_app("reply");
        SentSegment reply = f.sent_one();
        CHECK(reply.repr.ack == SeqNumber(1013));
        CHECK(f.connection->next_deadline() != f.now + config.delayed_ack_ns);
    }
    SECTION("out-of-order data is acknowledged at once")
    {
        f.send_text(f.seg(TcpFlags::ack, 1100, iss + 1), "later");
        CHECK(f.sent_one().repr.ack == SeqNumber(1012));
    }
}

TEST_CASE("window scaling: negotiated only when both SYNs carry it (RFC 7323 2)",
          "[tcp][wscale]")
{
    TcpConfig config = plain_config();
    config.window_scaling = WindowScaling::on;
    config.receive_buffer_bytes = 1024 * 1024;
    TcpFixture f(config);
    SECTION("both sides: scaled in both directions")
    {
        TcpRepr syn = f.seg(TcpFlags::syn, 1000, 0, 1000);
        syn.window_scale = 7;
        REQUIRE(f.connection->listen(local_ep).ok());
        f.send(syn);
        SentSegment syn_ack = f.sent_one();
        CHECK(syn_ack.repr.window_scale == u8{5}); // 1 MiB >> 5 fits 16 bits
        CHECK(syn_ack.repr.window == 65535);        // a SYN's window is never scaled
        CHECK(f.connection->stats().snd_wnd == 1000); // nor is the peer's
        u32 iss = syn_ack.repr.seq.value();
        f.send(f.seg(TcpFlags::ack, 1001, iss + 1, 1000));
        CHECK(f.connection->stats().snd_wnd == 1000u << 7);
        f.send_text(f.seg(TcpFlags::ack, 1001, iss + 1, 1000), "data");
        SentSegment ack = f.sent_one();
        CHECK(ack.repr.window == (1024 * 1024 - 4) >> 5);
    }
    SECTION("peer without the option: no scaling either way")
    {
        REQUIRE(f.connection->listen(local_ep).ok());
        f.send(f.seg(TcpFlags::syn, 1000, 0, 1000));
        SentSegment syn_ack = f.sent_one();
        CHECK(!syn_ack.repr.window_scale);
        u32 iss = syn_ack.repr.seq.value();
        f.send(f.seg(TcpFlags::ack, 1001, iss + 1, 1000));
        CHECK(f.connection->stats().snd_wnd == 1000);
        f.send_text(f.seg(TcpFlags::ack, 1001, iss + 1, 1000), "data");
        CHECK(f.sent_one().repr.window == 65535); // capped, unscaled
    }
    SECTION("a shift above 14 is used as 14")
    {
        TcpRepr syn = f.seg(TcpFlags::syn, 1000, 0, 1);
        syn.window_scale = 14;
        establish_with(f, syn, 2);
        CHECK(f.connection->stats().snd_wnd == 2u << 14);
    }
}

TEST_CASE("the advertised window never shrinks and opens by useful amounts", "[tcp][window]")
{
    TcpConfig config = plain_config();
    config.receive_buffer_bytes = 4096;
    TcpFixture f(config);
    TcpRepr syn = f.seg(TcpFlags::syn, 1000);
    syn.mss = 1000;
    u32 iss = establish_with(f, syn);
    u32 seq = 1001;
    for (int i = 0; i < 4; i++) {
        f.send_text(f.seg(TcpFlags::ack, seq, iss + 1), pattern(1024));
        seq += 1024;
    }
    auto acks = f.sent();
    REQUIRE(!acks.empty());
    CHECK(acks.back().repr.window == 0);
    // More data into a zero window: dropped, answered with a zero-window ACK.
    f.send_text(f.seg(TcpFlags::ack, seq, iss + 1), "x");
    CHECK(f.sent_one().repr.window == 0);
    // Reading 100 bytes is not worth a window update (RFC 1122 4.2.3.3) ...
    CHECK(f.recv_app(100).size() == 100);
    CHECK(f.sent().empty());
    // ... reading enough is.
    CHECK(f.recv_app(2000).size() == 2000);
    SentSegment update = f.sent_one();
    CHECK(update.repr.window == 2100);
}

TEST_CASE("zero window: persist probes back off and never give up", "[tcp][zwp]")
{
    TcpConfig config = plain_config();
    config.retries_max = 3;
    TcpFixture f(config);
    u32 iss = f.establish_passive(0);
    f.send_app("hello");
    CHECK(f.sent().empty());
    TimeNs last = f.now;
    TimeNs gap = 0;
    for (int probe = 0; probe < 8; probe++) {
        f.fire();
        SentSegment sent = f.sent_one();
        CHECK(sent.payload.size() == 1);
        CHECK(sent.repr.seq == SeqNumber(iss + 1));
        CHECK(f.now - last > gap); // backoff
        gap = f.now - last;
        last = f.now;
        f.send(f.seg(TcpFlags::ack, 1001, iss + 1, 0)); // still closed
    }
    CHECK(f.connection->state() == TcpState::established);
    CHECK(f.connection->stats().zero_window_probes == 8);
    // The window opens: everything flows.
    f.send(f.seg(TcpFlags::ack, 1001, iss + 1, 1000));
    SentSegment data = f.sent_one();
    CHECK(text_of(data) == "hello");
}

TEST_CASE("out-of-order data: reassembly, SACK blocks and limits (RFC 2018 4)",
          "[tcp][reassembly][sack]")
{
    TcpConfig config = plain_config();
    config.sack = TcpSackOption::on;
    config.ooo_bytes_max = 300;
    TcpFixture f(config);
    TcpRepr syn = f.seg(TcpFlags::syn, 1000);
    syn.sack_permitted = SackPermitted::yes;
    u32 iss = establish_with(f, syn);
    std::string data = pattern(1000);
    auto piece = [&](u32 offset, u32 length) {
        f.send_text(f.seg(TcpFlags::ack, 1001 + offset, iss + 1),
                    std::string_view(data).substr(offset, length));
    };
    piece(100, 100);
    SentSegment dup = f.sent_one();
    CHECK(dup.repr.ack == SeqNumber(1001));
    REQUIRE(dup.repr.sack_count == 1);
    CHECK(dup.repr.sack[0] == TcpSackBlock{SeqNumber(1101), SeqNumber(1201)});
    piece(300, 100);
    SentSegment second = f.sent_one();
    REQUIRE(second.repr.sack_count == 2);
    CHECK(second.repr.sack[0].left == SeqNumber(1301)); // most recent first
    CHECK(second.repr.sack[1].left == SeqNumber(1101));
    // Beyond ooo_bytes_max (200 held + 200 > 300): dropped and counted.
    f.send_text(f.seg(TcpFlags::ack, 1001 + 500, iss + 1), std::string_view(data).substr(500, 200));
    CHECK(f.connection->stats().ooo_drops == 1);
    f.sent();
    piece(200, 100); // joins the two blocks
    SentSegment merged = f.sent_one();
    REQUIRE(merged.repr.sack_count == 1);
    CHECK(merged.repr.sack[0] == TcpSackBlock{SeqNumber(1101), SeqNumber(1401)});
    piece(0, 100); // fills the hole
    CHECK(f.sent_one().repr.ack == SeqNumber(1401));
    CHECK(f.recv_app() == data.substr(0, 400));
    CHECK(f.connection->stats().ooo_segments == 3);
}

TEST_CASE("out-of-order ranges are bounded by ooo_ranges_max", "[tcp][reassembly]")
{
    TcpFixture f;
    u32 iss = f.establish_passive();
    for (u32 i = 0; i < TcpConnection::ooo_ranges_max + 2; i++)
        f.send_text(f.seg(TcpFlags::ack, 1001 + 10 + 20 * i, iss + 1), "0123456789");
    CHECK(f.connection->stats().ooo_drops == 2);
    CHECK(f.connection->stats().ooo_segments == TcpConnection::ooo_ranges_max);
}

// The pattern a full queue leaves in slow start: holes across most of the
// window. A receiver that kept only some of the islands would hide later
// segments from the sender's scoreboard (the 200 ms stalls of the simulator's
// sim-bulk benchmark, issue 5). 63 islands of 750 bytes: more ranges than the
// old limit (8) and more bytes than plain_config's 32 KiB ooo_bytes_max.
TEST_CASE("out-of-order data: by default the whole receive buffer holds islands",
          "[tcp][reassembly]")
{
    TcpConfig config = plain_config();
    config.ooo_bytes_max = 0; // the default: bounded by the receive buffer
    TcpFixture f(config);
    u32 iss = f.establish_passive();
    constexpr u32 period = 1000;
    constexpr u32 hole = 250;
    const u32 islands = TcpConnection::ooo_ranges_max - 1;
    std::string data = pattern(period * islands);
    REQUIRE(data.size() < 65535); // all of it inside the unscaled window
    for (u32 i = 0; i < islands; i++) {
        u32 offset = period * i + hole;
        f.send_text(f.seg(TcpFlags::ack, 1001 + offset, iss + 1),
                    std::string_view(data).substr(offset, period - hole));
    }
    CHECK(f.connection->stats().ooo_drops == 0);
    CHECK(f.connection->stats().ooo_segments == islands);
    // Filling the holes delivers everything, in order.
    for (u32 i = 0; i < islands; i++)
        f.send_text(f.seg(TcpFlags::ack, 1001 + period * i, iss + 1),
                    std::string_view(data).substr(period * i, hole));
    f.sent();
    CHECK(f.recv_app() == data);
}

TEST_CASE("RTO: retransmission, backoff, loss window and giving up (RFC 6298 5)",
          "[tcp][rto]")
{
    TcpConfig config = plain_config();
    config.retries_max = 2;
    TcpFixture f(config);
    u32 iss = f.establish_passive();
    f.send_app(pattern(1000));
    auto first = f.sent();
    REQUIRE(first.size() == 2); // 536 + 464 (IW 4 * 536)
    TimeNs sent_at = f.now;
    f.fire();
    // The handshake's sample (0 ns in this test) leaves the RTO at its floor.
    CHECK(f.now - sent_at == 200 * ns_per_ms);
    SentSegment again = f.sent_one();
    CHECK(again.repr.seq == SeqNumber(iss + 1));
    CHECK(again.payload.size() == 536);
    TcpStats stats = f.connection->stats();
    CHECK(stats.cwnd == 536);         // loss window
    CHECK(stats.ssthresh == 2 * 536); // max(FlightSize / 2, 2 * SMSS)
    CHECK(stats.rto_ns == 400 * ns_per_ms);
    CHECK(stats.timeouts == 1);
    // The ACK of the retransmission gives no RTT sample (Karn) ...
    f.advance(100 * ns_per_ms);
    f.send(f.seg(TcpFlags::ack, 1001, iss + 537));
    CHECK(f.connection->stats().srtt_ns == 0);
    CHECK(f.connection->stats().rto_ns == 400 * ns_per_ms);
    // ... and the rest goes out again (go-back-N after the timeout).
    CHECK(f.sent_one().repr.seq == SeqNumber(iss + 537));
    f.fire();
    f.fire();
    f.fire();
    CHECK(f.connection->state() == TcpState::closed);
    CHECK(f.connection->error() == TcpError::timed_out);
}

TEST_CASE("RTT samples time one segment at a time", "[tcp][rto]")
{
    TcpFixture f;
    REQUIRE(f.connection->connect(local_ep, remote_ep, f.now).ok());
    u32 iss = f.sent_one().repr.seq.value();
    f.advance(400 * ns_per_ms);
    f.send(f.seg(TcpFlags::syn | TcpFlags::ack, 1000, iss + 1)); // the SYN's sample
    f.send_app("hello");
    f.sent();
    f.send_app("world"); // not timed: a measurement is running
    f.sent();
    f.advance(400 * ns_per_ms);
    f.send(f.seg(TcpFlags::ack, 1001, iss + 6));
    TcpStats stats = f.connection->stats();
    CHECK(stats.srtt_ns == 400 * ns_per_ms);
    CHECK(stats.rttvar_ns == 150 * ns_per_ms); // 3/4 * 200 + 1/4 * 0
    CHECK(stats.rto_ns == 1000 * ns_per_ms);   // 400 + 4 * 150
}

TEST_CASE("NewReno: three dupacks, fast retransmit, partial and full ACKs (RFC 6582)",
          "[tcp][newreno]")
{
    TcpFixture f;
    TcpRepr syn = f.seg(TcpFlags::syn, 1000);
    syn.mss = 1000;
    u32 iss = establish_with(f, syn);
    u32 una = iss + 1;
    // Grow cwnd by slow start: each ACK of a full segment adds one SMSS.
    f.send_app(pattern(60000));
    for (int round = 0; round < 2; round++) {
        auto sent = f.sent();
        INFO("round " << round << " cwnd " << f.connection->stats().cwnd);
        REQUIRE(!sent.empty());
        for (auto& segment : sent) {
            una = segment.repr.seq.value() + static_cast<u32>(segment.payload.size());
            f.send(f.seg(TcpFlags::ack, 1001, una));
        }
    }
    auto flight = f.sent();
    REQUIRE(flight.size() >= 6);
    u32 flight_bytes = 0;
    for (auto& segment : flight)
        flight_bytes += static_cast<u32>(segment.payload.size());
    u32 lost = una;
    // Segment 1 of the flight is lost: the peer repeats its ACK. The first
    // two dupacks each send one new segment (RFC 3042 limited transmit).
    u32 cwnd_before = f.connection->stats().cwnd;
    f.send(f.seg(TcpFlags::ack, 1001, una));
    f.send(f.seg(TcpFlags::ack, 1001, una));
    auto limited = f.sent();
    REQUIRE(limited.size() == 2);
    CHECK(limited[0].repr.seq.value() == flight.back().repr.seq.value() + 1000);
    CHECK(f.connection->stats().cwnd == cwnd_before); // unchanged by them
    f.send(f.seg(TcpFlags::ack, 1001, una));
    auto retransmit = f.sent();
    REQUIRE(!retransmit.empty());
    CHECK(retransmit[0].repr.seq == SeqNumber(lost));
    TcpStats stats = f.connection->stats();
    CHECK(stats.fast_retransmits == 1);
    CHECK(stats.ssthresh == flight_bytes / 2);
    CHECK(stats.cwnd == stats.ssthresh + 3 * 1000);
    // Another dupack inflates cwnd by one SMSS.
    f.send(f.seg(TcpFlags::ack, 1001, una));
    CHECK(f.connection->stats().cwnd == stats.cwnd + 1000);
    f.sent();
    // A partial ACK (segment 3 was lost too): retransmit it at once.
    f.send(f.seg(TcpFlags::ack, 1001, lost + 2000));
    auto partial = f.sent();
    REQUIRE(!partial.empty());
    CHECK(partial[0].repr.seq == SeqNumber(lost + 2000));
    CHECK(f.connection->stats().fast_retransmits == 1);
    // The full ACK ends recovery: cwnd = min(ssthresh, FlightSize + SMSS).
    u32 recover = flight.back().repr.seq.value() + 1000;
    f.send(f.seg(TcpFlags::ack, 1001, recover));
    CHECK(f.connection->stats().cwnd <= stats.ssthresh);
}

TEST_CASE("keepalive probes an idle connection and gives up (RFC 1122 4.2.3.6)",
          "[tcp][keepalive]")
{
    TcpConfig config = plain_config();
    config.keepalive = Keepalive::on;
    config.keepalive_idle_ns = 60 * ns_per_s;
    config.keepalive_interval_ns = 10 * ns_per_s;
    config.keepalive_probes_max = 3;
    TcpFixture f(config);
    u32 iss = f.establish_passive();
    f.fire();
    SentSegment probe = f.sent_one();
    CHECK(probe.repr.seq == SeqNumber(iss)); // SND.NXT - 1
    CHECK(probe.payload.empty());
    // The peer answers: the idle period starts again.
    f.send(f.seg(TcpFlags::ack, 1001, iss + 1));
    CHECK(f.connection->next_deadline() == f.now + 60 * ns_per_s);
    for (int i = 0; i < 3; i++) {
        f.fire();
        CHECK(f.sent().size() == 1);
    }
    f.fire();
    CHECK(f.connection->state() == TcpState::closed);
    CHECK(f.connection->error() == TcpError::timed_out);
}

TEST_CASE("timestamps: RTT from TSecr, PAWS drops old segments (RFC 7323)", "[tcp][ts]")
{
    TcpConfig config = plain_config();
    config.timestamps = TcpTimestampOption::on;
    TcpFixture f(config);
    TcpRepr syn = f.seg(TcpFlags::syn, 1000);
    syn.mss = 1000;
    syn.timestamps = TcpTimestamps{500, 0};
    u32 iss = establish_with(f, syn);
    CHECK(f.connection->send_mss() == 1000 - 12);
    f.send_app("ping");
    SentSegment data = f.sent_one();
    REQUIRE(data.repr.timestamps);
    CHECK(data.repr.timestamps->echo == 501);
    f.advance(30 * ns_per_ms);
    TcpRepr ack = f.seg(TcpFlags::ack, 1001, iss + 5);
    ack.timestamps = TcpTimestamps{510, data.repr.timestamps->value};
    f.send(ack);
    // The handshake gave a 0 ms sample, so SRTT = 30/8 ms (RFC 6298 2.3).
    CHECK(f.connection->stats().srtt_ns == 3750 * ns_per_us);
    // An older TSval: dropped (its data not taken), answered with an ACK.
    TcpRepr old = f.seg(TcpFlags::ack, 1001, iss + 5);
    old.timestamps = TcpTimestamps{505, 0};
    f.send_text(old, "stale");
    CHECK(f.connection->recv_available() == 0);
    CHECK(f.connection->stats().paws_drops == 1);
    CHECK(f.sent_one().repr.ack == SeqNumber(1001));
}
