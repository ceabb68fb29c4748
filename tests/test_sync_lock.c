/* Conformance: CPython 3.11's Lib/test/test_asyncio/test_locks.py,
 * LockTests, one C test per upstream case (test_X becomes test_lock_X),
 * then neco's five checks (basic, order, deadline, cancel, fail) and the
 * bad-input rows of docs/RELIABILITY.md ("### Sync").
 *
 * Ported (10 of 12): test_repr (as aq_lock_locked, the state the repr
 * shows), test_lock (its remaining check: a new lock is unlocked),
 * test_acquire, test_acquire_cancel, test_cancel_race,
 * test_cancel_release_race, test_finished_waiter_cancelled,
 * test_release_not_acquired, test_release_no_waiters, test_context_manager
 * (as the acquire/release pair that `async with` wraps).
 *
 * Not applicable:
 * - test_lock_doesnt_accept_loop_parameter: no constructor takes a loop;
 *   a lock is used by the tasks of whichever loop runs them.
 * - test_lock_by_with_statement: `with await lock` is Python syntax; C
 *   has no way to await a lock object itself.
 *
 * libaq differs on purpose (aq.h, src/sync/lock.c), noted at each test:
 * the lock has an owner (a release by another task is AQ_EPERM, where the
 * upstream tests release from the main task a lock a child took; here the
 * owner releases), a re-acquire by the owner is AQ_EDEADLK, and release
 * hands the lock straight to the oldest waiter, so locked() stays 1
 * across a release that has a waiter.
 */
#include "sync_helpers.h"

/* ---- LockTests ------------------------------------------------------------ */

static void *repr_main(void *arg)
{
    (void)arg;
    aq_lock *l = new_lock();
    ASSERT_EQ(aq_lock_locked(l), 0); /* '[unlocked]' */
    ASSERT_OK(aq_lock_acquire(l));
    ASSERT_EQ(aq_lock_locked(l), 1); /* '[locked]' */
    ASSERT_OK(aq_lock_release(l));
    ASSERT_OK(aq_lock_free(l));
    return NULL;
}

TEST(test_lock_repr) { sh_main(repr_main, NULL); }

/* Upstream: `await lock` is a TypeError (not applicable), and the lock is
 * still unlocked afterwards. */
TEST(test_lock_lock)
{
    aq_lock *l = new_lock();
    ASSERT_EQ(aq_lock_locked(l), 0);
    ASSERT_OK(aq_lock_free(l));
}

/* Difference: each holder releases its own lock (the upstream main task
 * releases locks its children took). A holder waits on its `hold` event,
 * then releases, which hands the lock to the next waiter. */
static void *acquire_main(void *arg)
{
    (void)arg;
    aq_lock *l = new_lock();
    aq_event *h[3] = {new_event(), new_event(), new_event()};
    struct sh_op o[3];
    for (int i = 0; i < 3; i++) {
        o[i] = sh_op(SH_LOCK, l, i + 1);
        o[i].hold = h[i];
    }
    ASSERT_OK(aq_lock_acquire(l));
    aq_task *t1 = sh_start(&o[0]), *t2 = sh_start(&o[1]);
    sh_yields(1);
    ASSERT_EQ(g_log.n, 0);

    ASSERT_OK(aq_lock_release(l));
    sh_yields(1);
    log_expect((int[]){1}, 1);
    sh_yields(1);
    log_expect((int[]){1}, 1);

    aq_task *t3 = sh_start(&o[2]);
    ASSERT_OK(aq_event_set(h[0])); /* c1 releases: the lock goes to c2 */
    sh_yields(2);
    log_expect((int[]){1, 2}, 2);

    ASSERT_OK(aq_event_set(h[1]));
    sh_yields(2);
    log_expect((int[]){1, 2, 3}, 3);

    ASSERT_OK(aq_event_set(h[2]));
    ASSERT_OK(sh_finish(t1));
    ASSERT_OK(sh_finish(t2));
    ASSERT_OK(sh_finish(t3));
    for (int i = 0; i < 3; i++) {
        ASSERT_RC(o[i].rel_rc, AQ_OK);
        ASSERT_OK(aq_event_free(h[i]));
    }
    ASSERT_EQ(aq_lock_locked(l), 0);
    ASSERT_OK(aq_lock_free(l));
    return NULL;
}

