// The boot entry of an app image: boot.S calls gantry_x86_entry in long mode on
// the boot stack. It sets up the CPU, reads the memory map, calibrates the clock,
// then runs the same kernel core and app as the hosted and simulated platforms,
// and powers off with the app's exit code (power.hpp has the mapping).

#include "apic.hpp"
#include "clock.hpp"
#include "cmdline.hpp"
#include "devices.hpp"
#include "cpu.hpp"
#include "image_app.hpp"
#include "paging.hpp"
#include "platform.hpp"
#include "power.hpp"
#include "pvh.hpp"
#include "runtime.hpp"
#include "serial.hpp"
#include "traps.hpp"

#include <gantry/app.hpp>
#include <gantry/kernel.hpp>

namespace gantry::x86 {
namespace {

constexpr std::string_view platform_name = "x86_64-pvh";
constexpr u64 mib = 1024 * 1024;
// The boot stack is 64 KiB (boot.S); the kernel instance lives on it.
static_assert(sizeof(Kernel) <= 16 * 1024);

[[noreturn]] void fail(std::string_view what, std::string_view why)
{
    serial_write("gantry: ");
    serial_write(what);
    serial_write(": ");
    serial_write(why);
    serial_write("\n");
    power_off(debug_exit_value_panic);
}

// CPU tables and memory map; everything the loader left in low memory is read
// before page 0 is unmapped.
BootMemory set_up_machine(u64 start_info_address, BootArgs& args)
{
    run_static_constructors();
    serial_init();
    traps_init();
    BootMemory memory = read_boot_memory(start_info_address);
    parse_boot_args(read_boot_cmdline(start_info_address), args);
    unmap_null_page();
    if (!memory.valid)
        fail("boot", "no PVH start info with a memory map (boot with a PVH loader)");
    const u64 mapped_end = 4096 * mib;
    set_backtrace_bounds(mib, memory.ram_top < mapped_end ? memory.ram_top : mapped_end);
    return memory;
}

void print_banner(Kernel& kernel, const BootMemory& memory, TscClock& clock,
                  BareMetalPlatform& platform)
{
    kernel.print("gantry: {} image, app {}, {} MiB RAM in {} regions\n", platform_name,
                 image_app_name(), memory.ram_bytes / mib, memory.region_count);
    kernel.print("gantry: TSC {} kHz ({}), entropy {}\n", clock.frequency_hz() / 1000,
                 describe(clock.source()),
                 platform.has_rdrand() ? "rdrand" : "TSC-mixed (weak: no rdrand)");
}

void print_devices(Kernel& kernel, Devices& devices, Interrupts& interrupts)
{
    kernel.print("gantry: idle {}\n",
                 !interrupts.ready()                   ? "spins (no local APIC)"
                 : devices.all_interrupt_driven()      ? "halts until the APIC timer or a device interrupt"
                                                       : "spins (a device has no interrupt line)");
    if (Nic* nic = devices.nic()) {
        char mac[net::MacAddress::text_bytes_max];
        nic->mac().to_chars(mac);
        kernel.print("gantry: virtio-net {}\n", std::string_view(mac));
    }
    for (usize i = 0; i < devices.disk_count(); ++i) {
        const BlockInfo info = devices.disk(i)->info();
        kernel.print("gantry: virtio-blk {}: {} sectors{}\n", i, info.sector_count,
                     info.read_only ? " (read-only)" : "");
    }
}

KernelConfig config_from(const BootArgs& args)
{
    KernelConfig config;
    config.app_name = image_app_name();
    config.platform_name = platform_name;
    config.log_level = args.log_level;
    config.ip = args.ip;
    config.prefix = args.prefix;
    config.gateway = args.gateway;
    config.dns = args.dns;
    config.dhcp = args.dhcp ? NetDhcp::on : NetDhcp::off;
    config.trace = args.trace;
    // A VM is often stopped by killing it: the trace must not sit in a buffer.
    config.trace_flush_when_idle = args.trace;
    // A virtio-blk read is a round trip through QEMU's main loop and I/O thread
    // (0.2-4 ms under TCG); reading the first 16 KiB while the network starts
    // hides it from an app's first reads (httpd's superblock and index).
    config.disk_read_ahead_bytes = 16 * 1024;
    return config;
}

[[noreturn]] void boot_and_run(u64 origin_tsc, u64 start_info_address)
{
    // The clock's calibration window spans the rest of the machine's set-up.
    TscClock clock;
    clock.begin_calibration(origin_tsc);
    BootArgs args;
    BootMemory memory = set_up_machine(start_info_address, args);
    if (!args.error.empty()) {
        serial_write("gantry: kernel command line: ");
        serial_write(args.error);
        serial_write(args.error_token.empty() ? "" : ": ");
        fail(args.error_token, "fix the command line (QEMU -append, gantry boot --append)");
    }
    Interrupts interrupts;
    const bool apic = interrupts.init();
    Devices devices;
    devices.start(args, memory, interrupts);
    clock.finish_calibration();
    if (!apic || !interrupts.calibrate_timer(clock))
        serial_write("gantry: no usable local APIC: idle spins instead of halting\n");
    const TimeNs machine_ready = clock.ticks_to_ns(rdtsc() - origin_tsc);
    BareMetalPlatform platform(clock, memory, devices, interrupts);
    if (args.trace && !platform.enable_trace_port())
        serial_write("gantry: --trace: no second serial port (COM2) for the trace; "
                     "none is written\n");
    if (args.trace) {
        // A trace file starts with the format's header; the records follow.
        u8 header[trace_file_header_bytes];
        Tracer::encode_file_header(header);
        platform.trace_sink_write(Bytes(header, sizeof(header)));
    }

    Kernel kernel(platform, config_from(args));
    print_banner(kernel, memory, clock, platform);
    print_devices(kernel, devices, interrupts);
    // Time zero is the image's first C++ instruction: the phase covers CPU set-up,
    // the memory map, the clock calibration and starting the devices.
    kernel.record_phase("machine", 0, machine_ready);

    if (auto booted = kernel.boot(); !booted.ok())
        fail("kernel boot failed", describe(booted.error()));
    App* app = create_image_app(kernel);
    if (!app)
        fail("app", "out of memory creating the app");
    if (!kernel.start_app(*app, AppArgs{{args.app_args, args.app_arg_count}}).ok())
        fail("app", "out of memory starting the app");
    const int code = run(kernel);
    kernel.print("gantry: app {} exited with code {}\n", image_app_name(), code);
    kernel.trace().flush();
    power_off(debug_exit_value(code));
}

} // namespace
} // namespace gantry::x86

extern "C" [[noreturn]] void gantry_x86_entry(gantry::u32 start_info_address)
{
    // Read first: time zero of the platform clock is as close to the VMM's jump
    // into the image as C++ gets.
    const gantry::u64 origin_tsc = gantry::x86::rdtsc();
    gantry::x86::boot_and_run(origin_tsc, start_info_address);
}
