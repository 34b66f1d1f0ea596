// `gantry boot APP|IMAGE.elf`: boots an app's image under QEMU (microvm), with
// KVM only when a tiny probe guest proves it works, streams the serial console
// and returns the guest app's exit code decoded from QEMU's isa-debug-exit status
// (docs/hypervisors.md). QEMU always runs under a deadline: a broken accelerator
// hangs instead of failing, and a triple fault exits 0, so only the exact status
// the image writes counts as an answer.
#include "boot/child.hpp"
#include "boot/qemu.hpp"
#include "command.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace gantry::harness {

namespace {

const char* boot_usage = R"(usage: gantry boot APP|IMAGE.elf [options] [-- extra qemu args]

Boots an app's image (build/images/APP.elf, next to this gantry binary) or an image
file under qemu-system-x86_64 -M microvm, streams the serial console and exits with
the guest app's exit code.

options:
  --kvm           use KVM without probing it
  --tcg           use TCG (software emulation) without probing KVM
                  (default: boot the trivial image under KVM with a 2 s timeout and
                  use KVM only if it exits as expected, else TCG)
  --timeout S     kill QEMU after S seconds (default 60)
  --mem SIZE      guest RAM, QEMU syntax (default 64M)
  --machine M     microvm (default: virtio-mmio devices), pc or q35 (virtio-pci
                  devices; SeaBIOS runs first and prints its banner)
  --dry-run       print the QEMU command line and exit
  --net KIND,...  a virtio-net NIC on a QEMU network backend (-netdev syntax):
                  user[,hostfwd=tcp::8080-:80]  tap,ifname=IF  socket,...
  --disk FILE[,ro]  a virtio-blk disk backed by FILE (raw; repeat for up to 4,
                  disk 0 first)
  --ip A.B.C.D/N, --gw A.B.C.D, --dns A.B.C.D, --dhcp, --log-level LEVEL
                  kernel options, passed on the guest's command line
  --trace FILE    write the guest's binary trace to FILE (over a second serial
                  port); open it with gantry trace or gantry-viz
  --append TEXT   more of the guest's command line, e.g. "-- --port 8080" for
                  the app's own arguments (after --)
exit status: the app's exit code (0..125); 1 the guest panicked, faulted, hung,
exited with a code QEMU cannot report, or did not exit through isa-debug-exit;
2 bad usage, missing image or missing QEMU
)";

enum class Accel { probe, kvm, tcg };

struct BootOptions {
    std::string target;
    Accel accel = Accel::probe;
    int timeout_s = 60;
    std::string mem = "64M";
    bool dry_run = false;
    std::vector<std::string> extra;
    std::string net;                 // QEMU -netdev value without id
    std::vector<std::string> disks;  // FILE[,ro]
    std::string kernel_options;      // --ip ... for the guest's command line
    std::string append;
    std::string trace_path;
    std::string machine = "microvm";
};

// How one QEMU run ended.
struct RunResult {
    bool timed_out = false;
    bool exited = false; // false: killed by a signal (status is the signal)
    int status = 0;
    std::string console; // the first 4 KiB of the serial console
};

constexpr int probe_timeout_s = 2;
constexpr int status_app_zero = 1; // isa-debug-exit value 0 -> QEMU status 1
constexpr int status_saturated = 253;
constexpr int status_panic = 255;

volatile std::sig_atomic_t g_interrupted = 0;

void on_interrupt(int) { g_interrupted = 1; }

int parse_timeout(std::string_view text)
{
    std::string copy(text);
    char* end = nullptr;
    long value = std::strtol(copy.c_str(), &end, 10);
    if (copy.empty() || *end != '\0' || value < 1 || value > 86400)
        throw CommandError("--timeout: '" + copy + "' is not a number of seconds (1..86400)");
    return static_cast<int>(value);
}

std::string_view value_of(Args args, std::size_t& i)
{
    if (i + 1 >= args.size())
        throw CommandError(std::string(args[i]) + " needs a value", "see `gantry boot --help`");
    return args[++i];
}

void check_kernel_option(std::string_view name, const std::string& value)
{
    if (name == "--log-level") {
        if (value != "debug" && value != "info" && value != "warn" && value != "error")
            throw CommandError("--log-level: '" + value + "' is not debug, info, warn or error");
        return;
    }
    std::string address = value;
    if (name == "--ip") {
        std::size_t slash = value.find('/');
        address = value.substr(0, slash);
        if (slash != std::string::npos) {
            std::string prefix = value.substr(slash + 1);
            char* end = nullptr;
            long bits = std::strtol(prefix.c_str(), &end, 10);
            if (prefix.empty() || *end != '\0' || bits < 0 || bits > 32)
                throw CommandError("--ip: '" + value + "' has a bad prefix length",
                                   "write it like 10.0.0.2/24");
        }
    }
    in_addr parsed{};
    if (::inet_pton(AF_INET, address.c_str(), &parsed) != 1)
        throw CommandError(std::string(name) + ": '" + value + "' is not an IPv4 address",
                           name == "--ip" ? "write it like 10.0.0.2/24" : "write it like 10.0.0.1");
}