TEST(test_lock_acquire) { sh_main(acquire_main, NULL); }

static void *acquire_cancel_main(void *arg)
{
    (void)arg;
    aq_lock *l = new_lock();
    struct sh_op o = sh_op(SH_LOCK, l, 1);
    ASSERT_OK(aq_lock_acquire(l));
    aq_task *t = sh_start(&o);
    sh_yields(1);
    ASSERT_EQ(o.started, 1);
    sh_cancel_finish(t, AQ_ECANCELED);
    /* No waiter left behind (lock._waiters empty): a release unlocks. */
    ASSERT_OK(aq_lock_release(l));
    ASSERT_EQ(aq_lock_locked(l), 0);
    ASSERT_EQ(g_log.n, 0);
    ASSERT_OK(aq_lock_free(l));
    return NULL;
}

TEST(test_lock_acquire_cancel) { sh_main(acquire_cancel_main, NULL); }

/* A holds the lock until its `hold` event (the upstream future fa) is
 * set; B and C wait. fa is set and B cancelled together: A's release
 * must pass B over and give the lock to C. Difference: upstream checks
 * that the lock is unlocked right after; here A's release hands it to C,
 * so it stays locked (by C) until C releases it. */
static void *cancel_race_main(void *arg)
{
    (void)arg;
    aq_lock *l = new_lock();
    aq_event *fa = new_event();
    struct sh_op a = sh_op(SH_LOCK, l, 'A'), b = sh_op(SH_LOCK, l, 'B'),
                 c = sh_op(SH_LOCK, l, 'C');
    a.hold = fa;
    aq_task *ta = sh_start(&a);
    sh_yields(1);
    ASSERT_EQ(aq_lock_locked(l), 1);
    aq_task *tb = sh_start(&b);
    sh_yields(1);
    aq_task *tc = sh_start(&c);
    sh_yields(1);
    ASSERT(b.started && c.started);

    ASSERT_OK(aq_event_set(fa));
    ASSERT_OK(aq_task_cancel(tb));
    sh_yields(1);
    ASSERT_EQ(aq_task_done(ta), 1);
    ASSERT_RC(a.rel_rc, AQ_OK);
    ASSERT_RC(b.rc, AQ_ECANCELED);
    ASSERT_EQ(aq_lock_locked(l), 1); /* handed to C */
    ASSERT_OK(sh_finish(tc));
    ASSERT_RC(c.rel_rc, AQ_OK);
    ASSERT_EQ(aq_lock_locked(l), 0);
    log_expect((int[]){'A', 'C'}, 2);
    ASSERT_OK(sh_finish(ta));
    ASSERT_RC(sh_finish(tb), AQ_ECANCELED);
    ASSERT_OK(aq_event_free(fa));
    ASSERT_OK(aq_lock_free(l));
    return NULL;
}

TEST(test_lock_cancel_race) { sh_main(cancel_race_main, NULL); }

/* bpo-32734: four acquires, cancel the second (t1 here), release the
 * first: exactly one lock is taken, by t2. t2 holds on to it (its hold
 * event) until the end, since only the owner may release here. The
 * upstream trigger (call_soon: cancel t1, release) runs in the main task,
 * which holds the lock. */
static void *cancel_release_race_main(void *arg)
{
    (void)arg;
    aq_lock *l = new_lock();
    aq_event *hold = new_event();
    struct sh_op o[3];
    for (int i = 0; i < 3; i++) {
        o[i] = sh_op(SH_LOCK, l, i + 1);
        o[i].hold = hold;
    }
    ASSERT_OK(aq_lock_acquire(l));
    aq_task *t1 = sh_start(&o[0]), *t2 = sh_start(&o[1]),
            *t3 = sh_start(&o[2]);
    sh_yields(1);
    /* call_soon(trigger): the main task holds the lock, so it triggers. */
    ASSERT_OK(aq_task_cancel(t1));
    ASSERT_OK(aq_lock_release(l));
    ASSERT_RC(sh_finish(t1), AQ_ECANCELED);
    sh_yields(1);
    log_expect((int[]){2}, 1); /* lock_count == 1, t2's */
    ASSERT_EQ(o[0].started + o[1].started + o[2].started, 3);
    ASSERT_EQ(aq_task_done(t3), 0);
    sh_cancel_finish(t3, AQ_ECANCELED);
    ASSERT_OK(aq_event_set(hold));
    ASSERT_OK(sh_finish(t2));
    ASSERT_RC(o[1].rel_rc, AQ_OK);
    ASSERT_EQ(aq_lock_locked(l), 0);
    ASSERT_OK(aq_event_free(hold));
    ASSERT_OK(aq_lock_free(l));
    return NULL;
}

