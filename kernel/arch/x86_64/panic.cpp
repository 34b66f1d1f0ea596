// The bare-metal panic seam: print where and why, a backtrace, and end the VM
// with the panic status (power.hpp), so a test sees a failure, never a hang.

#include "power.hpp"
#include "serial.hpp"
#include "traps.hpp"

#include <gantry/assert.hpp>

namespace gantry::arch {

void panic(const char* file, int line, const char* message)
{
    using namespace gantry::x86;
    serial_write("\n*** PANIC at ");
    serial_write(file ? file : "?");
    serial_write(":");
    serial_write_decimal(static_cast<u64>(line < 0 ? 0 : line));
    serial_write(": ");
    serial_write(message ? message : "?");
    serial_write("\n");
    // Frame #0 is the panic's caller; the walk starts at the caller's frame.
    const auto* frame = static_cast<const u64*>(__builtin_frame_address(0));
    print_backtrace(reinterpret_cast<u64>(__builtin_return_address(0)), frame[0]);
    power_off(debug_exit_value_panic);
}

} // namespace gantry::arch
