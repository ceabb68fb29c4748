/* aq_select, aq_select_try, aq_task_wait_any. The cases of libdill's
 * tests/choose.c (blocking and non-blocking on both sides, two queues, an
 * immediate deadline, an empty set, two senders against one select,
 * select against select, a large item, a shut-down queue firing, array
 * order as priority, the same queue twice) and Go's TestSelectFairness,
 * plus libaq's guarantees: exactly one clause completes, losers are
 * unlinked, completed beats cancelled, waiters served oldest first, no
 * allocation up to AQ_SELECT_STATIC clauses, compact tasks. */
#include "rt_helpers.h"

static aq_queue *q_new(aq_queue_kind kind, long maxsize)
{
    aq_queue *q;
    ASSERT_OK(aq_queue_new(&q, kind, sizeof(long), maxsize));
    return q;
}

static long take(aq_queue *q)
{
    long v;
    ASSERT_OK(aq_queue_try_get(q, &v));
    return v;
}

/* A task blocked in a 2-clause select: get on a, get on b. */
struct sel {
    aq_queue *a, *b;
    long va, vb;
    int flags;
    int64_t deadline;
    int rc;     /* aq_select's return */
    int rc_a, rc_b;
    int after;  /* the next suspending call's result */
};

static void *sel_get2(void *arg)
{
    struct sel *s = arg;
    aq_clause c[] = {AQ_GET(s->a, &s->va), AQ_GET(s->b, &s->vb)};
    s->rc = aq_select_until(c, 2, s->flags, s->deadline);
    s->rc_a = c[0].rc;
    s->rc_b = c[1].rc;
    s->after = aq_yield();
    return NULL;
}

static void sel_init(struct sel *s, aq_queue *a, aq_queue *b)
{
    *s = (struct sel){a, b, -1, -1, 0, AQ_NEVER, PENDING, PENDING, PENDING,
                      PENDING};
}

/* ---- immediate completion ------------------------------------------------ */

static void *immediate_main(void *arg)
{
    (void)arg;
    aq_queue *a = q_new(AQ_FIFO, 1), *b = q_new(AQ_FIFO, 1);
    long in = 7, out = -1;
    /* get: only b has an item */
    put_long(b, 42);
    aq_clause g[] = {AQ_GET(a, &out), AQ_GET(b, &out)};
    g[0].rc = g[1].rc = PENDING;
    ASSERT_EQ(aq_select(g, 2, 0), 1);
    ASSERT_EQ(out, 42);
    ASSERT_OK(g[1].rc);
    ASSERT_EQ(g[0].rc, PENDING); /* a loser's rc is left alone */
    /* put: a is full, b has room */
    put_long(a, 1);
    aq_clause p[] = {AQ_PUT(a, &in), AQ_PUT(b, &in)};
    ASSERT_EQ(aq_select(p, 2, 0), 1);
    ASSERT_EQ(take(b), 7);
    ASSERT_EQ(aq_queue_qsize(a), 1);
    ASSERT_EQ(aq_queue_unfinished(b), 2);
    /* put and get mixed: the get is ready, the put is not */
    aq_clause m[] = {AQ_PUT(a, &in), AQ_GET(a, &out)};
    ASSERT_EQ(aq_select(m, 2, 0), 1);
    ASSERT_EQ(out, 1);
    ASSERT_OK(aq_queue_free(a));
    ASSERT_OK(aq_queue_free(b));
    return NULL;
}

TEST(test_select_immediate) { t_main(immediate_main, NULL); }

static void *try_main(void *arg)
{
    (void)arg;
    aq_queue *a = q_new(AQ_FIFO, 1), *b = q_new(AQ_FIFO, 1);
    long out = -1, in = 5;
    aq_clause g[] = {AQ_GET(a, &out), AQ_GET(b, &out)};
    ASSERT_RC(aq_select_try(g, 2, 0), AQ_EAGAIN);
    ASSERT_EQ(aq_queue_getters(a) + aq_queue_getters(b), 0);
    aq_clause p[] = {AQ_PUT(b, &in)};
    ASSERT_EQ(aq_select_try(p, 1, 0), 0);
    ASSERT_EQ(aq_select_try(g, 2, 0), 1);
    ASSERT_EQ(out, 5);
    ASSERT_OK(aq_queue_free(a));
    ASSERT_OK(aq_queue_free(b));
    return NULL;
}

TEST(test_select_try)
{
    t_main(try_main, NULL);
    /* Outside any task, the try form works too. */
    aq_queue *q = q_new(AQ_FIFO, 0);
    long v = 3, out = 0;
    aq_clause c[] = {AQ_PUT(q, &v)};
    ASSERT_EQ(aq_select_try(c, 1, 0), 0);
    aq_clause d[] = {AQ_GET(q, &out)};
    ASSERT_EQ(aq_select_try(d, 1, 0), 0);
    ASSERT_EQ(out, 3);
    ASSERT_RC(aq_select(d, 1, 0), AQ_EPERM);
    ASSERT_OK(aq_queue_free(q));
}

/* ---- blocking ------------------------------------------------------------ */

