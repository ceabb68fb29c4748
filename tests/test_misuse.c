/* libaq - tests of bad input, misuse and running out of memory.
 * MIT licensed.
 *
 * For every public function of aq.h: each invalid argument or misplaced
 * call returns exactly the documented code and changes nothing (queue
 * sizes, unfinished counts, waiter counts, out-parameters, allocations).
 * Then out of memory: t_fail_alloc_at(k) fails the k-th allocation of a
 * scenario that touches every allocating path (loop, tasks, the four
 * queue kinds growing, the timer heap growing), for k = 1, 2, ... until
 * the scenario runs clean. At each k the failing call must report
 * AQ_ENOMEM, exactly one call must (no failure swallowed), what failed
 * must have changed nothing, the rest must go on working, and nothing may
 * leak.
 */
#include "rt_helpers.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>

/* ---- helpers --------------------------------------------------------- */

/* A queue's observable state, to show that a refused call changed
 * nothing. */
struct qstate {
    long qsize, maxsize, unfinished, getters, putters, joiners;
    int shutdown;
};

static struct qstate qstate_of(const aq_queue *q)
{
    struct qstate s = {aq_queue_qsize(q),    aq_queue_maxsize(q),
                       aq_queue_unfinished(q), aq_queue_getters(q),
                       aq_queue_putters(q),  aq_queue_joiners(q),
                       aq_queue_is_shutdown(q)};
    return s;
}

#define ASSERT_SAME_STATE(q, s)                                            \
    do {                                                                   \
        struct qstate now_ = qstate_of(q);                                 \
        ASSERT_EQ(now_.qsize, (s).qsize);                                  \
        ASSERT_EQ(now_.maxsize, (s).maxsize);                              \
        ASSERT_EQ(now_.unfinished, (s).unfinished);                        \
        ASSERT_EQ(now_.getters, (s).getters);                              \
        ASSERT_EQ(now_.putters, (s).putters);                              \
        ASSERT_EQ(now_.joiners, (s).joiners);                              \
        ASSERT_EQ(now_.shutdown, (s).shutdown);                            \
    } while (0)

/* ---- errors and version ---------------------------------------------- */

TEST(test_misuse_error_names_and_messages)
{
    static const struct {
        int code;
        const char *name;
        int errno_twin; /* 0: a queue-only code */
    } codes[] = {
        {AQ_OK, "AQ_OK", 0},
        {AQ_EPERM, "AQ_EPERM", EPERM},
        {AQ_ENOMEM, "AQ_ENOMEM", ENOMEM},
        {AQ_EINVAL, "AQ_EINVAL", EINVAL},
        {AQ_EBUSY, "AQ_EBUSY", EBUSY},
        {AQ_EDEADLK, "AQ_EDEADLK", EDEADLK},
        {AQ_EALREADY, "AQ_EALREADY", EALREADY},
        {AQ_EBADF, "AQ_EBADF", EBADF},
        {AQ_ETIMEDOUT, "AQ_ETIMEDOUT", ETIMEDOUT},
        {AQ_ECANCELED, "AQ_ECANCELED", ECANCELED},
        {AQ_EAGAIN, "AQ_EAGAIN", EAGAIN},
        {AQ_EFULL, "AQ_EFULL", 0},
        {AQ_EEMPTY, "AQ_EEMPTY", 0},
        {AQ_ESHUTDOWN, "AQ_ESHUTDOWN", 0},
        {AQ_EDROPPED, "AQ_EDROPPED", 0},
        {AQ_EBROKEN, "AQ_EBROKEN", 0},
        {AQ_EGROUP, "AQ_EGROUP", 0},
        {AQ_ELIMIT, "AQ_ELIMIT", 0},
        {AQ_EINCOMPLETE, "AQ_EINCOMPLETE", 0},
        {AQ_ESERVER, "AQ_ESERVER", 0},
    };
    const size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        const char *msg = aq_strerror(codes[i].code);
        ASSERT(strcmp(aq_errname(codes[i].code), codes[i].name) == 0);
        ASSERT(msg != NULL && msg[0] != '\0');
        ASSERT(strcmp(msg, "unknown error") != 0);
        if (codes[i].errno_twin)
            ASSERT_EQ(codes[i].code, -codes[i].errno_twin);
        else if (codes[i].code != AQ_OK)
            ASSERT(codes[i].code < -4000);
        /* Each message tells its code apart. */
        for (size_t j = 0; j < i; j++)
            ASSERT(strcmp(msg, aq_strerror(codes[j].code)) != 0);
    }
    ASSERT(strcmp(aq_strerror(AQ_EFULL), "queue is full") == 0);
    /* System errors passed through as -errno get the system's names. */
    ASSERT(strcmp(aq_errname(-ECONNREFUSED), "ECONNREFUSED") == 0);
    ASSERT(strcmp(aq_errname(-EPIPE), "EPIPE") == 0);
    ASSERT(strcmp(aq_strerror(-ECONNRESET), "unknown error") != 0);
    static const int unknown[] = {1, -1000, -4000, -4010, -9999, INT_MIN,
                                  INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        ASSERT(strcmp(aq_strerror(unknown[i]), "unknown error") == 0);
        ASSERT(strcmp(aq_errname(unknown[i]), "AQ_E?") == 0);
    }
}

TEST(test_misuse_version_and_clock)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", AQ_VERSION_MAJOR,
             AQ_VERSION_MINOR, AQ_VERSION_PATCH);
    ASSERT(strcmp(aq_version(), want) == 0);
    ASSERT(aq_now() > 0); /* callable anywhere, outside any loop */
}

/* ---- loop ------------------------------------------------------------ */

TEST(test_misuse_loop_bad_arguments)
{
    aq_loop *l = (aq_loop *)&l;
    void *res = IARG(5);
    ASSERT_RC(aq_loop_new(NULL), AQ_EINVAL);
    ASSERT_RC(aq_loop_run(NULL), AQ_EINVAL);
    ASSERT_RC(aq_loop_free(NULL), AQ_EINVAL);
    ASSERT_RC(aq_loop_set_stack_size(NULL, AQ_STACK_DEFAULT), AQ_EINVAL);
    ASSERT_RC(aq_loop_set_stack_pool(NULL, 0), AQ_EINVAL);
    ASSERT_RC(aq_run(NULL, NULL, &res), AQ_EINVAL);
    ASSERT_EQ(IVAL(res), 5);
    ASSERT(aq_loop_current() == NULL);
    ASSERT(aq_task_self() == NULL);
    ASSERT_EQ(t_live, 0); /* nothing was allocated on the way */

    ASSERT_OK(aq_loop_new(&l));
    long live = t_live;
    aq_task *t = (aq_task *)&t;
    ASSERT_RC(aq_loop_spawn(NULL, &t, ret_arg, NULL, 0), AQ_EINVAL);
    ASSERT_RC(aq_loop_spawn(l, &t, NULL, NULL, 0), AQ_EINVAL);
    ASSERT_RC(aq_loop_spawn(l, &t, ret_arg, NULL, 1), AQ_EINVAL);
    ASSERT_RC(aq_loop_spawn(l, &t, ret_arg, NULL, AQ_STACK_MIN - 1),
              AQ_EINVAL);
    ASSERT_RC(aq_loop_spawn(l, &t, ret_arg, NULL, AQ_STACK_MAX + 1),
              AQ_EINVAL);
    ASSERT_RC(aq_loop_set_stack_size(l, AQ_STACK_MIN - 1), AQ_EINVAL);
    ASSERT_RC(aq_loop_set_stack_size(l, AQ_STACK_MAX + 1), AQ_EINVAL);
    ASSERT(t == (aq_task *)&t);
    ASSERT_EQ(t_live, live);
    /* Nothing was spawned: the run has nothing to do. */
    ASSERT_OK(aq_loop_run(l));
    ASSERT_EQ(t_live, live);
    ASSERT_OK(aq_loop_free(l));
}

