/* libaq - tests of tasks. MIT licensed.
 *
 * Covers spawning (FIFO first runs, detached tasks freeing themselves,
 * misplaced calls), results through aq_task_wait and aq_gather, task
 * cancellation in every state a task can wait in (queue get, put, join,
 * another task, sleep, the ready list, not yet started), sticky
 * cancellation, "completed beats cancelled", and what aq_run does with
 * tasks left behind, deadlocks, nesting, stack sizes and many tasks.
 * The counting allocator of test.h checks that nothing leaks throughout.
 */
#include "rt_helpers.h"

#include <stdint.h>

/* A call that has not returned yet: no AQ_* code is positive. */

/* ---- helpers --------------------------------------------------------- */

/* Logs its id and returns it. */
static void *log_id(void *arg)
{
    log_push((int)IVAL(arg));
    return arg;
}

/* Logs its id on its first run, yields `id` times, then returns id * 10:
 * tasks spawned together therefore finish in id order. */
static void *log_and_yield(void *arg)
{
    long id = IVAL(arg);
    log_push((int)id);
    for (long i = 0; i < id; i++)
        ASSERT_OK(aq_yield());
    return IARG(id * 10);
}

static long get_long(aq_queue *q)
{
    long v = -1;
    ASSERT_OK(aq_queue_try_get(q, &v));
    return v;
}

/* What a cancelled task sees afterwards: each call below could complete at
 * once, and each must still fail because cancellation is sticky. */
struct sticky {
    aq_queue *items; /* holds one item: a get could complete at once */
    aq_queue *idle;  /* empty, unbounded, nothing unfinished */
    aq_task *done;   /* a finished task: a wait could complete at once */
    int rc[11];
};

static void run_sticky(struct sticky *s)
{
    long v = -1;
    int i = 0;
    s->rc[i++] = aq_yield();
    s->rc[i++] = aq_sleep(0);
    s->rc[i++] = aq_sleep(AQ_MSEC);
    s->rc[i++] = aq_sleep_until(0);
    s->rc[i++] = aq_queue_get(s->items, &v);
    s->rc[i++] = aq_queue_get_until(s->items, &v, AQ_NEVER);
    s->rc[i++] = aq_queue_put(s->idle, &v);
    s->rc[i++] = aq_queue_join(s->idle);
    s->rc[i++] = aq_task_wait(s->done, NULL);
    s->rc[i++] = aq_gather(&s->done, 1, NULL);
    s->rc[i++] = aq_gather(NULL, 0, NULL);
    ASSERT_EQ(v, -1); /* no get wrote anything */
}

static void sticky_setup(struct sticky *s)
{
    s->items = new_fifo(0);
    put_long(s->items, 5);
    s->idle = new_fifo(0);
    ASSERT_OK(aq_spawn(&s->done, ret_arg, NULL));
    ASSERT_OK(aq_task_wait(s->done, NULL));
    for (int i = 0; i < 11; i++)
        s->rc[i] = PENDING;
}

/* Every call failed, and nothing moved in or out of the queues. */
static void sticky_check(struct sticky *s)
{
    for (int i = 0; i < 11; i++)
        ASSERT_RC(s->rc[i], AQ_ECANCELED);
    ASSERT_EQ(aq_queue_qsize(s->items), 1);
    ASSERT_EQ(aq_queue_unfinished(s->items), 1);
    ASSERT_EQ(aq_queue_qsize(s->idle), 0);
    ASSERT_EQ(aq_queue_unfinished(s->idle), 0);
    ASSERT_OK(aq_task_release(s->done));
    ASSERT_OK(aq_queue_free(s->items));
    ASSERT_OK(aq_queue_free(s->idle));
}

/* A task making one suspending call, to be cancelled while it waits. */
enum op { OP_GET, OP_PUT, OP_JOIN, OP_WAIT, OP_SLEEP, OP_YIELD };

struct victim {
    enum op op;
    aq_queue *q;          /* OP_GET, OP_PUT, OP_JOIN */
    aq_task *other;       /* OP_WAIT */
    long item;            /* OP_GET: what arrived; OP_PUT: what to put */
    int ran;              /* the body started */
    int rc;               /* the call's result, PENDING until it returns */
    struct sticky *after; /* if set, run the sticky checks afterwards */
};

static int do_op(struct victim *v)
{
    switch (v->op) {
    case OP_GET: return aq_queue_get(v->q, &v->item);
    case OP_PUT: return aq_queue_put(v->q, &v->item);
    case OP_JOIN: return aq_queue_join(v->q);
    case OP_WAIT: return aq_task_wait(v->other, NULL);
    case OP_SLEEP: return aq_sleep(10 * AQ_SEC);
    case OP_YIELD: return aq_yield();
    }
    return AQ_EINVAL;
}

static void *victim_main(void *arg)
{
    struct victim *v = arg;
    v->ran = 1;
    v->rc = do_op(v);
    if (v->after)
        run_sticky(v->after);
    return NULL;
}

/* Spawns v (out may be NULL: detached) without letting it run. */
static void victim_spawn(struct victim *v, aq_task **out)
{
    v->ran = 0;
    v->rc = PENDING;
    ASSERT_OK(aq_spawn(out, victim_main, v));
}

