/* Compact mode (aq_loop_set_compact): tasks share one run stack and their
 * frames are copied out while parked. Covers items handed into and taken
 * from evicted frames for every queue kind, switching between compact
 * tasks, deep frames, cancellation and deadlines of evicted waiters,
 * compact and own-stack tasks mixed, reaping at loop free, the setter's
 * codes, and a loud overflow of the shared stack. */
#include "overflow_helpers.h"
#include "rt_helpers.h"

#define SHARED (256 * 1024)

/* Shared between a test's main task and the tasks it spawns, so always
 * static: in compact mode a task must not hand out pointers to its own
 * stack variables (its frames move while it is parked). */
struct getter {
    aq_queue *q;
    int64_t item;
    int rc;
};

/* Gets into a local variable (which lives in frames that get evicted
 * while it waits), then copies it out. */
static void *getter_task(void *arg)
{
    struct getter *g = arg;
    int64_t local = -1;
    g->rc = aq_queue_get(g->q, &local);
    g->item = local;
    return NULL;
}

/* Puts a value held in a local variable of its own frames. */
static void *putter_task(void *arg)
{
    struct getter *p = arg;
    int64_t local = p->item;
    p->rc = aq_queue_put(p->q, &local);
    return NULL;
}

#define NT 50

static void *handoff_main(void *arg)
{
    aq_queue_kind kind = (aq_queue_kind)IVAL(arg);
    aq_queue *q;
    /* Not on this task's stack: its frames move while it is parked, and
     * the other tasks write here. */
    static struct getter g[NT];
    ASSERT_OK(aq_queue_new(&q, kind, sizeof(int64_t), 1));
    /* Every getter parks; each new one evicts the previous one's frames. */
    for (int i = 0; i < NT; i++) {
        g[i] = (struct getter){q, -1, PENDING};
        ASSERT_OK(aq_spawn(NULL, getter_task, &g[i]));
    }
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_getters(q), NT);
    for (int64_t i = 0; i < NT; i++)
        ASSERT_OK(aq_queue_put(q, &i)); /* into evicted frames */
    ASSERT_OK(aq_yield());
    for (int i = 0; i < NT; i++) {
        ASSERT_OK(g[i].rc);
        ASSERT_EQ(g[i].item, i); /* oldest getter first */
    }
    /* Putters park on the full queue; gets take items from their
     * evicted frames, oldest first. */
    int64_t first = 1000, out;
    ASSERT_OK(aq_queue_try_put(q, &first));
    for (int i = 0; i < NT; i++) {
        g[i] = (struct getter){q, 1001 + i, PENDING};
        ASSERT_OK(aq_spawn(NULL, putter_task, &g[i]));
    }
    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_putters(q), NT);
    for (int i = 0; i <= NT; i++) {
        ASSERT_OK(aq_queue_get(q, &out));
        ASSERT_EQ(out, 1000 + i);
    }
    ASSERT_OK(aq_yield());
    for (int i = 0; i < NT; i++)
        ASSERT_OK(g[i].rc);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_compact_items_move_through_evicted_frames)
{
    t_main_compact(handoff_main, IARG(AQ_FIFO));
    t_main_compact(handoff_main, IARG(AQ_LIFO));
    t_main_compact(handoff_main, IARG(AQ_PRIORITY));
}

/* Two compact tasks ping-ponging through maxsize-1 queues: every switch
 * copies frames out and in; the values must survive each trip. */
struct pp {
    aq_queue *in, *out;
    int64_t rounds, last;
};

static void *pinger(void *arg)
{
    struct pp *p = arg;
    int64_t v = 0;
    for (int64_t i = 0; i < p->rounds; i++) {
        ASSERT_OK(aq_queue_put(p->out, &v));
        ASSERT_OK(aq_queue_get(p->in, &v));
        ASSERT_EQ(v, 2 * i + 1);
        v++;
    }
    p->last = v;
    return NULL;
}

