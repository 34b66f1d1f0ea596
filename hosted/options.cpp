#include <gantry/hosted/options.hpp>
#include <gantry/text.hpp>

#include "block/file_disk.hpp"
#include "net/fault_nic.hpp"
#include "net/socket_nic.hpp"
#include "net/user_nic.hpp"

#include <algorithm>
#include <charconv>

namespace gantry::hosted {

namespace {

struct OptionSpec {
    const char* name;
    bool takes_value;
};

constexpr OptionSpec option_specs[] = {
    {"--mem", true}, {"--trace", true}, {"--log-level", true},
    {"--net", true}, {"--ip", true}, {"--gw", true}, {"--mac", true}, {"--pcap", true},
    {"--net-faults", true}, {"--dns", true}, {"--disk", true}, {"--record", true}, {"--dhcp", false}, {"--virtio", false}, {"--help", false}, {"-h", false}, {"--version", false},
    {"--log-rate", true},
};

std::string suggestion(std::string_view unknown)
{
    const OptionSpec* best = nullptr;
    usize best_distance = 4;
    for (const auto& spec : option_specs) {
        usize distance = edit_distance(unknown, spec.name);
        if (distance < best_distance)
            best = &spec, best_distance = distance;
    }
    return best ? std::string(" (did you mean ") + best->name + "?)" : std::string();
}

// --net user[,hostfwd=PROTO:HOST:PORT-GUEST:PORT...][,id=...]
std::string apply_net_user(Options& out, std::string_view rest)
{
    out.net_kind = "user";
    while (!rest.empty()) {
        std::string_view item = rest.substr(0, rest.find(','));
        rest = item.size() < rest.size() ? rest.substr(item.size() + 1) : "";
        if (item.starts_with("hostfwd=")) {
            HostForward forward;
            if (auto error = parse_hostfwd(item.substr(8), forward); !error.empty())
                return "--net user: " + error;
            out.net_hostfwd.emplace_back(item.substr(8));
        } else if (!item.starts_with("id=")) {
            return "--net user: unknown parameter '" + std::string(item) +
                   "' (expected hostfwd=tcp:127.0.0.1:8080-:80)";
        }
    }
    return {};
}

// QEMU's -netdev syntax: KIND[,key=value...]: user and tap so far.
std::string apply_net(Options& out, std::string_view value)
{
    std::string_view kind = value.substr(0, value.find(','));
    std::string_view rest = kind.size() < value.size() ? value.substr(kind.size() + 1) : "";
    if (kind == "socket") {
        SocketNicConfig config;
        if (auto error = parse_socket_netdev(rest, config); !error.empty())
            return error;
        out.net_kind = kind;
        out.net_socket = rest;
        return {};
    }
    if (kind == "user")
        return apply_net_user(out, rest);
    if (kind != "tap")
        return "--net: unknown kind '" + std::string(kind) + "' (expected user, tap or socket)";
    out.net_kind = kind;
    while (!rest.empty()) {
        std::string_view item = rest.substr(0, rest.find(','));
        rest = item.size() < rest.size() ? rest.substr(item.size() + 1) : "";
        auto equals = item.find('=');
        std::string_view key = item.substr(0, equals);
        std::string_view val = equals == std::string_view::npos ? "" : item.substr(equals + 1);
        // Accept what a QEMU command line for the same tap carries, so users can
        // paste it; Gantry never runs scripts. QEMU's vnet_hdr=off means no
        // offloads here too.
        bool qemu_no_op = key == "id" || ((key == "script" || key == "downscript") &&
                                          (val == "no" || val == "off"));
        if (key == "ifname" && !val.empty())
            out.net_ifname = val;
        else if (key == "vnet_hdr" && (val == "no" || val == "off"))
            out.net_offload = false;
        else if (key == "offload" && (val == "on" || val == "off"))
            out.net_offload = val == "on";
        else if (key == "offload")
            return "--net tap: offload must be 'on' or 'off', not '" + std::string(val) + "'";
        else if (!qemu_no_op)
            return "--net tap: unknown or empty parameter '" + std::string(item) +
                   "' (expected ifname=IF or offload=on|off)";
    }
    if (out.net_ifname.empty())
        return "--net tap needs ifname=IF, e.g. --net tap,ifname=gt0";
    return {};
}

std::string apply_ip(Options& out, std::string_view value)
{
    auto slash = value.find('/');
    auto address = net::Ipv4Address::parse(value.substr(0, slash));
    unsigned prefix = 24;
    if (slash != std::string_view::npos) {
        std::string_view digits = value.substr(slash + 1);
        auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (error != std::errc() || end != digits.data() + digits.size() || prefix > 32)
            address.reset();
    }
    if (!address)
        return "--ip: '" + std::string(value) + "' is not an address like 10.0.0.2/24";
    out.ip = net::Ipv4Cidr{*address, static_cast<u8>(prefix)};
    return {};
}

std::string apply_net_option(Options& out, std::string_view name, std::string_view value)
{
    if (name == "--net")
        return apply_net(out, value);
    if (name == "--ip")
        return apply_ip(out, value);
    if (name == "--gw") {
        auto gateway = net::Ipv4Address::parse(value);
        if (!gateway)
            return "--gw: '" + std::string(value) + "' is not an address like 10.0.0.1";
        out.gateway = *gateway;
    } else if (name == "--dns") {
        auto dns = net::Ipv4Address::parse(value);
        if (!dns)
            return "--dns: '" + std::string(value) + "' is not an address like 10.0.0.1";
        out.dns = *dns;
    } else if (name == "--mac") {
        out.mac = parse_mac(value);
        if (!out.mac || out.mac->is_multicast())
            return "--mac: '" + std::string(value) +
                   "' is not a unicast MAC like 02:00:00:00:00:01";
    } else if (name == "--pcap") {
        out.pcap_path = value;
    } else if (name == "--net-faults") {
        NetFaults faults;
        if (auto error = parse_net_faults(value, faults); !error.empty())
            return error;
        out.net_faults = value;
    } else if (name == "--dhcp") {
        out.dhcp = true;
    }
    return {};
}

std::string apply(Options& out, std::string_view name, std::string_view value)
{
    if (name == "--net" || name == "--ip" || name == "--gw" || name == "--mac" ||
        name == "--pcap" || name == "--dhcp" || name == "--net-faults" ||
        name == "--dns")
        return apply_net_option(out, name, value);
    if (name == "--mem") {
        if (!parse_size(value, out.memory_bytes) || out.memory_bytes < 64 * 1024)
            return "--mem: '" + std::string(value) +
                   "' is not a size of at least 64K (examples: 16M, 256M, 1G)";
    } else if (name == "--record") {
        out.record_path = value;
    } else if (name == "--disk") {
        FileDiskConfig disk;
        std::string error;
        if (!parse_disk_option(value, disk, error))
            return error;
        if (out.disks.size() >= 4)
            return "--disk: at most 4 disks";
        out.disks.emplace_back(value);
    } else if (name == "--trace") {
        out.trace_path = value;
    } else if (name == "--log-level") {
        if (value == "debug")
            out.log_level = LogLevel::debug;
        else if (value == "info")
            out.log_level = LogLevel::info;
        else if (value == "warn")
            out.log_level = LogLevel::warn;
        else if (value == "error")
            out.log_level = LogLevel::error;
        else
            return "--log-level: '" + std::string(value) + "' is not one of debug, info, warn, error";
    } else if (name == "--log-rate") {
        u32 rate = 0;
        auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), rate);
        if (error != std::errc() || end != value.data() + value.size() || value.empty())
            return "--log-rate: '" + std::string(value) +
                   "' is not a number of lines per second (0: no limit)";
        out.log_lines_per_s = rate;
    } else if (name == "--virtio") {
        out.virtio = true;
    } else if (name == "--help" || name == "-h") {
        out.help = true;
    } else if (name == "--version") {
        out.version = true;
    }
    return {};
}

} // namespace

