#include "block/file_disk.hpp"
#include "net/fault_nic.hpp"
#include "net/socket_nic.hpp"
#include "net/tap_nic.hpp"
#include "net/user_nic.hpp"

#include <gantry/hosted/os.hpp>
#include <gantry/hosted/platform.hpp>
#include <gantry/trace.hpp>
#include <gantry/virtio/model.hpp>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace gantry::hosted {

// --virtio: each device is a virtio driver over an in-process model over the
// native device, so the image's drivers run on every hosted platform.
struct VirtioDevices {
    static constexpr usize dma_bytes = 2 * 1024 * 1024;

    VirtioDevices()
        : memory(static_cast<u8*>(std::aligned_alloc(4096, dma_bytes)), &std::free),
          devices(MutableBytes(memory.get(), memory ? dma_bytes : 0))
    {
    }

    // Declared first, destroyed last: the drivers' rings live in it.
    std::unique_ptr<u8, decltype(&std::free)> memory;
    virtio::InProcessDevices devices;
    Nic* nic = nullptr;               // the driver in front of the native NIC
    std::vector<BlockDevice*> disks;  // likewise for each --disk
};

std::string HostedPlatform::create(const Config& config, HostedPlatform*& out)
{
    auto* platform = new HostedPlatform();
    std::string error = platform->open(config);
    if (!error.empty()) {
        delete platform;
        return error;
    }
    out = platform;
    return {};
}

std::string HostedPlatform::open(const Config& config)
{
    m_origin_ns = monotonic_ns();
    // MAP_NORESERVE: --mem is a cap, not a commitment; untouched pages cost nothing.
    void* memory = mmap(nullptr, config.memory_bytes, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED)
        return errno_text("cannot map the kernel's memory (try a smaller --mem)");
    m_region = MemoryRegion{static_cast<u8*>(memory), config.memory_bytes};

    m_epoll = epoll_create1(EPOLL_CLOEXEC);
    m_timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    // Signals arrive through the idle loop, never asynchronously inside the kernel.
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    m_signals = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (m_epoll < 0 || m_timer < 0 || m_signals < 0)
        return errno_text("cannot set up the event loop");
    for (int fd : {m_timer, m_signals}) {
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.fd = fd;
        if (epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &event) != 0)
            return errno_text("cannot set up the event loop");
    }

    if (auto error = open_nic(config); !error.empty())
        return error;
    for (const std::string& value : config.disks) {
        FileDiskConfig disk_config;
        std::string error;
        if (!parse_disk_option(value, disk_config, error))
            return error;
        auto disk = std::make_unique<FileDisk>();
        if (error = disk->open(disk_config); !error.empty())
            return error;
        m_disks.push_back(std::move(disk));
    }
    if (config.virtio) {
        if (auto error = open_virtio(); !error.empty())
            return error;
    }

    if (!config.trace_path.empty()) {
        m_trace_file = std::fopen(config.trace_path.c_str(), "wb");
        if (!m_trace_file)
            return errno_text(("cannot open trace file '" + config.trace_path + "'").c_str());
        u8 header[trace_file_header_bytes];
        Tracer::encode_file_header(header);
        trace_sink_write(Bytes(header, sizeof(header)));
    }
    return {};
}

std::string HostedPlatform::open_nic(const Config& config)
{
    PcapWriter* pcap = nullptr;
    if (config.net_kind == "tap") {
        m_tap = std::make_unique<TapNic>();
        if (auto error = m_tap->open(config.tap_ifname, config.mac, config.tap_offload);
            !error.empty())
            return error;
        pcap = &m_tap->pcap();
        // Frames wake the idle loop; the kernel reads them in its next poll.
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.fd = m_tap->fd();
        if (epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_tap->fd(), &event) != 0)
            return errno_text("cannot watch the tap device");
    } else if (config.net_kind == "socket") {
        SocketNicConfig socket_config;
        if (auto error = parse_socket_netdev(config.socket_parameters, socket_config);
            !error.empty())
            return error;
        m_socket = std::make_unique<SocketNic>();
        // The NIC adds its own descriptors to the idle loop: a stream's
        // connection comes and goes while the kernel runs.
        if (auto error = m_socket->open(socket_config, config.mac, m_epoll); !error.empty())
            return error;
        pcap = &m_socket->pcap();
    } else if (config.net_kind == "user") {
        std::vector<HostForward> forwards;
        for (const std::string& text : config.hostfwd) {
            forwards.emplace_back();
            if (auto error = parse_hostfwd(text, forwards.back()); !error.empty())
                return error;
        }
        m_user = std::make_unique<UserNic>();
        if (auto error = m_user->open(config.mac, config.guest_ip, forwards); !error.empty())
            return error;
        pcap = &m_user->pcap();
    }
    if (!config.net_faults.empty()) {
        NetFaults faults;
        if (auto error = parse_net_faults(config.net_faults, faults); !error.empty())
            return error;
        Nic* device = nic(0);
        if (!device)
            return "--net-faults needs a NIC (--net ...)";
        auto clock = [](void* self) { return static_cast<HostedPlatform*>(self)->now(); };
        m_faults = std::make_unique<FaultNic>(*device, faults, clock, this);
    }
    // The capture is taken at the device: what crossed the wire, after faults
    // on the way out and before them on the way in.
    if (pcap && !config.pcap_path.empty())
        return pcap->open(config.pcap_path);
    return {};
}

std::string HostedPlatform::open_virtio()
{
    m_virtio = std::make_unique<VirtioDevices>();
    if (!m_virtio->memory)
        return "--virtio: cannot allocate the devices' DMA memory";
    VirtioDevices& v = *m_virtio;
    if ((v.nic = native_nic()))
        if (std::string error = v.devices.wrap(v.nic); !error.empty())
            return "--virtio: " + error;
    for (auto& disk : m_disks) {
        v.disks.push_back(disk.get());
        if (std::string error = v.devices.wrap(v.disks.back()); !error.empty())
            return "--virtio: " + error;
    }
    return {};
}

