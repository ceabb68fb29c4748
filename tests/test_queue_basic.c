/* Conformance: CPython's Lib/test/test_asyncio/test_queues.py,
 * QueueBasicTests plus LifoQueueTests and PriorityQueueTests (test_order),
 * and test_float_maxsize from QueuePutTests, over every queue kind. Python
 * reprs map onto libaq's introspection calls. Also libaq's stable
 * priority ties (CONFORMANCE.md, "Where libaq goes further").
 */
#include "queue_helpers.h"

#include <math.h>

/* ---- empty, full, order -------------------------------------------------- */

static void empty_body(aq_queue *q, aq_queue_kind kind)
{
    (void)kind;
    ASSERT_EQ(aq_queue_empty(q), 1);
    qh_put(q, 1);
    ASSERT_EQ(aq_queue_empty(q), 0);
    ASSERT_EQ(qh_get(q), 1);
    ASSERT_EQ(aq_queue_empty(q), 1);
}

TEST(test_empty) { qh_each_kind(0, empty_body); }

static void full_body(aq_queue *q, aq_queue_kind kind)
{
    ASSERT_EQ(aq_queue_full(q), 0);
    /* Unbounded stays so however much it holds. */
    for (int64_t i = 0; i < 100; i++)
        qh_put(q, i);
    ASSERT_EQ(aq_queue_full(q), 0);

    aq_queue *one = qh_new(kind, 1);
    ASSERT_EQ(aq_queue_full(one), 0);
    qh_put(one, 1);
    ASSERT_EQ(aq_queue_full(one), 1);
    ASSERT_OK(aq_queue_free(one));
}

TEST(test_full) { qh_each_kind(0, full_body); }

static void order_body(aq_queue *q, aq_queue_kind kind)
{
    /* Rows: FIFO, LIFO, PRIORITY (an int64_t item is its own priority). */
    static const int64_t want[3][3] = {{1, 3, 2}, {2, 3, 1}, {1, 2, 3}};
    static const int64_t in[3] = {1, 3, 2};
    const int64_t *w = want[qh_kind_index(kind)];
    for (int i = 0; i < 3; i++)
        qh_put(q, in[i]);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(qh_get(q), w[i]);
}

TEST(test_order) { qh_each_kind(0, order_body); }

/* ---- maxsize ------------------------------------------------------------- */

struct counting_putter {
    aq_queue *q;
    int have_been_put;
};

/* Puts 0, 1, 2, counting each put that returned; returns 1 ("True") once
 * all three are in, else the failing code. */
static void *counting_putter(void *arg)
{
    struct counting_putter *p = arg;
    for (int64_t i = 0; i < 3; i++) {
        int rc = aq_queue_put(p->q, &i);
        if (rc != AQ_OK)
            return (void *)(intptr_t)rc;
        p->have_been_put++;
    }
    return (void *)(intptr_t)1;
}

static void maxsize_body(aq_queue *q, aq_queue_kind kind)
{
    /* The get that frees a slot moves the waiting 2 in at once, so the
     * queue goes [0, 1] -> [x, 2]: LIFO yields 1, 2, 0; the others 0, 1,
     * 2. Rows: FIFO, LIFO, PRIORITY. */
    static const int64_t want[3][3] = {{0, 1, 2}, {1, 2, 0}, {0, 1, 2}};
    const int64_t *w = want[qh_kind_index(kind)];
    struct counting_putter p = {q, 0};

    ASSERT_EQ(aq_queue_maxsize(q), 2);
    aq_task *t = qh_spawn(counting_putter, &p);
    for (int i = 0; i < 2; i++)
        ASSERT_OK(aq_yield());

    /* The putter is blocked after putting two items. */
    ASSERT_EQ(p.have_been_put, 2);
    ASSERT_EQ(aq_queue_putters(q), 1);
    ASSERT_EQ(qh_get(q), w[0]);

    /* Let the putter resume and record its last put. */
    ASSERT_OK(aq_yield());
    ASSERT_EQ(p.have_been_put, 3);
    ASSERT_EQ(qh_get(q), w[1]);
    ASSERT_EQ(qh_get(q), w[2]);

    ASSERT_EQ(aq_task_done(t), 1);
    ASSERT_EQ(qh_finish(t), 1);
}

