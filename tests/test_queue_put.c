/* Conformance: CPython's Lib/test/test_asyncio/test_queues.py,
 * QueuePutTests (test_float_maxsize lives in test_queue_basic.c), over
 * every queue kind. Also libaq's extras on the put side (CONFORMANCE.md,
 * "Where libaq goes further"): no barging past a woken putter, and
 * put_until deadlines.
 *
 * Several CPython cases cancel a task whose get or put was already
 * completed by a hand-off. CPython then raises CancelledError and counts
 * on the item staying queued for a retry; libaq instead reports the
 * completed call as AQ_OK and delivers the cancellation at the task's
 * next suspending call (DESIGN.md, "Completed beats cancelled"). Those
 * tests check libaq's form of the same promise: no item is lost or
 * duplicated, and the cancellation is still seen.
 */
#include "queue_helpers.h"

static void blocking_put_body(aq_queue *q, aq_queue_kind kind)
{
    int ran;
    (void)kind;
    /* No maxsize: the put never suspends. */
    aq_task *w = qh_quiet_begin(&ran);
    qh_put(q, 1);
    qh_quiet_end(w, &ran);
    ASSERT_EQ(qh_get(q), 1);
}

TEST(test_blocking_put) { qh_each_kind(0, blocking_put_body); }

struct flagged_put {
    aq_queue *q;
    int started, finished;
};

/* Puts 1 then 2, flagging start and end. */
static void *flagged_put(void *arg)
{
    struct flagged_put *p = arg;
    int rc = AQ_OK;
    p->started = 1;
    for (int64_t i = 1; i <= 2 && rc == AQ_OK; i++)
        rc = aq_queue_put(p->q, &i);
    p->finished = 1;
    return (void *)(intptr_t)rc;
}

static void blocking_put_wait_body(aq_queue *q, aq_queue_kind kind)
{
    struct qh_later later = {q, 10 * AQ_MSEC, 0, -1, QH_PENDING};
    struct flagged_put p = {q, 0, 0};
    (void)kind;

    int64_t t0 = aq_now();
    aq_task *timer = qh_spawn(qh_later_task, &later);
    aq_task *t = qh_spawn(flagged_put, &p);
    while (!p.started)
        ASSERT_OK(aq_yield());
    ASSERT_EQ(p.finished, 0);
    ASSERT_RC(qh_finish(t), AQ_OK);
    /* The second put could only go in once the timer's get made room. */
    ASSERT(aq_now() - t0 >= 10 * AQ_MSEC);
    ASSERT_EQ(p.finished, 1);
    ASSERT_OK(qh_finish(timer));
    ASSERT_RC(later.rc, AQ_OK);
    ASSERT_EQ(later.item, 1);
    ASSERT_EQ(qh_try_get(q), 2);
}

TEST(test_blocking_put_wait) { qh_each_kind(1, blocking_put_wait_body); }

static void nonblocking_put_body(aq_queue *q, aq_queue_kind kind)
{
    (void)kind;
    qh_try_put(q, 1);
    ASSERT_EQ(aq_queue_qsize(q), 1);
    ASSERT_EQ(aq_queue_unfinished(q), 1);
    ASSERT_EQ(qh_try_get(q), 1);
}

TEST(test_nonblocking_put) { qh_each_kind(0, nonblocking_put_body); }

static void get_cancel_drop_one_pending_reader_body(aq_queue *q,
                                                    aq_queue_kind kind)
{
    struct qh_op r = qh_op(q, -1);
    (void)kind;
    r.probe = 1;
    aq_task *t = qh_spawn(qh_get_task, &r);
    ASSERT_OK(aq_yield());

    qh_try_put(q, 1);
    qh_try_put(q, 2);
    ASSERT_OK(aq_task_cancel(t));

    /* CPython's reader raises CancelledError and a retried get must see
     * 1. Here 1 was already in the reader's hands: its get succeeds with
     * it, and the cancel shows at its next suspending call. */
    ASSERT_RC(qh_finish(t), AQ_OK);
    ASSERT_EQ(r.item, 1);
    ASSERT_RC(r.probe_rc, AQ_ECANCELED);
    /* If we get 1 again, it was duplicated; anything else, 2 was lost. */
    ASSERT_EQ(qh_get(q), 2);
    ASSERT_EQ(aq_queue_qsize(q), 0);
}

TEST(test_get_cancel_drop_one_pending_reader)
{
    qh_each_kind(0, get_cancel_drop_one_pending_reader_body);
}

