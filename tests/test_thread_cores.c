/* Loops on every core (aq_cores_*): a shared work queue fanned out to
 * consumer tasks on every loop, each item consumed once, with work on
 * every loop; stop cancels the tasks still waiting; misuse is reported. */
#include "rt_helpers.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NLOOPS 2
#define NCONSUMERS 8
#define NWORK 100000

static struct {
    aq_queue *q;
    aq_cores *c;
    _Atomic long sum, items, cancelled;
    _Atomic int used[NLOOPS]; /* consumers that ran on loop i */
} g;

static void *consumer(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < aq_cores_count(g.c); i++)
        if (aq_cores_loop(g.c, i) == aq_loop_current())
            g.used[i]++;
    long v;
    int rc;
    while ((rc = aq_queue_get(g.q, &v)) == AQ_OK) {
        g.sum += v;
        g.items++;
        ASSERT_OK(aq_queue_task_done(g.q));
    }
    if (rc == AQ_ECANCELED)
        g.cancelled++;
    else
        ASSERT_RC(rc, AQ_ESHUTDOWN);
    return NULL;
}

TEST(test_cores_fan_out)
{
    memset(&g, 0, sizeof g);
    g.q = new_fifo(64);
    ASSERT_OK(aq_queue_share(g.q));
    ASSERT_OK(aq_cores_start(&g.c, NLOOPS));
    ASSERT_EQ(aq_cores_count(g.c), NLOOPS);
    for (int i = 0; i < NCONSUMERS; i++)
        ASSERT_OK(aq_cores_spawn(g.c, AQ_ANY_CORE, consumer, NULL));
    for (long i = 1; i <= NWORK; i++)
        ASSERT_OK(aq_queue_thread_put(g.q, &i));
    ASSERT_OK(aq_queue_thread_join(g.q));
    ASSERT_OK(aq_queue_shutdown(g.q, 0));
    ASSERT_OK(aq_cores_wait(g.c)); /* every consumer returned */
    ASSERT_EQ(g.items, NWORK);
    ASSERT_EQ(g.sum, (long)NWORK * (NWORK + 1) / 2);
    for (int i = 0; i < NLOOPS; i++)
        ASSERT_EQ(g.used[i], NCONSUMERS / NLOOPS); /* round robin */
    ASSERT_OK(aq_cores_stop(g.c));
    ASSERT_OK(aq_queue_free(g.q));
}

TEST(test_cores_stop_cancels_waiting_tasks)
{
    memset(&g, 0, sizeof g);
    g.q = new_fifo(0);
    ASSERT_OK(aq_queue_share(g.q));
    ASSERT_OK(aq_cores_start(&g.c, 0)); /* one per CPU */
    ASSERT(aq_cores_count(g.c) >= 1);
    for (int i = 0; i < NCONSUMERS; i++)
        ASSERT_OK(aq_cores_spawn(g.c, i % (long)aq_cores_count(g.c),
                                 consumer, NULL));
    while (aq_queue_getters(g.q) < NCONSUMERS) /* all parked */
        usleep(1000);
    ASSERT_OK(aq_cores_stop(g.c));
    ASSERT_EQ(g.cancelled, NCONSUMERS);
    ASSERT_EQ(aq_queue_getters(g.q), 0);
    ASSERT_OK(aq_queue_free(g.q));
}

static void *stop_in_a_job(void *arg)
{
    (void)arg;
    return IARG(aq_cores_stop(g.c));
}

static void *misuse_from_a_loop(void *arg)
{
    (void)arg;
    ASSERT_RC(aq_cores_wait(g.c), AQ_EDEADLK);
    ASSERT_RC(aq_cores_stop(g.c), AQ_EDEADLK); /* left running */
    /* Through the pool, as thread.h says a task calls it: the job would
     * join this very loop's thread, which waits for the job (before the
     * fix, a hang that even exit() could not end). */
    void *r = NULL;
    ASSERT_OK(aq_to_thread(stop_in_a_job, NULL, &r));
    ASSERT_EQ((int)(intptr_t)r, AQ_EDEADLK);
    g.items = 1;
    return NULL;
}