static void *ponger(void *arg)
{
    struct pp *p = arg;
    int64_t v;
    for (int64_t i = 0; i < p->rounds; i++) {
        ASSERT_OK(aq_queue_get(p->in, &v));
        v++;
        ASSERT_OK(aq_queue_put(p->out, &v));
    }
    return NULL;
}

static void *pingpong_main(void *arg)
{
    aq_queue *a, *b;
    aq_task *t[2];
    (void)arg;
    ASSERT_OK(aq_queue_new(&a, AQ_FIFO, sizeof(int64_t), 1));
    ASSERT_OK(aq_queue_new(&b, AQ_FIFO, sizeof(int64_t), 1));
    static struct pp ping, pong; /* shared with the tasks: not on our stack */
    ping = (struct pp){b, a, 1000, 0};
    pong = (struct pp){a, b, 1000, 0};
    ASSERT_OK(aq_spawn(&t[0], pinger, &ping));
    ASSERT_OK(aq_spawn(&t[1], ponger, &pong));
    ASSERT_OK(aq_gather(t, 2, NULL));
    ASSERT_EQ(ping.last, 2000);
    ASSERT_OK(aq_task_release(t[0]));
    ASSERT_OK(aq_task_release(t[1]));
    ASSERT_OK(aq_queue_free(a));
    ASSERT_OK(aq_queue_free(b));
    return NULL;
}

TEST(test_compact_pingpong_keeps_values)
{
    t_main_compact(pingpong_main, NULL);
}

/* A task parked deep in its stack (a 20 KiB frame) makes its save buffer
 * grow; the frame's contents must come back intact. */
static void *deep_task(void *arg)
{
    aq_queue *q = arg;
    volatile unsigned char big[20 * 1024];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)(i * 7);
    int64_t v;
    ASSERT_OK(aq_queue_get(q, &v));
    for (size_t i = 0; i < sizeof big; i++)
        ASSERT_EQ(big[i], (unsigned char)(i * 7));
    return IARG(v);
}

static void *deep_main(void *arg)
{
    aq_queue *q;
    aq_task *t[3];
    void *res[3];
    (void)arg;
    ASSERT_OK(aq_queue_new(&q, AQ_FIFO, sizeof(int64_t), 0));
    for (int i = 0; i < 3; i++)
        ASSERT_OK(aq_spawn(&t[i], deep_task, q));
    ASSERT_OK(aq_yield());
    for (int64_t i = 0; i < 3; i++)
        ASSERT_OK(aq_queue_put(q, &i));
    ASSERT_OK(aq_gather(t, 3, res));
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(IVAL(res[i]), i);
        ASSERT_OK(aq_task_release(t[i]));
    }
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_compact_deep_frames_survive)
{
    t_main_compact(deep_main, NULL);
}

/* Evicted waiters can be cancelled or time out like any other, and a
 * cancelled put never inserts. Own-stack tasks mix in freely. */
static void *own_stack_putter(void *arg)
{
    aq_queue *q = arg;
    int64_t v = 77;
    return IARG(aq_queue_put(q, &v));
}