TEST(test_lock_cancel_release_race)
{
    sh_main(cancel_release_race_main, NULL);
}

/* tb waits; tc is created; tb is cancelled and the lock released before
 * either runs again: tc must still get the lock. */
static void *finished_waiter_cancelled_main(void *arg)
{
    (void)arg;
    aq_lock *l = new_lock();
    aq_event *hold = new_event();
    struct sh_op b = sh_op(SH_LOCK, l, 'b'), c = sh_op(SH_LOCK, l, 'c');
    c.hold = hold;
    ASSERT_OK(aq_lock_acquire(l));
    aq_task *tb = sh_start(&b);
    sh_yields(1);
    aq_task *tc = sh_start(&c);
    ASSERT_OK(aq_task_cancel(tb));
    ASSERT_OK(aq_lock_release(l));
    sh_yields(1);
    ASSERT_EQ(aq_lock_locked(l), 1);
    ASSERT_RC(sh_finish(tb), AQ_ECANCELED);
    log_expect((int[]){'c'}, 1);
    ASSERT_RC(aq_lock_release(l), AQ_EPERM); /* tc's now, not ours */
    ASSERT_OK(aq_event_set(hold));
    ASSERT_OK(sh_finish(tc));
    ASSERT_RC(c.rel_rc, AQ_OK);
    ASSERT_OK(aq_event_free(hold));
    ASSERT_OK(aq_lock_free(l));
    return NULL;
}

TEST(test_lock_finished_waiter_cancelled)
{
    sh_main(finished_waiter_cancelled_main, NULL);
}

/* RuntimeError upstream: AQ_EINVAL, in or out of a task. */
static void *release_not_acquired_main(void *arg)
{
    aq_lock *l = arg;
    ASSERT_RC(aq_lock_release(l), AQ_EINVAL);
    ASSERT_EQ(aq_lock_locked(l), 0);
    return NULL;
}

TEST(test_lock_release_not_acquired)
{
    aq_lock *l = new_lock();
    ASSERT_RC(aq_lock_release(l), AQ_EINVAL);
    sh_main(release_not_acquired_main, l);
    ASSERT_OK(aq_lock_free(l));
}

static void *release_no_waiters_main(void *arg)
{
    (void)arg;
    aq_lock *l = new_lock();
    ASSERT_OK(aq_lock_acquire(l));
    ASSERT_EQ(aq_lock_locked(l), 1);
    ASSERT_OK(aq_lock_release(l));
    ASSERT_EQ(aq_lock_locked(l), 0);
    ASSERT_OK(aq_lock_free(l));
    return NULL;
}

TEST(test_lock_release_no_waiters)
{
    sh_main(release_no_waiters_main, NULL);
}

/* `async with lock:` is acquire, body, release; the body sees it locked
 * and another task cannot take it meanwhile. */
static void *context_manager_main(void *arg)
{
    (void)arg;
    aq_lock *l = new_lock();
    struct sh_op o = sh_op(SH_LOCK, l, 1);
    ASSERT_EQ(aq_lock_locked(l), 0);
    ASSERT_OK(aq_lock_acquire(l));
    ASSERT_EQ(aq_lock_locked(l), 1);
    aq_task *t = sh_start(&o);
    sh_yields(2);
    ASSERT_EQ(g_log.n, 0);
    ASSERT_OK(aq_lock_release(l));
    ASSERT_OK(sh_finish(t));
    log_expect((int[]){1}, 1);
    ASSERT_EQ(aq_lock_locked(l), 0);
    ASSERT_OK(aq_lock_free(l));
    return NULL;
}