/* Spawns v and lets it run up to its pending call. */
static aq_task *victim_start(struct victim *v)
{
    aq_task *t;
    victim_spawn(v, &t);
    ASSERT_OK(aq_yield());
    ASSERT(v->ran);
    ASSERT_EQ(v->rc, PENDING);
    ASSERT_EQ(aq_task_done(t), 0);
    return t;
}

/* Waits for t to return and drops the handle. */
static void task_finish(aq_task *t)
{
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_EQ(aq_task_done(t), 1);
    ASSERT_OK(aq_task_release(t));
}

/* Cancels t while it waits and lets it return. */
static void cancel_and_finish(aq_task *t)
{
    ASSERT_EQ(aq_task_cancelled(t), 0);
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_EQ(aq_task_cancelled(t), 1);
    ASSERT_EQ(aq_task_done(t), 0); /* cancel only requests */
    task_finish(t);
}

/* ---- spawning -------------------------------------------------------- */

static void *spawn_order_main(void *arg)
{
    (void)arg;
    aq_task *t[5];
    log_reset();
    for (long i = 0; i < 5; i++)
        ASSERT_OK(aq_spawn(&t[i], log_and_yield, IARG(i)));
    ASSERT_EQ(g_log.n, 0); /* spawning does not switch */
    void *res[5];
    ASSERT_OK(aq_gather(t, 5, res));
    static const int want[] = {0, 1, 2, 3, 4};
    log_expect(want, 5);
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(IVAL(res[i]), i * 10);
        ASSERT_OK(aq_task_release(t[i]));
    }
    return NULL;
}

TEST(test_task_spawn_runs_in_fifo_order)
{
    t_main(spawn_order_main, NULL);
}

/* A child spawning a grandchild: the grandchild joins the tail of the
 * ready list, behind tasks spawned earlier. */
static void *spawner(void *arg)
{
    log_push(100);
    ASSERT_OK(aq_spawn(NULL, log_id, arg));
    return NULL;
}

static void *nested_spawn_main(void *arg)
{
    (void)arg;
    log_reset();
    ASSERT_OK(aq_spawn(NULL, spawner, IARG(7)));
    ASSERT_OK(aq_spawn(NULL, log_id, IARG(0)));
    ASSERT_OK(aq_yield()); /* spawner, task 0, then us */
    ASSERT_OK(aq_yield()); /* task 7's first run */
    static const int want[] = {100, 0, 7};
    log_expect(want, 3);
    return NULL;
}

TEST(test_task_spawn_from_child_goes_to_tail)
{
    t_main(nested_spawn_main, NULL);
}

static void *set_flag(void *arg)
{
    *(int *)arg = 1;
    return NULL;
}

static void *detached_main(void *arg)
{
    (void)arg;
    int flag = 0;
    /* A first one warms the stack pool and the spare task records, so
     * that what follows measures the tasks themselves. */
    ASSERT_OK(aq_spawn(NULL, set_flag, &flag));
    ASSERT_OK(aq_yield());
    ASSERT_EQ(flag, 1);
    long live = t_live;
    for (int i = 0; i < 10; i++) {
        flag = 0;
        ASSERT_OK(aq_spawn(NULL, set_flag, &flag));
        ASSERT_OK(aq_yield());
        ASSERT_EQ(flag, 1);
        /* Its record went back to the loop's spares when it returned (not
         * when the loop goes away), and the next spawn reuses it: a task
         * that did not free itself would make every spawn allocate. */
        ASSERT_EQ(t_live, live);
    }
    return NULL;
}

TEST(test_task_detached_frees_itself)
{
    t_main(detached_main, NULL);
}

/* Ids: in spawn order, 0 for NULL, and never the same for two tasks
 * although the second reuses the first's record (what a pointer cannot
 * tell apart: libaq-redis' held entries once named their task so). */
static void *ids_main(void *arg)
{
    (void)arg;
    uint64_t me = aq_task_id(aq_task_self());
    ASSERT(me != 0);
    ASSERT_EQ(aq_task_id(NULL), 0);
    aq_task *a, *b;
    ASSERT_OK(aq_spawn(&a, ret_arg, NULL));
    uint64_t ida = aq_task_id(a);
    ASSERT(ida > me);
    ASSERT_OK(aq_task_wait(a, NULL));
    ASSERT_EQ(aq_task_id(a), ida); /* done, not yet released: still a */
    ASSERT_OK(aq_task_release(a));
    ASSERT_OK(aq_spawn(&b, ret_arg, NULL));
    ASSERT(b == a); /* the record reused: the case ids are for */
    ASSERT(aq_task_id(b) > ida);
    ASSERT_OK(aq_task_wait(b, NULL));
    ASSERT_OK(aq_task_release(b));
    return NULL;
}

TEST(test_task_ids_outlive_reused_records)
{
    t_main(ids_main, NULL);
    ASSERT_EQ(aq_task_id(aq_task_self()), 0);
}

TEST(test_task_spawn_outside_task_is_eperm)
{
    aq_task *t = (aq_task *)&t;
    ASSERT_RC(aq_spawn(&t, ret_arg, NULL), AQ_EPERM);
    ASSERT(t == (aq_task *)&t);
    ASSERT_RC(aq_spawn(NULL, ret_arg, NULL), AQ_EPERM);
    ASSERT(aq_task_self() == NULL);
    ASSERT_EQ(t_live, 0);
}

