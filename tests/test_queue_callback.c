/* libaq - tests of a queue as seen from its own drop callback: every call
 * that would change it returns AQ_EBUSY (src/queue/callback.c), its
 * figures and peek read the real state, and the put, shutdown or free
 * that dropped goes on as if the callback had made no call. Then the same
 * on a shared queue, from a task and from a plain thread, where such a
 * call used to spin for ever on the lock the callback runs under.
 * MIT licensed. */
#include "queue_helpers.h"

#include <pthread.h>

/* What the callback saw, call by call. */
static struct seen {
    int calls;
    int64_t item;
    int put, get, put_many, get_many, done, shut, over, freed, share, sel;
    long qsize, unfinished;
    uint64_t dropped;
    int64_t first; /* peek(0) */
} seen;

static void reenter(void *item, void *ud)
{
    aq_queue *q = ud;
    seen.calls++;
    memcpy(&seen.item, item, sizeof seen.item);
    int64_t v = 99, out[2];
    size_t n;
    seen.put = aq_queue_try_put(q, &v);
    seen.get = aq_queue_try_get(q, &v);
    seen.put_many = aq_queue_try_put_many(q, out, 1, &n);
    seen.get_many = aq_queue_try_get_many(q, out, 2, &n);
    seen.done = aq_queue_task_done(q);
    seen.shut = aq_queue_shutdown(q, 1);
    seen.over = aq_queue_set_overflow(q, AQ_DROP_NEWEST, NULL, NULL);
    seen.freed = aq_queue_free(q);
    seen.share = aq_queue_share(q);
    aq_clause c[1] = {AQ_GET(q, &v)};
    seen.sel = aq_select_try(c, 1, 0);
    seen.qsize = aq_queue_qsize(q);
    seen.unfinished = aq_queue_unfinished(q);
    aq_queue_stats st;
    ASSERT_OK(aq_queue_statistics(q, &st));
    seen.dropped = st.dropped;
    seen.first = -1;
    if (seen.qsize > 0)
        ASSERT_OK(aq_queue_peek(q, 0, &seen.first));
}

/* Every change refused, every read real (qsize as stored before the
 * drop: the put has not settled its counts yet). On a shared queue,
 * aq_queue_share changes nothing (AQ_OK) and a select clause is refused
 * as on any shared queue (AQ_EINVAL). */
static void assert_refused(long qsize, int shared)
{
    ASSERT_RC(seen.put, AQ_EBUSY);
    ASSERT_RC(seen.get, AQ_EBUSY);
    ASSERT_RC(seen.put_many, AQ_EBUSY);
    ASSERT_RC(seen.get_many, AQ_EBUSY);
    ASSERT_RC(seen.done, AQ_EBUSY);
    ASSERT_RC(seen.shut, AQ_EBUSY);
    ASSERT_RC(seen.over, AQ_EBUSY);
    ASSERT_RC(seen.freed, AQ_EBUSY);
    ASSERT_RC(seen.share, shared ? AQ_OK : AQ_EBUSY);
    ASSERT_RC(seen.sel, shared ? AQ_EINVAL : AQ_EBUSY);
    ASSERT_EQ(seen.qsize, qsize);
}

