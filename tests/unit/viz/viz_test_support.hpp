// Traces for the visualiser tests, written by the real Tracer: a whole kernel
// on the test platform, or hand-placed records from a tracer with a manual clock.
#pragma once

#include "test_platform.hpp"

#include <gantry/kernel.hpp>
#include <gantry/viz/layout.hpp>
#include <gantry/viz/model.hpp>

#include <algorithm>
#include <iterator>
#include <vector>

namespace gantry::viz_test {

inline std::vector<u8> with_header(const std::vector<u8>& records)
{
    u8 header[trace_file_header_bytes];
    Tracer::encode_file_header(header);
    // Sized once and filled, not grown by insert(): g++ 12 warns falsely
    // (-Warray-bounds, in stl_algobase's memmove) on the reallocating insert
    // after a 32-byte vector, inlined into kernel_trace().
    std::vector<u8> bytes(sizeof(header) + records.size());
    std::copy(std::begin(header), std::end(header), bytes.begin());
    std::copy(records.begin(), records.end(), bytes.begin() + sizeof(header));
    return bytes;
}

// Layout options for one view (and a network filter). Built field by field, not
// as {.view = ...}: g++ 12's -Wmissing-field-initializers flags a designated
// initialiser that leaves out later members, even ones with defaults.
inline viz::LayoutOptions view_options(viz::View view, const viz::NetFilter& filter = {})
{
    viz::LayoutOptions options;
    options.view = view;
    options.net_filter = filter;
    return options;
}

// A booted kernel running two fibers that sleep and log, traced into memory.
inline std::vector<u8> kernel_trace()
{
    KernelConfig config;
    config.trace = true;
    config.app_name = "viz-test";
    config.platform_name = "test";
    gantry::testing::TestKernel tk(config);
    Scheduler& sched = tk.kernel->sched();
    for (int i = 1; i <= 2; ++i)
        sched.detach(sched.spawn(i == 1 ? "alpha" : "beta", [&, i] {
            for (int round = 0; round < 3; ++round) {
                sched.sleep_for(static_cast<TimeNs>(i) * 4 * ns_per_ms);
                tk.kernel->log().info("round {} of fiber {}", round, i);
            }
        }));
    tk.run_until_idle(40 * ns_per_ms);
    tk.kernel->trace().flush();
    return with_header(tk.platform.trace_bytes());
}

// A tracer whose clock the test sets, writing into a byte vector.
class ManualTrace final : public Platform {
public:
    explicit ManualTrace(u32 node) : m_buffer(4096)
    {
        tracer.attach(*this, node, m_buffer);
        tracer.set_enabled(true);
    }
    TimeNs now() override { return time; }
    void idle_until(TimeNs) override {}
    void console_write(std::string_view) override {}
    void fill_entropy(MutableBytes out) override
    {
        for (u8& byte : out)
            byte = 0;
    }
    std::span<const MemoryRegion> memory_regions() override { return {}; }
    bool trace_sink_enabled() override { return true; }
    void trace_sink_write(Bytes bytes) override
    {
        out.insert(out.end(), bytes.begin(), bytes.end());
    }

    std::vector<u8> finish()
    {
        tracer.flush();
        return out;
    }

    TimeNs time = 0;
    Tracer tracer;
    std::vector<u8> out;

private:
    std::vector<u8> m_buffer;
};

} // namespace gantry::viz_test