std::optional<net::MacAddress> parse_mac(std::string_view text)
{
    if (text.size() != 17)
        return std::nullopt;
    net::MacAddress mac;
    for (usize i = 0; i < net::MacAddress::size; ++i) {
        if (i > 0 && text[i * 3 - 1] != ':')
            return std::nullopt;
        unsigned octet = 0;
        const char* digits = text.data() + i * 3;
        auto [end, error] = std::from_chars(digits, digits + 2, octet, 16);
        if (error != std::errc() || end != digits + 2)
            return std::nullopt;
        mac.octets[i] = static_cast<u8>(octet);
    }
    return mac;
}

bool parse_size(std::string_view text, usize& out)
{
    usize value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end == text.data())
        return false;
    std::string_view suffix(end, static_cast<usize>(text.data() + text.size() - end));
    usize scale = 1;
    if (suffix == "K" || suffix == "k" || suffix == "KiB")
        scale = usize{1} << 10;
    else if (suffix == "M" || suffix == "m" || suffix == "MiB")
        scale = usize{1} << 20;
    else if (suffix == "G" || suffix == "g" || suffix == "GiB")
        scale = usize{1} << 30;
    else if (!suffix.empty())
        return false;
    if (value > (usize{1} << 40) / scale)
        return false;
    out = value * scale;
    return true;
}