static void fifo_body(aq_queue *q, aq_queue_kind kind)
{
    memset(&seen, 0, sizeof seen);
    ASSERT_OK(aq_queue_set_overflow(q, AQ_DROP_OLDEST, reenter, q));
    qh_put(q, 1);
    qh_put(q, 2);
    int64_t v = 3;
    int rc = aq_queue_put(q, &v); /* full: drops 1 (PRIORITY: 3) */
    ASSERT_EQ(seen.calls, 1);
    assert_refused(2, 0);
    int64_t gone = kind == AQ_PRIORITY ? 3 : 1;
    ASSERT_RC(rc, kind == AQ_PRIORITY ? AQ_EDROPPED : AQ_OK);
    ASSERT_EQ(seen.item, gone);
    ASSERT_EQ(seen.unfinished, 2);
    ASSERT_EQ(seen.first, kind == AQ_LIFO ? 2 : 1);
    ASSERT_EQ(seen.dropped, 0); /* counted once the put settles: put is
                                   then still the 2 that entered */
    /* The put went on as if nothing had been called: two items, each
     * once, the queue open and unchanged otherwise. */
    ASSERT_EQ(aq_queue_qsize(q), 2);
    ASSERT_EQ(aq_queue_unfinished(q), 2);
    ASSERT_EQ(aq_queue_is_shutdown(q), 0);
    int64_t a = qh_try_get(q), b = qh_try_get(q);
    ASSERT_EQ(a + b + gone, 1 + 2 + 3);
    ASSERT_RC(aq_queue_try_get(q, &v), AQ_EEMPTY);
    /* An immediate shutdown's drops and aq_queue_free's alike. */
    qh_put(q, 4);
    seen.calls = 0;
    ASSERT_OK(aq_queue_shutdown(q, 1));
    ASSERT_EQ(seen.calls, 1);
    ASSERT_EQ(seen.item, 4);
    assert_refused(0, 0); /* the item is out of q during its call */
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_EQ(aq_queue_is_shutdown(q), 1);
}

TEST(test_queue_callback_refuses_changes) { qh_each_kind(2, fifo_body); }

TEST(test_queue_callback_refuses_at_free)
{
    aq_queue *q = qh_new(AQ_FIFO, 0);
    memset(&seen, 0, sizeof seen);
    ASSERT_OK(aq_queue_set_overflow(q, AQ_BLOCK, reenter, q));
    int64_t v = 7;
    ASSERT_OK(aq_queue_try_put(q, &v));
    ASSERT_OK(aq_queue_free(q)); /* freed once, by this call */
    ASSERT_EQ(seen.calls, 1);
    ASSERT_EQ(seen.item, 7);
    ASSERT_RC(seen.freed, AQ_EBUSY);
    ASSERT_RC(seen.get, AQ_EBUSY);
}

/* During an immediate shutdown or a free, each item is out of q by its
 * call: qsize counts the items left, the statistics add up (put stays
 * what entered) and peek never shows an item already passed on (the
 * callback saw the whole queue, freed items included). */
static struct shed {
    int n;
    int64_t item[4], peek[4];
    long qsize[4];
    uint64_t put[4];
} shed;

static void shed_cb(void *item, void *ud)
{
    aq_queue *q = ud;
    int k = shed.n++;
    memcpy(&shed.item[k], item, sizeof shed.item[k]);
    shed.qsize[k] = aq_queue_qsize(q);
    aq_queue_stats st;
    ASSERT_OK(aq_queue_statistics(q, &st));
    shed.put[k] = st.put;
    shed.peek[k] = -1;
    if (shed.qsize[k] > 0)
        ASSERT_OK(aq_queue_peek(q, 0, &shed.peek[k]));
}

static void shed_body(aq_queue *q, aq_queue_kind kind)
{
    memset(&shed, 0, sizeof shed);
    ASSERT_OK(aq_queue_set_overflow(q, AQ_BLOCK, shed_cb, q));
    for (int64_t v = 1; v <= 4; v++)
        qh_put(q, v);
    ASSERT_OK(aq_queue_shutdown(q, 1));
    ASSERT_EQ(shed.n, 4);
    for (int k = 0; k < 4; k++) {
        ASSERT_EQ(shed.qsize[k], 3 - k);
        ASSERT_EQ(shed.put[k], 4);
        for (int j = 0; j <= k; j++) /* never one already passed on */
            ASSERT(shed.peek[k] != shed.item[j]);
    }
    if (kind != AQ_PRIORITY) /* as gets take them: oldest, or top, first */
        ASSERT_EQ(shed.item[0], kind == AQ_FIFO ? 1 : 4);
    aq_queue_stats st;
    ASSERT_OK(aq_queue_statistics(q, &st));
    ASSERT_EQ(st.dropped, 4);
    ASSERT_EQ(st.qsize, 0);
}

