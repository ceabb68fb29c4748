/* Conformance: CPython 3.11's Lib/test/test_asyncio/test_locks.py,
 * EventTests, one C test per upstream case (test_X becomes test_event_X),
 * then neco's five checks (basic, order, deadline, cancel, fail) and the
 * bad-input rows of docs/RELIABILITY.md ("### Sync").
 *
 * Ported (6 of 6): test_repr (as aq_event_is_set, the '[set]'/'[unset]'
 * the repr shows; the 'waiters:1' part as aq_event_free's AQ_EBUSY, the
 * only view of the waiter list), test_wait, test_wait_on_set,
 * test_wait_cancel, test_clear, test_clear_with_waiters.
 *
 * Not applicable: none. (test_lock_doesnt_accept_loop_parameter, which
 * also covers Event, is listed in test_sync_lock.c.) No difference from
 * asyncio: Event hands over nothing, set() wakes every waiter.
 */
#include "sync_helpers.h"

/* ---- EventTests ----------------------------------------------------------- */

static void *repr_main(void *arg)
{
    (void)arg;
    aq_event *e = new_event();
    ASSERT_EQ(aq_event_is_set(e), 0); /* '[unset]' */
    ASSERT_OK(aq_event_set(e));
    ASSERT_EQ(aq_event_is_set(e), 1); /* '[set]' */
    ASSERT_OK(aq_event_clear(e));
    struct sh_op o = sh_op(SH_EVENT, e, 1);
    aq_task *t = sh_start(&o);
    sh_yields(1);
    ASSERT_RC(aq_event_free(e), AQ_EBUSY); /* 'waiters:1' */
    ASSERT_OK(aq_event_set(e));
    ASSERT_OK(sh_finish(t));
    ASSERT_OK(aq_event_free(e));
    return NULL;
}

TEST(test_event_repr) { sh_main(repr_main, NULL); }

static void *wait_main(void *arg)
{
    (void)arg;
    aq_event *e = new_event();
    struct sh_op o1 = sh_op(SH_EVENT, e, 1), o2 = sh_op(SH_EVENT, e, 2),
                 o3 = sh_op(SH_EVENT, e, 3);
    ASSERT_EQ(aq_event_is_set(e), 0);
    aq_task *t1 = sh_start(&o1), *t2 = sh_start(&o2);
    sh_yields(1);
    ASSERT_EQ(g_log.n, 0);
    aq_task *t3 = sh_start(&o3);
    ASSERT_OK(aq_event_set(e));
    sh_yields(1);
    log_expect((int[]){3, 1, 2}, 3);
    ASSERT_EQ(aq_task_done(t1) + aq_task_done(t2) + aq_task_done(t3), 3);
    ASSERT_OK(sh_finish(t1));
    ASSERT_OK(sh_finish(t2));
    ASSERT_OK(sh_finish(t3));
    ASSERT_OK(aq_event_free(e));
    return NULL;
}

TEST(test_event_wait) { sh_main(wait_main, NULL); }

static void *wait_on_set_main(void *arg)
{
    (void)arg;
    aq_event *e = new_event();
    ASSERT_OK(aq_event_set(e));
    ASSERT_OK(aq_event_wait(e));
    ASSERT_EQ(aq_event_is_set(e), 1);
    ASSERT_OK(aq_event_free(e));
    return NULL;
}

TEST(test_event_wait_on_set) { sh_main(wait_on_set_main, NULL); }

static void *wait_cancel_main(void *arg)
{
    (void)arg;
    aq_event *e = new_event();
    struct sh_op o = sh_op(SH_EVENT, e, 1);
    aq_task *t = sh_start(&o);
    sh_yields(1);
    ASSERT_EQ(o.started, 1);
    sh_cancel_finish(t, AQ_ECANCELED);
    ASSERT_OK(aq_event_free(e)); /* ev._waiters empty */
    ASSERT_EQ(g_log.n, 0);
    return NULL;
}

TEST(test_event_wait_cancel) { sh_main(wait_cancel_main, NULL); }

TEST(test_event_clear)
{
    aq_event *e = new_event();
    ASSERT_EQ(aq_event_is_set(e), 0);
    ASSERT_OK(aq_event_set(e));
    ASSERT_EQ(aq_event_is_set(e), 1);
    ASSERT_OK(aq_event_clear(e));
    ASSERT_EQ(aq_event_is_set(e), 0);
    ASSERT_OK(aq_event_free(e));
}

/* set, clear, set, set with one waiter: it is woken once and returns
 * success although the event was cleared before it ran. */
static void *clear_with_waiters_main(void *arg)
{
    (void)arg;
    aq_event *e = new_event();
    struct sh_op o = sh_op(SH_EVENT, e, 1);
    aq_task *t = sh_start(&o);
    sh_yields(1);
    ASSERT_EQ(g_log.n, 0);
    ASSERT_OK(aq_event_set(e));
    ASSERT_OK(aq_event_clear(e));
    ASSERT_EQ(aq_event_is_set(e), 0);
    ASSERT_OK(aq_event_set(e));
    ASSERT_OK(aq_event_set(e));
    ASSERT_RC(o.rc, PENDING);
    sh_yields(1);
    log_expect((int[]){1}, 1);
    ASSERT_EQ(aq_task_done(t), 1);
    ASSERT_OK(sh_finish(t));
    ASSERT_OK(aq_event_free(e)); /* no waiter left */
    return NULL;
}

TEST(test_event_clear_with_waiters)
{
    sh_main(clear_with_waiters_main, NULL);
}

/* ---- neco's five checks ---------------------------------------------------- */

