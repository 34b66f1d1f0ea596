// The live replay targets: the app as a hosted Linux process (build/bin/APP)
// or as its image under QEMU (build/images/APP.elf, started with the same
// command-line builder as `gantry boot`). Either end of the cable is a UDP
// socket on the loopback in QEMU's `-netdev socket` framing (one Ethernet frame
// per datagram), so nothing needs root: the replay binds one port, the app (or
// QEMU) the other. Time is the wall clock; the app is killed and reaped when
// the run ends, fails or runs out of time (ChildProcess).
#include "target.hpp"

#include "boot/child.hpp"
#include "boot/qemu.hpp"
#include "command.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <chrono>
#include <climits>
#include <cstring>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace gantry::harness::replay {

namespace {

// The MAC the app gets on every live target; the simulator's first node has
// the same one, so reports read alike.
constexpr const char* node_mac_text = "02:00:00:00:00:00";
constexpr net::MacAddress node_mac_value{{0x02, 0x00, 0x00, 0x00, 0x00, 0x00}};
constexpr usize frame_bytes_max = 9100;
// Datagrams read per wake-up before the other checks run again.
constexpr int receive_batch_max = 64;
constexpr usize failure_lines_max = 6;
// How long an app gets to exit after SIGTERM before it is killed: time to
// flush a capture and a trace when it writes them, a moment otherwise (an app
// that ignores SIGTERM, like tests/apps/echo-altered, costs no more).
constexpr int stop_grace_flush_ms = 2000;
constexpr int stop_grace_ms = 100;

// Ctrl-C or SIGTERM while a live app runs: the app sits in its own process
// group (so the terminal's Ctrl-C does not reach it), and only this process
// can stop it, so the signal ends the run rather than the process.
volatile std::sig_atomic_t g_interrupted = 0;

void on_interrupt(int) { g_interrupted = 1; }

// Installs on_interrupt for SIGINT and SIGTERM and restores what was there.
class InterruptGuard {
public:
    InterruptGuard()
    {
        struct sigaction action {};
        action.sa_handler = on_interrupt;
        ::sigaction(SIGINT, &action, &m_old_int);
        ::sigaction(SIGTERM, &action, &m_old_term);
    }
    ~InterruptGuard()
    {
        ::sigaction(SIGINT, &m_old_int, nullptr);
        ::sigaction(SIGTERM, &m_old_term, nullptr);
    }
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;

private:
    struct sigaction m_old_int {};
    struct sigaction m_old_term {};
};

// A UDP socket on 127.0.0.1, closed by its destructor.
class LoopbackSocket {
public:
    LoopbackSocket()
    {
        m_fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (m_fd < 0)
            throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
        sockaddr_in address = loopback(0);
        if (::bind(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
            ::close(m_fd);
            throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
        }
    }
    ~LoopbackSocket() { ::close(m_fd); }
    LoopbackSocket(const LoopbackSocket&) = delete;
    LoopbackSocket& operator=(const LoopbackSocket&) = delete;

    int fd() const { return m_fd; }

    u16 port() const
    {
        sockaddr_in address{};
        socklen_t length = sizeof address;
        ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&address), &length);
        return ntohs(address.sin_port);
    }

    // From now on only datagrams from `port` arrive, and sends go there.
    void connect_to(u16 port)
    {
        sockaddr_in address = loopback(port);
        if (::connect(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
            throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
    }

    static sockaddr_in loopback(u16 port)
    {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return address;
    }

private:
    int m_fd = -1;
};

// A port the kernel just gave out and took back, for the app's end of the
// cable: another process could take it in between, which would show as the
// app failing to start (its bind fails), never as a wrong answer.
u16 free_loopback_port()
{
    LoopbackSocket probe;
    return probe.port();
}

std::string program_dir()
{
    char buffer[PATH_MAX];
    ssize_t length = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
    if (length <= 0)
        return ".";
    std::string exe(buffer, static_cast<usize>(length));
    return exe.substr(0, exe.rfind('/'));
}

std::string milliseconds(TimeNs time)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.1f ms", static_cast<double>(time) / 1e6);
    return text;
}

class LiveTarget final : public Target {
public:
    explicit LiveTarget(const ReplayOptions& options)
        : m_options(options), m_origin(std::chrono::steady_clock::now()),
          m_end_of_run(static_cast<TimeNs>(options.timeout_s) * ns_per_s)
    {
        // Checked now, before anything runs: a missing binary is bad input.
        if (options.target == TargetKind::hosted) {
            std::string dir = options.bin_dir.empty() ? program_dir() : options.bin_dir;
            m_program = dir + "/" + options.app;
            if (!is_file(m_program) || ::access(m_program.c_str(), X_OK) != 0)
                throw CommandError("no hosted binary for app '" + options.app + "' (" +
                                       m_program + ")",
                                   "build it: ninja -C build " + options.app);
        } else {
            m_program = find_qemu();
            m_image = resolve_image(options.image.empty() ? options.app : options.image);
        }
    }

