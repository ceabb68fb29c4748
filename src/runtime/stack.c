/* libaq - coroutine stacks: mapped, guarded, pooled. MIT licensed.
 *
 * Every stack but those past the guard budget below has a guard page
 * under its usable bytes, so running off the end faults at once
 * (overflow.c reports it). How that guard is made is decided once per
 * process, by trying it (guard_kind):
 *
 * - Guard regions (Linux 6.13+). madvise(MADV_GUARD_INSTALL) marks a page
 *   so that any access faults with SIGSEGV, without changing the mapping:
 *   no VMA is split, so guarded stacks cost no kernel mappings and need no
 *   budget. Default-size stacks are then carved from per-loop guarded
 *   slabs, 256 stacks to one mapping, each stack a guard page and its
 *   usable bytes. An access to a guard region is a SIGSEGV (SEGV_MAPERR)
 *   with si_addr in the page, as with PROT_NONE, so overflow.c reports
 *   it unchanged (tests/test_overflow.c); guards survive MADV_DONTNEED. A slab is prepared a batch of PREP_BATCH stacks at a
 *   time: one process_madvise call installs the batch's guard pages, a
 *   second populates each stack's top page (MADV_POPULATE_WRITE, 5.14+),
 *   the page a task's first frames land on, so that its spawn takes no
 *   page fault. A new stack thus costs a share of two system calls instead
 *   of an mmap, an mprotect and a fault of its own. Where process_madvise
 *   cannot take these advices (before 6.13, or no PIDFD_SELF before 6.15,
 *   or valgrind, which does not know the call) a madvise per page does the
 *   same. Populating is best effort: a page it could not commit is
 *   faulted in on first touch, as always. Other sizes get their own
 *   mapping, guarded the same way.
 * - mprotect (older kernels, where MADV_GUARD_INSTALL fails with EINVAL;
 *   or AQ_STACK_GUARDS=mprotect in the environment). A stack is its own
 *   mmap with a PROT_NONE page below the usable bytes. Every such page
 *   splits a mapping in two, and Linux allows 65,530 mappings per process
 *   by default: guarded stacks alone would stop near 32,000 tasks. So the
 *   process has a budget of GUARD_BUDGET guarded stacks; past it,
 *   default-size stacks are carved 256 at a time from one mapping with no
 *   guard pages, and other sizes get their own mapping without one.
 *   A stack without a guard is checked instead each time its task
 *   suspends or returns: if the stack pointer is then below the stack's
 *   limit, the loop reports the overflow and aborts. That misses a task
 *   that overflows and unwinds before its next suspension (the neighbour
 *   below may be hit silently), where a guard page catches every overflow
 *   at once: the price of a million tasks. A canary word at the bottom
 *   was tried and dropped: writing it commits a second page per task
 *   (8 KiB per parked task instead of 4), and it misses big frames that
 *   jump over it anyway.
 *
 * Measured on the 2-core VM under load (bench spawn, N = 10,000,
 * 2026-11-30; bench/RESULTS.md): a cold spawn cost 12.5 us with mmap +
 * mprotect + fault, 6.5 us with guard regions, 5.3 us with the top page
 * populated in batches, against Go's 8.7 us: 0.7x Go before, 1.5-1.65x
 * after. What is left is mostly the kernel allocating the first page.
 * Bytes per parked task are unchanged: the populated page is the one the
 * task touches first anyway, and only that one.
 *
 * Headers live off the stacks (malloc'd, or in the slab's array), so that
 * MADV_DONTNEED can drop a whole stack without wiping its header (guard
 * regions survive MADV_DONTNEED).
 *
 * The kernel commits pages only when touched, so a parked task costs about
 * the pages it used. Freed default-size stacks go to a per-loop pool of up
 * to pool_max (taking one costs a pointer pop; a fresh page costs a page
 * fault: the "spawn cold" rows of `make bench`). Past that, stacks give their pages back with
 * MADV_DONTNEED and wait on a cold list, so a burst of tasks does not keep
 * its memory after it ends; the mappings themselves go with the loop.
 * A prepared stack not yet used holds its populated top page: at most
 * PREP_BATCH - 1 pages per loop (60 KiB).
 */
#define _GNU_SOURCE /* process_madvise */
#include "runtime/runtime.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define AQ_HAVE_VALGRIND 1
#endif
#endif

/* Linux's values, for C libraries that predate them. */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define AQ_PIDFD_SELF (-10000) /* PIDFD_SELF, Linux 6.15+ */

