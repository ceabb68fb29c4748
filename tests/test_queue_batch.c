/* The batch calls (aq_queue_put_many, get_many, their _until and try_
 * forms) over FIFO, LIFO, PRIORITY and RENDEZVOUS queues: waiting for
 * the first item then draining, order, refills of waiting putters,
 * hand-off to waiting getters, early stops (deadline, cancel, shutdown)
 * with exact counts, the ring's wrap, task_done accounting, and the
 * bad-input rows of docs/RELIABILITY.md.
 */
#include "queue_helpers.h"

#define MAXB 16

/* One batch call as a task: put_many of items[0 .. n), or get_many of up
 * to n into items; then one aq_yield, whose code shows a late cancel. */
struct bop {
    aq_queue *q;
    int put;
    size_t n;
    int64_t items[MAXB];
    int64_t deadline;
    int rc, probe_rc;
    size_t count; /* *done or *got */
};

static struct bop bop_make(aq_queue *q, int put, size_t n, int64_t first)
{
    struct bop b = {q, put, n, {0}, AQ_NEVER, QH_PENDING, QH_PENDING, 999};
    for (size_t i = 0; i < MAXB; i++)
        b.items[i] = put ? first + (int64_t)i : -1;
    return b;
}

static void *bop_task(void *arg)
{
    struct bop *b = arg;
    b->rc = b->put ? aq_queue_put_many_until(b->q, b->items, b->n, &b->count,
                                             b->deadline)
                   : aq_queue_get_many_until(b->q, b->items, b->n, &b->count,
                                             b->deadline);
    b->probe_rc = aq_yield();
    return NULL;
}

/* Takes everything left without waiting; returns how many. */
static size_t drain(aq_queue *q, int64_t *out, size_t max)
{
    size_t got = 0;
    int rc = aq_queue_try_get_many(q, out, max, &got);
    ASSERT(rc == AQ_OK || rc == AQ_EEMPTY);
    ASSERT_EQ(aq_queue_qsize(q), 0);
    return got;
}

/* Items first .. first + n - 1, all stored before any get, come out
 * ascending (FIFO, PRIORITY) or descending (LIFO). */
static void assert_stored_order(aq_queue_kind kind, const int64_t *got,
                                size_t n, int64_t first)
{
    for (size_t i = 0; i < n; i++)
        ASSERT_EQ(got[i], kind == AQ_LIFO ? first + (int64_t)(n - 1 - i)
                                          : first + (int64_t)i);
}

static void put_range(aq_queue *q, int64_t first, size_t n)
{
    int64_t items[MAXB];
    size_t done = 0;
    for (size_t i = 0; i < n; i++)
        items[i] = first + (int64_t)i;
    ASSERT_OK(aq_queue_try_put_many(q, items, n, &done));
    ASSERT_EQ(done, n);
}

static aq_queue *rdv_new(void)
{
    return qh_new(AQ_RENDEZVOUS, 0);
}

/* Spawns put_many of items 0 .. n - 1 on a queue of maxsize 2 and lets
 * it run: two go in, the third waits. */
static aq_task *spawn_waiting_put(struct bop *p, aq_queue *q, size_t n)
{
    *p = bop_make(q, 1, n, 0);
    aq_task *t = qh_spawn(bop_task, p);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_qsize(q), 2);
    ASSERT_EQ(aq_queue_putters(q), 1);
    return t;
}

/* ---- order and draining -------------------------------------------------- */

static void try_forms_body(aq_queue *q, aq_queue_kind kind)
{
    int64_t out[MAXB];
    size_t got = 99, done = 99;
    ASSERT_RC(aq_queue_try_get_many(q, out, 4, &got), AQ_EEMPTY);
    ASSERT_EQ(got, 0);
    put_range(q, 0, 10);
    ASSERT_EQ(aq_queue_qsize(q), 10);
    ASSERT_EQ(aq_queue_unfinished(q), 10);
    ASSERT_OK(aq_queue_try_get_many(q, out, 4, &got));
    ASSERT_EQ(got, 4);
    ASSERT_OK(aq_queue_try_get_many(q, out + 4, MAXB, &got));
    ASSERT_EQ(got, 6);
    assert_stored_order(kind, out, 10, 0);
    (void)done;
}