    void start(const TargetSetup& setup) override
    {
        u16 app_port = free_loopback_port();
        m_socket.connect_to(app_port);
        std::string net = "socket,udp=127.0.0.1:" + std::to_string(m_socket.port()) +
                          ",localaddr=127.0.0.1:" + std::to_string(app_port);
        std::vector<std::string> command = m_options.target == TargetKind::hosted
                                               ? hosted_command(net, setup)
                                               : vm_command(net, setup);
        m_child.emplace(command);
        wait_until_ready();
    }

    net::MacAddress node_mac() const override { return node_mac_value; }

    TimeNs now() const override
    {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now() - m_origin)
            .count();
    }

    void transmit(Bytes frame) override
    {
        // Refused or dropped sends (the app has gone) show as its failure.
        ssize_t sent = ::send(m_socket.fd(), frame.data(), frame.size(), 0);
        if (sent < 0 && errno != ECONNREFUSED && errno != EAGAIN)
            fail(std::string("sending a frame to the app: ") + std::strerror(errno));
    }

    bool stopped() const override { return m_stopped; }
    bool real_time() const override { return true; }

    void run_until(TimeNs deadline, const Predicate& done, const FrameSink& sink) override
    {
        while (!m_stopped && !done()) {
            if (g_interrupted) {
                fail("interrupted (Ctrl-C or SIGTERM); the app was stopped");
                return;
            }
            TimeNs time = now();
            if (time >= m_end_of_run) {
                fail("the replay ran out of time (" + std::to_string(m_options.timeout_s) +
                     " s, --timeout)");
                return;
            }
            if (time >= deadline)
                return;
            wait_for_input(std::min(deadline, m_end_of_run) - time);
            if (receive(done, sink))
                return;
            watch_child();
        }
    }

    void finish(ReplayResult& result) override
    {
        TimeNs end = now();
        if (m_child)
            m_child->stop(m_options.pcap_path.empty() && m_options.trace_path.empty()
                              ? stop_grace_ms
                              : stop_grace_flush_ms);
        result.target = target_name(m_options.target);
        result.target_detail = m_detail;
        result.ready_ns = m_ready_ns;
        result.end_ns = end;
        for (const std::string& failure : m_failures)
            result.node_failures.push_back(failure);
    }

private:
    std::vector<std::string> hosted_command(const std::string& net, const TargetSetup& setup)
    {
        std::vector<std::string> command = {
            m_program, "--net", net, "--ip", address_text(setup), "--mac", node_mac_text,
            "--mem", std::to_string(m_options.memory_bytes / 1024) + "K"};
        if (setup.gateway.to_u32() != 0)
            command.insert(command.end(), {"--gw", format_ip(setup.gateway)});
        if (!m_options.pcap_path.empty())
            command.insert(command.end(), {"--pcap", m_options.pcap_path});
        if (!m_options.trace_path.empty())
            command.insert(command.end(), {"--trace", m_options.trace_path});
        if (!m_options.app_args.empty()) {
            command.emplace_back("--");
            command.insert(command.end(), m_options.app_args.begin(), m_options.app_args.end());
        }
        m_detail = m_program + " on --net socket";
        return command;
    }

    std::vector<std::string> vm_command(const std::string& net, const TargetSetup& setup)
    {
        std::vector<std::string> devices = net_arguments(net, false, node_mac_text);
        std::string cmdline = "--ip " + address_text(setup);
        if (setup.gateway.to_u32() != 0)
            cmdline += " --gw " + format_ip(setup.gateway);
        if (!m_options.trace_path.empty()) {
            devices.insert(devices.end(), {"-chardev", "file,id=trace,path=" + m_options.trace_path,
                                           "-device", "isa-serial,chardev=trace,index=1"});
            cmdline += " --trace";
        }
        if (!m_options.app_args.empty()) {
            cmdline += " --";
            for (const std::string& arg : m_options.app_args)
                cmdline += " " + arg;
        }
        if (!m_options.pcap_path.empty())
            devices.insert(devices.end(), {"-object", "filter-dump,id=dump,netdev=net0,file=" +
                                                          m_options.pcap_path});
        devices.insert(devices.end(), {"-append", cmdline});
        m_detail = "QEMU (" + m_options.accel + ") booting " + m_image + " on -netdev socket";
        return qemu_command(m_program, m_options.accel, m_options.vm_memory, m_image, devices);
    }

