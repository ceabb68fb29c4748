/* Conformance: CPython's Lib/test/test_asyncio/test_queues.py,
 * QueueGetTests, over every queue kind. Also libaq's extras on the get
 * side (CONFORMANCE.md, "Where libaq goes further"): no barging past a
 * woken getter, and get_until deadlines.
 */
#include "queue_helpers.h"

static void blocking_get_body(aq_queue *q, aq_queue_kind kind)
{
    int ran;
    (void)kind;
    qh_try_put(q, 1);
    /* An item is there, so the get completes without suspending. */
    aq_task *w = qh_quiet_begin(&ran);
    ASSERT_EQ(qh_get(q), 1);
    qh_quiet_end(w, &ran);
}

TEST(test_blocking_get) { qh_each_kind(0, blocking_get_body); }

static void get_with_putters_body(aq_queue *q, aq_queue_kind kind)
{
    (void)kind;
    qh_put(q, 1);
    struct qh_op p = qh_op(q, 2);
    aq_task *t = qh_spawn(qh_put_task, &p);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_putters(q), 1);

    ASSERT_EQ(qh_get(q), 1);
    /* The get moved the waiting putter's item into the freed slot before
     * returning: the putter is released, not merely woken to retry. */
    ASSERT_EQ(aq_queue_putters(q), 0);
    ASSERT_EQ(aq_queue_qsize(q), 1);
    ASSERT_RC(qh_finish(t), AQ_OK);
    ASSERT_EQ(qh_try_get(q), 2);
}

TEST(test_get_with_putters) { qh_each_kind(1, get_with_putters_body); }

struct flagged_get {
    aq_queue *q;
    int started, finished;
    int64_t item;
};

static void *flagged_get(void *arg)
{
    struct flagged_get *g = arg;
    g->started = 1;
    int rc = aq_queue_get(g->q, &g->item);
    g->finished = 1;
    return (void *)(intptr_t)rc;
}

static void blocking_get_wait_body(aq_queue *q, aq_queue_kind kind)
{
    struct flagged_get g = {q, 0, 0, -1};
    struct qh_later later = {q, 10 * AQ_MSEC, 1, 1, QH_PENDING};
    (void)kind;

    aq_task *t = qh_spawn(flagged_get, &g);
    while (!g.started)
        ASSERT_OK(aq_yield());
    ASSERT_EQ(g.finished, 0);

    int64_t t0 = aq_now();
    aq_task *timer = qh_spawn(qh_later_task, &later);
    ASSERT_RC(qh_finish(t), AQ_OK);
    /* The get could only finish once the timer put the item. */
    ASSERT(aq_now() - t0 >= 10 * AQ_MSEC);
    ASSERT_EQ(g.finished, 1);
    ASSERT_EQ(g.item, 1);
    ASSERT_OK(qh_finish(timer));
    ASSERT_RC(later.rc, AQ_OK);
}

TEST(test_blocking_get_wait) { qh_each_kind(0, blocking_get_wait_body); }

static void nonblocking_get_body(aq_queue *q, aq_queue_kind kind)
{
    (void)kind;
    qh_try_put(q, 1);
    ASSERT_EQ(qh_try_get(q), 1);
    ASSERT_EQ(aq_queue_qsize(q), 0);
}

TEST(test_nonblocking_get) { qh_each_kind(0, nonblocking_get_body); }

static void nonblocking_get_exception_body(aq_queue *q, aq_queue_kind kind)
{
    int64_t out = -7;
    (void)kind;
    ASSERT_RC(aq_queue_try_get(q, &out), AQ_EEMPTY);
    ASSERT_EQ(out, -7);
}

TEST(test_nonblocking_get_exception)
{
    qh_each_kind(0, nonblocking_get_exception_body);
}

static void get_cancelled_race_body(aq_queue *q, aq_queue_kind kind)
{
    struct qh_op g1 = qh_op(q, -1), g2 = qh_op(q, -1);
    (void)kind;
    aq_task *t1 = qh_spawn(qh_get_task, &g1);
    aq_task *t2 = qh_spawn(qh_get_task, &g2);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_getters(q), 2);

    ASSERT_OK(aq_task_cancel(t1));
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_task_done(t1), 1);
    ASSERT_EQ(aq_queue_getters(q), 1);

    qh_put(q, 10);
    ASSERT_OK(aq_yield());
    ASSERT_RC(qh_finish(t2), AQ_OK);
    ASSERT_EQ(g2.item, 10);
    ASSERT_RC(qh_finish(t1), AQ_ECANCELED);
    ASSERT_EQ(g1.item, -1);
    ASSERT_EQ(aq_queue_qsize(q), 0);
}