/* A task that records that it ran and how its one get ended. */
struct waiter {
    aq_queue *q;
    int ran, rc;
};

static void *waiter_main(void *arg)
{
    struct waiter *w = arg;
    long v;
    w->ran = 1;
    w->rc = aq_queue_get(w->q, &v);
    return NULL;
}

struct nested {
    aq_loop *own, *other, *empty;
    int run_own, free_own, run_other, free_other, free_empty;
};

static void *nested_main(void *arg)
{
    struct nested *n = arg;
    n->run_own = aq_loop_run(n->own);
    n->free_own = aq_loop_free(n->own);
    n->run_other = aq_loop_run(n->other);
    n->free_other = aq_loop_free(n->other);
    /* A loop with no task left to reap runs nothing: freeing it from
     * here is allowed. */
    n->free_empty = aq_loop_free(n->empty);
    return NULL;
}

TEST(test_misuse_loop_run_and_free_nested_are_ebusy)
{
    struct nested n = {NULL, NULL, NULL, PENDING, PENDING, PENDING,
                       PENDING, PENDING};
    struct waiter w = {new_fifo(0), 0, PENDING};
    aq_task *t, *other;
    ASSERT_OK(aq_loop_new(&n.own));
    ASSERT_OK(aq_loop_new(&n.other));
    ASSERT_OK(aq_loop_new(&n.empty));
    ASSERT_OK(aq_loop_spawn(n.other, &other, waiter_main, &w, 0));
    ASSERT_OK(aq_loop_spawn(n.own, &t, nested_main, &n, 0));
    ASSERT_OK(aq_loop_run(n.own));
    ASSERT_EQ(aq_task_done(t), 1);
    ASSERT_RC(n.run_own, AQ_EBUSY);
    ASSERT_RC(n.free_own, AQ_EBUSY);
    ASSERT_RC(n.run_other, AQ_EBUSY);
    ASSERT_RC(n.free_other, AQ_EBUSY);
    ASSERT_OK(n.free_empty);
    /* The other loop was neither run nor torn down: its task has not
     * started and is not cancelled, and it works as before. */
    ASSERT_EQ(w.ran, 0);
    ASSERT_EQ(aq_task_done(other), 0);
    ASSERT_EQ(aq_task_cancelled(other), 0);
    ASSERT_OK(aq_loop_run(n.other));
    ASSERT_EQ(w.ran, 1);
    ASSERT_EQ(w.rc, PENDING); /* parked in its get */
    put_long(w.q, 1);
    ASSERT_OK(aq_loop_run(n.other));
    ASSERT_OK(w.rc);
    ASSERT_OK(aq_task_release(other));
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_loop_free(n.other));
    ASSERT_OK(aq_loop_free(n.own));
    ASSERT_OK(aq_queue_task_done(w.q));
    ASSERT_OK(aq_queue_free(w.q));
}

/* Uses about 40 KiB of stack: fits the 64 KiB default, not 16 KiB. */
static void *deep_main(void *arg)
{
    volatile unsigned char buf[40 * 1024];
    for (size_t i = 0; i < sizeof buf; i += 512)
        buf[i] = (unsigned char)i;
    return IARG(buf[512] + (arg != NULL));
}

TEST(test_misuse_loop_sizes_at_the_edges)
{
    aq_loop *l;
    aq_task *t = (aq_task *)&t;
    struct waiter w = {new_fifo(0), 0, PENDING};
    ASSERT_OK(aq_loop_new(&l));
    ASSERT_RC(aq_loop_set_stack_size(l, 0), AQ_EINVAL);
    ASSERT_RC(aq_loop_set_stack_size(l, SIZE_MAX), AQ_EINVAL);
    ASSERT_RC(aq_loop_spawn(l, &t, ret_arg, NULL, SIZE_MAX), AQ_EINVAL);
    ASSERT(t == (aq_task *)&t);
    /* Any pool size is accepted, none and "unlimited" included. */
    ASSERT_OK(aq_loop_set_stack_pool(l, SIZE_MAX));
    ASSERT_OK(aq_loop_set_stack_pool(l, 0));
    ASSERT_OK(aq_loop_set_stack_pool(l, 1024));
    /* A task that has not returned makes the stack size busy; the refused
     * call changed nothing: a task needing 40 KiB still gets 64. */
    ASSERT_OK(aq_loop_spawn(l, NULL, waiter_main, &w, 0));
    ASSERT_RC(aq_loop_set_stack_size(l, AQ_STACK_MIN), AQ_EBUSY);
    ASSERT_OK(aq_loop_run(l));
    ASSERT_RC(aq_loop_set_stack_size(l, AQ_STACK_MIN), AQ_EBUSY);
    ASSERT_OK(aq_loop_spawn(l, &t, deep_main, NULL, 0));
    ASSERT_OK(aq_loop_run(l));
    ASSERT_EQ(aq_task_done(t), 1);
    ASSERT_OK(aq_task_release(t));
    ASSERT_EQ(w.rc, PENDING);
    put_long(w.q, 1);
    ASSERT_OK(aq_loop_run(l));
    ASSERT_OK(w.rc);
    /* Every task returned: the smallest size is accepted. */
    ASSERT_OK(aq_loop_set_stack_size(l, AQ_STACK_MIN));
    ASSERT_OK(aq_loop_spawn(l, &t, ret_arg, NULL, AQ_STACK_MIN));
    ASSERT_OK(aq_loop_run(l));
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_loop_free(l));
    ASSERT_OK(aq_queue_task_done(w.q));
    ASSERT_OK(aq_queue_free(w.q));
}

/* ---- tasks ----------------------------------------------------------- */

TEST(test_misuse_task_null_handles)
{
    ASSERT_RC(aq_task_cancel(NULL), AQ_EINVAL);
    ASSERT_RC(aq_task_release(NULL), AQ_EINVAL);
    ASSERT_EQ(aq_task_done(NULL), 0);
    ASSERT_EQ(aq_task_cancelled(NULL), 0);
}

