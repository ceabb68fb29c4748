/* Overflow policies (aq_queue_set_overflow): AQ_DROP_NEWEST and
 * AQ_DROP_OLDEST on every kind, checked against a small reference model;
 * the drop callback (once per discarded item, the right item), getters
 * served before any drop, puts that never wait, task_done/join
 * accounting, immediate shutdown through the callback, and the setter's
 * error codes.
 */
#include "queue_helpers.h"

/* ---- the drop callback's record ------------------------------------------ */

#define LOG_MAX 64

struct drop_log {
    int64_t items[LOG_MAX];
    size_t n;
};

static void log_drop(void *item, void *ud)
{
    struct drop_log *log = ud;
    ASSERT(log->n < LOG_MAX);
    memcpy(&log->items[log->n++], item, sizeof(int64_t));
}

/* What the callback of the queue under test saw (set_policy). */
static struct drop_log drops;

static void set_policy(aq_queue *q, aq_overflow policy)
{
    drops.n = 0;
    ASSERT_OK(aq_queue_set_overflow(q, policy, log_drop, &drops));
}

static void assert_log(const struct drop_log *log, const int64_t *want,
                       size_t n)
{
    ASSERT_EQ(log->n, n);
    for (size_t i = 0; i < n; i++)
        ASSERT_EQ(log->items[i], want[i]);
}

static aq_queue_stats stats_of(aq_queue *q)
{
    aq_queue_stats st;
    ASSERT_OK(aq_queue_statistics(q, &st));
    return st;
}

/* ---- every policy on every kind, by hand --------------------------------- */

/* Full with 1, 2, 3, then 4 and 5 refused: nothing stored changes, each
 * refused item reaches the callback once, and no put waits. */
static void drop_newest_body(aq_queue *q, aq_queue_kind kind)
{
    static const int64_t order[QH_NKINDS][3] = {
        {1, 2, 3}, {3, 2, 1}, {1, 2, 3}};
    int ran;
    int64_t v = 4;
    set_policy(q, AQ_DROP_NEWEST);
    aq_task *w = qh_quiet_begin(&ran);
    for (int64_t i = 1; i <= 3; i++)
        qh_put(q, i);
    ASSERT_RC(aq_queue_put(q, &v), AQ_EDROPPED);
    v = 5;
    ASSERT_RC(aq_queue_try_put(q, &v), AQ_EDROPPED);
    v = 6; /* a deadline long past: still no wait, no AQ_ETIMEDOUT */
    ASSERT_RC(aq_queue_put_until(q, &v, 1), AQ_EDROPPED);
    qh_quiet_end(w, &ran);
    assert_log(&drops, (const int64_t[]){4, 5, 6}, 3);
    ASSERT_EQ(aq_queue_unfinished(q), 3);
    aq_queue_stats st = stats_of(q);
    ASSERT_EQ(st.put, 3);
    ASSERT_EQ(st.dropped, 3);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(qh_try_get(q), order[qh_kind_index(kind)][i]);
}

TEST(test_overflow_drop_newest_every_kind)
{
    qh_each_kind(3, drop_newest_body);
}

/* 10, 30, 20 fill the queue; 15 and 50 go in, each discarding the stored
 * item the kind gives up first. */
static void drop_oldest_body(aq_queue *q, aq_queue_kind kind)
{
    /* FIFO and LIFO drop the oldest (10, then 30); PRIORITY the least
     * urgent: 30, then 50 itself (AQ_EDROPPED), the least urgent of all. */
    static const int64_t dropped[QH_NKINDS][2] = {
        {10, 30}, {10, 30}, {30, 50}};
    static const int64_t order[QH_NKINDS][3] = {
        {20, 15, 50}, {50, 15, 20}, {10, 15, 20}};
    static const int rc50[QH_NKINDS] = {AQ_OK, AQ_OK, AQ_EDROPPED};
    size_t k = qh_kind_index(kind);
    int ran;
    set_policy(q, AQ_DROP_OLDEST);
    aq_task *w = qh_quiet_begin(&ran);
    qh_put(q, 10);
    qh_put(q, 30);
    qh_put(q, 20);
    qh_put(q, 15);
    int64_t v = 50;
    ASSERT_RC(aq_queue_put(q, &v), rc50[k]);
    qh_quiet_end(w, &ran);
    assert_log(&drops, dropped[k], 2);
    ASSERT_EQ(aq_queue_qsize(q), 3);
    ASSERT_EQ(aq_queue_unfinished(q), 3);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(qh_get(q), order[k][i]);
}