static void *blocking_get_main(void *arg)
{
    (void)arg;
    aq_queue *a = q_new(AQ_FIFO, 0), *b = q_new(AQ_FIFO, 0);
    static struct sel s;
    sel_init(&s, a, b);
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, sel_get2, &s));
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_getters(a), 1);
    ASSERT_EQ(aq_queue_getters(b), 1);
    put_long(b, 9);
    /* The waker unlinked the losing clause before returning. */
    ASSERT_EQ(aq_queue_getters(a), 0);
    ASSERT_EQ(aq_queue_getters(b), 0);
    put_long(a, 10); /* stays queued: nobody waits on a any more */
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_EQ(s.rc, 1);
    ASSERT_EQ(s.vb, 9);
    ASSERT_EQ(s.va, -1);
    ASSERT_OK(s.rc_b);
    ASSERT_EQ(aq_queue_qsize(a), 1);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_queue_free(a));
    ASSERT_OK(aq_queue_free(b));
    return NULL;
}

TEST(test_select_blocking_get) { t_main(blocking_get_main, NULL); }

struct selput {
    aq_queue *a, *b;
    long item;
    int rc;
};

static void *sel_put2(void *arg)
{
    struct selput *s = arg;
    aq_clause c[] = {AQ_PUT(s->a, &s->item), AQ_PUT(s->b, &s->item)};
    s->rc = aq_select(c, 2, 0);
    return NULL;
}

static void *blocking_put_main(void *arg)
{
    (void)arg;
    aq_queue *a = q_new(AQ_FIFO, 1), *b = q_new(AQ_FIFO, 1);
    put_long(a, 1);
    put_long(b, 2);
    static struct selput s;
    s = (struct selput){a, b, 77, PENDING};
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, sel_put2, &s));
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_putters(a) + aq_queue_putters(b), 2);
    /* A get from a frees a slot: the select's item moves in at once. */
    ASSERT_EQ(take(a), 1);
    ASSERT_EQ(aq_queue_putters(a) + aq_queue_putters(b), 0);
    ASSERT_EQ(take(a), 77);
    ASSERT_EQ(take(b), 2);
    ASSERT_EQ(aq_queue_qsize(b), 0); /* the losing put never inserted */
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_EQ(s.rc, 0);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_queue_free(a));
    ASSERT_OK(aq_queue_free(b));
    return NULL;
}

TEST(test_select_blocking_put) { t_main(blocking_put_main, NULL); }

/* Two putters parked on a full queue, then a select among them: waiters
 * on one queue are served oldest first, selects and plain calls alike. */
static void *put_task(void *arg)
{
    struct selput *s = arg;
    s->rc = aq_queue_put(s->a, &s->item);
    return NULL;
}

static void *oldest_first_main(void *arg)
{
    (void)arg;
    aq_queue *a = q_new(AQ_FIFO, 1), *idle = q_new(AQ_FIFO, 1);
    put_long(a, 0);
    put_long(idle, 0);
    static struct selput p1, s2, p3;
    p1 = (struct selput){a, idle, 1, PENDING};
    s2 = (struct selput){a, idle, 2, PENDING};
    p3 = (struct selput){a, idle, 3, PENDING};
    ASSERT_OK(aq_spawn(NULL, put_task, &p1));
    ASSERT_OK(aq_spawn(NULL, sel_put2, &s2));
    ASSERT_OK(aq_spawn(NULL, put_task, &p3));
    ASSERT_OK(aq_yield());
    for (long want = 0; want <= 3; want++) {
        long v;
        ASSERT_OK(aq_queue_get(a, &v));
        ASSERT_EQ(v, want);
    }
    ASSERT_OK(aq_yield());
    ASSERT_OK(p1.rc);
    ASSERT_EQ(s2.rc, 0);
    ASSERT_OK(p3.rc);
    ASSERT_EQ(take(idle), 0);
    ASSERT_OK(aq_queue_free(a));
    ASSERT_OK(aq_queue_free(idle));
    return NULL;
}

TEST(test_select_waiters_oldest_first) { t_main(oldest_first_main, NULL); }

/* Two senders against one select (libdill's "two senders"): both items
 * arrive, one per select, none lost or doubled. */
static void *two_senders_main(void *arg)
{
    (void)arg;
    aq_queue *a = q_new(AQ_RENDEZVOUS, 0), *b = q_new(AQ_RENDEZVOUS, 0);
    static struct selput s1, s2;
    s1 = (struct selput){a, NULL, 11, PENDING};
    s2 = (struct selput){b, NULL, 22, PENDING};
    ASSERT_OK(aq_spawn(NULL, put_task, &s1));
    ASSERT_OK(aq_spawn(NULL, put_task, &s2));
    ASSERT_OK(aq_yield());
    long va = -1, vb = -1, sum = 0;
    for (int k = 0; k < 2; k++) {
        aq_clause c[] = {AQ_GET(a, &va), AQ_GET(b, &vb)};
        int i = aq_select(c, 2, 0);
        ASSERT(i == 0 || i == 1);
        sum += i == 0 ? va : vb;
    }
    ASSERT_EQ(sum, 33);
    ASSERT_OK(aq_yield());
    ASSERT_OK(s1.rc);
    ASSERT_OK(s2.rc);
    ASSERT_OK(aq_queue_free(a));
    ASSERT_OK(aq_queue_free(b));
    return NULL;
}

TEST(test_select_two_senders) { t_main(two_senders_main, NULL); }

/* Select against select on a rendezvous queue: one parks with a put, the
 * other's get takes the item straight from it. */