/* ---- results --------------------------------------------------------- */

/* Waits for the task in *arg and returns its result. */
static void *waiter(void *arg)
{
    void *res = NULL;
    ASSERT_OK(aq_task_wait(*(aq_task **)arg, &res));
    return res;
}

static void *wait_main(void *arg)
{
    (void)arg;
    aq_task *t, *w1, *w2;
    void *res = NULL;
    ASSERT_OK(aq_spawn(&t, log_and_yield, IARG(3)));
    /* Two tasks wait on t besides us: all three see its result. */
    ASSERT_OK(aq_spawn(&w1, waiter, &t));
    ASSERT_OK(aq_spawn(&w2, waiter, &t));
    log_reset();
    ASSERT_OK(aq_task_wait(t, &res));
    ASSERT_EQ(IVAL(res), 30);
    ASSERT_EQ(aq_task_done(t), 1);
    ASSERT_OK(aq_task_wait(w1, &res));
    ASSERT_EQ(IVAL(res), 30);
    ASSERT_OK(aq_task_wait(w2, &res));
    ASSERT_EQ(IVAL(res), 30);
    /* Already finished: the result again, and NULL result is allowed. */
    res = NULL;
    ASSERT_OK(aq_task_wait(t, &res));
    ASSERT_EQ(IVAL(res), 30);
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_task_release(w1));
    ASSERT_OK(aq_task_release(w2));
    return NULL;
}

TEST(test_task_wait_returns_result)
{
    t_main(wait_main, NULL);
}

static void *wait_self_main(void *arg)
{
    (void)arg;
    void *res = IARG(9);
    ASSERT_RC(aq_task_wait(aq_task_self(), &res), AQ_EDEADLK);
    ASSERT_RC(aq_task_wait_until(aq_task_self(), &res, AQ_NEVER),
              AQ_EDEADLK);
    ASSERT_EQ(IVAL(res), 9);
    ASSERT_EQ(aq_task_cancelled(aq_task_self()), 0);
    return NULL;
}

TEST(test_task_wait_on_self_is_edeadlk)
{
    t_main(wait_self_main, NULL);
}

/* A task of another loop (two loops on one thread) cannot be awaited:
 * its wake-up would reach this loop's task through the other loop. Each
 * call refuses before it changes anything (a fresh user's trial saw
 * aq_run report AQ_EDEADLK and the wait return AQ_ECANCELED). */
static aq_task *foreign;

static void *wait_foreign_main(void *arg)
{
    (void)arg;
    void *res = (void *)1;
    aq_clause c[] = {AQ_TASK(foreign, &res)};
    ASSERT_RC(aq_task_wait(foreign, &res), AQ_EINVAL);
    ASSERT_RC(aq_task_wait_until(foreign, &res, aq_in(AQ_MSEC)), AQ_EINVAL);
    ASSERT_RC(aq_gather(&foreign, 1, &res), AQ_EINVAL);
    ASSERT_RC(aq_task_wait_any(&foreign, 1, &res), AQ_EINVAL);
    ASSERT_RC(aq_select(c, 1, 0), AQ_EINVAL);
    ASSERT(res == (void *)1);
    ASSERT_EQ(aq_task_cancelled(foreign), 0); /* gather cancelled nothing */
    return NULL;
}

TEST(test_task_wait_on_another_loop_is_einval)
{
    aq_loop *other;
    ASSERT_OK(aq_loop_new(&other));
    ASSERT_OK(aq_loop_spawn(other, &foreign, ret_arg, NULL, 0));
    t_main(wait_foreign_main, NULL);
    ASSERT_OK(aq_loop_run(other));
    ASSERT_EQ(aq_task_done(foreign), 1);
    ASSERT_OK(aq_task_release(foreign));
    ASSERT_OK(aq_loop_free(other));
}

/* ---- gather ---------------------------------------------------------- */

static void *gather_main(void *arg)
{
    (void)arg;
    aq_task *t[4];
    void *res[4] = {0};
    /* Finishing in reverse order: task 3 first, task 0 last. */
    log_reset();
    for (long i = 0; i < 4; i++)
        ASSERT_OK(aq_spawn(&t[i], log_and_yield, IARG(3 - i)));
    ASSERT_OK(aq_gather(t, 4, res));
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(IVAL(res[i]), (3 - i) * 10);
        ASSERT_EQ(aq_task_done(t[i]), 1);
    }
    /* Again on finished tasks, with no results wanted. */
    ASSERT_OK(aq_gather(t, 4, NULL));
    for (int i = 0; i < 4; i++)
        ASSERT_OK(aq_task_release(t[i]));
    /* n = 0 returns at once, whatever the arrays are. */
    ASSERT_OK(aq_gather(NULL, 0, NULL));
    ASSERT_OK(aq_gather(t, 0, res));
    return NULL;
}

TEST(test_task_gather_results)
{
    t_main(gather_main, NULL);
}

