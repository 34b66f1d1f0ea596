// RFC 9293 state transitions, one test per transition that matters, grouped
// by the state the connection starts in; RFC 5961 challenge ACKs.
#include "tcp_fixture.hpp"

using namespace gantry;
using namespace gantry::testing;

TEST_CASE("LISTEN: SYN -> SYN-RECEIVED -> ESTABLISHED (RFC 9293 3.10.7.2)", "[tcp][state]")
{
    TcpFixture f;
    REQUIRE(f.connection->listen(local_ep).ok());
    REQUIRE(f.connection->state() == TcpState::listen);
    TcpRepr syn = f.seg(TcpFlags::syn, 1000, 0, 8000);
    syn.mss = 1000;
    f.send(syn);
    REQUIRE(f.connection->state() == TcpState::syn_received);
    SentSegment syn_ack = f.sent_one();
    CHECK(syn_ack.repr.flags == (TcpFlags::syn | TcpFlags::ack));
    CHECK(syn_ack.repr.ack == SeqNumber(1001));
    CHECK(syn_ack.repr.mss == u16{1460});
    CHECK(f.connection->remote() == remote_ep);
    u32 iss = syn_ack.repr.seq.value();
    f.send(f.seg(TcpFlags::ack, 1001, iss + 1, 8000));
    CHECK(f.connection->state() == TcpState::established);
    CHECK(f.connection->send_mss() == 1000); // RFC 9293 3.7.1: the smaller MSS
    CHECK(f.connection->stats().snd_wnd == 8000);
}

TEST_CASE("LISTEN: ACK gets a RST, RST is ignored", "[tcp][state]")
{
    TcpFixture f;
    REQUIRE(f.connection->listen(local_ep).ok());
    f.send(f.seg(TcpFlags::ack, 5, 777));
    SentSegment reset = f.sent_one();
    CHECK(reset.repr.flags == TcpFlags::rst);
    CHECK(reset.repr.seq == SeqNumber(777));
    f.send(f.seg(TcpFlags::rst, 5));
    CHECK(f.sent().empty());
    CHECK(f.connection->state() == TcpState::listen);
}

TEST_CASE("SYN-RECEIVED: retransmitted SYN gets the SYN-ACK again; bad ACK gets RST",
          "[tcp][state]")
{
    TcpFixture f;
    REQUIRE(f.connection->listen(local_ep).ok());
    f.send(f.seg(TcpFlags::syn, 1000));
    u32 iss = f.sent_one().repr.seq.value();
    f.send(f.seg(TcpFlags::syn, 1000));
    SentSegment again = f.sent_one();
    CHECK(again.repr.flags == (TcpFlags::syn | TcpFlags::ack));
    CHECK(again.repr.seq == SeqNumber(iss));
    // An ACK of something we never sent: challenge ACK (RFC 5961 5.2), no change.
    f.send(f.seg(TcpFlags::ack, 1001, iss + 100));
    CHECK(f.connection->state() == TcpState::syn_received);
    // The SYN-ACK is retransmitted on timeout.
    f.sent();
    f.fire();
    SentSegment retransmitted = f.sent_one();
    CHECK(retransmitted.repr.has(TcpFlags::syn));
    CHECK(f.connection->stats().retransmits == 1);
}

TEST_CASE("SYN-SENT: SYN-ACK -> ESTABLISHED (RFC 9293 3.10.7.3)", "[tcp][state]")
{
    TcpFixture f;
    REQUIRE(f.connection->connect(local_ep, remote_ep, f.now).ok());
    SentSegment syn = f.sent_one();
    CHECK(syn.repr.flags == TcpFlags::syn);
    CHECK(syn.repr.mss == u16{1460});
    u32 iss = syn.repr.seq.value();
    CHECK(iss == f.connection->iss().value());
    TcpRepr syn_ack = f.seg(TcpFlags::syn | TcpFlags::ack, 5000, iss + 1, 4000);
    syn_ack.mss = 1200;
    f.send(syn_ack);
    CHECK(f.connection->state() == TcpState::established);
    SentSegment ack = f.sent_one();
    CHECK(ack.repr.flags == TcpFlags::ack);
    CHECK(ack.repr.seq == SeqNumber(iss + 1));
    CHECK(ack.repr.ack == SeqNumber(5001));
    CHECK(f.connection->send_mss() == 1200);
}

