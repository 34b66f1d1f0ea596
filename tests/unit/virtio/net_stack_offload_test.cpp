// The network stack on the virtio-net driver with checksum and segmentation
// offload: a TCP transfer leaves through the driver and the model to a backend
// that advertises what a tap with a vnet header does; the test then does what
// Linux's GSO does with each frame (cuts it into MSS pieces, completes every
// checksum) and hands the pieces to a second stack without offloads, which
// verifies every checksum itself. So the stack's offsets, the driver's header
// and buffer chains and the model's pass-through are checked end to end.
#include "test_nic.hpp"
#include "test_platform.hpp"

#include <gantry/kernel.hpp>
#include <gantry/net/endian.hpp>
#include <gantry/net/stack/stack.hpp>
#include <gantry/net/wire/checksum.hpp>
#include <gantry/virtio/model.hpp>
#include <gantry/virtio/net.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

using namespace gantry;
using namespace gantry::net;
using namespace gantry::virtio;
using gantry::testing::TestKernel;
using gantry::testing::TestNic;

namespace {

constexpr usize ethernet_bytes = 14;
constexpr usize ip_bytes = 20;
constexpr u8 tcp_fin = 0x01;
constexpr u8 tcp_psh = 0x08;

Ipv4Address ip_at(const TestNic::Frame& frame, usize offset)
{
    return Ipv4Address::from_u32(load_be32(Bytes(frame), offset));
}

// Stores the TCP checksum over the pseudo-header and frame[start..].
void complete_tcp_checksum(TestNic::Frame& frame, usize start, usize offset)
{
    store_be16(MutableBytes(frame), start + offset, 0);
    u32 sum = pseudo_header_sum(ip_at(frame, ethernet_bytes + 12),
                                ip_at(frame, ethernet_bytes + 16), 6,
                                static_cast<u16>(frame.size() - start));
    sum = checksum_combine(sum, checksum_partial(Bytes(frame).subspan(start)));
    store_be16(MutableBytes(frame), start + offset, checksum_finish(sum));
}

// Linux's GSO for a TCPV4 frame: pieces of segment_payload bytes behind a copy
// of the headers, each with its IP length, identification, IP checksum,
// sequence number and TCP checksum; FIN and PSH only on the last.
std::vector<TestNic::Frame> cut_like_gso(const TestNic::Frame& frame, const NicTxOffload& offload)
{
    const usize headers = offload.header_bytes;
    const usize payload = frame.size() - headers;
    const u32 seq = load_be32(Bytes(frame), ethernet_bytes + ip_bytes + 4);
    const u16 ident = load_be16(Bytes(frame), ethernet_bytes + 4);
    std::vector<TestNic::Frame> pieces;
    for (usize at = 0; at < payload; at += offload.segment_payload) {
        const usize length = std::min<usize>(offload.segment_payload, payload - at);
        TestNic::Frame piece(frame.begin(), frame.begin() + static_cast<long>(headers));
        piece.insert(piece.end(), frame.begin() + static_cast<long>(headers + at),
                     frame.begin() + static_cast<long>(headers + at + length));
        MutableBytes bytes(piece);
        store_be16(bytes, ethernet_bytes + 2, static_cast<u16>(piece.size() - ethernet_bytes));
        store_be16(bytes, ethernet_bytes + 4, static_cast<u16>(ident + pieces.size()));
        store_be16(bytes, ethernet_bytes + 10, 0);
        const Bytes ip_header = Bytes(piece).subspan(ethernet_bytes, ip_bytes);
        store_be16(bytes, ethernet_bytes + 10, internet_checksum(ip_header));
        store_be32(bytes, ethernet_bytes + ip_bytes + 4, seq + static_cast<u32>(at));
        if (at + length < payload)
            piece[ethernet_bytes + ip_bytes + 13] &= static_cast<u8>(~(tcp_fin | tcp_psh));
        complete_tcp_checksum(piece, offload.checksum_start, offload.checksum_offset);
        pieces.push_back(std::move(piece));
    }
    return pieces;
}

struct Seen {
    usize plain = 0;
    usize checksum_only = 0;
    usize segmented = 0;
    usize largest_frame = 0;
};

// What the backend was given, finished as a NIC would, to the receiver.
void carry_from_driver(TestNic& backend, TestNic& receiver, Seen& seen)
{
    const std::vector<NicTxOffload> offloads = backend.sent_offloads();
    std::vector<TestNic::Frame> frames = backend.take_sent();
    for (usize i = 0; i < frames.size(); ++i) {
        TestNic::Frame& frame = frames[i];
        const NicTxOffload& offload = offloads[i];
        seen.largest_frame = std::max(seen.largest_frame, frame.size());
        if (offload.none()) {
            ++seen.plain;
            REQUIRE(frame.size() <= 1514);
            receiver.inject(std::move(frame));
            continue;
        }
        REQUIRE(offload.checksum_start == ethernet_bytes + ip_bytes);
        REQUIRE(offload.checksum_offset == 16);
        // Ethernet padding is not part of the TCP segment.
        frame.resize(ethernet_bytes + load_be16(Bytes(frame), ethernet_bytes + 2));
        if (offload.segment_payload == 0) {
            ++seen.checksum_only;
            complete_tcp_checksum(frame, offload.checksum_start, offload.checksum_offset);
            receiver.inject(std::move(frame));
            continue;
        }
        ++seen.segmented;
        REQUIRE(frame.size() > 1514);
        REQUIRE(offload.header_bytes + offload.segment_payload <= 1514);
        for (TestNic::Frame& piece : cut_like_gso(frame, offload))
            receiver.inject(std::move(piece));
    }
}

std::string pattern(usize bytes)
{
    std::string data(bytes, '\0');
    u32 state = 777;
    for (char& c : data) {
        state = state * 1103515245u + 12345u;
        c = static_cast<char>(state >> 16);
    }
    return data;
}

struct Dma {
    static constexpr usize bytes = 2 * 1024 * 1024;
    Dma()
        : memory(static_cast<u8*>(std::aligned_alloc(4096, bytes)), &std::free),
          arena(memory.get(), bytes)
    {
    }
    std::unique_ptr<u8, decltype(&std::free)> memory;
    DmaArena arena;
};

} // namespace

