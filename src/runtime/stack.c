/* libaq - coroutine stacks: mapped, guarded, pooled. MIT licensed.
 *
 * A stack comes one of two ways.
 * - Own mapping: one mmap with a PROT_NONE guard page below the usable
 *   bytes, so running off the end faults at once (overflow.c reports it).
 * - Slab: once the process has used its guard budget, default-size stacks
 *   are carved 256 at a time from one mapping with no guard pages. Every
 *   guard page splits a mapping in two, and Linux allows 65,530 mappings
 *   per process by default: guarded stacks alone stop near 32,000 tasks.
 *   A stack without a guard is checked instead each time its task
 *   suspends or returns: if the stack pointer is then below the stack's
 *   limit, the loop reports the overflow and aborts. That misses a task
 *   that overflows and unwinds before its next suspension (the neighbour
 *   below may be hit silently), where a guard page catches every overflow
 *   at once: the price of a million tasks. A canary word at the bottom
 *   was tried and dropped: writing it commits a second page per task
 *   (8 KiB per parked task instead of 4), and it misses big frames that
 *   jump over it anyway.
 * Own mappings made without a guard (budget spent) are checked the same
 * way.
 *
 * Headers live off the stacks (malloc'd, or in the slab's array), so that
 * MADV_DONTNEED can drop a whole stack without wiping its header.
 *
 * The kernel commits pages only when touched, so a parked task costs about
 * the pages it used. Freed default-size stacks go to a per-loop pool of up
 * to pool_max (taking one costs a pointer pop; a fresh page costs about
 * 14 us to touch here). Past that, stacks give their pages back with
 * MADV_DONTNEED and wait on a cold list, so a burst of tasks does not keep
 * its memory after it ends; the mappings themselves go with the loop.
 */
#include "runtime/runtime.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define AQ_HAVE_VALGRIND 1
#endif
#endif

#define SLAB_STACKS 256
/* Guarded stacks per process (32,768 mappings), unless the environment
 * variable AQ_GUARD_BUDGET, read once, says otherwise. */
#define GUARD_BUDGET 16384

struct aq__slab {
    struct aq__slab *next;       /* loop->slabs */
    unsigned char *base;         /* SLAB_STACKS * size bytes */
    size_t size;                 /* bytes per stack */
    size_t used;                 /* stacks carved so far */
    aq__stack hdr[SLAB_STACKS];  /* headers */
};

#define BUDGET_UNSET LONG_MIN
static atomic_long guards_left = BUDGET_UNSET;

/* The budget left, read from the environment on first use. A process
 * with a raised vm.max_map_count can afford more guard pages; tests use a
 * small budget to reach the slabs quickly. */
static long guards_now(void)
{
    long v = atomic_load(&guards_left);
    if (v != BUDGET_UNSET)
        return v;
    const char *env = getenv("AQ_GUARD_BUDGET");
    char *end;
    long want = env ? strtol(env, &end, 10) : GUARD_BUDGET;
    if (!env || *end || want < 0)
        want = GUARD_BUDGET;
    v = BUDGET_UNSET;
    atomic_compare_exchange_strong(&guards_left, &v, want);
    return atomic_load(&guards_left);
}

/* Cached; loops on several threads may ask at once, hence the atomic
 * (they all store the same value). */
static size_t page_size(void)
{
    static atomic_size_t ps;
    size_t v = atomic_load_explicit(&ps, memory_order_relaxed);
    if (!v) {
        v = (size_t)sysconf(_SC_PAGESIZE);
        atomic_store_explicit(&ps, v, memory_order_relaxed);
    }
    return v;
}

size_t aq__page_round(size_t n)
{
    size_t ps = page_size();
    return (n + ps - 1) & ~(ps - 1);
}

static int take_guard(void)
{
    guards_now();
    if (atomic_fetch_sub(&guards_left, 1) > 0)
        return 1;
    atomic_fetch_add(&guards_left, 1);
    return 0;
}

static void give_guard(void) { atomic_fetch_add(&guards_left, 1); }

/* Room the switch needs below a suspending frame: past this, the stack
 * counts as overflowed. */
#define LIMIT_MARGIN 256

static void watch(aq__stack *s, int guarded)
{
    s->limit = guarded ? NULL : (char *)s->lo + LIMIT_MARGIN;
#ifdef AQ_HAVE_VALGRIND
    s->vg_id = VALGRIND_STACK_REGISTER(s->lo, (char *)s->lo + s->size);
#endif
}