static void *gather_bad_main(void *arg)
{
    (void)arg;
    aq_queue *q = new_fifo(0);
    struct victim v = {.op = OP_GET, .q = q};
    aq_task *live = victim_start(&v);
    aq_task *set[3] = {live, NULL, live};
    void *res[3] = {IARG(1), IARG(2), IARG(3)};
    ASSERT_RC(aq_gather(set, 3, res), AQ_EINVAL);
    ASSERT_RC(aq_gather(NULL, 2, res), AQ_EINVAL);
    set[1] = aq_task_self();
    ASSERT_RC(aq_gather(set, 3, res), AQ_EDEADLK);
    ASSERT_RC(aq_gather_until(set, 3, res, AQ_NEVER), AQ_EDEADLK);
    /* Refused up front: nothing waited, nothing cancelled, nothing
     * written. */
    ASSERT_EQ(aq_task_cancelled(live), 0);
    ASSERT_EQ(aq_task_cancelled(aq_task_self()), 0);
    ASSERT_EQ(IVAL(res[0]) + IVAL(res[1]) + IVAL(res[2]), 6);
    ASSERT_EQ(v.rc, PENDING);
    ASSERT_EQ(aq_queue_getters(q), 1);
    put_long(q, 4);
    task_finish(live);
    ASSERT_OK(v.rc);
    ASSERT_EQ(v.item, 4);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_task_gather_bad_sets)
{
    t_main(gather_bad_main, NULL);
}

struct gatherer {
    aq_task **set;
    size_t n;
    int rc;
};

static void *gatherer_main(void *arg)
{
    struct gatherer *g = arg;
    g->rc = aq_gather(g->set, g->n, NULL);
    return NULL;
}

static void *gather_cancel_main(void *arg)
{
    (void)arg;
    aq_queue *q = new_fifo(0);
    struct victim v1 = {.op = OP_GET, .q = q}, v2 = {.op = OP_SLEEP};
    aq_task *set[3], *gt;
    ASSERT_OK(aq_spawn(&set[0], ret_arg, NULL));
    set[1] = victim_start(&v1);
    set[2] = victim_start(&v2);
    ASSERT_EQ(aq_task_done(set[0]), 1);
    struct gatherer g = {set, 3, PENDING};
    ASSERT_OK(aq_spawn(&gt, gatherer_main, &g));
    ASSERT_OK(aq_yield());
    ASSERT_EQ(g.rc, PENDING);
    int64_t start = aq_now();
    cancel_and_finish(gt);
    ASSERT_RC(g.rc, AQ_ECANCELED);
    /* The unfinished children were cancelled with the gather; the
     * finished one was left alone. */
    ASSERT_EQ(aq_task_cancelled(set[0]), 0);
    ASSERT_EQ(aq_task_cancelled(set[1]), 1);
    ASSERT_EQ(aq_task_cancelled(set[2]), 1);
    for (int i = 0; i < 3; i++)
        task_finish(set[i]);
    ASSERT_RC(v1.rc, AQ_ECANCELED);
    ASSERT_RC(v2.rc, AQ_ECANCELED);
    ASSERT(aq_now() - start < AQ_SEC); /* the sleeper did not sleep on */
    ASSERT_EQ(aq_queue_getters(q), 0);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_task_gather_cancelled_cancels_children)
{
    t_main(gather_cancel_main, NULL);
}

/* A caller already cancelled when it calls aq_gather: the call fails at
 * once and, as when cancelled while waiting, cancels the set. */
static void *cancelled_gatherer(void *arg)
{
    struct gatherer *g = arg;
    ASSERT_OK(aq_task_cancel(aq_task_self()));
    g->rc = aq_gather(g->set, g->n, NULL);
    return NULL;
}

static void *gather_when_cancelled_main(void *arg)
{
    (void)arg;
    aq_queue *q = new_fifo(0);
    struct victim v = {.op = OP_GET, .q = q};
    aq_task *set[2], *gt;
    ASSERT_OK(aq_spawn(&set[0], ret_arg, NULL));
    set[1] = victim_start(&v);
    struct gatherer g = {set, 2, PENDING};
    ASSERT_OK(aq_spawn(&gt, cancelled_gatherer, &g));
    task_finish(gt);
    ASSERT_RC(g.rc, AQ_ECANCELED);
    ASSERT_EQ(aq_task_cancelled(set[0]), 0);
    ASSERT_EQ(aq_task_cancelled(set[1]), 1);
    task_finish(set[0]);
    task_finish(set[1]);
    ASSERT_RC(v.rc, AQ_ECANCELED);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_task_gather_by_cancelled_caller_cancels_set)
{
    t_main(gather_when_cancelled_main, NULL);
}

/* ---- cancellation in each wait state --------------------------------- */

static void *cancel_get_main(void *arg)
{
    (void)arg;
    aq_queue *q = new_fifo(0);
    struct victim v = {.op = OP_GET, .q = q, .item = -7};
    aq_task *t = victim_start(&v);
    ASSERT_EQ(aq_queue_getters(q), 1);
    cancel_and_finish(t);
    ASSERT_RC(v.rc, AQ_ECANCELED);
    ASSERT_EQ(v.item, -7); /* nothing written on failure */
    ASSERT_EQ(aq_queue_getters(q), 0);
    /* A later put is stored, not handed to the gone getter. */
    put_long(q, 3);
    ASSERT_EQ(aq_queue_qsize(q), 1);
    ASSERT_EQ(get_long(q), 3);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_task_cancel_blocked_get)
{
    t_main(cancel_get_main, NULL);
}

