// The kernel command line of an image (PVH start info; QEMU's -append): the
// same kernel options as a hosted app's command line, then `--` and the app's
// own arguments, e.g.
//
//     --ip 10.0.0.2/24 --gw 10.0.0.1 --trace -- --port 80
//
// plus the `virtio_mmio.device=SIZE@ADDRESS:IRQ` entries VMMs append to say
// where their virtio-mmio devices are (QEMU microvm, Firecracker); those are
// taken out wherever they appear.
#pragma once

#include <gantry/kernel.hpp>
#include <gantry/types.hpp>

namespace gantry::x86 {

struct MmioDeviceEntry {
    u64 address;
    u64 bytes;
    u32 irq; // the I/O APIC input of its interrupt line; irq_none if not given
};
inline constexpr u32 irq_none = ~u32{0};

struct BootArgs {
    static constexpr usize text_bytes_max = 2048;
    static constexpr usize app_args_max = 32;
    static constexpr usize mmio_devices_max = 8;

    char text[text_bytes_max]; // a copy: the start info's page is unmapped later
    usize text_bytes = 0;

    net::Ipv4Address ip;
    u8 prefix = 24;
    net::Ipv4Address gateway;
    net::Ipv4Address dns;
    bool dhcp = false;
    bool trace = false; // --trace: the binary trace goes out on COM2
    LogLevel log_level = LogLevel::info;
    std::string_view app_args[app_args_max];
    usize app_arg_count = 0;
    MmioDeviceEntry mmio_devices[mmio_devices_max];
    usize mmio_device_count = 0;

    // Set when parsing failed: what is wrong, for the console.
    std::string_view error;
    std::string_view error_token;
};

// Copies `text` (NUL-terminated, from the VMM; nullptr for none) and parses it.
void parse_boot_args(const char* text, BootArgs& out);

} // namespace gantry::x86