static void *task_args_main(void *arg)
{
    (void)arg;
    aq_task *t = (aq_task *)&t, *other;
    void *res = IARG(3);
    void *results[2] = {IARG(1), IARG(2)};
    ASSERT_RC(aq_spawn(&t, NULL, NULL), AQ_EINVAL);
    ASSERT(t == (aq_task *)&t);
    ASSERT_RC(aq_task_wait(NULL, &res), AQ_EINVAL);
    ASSERT_RC(aq_task_wait_until(NULL, &res, AQ_NEVER), AQ_EINVAL);
    ASSERT_RC(aq_task_wait(aq_task_self(), &res), AQ_EDEADLK);
    ASSERT_EQ(IVAL(res), 3);
    ASSERT_OK(aq_spawn(&other, ret_arg, IARG(8)));
    aq_task *bad[2] = {other, NULL};
    ASSERT_RC(aq_gather(NULL, 1, results), AQ_EINVAL);
    ASSERT_RC(aq_gather(bad, 2, results), AQ_EINVAL);
    ASSERT_RC(aq_gather_until(bad, 2, results, AQ_NEVER), AQ_EINVAL);
    bad[1] = aq_task_self();
    ASSERT_RC(aq_gather(bad, 2, results), AQ_EDEADLK);
    ASSERT_RC(aq_gather_until(bad, 2, results, AQ_NEVER), AQ_EDEADLK);
    /* Refused before anything ran or was cancelled. */
    ASSERT_EQ(aq_task_done(other), 0);
    ASSERT_EQ(aq_task_cancelled(other), 0);
    ASSERT_EQ(aq_task_cancelled(aq_task_self()), 0);
    ASSERT_EQ(IVAL(results[0]) * 10 + IVAL(results[1]), 12);
    ASSERT_OK(aq_task_wait(other, &res));
    ASSERT_EQ(IVAL(res), 8);
    ASSERT_RC(aq_task_cancel(other), AQ_EALREADY);
    ASSERT_EQ(aq_task_cancelled(other), 0);
    ASSERT_OK(aq_task_release(other));
    ASSERT_RC(aq_run(ret_arg, NULL, &res), AQ_EBUSY);
    ASSERT_EQ(IVAL(res), 8);
    return NULL;
}

TEST(test_misuse_task_bad_arguments)
{
    t_main(task_args_main, NULL);
}

static void *gather_empty_main(void *arg)
{
    (void)arg;
    /* An empty set needs no array: nothing to wait for. */
    ASSERT_OK(aq_gather(NULL, 0, NULL));
    ASSERT_OK(aq_gather_until(NULL, 0, NULL, AQ_NEVER));
    return NULL;
}

TEST(test_misuse_gather_empty_set)
{
    t_main(gather_empty_main, NULL);
}

/* Once cancelled, every suspending call fails at once with AQ_ECANCELED
 * and does nothing, even one that could complete at once (a put with
 * room, a get with an item); the non-suspending calls still work. */
static void *cancelled_calls_main(void *arg)
{
    (void)arg;
    aq_queue *q = new_fifo(4);
    aq_task *other, *spawned = NULL;
    long v = -1;
    void *res = IARG(-1);
    int64_t dl = aq_now() + AQ_SEC;
    put_long(q, 5); /* room left, an item queued, one unfinished */
    ASSERT_OK(aq_spawn(&other, ret_arg, IARG(2)));
    ASSERT_OK(aq_task_cancel(aq_task_self()));
    struct qstate s = qstate_of(q);

    ASSERT_RC(aq_yield(), AQ_ECANCELED);
    ASSERT_RC(aq_sleep(0), AQ_ECANCELED);
    ASSERT_RC(aq_sleep(AQ_MSEC), AQ_ECANCELED);
    ASSERT_RC(aq_sleep_until(dl), AQ_ECANCELED);
    ASSERT_RC(aq_queue_put(q, &v), AQ_ECANCELED);
    ASSERT_RC(aq_queue_put_until(q, &v, dl), AQ_ECANCELED);
    ASSERT_RC(aq_queue_get(q, &v), AQ_ECANCELED);
    ASSERT_RC(aq_queue_get_until(q, &v, dl), AQ_ECANCELED);
    ASSERT_RC(aq_queue_join(q), AQ_ECANCELED);
    ASSERT_RC(aq_queue_join_until(q, dl), AQ_ECANCELED);
    ASSERT_RC(aq_task_wait(other, &res), AQ_ECANCELED);
    ASSERT_RC(aq_task_wait_until(other, &res, dl), AQ_ECANCELED);
    /* Bad arguments are reported before the cancellation, by every
     * suspending call alike. */
    ASSERT_RC(aq_queue_put(NULL, &v), AQ_EINVAL);
    ASSERT_RC(aq_queue_get(q, NULL), AQ_EINVAL);
    ASSERT_RC(aq_queue_join(NULL), AQ_EINVAL);
    ASSERT_RC(aq_task_wait(NULL, &res), AQ_EINVAL);
    ASSERT_RC(aq_task_wait(aq_task_self(), &res), AQ_EDEADLK);
    ASSERT_RC(aq_gather(NULL, 1, NULL), AQ_EINVAL);
    ASSERT_SAME_STATE(q, s);
    ASSERT_EQ(v, -1);
    ASSERT_EQ(IVAL(res), -1);
    /* The awaited task was left alone... */
    ASSERT_EQ(aq_task_done(other), 0);
    ASSERT_EQ(aq_task_cancelled(other), 0);
    /* ...except by gather, which cancels its set, as asyncio's does. */
    ASSERT_RC(aq_gather(&other, 1, &res), AQ_ECANCELED);
    ASSERT_EQ(aq_task_cancelled(other), 1);
    ASSERT_EQ(IVAL(res), -1);

    /* Calls that do not suspend are unaffected. */
    ASSERT_OK(aq_queue_try_get(q, &v));
    ASSERT_EQ(v, 5);
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_OK(aq_queue_try_put(q, &v));
    ASSERT_OK(aq_spawn(&spawned, ret_arg, NULL));
    ASSERT_EQ(aq_task_cancelled(spawned), 0);
    ASSERT_OK(aq_task_cancel(aq_task_self())); /* twice: harmless */
    ASSERT_EQ(aq_task_cancelled(aq_task_self()), 1);
    ASSERT_OK(aq_task_release(spawned));
    ASSERT_OK(aq_task_release(other));
    ASSERT_OK(aq_queue_try_get(q, &v));
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_misuse_cancelled_task_suspending_calls)
{
    t_main(cancelled_calls_main, NULL);
}

/* ---- suspending calls outside a task --------------------------------- */

