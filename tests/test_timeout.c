/* Timeout scopes (aq_timeout_*, asyncio.timeout/timeout_at): a deadline
 * over every suspending call of a block, nested scopes taking the
 * earliest, expiry reported by the scope, and cancellation kept apart. */
#include "rt_helpers.h"

static void *basic_main(void *arg)
{
    (void)arg;
    aq_queue *q = new_fifo(0);
    long v;
    aq_timeout t;
    int64_t t0 = aq_now();
    ASSERT_OK(aq_timeout_begin(&t, t0 + 5 * AQ_MSEC));
    ASSERT_RC(aq_queue_get(q, &v), AQ_ETIMEDOUT); /* no deadline of its own */
    ASSERT(aq_now() >= t0 + 5 * AQ_MSEC);
    ASSERT_EQ(aq_timeout_expired(&t), 1);
    /* Past the deadline, every suspending call times out at once... */
    ASSERT_RC(aq_yield(), AQ_ETIMEDOUT);
    ASSERT_RC(aq_sleep(AQ_MSEC), AQ_ETIMEDOUT);
    /* ...but a call that can complete at once still does. */
    put_long(q, 7);
    ASSERT_OK(aq_queue_get(q, &v));
    ASSERT_EQ(v, 7);
    ASSERT_EQ(aq_timeout_end(&t), 1);
    /* Outside the scope, nothing is cut short. */
    ASSERT_OK(aq_yield());
    ASSERT_OK(aq_task_cancelled(aq_task_self()));
    /* A scope that never fires reports 0. */
    ASSERT_OK(aq_timeout_begin(&t, aq_now() + AQ_SEC));
    put_long(q, 8);
    ASSERT_OK(aq_queue_get(q, &v));
    ASSERT_OK(aq_sleep(AQ_MSEC));
    ASSERT_EQ(aq_timeout_end(&t), 0);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_timeout_scope_cuts_calls_short) { t_main(basic_main, NULL); }

static void *nested_main(void *arg)
{
    (void)arg;
    aq_queue *q = new_fifo(0);
    long v;
    aq_timeout outer, inner;
    int64_t now = aq_now();
    /* The outer deadline is earlier: it is the one that expires. */
    ASSERT_OK(aq_timeout_begin(&outer, now + 2 * AQ_MSEC));
    ASSERT_OK(aq_timeout_begin(&inner, now + AQ_SEC));
    ASSERT_RC(aq_queue_get(q, &v), AQ_ETIMEDOUT);
    ASSERT(aq_now() < now + AQ_SEC);
    ASSERT_EQ(aq_timeout_end(&inner), 0);
    ASSERT_EQ(aq_timeout_end(&outer), 1);
    /* The inner deadline is earlier: only the inner scope expires. */
    now = aq_now();
    ASSERT_OK(aq_timeout_begin(&outer, now + AQ_SEC));
    ASSERT_OK(aq_timeout_begin(&inner, now + 2 * AQ_MSEC));
    ASSERT_RC(aq_queue_get(q, &v), AQ_ETIMEDOUT);
    ASSERT_EQ(aq_timeout_end(&inner), 1);
    put_long(q, 1);
    ASSERT_OK(aq_queue_get_until(q, &v, aq_now() + AQ_MSEC));
    ASSERT_EQ(aq_timeout_end(&outer), 0);
    /* A call's own earlier deadline is the call's timeout, not the
     * scope's. */
    ASSERT_OK(aq_timeout_begin(&outer, aq_now() + AQ_SEC));
    ASSERT_RC(aq_queue_get_until(q, &v, aq_now() + AQ_MSEC), AQ_ETIMEDOUT);
    ASSERT_RC(aq_sleep(AQ_MSEC), AQ_OK); /* a sleep's own end: success */
    ASSERT_EQ(aq_timeout_end(&outer), 0);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_timeout_nested_earliest_wins) { t_main(nested_main, NULL); }

