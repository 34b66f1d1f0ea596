#include "traps.hpp"

#include "cpu.hpp"
#include "power.hpp"
#include "serial.hpp"

extern "C" const gantry::u64 gantry_x86_exception_stubs[32];
extern "C" char gantry_x86_wakeup_interrupt[];
extern "C" char gantry_x86_spurious_interrupt[];

namespace gantry::x86 {

// Saved by exceptions.S (general registers, in reverse push order), then the
// vector and error code it pushes, then what the CPU pushes.
struct ExceptionFrame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vector, error_code;
    u64 rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(ExceptionFrame) == 22 * 8);

namespace {

struct [[gnu::packed]] DescriptorPointer {
    u16 limit;
    u64 base;
};

struct [[gnu::packed]] TaskStateSegment {
    u32 reserved0;
    u64 rsp[3];
    u64 reserved1;
    u64 ist[7];
    u64 reserved2;
    u16 reserved3;
    u16 io_map_base;
};
static_assert(sizeof(TaskStateSegment) == 104);

struct IdtGate {
    u16 offset_low;
    u16 selector;
    u8 ist;
    u8 type_attributes;
    u16 offset_middle;
    u32 offset_high;
    u32 reserved;
};
static_assert(sizeof(IdtGate) == 16);

constexpr u16 selector_code = 0x08;
constexpr u16 selector_tss = 0x18;
constexpr u8 gate_interrupt_present = 0x8e;
constexpr u8 exception_ist = 1; // every exception runs on its own known-good stack
constexpr usize exception_stack_bytes = 16 * 1024;
constexpr usize exception_vectors = 32;
constexpr usize idt_vectors = 256;

// Boot-time CPU tables. They must live at fixed addresses for the CPU, so they are
// static storage in this platform file (never in the portable core). Written once
// by traps_init(); afterwards only the CPU writes them (the TSS busy bit).
alignas(16) u64 g_gdt[5];
alignas(16) TaskStateSegment g_tss;
alignas(16) IdtGate g_idt[idt_vectors];
alignas(16) u8 g_exception_stack[exception_stack_bytes];
u64 g_backtrace_low = 1024 * 1024;
u64 g_backtrace_high = 64 * 1024 * 1024;
// A fault inside the fault handler must not recurse: the second one just exits.
bool g_in_exception = false;

constexpr const char* exception_names[exception_vectors] = {
    "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range exceeded",
    "invalid opcode", "device not available", "double fault", "coprocessor overrun",
    "invalid TSS", "segment not present", "stack fault", "general protection",
    "page fault", "reserved", "x87 floating point", "alignment check", "machine check",
    "SIMD floating point", "virtualization", "control protection", "reserved",
    "reserved", "reserved", "reserved", "reserved", "reserved", "hypervisor injection",
    "VMM communication", "security", "reserved"};

void install_gdt_and_tss()
{
    g_tss.ist[exception_ist - 1] = reinterpret_cast<u64>(g_exception_stack + exception_stack_bytes);
    g_tss.io_map_base = sizeof(TaskStateSegment);
    const u64 base = reinterpret_cast<u64>(&g_tss);
    const u64 limit = sizeof(TaskStateSegment) - 1;
    g_gdt[0] = 0;
    g_gdt[1] = 0x00af9a000000ffff; // 64-bit code, same as boot.S
    g_gdt[2] = 0x00cf92000000ffff; // data
    // 64-bit available TSS descriptor (type 0x9, present): two slots.
    g_gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (u64{0x89} << 40) |
               (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    g_gdt[4] = base >> 32;
    const DescriptorPointer pointer = {sizeof(g_gdt) - 1, reinterpret_cast<u64>(g_gdt)};
    // The selectors keep their values, so the loaded segment registers stay valid.
    asm volatile("lgdt %0" : : "m"(pointer));
    asm volatile("ltr %0" : : "r"(selector_tss));
}

IdtGate gate(u64 handler, u8 ist)
{
    return IdtGate{static_cast<u16>(handler), selector_code, ist, gate_interrupt_present,
                   static_cast<u16>(handler >> 16), static_cast<u32>(handler >> 32), 0};
}

void install_idt()
{
    for (usize vector = 0; vector < exception_vectors; ++vector)
        g_idt[vector] = gate(gantry_x86_exception_stubs[vector], exception_ist);
    const DescriptorPointer pointer = {sizeof(g_idt) - 1, reinterpret_cast<u64>(g_idt)};
    asm volatile("lidt %0" : : "m"(pointer));
}

void print_register(std::string_view name, u64 value)
{
    serial_write(name);
    serial_write(" 0x");
    serial_write_hex(value);
}

void print_registers(const ExceptionFrame& f)
{
    print_register("rip", f.rip), print_register("  rsp", f.rsp);
    print_register("  rflags", f.rflags), serial_write("\n");
    print_register("cr2", read_cr2()), print_register("  cr3", read_cr3());
    print_register("  cs", f.cs), print_register("  ss", f.ss), serial_write("\n");
    print_register("rax", f.rax), print_register("  rbx", f.rbx);
    print_register("  rcx", f.rcx), print_register("  rdx", f.rdx), serial_write("\n");
    print_register("rsi", f.rsi), print_register("  rdi", f.rdi);
    print_register("  rbp", f.rbp), print_register("  r8 ", f.r8), serial_write("\n");
    print_register("r9 ", f.r9), print_register("  r10", f.r10);
    print_register("  r11", f.r11), print_register("  r12", f.r12), serial_write("\n");
    print_register("r13", f.r13), print_register("  r14", f.r14);
    print_register("  r15", f.r15), serial_write("\n");
}

bool plausible_frame(u64 rbp)
{
    return rbp % 8 == 0 && rbp >= g_backtrace_low && rbp + 16 <= g_backtrace_high;
}

} // namespace

void install_wakeup_vectors()
{
    // On the interrupted stack (no IST): they fire only inside idle's hlt.
    g_idt[vector_wakeup] = gate(reinterpret_cast<u64>(gantry_x86_wakeup_interrupt), 0);
    g_idt[vector_spurious] = gate(reinterpret_cast<u64>(gantry_x86_spurious_interrupt), 0);
}

void traps_init()
{
    install_gdt_and_tss();
    install_idt();
}

void set_backtrace_bounds(u64 low, u64 high)
{
    g_backtrace_low = low;
    g_backtrace_high = high;
}

void print_backtrace(u64 first_address, u64 rbp)
{
    serial_write("backtrace (symbolize with addr2line -e <image>.elf):\n");
    serial_write("  #0 0x");
    serial_write_hex(first_address);
    serial_write("\n");
    for (usize frame = 0; frame < backtrace_frames_max && plausible_frame(rbp); ++frame) {
        const u64* slots = reinterpret_cast<const u64*>(rbp);
        const u64 return_address = slots[1];
        if (return_address == 0)
            break;
        serial_write("  #");
        serial_write_decimal(frame + 1);
        serial_write(" 0x");
        serial_write_hex(return_address);
        serial_write("\n");
        // Frames grow towards lower addresses: a caller's frame is always higher,
        // which also guarantees the walk ends on a corrupt chain.
        if (slots[0] <= rbp)
            break;
        rbp = slots[0];
    }
}

} // namespace gantry::x86

extern "C" [[noreturn]] void gantry_x86_exception(const gantry::x86::ExceptionFrame* frame)
{
    using namespace gantry::x86;
    if (g_in_exception)
        power_off(debug_exit_value_panic);
    g_in_exception = true;
    serial_write("\n*** CPU exception ");
    serial_write_decimal(frame->vector);
    serial_write(" (");
    serial_write(frame->vector < exception_vectors ? exception_names[frame->vector] : "?");
    serial_write(") error code 0x");
    serial_write_hex(frame->error_code, 8);
    serial_write("\n");
    print_registers(*frame);
    print_backtrace(frame->rip, frame->rbp);
    power_off(debug_exit_value_panic);
}