TEST(test_queue_batch_try_forms_keep_order) { qh_each_kind(0, try_forms_body); }

static void try_put_many_full_body(aq_queue *q, aq_queue_kind kind)
{
    int64_t items[5] = {0, 1, 2, 3, 4}, out[MAXB];
    size_t done = 99;
    ASSERT_RC(aq_queue_try_put_many(q, items, 5, &done), AQ_EFULL);
    ASSERT_EQ(done, 3); /* the first three went in, the rest did not */
    ASSERT_EQ(aq_queue_unfinished(q), 3);
    ASSERT_RC(aq_queue_try_put_many(q, items + 3, 2, &done), AQ_EFULL);
    ASSERT_EQ(done, 0);
    ASSERT_EQ(drain(q, out, MAXB), 3);
    assert_stored_order(kind, out, 3, 0);
    ASSERT_OK(aq_queue_shutdown(q, 0));
    ASSERT_RC(aq_queue_try_put_many(q, items, 5, &done), AQ_ESHUTDOWN);
    ASSERT_EQ(done, 0);
    ASSERT_RC(aq_queue_try_get_many(q, out, 5, &done), AQ_ESHUTDOWN);
    ASSERT_EQ(done, 0);
}

TEST(test_queue_batch_try_put_many_partial_when_full)
{
    qh_each_kind(3, try_put_many_full_body);
}

static void get_many_waits_body(aq_queue *q, aq_queue_kind kind)
{
    struct bop g = bop_make(q, 0, 8, 0);
    aq_task *t = qh_spawn(bop_task, &g);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_getters(q), 1); /* empty: it waits */
    ASSERT_EQ(g.rc, QH_PENDING);

    /* The first item goes to the waiting getter (hand-off), the other
     * four are stored; the getter then drains them without waiting. */
    put_range(q, 0, 5);
    ASSERT_EQ(aq_queue_getters(q), 0);
    ASSERT_EQ(aq_queue_qsize(q), 4);
    ASSERT_OK(qh_finish(t));
    ASSERT_RC(g.rc, AQ_OK);
    ASSERT_EQ(g.count, 5);
    ASSERT_EQ(g.items[0], 0);
    assert_stored_order(kind, g.items + 1, 4, 1);
    ASSERT_EQ(g.items[5], -1); /* nothing past *got is written */
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_EQ(aq_queue_unfinished(q), 5);
}

TEST(test_queue_batch_get_many_waits_for_first_then_drains)
{
    qh_each_kind(0, get_many_waits_body);
}

static void refills_putters_body(aq_queue *q, aq_queue_kind kind)
{
    static const int64_t want[3][5] = {
        {0, 1, 2, 3, 4}, /* FIFO */
        {1, 2, 3, 4, 0}, /* LIFO: each refill lands on top */
        {0, 1, 2, 3, 4}, /* PRIORITY */
    };
    struct qh_op p[3] = {qh_op(q, 2), qh_op(q, 3), qh_op(q, 4)};
    aq_task *t[3];
    int64_t out[MAXB];
    size_t got = 0;
    put_range(q, 0, 2);
    for (int i = 0; i < 3; i++)
        t[i] = qh_spawn(qh_put_task, &p[i]);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_putters(q), 3);

    /* Each item taken frees a slot that the oldest putter refills at
     * once, as a single get does; then the rest leaves as a run. */
    ASSERT_OK(aq_queue_get_many(q, out, MAXB, &got));
    ASSERT_EQ(got, 5);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(out[i], want[qh_kind_index(kind)][i]);
    ASSERT_EQ(aq_queue_putters(q), 0);
    ASSERT_EQ(aq_queue_qsize(q), 0);
    for (int i = 0; i < 3; i++)
        ASSERT_RC(qh_finish(t[i]), AQ_OK);
    ASSERT_EQ(aq_queue_unfinished(q), 5);
}