TEST_CASE("virtio-net offload: a TCP transfer through the driver's checksum and TSO offloads arrives intact")
{
    TestKernel tk(KernelConfig{}, 64 * 1024 * 1024);
    Kernel& kernel = *tk.kernel;
    TestNic backend(MacAddress{{0x02, 0, 0, 0, 0, 1}});
    NicOffloads tap_like;
    tap_like.tx_checksum = true;
    tap_like.tso_packet_bytes_max = 65535;
    backend.set_offloads(tap_like);
    NetModel model(backend);
    VirtioNet nic(model);
    Dma dma;
    REQUIRE(nic.start(dma.arena).ok());
    TestNic receiver_nic(MacAddress{{0x02, 0, 0, 0, 0, 2}});

    NetConfig sender_config;
    sender_config.address = Ipv4Cidr{Ipv4Address::from_u32(0x0a000001u), 24};
    NetConfig receiver_config;
    receiver_config.address = Ipv4Cidr{Ipv4Address::from_u32(0x0a000002u), 24};
    NetStack* sender = NetStack::create(kernel, nic, sender_config).release_value();
    NetStack* receiver = NetStack::create(kernel, receiver_nic, receiver_config).release_value();
    REQUIRE(sender->nic_offloads().tx_checksum);
    REQUIRE(sender->nic_offloads().tso_packet_bytes_max == nic.offloads().tso_packet_bytes_max);
    REQUIRE(receiver->tcp());
    TcpListener* listener = receiver->tcp()->listen(9).release_value();

    const std::string data = pattern(512 * 1024 + 333);
    std::string received;
    bool done = false;
    Fiber* reader = kernel.sched().spawn("reader", [&] {
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
        done = true;
    });
    Fiber* writer = kernel.sched().spawn("writer", [&] {
        REQUIRE(sender->tcp());
        auto connected = sender->tcp()->connect(receiver->address().address, 9,
                                                kernel.now() + 5 * ns_per_s);
        REQUIRE(connected.ok());
        TcpSocket* socket = connected.value();
        REQUIRE(socket->write(Bytes(reinterpret_cast<const u8*>(data.data()), data.size())).ok());
        socket->close();
    });
    kernel.sched().detach(reader);
    kernel.sched().detach(writer);
    Seen seen;
    for (int step = 0; step < 200000 && !done; ++step) {
        carry_from_driver(backend, receiver_nic, seen);
        for (TestNic::Frame& frame : receiver_nic.take_sent())
            backend.inject(std::move(frame)); // to the driver, through the model
        sender->poll(tk.platform.now());
        receiver->poll(tk.platform.now());
        kernel.poll();
        tk.platform.advance(100 * ns_per_us);
    }
    CHECK(done);
    CHECK(received.size() == data.size());
    CHECK((received == data));
    CHECK(receiver->counters().drops[static_cast<u8>(DropReason::bad_checksum)] == 0);
    // Every TCP segment went offloaded: the large ones as TSO frames.
    CHECK(seen.segmented > 0);
    CHECK(seen.checksum_only > 0);
    CHECK(seen.largest_frame > 2 * VirtioNet::buffer_bytes); // chains of several buffers
    CHECK(nic.stats().tx_segmented == seen.segmented);
    CHECK(nic.stats().tx_offloaded == seen.segmented + seen.checksum_only);
    CHECK(nic.stats().tx_dropped == 0);
    CHECK(model.tx_malformed() == 0);
    CHECK(model.protocol_errors() == 0);
    NetStack::destroy(kernel, sender);
    NetStack::destroy(kernel, receiver);
}