static void *sel_put1(void *arg)
{
    struct selput *s = arg;
    aq_clause c[] = {AQ_PUT(s->a, &s->item), AQ_GET(s->b, &s->item)};
    s->rc = aq_select(c, 2, 0);
    return NULL;
}

static void *select_vs_select_main(void *arg)
{
    (void)arg;
    aq_queue *rv = q_new(AQ_RENDEZVOUS, 0), *idle = q_new(AQ_FIFO, 0);
    static struct selput s;
    s = (struct selput){rv, idle, 5, PENDING};
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, sel_put1, &s));
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_putters(rv), 1);
    ASSERT_EQ(aq_queue_getters(idle), 1);
    long out = -1;
    aq_clause c[] = {AQ_GET(idle, &out), AQ_GET(rv, &out)};
    ASSERT_EQ(aq_select(c, 2, 0), 1);
    ASSERT_EQ(out, 5);
    ASSERT_EQ(aq_queue_getters(idle), 0);
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_EQ(s.rc, 0);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_queue_free(rv));
    ASSERT_OK(aq_queue_free(idle));
    return NULL;
}

TEST(test_select_against_select) { t_main(select_vs_select_main, NULL); }

/* ---- deadlines, empty sets, shutdown ------------------------------------ */

static void *deadline_main(void *arg)
{
    (void)arg;
    aq_queue *a = q_new(AQ_FIFO, 0), *b = q_new(AQ_FIFO, 0);
    long out = -1;
    aq_clause c[] = {AQ_GET(a, &out), AQ_GET(b, &out)};
    /* An immediate deadline with nothing ready. */
    ASSERT_RC(aq_select_until(c, 2, 0, aq_now() - 1), AQ_ETIMEDOUT);
    ASSERT_EQ(aq_queue_getters(a) + aq_queue_getters(b), 0);
    /* A passed deadline does not stop a ready clause. */
    put_long(a, 3);
    ASSERT_EQ(aq_select_until(c, 2, 0, aq_now() - 1), 0);
    ASSERT_EQ(out, 3);
    /* A deadline that passes while parked. */
    int64_t t0 = aq_now();
    ASSERT_RC(aq_select_until(c, 2, 0, t0 + 5 * AQ_MSEC), AQ_ETIMEDOUT);
    ASSERT(aq_now() >= t0 + 5 * AQ_MSEC);
    ASSERT_EQ(aq_queue_getters(a) + aq_queue_getters(b), 0);
    /* Nothing lost afterwards: a put stays queued. */
    put_long(b, 4);
    ASSERT_EQ(aq_queue_qsize(b), 1);
    /* Every clause disabled: the select only waits for its deadline. */
    aq_clause off[] = {AQ_GET((aq_queue *)NULL, &out),
                       AQ_TASK((aq_task *)NULL, NULL)};
    ASSERT_RC(aq_select_until(off, 2, 0, aq_now() + AQ_MSEC),
              AQ_ETIMEDOUT);
    ASSERT_RC(aq_select_try(off, 2, 0), AQ_EAGAIN);
    /* A disabled clause is skipped even where its queue would be ready. */
    aq_clause one[] = {AQ_GET((aq_queue *)NULL, &out), AQ_GET(b, &out)};
    ASSERT_EQ(aq_select(one, 2, 0), 1);
    ASSERT_EQ(out, 4);
    ASSERT_OK(aq_queue_free(a));
    ASSERT_OK(aq_queue_free(b));
    return NULL;
}

TEST(test_select_deadline_and_empty_set) { t_main(deadline_main, NULL); }

static void *shutdown_main(void *arg)
{
    (void)arg;
    aq_queue *a = q_new(AQ_FIFO, 1), *b = q_new(AQ_FIFO, 1);
    long in = 1, out = -1;
    /* A shut-down queue's put clause is ready, with AQ_ESHUTDOWN. */
    ASSERT_OK(aq_queue_shutdown(a, 0));
    put_long(b, 8);
    aq_clause p[] = {AQ_PUT(a, &in), AQ_PUT(b, &in)};
    ASSERT_EQ(aq_select(p, 2, 0), 0);
    ASSERT_RC(p[0].rc, AQ_ESHUTDOWN);
    ASSERT_EQ(aq_queue_qsize(b), 1);
    /* A get clause fires once the queue is empty. */
    ASSERT_EQ(take(b), 8);
    aq_clause g[] = {AQ_GET(a, &out), AQ_GET(b, &out)};
    ASSERT_EQ(aq_select(g, 2, 0), 0);
    ASSERT_RC(g[0].rc, AQ_ESHUTDOWN);
    ASSERT_EQ(out, -1);
    /* A parked select is woken by the shutdown with the clause's code. */
    aq_queue *c = q_new(AQ_FIFO, 0), *d = q_new(AQ_FIFO, 0);
    static struct sel s;
    sel_init(&s, c, d);
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, sel_get2, &s));
    ASSERT_OK(aq_yield());
    ASSERT_OK(aq_queue_shutdown(d, 0));
    ASSERT_EQ(aq_queue_getters(c), 0);
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_EQ(s.rc, 1);
    ASSERT_RC(s.rc_b, AQ_ESHUTDOWN);
    ASSERT_OK(aq_task_release(t));
    /* Woken by a shutdown, then cancelled before it runs: the shutdown
     * moved nothing, so the cancel is reported, as for a plain get, and
     * no clause's rc is set (a fresh user's checker found select.h's
     * 'completed beats cancelled' read otherwise). */
    aq_queue *e = q_new(AQ_PRIORITY, 0);
    sel_init(&s, e, c);
    ASSERT_OK(aq_spawn(&t, sel_get2, &s));
    ASSERT_OK(aq_yield());
    ASSERT_OK(aq_queue_shutdown(e, 0));
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_RC(s.rc, AQ_ECANCELED);
    ASSERT_EQ(s.rc_a, 0); /* as AQ_GET left it */
    ASSERT_EQ(s.rc_b, 0);
    ASSERT_EQ(s.va, -1);
    ASSERT_EQ(aq_queue_getters(e), 0);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_queue_free(e));
    ASSERT_OK(aq_queue_free(a));
    ASSERT_OK(aq_queue_free(b));
    ASSERT_OK(aq_queue_free(c));
    ASSERT_OK(aq_queue_free(d));
    return NULL;
}

