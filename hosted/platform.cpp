#include "net/tap_nic.hpp"

#include <gantry/hosted/platform.hpp>
#include <gantry/trace.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace gantry::hosted {

namespace {

long long monotonic_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<long long>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec;
}

std::string errno_text(const char* what)
{
    return std::string(what) + ": " + std::strerror(errno);
}

} // namespace

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

    if (!config.tap_ifname.empty()) {
        m_tap = std::make_unique<TapNic>();
        if (auto error = m_tap->open(config.tap_ifname, config.mac); !error.empty())
            return error;
        if (!config.pcap_path.empty())
            if (auto error = m_tap->pcap().open(config.pcap_path); !error.empty())
                return error;
        // Frames wake the idle loop; the kernel reads them in its next poll.
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.fd = m_tap->fd();
        if (epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_tap->fd(), &event) != 0)
            return errno_text("cannot watch the tap device");
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

HostedPlatform::~HostedPlatform()
{
    m_tap.reset();
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
    if (deadline != deadline_none) {
        if (deadline <= now())
            return;
        itimerspec spec{};
        long long absolute = m_origin_ns + static_cast<long long>(deadline);
        spec.it_value.tv_sec = absolute / 1'000'000'000LL;
        spec.it_value.tv_nsec = absolute % 1'000'000'000LL;
        timerfd_settime(m_timer, TFD_TIMER_ABSTIME, &spec, nullptr);
    }
    epoll_event events[8];
    int ready = epoll_wait(m_epoll, events, 8, -1);
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

Nic* HostedPlatform::nic(usize index)
{
    return index == 0 ? m_tap.get() : nullptr;
}

bool HostedPlatform::finish_pcap()
{
    return !m_tap || m_tap->pcap().close();
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
