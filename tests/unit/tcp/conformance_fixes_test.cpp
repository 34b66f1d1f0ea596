// Behaviour the FreeBSD TCP test suite (gantry pkt, docs/conformance.md)
// found wrong, pinned down per RFC 9293 section.
#include "tcp_fixture.hpp"

using namespace gantry;
using namespace gantry::testing;

TEST_CASE("SYN-RECEIVED from a simultaneous open: RST means refused (RFC 9293 3.10.7.4)",
          "[tcp][state]")
{
    TcpFixture f;
    REQUIRE(f.connection->connect(local_ep, remote_ep, f.now).ok());
    u32 iss = f.sent_one().repr.seq.value();
    f.send(f.seg(TcpFlags::syn, 5000)); // their SYN crosses ours
    REQUIRE(f.connection->state() == TcpState::syn_received);
    SentSegment syn_ack = f.sent_one();
    CHECK(syn_ack.repr.seq == SeqNumber(iss));
    f.send(f.seg(TcpFlags::rst, 5001)); // exactly RCV.NXT
    CHECK(f.connection->state() == TcpState::closed);
    CHECK(f.connection->error() == TcpError::refused);
}