TEST(test_select_shutdown_fires) { t_main(shutdown_main, NULL); }

/* A put on a full queue with a DROP policy never waits, so its clause is
 * ready: DROP_NEWEST discards the item (AQ_EDROPPED in the clause),
 * DROP_OLDEST makes room (AQ_OK). */
static void *drop_policy_main(void *arg)
{
    (void)arg;
    aq_queue *newest = q_new(AQ_FIFO, 1), *oldest = q_new(AQ_FIFO, 1);
    aq_queue *idle = q_new(AQ_FIFO, 0);
    ASSERT_OK(aq_queue_set_overflow(newest, AQ_DROP_NEWEST, NULL, NULL));
    ASSERT_OK(aq_queue_set_overflow(oldest, AQ_DROP_OLDEST, NULL, NULL));
    put_long(newest, 1);
    put_long(oldest, 1);
    long v = 2, out;
    aq_clause a[] = {AQ_GET(idle, &out), AQ_PUT(newest, &v)};
    ASSERT_EQ(aq_select(a, 2, 0), 1);
    ASSERT_RC(a[1].rc, AQ_EDROPPED);
    ASSERT_EQ(take(newest), 1);
    aq_clause b[] = {AQ_GET(idle, &out), AQ_PUT(oldest, &v)};
    ASSERT_EQ(aq_select(b, 2, 0), 1);
    ASSERT_OK(b[1].rc);
    ASSERT_EQ(take(oldest), 2);
    ASSERT_EQ(aq_queue_putters(newest) + aq_queue_putters(oldest), 0);
    ASSERT_OK(aq_queue_free(newest));
    ASSERT_OK(aq_queue_free(oldest));
    ASSERT_OK(aq_queue_free(idle));
    return NULL;
}

TEST(test_select_drop_policy_put_is_ready)
{
    t_main(drop_policy_main, NULL);
}

/* ---- cancellation -------------------------------------------------------- */

static void *cancel_main(void *arg)
{
    (void)arg;
    aq_queue *a = q_new(AQ_FIFO, 0), *b = q_new(AQ_FIFO, 0);
    static struct sel s;
    aq_task *t;
    /* Cancelled while parked: nothing completed, records unlinked, and
     * a later put stays in the queue. */
    sel_init(&s, a, b);
    ASSERT_OK(aq_spawn(&t, sel_get2, &s));
    ASSERT_OK(aq_yield());
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_EQ(aq_queue_getters(a) + aq_queue_getters(b), 0);
    put_long(a, 1);
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_RC(s.rc, AQ_ECANCELED);
    ASSERT_EQ(s.va, -1);
    ASSERT_EQ(take(a), 1);
    ASSERT_OK(aq_task_release(t));
    /* Completed, then cancelled before it ran: the completion stands and
     * the cancel shows at the next suspending call. */
    sel_init(&s, a, b);
    ASSERT_OK(aq_spawn(&t, sel_get2, &s));
    ASSERT_OK(aq_yield());
    put_long(b, 2);
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_EQ(s.rc, 1);
    ASSERT_EQ(s.vb, 2);
    ASSERT_RC(s.after, AQ_ECANCELED);
    ASSERT_OK(aq_task_release(t));
    /* Cancelled before the call: fails at once, even with a ready clause
     * (the arguments are checked first). */
    sel_init(&s, a, b);
    put_long(a, 3);
    ASSERT_OK(aq_spawn(&t, sel_get2, &s));
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_RC(s.rc, AQ_ECANCELED);
    ASSERT_EQ(take(a), 3);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_queue_free(a));
    ASSERT_OK(aq_queue_free(b));
    return NULL;
}

TEST(test_select_cancel) { t_main(cancel_main, NULL); }

/* ---- order: biased and fair ---------------------------------------------- */

static void *biased_main(void *arg)
{
    (void)arg;
    aq_queue *hi = q_new(AQ_FIFO, 0), *lo = q_new(AQ_FIFO, 0);
    for (long i = 0; i < 3; i++) {
        put_long(hi, i);
        put_long(lo, 10 + i);
    }
    long out;
    /* Array order is priority: hi drains first, then lo. */
    long want[] = {0, 1, 2, 10, 11, 12};
    for (int k = 0; k < 6; k++) {
        aq_clause c[] = {AQ_GET(hi, &out), AQ_GET(lo, &out)};
        int i = aq_select(c, 2, AQ_SELECT_BIASED);
        ASSERT_EQ(i, k < 3 ? 0 : 1);
        ASSERT_EQ(out, want[k]);
    }
    ASSERT_OK(aq_queue_free(hi));
    ASSERT_OK(aq_queue_free(lo));
    return NULL;
}

