/* Conformance: CPython's Lib/test/test_asyncio/test_queues.py,
 * _QueueJoinTestMixin (run there for Queue, LifoQueue and PriorityQueue,
 * here for every kind). Python's _format() maps onto maxsize and the
 * unfinished count. Also libaq's join_until deadline (CONFORMANCE.md,
 * "Where libaq goes further").
 */
#include "queue_helpers.h"

static void task_done_underflow_body(aq_queue *q, aq_queue_kind kind)
{
    (void)kind;
    ASSERT_RC(aq_queue_task_done(q), AQ_EINVAL);
    ASSERT_EQ(aq_queue_unfinished(q), 0);

    /* A get does not finish a task; only task_done does, once per put. */
    qh_try_put(q, 1);
    ASSERT_EQ(qh_try_get(q), 1);
    ASSERT_EQ(aq_queue_unfinished(q), 1);
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_RC(aq_queue_task_done(q), AQ_EINVAL);
    ASSERT_EQ(aq_queue_unfinished(q), 0);
}

TEST(test_task_done_underflow)
{
    qh_each_kind(0, task_done_underflow_body);
}

#define NITEMS 100
#define NWORKERS 2

struct pool {
    aq_queue *q;
    int running;
    int64_t accumulator;
    int processed;
};

static void *worker(void *arg)
{
    struct pool *p = arg;
    while (p->running) {
        int64_t item;
        int rc = aq_queue_get(p->q, &item);
        if (rc != AQ_OK)
            return (void *)(intptr_t)rc;
        p->accumulator += item;
        p->processed++;
        rc = aq_queue_task_done(p->q);
        if (rc != AQ_OK)
            return (void *)(intptr_t)rc;
    }
    return NULL;
}

/* A join waiting on two tasks is not released by the first task_done. */
static void join_waits_for_last(aq_queue *q)
{
    struct qh_op j = qh_op(q, 0);
    qh_try_put(q, 1);
    qh_try_put(q, 2);
    aq_task *t = qh_spawn(qh_join_task, &j);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_joiners(q), 1);
    qh_try_get(q);
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_task_done(t), 0);
    qh_try_get(q);
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_task_done(t), 1);
    ASSERT_RC(qh_finish(t), AQ_OK);
}

static void task_done_body(aq_queue *q, aq_queue_kind kind)
{
    struct pool p = {q, 1, 0, 0};
    aq_task *t[NWORKERS];
    void *res[NWORKERS];
    (void)kind;
    join_waits_for_last(q);
    for (int64_t i = 0; i < NITEMS; i++)
        qh_try_put(q, i);
    for (int i = 0; i < NWORKERS; i++)
        t[i] = qh_spawn(worker, &p);

    /* join returns only once every item has been processed. */
    ASSERT_OK(aq_queue_join(q));
    ASSERT_EQ(p.accumulator, (int64_t)NITEMS * (NITEMS - 1) / 2);
    ASSERT_EQ(p.processed, NITEMS);
    ASSERT_EQ(aq_queue_unfinished(q), 0);

    /* Stop the workers: each is waiting in get and takes one 0. */
    p.running = 0;
    for (int i = 0; i < NWORKERS; i++)
        qh_try_put(q, 0);
    ASSERT_OK(aq_gather(t, NWORKERS, res));
    for (int i = 0; i < NWORKERS; i++) {
        ASSERT_RC((int)(intptr_t)res[i], AQ_OK);
        ASSERT_OK(aq_task_release(t[i]));
    }
    ASSERT_EQ(p.processed, NITEMS + NWORKERS);
    ASSERT_EQ(aq_queue_unfinished(q), 0);
}

TEST(test_task_done) { qh_each_kind(0, task_done_body); }

static void join_empty_queue_body(aq_queue *q, aq_queue_kind kind)
{
    int ran;
    (void)kind;
    /* Done twice, as CPython does; neither may even yield. */
    aq_task *w = qh_quiet_begin(&ran);
    ASSERT_OK(aq_queue_join(q));
    ASSERT_OK(aq_queue_join(q));
    qh_quiet_end(w, &ran);

    /* Empty again after work: every put was marked done. */
    qh_try_put(q, 1);
    ASSERT_EQ(qh_try_get(q), 1);
    ASSERT_OK(aq_queue_task_done(q));
    w = qh_quiet_begin(&ran);
    ASSERT_OK(aq_queue_join(q));
    qh_quiet_end(w, &ran);
}

