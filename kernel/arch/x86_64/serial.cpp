#include "serial.hpp"

#include "cpu.hpp"

namespace gantry::x86 {
namespace {

constexpr u16 com1 = 0x3f8;
constexpr u16 com2 = 0x2f8;
constexpr u16 reg_scratch = 7;
constexpr u16 reg_data = 0;             // divisor low byte when DLAB is set
constexpr u16 reg_interrupt_enable = 1; // divisor high byte when DLAB is set
constexpr u16 reg_fifo_control = 2;
constexpr u16 reg_line_control = 3;
constexpr u16 reg_modem_control = 4;
constexpr u16 reg_line_status = 5;
constexpr u8 line_status_transmit_empty = 0x20;
// A VMM's UART drains immediately; the bound keeps a missing UART from hanging us.
constexpr u32 transmit_spins_max = 100'000;

void put_byte(u16 port, u8 byte)
{
    for (u32 spin = 0; spin < transmit_spins_max; ++spin) {
        if (inb(port + reg_line_status) & line_status_transmit_empty)
            break;
        pause();
    }
    outb(port + reg_data, byte);
}

void put_byte(u8 byte) { put_byte(com1, byte); }

void init_port(u16 port)
{
    outb(port + reg_interrupt_enable, 0x00); // polling only
    outb(port + reg_line_control, 0x80);     // DLAB: next two writes set the divisor
    outb(port + reg_data, 0x01);             // 115200 baud
    outb(port + reg_interrupt_enable, 0x00);
    outb(port + reg_line_control, 0x03);     // 8 data bits, no parity, 1 stop bit
    outb(port + reg_fifo_control, 0xc7);     // FIFO on, cleared
    outb(port + reg_modem_control, 0x03);    // DTR + RTS
}

} // namespace

void serial_init() { init_port(com1); }

bool trace_port_init()
{
    // An absent UART reads back 0xff: a present one keeps what is written to
    // its scratch register.
    for (u8 probe : {u8{0x5a}, u8{0xa5}}) {
        outb(com2 + reg_scratch, probe);
        if (inb(com2 + reg_scratch) != probe)
            return false;
    }
    init_port(com2);
    return true;
}

void trace_port_write(Bytes bytes)
{
    for (u8 byte : bytes)
        put_byte(com2, byte);
}

void serial_write(std::string_view text)
{
    // CR before LF: QEMU puts a terminal on -serial stdio in raw mode, where a bare
    // LF would staircase. Tests strip the CRs.
    for (char c : text) {
        if (c == '\n')
            put_byte('\r');
        put_byte(static_cast<u8>(c));
    }
}

void serial_write_hex(u64 value, usize digits)
{
    char text[16];
    if (digits > 16)
        digits = 16;
    for (usize i = 0; i < digits; ++i) {
        text[digits - 1 - i] = "0123456789abcdef"[value & 0xf];
        value >>= 4;
    }
    serial_write({text, digits});
}

void serial_write_decimal(u64 value)
{
    char text[20];
    usize length = 0;
    do {
        text[sizeof(text) - 1 - length] = static_cast<char>('0' + value % 10);
        value /= 10;
        ++length;
    } while (value != 0);
    serial_write({text + sizeof(text) - length, length});
}

} // namespace gantry::x86
