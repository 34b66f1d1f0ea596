// Drives one TcpConnection alone with hand-built segments and explicit time
// (smoltcp's style): the test plays the peer, every segment crosses the real
// wire code (emit, check with checksum, parse) in both directions.
#pragma once

#include "test_platform.hpp"

#include <catch2/catch.hpp>

#include <gantry/net/tcp/connection.hpp>
#include <gantry/net/wire/checksum.hpp>

#include <vector>

namespace gantry::testing {

using namespace gantry::net;

struct SentSegment {
    TcpRepr repr;
    std::vector<u8> payload;
    bool has(u8 flag) const { return repr.has(flag); }
};

// Records what the connection sends, after a wire round trip.
class RecordingOutput final : public TcpOutput {
public:
    void tcp_transmit(TcpEndpoint local, TcpEndpoint remote, const TcpRepr& repr,
                      RingSlices payload) override
    {
        std::vector<u8> frame(repr.header_len() + payload.size());
        std::vector<u8> data(payload.first.begin(), payload.first.end());
        data.insert(data.end(), payload.second.begin(), payload.second.end());
        repr.emit(MutableBytes(frame), local.address, remote.address, Bytes(data));
        auto checked = TcpPacket::check(Bytes(frame), local.address, remote.address);
        REQUIRE(checked.ok());
        SentSegment sent{TcpRepr::parse(checked.value()),
                         std::vector<u8>(checked.value().payload().begin(),
                                         checked.value().payload().end())};
        segments.push_back(std::move(sent));
    }
    std::vector<SentSegment> take()
    {
        std::vector<SentSegment> out;
        out.swap(segments);
        return out;
    }
    std::vector<SentSegment> segments;
};

inline const Ipv4Address local_ip = Ipv4Address::from_u32(0x0a000001);
inline const Ipv4Address remote_ip = Ipv4Address::from_u32(0x0a000002);
inline const TcpEndpoint local_ep{local_ip, 80};
inline const TcpEndpoint remote_ep{remote_ip, 40000};

inline TcpSecret test_secret()
{
    u8 key[TcpSecret::key_bytes];
    for (usize i = 0; i < sizeof(key); i++)
        key[i] = static_cast<u8>(i * 7 + 1);
    return TcpSecret(Bytes(key, sizeof(key)));
}

// The defaults of the tests: small buffers, no options unless a test asks, so
// sequence arithmetic stays readable.
inline TcpConfig plain_config()
{
    TcpConfig config;
    config.send_buffer_bytes = 64 * 1024;
    config.receive_buffer_bytes = 64 * 1024;
    config.sack = TcpSackOption::off;
    config.timestamps = TcpTimestampOption::off;
    config.window_scaling = WindowScaling::off;
    config.delayed_ack = DelayedAck::off;
    config.nagle = Nagle::off;
    config.ooo_bytes_max = 32 * 1024;
    return config;
}

struct TcpFixture {
    explicit TcpFixture(const TcpConfig& config = plain_config())
        : secret(test_secret())
    {
        connection = TcpConnection::create(tk.kernel->heap(), config, output, secret)
                         .release_value();
    }
    ~TcpFixture() { TcpConnection::destroy(tk.kernel->heap(), connection); }

    // A segment from the peer.
    TcpRepr seg(u8 flags, u32 seq, u32 ack = 0, u16 window = 65535) const
    {
        TcpRepr repr;
        repr.source_port = remote_ep.port;
        repr.destination_port = local_ep.port;
        repr.seq = SeqNumber(seq);
        repr.ack = SeqNumber(ack);
        repr.flags = flags;
        repr.window = window;
        return repr;
    }
    // Sends through the wire code and into the connection.
    void send(const TcpRepr& repr, Bytes payload = {})
    {
        std::vector<u8> frame(repr.header_len() + payload.size());
        repr.emit(MutableBytes(frame), remote_ip, local_ip, payload);
        auto checked = TcpPacket::check(Bytes(frame), remote_ip, local_ip);
        REQUIRE(checked.ok());
        connection->input(remote_ip, TcpRepr::parse(checked.value()), checked.value().payload(),
                          now);
    }
    void send_text(const TcpRepr& repr, std::string_view text)
    {
        send(repr, Bytes(reinterpret_cast<const u8*>(text.data()), text.size()));
    }
    std::vector<SentSegment> sent() { return output.take(); }
    SentSegment sent_one()
    {
        auto all = output.take();
        REQUIRE(all.size() == 1);
        return all[0];
    }
    void advance(TimeNs duration)
    {
        now += duration;
        connection->poll(now);
    }
    // Moves time to the connection's next deadline and polls.
    void fire()
    {
        TimeNs next = connection->next_deadline();
        REQUIRE(next != deadline_none);
        REQUIRE(next >= now);
        now = next;
        connection->poll(now);
    }

    // Passive open to ESTABLISHED; peer ISN 1000, returns our ISS.
    u32 establish_passive(u16 peer_window = 65535)
    {
        REQUIRE(connection->listen(local_ep).ok());
        send(seg(TcpFlags::syn, 1000, 0, peer_window));
        SentSegment syn_ack = sent_one();
        REQUIRE(syn_ack.repr.flags == (TcpFlags::syn | TcpFlags::ack));
        u32 iss = syn_ack.repr.seq.value();
        send(seg(TcpFlags::ack, 1001, iss + 1, peer_window));
        REQUIRE(connection->state() == TcpState::established);
        REQUIRE(sent().empty());
        return iss;
    }
    usize send_app(std::string_view text)
    {
        auto result = connection->send(
            Bytes(reinterpret_cast<const u8*>(text.data()), text.size()), now);
        REQUIRE(result.ok());
        return result.value();
    }
    std::string recv_app(usize max = 65536)
    {
        std::vector<u8> buffer(max);
        auto result = connection->recv(MutableBytes(buffer), now);
        REQUIRE(result.ok());
        return std::string(buffer.begin(), buffer.begin() + static_cast<long>(result.value()));
    }

    TestKernel tk;
    TcpSecret secret;
    RecordingOutput output;
    TcpConnection* connection = nullptr;
    TimeNs now = 1 * ns_per_s;
};

inline std::string text_of(const SentSegment& segment)
{
    return std::string(segment.payload.begin(), segment.payload.end());
}

} // namespace gantry::testing
