/* Task groups (aq_group_*: asyncio.TaskGroup, Trio's nursery, Go's
 * errgroup): waiting for all, the first failure cancelling the siblings,
 * a cancelled or timed-out waiter cancelling and reaping the children, no
 * child outliving the wait, select clauses, bad input. Cases follow
 * CPython's test_taskgroups.py where they carry over (children's
 * results, a failing child cancelling the others, the parent cancelled). */
#include "rt_helpers.h"

static int g_done[16];

/* Sleeps arg ms, then returns 0 and marks g_done[arg % 16]. The slow ones
 * (400 ms and more) are meant to be cancelled first: margins wide enough
 * for a loaded machine. */
static int sleeper(void *arg)
{
    long ms = IVAL(arg);
    int rc = aq_sleep(ms * AQ_MSEC);
    if (rc)
        return rc;
    g_done[ms % 16] = 1;
    return 0;
}

/* Fails with status 42 after arg ms. */
static int failer(void *arg)
{
    ASSERT_OK(aq_sleep(IVAL(arg) * AQ_MSEC));
    return 42;
}

static void *all_succeed_main(void *arg)
{
    (void)arg;
    aq_group *g;
    int status = -1;
    memset(g_done, 0, sizeof g_done);
    ASSERT_OK(aq_group_new(&g));
    /* An empty group: the wait returns at once. */
    ASSERT_OK(aq_group_wait(g, &status));
    ASSERT_EQ(status, 0);
    for (long ms = 1; ms <= 3; ms++)
        ASSERT_OK(aq_group_spawn(g, sleeper, IARG(ms)));
    ASSERT_EQ(aq_group_live(g), 3);
    ASSERT_OK(aq_group_wait(g, &status));
    ASSERT_EQ(status, 0);
    ASSERT_EQ(aq_group_live(g), 0);
    for (int ms = 1; ms <= 3; ms++)
        ASSERT_EQ(g_done[ms], 1);
    ASSERT_OK(aq_group_free(g));
    return NULL;
}

TEST(test_group_waits_for_all) { t_main(all_succeed_main, NULL); }

static void *failure_main(void *arg)
{
    (void)arg;
    aq_group *g;
    int status = 0;
    memset(g_done, 0, sizeof g_done);
    ASSERT_OK(aq_group_new(&g));
    ASSERT_OK(aq_group_spawn(g, sleeper, IARG(1)));
    ASSERT_OK(aq_group_spawn(g, failer, IARG(5)));
    ASSERT_OK(aq_group_spawn(g, sleeper, IARG(405)));
    int64_t t0 = aq_now();
    ASSERT_RC(aq_group_wait(g, &status), AQ_EGROUP);
    ASSERT_EQ(status, 42);
    /* The slow sibling was cancelled, not waited out. */
    ASSERT(aq_now() - t0 < 405 * AQ_MSEC);
    ASSERT_EQ(g_done[1], 1);
    ASSERT_EQ(g_done[405 % 16], 0);
    ASSERT_EQ(aq_group_live(g), 0);
    /* A failed group takes no new children. */
    ASSERT_RC(aq_group_spawn(g, sleeper, IARG(1)), AQ_EGROUP);
    ASSERT_OK(aq_group_free(g));
    return NULL;
}

TEST(test_group_first_failure_cancels_siblings) { t_main(failure_main, NULL); }

struct waiter {
    aq_group *g;
    int rc, status;
    int64_t deadline;
};

static void *group_waiter(void *arg)
{
    struct waiter *w = arg;
    w->rc = aq_group_wait_until(w->g, &w->status, w->deadline);
    return NULL;
}

/* A child that ignores its first cancel for a while: the wait must still
 * not return before it does. */
static int stubborn(void *arg)
{
    (void)arg;
    int rc = aq_sleep(AQ_SEC);
    ASSERT_RC(rc, AQ_ECANCELED);
    int was = aq_task_shield(1);
    ASSERT_OK(aq_sleep(3 * AQ_MSEC)); /* cleanup that must finish */
    aq_task_shield(was);
    g_done[9] = 1;
    return rc;
}

