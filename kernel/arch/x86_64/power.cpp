#include "power.hpp"

#include "cpu.hpp"

namespace gantry::x86 {
namespace {

constexpr u16 debug_exit_port = 0xf4;
constexpr u16 i8042_command_port = 0x64;
constexpr u8 i8042_pulse_reset = 0xfe;

[[noreturn]] void triple_fault()
{
    // An empty IDT turns the breakpoint into a triple fault: the CPU resets, and
    // a VMM run without reboot (QEMU -no-reboot) stops.
    struct [[gnu::packed]] {
        u16 limit;
        u64 base;
    } empty_idt = {0, 0};
    asm volatile("lidt %0; int3" : : "m"(empty_idt));
    for (;;)
        halt();
}

} // namespace

void power_off(u32 debug_exit_value)
{
    disable_interrupts();
    outl(debug_exit_port, debug_exit_value);
    outb(i8042_command_port, i8042_pulse_reset);
    triple_fault();
}

} // namespace gantry::x86
