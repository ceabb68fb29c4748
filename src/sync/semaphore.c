/* libaq - Semaphore and BoundedSemaphore (asyncio's), with FIFO
 * hand-over. MIT licensed.
 *
 * Invariant: waiters non-empty => value == 0. release() gives its permit
 * straight to the oldest waiter rather than raising the value, so a
 * newcomer's acquire cannot take it first (CPython needs a pass-the-
 * wake-up dance and an O(n) scan of cancelled waiters for the same
 * order); a waiter cancelled before the hand-over is unlinked and takes
 * nothing, one cancelled after it keeps its permit (its acquire reports
 * AQ_OK). The value never goes below zero; it is not stored but derived
 * from two counts, one per side (aq__sem_value, sync.h: why).
 */
#include "sync/sync.h"

#include <limits.h>

int aq_sem_new(aq_sem **out, long value, int bounded)
{
    if (!out)
        return aq_einval("out is NULL");
    if (value < 0)
        return aq_einval("value is negative");
    if (bounded && value == 0)
        return aq_einval("a bounded semaphore's value is 0");
    aq_sem *s = aq__malloc(sizeof *s);
    if (!s)
        return AQ_ENOMEM;
    aq__list_init(&s->waiters);
    s->taken = 0;
    s->freed = (unsigned long)value;
    s->limit = bounded ? value : LONG_MAX;
    s->bounded = bounded != 0;
    *out = s;
    return AQ_OK;
}

int aq_sem_free(aq_sem *s)
{
    if (!s)
        return aq_einval("semaphore is NULL");
    if (!aq__list_empty(&s->waiters))
        return AQ_EBUSY;
    aq__free(s);
    return AQ_OK;
}

/* The waiting half, out of line (see lock.c). On AQ_OK a release has
 * handed us its permit. */
static __attribute__((noinline)) int acquire_wait(aq_sem *s, aq_task *self,
                                                  int64_t deadline)
{
    return aq__wait_on(self, &s->waiters, NULL, deadline, AQ__W_SEM, s);
}

static inline int acquire(aq_sem *s, int64_t deadline)
{
    aq_task *self;
    AQ__SUSPEND_BEGIN(self, s != NULL, "semaphore is NULL");
    if (aq__likely(aq__sem_value(s) > 0)) {
        s->taken++;
        return AQ_OK;
    }
    return acquire_wait(s, self, deadline);
}

int aq_sem_acquire_until(aq_sem *s, int64_t deadline)
{
    return acquire(s, deadline);
}

int aq_sem_acquire(aq_sem *s) { return acquire(s, AQ_NEVER); }

int aq_sem_try_acquire(aq_sem *s)
{
    if (!s)
        return aq_einval("semaphore is NULL");
    if (aq__sem_value(s) == 0)
        return AQ_EBUSY;
    s->taken++;
    return AQ_OK;
}

/* Hands a permit to the oldest waiter, out of line. */
static __attribute__((noinline)) void hand_over(aq_sem *s)
{
    aq__waiter_wake(aq__waiter_pop(&s->waiters), AQ_OK);
}

int aq_sem_release(aq_sem *s)
{
    if (!s)
        return aq_einval("semaphore is NULL");
    if (aq__unlikely(!aq__list_empty(&s->waiters))) {
        hand_over(s);
        return AQ_OK;
    }
    if (aq__unlikely(aq__sem_value(s) >= s->limit))
        return aq_einval(s->bounded
                             ? "a bounded semaphore was released more "
                               "times than acquired"
                             : "the semaphore's value would pass LONG_MAX");
    s->freed++;
    return AQ_OK;
}

int aq_sem_locked(const aq_sem *s) { return s && aq__sem_value(s) == 0; }

long aq_sem_value(const aq_sem *s)
{
    return s ? aq__sem_value(s) : aq_einval("semaphore is NULL");
}