/* Stopping a core cancels its tasks at once, even one waiting for a pool
 * job that runs on: the job's caller gets AQ_ECANCELED while the job is
 * still blocked, and its cleanup runs once the job returns, within the
 * stop (a fresh user's trial: no task was cancelled until the job
 * returned, which took as long as the job; the caller then got AQ_OK). */
static _Atomic int pool_gate, pool_started, pool_cleanups;
static _Atomic int pool_caller_rc = PENDING;

static void *gated_job(void *arg)
{
    pool_started = 1;
    while (!pool_gate)
        usleep(1000);
    return arg;
}

static void count_cleanup(void *result, void *arg)
{
    (void)result, (void)arg;
    pool_cleanups++;
}

static void *pool_caller(void *arg)
{
    (void)arg;
    pool_caller_rc =
        aq_to_thread_ex(gated_job, NULL, count_cleanup, NULL, AQ_NEVER);
    return NULL;
}

static void *stopper(void *arg) { return IARG(aq_cores_stop(arg)); }

TEST(test_cores_stop_cancels_a_pool_caller_at_once)
{
    aq_cores *c;
    pthread_t th;
    ASSERT_OK(aq_cores_start(&c, 1));
    ASSERT_OK(aq_cores_spawn(c, 0, pool_caller, NULL));
    while (!pool_started)
        usleep(1000);
    ASSERT(pthread_create(&th, NULL, stopper, c) == 0);
    for (int i = 0; i < 2000 && pool_caller_rc == PENDING; i++)
        usleep(1000);
    int seen = pool_caller_rc, gate_closed = !pool_gate;
    pool_gate = 1; /* the job returns: the stop can finish */
    void *rc;
    ASSERT(pthread_join(th, &rc) == 0);
    ASSERT_OK((int)IVAL(rc));
    ASSERT(gate_closed);
    ASSERT_RC(seen, AQ_ECANCELED); /* before the job returned */
    ASSERT_EQ(pool_cleanups, 1);
}

TEST(test_cores_bad_input)
{
    memset(&g, 0, sizeof g);
    ASSERT_RC(aq_cores_start(NULL, 1), AQ_EINVAL);
    ASSERT_RC(aq_cores_start(&g.c, AQ_CORES_MAX + 1), AQ_EINVAL);
    t_fail_alloc_at(1);
    ASSERT_RC(aq_cores_start(&g.c, 1), AQ_ENOMEM);
    t_fail_alloc_at(0);
    ASSERT_OK(aq_cores_start(&g.c, 1));
    ASSERT_RC(aq_cores_spawn(NULL, 0, consumer, NULL), AQ_EINVAL);
    ASSERT_RC(aq_cores_spawn(g.c, 0, NULL, NULL), AQ_EINVAL);
    ASSERT_RC(aq_cores_spawn(g.c, 1, consumer, NULL), AQ_EINVAL);
    ASSERT_RC(aq_cores_spawn(g.c, -2, consumer, NULL), AQ_EINVAL);
    ASSERT(aq_cores_loop(g.c, 1) == NULL);
    ASSERT(aq_cores_loop(NULL, 0) == NULL);
    ASSERT_EQ(aq_cores_count(NULL), 0);
    ASSERT_RC(aq_cores_wait(NULL), AQ_EINVAL);
    ASSERT_RC(aq_cores_stop(NULL), AQ_EINVAL);
    t_fail_alloc_at(1);
    ASSERT_RC(aq_cores_spawn(g.c, 0, consumer, NULL), AQ_ENOMEM);
    t_fail_alloc_at(0);
    ASSERT_OK(aq_cores_wait(g.c)); /* the failed spawn left no count */
    ASSERT_OK(aq_cores_spawn(g.c, 0, misuse_from_a_loop, NULL));
    ASSERT_OK(aq_cores_wait(g.c));
    ASSERT_EQ(g.items, 1);
    ASSERT_OK(aq_cores_stop(g.c));
}

/* One loop of a set ended early (aq_loop_stop on aq_cores_loop, or its
 * keep-alive undone by one of its tasks): spawns and posts to it return
 * AQ_EINVAL, the others run on, and aq_cores_stop ends the rest. Before
 * the fix the loop's thread freed it at once: the later spawn, post and
 * stop used freed memory (ASan), and the plain build crashed in
 * aq_cores_stop. */