TEST(test_select_biased_is_array_order) { t_main(biased_main, NULL); }

static void *done_task(void *arg) { return arg; }

/* Go's TestSelectFairness: two always-ready clauses (finished tasks, so
 * nothing is consumed), 1,000,000 selects, each chosen 50% +- 0.5%; a
 * third clause that is never ready does not skew the draw. */
static void *fairness_main(void *arg)
{
    (void)arg;
    aq_task *t[2];
    aq_queue *never = q_new(AQ_FIFO, 0);
    long out;
    ASSERT_OK(aq_loop_seed(aq_loop_current(), 12345));
    ASSERT_OK(aq_spawn(&t[0], done_task, IARG(1)));
    ASSERT_OK(aq_spawn(&t[1], done_task, IARG(2)));
    ASSERT_OK(aq_yield());
    long count[3] = {0, 0, 0};
    const long n = 1000000;
    for (long k = 0; k < n; k++) {
        void *r = NULL;
        aq_clause c[] = {AQ_TASK(t[0], &r), AQ_GET(never, &out),
                         AQ_TASK(t[1], &r)};
        int i = aq_select(c, 3, 0);
        ASSERT(i == 0 || i == 2);
        ASSERT_EQ(IVAL(r), i == 0 ? 1 : 2);
        count[i]++;
    }
    ASSERT_EQ(count[1], 0);
    ASSERT(labs(count[0] - n / 2) <= n / 200);
    ASSERT(labs(count[2] - n / 2) <= n / 200);
    ASSERT_OK(aq_task_release(t[0]));
    ASSERT_OK(aq_task_release(t[1]));
    ASSERT_OK(aq_queue_free(never));
    return NULL;
}

TEST(test_select_fairness) { t_main(fairness_main, NULL); }

/* The same seed gives the same choices. */
static void *seeded_main(void *arg)
{
    int *choices = arg;
    aq_queue *a = q_new(AQ_FIFO, 0), *b = q_new(AQ_FIFO, 0);
    long out;
    ASSERT_OK(aq_loop_seed(aq_loop_current(), 99));
    for (int k = 0; k < 64; k++) {
        put_long(a, k);
        put_long(b, k);
        aq_clause c[] = {AQ_GET(a, &out), AQ_GET(b, &out)};
        choices[k] = aq_select(c, 2, 0);
        ASSERT_EQ(out, k);
        ASSERT_EQ(take(choices[k] == 0 ? b : a), k);
    }
    ASSERT_OK(aq_queue_free(a));
    ASSERT_OK(aq_queue_free(b));
    return NULL;
}

TEST(test_select_seed_reproducible)
{
    int x[64], y[64], zeros = 0;
    t_main(seeded_main, x);
    t_main(seeded_main, y);
    for (int k = 0; k < 64; k++) {
        ASSERT_EQ(x[k], y[k]);
        zeros += x[k] == 0;
    }
    ASSERT(zeros > 0 && zeros < 64);
}

/* ---- items, tasks, many clauses ------------------------------------------ */

struct big {
    long tag;
    char bytes[4000];
};

static void *big_main(void *arg)
{
    (void)arg;
    aq_queue *q, *idle;
    ASSERT_OK(aq_queue_new(&q, AQ_FIFO, sizeof(struct big), 1));
    ASSERT_OK(aq_queue_new(&idle, AQ_FIFO, sizeof(struct big), 1));
    static struct big in, out;
    in.tag = 5;
    memset(in.bytes, 'x', sizeof in.bytes);
    aq_clause p[] = {AQ_PUT(idle, &in), AQ_PUT(q, &in)};
    p[0].queue = NULL;
    ASSERT_EQ(aq_select(p, 2, 0), 1);
    aq_clause g[] = {AQ_GET(idle, &out), AQ_GET(q, &out)};
    ASSERT_EQ(aq_select(g, 2, 0), 1);
    ASSERT_EQ(out.tag, 5);
    ASSERT(memcmp(in.bytes, out.bytes, sizeof in.bytes) == 0);
    ASSERT_OK(aq_queue_free(q));
    ASSERT_OK(aq_queue_free(idle));
    return NULL;
}

TEST(test_select_large_item) { t_main(big_main, NULL); }

static void *sleeper(void *arg)
{
    int rc = aq_sleep(IVAL(arg) * AQ_MSEC);
    ASSERT(rc == AQ_OK || rc == AQ_ECANCELED);
    return arg;
}

/* Returns its value once its event is set: the test decides the order in
 * which the tasks finish, whatever the machine's load. */
struct when {
    aq_event *go;
    long value;
};

static void *on_event(void *arg)
{
    struct when *w = arg;
    int rc = aq_event_wait(w->go);
    ASSERT(rc == AQ_OK || rc == AQ_ECANCELED);
    return IARG(w->value);
}