TEST(test_queue_callback_sees_what_is_left) { qh_each_kind(4, shed_body); }

TEST(test_queue_callback_sees_what_is_left_at_free)
{
    aq_queue *q = qh_new(AQ_FIFO, 4);
    memset(&shed, 0, sizeof shed);
    ASSERT_OK(aq_queue_set_overflow(q, AQ_BLOCK, shed_cb, q));
    for (int64_t v = 1; v <= 4; v++)
        ASSERT_OK(aq_queue_try_put(q, &v));
    ASSERT_OK(aq_queue_free(q));
    ASSERT_EQ(shed.n, 4);
    for (int k = 0; k < 4; k++) {
        ASSERT_EQ(shed.item[k], k + 1);
        ASSERT_EQ(shed.qsize[k], 3 - k);
        ASSERT_EQ(shed.put[k], 4); /* it shrank with each item */
        ASSERT_EQ(shed.peek[k], k < 3 ? k + 2 : -1);
    }
}

/* ---- a shared queue ------------------------------------------------------
 */

static aq_queue *g_shared;

static void *thread_puts(void *arg)
{
    (void)arg;
    int64_t v = 3;
    ASSERT_OK(aq_queue_thread_put(g_shared, &v)); /* drops 1 */
    return NULL;
}

static void *shared_main(void *arg)
{
    int from_thread = arg != NULL;
    aq_queue *q = g_shared = qh_new(AQ_FIFO, 2);
    memset(&seen, 0, sizeof seen);
    ASSERT_OK(aq_queue_set_overflow(q, AQ_DROP_OLDEST, reenter, q));
    ASSERT_OK(aq_queue_share(q));
    qh_put(q, 1);
    qh_put(q, 2);
    if (from_thread) {
        pthread_t th;
        ASSERT_EQ(pthread_create(&th, NULL, thread_puts, NULL), 0);
        ASSERT_EQ(pthread_join(th, NULL), 0);
    } else {
        qh_put(q, 3);
    }
    ASSERT_EQ(seen.calls, 1);
    ASSERT_EQ(seen.item, 1);
    assert_refused(2, 1);
    ASSERT_EQ(seen.first, 1);
    ASSERT_EQ(aq_queue_qsize(q), 2);
    ASSERT_EQ(qh_try_get(q), 2);
    ASSERT_EQ(qh_try_get(q), 3);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_queue_callback_refuses_on_a_shared_queue)
{
    t_main(shared_main, NULL);
    t_main(shared_main, "from a thread");
}

/* Nested: shared A's callback puts into plain P, which drops in turn;
 * P's callback, still inside A's on this thread, calls A: a change is
 * refused and qsize read without A's lock (it spun for ever on that lock,
 * which this thread holds: only the innermost callback was known). The
 * thread faces on P from its own callback say P is not shared (they took
 * the busy header for a shared queue's state and spun on it). */
static aq_queue *g_a, *g_p;
static long g_nested_qsize;
static int g_nested_put, g_face_put, g_face_get, g_face_join;

static void p_drop(void *item, void *ud)
{
    (void)item, (void)ud;
    int64_t v = 7;
    g_nested_qsize = aq_queue_qsize(g_a);
    g_nested_put = aq_queue_try_put(g_a, &v);
    g_face_put = aq_queue_thread_put_until(g_p, &v, 0);
    g_face_get = aq_queue_thread_get_until(g_p, &v, 0);
    g_face_join = aq_queue_thread_join_until(g_p, 0);
}

static void a_drop(void *item, void *ud)
{
    (void)item, (void)ud;
    int64_t v = 5;
    ASSERT_OK(aq_queue_try_put(g_p, &v)); /* full: drops 1, p_drop runs */
}

