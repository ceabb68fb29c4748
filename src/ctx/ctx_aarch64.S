/* libaq - context switch for AArch64 (AAPCS64). MIT licensed.
 *
 * As on x86-64 (ctx_x86_64.S), a context is a saved stack pointer: the
 * switch stores the callee-saved registers (x19-x28, the frame pointer
 * x29, the link register x30 and the low halves of v8-v15) in a 160-byte
 * frame on the old stack, swaps stack pointers and loads the same frame
 * from the new one; `ret` then returns through the restored x30. The
 * floating-point control register stays the thread's, as on x86-64.
 *
 * Frame, from the saved sp upwards: x19..x28, x29, x30, d8..d15.
 */
    .text

/* void aq__ctx_switch(aq__ctx *from, aq__ctx *to) */
    .globl  aq__ctx_switch
    .hidden aq__ctx_switch
    .type   aq__ctx_switch, %function
    .p2align 4
aq__ctx_switch:
    sub     sp, sp, #160
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    stp     d8, d9, [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]
    mov     x2, sp
    str     x2, [x0]
    ldr     x2, [x1]
    mov     sp, x2
    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    ldp     d8, d9, [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    add     sp, sp, #160
    ret
    .size   aq__ctx_switch, .-aq__ctx_switch

/* void aq__ctx_make(aq__ctx *c, void *lo, size_t size, void (*entry)(void))
 * Lays out a zeroed frame whose x30 is entry, so the first switch to it
 * "returns" into entry with sp at the 16-aligned top and x29 = 0, which
 * ends a backtrace there. */
    .globl  aq__ctx_make
    .hidden aq__ctx_make
    .type   aq__ctx_make, %function
    .p2align 4
aq__ctx_make:
    add     x4, x1, x2              /* top = lo + size */
    and     x4, x4, #~15
    sub     x4, x4, #160
    mov     x5, #0
1:  str     xzr, [x4, x5]
    add     x5, x5, #8
    cmp     x5, #160
    b.ne    1b
    str     x3, [x4, #88]           /* x30: entry */
    str     x4, [x0]
    ret
    .size   aq__ctx_make, .-aq__ctx_make

/* char *aq__ctx_here(void): the caller's stack pointer (a call pushes
 * nothing on AArch64). */
    .globl  aq__ctx_here
    .hidden aq__ctx_here
    .type   aq__ctx_here, %function
    .p2align 4
aq__ctx_here:
    mov     x0, sp
    ret
    .size   aq__ctx_here, .-aq__ctx_here

/* void aq__ctx_call_on(void *sp, void (*fn)(void *), void *arg)
 * As on x86-64 (ctx_x86_64.S): calls fn(arg) on a parked context's stack,
 * below its switch frame, with unwind information that describes the
 * parked switch, so that an unwinder started in fn walks into the parked
 * task's frames. The frame's d8-d15 are left out: a backtrace needs the
 * return addresses and the frame pointer, not the vector registers. */
    .globl  aq__ctx_call_on
    .hidden aq__ctx_call_on
    .type   aq__ctx_call_on, %function
    .p2align 4
aq__ctx_call_on:
    .cfi_startproc
    stp     x19, x20, [sp, #-32]!
    .cfi_def_cfa_offset 32
    .cfi_offset x19, -32
    .cfi_offset x20, -24
    stp     x29, x30, [sp, #16]
    .cfi_offset x29, -16
    .cfi_offset x30, -8
    mov     x19, sp                 /* our stack, kept across fn */
    .cfi_def_cfa_register x19
    .cfi_remember_state
    mov     x20, x0                 /* the parked frame, kept across fn */
    .cfi_def_cfa x20, 160
    .cfi_offset x19, -160
    .cfi_offset x20, -152
    .cfi_offset x21, -144
    .cfi_offset x22, -136
    .cfi_offset x23, -128
    .cfi_offset x24, -120
    .cfi_offset x25, -112
    .cfi_offset x26, -104
    .cfi_offset x27, -96
    .cfi_offset x28, -88
    .cfi_offset x29, -80
    .cfi_offset x30, -72
    mov     sp, x0
    mov     x0, x2
    blr     x1
    mov     sp, x19
    .cfi_restore_state
    .cfi_def_cfa_register sp
    ldp     x29, x30, [sp, #16]
    ldp     x19, x20, [sp], #32
    .cfi_def_cfa_offset 0
    ret
    .cfi_endproc
    .size   aq__ctx_call_on, .-aq__ctx_call_on

    .section .note.GNU-stack, "", %progbits
