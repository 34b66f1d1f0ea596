// TCP segmentation and checksum offload through the whole stack: a sender
// whose NIC advertises TSO (and checksum offload) builds segments larger than
// the MTU; the test does what Linux's GSO does with them (cuts them into MSS
// pieces, fills in every checksum) and hands the pieces to a receiver
// without offloads, which checks every checksum itself.
#include "gso.hpp"
#include "tcp_fixture.hpp"
#include "test_nic.hpp"

#include <gantry/net/endian.hpp>
#include <gantry/net/stack/stack.hpp>
#include <gantry/net/wire/checksum.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

using namespace gantry;
using namespace gantry::testing;

namespace {

using namespace gso; // frame offsets and TCP flags

struct Host {
    Host(Kernel& kernel, u8 last_octet, NicOffloads offloads)
        : nic(MacAddress{{0x02, 0, 0, 0, 0, last_octet}})
    {
        nic.set_offloads(offloads);
        NetConfig config;
        config.address = Ipv4Cidr{Ipv4Address::from_u32(0x0a000000u | last_octet), 24};
        stack = NetStack::create(kernel, nic, config).release_value();
    }
    TestNic nic;
    NetStack* stack = nullptr;
};

Ipv4Address ip_at(const TestNic::Frame& frame, usize offset)
{
    return Ipv4Address::from_u32(load_be32(Bytes(frame), offset));
}

usize tcp_length(const TestNic::Frame& frame)
{
    return load_be16(Bytes(frame), ethernet_bytes + 2) - ip_bytes;
}

// The pseudo-header sum the stack must leave in a partial checksum field.
u16 pseudo_sum(const TestNic::Frame& frame, usize tcp_len)
{
    u32 sum = pseudo_header_sum(ip_at(frame, ethernet_bytes + 12),
                                ip_at(frame, ethernet_bytes + 16), 6, static_cast<u16>(tcp_len));
    return static_cast<u16>(~checksum_finish(sum));
}

struct Observed {
    usize tso_frames = 0;
    usize largest_frame = 0;
    usize partial_checksums = 0;
    // Loss: the third piece of the first TSO frame from this one on (counting
    // from 1) that has three pieces is dropped.
    usize drop_in_tso_frame = 0;
    std::optional<u32> dropped_seq;
    bool dropped_piece_resent_alone = false;
};

u32 tcp_seq(const TestNic::Frame& frame)
{
    return load_be32(Bytes(frame), ethernet_bytes + ip_bytes + 4);
}

// Moves frames from `from` to `to`, finishing offloaded ones as the NIC
// would and checking what the stack asked for on the way.
void carry(TestNic& from, TestNic& to, usize mtu, u16 mss_payload, Observed& seen)
{
    std::vector<NicTxOffload> offloads = from.sent_offloads();
    std::vector<TestNic::Frame> frames = from.take_sent();
    for (usize i = 0; i < frames.size(); i++) {
        TestNic::Frame& frame = frames[i];
        const NicTxOffload& offload = offloads[i];
        seen.largest_frame = std::max(seen.largest_frame, frame.size());
        bool is_tcp = frame.size() > ethernet_bytes + ip_bytes + 20 &&
                      load_be16(Bytes(frame), 12) == 0x0800 && frame[ethernet_bytes + 9] == 6;
        // The lost piece goes again on its own: one MSS, not a TSO frame.
        if (seen.dropped_seq && is_tcp && offload.segment_payload == 0 &&
            tcp_seq(frame) == *seen.dropped_seq && tcp_length(frame) > 32)
            seen.dropped_piece_resent_alone = true;
        if (offload.none()) {
            REQUIRE(frame.size() <= mtu + ethernet_bytes);
            to.inject(std::move(frame));
            continue;
        }
        // A TCP/IPv4 frame with the checksum left to the NIC.
        REQUIRE(load_be16(Bytes(frame), 12) == 0x0800);
        REQUIRE(frame[ethernet_bytes + 9] == 6);
        REQUIRE(offload.checksum_start == ethernet_bytes + ip_bytes);
        REQUIRE(offload.checksum_offset == 16);
        usize tcp_len = tcp_length(frame);
        REQUIRE(load_be16(Bytes(frame), offload.checksum_start + 16) == pseudo_sum(frame, tcp_len));
        seen.partial_checksums++;
        if (offload.segment_payload == 0) {
            REQUIRE(frame.size() <= mtu + ethernet_bytes);
            frame.resize(ethernet_bytes + ip_bytes + tcp_len); // drop Ethernet padding
            complete_tcp_checksum(frame, offload.checksum_start, offload.checksum_offset);
            to.inject(std::move(frame));
            continue;
        }
        seen.tso_frames++;
        usize tcp_header = static_cast<usize>(frame[ethernet_bytes + ip_bytes + 12] >> 4) * 4;
        REQUIRE(offload.header_bytes == ethernet_bytes + ip_bytes + tcp_header);
        REQUIRE(frame.size() <= ethernet_bytes + 65535);
        REQUIRE(frame.size() > mtu + ethernet_bytes);
        // Pieces of the MSS (less the options beyond the timestamps), all
        // whole but the last, and only at the end of what was written.
        REQUIRE(offload.segment_payload <= mss_payload);
        REQUIRE(offload.segment_payload + offload.header_bytes <= mtu + ethernet_bytes);
        usize payload = frame.size() - offload.header_bytes;
        u8 flags = frame[ethernet_bytes + ip_bytes + 13];
        if ((flags & tcp_psh) == 0)
            REQUIRE(payload % offload.segment_payload == 0);
        std::vector<TestNic::Frame> pieces = cut_like_gso(frame, offload);
        for (usize p = 0; p < pieces.size(); p++) {
            bool dropping = seen.drop_in_tso_frame > 0 && seen.tso_frames >= seen.drop_in_tso_frame;
            if (dropping && p == 2 && !seen.dropped_seq) {
                seen.dropped_seq = tcp_seq(pieces[p]);
                continue;
            }
            to.inject(std::move(pieces[p]));
        }
    }
}

std::string pattern(usize bytes)
{
    std::string data(bytes, '\0');
    u32 state = 12345;
    for (char& c : data) {
        state = state * 1103515245u + 12345u;
        c = static_cast<char>(state >> 16);
    }
    return data;
}

// Sends `bytes` from a (with `offloads`) to b (none) and returns what b read.
std::string transfer(NicOffloads offloads, usize bytes, Observed& seen)
{
    TestKernel tk(KernelConfig{}, 64 * 1024 * 1024);
    Kernel& kernel = *tk.kernel;
    Host a(kernel, 1, offloads), b(kernel, 2, NicOffloads{});
    REQUIRE(b.stack->tcp());
    TcpListener* listener = b.stack->tcp()->listen(9).release_value();
    const std::string data = pattern(bytes);
    std::string received;
    bool receiver_done = false;
    Fiber* receiver = kernel.sched().spawn("receiver", [&] {
        TcpSocket* socket = listener->accept().release_value();
        std::vector<u8> buffer(16384);
        for (;;) {
            auto got = socket->read(MutableBytes(buffer.data(), buffer.size()));
            REQUIRE(got.ok());
            if (got.value() == 0)
                break;
            received.append(reinterpret_cast<char*>(buffer.data()), got.value());
        }
        socket->close();
        receiver_done = true;
    });
    Fiber* sender = kernel.sched().spawn("sender", [&] {
        REQUIRE(a.stack->tcp());
        auto connected = a.stack->tcp()->connect(b.stack->address().address, 9,
                                                 kernel.now() + 5 * ns_per_s);
        REQUIRE(connected.ok());
        TcpSocket* socket = connected.value();
        REQUIRE(socket->write(Bytes(reinterpret_cast<const u8*>(data.data()), data.size())).ok());
        socket->close();
    });
    kernel.sched().detach(receiver);
    kernel.sched().detach(sender);
    for (int step = 0; step < 200000 && !receiver_done; step++) {
        carry(a.nic, b.nic, 1500, 1448, seen);
        carry(b.nic, a.nic, 1500, 1448, seen);
        a.stack->poll(tk.platform.now());
        b.stack->poll(tk.platform.now());
        kernel.poll();
        tk.platform.advance(100 * ns_per_us);
    }
    CHECK(receiver_done);
    CHECK(b.stack->counters().drops[static_cast<u8>(DropReason::bad_checksum)] == 0);
    NetStack::destroy(kernel, a.stack);
    NetStack::destroy(kernel, b.stack);
    CHECK(received.size() == data.size());
    return received == data ? "same" : "different";
}

} // namespace

