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
