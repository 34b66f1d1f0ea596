// virtio-net transmit checksum offload (VIRTIO_NET_F_CSUM): the driver
// against the in-process model over plain and offloading backends, a device
// that does not offer it, and a driver (written here on the bare transport)
// whose headers lie to the model.
#include "test_dma.hpp"
#include "test_nic.hpp"

#include <gantry/net/wire/checksum.hpp>
#include <gantry/virtio/model.hpp>
#include <gantry/virtio/net.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

using namespace gantry;
using namespace gantry::virtio;
using gantry::testing::TestNic;
using gantry::virtio::testing::Arena;

namespace {

constexpr usize ethernet_bytes = 14;
constexpr usize ipv4_bytes = 20;
constexpr usize tcp_checksum_offset = 16;
const net::Ipv4Address source{{10, 0, 0, 1}};
const net::Ipv4Address destination{{10, 0, 0, 2}};

// An Ethernet + IPv4 + TCP frame as the stack hands it over with checksum
// offload: the TCP checksum field holds the pseudo-header sum.
std::vector<u8> partial_tcp_frame(usize payload_bytes, u8 seed)
{
    const usize tcp_bytes = 20 + payload_bytes;
    std::vector<u8> frame(ethernet_bytes + ipv4_bytes + tcp_bytes);
    for (usize i = 0; i < frame.size(); ++i)
        frame[i] = static_cast<u8>(seed * 13 + i * 7);
    frame[12] = 0x08; // IPv4
    frame[13] = 0x00;
    u8* ip = frame.data() + ethernet_bytes;
    ip[0] = 0x45;
    ip[9] = 6; // TCP
    std::memcpy(ip + 12, source.octets.data(), 4);
    std::memcpy(ip + 16, destination.octets.data(), 4);
    u8* tcp = ip + ipv4_bytes;
    tcp[12] = 5 << 4; // data offset: 20 bytes
    const u16 pseudo = static_cast<u16>(~net::checksum_finish(
        net::pseudo_header_sum(source, destination, 6, static_cast<u16>(tcp_bytes))));
    tcp[tcp_checksum_offset] = static_cast<u8>(pseudo >> 8);
    tcp[tcp_checksum_offset + 1] = static_cast<u8>(pseudo);
    return frame;
}

NicTxOffload tcp_checksum_offload()
{
    NicTxOffload offload;
    offload.checksum_start = static_cast<u16>(ethernet_bytes + ipv4_bytes);
    offload.checksum_offset = static_cast<u16>(tcp_checksum_offset);
    return offload;
}

// The receiver's check (RFC 9293 3.1): pseudo-header + segment sums to zero.
bool tcp_checksum_valid(const std::vector<u8>& frame)
{
    const Bytes segment(frame.data() + ethernet_bytes + ipv4_bytes,
                        frame.size() - ethernet_bytes - ipv4_bytes);
    const u32 sum = net::checksum_combine(
        net::pseudo_header_sum(source, destination, 6, static_cast<u16>(segment.size())),
        net::checksum_partial(segment));
    return net::checksum_finish(sum) == 0;
}

} // namespace

