// QEMU command lines for app images (qemu.hpp).
#include "qemu.hpp"

#include "command.hpp"

#include <climits>
#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace gantry::harness {

bool is_file(const std::string& path)
{
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

// build/images/, found from this binary (build/bin/gantry) so `gantry boot hello`
// works from any directory.
std::string images_dir()
{
    std::vector<char> buffer(4096);
    ssize_t length = ::readlink("/proc/self/exe", buffer.data(), buffer.size() - 1);
    if (length <= 0)
        return "images";
    std::string exe(buffer.data(), static_cast<std::size_t>(length));
    std::string dir = exe.substr(0, exe.rfind('/')) + "/../images";
    char* canonical = ::realpath(dir.c_str(), nullptr);
    if (canonical == nullptr)
        return dir;
    std::string result = canonical;
    std::free(canonical);
    return result;
}

std::string resolve_image(const std::string& target)
{
    bool is_path = target.find('/') != std::string::npos || target.ends_with(".elf");
    std::string path = is_path ? target : images_dir() + "/" + target + ".elf";
    if (!is_file(path))
        throw CommandError(is_path ? "image " + path + " does not exist"
                                   : "no image for app '" + target + "' (" + path + ")",
                           "build it with cmake --build --preset dev");
    return path;
}

std::string find_qemu()
{
    const char* path_env = std::getenv("PATH");
    std::string paths = path_env ? path_env : "/usr/bin:/bin";
    std::size_t begin = 0;
    while (begin <= paths.size()) {
        std::size_t end = paths.find(':', begin);
        if (end == std::string::npos)
            end = paths.size();
        std::string candidate = paths.substr(begin, end - begin) + "/qemu-system-x86_64";
        if (end > begin && ::access(candidate.c_str(), X_OK) == 0)
            return candidate;
        begin = end + 1;
    }
    throw CommandError("qemu-system-x86_64 is not installed (or not on PATH)",
                       "apt-get install qemu-system-x86");
}

// -netdev/-device for --net: the kind QEMU knows, our id, and the defaults a
// tap needs: no scripts, and a vnet header, so QEMU offers the driver checksum
// and segmentation offload (vnet_hdr=off: plain frames, the driver does both).
std::vector<std::string> net_arguments(const std::string& spec, bool pci, const std::string& mac)
{
    std::string kind = spec.substr(0, spec.find(','));
    if (kind != "user" && kind != "tap" && kind != "socket")
        throw CommandError("--net: unknown kind '" + kind + "'",
                           "use user[,hostfwd=...], tap,ifname=IF or socket,...");
    std::string netdev = kind + ",id=net0" + spec.substr(kind.size());
    if (spec.find(",id=") != std::string::npos)
        throw CommandError("--net: do not give an id (gantry names the NIC net0)");
    if (kind == "tap") {
        if (spec.find("ifname=") == std::string::npos)
            throw CommandError("--net tap needs ifname=IF", "e.g. --net tap,ifname=gt0");
        // Defaults, unless the user set the key: no scripts, a vnet header.
        for (const auto& [key, value] : {std::pair{"script=", "no"}, {"downscript=", "no"},
                                         {"vnet_hdr=", "on"}})
            if (spec.find(std::string(",") + key) == std::string::npos)
                netdev += std::string(",") + key + value;
    }
    // romfile=: no iPXE option ROM (the image boots directly, and it would
    // slow SeaBIOS down).
    std::string device =
        pci ? "virtio-net-pci,netdev=net0,romfile=" : "virtio-net-device,netdev=net0";
    if (!mac.empty())
        device += ",mac=" + mac;
    return {"-netdev", netdev, "-device", device};
}

std::vector<std::string> disk_arguments(const std::vector<std::string>& disks, bool pci)
{
    std::vector<std::string> arguments;
    for (std::size_t i = 0; i < disks.size(); ++i) {
        std::string file = disks[i];
        bool read_only = false;
        if (file.ends_with(",ro")) {
            read_only = true;
            file.resize(file.size() - 3);
        }
        if (file.find(',') != std::string::npos)
            throw CommandError("--disk " + disks[i] + ": a comma in a file name, or an "
                               "option other than ,ro", "rename the file");
        if (!is_file(file))
            throw CommandError("--disk: " + file + " does not exist or is not a file",
                               "create it first, e.g. truncate -s 16M " + file);
        std::string id = "disk" + std::to_string(i);
        arguments.insert(arguments.end(),
                         {"-drive", "file=" + file + ",if=none,id=" + id + ",format=raw" +
                                        (read_only ? ",readonly=on" : ""),
                          "-device", std::string(pci ? "virtio-blk-pci" : "virtio-blk-device") +
                                         ",drive=" + id});
    }
    return arguments;
}

std::vector<std::string> qemu_command(const std::string& qemu, const std::string& accel,
                                      const std::string& mem, const std::string& image,
                                      const std::vector<std::string>& extra,
                                      const std::string& machine)
{
    std::vector<std::string> command = {
        qemu, "-M", machine, "-accel", accel, "-m", mem, "-nodefaults", "-no-user-config",
        "-nographic", "-no-reboot", "-serial", "stdio", "-device",
        "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", image};
    // QEMU 7.2 still defaults virtio-mmio to the legacy interface; the drivers
    // speak virtio 1.x only.
    if (machine == "microvm")
        command.insert(command.end(), {"-global", "virtio-mmio.force-legacy=false"});
    command.insert(command.end(), extra.begin(), extra.end());
    return command;
}

} // namespace gantry::harness
