/* libaq - Event, Lock, Semaphore, Condition, Barrier, task groups. MIT licensed.
 * Part of the public API: include <aq.h>, which includes every part in
 * order; its opening comment states the conventions all of them follow. */
#ifndef AQ_API_SYNC_H
#define AQ_API_SYNC_H

#include "queue.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/*  Sync: Event, Lock, Semaphore, Condition, Barrier                     */
/* ===================================================================== */

/* asyncio's synchronisation primitives, for tasks of one loop. Each is an
 * opaque handle made by _new and freed by _free (refused with AQ_EBUSY
 * while a task waits on it). Waiters are served oldest first, and every
 * release hands over directly: the lock's ownership or a permit goes to
 * the oldest waiter before anything else runs, so no newcomer can take
 * it first, and a waiter cancelled after the hand-over still reports
 * AQ_OK (it holds the lock or the permit: a permit is never lost, and a
 * lock is never held by a task that was not told so). A waiter cancelled
 * or timed out before the hand-over takes nothing. Timed out means the
 * loop has run the deadline's timer, at its next iteration: a release
 * that comes first, even after the clock passed the deadline, still
 * hands over and the waiter reports AQ_OK (completed beats timed out).
 * Suspending calls follow the conventions at the top (AQ_EPERM, then
 * AQ_EINVAL for a NULL handle, then AQ_ECANCELED; an _until twin; AQ_ENOMEM
 * in compact tasks). Predicates (is_set, locked, broken) return 1 or 0 only;
 * NULL gives 0. Differences from asyncio are stated at each call. */
typedef struct aq_event aq_event;
/* A lock owned by one task at a time (asyncio.Lock, Go's sync.Mutex):
 * only the task that acquired it may release it. */
typedef struct aq_lock aq_lock;
/* A counting semaphore, bounded or not (asyncio.Semaphore,
 * asyncio.BoundedSemaphore; Go's buffered channel used as one). */
typedef struct aq_sem aq_sem;
/* A condition variable over a lock (asyncio.Condition, Go's sync.Cond). */
typedef struct aq_cond aq_cond;
/* A barrier for a fixed number of parties (asyncio.Barrier). */
typedef struct aq_barrier aq_barrier;

/* ---- Event (asyncio.Event) ------------------------------------------- */

/* Creates a clear event. Returns: AQ_OK; AQ_EINVAL if out is NULL;
 * AQ_ENOMEM. Does not suspend. */
AQ_EXTERN int aq_event_new(aq_event **out);
/* Returns: AQ_OK; AQ_EINVAL if e is NULL; AQ_EBUSY if a task waits on e.
 * Does not suspend. */
AQ_EXTERN int aq_event_free(aq_event *e);
/* Sets e and wakes every waiter (event.set()); later waits return at
 * once. A waiter woken here returns AQ_OK even if e is cleared before it
 * runs. Returns: AQ_OK; AQ_EINVAL if e is NULL. Does not suspend. */
AQ_EXTERN int aq_event_set(aq_event *e);
/* Clears e (event.clear()). Returns: AQ_OK; AQ_EINVAL if e is NULL.
 * Does not suspend. */
AQ_EXTERN int aq_event_clear(aq_event *e);
/* 1 if e is set, else 0 (event.is_set()). Does not suspend. */
AQ_EXTERN int aq_event_is_set(const aq_event *e);
/* Waits until e is set (await event.wait()); at once if it is.
 * Returns: AQ_OK; AQ_EPERM; AQ_EINVAL if e is NULL; AQ_ECANCELED;
 * AQ_ETIMEDOUT (the _until form). Suspends. */
AQ_EXTERN int aq_event_wait(aq_event *e);
AQ_EXTERN int aq_event_wait_until(aq_event *e, int64_t deadline);

/* ---- Lock (asyncio.Lock) --------------------------------------------- */

/* Creates an unlocked lock. Returns: AQ_OK; AQ_EINVAL if out is NULL;
 * AQ_ENOMEM. Does not suspend. */
AQ_EXTERN int aq_lock_new(aq_lock **out);
/* Returns: AQ_OK; AQ_EINVAL if l is NULL; AQ_EBUSY if l is held or a task
 * waits on it. Does not suspend. */