static void *reschedule_main(void *arg)
{
    (void)arg;
    aq_timeout t;
    ASSERT_OK(aq_timeout_begin(&t, AQ_NEVER));
    ASSERT_OK(aq_sleep(AQ_MSEC));
    ASSERT_OK(aq_timeout_reschedule(&t, aq_now() + AQ_MSEC));
    ASSERT_RC(aq_sleep(AQ_SEC), AQ_ETIMEDOUT);
    ASSERT_EQ(aq_timeout_expired(&t), 1);
    ASSERT_EQ(aq_timeout_end(&t), 1);
    return NULL;
}

TEST(test_timeout_reschedule) { t_main(reschedule_main, NULL); }

/* Cancellation stays sticky and distinct from expiry: a cancelled task in
 * a scope gets AQ_ECANCELED, the scope does not expire, and ending the
 * scope does not lift the cancel. */
static void *cancelled_in_scope(void *arg)
{
    int *rc = arg;
    aq_timeout t;
    ASSERT_OK(aq_timeout_begin(&t, aq_now() + AQ_SEC));
    rc[0] = aq_sleep(10 * AQ_SEC);
    rc[1] = aq_timeout_end(&t);
    rc[2] = aq_yield();
    return NULL;
}

static void *cancel_main(void *arg)
{
    (void)arg;
    static int rc[3];
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, cancelled_in_scope, rc));
    ASSERT_OK(aq_yield());
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_RC(rc[0], AQ_ECANCELED);
    ASSERT_EQ(rc[1], 0);
    ASSERT_RC(rc[2], AQ_ECANCELED);
    ASSERT_OK(aq_task_release(t));
    return NULL;
}

TEST(test_timeout_cancel_stays_distinct) { t_main(cancel_main, NULL); }

/* Every wait kind honours the scope: a select, a task wait, a join, a
 * lock, an event. */
static void *blocker(void *arg)
{
    (void)arg;
    int rc = aq_sleep(AQ_SEC);
    ASSERT(rc == AQ_OK || rc == AQ_ECANCELED);
    return NULL;
}

static void *kinds_main(void *arg)
{
    (void)arg;
    aq_queue *q = new_fifo(0);
    aq_event *e;
    aq_task *b;
    long v;
    ASSERT_OK(aq_event_new(&e));
    ASSERT_OK(aq_spawn(&b, blocker, NULL));
    put_long(q, 1);
    ASSERT_OK(aq_queue_get(q, &v)); /* one unfinished: join waits */
    aq_timeout t;
    ASSERT_OK(aq_timeout_begin(&t, aq_now() + AQ_MSEC));
    aq_clause c[] = {AQ_GET(q, &v), AQ_TASK(b, NULL)};
    ASSERT_RC(aq_select(c, 2, 0), AQ_ETIMEDOUT);
    ASSERT_RC(aq_task_wait(b, NULL), AQ_ETIMEDOUT);
    ASSERT_RC(aq_queue_join(q), AQ_ETIMEDOUT);
    ASSERT_RC(aq_event_wait(e), AQ_ETIMEDOUT);
    ASSERT_EQ(aq_timeout_end(&t), 1);
    ASSERT_EQ(aq_queue_getters(q) + aq_queue_joiners(q), 0);
    ASSERT_OK(aq_task_cancel(b));
    ASSERT_OK(aq_task_wait(b, NULL));
    ASSERT_OK(aq_task_release(b));
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_OK(aq_event_free(e));
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_timeout_every_wait_kind) { t_main(kinds_main, NULL); }

/* A condition's wait cut short by a scope still returns with the lock. */
static void *cond_main(void *arg)
{
    (void)arg;
    aq_cond *c;
    ASSERT_OK(aq_cond_new(&c, NULL));
    aq_lock *l = aq_cond_lock(c);
    ASSERT_OK(aq_lock_acquire(l));
    aq_timeout t;
    ASSERT_OK(aq_timeout_begin(&t, aq_now() + AQ_MSEC));
    ASSERT_RC(aq_cond_wait(c), AQ_ETIMEDOUT);
    ASSERT_EQ(aq_lock_locked(l), 1);
    ASSERT_EQ(aq_timeout_end(&t), 1);
    ASSERT_OK(aq_lock_release(l));
    ASSERT_OK(aq_cond_free(c));
    return NULL;
}