TEST(test_overflow_drop_oldest_every_kind)
{
    qh_each_kind(3, drop_oldest_body);
}

/* ---- batches under a DROP policy ----------------------------------------- */

/* put_many and try_put_many offer every item to the policy in order: a
 * discarded one is not an early stop (aq.h), so *done is n, the call
 * returns AQ_OK and the callback sees each dropped item once. maxsize 2,
 * items 1..4: DROP_NEWEST keeps 1 and 2; DROP_OLDEST keeps 3 and 4 on
 * FIFO and LIFO, while on PRIORITY 3 and 4 are each the least urgent and
 * are refused. Neither call ever waits. */
static void batch_drop_body(aq_queue *q, aq_queue_kind kind)
{
    static const int64_t items[4] = {1, 2, 3, 4};
    static const int64_t oldest[QH_NKINDS][2] = {{1, 2}, {1, 2}, {3, 4}};
    size_t k = qh_kind_index(kind), done = 99;
    int ran;
    set_policy(q, AQ_DROP_NEWEST);
    aq_task *w = qh_quiet_begin(&ran);
    ASSERT_OK(aq_queue_put_many(q, items, 4, &done));
    ASSERT_EQ(done, 4);
    done = 99;
    ASSERT_OK(aq_queue_try_put_many(q, items + 2, 2, &done));
    ASSERT_EQ(done, 2);
    qh_quiet_end(w, &ran);
    assert_log(&drops, (const int64_t[]){3, 4, 3, 4}, 4);
    ASSERT_EQ(aq_queue_qsize(q), 2);
    ASSERT_EQ(aq_queue_unfinished(q), 2);
    ASSERT_EQ(stats_of(q).put, 2);
    ASSERT_EQ(stats_of(q).dropped, 4);

    aq_queue *o = qh_new(kind, 2);
    set_policy(o, AQ_DROP_OLDEST);
    w = qh_quiet_begin(&ran);
    done = 99; /* a deadline long past: still no wait, no AQ_ETIMEDOUT */
    ASSERT_OK(aq_queue_put_many_until(o, items, 4, &done, 1));
    ASSERT_EQ(done, 4);
    qh_quiet_end(w, &ran);
    assert_log(&drops, oldest[k], 2);
    ASSERT_EQ(aq_queue_qsize(o), 2);
    ASSERT_EQ(aq_queue_unfinished(o), 2);
    ASSERT_OK(aq_queue_free(o));
}

TEST(test_overflow_batch_never_stops_at_a_drop)
{
    qh_each_kind(2, batch_drop_body);
}

/* ---- PRIORITY ties with a comparator ------------------------------------- */

struct job {
    int prio, id;
};

static int by_prio(const void *a, const void *b, void *ud)
{
    (void)ud;
    return ((const struct job *)a)->prio - ((const struct job *)b)->prio;
}

static void log_job(void *item, void *ud)
{
    struct drop_log *log = ud;
    ASSERT(log->n < LOG_MAX);
    log->items[log->n++] = ((struct job *)item)->id;
}

/* Of equal priorities the later-inserted is the less urgent: it is the
 * one dropped, whether stored or new. */