static void *cancel_main(void *arg)
{
    (void)arg;
    static struct waiter w;
    aq_group *g;
    aq_task *t;
    memset(g_done, 0, sizeof g_done);
    ASSERT_OK(aq_group_new(&g));
    ASSERT_OK(aq_group_spawn(g, stubborn, NULL));
    ASSERT_OK(aq_group_spawn(g, sleeper, IARG(407)));
    w = (struct waiter){g, PENDING, -1, AQ_NEVER};
    ASSERT_OK(aq_spawn(&t, group_waiter, &w));
    ASSERT_OK(aq_sleep(AQ_MSEC));
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_OK(aq_task_wait(t, NULL));
    /* Cancelling the waiter cancelled the children, and it returned only
     * once the stubborn one had finished its cleanup. */
    ASSERT_RC(w.rc, AQ_ECANCELED);
    ASSERT_EQ(g_done[9], 1);
    ASSERT_EQ(g_done[407 % 16], 0);
    ASSERT_EQ(aq_group_live(g), 0);
    ASSERT_OK(aq_task_release(t));
    /* A deadline does the same. */
    ASSERT_OK(aq_group_spawn(g, sleeper, IARG(414)));
    int status = -1;
    ASSERT_RC(aq_group_wait_until(g, &status, aq_now() + AQ_MSEC),
              AQ_ETIMEDOUT);
    ASSERT_EQ(aq_group_live(g), 0);
    ASSERT_EQ(g_done[414 % 16], 0);
    /* So does a timeout scope. */
    ASSERT_OK(aq_group_spawn(g, sleeper, IARG(413)));
    aq_timeout scope;
    ASSERT_OK(aq_timeout_begin(&scope, aq_now() + AQ_MSEC));
    ASSERT_RC(aq_group_wait(g, NULL), AQ_ETIMEDOUT);
    ASSERT_EQ(aq_timeout_end(&scope), 1);
    ASSERT_EQ(aq_group_live(g), 0);
    ASSERT_OK(aq_group_free(g));
    return NULL;
}

TEST(test_group_cancelled_waiter_reaps_children) { t_main(cancel_main, NULL); }

/* A child that finishes what it was doing when the group is cancelled
 * (shielded), then tries to hand on more work, as a dispatcher whose get
 * completed in the same step as the cancel would. */
static int spawn_rc;

static int dispatcher(void *arg)
{
    aq_group *g = arg;
    int was = aq_task_shield(1);
    ASSERT_OK(aq_sleep(3 * AQ_MSEC));
    aq_task_shield(was);
    spawn_rc = aq_group_spawn(g, sleeper, IARG(405));
    return 0;
}

/* A cancelling group refuses new children (asyncio: "TaskGroup is
 * shutting down"): one spawned then would never be cancelled, and the
 * wait, cut short at 1 ms, would last its whole 405 ms (a fresh user's
 * trial found that). Once every child has returned, the group takes
 * children again. */
static void *spawn_while_cancelling_main(void *arg)
{
    (void)arg;
    aq_group *g;
    memset(g_done, 0, sizeof g_done);
    ASSERT_OK(aq_group_new(&g));
    for (int how = 0; how < 2; how++) {
        spawn_rc = PENDING;
        ASSERT_OK(aq_group_spawn(g, dispatcher, g));
        int64_t t0 = aq_now();
        if (how == 0) { /* the wait's deadline cancels the group */
            ASSERT_RC(aq_group_wait_until(g, NULL, aq_now() + AQ_MSEC),
                      AQ_ETIMEDOUT);
        } else { /* aq_group_cancel does */
            ASSERT_OK(aq_group_cancel(g));
            ASSERT_RC(aq_group_spawn(g, sleeper, IARG(406)), AQ_ECANCELED);
            ASSERT_OK(aq_group_wait(g, NULL)); /* a cancel is no failure */
        }
        ASSERT(aq_now() - t0 < 300 * AQ_MSEC); /* not 405 ms */
        ASSERT_RC(spawn_rc, AQ_ECANCELED);
        ASSERT_EQ(aq_group_live(g), 0);
        ASSERT_EQ(g_done[405 % 16] + g_done[406 % 16], 0);
    }
    ASSERT_OK(aq_group_spawn(g, sleeper, IARG(1))); /* takes them again */
    ASSERT_OK(aq_group_wait(g, NULL));
    ASSERT_EQ(g_done[1], 1);
    ASSERT_OK(aq_group_free(g));
    return NULL;
}

TEST(test_group_refuses_spawns_while_cancelling)
{
    t_main(spawn_while_cancelling_main, NULL);
}

/* A wait cut short cancels the children and reaps them. When the last
 * one returns, the group takes children again while the waiter is only
 * ready; a task that runs first may spawn one (AQ_OK: nothing is
 * cancelling any more). The reaping waiter cancels it too, rather than
 * wait for its whole life (2 s), or for ever when it waits on the waiter
 * (a reviewer's reproducer: 2011 ms, and AQ_EDEADLK). */