TEST(test_timeout_condition_keeps_lock) { t_main(cond_main, NULL); }

static void *bad_main(void *arg)
{
    (void)arg;
    aq_timeout a, b;
    ASSERT_RC(aq_timeout_begin(NULL, AQ_NEVER), AQ_EINVAL);
    ASSERT_RC(aq_timeout_end(NULL), AQ_EINVAL);
    ASSERT_OK(aq_timeout_begin(&a, AQ_NEVER));
    ASSERT_OK(aq_timeout_begin(&b, AQ_NEVER));
    ASSERT_RC(aq_timeout_end(&a), AQ_EINVAL); /* not the innermost */
    ASSERT_EQ(aq_timeout_end(&b), 0);
    ASSERT_EQ(aq_timeout_end(&a), 0);
    ASSERT_RC(aq_timeout_end(&a), AQ_EINVAL); /* already ended */
    /* Opened again without its end (innermost, or under another): the
     * scope stays as it was, and calls do not loop over it for ever. */
    ASSERT_OK(aq_timeout_begin(&a, AQ_NEVER));
    ASSERT_RC(aq_timeout_begin(&a, aq_now()), AQ_EINVAL);
    ASSERT_OK(aq_timeout_begin(&b, AQ_NEVER));
    ASSERT_RC(aq_timeout_begin(&a, aq_now()), AQ_EINVAL);
    ASSERT_OK(aq_yield()); /* a's deadline is still AQ_NEVER */
    ASSERT_EQ(aq_timeout_end(&b), 0);
    ASSERT_EQ(aq_timeout_end(&a), 0);
    ASSERT_RC(aq_timeout_reschedule(NULL, 0), AQ_EINVAL);
    /* An ended scope cannot be moved: AQ_OK before, with no effect. */
    ASSERT_OK(aq_timeout_begin(&a, AQ_NEVER));
    ASSERT_EQ(aq_timeout_end(&a), 0);
    ASSERT_RC(aq_timeout_reschedule(&a, -2), AQ_EINVAL);
    ASSERT(strstr(aq_error_detail(), "ended") != NULL);
    ASSERT_EQ(a.deadline, AQ_NEVER); /* nothing changed */
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_timeout_expired(NULL), 0);
    return NULL;
}

/* A negative deadline other than AQ_NEVER is long past, for a call's own
 * deadline and a scope's alike. */
static void *negative_main(void *arg)
{
    (void)arg;
    aq_queue *q = new_fifo(0);
    long v;
    aq_timeout t;
    ASSERT_EQ(aq_in(INT64_MIN), 0); /* past, and not AQ_NEVER */
    ASSERT(aq_in(-AQ_SEC) <= aq_now());
    ASSERT_RC(aq_queue_get_until(q, &v, -2), AQ_ETIMEDOUT);
    int64_t t0 = aq_now();
    ASSERT_OK(aq_timeout_begin(&t, t0 + AQ_SEC));
    ASSERT_RC(aq_queue_get_until(q, &v, INT64_MIN), AQ_ETIMEDOUT);
    ASSERT(aq_now() - t0 < AQ_SEC / 2); /* at once, not at the scope's */
    ASSERT_EQ(aq_timeout_end(&t), 0);   /* the call's own deadline */
    ASSERT_OK(aq_timeout_begin(&t, -2));
    ASSERT_RC(aq_queue_get_until(q, &v, aq_in(AQ_SEC)), AQ_ETIMEDOUT);
    ASSERT_RC(aq_sleep(AQ_SEC), AQ_ETIMEDOUT);
    ASSERT(aq_now() - t0 < AQ_SEC / 2);
    ASSERT_EQ(aq_timeout_end(&t), 1); /* the scope's */
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_timeout_negative_deadlines) { t_main(negative_main, NULL); }

