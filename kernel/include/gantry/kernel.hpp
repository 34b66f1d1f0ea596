// The kernel instance. All kernel state lives here (no globals), so the
// simulator can run hundreds of kernels in one process.
//
// Life cycle: construct with a platform, boot(), start_app(), then call poll()
// whenever time passes or an event arrives; poll returns the next deadline.
// `run()` is that loop for platforms that can block (hosted, bare metal).
#pragma once

#include <gantry/log.hpp>
#include <gantry/mem.hpp>
#include <gantry/net/address.hpp>
#include <gantry/platform.hpp>
#include <gantry/result.hpp>
#include <gantry/sched.hpp>
#include <gantry/timer.hpp>
#include <gantry/trace.hpp>
#include <gantry/types.hpp>

namespace gantry {

class App;
class Disk;
namespace net {
class NetStack;
}

// How the network interface gets its address (DHCP arrives with the DHCP client).
enum class NetDhcp : u8 { off, on };

struct AppArgs {
    std::span<const std::string_view> values; // positional arguments for the app
};

struct KernelConfig {
    u32 node_id = 0;
    std::string_view app_name = "app";
    std::string_view platform_name = "unknown";
    bool trace = false;
    usize trace_buffer_bytes = Tracer::buffer_bytes_default;
    LogLevel log_level = LogLevel::info;
    u32 log_lines_per_s = Logger::lines_per_s_default; // 0: no limit (docs/limits.md)
    // Stamp log lines with the kernel's clock. Off where the platform stamps every
    // console line itself (the simulator, with virtual time).
    bool log_timestamps = true;
    // How often, at most, memory statistics are sampled into the trace while the
    // kernel runs (samples ride on polls that happen anyway).
    TimeNs mem_stats_interval_ns = 10 * ns_per_ms;
    // Hand the trace to the platform's sink whenever the kernel goes idle, not
    // only when the buffer fills: for sinks that must not lag (the image's
    // serial port, where a VM may be killed at any moment).
    bool trace_flush_when_idle = false;
    // Network, used when the platform has a NIC: address/prefix and default gateway
    // (unspecified = none).
    net::Ipv4Address ip;
    u8 prefix = 24;
    net::Ipv4Address gateway;
    net::Ipv4Address dns; // DNS server (a DHCP lease's servers replace it)
    NetDhcp dhcp = NetDhcp::off;
    // Bytes at the start of each disk read ahead when the kernel attaches it
    // (Disk::start_read_ahead), 0 for none. Worth it where a read is a slow round
    // trip through a VMM's I/O thread and the boot has other work to overlap it
    // with (the x86 image); a hosted file answers at once.
    usize disk_read_ahead_bytes = 0;
};

enum class BootError : u8 { no_memory_region, region_unusable, out_of_memory, net_config, disk };
std::string_view describe(BootError error);

struct BootPhase {
    static constexpr usize name_bytes_max = 23;
    char name[name_bytes_max + 1];
    TimeNs begin;
    TimeNs end;
    std::string_view name_view() const;
};

class Kernel {
public:
    static constexpr usize boot_phases_max = 16;
    static constexpr usize disks_max = 4;

    Kernel(Platform& platform, const KernelConfig& config);
    Kernel(const Kernel&) = delete;
    ~Kernel();

    Status<BootError> boot();
    Status<SpawnError> start_app(App& app, AppArgs args);

    // Runs everything that is due and returns the next deadline (deadline_none
    // if the kernel waits only for external events, or has exited).
    TimeNs poll();

    // Ends the kernel: no fiber runs after the current poll.
    void exit(int code);
    bool exited() const { return m_exited; }
    int exit_code() const { return m_exit_code; }

    // Asks the app to stop (Ctrl-C when hosted). Apps wait on shutdown_event().
    void request_shutdown();
    bool shutdown_requested() const { return m_shutdown_requested; }
    Event& shutdown_event() { return m_shutdown_event; }

    // Boot phases, for the console and the trace. phase_begin tells the platform
    // (Platform::boot_phase_entered) first; record_phase is for phases that ran
    // before the kernel did (platform, machine), which the platform already knows.
    void phase_begin(std::string_view name);
    void phase_end();
    void record_phase(std::string_view name, TimeNs begin, TimeNs end);
    std::span<const BootPhase> boot_phases() const { return {m_phases, m_phase_count}; }

    template<typename... Args>
    void print(std::string_view format, const Args&... args)
    {
        InlineFormatBuffer<Logger::line_bytes_max> text;
        format_to(text, format, args...);
        m_platform.console_write(text.view());
    }

    void random_bytes(MutableBytes out) { m_platform.fill_entropy(out); }
    u64 random_u64();
    void trace_mem_stats();
    void sample_mem_stats();

    TimeNs now() { return m_platform.now(); }
    u32 node_id() const { return m_config.node_id; }
    const KernelConfig& config() const { return m_config; }
    Platform& platform() { return m_platform; }
    Scheduler& sched() { return m_scheduler; }
    TimerQueue& timers() { return m_timers; }
    PageAllocator& pages() { return m_pages; }
    Heap& heap() { return m_heap; }
    Tracer& trace() { return m_tracer; }
    // Injected allocation failures for the heap and the page allocator
    // (nullptr: none). Set by the simulator only, once the kernel has booted.
    void set_alloc_fault_injector(AllocFaultInjector* injector)
    {
        m_pages.set_fault_injector(injector);
        m_heap.set_fault_injector(injector);
    }
    Logger& log() { return m_logger; }
    // The network stack; nullptr when the platform has no NIC.
    net::NetStack* net() { return m_net; }
    // The platform's block_device(index) behind a fiber-blocking front end;
    // nullptr when the platform has no such device.
    Disk* disk(usize index) { return index < m_disk_count ? m_disks[index] : nullptr; }

private:
    Status<BootError> attach_disks();

    Platform& m_platform;
    KernelConfig m_config;
    PageAllocator m_pages;
    Heap m_heap;
    TimerQueue m_timers;
    Tracer m_tracer;
    Logger m_logger;
    Scheduler m_scheduler;
    Event m_shutdown_event;
    TimeNs m_next_mem_sample = 0;
    net::NetStack* m_net = nullptr;
    Disk* m_disks[disks_max] = {};
    usize m_disk_count = 0;
    BootPhase m_phases[boot_phases_max];
    usize m_phase_count = 0;
    bool m_phase_open = false;
    bool m_booted = false;
    bool m_exited = false;
    bool m_shutdown_requested = false;
    int m_exit_code = 0;
    u8* m_trace_buffer = nullptr;
    u32 m_trace_buffer_order = 0;
};

// poll() and Platform::idle_until() until the kernel exits; returns its exit code.
int run(Kernel& kernel);

} // namespace gantry
