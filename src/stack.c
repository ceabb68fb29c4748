/* libaq - coroutine stacks. MIT licensed.
 *
 * Each stack is one anonymous mapping: a PROT_NONE guard page at the
 * bottom, so that running off the end faults instead of corrupting the
 * neighbouring memory, and the usable bytes above it. The kernel commits
 * pages only when touched, so a parked task costs about the pages it used.
 *
 * Freed stacks of the loop's default size go to a bounded per-loop pool:
 * touching a fresh page costs about 14 us here, an mmap/mprotect/munmap
 * round trip more, while taking a pooled stack costs a pointer pop. The
 * pool's header lives in the stack's own top bytes, which the next task
 * overwrites freely.
 */
#include "internal.h"

#include <sys/mman.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define AQ_HAVE_VALGRIND 1
#endif
#endif

static size_t page_size(void)
{
    static size_t ps;
    if (!ps)
        ps = (size_t)sysconf(_SC_PAGESIZE);
    return ps;
}

size_t aq__page_round(size_t n)
{
    size_t ps = page_size();
    return (n + ps - 1) & ~(ps - 1);
}

static int stack_map(size_t size, aq__stack **out)
{
    size_t guard = page_size();
    unsigned char *base = mmap(NULL, guard + size, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                               -1, 0);
    if (base == MAP_FAILED)
        return AQ_ENOMEM;
    if (mprotect(base, guard, PROT_NONE) != 0) {
        munmap(base, guard + size);
        return AQ_ENOMEM;
    }
    /* The header sits at the top of the usable area; aq__ctx_make starts
     * the task's frames below it. */
    aq__stack *s = (aq__stack *)(void *)(base + guard + size) - 1;
    s->next = NULL;
    s->lo = base + guard;
    s->size = size - sizeof *s;
#ifdef AQ_HAVE_VALGRIND
    s->vg_id = VALGRIND_STACK_REGISTER(s->lo, (char *)s->lo + s->size);
#endif
    *out = s;
    return AQ_OK;
}

static void stack_unmap(aq__stack *s)
{
    size_t guard = page_size();
#ifdef AQ_HAVE_VALGRIND
    VALGRIND_STACK_DEREGISTER(s->vg_id);
#endif
    munmap((unsigned char *)s->lo - guard, guard + s->size + sizeof *s);
}

int aq__stack_get(aq_loop *l, size_t size, aq__stack **out)
{
    if (size == l->stack_size && l->pool) {
        *out = l->pool;
        l->pool = l->pool->next;
        l->npool--;
        return AQ_OK;
    }
    return stack_map(size, out);
}

void aq__stack_put(aq_loop *l, aq__stack *s)
{
    if (s->size + sizeof *s == l->stack_size && l->npool < l->pool_max) {
        s->next = l->pool;
        l->pool = s;
        l->npool++;
        return;
    }
    stack_unmap(s);
}

void aq__stack_drain(aq_loop *l)
{
    while (l->pool) {
        aq__stack *s = l->pool;
        l->pool = s->next;
        stack_unmap(s);
    }
    l->npool = 0;
}