/* A sleep whose own deadline has passed completes (AQ_OK, after a
 * yield) even inside a scope whose deadline has passed too, unless the
 * scope's came strictly first: then it is the scope's timeout, noted.
 * Before, any past deadline went through aq_yield, which the scope cut
 * (AQ_ETIMEDOUT, the scope marked) whichever deadline came first. */
static void *sleep_past_main(void *arg)
{
    (void)arg;
    aq_timeout t;
    int64_t now = aq_now();
    ASSERT_OK(aq_timeout_begin(&t, now - 10 * AQ_MSEC));
    ASSERT_OK(aq_sleep_until(now - 20 * AQ_MSEC)); /* its own came first */
    ASSERT_EQ(aq_timeout_expired(&t), 0);
    ASSERT_OK(aq_sleep_until(now - 10 * AQ_MSEC)); /* equal: its own */
    ASSERT_EQ(aq_timeout_end(&t), 0);
    ASSERT_OK(aq_timeout_begin(&t, now - 20 * AQ_MSEC));
    ASSERT_RC(aq_sleep_until(now - 10 * AQ_MSEC), AQ_ETIMEDOUT);
    ASSERT_EQ(aq_timeout_end(&t), 1); /* the scope's came first */
    ASSERT_OK(aq_timeout_begin(&t, now - 20 * AQ_MSEC));
    ASSERT_RC(aq_yield(), AQ_ETIMEDOUT); /* no deadline of its own */
    ASSERT_EQ(aq_timeout_end(&t), 1);
    return NULL;
}

TEST(test_timeout_sleep_past_own_deadline_first)
{
    t_main(sleep_past_main, NULL);
    t_main_compact(sleep_past_main, NULL);
}

TEST(test_timeout_bad_input)
{
    aq_timeout t;
    ASSERT_RC(aq_timeout_begin(&t, AQ_NEVER), AQ_EPERM);
    ASSERT_RC(aq_timeout_end(&t), AQ_EPERM);
    memset(&t, 0, sizeof t); /* its task NULL, as outside any task */
    ASSERT_RC(aq_timeout_reschedule(&t, 0), AQ_EPERM);
    t_main(bad_main, NULL);
}

/* Compact tasks: the scope lives in frames that move while parked. */
static void *compact_scoped(void *arg)
{
    int *rc = arg;
    aq_timeout t;
    aq_queue *q = new_fifo(0);
    long v;
    ASSERT_OK(aq_timeout_begin(&t, aq_now() + 2 * AQ_MSEC));
    *rc = aq_queue_get(q, &v);
    rc[1] = aq_timeout_end(&t);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

static void *compact_main(void *arg)
{
    (void)arg;
    static int rc[8][2];
    for (int i = 0; i < 8; i++)
        ASSERT_OK(aq_spawn(NULL, compact_scoped, rc[i]));
    ASSERT_OK(aq_sleep(200 * AQ_MSEC)); /* long after their 2 ms */
    for (int i = 0; i < 8; i++) {
        ASSERT_RC(rc[i][0], AQ_ETIMEDOUT);
        ASSERT_EQ(rc[i][1], 1);
    }
    return NULL;
}

TEST(test_timeout_compact_tasks) { t_main_compact(compact_main, NULL); }

int main(int argc, char **argv)
{
    RUN(test_timeout_scope_cuts_calls_short);
    RUN(test_timeout_nested_earliest_wins);
    RUN(test_timeout_reschedule);
    RUN(test_timeout_cancel_stays_distinct);
    RUN(test_timeout_every_wait_kind);
    RUN(test_timeout_condition_keeps_lock);
    RUN(test_timeout_bad_input);
    RUN(test_timeout_negative_deadlines);
    RUN(test_timeout_sleep_past_own_deadline_first);
    RUN(test_timeout_compact_tasks);
    return t_done();
}