static aq_group *g_reaped;
static aq_event *g_leaving, *g_parent_done;
static int g_late_waits_on_parent, g_late_rc, g_late_spawn_rc;

static int leaves_with_a_signal(void *arg)
{
    (void)arg;
    int rc = aq_sleep(10 * AQ_SEC);     /* cancelled by the cut wait */
    ASSERT_OK(aq_event_set(g_leaving)); /* wakes the spawner first */
    return rc;
}

static int late_child(void *arg)
{
    if (IVAL(arg))
        g_late_rc = aq_event_wait(g_parent_done);
    else
        g_late_rc = aq_sleep(2 * AQ_SEC);
    return 0;
}

static void *spawns_when_signalled(void *arg)
{
    (void)arg;
    ASSERT_OK(aq_event_wait(g_leaving));
    g_late_spawn_rc =
        aq_group_spawn(g_reaped, late_child, IARG(g_late_waits_on_parent));
    return NULL;
}

static void *late_spawn_main(void *arg)
{
    (void)arg;
    for (int waits_on_parent = 0; waits_on_parent < 2; waits_on_parent++) {
        aq_task *spawner;
        ASSERT_OK(aq_group_new(&g_reaped));
        ASSERT_OK(aq_event_new(&g_leaving));
        ASSERT_OK(aq_event_new(&g_parent_done));
        g_late_waits_on_parent = waits_on_parent;
        g_late_rc = PENDING;
        g_late_spawn_rc = PENDING;
        ASSERT_OK(aq_spawn(&spawner, spawns_when_signalled, NULL));
        ASSERT_OK(aq_group_spawn(g_reaped, leaves_with_a_signal, NULL));
        int64_t t0 = aq_now();
        ASSERT_RC(aq_group_wait_until(g_reaped, NULL, aq_in(10 * AQ_MSEC)),
                  AQ_ETIMEDOUT);
        ASSERT(aq_now() - t0 < 500 * AQ_MSEC); /* not 2 s, nor for ever */
        ASSERT_OK(aq_event_set(g_parent_done));
        ASSERT_OK(g_late_spawn_rc);         /* taken: the group had emptied */
        ASSERT_RC(g_late_rc, AQ_ECANCELED); /* and cancelled by the reap */
        ASSERT_EQ(aq_group_live(g_reaped), 0);
        ASSERT_OK(aq_task_wait(spawner, NULL));
        aq_task_release(spawner);
        ASSERT_OK(aq_group_free(g_reaped));
        ASSERT_OK(aq_event_free(g_leaving));
        ASSERT_OK(aq_event_free(g_parent_done));
    }
    return NULL;
}

TEST(test_group_cut_wait_cancels_a_child_spawned_as_it_reaps)
{
    t_main(late_spawn_main, NULL);
}

/* A group wait cut by the loop's own end (aq_run's final reaping) marks
 * the group cancelling as any cut wait does: a spawn while its child
 * still runs gets AQ_ECANCELED (after the reap's first change, the cancel
 * was made only inside the reap's loop, which the loop's end skips, and
 * a second child ran; a reviewer's reproducer). */
static aq_group *g_ending;
static int g_ending_wait_rc = PENDING, g_ending_spawn_rc = PENDING;

static void *waits_as_the_loop_ends(void *arg)
{
    (void)arg;
    ASSERT_OK(aq_group_spawn(g_ending, sleeper, IARG(400)));
    g_ending_wait_rc = aq_group_wait(g_ending, NULL);
    g_ending_spawn_rc = aq_group_spawn(g_ending, sleeper, IARG(401));
    return NULL;
}

static void *ends_with_a_waiter(void *arg)
{
    (void)arg;
    aq_task *w;
    ASSERT_OK(aq_spawn(&w, waits_as_the_loop_ends, NULL));
    ASSERT_OK(aq_task_release(w));
    ASSERT_OK(aq_sleep(AQ_MSEC)); /* it waits */
    return NULL;                  /* aq_run cancels what is left */
}

TEST(test_group_wait_cut_by_the_loop_end_refuses_spawns)
{
    memset(g_done, 0, sizeof g_done);
    ASSERT_OK(aq_group_new(&g_ending));
    t_main(ends_with_a_waiter, NULL);
    ASSERT_RC(g_ending_wait_rc, AQ_ECANCELED);
    ASSERT_RC(g_ending_spawn_rc, AQ_ECANCELED);
    ASSERT_EQ(g_done[400 % 16] + g_done[401 % 16], 0);
    ASSERT_OK(aq_group_free(g_ending));
}

