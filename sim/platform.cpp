#include "node.hpp"

#include <gantry/assert.hpp>
#include <gantry/sim/trace_writer.hpp>
#include <gantry/virtio/model.hpp>

#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <stdexcept>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

namespace gantry::sim {

SimPlatform::~SimPlatform() = default;

usize SimPlatform::virtio_dma_bytes(usize nics, usize disks)
{
    // Two rings of 128 frame buffers per NIC; a ring and its headers per disk;
    // the driver objects themselves live on the host heap.
    constexpr usize per_nic = 512 * 1024;
    constexpr usize per_disk = 16 * 1024;
    return nics * per_nic + disks * per_disk;
}

std::string SimPlatform::use_virtio()
{
    // Carved from the top of the node's RAM, as the image carves its own.
    const usize bytes = virtio_dma_bytes(m_nics.size(), m_disks.size());
    if (m_region.bytes < 2 * bytes)
        return "virtio: the node's memory is too small for its devices' rings and buffers";
    m_region.bytes -= bytes;
    m_virtio = std::make_unique<virtio::InProcessDevices>(
        MutableBytes(m_region.base + m_region.bytes, bytes));
    for (Nic*& nic : m_nics)
        if (std::string error = m_virtio->wrap(nic); !error.empty())
            return error;
    for (BlockDevice*& disk : m_disks)
        if (std::string error = m_virtio->wrap(disk); !error.empty())
            return error;
    return {};
}


namespace {

constexpr i64 ppm_per_unit = 1'000'000;

} // namespace

TimeNs drifted_time(TimeNs virtual_ns, i64 drift_ppm)
{
    GANTRY_ASSERT(drift_ppm > -ppm_per_unit);
    // Floor division keeps the result monotonic in virtual_ns for any drift.
    __int128 scaled = static_cast<__int128>(virtual_ns) * (ppm_per_unit + drift_ppm);
    return static_cast<TimeNs>(scaled / ppm_per_unit);
}

TimeNs virtual_time_for(TimeNs local_ns, i64 drift_ppm)
{
    if (drift_ppm == 0)
        return local_ns;
    // Start from the rounded-up inverse, then correct the last ns either way:
    // the result is the smallest t with drifted_time(t) >= local_ns.
    __int128 guess = (static_cast<__int128>(local_ns) * ppm_per_unit +
                      (ppm_per_unit + drift_ppm) - 1) /
                     (ppm_per_unit + drift_ppm);
    auto t = static_cast<TimeNs>(guess);
    while (t > 0 && drifted_time(t - 1, drift_ppm) >= local_ns)
        --t;
    while (drifted_time(t, drift_ppm) < local_ns)
        ++t;
    return t;
}

TimeNs NodeClock::local_time(TimeNs virtual_ns) const
{
    GANTRY_ASSERT(virtual_ns >= m_base_virtual);
    return m_base_local + drifted_time(virtual_ns - m_base_virtual, m_drift_ppm);
}

TimeNs NodeClock::virtual_time_for(TimeNs local_ns) const
{
    if (local_ns <= m_base_local)
        return m_base_virtual;
    return m_base_virtual + sim::virtual_time_for(local_ns - m_base_local, m_drift_ppm);
}

void NodeClock::set_drift(TimeNs virtual_ns, i64 drift_ppm)
{
    GANTRY_ASSERT(drift_ppm > -ppm_per_unit);
    m_base_local = local_time(virtual_ns);
    m_base_virtual = virtual_ns;
    m_drift_ppm = drift_ppm;
}

namespace {

// A node's arena holds fiber stacks. When a crashed node's arena is dropped
// without unwinding them, AddressSanitizer would otherwise keep their redzones
// poisoned for whatever is mapped at that address next.
void forget_poisoning(void* base, usize bytes)
{
#if defined(__SANITIZE_ADDRESS__)
    __asan_unpoison_memory_region(base, bytes);
#else
    (void)base, (void)bytes;
#endif
}

} // namespace

Arena::Arena(usize bytes) : m_bytes(bytes)
{
    // MAP_NORESERVE: the size is a cap; only pages the kernel touches cost memory.
    void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED)
        throw std::runtime_error(std::string("cannot map a node's arena: ") +
                                 std::strerror(errno));
    m_base = static_cast<u8*>(memory);
    forget_poisoning(m_base, m_bytes);
}

