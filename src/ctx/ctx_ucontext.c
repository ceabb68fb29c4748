/* libaq - portable context switch over POSIX ucontext. MIT licensed.
 *
 * The fallback for machines without an assembly backend (build option
 * AQ_CTX=ucontext). swapcontext saves and restores the signal mask with a
 * system call on every switch, so it is roughly a hundred times slower than
 * ctx_x86_64.S; correctness is the same.
 */
#include "ctx/ctx.h"

void aq__ctx_switch(aq__ctx *from, aq__ctx *to)
{
    swapcontext(&from->uc, &to->uc);
}

void aq__ctx_make(aq__ctx *c, void *lo, size_t size, void (*entry)(void))
{
    getcontext(&c->uc);
    c->uc.uc_stack.ss_sp = lo;
    c->uc.uc_stack.ss_size = size;
    c->uc.uc_link = NULL; /* entry never returns */
    makecontext(&c->uc, entry, 0);
}
