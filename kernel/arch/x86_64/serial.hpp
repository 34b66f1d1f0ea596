// COM1 (8250/16550 UART at I/O port 0x3f8), written by polling: no interrupts,
// so it works from the first instruction of C++ to the last line of a panic.
#pragma once

#include <gantry/types.hpp>

namespace gantry::x86 {

void serial_init();
void serial_write(std::string_view text);

// COM2 (0x2f8) carries the binary trace (QEMU: a second -serial file:TRACE).
// False when the VM has no second UART.
bool trace_port_init();
void trace_port_write(Bytes bytes);

// For the register dump, which must not depend on the kernel's formatter.
void serial_write_hex(u64 value, usize digits = 16);
void serial_write_decimal(u64 value);

} // namespace gantry::x86