TEST(test_misuse_suspending_outside_task_is_eperm)
{
    aq_loop *l;
    aq_task *t, *spawned = (aq_task *)&spawned;
    aq_queue *q = new_fifo(2);
    put_long(q, 4);
    ASSERT_OK(aq_loop_new(&l));
    ASSERT_OK(aq_loop_spawn(l, &t, ret_arg, IARG(6), 0));
    struct qstate s = qstate_of(q);
    long live = t_live, v = -1;
    void *res = IARG(-1);
    int64_t dl = aq_now() + AQ_SEC;

    ASSERT_RC(aq_yield(), AQ_EPERM);
    ASSERT_RC(aq_sleep(AQ_MSEC), AQ_EPERM);
    ASSERT_RC(aq_sleep(0), AQ_EPERM);
    ASSERT_RC(aq_sleep_until(dl), AQ_EPERM);
    ASSERT_RC(aq_spawn(&spawned, ret_arg, NULL), AQ_EPERM);
    ASSERT_RC(aq_task_wait(t, &res), AQ_EPERM);
    ASSERT_RC(aq_task_wait_until(t, &res, dl), AQ_EPERM);
    ASSERT_RC(aq_gather(&t, 1, &res), AQ_EPERM);
    ASSERT_RC(aq_gather_until(&t, 1, &res, dl), AQ_EPERM);
    ASSERT_RC(aq_gather(NULL, 0, NULL), AQ_EPERM);
    ASSERT_RC(aq_queue_put(q, &v), AQ_EPERM);
    ASSERT_RC(aq_queue_put_until(q, &v, dl), AQ_EPERM);
    ASSERT_RC(aq_queue_get(q, &v), AQ_EPERM);
    ASSERT_RC(aq_queue_get_until(q, &v, dl), AQ_EPERM);
    ASSERT_RC(aq_queue_join(q), AQ_EPERM);
    ASSERT_RC(aq_queue_join_until(q, dl), AQ_EPERM);

    /* Nothing happened: no item moved, no task ran or was marked, no
     * out-parameter written, nothing allocated. */
    ASSERT_SAME_STATE(q, s);
    ASSERT_EQ(v, -1);
    ASSERT_EQ(IVAL(res), -1);
    ASSERT(spawned == (aq_task *)&spawned);
    ASSERT_EQ(aq_task_done(t), 0);
    ASSERT_EQ(aq_task_cancelled(t), 0);
    ASSERT_EQ(t_live, live);
    /* The non-suspending twins work out here. */
    ASSERT_OK(aq_queue_try_get(q, &v));
    ASSERT_EQ(v, 4);
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_OK(aq_loop_run(l));
    ASSERT_EQ(aq_task_done(t), 1);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_loop_free(l));
    ASSERT_OK(aq_queue_free(q));
}

/* ---- queue creation -------------------------------------------------- */

static int cmp_desc(const void *a, const void *b, void *ud)
{
    int64_t x, y;
    ASSERT(ud == (void *)cmp_desc);
    memcpy(&x, a, sizeof x);
    memcpy(&y, b, sizeof y);
    return (x < y) - (x > y);
}

static int cmp_byte(const void *a, const void *b, void *ud)
{
    (void)ud;
    return *(const unsigned char *)a - *(const unsigned char *)b;
}

TEST(test_misuse_queue_new_bad_arguments)
{
    static const aq_queue_kind kinds[] = {AQ_FIFO, AQ_LIFO, AQ_PRIORITY};
    aq_queue *q = (aq_queue *)&q;
    ASSERT_RC(aq_queue_new(NULL, AQ_FIFO, 8, 0), AQ_EINVAL);
    ASSERT_RC(aq_queue_new(&q, (aq_queue_kind)4, 8, 0), AQ_EINVAL);
    ASSERT_RC(aq_queue_new(&q, (aq_queue_kind)-1, 8, 0), AQ_EINVAL);
    for (int k = 0; k < 3; k++) {
        ASSERT_RC(aq_queue_new(&q, kinds[k], 0, 0), AQ_EINVAL);
        ASSERT_RC(aq_queue_new(&q, kinds[k], AQ_ITEM_MAX + 1, 0), AQ_EINVAL);
        ASSERT_RC(aq_queue_new(&q, kinds[k], SIZE_MAX, 0), AQ_EINVAL);
    }
    ASSERT_RC(aq_queue_new(&q, AQ_PRIORITY, sizeof(int64_t) - 1, 0),
              AQ_EINVAL);
    ASSERT_RC(aq_queue_new(&q, AQ_PRIORITY, 1, 0), AQ_EINVAL);
    ASSERT_RC(aq_queue_new_prio(NULL, 8, 0, cmp_desc, NULL), AQ_EINVAL);
    ASSERT_RC(aq_queue_new_prio(&q, 8, 0, NULL, NULL), AQ_EINVAL);
    ASSERT_RC(aq_queue_new_prio(&q, 0, 0, cmp_desc, NULL), AQ_EINVAL);
    ASSERT_RC(aq_queue_new_prio(&q, AQ_ITEM_MAX + 1, 0, cmp_desc, NULL),
              AQ_EINVAL);
    ASSERT(q == (aq_queue *)&q);
    ASSERT_EQ(t_live, 0);

    /* The edges that are accepted. */
    for (int k = 0; k < 3; k++) {
        unsigned char *big = calloc(1, AQ_ITEM_MAX);
        ASSERT(big != NULL);
        big[AQ_ITEM_MAX - 1] = 0x5a;
        ASSERT_OK(aq_queue_new(&q, kinds[k], AQ_ITEM_MAX, -3));
        ASSERT_EQ(aq_queue_maxsize(q), 0); /* negative: unbounded */
        ASSERT_OK(aq_queue_try_put(q, big));
        memset(big, 0, AQ_ITEM_MAX);
        ASSERT_OK(aq_queue_try_get(q, big));
        ASSERT_EQ(big[AQ_ITEM_MAX - 1], 0x5a);
        ASSERT_OK(aq_queue_free(q));
        free(big);
    }
    ASSERT_OK(aq_queue_new(&q, AQ_PRIORITY, sizeof(int64_t), 0));
    ASSERT_OK(aq_queue_free(q));
    /* A comparator of its own needs no int64_t key. */
    ASSERT_OK(aq_queue_new_prio(&q, 1, 0, cmp_byte, NULL));
    unsigned char b = 9;
    ASSERT_OK(aq_queue_try_put(q, &b));
    b = 3;
    ASSERT_OK(aq_queue_try_put(q, &b));
    ASSERT_OK(aq_queue_try_get(q, &b));
    ASSERT_EQ(b, 3);
    ASSERT_OK(aq_queue_free(q));
}

TEST(test_misuse_queue_maxsize_extremes)
{
    aq_queue *q;
    long v = 1;
    ASSERT_OK(aq_queue_new(&q, AQ_FIFO, sizeof v, LONG_MAX));
    ASSERT_EQ(aq_queue_maxsize(q), LONG_MAX);
    ASSERT_OK(aq_queue_try_put(q, &v));
    ASSERT_EQ(aq_queue_full(q), 0);
    ASSERT_OK(aq_queue_free(q));
    ASSERT_OK(aq_queue_new(&q, AQ_LIFO, sizeof v, LONG_MIN));
    ASSERT_EQ(aq_queue_maxsize(q), 0); /* any maxsize <= 0: unbounded */
    ASSERT_EQ(aq_queue_full(q), 0);
    /* Peeking an empty queue: no item 0. */
    v = 7;
    ASSERT_RC(aq_queue_peek(q, 0, &v), AQ_EINVAL);
    ASSERT_EQ(v, 7);
    ASSERT_OK(aq_queue_free(q));
}

