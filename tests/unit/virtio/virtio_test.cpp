// The virtio drivers against the in-process device models (the same pairing
// `--virtio` uses when hosted), and against a hostile device that breaks the
// protocol: the driver must fail cleanly, never touch memory it does not own.
#include "memory_block_device.hpp"
#include "test_dma.hpp"
#include "test_nic.hpp"
#include "test_platform.hpp"

#include <gantry/kernel.hpp>
#include <gantry/virtio/blk.hpp>
#include <gantry/virtio/model.hpp>
#include <gantry/virtio/net.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <memory>
#include <vector>

using namespace gantry;
using namespace gantry::virtio;
using gantry::testing::MemoryBlockDevice;
using gantry::testing::TestKernel;
using gantry::testing::TestNic;
using gantry::virtio::testing::Arena;

namespace {

std::vector<u8> frame_of(usize bytes, u8 seed)
{
    std::vector<u8> frame(bytes);
    for (usize i = 0; i < bytes; ++i)
        frame[i] = static_cast<u8>(seed * 31 + i);
    return frame;
}

} // namespace

TEST_CASE("virtio-net: frames cross the driver and the model both ways, in order")
{
    TestNic backend(net::MacAddress{{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}});
    NetModel model(backend);
    VirtioNet nic(model);
    Arena dma;
    REQUIRE(nic.start(dma.arena).ok());
    CHECK(nic.mac() == backend.mac());
    CHECK(model.driver_ok());

    // More frames than the receive ring holds: the rest wait in the backend.
    const usize count = 3 * VirtioNet::queue_entries_max + 7;
    for (usize i = 0; i < count; ++i)
        backend.inject(frame_of(60 + i % 1400, static_cast<u8>(i)));
    std::vector<u8> out(Nic::frame_bytes_max);
    for (usize i = 0; i < count; ++i) {
        const usize length = nic.receive(out);
        REQUIRE(length == 60 + i % 1400);
        CHECK(std::vector<u8>(out.begin(), out.begin() + static_cast<long>(length)) ==
              frame_of(length, static_cast<u8>(i)));
    }
    CHECK(nic.receive(out) == 0);
    CHECK(!nic.has_received());
    CHECK(nic.stats().received == count);

    for (usize i = 0; i < count; ++i)
        REQUIRE(nic.transmit(frame_of(1514 - i % 100, static_cast<u8>(i + 5))));
    const auto sent = backend.take_sent();
    REQUIRE(sent.size() == count);
    for (usize i = 0; i < count; ++i)
        CHECK(sent[i] == frame_of(1514 - i % 100, static_cast<u8>(i + 5)));
    CHECK(model.protocol_errors() == 0);
}

TEST_CASE("virtio-net: a frame too long for the caller is dropped and counted")
{
    TestNic backend;
    NetModel model(backend);
    VirtioNet nic(model);
    Arena dma;
    REQUIRE(nic.start(dma.arena).ok());
    backend.inject(frame_of(1000, 1));
    backend.inject(frame_of(100, 2));
    std::vector<u8> small(200);
    CHECK(nic.receive(small) == 100);
    CHECK(nic.stats().rx_too_long == 1);
    CHECK(!nic.transmit(frame_of(2000, 3)));
    CHECK(nic.stats().tx_dropped == 1);
}

TEST_CASE("virtio-blk: the kernel's Disk reads and writes through driver and model")
{
    MemoryBlockDevice backend(256);
    backend.complete_at_once = false; // completions arrive later, as on a real disk
    BlockModel model(backend);
    VirtioBlk blk(model);
    Arena dma;
    REQUIRE(blk.start(dma.arena).ok());
    CHECK(blk.info().sector_count == 256);
    CHECK(blk.info().sector_bytes == 512);
    CHECK(blk.has_flush());

    TestKernel tk({}, 16 * 1024 * 1024, {&blk});
    Disk& disk = *tk.kernel->disk(0);
    std::vector<u8> written = frame_of(8 * 512, 9);
    std::vector<u8> read(8 * 512);
    bool done = false;
    Fiber* fiber = tk.kernel->sched().spawn("io", [&] {
        REQUIRE(disk.write(10, written).ok());
        REQUIRE(disk.flush().ok());
        REQUIRE(disk.read(10, read).ok());
        done = true;
    });
    REQUIRE(fiber);
    tk.kernel->sched().detach(fiber);
    // Complete the backend's requests as the kernel idles.
    for (int round = 0; round < 100 && !done; ++round) {
        tk.run_until_idle(ns_per_s);
        while (backend.waiting() > 0)
            backend.complete(0);
    }
    REQUIRE(done);
    CHECK(read == written);
    CHECK(std::equal(written.begin(), written.end(), backend.data().begin() + 10 * 512));
    CHECK(backend.flushes == 1);
    CHECK(model.protocol_errors() == 0);
}

