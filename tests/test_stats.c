/* Statistics: aq_queue_statistics and aq_loop_statistics give exact
 * counts after known sequences (puts, gets, hand-offs both ways, drops,
 * waiters, high water; tasks ready, running, parked, timers and loop
 * iterations), and reject NULL arguments.
 */
#include "queue_helpers.h"

static aq_queue_stats qstats(const aq_queue *q)
{
    aq_queue_stats st;
    ASSERT_OK(aq_queue_statistics(q, &st));
    return st;
}

static void assert_moved(const aq_queue *q, uint64_t put, uint64_t got,
                         uint64_t dropped, size_t high_water)
{
    aq_queue_stats st = qstats(q);
    ASSERT_EQ(st.put, put);
    ASSERT_EQ(st.got, got);
    ASSERT_EQ(st.dropped, dropped);
    ASSERT_EQ(st.high_water, high_water);
    ASSERT_EQ(st.qsize, aq_queue_qsize(q));
}

/* ---- queues -------------------------------------------------------------- */

static void counts_body(aq_queue *q, aq_queue_kind kind)
{
    (void)kind;
    aq_queue_stats st = qstats(q);
    ASSERT_EQ(st.maxsize, 4);
    assert_moved(q, 0, 0, 0, 0);
    for (int64_t i = 1; i <= 3; i++)
        qh_put(q, i);
    (void)qh_get(q);
    qh_put(q, 4);
    qh_put(q, 5);
    (void)qh_get(q);
    assert_moved(q, 5, 2, 0, 4);
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_OK(aq_queue_task_done(q));
    st = qstats(q);
    ASSERT_EQ(st.unfinished, 3);
    ASSERT_EQ(st.qsize, 3);
    ASSERT_EQ(st.is_shutdown, 0);
    /* The mark stays at its peak as the queue drains. */
    while (aq_queue_qsize(q) > 0)
        (void)qh_get(q);
    assert_moved(q, 5, 5, 0, 4);
    qh_put(q, 6); /* stored again, the mark holds */
    ASSERT_OK(aq_queue_shutdown(q, 1));
    st = qstats(q);
    assert_moved(q, 6, 5, 1, 4);
    ASSERT_EQ(st.is_shutdown, 1);
    ASSERT_EQ(st.unfinished, 3); /* 5 got, 2 done; the dropped one gone */
}

TEST(test_stats_queue_counts_exact) { qh_each_kind(4, counts_body); }

/* Hand-offs count as got and never as stored; the waiters are counted
 * where they wait. */
static void handoff_body(aq_queue *q, aq_queue_kind kind)
{
    (void)kind;
    struct qh_op g = qh_op(q, -1), p = qh_op(q, 2), j = qh_op(q, 0);
    aq_task *tg = qh_spawn(qh_get_task, &g);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(qstats(q).getters, 1);
    qh_put(q, 1); /* straight to the getter */
    ASSERT_OK(qh_finish(tg));
    assert_moved(q, 1, 1, 0, 0);
    ASSERT_EQ(qstats(q).getters, 0);

    qh_put(q, 3); /* full (maxsize 1): the next put waits */
    aq_task *tp = qh_spawn(qh_put_task, &p);
    aq_task *tj = qh_spawn(qh_join_task, &j);
    ASSERT_OK(aq_yield());
    aq_queue_stats st = qstats(q);
    ASSERT_EQ(st.putters, 1);
    ASSERT_EQ(st.joiners, 1);
    assert_moved(q, 2, 1, 0, 1); /* the waiting item is not in yet */
    ASSERT_EQ(qh_get(q), 3); /* moves the putter's item in */
    ASSERT_OK(qh_finish(tp));
    assert_moved(q, 3, 2, 0, 1);
    ASSERT_EQ(qh_get(q), 2);
    for (int i = 0; i < 3; i++)
        ASSERT_OK(aq_queue_task_done(q));
    ASSERT_OK(qh_finish(tj));
    st = qstats(q);
    ASSERT_EQ(st.putters + st.joiners + st.getters, 0);
    ASSERT_EQ(st.unfinished, 0);
}