AQ_EXTERN int aq_lock_free(aq_lock *l);
/* Acquires l for the calling task (await lock.acquire()), waiting while
 * another task holds it; waiters get it in arrival order.
 * Returns: AQ_OK (the caller owns l); AQ_EPERM outside a task; AQ_EINVAL
 * if l is NULL; AQ_EDEADLK if the caller already holds l (asyncio would
 * wait forever); AQ_ECANCELED; AQ_ETIMEDOUT (the _until form).
 * Suspends. */
AQ_EXTERN int aq_lock_acquire(aq_lock *l);
AQ_EXTERN int aq_lock_acquire_until(aq_lock *l, int64_t deadline);
/* Acquires l if it is free (Go's TryLock; asyncio has none).
 * Returns: AQ_OK; AQ_EINVAL if l is NULL; AQ_EPERM outside a task (a lock
 * is owned by a task; a queue's drop callback or comparator runs as
 * outside any task, even within the holder's put); AQ_EBUSY if held.
 * Does not suspend. */
AQ_EXTERN int aq_lock_try_acquire(aq_lock *l);
/* Releases l (lock.release()), handing it to the oldest waiter if any.
 * Returns: AQ_OK; AQ_EINVAL if l is NULL or not locked (asyncio's
 * RuntimeError); AQ_EPERM if the caller is not the task that holds it
 * (asyncio allows that; libaq refuses it), or from a queue's drop
 * callback or comparator, even within the holder's put. A task that returns holding
 * the lock leaves it locked for good, as asyncio's stays: no other task
 * may release it, and aq_lock_free refuses it (AQ_EBUSY); a task spawned
 * later, even into the same record, is not its owner. Release before
 * returning. Does not suspend. */
AQ_EXTERN int aq_lock_release(aq_lock *l);
/* 1 if l is held, else 0 (lock.locked()). Does not suspend. */
AQ_EXTERN int aq_lock_locked(const aq_lock *l);

/* ---- Semaphore, BoundedSemaphore ------------------------------------- */

/* Creates a semaphore holding `value` permits (asyncio.Semaphore(value));
 * with bounded nonzero, a BoundedSemaphore: a release that would raise
 * the value above its initial one fails.
 * Returns: AQ_OK; AQ_EINVAL if out is NULL, value < 0, or bounded with
 * value 0; AQ_ENOMEM. Does not suspend. */
AQ_EXTERN int aq_sem_new(aq_sem **out, long value, int bounded);
/* Returns: AQ_OK; AQ_EINVAL if s is NULL; AQ_EBUSY if a task waits on s.
 * Does not suspend. */
AQ_EXTERN int aq_sem_free(aq_sem *s);
/* Takes a permit (await sem.acquire()), waiting while none is left;
 * waiters get permits in arrival order.
 * Returns: AQ_OK; AQ_EPERM; AQ_EINVAL if s is NULL; AQ_ECANCELED;
 * AQ_ETIMEDOUT (the _until form). Suspends. */
AQ_EXTERN int aq_sem_acquire(aq_sem *s);
AQ_EXTERN int aq_sem_acquire_until(aq_sem *s, int64_t deadline);
/* Takes a permit if one is free. Returns: AQ_OK; AQ_EINVAL if s is NULL;
 * AQ_EBUSY if none. Does not suspend; callable outside a task. */
AQ_EXTERN int aq_sem_try_acquire(aq_sem *s);
/* Returns a permit (sem.release()), handing it to the oldest waiter if
 * any. Returns: AQ_OK; AQ_EINVAL if s is NULL, or s is bounded and
 * already at its initial value (asyncio's ValueError; the detail says so
 * even when that value is LONG_MAX), or the value would pass LONG_MAX. Does
 * not suspend; callable outside a task. */
AQ_EXTERN int aq_sem_release(aq_sem *s);
/* 1 if no permit is free (sem.locked()), else 0. Does not suspend. */
AQ_EXTERN int aq_sem_locked(const aq_sem *s);
/* Permits free now (>= 0), or AQ_EINVAL if s is NULL. Does not suspend. */
AQ_EXTERN long aq_sem_value(const aq_sem *s);