static void *cancel_main(void *arg)
{
    aq_queue *q;
    static struct getter g, p; /* shared with the tasks: not on our stack */
    aq_task *tg, *tp, *own;
    (void)arg;
    ASSERT_OK(aq_queue_new(&q, AQ_FIFO, sizeof(int64_t), 1));
    g = (struct getter){q, -1, PENDING};
    p = (struct getter){q, 5, PENDING};
    ASSERT_OK(aq_spawn(&tg, getter_task, &g));
    ASSERT_OK(aq_yield());
    ASSERT_OK(aq_task_cancel(tg));
    ASSERT_OK(aq_task_wait(tg, NULL));
    ASSERT_RC(g.rc, AQ_ECANCELED);
    ASSERT_EQ(g.item, -1);
    ASSERT_EQ(aq_queue_getters(q), 0);

    int64_t one = 1, out;
    ASSERT_OK(aq_queue_try_put(q, &one));
    ASSERT_OK(aq_spawn(&tp, putter_task, &p));
    ASSERT_OK(aq_yield());
    ASSERT_OK(aq_task_cancel(tp));
    ASSERT_OK(aq_task_wait(tp, NULL));
    ASSERT_RC(p.rc, AQ_ECANCELED);
    ASSERT_EQ(aq_queue_qsize(q), 1); /* the cancelled put inserted nothing */

    ASSERT_RC(aq_queue_get_until(q, &out, aq_now() + AQ_MSEC), AQ_OK);
    ASSERT_EQ(out, 1);
    ASSERT_RC(aq_queue_get_until(q, &out, aq_now() + AQ_MSEC), AQ_ETIMEDOUT);

    ASSERT_OK(aq_loop_spawn(aq_loop_current(), &own, own_stack_putter, q,
                            64 * 1024));
    ASSERT_OK(aq_queue_get(q, &out));
    ASSERT_EQ(out, 77);
    void *res;
    ASSERT_OK(aq_task_wait(own, &res));
    ASSERT_OK((int)IVAL(res));
    ASSERT_OK(aq_task_release(tg));
    ASSERT_OK(aq_task_release(tp));
    ASSERT_OK(aq_task_release(own));
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_compact_cancel_timeout_and_mixed_stacks)
{
    t_main_compact(cancel_main, NULL);
}

/* Leftover compact tasks parked in evicted frames are cancelled and reaped
 * by aq_loop_free, their buffers freed (the harness counts blocks). */
static void *leftover_main(void *arg)
{
    static struct getter g[10];
    aq_queue *q = arg;
    for (int i = 0; i < 10; i++) {
        g[i] = (struct getter){q, -1, PENDING};
        ASSERT_OK(aq_spawn(NULL, getter_task, &g[i]));
    }
    return NULL;
}

TEST(test_compact_leftovers_reaped)
{
    aq_queue *q;
    aq_loop *l;
    ASSERT_OK(aq_queue_new(&q, AQ_FIFO, sizeof(int64_t), 0));
    ASSERT_OK(aq_loop_new(&l));
    ASSERT_OK(aq_loop_set_compact(l, SHARED));
    ASSERT_OK(aq_loop_spawn(l, NULL, leftover_main, q, 0));
    ASSERT_OK(aq_loop_run(l));
    ASSERT_EQ(aq_queue_getters(q), 10);
    ASSERT_OK(aq_loop_free(l));
    ASSERT_EQ(aq_queue_getters(q), 0);
    ASSERT_OK(aq_queue_free(q));
}

static void *park_forever(void *arg)
{
    (void)arg;
    aq_sleep(3600 * AQ_SEC); /* until the loop is freed */
    return NULL;
}

static void *park_then_return(void *arg)
{
    long local = 42;
    ASSERT_OK(aq_sleep(AQ_MSEC)); /* its frames saved and back */
    ASSERT_EQ(local, 42);
    return arg;
}