TEST(test_queue_batch_get_many_refills_putters_in_order)
{
    qh_each_kind(2, refills_putters_body);
}

static void put_many_waits_body(aq_queue *q, aq_queue_kind kind)
{
    struct bop p, g[4];
    aq_task *tp = spawn_waiting_put(&p, q, 10), *tg[4];
    for (int i = 0; i < 4; i++) {
        g[i] = bop_make(q, 0, 3, 0);
        tg[i] = qh_spawn(bop_task, &g[i]);
    }
    ASSERT_OK(qh_finish(tp));
    ASSERT_RC(p.rc, AQ_OK);
    ASSERT_EQ(p.count, 10);

    /* Every item reached exactly one getter (or is still queued), and
     * each getter got at least one; FIFO keeps each getter's order. */
    int seen[10] = {0};
    size_t total = 0;
    for (int i = 0; i < 4; i++) {
        ASSERT_OK(qh_finish(tg[i]));
        ASSERT_RC(g[i].rc, AQ_OK);
        ASSERT(g[i].count >= 1);
        for (size_t k = 0; k < g[i].count; k++) {
            seen[g[i].items[k]]++;
            if (kind == AQ_FIFO && k > 0)
                ASSERT(g[i].items[k] > g[i].items[k - 1]);
        }
        total += g[i].count;
    }
    int64_t rest[MAXB];
    size_t left = drain(q, rest, MAXB);
    for (size_t k = 0; k < left; k++)
        seen[rest[k]]++;
    ASSERT_EQ(total + left, 10);
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(seen[i], 1);
    ASSERT_EQ(aq_queue_unfinished(q), 10);
}

TEST(test_queue_batch_put_many_waits_for_room_across_getters)
{
    qh_each_kind(2, put_many_waits_body);
}

/* ---- early stops --------------------------------------------------------- */

static void deadline_body(aq_queue *q, aq_queue_kind kind)
{
    int64_t items[5] = {0, 1, 2, 3, 4}, out[MAXB];
    size_t done = 99, got = 99;
    int64_t t0 = aq_now();
    ASSERT_RC(aq_queue_put_many_until(q, items, 5, &done, t0 + 10 * AQ_MSEC),
              AQ_ETIMEDOUT);
    ASSERT(aq_now() - t0 >= 10 * AQ_MSEC);
    ASSERT_EQ(done, 3);
    ASSERT_EQ(aq_queue_putters(q), 0);
    ASSERT_EQ(aq_queue_unfinished(q), 3);
    ASSERT_EQ(drain(q, out, MAXB), 3);
    assert_stored_order(kind, out, 3, 0);

    /* What can complete at once does, even past its deadline. */
    ASSERT_OK(aq_queue_put_many_until(q, items, 3, &done, aq_now() - 1));
    ASSERT_EQ(done, 3);
    ASSERT_OK(aq_queue_get_many_until(q, out, MAXB, &got, aq_now() - 1));
    ASSERT_EQ(got, 3);
    ASSERT_RC(aq_queue_get_many_until(q, out, MAXB, &got,
                                      aq_now() + 5 * AQ_MSEC),
              AQ_ETIMEDOUT);
    ASSERT_EQ(got, 0);
    ASSERT_EQ(aq_queue_getters(q), 0);
}

TEST(test_queue_batch_until_stops_at_deadline)
{
    qh_each_kind(3, deadline_body);
}

/* A put_many of 6 into maxsize 2, parked on item 2, is cancelled: while
 * still waiting (late 0: item 2 never enters, *done 2), or after a get
 * moved item 2 in and woke it (late 1: completed beats cancelled, so
 * *done 3). Either way items past *done never enter, and the ones that
 * did are exactly the first *done. */