TEST(test_maxsize) { qh_each_kind(2, maxsize_body); }

/* ---- introspection (Python's test_repr and test_str) --------------------- */

static void introspection_body(aq_queue *q, aq_queue_kind kind)
{
    /* What repr(Queue()) shows: maxsize=0 and nothing pending. */
    ASSERT_EQ(aq_queue_maxsize(q), 0);
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_EQ(aq_queue_getters(q), 0);
    ASSERT_EQ(aq_queue_putters(q), 0);
    ASSERT_EQ(aq_queue_joiners(q), 0);
    ASSERT_EQ(aq_queue_unfinished(q), 0);
    ASSERT_EQ(aq_queue_is_shutdown(q), 0);

    /* '_getters[1]': a task waiting to get. */
    struct qh_op g = qh_op(q, -1);
    aq_task *t = qh_spawn(qh_get_task, &g);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_getters(q), 1);
    qh_try_put(q, 0);
    ASSERT_EQ(aq_queue_getters(q), 0);
    ASSERT_RC(qh_finish(t), AQ_OK);
    ASSERT_EQ(g.item, 0);

    /* '_putters[1]': a task waiting to put into a full queue. */
    aq_queue *one = qh_new(kind, 1);
    qh_try_put(one, 1);
    struct qh_op p = qh_op(one, 2);
    t = qh_spawn(qh_put_task, &p);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_putters(one), 1);
    ASSERT_EQ(qh_try_get(one), 1);
    ASSERT_EQ(aq_queue_putters(one), 0);
    ASSERT_RC(qh_finish(t), AQ_OK);
    ASSERT_EQ(qh_try_get(one), 2);
    ASSERT_OK(aq_queue_free(one));

    /* '_queue=[1]': the queued items, seen in get order without taking
     * them. Rows: FIFO, LIFO, PRIORITY. */
    static const int64_t want[3][3] = {{1, 3, 2}, {2, 3, 1}, {1, 2, 3}};
    const int64_t *w = want[qh_kind_index(kind)];
    int64_t v = -1;
    qh_try_put(q, 1);
    ASSERT_OK(aq_queue_peek(q, 0, &v));
    ASSERT_EQ(v, 1);
    qh_try_put(q, 3);
    qh_try_put(q, 2);
    for (size_t i = 0; i < 3; i++) {
        ASSERT_OK(aq_queue_peek(q, i, &v));
        ASSERT_EQ(v, w[i]);
    }
    ASSERT_RC(aq_queue_peek(q, 3, &v), AQ_EINVAL);
    ASSERT_EQ(aq_queue_qsize(q), 3);
    for (size_t i = 0; i < 3; i++)
        ASSERT_EQ(qh_try_get(q), w[i]);
}

TEST(test_introspection) { qh_each_kind(0, introspection_body); }

/* ---- generic alias and float maxsize ------------------------------------- */

/* Python's Queue[int] names the item type; a libaq queue is typed by its
 * item size instead: whole structs go through byte for byte, and sizes
 * that cannot hold an item are refused. */
struct record {
    int64_t prio;
    char tag[13];
    double x;
};