/* ---- Condition (asyncio.Condition) ----------------------------------- */

/* Creates a condition over lock, or over a lock of its own if lock is
 * NULL (freed with it; aq_cond_lock returns it).
 * Returns: AQ_OK; AQ_EINVAL if out is NULL; AQ_ENOMEM. Does not
 * suspend. */
AQ_EXTERN int aq_cond_new(aq_cond **out, aq_lock *lock);
/* Returns: AQ_OK; AQ_EINVAL if c is NULL; AQ_EBUSY if a task waits on c
 * (notified or not, cancelled or timed out: until every waiter has
 * returned with the lock), or c's own lock is held or waited for (as
 * aq_lock_free). Does not suspend. */
AQ_EXTERN int aq_cond_free(aq_cond *c);
/* c's lock, to acquire and release around waits; NULL if c is NULL.
 * Does not suspend. */
AQ_EXTERN aq_lock *aq_cond_lock(const aq_cond *c);
/* Releases the lock, waits to be notified, and takes the lock back
 * (await cond.wait()). It returns holding the lock whatever ended the
 * wait: a deadline or a cancel re-acquires it first (shielded), as
 * asyncio does; only the loop's final reaping (aq_loop_free, aq_run's
 * end), which overrides shields, returns AQ_ECANCELED without the lock
 * when another task holds it (one that returned holding it would never
 * hand it over), whatever cut the wait (a deadline that passed before
 * the reaping included). A notified waiter gets the lock in notification
 * order.
 * Returns: AQ_OK; AQ_EPERM outside a task or if the caller does not hold
 * the lock (asyncio's RuntimeError); AQ_EINVAL if c is NULL;
 * AQ_ECANCELED (lock held); AQ_ETIMEDOUT (the _until form; lock held).
 * A waiter notified and then cancelled or timed out before it got the
 * lock passes the notification on to the oldest waiter still waiting, as
 * CPython 3.13 does, so a notify(1) is never lost to a cancel.
 * Suspends. */
AQ_EXTERN int aq_cond_wait(aq_cond *c);
AQ_EXTERN int aq_cond_wait_until(aq_cond *c, int64_t deadline);
/* Waits until pred(arg) returns nonzero (await cond.wait_for(pred)),
 * testing it first and after each wake-up. The caller must hold the lock,
 * except that, as in asyncio, a pred already true on the first test
 * returns AQ_OK at once without looking at the lock (so that first test
 * runs with whatever the caller holds). A cancelled task gets what
 * aq_cond_wait would give it, at once, pred untested (AQ_ECANCELED, or
 * AQ_EPERM without the lock), as from every suspending call (aq.h),
 * where asyncio would return True from a pred already true.
 * Returns: AQ_OK once pred holds; as aq_cond_wait otherwise (AQ_EPERM if
 * the lock is not held when it would wait); AQ_EINVAL if pred is NULL.
 * Suspends. */
AQ_EXTERN int aq_cond_wait_for(aq_cond *c, int (*pred)(void *), void *arg);
AQ_EXTERN int aq_cond_wait_for_until(aq_cond *c, int (*pred)(void *),
                                     void *arg, int64_t deadline);
/* Wakes up to n waiters, oldest first (cond.notify(n)); each then waits
 * for the lock. aq_cond_notify_all wakes all (cond.notify_all()).
 * Returns: AQ_OK; AQ_EINVAL if c is NULL or n < 0; AQ_EPERM if the
 * caller does not hold the lock. Does not suspend. */
AQ_EXTERN int aq_cond_notify(aq_cond *c, long n);
AQ_EXTERN int aq_cond_notify_all(aq_cond *c);

/* ---- Barrier (asyncio.Barrier) --------------------------------------- */

/* Creates a barrier for `parties` tasks (1 to INT_MAX).
 * Returns: AQ_OK; AQ_EINVAL if out is NULL or parties is out of range;
 * AQ_ENOMEM. Does not suspend. */
AQ_EXTERN int aq_barrier_new(aq_barrier **out, long parties);
/* Returns: AQ_OK; AQ_EINVAL if b is NULL; AQ_EBUSY if a task waits on b.
 * Does not suspend. */