static void *wait_any_main(void *arg)
{
    (void)arg;
    aq_task *t[3];
    static struct when w[3];
    for (int k = 0; k < 3; k++) {
        w[k].value = 10 * (3 - k); /* 30, 20, 10 */
        ASSERT_OK(aq_event_new(&w[k].go));
        ASSERT_OK(aq_spawn(&t[k], on_event, &w[k]));
    }
    /* as_completed: wait for any, clear it, again; they finish 2, 1, 0. */
    aq_task *set[3] = {t[0], t[1], t[2]};
    long order[3];
    for (int k = 0; k < 3; k++) {
        ASSERT_OK(aq_event_set(w[2 - k].go));
        void *r;
        int i = aq_task_wait_any(set, 3, &r);
        ASSERT_EQ(i, 2 - k);
        order[k] = IVAL(r);
        set[i] = NULL;
    }
    ASSERT_EQ(order[0], 10);
    ASSERT_EQ(order[1], 20);
    ASSERT_EQ(order[2], 30);
    for (int k = 0; k < 3; k++)
        ASSERT_OK(aq_event_free(w[k].go));
    /* Several done: the lowest index wins. */
    void *r;
    ASSERT_EQ(aq_task_wait_any(t, 3, &r), 0);
    ASSERT_EQ(IVAL(r), 30);
    aq_task *none[2] = {NULL, NULL};
    ASSERT_RC(aq_task_wait_any(none, 2, NULL), AQ_EINVAL);
    ASSERT_RC(aq_task_wait_any(NULL, 2, NULL), AQ_EINVAL);
    ASSERT_RC(aq_task_wait_any(t, 0, NULL), AQ_EINVAL);
    aq_task *self[2] = {t[0], aq_task_self()};
    ASSERT_RC(aq_task_wait_any(self, 2, NULL), AQ_EDEADLK);
    /* A deadline, and a task clause mixed with a queue clause. */
    aq_task *slow;
    ASSERT_OK(aq_spawn(&slow, sleeper, IARG(1000)));
    ASSERT_RC(aq_task_wait_any_until(&slow, 1, NULL, aq_now() + AQ_MSEC),
              AQ_ETIMEDOUT);
    aq_queue *q = q_new(AQ_FIFO, 0);
    put_long(q, 6);
    long out;
    aq_clause c[] = {AQ_TASK(slow, NULL), AQ_GET(q, &out)};
    ASSERT_EQ(aq_select(c, 2, 0), 1);
    ASSERT_OK(aq_task_cancel(slow));
    ASSERT_OK(aq_task_release(slow));
    for (int k = 0; k < 3; k++)
        ASSERT_OK(aq_task_release(t[k]));
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_select_wait_any) { t_main(wait_any_main, NULL); }

/* More clauses than AQ_SELECT_STATIC: the records come from the heap,
 * allocated before anything is linked; a failure leaves no trace. Up to
 * AQ_SELECT_STATIC, waiting allocates nothing. */
#define NQ 20

static aq_queue *g_many[NQ];

static void *sel_many(void *arg)
{
    long n = IVAL(arg), out = -1;
    aq_clause c[NQ];
    for (int i = 0; i < n; i++)
        c[i] = (aq_clause)AQ_GET(g_many[i], &out);
    int i = aq_select(c, (size_t)n, 0);
    return IARG(i < 0 ? i : i * 1000 + out);
}

static void *many_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < NQ; i++)
        g_many[i] = q_new(AQ_FIFO, 0);
    aq_task *t;
    void *r;
    /* n = AQ_SELECT_STATIC: no allocation to wait. */
    ASSERT_OK(aq_spawn(&t, sel_many, IARG(AQ_SELECT_STATIC)));
    ASSERT_OK(aq_yield());
    t_fail_alloc_at(1);
    put_long(g_many[AQ_SELECT_STATIC - 1], 4);
    ASSERT_OK(aq_task_wait(t, &r));
    t_fail_alloc_at(0);
    ASSERT_EQ(IVAL(r), (AQ_SELECT_STATIC - 1) * 1000 + 4);
    ASSERT_OK(aq_task_release(t));
    /* n = NQ, the allocation fails: AQ_ENOMEM, nothing linked. */
    ASSERT_OK(aq_spawn(&t, sel_many, IARG(NQ)));
    t_fail_alloc_at(1);
    ASSERT_OK(aq_task_wait(t, &r));
    t_fail_alloc_at(0);
    ASSERT_RC((int)IVAL(r), AQ_ENOMEM);
    for (int i = 0; i < NQ; i++)
        ASSERT_EQ(aq_queue_getters(g_many[i]), 0);
    ASSERT_OK(aq_task_release(t));
    /* n = NQ, allocated: completes on the last queue. */
    ASSERT_OK(aq_spawn(&t, sel_many, IARG(NQ)));
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_getters(g_many[0]), 1);
    put_long(g_many[NQ - 1], 9);
    ASSERT_OK(aq_task_wait(t, &r));
    ASSERT_EQ(IVAL(r), (NQ - 1) * 1000 + 9);
    ASSERT_OK(aq_task_release(t));
    for (int i = 0; i < NQ; i++) {
        ASSERT_EQ(aq_queue_getters(g_many[i]), 0);
        ASSERT_OK(aq_queue_free(g_many[i]));
    }
    return NULL;
}

TEST(test_select_many_clauses) { t_main(many_main, NULL); }

/* aq_task_wait_any over more than AQ_SELECT_STATIC tasks allocates its
 * clauses, then the select its records: each allocation fails once,
 * cleanly, and then the call succeeds. */