TEST_CASE("virtio-net offload: a frame marked NEEDS_CSUM reaches a plain backend with a correct checksum")
{
    TestNic backend; // offers nothing: the model completes the checksum
    NetModel model(backend);
    VirtioNet nic(model);
    Arena dma;
    REQUIRE(nic.start(dma.arena).ok());
    REQUIRE(nic.offloads().tx_checksum);
    CHECK(nic.offloads().tso_packet_bytes_max == 0);
    CHECK((model.driver_features() & net_feature::checksum) != 0);

    // Odd and even payloads, up to a full 1514-byte frame.
    const usize payloads[] = {0, 1, 7, 536, 1001, 1460};
    for (usize payload : payloads) {
        const auto frame = partial_tcp_frame(payload, static_cast<u8>(payload));
        CHECK(!tcp_checksum_valid(frame)); // the stack's frame is not yet valid
        REQUIRE(nic.transmit_offloaded(frame, tcp_checksum_offload()));
    }
    REQUIRE(nic.transmit(partial_tcp_frame(100, 1))); // plain: passed as it is
    const auto sent = backend.take_sent();
    REQUIRE(sent.size() == std::size(payloads) + 1);
    for (usize i = 0; i < std::size(payloads); ++i) {
        INFO("payload " << payloads[i]);
        CHECK(tcp_checksum_valid(sent[i]));
        auto expected = partial_tcp_frame(payloads[i], static_cast<u8>(payloads[i]));
        // Only the two checksum bytes changed.
        const usize field = ethernet_bytes + ipv4_bytes + tcp_checksum_offset;
        expected[field] = sent[i][field];
        expected[field + 1] = sent[i][field + 1];
        CHECK(sent[i] == expected);
    }
    CHECK(sent.back() == partial_tcp_frame(100, 1));
    CHECK(model.checksums_completed() == std::size(payloads));
    CHECK(nic.stats().tx_offloaded == std::size(payloads));
    CHECK(model.tx_malformed() == 0);
    CHECK(model.protocol_errors() == 0);
}

TEST_CASE("virtio-net offload: a backend that completes checksums gets the frame and the offsets")
{
    TestNic backend;
    NicOffloads tap_like;
    tap_like.tx_checksum = true;
    backend.set_offloads(tap_like);
    NetModel model(backend);
    VirtioNet nic(model);
    Arena dma;
    REQUIRE(nic.start(dma.arena).ok());
    REQUIRE(nic.offloads().tx_checksum);
    const auto frame = partial_tcp_frame(1000, 3);
    REQUIRE(nic.transmit_offloaded(frame, tcp_checksum_offload()));
    REQUIRE(nic.transmit(frame));
    const auto offloads = backend.sent_offloads();
    const auto sent = backend.take_sent();
    REQUIRE(sent.size() == 2);
    CHECK(sent[0] == frame); // untouched: the backend completes it
    CHECK(offloads[0].checksum_start == ethernet_bytes + ipv4_bytes);
    CHECK(offloads[0].checksum_offset == tcp_checksum_offset);
    CHECK(offloads[0].segment_payload == 0);
    CHECK(offloads[1].none());
    CHECK(model.checksums_completed() == 0);
}

namespace {

// A network device offering `offered` (by default only VERSION_1 and MAC, as
// QEMU with user networking or a tap without vnet_hdr offers no CSUM): what
// the driver agrees to is what it writes back.
class OfferingDevice final : public Registers {
public:
    u64 offered = feature::version_1 | net_feature::mac;
    u32 queue_max = 64;
    u64 agreed = 0;

    u32 read32(u32 offset) override
    {
        switch (offset) {
        case reg::magic: return mmio_magic;
        case reg::version: return mmio_version_modern;
        case reg::device_id: return static_cast<u32>(DeviceType::net);
        case reg::device_features:
            return m_select == 0 ? static_cast<u32>(offered) : static_cast<u32>(offered >> 32);
        case reg::queue_size_max: return queue_max;
        case reg::status: return m_status;
        default: return 0;
        }
    }
    void write32(u32 offset, u32 value) override
    {
        if (offset == reg::device_features_select)
            m_select = value;
        else if (offset == reg::driver_features_select)
            m_driver_select = value;
        else if (offset == reg::driver_features && m_driver_select < 2)
            agreed |= u64{value} << (32 * m_driver_select);
        else if (offset == reg::status)
            m_status = value;
    }
    u8 read8(u32) override { return 0; }

private:
    u32 m_select = 0;
    u32 m_driver_select = 0;
    u32 m_status = 0;
};

} // namespace

