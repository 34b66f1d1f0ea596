// Building a QEMU command line for an app's image: shared by `gantry boot` and
// `gantry replay --target vm`, so a replay boots the image exactly as a user
// would (docs/hypervisors.md). Bad input (no image, no QEMU, a bad --net
// spec) is a CommandError.
#pragma once

#include <string>
#include <vector>

namespace gantry::harness {

bool is_file(const std::string& path);

// build/images/, found from this binary (build/bin/gantry).
std::string images_dir();

// An app name (build/images/APP.elf) or a path to an image.
std::string resolve_image(const std::string& target);

// qemu-system-x86_64 from PATH.
std::string find_qemu();

// -netdev/-device for a `--net KIND,...` spec (user, tap or socket). `mac`
// (XX:XX:XX:XX:XX:XX) sets the NIC's address; empty keeps QEMU's default.
std::vector<std::string> net_arguments(const std::string& spec, bool pci,
                                       const std::string& mac = {});

// -drive/-device for `--disk FILE[,ro]` specs, disk 0 first.
std::vector<std::string> disk_arguments(const std::vector<std::string>& disks, bool pci);

// The whole command: the machine, no defaults, serial console on stdio,
// isa-debug-exit for the exit code, the image, then `extra`.
std::vector<std::string> qemu_command(const std::string& qemu, const std::string& accel,
                                      const std::string& mem, const std::string& image,
                                      const std::vector<std::string>& extra,
                                      const std::string& machine = "microvm");

} // namespace gantry::harness