static void *wait_any_alloc_main(void *arg)
{
    (void)arg;
    aq_task *t[NQ];
    for (int i = 0; i < NQ; i++)
        ASSERT_OK(aq_spawn(&t[i], sleeper, IARG(i == NQ - 1 ? 1 : 1000)));
    for (long k = 1; k <= 2; k++) {
        t_fail_alloc_at(k);
        ASSERT_RC(aq_task_wait_any(t, NQ, NULL), AQ_ENOMEM);
        t_fail_alloc_at(0);
    }
    void *r;
    ASSERT_EQ(aq_task_wait_any(t, NQ, &r), NQ - 1);
    ASSERT_EQ(IVAL(r), 1);
    for (int i = 0; i < NQ; i++) {
        aq_task_cancel(t[i]);
        ASSERT_OK(aq_task_release(t[i]));
    }
    return NULL;
}

TEST(test_select_wait_any_alloc_fails) { t_main(wait_any_alloc_main, NULL); }

/* ---- sync clauses -------------------------------------------------------- */

struct syncsel {
    aq_queue *q;
    aq_clause c[2];
    int rc;
    int owned; /* the lock clause: did the winner own the lock after */
};

static void *sel_sync(void *arg)
{
    struct syncsel *s = arg;
    s->rc = aq_select(s->c, 2, 0);
    if (s->rc == 0 && s->c[0].op == AQ_OP_LOCK) {
        s->owned = aq_lock_locked(s->c[0].lock);
        ASSERT_OK(aq_lock_release(s->c[0].lock));
    }
    return NULL;
}

static void *sync_clauses_main(void *arg)
{
    (void)arg;
    aq_queue *q = q_new(AQ_FIFO, 0);
    aq_event *e;
    aq_lock *l;
    aq_sem *sem;
    long v;
    ASSERT_OK(aq_event_new(&e));
    ASSERT_OK(aq_lock_new(&l));
    ASSERT_OK(aq_sem_new(&sem, 0, 0));
    static struct syncsel s;
    aq_task *t;
    /* An event set wakes the select; the losing get leaves the queue. */
    s = (struct syncsel){q, {AQ_EVENT(e), AQ_GET(q, &v)}, PENDING, 0};
    ASSERT_OK(aq_spawn(&t, sel_sync, &s));
    ASSERT_OK(aq_yield());
    ASSERT_OK(aq_event_set(e));
    ASSERT_EQ(aq_queue_getters(q), 0);
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_EQ(s.rc, 0);
    ASSERT_OK(aq_task_release(t));
    /* A lock released by its owner is handed to the select. */
    ASSERT_OK(aq_lock_acquire(l));
    s = (struct syncsel){q, {AQ_LOCK(l), AQ_GET(q, &v)}, PENDING, 0};
    ASSERT_OK(aq_spawn(&t, sel_sync, &s));
    ASSERT_OK(aq_yield());
    ASSERT_OK(aq_lock_release(l));
    ASSERT_EQ(aq_lock_locked(l), 1); /* handed over, not freed */
    ASSERT_RC(aq_lock_try_acquire(l), AQ_EBUSY); /* no barging */
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_EQ(s.rc, 0);
    ASSERT_EQ(s.owned, 1);
    ASSERT_EQ(aq_lock_locked(l), 0);
    ASSERT_OK(aq_task_release(t));
    /* A permit released is handed to the select: the value stays 0. */
    s = (struct syncsel){q, {AQ_SEM(sem), AQ_GET(q, &v)}, PENDING, 0};
    ASSERT_OK(aq_spawn(&t, sel_sync, &s));
    ASSERT_OK(aq_yield());
    ASSERT_OK(aq_sem_release(sem));
    ASSERT_EQ(aq_sem_value(sem), 0);
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_EQ(s.rc, 0);
    ASSERT_OK(aq_task_release(t));
    /* Ready at once: a free lock is taken, a permit taken, a set event. */
    ASSERT_OK(aq_sem_release(sem));
    aq_clause now[] = {AQ_LOCK(l)};
    ASSERT_EQ(aq_select(now, 1, 0), 0);
    ASSERT_EQ(aq_lock_locked(l), 1);
    /* A lock the caller holds would wait forever. */
    ASSERT_RC(aq_select(now, 1, 0), AQ_EDEADLK);
    ASSERT_OK(aq_lock_release(l));
    aq_clause ps[] = {AQ_SEM(sem), AQ_EVENT(e)};
    ASSERT_EQ(aq_select(ps, 2, AQ_SELECT_BIASED), 0);
    ASSERT_EQ(aq_sem_value(sem), 0);
    ASSERT_EQ(aq_select(ps, 2, 0), 1); /* no permit left: the event */
    ASSERT_OK(aq_event_free(e));
    ASSERT_OK(aq_lock_free(l));
    ASSERT_OK(aq_sem_free(sem));
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_select_sync_clauses)
{
    t_main(sync_clauses_main, NULL);
    /* Outside a task, a lock clause has no owner to give the lock to. */
    aq_lock *l;
    ASSERT_OK(aq_lock_new(&l));
    aq_clause c[] = {AQ_LOCK(l)};
    ASSERT_RC(aq_select_try(c, 1, 0), AQ_EPERM);
    ASSERT_EQ(aq_lock_locked(l), 0);
    ASSERT_OK(aq_lock_free(l));
}

/* ---- bad input ----------------------------------------------------------- */