TEST(test_overflow_drop_oldest_priority_ties)
{
    aq_queue *q;
    struct drop_log ties = {{0}, 0};
    struct job j;
    ASSERT_OK(aq_queue_new_prio(&q, sizeof j, 3, by_prio, NULL));
    ASSERT_OK(aq_queue_set_overflow(q, AQ_DROP_OLDEST, log_job, &ties));
    for (int id = 1; id <= 3; id++) {
        j = (struct job){1, id};
        ASSERT_OK(aq_queue_try_put(q, &j));
    }
    j = (struct job){1, 4}; /* ties all three, inserted last: refused */
    ASSERT_RC(aq_queue_try_put(q, &j), AQ_EDROPPED);
    j = (struct job){0, 5}; /* more urgent: the newest 1 (id 3) goes */
    ASSERT_OK(aq_queue_try_put(q, &j));
    assert_log(&ties, (const int64_t[]){4, 3}, 2);
    static const int ids[] = {5, 1, 2};
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(aq_queue_try_get(q, &j));
        ASSERT_EQ(j.id, ids[i]);
    }
    ASSERT_OK(aq_queue_free(q));
}

/* ---- random programs against a reference model --------------------------- */

/* The model keeps (priority, insertion number) pairs; which one a get
 * takes and which one DROP_OLDEST gives up follow from the kind. */
struct model {
    int64_t prio[8];
    uint64_t seq[8];
    size_t n;
};

/* Does entry a come out of a get before entry b? */
static int model_before(aq_queue_kind kind, int64_t pa, uint64_t sa,
                        int64_t pb, uint64_t sb)
{
    switch (kind) {
    case AQ_LIFO:
        return sa > sb;
    case AQ_PRIORITY:
        return pa != pb ? pa < pb : sa < sb;
    default:
        return sa < sb;
    }
}

/* The index of the entry a get takes (first) or the policy drops. */
static size_t model_pick(const struct model *m, aq_queue_kind kind,
                         int first)
{
    size_t best = 0;
    for (size_t i = 1; i < m->n; i++) {
        int b = model_before(kind, m->prio[i], m->seq[i], m->prio[best],
                             m->seq[best]);
        if (b == first)
            best = i;
    }
    return best;
}

static int64_t model_take(struct model *m, size_t i)
{
    int64_t p = m->prio[i];
    m->n--;
    m->prio[i] = m->prio[m->n];
    m->seq[i] = m->seq[m->n];
    return p;
}

/* The victim of DROP_OLDEST: FIFO and LIFO the oldest stored item, which
 * is what a FIFO get takes; PRIORITY the least urgent. */
static size_t model_victim(const struct model *m, aq_queue_kind kind)
{
    return kind == AQ_PRIORITY ? model_pick(m, kind, 0)
                               : model_pick(m, AQ_FIFO, 1);
}

static uint64_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return *s >> 33;
}

static void model_run(aq_queue *q, aq_queue_kind kind, aq_overflow policy,
                      uint64_t seed)
{
    struct model m = {{0}, {0}, 0};
    uint64_t seq = 0, dropped = 0;
    set_policy(q, policy);
    for (int step = 0; step < 2000; step++) {
        if (rng_next(&seed) % 3 == 0) { /* a get, if any */
            if (m.n == 0)
                continue;
            ASSERT_EQ(qh_try_get(q), model_take(&m, model_pick(&m, kind, 1)));
            ASSERT_OK(aq_queue_task_done(q));
            continue;
        }
        /* Priorities 0..3: many ties. The item is its priority. */
        int64_t v = (int64_t)(rng_next(&seed) % 4);
        int want = AQ_OK;
        drops.n = 0;
        if (m.n == 8) {
            size_t i = model_victim(&m, kind);
            if (policy == AQ_DROP_NEWEST ||
                (kind == AQ_PRIORITY && m.prio[i] <= v)) {
                want = AQ_EDROPPED;
                ASSERT_RC(aq_queue_try_put(q, &v), want);
                assert_log(&drops, &v, 1);
                dropped++;
                continue;
            }
            int64_t gone = model_take(&m, i);
            ASSERT_OK(aq_queue_try_put(q, &v));
            assert_log(&drops, &gone, 1);
            dropped++;
        } else {
            ASSERT_OK(aq_queue_try_put(q, &v));
            ASSERT_EQ(drops.n, 0);
        }
        m.prio[m.n] = v;
        m.seq[m.n++] = seq++;
        ASSERT_EQ(aq_queue_unfinished(q), m.n);
    }
    ASSERT_EQ(stats_of(q).dropped, dropped);
    ASSERT(dropped > 100); /* the model really was full often */
}