TEST(test_stats_queue_handoffs_and_waiters)
{
    qh_each_kind(1, handoff_body);
}

/* A rendezvous queue stores nothing: every item is a hand-off. */
static void *rendezvous_main(void *arg)
{
    aq_queue *q = arg;
    struct qh_op p = qh_op(q, 5);
    aq_task *t = qh_spawn(qh_put_task, &p);
    ASSERT_OK(aq_yield());
    assert_moved(q, 0, 0, 0, 0);
    ASSERT_EQ(qstats(q).putters, 1);
    ASSERT_EQ(qh_get(q), 5);
    ASSERT_OK(qh_finish(t));
    assert_moved(q, 1, 1, 0, 0);
    return NULL;
}

TEST(test_stats_queue_rendezvous)
{
    aq_queue *q;
    ASSERT_OK(aq_queue_new(&q, AQ_RENDEZVOUS, sizeof(int64_t), 0));
    t_main(rendezvous_main, q);
    ASSERT_OK(aq_queue_free(q));
}

/* put counts items that entered: a refused new item is dropped, not put;
 * a stored item dropped later was put. */
TEST(test_stats_queue_drops)
{
    aq_queue *newest = qh_new(AQ_FIFO, 2), *oldest = qh_new(AQ_LIFO, 2);
    ASSERT_OK(aq_queue_set_overflow(newest, AQ_DROP_NEWEST, NULL, NULL));
    ASSERT_OK(aq_queue_set_overflow(oldest, AQ_DROP_OLDEST, NULL, NULL));
    for (int64_t i = 0; i < 5; i++) {
        ASSERT_RC(aq_queue_try_put(newest, &i), i < 2 ? AQ_OK : AQ_EDROPPED);
        ASSERT_OK(aq_queue_try_put(oldest, &i));
    }
    assert_moved(newest, 2, 0, 3, 2);
    assert_moved(oldest, 5, 0, 3, 2);
    ASSERT_OK(aq_queue_free(newest));
    ASSERT_OK(aq_queue_free(oldest));
}

/* ---- loops --------------------------------------------------------------- */

static aq_loop_stats lstats(const aq_loop *l)
{
    aq_loop_stats st;
    ASSERT_OK(aq_loop_statistics(l, &st));
    return st;
}

static void assert_tasks(const aq_loop *l, size_t tasks, size_t ready,
                         size_t parked, size_t timers)
{
    aq_loop_stats st = lstats(l);
    ASSERT_EQ(st.tasks, tasks);
    ASSERT_EQ(st.ready, ready);
    ASSERT_EQ(st.parked, parked);
    ASSERT_EQ(st.timers, timers);
}

static void *sleeper(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)aq_sleep(60 * AQ_SEC);
}

/* The main task of its loop: parks two getters (one with a deadline)
 * and a sleeper, then checks what the loop says at each step. */
static void *census(void *arg)
{
    aq_queue *q = arg;
    aq_loop *l = aq_loop_current();
    struct qh_op a = qh_op(q, -1), b = qh_op(q, -1);
    b.deadline = aq_now() + 60 * AQ_SEC;
    aq_task *ta = qh_spawn(qh_get_task, &a), *tb = qh_spawn(qh_get_task, &b);
    aq_task *ts = qh_spawn(sleeper, NULL);
    assert_tasks(l, 4, 3, 0, 0); /* we run; three not started */
    ASSERT_OK(aq_yield());
    assert_tasks(l, 4, 0, 3, 2); /* both deadlines armed */
    qh_put(q, 1);
    qh_put(q, 2); /* b is woken: its timer goes */
    assert_tasks(l, 4, 2, 1, 1);
    ASSERT_OK(qh_finish(ta));
    ASSERT_OK(qh_finish(tb));
    assert_tasks(l, 2, 0, 1, 1);
    /* With a timer pending, each yield goes back to the loop: one
     * iteration each (without one the ready tasks run on, loop.c). */
    uint64_t before = lstats(l).iterations;
    for (int i = 0; i < 5; i++)
        ASSERT_OK(aq_yield());
    ASSERT_EQ(lstats(l).iterations, before + 5);
    ASSERT_OK(aq_task_cancel(ts));
    ASSERT_RC(qh_finish(ts), AQ_ECANCELED);
    assert_tasks(l, 1, 0, 0, 0);
    return NULL;
}