static void *cancel_put_main(void *arg)
{
    (void)arg;
    aq_queue *q = new_fifo(1);
    put_long(q, 1);
    struct victim v = {.op = OP_PUT, .q = q, .item = 2};
    aq_task *t = victim_start(&v);
    ASSERT_EQ(aq_queue_putters(q), 1);
    cancel_and_finish(t);
    ASSERT_RC(v.rc, AQ_ECANCELED);
    /* The cancelled put never inserted its item. */
    ASSERT_EQ(aq_queue_putters(q), 0);
    ASSERT_EQ(aq_queue_qsize(q), 1);
    ASSERT_EQ(aq_queue_unfinished(q), 1);
    ASSERT_EQ(get_long(q), 1);
    ASSERT_RC(aq_queue_try_get(q, &v.item), AQ_EEMPTY);
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_task_cancel_blocked_put)
{
    t_main(cancel_put_main, NULL);
}

static void *cancel_join_main(void *arg)
{
    (void)arg;
    aq_queue *q = new_fifo(0);
    put_long(q, 1);
    struct victim v = {.op = OP_JOIN, .q = q};
    aq_task *t = victim_start(&v);
    ASSERT_EQ(aq_queue_joiners(q), 1);
    cancel_and_finish(t);
    ASSERT_RC(v.rc, AQ_ECANCELED);
    ASSERT_EQ(aq_queue_joiners(q), 0);
    ASSERT_EQ(aq_queue_unfinished(q), 1);
    ASSERT_EQ(aq_queue_qsize(q), 1);
    ASSERT_EQ(get_long(q), 1);
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_task_cancel_blocked_join)
{
    t_main(cancel_join_main, NULL);
}

static void *cancel_wait_main(void *arg)
{
    (void)arg;
    aq_queue *q = new_fifo(0);
    struct victim blocker = {.op = OP_GET, .q = q};
    aq_task *b = victim_start(&blocker);
    struct victim v = {.op = OP_WAIT, .other = b};
    aq_task *t = victim_start(&v);
    cancel_and_finish(t);
    ASSERT_RC(v.rc, AQ_ECANCELED);
    /* The awaited task was not cancelled and keeps waiting... */
    ASSERT_EQ(aq_task_cancelled(b), 0);
    ASSERT_EQ(aq_task_done(b), 0);
    ASSERT_EQ(blocker.rc, PENDING);
    ASSERT_EQ(aq_queue_getters(q), 1);
    /* ...and finishes normally once fed. */
    put_long(q, 8);
    task_finish(b);
    ASSERT_OK(blocker.rc);
    ASSERT_EQ(blocker.item, 8);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_task_cancel_blocked_wait)
{
    t_main(cancel_wait_main, NULL);
}

static void *cancel_sleep_main(void *arg)
{
    (void)arg;
    struct victim v = {.op = OP_SLEEP};
    aq_task *t = victim_start(&v);
    int64_t start = aq_now();
    cancel_and_finish(t);
    ASSERT_RC(v.rc, AQ_ECANCELED);
    ASSERT(aq_now() - start < AQ_SEC); /* woken, not slept out */
    return NULL;
}

TEST(test_task_cancel_sleeping)
{
    t_main(cancel_sleep_main, NULL);
}

static void *cancel_ready_main(void *arg)
{
    (void)arg;
    struct victim v = {.op = OP_YIELD};
    /* victim_start leaves the victim on the ready list: it yielded back
     * to us and waits for its turn. */
    aq_task *t = victim_start(&v);
    cancel_and_finish(t);
    ASSERT_RC(v.rc, AQ_ECANCELED);
    return NULL;
}

TEST(test_task_cancel_on_ready_list)
{
    t_main(cancel_ready_main, NULL);
}

static void *cancel_unstarted_main(void *arg)
{
    (void)arg;
    aq_queue *q = new_fifo(0);
    put_long(q, 6);
    /* Its get could complete at once; the cancellation wins anyway, since
     * it came before the task ever ran. */
    struct victim v = {.op = OP_GET, .q = q, .item = -1};
    aq_task *t;
    victim_spawn(&v, &t);
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_EQ(v.ran, 0);
    task_finish(t);
    ASSERT_EQ(v.ran, 1); /* it still ran, so it could free its arg */
    ASSERT_RC(v.rc, AQ_ECANCELED);
    ASSERT_EQ(v.item, -1);
    ASSERT_EQ(aq_queue_qsize(q), 1);
    ASSERT_EQ(get_long(q), 6);
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_task_cancel_before_first_run)
{
    t_main(cancel_unstarted_main, NULL);
}

static void *sticky_main(void *arg)
{
    (void)arg;
    struct sticky s;
    sticky_setup(&s);
    aq_queue *q = new_fifo(0);
    struct victim v = {.op = OP_GET, .q = q, .after = &s};
    aq_task *t = victim_start(&v);
    cancel_and_finish(t);
    ASSERT_RC(v.rc, AQ_ECANCELED);
    sticky_check(&s);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_task_cancel_is_sticky)
{
    t_main(sticky_main, NULL);
}