TEST_CASE("virtio-net offload: nothing is agreed or advertised when the device does not offer it")
{
    OfferingDevice device;
    VirtioNet nic(device);
    Arena dma;
    REQUIRE(nic.start(dma.arena).ok());
    CHECK(device.agreed == (feature::version_1 | net_feature::mac));
    CHECK(!nic.offloads().tx_checksum);
    CHECK(nic.offloads().tso_packet_bytes_max == 0);
}

TEST_CASE("virtio-net offload: TSO needs checksum offload and a ring with room for chains")
{
    Arena dma;
    OfferingDevice tso_only; // breaks section 5.1.3.1: HOST_TSO4 requires CSUM
    tso_only.offered |= net_feature::host_tso4;
    VirtioNet first(tso_only);
    REQUIRE(first.start(dma.arena).ok());
    CHECK(!first.offloads().tx_checksum);
    CHECK(first.offloads().tso_packet_bytes_max == 0);

    OfferingDevice small_ring; // 4 entries: a chain of one buffer at most
    small_ring.offered |= net_feature::checksum | net_feature::host_tso4;
    small_ring.queue_max = 4;
    VirtioNet second(small_ring);
    REQUIRE(second.start(dma.arena).ok());
    CHECK(second.offloads().tx_checksum);
    CHECK(second.offloads().tso_packet_bytes_max == 0);

    OfferingDevice both;
    both.offered |= net_feature::checksum | net_feature::host_tso4;
    VirtioNet third(both); // 64 entries: chains of 16
    REQUIRE(third.start(dma.arena).ok());
    CHECK(third.offloads().tso_packet_bytes_max ==
          16 * VirtioNet::buffer_bytes - VirtioNet::header_bytes - ethernet_bytes);
}

namespace {

// A driver on the bare transport, so a test can put any header in front of a
// frame: what a buggy or hostile guest could hand the model.
class RawNetDriver {
public:
    RawNetDriver(NetModel& model, u64 features) : m_transport(model)
    {
        REQUIRE(m_transport.begin(DeviceType::net).ok());
        REQUIRE(m_transport.negotiate(features, feature::version_1).ok());
        REQUIRE(m_transport.attach_queue(0, 8, 2, m_rx, m_dma.arena).ok());
        REQUIRE(m_transport.attach_queue(1, 8, 2, m_tx, m_dma.arena).ok());
        m_transport.finish();
        m_buffer = static_cast<u8*>(m_dma.arena.allocate(65536, 64));
        REQUIRE(m_buffer);
    }

    // Sends header + frame as one descriptor and waits for the chain back.
    void send(const NetHeader& header, const std::vector<u8>& frame)
    {
        std::memcpy(m_buffer, &header, sizeof(header));
        if (!frame.empty()) // memcpy from an empty vector's null data is undefined
            std::memcpy(m_buffer + sizeof(header), frame.data(), frame.size());
        const auto bytes = static_cast<u32>(sizeof(header) + frame.size());
        const BufferRef chain{dma_address(m_buffer), bytes, false};
        REQUIRE(m_tx.add({&chain, 1}) >= 0);
        m_transport.notify(1);
        UsedElement used{};
        REQUIRE(m_tx.pop_used(used));
    }

private:
    Arena m_dma;
    Transport m_transport;
    Virtqueue m_rx;
    Virtqueue m_tx;
    u8* m_buffer = nullptr;
};

NetHeader needs_checksum(usize start, usize offset)
{
    NetHeader header{};
    header.flags = net_header::needs_checksum;
    header.checksum_start = static_cast<u16>(start);
    header.checksum_offset = static_cast<u16>(offset);
    return header;
}

} // namespace