Arena::~Arena()
{
    forget_poisoning(m_base, m_bytes);
    munmap(m_base, m_bytes);
}

Node::Node(NodeId node_id, NodeConfig node_config, SimAppFactory app_factory, u64 seed)
    : id(node_id), config(std::move(node_config)), factory(std::move(app_factory)),
      entropy(seed, node_id, Stream::entropy), faults(config.faults),
      boot_crash_phase(config.boot_crash_phase), fault_rng(seed, node_id, Stream::faults),
      clock(config.clock_drift_ppm)
{
    for (const std::string& arg : config.args)
        arg_views.emplace_back(arg);
    if (!config.console_path.empty()) {
        console_file = std::fopen(config.console_path.c_str(), "ab");
        if (!console_file)
            throw std::invalid_argument("cannot open console file '" + config.console_path +
                                        "': " + std::strerror(errno));
    }
}

Node::~Node()
{
    if (console_file)
        std::fclose(console_file);
}

void Node::console_append(TimeNs virtual_now, std::string_view text)
{
    usize before = console.size();
    while (!text.empty()) {
        if (console_line_start) {
            char prefix[40];
            int length = std::snprintf(prefix, sizeof(prefix), "[%5" PRIu64 ".%09" PRIu64 "] ",
                                       virtual_now / ns_per_s, virtual_now % ns_per_s);
            console.append(prefix, static_cast<usize>(length));
            console_line_start = false;
        }
        usize newline = text.find('\n');
        usize take = newline == std::string_view::npos ? text.size() : newline + 1;
        console.append(text.substr(0, take));
        console_line_start = newline != std::string_view::npos;
        text.remove_prefix(take);
    }
    if (console_file)
        std::fwrite(console.data() + before, 1, console.size() - before, console_file);
    // Bounded: keep the most recent half when the log outgrows its cap.
    if (console.size() > config.console_bytes_max)
        console.erase(0, console.size() - config.console_bytes_max / 2);
}

SimPlatform::SimPlatform(World& world, Node& node, MemoryRegion region)
    : m_world(world), m_node(node), m_region(region)
{
}

TimeNs SimPlatform::now()
{
    return m_node.clock.local_time(m_world.now());
}

void SimPlatform::idle_until(TimeNs)
{
    GANTRY_PANIC("idle_until called under the simulator (the world drives Kernel::poll)");
}

void SimPlatform::console_write(std::string_view text)
{
    m_node.console_append(m_world.now(), text);
}

bool AllocFailer::should_fail(usize)
{
    if (m_node.faults.alloc_fail_ppm == 0 ||
        m_node.fault_rng.below(1'000'000) >= m_node.faults.alloc_fail_ppm)
        return false;
    ++m_node.fault_counters.alloc_failures_injected;
    return true;
}

void SimPlatform::boot_phase_entered(std::string_view name)
{
    if (!m_node.booting || m_node.boot_crash_phase.empty() || m_node.boot_crash_phase != name)
        return;
    m_node.boot_crash_phase.clear(); // once: the next restart boots normally
    std::string note = "gantry sim: crash entering boot phase '" + std::string(name) + "'\n";
    m_node.console_append(m_world.now(), note);
    m_world.crash_booting_node(name);
}

void SimPlatform::fill_entropy(MutableBytes out)
{
    m_node.entropy.fill(out);
}

bool SimPlatform::trace_sink_enabled()
{
    return m_world.trace_writer() != nullptr;
}

void SimPlatform::trace_sink_write(Bytes bytes)
{
    if (TraceWriter* writer = m_world.trace_writer())
        writer->write(bytes);
}

} // namespace gantry::sim