TEST(test_compact_setter_codes)
{
    aq_loop *l;
    ASSERT_RC(aq_loop_set_compact(NULL, SHARED), AQ_EINVAL);
    ASSERT_OK(aq_loop_new(&l));
    ASSERT_RC(aq_loop_set_compact(l, AQ_STACK_MIN - 1), AQ_EINVAL);
    ASSERT_RC(aq_loop_set_compact(l, AQ_STACK_MAX + 1), AQ_EINVAL);
    ASSERT_OK(aq_loop_set_compact(l, SHARED));
    ASSERT_OK(aq_loop_spawn(l, NULL, park_forever, NULL, 0));
    /* A compact task is alive: the shared stack cannot change. */
    ASSERT_RC(aq_loop_set_compact(l, 0), AQ_EBUSY);
    ASSERT_RC(aq_loop_set_compact(l, 2 * SHARED), AQ_EBUSY);
    ASSERT_OK(aq_loop_free(l));

    ASSERT_OK(aq_loop_new(&l));
    ASSERT_OK(aq_loop_set_compact(l, SHARED));
    ASSERT_OK(aq_loop_set_compact(l, 0)); /* off again: nothing alive */
    ASSERT_OK(aq_loop_free(l));

    /* A shared stack of the default size comes from the loop's stack
     * pool: a new default size (which gives the pool back) is refused
     * while compact mode is on (it freed the shared stack under the
     * loop: a reviewer's reproducer, use after free at the next run or at
     * aq_loop_free), and allowed once it is off. */
    ASSERT_OK(aq_loop_new(&l));
    ASSERT_OK(aq_loop_set_compact(l, AQ_STACK_DEFAULT));
    ASSERT_RC(aq_loop_set_stack_size(l, 2 * AQ_STACK_DEFAULT), AQ_EBUSY);
    ASSERT_OK(aq_loop_set_stack_size(l, AQ_STACK_DEFAULT)); /* the same */
    ASSERT_OK(aq_loop_spawn(l, NULL, park_then_return, NULL, 0));
    ASSERT_OK(aq_loop_run(l)); /* a compact task on the shared stack */
    ASSERT_OK(aq_loop_set_compact(l, 0));
    ASSERT_OK(aq_loop_set_stack_size(l, 2 * AQ_STACK_DEFAULT));
    ASSERT_OK(aq_loop_free(l));

    /* A new shared-stack size that cannot be allocated: AQ_ENOMEM with
     * compact mode as it was, on and at its old size (the old stack was
     * given back first: compact mode was off after the failure, a
     * reviewer's reproducer). */
    ASSERT_OK(aq_loop_new(&l));
    ASSERT_OK(aq_loop_set_compact(l, SHARED));
    t_fail_alloc_at(1);
    ASSERT_RC(aq_loop_set_compact(l, 2 * SHARED), AQ_ENOMEM);
    t_fail_alloc_at(0);
    ASSERT_RC(aq_loop_set_stack_size(l, 2 * AQ_STACK_DEFAULT), AQ_EBUSY);
    ASSERT_OK(aq_loop_spawn(l, NULL, park_forever, NULL, 0));
    ASSERT_RC(aq_loop_set_compact(l, 0), AQ_EBUSY); /* a compact task */
    ASSERT_OK(aq_loop_free(l));
}

/* A compact task that cannot get room to save its frames gets AQ_ENOMEM
 * having done nothing (aq.h), from aq_gather and aq_group_wait too: the
 * tasks it waits for are not cancelled. Before the fix both cancelled
 * them, and aq_group_wait retried the allocation without end while it
 * kept failing (a fresh user's trial). Each main task is fresh, so its
 * first park is the allocation made to fail. */
static int napped;

static void *napper(void *arg)
{
    napped = aq_sleep(5 * AQ_MSEC);
    return arg;
}

static int group_napper(void *arg)
{
    napper(arg);
    return 0;
}

static void *gather_enomem_main(void *arg)
{
    (void)arg;
    aq_task *t = NULL;
    void *res = NULL;
    napped = 1;
    ASSERT_OK(aq_spawn(&t, napper, &napped));
    t_fail_alloc_at(1);
    ASSERT_RC(aq_gather(&t, 1, &res), AQ_ENOMEM);
    t_fail_alloc_at(0);
    ASSERT_EQ(aq_task_cancelled(t), 0);
    ASSERT_OK(aq_gather(&t, 1, &res));
    ASSERT_OK(napped); /* its sleep ran its course */
    ASSERT(res == &napped);
    ASSERT_OK(aq_task_release(t));
    return NULL;
}

static void *group_enomem_main(void *arg)
{
    (void)arg;
    aq_group *g;
    int status = -1;
    napped = 1;
    ASSERT_OK(aq_group_new(&g));
    ASSERT_OK(aq_group_spawn(g, group_napper, NULL));
    t_fail_alloc_at(1);
    ASSERT_RC(aq_group_wait(g, &status), AQ_ENOMEM);
    t_fail_alloc_at(0);
    ASSERT_EQ(aq_group_live(g), 1); /* not cancelled, not reaped */
    ASSERT_OK(aq_group_wait(g, &status));
    ASSERT_OK(napped);
    ASSERT_EQ(status, 0);
    ASSERT_OK(aq_group_free(g));
    return NULL;
}