std::string parse_options(int argc, char** argv, Options& out)
{
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--") {
            for (++i; i < argc; ++i)
                out.app_args.emplace_back(argv[i]);
            break;
        }
        if (!arg.starts_with("-")) {
            out.app_args.emplace_back(arg);
            continue;
        }
        std::string_view name = arg;
        std::string_view value;
        bool has_inline_value = false;
        if (auto equals = arg.find('='); equals != std::string_view::npos) {
            name = arg.substr(0, equals);
            value = arg.substr(equals + 1);
            has_inline_value = true;
        }
        auto spec = std::find_if(std::begin(option_specs), std::end(option_specs),
                                 [&](const OptionSpec& s) { return name == s.name; });
        if (spec == std::end(option_specs))
            return "unknown option '" + std::string(name) + "'" + suggestion(name) +
                   "; app arguments go after '--'";
        if (spec->takes_value && !has_inline_value) {
            if (i + 1 >= argc)
                return std::string(name) + " needs a value";
            value = argv[++i];
        }
        if (auto error = apply(out, name, value); !error.empty())
            return error;
    }
    return {};
}

std::string usage(std::string_view program)
{
    std::string text = "usage: " + std::string(program) + " [options] [-- app arguments]\n";
    text += R"(
Runs the unikernel app as an ordinary Linux process.

options:
  --mem SIZE          memory for the kernel's page allocator (default 64M;
                      suffixes K, M, G). Reserved lazily: unused pages cost nothing.
  --trace FILE        write a binary trace (read it with 'gantry trace dump FILE')
  --log-level LEVEL   debug, info, warn or error (default info)
  --log-rate N        at most N log lines per second, the rest dropped and
                      counted (default 1000; 0: no limit)
  --net user[,hostfwd=tcp:127.0.0.1:8080-:80,...]
                      user-mode networking (libslirp), no privileges needed:
                      the unikernel is 10.0.2.15/24 behind a NAT at 10.0.2.2;
                      hostfwd forwards host ports (tcp: or udp:) to it
  --net tap,ifname=IF[,offload=off]
                      attach the NIC to an existing tap device; create one
                      without root for later runs with
                        sudo ip tuntap add dev IF mode tap user $USER
                      offload=off: no vnet_hdr (checksum offload and TSO are
                      on by default)
  --net socket,udp=HOST:PORT,localaddr=HOST:PORT | --net socket,mcast=GROUP:PORT
                      a virtual LAN over UDP with QEMU's -netdev socket framing
                      (one frame per datagram), shared with other unikernels
                      and QEMU guests; no privileges needed
  --ip A.B.C.D/N      the interface's address and prefix (default prefix 24)
  --gw A.B.C.D        default gateway
  --dhcp              get address, prefix, gateway and DNS server by DHCP
  --dns A.B.C.D       DNS server for name lookups (a DHCP lease's replace it)
  --mac XX:XX:..      the NIC's MAC (default: derived from the ifname)
  --pcap FILE         capture every frame the NIC sends and receives (pcap, ns)
  --net-faults SPEC   impair the NIC in both directions, e.g. loss=5%,delay=10ms,
                      jitter=2ms,dup=1%,reorder=2%,corrupt=0.1%,seed=N
  --record FILE       record every input from the platform (clock, entropy,
                      frames, Ctrl-C) so 'gantry replay-run FILE' re-executes
                      this run exactly (docs/replay.md)
  --disk FILE[,ro]    attach FILE (a size multiple of 512) as the next block
                      device (disk 0, 1, ...); flushes are fdatasync; ,ro
                      attaches it read-only. Make one with truncate -s 64M FILE,
                      or a file-system image with 'gantry mkimage'
  --virtio            drive the NIC and the disks through the image's virtio-net
                      and virtio-blk drivers, against in-process virtio device
                      models backed by the same tap/user/socket NIC and files
                      (tests the drivers without a hypervisor; docs/hypervisors.md)
  -h, --help          show this help
  --version           print the Gantry version

Ctrl-C (SIGINT) or SIGTERM asks the app to stop; a second one stops it at once.
Exit status: the app's own exit code; 2 for bad options; 70 if the kernel could
not boot.
)";
    return text;
}

} // namespace gantry::hosted
