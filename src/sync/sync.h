/* libaq - private types of the synchronisation primitives (src/sync/).
 * MIT licensed.
 *
 * Every primitive is a wait list of waiter records (runtime.h) plus a
 * little state, and every one hands over on release: the releaser
 * completes the oldest waiter's wait (the lock's ownership, a permit)
 * before anything else can run, so a newcomer can never take what a woken
 * waiter was given (no barging), and a cancel or deadline that comes
 * after the hand-over finds the wait already completed (completed beats
 * cancelled: a permit or a lock is never lost). The queues work the same
 * way (src/queue/queue.c).
 *
 * Invariants, one per primitive, kept by its file:
 *   event:     waiters non-empty  =>  !set
 *   lock:      waiters non-empty  =>  owner != 0
 *   semaphore: waiters non-empty  =>  value == 0
 *   barrier:   parties waiting == records on waiters < parties
 *   group:     waiters non-empty  =>  live > 0
 */
#ifndef AQ_SYNC_H
#define AQ_SYNC_H

#include "runtime/runtime.h"

struct aq_event {
    aq_list waiters; /* tasks in aq_event_wait, oldest first */
    int set;
};

struct aq_lock {
    aq_list waiters; /* tasks in aq_lock_acquire, oldest first */
    uint64_t owner;  /* the owner's serial (aq_task.serial), 0: unlocked.
                        Not its record: a task spawned into the record of
                        one that returned holding the lock is another
                        task, and owns nothing */
};

/* Does task t (NULL: none) own l? */
static inline int aq__lock_owner_is(const aq_lock *l, const aq_task *t)
{
    return t && l->owner == t->serial; /* a serial is never 0 */
}

/* Makes t l's owner. */
static inline void aq__lock_own(aq_lock *l, const aq_task *t)
{
    l->owner = t->serial;
}

/* Permits available = freed - taken (aq__sem_value), kept as two counts
 * that each side only adds to: an acquire writes taken and a release
 * writes freed, so a run of acquire, release, acquire... makes two
 * independent store-to-load chains, one a call, rather than one chain
 * through a single value that both calls change, which doubles the time
 * of an uncontended pair (bench/RESULTS.md). Unsigned, so they wrap
 * harmlessly; their difference stays within [0, LONG_MAX]. */
struct aq_sem {
    aq_list waiters;     /* tasks in aq_sem_acquire, oldest first */
    unsigned long taken; /* free permits acquired */
    unsigned long freed; /* permits made free: the initial value, then one
                            per release not handed over to a waiter */
    long limit;          /* a release at this value is refused: a bounded
                            semaphore's initial value, else LONG_MAX */
    int bounded;         /* for the error detail only */
};

static inline long aq__sem_value(const aq_sem *s)
{
    return (long)(s->freed - s->taken);
}

struct aq_cond {
    aq_list waiters; /* tasks in aq_cond_wait, not yet notified */
    aq_lock *lock;
    long inside;     /* waiters from passing the lock on to returning */
    int own_lock;    /* lock was made by aq_cond_new, freed with it */
};

struct aq_barrier {
    aq_list waiters; /* parties arrived, waiting for the last one */
    long parties;
    int broken;      /* aq_barrier_abort, until aq_barrier_reset */
};

struct aq_group {
    aq_list children; /* records of the children still running */
    aq_list waiters;  /* aq_group_wait and select clauses, until live 0 */
    long live;        /* children spawned and not returned */
    long inside;      /* waiters (aq_group_wait, select clauses) from
                         their first wait to their last read of g */
    int status;       /* the first failing child's status, else 0 */
    int failed;
    int cancelling; /* cancelled with children live: spawns refused */
};

/* Is task t (running) a child of g? A wait for g from one would wait for
 * itself (group.c). */
AQ__HIDDEN int aq__group_has_child(const aq_group *g, const aq_task *t);

/* A select's GROUP clause counts in g->inside from its park to its last
 * read of g (select.c), as aq_group_wait does, so that a woken waiter
 * that has not run yet keeps aq_group_free off g. */
static inline void aq__group_enter(aq_group *g) { g->inside++; }
static inline void aq__group_leave(aq_group *g) { g->inside--; }

/* Gives the lock to the oldest waiter, or unlocks it (lock.c). */
AQ__HIDDEN void aq__lock_pass(aq_lock *l);

#endif
