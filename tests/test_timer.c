/* libaq - tests of timers and deadlines. MIT licensed.
 *
 * Covers aq_sleep ordering (shortest first, equal deadlines in the order
 * they were set), sleeps of zero or less behaving as aq_yield, past
 * deadlines on every _until call (fail at once if the call would have to
 * wait, complete if it can), future deadlines on task waits, gathers and
 * joins, timed-out waiters leaving no trace on any wait list, timers
 * firing under a task that never stops yielding, and aq_now's clock.
 *
 * Elapsed times are checked with a firm lower bound (a timer must never
 * fire early) and a generous upper one, since the machine is shared.
 * Every sleep is at most 50 ms.
 */
#include "rt_helpers.h"

#include <stdint.h>
#include <time.h>

#define SLACK (200 * AQ_MSEC)

/* Fails unless between min and min + SLACK nanoseconds passed since
 * start. */
#define ASSERT_ELAPSED(start, min) \
    check_elapsed(aq_now() - (start), (min), __FILE__, __LINE__)

static void check_elapsed(int64_t took, int64_t min, const char *file,
                          int line)
{
    if (took < min || took > min + SLACK)
        t_fail(file, line, "took %lld ns, want %lld ns (+%lld ns slack)",
               (long long)took, (long long)min, (long long)SLACK);
}

/* ---- helpers --------------------------------------------------------- */

static void *log_id(void *arg)
{
    log_push((int)IVAL(arg));
    return arg;
}

/* Counts its turns until told to stop: a witness that shows whether a
 * call suspended (the ticks move) or returned at once (they do not). */
struct ticker {
    long ticks;
    int stop;
};

static void *ticker_main(void *arg)
{
    struct ticker *tk = arg;
    while (!tk->stop) {
        tk->ticks++;
        if (aq_yield() != AQ_OK)
            break;
    }
    return NULL;
}

static aq_task *ticker_start(struct ticker *tk)
{
    aq_task *t;
    tk->ticks = 0;
    tk->stop = 0;
    ASSERT_OK(aq_spawn(&t, ticker_main, tk));
    ASSERT_OK(aq_yield());
    ASSERT(tk->ticks > 0);
    return t;
}

static void ticker_stop(struct ticker *tk, aq_task *t)
{
    tk->stop = 1;
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_OK(aq_task_release(t));
}

/* Blocks on a get of the queue at arg; returns the get's code. */
static void *block_get(void *arg)
{
    long v;
    return IARG(aq_queue_get(arg, &v));
}

/* ---- sleeping -------------------------------------------------------- */

/* Sleeps arg milliseconds, checks it did not wake early, logs arg. */
static void *sleeper(void *arg)
{
    long ms = IVAL(arg);
    int64_t start = aq_now();
    ASSERT_OK(aq_sleep(ms * AQ_MSEC));
    ASSERT(aq_now() - start >= ms * AQ_MSEC);
    log_push((int)ms);
    return NULL;
}

static void *sleep_order_main(void *arg)
{
    (void)arg;
    static const long ms[] = {30, 10, 20};
    aq_task *t[3];
    int64_t start = aq_now();
    log_reset();
    for (int i = 0; i < 3; i++)
        ASSERT_OK(aq_spawn(&t[i], sleeper, IARG(ms[i])));
    ASSERT_OK(aq_gather(t, 3, NULL));
    ASSERT_ELAPSED(start, 30 * AQ_MSEC);
    static const int want[] = {10, 20, 30};
    log_expect(want, 3);
    for (int i = 0; i < 3; i++)
        ASSERT_OK(aq_task_release(t[i]));
    return NULL;
}

TEST(test_timer_sleep_wakes_shortest_first)
{
    t_main(sleep_order_main, NULL);
}

/* Sleeps until a shared deadline after yielding 4 - id times, so the
 * tasks set their timers in the reverse of their spawn order. */
static int64_t g_deadline;

