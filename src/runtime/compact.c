/* libaq - compact tasks: one shared run stack, frames copied out while
 * parked. MIT licensed.
 *
 * A parked task in the default mode keeps its own stack: a page or two of
 * memory each. For programs with very many idle tasks, a loop can instead
 * run its tasks on one shared stack (aq_loop_set_compact): a compact task
 * runs there, and when another compact task needs the stack, the frames of
 * the one in place (from its saved stack pointer to the top: a few hundred
 * bytes for a task parked in a queue call) are copied into a buffer sized
 * to fit, and the other's frames copied back in. A parked compact task so
 * costs its task struct and those bytes.
 *
 * Copies are lazy: the task whose frames are on the shared stack (the
 * resident) stays there until another compact task needs the stack, so a
 * loop whose compact tasks run one at a time copies nothing at all.
 * Copying happens only in the loop's own context, never on the shared
 * stack itself: aq__loop_suspend routes a switch to a compact task that is
 * not resident through the loop.
 *
 * Pointers into a parked task's frames: a parked task's waiter records
 * (runtime.h) live in its frames, linked on wait lists, and point at the
 * caller's item or destination, usually a local variable. When the frames
 * move (out to the save buffer, back onto the shared stack), the records
 * move with them, and relocate() re-links them where they now are: their
 * neighbours on each wait list are pointed at the new address, and the
 * records' buffer pointers into the frames are shifted. So a wait list
 * never holds a stale address (the bug Go met when stacks moved,
 * golang/go#40641), and a hand-off to a parked compact task writes into
 * its saved copy, which it finds in its variable once copied back.
 * Pointers that user code hands to other tasks are not followed: a
 * compact task must not share its stack variables (aq.h).
 *
 * Memory for the saved frames is reserved by the task itself each time it
 * is about to park (aq__compact_reserve, from aq__park_begin_slow and
 * aq_yield), sized from its stack pointer at that moment plus the switch
 * frame: if it cannot be had, the suspending call returns AQ_ENOMEM like
 * any other allocation failure. Eviction, which runs in the loop where
 * nobody could be told of a failure, then never allocates.
 */
#include "runtime/runtime.h"

#include <stdlib.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define AQ_HAVE_MEMCHECK 1
#endif
#endif


int aq_loop_set_compact(aq_loop *l, size_t size)
{
    if (!l)
        return aq_einval("loop is NULL");
    if (size && (size < AQ_STACK_MIN || size > AQ_STACK_MAX))
        return aq_einval("size is not 0 and outside "
                         "AQ_STACK_MIN..AQ_STACK_MAX");
    if (size && !AQ__CTX_HAS_SP)
        return aq_einval(
            "this build's context switch cannot run compact mode");
    if (l->ncompact)
        return AQ_EBUSY;
    /* The new stack first: an AQ_ENOMEM leaves compact mode as it was
     * (the old one given back first, a failed get had turned it off, a
     * reviewer's reproducer). */
    aq__stack *fresh = NULL;
    if (size) {
        int rc = aq__stack_get(l, aq__page_round(size), &fresh);
        if (rc)
            return rc;
    }
    if (l->shared)
        aq__stack_put(l, l->shared);
    l->shared = fresh;
    return AQ_OK;
}

void aq__compact_init(aq_loop *l, aq_task *t)
{
    t->compact = 1;
    t->slow_park |= AQ__PARK_COMPACT;
    t->stack = l->shared;
    l->ncompact++;
}

static char *shared_top(const aq_loop *l)
{
    return (char *)l->shared->lo + l->shared->size;
}

int aq__compact_reserve(aq_task *t, size_t ahead)
{
    /* Our own stack pointer is below the caller's, under which the switch
     * will store its frame: a safe over-estimate by a few words. */
    char *sp = aq__ctx_here();
    size_t need = (size_t)(shared_top(t->loop) - sp) + AQ__CTX_FRAME +
                  (aq__fibers ? AQ__FIBER_FRAME : 0) + ahead;
    if (need <= t->save_cap)
        return AQ_OK;
    unsigned char *b = aq__realloc(t->save, need);
    if (!b)
        return AQ_ENOMEM;
    t->save = b;
    t->save_cap = need;
    return AQ_OK;
}

/* The save buffer stays with the record: a record reused from the
 * loop's spares brings its buffer along, so a warm compact spawn
 * allocates nothing (the buffer goes when the record does). */