TEST_CASE("virtio-net offload: the model drops headers that point outside the frame or were not agreed")
{
    TestNic backend;
    NetModel model(backend);
    const auto frame = partial_tcp_frame(200, 9); // 254 bytes
    const usize start = ethernet_bytes + ipv4_bytes;

    SECTION("checksum field outside the frame, or NEEDS_CSUM without the feature")
    {
        RawNetDriver driver(model, feature::version_1 | net_feature::checksum);
        driver.send(needs_checksum(frame.size(), 0), frame);      // starts at the end
        driver.send(needs_checksum(start, frame.size()), frame);  // field past the end
        driver.send(needs_checksum(start, frame.size() - start - 1), frame); // one byte over
        driver.send(needs_checksum(0xffff, 0xffff), frame);
        NetHeader segmented{};
        segmented.gso_type = 1; // TCPv4 segmentation: not offered
        segmented.segment_bytes = 100;
        driver.send(segmented, frame);
        NetHeader unknown_flag{};
        unknown_flag.flags = 0x80;
        driver.send(unknown_flag, frame);
        CHECK(backend.sent().empty());
        CHECK(model.tx_malformed() == 6);
        // The last two bytes of the frame are a legal field: sums from start.
        driver.send(needs_checksum(start, frame.size() - start - 2), frame);
        REQUIRE(backend.sent().size() == 1);
        CHECK(model.checksums_completed() == 1);
        // A header alone, no frame.
        driver.send(NetHeader{}, {});
        CHECK(model.tx_malformed() == 7);
        CHECK(model.protocol_errors() == 0);
    }
    SECTION("NEEDS_CSUM from a driver that did not agree to VIRTIO_NET_F_CSUM")
    {
        RawNetDriver driver(model, feature::version_1);
        driver.send(needs_checksum(start, tcp_checksum_offset), frame);
        CHECK(backend.sent().empty());
        CHECK(model.tx_malformed() == 1);
        driver.send(NetHeader{}, frame);
        REQUIRE(backend.sent().size() == 1);
        CHECK(backend.sent()[0] == frame);
    }
}

namespace {

NicOffloads tap_with_vnet_header(usize tso_packet_bytes_max = 65535)
{
    NicOffloads offloads;
    offloads.tx_checksum = true;
    offloads.tso_packet_bytes_max = tso_packet_bytes_max;
    return offloads;
}

NicTxOffload tcp_segmentation_offload()
{
    NicTxOffload offload = tcp_checksum_offload();
    offload.segment_payload = 1460;
    offload.header_bytes = static_cast<u16>(ethernet_bytes + ipv4_bytes + 20);
    return offload;
}

} // namespace

TEST_CASE("virtio-net offload: TSO frames cross the driver in buffer chains to a backend that cuts them")
{
    TestNic backend;
    backend.set_offloads(tap_with_vnet_header());
    NetModel model(backend);
    VirtioNet nic(model);
    Arena dma;
    REQUIRE(nic.start(dma.arena).ok());
    CHECK((model.driver_features() & net_feature::host_tso4) != 0);
    // A quarter of the 128-entry ring of 1536-byte buffers, less the virtio
    // and Ethernet headers.
    const usize packet_max =
        32 * VirtioNet::buffer_bytes - VirtioNet::header_bytes - ethernet_bytes;
    REQUIRE(nic.offloads().tso_packet_bytes_max == packet_max);

    // Frames that end at, just past and inside buffer boundaries, up to the
    // largest; more of them than the ring holds at once.
    const usize header = ethernet_bytes + ipv4_bytes + 20;
    const usize sizes[] = {1600,
                           2 * VirtioNet::buffer_bytes - VirtioNet::header_bytes,
                           2 * VirtioNet::buffer_bytes - VirtioNet::header_bytes + 1,
                           40001,
                           ethernet_bytes + packet_max};
    std::vector<std::vector<u8>> expected;
    for (int round = 0; round < 4; ++round) {
        for (usize size : sizes) {
            expected.push_back(partial_tcp_frame(size - header, static_cast<u8>(size + round)));
            REQUIRE(nic.transmit_offloaded(expected.back(), tcp_segmentation_offload()));
        }
    }
    // One byte more than the chain can take: refused, not cut short.
    CHECK(!nic.transmit_offloaded(partial_tcp_frame(packet_max + 1 - ipv4_bytes - 20, 1),
                                  tcp_segmentation_offload()));
    CHECK(nic.stats().tx_dropped == 1);

    const auto offloads = backend.sent_offloads();
    const auto sent = backend.take_sent();
    REQUIRE(sent.size() == expected.size());
    for (usize i = 0; i < sent.size(); ++i) {
        INFO("frame " << i << " of " << expected[i].size() << " bytes");
        CHECK(sent[i] == expected[i]);
        CHECK(offloads[i].checksum_start == ethernet_bytes + ipv4_bytes);
        CHECK(offloads[i].checksum_offset == tcp_checksum_offset);
        CHECK(offloads[i].segment_payload == 1460);
        CHECK(offloads[i].header_bytes == header);
    }
    CHECK(nic.stats().tx_segmented == expected.size());
    CHECK(model.tx_malformed() == 0);
    CHECK(model.protocol_errors() == 0);
    CHECK(!nic.broken());
}