TEST(test_get_cancelled_race) { qh_each_kind(0, get_cancelled_race_body); }

static void get_with_waiting_putters_body(aq_queue *q, aq_queue_kind kind)
{
    struct qh_op pa = qh_op(q, 1), pb = qh_op(q, 2);
    (void)kind;
    aq_task *ta = qh_spawn(qh_put_task, &pa);
    aq_task *tb = qh_spawn(qh_put_task, &pb);
    ASSERT_EQ(qh_get(q), 1);
    ASSERT_EQ(qh_get(q), 2);
    ASSERT_RC(qh_finish(ta), AQ_OK);
    ASSERT_RC(qh_finish(tb), AQ_OK);
    ASSERT_EQ(aq_queue_qsize(q), 0);
}

TEST(test_get_with_waiting_putters)
{
    qh_each_kind(1, get_with_waiting_putters_body);
}

#define NITEMS 5

struct stream {
    aq_queue *q;
    int64_t got[NITEMS];
};

static void *producer(void *arg)
{
    struct stream *s = arg;
    for (int64_t i = 0; i < NITEMS; i++) {
        int rc = aq_queue_put(s->q, &i);
        if (rc != AQ_OK)
            return (void *)(intptr_t)rc;
    }
    return NULL;
}

static void *consumer(void *arg)
{
    struct stream *s = arg;
    for (int i = 0; i < NITEMS; i++) {
        int rc = aq_queue_get(s->q, &s->got[i]);
        if (rc != AQ_OK)
            return (void *)(intptr_t)rc;
    }
    return NULL;
}

static void why_are_getters_waiting_body(aq_queue *q, aq_queue_kind kind)
{
    struct stream s = {q, {0}};
    void *res[2] = {(void *)1, (void *)1};
    (void)kind;
    aq_task *t[2] = {qh_spawn(producer, &s), qh_spawn(consumer, &s)};
    ASSERT_OK(aq_gather(t, 2, res));
    ASSERT_OK(aq_task_release(t[0]));
    ASSERT_OK(aq_task_release(t[1]));
    ASSERT_RC((int)(intptr_t)res[0], AQ_OK);
    ASSERT_RC((int)(intptr_t)res[1], AQ_OK);

    /* With one slot there is never a choice, so every kind keeps the
     * producer's order. */
    for (int i = 0; i < NITEMS; i++)
        ASSERT_EQ(s.got[i], i);
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_EQ(aq_queue_getters(q), 0);
    ASSERT_EQ(aq_queue_putters(q), 0);
    ASSERT_EQ(aq_queue_unfinished(q), NITEMS);
}

TEST(test_why_are_getters_waiting)
{
    qh_each_kind(1, why_are_getters_waiting_body);
}

static void cancelled_getters_body(aq_queue *q, aq_queue_kind kind)
{
    int64_t out = -7;
    (void)kind;
    /* asyncio.wait_for(queue.get(), timeout): the deadline form. */
    ASSERT_RC(aq_queue_get_until(q, &out, aq_now() + 10 * AQ_MSEC),
              AQ_ETIMEDOUT);
    ASSERT_EQ(aq_queue_getters(q), 0);
    ASSERT_EQ(out, -7);

    /* And what wait_for does underneath: cancel the waiting get. */
    struct qh_op g = qh_op(q, -1);
    aq_task *t = qh_spawn(qh_get_task, &g);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_getters(q), 1);
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_RC(qh_finish(t), AQ_ECANCELED);
    ASSERT_EQ(aq_queue_getters(q), 0);

    /* Neither left a ghost to swallow the next item. */
    qh_try_put(q, 1);
    ASSERT_EQ(aq_queue_qsize(q), 1);
    ASSERT_EQ(g.item, -1);
}

TEST(test_cancelled_getters_not_being_held_in_self_getters)
{
    qh_each_kind(5, cancelled_getters_body);
}

/* ---- beyond CPython ------------------------------------------------------ */