TEST_CASE("SYN-SENT: RST with acceptable ACK -> refused; bad ACK -> RST", "[tcp][state]")
{
    TcpFixture f;
    REQUIRE(f.connection->connect(local_ep, remote_ep, f.now).ok());
    u32 iss = f.sent_one().repr.seq.value();
    // An ACK for something else: <SEQ=SEG.ACK><CTL=RST>.
    f.send(f.seg(TcpFlags::syn | TcpFlags::ack, 5000, iss + 7));
    SentSegment reset = f.sent_one();
    CHECK(reset.repr.flags == TcpFlags::rst);
    CHECK(reset.repr.seq == SeqNumber(iss + 7));
    CHECK(f.connection->state() == TcpState::syn_sent);
    // A RST without ACK is dropped (RFC 5961 3.2 for SYN-SENT).
    f.send(f.seg(TcpFlags::rst, 5000));
    CHECK(f.connection->state() == TcpState::syn_sent);
    f.send(f.seg(TcpFlags::rst | TcpFlags::ack, 0, iss + 1));
    CHECK(f.connection->state() == TcpState::closed);
    CHECK(f.connection->error() == TcpError::refused);
}

TEST_CASE("SYN-SENT: SYN retransmissions back off and give up", "[tcp][state][rto]")
{
    TcpConfig config = plain_config();
    config.syn_retries_max = 3;
    TcpFixture f(config);
    REQUIRE(f.connection->connect(local_ep, remote_ep, f.now).ok());
    f.sent();
    TimeNs start = f.now;
    TimeNs expected[] = {1 * ns_per_s, 3 * ns_per_s, 7 * ns_per_s};
    for (TimeNs at : expected) {
        f.fire();
        CHECK(f.now - start == at);
        CHECK(f.sent_one().repr.flags == TcpFlags::syn);
    }
    f.fire();
    CHECK(f.connection->state() == TcpState::closed);
    CHECK(f.connection->error() == TcpError::timed_out);
}

TEST_CASE("simultaneous open: SYN-SENT -> SYN-RECEIVED -> ESTABLISHED", "[tcp][state]")
{
    TcpFixture f;
    REQUIRE(f.connection->connect(local_ep, remote_ep, f.now).ok());
    u32 iss = f.sent_one().repr.seq.value();
    f.send(f.seg(TcpFlags::syn, 9000));
    CHECK(f.connection->state() == TcpState::syn_received);
    SentSegment syn_ack = f.sent_one();
    CHECK(syn_ack.repr.flags == (TcpFlags::syn | TcpFlags::ack));
    CHECK(syn_ack.repr.seq == SeqNumber(iss));
    CHECK(syn_ack.repr.ack == SeqNumber(9001));
    f.send(f.seg(TcpFlags::syn | TcpFlags::ack, 9000, iss + 1));
    // The peer's SYN-ACK repeats its SYN (below RCV.NXT): we ACK and establish.
    f.send(f.seg(TcpFlags::ack, 9001, iss + 1));
    CHECK(f.connection->state() == TcpState::established);
}

TEST_CASE("ESTABLISHED: FIN -> CLOSE-WAIT -> LAST-ACK -> CLOSED (passive close)",
          "[tcp][state]")
{
    TcpFixture f;
    u32 iss = f.establish_passive();
    f.send_text(f.seg(TcpFlags::ack | TcpFlags::fin, 1001, iss + 1), "bye");
    CHECK(f.connection->state() == TcpState::close_wait);
    SentSegment ack = f.sent_one();
    CHECK(ack.repr.ack == SeqNumber(1005)); // 3 bytes + FIN
    CHECK(f.recv_app() == "bye");
    CHECK(f.connection->at_eof());
    // Half-close: we may still send.
    f.send_app("more");
    SentSegment data = f.sent_one();
    CHECK(text_of(data) == "more");
    f.send(f.seg(TcpFlags::ack, 1005, iss + 5));
    REQUIRE(f.connection->shutdown_write(f.now).ok());
    CHECK(f.connection->state() == TcpState::last_ack);
    SentSegment fin = f.sent_one();
    CHECK(fin.repr.has(TcpFlags::fin));
    CHECK(fin.repr.seq == SeqNumber(iss + 5));
    f.send(f.seg(TcpFlags::ack, 1005, iss + 6));
    CHECK(f.connection->state() == TcpState::closed);
    CHECK(!f.connection->error());
}