static void generic_alias_body(aq_queue *q, aq_queue_kind kind)
{
    qh_try_put(q, INT64_MAX);
    qh_try_put(q, INT64_MIN);
    int64_t a = qh_try_get(q), b = qh_try_get(q);
    ASSERT(a != b);
    ASSERT(a == INT64_MIN || a == INT64_MAX);
    ASSERT(b == INT64_MIN || b == INT64_MAX);

    aq_queue *rq = NULL;
    struct record in, out;
    memset(&in, 0xA5, sizeof in); /* padding bytes must travel too */
    in.prio = 7;
    memcpy(in.tag, "twelve chars", 13);
    in.x = -2.5;
    memset(&out, 0, sizeof out);
    ASSERT_OK(aq_queue_new(&rq, kind, sizeof in, 0));
    ASSERT_OK(aq_queue_put(rq, &in));
    ASSERT_OK(aq_queue_get(rq, &out));
    ASSERT(memcmp(&in, &out, sizeof in) == 0);
    ASSERT_OK(aq_queue_free(rq));

    rq = NULL;
    ASSERT_RC(aq_queue_new(&rq, kind, 0, 0), AQ_EINVAL);
    ASSERT_RC(aq_queue_new(&rq, kind, AQ_ITEM_MAX + 1, 0), AQ_EINVAL);
    /* PRIORITY's ready-made ordering needs room for its int64_t key. */
    int small = aq_queue_new(&rq, kind, sizeof(int32_t), 0);
    if (kind == AQ_PRIORITY) {
        ASSERT_RC(small, AQ_EINVAL);
    } else {
        ASSERT_OK(small);
        ASSERT_OK(aq_queue_free(rq));
    }
    ASSERT_RC(aq_queue_new(&rq, (aq_queue_kind)7, sizeof(int64_t), 0),
              AQ_EINVAL);
}

TEST(test_generic_alias) { qh_each_kind(0, generic_alias_body); }

static void float_maxsize_body(aq_queue *q, aq_queue_kind kind)
{
    /* Python truncates maxsize=1.3 into "room for two"; in C maxsize is
     * an exact count: 2 holds two, nowait or not. */
    int64_t three = 3;
    ASSERT_EQ(aq_queue_maxsize(q), 2);
    qh_try_put(q, 1);
    qh_try_put(q, 2);
    ASSERT_EQ(aq_queue_full(q), 1);
    ASSERT_RC(aq_queue_try_put(q, &three), AQ_EFULL);
    ASSERT_EQ(aq_queue_qsize(q), 2);

    aq_queue *two = qh_new(kind, 2);
    qh_put(two, 1);
    ASSERT_EQ(aq_queue_full(two), 0);
    qh_put(two, 2);
    ASSERT_EQ(aq_queue_full(two), 1);
    ASSERT_OK(aq_queue_free(two));

    /* 0 and negative both mean unbounded, reported as 0. */
    static const long unbounded[] = {0, -1, -100};
    for (size_t i = 0; i < sizeof unbounded / sizeof unbounded[0]; i++) {
        aq_queue *u = qh_new(kind, unbounded[i]);
        ASSERT_EQ(aq_queue_maxsize(u), 0);
        for (int64_t v = 0; v < 300; v++)
            qh_try_put(u, v);
        ASSERT_EQ(aq_queue_full(u), 0);
        ASSERT_EQ(aq_queue_qsize(u), 300);
        ASSERT_OK(aq_queue_free(u));
    }
}

TEST(test_float_maxsize) { qh_each_kind(2, float_maxsize_body); }

/* ---- priority ties ------------------------------------------------------- */

struct prio_item {
    int64_t prio;
    int val; /* insertion number: ties must come out in its order */
};

/* Gets n items, each strictly after the previous in (prio, val) order:
 * smallest priority first, then first inserted first. */
static void drain_in_order(aq_queue *q, int n)
{
    struct prio_item prev = {INT64_MIN, -1}, it;
    for (int i = 0; i < n; i++) {
        ASSERT_OK(aq_queue_try_get(q, &it));
        ASSERT(it.prio >= prev.prio);
        if (it.prio == prev.prio)
            ASSERT(it.val > prev.val);
        prev = it;
    }
}

/* A payload that cannot be ordered at all: a NaN compares false with
 * everything, and a function pointer has no order in C. */
struct job {
    int32_t prio;
    double weight;
    void (*run)(void);
    int id; /* insertion number, never read by the comparator */
};

static void job_run(void) {}

/* Highest priority first, to show the queue follows the comparator. */
static int job_cmp(const void *a, const void *b, void *ud)
{
    const struct job *x = a, *y = b;
    ++*(long *)ud;
    return (y->prio > x->prio) - (y->prio < x->prio);
}