static void *cancel_finished_main(void *arg)
{
    (void)arg;
    aq_task *t;
    void *res = NULL;
    ASSERT_OK(aq_spawn(&t, ret_arg, IARG(4)));
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_RC(aq_task_cancel(t), AQ_EALREADY);
    /* Nothing changed: not marked cancelled, result intact. */
    ASSERT_EQ(aq_task_cancelled(t), 0);
    ASSERT_EQ(aq_task_done(t), 1);
    ASSERT_OK(aq_task_wait(t, &res));
    ASSERT_EQ(IVAL(res), 4);
    ASSERT_OK(aq_task_release(t));
    return NULL;
}

TEST(test_task_cancel_finished_is_ealready)
{
    t_main(cancel_finished_main, NULL);
}

static void *cancel_twice_main(void *arg)
{
    (void)arg;
    aq_queue *q = new_fifo(0);
    struct victim v = {.op = OP_GET, .q = q};
    aq_task *t = victim_start(&v);
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_EQ(aq_task_cancelled(t), 1);
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_RC(v.rc, AQ_ECANCELED);
    ASSERT_EQ(aq_queue_getters(q), 0);
    ASSERT_RC(aq_task_cancel(t), AQ_EALREADY); /* a third time, too late */
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_task_cancel_twice_is_harmless)
{
    t_main(cancel_twice_main, NULL);
}

static void *self_cancel_task(void *arg)
{
    aq_queue *q = arg;
    aq_task *self = aq_task_self();
    ASSERT_EQ(aq_task_cancelled(self), 0);
    ASSERT_OK(aq_task_cancel(self));
    ASSERT_EQ(aq_task_cancelled(self), 1);
    ASSERT_EQ(aq_task_done(self), 0);
    ASSERT_OK(aq_task_cancel(self)); /* again: harmless */
    ASSERT_RC(aq_yield(), AQ_ECANCELED);
    ASSERT_RC(aq_queue_put(q, &q), AQ_ECANCELED);
    /* Calls that never suspend are unaffected. */
    ASSERT_OK(aq_queue_try_put(q, &q));
    ASSERT_OK(aq_spawn(NULL, ret_arg, NULL));
    return IARG(11);
}

static void *self_cancel_main(void *arg)
{
    (void)arg;
    aq_queue *q;
    aq_task *t;
    void *res = NULL;
    ASSERT_OK(aq_queue_new(&q, AQ_LIFO, sizeof(void *), 0));
    ASSERT_OK(aq_spawn(&t, self_cancel_task, q));
    ASSERT_OK(aq_task_wait(t, &res));
    ASSERT_EQ(IVAL(res), 11);
    ASSERT_EQ(aq_task_cancelled(t), 1);
    ASSERT_EQ(aq_queue_qsize(q), 1);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_task_cancel_self)
{
    t_main(self_cancel_main, NULL);
}

static void *done_flags_main(void *arg)
{
    (void)arg;
    struct victim va = {.op = OP_YIELD}, vb = {.op = OP_YIELD};
    aq_task *a, *b;
    victim_spawn(&va, &a);
    victim_spawn(&vb, &b);
    ASSERT_EQ(aq_task_done(a), 0);
    ASSERT_EQ(aq_task_cancelled(a), 0);
    ASSERT_OK(aq_task_cancel(b));
    ASSERT_EQ(aq_task_done(b), 0);
    ASSERT_EQ(aq_task_cancelled(b), 1);
    ASSERT_OK(aq_task_wait(a, NULL));
    ASSERT_OK(aq_task_wait(b, NULL));
    ASSERT_OK(va.rc);
    ASSERT_RC(vb.rc, AQ_ECANCELED);
    ASSERT_EQ(aq_task_done(a), 1);
    ASSERT_EQ(aq_task_cancelled(a), 0);
    ASSERT_EQ(aq_task_done(b), 1);
    ASSERT_EQ(aq_task_cancelled(b), 1);
    ASSERT_EQ(aq_task_done(aq_task_self()), 0);
    ASSERT_EQ(aq_task_cancelled(aq_task_self()), 0);
    ASSERT_OK(aq_task_release(a));
    ASSERT_OK(aq_task_release(b));
    return NULL;
}

TEST(test_task_done_and_cancelled_flags)
{
    t_main(done_flags_main, NULL);
}

static void *got_then_cancelled_main(void *arg)
{
    (void)arg;
    aq_queue *q = new_fifo(0);
    struct sticky s;
    sticky_setup(&s);
    struct victim v = {.op = OP_GET, .q = q, .item = -1, .after = &s};
    aq_task *t = victim_start(&v);
    put_long(q, 42); /* handed straight to the waiting getter */
    ASSERT_EQ(aq_queue_getters(q), 0);
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_OK(aq_task_cancel(t));
    task_finish(t);
    /* The get had completed: it reports success and the item is not
     * lost; the cancellation shows at the next call. */
    ASSERT_OK(v.rc);
    ASSERT_EQ(v.item, 42);
    ASSERT_EQ(aq_queue_qsize(q), 0);
    sticky_check(&s);
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_task_completed_get_beats_cancel)
{
    t_main(got_then_cancelled_main, NULL);
}