/* ---- queue operations ------------------------------------------------ */

TEST(test_misuse_queue_null_arguments)
{
    aq_queue *q = new_fifo(2);
    long v = 7;
    put_long(q, 1);
    struct qstate s = qstate_of(q);
    long live = t_live;

    ASSERT_RC(aq_queue_free(NULL), AQ_EINVAL);
    ASSERT_RC(aq_queue_try_put(NULL, &v), AQ_EINVAL);
    ASSERT_RC(aq_queue_try_put(q, NULL), AQ_EINVAL);
    ASSERT_RC(aq_queue_try_get(NULL, &v), AQ_EINVAL);
    ASSERT_RC(aq_queue_try_get(q, NULL), AQ_EINVAL);
    ASSERT_RC(aq_queue_task_done(NULL), AQ_EINVAL);
    ASSERT_RC(aq_queue_shutdown(NULL, 0), AQ_EINVAL);
    ASSERT_RC(aq_queue_shutdown(NULL, 1), AQ_EINVAL);
    ASSERT_RC(aq_queue_qsize(NULL), AQ_EINVAL);
    ASSERT_RC(aq_queue_maxsize(NULL), AQ_EINVAL);
    ASSERT_EQ(aq_queue_empty(NULL), 0);
    ASSERT_EQ(aq_queue_full(NULL), 0);
    ASSERT_RC(aq_queue_getters(NULL), AQ_EINVAL);
    ASSERT_RC(aq_queue_putters(NULL), AQ_EINVAL);
    ASSERT_RC(aq_queue_joiners(NULL), AQ_EINVAL);
    ASSERT_RC(aq_queue_unfinished(NULL), AQ_EINVAL);
    ASSERT_EQ(aq_queue_is_shutdown(NULL), 0);
    ASSERT_RC(aq_queue_peek(NULL, 0, &v), AQ_EINVAL);
    ASSERT_RC(aq_queue_peek(q, 0, NULL), AQ_EINVAL);
    ASSERT_RC(aq_queue_peek(q, 1, &v), AQ_EINVAL); /* i == qsize */
    ASSERT_RC(aq_queue_peek(q, SIZE_MAX, &v), AQ_EINVAL);
    ASSERT_EQ(v, 7);
    ASSERT_SAME_STATE(q, s);
    ASSERT_EQ(t_live, live);
    ASSERT_OK(aq_queue_peek(q, 0, &v));
    ASSERT_EQ(v, 1);
    ASSERT_OK(aq_queue_free(q));
}

static void *queue_args_main(void *arg)
{
    aq_queue *q = arg;
    struct qstate s = qstate_of(q);
    long v = 7;
    ASSERT_RC(aq_queue_put(NULL, &v), AQ_EINVAL);
    ASSERT_RC(aq_queue_put(q, NULL), AQ_EINVAL);
    ASSERT_RC(aq_queue_put_until(NULL, &v, AQ_NEVER), AQ_EINVAL);
    ASSERT_RC(aq_queue_put_until(q, NULL, AQ_NEVER), AQ_EINVAL);
    ASSERT_RC(aq_queue_get(NULL, &v), AQ_EINVAL);
    ASSERT_RC(aq_queue_get(q, NULL), AQ_EINVAL);
    ASSERT_RC(aq_queue_get_until(NULL, &v, AQ_NEVER), AQ_EINVAL);
    ASSERT_RC(aq_queue_get_until(q, NULL, AQ_NEVER), AQ_EINVAL);
    ASSERT_RC(aq_queue_join(NULL), AQ_EINVAL);
    ASSERT_RC(aq_queue_join_until(NULL, AQ_NEVER), AQ_EINVAL);
    ASSERT_EQ(v, 7);
    ASSERT_SAME_STATE(q, s);
    return NULL;
}

TEST(test_misuse_queue_null_arguments_in_task)
{
    aq_queue *q = new_fifo(1);
    put_long(q, 2); /* full: a bad put must not wait either */
    t_main(queue_args_main, q);
    ASSERT_OK(aq_queue_free(q));
}

TEST(test_misuse_queue_full_empty_shutdown_codes)
{
    aq_queue *q = new_fifo(1);
    long v = -1;
    ASSERT_RC(aq_queue_try_get(q, &v), AQ_EEMPTY);
    ASSERT_EQ(v, -1);
    put_long(q, 1);
    struct qstate s = qstate_of(q);
    v = 2;
    ASSERT_RC(aq_queue_try_put(q, &v), AQ_EFULL);
    ASSERT_SAME_STATE(q, s);
    ASSERT_OK(aq_queue_shutdown(q, 0));
    /* Shutdown is checked before fullness. */
    ASSERT_RC(aq_queue_try_put(q, &v), AQ_ESHUTDOWN);
    ASSERT_EQ(aq_queue_qsize(q), 1);
    ASSERT_EQ(aq_queue_unfinished(q), 1);
    ASSERT_OK(aq_queue_try_get(q, &v)); /* still drains */
    ASSERT_EQ(v, 1);
    v = -1;
    ASSERT_RC(aq_queue_try_get(q, &v), AQ_ESHUTDOWN); /* not EEMPTY */
    ASSERT_RC(aq_queue_try_put(q, &v), AQ_ESHUTDOWN); /* not full now */
    ASSERT_EQ(v, -1);
    /* task_done never reports shutdown. */
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_OK(aq_queue_free(q));
}

TEST(test_misuse_task_done_underflow)
{
    aq_queue *q = new_fifo(0);
    ASSERT_RC(aq_queue_task_done(q), AQ_EINVAL);
    ASSERT_EQ(aq_queue_unfinished(q), 0);
    put_long(q, 1);
    long v;
    ASSERT_OK(aq_queue_try_get(q, &v));
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_RC(aq_queue_task_done(q), AQ_EINVAL);
    ASSERT_EQ(aq_queue_unfinished(q), 0);
    /* Also after shutdown. */
    ASSERT_OK(aq_queue_shutdown(q, 1));
    ASSERT_RC(aq_queue_task_done(q), AQ_EINVAL);
    ASSERT_EQ(aq_queue_unfinished(q), 0);
    ASSERT_OK(aq_queue_free(q));
}

