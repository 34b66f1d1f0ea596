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

TEST_CASE("ESTABLISHED: a FIN past a hole gets an immediate duplicate ACK (RFC 5681 4.2)",
          "[tcp][data]")
{
    TcpFixture f;
    u32 iss = f.establish_passive();
    f.sent();
    // A bare FIN whose sequence number leaves a 4-byte hole.
    f.send(f.seg(TcpFlags::fin | TcpFlags::ack, 1005, iss + 1));
    SentSegment dupack = f.sent_one();
    CHECK(dupack.repr.flags == TcpFlags::ack);
    CHECK(dupack.repr.ack == SeqNumber(1001));
    CHECK(f.connection->state() == TcpState::established);
    // The hole fills: the data and the FIN are taken together.
    f.send_text(f.seg(TcpFlags::ack, 1001, iss + 1), "abcd");
    CHECK(f.connection->state() == TcpState::close_wait);
    CHECK(f.sent_one().repr.ack == SeqNumber(1006));
}