    static std::string address_text(const TargetSetup& setup)
    {
        return format_ip(setup.ip) + "/" + std::to_string(setup.prefix);
    }

    // Reads the app's output until a line has the ready text, it ends, or the
    // start-up time runs out; the last two are failures the report shows.
    void wait_until_ready()
    {
        TimeNs launched = now();
        TimeNs give_up = std::min(launched + m_options.ready_timeout_ns, m_end_of_run);
        for (;;) {
            for (const std::string& line : m_child->read_lines())
                if (line.find(m_options.ready_text) != std::string::npos) {
                    m_ready_ns = now() - launched;
                    m_detail += ", ready in " + milliseconds(m_ready_ns);
                    return;
                }
            if (m_child->output_fd() < 0 || m_child->has_exited()) {
                fail(std::string(m_options.target == TargetKind::vm ? "QEMU " : "the app ") +
                     how_it_ended() + " before it was ready (no line with '" +
                     m_options.ready_text + "')");
                return;
            }
            if (g_interrupted) {
                fail("interrupted (Ctrl-C or SIGTERM) before the app was ready");
                return;
            }
            if (now() >= give_up) {
                fail("the app printed no line with '" + m_options.ready_text + "' within " +
                     milliseconds(give_up - launched) + " (--ready TEXT names the line)");
                return;
            }
            pollfd poller{m_child->output_fd(), POLLIN, 0};
            ::poll(&poller, 1, 10);
        }
    }

    // Its output has closed: it is exiting, give it a moment to be reaped.
    std::string how_it_ended()
    {
        for (int tries = 0; tries < 20 && !m_child->has_exited(); ++tries)
            ::usleep(5000);
        return m_child->has_exited() ? m_child->exit_description() : "closed its output";
    }

    void wait_for_input(TimeNs wait_ns)
    {
        pollfd pollers[2] = {{m_socket.fd(), POLLIN, 0}, {m_child->output_fd(), POLLIN, 0}};
        nfds_t count = m_child->output_fd() >= 0 ? 2 : 1;
        timespec timeout{static_cast<time_t>(wait_ns / ns_per_s),
                         static_cast<long>(wait_ns % ns_per_s)};
        ::ppoll(pollers, count, &timeout, nullptr);
        // The app's output must keep flowing, or it blocks writing its log.
        m_child->read_lines();
    }

    // Hands every waiting datagram to `sink`; true once `done` holds.
    bool receive(const Predicate& done, const FrameSink& sink)
    {
        for (int i = 0; i < receive_batch_max; ++i) {
            ssize_t length = ::recv(m_socket.fd(), m_buffer, sizeof m_buffer, 0);
            if (length < 0)
                return false; // EAGAIN, or a refusal before the app bound its port
            sink(Bytes(m_buffer, static_cast<usize>(length)));
            if (done())
                return true;
        }
        return false;
    }

    void watch_child()
    {
        if (m_child->output_fd() < 0 || m_child->has_exited())
            fail(std::string(m_options.target == TargetKind::vm ? "QEMU " : "the app ") +
                 how_it_ended() + " during the replay");
    }

    // The run cannot go on: note why, with the app's last lines.
    void fail(const std::string& why)
    {
        std::string failure = std::string(target_name(m_options.target)) + " " + m_options.app +
                              ": " + why;
        if (m_child) {
            m_child->read_lines();
            const auto& tail = m_child->tail();
            usize from = tail.size() > failure_lines_max ? tail.size() - failure_lines_max : 0;
            if (from < tail.size())
                failure += "; its last output:";
            for (usize i = from; i < tail.size(); ++i)
                failure += "\n    " + tail[i];
        }
        m_failures.push_back(failure);
        m_stopped = true;
    }

    InterruptGuard m_interrupt_guard; // first: outlives the child it protects
    const ReplayOptions& m_options;
    std::chrono::steady_clock::time_point m_origin;
    TimeNs m_end_of_run;
    std::string m_program;
    std::string m_image;
    std::string m_detail;
    LoopbackSocket m_socket;
    std::optional<ChildProcess> m_child;
    TimeNs m_ready_ns = 0;
    bool m_stopped = false;
    std::vector<std::string> m_failures;
    u8 m_buffer[frame_bytes_max];
};

} // namespace

bool live_run_interrupted() { return g_interrupted != 0; }

std::unique_ptr<Target> make_live_target(const ReplayOptions& options)
{
    return std::make_unique<LiveTarget>(options);
}

} // namespace gantry::harness::replay