static void *select_main(void *arg)
{
    (void)arg;
    aq_group *g;
    aq_queue *q = new_fifo(0);
    long v;
    int status = -1;
    ASSERT_OK(aq_group_new(&g));
    ASSERT_OK(aq_group_spawn(g, failer, IARG(2)));
    aq_clause c[] = {AQ_GET(q, &v), AQ_GROUP(g, &status)};
    ASSERT_EQ(aq_select(c, 2, 0), 1);
    ASSERT_RC(c[1].rc, AQ_EGROUP);
    ASSERT_EQ(status, 42);
    ASSERT_EQ(aq_queue_getters(q), 0);
    /* A done group's clause is ready. */
    aq_group *ok;
    ASSERT_OK(aq_group_new(&ok));
    aq_clause d[] = {AQ_GROUP(ok, NULL)};
    ASSERT_EQ(aq_select_try(d, 1, 0), 0);
    ASSERT_OK(d[0].rc);
    ASSERT_OK(aq_group_free(ok));
    ASSERT_OK(aq_group_free(g));
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_group_as_select_clause) { t_main(select_main, NULL); }

/* A child failing with a status that is also a libaq code: the group's
 * wait reports AQ_EGROUP and the status apart, so the two never mix. */
static int fails_timedout(void *arg)
{
    (void)arg;
    return AQ_ETIMEDOUT;
}

static void *status_main(void *arg)
{
    (void)arg;
    aq_group *g;
    int status = 0;
    ASSERT_OK(aq_group_new(&g));
    ASSERT_OK(aq_group_spawn(g, fails_timedout, NULL));
    ASSERT_RC(aq_group_wait(g, &status), AQ_EGROUP);
    ASSERT_RC(status, AQ_ETIMEDOUT);
    ASSERT_OK(aq_group_free(g));
    return NULL;
}

TEST(test_group_status_apart_from_codes) { t_main(status_main, NULL); }

/* A child fails at once; its sibling's cleanup, shielded, outlasts the
 * waiter's scope, which expires during the wait. The failure beats the
 * cut, as asyncio's TaskGroup raises its ExceptionGroup rather than the
 * timeout (a reviewer's probe: AQ_ETIMEDOUT hid the failure), and the
 * scope still says it expired; a cancel likewise. */
static int fails_at_once(void *arg)
{
    (void)arg;
    return 7;
}

static int slow_cleanup(void *arg)
{
    (void)arg;
    int rc = aq_sleep(10 * AQ_SEC); /* cancelled by the failure */
    ASSERT_EQ(aq_task_shield(1), 0);
    ASSERT_OK(aq_sleep(20 * AQ_MSEC)); /* past the waiter's scope */
    ASSERT_EQ(aq_task_shield(0), 1);
    return rc;
}

static void *failure_beats_cut_main(void *arg)
{
    (void)arg;
    aq_group *g;
    aq_timeout s;
    int status = 0;
    ASSERT_OK(aq_group_new(&g));
    ASSERT_OK(aq_group_spawn(g, slow_cleanup, NULL));
    ASSERT_OK(aq_group_spawn(g, fails_at_once, NULL));
    ASSERT_OK(aq_timeout_begin(&s, aq_now() + 5 * AQ_MSEC));
    ASSERT_RC(aq_group_wait(g, &status), AQ_EGROUP);
    ASSERT_EQ(aq_timeout_end(&s), 1); /* expired during the wait */
    ASSERT_EQ(status, 7);
    ASSERT_OK(aq_group_free(g));

    /* The same cut by the _until form's own deadline. */
    ASSERT_OK(aq_group_new(&g));
    ASSERT_OK(aq_group_spawn(g, slow_cleanup, NULL));
    ASSERT_OK(aq_group_spawn(g, fails_at_once, NULL));
    ASSERT_RC(aq_group_wait_until(g, &status, aq_now() + 5 * AQ_MSEC),
              AQ_EGROUP);
    ASSERT_OK(aq_group_free(g));
    return NULL;
}

TEST(test_group_failure_beats_a_cut_wait)
{
    t_main(failure_beats_cut_main, NULL);
}

/* A child that waits for its own group would wait for itself. */
static aq_group *self_group;