TEST_CASE("ESTABLISHED: close -> FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT -> CLOSED",
          "[tcp][state]")
{
    TcpConfig config = plain_config();
    config.msl_ns = 10 * ns_per_s;
    TcpFixture f(config);
    u32 iss = f.establish_passive();
    REQUIRE(f.connection->shutdown_write(f.now).ok());
    CHECK(f.connection->state() == TcpState::fin_wait_1);
    SentSegment fin = f.sent_one();
    CHECK(fin.repr.flags == (TcpFlags::fin | TcpFlags::ack));
    CHECK(!f.connection->send(Bytes(), f.now).ok());
    f.send(f.seg(TcpFlags::ack, 1001, iss + 2));
    CHECK(f.connection->state() == TcpState::fin_wait_2);
    // Half-closed: data from the peer still arrives.
    f.send_text(f.seg(TcpFlags::ack, 1001, iss + 2), "late");
    CHECK(f.recv_app() == "late");
    f.sent();
    f.send(f.seg(TcpFlags::ack | TcpFlags::fin, 1005, iss + 2));
    CHECK(f.connection->state() == TcpState::time_wait);
    CHECK(f.sent_one().repr.ack == SeqNumber(1006));
    TimeNs entered = f.now;
    // A retransmitted FIN is ACKed again and restarts the 2*MSL timer.
    f.advance(5 * ns_per_s);
    f.send(f.seg(TcpFlags::ack | TcpFlags::fin, 1005, iss + 2));
    CHECK(f.sent_one().repr.ack == SeqNumber(1006));
    CHECK(f.connection->next_deadline() == f.now + 20 * ns_per_s);
    f.fire();
    CHECK(f.connection->state() == TcpState::closed);
    CHECK(f.now - entered == 25 * ns_per_s);
}

TEST_CASE("FIN-WAIT-1: FIN+ACK of our FIN -> TIME-WAIT directly", "[tcp][state]")
{
    TcpFixture f;
    u32 iss = f.establish_passive();
    REQUIRE(f.connection->shutdown_write(f.now).ok());
    f.sent();
    f.send(f.seg(TcpFlags::ack | TcpFlags::fin, 1001, iss + 2));
    CHECK(f.connection->state() == TcpState::time_wait);
}

TEST_CASE("simultaneous close: FIN-WAIT-1 -> CLOSING -> TIME-WAIT", "[tcp][state]")
{
    TcpFixture f;
    u32 iss = f.establish_passive();
    REQUIRE(f.connection->shutdown_write(f.now).ok());
    f.sent();
    f.send(f.seg(TcpFlags::ack | TcpFlags::fin, 1001, iss + 1)); // does not ACK our FIN
    CHECK(f.connection->state() == TcpState::closing);
    CHECK(f.sent_one().repr.ack == SeqNumber(1002));
    f.send(f.seg(TcpFlags::ack, 1002, iss + 2));
    CHECK(f.connection->state() == TcpState::time_wait);
}

TEST_CASE("FIN with a hole waits for the hole to fill", "[tcp][state][reassembly]")
{
    TcpFixture f;
    u32 iss = f.establish_passive();
    f.send_text(f.seg(TcpFlags::ack | TcpFlags::fin, 1004, iss + 1), "def");
    CHECK(f.connection->state() == TcpState::established);
    CHECK(f.sent_one().repr.ack == SeqNumber(1001)); // duplicate ACK
    f.send_text(f.seg(TcpFlags::ack, 1001, iss + 1), "abc");
    CHECK(f.connection->state() == TcpState::close_wait);
    CHECK(f.sent_one().repr.ack == SeqNumber(1008));
    CHECK(f.recv_app() == "abcdef");
}

TEST_CASE("RST: exact sequence resets, in window gets a challenge ACK, outside is dropped "
          "(RFC 5961 3.2)",
          "[tcp][state][rfc5961]")
{
    TcpFixture f;
    u32 iss = f.establish_passive();
    SECTION("out of window: dropped silently")
    {
        f.send(f.seg(TcpFlags::rst, 1001 + 200000));
        CHECK(f.sent().empty());
        CHECK(f.connection->state() == TcpState::established);
    }
    SECTION("in window, not exact: challenge ACK")
    {
        f.send(f.seg(TcpFlags::rst, 1001 + 100));
        SentSegment challenge = f.sent_one();
        CHECK(challenge.repr.flags == TcpFlags::ack);
        CHECK(challenge.repr.seq == SeqNumber(iss + 1));
        CHECK(challenge.repr.ack == SeqNumber(1001));
        CHECK(f.connection->state() == TcpState::established);
        CHECK(f.connection->stats().challenge_acks == 1);
    }
    SECTION("exact: reset")
    {
        f.send(f.seg(TcpFlags::rst, 1001));
        CHECK(f.sent().empty());
        CHECK(f.connection->state() == TcpState::closed);
        CHECK(f.connection->error() == TcpError::reset);
        CHECK(!f.connection->send(Bytes(), f.now).ok());
    }
}