BootOptions parse_args(Args args)
{
    BootOptions options;
    bool accel_set = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        if (arg == "--") {
            options.extra.assign(args.begin() + static_cast<long>(i) + 1, args.end());
            break;
        }
        if (arg == "--kvm" || arg == "--tcg") {
            Accel accel = arg == "--kvm" ? Accel::kvm : Accel::tcg;
            if (accel_set && options.accel != accel)
                throw CommandError("--kvm and --tcg exclude each other");
            options.accel = accel;
            accel_set = true;
        } else if (arg == "--timeout") {
            options.timeout_s = parse_timeout(value_of(args, i));
        } else if (arg == "--mem") {
            options.mem = value_of(args, i);
        } else if (arg == "--dry-run") {
            options.dry_run = true;
        } else if (arg == "--net") {
            if (!options.net.empty())
                throw CommandError("only one --net: images drive one NIC");
            options.net = value_of(args, i);
        } else if (arg == "--disk") {
            if (options.disks.size() == 4)
                throw CommandError("at most 4 --disk options");
            options.disks.emplace_back(value_of(args, i));
        } else if (arg == "--ip" || arg == "--gw" || arg == "--dns" || arg == "--log-level") {
            std::string value(value_of(args, i));
            check_kernel_option(arg, value);
            options.kernel_options += std::string(arg) + " " + value + " ";
        } else if (arg == "--dhcp") {
            options.kernel_options += "--dhcp ";
        } else if (arg == "--machine") {
            options.machine = value_of(args, i);
            if (options.machine != "microvm" && options.machine != "pc" && options.machine != "q35")
                throw CommandError("--machine: '" + options.machine + "' is not microvm, pc or q35");
        } else if (arg == "--trace") {
            options.trace_path = value_of(args, i);
            if (options.trace_path.find(',') != std::string::npos)
                throw CommandError("--trace: a comma in the file name is not supported");
            options.kernel_options += "--trace ";
        } else if (arg == "--append") {
            options.append = value_of(args, i);
        } else if (arg.starts_with("-")) {
            throw CommandError("unknown option '" + std::string(arg) + "'",
                               "see `gantry boot --help`");
        } else if (options.target.empty()) {
            options.target = arg;
        } else {
            throw CommandError("only one app or image per boot");
        }
    }
    if (options.target.empty())
        throw CommandError("no app or image given", "usage: gantry boot APP|IMAGE.elf");
    return options;
}


// Copies what the console pipe holds to stdout (without the serial line's CRs)
// and keeps the start of it, to tell a guest that ran from QEMU failing early.
// Returns how many bytes it read (0 at end of file or after 5 ms of silence).
ssize_t drain_console(int fd, bool quiet, RunResult& result)
{
    pollfd poller{fd, POLLIN, 0};
    if (::poll(&poller, 1, 5) <= 0)
        return 0;
    char buffer[4096];
    ssize_t length = ::read(fd, buffer, sizeof buffer);
    if (length <= 0) // the pipe is closed though QEMU runs on: do not spin
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    for (ssize_t i = 0; i < length; ++i) {
        if (buffer[i] == '\r')
            continue;
        if (!quiet)
            std::fputc(buffer[i], stdout);
        if (result.console.size() < 4096)
            result.console.push_back(buffer[i]);
    }
    if (!quiet)
        std::fflush(stdout);
    return length;
}

// Runs QEMU, streams its console, and waits for it until the deadline or an
// interrupt, then kills its process group (ChildProcess also does on the way
// out of an exception).
RunResult run_with_deadline(const std::vector<std::string>& command, int timeout_s, bool quiet)
{
    ChildProcess qemu(command, quiet ? ChildStderr::discarded : ChildStderr::inherited);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    RunResult result;
    while (!qemu.has_exited()) {
        drain_console(qemu.output_fd(), quiet, result);
        if (g_interrupted || std::chrono::steady_clock::now() >= deadline) {
            result.timed_out = !g_interrupted;
            qemu.kill_and_reap();
            return result;
        }
    }
    while (drain_console(qemu.output_fd(), quiet, result) > 0) {
        // the last lines, written just before QEMU exited
    }
    int status = qemu.wait_status();
    result.exited = WIFEXITED(status);
    result.status = result.exited ? WEXITSTATUS(status) : WTERMSIG(status);
    return result;
}

std::string describe(const RunResult& result)
{
    if (result.timed_out)
        return "timed out";
    if (!result.exited)
        return "QEMU killed by signal " + std::to_string(result.status);
    return "QEMU exited with status " + std::to_string(result.status);
}