static void cancel_put(aq_queue *q, aq_queue_kind kind, int late)
{
    struct bop p;
    int64_t out[MAXB];
    aq_task *t = spawn_waiting_put(&p, q, 6);
    int64_t first = late ? qh_try_get(q) : -1;
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_OK(qh_finish(t));
    ASSERT_RC(p.rc, AQ_ECANCELED);
    ASSERT_EQ(p.count, 2 + (size_t)late);
    ASSERT_EQ(aq_queue_putters(q), 0);
    ASSERT_EQ(aq_queue_unfinished(q), 2 + late);
    ASSERT_EQ(drain(q, out, MAXB), 2);
    if (!late) {
        assert_stored_order(kind, out, 2, 0);
        return;
    }
    int64_t all[3] = {first, out[0], out[1]};
    int mask = 0;
    for (int i = 0; i < 3; i++)
        mask |= 1 << all[i];
    ASSERT_EQ(mask, 7); /* exactly items 0, 1 and 2 */
    if (kind == AQ_FIFO)
        for (int i = 0; i < 3; i++)
            ASSERT_EQ(all[i], i);
}

static void cancel_waiting_body(aq_queue *q, aq_queue_kind kind)
{
    cancel_put(q, kind, 0);
}

static void cancel_late_body(aq_queue *q, aq_queue_kind kind)
{
    cancel_put(q, kind, 1);
}

TEST(test_queue_batch_put_many_cancelled_while_waiting)
{
    qh_each_kind(2, cancel_waiting_body);
}

TEST(test_queue_batch_put_many_cancelled_after_hand_off)
{
    qh_each_kind(2, cancel_late_body);
}

static void shutdown_body(aq_queue *q, aq_queue_kind kind)
{
    struct bop p;
    int64_t out[MAXB];
    size_t got = 99;
    aq_task *t = spawn_waiting_put(&p, q, 5);
    ASSERT_OK(aq_queue_shutdown(q, 0));
    ASSERT_OK(qh_finish(t));
    ASSERT_RC(p.rc, AQ_ESHUTDOWN);
    ASSERT_EQ(p.count, 2);
    /* Gets drain what is queued, then fail. */
    ASSERT_OK(aq_queue_get_many(q, out, MAXB, &got));
    ASSERT_EQ(got, 2);
    assert_stored_order(kind, out, 2, 0);
    ASSERT_RC(aq_queue_get_many(q, out, MAXB, &got), AQ_ESHUTDOWN);
    ASSERT_EQ(got, 0);
    ASSERT_RC(aq_queue_put_many(q, p.items, 1, &got), AQ_ESHUTDOWN);
    ASSERT_EQ(got, 0);
}

TEST(test_queue_batch_put_many_stops_at_shutdown)
{
    qh_each_kind(2, shutdown_body);
}

static void get_cancel_body(aq_queue *q, aq_queue_kind kind)
{
    struct bop g1 = bop_make(q, 0, 4, 0), g2 = bop_make(q, 0, 4, 0);
    (void)kind;
    aq_task *t1 = qh_spawn(bop_task, &g1);
    ASSERT_OK(aq_yield());
    /* Cancelled while waiting: nothing taken. */
    ASSERT_OK(aq_task_cancel(t1));
    ASSERT_OK(qh_finish(t1));
    ASSERT_RC(g1.rc, AQ_ECANCELED);
    ASSERT_EQ(g1.count, 0);
    ASSERT_EQ(aq_queue_getters(q), 0);

    /* Handed an item, then cancelled before it ran: the item is its. */
    aq_task *t2 = qh_spawn(bop_task, &g2);
    ASSERT_OK(aq_yield());
    qh_try_put(q, 7);
    ASSERT_OK(aq_task_cancel(t2));
    ASSERT_OK(qh_finish(t2));
    ASSERT_RC(g2.rc, AQ_OK);
    ASSERT_EQ(g2.count, 1);
    ASSERT_EQ(g2.items[0], 7);
    ASSERT_RC(g2.probe_rc, AQ_ECANCELED); /* the cancel did arrive */
    ASSERT_EQ(aq_queue_qsize(q), 0);
}