TEST(test_misuse_shutdown_twice_is_harmless)
{
    aq_queue *q = new_fifo(0);
    put_long(q, 1);
    put_long(q, 2);
    put_long(q, 3);
    ASSERT_OK(aq_queue_shutdown(q, 0));
    struct qstate s = qstate_of(q);
    ASSERT_OK(aq_queue_shutdown(q, 0));
    ASSERT_SAME_STATE(q, s);
    ASSERT_EQ(s.qsize, 3);
    ASSERT_EQ(s.shutdown, 1);
    long v;
    ASSERT_OK(aq_queue_try_get(q, &v));
    ASSERT_EQ(v, 1);
    /* A later immediate one still drops what is left: 2 of 3 unfinished. */
    ASSERT_OK(aq_queue_shutdown(q, 1));
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_EQ(aq_queue_unfinished(q), 1);
    ASSERT_OK(aq_queue_shutdown(q, 1));
    ASSERT_OK(aq_queue_shutdown(q, 0));
    ASSERT_EQ(aq_queue_unfinished(q), 1);
    ASSERT_EQ(aq_queue_is_shutdown(q), 1);
    ASSERT_RC(aq_queue_try_get(q, &v), AQ_ESHUTDOWN);
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_OK(aq_queue_free(q));
}

/* A queue with a waiter of each kind in turn refuses to be freed, and
 * keeps working: the waiter is then served normally. */
struct busy {
    aq_queue *q;
    int rc;
};

static void *busy_get(void *arg)
{
    struct busy *b = arg;
    long v;
    b->rc = aq_queue_get(b->q, &v);
    if (b->rc == AQ_OK)
        b->rc = v == 5 ? AQ_OK : AQ_EINVAL;
    return NULL;
}

static void *busy_put(void *arg)
{
    struct busy *b = arg;
    long v = 6;
    b->rc = aq_queue_put(b->q, &v);
    return NULL;
}

static void *busy_join(void *arg)
{
    struct busy *b = arg;
    b->rc = aq_queue_join(b->q);
    return NULL;
}

static void *free_busy_main(void *arg)
{
    (void)arg;
    aq_task_fn waiters[] = {busy_get, busy_put, busy_join};
    for (int i = 0; i < 3; i++) {
        aq_queue *q = new_fifo(1);
        struct busy b = {q, PENDING};
        aq_task *t;
        if (i > 0)
            put_long(q, 1); /* full, and one unfinished */
        ASSERT_OK(aq_spawn(&t, waiters[i], &b));
        ASSERT_OK(aq_yield());
        ASSERT_EQ(b.rc, PENDING);
        struct qstate s = qstate_of(q);
        ASSERT_EQ(s.getters + s.putters + s.joiners, 1);
        ASSERT_RC(aq_queue_free(q), AQ_EBUSY);
        ASSERT_SAME_STATE(q, s);
        /* Serve the waiter through the queue it still sits on. */
        long v = 5;
        if (i == 0) {
            put_long(q, 5);
        } else if (i == 1) {
            ASSERT_OK(aq_queue_get(q, &v));
            ASSERT_EQ(v, 1);
            ASSERT_EQ(aq_queue_qsize(q), 1); /* the putter's 6 */
        } else {
            ASSERT_OK(aq_queue_task_done(q));
        }
        ASSERT_OK(aq_task_wait(t, NULL));
        ASSERT_OK(b.rc);
        ASSERT_OK(aq_task_release(t));
        ASSERT_OK(aq_queue_free(q));
    }
    return NULL;
}

TEST(test_misuse_queue_free_with_waiters_is_ebusy)
{
    t_main(free_busy_main, NULL);
}

/* ---- allocator ------------------------------------------------------- */

TEST(test_misuse_set_allocator_partial_is_einval)
{
    void *(*m[2])(size_t) = {NULL, t_malloc};
    void *(*r[2])(void *, size_t) = {NULL, t_realloc};
    void (*f[2])(void *) = {NULL, t_free};
    for (int i = 1; i < 7; i++) { /* every mix but all-NULL and all-set */
        ASSERT_RC(aq_set_allocator(m[i & 1], r[(i >> 1) & 1], f[i >> 2]),
                  AQ_EINVAL);
        /* The counting allocator is still the one in use. */
        aq_queue *q = new_fifo(0);
        ASSERT(t_live > 0);
        ASSERT_OK(aq_queue_free(q));
        ASSERT_EQ(t_live, 0);
    }
    /* All NULL restores malloc: our counter no longer sees anything. */
    ASSERT_OK(aq_set_allocator(NULL, NULL, NULL));
    long allocs = t_allocs;
    aq_queue *q = new_fifo(0);
    put_long(q, 1);
    ASSERT_EQ(t_allocs, allocs);
    ASSERT_OK(aq_queue_free(q));
    ASSERT_OK(aq_set_allocator(t_malloc, t_realloc, t_free));
    q = new_fifo(0);
    ASSERT(t_live > 0);
    ASSERT_OK(aq_queue_free(q));
}

/* ---- out of memory --------------------------------------------------- */

#define OOM_ITEMS 20    /* storage grows 8 -> 16 -> 32 */
#define OOM_CHILDREN 20 /* the timer heap grows 16 -> 32 */

/* Failures seen by the scenario; each must be the one injected. */
static int g_oom_hits;

/* AQ_OK: carry on. Anything else must be AQ_ENOMEM, and is counted. */
static int oom_failed(int rc)
{
    if (rc == AQ_OK)
        return 0;
    ASSERT_RC(rc, AQ_ENOMEM);
    g_oom_hits++;
    return 1;
}

enum { OOM_FIFO, OOM_LIFO, OOM_PRIO, OOM_CMP, OOM_KINDS };

struct oom {
    aq_queue *q[OOM_KINDS];
    aq_queue *waitq; /* children wait on it with a deadline */
    int ran;         /* the driver started */
    int detached;    /* the detached task ran */
};

static int oom_new_queue(int kind, aq_queue **out)
{
    aq_queue *q = (aq_queue *)&q;
    int rc;
    if (kind == OOM_CMP)
        rc = aq_queue_new_prio(&q, sizeof(int64_t), 0, cmp_desc,
                               (void *)cmp_desc);
    else
        rc = aq_queue_new(&q, kind == OOM_FIFO ? AQ_FIFO
                              : kind == OOM_LIFO ? AQ_LIFO : AQ_PRIORITY,
                          sizeof(int64_t), 0);
    if (oom_failed(rc)) {
        ASSERT(q == (aq_queue *)&q); /* *out untouched */
        *out = NULL;
        return 0;
    }
    *out = q;
    return 1;
}

/* Puts OOM_ITEMS items, by put and try_put in turn, with falling
 * priorities; a put that fails must leave the queue as it was, and later
 * ones must work. Then every item that went in, and only those, comes
 * out in the kind's order. */
static void oom_fill_drain(aq_queue *q, int kind)
{
    int64_t in[OOM_ITEMS];
    int n = 0;
    for (int i = 0; i < OOM_ITEMS; i++) {
        int64_t item = OOM_ITEMS - i;
        struct qstate s = qstate_of(q);
        int rc = i & 1 ? aq_queue_try_put(q, &item)
                       : aq_queue_put(q, &item);
        if (oom_failed(rc)) {
            ASSERT_SAME_STATE(q, s);
            continue;
        }
        in[n++] = item;
    }
    ASSERT_EQ(aq_queue_qsize(q), n);
    ASSERT_EQ(aq_queue_unfinished(q), n);
    /* in[] falls: FIFO and the "largest first" comparator give it back
     * as is, LIFO and the smallest-first default reversed. */
    int forward = kind == OOM_FIFO || kind == OOM_CMP;
    for (int k = 0; k < n; k++) {
        int64_t got = -1;
        ASSERT_OK(aq_queue_get(q, &got));
        ASSERT_EQ(got, in[forward ? k : n - 1 - k]);
        ASSERT_OK(aq_queue_task_done(q));
    }
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_OK(aq_queue_join(q));
}

