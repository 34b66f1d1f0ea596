// Boots a kernel on the hosted platform, runs the app until it exits or is
// stopped, and turns every failure into a message that says what to do.
#include <gantry/hosted/options.hpp>
#include <gantry/hosted/platform.hpp>
#include <gantry/hosted/runner.hpp>

#include "net/tap_nic.hpp"
#include "record/recording_platform.hpp"
#include "record/stop_signals.hpp"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace gantry::hosted {

namespace {

constexpr int exit_bad_usage = 2;
constexpr int exit_boot_failed = 70;
constexpr int exit_trace_failed = 74;

// Runs the kernel until the app exits. The first Ctrl-C asks the app to stop;
// the second ends the kernel at once (the trace is still flushed).
// With a recorder, Ctrl-Cs are recorded with the poll they followed, so a
// re-run stops at the same point.
int run_until_exit(Kernel& kernel, HostedPlatform& platform, recording::Writer* recorder)
{
    u64 iteration = 0;
    while (!kernel.exited()) {
        TimeNs deadline = kernel.poll();
        ++iteration;
        if (kernel.exited())
            break;
        platform.idle_until(deadline);
        int signals = platform.take_signals();
        if (signals == 0)
            continue;
        if (recorder)
            recorder->signals(iteration, signals);
        recording::handle_stop_signals(kernel, signals);
    }
    return kernel.exit_code();
}

recording::Header recording_header(const Options& options, const KernelConfig& config,
                                   recording::RecordingPlatform& platform)
{
    recording::Header header;
    header.app = std::string(config.app_name);
    header.platform_name = std::string(config.platform_name);
    header.args = options.app_args;
    header.memory_bytes = options.memory_bytes;
    header.log_level = static_cast<u8>(config.log_level);
    header.trace = config.trace;
    header.dhcp = config.dhcp == NetDhcp::on;
    header.ip = config.ip.to_u32();
    header.prefix = config.prefix;
    header.gateway = config.gateway.to_u32();
    header.dns = config.dns.to_u32();
    header.nics = platform.nic_infos();
    header.disks = platform.disk_infos();
    return header;
}

int boot_and_run(const Options& options, const char* app_name, AppFactory factory,
                 HostedPlatform& platform, Platform& kernel_platform, recording::Writer* recorder)
{
    KernelConfig config;
    config.app_name = app_name;
    config.platform_name = "hosted";
    config.trace = !options.trace_path.empty();
    config.log_level = options.log_level;
    config.log_lines_per_s = options.log_lines_per_s;
    config.ip = options.ip.address;
    config.prefix = options.ip.prefix_len;
    config.gateway = options.gateway;
    config.dhcp = options.dhcp ? NetDhcp::on : NetDhcp::off;
    config.dns = options.dns;
    std::unique_ptr<recording::RecordingPlatform> recorded;
    if (recorder) {
        recorded = std::make_unique<recording::RecordingPlatform>(kernel_platform, *recorder);
        std::string error;
        if (!recorder->open(options.record_path, recording_header(options, config, *recorded),
                            error)) {
            std::fprintf(stderr, "%s: %s\n", app_name, error.c_str());
            return exit_bad_usage;
        }
    }
    Platform& used = recorded ? static_cast<Platform&>(*recorded) : kernel_platform;
    auto kernel = std::make_unique<Kernel>(used, config);
    kernel->record_phase("platform", 0, used.now());
    if (auto booted = kernel->boot(); !booted.ok()) {
        std::fprintf(stderr, "%s: cannot boot: %.*s\n", app_name,
                     static_cast<int>(describe(booted.error()).size()),
                     describe(booted.error()).data());
        return exit_boot_failed;
    }
    App* app = factory(*kernel);
    if (!app) {
        std::fprintf(stderr, "%s: cannot boot: out of memory creating the app (raise --mem)\n",
                     app_name);
        return exit_boot_failed;
    }
    std::vector<std::string_view> args(options.app_args.begin(), options.app_args.end());
    if (!kernel->start_app(*app, AppArgs{args}).ok()) {
        std::fprintf(stderr, "%s: cannot start: out of memory (raise --mem)\n", app_name);
        return exit_boot_failed;
    }
    int code = run_until_exit(*kernel, platform, recorder);
    kernel->heap().destroy(app);
    // The kernel's teardown still reads the clock (the trace's last records):
    // the recording ends after it.
    kernel.reset();
    if (recorder && !recorder->finish(code)) {
        std::fprintf(stderr, "%s: writing the recording to '%s' failed (disk full?)\n", app_name,
                     options.record_path.c_str());
        return code != 0 ? code : exit_trace_failed;
    }
    return code;
}

} // namespace

