/* libaq - helpers shared by the queue conformance tests. MIT licensed.
 *
 * The test_queue_*.c files mirror CPython's test_asyncio/test_queues.py.
 * A Python case often does `asyncio.create_task(q.get())`: here that is a
 * task running qh_get_task over a struct qh_op, which records the call's
 * return code and item so the main task can inspect them afterwards.
 *
 * Most cases hold for every queue kind, so a test is written once as a
 * body taking (queue, kind) and qh_each_kind() runs it for FIFO, LIFO and
 * PRIORITY, each on a fresh loop and a fresh queue of int64_t items (the
 * PRIORITY default ordering reads the leading int64_t, so an int64_t is
 * its own priority). If an assertion fails, an exit handler names the
 * kind that was running, since ASSERT_* only report file and line.
 *
 * The functions are static inline so that a file using only some of them
 * still builds under -Werror (no unused-function warning).
 */
#ifndef AQ_QUEUE_HELPERS_H
#define AQ_QUEUE_HELPERS_H

#include "test.h"

#include <stdint.h>

/* ---- kinds --------------------------------------------------------------- */

static const aq_queue_kind qh_kinds[] = {AQ_FIFO, AQ_LIFO, AQ_PRIORITY};
#define QH_NKINDS (sizeof qh_kinds / sizeof qh_kinds[0])

/* The kind under test, for the failure message; NULL between tests. */
static const char *qh_kind_label;

static inline const char *qh_kind_name(aq_queue_kind kind)
{
    switch (kind) {
    case AQ_FIFO:
        return "AQ_FIFO";
    case AQ_LIFO:
        return "AQ_LIFO";
    case AQ_PRIORITY:
        return "AQ_PRIORITY";
    case AQ_RENDEZVOUS:
        return "AQ_RENDEZVOUS";
    }
    return "unknown kind";
}

/* ASSERT_* end the process with exit(1), so this runs after the FAIL
 * line and completes it. */
static inline void qh_name_failed_kind(void)
{
    if (qh_kind_label)
        fprintf(stderr, "  ... while testing the %s queue\n", qh_kind_label);
}

/* The kind's position in qh_kinds, to index per-kind expectation tables
 * written in the order FIFO, LIFO, PRIORITY. */
static inline size_t qh_kind_index(aq_queue_kind kind)
{
    for (size_t i = 0; i < QH_NKINDS; i++)
        if (qh_kinds[i] == kind)
            return i;
    t_fail(__FILE__, __LINE__, "unknown kind %d", (int)kind);
    return 0;
}

/* ---- queues -------------------------------------------------------------- */

static inline aq_queue *qh_new(aq_queue_kind kind, long maxsize)
{
    aq_queue *q = NULL;
    ASSERT_OK(aq_queue_new(&q, kind, sizeof(int64_t), maxsize));
    ASSERT(q != NULL);
    return q;
}

static inline int64_t qh_try_get(aq_queue *q)
{
    int64_t v = -1;
    ASSERT_OK(aq_queue_try_get(q, &v));
    return v;
}

static inline int64_t qh_get(aq_queue *q)
{
    int64_t v = -1;
    ASSERT_OK(aq_queue_get(q, &v));
    return v;
}

static inline void qh_try_put(aq_queue *q, int64_t v)
{
    ASSERT_OK(aq_queue_try_put(q, &v));
}

static inline void qh_put(aq_queue *q, int64_t v)
{
    ASSERT_OK(aq_queue_put(q, &v));
}

/* Every put and get, waiting or not, fails with AQ_ESHUTDOWN: the check
 * the shutdown cases repeat after each stage. */
static inline void qh_assert_all_shut(aq_queue *q)
{
    int64_t v = 99, out = -1;
    ASSERT_RC(aq_queue_put(q, &v), AQ_ESHUTDOWN);
    ASSERT_RC(aq_queue_try_put(q, &v), AQ_ESHUTDOWN);
    ASSERT_RC(aq_queue_get(q, &out), AQ_ESHUTDOWN);
    ASSERT_RC(aq_queue_try_get(q, &out), AQ_ESHUTDOWN);
    ASSERT_EQ(out, -1); /* a failed get leaves its buffer alone */
}

/* ---- one queue call as a task -------------------------------------------- */

/* Not a code any call returns: the call has not come back yet. */
#define QH_PENDING 1

struct qh_op {
    aq_queue *q;
    int64_t item;     /* put: what to put; get: receives the item */
    int64_t deadline; /* for the _until form; AQ_NEVER by default */
    int probe;        /* if set, one aq_yield() follows the call */
    int rc;           /* the call's code, QH_PENDING until it returns */
    int probe_rc;     /* the probe's code: shows a late cancellation */
};

static inline struct qh_op qh_op(aq_queue *q, int64_t item)
{
    struct qh_op op = {q, item, AQ_NEVER, 0, QH_PENDING, QH_PENDING};
    return op;
}