static void *sleeper(void *arg)
{
    (void)arg;
    if (aq_sleep(30 * AQ_SEC) == AQ_ECANCELED)
        g.cancelled++;
    return NULL;
}

static void *count_run(void *arg)
{
    (void)arg;
    g.items++;
    return NULL;
}

static void *unkeep(void *arg)
{
    (void)arg;
    ASSERT_OK(aq_loop_keep_alive(aq_loop_current(), 0));
    return NULL;
}

static void nop_post(void *arg) { (void)arg; }

/* Spawns to loop i until the set refuses them (the loop has ended):
 * each accepted one runs, since an ending loop runs what it accepted. */
static void until_ended(long i)
{
    int rc;
    for (int tries = 0;
         (rc = aq_cores_spawn(g.c, i, count_run, NULL)) == AQ_OK &&
         tries < 10000;
         tries++)
        usleep(100);
    ASSERT_RC(rc, AQ_EINVAL);
}

TEST(test_cores_loop_ended_early)
{
    memset(&g, 0, sizeof g);
    ASSERT_OK(aq_cores_start(&g.c, 3));
    for (long i = 0; i < 2; i++)
        ASSERT_OK(aq_cores_spawn(g.c, i, sleeper, NULL));
    aq_loop *one = aq_cores_loop(g.c, 1);
    ASSERT_OK(aq_loop_stop(one));
    until_ended(1);
    /* Its sleeper is cancelled as it ends, just after the refusals. */
    for (int tries = 0; g.cancelled < 1 && tries < 10000; tries++)
        usleep(100);
    ASSERT_EQ(g.cancelled, 1);
    ASSERT_RC(aq_loop_post(one, nop_post, NULL), AQ_EINVAL);
    ASSERT_OK(aq_loop_stop(one)); /* harmless */
    long before = g.items;
    int ok = 0;
    for (int i = 0; i < 6; i++) /* round robin skips nothing: 1 refuses */
        ok += aq_cores_spawn(g.c, AQ_ANY_CORE, count_run, NULL) == AQ_OK;
    ASSERT_EQ(ok, 4);
    /* A task undoing its own loop's keep-alive ends that loop too, once
     * it has nothing left to do (loop 2 has no sleeper). */
    ASSERT_OK(aq_cores_spawn(g.c, 2, unkeep, NULL));
    until_ended(2);
    ASSERT_OK(aq_cores_stop(g.c));
    ASSERT_EQ(g.cancelled, 2);
    ASSERT(g.items >= before + 4);
}

/* A thread may be inside aq_cores_wait when another calls aq_cores_stop
 * (a shutdown while a thread waits for the work): the wait returns once
 * the stop has finished the tasks, and the stop frees the set only after
 * that thread has left it (ThreadSanitizer reported the mutex destroyed
 * under the waiter, ASan a use after free, before the fix). */
static _Atomic pid_t waiter_tid;

static void *cores_waiter(void *arg)
{
    waiter_tid = (pid_t)syscall(SYS_gettid);
    return (void *)(intptr_t)aq_cores_wait(arg);
}

/* Until the waiter sleeps: in aq_cores_wait, since nothing else before
 * it can (the tasks it waits for sleep for 30 s). */
static void until_waiter_sleeps(void)
{
    char path[64], stat[256];
    while (!waiter_tid)
        sched_yield();
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)waiter_tid);
    for (;;) {
        FILE *f = fopen(path, "r");
        ASSERT(f != NULL);
        size_t n = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[n] = 0;
        char *end = strrchr(stat, ')'); /* "pid (comm) S ..." */
        if (end && end[1] == ' ' && end[2] == 'S')
            return;
        usleep(100);
    }
}

TEST(test_cores_wait_under_way_at_stop)
{
    for (int round = 0; round < 20; round++) {
        memset(&g, 0, sizeof g);
        ASSERT_OK(aq_cores_start(&g.c, 2));
        for (int i = 0; i < 4; i++)
            ASSERT_OK(aq_cores_spawn(g.c, AQ_ANY_CORE, sleeper, NULL));
        pthread_t th;
        waiter_tid = 0;
        ASSERT_EQ(pthread_create(&th, NULL, cores_waiter, g.c), 0);
        until_waiter_sleeps(); /* under way: none may begin after a stop */
        ASSERT_OK(aq_cores_stop(g.c));
        void *rc = NULL;
        ASSERT_EQ(pthread_join(th, &rc), 0);
        ASSERT_OK((int)(intptr_t)rc);
        ASSERT_EQ(g.cancelled, 4);
    }
}

