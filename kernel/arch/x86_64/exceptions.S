// CPU exception entry stubs. Each pushes a dummy error code when the CPU does not
// push one, then its vector, so every exception reaches gantry_x86_exception with
// the same frame layout (ExceptionFrame in traps.cpp). Exceptions are fatal in
// this kernel, so the stubs never return and need not restore anything.

.macro EXCEPTION_NO_ERROR vector
    .balign 16
exception_\vector:
    pushq $0
    pushq $\vector
    jmp exception_common
.endm

.macro EXCEPTION_WITH_ERROR vector
    .balign 16
exception_\vector:
    pushq $\vector
    jmp exception_common
.endm

    .text
EXCEPTION_NO_ERROR 0
EXCEPTION_NO_ERROR 1
EXCEPTION_NO_ERROR 2
EXCEPTION_NO_ERROR 3
EXCEPTION_NO_ERROR 4
EXCEPTION_NO_ERROR 5
EXCEPTION_NO_ERROR 6
EXCEPTION_NO_ERROR 7
EXCEPTION_WITH_ERROR 8
EXCEPTION_NO_ERROR 9
EXCEPTION_WITH_ERROR 10
EXCEPTION_WITH_ERROR 11
EXCEPTION_WITH_ERROR 12
EXCEPTION_WITH_ERROR 13
EXCEPTION_WITH_ERROR 14
EXCEPTION_NO_ERROR 15
EXCEPTION_NO_ERROR 16
EXCEPTION_WITH_ERROR 17
EXCEPTION_NO_ERROR 18
EXCEPTION_NO_ERROR 19
EXCEPTION_NO_ERROR 20
EXCEPTION_WITH_ERROR 21
EXCEPTION_NO_ERROR 22
EXCEPTION_NO_ERROR 23
EXCEPTION_NO_ERROR 24
EXCEPTION_NO_ERROR 25
EXCEPTION_NO_ERROR 26
EXCEPTION_NO_ERROR 27
EXCEPTION_NO_ERROR 28
EXCEPTION_WITH_ERROR 29
EXCEPTION_WITH_ERROR 30
EXCEPTION_NO_ERROR 31

exception_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    cld
    movq %rsp, %rdi
    andq $-16, %rsp
    call gantry_x86_exception
1:  cli
    hlt
    jmp 1b

    .section .rodata
    .balign 8
    .globl gantry_x86_exception_stubs
gantry_x86_exception_stubs:
.irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad exception_\vector
.endr

    .section .note.GNU-stack, "", @progbits

// Wake-up interrupts (apic.hpp): the APIC timer and the devices' lines only end
// a hlt in idle, so the handler just signals end-of-interrupt to the local APIC
// at its default address and returns. The spurious vector needs no EOI.
    .text
    .balign 16
    .global gantry_x86_wakeup_interrupt
gantry_x86_wakeup_interrupt:
    pushq %rax
    movabsq $0xfee000b0, %rax
    movl $0, (%rax)
    popq %rax
    iretq

    .balign 16
    .global gantry_x86_spurious_interrupt
gantry_x86_spurious_interrupt:
    iretq