static void *same_deadline(void *arg)
{
    for (long i = IVAL(arg); i < 4; i++)
        ASSERT_OK(aq_yield());
    ASSERT_OK(aq_sleep_until(g_deadline));
    ASSERT(aq_now() >= g_deadline);
    log_push((int)IVAL(arg));
    return NULL;
}

static void *same_deadline_main(void *arg)
{
    (void)arg;
    aq_task *t[5];
    g_deadline = aq_now() + 20 * AQ_MSEC;
    log_reset();
    for (long i = 0; i < 5; i++)
        ASSERT_OK(aq_spawn(&t[i], same_deadline, IARG(i)));
    ASSERT_OK(aq_gather(t, 5, NULL));
    static const int want[] = {4, 3, 2, 1, 0};
    log_expect(want, 5);
    for (int i = 0; i < 5; i++)
        ASSERT_OK(aq_task_release(t[i]));
    return NULL;
}

TEST(test_timer_equal_deadlines_wake_in_order_set)
{
    t_main(same_deadline_main, NULL);
}

/* Logs 1, makes the call under test, logs 3; a sibling logs 2. A call
 * that yields lets the sibling in between: 1, 2, 3. */
static int (*g_zero_sleep)(void);

static void *zero_sleeper(void *arg)
{
    (void)arg;
    log_push(1);
    ASSERT_OK(g_zero_sleep());
    log_push(3);
    return NULL;
}

static int sleep_zero(void) { return aq_sleep(0); }
static int sleep_negative(void) { return aq_sleep(-5 * AQ_MSEC); }
static int sleep_min(void) { return aq_sleep(INT64_MIN); }
static int sleep_until_past(void) { return aq_sleep_until(aq_now() - 1); }
static int sleep_until_zero(void) { return aq_sleep_until(0); }

static void *zero_sleep_main(void *arg)
{
    int (*const calls[])(void) = {sleep_zero, sleep_negative, sleep_min,
                                  sleep_until_past, sleep_until_zero};
    (void)arg;
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        aq_task *t[2];
        int64_t start = aq_now();
        g_zero_sleep = calls[i];
        log_reset();
        ASSERT_OK(aq_spawn(&t[0], zero_sleeper, NULL));
        ASSERT_OK(aq_spawn(&t[1], log_id, IARG(2)));
        ASSERT_OK(aq_gather(t, 2, NULL));
        static const int want[] = {1, 2, 3};
        log_expect(want, 3);
        ASSERT(aq_now() - start < SLACK);
        ASSERT_OK(aq_task_release(t[0]));
        ASSERT_OK(aq_task_release(t[1]));
    }
    return NULL;
}

TEST(test_timer_sleep_zero_or_past_is_yield)
{
    t_main(zero_sleep_main, NULL);
}

static void *sleep_until_main(void *arg)
{
    (void)arg;
    int64_t start = aq_now();
    ASSERT_OK(aq_sleep_until(start + 20 * AQ_MSEC));
    ASSERT_ELAPSED(start, 20 * AQ_MSEC);
    start = aq_now();
    ASSERT_OK(aq_sleep(15 * AQ_MSEC));
    ASSERT_ELAPSED(start, 15 * AQ_MSEC);
    return NULL;
}

TEST(test_timer_sleep_duration)
{
    t_main(sleep_until_main, NULL);
}

/* ---- past deadlines -------------------------------------------------- */