TEST_CASE("virtio-blk: errors, ranges and read-only disks come back as statuses")
{
    MemoryBlockDevice backend(16);
    backend.failing_sector = 3;
    BlockModel model(backend);
    VirtioBlk blk(model);
    Arena dma;
    REQUIRE(blk.start(dma.arena).ok());
    std::vector<u8> buffer(1024);

    BlockRequest bad_sector{BlockOp::read, 2, 2, buffer.data()};
    BlockRequest past_end{BlockOp::read, 15, 2, buffer.data()};
    BlockRequest good{BlockOp::write, 0, 2, buffer.data()};
    REQUIRE(blk.submit(bad_sector));
    REQUIRE(blk.submit(past_end));
    REQUIRE(blk.submit(good));
    std::map<BlockRequest*, BlockStatus> done;
    while (BlockRequest* request = blk.reap())
        done[request] = request->status;
    REQUIRE(done.size() == 3);
    CHECK(done[&bad_sector] == BlockStatus::io_error);
    CHECK(done[&past_end] == BlockStatus::out_of_range);
    CHECK(done[&good] == BlockStatus::ok);

    MemoryBlockDevice read_only_backend(16);
    read_only_backend.set_read_only(true);
    BlockModel read_only_model(read_only_backend);
    VirtioBlk read_only(read_only_model);
    Arena dma2;
    REQUIRE(read_only.start(dma2.arena).ok());
    CHECK(read_only.info().read_only);
    BlockRequest write{BlockOp::write, 0, 1, buffer.data()};
    REQUIRE(read_only.submit(write));
    CHECK(read_only.reap() == &write);
    CHECK(write.status == BlockStatus::read_only);
}

TEST_CASE("virtio-blk: a full ring refuses submissions until completions free it")
{
    MemoryBlockDevice backend(1024);
    backend.complete_at_once = false;
    backend.queue_depth = 4; // the model holds the rest
    BlockModel model(backend);
    VirtioBlk blk(model);
    Arena dma;
    REQUIRE(blk.start(dma.arena).ok());
    std::vector<u8> buffer(512);
    std::vector<BlockRequest> requests(VirtioBlk::queue_entries_max);
    usize accepted = 0;
    for (BlockRequest& request : requests) {
        request = BlockRequest{BlockOp::read, accepted, 1, buffer.data()};
        if (!blk.submit(request))
            break;
        ++accepted;
    }
    CHECK(accepted == VirtioBlk::queue_entries_max / 3); // three descriptors each
    usize reaped = 0;
    for (int round = 0; round < 1000 && reaped < accepted; ++round) {
        while (backend.waiting() > 0)
            backend.complete(0);
        while (BlockRequest* request = blk.reap()) {
            CHECK(request->status == BlockStatus::ok);
            ++reaped;
        }
    }
    CHECK(reaped == accepted);
    CHECK(blk.submit(requests[accepted]));
}

namespace {

// A device that answers like a modern virtio-net or -blk device but whose
// registers and used rings the test controls.
class ScriptedDevice final : public Registers {
public:
    u32 version = mmio_version_modern;
    u32 device_id = 1;
    u64 features = feature::version_1;
    bool accept_features = true;
    u32 queue_max = 64;
    u64 used_address[2] = {};
    u32 status_value = 0;

