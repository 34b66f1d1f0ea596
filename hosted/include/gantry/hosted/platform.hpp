// The hosted platform: Linux's monotonic clock, an epoll idle loop with a
// timerfd for the kernel's deadline and a signalfd for Ctrl-C, stdout as the
// console, getrandom for entropy, mmap for memory, a file as the trace sink.
#pragma once

#include <gantry/platform.hpp>

#include <gantry/net/address.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace gantry::hosted {

class TapNic;
class UserNic;
class SocketNic;
class FaultNic;
class FileDisk;
struct VirtioDevices;

class HostedPlatform final : public Platform {
public:
    struct Config {
        usize memory_bytes = 64 * 1024 * 1024;
        std::string trace_path; // empty: no trace file
        std::string net_kind;   // "tap", "user" or empty (no NIC)
        std::string tap_ifname;
        bool tap_offload = true;          // vnet_hdr: checksum offload and TSO
        std::vector<std::string> hostfwd; // user networking port forwards
        net::Ipv4Address guest_ip;        // where hostfwd delivers
        std::string socket_parameters;    // --net socket
        std::string net_faults;           // --net-faults (empty: none)
        net::MacAddress mac;
        std::string pcap_path;  // empty: no capture
        std::vector<std::string> disks; // --disk values: FILE[,ro]
        bool virtio = false; // drive the devices through the virtio drivers and models
    };

    // Returns an empty string on success, otherwise what went wrong and what to do.
    static std::string create(const Config& config, HostedPlatform*& out);
    ~HostedPlatform() override;

    TimeNs now() override;
    void idle_until(TimeNs deadline) override;
    void console_write(std::string_view text) override;
    void fill_entropy(MutableBytes out) override;
    std::span<const MemoryRegion> memory_regions() override { return {&m_region, 1}; }
    bool trace_sink_enabled() override { return m_trace_file != nullptr; }
    void trace_sink_write(Bytes bytes) override;
    Nic* nic(usize index) override;
    BlockDevice* block_device(usize index) override;

    // Termination signals received since the last call (SIGINT, SIGTERM).
    int take_signals();
    bool trace_write_failed() const { return m_trace_write_failed; }
    // Flushes and closes the trace file; false if that failed.
    bool finish_trace();
    // Flushes and closes the capture file; false if writing it failed.
    bool finish_pcap();
    // What --net-faults did ("" without it), for the log at exit.
    std::string net_faults_summary() const;

private:
    HostedPlatform() = default;
    std::string open(const Config& config);
    std::string open_nic(const Config& config);
    void drain_events(int timeout_ms);
    void idle_with_slirp(int timeout_ms);
    std::string open_virtio();
    Nic* native_nic();

    MemoryRegion m_region{};
    int m_epoll = -1;
    int m_timer = -1;
    int m_signals = -1;
    int m_pending_signals = 0;
    long long m_origin_ns = 0;
    std::FILE* m_trace_file = nullptr;
    bool m_trace_write_failed = false;
    std::unique_ptr<TapNic> m_tap;
    std::unique_ptr<UserNic> m_user;
    std::unique_ptr<SocketNic> m_socket;
    std::unique_ptr<FaultNic> m_faults; // wraps the NIC above when --net-faults
    std::vector<std::unique_ptr<FileDisk>> m_disks;
    std::unique_ptr<VirtioDevices> m_virtio; // --virtio: drivers over models over the above
};

} // namespace gantry::hosted