static void *past_main(void *arg)
{
    (void)arg;
    const int64_t past[] = {0, aq_now() - 1};
    aq_queue *empty = new_fifo(1), *full = new_fifo(1);
    aq_queue *busy = new_fifo(0), *idle = new_fifo(0);
    put_long(full, 1);
    put_long(busy, 2); /* one unfinished, so a join would wait */
    aq_task *running, *finished;
    ASSERT_OK(aq_spawn(&running, block_get, empty));
    ASSERT_OK(aq_spawn(&finished, log_id, IARG(6)));
    log_reset();
    struct ticker tk;
    aq_task *tt = ticker_start(&tk);
    ASSERT_EQ(aq_task_done(finished), 1);
    ASSERT_EQ(aq_queue_getters(empty), 1);

    for (int i = 0; i < 2; i++) {
        int64_t dl = past[i];
        long v = -1, ticks = tk.ticks;
        void *res = IARG(-1);
        /* Each of these would have to wait: refused at once, without
         * suspending and without leaving anything behind. */
        ASSERT_RC(aq_queue_get_until(idle, &v, dl), AQ_ETIMEDOUT);
        ASSERT_RC(aq_queue_put_until(full, &v, dl), AQ_ETIMEDOUT);
        ASSERT_RC(aq_queue_join_until(busy, dl), AQ_ETIMEDOUT);
        ASSERT_RC(aq_task_wait_until(running, &res, dl), AQ_ETIMEDOUT);
        ASSERT_EQ(tk.ticks, ticks);
        ASSERT_EQ(v, -1);
        ASSERT_EQ(IVAL(res), -1);
        ASSERT_EQ(aq_queue_getters(idle), 0);
        ASSERT_EQ(aq_queue_putters(full), 0);
        ASSERT_EQ(aq_queue_joiners(busy), 0);
        ASSERT_EQ(aq_queue_qsize(full), 1);
        ASSERT_EQ(aq_task_cancelled(running), 0);

        /* Each of these can complete, so it does. */
        ASSERT_OK(aq_queue_get_until(full, &v, dl));
        ASSERT_EQ(v, 1);
        ASSERT_OK(aq_queue_put_until(full, &v, dl));
        ASSERT_OK(aq_queue_task_done(full));
        ASSERT_OK(aq_queue_join_until(idle, dl));
        ASSERT_OK(aq_task_wait_until(finished, &res, dl));
        ASSERT_EQ(IVAL(res), 6);
        ASSERT_OK(aq_gather_until(&finished, 1, &res, dl));
        ASSERT_OK(aq_gather_until(NULL, 0, NULL, dl));
        ASSERT_EQ(tk.ticks, ticks);
        ASSERT_EQ(aq_queue_qsize(full), 1);
        ASSERT_EQ(aq_queue_unfinished(full), 1);
    }

    /* A gather that would wait times out and, like asyncio's, cancels
     * the tasks of its set still running; finished ones are untouched. */
    aq_task *set[2] = {finished, running};
    ASSERT_RC(aq_gather_until(set, 2, NULL, past[1]), AQ_ETIMEDOUT);
    ASSERT_EQ(aq_task_cancelled(finished), 0);
    ASSERT_EQ(aq_task_cancelled(running), 1);
    void *res = NULL;
    ASSERT_OK(aq_task_wait(running, &res));
    ASSERT_RC((int)IVAL(res), AQ_ECANCELED);

    ticker_stop(&tk, tt);
    ASSERT_OK(aq_task_release(running));
    ASSERT_OK(aq_task_release(finished));
    ASSERT_OK(aq_queue_free(empty));
    ASSERT_OK(aq_queue_free(full));
    ASSERT_OK(aq_queue_free(busy));
    ASSERT_OK(aq_queue_free(idle));
    return NULL;
}

TEST(test_timer_past_deadline_fails_only_if_it_must_wait)
{
    t_main(past_main, NULL);
}

/* ---- future deadlines ------------------------------------------------ */