void aq__compact_done(aq_loop *l, aq_task *t)
{
    if (l->resident == t)
        l->resident = NULL;
    t->save_len = 0;
    t->stack = NULL;
    l->ncompact--;
}

/* p moved with the bytes [from, from + len) to [to, to + len). */
static void *moved(void *p, char *from, size_t len, char *to)
{
    char *c = p;
    return c >= from && c < from + len ? to + (c - from) : p;
}

/* t's frames were copied from [from, from + len) to [to, to + len): make
 * its waiter records, wherever they are, valid where the frames now are.
 * Only a WAITING task's records are live. A record's neighbours are
 * translated first, so two records of t
 * adjacent on one list (or a record alone, pointing at itself) end up
 * pointing at each other's new copies. */
static void relocate(aq_task *t, char *from, size_t len, char *to)
{
    /* Once woken, a task's records are off every list and their work is
     * done; after it runs, they are gone. */
    if (t->state != AQ__WAITING)
        return;
    t->waits = moved(t->waits, from, len, to);
    for (unsigned i = 0; i < t->nwaits; i++) {
        aq__waiter *w = &t->waits[i];
        w->buf = moved(w->buf, from, len, to);
        w->link.next = moved(w->link.next, from, len, to);
        w->link.prev = moved(w->link.prev, from, len, to);
        w->link.next->prev = &w->link;
        w->link.prev->next = &w->link;
    }
}

/* Moves a task's frames between the shared stack and its save buffer.
 * Under a sanitizer, word by word through volatile pointers instead of
 * memcpy: glibc's vector memcpy leaves the last bytes it moved in vector
 * registers (ymm16-31 on AVX-512 machines), and LeakSanitizer, which
 * scans every register at exit, took a pointer a task had leaked, still
 * sitting there from the copy, for a reference: one leak went unreported
 * per program (measured with LSAN_OPTIONS=log_pointers=1). A word lives
 * in a general register only until the next one replaces it. */
static void frames_copy(void *dst, const void *src, size_t len)
{
    if (aq__likely(!aq__fibers)) {
        memcpy(dst, src, len);
        return;
    }
    volatile unsigned char *d = dst;
    const volatile unsigned char *s = src;
    size_t i = 0;
    if ((((uintptr_t)dst | (uintptr_t)src) & 7) == 0)
        for (; i + 8 <= len; i += 8)
            *(volatile uint64_t *)(d + i) =
                *(const volatile uint64_t *)(s + i);
    for (; i < len; i++)
        d[i] = s[i];
}

/* Copies the resident's frames out of the shared stack, into the room it
 * reserved before parking. */
static void evict(aq_loop *l)
{
    aq_task *r = l->resident;
    char *sp = aq__ctx_sp(&r->ctx), *top = shared_top(l);
    size_t len = (size_t)(top - sp);
    if (len > r->save_cap) /* a broken promise of aq__compact_reserve */
        abort();
    if (aq__unlikely(aq__fibers)) /* redzones: copy them as plain bytes */
        aq__fiber_unpoison(sp, len);
    frames_copy(r->save, sp, len);
    r->save_len = len;
    relocate(r, sp, len, (char *)r->save);
    l->resident = NULL;
}

void aq__compact_enter(aq_loop *l, aq_task *t)
{
    if (l->resident == t)
        return;
    if (l->resident)
        evict(l);
    if (t->save_len == 0) { /* first run: a fresh frame at the top */
        /* A finished task never returned from its outer frames, whose
         * redzones stay in the shadow, at the very addresses this one's
         * frames take: AddressSanitizer reported the new task's first
         * store into a local array as a stack-buffer-overflow. */
        if (aq__unlikely(aq__fibers))
            aq__fiber_unpoison(l->shared->lo, l->shared->size);
        aq__ctx_make(&t->ctx, l->shared->lo, l->shared->size,
                     aq__task_entry);
    } else {
        char *top = shared_top(l);
        if (aq__unlikely(aq__fibers))
            aq__fiber_unpoison(top - t->save_len, t->save_len);
#ifdef AQ_HAVE_MEMCHECK
        /* Below the shared stack's last stack pointer, valgrind takes the
         * bytes for dead stack; they are about to be live frames again. */
        VALGRIND_MAKE_MEM_UNDEFINED(top - t->save_len, t->save_len);
#endif
        frames_copy(top - t->save_len, t->save, t->save_len);
        relocate(t, (char *)t->save, t->save_len, top - t->save_len);
    }
    l->resident = t;
}