AQ_EXTERN int aq_barrier_free(aq_barrier *b);
/* Waits until `parties` tasks have called it (await barrier.wait()); the
 * last one releases them all. A waiter that is cancelled or times out
 * leaves without breaking the barrier, as in asyncio, and at once: it no
 * longer counts in n_waiting nor as a party of the round. Unlike asyncio,
 * the round ends at once (no draining state): the next caller starts a
 * new round.
 * Returns: the caller's arrival index, 0 to parties - 1 (>= 0): how
 * many parties of the round were waiting when it arrived, as in CPython.
 * So indices repeat in a round where a waiter left (cancelled, timed
 * out) after a later one arrived, and 0 may be missing: do not elect a
 * round's leader by index 0 when waits can be cut short;
 * AQ_EPERM; AQ_EINVAL if b is NULL; AQ_EBROKEN if b is broken or was
 * aborted or reset while waiting; AQ_ECANCELED (also for a waiter woken
 * with AQ_EBROKEN and cancelled before it ran: a failure other than a
 * completed round reports the cancel, as for every wait); AQ_ETIMEDOUT
 * (the _until form). Suspends. */
AQ_EXTERN int aq_barrier_wait(aq_barrier *b);
AQ_EXTERN int aq_barrier_wait_until(aq_barrier *b, int64_t deadline);
/* Breaks b (barrier.abort()): waiters and later waits get AQ_EBROKEN
 * until aq_barrier_reset. Returns: AQ_OK; AQ_EINVAL if b is NULL. Does
 * not suspend. */
AQ_EXTERN int aq_barrier_abort(aq_barrier *b);
/* Starts b afresh (barrier.reset()): the current round's waiters get
 * AQ_EBROKEN; a broken barrier is mended. Returns: AQ_OK; AQ_EINVAL if b
 * is NULL. Does not suspend. */
AQ_EXTERN int aq_barrier_reset(aq_barrier *b);
/* barrier.parties, barrier.n_waiting: counts, or AQ_EINVAL if b is NULL;
 * barrier.broken: 1 or 0. None suspends. */
AQ_EXTERN long aq_barrier_parties(const aq_barrier *b);
AQ_EXTERN long aq_barrier_n_waiting(const aq_barrier *b);
AQ_EXTERN int aq_barrier_broken(const aq_barrier *b);

/* ---- task groups (asyncio.TaskGroup, Trio's nursery, Go's errgroup) -- */
/* Also Go's sync.WaitGroup: aq_group_spawn is wg.Add(1) with the go
 * statement, aq_group_wait is wg.Wait(). For context.WithCancel, cancel
 * the group (aq_group_cancel) or set an aq_event its children select on;
 * for context.WithTimeout, aq_group_wait_until, or a timeout scope
 * (aq_timeout_begin) around a task's own calls. A cancelled child sees
 * AQ_ECANCELED whatever the reason (Go's ctx.Err() tells Canceled from
 * DeadlineExceeded): the waiter's own return code says which. */

/* A group of child tasks that succeed or fail together. A child is
 * int fn(void *arg): it fails by returning nonzero (a negative AQ_E* code
 * or any status of the program's), except that a child which was
 * cancelled and returns AQ_ECANCELED has not failed (a CancelledError is
 * not an error of a TaskGroup either). The first failure cancels every other
 * child still running, at once, as the failing child returns (asyncio
 * does it from a callback one loop step later, so there a sibling that
 * is already ready runs on to its next await first), and the group's
 * wait reports it. The task that spawned them is not cancelled, where
 * asyncio cancels the body of `async with TaskGroup()` at its next await:
 * it runs on until its aq_group_wait, which then returns AQ_EGROUP once
 * the children have returned. To stop it at the first failure, run that
 * work as a child too, or wait with a select that has the group's
 * clause (AQ_GROUP). Cancelling the
 * waiting task, or its deadline, cancels the children too, and the wait
 * returns only once every child has returned: no child outlives the
 * group's wait. Children run on the spawning task's loop; the group owns
 * them (no handles are given out). */