/* Batches count each item once, through the run copies as through the
 * item path. */
static void batch_body(aq_queue *q, aq_queue_kind kind)
{
    (void)kind;
    int64_t in[6] = {5, 4, 3, 2, 1, 0}, out[6];
    size_t done = 0, got = 0;
    ASSERT_OK(aq_queue_try_put_many(q, in, 6, &done));
    ASSERT_EQ(done, 6);
    assert_moved(q, 6, 0, 0, 6);
    ASSERT_OK(aq_queue_try_get_many(q, out, 4, &got));
    ASSERT_EQ(got, 4);
    assert_moved(q, 6, 4, 0, 6);
    ASSERT_OK(aq_queue_get_many(q, out, 6, &got));
    ASSERT_EQ(got, 2);
    assert_moved(q, 6, 6, 0, 6);
}

TEST(test_stats_queue_batches) { qh_each_kind(0, batch_body); }

TEST(test_stats_loop_counts)
{
    aq_loop *l;
    aq_task *t;
    aq_queue *q = qh_new(AQ_FIFO, 0);
    ASSERT_OK(aq_loop_new(&l));
    aq_loop_stats st = lstats(l);
    ASSERT_EQ(st.tasks + st.ready + st.parked + st.timers, 0);
    ASSERT_EQ(st.iterations, 0);
    ASSERT_OK(aq_loop_spawn(l, &t, census, q, 0));
    assert_tasks(l, 1, 1, 0, 0); /* outside a task: nobody running */
    ASSERT_OK(aq_loop_run(l));
    assert_tasks(l, 0, 0, 0, 0);
    ASSERT(lstats(l).iterations > 5);
    ASSERT_EQ(aq_task_done(t), 1);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_loop_free(l));
    ASSERT_OK(aq_queue_free(q));
}

/* One task that returns: one iteration; the pass that finds nothing left
 * to do is not one. */
TEST(test_stats_loop_single_iteration)
{
    aq_loop *l;
    int ran = 0;
    ASSERT_OK(aq_loop_new(&l));
    ASSERT_OK(aq_loop_spawn(l, NULL, qh_flag_task, &ran, 0));
    ASSERT_OK(aq_loop_run(l));
    ASSERT_EQ(ran, 1);
    ASSERT_EQ(lstats(l).iterations, 1);
    ASSERT_OK(aq_loop_free(l));
}

/* ---- bad input (docs/RELIABILITY.md) ------------------------------------- */

TEST(test_stats_null_arguments)
{
    aq_queue *q = qh_new(AQ_FIFO, 1);
    aq_loop *l;
    aq_queue_stats qs;
    aq_loop_stats ls;
    unsigned char fill[sizeof qs + sizeof ls];
    memset(fill, 0x5a, sizeof fill);
    memcpy(&qs, fill, sizeof qs);
    memcpy(&ls, fill, sizeof ls);
    ASSERT_OK(aq_loop_new(&l));
    ASSERT_RC(aq_queue_statistics(NULL, &qs), AQ_EINVAL);
    ASSERT_RC(aq_queue_statistics(q, NULL), AQ_EINVAL);
    ASSERT_RC(aq_loop_statistics(NULL, &ls), AQ_EINVAL);
    ASSERT_RC(aq_loop_statistics(l, NULL), AQ_EINVAL);
    ASSERT(memcmp(&qs, fill, sizeof qs) == 0); /* untouched */
    ASSERT(memcmp(&ls, fill, sizeof ls) == 0);
    ASSERT_OK(aq_loop_free(l));
    ASSERT_OK(aq_queue_free(q));
}