static void get_cancel_drop_many_pending_readers_body(aq_queue *q,
                                                      aq_queue_kind kind)
{
    struct qh_op r[3] = {qh_op(q, -1), qh_op(q, -1), qh_op(q, -1)};
    aq_task *t[3];
    (void)kind;
    r[0].probe = 1;
    for (int i = 0; i < 3; i++)
        t[i] = qh_spawn(qh_get_task, &r[i]);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_getters(q), 3);

    qh_try_put(q, 1);
    qh_try_put(q, 2);
    ASSERT_OK(aq_task_cancel(t[0]));

    /* CPython: reader1 is cancelled and reader3 takes its item. Here
     * reader1's get had completed, so it keeps its item and sees the
     * cancel later; reader3 is still waiting, with nothing lost. */
    ASSERT_RC(qh_finish(t[0]), AQ_OK);
    ASSERT_RC(r[0].probe_rc, AQ_ECANCELED);
    ASSERT_RC(qh_finish(t[1]), AQ_OK);
    ASSERT_EQ(aq_queue_getters(q), 1);
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_OK(aq_task_cancel(t[2]));
    ASSERT_RC(qh_finish(t[2]), AQ_ECANCELED);
    ASSERT_EQ(r[2].item, -1);

    /* The readers that got something got {1, 2}, once each. */
    ASSERT_EQ(r[0].item + r[1].item, 3);
    ASSERT_EQ(r[0].item * r[1].item, 2);
}

TEST(test_get_cancel_drop_many_pending_readers)
{
    qh_each_kind(0, get_cancel_drop_many_pending_readers_body);
}

static void put_cancel_drop_body(aq_queue *q, aq_queue_kind kind)
{
    struct qh_op w = qh_op(q, 2);
    int64_t out = -1;
    (void)kind;
    w.probe = 1;
    qh_try_put(q, 1);
    /* Putting a second item has to wait (qsize 1). */
    aq_task *t = qh_spawn(qh_put_task, &w);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_putters(q), 1);

    ASSERT_EQ(qh_try_get(q), 1);
    ASSERT_OK(aq_task_cancel(t));

    /* The get moved 2 in before the cancel: the put succeeded, and
     * CPython's retry would now put a second 2. */
    ASSERT_RC(qh_finish(t), AQ_OK);
    ASSERT_RC(w.probe_rc, AQ_ECANCELED);
    ASSERT_EQ(qh_try_get(q), 2);
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_RC(aq_queue_try_get(q, &out), AQ_EEMPTY);
    ASSERT_EQ(aq_queue_unfinished(q), 2);
}

TEST(test_put_cancel_drop) { qh_each_kind(1, put_cancel_drop_body); }

static void nonblocking_put_exception_body(aq_queue *q, aq_queue_kind kind)
{
    int64_t two = 2, v = -1;
    (void)kind;
    qh_try_put(q, 1);
    ASSERT_RC(aq_queue_try_put(q, &two), AQ_EFULL);
    /* The refused put changed nothing. */
    ASSERT_EQ(aq_queue_qsize(q), 1);
    ASSERT_EQ(aq_queue_unfinished(q), 1);
    ASSERT_OK(aq_queue_peek(q, 0, &v));
    ASSERT_EQ(v, 1);
}

TEST(test_nonblocking_put_exception)
{
    qh_each_kind(1, nonblocking_put_exception_body);
}

static void put_cancelled_body(aq_queue *q, aq_queue_kind kind)
{
    struct qh_op p = qh_op(q, 1);
    (void)kind;
    aq_task *t = qh_spawn(qh_put_task, &p);
    ASSERT_EQ(qh_get(q), 1);
    ASSERT_EQ(aq_task_done(t), 1);
    ASSERT_RC(qh_finish(t), AQ_OK);
}

TEST(test_put_cancelled) { qh_each_kind(0, put_cancelled_body); }

static void put_cancelled_race_body(aq_queue *q, aq_queue_kind kind)
{
    /* 'a', 'b' and 'X' of the Python test. */
    struct qh_op pa = qh_op(q, 1), pb = qh_op(q, 2), px = qh_op(q, 99);
    (void)kind;
    aq_task *ta = qh_spawn(qh_put_task, &pa);
    aq_task *tb = qh_spawn(qh_put_task, &pb);
    aq_task *tx = qh_spawn(qh_put_task, &px);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_task_done(ta), 1);
    ASSERT_EQ(aq_task_done(tb), 0);

    ASSERT_OK(aq_task_cancel(tx));
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_task_done(tx), 1);
    ASSERT_EQ(qh_try_get(q), 1);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(qh_try_get(q), 2);

    ASSERT_RC(qh_finish(tb), AQ_OK);
    ASSERT_RC(qh_finish(ta), AQ_OK);
    ASSERT_RC(qh_finish(tx), AQ_ECANCELED);
    /* 'X' never went in. */
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_EQ(aq_queue_putters(q), 0);
    ASSERT_EQ(aq_queue_unfinished(q), 2);
}

TEST(test_put_cancelled_race) { qh_each_kind(1, put_cancelled_race_body); }

