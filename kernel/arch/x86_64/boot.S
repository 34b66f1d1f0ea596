// PVH entry: the VMM (QEMU -kernel, Firecracker, Cloud Hypervisor) loads this ELF,
// finds the XEN_ELFNOTE_PHYS32_ENTRY note and enters pvh_start32 in 32-bit
// protected mode with paging off, interrupts off and %ebx = physical address of
// the hvm_start_info. We zero .bss, identity-map the first 4 GiB (2 MiB pages,
// except 4 KiB pages for the first 2 MiB so that paging.cpp can later unmap page
// 0 and make null dereferences fault), switch to long mode, enable SSE (the
// compiler emits SSE everywhere) and call gantry_x86_entry(start_info) on the
// boot stack.

#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)
#define CR0_TS (1 << 3)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define EFER_MSR 0xc0000080
#define EFER_LME (1 << 8)

#define PAGE_PRESENT_WRITABLE 0x3
#define PAGE_HUGE 0x80
#define BOOT_STACK_BYTES (64 * 1024)

// The note's alignment must stay 4: QEMU locates the descriptor by rounding the
// name size up to the PT_NOTE segment's alignment.
    .section .note.pvh, "a", @note
    .balign 4
    .long 4                      // name size ("Xen\0")
    .long 8                      // descriptor size
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .balign 4
    .quad pvh_start32            // 64-bit: QEMU reads 8 bytes on an ELF64 image
    .balign 4

    .section .boot.text, "ax", @progbits
    .code32
    .globl pvh_start32
pvh_start32:
    cld
    movl %ebx, %esi              // keep start_info across the loops below

    // Zero .bss ourselves rather than trusting every loader to do it.
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb

    movl %esi, boot_start_info
    movl $boot_stack_top, %esp

    // PML4[0] -> PDPT, PDPT[0..3] -> four page directories of 2 MiB pages.
    movl $boot_pdpt, %eax
    orl $PAGE_PRESENT_WRITABLE, %eax
    movl %eax, boot_pml4

    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $12, %eax
    addl $boot_page_directories, %eax
    orl $PAGE_PRESENT_WRITABLE, %eax
    movl %eax, boot_pdpt(, %ecx, 8)
    incl %ecx
    cmpl $4, %ecx
    jne 1b

    // The first 2 MiB through 512 small pages.
    xorl %ecx, %ecx
4:  movl %ecx, %eax
    shll $12, %eax
    orl $PAGE_PRESENT_WRITABLE, %eax
    movl %eax, boot_low_page_table(, %ecx, 8)
    incl %ecx
    cmpl $512, %ecx
    jne 4b
    movl $boot_low_page_table, %eax
    orl $PAGE_PRESENT_WRITABLE, %eax
    movl %eax, boot_page_directories

    // Entries 1..2047: entry i maps [i * 2 MiB, (i + 1) * 2 MiB). High halves stay 0.
    movl $1, %ecx
2:  movl %ecx, %eax
    shll $21, %eax
    orl $(PAGE_PRESENT_WRITABLE | PAGE_HUGE), %eax
    movl %eax, boot_page_directories(, %ecx, 8)
    incl %ecx
    cmpl $2048, %ecx
    jne 2b

    movl %cr4, %eax
    orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
    movl %eax, %cr4

    movl $boot_pml4, %eax
    movl %eax, %cr3

    movl $EFER_MSR, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr

    // Paging on (long mode active), FPU/SSE usable: EM and TS clear, MP set.
    movl %cr0, %eax
    andl $~(CR0_EM | CR0_TS), %eax
    orl $(CR0_PG | CR0_MP), %eax
    movl %eax, %cr0

    lgdt boot_gdt_pointer
    ljmp $0x08, $start64

    .code64
start64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs

    fninit
    movq $boot_stack_top, %rsp
    xorl %ebp, %ebp              // ends the frame-pointer chain for backtraces
    movl boot_start_info, %edi
    call gantry_x86_entry
3:  cli
    hlt
    jmp 3b

    .section .rodata
    .balign 16
    .globl boot_gdt
boot_gdt:
    .quad 0                      // null
    .quad 0x00af9a000000ffff     // 0x08: 64-bit code
    .quad 0x00cf92000000ffff     // 0x10: data
boot_gdt_end:
boot_gdt_pointer:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .section .bss
    .balign 4096
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_page_directories:
    .skip 4 * 4096
    .globl boot_low_page_table
boot_low_page_table:
    .skip 4096
    .balign 16
    .globl boot_stack_bottom, boot_stack_top
boot_stack_bottom:
    .skip BOOT_STACK_BYTES
boot_stack_top:
    .balign 8
    .globl boot_start_info
boot_start_info:
    .quad 0

    .section .note.GNU-stack, "", @progbits
