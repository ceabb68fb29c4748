/* Conformance: CPython 3.13's Lib/test/test_asyncio/test_queues.py,
 * _QueueShutdownTestMixin (run there for Queue, LifoQueue and
 * PriorityQueue, here for every kind; the cases are spelled out in
 * CONFORMANCE.md). Also the shutdown rules of CONFORMANCE.md that those
 * cases leave implicit: every waiter is woken, shutdown is checked before
 * fullness, repeating it is harmless, and a later immediate shutdown
 * still drops what is left, never taking the count below zero.
 */
#include "queue_helpers.h"

static void shutdown_empty_body(aq_queue *q, aq_queue_kind kind)
{
    struct qh_op g = qh_op(q, -1);
    (void)kind;
    aq_task *t = qh_spawn(qh_get_task, &g);
    ASSERT_OK(aq_yield()); /* the get must be waiting before shutdown */
    ASSERT_EQ(aq_queue_getters(q), 1);

    ASSERT_OK(aq_queue_shutdown(q, 0));
    ASSERT_EQ(aq_queue_is_shutdown(q), 1);
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_OK(aq_queue_join(q));

    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_task_done(t), 1);
    ASSERT_RC(qh_finish(t), AQ_ESHUTDOWN);
    ASSERT_EQ(g.item, -1);
    qh_assert_all_shut(q);
}

TEST(test_shutdown_empty) { qh_each_kind(0, shutdown_empty_body); }

static void shutdown_nonempty_body(aq_queue *q, aq_queue_kind kind)
{
    struct qh_op j = qh_op(q, 0), p = qh_op(q, 2);
    int64_t three = 3;
    (void)kind;
    qh_try_put(q, 1);
    aq_task *tj = qh_spawn(qh_join_task, &j);
    aq_task *tp = qh_spawn(qh_put_task, &p);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_task_done(tp), 0);
    ASSERT_EQ(aq_queue_joiners(q), 1);
    ASSERT_EQ(aq_queue_putters(q), 1);

    ASSERT_OK(aq_queue_shutdown(q, 0));
    ASSERT_EQ(aq_queue_qsize(q), 1);
    /* Full and shut down: shutdown is what put_nowait reports. */
    ASSERT_RC(aq_queue_try_put(q, &three), AQ_ESHUTDOWN);

    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_task_done(tp), 1);
    ASSERT_RC(qh_finish(tp), AQ_ESHUTDOWN);

    /* The queued item still drains; the failed put's did not go in. */
    ASSERT_EQ(qh_get(q), 1);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_task_done(tj), 0);
    qh_assert_all_shut(q);

    /* One unfinished task: its task_done releases the join. */
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_task_done(tj), 1);
    ASSERT_RC(qh_finish(tj), AQ_OK);
    ASSERT_RC(aq_queue_task_done(q), AQ_EINVAL);
}

TEST(test_shutdown_nonempty) { qh_each_kind(1, shutdown_nonempty_body); }

static void shutdown_immediate_body(aq_queue *q, aq_queue_kind kind)
{
    struct qh_op j = qh_op(q, 0);
    (void)kind;
    qh_try_put(q, 1);
    aq_task *tj = qh_spawn(qh_join_task, &j);
    /* CPython shuts down before the join task starts; letting it wait
     * first also checks that dropping the item wakes a waiting join. */
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_joiners(q), 1);

    ASSERT_OK(aq_queue_shutdown(q, 1));
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_EQ(aq_queue_unfinished(q), 0);
    ASSERT_EQ(aq_queue_joiners(q), 0);

    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_task_done(tj), 1);
    ASSERT_RC(qh_finish(tj), AQ_OK);
    qh_assert_all_shut(q);
    ASSERT_RC(aq_queue_task_done(q), AQ_EINVAL);
}

TEST(test_shutdown_immediate) { qh_each_kind(0, shutdown_immediate_body); }

static void shutdown_immediate_with_unfinished_body(aq_queue *q,
                                                    aq_queue_kind kind)
{
    /* The first get takes: FIFO 1, LIFO 2, PRIORITY 1. */
    static const int64_t first[3] = {1, 2, 1};
    struct qh_op j = qh_op(q, 0);
    qh_try_put(q, 1);
    qh_try_put(q, 2);
    aq_task *tj = qh_spawn(qh_join_task, &j);
    ASSERT_EQ(qh_get(q), first[qh_kind_index(kind)]);

    ASSERT_OK(aq_queue_shutdown(q, 1));
    ASSERT_EQ(aq_queue_qsize(q), 0);
    /* Only the dropped item counts as done; the one got is still out. */
    ASSERT_EQ(aq_queue_unfinished(q), 1);

    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_task_done(tj), 0);
    ASSERT_EQ(aq_queue_joiners(q), 1);
    qh_assert_all_shut(q);

    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_RC(aq_queue_task_done(q), AQ_EINVAL);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_task_done(tj), 1);
    ASSERT_RC(qh_finish(tj), AQ_OK);
}