TEST(test_queue_batch_get_many_cancelled_after_hand_off_keeps_item)
{
    qh_each_kind(0, get_cancel_body);
}

/* ---- a free while a batch that waited goes on ------------------------- */

/* A batch woken from its wait is on no wait list, yet goes on with q (its
 * other items): aq_queue_free and aq_queue_share refuse until it returns
 * (a reviewer's reproducers: both were allowed, and the batch then read
 * the freed queue, a heap-use-after-free under ASan). */
static void free_while_batching_body(aq_queue *q, aq_queue_kind kind)
{
    (void)kind;
    /* get_many: woken with its first item by a put. */
    struct bop g = bop_make(q, 0, 4, 0);
    aq_task *t = qh_spawn(bop_task, &g);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_getters(q), 1);
    qh_put(q, 7);
    ASSERT_EQ(aq_queue_getters(q), 0);
    ASSERT_RC(aq_queue_free(q), AQ_EBUSY);
    ASSERT_RC(aq_queue_share(q), AQ_EBUSY);
    ASSERT_OK(qh_finish(t));
    ASSERT_RC(g.rc, AQ_OK);
    ASSERT_EQ(g.count, 1);
    ASSERT_EQ(g.items[0], 7);

    /* put_many into a full queue: its first item moved in by a get. */
    qh_put(q, 100);
    qh_put(q, 101);
    struct bop p = bop_make(q, 1, 3, 0);
    t = qh_spawn(bop_task, &p);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_putters(q), 1);
    (void)qh_get(q);
    ASSERT_EQ(aq_queue_putters(q), 0);
    ASSERT_RC(aq_queue_free(q), AQ_EBUSY);
    /* Its next item waits for room again: a waiter, so still refused. */
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_putters(q), 1);
    ASSERT_RC(aq_queue_free(q), AQ_EBUSY);
    ASSERT_OK(aq_queue_shutdown(q, 1));
    ASSERT_OK(qh_finish(t));
    ASSERT_RC(p.rc, AQ_ESHUTDOWN);
    ASSERT_EQ(p.count, 1);
    /* Once returned, the free goes ahead (qh_each_kind frees q). */
}

TEST(test_queue_batch_free_refused_while_a_woken_batch_runs)
{
    qh_each_kind(2, free_while_batching_body);
}

/* ---- the ring's wrap ----------------------------------------------------- */

static void *wrap_main(void *arg)
{
    int64_t out[MAXB];
    size_t got = 0, done = 0;
    (void)arg;
    /* Capacity 8 (the first ring); head moved to 6: a run of 7 goes in
     * as 2 at the end and 5 at the front, and comes out the same way. */
    aq_queue *q = qh_new(AQ_FIFO, 8);
    put_range(q, 100, 6);
    ASSERT_EQ(drain(q, out, MAXB), 6);
    int64_t items[7] = {0, 1, 2, 3, 4, 5, 6};
    ASSERT_OK(aq_queue_put_many(q, items, 7, &done));
    ASSERT_EQ(done, 7);
    for (size_t i = 0; i < 7; i++) {
        int64_t v = -1;
        ASSERT_OK(aq_queue_peek(q, i, &v));
        ASSERT_EQ(v, (int64_t)i);
    }
    ASSERT_OK(aq_queue_get_many(q, out, MAXB, &got));
    ASSERT_EQ(got, 7);
    assert_stored_order(AQ_FIFO, out, 7, 0);
    ASSERT_OK(aq_queue_free(q));

    /* Unbounded: a wrapped ring that must grow for the run. */
    q = qh_new(AQ_FIFO, 0);
    put_range(q, 0, 8);
    ASSERT_EQ(aq_queue_get_many(q, out, 6, &got), AQ_OK);
    put_range(q, 8, 2);  /* wraps to the front */
    put_range(q, 10, 10); /* needs 14 slots: grows twice over the wrap */
    ASSERT_OK(aq_queue_get_many(q, out, MAXB, &got));
    ASSERT_EQ(got, 14);
    assert_stored_order(AQ_FIFO, out, 14, 6);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_queue_batch_fifo_runs_across_the_wrap) { t_main(wrap_main, NULL); }