static void *put_then_cancelled_main(void *arg)
{
    (void)arg;
    aq_queue *q = new_fifo(1);
    put_long(q, 1);
    struct victim v = {.op = OP_PUT, .q = q, .item = 2};
    aq_task *t = victim_start(&v);
    ASSERT_EQ(get_long(q), 1); /* moves the waiting put's item in */
    ASSERT_EQ(aq_queue_putters(q), 0);
    ASSERT_OK(aq_task_cancel(t));
    task_finish(t);
    ASSERT_OK(v.rc);
    ASSERT_EQ(aq_queue_qsize(q), 1);
    ASSERT_EQ(aq_queue_unfinished(q), 2);
    ASSERT_EQ(get_long(q), 2);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_task_completed_put_beats_cancel)
{
    t_main(put_then_cancelled_main, NULL);
}

/* ---- aq_run ---------------------------------------------------------- */

struct leftovers {
    aq_queue *q;
    struct victim v[4];
};

static void *leftovers_main(void *arg)
{
    struct leftovers *lo = arg;
    aq_task *kept, *unstarted;
    lo->v[0] = (struct victim){.op = OP_GET, .q = lo->q};
    lo->v[1] = (struct victim){.op = OP_SLEEP};
    lo->v[2] = (struct victim){.op = OP_GET, .q = lo->q};
    lo->v[3] = (struct victim){.op = OP_SLEEP};
    victim_spawn(&lo->v[0], NULL);
    victim_spawn(&lo->v[1], NULL);
    victim_spawn(&lo->v[2], &kept); /* a handle never released */
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_getters(lo->q), 2);
    victim_spawn(&lo->v[3], &unstarted); /* still on the ready list */
    return IARG(5);
}

TEST(test_task_run_reaps_leftovers)
{
    struct leftovers lo;
    lo.q = new_fifo(0);
    int64_t start = aq_now();
    ASSERT_EQ(IVAL(t_main(leftovers_main, &lo)), 5);
    /* Promptly: the sleepers were woken by the cancellation. */
    ASSERT(aq_now() - start < AQ_SEC);
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(lo.v[i].ran, 1);
        ASSERT_RC(lo.v[i].rc, AQ_ECANCELED);
    }
    ASSERT_EQ(aq_queue_getters(lo.q), 0);
    ASSERT_OK(aq_queue_free(lo.q));
    /* The counting allocator checks that every task was freed. */
}

/* A leftover whose cleanup spawns another task: that one must start
 * cancelled, or the reaping could go on forever. */
struct cleanup_spawn {
    aq_queue *q;
    struct victim late; /* spawned by the cleanup, on q */
    int rc;
};

static void *spawning_cleanup(void *arg)
{
    struct cleanup_spawn *c = arg;
    long v;
    c->rc = aq_queue_get(c->q, &v);
    victim_spawn(&c->late, NULL);
    return NULL;
}

static void *cleanup_spawn_main(void *arg)
{
    struct cleanup_spawn *c = arg;
    c->late = (struct victim){.op = OP_GET, .q = c->q};
    ASSERT_OK(aq_spawn(NULL, spawning_cleanup, c));
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_getters(c->q), 1);
    return NULL;
}

TEST(test_task_run_reaps_tasks_spawned_by_cleanup)
{
    struct cleanup_spawn c = {.rc = PENDING};
    c.q = new_fifo(0);
    t_main(cleanup_spawn_main, &c);
    ASSERT_RC(c.rc, AQ_ECANCELED);
    ASSERT_EQ(c.late.ran, 1);
    ASSERT_RC(c.late.rc, AQ_ECANCELED);
    ASSERT_EQ(aq_queue_getters(c.q), 0);
    ASSERT_OK(aq_queue_free(c.q));
}

static void *ret_self(void *arg)
{
    (void)arg;
    return aq_task_self();
}

TEST(test_task_run_returns_main_result)
{
    void *res = IARG(1);
    ASSERT_OK(aq_run(ret_arg, IARG(77), &res));
    ASSERT_EQ(IVAL(res), 77);
    ASSERT_OK(aq_run(ret_arg, IARG(78), NULL));
    /* The main task was a real task. */
    ASSERT(t_main(ret_self, NULL) != NULL);
    ASSERT_EQ(t_live, 0);
}

struct deadlock {
    aq_queue *q;
    struct victim child;
};

static void *deadlock_main(void *arg)
{
    struct deadlock *d = arg;
    long v;
    d->child = (struct victim){.op = OP_GET, .q = d->q};
    victim_spawn(&d->child, NULL);
    /* Nobody will ever put: every task ends up blocked, no timer. */
    return IARG(aq_queue_get(d->q, &v));
}

TEST(test_task_run_all_blocked_is_edeadlk)
{
    struct deadlock d;
    void *res = NULL;
    d.q = new_fifo(0);
    ASSERT_RC(aq_run(deadlock_main, &d, &res), AQ_EDEADLK);
    /* main's get failed once the leftovers were cancelled. */
    ASSERT_RC((int)IVAL(res), AQ_ECANCELED);
    ASSERT_EQ(d.child.ran, 1);
    ASSERT_RC(d.child.rc, AQ_ECANCELED);
    ASSERT_EQ(aq_queue_getters(d.q), 0);
    ASSERT_OK(aq_queue_free(d.q));
}

static void *nested_run_main(void *arg)
{
    (void)arg;
    void *res = IARG(3);
    ASSERT_RC(aq_run(ret_arg, NULL, &res), AQ_EBUSY);
    ASSERT_EQ(IVAL(res), 3);
    return IARG(1);
}

TEST(test_task_run_inside_task_is_ebusy)
{
    ASSERT_EQ(IVAL(t_main(nested_run_main, NULL)), 1);
}