static void no_barging_get_body(aq_queue *q, aq_queue_kind kind)
{
    struct qh_op g = qh_op(q, -1);
    struct qh_barger b = {q, &g, 0, -1, QH_PENDING, 0};
    int64_t out = -1;
    (void)kind;
    aq_task *tg = qh_spawn(qh_get_task, &g);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_getters(q), 1);

    /* The barger is queued to run before the getter the put wakes. */
    aq_task *tb = qh_spawn(qh_barger_task, &b);
    qh_try_put(q, 1);
    ASSERT_EQ(aq_queue_getters(q), 0);
    ASSERT_EQ(aq_queue_qsize(q), 0);
    /* The item already belongs to the getter, even to this task... */
    ASSERT_RC(aq_queue_try_get(q, &out), AQ_EEMPTY);
    ASSERT_OK(qh_finish(tb));
    /* ...and to the other one, which ran first (CPython bug 83055 lets
     * it take the item and sends the woken getter back to sleep). */
    ASSERT_EQ(b.victim_pending, 1);
    ASSERT_RC(b.rc, AQ_EEMPTY);
    ASSERT_EQ(b.item, -1);
    ASSERT_RC(qh_finish(tg), AQ_OK);
    ASSERT_EQ(g.item, 1);
    ASSERT_EQ(out, -1);
}

TEST(test_no_barging_get) { qh_each_kind(0, no_barging_get_body); }

static void get_until_times_out_body(aq_queue *q, aq_queue_kind kind)
{
    int64_t out = -7;
    (void)kind;

    /* Nothing arrives: ETIMEDOUT after the deadline, buffer untouched. */
    int64_t t0 = aq_now();
    ASSERT_RC(aq_queue_get_until(q, &out, t0 + 10 * AQ_MSEC), AQ_ETIMEDOUT);
    ASSERT(aq_now() - t0 >= 10 * AQ_MSEC);
    ASSERT_EQ(out, -7);
    ASSERT_EQ(aq_queue_getters(q), 0);
    ASSERT_RC(aq_queue_get_until(q, &out, aq_now() - 1), AQ_ETIMEDOUT);

    /* A get that can complete at once does so, deadline or not. */
    qh_try_put(q, 5);
    ASSERT_OK(aq_queue_get_until(q, &out, aq_now() - 1));
    ASSERT_EQ(out, 5);

    /* A getter that timed out ahead of a patient one: the next item goes
     * to the patient one, and none is left behind or lost. */
    struct qh_op g1 = qh_op(q, -1), g2 = qh_op(q, -1);
    g1.deadline = aq_now() + 10 * AQ_MSEC;
    aq_task *t1 = qh_spawn(qh_get_task, &g1);
    aq_task *t2 = qh_spawn(qh_get_task, &g2);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_getters(q), 2);
    ASSERT_RC(qh_finish(t1), AQ_ETIMEDOUT);
    ASSERT_EQ(g1.item, -1);
    ASSERT_EQ(aq_queue_getters(q), 1);
    qh_try_put(q, 7);
    ASSERT_RC(qh_finish(t2), AQ_OK);
    ASSERT_EQ(g2.item, 7);

    /* Handed its item before the loop noticed the deadline: completed
     * beats timed out, so the get succeeds and the item is not lost. */
    struct qh_op g3 = qh_op(q, -1);
    g3.deadline = aq_now() + 2 * AQ_MSEC;
    aq_task *t3 = qh_spawn(qh_get_task, &g3);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_getters(q), 1);
    qh_spin_past(g3.deadline);
    qh_try_put(q, 8);
    ASSERT_RC(qh_finish(t3), AQ_OK);
    ASSERT_EQ(g3.item, 8);

    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_EQ(aq_queue_getters(q), 0);
    ASSERT_EQ(aq_queue_unfinished(q), 3);
}

TEST(test_get_until_times_out) { qh_each_kind(0, get_until_times_out_body); }

int main(int argc, char **argv)
{
    RUN(test_blocking_get);
    RUN(test_get_with_putters);
    RUN(test_blocking_get_wait);
    RUN(test_nonblocking_get);
    RUN(test_nonblocking_get_exception);
    RUN(test_get_cancelled_race);
    RUN(test_get_with_waiting_putters);
    RUN(test_why_are_getters_waiting);
    RUN(test_cancelled_getters_not_being_held_in_self_getters);
    RUN(test_no_barging_get);
    RUN(test_get_until_times_out);
    return t_done();
}