static int waits_for_own_group(void *arg)
{
    (void)arg;
    ASSERT_RC(aq_group_wait_until(self_group, NULL, aq_now() + AQ_MSEC),
              AQ_EDEADLK);
    ASSERT_RC(aq_group_wait(self_group, NULL), AQ_EDEADLK);
    aq_clause c[] = {AQ_GROUP(self_group, NULL)};
    ASSERT_RC(aq_select(c, 1, 0), AQ_EDEADLK); /* as a clause too */
    ASSERT_RC(aq_select_try(c, 1, 0), AQ_EDEADLK);
    return 0;
}

static void *bad_main(void *arg)
{
    (void)arg;
    aq_group *g;
    ASSERT_OK(aq_group_new(&g));
    ASSERT_RC(aq_group_spawn(NULL, sleeper, NULL), AQ_EINVAL);
    ASSERT_RC(aq_group_spawn(g, NULL, NULL), AQ_EINVAL);
    ASSERT_RC(aq_group_wait(NULL, NULL), AQ_EINVAL);
    ASSERT_RC(aq_group_cancel(NULL), AQ_EINVAL);
    ASSERT_EQ(aq_group_live(NULL), AQ_EINVAL);
    ASSERT_OK(aq_group_spawn(g, sleeper, IARG(1)));
    ASSERT_RC(aq_group_free(g), AQ_EBUSY); /* a child still runs */
    /* Out of memory: the child's record, then its task. */
    for (long k = 1; k <= 2; k++) {
        t_fail_alloc_at(k);
        ASSERT_RC(aq_group_spawn(g, sleeper, IARG(1)), AQ_ENOMEM);
        t_fail_alloc_at(0);
        ASSERT_EQ(aq_group_live(g), 1);
    }
    ASSERT_OK(aq_group_wait(g, NULL));
    ASSERT_OK(aq_group_free(g));
    /* A child waiting for its own group: AQ_EDEADLK, nothing cancelled. */
    ASSERT_OK(aq_group_new(&self_group));
    ASSERT_OK(aq_group_spawn(self_group, waits_for_own_group, NULL));
    int status = -1;
    ASSERT_OK(aq_group_wait_until(self_group, &status, aq_in(AQ_SEC)));
    ASSERT_EQ(status, 0);
    ASSERT_OK(aq_group_free(self_group));
    /* A cancelled caller: AQ_ECANCELED, children reaped first. */
    ASSERT_OK(aq_group_new(&g));
    ASSERT_OK(aq_group_spawn(g, sleeper, IARG(411)));
    ASSERT_OK(aq_task_cancel(aq_task_self()));
    ASSERT_RC(aq_group_wait(g, NULL), AQ_ECANCELED);
    ASSERT_EQ(aq_group_live(g), 0);
    ASSERT_OK(aq_group_free(g));
    return NULL;
}

TEST(test_group_bad_input)
{
    aq_group *g = NULL;
    ASSERT_RC(aq_group_new(NULL), AQ_EINVAL);
    t_fail_alloc_at(1);
    ASSERT_RC(aq_group_new(&g), AQ_ENOMEM);
    t_fail_alloc_at(0);
    ASSERT(g == NULL);
    ASSERT_OK(aq_group_new(&g));
    ASSERT_RC(aq_group_spawn(g, sleeper, NULL), AQ_EPERM);
    ASSERT_RC(aq_group_wait(g, NULL), AQ_EPERM);
    ASSERT_RC(aq_group_free(NULL), AQ_EINVAL);
    ASSERT_OK(aq_group_free(g));
    t_main(bad_main, NULL);
}

/* Two tasks wait on one group; the first to return frees it, as sync.h
 * advises: refused (AQ_EBUSY) while the second, woken, has not returned
 * (it was accepted, and the second read the freed group: a reviewer's
 * reproducer, ASan). And a child spawned between the wake-up and the
 * waiter's run (the group took it: live was 0) is waited for too: the
 * wait returned AQ_OK with it still running, its failure lost. */
static aq_group *g_grp;
static aq_event *g_ev;
static int g_free_rc[2];

static int quick(void *arg)
{
    (void)arg;
    ASSERT_OK(aq_sleep(AQ_MSEC));
    return 0;
}

static void *wait_then_free(void *arg)
{
    int st = -1;
    ASSERT_OK(aq_group_wait(g_grp, &st));
    ASSERT_EQ(st, 0);
    g_free_rc[IVAL(arg)] = aq_group_free(g_grp);
    return NULL;
}

static int waits_event(void *arg)
{
    (void)arg;
    return aq_event_wait(g_ev);
}

static int late_failer(void *arg)
{
    (void)arg;
    ASSERT_OK(aq_sleep(10 * AQ_MSEC));
    g_done[7] = 1;
    return 7;
}

