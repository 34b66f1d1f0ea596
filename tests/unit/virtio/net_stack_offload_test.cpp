// The network stack on the virtio-net driver with checksum and segmentation
// offload: a TCP transfer leaves through the driver and the model to a backend
// that advertises what a tap with a vnet header does; the test then does what
// Linux's GSO does with each frame (cuts it into MSS pieces, completes every
// checksum) and hands the pieces to a second stack without offloads, which
// verifies every checksum itself. So the stack's offsets, the driver's header
// and buffer chains and the model's pass-through are checked end to end.
#include "gso.hpp"
#include "test_dma.hpp"
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
using gantry::virtio::testing::Arena;
using gantry::testing::complete_tcp_checksum;
using gantry::testing::cut_like_gso;

namespace {

using namespace gantry::testing::gso; // frame offsets and TCP flags

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
    Arena dma;
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