TEST(test_lock_context_manager) { sh_main(context_manager_main, NULL); }

/* ---- libaq's differences -------------------------------------------------- */

/* asyncio would wait forever; libaq reports AQ_EDEADLK (the _until form
 * too) and the caller still holds the lock. */
static void *reacquire_main(void *arg)
{
    (void)arg;
    aq_lock *l = new_lock();
    ASSERT_OK(aq_lock_acquire(l));
    ASSERT_RC(aq_lock_acquire(l), AQ_EDEADLK);
    ASSERT_RC(aq_lock_acquire_until(l, aq_now() + AQ_SEC), AQ_EDEADLK);
    ASSERT_RC(aq_lock_try_acquire(l), AQ_EBUSY);
    ASSERT_EQ(aq_lock_locked(l), 1);
    ASSERT_OK(aq_lock_release(l));
    ASSERT_OK(aq_lock_free(l));
    return NULL;
}

TEST(test_lock_reacquire_is_edeadlk) { sh_main(reacquire_main, NULL); }

/* asyncio lets any task release; libaq refuses a non-owner (AQ_EPERM),
 * and outside a task too, and the owner keeps the lock. */
static void *foreign_release(void *arg)
{
    return IARG(aq_lock_release(arg));
}

static void *non_owner_release_main(void *arg)
{
    aq_lock *l = arg;
    ASSERT_OK(aq_lock_acquire(l));
    ASSERT_RC(sh_finish(sh_spawn(foreign_release, l)), AQ_EPERM);
    ASSERT_EQ(aq_lock_locked(l), 1);
    ASSERT_OK(aq_lock_release(l));
    return NULL;
}

TEST(test_lock_release_by_non_owner_is_eperm)
{
    aq_lock *l = new_lock();
    sh_main(non_owner_release_main, l);
    ASSERT_EQ(aq_lock_locked(l), 0);
    ASSERT_OK(aq_lock_free(l));
}

/* A task that returns holding the lock leaves it locked (as asyncio's
 * stays), and a task spawned later into the same record is not its
 * owner: it got AQ_EDEADLK from acquire and could release the lock. */
static aq_lock *orphan; /* can never be freed: kept reachable */

static void *hold_and_return(void *arg)
{
    ASSERT_OK(aq_lock_acquire(arg));
    return NULL;
}

static void *not_the_owner(void *arg)
{
    aq_lock *l = arg;
    ASSERT_RC(aq_lock_release(l), AQ_EPERM);
    ASSERT_RC(aq_lock_try_acquire(l), AQ_EBUSY);
    ASSERT_RC(aq_lock_acquire_until(l, aq_now() + AQ_MSEC), AQ_ETIMEDOUT);
    return NULL;
}

static void *orphan_main(void *arg)
{
    (void)arg;
    aq_task *a, *b;
    ASSERT_OK(aq_spawn(&a, hold_and_return, orphan));
    ASSERT_OK(aq_task_wait(a, NULL));
    ASSERT_OK(aq_task_release(a)); /* the record goes back to the pool */
    ASSERT_OK(aq_spawn(&b, not_the_owner, orphan));
    ASSERT(b == a); /* the same record, so the same address */
    ASSERT_OK(aq_task_wait(b, NULL));
    ASSERT_OK(aq_task_release(b));
    ASSERT_EQ(aq_lock_locked(orphan), 1);
    ASSERT_RC(aq_lock_release(orphan), AQ_EPERM);
    return NULL;
}

TEST(test_lock_owner_returned_holding_it)
{
    orphan = new_lock();
    sh_main(orphan_main, NULL);
    ASSERT_RC(aq_lock_free(orphan), AQ_EBUSY); /* locked for good */
    t_live--; /* that one block, deliberately never freed */
}

/* ---- neco's five checks ---------------------------------------------------- */