TEST_CASE("virtio-net offload: no TSO without a backend that takes it, or without checksum offload")
{
    SECTION("the backend completes checksums but does not segment")
    {
        TestNic backend;
        backend.set_offloads(tap_with_vnet_header(0));
        NetModel model(backend);
        VirtioNet nic(model);
        Arena dma;
        REQUIRE(nic.start(dma.arena).ok());
        CHECK(nic.offloads().tx_checksum);
        CHECK(nic.offloads().tso_packet_bytes_max == 0);
        CHECK((model.driver_features() & net_feature::host_tso4) == 0);
    }
    SECTION("a plain backend: checksums in the model, no segmentation")
    {
        TestNic backend;
        NetModel model(backend);
        VirtioNet nic(model);
        Arena dma;
        REQUIRE(nic.start(dma.arena).ok());
        CHECK(nic.offloads().tso_packet_bytes_max == 0);
    }
}

TEST_CASE("virtio-net offload: the model drops TSO headers the backend could not honour")
{
    TestNic backend;
    backend.set_offloads(tap_with_vnet_header(8000));
    NetModel model(backend);
    RawNetDriver driver(model, feature::version_1 | net_feature::checksum | net_feature::host_tso4);
    const usize start = ethernet_bytes + ipv4_bytes;
    const usize headers = start + 20;
    const auto frame = partial_tcp_frame(5000, 4);
    auto tso = [&](u8 gso_type, usize header_bytes, usize segment) {
        NetHeader header = needs_checksum(start, tcp_checksum_offset);
        header.gso_type = gso_type;
        header.header_bytes = static_cast<u16>(header_bytes);
        header.segment_bytes = static_cast<u16>(segment);
        return header;
    };
    driver.send(tso(3, headers, 1460), frame);    // UDP fragmentation offload
    driver.send(tso(4, headers, 1460), frame);    // TCPv6
    driver.send(tso(0x81, headers, 1460), frame); // TCPv4 with ECN: not agreed
    driver.send(tso(1, headers, 0), frame);       // no segment size
    driver.send(tso(1, start + 10, 1460), frame); // headers end before the checksum field
    driver.send(tso(1, frame.size(), 1460), frame); // all headers, no payload
    NetHeader no_checksum = tso(1, headers, 1460);
    no_checksum.flags = 0;
    driver.send(no_checksum, frame);
    driver.send(tso(1, headers, 1460), partial_tcp_frame(9000, 5)); // over the backend's 8000
    CHECK(backend.sent().empty());
    CHECK(model.tx_malformed() == 8);
    driver.send(tso(1, headers, 1460), frame);
    REQUIRE(backend.sent().size() == 1);
    CHECK(backend.sent_offloads()[0].segment_payload == 1460);
    CHECK(backend.sent_offloads()[0].header_bytes == headers);
    CHECK(model.protocol_errors() == 0);
}