static void model_body(aq_queue *q, aq_queue_kind kind)
{
    model_run(q, kind, AQ_DROP_OLDEST, 7 + (uint64_t)kind);
}

static void model_newest_body(aq_queue *q, aq_queue_kind kind)
{
    model_run(q, kind, AQ_DROP_NEWEST, 11 + (uint64_t)kind);
}

TEST(test_overflow_matches_model) { qh_each_kind(8, model_body); }
TEST(test_overflow_newest_matches_model)
{
    qh_each_kind(8, model_newest_body);
}

/* ---- getters first, never a wait, accounting ----------------------------- */

/* A getter waits only on an empty queue: the put hands its item over
 * and nothing is dropped, under either policy. */
static void getters_first_body(aq_queue *q, aq_queue_kind kind)
{
    static const aq_overflow policies[] = {AQ_DROP_NEWEST, AQ_DROP_OLDEST};
    (void)kind;
    set_policy(q, policies[qh_kind_index(kind) % 2]);
    struct qh_op g = qh_op(q, -1);
    aq_task *t = qh_spawn(qh_get_task, &g);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_getters(q), 1);
    qh_put(q, 7);
    ASSERT_OK(qh_finish(t));
    ASSERT_EQ(g.item, 7);
    ASSERT_EQ(drops.n, 0);
    ASSERT_EQ(stats_of(q).got, 1);
}

TEST(test_overflow_getters_served_first)
{
    qh_each_kind(1, getters_first_body);
}

/* Joins never wait on a discarded item; a DROP_OLDEST put keeps
 * unfinished where it was (the victim's count out, the new one in). */
static void join_body(aq_queue *q, aq_queue_kind kind)
{
    (void)kind;
    set_policy(q, AQ_DROP_OLDEST);
    /* Falling values: each new item is the most urgent for PRIORITY, so
     * every kind drops a stored item. */
    qh_put(q, 4);
    qh_put(q, 3);
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_OK(aq_queue_task_done(q)); /* both done before any get */
    ASSERT_EQ(aq_queue_unfinished(q), 0);
    qh_put(q, 2); /* drops a stored item; unfinished stays >= 0 */
    ASSERT_EQ(drops.n, 1);
    ASSERT_EQ(aq_queue_unfinished(q), 1);
    qh_put(q, 1);
    ASSERT_EQ(aq_queue_unfinished(q), 1);
    /* Two items are stored, one is unfinished: one get and one
     * task_done end the join. */
    struct qh_op j = qh_op(q, 0);
    j.deadline = aq_now() + 10 * AQ_SEC;
    aq_task *t = qh_spawn(qh_join_task, &j);
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_joiners(q), 1);
    (void)qh_get(q);
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_RC(aq_queue_task_done(q), AQ_EINVAL);
    ASSERT_OK(qh_finish(t));
    ASSERT_RC(j.rc, AQ_OK);
}

TEST(test_overflow_join_never_waits_on_dropped)
{
    qh_each_kind(2, join_body);
}

/* Gets, task_done and drops interleaved: unfinished counts every item
 * got or stored and not done, never a dropped one. */
static void accounting_body(aq_queue *q, aq_queue_kind kind)
{
    (void)kind;
    set_policy(q, AQ_DROP_OLDEST);
    qh_put(q, 9); /* falling values, as above */
    qh_put(q, 8);
    (void)qh_get(q); /* got, not done */
    qh_put(q, 7);
    qh_put(q, 6); /* full: a stored item goes */
    ASSERT_EQ(drops.n, 1);
    ASSERT_EQ(aq_queue_unfinished(q), 3); /* one got + two stored */
    (void)qh_get(q);
    (void)qh_get(q);
    for (int i = 0; i < 3; i++)
        ASSERT_OK(aq_queue_task_done(q));
    ASSERT_RC(aq_queue_task_done(q), AQ_EINVAL);
    ASSERT_OK(aq_queue_join(q));
    aq_queue_stats st = stats_of(q);
    ASSERT_EQ(st.put, 4);
    ASSERT_EQ(st.got, 3);
    ASSERT_EQ(st.dropped, 1);
}

