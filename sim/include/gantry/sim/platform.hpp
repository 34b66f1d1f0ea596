// The simulator's platform: one per node incarnation. Time is the world's
// virtual clock seen through the node's drift; the console goes to the node's
// log; entropy comes from the node's seeded stream; memory is the node's arena;
// the trace goes to the world's single trace writer.
#pragma once

#include <gantry/platform.hpp>

#include <memory>
#include <string>
#include <vector>

namespace gantry::virtio {
class InProcessDevices;
}

namespace gantry::sim {

class Node;
class World;

// The node's clock: virtual time scaled by (1 + drift_ppm / 1e6), exactly and
// monotonically (integer arithmetic, so every build computes the same ticks).
TimeNs drifted_time(TimeNs virtual_ns, i64 drift_ppm);
// The earliest virtual time at which the node's clock reads `local_ns` or later.
TimeNs virtual_time_for(TimeNs local_ns, i64 drift_ppm);

// A node's clock whose drift can change at any virtual time: piecewise linear,
// one segment per drift setting. A change starts a new segment at the local
// time the old one had reached, so the clock stays continuous and monotonic.
class NodeClock {
public:
    explicit NodeClock(i64 drift_ppm = 0) : m_drift_ppm(drift_ppm) {}
    // The local time at virtual time `virtual_ns` (>= the last change).
    TimeNs local_time(TimeNs virtual_ns) const;
    // The earliest virtual time (>= the last change) at which the clock reads
    // `local_ns` or later.
    TimeNs virtual_time_for(TimeNs local_ns) const;
    // From virtual time `virtual_ns` on (>= the last change), the clock runs at
    // `drift_ppm` (> -1'000'000).
    void set_drift(TimeNs virtual_ns, i64 drift_ppm);
    i64 drift_ppm() const { return m_drift_ppm; }

private:
    TimeNs m_base_virtual = 0; // where the current segment starts
    TimeNs m_base_local = 0;   // the local time there
    i64 m_drift_ppm = 0;
};

class SimPlatform final : public Platform {
public:
    SimPlatform(World& world, Node& node, MemoryRegion region);
    ~SimPlatform() override;

    TimeNs now() override;
    // Never called under the simulator (the world drives Kernel::poll): panics.
    void idle_until(TimeNs deadline) override;
    void console_write(std::string_view text) override;
    void fill_entropy(MutableBytes out) override;
    std::span<const MemoryRegion> memory_regions() override { return {&m_region, 1}; }
    bool trace_sink_enabled() override;
    void trace_sink_write(Bytes bytes) override;
    // Crashes the node here if a crash was armed for this phase (once).
    void boot_phase_entered(std::string_view name) override;

    // The NIC seam: the node's SimNics, attached by the world at boot. Hidden
    // while the kernel boots when the app owns them (NicOwner::app), so the
    // kernel creates no stack that would take the app's frames.
    Nic* nic(usize index) override
    {
        return !m_nics_hidden && index < m_nics.size() ? m_nics[index] : nullptr;
    }
    void attach_nic(Nic* nic) { m_nics.push_back(nic); }
    void set_nics_hidden(bool hidden) { m_nics_hidden = hidden; }

    // The block device seam: the node's SimDisks, attached by the world at boot.
    BlockDevice* block_device(usize index) override
    {
        return index < m_disks.size() ? m_disks[index] : nullptr;
    }
    void attach_disk(BlockDevice* disk) { m_disks.push_back(disk); }

    // NodeConfig::virtio: puts a virtio driver over an in-process device model
    // in front of every attached NIC and disk, with rings and buffers in `dma`
    // (carved from the top of the node's RAM). Call before the kernel exists.
    // Returns "" or why a driver failed.
    std::string use_virtio();
    static usize virtio_dma_bytes(usize nics, usize disks);

private:
    World& m_world;
    Node& m_node;
    MemoryRegion m_region;
    std::vector<Nic*> m_nics;
    bool m_nics_hidden = false;
    std::vector<BlockDevice*> m_disks;
    std::unique_ptr<virtio::InProcessDevices> m_virtio;
};

} // namespace gantry::sim
