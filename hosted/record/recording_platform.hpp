// `--record FILE`: a Platform that forwards every call to the hosted platform
// and writes what the kernel received (clock readings, entropy, frames, or
// their absence) and the frames it sent (as hashes) to a recording
// (recording.hpp). The kernel runs on this decorator instead of the hosted
// platform; nothing else changes, so a recorded run behaves as an unrecorded one.
#pragma once

#include "recording.hpp"

#include <gantry/block.hpp>
#include <gantry/nic.hpp>
#include <gantry/platform.hpp>

#include <map>
#include <memory>
#include <vector>

namespace gantry::recording {

class RecordingNic final : public Nic {
public:
    RecordingNic(Nic& inner, Writer& writer, u32 index)
        : m_inner(inner), m_writer(writer), m_index(index)
    {
    }
    net::MacAddress mac() const override { return m_inner.mac(); }
    usize mtu() const override { return m_inner.mtu(); }
    usize receive(MutableBytes out) override;
    bool transmit(Bytes frame) override;

private:
    Nic& m_inner;
    Writer& m_writer;
    u32 m_index;
};

// Requests are numbered in submission order, so a re-run can name the one a
// completion belongs to without pointers; a successful read records its data.
class RecordingBlockDevice final : public BlockDevice {
public:
    RecordingBlockDevice(BlockDevice& inner, Writer& writer, u32 index)
        : m_inner(inner), m_writer(writer), m_index(index)
    {
    }
    BlockInfo info() const override { return m_inner.info(); }
    bool submit(BlockRequest& request) override;
    BlockRequest* reap() override;

private:
    BlockDevice& m_inner;
    Writer& m_writer;
    u32 m_index;
    u64 m_next_request = 0;
    std::map<const BlockRequest*, u64> m_in_flight;
};

class RecordingPlatform final : public Platform {
public:
    // `inner` must outlive this; its NICs are wrapped once, here.
    RecordingPlatform(Platform& inner, Writer& writer);

    TimeNs now() override;
    void idle_until(TimeNs deadline) override { m_inner.idle_until(deadline); }
    void console_write(std::string_view text) override { m_inner.console_write(text); }
    void fill_entropy(MutableBytes out) override;
    std::span<const MemoryRegion> memory_regions() override { return m_inner.memory_regions(); }
    bool trace_sink_enabled() override { return m_inner.trace_sink_enabled(); }
    void trace_sink_write(Bytes bytes) override { m_inner.trace_sink_write(bytes); }
    void boot_phase_entered(std::string_view name) override { m_inner.boot_phase_entered(name); }
    Nic* nic(usize index) override;
    BlockDevice* block_device(usize index) override;

    // The NICs and disks the recording's header lists.
    std::vector<NicInfo> nic_infos();
    std::vector<DiskInfo> disk_infos();

private:
    Platform& m_inner;
    Writer& m_writer;
    std::vector<std::unique_ptr<RecordingNic>> m_nics;
    std::vector<std::unique_ptr<RecordingBlockDevice>> m_disks;
};

} // namespace gantry::recording