static void *bad_main(void *arg)
{
    (void)arg;
    aq_queue *a = q_new(AQ_FIFO, 0);
    aq_queue *i32;
    ASSERT_OK(aq_queue_new(&i32, AQ_FIFO, sizeof(int), 0));
    long v = 1, out;
    aq_clause ok[] = {AQ_PUT(a, &v)};
    ASSERT_RC(aq_select(NULL, 1, 0), AQ_EINVAL);
    ASSERT_RC(aq_select(ok, 0, 0), AQ_EINVAL);
    ASSERT_RC(aq_select_try(NULL, 1, 0), AQ_EINVAL);
    ASSERT_RC(aq_select(ok, 1, 4), AQ_EINVAL); /* unknown flag */
    aq_clause op[] = {{.op = 99, .queue = a, .buf = &v, .size = sizeof v}};
    ASSERT_RC(aq_select(op, 1, 0), AQ_EINVAL);
    aq_clause nobuf[] = {{.op = AQ_OP_GET, .queue = a, .size = sizeof v}};
    ASSERT_RC(aq_select(nobuf, 1, 0), AQ_EINVAL);
    aq_clause size[] = {AQ_GET(i32, &out)}; /* 8 bytes for a 4-byte queue */
    ASSERT_RC(aq_select_until(size, 1, 0, AQ_NEVER), AQ_EINVAL);
    aq_clause twice[] = {AQ_GET(a, &out), AQ_GET(a, &out)};
    ASSERT_RC(aq_select(twice, 2, 0), AQ_EINVAL);
    aq_clause twice_put[] = {AQ_PUT(a, &v), AQ_PUT(a, &v)};
    ASSERT_RC(aq_select_try(twice_put, 2, 0), AQ_EINVAL);
    aq_clause me[] = {AQ_TASK(aq_task_self(), NULL)};
    ASSERT_RC(aq_select(me, 1, 0), AQ_EDEADLK);
    /* Nothing happened: the queue is as it was. */
    ASSERT_EQ(aq_queue_qsize(a), 0);
    ASSERT_EQ(aq_queue_getters(a), 0);
    /* A put and a get on one queue are allowed. */
    aq_clause both[] = {AQ_GET(a, &out), AQ_PUT(a, &v)};
    ASSERT_EQ(aq_select(both, 2, 0), 1);
    ASSERT_EQ(aq_queue_qsize(a), 1);
    ASSERT_OK(aq_queue_free(a));
    ASSERT_OK(aq_queue_free(i32));
    return NULL;
}

TEST(test_select_bad_input)
{
    t_main(bad_main, NULL);
    aq_queue *q = NULL;
    ASSERT_RC(aq_queue_new(&q, AQ_RENDEZVOUS, sizeof(long), 1), AQ_EINVAL);
    ASSERT_RC(aq_queue_new(&q, AQ_RENDEZVOUS, sizeof(long), -1), AQ_EINVAL);
    ASSERT(q == NULL);
    ASSERT_RC(aq_loop_seed(NULL, 1), AQ_EINVAL);
}

/* ---- compact tasks ------------------------------------------------------- */

/* Compact tasks parked in selects: their records live in frames that are
 * copied out and back while linked on the queues' wait lists. */
#define NC 16

static struct sel g_csel[NC];

static void *compact_main(void *arg)
{
    (void)arg;
    aq_queue *a = q_new(AQ_FIFO, 0), *b = q_new(AQ_FIFO, 0);
    for (int i = 0; i < NC; i++) {
        sel_init(&g_csel[i], a, b);
        ASSERT_OK(aq_spawn(NULL, sel_get2, &g_csel[i]));
    }
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_getters(a), NC);
    ASSERT_EQ(aq_queue_getters(b), NC);
    /* Alternate queues: each item goes to the oldest select still
     * waiting, whose other record leaves the other queue. */
    for (long k = 0; k < NC; k++) {
        put_long(k % 2 ? b : a, k);
        ASSERT_EQ(aq_queue_getters(a), NC - 1 - k);
        ASSERT_EQ(aq_queue_getters(b), NC - 1 - k);
    }
    ASSERT_OK(aq_yield());
    for (int i = 0; i < NC; i++) {
        ASSERT_EQ(g_csel[i].rc, i % 2);
        ASSERT_EQ(i % 2 ? g_csel[i].vb : g_csel[i].va, i);
    }
    ASSERT_OK(aq_queue_free(a));
    ASSERT_OK(aq_queue_free(b));
    return NULL;
}

TEST(test_select_compact) { t_main_compact(compact_main, NULL); }

int main(int argc, char **argv)
{
    RUN(test_select_immediate);
    RUN(test_select_try);
    RUN(test_select_blocking_get);
    RUN(test_select_blocking_put);
    RUN(test_select_waiters_oldest_first);
    RUN(test_select_two_senders);
    RUN(test_select_against_select);
    RUN(test_select_deadline_and_empty_set);
    RUN(test_select_shutdown_fires);
    RUN(test_select_drop_policy_put_is_ready);
    RUN(test_select_cancel);
    RUN(test_select_biased_is_array_order);
    RUN(test_select_fairness);
    RUN(test_select_seed_reproducible);
    RUN(test_select_large_item);
    RUN(test_select_wait_any);
    RUN(test_select_many_clauses);
    RUN(test_select_wait_any_alloc_fails);
    RUN(test_select_sync_clauses);
    RUN(test_select_bad_input);
    RUN(test_select_compact);
    return t_done();
}