TEST(test_overflow_task_done_accounting)
{
    qh_each_kind(2, accounting_body);
}

/* ---- immediate shutdown -------------------------------------------------- */

static void shutdown_body(aq_queue *q, aq_queue_kind kind)
{
    /* A BLOCK queue may have a callback too: only shutdown calls it. */
    set_policy(q, kind == AQ_LIFO ? AQ_BLOCK : AQ_DROP_OLDEST);
    for (int64_t i = 1; i <= 4; i++)
        qh_put(q, i);
    (void)qh_get(q);
    ASSERT_OK(aq_queue_shutdown(q, 0)); /* not immediate: nothing goes */
    ASSERT_EQ(drops.n, 0);
    ASSERT_OK(aq_queue_shutdown(q, 1));
    ASSERT_EQ(drops.n, 3);
    int64_t sum = 0; /* storage order differs by kind; the set does not */
    for (size_t i = 0; i < drops.n; i++)
        sum += drops.items[i];
    ASSERT_EQ(sum, 1 + 2 + 3 + 4 - (kind == AQ_LIFO ? 4 : 1));
    if (kind == AQ_FIFO)
        assert_log(&drops, (const int64_t[]){2, 3, 4}, 3);
    aq_queue_stats st = stats_of(q);
    ASSERT_EQ(st.dropped, 3);
    ASSERT_EQ(st.put, 4);
    ASSERT_EQ(st.qsize, 0);
    ASSERT_EQ(st.unfinished, 1); /* the item got */
    ASSERT_EQ(st.is_shutdown, 1);
    qh_assert_all_shut(q);
}

TEST(test_overflow_immediate_shutdown_calls_drop)
{
    qh_each_kind(4, shutdown_body);
}

/* The drop callback runs as a plain function, even inside a task's put
 * or shutdown: its suspending calls fail with AQ_EPERM before they change
 * anything, so no other task runs while the item it was given is still
 * in storage (a yield there let a try_get take a dropped item and lose
 * another, and made a LIFO drop's memmove run over a drained queue). Its
 * try_ calls work. */
static aq_queue *side;
static int cb_yield_rc, cb_put_rc, cb_try_put_rc, cb_self_null;

static void suspending_drop(void *item, void *ud)
{
    log_drop(item, ud);
    cb_yield_rc = aq_yield();
    cb_put_rc = aq_queue_put(side, item);
    cb_try_put_rc = aq_queue_try_put(side, item);
    cb_self_null = aq_task_self() == NULL;
}

static void *try_get_task(void *arg)
{
    int64_t v = -1;
    int rc = aq_queue_try_get(arg, &v);
    return (void *)(intptr_t)(rc == AQ_OK ? v : rc);
}

