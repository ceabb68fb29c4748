/* libaq - Condition (asyncio.Condition) over a Lock. MIT licensed.
 *
 * wait() releases the lock and parks on the condition; notify() does not
 * wake a waiter but moves its record, in order, to the tail of the lock's
 * wait list (Trio's "repark"): the waiter wakes only when the lock is
 * handed to it, so it returns holding the lock without a second race for
 * it, and notified waiters take the lock oldest first.
 *
 * Invariants:
 * - wait() returns with the lock held by the caller whatever ends it
 *   (notified, deadline, cancel), as asyncio's does. A wait cut short
 *   re-acquires the lock shielded from the (sticky) cancellation and with
 *   no deadline; only the loop's final reaping, which overrides shields,
 *   can leave it without the lock (it then returns AQ_ECANCELED and the
 *   lock is not held).
 * - No notification is lost: a waiter notified and then cut short
 *   (cancel, deadline) while it waited for the lock passes its
 *   notification on to the oldest waiter still on c, as CPython 3.13's
 *   Condition.wait does (gh-112202), but only when it was notified, so
 *   no other waiter wakes for nothing. notify() marks each record it
 *   moves (kind AQ__W_LOCK), which tells the waiter afterwards.
 * - c lives while a waiter may still read it: `inside` counts the
 *   waiters from passing the lock on to returning (notified or not: one
 *   cut short by a cancel is on no list, yet still takes the lock back
 *   and reads c), and aq_cond_free refuses (AQ_EBUSY) while it is not 0.
 * - A wait whose deadline (its own or a scope's) has already passed
 *   fails before it passes the lock on, so it never suspends.
 */
#include "sync/sync.h"

#include <limits.h>

int aq_cond_new(aq_cond **out, aq_lock *lock)
{
    if (!out)
        return aq_einval("out is NULL");
    aq_cond *c = aq__malloc(sizeof *c);
    if (!c)
        return AQ_ENOMEM;
    c->own_lock = lock == NULL;
    if (!lock && aq_lock_new(&lock) != AQ_OK) {
        aq__free(c);
        return AQ_ENOMEM;
    }
    aq__list_init(&c->waiters);
    c->lock = lock;
    c->inside = 0;
    *out = c;
    return AQ_OK;
}

int aq_cond_free(aq_cond *c)
{
    if (!c)
        return aq_einval("condition is NULL");
    if (c->inside > 0)
        return AQ_EBUSY;
    if (c->own_lock) {
        int rc = aq_lock_free(c->lock);
        if (rc)
            return rc;
    }
    aq__free(c);
    return AQ_OK;
}

aq_lock *aq_cond_lock(const aq_cond *c) { return c ? c->lock : NULL; }

/* Takes the lock back after a wait that ended without the hand-over.
 * Inlined, so that a compact task parks here from the frame that already
 * reserved room for its frames (no allocation, hence no AQ_ENOMEM). */
AQ__ALWAYS_INLINE void reacquire(aq_lock *l, aq_task *self)
{
    aq__uncut saved;
    aq__uncut_begin(self, &saved);
    while (!aq__lock_owner_is(l, self)) {
        if (!l->owner) {
            aq__lock_own(l, self);
            break;
        }
        /* The loop's final reaping cancels each task once: a wait begun
         * then might never be handed the lock (its owner may have returned
         * holding it), and its record would stay on the lock's list after
         * the task's stack is gone. So none is begun; checked again after
         * each wake-up, at the top. */
        if (self->loop->closing ||
            aq__wait_on(self, &l->waiters, NULL, AQ_NEVER, AQ__W_LOCK, l) ==
                AQ_OK)
            break;
    }
    aq__uncut_end(self, &saved);
}

/* Moves up to n waiters of c, oldest first, to the tail of its lock's
 * wait list, marking each as notified (its kind says it waits for the
 * lock now). */
static void notify(aq_cond *c, long n)
{
    while (n-- > 0 && !aq__list_empty(&c->waiters)) {
        aq__waiter *w = aq__waiter_pop(&c->waiters);
        w->kind = AQ__W_LOCK;
        w->on = c->lock;
        aq__list_push_back(&c->lock->waiters, &w->link);
    }
}

int aq_cond_wait_until(aq_cond *c, int64_t deadline)
{
    aq_task *self = aq__cur;
    if (!self)
        return AQ_EPERM;
    if (!c)
        return aq_einval("condition is NULL");
    aq_lock *l = c->lock;
    if (!aq__lock_owner_is(l, self))
        return AQ_EPERM; /* asyncio: "cannot wait on un-acquired lock" */
    if (aq__cancel_due(self))
        return AQ_ECANCELED;
    /* A compact task's room to park, for the wait and for taking the lock
     * back (both from this frame), before the lock is passed on: so an
     * AQ_ENOMEM has done nothing. Failing after the pass, it had to take
     * the lock back, and could only spin on a park it could not make. */
    int rc = aq__park_reserve_ahead(self);
    if (rc != AQ_OK)
        return rc;
    int64_t d = deadline;
    rc = aq__park_begin(self, &d);
    if (rc != AQ_OK)
        return rc; /* a deadline passed: the lock still the caller's */
    c->inside++;
    aq__lock_pass(l);
    aq__waiter w;
    rc = aq__park_on(self, &w, &c->waiters, NULL, d, AQ__W_COND, c);
    if (rc != AQ_OK) {
        reacquire(l, self);
        /* Only the loop's final reaping ends it without the lock: what
         * the caller must act on is then that cancel, whatever cut the
         * wait (a reviewer's reproducer: AQ_ETIMEDOUT, 'lock held' by
         * the header, with the lock another task's). */
        if (!aq__lock_owner_is(l, self))
            rc = AQ_ECANCELED;
    }
    if (w.kind == AQ__W_LOCK && rc != AQ_OK) /* notified, cut short: */
        notify(c, 1); /* someone else takes the notice */
    c->inside--;
    return rc;
}

int aq_cond_wait(aq_cond *c) { return aq_cond_wait_until(c, AQ_NEVER); }

int aq_cond_wait_for_until(aq_cond *c, int (*pred)(void *), void *arg,
                           int64_t deadline)
{
    if (!aq__cur)
        return AQ_EPERM;
    if (!c || !pred)
        return aq_einval("condition or pred is NULL");
    if (aq__cancel_due(aq__cur)) /* at once, as every suspending call */
        return aq_cond_wait_until(c, deadline); /* AQ_EPERM or _ECANCELED */
    while (!pred(arg)) {
        int rc = aq_cond_wait_until(c, deadline);
        if (rc)
            return rc;
    }
    return AQ_OK;
}

int aq_cond_wait_for(aq_cond *c, int (*pred)(void *), void *arg)
{
    return aq_cond_wait_for_until(c, pred, arg, AQ_NEVER);
}

int aq_cond_notify(aq_cond *c, long n)
{
    if (!c)
        return aq_einval("condition is NULL");
    if (n < 0)
        return aq_einval("n is negative");
    if (!aq__lock_owner_is(c->lock, aq__cur))
        return AQ_EPERM; /* asyncio: "cannot notify on un-acquired lock" */
    notify(c, n);
    return AQ_OK;
}

int aq_cond_notify_all(aq_cond *c) { return aq_cond_notify(c, LONG_MAX); }