static void unwatch(aq__stack *s)
{
#ifdef AQ_HAVE_VALGRIND
    VALGRIND_STACK_DEREGISTER(s->vg_id);
#else
    (void)s;
#endif
}

/* ---- own mappings -------------------------------------------------------- */

static int own_map(size_t size, aq__stack **out)
{
    aq__stack *s = aq__malloc(sizeof *s);
    if (!s)
        return AQ_ENOMEM;
    int guarded = take_guard();
    size_t guard = guarded ? page_size() : 0;
    unsigned char *base = mmap(NULL, guard + size, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                               -1, 0);
    if (base == MAP_FAILED)
        goto fail;
    if (guarded && mprotect(base, guard, PROT_NONE) != 0) {
        munmap(base, guard + size);
        goto fail;
    }
    s->next = NULL;
    s->lo = base + guard;
    s->size = size;
    s->slab = NULL;
    watch(s, guarded);
    *out = s;
    return AQ_OK;
fail:
    if (guarded)
        give_guard();
    aq__free(s);
    return AQ_ENOMEM;
}

static void own_unmap(aq__stack *s)
{
    size_t guard = s->limit ? 0 : page_size();
    unwatch(s);
    if (!s->limit)
        give_guard();
    munmap((unsigned char *)s->lo - guard, guard + s->size);
    aq__free(s);
}

/* ---- slabs --------------------------------------------------------------- */

static int slab_carve(aq_loop *l, aq__stack **out)
{
    aq__slab *sl = l->slabs;
    if (!sl || sl->used == SLAB_STACKS) {
        sl = aq__malloc(sizeof *sl);
        if (!sl)
            return AQ_ENOMEM;
        sl->base = mmap(NULL, SLAB_STACKS * l->stack_size,
                        PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (sl->base == MAP_FAILED) {
            aq__free(sl);
            return AQ_ENOMEM;
        }
        sl->size = l->stack_size;
        sl->used = 0;
        sl->next = l->slabs;
        l->slabs = sl;
    }
    aq__stack *s = &sl->hdr[sl->used];
    s->next = NULL;
    s->lo = sl->base + sl->used * sl->size;
    s->size = sl->size;
    s->slab = sl;
    sl->used++;
    watch(s, 0);
    *out = s;
    return AQ_OK;
}

/* ---- the pool ------------------------------------------------------------ */

static int stack_take(aq_loop *l, size_t size, aq__stack **out)
{
    if (size == l->stack_size) {
        aq__stack **list = l->pool ? &l->pool : l->cold ? &l->cold : NULL;
        if (list) {
            aq__stack *s = *list;
            *list = s->next;
            if (list == &l->pool)
                l->npool--;
            *out = s;
            return AQ_OK;
        }
        if (guards_now() <= 0)
            return slab_carve(l, out);
    }
    return own_map(size, out);
}

int aq__stack_get(aq_loop *l, size_t size, aq__stack **out)
{
    int rc = stack_take(l, size, out);
#ifdef AQ_ASAN
    /* A task that finished never returned from its last frames, so their
     * redzones stay poisoned, and a new mapping may land where an old
     * stack was: clear the shadow before the stack serves a task. */
    if (rc == AQ_OK)
        ASAN_UNPOISON_MEMORY_REGION((*out)->lo, (*out)->size);
#endif
    return rc;
}

void aq__stack_put(aq_loop *l, aq__stack *s)
{
    if (s->size != l->stack_size) {
        own_unmap(s);
    } else if (l->npool < l->pool_max) {
        s->next = l->pool;
        l->pool = s;
        l->npool++;
    } else {
        /* Keep the address range, give the memory back: an munmap costs
         * about 60 us here against a few for this, and the next burst
         * reuses the range without a new mapping. */
        madvise(s->lo, s->size, MADV_DONTNEED);
        s->next = l->cold;
        l->cold = s;
    }
}

void aq__stack_release_all(aq_loop *l)
{
    aq__stack *lists[2] = {l->pool, l->cold};
    for (int i = 0; i < 2; i++) {
        while (lists[i]) {
            aq__stack *s = lists[i];
            lists[i] = s->next;
            if (!s->slab)
                own_unmap(s);
        }
    }
    l->pool = l->cold = NULL;
    l->npool = 0;
    while (l->slabs) {
        aq__slab *sl = l->slabs;
        l->slabs = sl->next;
        for (size_t i = 0; i < sl->used; i++)
            unwatch(&sl->hdr[i]);
        munmap(sl->base, SLAB_STACKS * sl->size);
        aq__free(sl);
    }
}
