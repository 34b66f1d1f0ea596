// Fiber context switch (the once-per-target seam of gantry/arch/context.hpp).
// A suspended context is its stack pointer; the stack holds the callee-saved
// registers of the System V ABI plus MXCSR and the x87 control word, which the ABI
// also asks callees to preserve. Layout from the saved stack pointer upwards:
//   [0] mxcsr (4 bytes)  [4] x87 control word (2 bytes)
//   [8] r15  [16] r14  [24] r13  [32] r12  [40] rbx  [48] rbp  [56] return address
// context.cpp builds the same layout for a new context, with the entry function in
// the rbx slot and gantry_x86_context_start as the return address.

    .text
// ContextTransfer gantry_x86_switch(void* to, void* data): returns {from, data}
// in rax:rdx, both to the resumed switch call and to a new context's start.
    .globl gantry_x86_switch
    .type gantry_x86_switch, @function
gantry_x86_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)

    movq %rsp, %rax
    movq %rdi, %rsp

    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    movq %rsi, %rdx
    ret
    .size gantry_x86_switch, . - gantry_x86_switch

// First instructions of a new context: entry(ContextTransfer{from, data}). The
// stack is 16-byte aligned here, as the call needs; rbp is 0 so backtraces stop.
    .globl gantry_x86_context_start
    .type gantry_x86_context_start, @function
gantry_x86_context_start:
    movq %rax, %rdi
    movq %rdx, %rsi
    call *%rbx
    call gantry_x86_context_returned
    ud2
    .size gantry_x86_context_start, . - gantry_x86_context_start

    .section .note.GNU-stack, "", @progbits