static void *timed_waits_main(void *arg)
{
    (void)arg;
    aq_queue *q = new_fifo(1), *dead = new_fifo(0);
    aq_task *blocked;
    ASSERT_OK(aq_spawn(&blocked, block_get, dead));
    put_long(q, 1);
    long v = -1;
    void *res = IARG(-1);
    int64_t start;

    start = aq_now();
    ASSERT_RC(aq_queue_put_until(q, &v, start + 20 * AQ_MSEC), AQ_ETIMEDOUT);
    ASSERT_ELAPSED(start, 20 * AQ_MSEC);
    ASSERT_EQ(aq_queue_putters(q), 0);
    ASSERT_EQ(aq_queue_qsize(q), 1);

    start = aq_now();
    ASSERT_RC(aq_queue_join_until(q, start + 20 * AQ_MSEC), AQ_ETIMEDOUT);
    ASSERT_ELAPSED(start, 20 * AQ_MSEC);
    ASSERT_EQ(aq_queue_joiners(q), 0);
    ASSERT_EQ(aq_queue_unfinished(q), 1);

    start = aq_now();
    ASSERT_RC(aq_queue_get_until(dead, &v, start + 20 * AQ_MSEC),
              AQ_ETIMEDOUT);
    ASSERT_ELAPSED(start, 20 * AQ_MSEC);
    ASSERT_EQ(v, -1);
    ASSERT_EQ(aq_queue_getters(dead), 1); /* only `blocked` is left */

    start = aq_now();
    ASSERT_RC(aq_task_wait_until(blocked, &res, start + 20 * AQ_MSEC),
              AQ_ETIMEDOUT);
    ASSERT_ELAPSED(start, 20 * AQ_MSEC);
    ASSERT_EQ(IVAL(res), -1);
    /* A single wait that times out leaves its task alone. */
    ASSERT_EQ(aq_task_cancelled(blocked), 0);
    ASSERT_EQ(aq_task_done(blocked), 0);

    start = aq_now();
    ASSERT_RC(aq_gather_until(&blocked, 1, NULL, start + 20 * AQ_MSEC),
              AQ_ETIMEDOUT);
    ASSERT_ELAPSED(start, 20 * AQ_MSEC);
    /* A gather that times out cancels what it gathered. */
    ASSERT_EQ(aq_task_cancelled(blocked), 1);
    ASSERT_OK(aq_task_wait(blocked, &res));
    ASSERT_RC((int)IVAL(res), AQ_ECANCELED);
    ASSERT_EQ(aq_queue_getters(dead), 0);

    ASSERT_OK(aq_task_release(blocked));
    ASSERT_OK(aq_queue_free(q));
    ASSERT_OK(aq_queue_free(dead));
    return NULL;
}

TEST(test_timer_deadlines_on_every_wait)
{
    t_main(timed_waits_main, NULL);
}

/* Completes before the deadline: the call succeeds and its timer goes
 * away (the loop does not linger on it). */
static void *feed_later(void *arg)
{
    ASSERT_OK(aq_sleep(10 * AQ_MSEC));
    put_long(arg, 9);
    return NULL;
}

static void *in_time_main(void *arg)
{
    (void)arg;
    aq_queue *q = new_fifo(0);
    aq_task *f;
    long v = -1;
    int64_t start = aq_now();
    ASSERT_OK(aq_spawn(&f, feed_later, q));
    ASSERT_OK(aq_queue_get_until(q, &v, start + 40 * AQ_MSEC));
    ASSERT_EQ(v, 9);
    ASSERT_ELAPSED(start, 10 * AQ_MSEC);
    void *res = IARG(-1);
    ASSERT_OK(aq_task_wait_until(f, &res, aq_now() + 40 * AQ_MSEC));
    ASSERT(res == NULL);
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_OK(aq_queue_join_until(q, aq_now() + 40 * AQ_MSEC));
    ASSERT_OK(aq_task_release(f));
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_timer_wait_completing_in_time)
{
    int64_t start = aq_now();
    t_main(in_time_main, NULL);
    /* aq_run returned without sleeping out the unused deadlines. */
    ASSERT(aq_now() - start < 30 * AQ_MSEC + SLACK);
}

/* A task whose wait on another task timed out must not be woken when
 * that task finishes later: it has to be off the task's waiter list. */
struct rewaiter {
    aq_task *target;
    aq_queue *q;
    int wait_rc, get_rc;
    long item;
};

static void *rewaiter_main(void *arg)
{
    struct rewaiter *r = arg;
    r->wait_rc = aq_task_wait_until(r->target, NULL, aq_now() + 10 * AQ_MSEC);
    r->get_rc = aq_queue_get(r->q, &r->item);
    return NULL;
}