// Returns "" when KVM really runs a guest, else why not.
std::string probe_kvm(const std::string& qemu, const std::string& image)
{
    if (::access("/dev/kvm", F_OK) != 0)
        return "no /dev/kvm";
    int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return std::string("cannot open /dev/kvm: ") + std::strerror(errno);
    ::close(fd);
    // The trivial image sits beside the app images; a path given by hand may
    // live elsewhere, so look beside it too.
    std::string probe = images_dir() + "/trivial.elf";
    if (!is_file(probe))
        probe = image.substr(0, image.rfind('/') + 1) + "trivial.elf";
    if (!is_file(probe))
        return "no trivial.elf image to probe it with";
    RunResult result =
        run_with_deadline(qemu_command(qemu, "kvm", "64M", probe, {}), probe_timeout_s, true);
    if (result.exited && result.status == status_app_zero &&
        result.console.find("gantry: trivial image") != std::string::npos)
        return "";
    if (result.timed_out)
        return "a trivial guest did not exit within " + std::to_string(probe_timeout_s) + " s";
    return "a trivial guest failed: " + describe(result);
}

// Maps QEMU's status to the app's exit code, explaining anything that is not one.
int decode_status(const RunResult& result, int timeout_s)
{
    if (result.timed_out) {
        std::fprintf(stderr, "gantry: timed out after %d s (QEMU killed)\n", timeout_s);
        return exit_check_failed;
    }
    if (!result.exited) {
        std::fprintf(stderr, "gantry: %s\n", describe(result).c_str());
        return exit_check_failed;
    }
    int status = result.status;
    if (status == 0) {
        std::fprintf(stderr, "gantry: QEMU exited 0: the guest did not use isa-debug-exit "
                             "(triple fault?)\n");
        return exit_check_failed;
    }
    if (status == status_panic) {
        std::fprintf(stderr, "gantry: guest panicked or faulted (QEMU status 255)\n");
        return exit_check_failed;
    }
    if (status == status_saturated) {
        std::fprintf(stderr, "gantry: app exited with a code outside 0..126 (or exactly "
                             "126: isa-debug-exit saturates there)\n");
        return exit_check_failed;
    }
    // QEMU's own start-up errors also exit 1; a guest that ran printed first.
    if (status == status_app_zero && result.console.empty()) {
        std::fprintf(stderr, "gantry: QEMU exited 1 before the guest printed anything: "
                             "QEMU failed to start (see its message above)\n");
        return exit_check_failed;
    }
    if (status % 2 == 1)
        return (status - 1) / 2;
    std::fprintf(stderr, "gantry: QEMU exited with status %d, which no guest exit maps to "
                         "(QEMU itself failed?)\n", status);
    return exit_check_failed;
}

std::string choose_accel(const BootOptions& options, const std::string& qemu,
                         const std::string& image)
{
    if (options.accel == Accel::tcg)
        return "tcg";
    if (options.accel == Accel::kvm)
        return "kvm";
    std::string why = probe_kvm(qemu, image);
    if (why.empty()) {
        std::fprintf(stderr, "kvm: works\n");
        return "kvm";
    }
    std::fprintf(stderr, "kvm: not usable here (%s), using TCG\n", why.c_str());
    return "tcg";
}

} // namespace

int cmd_boot(Args args)
{
    if (!args.empty() && is_help(args[0])) {
        std::fputs(boot_usage, stdout);
        return exit_ok;
    }
    BootOptions options = parse_args(args);
    std::string image = resolve_image(options.target);
    std::string qemu = find_qemu();
    std::vector<std::string> devices;
    if (!options.net.empty())
        devices = net_arguments(options.net, options.machine != "microvm");
    for (std::string& word : disk_arguments(options.disks, options.machine != "microvm"))
        devices.push_back(std::move(word));
    if (!options.trace_path.empty())
        devices.insert(devices.end(), {"-chardev", "file,id=trace,path=" + options.trace_path,
                                       "-device", "isa-serial,chardev=trace,index=1"});
    std::string cmdline = options.kernel_options + options.append;
    while (!cmdline.empty() && cmdline.back() == ' ')
        cmdline.pop_back();
    if (!cmdline.empty())
        devices.insert(devices.end(), {"-append", cmdline});
    devices.insert(devices.end(), options.extra.begin(), options.extra.end());
    std::string accel = choose_accel(options, qemu, image);
    auto command = qemu_command(qemu, accel, options.mem, image, devices, options.machine);
    if (options.dry_run) {
        for (std::size_t i = 0; i < command.size(); ++i)
            std::printf(command[i].find(' ') == std::string::npos ? "%s%s" : "%s'%s'", i ? " " : "",
                        command[i].c_str());
        std::printf("\n");
        return exit_ok;
    }
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
    RunResult result = run_with_deadline(command, options.timeout_s, false);
    if (g_interrupted) {
        std::fprintf(stderr, "gantry: interrupted, QEMU killed\n");
        return exit_check_failed;
    }
    return decode_status(result, options.timeout_s);
}

} // namespace gantry::harness
