// In-process virtio-mmio device models: a virtio-net device backed by any Nic
// (a tap, libslirp, a socket LAN, a simulated link) and a virtio-blk device
// backed by any BlockDevice (a file, a simulated disk). They let the hosted and
// simulated platforms run the real virtio drivers, so the drivers are exercised
// in every test run without a hypervisor.
//
// A model does its work when the driver notifies a queue or calls
// let_device_run(); it trusts nothing it reads from the rings, and a driver that
// breaks the protocol gets NEEDS_RESET, as a real device would set it.
// Host-side code: not part of the freestanding image.
#pragma once

#include <gantry/block.hpp>
#include <gantry/nic.hpp>
#include <gantry/virtio/blk.hpp>
#include <gantry/virtio/mmio.hpp>
#include <gantry/virtio/net.hpp>
#include <gantry/virtio/queue.hpp>

#include <memory>
#include <string>
#include <vector>

namespace gantry::virtio {

class DeviceModel : public Registers {
public:
    struct QueueState {
        u16 size = 0;
        bool ready = false;
        u64 descriptors = 0;
        u64 driver = 0; // available ring
        u64 device = 0; // used ring
        u16 last_avail = 0;
        u16 used_index = 0;
    };

    u32 read32(u32 offset) override;
    void write32(u32 offset, u32 value) override;
    u8 read8(u32 offset) override;
    void let_device_run() override;

    bool driver_ok() const { return (m_status & status::driver_ok) && !(m_status & status::needs_reset); }
    u64 driver_features() const { return m_driver_features; }
    u64 protocol_errors() const { return m_protocol_errors; }

protected:
    DeviceModel(DeviceType type, u64 features, u16 queue_count);

    // One chain popped from an available ring, as pointers into driver memory.
    struct Segment {
        u8* data;
        u32 bytes;
        bool device_writes;
    };
    struct Chain {
        // virtio-net's TSO frames take up to a quarter of its ring.
        static constexpr usize segments_max = 64;
        u16 head = 0;
        Segment segments[segments_max];
        usize count = 0;
    };

    virtual void on_notify(u16 queue) = 0;
    virtual void run() = 0;
    virtual u8 config_byte(u32 offset) = 0;
    virtual void on_reset() {}

    bool queue_live(u16 queue) const;
    bool next_chain(u16 queue, Chain& out);
    void complete(u16 queue, u16 head, u32 bytes_written);
    // The driver broke the ring protocol: stop, as a device sets NEEDS_RESET.
    void protocol_error();

private:
    void reset();
    QueueState* selected();

    DeviceType m_type;
    u64 m_features;
    u32 m_device_features_select = 0;
    u32 m_driver_features_select = 0;
    u64 m_driver_features = 0;
    u32 m_status = 0;
    u32 m_interrupt_status = 0;
    u32 m_queue_select = 0;
    u64 m_protocol_errors = 0;
    std::vector<QueueState> m_queues;
};

// Offers VIRTIO_NET_F_CSUM whatever the backend: a frame marked NEEDS_CSUM
// goes to a backend that completes checksums itself (a tap with a vnet header)
// as it is, and to any other with the checksum filled in here, as a NIC's
// hardware would. Offers VIRTIO_NET_F_HOST_TSO4 only when the backend takes
// TSO frames (a tap with a vnet header): they pass through to it.
class NetModel final : public DeviceModel {
public:
    explicit NetModel(Nic& backend);

    u64 frames_to_driver() const { return m_to_driver; }
    u64 frames_from_driver() const { return m_from_driver; }
    // Frames whose checksum this model completed (the backend could not).
    u64 checksums_completed() const { return m_checksums_completed; }
    // Transmitted chains dropped for a bad header or length (counted, as a NIC
    // counts runts, and the chain still returned to the driver).
    u64 tx_malformed() const { return m_tx_malformed; }

private:
    void on_notify(u16 queue) override;
    void run() override;
    u8 config_byte(u32 offset) override;
    void on_reset() override { m_staged_bytes = 0; }
    void transmit_pending();
    bool transmit_one(MutableBytes chain_bytes);
    bool transmit_segmented(MutableBytes frame, const NetHeader& header);
    void deliver_received();

    Nic& m_backend;
    NicOffloads m_backend_offloads;
    net::MacAddress m_mac;
    u8 m_staged[Nic::frame_bytes_max];
    std::vector<u8> m_transmitted; // one chain's header and frame, copied out of the ring
    usize m_staged_bytes = 0; // a frame taken from the backend, waiting for a buffer
    u64 m_to_driver = 0;
    u64 m_from_driver = 0;
    u64 m_checksums_completed = 0;
    u64 m_tx_malformed = 0;
};

class BlockModel final : public DeviceModel {
public:
    // The backend must address 512-byte sectors, as virtio-blk does.
    explicit BlockModel(BlockDevice& backend);
    ~BlockModel() override;

private:
    struct Pending {
        BlockRequest request; // first: a reaped BlockRequest* is its Pending
        u16 head = 0;
        u8* status = nullptr;
        u32 written = 0;
    };

    void on_notify(u16 queue) override;
    void run() override;
    u8 config_byte(u32 offset) override;
    void on_reset() override;
    void accept_requests();
    void submit_waiting();
    void finish(Pending& pending, u8 status);

    BlockDevice& m_backend;
    BlockInfo m_info;
    std::vector<std::unique_ptr<Pending>> m_waiting; // accepted, the backend was full
    std::vector<std::unique_ptr<Pending>> m_in_backend;
};

// A platform's devices behind the virtio drivers: each wrapped device becomes
// driver -> model -> the native device. Hosted `--virtio` and the simulator's
// `virtio` nodes both use it. Rings and buffers come from `dma`, which must
// outlive this object.
class InProcessDevices {
public:
    explicit InProcessDevices(MutableBytes dma) : m_arena(dma.data(), dma.size()) {}
    ~InProcessDevices();
    InProcessDevices(const InProcessDevices&) = delete;

    // Replaces `device` by a started driver in front of it; returns "" or why
    // the driver failed (the device is then left as it was).
    std::string wrap(Nic*& device);
    std::string wrap(BlockDevice*& device);

private:
    DmaArena m_arena;
    std::vector<std::unique_ptr<NetModel>> m_net_models;
    std::vector<std::unique_ptr<VirtioNet>> m_nets;
    std::vector<std::unique_ptr<BlockModel>> m_disk_models;
    std::vector<std::unique_ptr<VirtioBlk>> m_disks;
};

} // namespace gantry::virtio