static void *timed_out_off_list_main(void *arg)
{
    (void)arg;
    aq_queue *dead = new_fifo(0), *q = new_fifo(0);
    aq_task *target, *w;
    ASSERT_OK(aq_spawn(&target, block_get, dead));
    struct rewaiter r = {target, q, PENDING, PENDING, -1};
    ASSERT_OK(aq_spawn(&w, rewaiter_main, &r));
    ASSERT_OK(aq_sleep(20 * AQ_MSEC));
    ASSERT_RC(r.wait_rc, AQ_ETIMEDOUT);
    ASSERT_EQ(aq_queue_getters(q), 1);
    /* The target finishes: w stays parked on q. */
    put_long(dead, 1);
    ASSERT_OK(aq_task_wait(target, NULL));
    ASSERT_OK(aq_yield());
    ASSERT_OK(aq_yield());
    ASSERT_EQ(r.get_rc, PENDING);
    ASSERT_EQ(aq_queue_getters(q), 1);
    put_long(q, 5);
    ASSERT_OK(aq_task_wait(w, NULL));
    ASSERT_OK(r.get_rc);
    ASSERT_EQ(r.item, 5);
    ASSERT_OK(aq_task_release(target));
    ASSERT_OK(aq_task_release(w));
    ASSERT_OK(aq_queue_free(dead));
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_timer_timed_out_waiter_is_on_no_list)
{
    t_main(timed_out_off_list_main, NULL);
}

/* Several getters, putters and joiners time out at staggered deadlines;
 * each leaves its list as it does, and the queue works afterwards. */
struct timed_op {
    aq_queue *q;
    int kind; /* 0 get, 1 put, 2 join */
    long ms;
    int rc;
};

static void *timed_op_main(void *arg)
{
    struct timed_op *o = arg;
    int64_t dl = aq_now() + o->ms * AQ_MSEC;
    long v = 100 + o->ms;
    if (o->kind == 0)
        o->rc = aq_queue_get_until(o->q, &v, dl);
    else if (o->kind == 1)
        o->rc = aq_queue_put_until(o->q, &v, dl);
    else
        o->rc = aq_queue_join_until(o->q, dl);
    return NULL;
}

static void *staggered_main(void *arg)
{
    (void)arg;
    aq_queue *empty = new_fifo(1), *full = new_fifo(1);
    put_long(full, 1);
    struct timed_op ops[6];
    aq_task *t[6];
    for (int i = 0; i < 6; i++) {
        /* Far apart, so that a late wake-up of ours cannot see the
         * second group expire too. */
        ops[i] = (struct timed_op){i % 3 == 0 ? empty : full, i % 3,
                                   i < 3 ? 10 : 50, PENDING};
        ASSERT_OK(aq_spawn(&t[i], timed_op_main, &ops[i]));
    }
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_getters(empty), 2);
    ASSERT_EQ(aq_queue_putters(full), 2);
    ASSERT_EQ(aq_queue_joiners(full), 2);
    ASSERT_OK(aq_sleep(15 * AQ_MSEC)); /* the 10 ms ones expired */
    for (int i = 0; i < 6; i++)
        ASSERT_EQ(ops[i].rc, i < 3 ? AQ_ETIMEDOUT : PENDING);
    ASSERT_EQ(aq_queue_getters(empty), 1);
    ASSERT_EQ(aq_queue_putters(full), 1);
    ASSERT_EQ(aq_queue_joiners(full), 1);
    ASSERT_OK(aq_gather(t, 6, NULL));
    for (int i = 0; i < 6; i++) {
        ASSERT_RC(ops[i].rc, AQ_ETIMEDOUT);
        ASSERT_OK(aq_task_release(t[i]));
    }
    ASSERT_EQ(aq_queue_getters(empty), 0);
    ASSERT_EQ(aq_queue_putters(full), 0);
    ASSERT_EQ(aq_queue_joiners(full), 0);
    /* Nothing was inserted by the timed-out puts; the queues still work. */
    ASSERT_EQ(aq_queue_qsize(full), 1);
    ASSERT_EQ(aq_queue_unfinished(full), 1);
    put_long(empty, 3);
    long v;
    ASSERT_OK(aq_queue_get(empty, &v));
    ASSERT_EQ(v, 3);
    ASSERT_OK(aq_queue_get(full, &v));
    ASSERT_EQ(v, 1);
    ASSERT_OK(aq_queue_free(empty));
    ASSERT_OK(aq_queue_free(full));
    return NULL;
}