/* Waits on waitq with a far deadline (so its timer takes a heap slot);
 * returns the item, or -1 if the timer could not be armed. */
static void *oom_child(void *arg)
{
    struct oom *o = arg;
    int64_t v = -1;
    long getters = aq_queue_getters(o->waitq);
    int rc = aq_queue_get_until(o->waitq, &v, aq_now() + 10 * AQ_SEC);
    if (oom_failed(rc)) {
        ASSERT_EQ(aq_queue_getters(o->waitq), getters); /* not parked */
        ASSERT_EQ(v, -1);
        return IARG(-1);
    }
    return IARG(v);
}

static void *oom_detached(void *arg)
{
    ((struct oom *)arg)->detached = 1;
    return NULL;
}

static void *oom_driver(void *arg)
{
    struct oom *o = arg;
    o->ran = 1;
    /* In compact mode every suspending call reserves room to save the
     * task's frames, so each may be the one that fails: it then did
     * nothing, and the scenario carries on or calls it again. */
    oom_failed(aq_sleep(AQ_USEC));

    for (int k = 0; k < OOM_KINDS; k++)
        if (oom_new_queue(k, &o->q[k]))
            oom_fill_drain(o->q[k], k);

    if (!oom_failed(aq_spawn(NULL, oom_detached, o)))
        while (oom_failed(aq_yield()))
            ;

    aq_task *child[OOM_CHILDREN];
    int n = 0;
    if (oom_new_queue(OOM_FIFO, &o->waitq)) {
        for (int i = 0; i < OOM_CHILDREN; i++) {
            aq_task *t = (aq_task *)&t;
            if (oom_failed(aq_spawn(&t, oom_child, o)))
                ASSERT(t == (aq_task *)&t);
            else
                child[n++] = t;
        }
        while (oom_failed(aq_yield())) /* every child parks, or fails to */
            ;
        /* Hand one item to each parked child (no storage needed). */
        long parked = aq_queue_getters(o->waitq);
        for (int64_t i = 0; i < parked; i++)
            ASSERT_OK(aq_queue_try_put(o->waitq, &i));
        ASSERT_EQ(aq_queue_getters(o->waitq), 0);
        ASSERT_EQ(aq_queue_qsize(o->waitq), 0);
        void *res[OOM_CHILDREN];
        while (oom_failed(aq_gather(child, (size_t)n, res)))
            ;
        long served = 0, failed = 0;
        for (int i = 0; i < n; i++) {
            if (IVAL(res[i]) < 0)
                failed++;
            else
                ASSERT_EQ(IVAL(res[i]), served++); /* oldest first */
            ASSERT_OK(aq_task_release(child[i]));
        }
        ASSERT_EQ(served, parked);
        ASSERT(failed <= 1);
    }
    return NULL;
}

/* The scenario on a loop of its own, through the loop API; in compact
 * mode, the shared stack and each task's save buffer are allocations
 * too. */
static void oom_on_loop_mode(struct oom *o, int compact)
{
    aq_loop *l = (aq_loop *)&l;
    if (oom_failed(aq_loop_new(&l))) {
        ASSERT(l == (aq_loop *)&l);
        return;
    }
    if (compact && oom_failed(aq_loop_set_compact(l, 256 * 1024))) {
        ASSERT_OK(aq_loop_free(l));
        return;
    }
    aq_task *d = (aq_task *)&d;
    if (oom_failed(aq_loop_spawn(l, &d, oom_driver, o, 0))) {
        ASSERT(d == (aq_task *)&d);
        ASSERT_OK(aq_loop_run(l)); /* nothing to run */
    } else {
        ASSERT_OK(aq_loop_run(l));
        ASSERT_EQ(aq_task_done(d), 1);
        ASSERT_OK(aq_task_release(d));
    }
    ASSERT_OK(aq_loop_free(l));
}

static void oom_on_loop(struct oom *o) { oom_on_loop_mode(o, 0); }
static void oom_on_compact_loop(struct oom *o) { oom_on_loop_mode(o, 1); }

/* The same through aq_run, whose own setup may fail: then aq_run itself
 * reports AQ_ENOMEM and the driver never starts. */
static void oom_in_run(struct oom *o)
{
    void *res = IARG(1);
    int rc = aq_run(oom_driver, o, &res);
    if (oom_failed(rc)) {
        ASSERT_EQ(o->ran, 0);
        ASSERT_EQ(IVAL(res), 1);
        return;
    }
    ASSERT_EQ(o->ran, 1);
    ASSERT(res == NULL);
}

static void oom_sweep(void (*scenario)(struct oom *))
{
    for (long k = 1;; k++) {
        struct oom o = {0};
        g_oom_hits = 0;
        t_fail_alloc_at(k);
        scenario(&o);
        int injected = t_allocs >= t_fail_at;
        t_fail_alloc_at(0);
        /* Exactly the one injected failure was reported... */
        ASSERT_EQ(g_oom_hits, injected);
        /* ...the scenario then went on or unwound cleanly... */
        if (o.ran) /* the detached task ran unless its spawn failed */
            ASSERT(o.detached || g_oom_hits == 1);
        for (int i = 0; i < OOM_KINDS; i++)
            if (o.q[i])
                ASSERT_OK(aq_queue_free(o.q[i]));
        if (o.waitq)
            ASSERT_OK(aq_queue_free(o.waitq));
        /* ...and nothing leaked. */
        ASSERT_EQ(t_live, 0);
        if (!injected) {
            /* Ran clean: every allocation was tried once. */
            ASSERT(k > OOM_CHILDREN + OOM_KINDS);
            ASSERT_EQ(o.ran, 1);
            ASSERT_EQ(o.detached, 1);
            break;
        }
        ASSERT(k < 1000);
    }
}

TEST(test_misuse_out_of_memory_loop_sweep)
{
    oom_sweep(oom_on_loop);
}

TEST(test_misuse_out_of_memory_run_sweep)
{
    oom_sweep(oom_in_run);
}

TEST(test_misuse_out_of_memory_compact_sweep)
{
    oom_sweep(oom_on_compact_loop);
}

/* Every predicate answers only 1 or 0, and 0 for NULL: `if (pred(x))`
 * must never read an error code as true. Each is seen answering 0 and 1
 * on a live object too. */