/* glibc 2.36 wraps process_madvise; without it, a madvise per page. */
#if defined(__GLIBC__) &&                                                  \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 36))
#define AQ_HAVE_PROCESS_MADVISE 1
#endif

#define SLAB_STACKS 256
/* Stacks of a guarded slab prepared at a time (guards, top pages). */
#define PREP_BATCH 16
/* Guarded stacks per process (32,768 mappings) when guards are made with
 * mprotect, unless the environment variable AQ_GUARD_BUDGET, read once,
 * says otherwise. */
#define GUARD_BUDGET 16384

struct aq__slab {
    struct aq__slab *next;       /* loop->slabs */
    unsigned char *base;         /* SLAB_STACKS * span bytes */
    size_t size;                 /* usable bytes per stack */
    size_t span;                 /* bytes per stack: size, plus the guard
                                    page below it in a guarded slab */
    size_t used;                 /* stacks carved so far */
    size_t ready;                /* stacks prepared (guarded slab) */
    aq__stack hdr[SLAB_STACKS];  /* headers */
};

/* ---- how guards are made ------------------------------------------------ */

enum { GUARD_UNKNOWN, GUARD_MADVISE, GUARD_MPROTECT };
static atomic_int guard_kind = GUARD_UNKNOWN;

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

/* Does the guard installed on page p really keep accesses out? The kernel
 * reading it for a write(2) must fail with EFAULT. Under an emulator that
 * accepts the madvise but ignores it (qemu-user does), the write succeeds
 * and the guard is not trusted. */
static int guard_holds(const void *p)
{
    int fds[2];
    if (pipe(fds))
        return 0;
    int holds = write(fds[1], p, 1) < 0 && errno == EFAULT;
    close(fds[0]);
    close(fds[1]);
    return holds;
}

/* Tries MADV_GUARD_INSTALL once, on a scratch mapping of two pages: a
 * kernel without it says EINVAL, an emulator that ignores it is caught
 * by guard_holds. Anything else going wrong (the mmap) decides nothing:
 * the next stack asks again. */
static int guard_probe(void)
{
    const char *env = getenv("AQ_STACK_GUARDS");
    if (env && strcmp(env, "mprotect") == 0)
        return GUARD_MPROTECT;
    size_t ps = page_size();
    void *p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return GUARD_UNKNOWN;
    int kind = GUARD_MADVISE;
    if (madvise(p, ps, MADV_GUARD_INSTALL) != 0)
        kind = errno == EINVAL ? GUARD_MPROTECT : GUARD_UNKNOWN;
    else if (!guard_holds(p))
        kind = GUARD_MPROTECT;
    munmap(p, 2 * ps);
    return kind;
}

static int guards_by_madvise(void)
{
    int k = atomic_load_explicit(&guard_kind, memory_order_relaxed);
    if (k == GUARD_UNKNOWN) {
        k = guard_probe();
        if (k != GUARD_UNKNOWN) /* every thread finds the same */
            atomic_store_explicit(&guard_kind, k, memory_order_relaxed);
    }
    return k == GUARD_MADVISE;
}

/* Gives the n ranges of iov the same advice: one process_madvise while it
 * takes this advice on this kernel, else a madvise each (both advices
 * used here may be given twice). Returns 0, or -1 if a madvise failed. */
static int advise_all(struct iovec *iov, size_t n, int advice)
{
#ifdef AQ_HAVE_PROCESS_MADVISE
    /* One flag per advice: 0 untried or working, 1 refused. */
    static atomic_int refused[2];
    atomic_int *r = &refused[advice == MADV_POPULATE_WRITE];
    int skip = atomic_load_explicit(r, memory_order_relaxed);
#ifdef AQ_HAVE_VALGRIND
    /* valgrind 3.19 does not know the call, and warns about it. */
    skip = skip || RUNNING_ON_VALGRIND;
#endif
    if (!skip) {
        size_t total = 0;
        for (size_t i = 0; i < n; i++)
            total += iov[i].iov_len;
        ssize_t done = process_madvise(AQ_PIDFD_SELF, iov, n, advice, 0);
        if (done >= 0 && (size_t)done == total)
            return 0;
        if (done < 0 && errno != ENOMEM && errno != EAGAIN &&
            errno != EINTR)
            atomic_store_explicit(r, 1, memory_order_relaxed);
    }
#endif
    for (size_t i = 0; i < n; i++)
        if (madvise(iov[i].iov_base, iov[i].iov_len, advice) != 0)
            return -1;
    return 0;
}

