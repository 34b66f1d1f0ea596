// Ending the VM. On QEMU the isa-debug-exit device (-device
// isa-debug-exit,iobase=0xf4,iosize=0x04) makes QEMU exit with status
// (value << 1) | 1, so the status is always odd and 0 never means success:
//
//   app exit code c in [0, 126]  -> value c   -> QEMU status 2c + 1 (0 -> 1, 1 -> 3)
//   any other app exit code      -> value 126 -> QEMU status 253
//   panic or CPU exception       -> value 127 -> QEMU status 255
//
// Without the device (Firecracker, Cloud Hypervisor) the write is ignored: we then
// pulse the i8042 reset line, which Firecracker documents as its shutdown, and
// finally triple-fault, which ends QEMU run with -no-reboot (status 0).
#pragma once

#include <gantry/types.hpp>

namespace gantry::x86 {

inline constexpr u32 debug_exit_value_max_app = 126;
inline constexpr u32 debug_exit_value_panic = 127;

// The isa-debug-exit value for an app's exit code (see the table above).
constexpr u32 debug_exit_value(int app_code)
{
    if (app_code < 0 || static_cast<u32>(app_code) > debug_exit_value_max_app)
        return debug_exit_value_max_app;
    return static_cast<u32>(app_code);
}

[[noreturn]] void power_off(u32 debug_exit_value);

} // namespace gantry::x86