    u32 read32(u32 offset) override
    {
        switch (offset) {
        case reg::magic: return mmio_magic;
        case reg::version: return version;
        case reg::device_id: return device_id;
        case reg::device_features:
            return m_select == 0 ? static_cast<u32>(features) : static_cast<u32>(features >> 32);
        case reg::queue_size_max: return queue_max;
        case reg::status:
            return accept_features ? status_value : status_value & ~status::features_ok;
        default: return 0;
        }
    }
    void write32(u32 offset, u32 value) override
    {
        if (offset == reg::device_features_select)
            m_select = value;
        else if (offset == reg::status)
            status_value = value;
        else if (offset == reg::queue_select)
            m_queue = value;
        else if (offset == reg::queue_device_low && m_queue < 2)
            used_address[m_queue] = (used_address[m_queue] & ~u64{0xffffffff}) | value;
        else if (offset == reg::queue_device_high && m_queue < 2)
            used_address[m_queue] |= u64{value} << 32;
    }
    u8 read8(u32) override { return 0; }

    // Writes one used element, as a (hostile) device could.
    void push_used(u16 queue, u32 id, u32 bytes)
    {
        auto* used = reinterpret_cast<UsedRing*>(used_address[queue]);
        used->ring[used->index % queue_max] = UsedElement{id, bytes};
        ++used->index;
    }

private:
    u32 m_select = 0;
    u32 m_queue = 0;
};

} // namespace

TEST_CASE("virtio: devices the drivers cannot use are refused with a reason")
{
    Arena dma;
    ScriptedDevice legacy;
    legacy.version = 1;
    CHECK(VirtioNet(legacy).start(dma.arena).error() == VirtioError::legacy_device);
    ScriptedDevice block;
    block.device_id = 2;
    CHECK(VirtioNet(block).start(dma.arena).error() == VirtioError::wrong_device);
    ScriptedDevice old;
    old.features = 0; // no VIRTIO_F_VERSION_1
    CHECK(VirtioNet(old).start(dma.arena).error() == VirtioError::features_rejected);
    CHECK((old.status_value & status::failed) != 0);
    ScriptedDevice picky;
    picky.accept_features = false;
    CHECK(VirtioNet(picky).start(dma.arena).error() == VirtioError::features_rejected);
    ScriptedDevice tiny;
    tiny.device_id = 2;
    tiny.queue_max = 2;
    CHECK(VirtioBlk(tiny).start(dma.arena).error() == VirtioError::queue_too_small);
    Arena small(4096);
    ScriptedDevice fine;
    CHECK(VirtioNet(fine).start(small.arena).error() == VirtioError::out_of_memory);
}

TEST_CASE("virtio-net: a device returning buffers it was never given breaks the queue, not the driver")
{
    ScriptedDevice device;
    VirtioNet nic(device);
    Arena dma;
    REQUIRE(nic.start(dma.arena).ok());
    std::vector<u8> out(Nic::frame_bytes_max);
    device.push_used(0, 3, 12 + 100); // a posted buffer: fine
    CHECK(nic.receive(out) == 100);
    device.push_used(0, 3, 5000); // longer than the buffer
    CHECK(nic.receive(out) == 0);
    CHECK(nic.stats().rx_malformed == 1);
    device.push_used(0, 9999, 100); // not a descriptor
    CHECK(nic.receive(out) == 0);
    CHECK(nic.broken());
    CHECK(nic.receive(out) == 0); // stays dead, quietly
}

TEST_CASE("virtio-blk: a broken device fails the requests it holds instead of hanging them")
{
    ScriptedDevice device;
    device.device_id = 2;
    device.features |= u64{1} << 9; // VIRTIO_BLK_F_FLUSH: flushes go to the device
    VirtioBlk blk(device);
    Arena dma;
    REQUIRE(blk.start(dma.arena).ok());
    std::vector<u8> buffer(512);
    BlockRequest first{BlockOp::read, 0, 1, buffer.data()};
    BlockRequest second{BlockOp::read, 1, 1, buffer.data()};
    // The device's capacity reads as 0 sectors: only flushes are in range.
    REQUIRE(blk.submit(first));
    CHECK(blk.reap() == &first);
    CHECK(first.status == BlockStatus::out_of_range);
    BlockRequest flush{BlockOp::flush};
    REQUIRE(blk.submit(flush));
    device.push_used(0, 5, 1); // inside the ring, but no chain in flight starts there
    CHECK(blk.reap() == &flush);
    CHECK(flush.status == BlockStatus::io_error);
    CHECK(blk.broken());
    REQUIRE(blk.submit(second));
    CHECK(blk.reap() == &second);
    CHECK(second.status == BlockStatus::io_error);
}