TEST(test_timer_timeouts_leave_waiter_lists)
{
    t_main(staggered_main, NULL);
}

/* ---- fairness and the clock ------------------------------------------ */

static void *set_flag_later(void *arg)
{
    ASSERT_OK(aq_sleep(5 * AQ_MSEC));
    *(int *)arg = 1;
    return NULL;
}

static void *starve_main(void *arg)
{
    (void)arg;
    int flag = 0;
    long spins = 0;
    int64_t start = aq_now();
    ASSERT_OK(aq_spawn(NULL, set_flag_later, &flag));
    /* Never blocks, only yields: the timer must still get its turn. The
     * time bound only keeps a broken loop from spinning forever. */
    while (!flag && aq_now() - start < 2 * AQ_SEC) {
        ASSERT_OK(aq_yield());
        spins++;
    }
    ASSERT_EQ(flag, 1);
    ASSERT_ELAPSED(start, 5 * AQ_MSEC);
    ASSERT(spins > 0);
    return NULL;
}

TEST(test_timer_yielding_task_does_not_starve_timers)
{
    t_main(starve_main, NULL);
}

TEST(test_timer_now_is_monotonic)
{
    /* It is CLOCK_MONOTONIC in nanoseconds. */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int64_t now = aq_now();
    clock_gettime(CLOCK_MONOTONIC, &b);
    ASSERT(now >= (int64_t)a.tv_sec * AQ_SEC + a.tv_nsec);
    ASSERT(now <= (int64_t)b.tv_sec * AQ_SEC + b.tv_nsec);

    int64_t prev = aq_now();
    ASSERT(prev > 0);
    for (int i = 0; i < 100000; i++) {
        int64_t now = aq_now();
        ASSERT(now >= prev);
        prev = now;
    }
    /* It moves, in nanoseconds. */
    int64_t start = aq_now();
    ASSERT_OK(aq_run(sleep_until_main, NULL, NULL));
    ASSERT(aq_now() - start >= 35 * AQ_MSEC);
}

/* A huge duration means "a very long time", not a wrap into the past. */
static void *long_sleeper(void *arg)
{
    *(int *)arg = aq_sleep(INT64_MAX);
    return NULL;
}

static void *huge_sleep_main(void *arg)
{
    (void)arg;
    int rc = PENDING;
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, long_sleeper, &rc));
    ASSERT_OK(aq_yield());
    ASSERT_OK(aq_sleep(5 * AQ_MSEC));
    ASSERT_EQ(rc, PENDING);
    ASSERT_EQ(aq_task_done(t), 0);
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_RC(rc, AQ_ECANCELED);
    ASSERT_OK(aq_task_release(t));
    return NULL;
}

TEST(test_timer_huge_sleep_does_not_wrap)
{
    t_main(huge_sleep_main, NULL);
}

/* A waiter whose deadline has passed, cancelled before it ran again:
 * nothing was completed for it (no item, no slot), so like aq_yield and
 * aq_sleep it must report the cancellation, not the timeout. */
struct late {
    aq_queue *q;
    aq_task *other;
    int kind; /* 0 get, 1 put, 2 join, 3 task wait, 4 sleep */
    int64_t deadline;
    int rc;
};

static void *late_main(void *arg)
{
    struct late *w = arg;
    long v = 1;
    switch (w->kind) {
    case 0: w->rc = aq_queue_get_until(w->q, &v, w->deadline); break;
    case 1: w->rc = aq_queue_put_until(w->q, &v, w->deadline); break;
    case 2: w->rc = aq_queue_join_until(w->q, w->deadline); break;
    case 3: w->rc = aq_task_wait_until(w->other, NULL, w->deadline); break;
    default: w->rc = aq_sleep_until(w->deadline); break;
    }
    return NULL;
}