TEST(test_shutdown_immediate_with_unfinished)
{
    qh_each_kind(0, shutdown_immediate_with_unfinished_body);
}

static void format_body(aq_queue *q, aq_queue_kind kind)
{
    (void)kind;
    /* 'maxsize=0', then 'maxsize=0 shutdown'. */
    ASSERT_EQ(aq_queue_is_shutdown(q), 0);
    ASSERT_OK(aq_queue_shutdown(q, 0));
    ASSERT_EQ(aq_queue_is_shutdown(q), 1);
    ASSERT_EQ(aq_queue_maxsize(q), 0);
}

TEST(test_format) { qh_each_kind(0, format_body); }

/* ---- rules beyond the CPython cases -------------------------------------- */

static void shutdown_wakes_every_waiter_body(aq_queue *q, aq_queue_kind kind)
{
    enum { N = 3 };
    struct qh_op g[N], p[N];
    aq_task *tg[N], *tp[N];
    aq_queue *full = qh_new(kind, 1);
    qh_try_put(full, 1);
    for (int i = 0; i < N; i++) {
        g[i] = qh_op(q, -1);
        tg[i] = qh_spawn(qh_get_task, &g[i]);
        p[i] = qh_op(full, 10 + i);
        tp[i] = qh_spawn(qh_put_task, &p[i]);
    }
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_getters(q), N);
    ASSERT_EQ(aq_queue_putters(full), N);
    /* Freeing is refused while tasks wait on it... */
    ASSERT_RC(aq_queue_free(q), AQ_EBUSY);
    ASSERT_RC(aq_queue_free(full), AQ_EBUSY);

    /* ...so shut down, and every waiter returns. */
    ASSERT_OK(aq_queue_shutdown(q, 0));
    ASSERT_OK(aq_queue_shutdown(full, 0));
    ASSERT_EQ(aq_queue_getters(q), 0);
    ASSERT_EQ(aq_queue_putters(full), 0);
    for (int i = 0; i < N; i++) {
        ASSERT_RC(qh_finish(tg[i]), AQ_ESHUTDOWN);
        ASSERT_EQ(g[i].item, -1);
        ASSERT_RC(qh_finish(tp[i]), AQ_ESHUTDOWN);
    }
    /* No woken putter slipped its item in. */
    ASSERT_EQ(aq_queue_qsize(full), 1);
    ASSERT_EQ(aq_queue_unfinished(full), 1);
    ASSERT_EQ(qh_try_get(full), 1);
    qh_assert_all_shut(full);
    ASSERT_OK(aq_queue_free(full));
}

TEST(test_shutdown_wakes_every_waiter)
{
    qh_each_kind(0, shutdown_wakes_every_waiter_body);
}

static void shutdown_repeated_body(aq_queue *q, aq_queue_kind kind)
{
    (void)kind;
    for (int64_t i = 1; i <= 3; i++)
        qh_try_put(q, i);
    ASSERT_OK(aq_queue_shutdown(q, 0));
    ASSERT_OK(aq_queue_shutdown(q, 0));
    ASSERT_EQ(aq_queue_qsize(q), 3);
    qh_try_get(q);

    /* A later immediate shutdown still drops the two left. */
    ASSERT_OK(aq_queue_shutdown(q, 1));
    ASSERT_EQ(aq_queue_is_shutdown(q), 1);
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_EQ(aq_queue_unfinished(q), 1);
    ASSERT_OK(aq_queue_shutdown(q, 1));
    ASSERT_EQ(aq_queue_unfinished(q), 1);
    qh_assert_all_shut(q);
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_RC(aq_queue_task_done(q), AQ_EINVAL);

    /* Items already marked done before they were got: dropping them
     * cannot take the count below zero. */
    aq_queue *ahead = qh_new(kind, 0);
    qh_try_put(ahead, 1);
    qh_try_put(ahead, 2);
    ASSERT_OK(aq_queue_task_done(ahead));
    ASSERT_OK(aq_queue_task_done(ahead));
    ASSERT_OK(aq_queue_shutdown(ahead, 1));
    ASSERT_EQ(aq_queue_qsize(ahead), 0);
    ASSERT_EQ(aq_queue_unfinished(ahead), 0);
    ASSERT_RC(aq_queue_task_done(ahead), AQ_EINVAL);
    ASSERT_OK(aq_queue_join(ahead));
    ASSERT_OK(aq_queue_free(ahead));
}

TEST(test_shutdown_repeated_then_immediate)
{
    qh_each_kind(0, shutdown_repeated_body);
}

int main(int argc, char **argv)
{
    RUN(test_shutdown_empty);
    RUN(test_shutdown_nonempty);
    RUN(test_shutdown_immediate);
    RUN(test_shutdown_immediate_with_unfinished);
    RUN(test_format);
    RUN(test_shutdown_wakes_every_waiter);
    RUN(test_shutdown_repeated_then_immediate);
    return t_done();
}