static void *basic_main(void *arg)
{
    (void)arg;
    aq_lock *l = new_lock();
    ASSERT_OK(aq_lock_try_acquire(l));
    ASSERT_RC(aq_lock_try_acquire(l), AQ_EBUSY);
    ASSERT_OK(aq_lock_release(l));
    ASSERT_OK(aq_lock_acquire(l));
    ASSERT_RC(aq_lock_free(l), AQ_EBUSY); /* held */
    ASSERT_OK(aq_lock_release(l));
    ASSERT_OK(aq_lock_acquire_until(l, AQ_NEVER));
    ASSERT_OK(aq_lock_release(l));
    ASSERT_OK(aq_lock_free(l));
    return NULL;
}

TEST(test_lock_basic) { sh_main(basic_main, NULL); }

/* Five waiters, each holding the lock for a yield: served oldest first,
 * and a newcomer's try_acquire never barges in between hand-overs. */
static void *order_main(void *arg)
{
    (void)arg;
    aq_lock *l = new_lock();
    struct sh_op o[5];
    aq_task *t[5];
    ASSERT_OK(aq_lock_acquire(l));
    for (int i = 0; i < 5; i++) {
        o[i] = sh_op(SH_LOCK, l, i);
        t[i] = sh_start(&o[i]);
    }
    sh_yields(1);
    ASSERT_OK(aq_lock_release(l));
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(aq_lock_locked(l), 1);
        ASSERT_RC(aq_lock_try_acquire(l), AQ_EBUSY);
        sh_yields(1);
    }
    for (int i = 0; i < 5; i++) {
        ASSERT_OK(sh_finish(t[i]));
        ASSERT_RC(o[i].rel_rc, AQ_OK);
    }
    log_expect((int[]){0, 1, 2, 3, 4}, 5);
    ASSERT_EQ(aq_lock_locked(l), 0);
    ASSERT_OK(aq_lock_free(l));
    return NULL;
}

TEST(test_lock_order) { sh_main(order_main, NULL); }

/* A deadline ends a wait with AQ_ETIMEDOUT, taking nothing and leaving no
 * waiter behind; a passed deadline does not stop an acquire that can
 * complete at once. */
static void *deadline_main(void *arg)
{
    (void)arg;
    aq_lock *l = new_lock();
    struct sh_op o = sh_op(SH_LOCK, l, 1);
    ASSERT_OK(aq_lock_acquire_until(l, aq_now() - AQ_SEC));
    o.deadline = aq_now() + 5 * AQ_MSEC;
    int64_t t0 = aq_now();
    ASSERT_RC(sh_finish(sh_start(&o)), AQ_ETIMEDOUT);
    ASSERT(aq_now() - t0 >= 5 * AQ_MSEC);
    ASSERT_EQ(g_log.n, 0);
    ASSERT_OK(aq_lock_release(l));
    ASSERT_EQ(aq_lock_locked(l), 0); /* no stale waiter got it */
    ASSERT_OK(aq_lock_free(l));
    return NULL;
}

TEST(test_lock_deadline) { sh_main(deadline_main, NULL); }

/* Cancelled before the hand-over: AQ_ECANCELED, nothing taken (the lock
 * goes to the next waiter). Cancelled after it (released to the waiter,
 * cancelled before it runs): AQ_OK, and the waiter owns the lock (its
 * release succeeds, the main task's does not). */
static void *cancel_main(void *arg)
{
    (void)arg;
    aq_lock *l = new_lock();
    struct sh_op a = sh_op(SH_LOCK, l, 'a'), b = sh_op(SH_LOCK, l, 'b');
    ASSERT_OK(aq_lock_acquire(l));
    aq_task *ta = sh_start(&a), *tb = sh_start(&b);
    sh_yields(1);
    sh_cancel_finish(ta, AQ_ECANCELED);
    ASSERT_RC(a.rel_rc, PENDING);

    ASSERT_OK(aq_lock_release(l)); /* handed to b */
    ASSERT_OK(aq_task_cancel(tb));
    ASSERT_RC(aq_lock_release(l), AQ_EPERM);
    ASSERT_EQ(aq_lock_locked(l), 1);
    ASSERT_OK(sh_finish(tb));
    ASSERT_RC(b.rel_rc, AQ_OK);
    log_expect((int[]){'b'}, 1);
    ASSERT_EQ(aq_lock_locked(l), 0);
    ASSERT_OK(aq_lock_free(l));
    return NULL;
}