/* Starts a set of n loops, spawns fn(arg) onto its last core and returns
 * the set once *started says fn's pool job runs. */
static aq_cores *with_a_job_started(size_t n, aq_task_fn fn, void *arg,
                                    _Atomic int *started)
{
    aq_cores *c;
    ASSERT_OK(aq_cores_start(&c, n));
    ASSERT_OK(aq_cores_spawn(c, (long)n - 1, fn, arg ? arg : c));
    while (!*started)
        usleep(1000);
    return c;
}

/* aq_cores_stop settles every loop (waits for its pool jobs' ends and
 * runs them) before it frees any: loop 1's job, still running as the
 * stop begins, posts to loop 0, and its cleanup, run by the stop, spawns
 * onto core 0. Both must find loop 0 ended (AQ_EINVAL), not freed (a
 * reviewer's reproducers: ASan's heap-use-after-free of loop 0, freed
 * while loop 1's free waited for the job). */
static _Atomic int late_started, late_post_rc = PENDING,
                                 late_spawn_rc = PENDING;

static void *late_job(void *arg)
{
    aq_cores *c = arg;
    late_started = 1;
    usleep(100 * 1000); /* the stop has begun (stopper, below) */
    late_post_rc = aq_loop_post(aq_cores_loop(c, 0), nop_post, NULL);
    return arg;
}

static void spawn_cleanup(void *result, void *arg)
{
    (void)arg;
    late_spawn_rc = aq_cores_spawn(result, 0, sleeper, NULL);
}

static void *late_caller(void *arg)
{
    ASSERT_RC(aq_to_thread_ex(late_job, arg, spawn_cleanup, NULL, AQ_NEVER),
              AQ_ECANCELED);
    return NULL;
}

TEST(test_cores_stop_settles_every_loop_before_freeing)
{
    ASSERT_OK(aq_cores_stop(
        with_a_job_started(2, late_caller, NULL, &late_started)));
    ASSERT_RC(late_post_rc, AQ_EINVAL);
    ASSERT_RC(late_spawn_rc, AQ_EINVAL);
}

/* aq_cores_stop from a loop nested in a post of one of c's loops runs on
 * that loop's thread, which it would join: AQ_EDEADLK, directly or
 * through a pool job (before, the direct call returned AQ_OK with the
 * thread never joined, then used c freed: ASan; through the job, it
 * hung). */
static _Atomic int nested_done;
static _Atomic int nested_rc[2] = {PENDING, PENDING};

static void *nested_main(void *arg)
{
    nested_rc[0] = aq_cores_stop(arg);
    void *r = NULL;
    ASSERT_OK(aq_to_thread(stop_in_a_job, NULL, &r));
    nested_rc[1] = (int)(intptr_t)r;
    return NULL;
}

static void run_nested(void *arg)
{
    ASSERT_OK(aq_run(nested_main, arg, NULL));
    nested_done = 1;
}

TEST(test_cores_stop_from_a_loop_nested_in_a_post)
{
    memset(&g, 0, sizeof g);
    ASSERT_OK(aq_cores_start(&g.c, 2));
    ASSERT_OK(aq_cores_spawn(g.c, 0, sleeper, NULL));
    ASSERT_OK(aq_loop_post(aq_cores_loop(g.c, 0), run_nested, g.c));
    while (!nested_done)
        usleep(1000);
    ASSERT_RC(nested_rc[0], AQ_EDEADLK);
    ASSERT_RC(nested_rc[1], AQ_EDEADLK);
    ASSERT_OK(aq_cores_stop(g.c)); /* it was left running */
    ASSERT_EQ(g.cancelled, 1);
}

/* A pool job of c1's, left running by aq_cores_stop(c1) (which waits for
 * it after joining c1's thread), starts and stops a set c2 of its own:
 * AQ_OK. The stop compared thread ids, and glibc gives c2's thread the id
 * of c1's joined one: AQ_EDEADLK (a reviewer's reproducer). */
