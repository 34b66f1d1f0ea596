// TCP wire format (RFC 9293 3.1, RFC 7323, RFC 2018), sequence numbers
// (RFC 9293 3.4) and the RFC 6298 estimator.
#include "tcp_fixture.hpp"

#include <gantry/net/tcp/rtt.hpp>

using namespace gantry;
using namespace gantry::testing;

TEST_CASE("SeqNumber compares modulo 2^32", "[tcp][wire]")
{
    SeqNumber near_top(0xfffffff0u);
    SeqNumber wrapped = near_top + 0x20;
    CHECK(wrapped.value() == 0x10);
    CHECK(near_top < wrapped);
    CHECK(wrapped > near_top);
    CHECK(wrapped - near_top == 0x20);
    CHECK(near_top - wrapped == -0x20);
    CHECK(seq_in_range(SeqNumber(5), near_top, wrapped));
    CHECK(!seq_in_range(wrapped, near_top, wrapped));
    CHECK(SeqNumber::max(near_top, wrapped) == wrapped);
}

TEST_CASE("TcpRepr round trip with every option", "[tcp][wire]")
{
    TcpRepr repr;
    repr.source_port = 1234;
    repr.destination_port = 80;
    repr.seq = SeqNumber(0xdeadbeef);
    repr.ack = SeqNumber(42);
    repr.flags = TcpFlags::syn | TcpFlags::ack;
    repr.window = 29200;
    repr.mss = 1460;
    repr.window_scale = 7;
    repr.sack_permitted = SackPermitted::yes;
    repr.timestamps = TcpTimestamps{100, 200};
    CHECK(repr.header_len() == 40);
    std::vector<u8> frame(repr.header_len() + 3);
    u8 payload[] = {1, 2, 3};
    repr.emit(MutableBytes(frame), local_ip, remote_ip, Bytes(payload, 3));
    auto checked = TcpPacket::check(Bytes(frame), local_ip, remote_ip);
    REQUIRE(checked.ok());
    TcpRepr parsed = TcpRepr::parse(checked.value());
    CHECK(parsed.seq == repr.seq);
    CHECK(parsed.ack == repr.ack);
    CHECK(parsed.flags == repr.flags);
    CHECK(parsed.window == repr.window);
    CHECK(parsed.mss == repr.mss);
    CHECK(parsed.window_scale == repr.window_scale);
    CHECK(parsed.sack_permitted == SackPermitted::yes);
    CHECK(parsed.timestamps == repr.timestamps);
    CHECK(checked.value().payload().size() == 3);
    // The checksum covers the pseudo-header: other addresses fail.
    CHECK(TcpPacket::check(Bytes(frame), local_ip, local_ip).error() == WireError::bad_checksum);
    frame[frame.size() - 1] ^= 1;
    CHECK(TcpPacket::check(Bytes(frame), local_ip, remote_ip).error() == WireError::bad_checksum);
}

TEST_CASE("SACK blocks: 3 fit beside timestamps, 4 without", "[tcp][wire]")
{
    TcpRepr repr;
    repr.flags = TcpFlags::ack;
    repr.sack_count = 4;
    for (u32 i = 0; i < 4; i++)
        repr.sack[i] = TcpSackBlock{SeqNumber(100 * i), SeqNumber(100 * i + 50)};
    CHECK(repr.header_len() == 20 + 36);
    repr.timestamps = TcpTimestamps{1, 2};
    CHECK(repr.header_len() == 60);
    std::vector<u8> frame(repr.header_len());
    repr.emit(MutableBytes(frame), local_ip, remote_ip, {});
    auto checked = TcpPacket::check(Bytes(frame), local_ip, remote_ip);
    REQUIRE(checked.ok());
    TcpRepr parsed = TcpRepr::parse(checked.value());
    REQUIRE(parsed.sack_count == 3);
    CHECK(parsed.sack[2] == repr.sack[2]);
    CHECK(parsed.timestamps == repr.timestamps);
}

namespace {

std::vector<u8> segment_with_options(std::vector<u8> options)
{
    while (options.size() % 4 != 0)
        options.push_back(0);
    std::vector<u8> frame(20 + options.size(), 0);
    frame[12] = static_cast<u8>(((20 + options.size()) / 4) << 4);
    for (usize i = 0; i < options.size(); i++)
        frame[20 + i] = options[i];
    return frame;
}

WireError options_error(std::vector<u8> options)
{
    auto frame = segment_with_options(std::move(options));
    auto checked = TcpPacket::check(Bytes(frame), local_ip, remote_ip, ChecksumCheck::skip);
    REQUIRE(!checked.ok());
    return checked.error();
}

} // namespace