/* The probe matters where a task is cancelled after its call completed:
 * libaq then reports success for the call (the item moved) and the
 * cancellation at the task's next suspending call, which is the probe. */
static inline void *qh_op_done(struct qh_op *op, int rc)
{
    op->rc = rc;
    if (op->probe)
        op->probe_rc = aq_yield();
    return (void *)(intptr_t)rc;
}

static inline void *qh_get_task(void *arg)
{
    struct qh_op *op = arg;
    return qh_op_done(op, aq_queue_get_until(op->q, &op->item, op->deadline));
}

static inline void *qh_put_task(void *arg)
{
    struct qh_op *op = arg;
    return qh_op_done(op, aq_queue_put_until(op->q, &op->item, op->deadline));
}

static inline void *qh_join_task(void *arg)
{
    struct qh_op *op = arg;
    return qh_op_done(op, aq_queue_join_until(op->q, op->deadline));
}


/* loop.call_later(delay, q.put_nowait / q.get_nowait). */
struct qh_later {
    aq_queue *q;
    int64_t delay;  /* nanoseconds; kept at 20 ms or less */
    int is_put;     /* try_put item, else try_get into item */
    int64_t item;
    int rc;         /* the try call's code, QH_PENDING until made */
};

static inline void *qh_later_task(void *arg)
{
    struct qh_later *l = arg;
    /* Cancelled (the test ended first): do nothing, report why. */
    int rc = aq_sleep(l->delay);
    if (rc == AQ_OK)
        rc = l->is_put ? aq_queue_try_put(l->q, &l->item)
                       : aq_queue_try_get(l->q, &l->item);
    l->rc = rc;
    return NULL;
}

/* ---- tasks --------------------------------------------------------------- */

static inline aq_task *qh_spawn(aq_task_fn fn, void *arg)
{
    aq_task *t = NULL;
    ASSERT_OK(aq_spawn(&t, fn, arg));
    return t;
}

/* Awaits t, drops the handle and returns what t returned as a code. */
static inline int qh_finish(aq_task *t)
{
    void *res = NULL;
    ASSERT_OK(aq_task_wait(t, &res));
    ASSERT_OK(aq_task_release(t));
    return (int)(intptr_t)res;
}

/* Proving that calls did not suspend: qh_quiet_begin spawns a task that
 * only sets *ran, which cannot run before the caller suspends; so *ran
 * still 0 at qh_quiet_end means nothing in between yielded. */
static inline void *qh_flag_task(void *arg)
{
    *(int *)arg = 1;
    return NULL;
}

static inline aq_task *qh_quiet_begin(int *ran)
{
    *ran = 0;
    return qh_spawn(qh_flag_task, ran);
}

static inline void qh_quiet_end(aq_task *witness, int *ran)
{
    ASSERT_EQ(*ran, 0);
    ASSERT_OK(qh_finish(witness));
    ASSERT_EQ(*ran, 1);
}

/* A nowait call made by another task while a woken waiter (victim) has
 * not yet run: the no-barging checks. */
struct qh_barger {
    aq_queue *q;
    const struct qh_op *victim;
    int is_put;         /* try_put item, else try_get into item */
    int64_t item;
    int rc;             /* the try call's code */
    int victim_pending; /* the victim had not run when the call was made */
};

static inline void *qh_barger_task(void *arg)
{
    struct qh_barger *b = arg;
    b->victim_pending = b->victim->rc == QH_PENDING;
    b->rc = b->is_put ? aq_queue_try_put(b->q, &b->item)
                      : aq_queue_try_get(b->q, &b->item);
    return NULL;
}

/* Spins without suspending until the deadline is behind us, so that the
 * loop, which checks timers only between iterations, has not seen it. */
static inline void qh_spin_past(int64_t deadline)
{
    while (aq_now() <= deadline)
        ;
}

/* ---- running a body for every kind --------------------------------------- */

typedef void (*qh_body_fn)(aq_queue *q, aq_queue_kind kind);

struct qh_case {
    qh_body_fn body;
    aq_queue *q;
    aq_queue_kind kind;
};

static inline void *qh_case_main(void *arg)
{
    struct qh_case *c = arg;
    c->body(c->q, c->kind);
    return NULL;
}

/* Runs body as the main task of a fresh loop, once per kind, with a
 * fresh int64_t queue of the given maxsize. The queue is freed after
 * aq_run has reaped every task, so no waiter can still hold it. */
static inline void qh_each_kind(long maxsize, qh_body_fn body)
{
    static int registered;
    if (!registered) {
        ASSERT(atexit(qh_name_failed_kind) == 0);
        registered = 1;
    }
    for (size_t i = 0; i < QH_NKINDS; i++) {
        struct qh_case c = {body, qh_new(qh_kinds[i], maxsize), qh_kinds[i]};
        qh_kind_label = qh_kind_name(c.kind);
        t_main(qh_case_main, &c);
        ASSERT_OK(aq_queue_free(c.q));
        qh_kind_label = NULL;
    }
}

#endif