static _Atomic int reuse_started, reuse_stop_rc = PENDING;

static void *nothing(void *arg) { return arg; }

static void *starts_and_stops_another_set(void *arg)
{
    (void)arg;
    reuse_started = 1;
    usleep(100 * 1000); /* c1's thread joined meanwhile */
    aq_cores *c2;
    ASSERT_OK(aq_cores_start(&c2, 1));
    ASSERT_OK(aq_cores_spawn(c2, 0, nothing, NULL));
    ASSERT_OK(aq_cores_wait(c2));
    reuse_stop_rc = aq_cores_stop(c2);
    return NULL;
}

static void *waits_for_that_job(void *arg)
{
    (void)arg;
    ASSERT_RC(aq_to_thread(starts_and_stops_another_set, NULL, NULL),
              AQ_ECANCELED);
    return NULL;
}

TEST(test_cores_job_stops_another_set_during_a_stop)
{
    ASSERT_OK(aq_cores_stop(
        with_a_job_started(1, waits_for_that_job, NULL, &reuse_started)));
    ASSERT_OK(reuse_stop_rc);
}

/* aq_cores_stop from a task (of another loop): the cleanups of the pool
 * jobs it waits for run outside any task, as in aq_loop_free, and no
 * other task of the caller's loop runs meanwhile (the settle before the
 * frees ran them as the caller's task: a cleanup's aq_sleep suspended the
 * stop, and other tasks ran; a reviewer's reproducer). */
static _Atomic int plain_started, plain_sleep_rc = PENDING;
static aq_task *_Atomic plain_self = (aq_task *)1;
static int others_ran;
static _Atomic int stopping;

static void *short_job(void *arg)
{
    plain_started = 1;
    usleep(100 * 1000);
    return arg;
}

static void plain_cleanup(void *result, void *arg)
{
    (void)result, (void)arg;
    plain_self = aq_task_self();
    plain_sleep_rc = aq_sleep(AQ_MSEC);
}

static void *calls_short_job(void *arg)
{
    (void)arg;
    ASSERT_RC(aq_to_thread_ex(short_job, NULL, plain_cleanup, NULL, AQ_NEVER),
              AQ_ECANCELED);
    return NULL;
}

static void *ticks(void *arg)
{
    (void)arg;
    while (aq_sleep(100 * AQ_USEC) == AQ_OK)
        others_ran += stopping;
    return NULL;
}

static void *stops_from_a_task(void *arg)
{
    (void)arg;
    aq_task *other;
    aq_cores *c;
    ASSERT_OK(aq_spawn(&other, ticks, NULL));
    ASSERT_OK(aq_cores_start(&c, 1));
    ASSERT_OK(aq_cores_spawn(c, 0, calls_short_job, NULL));
    while (!plain_started)
        ASSERT_OK(aq_sleep(AQ_MSEC));
    stopping = 1;
    ASSERT_OK(aq_cores_stop(c));
    stopping = 0;
    ASSERT_OK(aq_task_cancel(other));
    ASSERT_OK(aq_task_wait(other, NULL));
    ASSERT_OK(aq_task_release(other));
    return NULL;
}

TEST(test_cores_stop_runs_cleanups_outside_any_task)
{
    t_main(stops_from_a_task, NULL);
    ASSERT(plain_self == NULL);
    ASSERT_RC(plain_sleep_rc, AQ_EPERM);
    ASSERT_EQ(others_ran, 0);
}

int main(int argc, char **argv)
{
    RUN(test_cores_fan_out);
    RUN(test_cores_stop_cancels_waiting_tasks);
    RUN(test_cores_stop_cancels_a_pool_caller_at_once);
    RUN(test_cores_bad_input);
    RUN(test_cores_loop_ended_early);
    RUN(test_cores_wait_under_way_at_stop);
    RUN(test_cores_stop_settles_every_loop_before_freeing);
    RUN(test_cores_stop_from_a_loop_nested_in_a_post);
    RUN(test_cores_job_stops_another_set_during_a_stop);
    RUN(test_cores_stop_runs_cleanups_outside_any_task);
    return t_done();
}