static void suspend_body(aq_queue *q, aq_queue_kind kind)
{
    int ran = 0;
    side = qh_new(AQ_FIFO, 0);
    drops.n = 0;
    ASSERT_OK(
        aq_queue_set_overflow(q, AQ_DROP_OLDEST, suspending_drop, &drops));
    qh_put(q, 1);
    qh_put(q, 2);
    aq_task *thief = qh_spawn(try_get_task, q);
    aq_task *witness = qh_quiet_begin(&ran);
    int64_t v = 3;
    int rc = aq_queue_put(q, &v);
    ASSERT_EQ(aq_queue_qsize(q), 2); /* the thief has not run */
    qh_quiet_end(witness, &ran);     /* the callback did not suspend */
    ASSERT_EQ(cb_yield_rc, AQ_EPERM);
    ASSERT_EQ(cb_put_rc, AQ_EPERM);
    ASSERT_EQ(cb_try_put_rc, AQ_OK);
    ASSERT_EQ(cb_self_null, 1);
    /* FIFO and LIFO drop item 1 (oldest, bottom); PRIORITY refuses the
     * least urgent, the new 3. */
    int64_t gone = kind == AQ_PRIORITY ? 3 : 1;
    ASSERT_RC(rc, kind == AQ_PRIORITY ? AQ_EDROPPED : AQ_OK);
    assert_log(&drops, &gone, 1);
    ASSERT_EQ(qh_try_get(side), gone);
    /* Each of 1, 2, 3 is dropped or got, once. */
    int64_t seen = gone;
    seen += qh_finish(thief);
    seen += qh_try_get(q);
    ASSERT_EQ(seen, 1 + 2 + 3);
    ASSERT_EQ(aq_queue_qsize(q), 0);
    /* An immediate shutdown's drops alike. */
    qh_put(q, 4);
    qh_put(q, 5);
    cb_yield_rc = cb_put_rc = AQ_OK;
    witness = qh_quiet_begin(&ran);
    ASSERT_OK(aq_queue_shutdown(q, 1));
    qh_quiet_end(witness, &ran);
    ASSERT_EQ(cb_yield_rc, AQ_EPERM);
    ASSERT_EQ(cb_put_rc, AQ_EPERM);
    ASSERT_EQ(drops.n, 3);
    ASSERT_EQ(drops.items[1] + drops.items[2], 4 + 5);
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_EQ(aq_task_self() != NULL, 1); /* the task is itself again */
    ASSERT_OK(aq_queue_free(side));
}

TEST(test_overflow_callback_cannot_suspend) { qh_each_kind(2, suspend_body); }

/* No callback: discarded items are still counted. */
TEST(test_overflow_without_callback_counts)
{
    aq_queue *q = qh_new(AQ_FIFO, 2);
    int64_t v = 1;
    ASSERT_OK(aq_queue_set_overflow(q, AQ_DROP_NEWEST, NULL, NULL));
    ASSERT_OK(aq_queue_try_put(q, &v));
    ASSERT_OK(aq_queue_try_put(q, &v));
    ASSERT_RC(aq_queue_try_put(q, &v), AQ_EDROPPED);
    ASSERT_OK(aq_queue_shutdown(q, 1));
    ASSERT_EQ(stats_of(q).dropped, 3);
    ASSERT_EQ(stats_of(q).put, 2);
    ASSERT_OK(aq_queue_free(q));
}

/* ---- the setter's errors (docs/RELIABILITY.md, bad-input table) ---------- */

TEST(test_overflow_set_errors)
{
    aq_queue *q = qh_new(AQ_FIFO, 1), *unbounded = qh_new(AQ_LIFO, 0), *rv;
    int64_t v = 1;
    ASSERT_OK(aq_queue_new(&rv, AQ_RENDEZVOUS, sizeof v, 0));
    ASSERT_RC(aq_queue_set_overflow(NULL, AQ_DROP_NEWEST, NULL, NULL),
              AQ_EINVAL);
    ASSERT_RC(aq_queue_set_overflow(q, (aq_overflow)3, NULL, NULL),
              AQ_EINVAL);
    ASSERT_RC(aq_queue_set_overflow(q, (aq_overflow)-1, NULL, NULL),
              AQ_EINVAL);
    ASSERT_RC(aq_queue_set_overflow(unbounded, AQ_DROP_OLDEST, NULL, NULL),
              AQ_EINVAL);
    ASSERT_RC(aq_queue_set_overflow(rv, AQ_DROP_NEWEST, NULL, NULL),
              AQ_EINVAL);
    ASSERT_RC(aq_queue_set_overflow(rv, AQ_DROP_OLDEST, NULL, NULL),
              AQ_EINVAL);
    /* AQ_BLOCK is the default, valid anywhere; then it is set. */
    ASSERT_OK(aq_queue_set_overflow(unbounded, AQ_BLOCK, NULL, NULL));
    ASSERT_RC(aq_queue_set_overflow(unbounded, AQ_BLOCK, NULL, NULL),
              AQ_EBUSY);
    ASSERT_OK(aq_queue_set_overflow(rv, AQ_BLOCK, NULL, NULL));
    /* Once an item went in (even if got since), too late: the queue
     * keeps blocking. */
    ASSERT_OK(aq_queue_try_put(q, &v));
    ASSERT_OK(aq_queue_try_get(q, &v));
    ASSERT_OK(aq_queue_try_put(q, &v));
    ASSERT_RC(aq_queue_set_overflow(q, AQ_DROP_NEWEST, log_drop, &drops),
              AQ_EBUSY);
    ASSERT_RC(aq_queue_try_put(q, &v), AQ_EFULL);
    /* A policy set once cannot be changed. */
    aq_queue *q2 = qh_new(AQ_PRIORITY, 1);
    ASSERT_OK(aq_queue_set_overflow(q2, AQ_DROP_NEWEST, NULL, NULL));
    ASSERT_RC(aq_queue_set_overflow(q2, AQ_DROP_OLDEST, NULL, NULL),
              AQ_EBUSY);
    ASSERT_OK(aq_queue_try_put(q2, &v));
    v = -5; /* more urgent, but the policy is still DROP_NEWEST */
    ASSERT_RC(aq_queue_try_put(q2, &v), AQ_EDROPPED);
    ASSERT_OK(aq_queue_free(q));
    ASSERT_OK(aq_queue_free(q2));
    ASSERT_OK(aq_queue_free(unbounded));
    ASSERT_OK(aq_queue_free(rv));
}

