#include "test_platform.hpp"

#include <cstdlib>
#include <stdexcept>

namespace gantry::testing {

TestPlatform::TestPlatform(usize memory_bytes, u64 seed) : m_rng(seed | 1)
{
    m_memory = static_cast<u8*>(std::aligned_alloc(page_size, memory_bytes));
    if (!m_memory)
        throw std::bad_alloc();
    m_region = MemoryRegion{m_memory, memory_bytes};
}

TestPlatform::~TestPlatform()
{
    std::free(m_memory);
}

void TestPlatform::idle_until(TimeNs deadline)
{
    ++m_idle_calls;
    if (deadline != deadline_none && deadline > m_now)
        m_now = deadline;
    else if (deadline != deadline_none)
        m_now += ns_per_us; // a kernel that stays busy still lets (virtual) time pass
}

void TestPlatform::fill_entropy(MutableBytes out)
{
    for (u8& byte : out) {
        // xorshift64: deterministic per seed, which is all a test needs.
        m_rng ^= m_rng << 13;
        m_rng ^= m_rng >> 7;
        m_rng ^= m_rng << 17;
        byte = static_cast<u8>(m_rng);
    }
}

void TestPlatform::trace_sink_write(Bytes bytes)
{
    m_trace.insert(m_trace.end(), bytes.begin(), bytes.end());
}

TestKernel::TestKernel(KernelConfig config, usize memory_bytes,
                       std::vector<BlockDevice*> block_devices)
    : platform(memory_bytes)
{
    for (BlockDevice* device : block_devices)
        platform.add_block_device(*device);
    if (config.trace)
        platform.enable_trace_sink();
    kernel = std::make_unique<Kernel>(platform, config);
    if (!kernel->boot().ok())
        throw std::runtime_error("test kernel failed to boot");
}

usize TestKernel::run_until_idle(TimeNs time_limit)
{
    usize polls = 0;
    while (!kernel->exited()) {
        TimeNs deadline = kernel->poll();
        ++polls;
        if (kernel->exited() || deadline == deadline_none || deadline > time_limit)
            break;
        platform.idle_until(deadline);
    }
    return polls;
}

} // namespace gantry::testing