/* ---- the guard budget (mprotect guards only) ----------------------------- */

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
    int by_madvise = guards_by_madvise();
    int budgeted = !by_madvise && take_guard();
    int guarded = by_madvise || budgeted;
    size_t guard = guarded ? page_size() : 0;
    unsigned char *base = mmap(NULL, guard + size, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                               -1, 0);
    if (base == MAP_FAILED)
        goto fail;
    if (by_madvise ? madvise(base, guard, MADV_GUARD_INSTALL) != 0
                   : budgeted && mprotect(base, guard, PROT_NONE) != 0) {
        munmap(base, guard + size);
        goto fail;
    }
    s->next = NULL;
    s->lo = base + guard;
    s->size = size;
    s->slab = NULL;
    s->budgeted = (unsigned char)budgeted;
    watch(s, guarded);
    *out = s;
    return AQ_OK;
fail:
    if (budgeted)
        give_guard();
    aq__free(s);
    return AQ_ENOMEM;
}

static void own_unmap(aq__stack *s)
{
    size_t guard = s->limit ? 0 : page_size();
    unwatch(s);
    if (s->budgeted)
        give_guard();
    munmap((unsigned char *)s->lo - guard, guard + s->size);
    aq__free(s);
}

/* ---- slabs --------------------------------------------------------------- */

/* Prepares the next batch of a guarded slab: installs the guard pages
 * (all or the batch stays unprepared) and populates the top pages (best
 * effort). Returns AQ_OK or AQ_ENOMEM. */
static int slab_prepare(aq__slab *sl)
{
    struct iovec iov[PREP_BATCH];
    size_t ps = page_size();
    size_t n = SLAB_STACKS - sl->ready;
    if (n > PREP_BATCH)
        n = PREP_BATCH;
    for (size_t i = 0; i < n; i++) {
        iov[i].iov_base = sl->base + (sl->ready + i) * sl->span;
        iov[i].iov_len = ps;
    }
    if (advise_all(iov, n, MADV_GUARD_INSTALL) != 0)
        return AQ_ENOMEM;
    for (size_t i = 0; i < n; i++)
        iov[i].iov_base = (unsigned char *)iov[i].iov_base + sl->span - ps;
    (void)advise_all(iov, n, MADV_POPULATE_WRITE);
    sl->ready += n;
    return AQ_OK;
}

static int slab_carve(aq_loop *l, aq__stack **out)
{
    aq__slab *sl = l->slabs;
    int guarded = guards_by_madvise();
    if (!sl || sl->used == SLAB_STACKS) {
        sl = aq__malloc(sizeof *sl);
        if (!sl)
            return AQ_ENOMEM;
        sl->size = l->stack_size;
        sl->span = l->stack_size + (guarded ? page_size() : 0);
        sl->base = mmap(NULL, SLAB_STACKS * sl->span,
                        PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (sl->base == MAP_FAILED) {
            aq__free(sl);
            return AQ_ENOMEM;
        }
        sl->used = 0;
        sl->ready = guarded ? 0 : SLAB_STACKS;
        if (sl->ready == 0 && slab_prepare(sl) != AQ_OK) {
            munmap(sl->base, SLAB_STACKS * sl->span);
            aq__free(sl);
            return AQ_ENOMEM;
        }
        sl->next = l->slabs;
        l->slabs = sl;
    } else if (sl->used == sl->ready && slab_prepare(sl) != AQ_OK) {
        return AQ_ENOMEM;
    }
    aq__stack *s = &sl->hdr[sl->used];
    s->next = NULL;
    s->lo = sl->base + sl->used * sl->span + (sl->span - sl->size);
    s->size = sl->size;
    s->slab = sl;
    s->budgeted = 0;
    sl->used++;
    watch(s, sl->span != sl->size);
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
        if (guards_by_madvise() || guards_now() <= 0)
            return slab_carve(l, out);
    }
    return own_map(size, out);
}

int aq__stack_get(aq_loop *l, size_t size, aq__stack **out)
{
    int rc = stack_take(l, size, out);
    /* Under AddressSanitizer: a task that finished never returned from
     * its last frames, so their redzones stay poisoned, and a new mapping
     * may land where an old stack was: clear the shadow first. */
    if (rc == AQ_OK && aq__unlikely(aq__fibers))
        aq__fiber_unpoison((*out)->lo, (*out)->size);
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
        /* Keep the address range, give the memory back: the next burst
         * reuses the range without a new mapping and its guard. */
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
        munmap(sl->base, SLAB_STACKS * sl->span);
        aq__free(sl);
    }
}
