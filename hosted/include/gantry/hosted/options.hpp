// Command-line options of a hosted unikernel (build/bin/<app>). Unknown options
// are errors with a suggestion; arguments after "--" go to the app untouched.
#pragma once

#include <gantry/log.hpp>
#include <gantry/net/address.hpp>

#include <optional>
#include <string>
#include <vector>

namespace gantry::hosted {

struct Options {
    usize memory_bytes = 64 * 1024 * 1024;
    std::string trace_path;
    LogLevel log_level = LogLevel::info;
    u32 log_lines_per_s = Logger::lines_per_s_default; // --log-rate
    bool help = false;
    bool version = false;
    std::vector<std::string> app_args;
    // Network (--net tap,ifname=IF; QEMU -netdev syntax).
    std::string net_kind;    // empty: no NIC
    std::string net_ifname;
    bool net_offload = true; // --net tap,...,offload=off: no vnet_hdr offloads
    std::vector<std::string> net_hostfwd; // --net user: "udp:127.0.0.1:5555-:7"
    std::string net_socket;  // --net socket: its parameters ("udp=...,localaddr=...")
    net::Ipv4Cidr ip;        // --ip A.B.C.D/N
    net::Ipv4Address gateway; // --gw
    net::Ipv4Address dns;     // --dns
    std::optional<net::MacAddress> mac;
    std::string pcap_path;
    std::string net_faults; // --net-faults, validated
    bool dhcp = false;
    std::vector<std::string> disks; // --disk FILE[,ro], in device order
    std::string record_path;        // --record FILE: the run's platform inputs
    bool virtio = false;            // --virtio: devices through the virtio drivers
};

// "02:00:00:aa:bb:cc" -> MAC; nullopt on anything else.
std::optional<net::MacAddress> parse_mac(std::string_view text);

// Returns an empty string on success, else the message to print (exit 2).
std::string parse_options(int argc, char** argv, Options& out);
std::string usage(std::string_view program);

// "64M", "1G", "4096", "512K" -> bytes; false on anything else.
bool parse_size(std::string_view text, usize& out);

} // namespace gantry::hosted
