/* floor_ctx.h - the bare context switch behind floor.c's switch, handoff
 * and pingpong rows. MIT licensed.
 *
 * The floor of a task switch: nothing but saving the callee-saved
 * registers, swapping stack pointers and restoring them. No scheduler, no
 * ready list, no checks: what any stackful coroutine library must pay at
 * least, so that `make bench` can show aqbench's switch as a multiple of
 * it. Written again here rather than taken from src/ctx/ so that the floor
 * stays independent of libaq: a change to libaq's switch must not move its
 * own yardstick.
 *
 * x86-64 only (floor_ctx_x86_64.S). Elsewhere FLOOR_HAVE_CTX is 0 and
 * floor.c reports the rows that need it as not available.
 */
#ifndef FLOOR_CTX_H
#define FLOOR_CTX_H

#include <stddef.h>

#if defined(__x86_64__)
#define FLOOR_HAVE_CTX 1
#else
#define FLOOR_HAVE_CTX 0
#endif

/* A suspended context is its saved stack pointer. */
typedef struct floor_ctx {
    void *sp;
} floor_ctx;

/* Saves the running context into *from and resumes *to. */
void floor_ctx_switch(floor_ctx *from, floor_ctx *to);

#endif
