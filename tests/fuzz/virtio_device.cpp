// Fuzzes the virtio drivers (kernel/drivers/virtio) against a hostile device:
// every register read and every used-ring entry and length comes from the
// input. The drivers must never crash, read or write outside the memory they
// own (ASan watches in the fuzz build), return a frame longer than the
// caller's buffer, or hand back a block request twice or one never submitted.
#include <gantry/assert.hpp>
#include <gantry/virtio/blk.hpp>
#include <gantry/virtio/net.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <set>
#include <vector>

using namespace gantry;
using namespace gantry::virtio;

namespace {

class Input {
public:
    Input(const u8* data, usize size) : m_data(data), m_size(size) {}
    u8 byte() { return m_at < m_size ? m_data[m_at++] : 0; }
    u32 word()
    {
        u32 value = 0;
        for (int i = 0; i < 4; ++i)
            value |= u32{byte()} << (8 * i);
        return value;
    }
    bool empty() const { return m_at >= m_size; }

private:
    const u8* m_data;
    usize m_size;
    usize m_at = 0;
};

// Plays a device of `type` whose answers the input chooses, mostly plausible
// (so the drivers get past initialisation) and sometimes not.
class HostileDevice final : public Registers {
public:
    HostileDevice(Input& input, DeviceType type) : m_input(input), m_type(type) {}

    u32 read32(u32 offset) override
    {
        const bool lie = (m_input.byte() & 0x0f) == 0; // 1 in 16 reads is arbitrary
        if (lie)
            return m_input.word();
        switch (offset) {
        case reg::magic: return mmio_magic;
        case reg::version: return mmio_version_modern;
        case reg::device_id: return static_cast<u32>(m_type);
        case reg::device_features: return m_select == 0 ? m_input.word() : 1; // VERSION_1
        case reg::queue_size_max: return 1u << (m_input.byte() % 10);
        case reg::status: return m_status;
        default: return 0;
        }
    }
    void write32(u32 offset, u32 value) override
    {
        if (offset == reg::device_features_select)
            m_select = value;
        else if (offset == reg::status)
            m_status = value;
        else if (offset == reg::queue_select)
            m_queue = value;
        else if (offset == reg::queue_size && m_queue < 2)
            m_sizes[m_queue] = value;
        else if (offset == reg::queue_device_low && m_queue < 2)
            m_used[m_queue] = (m_used[m_queue] & ~u64{0xffffffff}) | value;
        else if (offset == reg::queue_device_high && m_queue < 2)
            m_used[m_queue] |= u64{value} << 32;
    }
    u8 read8(u32) override { return m_input.byte(); }

    // Publishes a few used elements of the input's choosing.
    void let_device_run() override
    {
        const u8 count = m_input.byte() % 4;
        for (u8 i = 0; i < count; ++i) {
            const u32 queue = m_input.byte() % 2;
            if (!m_used[queue] || m_sizes[queue] == 0)
                continue;
            auto* used = reinterpret_cast<UsedRing*>(m_used[queue]);
            const u32 id = (m_input.byte() & 0x80) ? m_input.word() : m_input.byte() % m_sizes[queue];
            const u32 bytes = (m_input.byte() & 0x80) ? m_input.word() : m_input.byte() * 12u;
            used->ring[used->index % m_sizes[queue]] = UsedElement{id, bytes};
            used->index = static_cast<u16>(used->index + ((m_input.byte() & 0x40) ? m_input.byte() : 1));
        }
    }

private:
    Input& m_input;
    DeviceType m_type;
    u32 m_select = 0;
    u32 m_status = 0;
    u32 m_queue = 0;
    u32 m_sizes[2] = {};
    u64 m_used[2] = {};
};

struct Dma {
    static constexpr usize bytes = 1024 * 1024;
    Dma() : memory(static_cast<u8*>(std::aligned_alloc(4096, bytes)), &std::free), arena(memory.get(), bytes) {}
    std::unique_ptr<u8, decltype(&std::free)> memory;
    DmaArena arena;
};

void fuzz_net(Input& input)
{
    HostileDevice device(input, DeviceType::net);
    VirtioNet nic(device);
    Dma dma;
    if (!nic.start(dma.arena).ok())
        return;
    std::vector<u8> out(64 + input.byte() * 8);
    std::vector<u8> frame(64 * 1024); // longer than any length below
    while (!input.empty()) {
        switch (input.byte() % 4) {
        case 0: {
            const usize length = nic.receive(out);
            GANTRY_ASSERT(length <= out.size());
            break;
        }
        case 1: nic.transmit(Bytes(frame.data(), input.byte() * 7u)); break;
        case 2: {
            // A TCP/IPv4 frame left partial, when the device took VIRTIO_NET_F_CSUM,
            // and a TSO frame (up to past the driver's limit) when it took HOST_TSO4.
            const bool segmented = (input.byte() & 1) && nic.offloads().tso_packet_bytes_max > 0;
            const usize length = segmented ? 55 + input.byte() * 200u : 54 + input.byte() * 7u;
            NicTxOffload offload;
            offload.checksum_start = 34;
            offload.checksum_offset = 16;
            if (segmented) {
                offload.segment_payload = 1460;
                offload.header_bytes = 54;
            }
            if (nic.offloads().tx_checksum)
                nic.transmit_offloaded(Bytes(frame.data(), length), offload);
            break;
        }
        default: (void)nic.has_received(); break;
        }
    }
}

void fuzz_blk(Input& input)
{
    HostileDevice device(input, DeviceType::block);
    VirtioBlk blk(device);
    Dma dma;
    if (!blk.start(dma.arena).ok())
        return;
    std::vector<BlockRequest> requests(64);
    std::vector<u8> buffer(8 * 512);
    std::set<BlockRequest*> outstanding;
    usize next = 0;
    while (!input.empty()) {
        if ((input.byte() & 1) && next < requests.size()) {
            BlockRequest& request = requests[next];
            request = BlockRequest{static_cast<BlockOp>(input.byte() % 3), input.byte(),
                                   1u + input.byte() % 8u, buffer.data()};
            if (request.op == BlockOp::flush)
                request.sectors = 0;
            if (blk.submit(request)) {
                outstanding.insert(&request);
                ++next;
            }
        } else if (BlockRequest* done = blk.reap()) {
            GANTRY_ASSERT(outstanding.erase(done) == 1); // submitted, and only once
            GANTRY_ASSERT(done->status != BlockStatus::pending);
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    Input input(data, size);
    if (input.byte() & 1)
        fuzz_blk(input);
    else
        fuzz_net(input);
    return 0;
}