/* A drop policy does not beat the other checks: shutdown first, and a
 * cancelled caller's put does nothing. */
static void *cancelled_put(void *arg)
{
    int64_t v = 9;
    ASSERT_OK(aq_task_cancel(aq_task_self()));
    return (void *)(intptr_t)aq_queue_put(arg, &v);
}

static void precedence_body(aq_queue *q, aq_queue_kind kind)
{
    int64_t v = 1;
    (void)kind;
    set_policy(q, AQ_DROP_OLDEST);
    qh_put(q, 1);
    ASSERT_RC(qh_finish(qh_spawn(cancelled_put, q)), AQ_ECANCELED);
    ASSERT_OK(aq_queue_shutdown(q, 0));
    ASSERT_RC(aq_queue_put(q, &v), AQ_ESHUTDOWN);
    ASSERT_RC(aq_queue_try_put(q, &v), AQ_ESHUTDOWN);
    ASSERT_EQ(drops.n, 0);
    ASSERT_EQ(qh_get(q), 1);
}

TEST(test_overflow_shutdown_and_cancel_first)
{
    qh_each_kind(1, precedence_body);
}

static long g_freed[8];
static int g_nfreed;

static void record_freed(void *item, void *ud)
{
    (void)ud;
    memcpy(&g_freed[g_nfreed++], item, sizeof(long));
}

/* aq_queue_free hands what is left to the drop callback, whatever the
 * policy (AQ_BLOCK included): pointer items need not leak. */
TEST(test_overflow_free_passes_items_to_drop)
{
    aq_queue *q;
    long v;
    ASSERT_OK(aq_queue_new(&q, AQ_FIFO, sizeof(long), 0));
    ASSERT_OK(aq_queue_set_overflow(q, AQ_BLOCK, record_freed, NULL));
    g_nfreed = 0;
    for (v = 1; v <= 3; v++)
        ASSERT_OK(aq_queue_try_put(q, &v));
    ASSERT_OK(aq_queue_try_get(q, &v));
    ASSERT_OK(aq_queue_free(q));
    ASSERT_EQ(g_nfreed, 2);
    ASSERT_EQ(g_freed[0], 2);
    ASSERT_EQ(g_freed[1], 3);
}

/* put_many goes on past an item a DROP policy discards: each is counted
 * in *done and passed to the callback, and the call returns AQ_OK. */