/* ---- rendezvous ---------------------------------------------------------- */

static void *rendezvous_main(void *arg)
{
    aq_queue *q = rdv_new();
    int64_t out[MAXB];
    size_t got = 99, done = 99;
    (void)arg;
    ASSERT_RC(aq_queue_try_put_many(q, out, 2, &done), AQ_EFULL);
    ASSERT_EQ(done, 0);
    ASSERT_RC(aq_queue_try_get_many(q, out, 2, &got), AQ_EEMPTY);
    ASSERT_EQ(got, 0);

    /* put_many: two waiting getters take items 0 and 1 by hand-off;
     * item 2 waits; each get_many takes the one waiting item. */
    struct qh_op g[2] = {qh_op(q, -1), qh_op(q, -1)};
    aq_task *tg[2] = {qh_spawn(qh_get_task, &g[0]),
                      qh_spawn(qh_get_task, &g[1])};
    ASSERT_OK(aq_yield());
    struct bop p = bop_make(q, 1, 4, 0);
    aq_task *tp = qh_spawn(bop_task, &p);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_putters(q), 1);
    for (int i = 0; i < 2; i++) {
        ASSERT_OK(qh_finish(tg[i]));
        ASSERT_EQ(g[i].item, i);
    }
    ASSERT_OK(aq_queue_get_many(q, out, MAXB, &got));
    ASSERT_EQ(got, 1);
    ASSERT_EQ(out[0], 2);
    ASSERT_OK(aq_yield()); /* the producer moves on to item 3 */
    ASSERT_OK(aq_queue_get_many(q, out, MAXB, &got));
    ASSERT_EQ(got, 1);
    ASSERT_EQ(out[0], 3);
    ASSERT_OK(qh_finish(tp));
    ASSERT_RC(p.rc, AQ_OK);
    ASSERT_EQ(p.count, 4);

    /* get_many drains every waiting putter, oldest first. */
    struct qh_op pp[3] = {qh_op(q, 10), qh_op(q, 11), qh_op(q, 12)};
    aq_task *tpp[3];
    for (int i = 0; i < 3; i++)
        tpp[i] = qh_spawn(qh_put_task, &pp[i]);
    ASSERT_OK(aq_yield());
    ASSERT_OK(aq_queue_get_many(q, out, MAXB, &got));
    ASSERT_EQ(got, 3);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(out[i], 10 + i);
        ASSERT_OK(qh_finish(tpp[i]));
    }

    /* A waiting get_many takes one item by hand-off; the rest of a
     * try_put_many finds no getter. */
    struct bop w = bop_make(q, 0, 4, 0);
    aq_task *tw = qh_spawn(bop_task, &w);
    ASSERT_OK(aq_yield());
    int64_t items[3] = {20, 21, 22};
    ASSERT_RC(aq_queue_try_put_many(q, items, 3, &done), AQ_EFULL);
    ASSERT_EQ(done, 1);
    ASSERT_OK(qh_finish(tw));
    ASSERT_EQ(w.count, 1);
    ASSERT_EQ(w.items[0], 20);
    ASSERT_EQ(aq_queue_unfinished(q), 8);
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_queue_batch_rendezvous) { t_main(rendezvous_main, NULL); }

/* ---- task_done and join -------------------------------------------------- */