static void *prio_ties_main(void *arg)
{
    (void)arg;
    aq_queue *q = NULL;
    ASSERT_OK(aq_queue_new(&q, AQ_PRIORITY, sizeof(struct prio_item), 0));
    /* Few priorities, many items, gets between the puts: ties end up at
     * every depth of the heap. */
    int val = 0;
    for (; val < 30; val++) {
        struct prio_item it = {(val * 7) % 3, val};
        ASSERT_OK(aq_queue_put(q, &it));
    }
    drain_in_order(q, 10);
    for (; val < 60; val++) {
        struct prio_item it = {(val * 5) % 4, val};
        ASSERT_OK(aq_queue_put(q, &it));
    }
    drain_in_order(q, 50);
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_OK(aq_queue_free(q));

    long calls = 0;
    ASSERT_OK(aq_queue_new_prio(&q, sizeof(struct job), 0, job_cmp, &calls));
    for (int id = 0; id < 40; id++) {
        struct job j = {id % 4, NAN, job_run, id};
        ASSERT_OK(aq_queue_put(q, &j));
    }
    ASSERT(calls > 0);
    struct job prev = {INT32_MAX, 0, NULL, -1}, j;
    for (int i = 0; i < 40; i++) {
        ASSERT_OK(aq_queue_get(q, &j));
        ASSERT(j.prio <= prev.prio);
        if (j.prio == prev.prio)
            ASSERT(j.id > prev.id);
        ASSERT(isnan(j.weight));
        ASSERT(j.run == job_run);
        prev = j;
    }
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_priority_ties_keep_insertion_order)
{
    t_main(prio_ties_main, NULL);
}

/* A comparator runs as a plain function, even inside a task's put or
 * get: its suspending calls fail with AQ_EPERM, so no other task takes
 * an item while the heap is half sifted. One that yielded every third
 * comparison lost items to another task's try_gets (sum 4,756 of
 * 5,050). */
static aq_queue *yq;
static long cmp_calls, cmp_eperm;

static int yielding_cmp(const void *a, const void *b, void *ud)
{
    (void)ud;
    int64_t x, y;
    memcpy(&x, a, sizeof x);
    memcpy(&y, b, sizeof y);
    if (cmp_calls++ % 3 == 0)
        cmp_eperm += aq_yield() == AQ_EPERM;
    return x < y ? -1 : x > y;
}

static void *taker(void *arg)
{
    int64_t v, sum = 0;
    (void)arg;
    for (int i = 0; i < 200; i++) {
        if (aq_queue_try_get(yq, &v) == AQ_OK)
            sum += v;
        ASSERT_OK(aq_yield());
    }
    return (void *)(intptr_t)sum;
}

static void *cmp_yield_main(void *arg)
{
    (void)arg;
    int64_t put = 0, got, v, last = -1;
    ASSERT_OK(aq_queue_new_prio(&yq, sizeof(int64_t), 0, yielding_cmp, NULL));
    aq_task *t = NULL;
    ASSERT_OK(aq_spawn(&t, taker, NULL));
    for (int64_t i = 1; i <= 100; i++) {
        v = (i * 37) % 101;
        put += v;
        ASSERT_OK(aq_queue_put(yq, &v));
        if (i % 10 == 0)
            ASSERT_OK(aq_yield()); /* the taker's turn */
    }
    void *res = NULL;
    ASSERT_OK(aq_task_wait(t, &res));
    ASSERT_OK(aq_task_release(t));
    got = (int64_t)(intptr_t)res;
    while (aq_queue_try_get(yq, &v) == AQ_OK) {
        ASSERT(v >= last); /* still a heap */
        last = v;
        got += v;
    }
    ASSERT_EQ(got, put);
    ASSERT(cmp_eperm > 0);
    ASSERT_EQ(cmp_eperm, (cmp_calls + 2) / 3);
    ASSERT_OK(aq_queue_free(yq));
    return NULL;
}

TEST(test_priority_comparator_cannot_suspend)
{
    t_main(cmp_yield_main, NULL);
}

int main(int argc, char **argv)
{
    RUN(test_empty);
    RUN(test_full);
    RUN(test_order);
    RUN(test_maxsize);
    RUN(test_introspection);
    RUN(test_generic_alias);
    RUN(test_float_maxsize);
    RUN(test_priority_ties_keep_insertion_order);
    RUN(test_priority_comparator_cannot_suspend);
    return t_done();
}