TEST(test_overflow_put_many_goes_on_past_drops)
{
    aq_queue *q;
    long in[4] = {9, -1, 7, 1}, v;
    size_t done = 0;
    ASSERT_OK(aq_queue_new(&q, AQ_FIFO, sizeof(long), 2));
    ASSERT_OK(aq_queue_set_overflow(q, AQ_DROP_NEWEST, record_freed, NULL));
    g_nfreed = 0;
    ASSERT_OK(aq_queue_try_put_many(q, in, 4, &done));
    ASSERT_EQ(done, 4);
    ASSERT_EQ(g_nfreed, 2); /* 7 and 1 */
    ASSERT_EQ(g_freed[0], 7);
    ASSERT_EQ(g_freed[1], 1);
    ASSERT_OK(aq_queue_try_get(q, &v));
    ASSERT_EQ(v, 9);
    ASSERT_OK(aq_queue_try_get(q, &v));
    ASSERT_EQ(v, -1);
    g_nfreed = 0;
    ASSERT_OK(aq_queue_free(q));
    ASSERT_EQ(g_nfreed, 0);
}

/* ---- items that own memory ------------------------------------------------- */

/* Pointer items allocated through the harness's counting allocator: the
 * drop callback frees each item the queue discards on its own, the test
 * frees the ones it gets, and t_run fails the test if one leaks. */
static void free_owned(void *item, void *ud)
{
    (void)ud;
    char *p;
    memcpy(&p, item, sizeof p);
    t_free(p);
}

static aq_queue *owned_queue(long maxsize, aq_overflow policy)
{
    aq_queue *q;
    ASSERT_OK(aq_queue_new(&q, AQ_FIFO, sizeof(char *), maxsize));
    ASSERT_OK(aq_queue_set_overflow(q, policy, free_owned, NULL));
    return q;
}

static void put_owned(aq_queue *q, int expect)
{
    char *p = t_malloc(32);
    ASSERT(p != NULL);
    int rc = aq_queue_try_put(q, &p);
    ASSERT_RC(rc, expect);
    if (rc == AQ_EFULL) /* refused, not discarded: still the caller's */
        t_free(p);
}

TEST(test_overflow_pointer_items_never_leak)
{
    /* Immediate shutdown: what is stored goes to the callback. */
    aq_queue *q = owned_queue(0, AQ_BLOCK);
    for (int i = 0; i < 5; i++)
        put_owned(q, AQ_OK);
    char *p;
    ASSERT_OK(aq_queue_try_get(q, &p));
    t_free(p);
    ASSERT_OK(aq_queue_shutdown(q, 1));
    ASSERT_OK(aq_queue_free(q));
    /* aq_queue_free with items left. */
    q = owned_queue(3, AQ_BLOCK);
    for (int i = 0; i < 3; i++)
        put_owned(q, AQ_OK);
    put_owned(q, AQ_EFULL);
    ASSERT_OK(aq_queue_free(q));
    /* Overflow drops, both policies, then the rest at free. */
    q = owned_queue(2, AQ_DROP_OLDEST);
    for (int i = 0; i < 6; i++)
        put_owned(q, AQ_OK);
    ASSERT_EQ(stats_of(q).dropped, 4);
    ASSERT_OK(aq_queue_free(q));
    q = owned_queue(2, AQ_DROP_NEWEST);
    for (int i = 0; i < 6; i++)
        put_owned(q, i < 2 ? AQ_OK : AQ_EDROPPED);
    ASSERT_OK(aq_queue_free(q));
}

int main(int argc, char **argv)
{
    RUN(test_overflow_free_passes_items_to_drop);
    RUN(test_overflow_put_many_goes_on_past_drops);
    RUN(test_overflow_drop_newest_every_kind);
    RUN(test_overflow_drop_oldest_every_kind);
    RUN(test_overflow_drop_oldest_priority_ties);
    RUN(test_overflow_batch_never_stops_at_a_drop);
    RUN(test_overflow_matches_model);
    RUN(test_overflow_newest_matches_model);
    RUN(test_overflow_getters_served_first);
    RUN(test_overflow_join_never_waits_on_dropped);
    RUN(test_overflow_task_done_accounting);
    RUN(test_overflow_immediate_shutdown_calls_drop);
    RUN(test_overflow_callback_cannot_suspend);
    RUN(test_overflow_without_callback_counts);
    RUN(test_overflow_set_errors);
    RUN(test_overflow_shutdown_and_cancel_first);
    RUN(test_overflow_pointer_items_never_leak);
    return t_done();
}
