// `--record FILE`: a Platform that forwards every call to the hosted platform
// and writes what the kernel received (clock readings, entropy, frames, or
// their absence) and the frames it sent (as hashes) to a recording
// (recording.hpp). The kernel runs on this decorator instead of the hosted
// platform; nothing else changes, so a recorded run behaves as an unrecorded one.
#pragma once

#include "recording.hpp"

#include <gantry/nic.hpp>
#include <gantry/platform.hpp>

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
    // Block devices are not recorded yet: runs with --disk cannot be recorded.
    BlockDevice* block_device(usize index) override { return m_inner.block_device(index); }

    // The NICs the recording's header lists.
    std::vector<NicInfo> nic_infos();

private:
    Platform& m_inner;
    Writer& m_writer;
    std::vector<std::unique_ptr<RecordingNic>> m_nics;
};

} // namespace gantry::recording