static void *predicates_main(void *arg)
{
    (void)arg;
    ASSERT_EQ(aq_task_done(NULL), 0);
    ASSERT_EQ(aq_task_cancelled(NULL), 0);
    ASSERT_EQ(aq_queue_empty(NULL), 0);
    ASSERT_EQ(aq_queue_full(NULL), 0);
    ASSERT_EQ(aq_queue_is_shutdown(NULL), 0);
    ASSERT_EQ(aq_event_is_set(NULL), 0);
    ASSERT_EQ(aq_lock_locked(NULL), 0);
    ASSERT_EQ(aq_sem_locked(NULL), 0);
    ASSERT_EQ(aq_barrier_broken(NULL), 0);
    ASSERT_EQ(aq_timeout_expired(NULL), 0);
    ASSERT_EQ(aq_reader_at_eof(NULL), 0);

    aq_task *t;
    ASSERT_OK(aq_spawn(&t, ret_arg, NULL));
    ASSERT_EQ(aq_task_done(t), 0);
    ASSERT_EQ(aq_task_cancelled(t), 0);
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_EQ(aq_task_cancelled(t), 1);
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_EQ(aq_task_done(t), 1);
    ASSERT_OK(aq_task_release(t));

    aq_queue *q;
    ASSERT_OK(aq_queue_new(&q, AQ_FIFO, sizeof(int), 1));
    int v = 7;
    ASSERT_EQ(aq_queue_empty(q), 1);
    ASSERT_EQ(aq_queue_full(q), 0);
    ASSERT_OK(aq_queue_try_put(q, &v));
    ASSERT_EQ(aq_queue_empty(q), 0);
    ASSERT_EQ(aq_queue_full(q), 1);
    ASSERT_EQ(aq_queue_is_shutdown(q), 0);
    ASSERT_OK(aq_queue_shutdown(q, 1));
    ASSERT_EQ(aq_queue_is_shutdown(q), 1);
    ASSERT_OK(aq_queue_free(q));

    aq_event *e;
    ASSERT_OK(aq_event_new(&e));
    ASSERT_EQ(aq_event_is_set(e), 0);
    ASSERT_OK(aq_event_set(e));
    ASSERT_EQ(aq_event_is_set(e), 1);
    ASSERT_OK(aq_event_free(e));

    aq_lock *l;
    ASSERT_OK(aq_lock_new(&l));
    ASSERT_EQ(aq_lock_locked(l), 0);
    ASSERT_OK(aq_lock_acquire(l));
    ASSERT_EQ(aq_lock_locked(l), 1);
    ASSERT_OK(aq_lock_release(l));
    ASSERT_OK(aq_lock_free(l));

    aq_sem *sem;
    ASSERT_OK(aq_sem_new(&sem, 1, 0));
    ASSERT_EQ(aq_sem_locked(sem), 0);
    ASSERT_OK(aq_sem_acquire(sem));
    ASSERT_EQ(aq_sem_locked(sem), 1);
    ASSERT_OK(aq_sem_release(sem));
    ASSERT_OK(aq_sem_free(sem));

    aq_barrier *b;
    ASSERT_OK(aq_barrier_new(&b, 2));
    ASSERT_EQ(aq_barrier_broken(b), 0);
    ASSERT_OK(aq_barrier_abort(b));
    ASSERT_EQ(aq_barrier_broken(b), 1);
    ASSERT_OK(aq_barrier_free(b));

    aq_timeout scope;
    ASSERT_OK(aq_timeout_begin(&scope, aq_now() + AQ_MSEC));
    ASSERT_EQ(aq_timeout_expired(&scope), 0);
    ASSERT_RC(aq_sleep(10 * AQ_MSEC), AQ_ETIMEDOUT);
    ASSERT_EQ(aq_timeout_expired(&scope), 1);
    ASSERT_EQ(aq_timeout_end(&scope), 1);
    return NULL;
}
TEST(test_misuse_predicates_answer_0_or_1) { t_main(predicates_main, NULL); }

/* AQ_QUEUE_PUT/GET catch a variable of the wrong size, moving nothing; a
 * plain queue and a shared one alike. */
static void *sized_main(void *arg)
{
    (void)arg;
    for (int shared = 0; shared < 2; shared++) {
        aq_queue *q = new_fifo(4);
        if (shared)
            ASSERT_OK(aq_queue_share(q));
        int small = 7;
        long v = 42, out = 0;
        ASSERT_RC(AQ_QUEUE_PUT(q, &small), AQ_EINVAL);
        ASSERT_EQ(aq_queue_qsize(q), 0);
        ASSERT_OK(AQ_QUEUE_PUT(q, &v));
        ASSERT_RC(AQ_QUEUE_GET(q, &small), AQ_EINVAL);
        ASSERT_EQ(small, 7);
        ASSERT_EQ(aq_queue_qsize(q), 1);
        ASSERT_OK(AQ_QUEUE_GET(q, &out));
        ASSERT_EQ(out, 42);
        ASSERT_RC(aq_queue_get_sized(q, &out, sizeof out, aq_now()),
                  AQ_ETIMEDOUT); /* the deadline form */
        ASSERT_RC(aq_queue_put_sized(NULL, &v, sizeof v, AQ_NEVER),
                  AQ_EINVAL);
        ASSERT_OK(aq_queue_free(q));
    }
    return NULL;
}

TEST(test_misuse_sized_put_get)
{
    t_main(sized_main, NULL);
    aq_queue *q = new_fifo(4);
    int small = 1;
    ASSERT_RC(AQ_QUEUE_PUT(q, &small), AQ_EPERM); /* outside a task first */
    ASSERT_RC(AQ_QUEUE_GET(q, &small), AQ_EPERM);
    ASSERT_OK(aq_queue_free(q));
}

int main(int argc, char **argv)
{
    RUN(test_misuse_error_names_and_messages);
    RUN(test_misuse_version_and_clock);
    RUN(test_misuse_loop_bad_arguments);
    RUN(test_misuse_loop_run_and_free_nested_are_ebusy);
    RUN(test_misuse_loop_sizes_at_the_edges);
    RUN(test_misuse_task_null_handles);
    RUN(test_misuse_task_bad_arguments);
    RUN(test_misuse_gather_empty_set);
    RUN(test_misuse_cancelled_task_suspending_calls);
    RUN(test_misuse_suspending_outside_task_is_eperm);
    RUN(test_misuse_queue_new_bad_arguments);
    RUN(test_misuse_queue_maxsize_extremes);
    RUN(test_misuse_queue_null_arguments);
    RUN(test_misuse_predicates_answer_0_or_1);
    RUN(test_misuse_sized_put_get);
    RUN(test_misuse_queue_null_arguments_in_task);
    RUN(test_misuse_queue_full_empty_shutdown_codes);
    RUN(test_misuse_task_done_underflow);
    RUN(test_misuse_shutdown_twice_is_harmless);
    RUN(test_misuse_queue_free_with_waiters_is_ebusy);
    RUN(test_misuse_set_allocator_partial_is_einval);
    RUN(test_misuse_out_of_memory_loop_sweep);
    RUN(test_misuse_out_of_memory_run_sweep);
    RUN(test_misuse_out_of_memory_compact_sweep);
    return t_done();
}