TEST_CASE("malformed options are rejected", "[tcp][wire]")
{
    CHECK(options_error({2, 3, 5}) == WireError::malformed);             // MSS length 3
    CHECK(options_error({3, 4, 1, 1}) == WireError::malformed);          // WS length 4
    CHECK(options_error({4, 3, 0, 0}) == WireError::malformed);          // SACKP length 3
    CHECK(options_error({8, 8, 0, 0, 0, 0, 0, 0}) == WireError::malformed); // TS length 8
    CHECK(options_error({5, 9, 0, 0, 0, 0, 0, 0, 0}) == WireError::malformed); // SACK 9
    CHECK(options_error({5, 2}) == WireError::malformed);                // SACK, no blocks
    CHECK(options_error({1, 1, 30, 0}) == WireError::malformed);         // length 0
    CHECK(options_error({1, 1, 30, 1}) == WireError::malformed);         // length 1
    CHECK(options_error({1, 1, 30, 40}) == WireError::malformed);        // past the header
    CHECK(options_error({1, 1, 1, 2}) == WireError::malformed);          // kind, no length
}

TEST_CASE("well-formed unusual options are accepted", "[tcp][wire]")
{
    // Unknown option skipped, EOL ends the list (garbage after it ignored), a
    // window scale above 14 is used as 14 (RFC 7323 2.3).
    auto frame = segment_with_options({30, 4, 9, 9, 3, 3, 20, 0, 99, 99});
    auto checked = TcpPacket::check(Bytes(frame), local_ip, remote_ip, ChecksumCheck::skip);
    REQUIRE(checked.ok());
    TcpRepr parsed = TcpRepr::parse(checked.value());
    CHECK(parsed.window_scale == u8{14});
    CHECK(!parsed.mss);
}

TEST_CASE("header length checks", "[tcp][wire]")
{
    std::vector<u8> frame(20, 0);
    frame[12] = 4 << 4;
    CHECK(TcpPacket::check(Bytes(frame), local_ip, remote_ip, ChecksumCheck::skip).error() ==
          WireError::bad_length);
    frame[12] = 6 << 4;
    CHECK(TcpPacket::check(Bytes(frame), local_ip, remote_ip, ChecksumCheck::skip).error() ==
          WireError::truncated);
    CHECK(TcpPacket::check(Bytes(frame).first(19), local_ip, remote_ip).error() ==
          WireError::truncated);
}

TEST_CASE("RTO follows RFC 6298", "[tcp][rto]")
{
    RttConfig config;
    config.rto_min_ns = 1 * ns_per_s; // RFC 6298 2.4's own floor
    RttEstimator rtt(config);
    CHECK(rtt.rto() == 1 * ns_per_s); // 2.1: initial RTO
    rtt.sample(500 * ns_per_ms);
    // 2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4*RTTVAR) = 500 + 1000.
    CHECK(rtt.srtt() == 500 * ns_per_ms);
    CHECK(rtt.rttvar() == 250 * ns_per_ms);
    CHECK(rtt.rto() == 1500 * ns_per_ms);
    rtt.sample(300 * ns_per_ms);
    // 2.3: RTTVAR = 3/4*250 + 1/4*|500-300| = 237.5; SRTT = 7/8*500 + 1/8*300 = 475.
    CHECK(rtt.rttvar() == 237500 * ns_per_us);
    CHECK(rtt.srtt() == 475 * ns_per_ms);
    CHECK(rtt.rto() == 475 * ns_per_ms + 950 * ns_per_ms);
    // 5.5: backoff doubles, 2.5: bounded by the maximum.
    rtt.back_off();
    CHECK(rtt.rto() == 2 * 1425 * ns_per_ms);
    for (int i = 0; i < 20; i++)
        rtt.back_off();
    CHECK(rtt.rto() == config.rto_max_ns);
    // 5.7: a new sample after backoff recomputes from the estimator.
    rtt.sample(475 * ns_per_ms);
    CHECK(rtt.backoff() == 0);
    CHECK(rtt.rto() < 2 * ns_per_s);
}

TEST_CASE("RTO lower bound and clock granularity", "[tcp][rto]")
{
    RttEstimator rtt; // Gantry's default floor: 200 ms
    rtt.sample(1 * ns_per_ms);
    CHECK(rtt.rto() == 200 * ns_per_ms);
    RttConfig config;
    config.rto_min_ns = 0;
    config.granularity_ns = 10 * ns_per_ms;
    RttEstimator coarse(config);
    coarse.sample(0);
    CHECK(coarse.rto() == 10 * ns_per_ms); // max(G, 4*RTTVAR) with RTTVAR 0
}
