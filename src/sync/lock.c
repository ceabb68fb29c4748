/* libaq - Lock (asyncio.Lock), with an owner and FIFO hand-over.
 * MIT licensed.
 *
 * Invariant: waiters non-empty => owner != 0. release() gives the lock
 * straight to the oldest waiter (owner = its task) instead of unlocking
 * it, so no acquire can slip in between (no barging), and the woken
 * waiter's acquire has completed before it runs: a cancel arriving later
 * does not undo it (the acquire reports AQ_OK and the task must release).
 * A waiter cancelled or timed out before the hand-over is unlinked and
 * never owns the lock.
 *
 * Unlike asyncio's Lock, this one knows its owner: a release by another
 * task is refused (AQ_EPERM), and an acquire by the owner, which would
 * wait forever, fails with AQ_EDEADLK. The owner is a task's serial, not
 * its record: a task that returns holding the lock leaves it locked (as
 * asyncio's stays), and a task spawned later into the same record is not
 * taken for its owner.
 */
#include "sync/sync.h"

int aq_lock_new(aq_lock **out)
{
    if (!out)
        return aq_einval("out is NULL");
    aq_lock *l = aq__malloc(sizeof *l);
    if (!l)
        return AQ_ENOMEM;
    aq__list_init(&l->waiters);
    l->owner = 0;
    *out = l;
    return AQ_OK;
}

int aq_lock_free(aq_lock *l)
{
    if (!l)
        return aq_einval("lock is NULL");
    if (l->owner || !aq__list_empty(&l->waiters))
        return AQ_EBUSY;
    aq__free(l);
    return AQ_OK;
}

/* The waiting half of an acquire, out of line: the parking code saves
 * registers that an uncontended acquire should not pay for. */
static __attribute__((noinline)) int acquire_wait(aq_lock *l, aq_task *self,
                                                  int64_t deadline)
{
    if (aq__lock_owner_is(l, self))
        return AQ_EDEADLK;
    /* On AQ_OK the releaser has made us the owner already. */
    return aq__wait_on(self, &l->waiters, NULL, deadline, AQ__W_LOCK, l);
}

static inline int acquire(aq_lock *l, int64_t deadline)
{
    aq_task *self;
    AQ__SUSPEND_BEGIN(self, l != NULL, "lock is NULL");
    if (aq__likely(!l->owner)) {
        aq__lock_own(l, self);
        return AQ_OK;
    }
    return acquire_wait(l, self, deadline);
}

int aq_lock_acquire_until(aq_lock *l, int64_t deadline)
{
    return acquire(l, deadline);
}

int aq_lock_acquire(aq_lock *l) { return acquire(l, AQ_NEVER); }

int aq_lock_try_acquire(aq_lock *l)
{
    if (!l)
        return aq_einval("lock is NULL");
    if (!aq__cur)
        return AQ_EPERM;
    if (l->owner)
        return AQ_EBUSY;
    aq__lock_own(l, aq__cur);
    return AQ_OK;
}

/* Hands the lock to the oldest waiter: out of line, for the same reason
 * as acquire_wait. */
static __attribute__((noinline)) void pass_to_waiter(aq_lock *l)
{
    aq__waiter *w = aq__waiter_pop(&l->waiters);
    aq__lock_own(l, w->task);
    aq__waiter_wake(w, AQ_OK);
}

void aq__lock_pass(aq_lock *l)
{
    if (aq__likely(aq__list_empty(&l->waiters)))
        l->owner = 0;
    else
        pass_to_waiter(l);
}

int aq_lock_release(aq_lock *l)
{
    if (!l)
        return aq_einval("lock is NULL");
    if (!l->owner)
        return aq_einval("the lock is not held");
    if (!aq__lock_owner_is(l, aq__cur))
        return AQ_EPERM;
    aq__lock_pass(l);
    return AQ_OK;
}

int aq_lock_locked(const aq_lock *l) { return l && l->owner != 0; }