/* The k-th allocation of aq_group_wait failing, not the first: its park
 * comes one frame deeper than the room it reserved first, which at -O0
 * (the suite's sanitized builds) needed a second allocation. Whatever
 * fails, an AQ_ENOMEM must have cancelled nothing (a fresh user's sweep
 * found the child cancelled at k = 2). */
static void *group_later_fail_main(void *arg)
{
    aq_group *g;
    int status = -1;
    napped = 1;
    ASSERT_OK(aq_group_new(&g));
    ASSERT_OK(aq_group_spawn(g, group_napper, NULL));
    t_fail_alloc_at((long)arg);
    int rc = aq_group_wait(g, &status);
    t_fail_alloc_at(0);
    if (rc == AQ_ENOMEM) {
        ASSERT_EQ(aq_group_live(g), 1); /* not cancelled */
        ASSERT_OK(aq_group_wait(g, &status));
    } else {
        ASSERT_OK(rc);
    }
    /* Not cancelled: the sleep ran its course, or the failing allocation
     * was its own park's. */
    ASSERT(napped == AQ_OK || napped == AQ_ENOMEM);
    ASSERT_EQ(status, 0);
    ASSERT_OK(aq_group_free(g));
    return NULL;
}

/* The same for a condition's wait, with another task queued on its lock:
 * the wait passes the lock on before it parks, so without room reserved
 * first it had to take the lock back, and spun for ever failing to park
 * for it while the new owner could never run. */
static aq_cond *cv;
static int lock_taken;

static void *lock_taker(void *arg)
{
    (void)arg;
    ASSERT_OK(aq_lock_acquire(aq_cond_lock(cv)));
    lock_taken = 1;
    ASSERT_OK(aq_lock_release(aq_cond_lock(cv)));
    return NULL;
}

static void *cond_enomem_main(void *arg)
{
    (void)arg;
    aq_lock *l;
    aq_task *t = NULL;
    lock_taken = 0;
    ASSERT_OK(aq_lock_new(&l));
    ASSERT_OK(aq_cond_new(&cv, l));
    ASSERT_OK(aq_lock_try_acquire(l));
    ASSERT_OK(aq_spawn(&t, lock_taker, NULL));
    ASSERT_OK(aq_yield()); /* it queues on the lock */
    t_fail_alloc_at(1);
    ASSERT_RC(aq_cond_wait_until(cv, aq_in(AQ_MSEC)), AQ_ENOMEM);
    t_fail_alloc_at(0);
    ASSERT_EQ(aq_lock_locked(l), 1); /* still ours: nothing done */
    ASSERT_EQ(lock_taken, 0);
    ASSERT_OK(aq_lock_release(l));
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_EQ(lock_taken, 1);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_cond_free(cv));
    ASSERT_OK(aq_lock_free(l));
    return NULL;
}

/* A put_many that must park after part of its batch went in, in a compact
 * task whose k-th allocation fails: AQ_ENOMEM stops it as a cancel
 * would, *done saying exactly which items went in (aq.h: the calls that
 * count their progress; a fresh user's trial read "having done nothing"
 * for them). Without a failure it times out with 3 in. */
static long put_many_partial;

static void *put_many_enomem_main(void *arg)
{
    aq_queue *q;
    long items[6] = {10, 11, 12, 13, 14, 15}, v;
    size_t done = 99;
    ASSERT_OK(aq_queue_new(&q, AQ_FIFO, sizeof(long), 3));
    t_fail_alloc_at((long)arg);
    int rc = aq_queue_put_many_until(q, items, 6, &done, aq_in(AQ_MSEC));
    t_fail_alloc_at(0);
    if (rc == AQ_ENOMEM)
        put_many_partial += done > 0;
    else
        ASSERT_RC(rc, AQ_ETIMEDOUT);
    ASSERT(done <= 3);
    ASSERT_EQ((size_t)aq_queue_qsize(q), done);
    for (size_t i = 0; i < done; i++) {
        ASSERT_OK(aq_queue_try_get(q, &v));
        ASSERT_EQ(v, items[i]);
    }
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_compact_enomem_cancels_nothing)
{
    put_many_partial = 0;
    for (long k = 1; k <= 4; k++)
        t_main_compact(put_many_enomem_main, (void *)k);
    ASSERT(put_many_partial > 0); /* the park's failure, after 3 went in */
    t_main_compact(gather_enomem_main, NULL);
    t_main_compact(group_enomem_main, NULL);
    for (long k = 2; k <= 4; k++)
        t_main_compact(group_later_fail_main, (void *)k);
    t_main_compact(cond_enomem_main, NULL);
}