/* ---- storage after a spike ------------------------------------------------ */

static void fill(aq_queue *q, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        qh_try_put(q, i);
}

static void drain_then_empty(aq_queue *q)
{
    int64_t v;
    while (aq_queue_qsize(q) > 0)
        ASSERT_OK(aq_queue_try_get(q, &v));
    ASSERT_RC(aq_queue_try_get(q, &v), AQ_EEMPTY); /* finds it empty */
}

static void spike_body(aq_queue *q, aq_queue_kind kind)
{
    fill(q, 10000); /* a burst */
    ASSERT_EQ(qstats(q).capacity, 16384);
    drain_then_empty(q); /* the burst's own emptying: kept */
    ASSERT_EQ(qstats(q).capacity, 16384);
    fill(q, 100);
    drain_then_empty(q); /* at most a quarter used since: given back */
    ASSERT_EQ(qstats(q).capacity, 256);
    /* ... as 256 entries: bare items, or a priority heap's (sequence
     * number, item) pairs (FIFO and LIFO were trimmed to the heap's entry
     * size, twice their own: a reviewer's reproducer). */
    ASSERT_EQ(t_last_realloc,
              256 * (kind == AQ_PRIORITY ? 2 : 1) * sizeof(int64_t));
    /* Steady at 1000 items: grows once, then never reallocates. */
    fill(q, 1000);
    drain_then_empty(q);
    ASSERT_EQ(qstats(q).capacity, 1024);
    long allocs = t_allocs;
    for (int cycle = 0; cycle < 20; cycle++) {
        fill(q, 1000);
        drain_then_empty(q);
    }
    ASSERT_EQ(t_allocs, allocs);
    ASSERT_EQ(qstats(q).capacity, 1024);
    /* Batch drains: a get_many that ends on an empty queue, then the
     * try_get, are one emptying; the steady queue still keeps its 1024. */
    allocs = t_allocs;
    for (int cycle = 0; cycle < 5; cycle++) {
        fill(q, 1000);
        int64_t buf[256];
        size_t got;
        while (aq_queue_qsize(q) > 0)
            ASSERT_OK(aq_queue_get_many(q, buf, 256, &got));
        int64_t v;
        ASSERT_RC(aq_queue_try_get(q, &v), AQ_EEMPTY);
        ASSERT_EQ(qstats(q).capacity, 1024);
    }
    ASSERT_EQ(t_allocs, allocs);
    /* Small queues keep their 64 items. */
    fill(q, 3);
    drain_then_empty(q);
    fill(q, 3);
    drain_then_empty(q);
    ASSERT_EQ(qstats(q).capacity, 64);
    /* The order of what comes after a trim is intact. */
    fill(q, 5);
    int64_t first = qh_try_get(q);
    ASSERT_EQ(first, kind == AQ_LIFO ? 4 : 0);
    ASSERT_EQ(qstats(q).high_water, 10000); /* the statistics' own */
}

TEST(test_stats_storage_given_back_after_a_spike)
{
    qh_each_kind(0, spike_body);
}

int main(int argc, char **argv)
{
    RUN(test_stats_queue_counts_exact);
    RUN(test_stats_queue_handoffs_and_waiters);
    RUN(test_stats_queue_rendezvous);
    RUN(test_stats_queue_drops);
    RUN(test_stats_queue_batches);
    RUN(test_stats_storage_given_back_after_a_spike);
    RUN(test_stats_loop_counts);
    RUN(test_stats_loop_single_iteration);
    RUN(test_stats_null_arguments);
    return t_done();
}