TEST(test_queue_callback_nested_in_a_shared_queues)
{
    int64_t v = 1;
    ASSERT_OK(aq_queue_new(&g_a, AQ_FIFO, sizeof v, 1));
    ASSERT_OK(aq_queue_new(&g_p, AQ_FIFO, sizeof v, 1));
    ASSERT_OK(aq_queue_set_overflow(g_a, AQ_DROP_OLDEST, a_drop, NULL));
    ASSERT_OK(aq_queue_set_overflow(g_p, AQ_DROP_OLDEST, p_drop, NULL));
    ASSERT_OK(aq_queue_share(g_a));
    ASSERT_OK(aq_queue_try_put(g_p, &v));
    ASSERT_OK(aq_queue_try_put(g_a, &v));
    v = 2;
    ASSERT_OK(aq_queue_try_put(g_a, &v)); /* drops: a_drop, then p_drop */
    ASSERT_EQ(g_nested_qsize, 1);
    ASSERT_RC(g_nested_put, AQ_EBUSY);
    ASSERT_RC(g_face_put, AQ_EINVAL);
    ASSERT_RC(g_face_get, AQ_EINVAL);
    ASSERT_RC(g_face_join, AQ_EINVAL);
    ASSERT_EQ(qh_try_get(g_a), 2);
    ASSERT_EQ(qh_try_get(g_p), 5);
    ASSERT_OK(aq_queue_free(g_a));
    ASSERT_OK(aq_queue_free(g_p));
}

/* A drop callback run in a task's put is inside that task: loops do not
 * nest there, as from the task itself (aq_run, aq_loop_run and
 * aq_loop_run_ready ran a nested loop on the task's stack); aq_loop_free
 * refuses a loop with a task to reap, and frees one with none. */
static aq_loop *g_other, *g_idle;
static int g_run, g_loop_run, g_run_ready, g_free_busy, g_free_idle = 1;

static void *nothing(void *arg) { return arg; }

static void run_loops(void *item, void *ud)
{
    (void)item, (void)ud;
    g_run = aq_run(nothing, NULL, NULL);
    g_loop_run = aq_loop_run(g_other);
    g_run_ready = aq_loop_run_ready(g_other);
    g_free_busy = aq_loop_free(g_other); /* a task to reap: refused */
    if (g_idle) /* nothing to reap: freed, though its last run stopped
                   (the free retried its refused run for ever) */
        g_free_idle = aq_loop_free(g_idle);
    g_idle = NULL;
}

static void *nest_main(void *arg)
{
    (void)arg;
    aq_queue *q = qh_new(AQ_FIFO, 1);
    ASSERT_OK(aq_queue_set_overflow(q, AQ_DROP_OLDEST, run_loops, NULL));
    qh_put(q, 1);
    qh_put(q, 2); /* drops 1 */
    ASSERT_RC(g_run, AQ_EBUSY);
    ASSERT_RC(g_loop_run, AQ_EBUSY);
    ASSERT_RC(g_run_ready, AQ_EBUSY);
    ASSERT_RC(g_free_busy, AQ_EBUSY);
    ASSERT_OK(g_free_idle);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_queue_callback_runs_no_loop)
{
    ASSERT_OK(aq_loop_new(&g_other));
    ASSERT_OK(aq_loop_spawn(g_other, NULL, nothing, NULL, 0));
    ASSERT_OK(aq_loop_new(&g_idle));
    ASSERT_OK(aq_loop_stop(g_idle));
    ASSERT_OK(aq_loop_run(g_idle)); /* ends at once, at the stop */
    t_main(nest_main, NULL);
    ASSERT_OK(aq_loop_run(g_other)); /* its task never ran before */
    ASSERT_OK(aq_loop_free(g_other));
}

int main(int argc, char **argv)
{
    RUN(test_queue_callback_refuses_changes);
    RUN(test_queue_callback_refuses_at_free);
    RUN(test_queue_callback_sees_what_is_left);
    RUN(test_queue_callback_sees_what_is_left_at_free);
    RUN(test_queue_callback_refuses_on_a_shared_queue);
    RUN(test_queue_callback_nested_in_a_shared_queues);
    RUN(test_queue_callback_runs_no_loop);
    return t_done();
}