static void put_with_waiting_getters_body(aq_queue *q, aq_queue_kind kind)
{
    struct qh_op g = qh_op(q, -1);
    (void)kind;
    aq_task *t = qh_spawn(qh_get_task, &g);
    ASSERT_OK(aq_yield());
    qh_put(q, 10);
    /* Handed straight to the getter, never stored. */
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_RC(qh_finish(t), AQ_OK);
    ASSERT_EQ(g.item, 10);
}

TEST(test_put_with_waiting_getters)
{
    qh_each_kind(0, put_with_waiting_getters_body);
}

struct drainer {
    aq_queue *q;
    int n;
    int64_t got[4];
};

/* Lets the putters run, then takes what is queued without waiting. */
static void *drainer(void *arg)
{
    struct drainer *d = arg;
    int rc = aq_yield();
    if (rc != AQ_OK)
        return (void *)(intptr_t)rc;
    long num = aq_queue_qsize(d->q);
    for (long i = 0; i < num && rc == AQ_OK; i++)
        rc = aq_queue_try_get(d->q, &d->got[d->n++]);
    return (void *)(intptr_t)rc;
}

static void why_are_putters_waiting_body(aq_queue *q, aq_queue_kind kind)
{
    struct drainer d = {q, 0, {0}};
    struct qh_op p[4];
    aq_task *t[5];
    void *res[5];
    (void)kind;
    t[0] = qh_spawn(drainer, &d);
    for (int i = 0; i < 4; i++) {
        p[i] = qh_op(q, i);
        t[i + 1] = qh_spawn(qh_put_task, &p[i]);
    }
    ASSERT_OK(aq_gather(t, 5, res));
    for (int i = 0; i < 5; i++) {
        ASSERT_RC((int)(intptr_t)res[i], AQ_OK);
        ASSERT_OK(aq_task_release(t[i]));
    }

    /* Two were taken, the two waiting putters refilled the slots: each
     * item is either taken or queued, exactly once. */
    ASSERT_EQ(d.n, 2);
    ASSERT_EQ(aq_queue_qsize(q), 2);
    ASSERT_EQ(aq_queue_putters(q), 0);
    int seen = 0;
    for (int i = 0; i < 4; i++) {
        int64_t v = i < 2 ? d.got[i] : qh_try_get(q);
        ASSERT(v >= 0 && v < 4);
        ASSERT_EQ(seen & (1 << v), 0);
        seen |= 1 << v;
    }
    ASSERT_EQ(seen, 0xF);
}

TEST(test_why_are_putters_waiting)
{
    qh_each_kind(2, why_are_putters_waiting_body);
}

static void cancelled_puts_not_held_body(aq_queue *q, aq_queue_kind kind)
{
    struct qh_op p = qh_op(q, 2);
    int64_t out = -1;
    (void)kind;
    qh_try_put(q, 1);
    aq_task *t = qh_spawn(qh_put_task, &p);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_putters(q), 1);

    ASSERT_OK(aq_task_cancel(t));
    ASSERT_RC(qh_finish(t), AQ_ECANCELED);
    ASSERT_EQ(aq_queue_putters(q), 0);
    /* The cancelled put never inserts: a get frees the slot and nothing
     * moves in. */
    ASSERT_EQ(aq_queue_unfinished(q), 1);
    ASSERT_EQ(qh_try_get(q), 1);
    ASSERT_RC(aq_queue_try_get(q, &out), AQ_EEMPTY);
}

TEST(test_cancelled_puts_not_being_held_in_self_putters)
{
    qh_each_kind(1, cancelled_puts_not_held_body);
}

static void cancelled_put_silence_body(aq_queue *q, aq_queue_kind kind)
{
    struct qh_op p = qh_op(q, 2);
    (void)kind;
    p.probe = 1;
    qh_try_put(q, 1);
    aq_task *t = qh_spawn(qh_put_task, &p);
    ASSERT_OK(aq_yield());

    /* The get takes the putter off the waiting list and its item in. */
    ASSERT_EQ(qh_try_get(q), 1);
    ASSERT_EQ(aq_queue_putters(q), 0);
    ASSERT_OK(aq_task_cancel(t));

    /* What the task sees is its completed put, then the cancellation,
     * and no error about a waiter that was already gone. */
    ASSERT_RC(qh_finish(t), AQ_OK);
    ASSERT_RC(p.probe_rc, AQ_ECANCELED);
    ASSERT_EQ(aq_queue_qsize(q), 1);
    ASSERT_EQ(qh_try_get(q), 2);
}

TEST(test_cancelled_put_silence_value_error_exception)
{
    qh_each_kind(1, cancelled_put_silence_body);
}

/* ---- beyond CPython ------------------------------------------------------ */

