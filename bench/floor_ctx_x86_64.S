/* floor_ctx_x86_64.S - the bare x86-64 System V stack switch of floor.c
 * (see floor_ctx.h for why the floor has its own). MIT licensed.
 *
 * The least a switch can do: push the six callee-saved registers, store
 * %rsp, load the other context's, pop its six and return into it. The
 * caller-saved registers need nothing: the compiler assumes the call
 * clobbers them. The SSE and x87 control words are left alone, as the
 * floor of a switch between contexts of one thread.
 *
 * A new context's stack (laid out by floor.c) holds six zero registers
 * and then its entry address, so the first switch to it "returns" into
 * its entry function.
 *
 * Assembled on every machine (CMake adds it unconditionally) but empty
 * off x86-64: floor_ctx.h's test of the same macro then turns the rows off.
 */
#if defined(__x86_64__)
    .text

/* void floor_ctx_switch(floor_ctx *from, floor_ctx *to) */
    .globl  floor_ctx_switch
    .type   floor_ctx_switch, @function
    .p2align 4
floor_ctx_switch:
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    movq    %rsp, (%rdi)
    movq    (%rsi), %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    ret
    .size   floor_ctx_switch, .-floor_ctx_switch
#endif

    .section .note.GNU-stack,"",@progbits
