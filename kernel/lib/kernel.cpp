#include <gantry/app.hpp>
#include <gantry/assert.hpp>
#include <gantry/block.hpp>
#include <gantry/kernel.hpp>
#include <gantry/net/stack/stack.hpp>
#include <gantry/nic.hpp>

namespace gantry {

std::string_view describe(BootError error)
{
    switch (error) {
    case BootError::no_memory_region:
        return "the platform provided no memory region";
    case BootError::region_unusable:
        return "a memory region is too small or too many regions were given";
    case BootError::out_of_memory:
        return "not enough memory to boot (raise --mem)";
    case BootError::net_config:
        return "the network configuration does not fit the NIC";
    case BootError::disk:
        return "a block device reports an unusable geometry";
    }
    return "unknown boot error";
}

std::string_view BootPhase::name_view() const
{
    usize length = 0;
    while (length < name_bytes_max && name[length] != '\0')
        ++length;
    return {name, length};
}

Kernel::Kernel(Platform& platform, const KernelConfig& config)
    : m_platform(platform), m_config(config), m_heap(m_pages), m_timers(m_heap),
      m_logger(platform, m_tracer), m_scheduler(platform, m_pages, m_heap, m_timers, m_tracer),
      m_shutdown_event(m_scheduler)
{
    m_logger.set_level(config.log_level);
    m_logger.set_rate_limit(config.log_lines_per_s);
    m_logger.set_timestamps(config.log_timestamps);
}

Kernel::~Kernel()
{
    m_scheduler.stop();
    if (m_net)
        net::NetStack::destroy(*this, m_net);
    // The platform discards requests still in flight with the kernel (their
    // waiters' stacks die with it); see BlockDevice.
    for (usize i = 0; i < m_disk_count; ++i)
        m_heap.destroy(m_disks[i]);
    // Blocks freed after this (fiber stacks) could not be flushed any more.
    m_pages.set_tracer(nullptr);
    m_tracer.flush();
    // Timers may live on the stacks of abandoned fibers: unlink them all while
    // those stacks still exist (the scheduler frees them after this body).
    m_timers.clear();
}

void Kernel::phase_begin(std::string_view name)
{
    GANTRY_ASSERT(!m_phase_open);
    GANTRY_ASSERT(m_phase_count < boot_phases_max);
    m_platform.boot_phase_entered(name);
    BootPhase& phase = m_phases[m_phase_count];
    usize copy = name.size() < BootPhase::name_bytes_max ? name.size() : BootPhase::name_bytes_max;
    for (usize i = 0; i < copy; ++i)
        phase.name[i] = name[i];
    phase.name[copy] = '\0';
    phase.begin = now();
    phase.end = phase.begin;
    m_phase_open = true;
    m_tracer.boot_phase_begin(phase.name_view());
}

void Kernel::phase_end()
{
    GANTRY_ASSERT(m_phase_open);
    BootPhase& phase = m_phases[m_phase_count++];
    phase.end = now();
    m_phase_open = false;
    m_tracer.boot_phase_end(phase.name_view());
}

void Kernel::record_phase(std::string_view name, TimeNs begin, TimeNs end)
{
    GANTRY_ASSERT(!m_phase_open);
    if (m_phase_count == boot_phases_max)
        return;
    BootPhase& phase = m_phases[m_phase_count++];
    usize copy = name.size() < BootPhase::name_bytes_max ? name.size() : BootPhase::name_bytes_max;
    for (usize i = 0; i < copy; ++i)
        phase.name[i] = name[i];
    phase.name[copy] = '\0';
    phase.begin = begin;
    phase.end = end;
}

Status<BootError> Kernel::boot()
{
    GANTRY_ASSERT(!m_booted);
    m_platform.boot_phase_entered("memory");
    TimeNs memory_begin = now();
    auto regions = m_platform.memory_regions();
    if (regions.empty())
        return fail(BootError::no_memory_region);
    for (const MemoryRegion& region : regions)
        if (!m_pages.add_region(region.base, region.bytes).ok())
            return fail(BootError::region_unusable);
    // Trace buffer first, so that everything after it is recorded.
    if (m_config.trace && m_config.trace_buffer_bytes > 0) {
        m_trace_buffer_order = PageAllocator::order_for_bytes(m_config.trace_buffer_bytes);
        m_trace_buffer = static_cast<u8*>(m_pages.alloc_pages(m_trace_buffer_order));
        if (!m_trace_buffer)
            return fail(BootError::out_of_memory);
        m_tracer.attach(m_platform, m_config.node_id,
                        MutableBytes(m_trace_buffer, page_size << m_trace_buffer_order));
        m_tracer.set_enabled(true);
        m_tracer.node_info(m_config.app_name, m_config.platform_name);
        m_pages.set_tracer(&m_tracer); // the page map from here on (the trace buffer first)
    }
    m_tracer.boot_phase_begin("memory");
    m_tracer.boot_phase_end("memory");
    record_phase("memory", memory_begin, now());
    // Disks before the network: a disk's read-ahead then runs while the network
    // stack starts.
    if (auto disks = attach_disks(); !disks.ok())
        return disks;

    if (Nic* nic = m_platform.nic(0)) {
        phase_begin("net");
        net::NetConfig net_config;
        net_config.address = net::Ipv4Cidr{m_config.ip, m_config.prefix};
        net_config.gateway = m_config.gateway;
        net_config.dns_server = m_config.dns;
        auto created = net::NetStack::create(*this, *nic, net_config);
        phase_end();
        if (!created.ok())
            return fail(created.error() == net::NetStack::CreateError::bad_config
                            ? BootError::net_config
                            : BootError::out_of_memory);
        m_net = created.value();
        if (m_config.dhcp == NetDhcp::on && !m_net->start_dhcp())
            return fail(BootError::out_of_memory);
    }
    m_booted = true;
    return {};
}

Status<BootError> Kernel::attach_disks()
{
    for (usize index = 0; index < disks_max; ++index) {
        BlockDevice* device = m_platform.block_device(index);
        if (!device)
            break;
        BlockInfo info = device->info();
        if (info.sector_bytes < 512 || (info.sector_bytes & (info.sector_bytes - 1)) != 0)
            return fail(BootError::disk);
        Disk* disk = m_heap.create<Disk>(*this, *device, static_cast<u32>(index));
        if (!disk)
            return fail(BootError::out_of_memory);
        m_disks[m_disk_count++] = disk;
        m_logger.info("disk {}: {} sectors of {} bytes{}", index, info.sector_count,
                      info.sector_bytes, info.read_only ? " (read-only)" : "");
        // Without memory or queue room for it the disk simply reads on demand.
        const usize read_ahead = m_config.disk_read_ahead_bytes;
        if (read_ahead > 0 && !disk->start_read_ahead(read_ahead))
            m_logger.debug("disk {}: no read-ahead (out of memory or a full queue)", index);
    }
    return {};
}

namespace {

struct AppStart {
    Kernel* kernel;
    App* app;
    AppArgs args;
};

} // namespace

Status<SpawnError> Kernel::start_app(App& app, AppArgs args)
{
    GANTRY_ASSERT(m_booted);
    phase_begin("app start");
    AppStart start{this, &app, args};
    Fiber* main = m_scheduler.spawn("main", [start] {
        int code = start.app->main(*start.kernel, start.args);
        start.kernel->exit(code);
    });
    phase_end();
    if (!main)
        return fail(SpawnError::out_of_memory);
    m_scheduler.detach(main);
    return {};
}

void Kernel::exit(int code)
{
    if (m_exited)
        return;
    m_exited = true;
    m_exit_code = code;
    m_scheduler.stop();
    trace_mem_stats();
    if (m_net)
        m_net->log_counters();
    m_tracer.kernel_exit(code);
    m_tracer.flush();
}

void Kernel::request_shutdown()
{
    m_shutdown_requested = true;
    m_shutdown_event.notify_all();
}

u64 Kernel::random_u64()
{
    u8 bytes[8];
    m_platform.fill_entropy(MutableBytes(bytes, sizeof(bytes)));
    u64 value = 0;
    for (u8 byte : bytes)
        value = (value << 8) | byte;
    return value;
}

// Memory is sampled when the kernel runs anyway, never by a wake-up of its own:
// tracing must not change when a kernel runs (the simulator's traced and
// untraced runs of one seed are the same run, and idle stays idle).
void Kernel::sample_mem_stats()
{
    if (!m_tracer.enabled())
        return;
    TimeNs time = now();
    if (time < m_next_mem_sample)
        return;
    trace_mem_stats();
    m_next_mem_sample = time + m_config.mem_stats_interval_ns;
}

void Kernel::trace_mem_stats()
{
    if (!m_tracer.enabled())
        return;
    PageStats pages = m_pages.stats();
    HeapStats heap = m_heap.stats();
    m_tracer.mem_stats(pages.pages_total, pages.pages_used, pages.fragmentation_permille,
                       heap.bytes_requested, heap.allocations, heap.frees);
    TraceHeapClasses classes;
    classes.slab_pages = static_cast<u32>(heap.slab_pages);
    classes.large_live = static_cast<u32>(heap.large_allocations_live);
    classes.large_pages = static_cast<u32>(heap.large_pages);
    classes.class_count = static_cast<u8>(heap.class_count);
    for (usize index = 0; index < heap.class_count; ++index) {
        classes.class_bytes[index] = static_cast<u16>(heap.class_bytes[index]);
        classes.objects_live[index] = static_cast<u32>(heap.class_in_use[index]);
    }
    m_tracer.heap_classes(classes);
}

TimeNs Kernel::poll()
{
    GANTRY_ASSERT(m_booted);
    sample_mem_stats();
    // Bounded: every pass either runs fibers or fires timers; a kernel that is
    // always busy still returns so the platform can deliver external events.
    constexpr usize passes_max = 64;
    // The network first: frames it takes in make fibers ready for the passes below.
    bool net_busy = false;
    if (m_net && !m_exited) {
        TimeNs at = now();
        net_busy = m_net->poll(at) <= at;
    }
    for (usize i = 0; i < m_disk_count && !m_exited; ++i)
        m_disks[i]->reap();
    for (usize pass = 0; pass < passes_max && !m_exited; ++pass) {
        usize fired = m_timers.fire_due(now());
        if (fired > 0)
            m_tracer.timer_fire(static_cast<u32>(fired));
        if (m_scheduler.runnable_fibers() == 0 && fired == 0)
            break;
        m_scheduler.run_ready();
    }
    if (m_exited)
        return deadline_none;
    if (m_scheduler.runnable_fibers() > 0 || net_busy)
        return now();
    TimeNs deadline = m_timers.next_deadline();
    if (m_net) {
        TimeNs net_deadline = m_net->next_deadline();
        deadline = net_deadline < deadline ? net_deadline : deadline;
    }
    m_tracer.idle(deadline);
    if (m_config.trace_flush_when_idle)
        m_tracer.flush();
    return deadline;
}

int run(Kernel& kernel)
{
    while (!kernel.exited()) {
        TimeNs deadline = kernel.poll();
        if (kernel.exited())
            break;
        kernel.platform().idle_until(deadline);
    }
    return kernel.exit_code();
}

} // namespace gantry
