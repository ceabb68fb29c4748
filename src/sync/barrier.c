/* libaq - Barrier (asyncio.Barrier): wait, abort, reset. MIT licensed.
 *
 * Invariant: the parties waiting in this round are exactly the records
 * on `waiters`, fewer than parties. The count is the list's length, not a
 * field kept beside it: a waiter that a cancel or its deadline unlinks
 * has left the count at that very moment, so an arrival in between does
 * not take it for a party. The last party to arrive completes the round
 * at once: it wakes every waiter with AQ_OK, emptying the list, so a task
 * that arrives next starts the next round. (asyncio has a "draining" state instead, in which a
 * newcomer waits for the woken tasks to leave; both give each task its
 * place in exactly one round. The difference shows only in n_waiting,
 * which here counts the newcomers of the next round at once.)
 *
 * A waiter that is cancelled or times out leaves the round without
 * breaking it, as in asyncio. Counting costs O(parties) per arrival, as
 * aq_queue_getters does. abort() breaks the barrier: every
 * waiter and every later wait gets AQ_EBROKEN until reset(). reset()
 * fails the waiters of the current round with AQ_EBROKEN and starts an
 * empty one.
 */
#include "sync/sync.h"

#include <limits.h>

int aq_barrier_new(aq_barrier **out, long parties)
{
    if (!out)
        return aq_einval("out is NULL");
    if (parties < 1 || parties > INT_MAX)
        return aq_einval("parties is below 1 or above INT_MAX");
    aq_barrier *b = aq__malloc(sizeof *b);
    if (!b)
        return AQ_ENOMEM;
    aq__list_init(&b->waiters);
    b->parties = parties;
    b->broken = 0;
    *out = b;
    return AQ_OK;
}

int aq_barrier_free(aq_barrier *b)
{
    if (!b)
        return aq_einval("barrier is NULL");
    if (!aq__list_empty(&b->waiters))
        return AQ_EBUSY;
    aq__free(b);
    return AQ_OK;
}

/* Ends the round: every waiter leaves with rc. */
static void end_round(aq_barrier *b, int rc)
{
    aq__task_wake_all(&b->waiters, rc);
}

int aq_barrier_wait_until(aq_barrier *b, int64_t deadline)
{
    aq_task *self;
    AQ__SUSPEND_BEGIN(self, b != NULL, "barrier is NULL");
    if (b->broken)
        return AQ_EBROKEN;
    long index = (long)aq__list_len(&b->waiters);
    if (index + 1 == b->parties) {
        end_round(b, AQ_OK);
        return (int)index;
    }
    /* b is not touched once the wait is over. */
    int rc = aq__wait_on(self, &b->waiters, NULL, deadline, AQ__W_BARRIER, b);
    return rc == AQ_OK ? (int)index : rc;
}

int aq_barrier_wait(aq_barrier *b)
{
    return aq_barrier_wait_until(b, AQ_NEVER);
}

int aq_barrier_abort(aq_barrier *b)
{
    if (!b)
        return aq_einval("barrier is NULL");
    b->broken = 1;
    end_round(b, AQ_EBROKEN);
    return AQ_OK;
}

int aq_barrier_reset(aq_barrier *b)
{
    if (!b)
        return aq_einval("barrier is NULL");
    end_round(b, AQ_EBROKEN);
    b->broken = 0;
    return AQ_OK;
}

long aq_barrier_parties(const aq_barrier *b)
{
    return b ? b->parties : aq_einval("barrier is NULL");
}

long aq_barrier_n_waiting(const aq_barrier *b)
{
    return b ? (long)aq__list_len(&b->waiters) : aq_einval("barrier is NULL");
}

int aq_barrier_broken(const aq_barrier *b) { return b && b->broken; }
