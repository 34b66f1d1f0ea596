// The trivial image: boot stub, serial line, exit. It measures the VMM's own
// launch-to-exit floor, against which app boot times are reported.

#include "power.hpp"
#include "serial.hpp"

extern "C" [[noreturn]] void gantry_x86_entry(gantry::u32)
{
    gantry::x86::serial_init();
    gantry::x86::serial_write("gantry: trivial image\n");
    gantry::x86::power_off(gantry::x86::debug_exit_value(0));
}
