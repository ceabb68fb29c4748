/* aq_task_shield: a shielded task's waits are not interrupted by a cancel
 * and its calls do not fail with AQ_ECANCELED; the cancel is recorded and
 * applies once the shield is lifted; deadlines still apply; the loop's
 * final reaping overrides shields. */
#include "rt_helpers.h"

struct shielded {
    aq_queue *q;
    int rc_wait, rc_put, rc_after, was;
    long got;
};

/* Shields itself, then waits for an item and puts a "sentinel" back:
 * cleanup that must complete even though the task gets cancelled. */
static void *shielded_task(void *arg)
{
    struct shielded *s = arg;
    s->was = aq_task_shield(1);
    s->rc_wait = aq_queue_get(s->q, &s->got);
    long sentinel = -1;
    s->rc_put = aq_queue_put(s->q, &sentinel);
    ASSERT_EQ(aq_task_shield(0), 1);
    s->rc_after = aq_yield(); /* the recorded cancel applies now */
    return NULL;
}

static void *shield_main(void *arg)
{
    struct shielded s = {.q = NULL, .got = 0};
    aq_task *t;
    (void)arg;
    s.q = new_fifo(0);
    ASSERT_OK(aq_spawn(&t, shielded_task, &s));
    ASSERT_OK(aq_yield()); /* it parks in its get, shielded */
    ASSERT_EQ(aq_queue_getters(s.q), 1);
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_EQ(aq_task_cancelled(t), 1);
    ASSERT_EQ(aq_queue_getters(s.q), 1); /* the wait goes on */
    put_long(s.q, 42);
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_EQ(s.was, 0);
    ASSERT_OK(s.rc_wait);
    ASSERT_EQ(s.got, 42);
    ASSERT_OK(s.rc_put);
    ASSERT_RC(s.rc_after, AQ_ECANCELED);
    long v;
    ASSERT_OK(aq_queue_try_get(s.q, &v));
    ASSERT_EQ(v, -1);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_queue_free(s.q));
    return NULL;
}

TEST(test_shield_cancel_waits_for_the_shield)
{
    t_main(shield_main, NULL);
}

/* Already cancelled, then shielded: calls work again until unshielded. */
static void *late_shield_main(void *arg)
{
    aq_queue *q = new_fifo(1);
    long v = 7;
    (void)arg;
    ASSERT_OK(aq_task_cancel(aq_task_self()));
    ASSERT_RC(aq_queue_put(q, &v), AQ_ECANCELED);
    ASSERT_EQ(aq_task_shield(1), 0);
    ASSERT_EQ(aq_task_shield(1), 1); /* idempotent, reports the state */
    ASSERT_OK(aq_queue_put(q, &v));
    /* A deadline still ends a shielded wait. */
    ASSERT_RC(aq_queue_put_until(q, &v, aq_now() + AQ_MSEC), AQ_ETIMEDOUT);
    ASSERT_OK(aq_sleep(AQ_USEC));
    ASSERT_EQ(aq_task_shield(0), 1);
    ASSERT_RC(aq_queue_get(q, &v), AQ_ECANCELED);
    ASSERT_RC(aq_yield(), AQ_ECANCELED);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_shield_after_cancel_and_deadlines)
{
    t_main(late_shield_main, NULL);
}

/* A shielded task parked forever is still reaped when the loop goes. */
static aq_queue *g_q;

static void *forever(void *arg)
{
    long v;
    aq_task_shield(1);
    *(int *)arg = aq_queue_get(g_q, &v);
    return NULL;
}

TEST(test_shield_reaping_overrides)
{
    aq_loop *l;
    int rc = PENDING;
    g_q = new_fifo(0);
    ASSERT_OK(aq_loop_new(&l));
    ASSERT_OK(aq_loop_spawn(l, NULL, forever, &rc, 0));
    ASSERT_OK(aq_loop_run(l));
    ASSERT_EQ(rc, PENDING);
    ASSERT_OK(aq_loop_free(l));
    ASSERT_RC(rc, AQ_ECANCELED);
    ASSERT_EQ(aq_queue_getters(g_q), 0);
    ASSERT_OK(aq_queue_free(g_q));
}

TEST(test_shield_outside_task_is_eperm)
{
    ASSERT_RC(aq_task_shield(1), AQ_EPERM);
}

int main(int argc, char **argv)
{
    RUN(test_shield_cancel_waits_for_the_shield);
    RUN(test_shield_after_cancel_and_deadlines);
    RUN(test_shield_reaping_overrides);
    RUN(test_shield_outside_task_is_eperm);
    return t_done();
}
