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
 * Pointers into a parked task's frames: a queue call parks with wait_buf
 * pointing at the caller's item or destination, usually a local variable.
 * When the frames move out, wait_buf moves with them, so a hand-off writes
 * into the saved copy and the task finds the item in its variable once
 * copied back. Pointers that user code hands to other tasks are not
 * followed: a compact task must not share its stack variables (aq.h).
 *
 * The save buffer is allocated at spawn (AQ_ENOMEM there) with room for a
 * task parked in a queue call; a deeper parked stack grows it when it is
 * evicted, and if that allocation fails nobody can be told, so the
 * process aborts with a message.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define AQ_HAVE_MEMCHECK 1
#endif
#endif

/* Bytes saved for a task parked in aq_queue_get from its body, measured
 * on x86-64 (about 200); a buffer of this size rarely has to grow. */
#define SAVE_INITIAL 256

int aq_loop_set_compact(aq_loop *l, size_t size)
{
    if (!l || (size && (size < AQ_STACK_MIN || size > AQ_STACK_MAX)))
        return AQ_EINVAL;
    if (size && !AQ__CTX_HAS_SP)
        return AQ_EINVAL; /* this context backend cannot tell a task's sp */
    if (l->ncompact)
        return AQ_EBUSY;
    if (l->shared) {
        aq__stack_put(l, l->shared);
        l->shared = NULL;
    }
    if (size) {
        int rc = aq__stack_get(l, aq__page_round(size), &l->shared);
        if (rc)
            return rc;
    }
    return AQ_OK;
}

int aq__compact_init(aq_loop *l, aq_task *t)
{
    t->save = aq__malloc(SAVE_INITIAL);
    if (!t->save)
        return AQ_ENOMEM;
    t->save_cap = SAVE_INITIAL;
    t->save_len = 0;
    t->compact = 1;
    t->stack = l->shared;
    l->ncompact++;
    return AQ_OK;
}

void aq__compact_done(aq_loop *l, aq_task *t)
{
    if (l->resident == t)
        l->resident = NULL;
    aq__free(t->save);
    t->save = NULL;
    t->stack = NULL;
    l->ncompact--;
}

static char *shared_top(const aq_loop *l)
{
    return (char *)l->shared->lo + l->shared->size;
}

/* Copies the resident's frames out of the shared stack. */
static void evict(aq_loop *l)
{
    aq_task *r = l->resident;
    char *sp = aq__ctx_sp(&r->ctx), *top = shared_top(l);
    size_t len = (size_t)(top - sp);
    if (len > r->save_cap) {
        unsigned char *b = aq__realloc(r->save, len);
        if (!b) {
            fprintf(stderr, "libaq: out of memory saving the %zu stack "
                            "bytes of compact task %p\n", len, (void *)r);
            abort();
        }
        r->save = b;
        r->save_cap = len;
    }
#ifdef AQ_ASAN
    /* The frames carry redzones; copy them as plain bytes. */
    ASAN_UNPOISON_MEMORY_REGION(sp, len);
#endif
    memcpy(r->save, sp, len);
    r->save_len = len;
    if ((char *)r->wait_buf >= sp && (char *)r->wait_buf < top)
        r->wait_buf = r->save + ((char *)r->wait_buf - sp);
    l->resident = NULL;
}

void aq__compact_enter(aq_loop *l, aq_task *t)
{
    if (l->resident == t)
        return;
    if (l->resident)
        evict(l);
    if (t->save_len == 0) { /* first run: a fresh frame at the top */
        aq__ctx_make(&t->ctx, l->shared->lo, l->shared->size,
                     aq__task_entry);
    } else {
        char *top = shared_top(l);
#ifdef AQ_ASAN
        ASAN_UNPOISON_MEMORY_REGION(top - t->save_len, t->save_len);
#endif
#ifdef AQ_HAVE_MEMCHECK
        /* Below the shared stack's last stack pointer, valgrind takes the
         * bytes for dead stack; they are about to be live frames again. */
        VALGRIND_MAKE_MEM_UNDEFINED(top - t->save_len, t->save_len);
#endif
        memcpy(top - t->save_len, t->save, t->save_len);
    }
    l->resident = t;
}