TEST_CASE("TSO: segments up to 64 KiB of whole MSS pieces, checksums left to the NIC",
          "[tcp][netstack][tso]")
{
    Observed seen;
    NicOffloads offloads;
    offloads.tx_checksum = true;
    offloads.tso_packet_bytes_max = 65535;
    CHECK(transfer(offloads, 2 * 1024 * 1024 + 777, seen) == "same");
    CHECK(seen.tso_frames > 0);
    CHECK(seen.largest_frame > 1514);
    CHECK(seen.largest_frame <= 65535 + ethernet_bytes);
    // Every TCP frame of the sender left its checksum to the NIC.
    CHECK(seen.partial_checksums > seen.tso_frames);
}

TEST_CASE("TSO: a piece lost on the wire goes again alone, one MSS", "[tcp][netstack][tso]")
{
    Observed seen;
    seen.drop_in_tso_frame = 3;
    NicOffloads offloads;
    offloads.tx_checksum = true;
    offloads.tso_packet_bytes_max = 65535;
    CHECK(transfer(offloads, 1024 * 1024, seen) == "same");
    REQUIRE(seen.dropped_seq);
    CHECK(seen.dropped_piece_resent_alone);
}

TEST_CASE("TSO: a smaller limit caps the segments", "[tcp][netstack][tso]")
{
    Observed seen;
    NicOffloads offloads;
    offloads.tx_checksum = true;
    offloads.tso_packet_bytes_max = 8000;
    CHECK(transfer(offloads, 512 * 1024, seen) == "same");
    CHECK(seen.tso_frames > 0);
    CHECK(seen.largest_frame <= 8000 + ethernet_bytes);
}

TEST_CASE("Checksum offload without TSO: MTU-sized frames with partial checksums",
          "[tcp][netstack][tso]")
{
    Observed seen;
    NicOffloads offloads;
    offloads.tx_checksum = true;
    CHECK(transfer(offloads, 256 * 1024, seen) == "same");
    CHECK(seen.tso_frames == 0);
    CHECK(seen.partial_checksums > 0);
    CHECK(seen.largest_frame <= 1514);
}

TEST_CASE("No offloads: plain frames, none larger than the MTU", "[tcp][netstack][tso]")
{
    Observed seen;
    CHECK(transfer(NicOffloads{}, 256 * 1024, seen) == "same");
    CHECK(seen.tso_frames == 0);
    CHECK(seen.partial_checksums == 0);
    CHECK(seen.largest_frame <= 1514);
}