TEST_CASE("SYN in ESTABLISHED gets a challenge ACK, in window or not (RFC 5961 4.2)",
          "[tcp][state][rfc5961]")
{
    TcpFixture f;
    u32 iss = f.establish_passive();
    for (u32 seq : {1001u, 1500u, 123456789u}) {
        f.send(f.seg(TcpFlags::syn, seq));
        auto sent = f.sent();
        REQUIRE(sent.size() == 1);
        CHECK(sent[0].repr.flags == TcpFlags::ack);
        CHECK(sent[0].repr.ack == SeqNumber(1001));
        CHECK(sent[0].repr.seq == SeqNumber(iss + 1));
    }
    CHECK(f.connection->state() == TcpState::established);
}

TEST_CASE("challenge ACKs are rate limited (RFC 5961 7)", "[tcp][state][rfc5961]")
{
    TcpFixture f;
    f.establish_passive();
    for (int i = 0; i < 50; i++)
        f.send(f.seg(TcpFlags::rst, 1001 + 10 + static_cast<u32>(i)));
    CHECK(f.sent().size() == 10);
    f.advance(ns_per_s);
    f.send(f.seg(TcpFlags::rst, 1050));
    CHECK(f.sent().size() == 1);
}

TEST_CASE("ACK outside the acceptable range is dropped with an ACK (RFC 5961 5.2)",
          "[tcp][state][rfc5961]")
{
    TcpFixture f;
    u32 iss = f.establish_passive();
    f.send_app("hello");
    f.sent();
    // Acknowledges data never sent, carrying data: the data must not be taken.
    f.send_text(f.seg(TcpFlags::ack, 1001, iss + 1000), "evil");
    CHECK(f.sent_one().repr.ack == SeqNumber(1001));
    CHECK(f.connection->recv_available() == 0);
    // Far too old an ACK (below SND.UNA - MAX.SND.WND): likewise.
    f.send_text(f.seg(TcpFlags::ack, 1001, iss - 200000), "evil");
    CHECK(f.connection->recv_available() == 0);
    CHECK(f.connection->state() == TcpState::established);
}

TEST_CASE("CLOSED: reset_for answers per RFC 9293 3.10.7.1", "[tcp][state]")
{
    TcpFixture f;
    auto with_ack = TcpConnection::reset_for(f.seg(TcpFlags::ack, 10, 55), 0);
    REQUIRE(with_ack);
    CHECK(with_ack->flags == TcpFlags::rst);
    CHECK(with_ack->seq == SeqNumber(55));
    auto syn = TcpConnection::reset_for(f.seg(TcpFlags::syn, 10), 3);
    REQUIRE(syn);
    CHECK(syn->flags == (TcpFlags::rst | TcpFlags::ack));
    CHECK(syn->ack == SeqNumber(14));
    CHECK(!TcpConnection::reset_for(f.seg(TcpFlags::rst, 10), 0));
}

TEST_CASE("abort sends RST and closes", "[tcp][state]")
{
    TcpFixture f;
    u32 iss = f.establish_passive();
    f.connection->abort(f.now);
    SentSegment reset = f.sent_one();
    CHECK(reset.repr.flags == TcpFlags::rst);
    CHECK(reset.repr.seq == SeqNumber(iss + 1));
    CHECK(f.connection->error() == TcpError::aborted);
}

TEST_CASE("ISNs differ per 4-tuple and advance with the clock (RFC 6528)", "[tcp][isn]")
{
    TcpSecret secret = test_secret();
    TcpEndpoint other{remote_ip, 40001};
    SeqNumber a = secret.isn(local_ep, remote_ep, 0);
    CHECK(secret.isn(local_ep, other, 0) != a);
    CHECK(secret.isn(local_ep, remote_ep, 4 * ns_per_us * 1000) == a + 1000);
    u8 key[TcpSecret::key_bytes] = {};
    CHECK(TcpSecret(Bytes(key, sizeof(key))).isn(local_ep, remote_ep, 0) != a);
}