static void *basic_main(void *arg)
{
    (void)arg;
    aq_event *e = new_event();
    struct sh_op o = sh_op(SH_EVENT, e, 1);
    aq_task *t = sh_start(&o);
    sh_yields(3);
    ASSERT_RC(o.rc, PENDING);
    ASSERT_OK(aq_event_set(e));
    ASSERT_OK(sh_finish(t));
    ASSERT_OK(aq_event_wait_until(e, aq_now() - AQ_SEC)); /* set: at once */
    ASSERT_OK(aq_event_free(e));
    return NULL;
}

TEST(test_event_basic) { sh_main(basic_main, NULL); }

/* set() wakes the waiters oldest first. */
static void *order_main(void *arg)
{
    (void)arg;
    aq_event *e = new_event();
    struct sh_op o[5];
    aq_task *t[5];
    for (int i = 0; i < 5; i++) {
        o[i] = sh_op(SH_EVENT, e, i);
        t[i] = sh_start(&o[i]);
    }
    sh_yields(1);
    ASSERT_OK(aq_event_set(e));
    for (int i = 0; i < 5; i++)
        ASSERT_OK(sh_finish(t[i]));
    log_expect((int[]){0, 1, 2, 3, 4}, 5);
    ASSERT_OK(aq_event_free(e));
    return NULL;
}

TEST(test_event_order) { sh_main(order_main, NULL); }

static void *deadline_main(void *arg)
{
    (void)arg;
    aq_event *e = new_event();
    struct sh_op o = sh_op(SH_EVENT, e, 1);
    o.deadline = aq_now() + 5 * AQ_MSEC;
    int64_t t0 = aq_now();
    ASSERT_RC(sh_finish(sh_start(&o)), AQ_ETIMEDOUT);
    ASSERT(aq_now() - t0 >= 5 * AQ_MSEC);
    ASSERT_RC(aq_event_wait_until(e, aq_now() - 1), AQ_ETIMEDOUT);
    ASSERT_EQ(g_log.n, 0);
    ASSERT_OK(aq_event_free(e)); /* the timed-out waiter left */
    return NULL;
}

TEST(test_event_deadline) { sh_main(deadline_main, NULL); }

/* Cancelled before set(): AQ_ECANCELED. Woken by set() and cancelled
 * before it runs: AQ_OK (the wake-up stands). */
static void *cancel_main(void *arg)
{
    (void)arg;
    aq_event *e = new_event();
    struct sh_op a = sh_op(SH_EVENT, e, 'a'), b = sh_op(SH_EVENT, e, 'b');
    aq_task *ta = sh_start(&a), *tb = sh_start(&b);
    sh_yields(1);
    sh_cancel_finish(ta, AQ_ECANCELED);
    ASSERT_OK(aq_event_set(e));
    ASSERT_OK(aq_task_cancel(tb));
    ASSERT_OK(sh_finish(tb));
    log_expect((int[]){'b'}, 1);
    ASSERT_OK(aq_event_free(e));
    return NULL;
}

TEST(test_event_cancel) { sh_main(cancel_main, NULL); }

TEST(test_event_fail) { sh_check_new_fails(SH_EVENT, 1); }

/* ---- bad input (docs/RELIABILITY.md) --------------------------------------- */

static void *bad_input_main(void *arg)
{
    aq_event *e = arg;
    ASSERT_RC(aq_event_new(NULL), AQ_EINVAL);
    ASSERT_RC(aq_event_free(NULL), AQ_EINVAL);
    ASSERT_RC(aq_event_set(NULL), AQ_EINVAL);
    ASSERT_RC(aq_event_clear(NULL), AQ_EINVAL);
    ASSERT_EQ(aq_event_is_set(NULL), 0);
    ASSERT_RC(aq_event_wait(NULL), AQ_EINVAL);
    ASSERT_RC(aq_event_wait_until(NULL, AQ_NEVER), AQ_EINVAL);

    struct sh_op o = sh_op(SH_EVENT, e, 1);
    aq_task *t = sh_start(&o);
    sh_yields(1);
    ASSERT_RC(aq_event_free(e), AQ_EBUSY);
    ASSERT_OK(aq_event_set(e));
    ASSERT_OK(sh_finish(t));

    /* Cancelled caller: AQ_ECANCELED even on a set event. */
    ASSERT_OK(aq_task_cancel(aq_task_self()));
    ASSERT_RC(aq_event_wait(NULL), AQ_EINVAL);
    ASSERT_RC(aq_event_wait(e), AQ_ECANCELED);
    ASSERT_RC(aq_event_wait_until(e, AQ_NEVER), AQ_ECANCELED);
    ASSERT_EQ(aq_event_is_set(e), 1);
    return NULL;
}

TEST(test_event_bad_input)
{
    aq_event *e = new_event();
    ASSERT_RC(aq_event_wait(e), AQ_EPERM);
    ASSERT_RC(aq_event_wait(NULL), AQ_EPERM);
    ASSERT_RC(aq_event_wait_until(e, AQ_NEVER), AQ_EPERM);
    ASSERT_OK(aq_event_set(e)); /* set, clear: callable anywhere */
    ASSERT_RC(aq_event_wait(e), AQ_EPERM); /* even when set */
    ASSERT_OK(aq_event_clear(e));
    sh_main(bad_input_main, e);
    ASSERT_OK(aq_event_free(e));
}

int main(int argc, char **argv)
{
    RUN(test_event_repr);
    RUN(test_event_wait);
    RUN(test_event_wait_on_set);
    RUN(test_event_wait_cancel);
    RUN(test_event_clear);
    RUN(test_event_clear_with_waiters);
    RUN(test_event_basic);
    RUN(test_event_order);
    RUN(test_event_deadline);
    RUN(test_event_cancel);
    RUN(test_event_fail);
    RUN(test_event_bad_input);
    return t_done();
}