static void accounting_body(aq_queue *q, aq_queue_kind kind)
{
    int64_t out[MAXB];
    size_t got = 0;
    struct bop g = bop_make(q, 0, 3, 0);
    (void)kind;
    aq_task *tg = qh_spawn(bop_task, &g);
    ASSERT_OK(aq_yield());
    put_range(q, 0, 5); /* one handed over, four stored */
    ASSERT_EQ(aq_queue_unfinished(q), 5);
    ASSERT_OK(qh_finish(tg));
    ASSERT_EQ(g.count, 3);
    ASSERT_OK(aq_queue_get_many(q, out, MAXB, &got));
    ASSERT_EQ(got, 2);
    ASSERT_EQ(aq_queue_unfinished(q), 5); /* gets leave it alone */

    struct qh_op j = qh_op(q, 0);
    aq_task *tj = qh_spawn(qh_join_task, &j);
    for (int i = 0; i < 5; i++) {
        ASSERT_OK(aq_yield());
        ASSERT_EQ(j.rc, QH_PENDING);
        ASSERT_OK(aq_queue_task_done(q));
    }
    ASSERT_OK(qh_finish(tj));
    ASSERT_RC(j.rc, AQ_OK);
    ASSERT_RC(aq_queue_task_done(q), AQ_EINVAL); /* each counted once */
}

TEST(test_queue_batch_task_done_counts_each_item_once)
{
    qh_each_kind(0, accounting_body);
}

/* ---- bad input (docs/RELIABILITY.md) ------------------------------------- */

/* NULL q, buffer or count, or n == 0: AQ_EINVAL, nothing changed. */
static void bad_input_body(aq_queue *q, aq_queue_kind kind)
{
    int64_t buf[2] = {5, 6};
    size_t c = 99;
    (void)kind;
    qh_try_put(q, 1);
    for (int i = 0; i < 4; i++) {
        aq_queue *qq = i == 0 ? NULL : q;
        int64_t *b = i == 1 ? NULL : buf;
        size_t *cc = i == 2 ? NULL : &c;
        size_t n = i == 3 ? 0 : 2;
        ASSERT_RC(aq_queue_put_many(qq, b, n, cc), AQ_EINVAL);
        ASSERT_RC(aq_queue_put_many_until(qq, b, n, cc, AQ_NEVER), AQ_EINVAL);
        ASSERT_RC(aq_queue_try_put_many(qq, b, n, cc), AQ_EINVAL);
        ASSERT_RC(aq_queue_get_many(qq, b, n, cc), AQ_EINVAL);
        ASSERT_RC(aq_queue_get_many_until(qq, b, n, cc, AQ_NEVER), AQ_EINVAL);
        ASSERT_RC(aq_queue_try_get_many(qq, b, n, cc), AQ_EINVAL);
    }
    ASSERT_EQ(c, 99);
    ASSERT_EQ(buf[0], 5);
    ASSERT_EQ(aq_queue_qsize(q), 1);
    ASSERT_EQ(aq_queue_unfinished(q), 1);
}

TEST(test_queue_batch_bad_input_null_and_zero)
{
    qh_each_kind(0, bad_input_body);
}

TEST(test_queue_batch_bad_input_outside_task)
{
    aq_queue *q = qh_new(AQ_FIFO, 0);
    int64_t buf[2] = {5, 6};
    size_t c = 99;
    ASSERT_RC(aq_queue_put_many(q, buf, 2, &c), AQ_EPERM);
    ASSERT_RC(aq_queue_put_many_until(q, buf, 2, &c, AQ_NEVER), AQ_EPERM);
    ASSERT_RC(aq_queue_get_many(q, buf, 2, &c), AQ_EPERM);
    ASSERT_RC(aq_queue_get_many_until(q, buf, 2, &c, AQ_NEVER), AQ_EPERM);
    /* EPERM comes before the argument checks. */
    ASSERT_RC(aq_queue_put_many(NULL, NULL, 0, NULL), AQ_EPERM);
    ASSERT_EQ(c, 99);
    ASSERT_EQ(aq_queue_qsize(q), 0);
    /* The try forms never suspend, so they work here. */
    ASSERT_OK(aq_queue_try_put_many(q, buf, 2, &c));
    ASSERT_EQ(c, 2);
    ASSERT_OK(aq_queue_try_get_many(q, buf, 2, &c));
    ASSERT_EQ(c, 2);
    ASSERT_OK(aq_queue_free(q));
}