TEST(test_lock_cancel) { sh_main(cancel_main, NULL); }

TEST(test_lock_fail) { sh_check_new_fails(SH_LOCK, 1); }

/* ---- bad input (docs/RELIABILITY.md) --------------------------------------- */

static void *bad_input_main(void *arg)
{
    aq_lock *l = arg;
    ASSERT_RC(aq_lock_acquire(NULL), AQ_EINVAL);
    ASSERT_RC(aq_lock_acquire_until(NULL, AQ_NEVER), AQ_EINVAL);
    ASSERT_RC(aq_lock_try_acquire(NULL), AQ_EINVAL);
    ASSERT_RC(aq_lock_release(NULL), AQ_EINVAL);
    ASSERT_RC(aq_lock_free(NULL), AQ_EINVAL);
    ASSERT_RC(aq_lock_new(NULL), AQ_EINVAL);
    ASSERT_EQ(aq_lock_locked(NULL), 0);

    /* Free while a task waits (and while held): AQ_EBUSY, then the
     * waiter is served normally. */
    struct sh_op o = sh_op(SH_LOCK, l, 1);
    ASSERT_OK(aq_lock_acquire(l));
    aq_task *t = sh_start(&o);
    sh_yields(1);
    ASSERT_RC(aq_lock_free(l), AQ_EBUSY);
    ASSERT_OK(aq_lock_release(l));
    ASSERT_RC(aq_lock_free(l), AQ_EBUSY); /* now the waiter's */
    ASSERT_OK(sh_finish(t));
    ASSERT_RC(o.rel_rc, AQ_OK);

    /* A cancelled caller: AQ_ECANCELED even though the lock is free, and
     * it takes nothing; NULL still comes first. */
    ASSERT_OK(aq_task_cancel(aq_task_self()));
    ASSERT_RC(aq_lock_acquire(NULL), AQ_EINVAL);
    ASSERT_RC(aq_lock_acquire(l), AQ_ECANCELED);
    ASSERT_RC(aq_lock_acquire_until(l, AQ_NEVER), AQ_ECANCELED);
    ASSERT_EQ(aq_lock_locked(l), 0);
    /* Not a suspending call: try_acquire still works when cancelled. */
    ASSERT_OK(aq_lock_try_acquire(l));
    ASSERT_OK(aq_lock_release(l));
    return NULL;
}

TEST(test_lock_bad_input)
{
    aq_lock *l = new_lock();
    /* Outside a task: AQ_EPERM, before the NULL check for suspending
     * calls; try_acquire checks its handle first. */
    ASSERT_RC(aq_lock_acquire(l), AQ_EPERM);
    ASSERT_RC(aq_lock_acquire(NULL), AQ_EPERM);
    ASSERT_RC(aq_lock_acquire_until(l, AQ_NEVER), AQ_EPERM);
    ASSERT_RC(aq_lock_try_acquire(l), AQ_EPERM);
    ASSERT_RC(aq_lock_try_acquire(NULL), AQ_EINVAL);
    ASSERT_EQ(aq_lock_locked(l), 0);
    sh_main(bad_input_main, l);
    ASSERT_OK(aq_lock_free(l));
}

int main(int argc, char **argv)
{
    RUN(test_lock_repr);
    RUN(test_lock_lock);
    RUN(test_lock_acquire);
    RUN(test_lock_acquire_cancel);
    RUN(test_lock_cancel_race);
    RUN(test_lock_cancel_release_race);
    RUN(test_lock_finished_waiter_cancelled);
    RUN(test_lock_release_not_acquired);
    RUN(test_lock_release_no_waiters);
    RUN(test_lock_context_manager);
    RUN(test_lock_reacquire_is_edeadlk);
    RUN(test_lock_release_by_non_owner_is_eperm);
    RUN(test_lock_owner_returned_holding_it);
    RUN(test_lock_basic);
    RUN(test_lock_order);
    RUN(test_lock_deadline);
    RUN(test_lock_cancel);
    RUN(test_lock_fail);
    RUN(test_lock_bad_input);
    return t_done();
}