static void *spawns_after_wake(void *arg)
{
    (void)arg; /* woken by the same set, after the child: its wait is
                  over, the group's waiter woken and not yet run */
    ASSERT_OK(aq_event_wait(g_ev));
    ASSERT_EQ(aq_group_live(g_grp), 0);
    ASSERT_OK(aq_group_spawn(g_grp, late_failer, NULL));
    return NULL;
}

static void *waits_for_g_grp(void *arg)
{
    int *st = arg;
    return IARG(aq_group_wait(g_grp, st));
}

/* The same wait as a select's GROUP clause. */
static void *selects_g_grp(void *arg)
{
    int *st = arg;
    aq_clause c[1] = {AQ_GROUP(g_grp, st)};
    int i = aq_select(c, 1, 0);
    return IARG(i < 0 ? i : c[i].rc);
}

static void *woken_waiters_main(void *arg)
{
    (void)arg;
    aq_task *t[2];
    ASSERT_OK(aq_group_new(&g_grp));
    ASSERT_OK(aq_group_spawn(g_grp, quick, NULL));
    g_free_rc[0] = g_free_rc[1] = PENDING;
    for (long i = 0; i < 2; i++)
        ASSERT_OK(aq_spawn(&t[i], wait_then_free, IARG(i)));
    ASSERT_OK(aq_gather(t, 2, NULL));
    ASSERT_RC(g_free_rc[0], AQ_EBUSY); /* the other was still inside */
    ASSERT_OK(g_free_rc[1]);           /* the last one out frees it */
    for (int i = 0; i < 2; i++)
        ASSERT_OK(aq_task_release(t[i]));
    /* A spawn between the wake-up and the waiter's run. Once as
     * aq_group_wait, which waits again, once as a select's GROUP clause,
     * which completed at the wake-up, as select.h says (waiting again
     * would re-read clauses whose objects may be gone by then: a
     * reviewer's reproducer freed an fd clause's fd there). */
    for (int sel = 0; sel < 2; sel++) {
        int st = -1;
        memset(g_done, 0, sizeof g_done);
        ASSERT_OK(aq_group_new(&g_grp));
        ASSERT_OK(aq_event_new(&g_ev));
        ASSERT_OK(aq_group_spawn(g_grp, waits_event, NULL));
        ASSERT_OK(aq_spawn(&t[0], spawns_after_wake, NULL));
        ASSERT_OK(aq_yield()); /* the child and t[0] wait on the event */
        ASSERT_OK(
            aq_spawn(&t[1], sel ? selects_g_grp : waits_for_g_grp, &st));
        ASSERT_OK(aq_yield()); /* t[1] waits on the group */
        ASSERT_OK(aq_event_set(g_ev));
        void *rc;
        ASSERT_OK(aq_task_wait(t[1], &rc));
        if (sel) {
            ASSERT_OK((int)IVAL(rc)); /* every child had returned */
            ASSERT_EQ(st, 0);
            ASSERT_EQ(aq_group_live(g_grp), 1); /* the late one runs */
            ASSERT_RC(aq_group_wait(g_grp, &st), AQ_EGROUP);
        } else {
            ASSERT_RC((int)IVAL(rc), AQ_EGROUP); /* the late child's */
        }
        ASSERT_EQ(st, 7);
        ASSERT_EQ(g_done[7], 1);
        ASSERT_EQ(aq_group_live(g_grp), 0);
        for (int i = 0; i < 2; i++)
            ASSERT_OK(aq_task_release(t[i]));
        ASSERT_OK(aq_group_free(g_grp));
        ASSERT_OK(aq_event_free(g_ev));
    }
    return NULL;
}

TEST(test_group_woken_waiters_hold_it) { t_main(woken_waiters_main, NULL); }


int main(int argc, char **argv)
{
    RUN(test_group_waits_for_all);
    RUN(test_group_first_failure_cancels_siblings);
    RUN(test_group_cancelled_waiter_reaps_children);
    RUN(test_group_refuses_spawns_while_cancelling);
    RUN(test_group_cut_wait_cancels_a_child_spawned_as_it_reaps);
    RUN(test_group_wait_cut_by_the_loop_end_refuses_spawns);
    RUN(test_group_as_select_clause);
    RUN(test_group_status_apart_from_codes);
    RUN(test_group_failure_beats_a_cut_wait);
    RUN(test_group_bad_input);
    RUN(test_group_woken_waiters_hold_it);
    return t_done();
}