/* ---- stacks and scale ------------------------------------------------ */

#define DEEP_BYTES (200 * 1024)

/* Fills a 200 KiB frame, yields (so the frame must survive a switch),
 * then sums it. */
static void *deep_task(void *arg)
{
    volatile unsigned char buf[DEEP_BYTES];
    for (size_t i = 0; i < DEEP_BYTES; i++)
        buf[i] = (unsigned char)(i * 7);
    ASSERT_OK(aq_yield());
    long sum = 0;
    for (size_t i = 0; i < DEEP_BYTES; i++)
        sum += buf[i];
    (void)arg;
    return IARG(sum);
}

static void *stack_size_main(void *arg)
{
    (void)arg;
    aq_loop *l = aq_loop_current();
    aq_task *t = (aq_task *)&t, *small;
    void *res = NULL;
    ASSERT_RC(aq_loop_spawn(l, &t, ret_arg, NULL, AQ_STACK_MIN - 1),
              AQ_EINVAL);
    ASSERT_RC(aq_loop_spawn(l, &t, ret_arg, NULL, AQ_STACK_MAX + 1),
              AQ_EINVAL);
    ASSERT_RC(aq_loop_spawn(l, &t, ret_arg, NULL, SIZE_MAX), AQ_EINVAL);
    ASSERT(t == (aq_task *)&t);
    ASSERT_OK(aq_loop_spawn(l, &small, ret_arg, IARG(2), AQ_STACK_MIN));
    ASSERT_OK(aq_loop_spawn(l, &t, deep_task, NULL, 256 * 1024));
    ASSERT_OK(aq_task_wait(t, &res));
    long want = 0;
    for (size_t i = 0; i < DEEP_BYTES; i++)
        want += (unsigned char)(i * 7);
    ASSERT_EQ(IVAL(res), want);
    ASSERT_OK(aq_task_wait(small, &res));
    ASSERT_EQ(IVAL(res), 2);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_task_release(small));
    return NULL;
}

TEST(test_task_per_task_stack_size)
{
    t_main(stack_size_main, NULL);
}

#define MANY 10000

static void *many_main(void *arg)
{
    (void)arg;
    aq_task **t = malloc(MANY * sizeof *t);
    void **res = malloc(MANY * sizeof *res);
    ASSERT(t && res);
    for (long i = 0; i < MANY; i++)
        ASSERT_OK(aq_spawn(&t[i], ret_arg, IARG(i)));
    ASSERT_OK(aq_gather(t, MANY, res));
    for (long i = 0; i < MANY; i++) {
        ASSERT_EQ(IVAL(res[i]), i);
        ASSERT_EQ(aq_task_done(t[i]), 1);
        ASSERT_OK(aq_task_release(t[i]));
    }
    /* And a batch of detached ones, which must free themselves: the
     * stacks they take from the pool go back to it. */
    long live = t_live;
    int flags[64] = {0};
    for (long i = 0; i < MANY / 10; i++)
        ASSERT_OK(aq_spawn(NULL, set_flag, &flags[i % 64]));
    ASSERT_OK(aq_yield());
    ASSERT_EQ(t_live, live);
    for (int i = 0; i < 64; i++)
        ASSERT_EQ(flags[i], 1);
    free(t);
    free(res);
    return NULL;
}

TEST(test_task_many_tasks)
{
    t_main(many_main, NULL);
}

int main(int argc, char **argv)
{
    RUN(test_task_spawn_runs_in_fifo_order);
    RUN(test_task_spawn_from_child_goes_to_tail);
    RUN(test_task_detached_frees_itself);
    RUN(test_task_ids_outlive_reused_records);
    RUN(test_task_spawn_outside_task_is_eperm);
    RUN(test_task_wait_returns_result);
    RUN(test_task_wait_on_self_is_edeadlk);
    RUN(test_task_wait_on_another_loop_is_einval);
    RUN(test_task_gather_results);
    RUN(test_task_gather_bad_sets);
    RUN(test_task_gather_cancelled_cancels_children);
    RUN(test_task_gather_by_cancelled_caller_cancels_set);
    RUN(test_task_cancel_blocked_get);
    RUN(test_task_cancel_blocked_put);
    RUN(test_task_cancel_blocked_join);
    RUN(test_task_cancel_blocked_wait);
    RUN(test_task_cancel_sleeping);
    RUN(test_task_cancel_on_ready_list);
    RUN(test_task_cancel_before_first_run);
    RUN(test_task_cancel_is_sticky);
    RUN(test_task_cancel_finished_is_ealready);
    RUN(test_task_cancel_twice_is_harmless);
    RUN(test_task_cancel_self);
    RUN(test_task_done_and_cancelled_flags);
    RUN(test_task_completed_get_beats_cancel);
    RUN(test_task_completed_put_beats_cancel);
    RUN(test_task_run_reaps_leftovers);
    RUN(test_task_run_reaps_tasks_spawned_by_cleanup);
    RUN(test_task_run_returns_main_result);
    RUN(test_task_run_all_blocked_is_edeadlk);
    RUN(test_task_run_inside_task_is_ebusy);
    RUN(test_task_per_task_stack_size);
    RUN(test_task_many_tasks);
    return t_done();
}