static void *cancel_after_timeout_main(void *arg)
{
    (void)arg;
    aq_queue *empty = new_fifo(1), *full = new_fifo(1);
    put_long(full, 1);
    aq_task *blocked;
    ASSERT_OK(aq_spawn(&blocked, block_get, empty));
    aq_queue *qs[] = {empty, full, full, NULL, NULL};
    for (int kind = 0; kind < 5; kind++) {
        struct late w = {qs[kind], blocked, kind,
                         aq_now() + 20 * AQ_MSEC, PENDING};
        aq_task *t;
        ASSERT_OK(aq_spawn(&t, late_main, &w));
        ASSERT_OK(aq_yield()); /* w parks with its deadline */
        ASSERT_EQ(w.rc, PENDING);
        /* Spin past the deadline without letting the loop in, then
         * yield: the loop expires w's timer and queues w behind us. */
        while (aq_now() <= w.deadline)
            ;
        ASSERT_OK(aq_yield());
        ASSERT_EQ(w.rc, PENDING); /* woken, but not yet run */
        ASSERT_OK(aq_task_cancel(t));
        ASSERT_OK(aq_task_wait(t, NULL));
        ASSERT_RC(w.rc, AQ_ECANCELED);
        ASSERT_OK(aq_task_release(t));
    }
    ASSERT_EQ(aq_queue_getters(empty), 1);
    ASSERT_EQ(aq_queue_putters(full), 0);
    ASSERT_EQ(aq_queue_joiners(full), 0);
    ASSERT_OK(aq_task_cancel(blocked));
    ASSERT_OK(aq_task_wait(blocked, NULL));
    ASSERT_OK(aq_task_release(blocked));
    ASSERT_OK(aq_queue_free(empty));
    ASSERT_OK(aq_queue_free(full));
    return NULL;
}

TEST(test_timer_cancel_after_timeout_reports_cancel)
{
    t_main(cancel_after_timeout_main, NULL);
}

/* aq_in: a deadline relative to now, saturating rather than wrapping. */
static void *in_main(void *arg)
{
    (void)arg;
    int64_t before = aq_now();
    int64_t d = aq_in(0);
    ASSERT(d >= before && d <= aq_now());
    ASSERT_EQ(aq_in(INT64_MAX), INT64_MAX);
    ASSERT_EQ(aq_in(INT64_MAX - 1), INT64_MAX);
    ASSERT(aq_in(-AQ_SEC) < before); /* past: at once, or AQ_ETIMEDOUT */
    aq_queue *q = new_fifo(1);
    long v;
    ASSERT_RC(aq_queue_get_until(q, &v, aq_in(-1)), AQ_ETIMEDOUT);
    int64_t start = aq_now();
    ASSERT_RC(aq_queue_get_until(q, &v, aq_in(20 * AQ_MSEC)), AQ_ETIMEDOUT);
    ASSERT_ELAPSED(start, 20 * AQ_MSEC);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_timer_in_is_relative_and_saturates) { t_main(in_main, NULL); }

int main(int argc, char **argv)
{
    RUN(test_timer_sleep_wakes_shortest_first);
    RUN(test_timer_in_is_relative_and_saturates);
    RUN(test_timer_equal_deadlines_wake_in_order_set);
    RUN(test_timer_sleep_zero_or_past_is_yield);
    RUN(test_timer_sleep_duration);
    RUN(test_timer_past_deadline_fails_only_if_it_must_wait);
    RUN(test_timer_deadlines_on_every_wait);
    RUN(test_timer_wait_completing_in_time);
    RUN(test_timer_timed_out_waiter_is_on_no_list);
    RUN(test_timer_timeouts_leave_waiter_lists);
    RUN(test_timer_yielding_task_does_not_starve_timers);
    RUN(test_timer_now_is_monotonic);
    RUN(test_timer_cancel_after_timeout_reports_cancel);
    RUN(test_timer_huge_sleep_does_not_wrap);
    return t_done();
}