static void *cancelled_main(void *arg)
{
    aq_queue *q = arg;
    int64_t buf[2] = {5, 6};
    size_t c = 99;
    ASSERT_OK(aq_task_cancel(aq_task_self()));
    /* Room and items there, yet nothing moves: AQ_ECANCELED, count 0. */
    ASSERT_RC(aq_queue_put_many(q, buf, 2, &c), AQ_ECANCELED);
    ASSERT_EQ(c, 0);
    c = 99;
    ASSERT_RC(aq_queue_get_many(q, buf, 2, &c), AQ_ECANCELED);
    ASSERT_EQ(c, 0);
    ASSERT_EQ(buf[0], 5);
    ASSERT_EQ(aq_queue_qsize(q), 1);
    ASSERT_EQ(aq_queue_unfinished(q), 1);
    return NULL;
}

TEST(test_queue_batch_bad_input_cancelled_caller)
{
    aq_queue *q = qh_new(AQ_FIFO, 0);
    qh_try_put(q, 1);
    t_main(cancelled_main, q);
    ASSERT_OK(aq_queue_free(q));
}

/* test.h fails one allocation; growth must fail for good here. */
static int oom;
static void *oom_realloc(void *p, size_t n)
{
    return oom ? NULL : t_realloc(p, n);
}

TEST(test_queue_batch_bad_input_out_of_memory)
{
    aq_queue *q = qh_new(AQ_FIFO, 0);
    int64_t items[20] = {0};
    size_t done = 99;
    ASSERT_OK(aq_set_allocator(t_malloc, oom_realloc, t_free));
    qh_try_put(q, 1); /* a ring of 8 */
    oom = 1;
    /* The 7 free slots take a run; then the ring cannot grow. */
    ASSERT_RC(aq_queue_try_put_many(q, items, 20, &done), AQ_ENOMEM);
    ASSERT_EQ(done, 7);
    ASSERT_EQ(aq_queue_qsize(q), 8);
    ASSERT_EQ(aq_queue_unfinished(q), 8);
    oom = 0;
    ASSERT_OK(aq_queue_free(q));
}

int main(int argc, char **argv)
{
    RUN(test_queue_batch_try_forms_keep_order);
    RUN(test_queue_batch_try_put_many_partial_when_full);
    RUN(test_queue_batch_get_many_waits_for_first_then_drains);
    RUN(test_queue_batch_get_many_refills_putters_in_order);
    RUN(test_queue_batch_put_many_waits_for_room_across_getters);
    RUN(test_queue_batch_until_stops_at_deadline);
    RUN(test_queue_batch_put_many_cancelled_while_waiting);
    RUN(test_queue_batch_put_many_cancelled_after_hand_off);
    RUN(test_queue_batch_put_many_stops_at_shutdown);
    RUN(test_queue_batch_get_many_cancelled_after_hand_off_keeps_item);
    RUN(test_queue_batch_free_refused_while_a_woken_batch_runs);
    RUN(test_queue_batch_fifo_runs_across_the_wrap);
    RUN(test_queue_batch_rendezvous);
    RUN(test_queue_batch_task_done_counts_each_item_once);
    RUN(test_queue_batch_bad_input_null_and_zero);
    RUN(test_queue_batch_bad_input_outside_task);
    RUN(test_queue_batch_bad_input_cancelled_caller);
    RUN(test_queue_batch_bad_input_out_of_memory);
    return t_done();
}
