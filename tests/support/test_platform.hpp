// A platform for unit tests: a clock the test moves by hand, memory from the
// C++ heap, seeded entropy, and console and trace output kept in memory.
// idle_until() jumps the clock to the deadline, the way the simulator does.
#pragma once

#include <gantry/kernel.hpp>
#include <gantry/platform.hpp>

#include <memory>
#include <string>
#include <vector>

namespace gantry::testing {

class TestPlatform final : public Platform {
public:
    explicit TestPlatform(usize memory_bytes = 16 * 1024 * 1024, u64 seed = 1);
    ~TestPlatform() override;

    TimeNs now() override { return m_now; }
    void idle_until(TimeNs deadline) override;
    void console_write(std::string_view text) override { m_console.append(text); }
    void fill_entropy(MutableBytes out) override;
    std::span<const MemoryRegion> memory_regions() override { return {&m_region, 1}; }
    bool trace_sink_enabled() override { return m_trace_sink; }
    void trace_sink_write(Bytes bytes) override;

    BlockDevice* block_device(usize index) override
    {
        return index < m_block_devices.size() ? m_block_devices[index] : nullptr;
    }
    void add_block_device(BlockDevice& device) { m_block_devices.push_back(&device); }

    void set_now(TimeNs now) { m_now = now; }
    void advance(TimeNs duration) { m_now += duration; }
    void enable_trace_sink() { m_trace_sink = true; }

    const std::string& console() const { return m_console; }
    const std::vector<u8>& trace_bytes() const { return m_trace; }
    u64 idle_calls() const { return m_idle_calls; }

private:
    TimeNs m_now = 0;
    u64 m_rng;
    MemoryRegion m_region{};
    u8* m_memory = nullptr;
    std::string m_console;
    std::vector<u8> m_trace;
    bool m_trace_sink = false;
    u64 m_idle_calls = 0;
    std::vector<BlockDevice*> m_block_devices;
};

// A booted kernel on a TestPlatform, for tests that need the whole core.
struct TestKernel {
    explicit TestKernel(KernelConfig config = {}, usize memory_bytes = 16 * 1024 * 1024,
                        std::vector<BlockDevice*> block_devices = {});
    // Polls and jumps the clock to each deadline until the kernel has nothing left
    // to do or `time_limit` passes. Returns the number of polls.
    usize run_until_idle(TimeNs time_limit = 60 * ns_per_s);

    TestPlatform platform;
    std::unique_ptr<Kernel> kernel;
};

} // namespace gantry::testing