TEST(test_join_empty_queue) { qh_each_kind(0, join_empty_queue_body); }

static void format_body(aq_queue *q, aq_queue_kind kind)
{
    (void)kind;
    /* 'maxsize=0' */
    ASSERT_EQ(aq_queue_maxsize(q), 0);
    ASSERT_EQ(aq_queue_unfinished(q), 0);
    /* 'maxsize=0 tasks=2': two puts, got but not done. */
    qh_try_put(q, 1);
    qh_try_put(q, 2);
    qh_try_get(q);
    qh_try_get(q);
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_EQ(aq_queue_unfinished(q), 2);
}

TEST(test_format) { qh_each_kind(0, format_body); }

/* ---- beyond CPython ------------------------------------------------------ */

/* Takes one item and marks it done: the unfinished count drops by one. */
static void finish_one(aq_queue *q)
{
    qh_try_get(q);
    ASSERT_OK(aq_queue_task_done(q));
}

static void join_until_times_out_body(aq_queue *q, aq_queue_kind kind)
{
    (void)kind;
    qh_try_put(q, 1);

    /* Work left undone: ETIMEDOUT after the deadline, no joiner left. */
    int64_t t0 = aq_now();
    ASSERT_RC(aq_queue_join_until(q, t0 + 10 * AQ_MSEC), AQ_ETIMEDOUT);
    ASSERT(aq_now() - t0 >= 10 * AQ_MSEC);
    ASSERT_EQ(aq_queue_joiners(q), 0);
    ASSERT_EQ(aq_queue_unfinished(q), 1);
    ASSERT_RC(aq_queue_join_until(q, aq_now() - 1), AQ_ETIMEDOUT);

    /* A later join still waits, and is released by the last task_done. */
    struct qh_op j = qh_op(q, 0);
    aq_task *t = qh_spawn(qh_join_task, &j);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_joiners(q), 1);
    finish_one(q);
    ASSERT_EQ(aq_queue_joiners(q), 0);
    ASSERT_RC(qh_finish(t), AQ_OK);

    /* Nothing unfinished: succeeds at once, even past its deadline. */
    ASSERT_OK(aq_queue_join_until(q, aq_now() - 1));

    /* A joiner that timed out beside a patient one: the patient one is
     * still released. */
    qh_try_put(q, 2);
    struct qh_op ja = qh_op(q, 0), jb = qh_op(q, 0);
    ja.deadline = aq_now() + 10 * AQ_MSEC;
    aq_task *ta = qh_spawn(qh_join_task, &ja);
    aq_task *tb = qh_spawn(qh_join_task, &jb);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_joiners(q), 2);
    ASSERT_RC(qh_finish(ta), AQ_ETIMEDOUT);
    ASSERT_EQ(aq_queue_joiners(q), 1);
    finish_one(q);
    ASSERT_RC(qh_finish(tb), AQ_OK);

    /* Released before the loop noticed the deadline: it succeeds. */
    qh_try_put(q, 3);
    struct qh_op jc = qh_op(q, 0);
    jc.deadline = aq_now() + 2 * AQ_MSEC;
    aq_task *tc = qh_spawn(qh_join_task, &jc);
    ASSERT_OK(aq_yield());
    qh_spin_past(jc.deadline);
    finish_one(q);
    ASSERT_RC(qh_finish(tc), AQ_OK);
    ASSERT_EQ(aq_queue_joiners(q), 0);
}

TEST(test_join_until_times_out)
{
    qh_each_kind(0, join_until_times_out_body);
}

int main(int argc, char **argv)
{
    RUN(test_task_done_underflow);
    RUN(test_task_done);
    RUN(test_join_empty_queue);
    RUN(test_format);
    RUN(test_join_until_times_out);
    return t_done();
}