HostedPlatform::~HostedPlatform()
{
    m_virtio.reset();
    m_faults.reset();
    m_tap.reset();
    m_user.reset();
    m_socket.reset();
    if (m_trace_file)
        std::fclose(m_trace_file);
    for (int fd : {m_epoll, m_timer, m_signals})
        if (fd >= 0)
            close(fd);
    if (m_region.base)
        munmap(m_region.base, m_region.bytes);
}

TimeNs HostedPlatform::now()
{
    return static_cast<TimeNs>(monotonic_ns() - m_origin_ns);
}

void HostedPlatform::idle_until(TimeNs deadline)
{
    if (m_faults) {
        // Held frames: send the due ones and wake when the next one is due.
        m_faults->flush(now());
        TimeNs due = m_faults->next_due();
        deadline = due < deadline ? due : deadline;
    }
    // A deadline already due still polls the event sources once (timeout 0):
    // a kernel that is always busy must not starve its devices and signals.
    int timeout_ms = -1;
    if (deadline != deadline_none && deadline <= now()) {
        timeout_ms = 0;
    } else if (deadline != deadline_none) {
        itimerspec spec{};
        long long absolute = m_origin_ns + static_cast<long long>(deadline);
        spec.it_value.tv_sec = absolute / 1'000'000'000LL;
        spec.it_value.tv_nsec = absolute % 1'000'000'000LL;
        timerfd_settime(m_timer, TFD_TIMER_ABSTIME, &spec, nullptr);
    }
    if (m_user)
        return idle_with_slirp(timeout_ms);
    drain_events(timeout_ms);
}

void HostedPlatform::drain_events(int timeout_ms)
{
    epoll_event events[8];
    int ready = epoll_wait(m_epoll, events, 8, timeout_ms);
    for (int i = 0; i < ready; ++i) {
        int fd = events[i].data.fd;
        if (fd == m_timer) {
            u64 expirations = 0;
            (void)!read(m_timer, &expirations, sizeof(expirations));
        } else if (fd == m_signals) {
            signalfd_siginfo info{};
            while (read(m_signals, &info, sizeof(info)) == sizeof(info))
                ++m_pending_signals;
        }
    }
}

// User networking: libslirp wants poll(2) over its own sockets, so the epoll
// set (deadline timer, signals) joins them as one more descriptor. Frames
// slirp queued for the kernel make the wait return at once.
void HostedPlatform::idle_with_slirp(int timeout_ms)
{
    std::vector<pollfd> fds;
    fds.push_back(pollfd{m_epoll, POLLIN, 0});
    if (m_user->has_rx())
        timeout_ms = 0;
    m_user->fill(fds, timeout_ms);
    int ready = poll(fds.data(), fds.size(), timeout_ms);
    if (ready > 0 && (fds[0].revents & POLLIN))
        drain_events(0);
    m_user->dispatch(fds, ready < 0 && errno != EINTR);
}

BlockDevice* HostedPlatform::block_device(usize index)
{
    if (m_virtio)
        return index < m_virtio->disks.size() ? m_virtio->disks[index] : nullptr;
    return index < m_disks.size() ? m_disks[index].get() : nullptr;
}

Nic* HostedPlatform::nic(usize index)
{
    if (index != 0)
        return nullptr;
    if (m_virtio && m_virtio->nic)
        return m_virtio->nic;
    return native_nic();
}

Nic* HostedPlatform::native_nic()
{
    if (m_faults)
        return m_faults.get();
    if (m_tap)
        return m_tap.get();
    if (m_socket)
        return m_socket.get();
    return m_user.get();
}

bool HostedPlatform::finish_pcap()
{
    if (m_tap)
        return m_tap->pcap().close();
    if (m_user)
        return m_user->pcap().close();
    if (m_socket)
        return m_socket->pcap().close();
    return true;
}

std::string HostedPlatform::net_faults_summary() const
{
    if (!m_faults)
        return {};
    const FaultNic::Stats& stats = m_faults->stats();
    return "net-faults: " + std::to_string(stats.lost) + " lost, " +
           std::to_string(stats.duplicated) + " duplicated, " + std::to_string(stats.reordered) +
           " reordered, " + std::to_string(stats.corrupted) + " corrupted, " +
           std::to_string(stats.overflow) + " dropped for a full delay queue";
}

bool HostedPlatform::finish_trace()
{
    if (!m_trace_file)
        return true;
    bool ok = std::fclose(m_trace_file) == 0 && !m_trace_write_failed;
    m_trace_file = nullptr;
    return ok;
}

int HostedPlatform::take_signals()
{
    int count = m_pending_signals;
    m_pending_signals = 0;
    return count;
}

void HostedPlatform::console_write(std::string_view text)
{
    while (!text.empty()) {
        ssize_t written = write(STDOUT_FILENO, text.data(), text.size());
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return; // stdout closed: the kernel keeps running without a console
        text.remove_prefix(static_cast<usize>(written));
    }
}

void HostedPlatform::fill_entropy(MutableBytes out)
{
    usize filled = 0;
    while (filled < out.size()) {
        ssize_t got = getrandom(out.data() + filled, out.size() - filled, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        filled += static_cast<usize>(got);
    }
}

void HostedPlatform::trace_sink_write(Bytes bytes)
{
    if (!m_trace_file || m_trace_write_failed)
        return;
    if (std::fwrite(bytes.data(), 1, bytes.size(), m_trace_file) != bytes.size())
        m_trace_write_failed = true;
}

} // namespace gantry::hosted