static void no_barging_put_body(aq_queue *q, aq_queue_kind kind)
{
    struct qh_op p = qh_op(q, 2);
    struct qh_barger b = {q, &p, 1, 3, QH_PENDING, 0};
    int64_t mine = 4;
    (void)kind;
    qh_try_put(q, 1);
    aq_task *tp = qh_spawn(qh_put_task, &p);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_putters(q), 1);

    /* The barger is queued to run before the putter the get wakes. */
    aq_task *tb = qh_spawn(qh_barger_task, &b);
    ASSERT_EQ(qh_try_get(q), 1);
    /* The freed slot already holds the putter's item... */
    ASSERT_EQ(aq_queue_putters(q), 0);
    ASSERT_EQ(aq_queue_qsize(q), 1);
    ASSERT_RC(aq_queue_try_put(q, &mine), AQ_EFULL);
    /* ...so the other task, running first, finds the queue full too. */
    ASSERT_OK(qh_finish(tb));
    ASSERT_EQ(b.victim_pending, 1);
    ASSERT_RC(b.rc, AQ_EFULL);
    ASSERT_RC(qh_finish(tp), AQ_OK);
    ASSERT_EQ(qh_try_get(q), 2);
    ASSERT_EQ(aq_queue_unfinished(q), 2);
}

TEST(test_no_barging_put) { qh_each_kind(1, no_barging_put_body); }

static void put_until_times_out_body(aq_queue *q, aq_queue_kind kind)
{
    int64_t v = 2;
    (void)kind;
    qh_try_put(q, 1);

    /* No room comes: ETIMEDOUT after the deadline, and 2 never enters. */
    int64_t t0 = aq_now();
    ASSERT_RC(aq_queue_put_until(q, &v, t0 + 10 * AQ_MSEC), AQ_ETIMEDOUT);
    ASSERT(aq_now() - t0 >= 10 * AQ_MSEC);
    ASSERT_EQ(aq_queue_putters(q), 0);
    ASSERT_EQ(aq_queue_qsize(q), 1);
    ASSERT_EQ(aq_queue_unfinished(q), 1);
    ASSERT_RC(aq_queue_put_until(q, &v, aq_now() - 1), AQ_ETIMEDOUT);

    /* A put that can complete at once does so, deadline or not. */
    ASSERT_EQ(qh_try_get(q), 1);
    v = 3;
    ASSERT_OK(aq_queue_put_until(q, &v, aq_now() - 1));

    /* A putter that timed out ahead of a patient one: the freed slot
     * goes to the patient one, and the timed-out item never enters. */
    struct qh_op p1 = qh_op(q, 4), p2 = qh_op(q, 5);
    p1.deadline = aq_now() + 10 * AQ_MSEC;
    aq_task *t1 = qh_spawn(qh_put_task, &p1);
    aq_task *t2 = qh_spawn(qh_put_task, &p2);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_putters(q), 2);
    ASSERT_RC(qh_finish(t1), AQ_ETIMEDOUT);
    ASSERT_EQ(aq_queue_putters(q), 1);
    ASSERT_EQ(qh_try_get(q), 3);
    ASSERT_RC(qh_finish(t2), AQ_OK);
    ASSERT_EQ(qh_try_get(q), 5);

    /* Given its slot before the loop noticed the deadline: completed
     * beats timed out, so the put succeeds and its item is in. */
    qh_try_put(q, 6);
    struct qh_op p3 = qh_op(q, 7);
    p3.deadline = aq_now() + 2 * AQ_MSEC;
    aq_task *t3 = qh_spawn(qh_put_task, &p3);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_putters(q), 1);
    qh_spin_past(p3.deadline);
    ASSERT_EQ(qh_try_get(q), 6);
    ASSERT_RC(qh_finish(t3), AQ_OK);
    ASSERT_EQ(qh_try_get(q), 7);

    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_EQ(aq_queue_putters(q), 0);
    /* 1, 3, 5, 6 and 7 went in; 2 and 4 did not. */
    ASSERT_EQ(aq_queue_unfinished(q), 5);
}

TEST(test_put_until_times_out) { qh_each_kind(1, put_until_times_out_body); }

int main(int argc, char **argv)
{
    RUN(test_blocking_put);
    RUN(test_blocking_put_wait);
    RUN(test_nonblocking_put);
    RUN(test_get_cancel_drop_one_pending_reader);
    RUN(test_get_cancel_drop_many_pending_readers);
    RUN(test_put_cancel_drop);
    RUN(test_nonblocking_put_exception);
    RUN(test_put_cancelled);
    RUN(test_put_cancelled_race);
    RUN(test_put_with_waiting_getters);
    RUN(test_why_are_putters_waiting);
    RUN(test_cancelled_puts_not_being_held_in_self_putters);
    RUN(test_cancelled_put_silence_value_error_exception);
    RUN(test_no_barging_put);
    RUN(test_put_until_times_out);
    return t_done();
}