int main(int argc, char** argv, const char* app_name, AppFactory factory)
{
    Options options;
    if (auto error = parse_options(argc, argv, options); !error.empty()) {
        std::fprintf(stderr, "%s: %s\nTry '%s --help'.\n", app_name, error.c_str(), argv[0]);
        return exit_bad_usage;
    }
    if (options.net_kind == "user" && !options.dhcp) {
        // Where libslirp's DHCP would put the first guest, behind its router.
        if (options.ip.address.is_unspecified())
            options.ip = net::Ipv4Cidr{net::Ipv4Address::from_u32(0x0a00020f), 24};
        if (options.gateway.is_unspecified())
            options.gateway = net::Ipv4Address::from_u32(0x0a000202);
        if (options.dns.is_unspecified())
            options.dns = net::Ipv4Address::from_u32(0x0a000203);
    }
    if (options.help) {
        std::fputs(usage(argv[0]).c_str(), stdout);
        return 0;
    }
    if (options.version) {
        std::printf("gantry %s (hosted, app %s)\n", GANTRY_VERSION, app_name);
        return 0;
    }
    HostedPlatform* created = nullptr;
    HostedPlatform::Config platform_config;
    platform_config.memory_bytes = options.memory_bytes;
    platform_config.trace_path = options.trace_path;
    platform_config.net_kind = options.net_kind;
    platform_config.tap_ifname = options.net_ifname;
    platform_config.tap_offload = options.net_offload;
    platform_config.hostfwd = options.net_hostfwd;
    platform_config.guest_ip = options.ip.address;
    // Derived from the ifname ("user" for user networking; the parameters and the
    // address for socket LANs, whose members all need different MACs): the same
    // every run.
    std::string mac_seed = options.net_kind == "user" ? "user" : options.net_ifname;
    if (options.net_kind == "socket") {
        char ip[net::Ipv4Address::text_bytes_max];
        options.ip.address.to_chars(ip);
        mac_seed = "socket," + options.net_socket + "," + ip;
    }
    platform_config.socket_parameters = options.net_socket;
    platform_config.net_faults = options.net_faults;
    platform_config.mac = options.mac ? *options.mac : mac_for_ifname(mac_seed);
    platform_config.pcap_path = options.pcap_path;
    platform_config.disks = options.disks;
    platform_config.virtio = options.virtio;
    if (options.net_kind.empty() && !options.ip.address.is_unspecified()) {
        std::fprintf(stderr, "%s: --ip needs a NIC (--net tap,ifname=IF)\n", app_name);
        return exit_bad_usage;
    }
    if (options.dhcp && options.net_kind.empty()) {
        std::fprintf(stderr, "%s: --dhcp needs a NIC (--net ...)\n", app_name);
        return exit_bad_usage;
    }
    if (!options.net_kind.empty() && options.ip.address.is_unspecified() && !options.dhcp)
        std::fprintf(stderr, "%s: warning: neither --ip nor --dhcp given: the interface has "
                             "no address\n", app_name);
    if (!options.pcap_path.empty() && options.net_kind.empty()) {
        std::fprintf(stderr, "%s: --pcap needs a NIC (--net tap,ifname=IF)\n", app_name);
        return exit_bad_usage;
    }
    if (auto error = HostedPlatform::create(platform_config, created); !error.empty()) {
        std::fprintf(stderr, "%s: %s\n", app_name, error.c_str());
        return exit_bad_usage;
    }
    std::unique_ptr<HostedPlatform> platform(created);
    if (options.virtio)
        std::printf("%s: --virtio: %s and %zu disk(s) through the virtio drivers and "
                    "in-process device models\n", app_name,
                    options.net_kind.empty() ? "no NIC" : "the NIC", options.disks.size());
    std::fflush(stdout);
    recording::Writer recorder;
    int code = boot_and_run(options, app_name, factory, *platform, *platform,
                            options.record_path.empty() ? nullptr : &recorder);
    if (auto summary = platform->net_faults_summary(); !summary.empty())
        std::printf("%s\n", summary.c_str());
    if (!platform->finish_pcap()) {
        std::fprintf(stderr, "%s: writing the capture to '%s' failed (disk full?)\n", app_name,
                     options.pcap_path.c_str());
        code = code != 0 ? code : exit_trace_failed;
    }
    if (platform->trace_write_failed() || !platform->finish_trace()) {
        std::fprintf(stderr, "%s: writing the trace to '%s' failed (disk full?)\n", app_name,
                     options.trace_path.c_str());
        return code != 0 ? code : exit_trace_failed;
    }
    return code;
}

} // namespace gantry::hosted