typedef struct aq_group aq_group;
/* A child's body, run as fn(arg): 0 for success; nonzero fails the group
 * (AQ_ECANCELED from a cancelled child excepted), and the first failing
 * status is what aq_group_wait reports (Go's errgroup func() error). */
typedef int (*aq_group_fn)(void *arg);

/* Creates an empty group. Returns: AQ_OK; AQ_EINVAL if out is NULL;
 * AQ_ENOMEM. Does not suspend. */
AQ_EXTERN int aq_group_new(aq_group **out);
/* Returns: AQ_OK; AQ_EINVAL if g is NULL; AQ_EBUSY if a child is still
 * running or a task waits on g (aq_group_wait or a select's clause, until
 * it has returned: one woken with others frees g once they have). Does
 * not suspend. */
AQ_EXTERN int aq_group_free(aq_group *g);
/* Spawns fn(arg) as a child of g (tg.create_task), on the caller's loop.
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_EINVAL if g or fn is NULL;
 * AQ_EGROUP if a child has already failed, for good: a failed group,
 * even once waited for, takes no new child (as asyncio's refuses new
 * tasks once shutting down; make a new group); AQ_ECANCELED if the group is
 * being cancelled (aq_group_cancel, or a wait cut short by a cancel, a
 * deadline or a scope) and a child still runs: a child spawned then would
 * escape the cancel and hold the wait past its deadline (it takes new
 * children again once every child has returned; a child taken then,
 * before a wait cut short has returned, is cancelled by that wait, which
 * returns once it has); AQ_ENOMEM. Does not suspend. */
AQ_EXTERN int aq_group_spawn(aq_group *g, aq_group_fn fn, void *arg);
/* Waits until every child has returned (the end of `async with
 * TaskGroup()`). status: if not NULL, receives the first failing child's
 * status, or 0.
 * Returns: AQ_OK if every child returned 0; AQ_EGROUP if one failed (the
 * others were cancelled and have returned), even if the wait was also
 * cut short (a cancel, the deadline or a scope that came during the wait:
 * the failure wins, as asyncio's TaskGroup raises its ExceptionGroup
 * rather than the CancelledError; a scope still says it expired);
 * AQ_EPERM outside a task; AQ_EINVAL if g is NULL; AQ_EDEADLK if the
 * caller is a child of g (it would wait for itself; nothing done: only
 * g's own children are seen so, not a task a child spawned or a child of
 * a group inside one, whose wait on g never ends while it runs);
 * AQ_ECANCELED if the caller was cancelled and AQ_ETIMEDOUT (the _until
 * form, or a timeout scope) if the deadline passed, no child having
 * failed: in both, the children were cancelled and have all returned
 * (the wait for them is shielded; only the loop's own end, aq_run's
 * or aq_loop_free's, which cancels every task past shields, returns it
 * with children still live: free the group after aq_run or
 * aq_loop_free returns); AQ_ENOMEM in a compact task with no
 * memory to park (nothing done: no child is cancelled; looked at before
 * the caller's cancel, since a cancelled waiter must park to reap).
 * Several tasks
 * may wait on one group:
 * the first whose wait is cut short cancels the children for all, and
 * the others' waits then return once the children have (AQ_OK if none
 * failed: a cancelled child is not a failure). Free the group once its
 * children have returned, after a wait: aq_group_free refuses while any
 * runs. Suspends. */
AQ_EXTERN int aq_group_wait(aq_group *g, int *status);
AQ_EXTERN int aq_group_wait_until(aq_group *g, int *status,
                                  int64_t deadline);
/* Cancels every child still running (a failure does it by itself; Trio's
 * nursery.cancel_scope.cancel(), Go's errgroup context cancel); until
 * they have all returned, aq_group_spawn on g returns AQ_ECANCELED.
 * Returns: AQ_OK; AQ_EINVAL if g is NULL. Does not suspend. */
AQ_EXTERN int aq_group_cancel(aq_group *g);
/* Children still running (>= 0), or AQ_EINVAL if g is NULL. Does not
 * suspend. */
AQ_EXTERN long aq_group_live(const aq_group *g);

#ifdef __cplusplus
}
#endif
#endif /* AQ_API_SYNC_H */
