// Behaviour the simulation fuzzer (gantry simfuzz, docs/scenarios.md) found
// wrong, pinned down with hand-built segments. The worlds it failed in are kept
// as scenarios in tests/scenarios/simfuzz-*.yaml.
#include "tcp_fixture.hpp"

using namespace gantry;
using namespace gantry::testing;

namespace {

std::string text_of_length(usize length)
{
    std::string text(length, ' ');
    for (usize i = 0; i < length; i++)
        text[i] = static_cast<char>('a' + i % 26);
    return text;
}

} // namespace

TEST_CASE("after a timeout, a pure ACK carries SND.MAX, not the rewound SND.NXT",
          "[tcp][rto]")
{
    TcpFixture f;
    u32 iss = f.establish_passive();
    f.send_app(text_of_length(1000));
    REQUIRE(f.sent().size() == 2); // 536 + 464: SND.MAX = iss + 1001
    f.fire();                      // RTO: go back N, the first segment again
    SentSegment again = f.sent_one();
    REQUIRE(again.repr.seq == SeqNumber(iss + 1));
    // The peer had received all 1000 bytes (only its ACKs were lost), so its
    // RCV.NXT is iss + 1001. Data from it makes us acknowledge: stamped with
    // the rewound SND.NXT (iss + 537) that ACK would be below the peer's
    // window, and the peer would drop it with its ACK field unread.
    f.send_text(f.seg(TcpFlags::ack, 1001, iss + 1), "ping");
    SentSegment ack = f.sent_one();
    CHECK(ack.payload.empty());
    CHECK(ack.repr.ack == SeqNumber(1005));
    CHECK(ack.repr.seq == SeqNumber(iss + 1001));
    // The peer's ACK of everything is taken: nothing is left in flight.
    f.send(f.seg(TcpFlags::ack, 1005, iss + 1001));
    CHECK(f.connection->stats().bytes_out == 1000);
}

TEST_CASE("an older segment's ACK moves SND.UNA but not the window's right edge",
          "[tcp][window]")
{
    TcpFixture f;
    u32 iss = f.establish_passive(1000); // the peer's window: 1000 bytes
    f.send_app(text_of_length(1000));
    REQUIRE(f.sent().size() == 2); // the whole window: the edge is iss + 1001
    // The peer sent 1000 bytes we did not get, then a pure ACK stamped with
    // its SND.MAX (2001): acceptable, in our window; it sets SND.WL1 = 2001.
    f.send(f.seg(TcpFlags::ack, 2001, iss + 537, 464)); // the same edge
    REQUIRE(f.connection->stats().snd_wnd == 464);
    f.sent();
    // The peer retransmits its first bytes with a newer ACK: in order, so
    // taken, but its window is not (seq 1001 < SND.WL1): the edge must stay
    // at iss + 1001.
    f.send_text(f.seg(TcpFlags::ack, 1001, iss + 1001, 1000), "abcd");
    CHECK(f.connection->stats().snd_wnd == 0);
    f.sent();
    f.send_app(text_of_length(100));
    for (const SentSegment& segment : f.sent())
        CHECK(segment.payload.empty()); // nothing beyond the peer's buffer
}

TEST_CASE("a pure ACK's sequence number stays within the peer's window", "[tcp][window]")
{
    TcpFixture f;
    u32 iss = f.establish_passive(1000);
    f.send_app(text_of_length(1000));
    REQUIRE(f.sent().size() == 2); // SND.MAX = iss + 1001
    // The peer took 536 bytes and has no room left (its window closed with
    // our second segment lost); with a zero window it accepts only segments
    // at RCV.NXT = iss + 537, so that is where our ACK of its data must be.
    f.send_text(f.seg(TcpFlags::ack, 1001, iss + 537, 0), "x");
    SentSegment ack = f.sent_one();
    CHECK(ack.payload.empty());
    CHECK(ack.repr.ack == SeqNumber(1002));
    CHECK(ack.repr.seq == SeqNumber(iss + 537));
}