/* A compact task started where a finished one's frames were: under
 * AddressSanitizer (the suite's sanitized build), the finished task's
 * redzones, left in the shadow since its outer frames never return, made
 * the new task's first store into a local array a stack-buffer-overflow
 * (a fresh user's trial). Elsewhere this checks the values only. */
/* Fills a local array at depth levels of calls: frames, and so their
 * redzones, at many offsets from the top of the shared stack. */
static uint64_t fill_at(int depth, uint64_t base)
{
    volatile uint64_t a[8];
    uint64_t sum = 0;
    for (int i = 0; i < 8; i++)
        a[i] = base + (uint64_t)i;
    for (int i = 0; i < 8; i++)
        sum += a[i];
    return depth > 0 ? sum + fill_at(depth - 1, base) : sum;
}

static void *array_child(void *arg)
{
    uintptr_t depth = (uintptr_t)arg;
    return (void *)(uintptr_t)fill_at((int)depth, 1);
}

static void *array_spawner(void *arg)
{
    for (uintptr_t depth = 0; depth < 8; depth++) {
        aq_task *t = NULL;
        void *res = NULL;
        ASSERT_OK(aq_spawn(&t, array_child, (void *)depth));
        ASSERT_OK(aq_task_wait(t, &res));
        ASSERT_EQ((uintptr_t)res, 36 * (depth + 1));
        ASSERT_OK(aq_task_release(t));
        fill_at((int)(uintptr_t)arg, 1); /* frames of this task's own */
    }
    return NULL;
}

TEST(test_compact_fresh_task_where_one_finished)
{
    aq_loop *l;
    ASSERT_OK(aq_loop_new(&l));
    ASSERT_OK(aq_loop_set_compact(l, 64 * 1024));
    ASSERT_OK(aq_loop_spawn(l, NULL, array_spawner, (void *)1, 0));
    ASSERT_OK(aq_loop_spawn(l, NULL, array_spawner, (void *)3, 0));
    ASSERT_OK(aq_loop_run(l));
    ASSERT_OK(aq_loop_free(l));
}

/* Running off the shared stack hits its guard page and is reported like
 * any overflow (tested in a child process, as in test_overflow.c). */
static void overflow_child(void)
{
    aq_loop *l;
    aq_loop_new(&l);
    aq_loop_set_compact(l, 32 * 1024);
    aq_loop_spawn(l, NULL, overflowing, NULL, 0);
    aq_loop_run(l); /* dies of the overflow */
}

TEST(test_compact_overflow_is_loud)
{
    char out[8192];
    int status = run_in_child(overflow_child, out, sizeof out);
    ASSERT(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
    ASSERT(strstr(out, "stack overflow in task") != NULL ||
           strstr(out, "stack-overflow") != NULL); /* ours, or ASan's */
}

int main(int argc, char **argv)
{
    RUN(test_compact_items_move_through_evicted_frames);
    RUN(test_compact_pingpong_keeps_values);
    RUN(test_compact_deep_frames_survive);
    RUN(test_compact_cancel_timeout_and_mixed_stacks);
    RUN(test_compact_leftovers_reaped);
    RUN(test_compact_setter_codes);
    RUN(test_compact_enomem_cancels_nothing);
    RUN(test_compact_fresh_task_where_one_finished);
    RUN(test_compact_overflow_is_loud);
    return t_done();
}