TEST_CASE("SYN-RECEIVED: the handshake's ACK with FIN -> CLOSE-WAIT", "[tcp][state]")
{
    TcpFixture f;
    REQUIRE(f.connection->listen(local_ep).ok());
    f.send(f.seg(TcpFlags::syn, 1000));
    u32 iss = f.sent_one().repr.seq.value();
    f.send_text(f.seg(TcpFlags::ack | TcpFlags::fin, 1001, iss + 1), "hi");
    CHECK(f.connection->state() == TcpState::close_wait);
    CHECK(f.sent_one().repr.ack == SeqNumber(1004));
    CHECK(f.recv_app() == "hi");
}

TEST_CASE("SYN-RECEIVED: RST -> CLOSED", "[tcp][state]")
{
    TcpFixture f;
    REQUIRE(f.connection->listen(local_ep).ok());
    f.send(f.seg(TcpFlags::syn, 1000));
    f.sent();
    f.send(f.seg(TcpFlags::rst, 1001));
    CHECK(f.connection->state() == TcpState::closed);
    CHECK(f.connection->error() == TcpError::reset);
}

TEST_CASE("SYN-RECEIVED: close waits for ESTABLISHED, then FIN-WAIT-1", "[tcp][state]")
{
    TcpFixture f;
    REQUIRE(f.connection->listen(local_ep).ok());
    f.send(f.seg(TcpFlags::syn, 1000));
    u32 iss = f.sent_one().repr.seq.value();
    REQUIRE(f.connection->shutdown_write(f.now).ok());
    CHECK(f.connection->state() == TcpState::syn_received);
    CHECK(f.sent().empty());
    f.send(f.seg(TcpFlags::ack, 1001, iss + 1));
    CHECK(f.connection->state() == TcpState::fin_wait_1);
    SentSegment fin = f.sent_one();
    CHECK(fin.repr.has(TcpFlags::fin));
    CHECK(fin.repr.seq == SeqNumber(iss + 1));
}

TEST_CASE("CLOSE-WAIT: a retransmitted FIN is ACKed again", "[tcp][state]")
{
    TcpFixture f;
    u32 iss = f.establish_passive();
    f.send(f.seg(TcpFlags::ack | TcpFlags::fin, 1001, iss + 1));
    f.sent();
    f.send(f.seg(TcpFlags::ack | TcpFlags::fin, 1001, iss + 1));
    CHECK(f.sent_one().repr.ack == SeqNumber(1002));
    CHECK(f.connection->state() == TcpState::close_wait);
}

TEST_CASE("LAST-ACK: our FIN is retransmitted until acknowledged", "[tcp][state][rto]")
{
    TcpFixture f;
    u32 iss = f.establish_passive();
    f.send(f.seg(TcpFlags::ack | TcpFlags::fin, 1001, iss + 1));
    f.sent();
    REQUIRE(f.connection->shutdown_write(f.now).ok());
    CHECK(f.connection->state() == TcpState::last_ack);
    f.sent();
    f.fire();
    SentSegment again = f.sent_one();
    CHECK(again.repr.has(TcpFlags::fin));
    CHECK(again.repr.seq == SeqNumber(iss + 1));
    f.send(f.seg(TcpFlags::ack, 1002, iss + 2));
    CHECK(f.connection->state() == TcpState::closed);
}

TEST_CASE("TIME-WAIT: an exact RST closes at once", "[tcp][state]")
{
    TcpFixture f;
    u32 iss = f.establish_passive();
    REQUIRE(f.connection->shutdown_write(f.now).ok());
    f.send(f.seg(TcpFlags::ack | TcpFlags::fin, 1001, iss + 2));
    REQUIRE(f.connection->state() == TcpState::time_wait);
    f.send(f.seg(TcpFlags::rst, 1002));
    CHECK(f.connection->state() == TcpState::closed);
    CHECK(!f.connection->error());
}

TEST_CASE("data with FIN in one segment, data after FIN ignored", "[tcp][state]")
{
    TcpFixture f;
    u32 iss = f.establish_passive();
    f.send_text(f.seg(TcpFlags::ack | TcpFlags::fin, 1001, iss + 1), "last");
    CHECK(f.connection->state() == TcpState::close_wait);
    f.sent();
    f.send_text(f.seg(TcpFlags::ack, 1006, iss + 1), "more"); // beyond the FIN
    CHECK(f.recv_app() == "last");
    CHECK(f.connection->at_eof());
}
