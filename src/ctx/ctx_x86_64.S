/* libaq - context switch for x86-64 System V. MIT licensed.
 *
 * A context is just a saved stack pointer: aq__ctx_switch pushes the
 * callee-saved registers on the old stack, stores %rsp, loads the new one
 * and pops the same frame back. The caller-saved registers need no saving:
 * the C compiler already assumes a call clobbers them.
 *
 * It resumes with a plain ret. Every task suspends through the same chain
 * of calls (aq__park or aq_yield, then aq__loop_suspend, then this
 * switch), so the return address the predictor pushed for the task that
 * left is usually the very site the resumed task returns to: measured on
 * these machines, a yield ping-pong costs about 7.5 ns per switch this way
 * against 16 ns when resuming with pop + indirect jmp, which leaves one
 * stale return-stack entry per switch and so a mispredicted ret later.
 *
 * The SSE control/status register and the x87 control word are not
 * switched (saving them cost about 1.7 ns of a 5.4 ns switch): the
 * floating-point environment belongs to the thread, shared by its tasks,
 * as in Go. A task that changes the rounding mode restores it before it
 * next suspends.
 *
 * Frame, from the saved %rsp upwards: r15, r14, r13, r12, rbx, rbp, then
 * the resume address.
 */
    .text

/* void aq__ctx_switch(aq__ctx *from, aq__ctx *to) */
    .globl  aq__ctx_switch
    .hidden aq__ctx_switch
    .type   aq__ctx_switch, @function
    .p2align 4
aq__ctx_switch:
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
    .size   aq__ctx_switch, .-aq__ctx_switch

/* void aq__ctx_make(aq__ctx *c, void *lo, size_t size, void (*entry)(void))
 * Lays out a frame that "resumes" at entry with %rsp = top - 8, as if
 * entry had just been called (the System V ABI wants %rsp + 8 aligned to
 * 16 at a function's first instruction). The fake return address is 0, so
 * a backtrace ends there. */
    .globl  aq__ctx_make
    .hidden aq__ctx_make
    .type   aq__ctx_make, @function
    .p2align 4
aq__ctx_make:
    leaq    (%rsi,%rdx), %rax       /* top = lo + size */
    andq    $-16, %rax
    movq    $0, -8(%rax)            /* fake return address */
    movq    %rcx, -16(%rax)         /* resume address: entry */
    movq    $0, -24(%rax)           /* rbp */
    movq    $0, -32(%rax)           /* rbx */
    movq    $0, -40(%rax)           /* r12 */
    movq    $0, -48(%rax)           /* r13 */
    movq    $0, -56(%rax)           /* r14 */
    movq    $0, -64(%rax)           /* r15 */
    subq    $64, %rax
    movq    %rax, (%rdi)
    ret
    .size   aq__ctx_make, .-aq__ctx_make

/* char *aq__ctx_here(void): the caller's stack pointer, as it is after
 * this call returns (compact.c sizes saved frames with it). */
    .globl  aq__ctx_here
    .hidden aq__ctx_here
    .type   aq__ctx_here, @function
    .p2align 4
aq__ctx_here:
    leaq    8(%rsp), %rax
    ret
    .size   aq__ctx_here, .-aq__ctx_here

/* void aq__ctx_call_on(void *sp, void (*fn)(void *), void *arg)
 * Calls fn(arg) on the stack of a parked context whose saved stack
 * pointer is sp, below its switch frame, and returns on the caller's
 * stack. While fn runs, this function's unwind information describes
 * itself as the parked switch (the frame above sp): an unwinder started
 * in fn (glibc's backtrace) walks from here into the parked task's own
 * frames, as gdb's aq-bt does from the saved registers. The stack is
 * re-aligned for the call: a task's first frame (aq__ctx_make) and a
 * switch's differ by 8. */
    .globl  aq__ctx_call_on
    .hidden aq__ctx_call_on
    .type   aq__ctx_call_on, @function
    .p2align 4
aq__ctx_call_on:
    .cfi_startproc
    pushq   %rbx
    .cfi_def_cfa_offset 16
    .cfi_offset %rbx, -16
    pushq   %r12
    .cfi_def_cfa_offset 24
    .cfi_offset %r12, -24
    movq    %rsp, %rbx              /* our stack, kept across fn */
    .cfi_def_cfa_register %rbx
    .cfi_remember_state
    movq    %rdi, %r12              /* the parked frame, kept across fn */
    .cfi_def_cfa %r12, 56           /* six registers and the resume address */
    .cfi_offset %rbp, -16
    .cfi_offset %rbx, -24
    .cfi_offset %r12, -32
    .cfi_offset %r13, -40
    .cfi_offset %r14, -48
    .cfi_offset %r15, -56
    movq    %rdi, %rsp
    andq    $-16, %rsp
    movq    %rdx, %rdi
    call    *%rsi
    movq    %rbx, %rsp
    .cfi_restore_state
    .cfi_def_cfa_register %rsp
    popq    %r12
    .cfi_def_cfa_offset 16
    popq    %rbx
    .cfi_def_cfa_offset 8
    ret
    .cfi_endproc
    .size   aq__ctx_call_on, .-aq__ctx_call_on

    .section .note.GNU-stack, "", @progbits
