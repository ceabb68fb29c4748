/* libaq - the context switch: one backend per build (CMake picks
 * ctx_x86_64.S, ctx_aarch64.S or ctx_ucontext.c). MIT licensed. */
#ifndef AQ_CTX_H
#define AQ_CTX_H

#include "util/util.h"

/* ---- context switch (src/ctx/) ----------------------------------------- */

#ifdef AQ_CTX_UCONTEXT
#include <ucontext.h>
typedef struct aq__ctx {
    ucontext_t uc;
} aq__ctx;
/* ucontext keeps the stack pointer in a machine-specific register slot:
 * compact tasks (compact.c) need it, so they are not offered here. */
#define AQ__CTX_HAS_SP 0
static inline char *aq__ctx_sp(aq__ctx *c) { (void)c; return NULL; }
static inline char *aq__ctx_here(void) { return NULL; }
#else
typedef struct aq__ctx {
    void *sp; /* saved stack pointer; registers are on the stack above it */
} aq__ctx;
#define AQ__CTX_HAS_SP 1
/* The lowest byte a parked context uses on its stack. */
static inline char *aq__ctx_sp(aq__ctx *c) { return c->sp; }
/* Bytes a switch stores below its caller's stack pointer. */
#if defined(__aarch64__)
#define AQ__CTX_FRAME 160 /* x19-x30 and d8-d15 */
#else
#define AQ__CTX_FRAME 64  /* return address and six registers, rounded */
#endif
/* The caller's stack pointer (ctx_x86_64.S, ctx_aarch64.S). */
AQ__HIDDEN char *aq__ctx_here(void);
/* Where a parked context resumes: the return address in its frame. */
#if defined(__aarch64__)
#define AQ__CTX_RESUME_AT 88 /* x30 */
#else
#define AQ__CTX_RESUME_AT 48 /* above the six registers */
#endif
static inline void *aq__ctx_resume_pc(const aq__ctx *c)
{
    return *(void *const *)((const char *)c->sp + AQ__CTX_RESUME_AT);
}
/* Calls fn(arg) on the stack of the parked context c, with unwind
 * information that leads an unwinder from fn into c's frames. */
AQ__HIDDEN void aq__ctx_call_on(void *sp, void (*fn)(void *), void *arg);
#endif

/* Saves the running context into *from and resumes *to. Returns when
 * something switches back to *from. */
AQ__HIDDEN void aq__ctx_switch(aq__ctx *from, aq__ctx *to);
/* Prepares *c to start entry() on the stack [lo, lo + size). entry must
 * never return. */
AQ__HIDDEN void aq__ctx_make(aq__ctx *c, void *lo, size_t size,
                             void (*entry)(void));

#endif
