/* Posts from other threads (aq_loop_post), aq_loop_stop and
 * aq_loop_keep_alive: every post runs once, in order per thread, on the
 * loop's thread and outside any task; a sleeping loop is woken; a loop
 * kept alive is not taken for a deadlock; stop from another thread. */
#include "rt_helpers.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define NTHREADS 4
#define NPOSTS 20000

static struct {
    aq_loop *loop;
    long last[NTHREADS]; /* the last sequence number seen per thread */
    long runs;
    int in_task;         /* a post found itself inside a task */
    int bad_order;
    pthread_t loop_thread;
    int wrong_thread;
} g;

struct msg {
    int thread;
    long seq;
};

static struct msg g_msgs[NTHREADS][NPOSTS];

static void on_post(void *arg)
{
    struct msg *m = arg;
    if (aq_task_self())
        g.in_task = 1;
    if (!pthread_equal(pthread_self(), g.loop_thread))
        g.wrong_thread = 1;
    if (m->seq != g.last[m->thread] + 1)
        g.bad_order = 1;
    g.last[m->thread] = m->seq;
    if (++g.runs == (long)NTHREADS * NPOSTS)
        ASSERT_OK(aq_loop_keep_alive(g.loop, 0)); /* nothing more to wait */
}

static void *poster(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (long i = 0; i < NPOSTS; i++) {
        g_msgs[t][i] = (struct msg){t, i};
        ASSERT_OK(aq_loop_post(g.loop, on_post, &g_msgs[t][i]));
        if (i % 1000 == 0)
            usleep(100); /* let the loop fall asleep now and then */
    }
    return NULL;
}

TEST(test_post_from_threads_in_order)
{
    memset(&g, 0, sizeof g);
    for (int t = 0; t < NTHREADS; t++)
        g.last[t] = -1;
    ASSERT_OK(aq_loop_new(&g.loop));
    ASSERT_OK(aq_loop_keep_alive(g.loop, 1));
    g.loop_thread = pthread_self();
    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++)
        ASSERT(pthread_create(&th[t], NULL, poster, (void *)(intptr_t)t) ==
               0);
    /* Nothing to run and no timer: the loop waits for the posts, and
     * returns once the last one lets go of it. */
    ASSERT_OK(aq_loop_run(g.loop));
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(th[t], NULL);
    ASSERT_EQ(g.runs, (long)NTHREADS * NPOSTS);
    for (int t = 0; t < NTHREADS; t++)
        ASSERT_EQ(g.last[t], NPOSTS - 1);
    ASSERT_EQ(g.bad_order, 0);
    ASSERT_EQ(g.in_task, 0);
    ASSERT_EQ(g.wrong_thread, 0);
    ASSERT_OK(aq_loop_free(g.loop));
}

/* A post spawns a task and feeds a queue it waits on: the hand-over from
 * a thread into the loop's tasks. */
static aq_queue *g_q;

static void *consumer(void *arg)
{
    long v;
    ASSERT_OK(aq_queue_get(g_q, &v));
    *(long *)arg = v;
    return NULL;
}

static void feed(void *arg)
{
    long v = (long)(intptr_t)arg;
    ASSERT_OK(aq_queue_try_put(g_q, &v));
    ASSERT_OK(aq_loop_keep_alive(g.loop, 0));
}

static void *late_feeder(void *arg)
{
    (void)arg;
    usleep(10000);
    ASSERT_OK(aq_loop_post(g.loop, feed, (void *)(intptr_t)42));
    return NULL;
}

TEST(test_post_feeds_a_waiting_task)
{
    static long got;
    got = 0;
    g_q = new_fifo(0);
    ASSERT_OK(aq_loop_new(&g.loop));
    ASSERT_OK(aq_loop_keep_alive(g.loop, 1));
    ASSERT_OK(aq_loop_spawn(g.loop, NULL, consumer, &got, 0));
    pthread_t th;
    ASSERT(pthread_create(&th, NULL, late_feeder, NULL) == 0);
    ASSERT_OK(aq_loop_run(g.loop));
    pthread_join(th, NULL);
    ASSERT_EQ(got, 42);
    ASSERT_OK(aq_loop_free(g.loop));
    ASSERT_OK(aq_queue_free(g_q));
}

/* aq_loop_stop from another thread wakes a kept-alive loop at once. */
static void *stopper(void *arg)
{
    usleep(10000);
    ASSERT_OK(aq_loop_stop(arg));
    return NULL;
}

static void *forever(void *arg)
{
    (void)arg;
    int rc = aq_sleep(AQ_SEC * 3600);
    ASSERT_RC(rc, AQ_ECANCELED);
    return NULL;
}

TEST(test_post_stop_from_another_thread)
{
    aq_loop *l;
    ASSERT_OK(aq_loop_new(&l));
    ASSERT_OK(aq_loop_keep_alive(l, 1));
    ASSERT_OK(aq_loop_spawn(l, NULL, forever, NULL, 0));
    pthread_t th;
    int64_t t0 = aq_now();
    ASSERT(pthread_create(&th, NULL, stopper, l) == 0);
    ASSERT_OK(aq_loop_run(l));
    ASSERT(aq_now() - t0 < AQ_SEC); /* woken, not the hour-long timer */
    pthread_join(th, NULL);
    ASSERT_OK(aq_loop_free(l)); /* cancels and reaps the sleeper */
}

/* aq_run: a stop before fn returns makes it return AQ_ECANCELED. */
static void *run_main(void *arg)
{
    (void)arg;
    ASSERT_OK(aq_loop_keep_alive(aq_loop_current(), 1));
    pthread_t th;
    ASSERT(pthread_create(&th, NULL, stopper, aq_loop_current()) == 0);
    pthread_detach(th);
    int rc = aq_sleep(AQ_SEC * 3600);
    ASSERT_RC(rc, AQ_ECANCELED);
    return NULL;
}

TEST(test_post_stop_aq_run) { ASSERT_RC(aq_run(run_main, NULL, NULL), AQ_ECANCELED); }

TEST(test_post_bad_input)
{
    aq_loop *l;
    ASSERT_RC(aq_loop_post(NULL, on_post, NULL), AQ_EINVAL);
    ASSERT_RC(aq_loop_stop(NULL), AQ_EINVAL);
    ASSERT_RC(aq_loop_keep_alive(NULL, 1), AQ_EINVAL);
    ASSERT_OK(aq_loop_new(&l));
    ASSERT_RC(aq_loop_post(l, NULL, NULL), AQ_EINVAL);
    ASSERT_RC(aq_loop_post(l, on_post, NULL), AQ_EINVAL); /* not open */
    ASSERT_RC(aq_loop_keep_alive(l, 0), AQ_EINVAL); /* not kept alive */
    /* Allocation failures: the inbox's first creation fails cleanly. */
    for (long k = 1;; k++) {
        t_fail_alloc_at(k);
        int rc = aq_loop_keep_alive(l, 1);
        t_fail_alloc_at(0);
        if (rc == AQ_OK) {
            ASSERT(k > 3); /* the I/O state, its poller, the inbox */
            break;
        }
        ASSERT_RC(rc, AQ_ENOMEM);
        ASSERT_RC(aq_loop_post(l, on_post, NULL), AQ_EINVAL);
    }
    ASSERT_OK(aq_loop_keep_alive(l, 1)); /* now open, kept twice */
    t_fail_alloc_at(1);
    ASSERT_RC(aq_loop_post(l, on_post, NULL), AQ_ENOMEM);
    t_fail_alloc_at(0);
    ASSERT_OK(aq_loop_keep_alive(l, 0));
    ASSERT_OK(aq_loop_keep_alive(l, 0));
    ASSERT_OK(aq_loop_run(l)); /* no longer kept: returns at once */
    ASSERT_OK(aq_loop_free(l));
}

/* A loop driven by a host loop (aq_loop_fd, aq_loop_run_ready): a post
 * from another thread makes the fd readable while the host sleeps on it.
 * Before the fix the eventfd was written only while the loop slept in
 * its own poller, so a host with no timeout never woke (a fresh user's
 * trial: posts 700-900 ms late behind a 1 s watchdog). */
static _Atomic int host_posts;

static void host_post(void *arg)
{
    (void)arg;
    host_posts++;
}

static void *post_later(void *arg)
{
    usleep(20000); /* the host is asleep in poll by then */
    ASSERT_OK(aq_loop_post(arg, host_post, NULL));
    return NULL;
}

TEST(test_post_wakes_a_host_loop)
{
    aq_loop *l;
    ASSERT_OK(aq_loop_new(&l));
    ASSERT_OK(aq_loop_keep_alive(l, 1));
    int fd = aq_loop_fd(l);
    ASSERT(fd >= 0);
    for (int round = 0; round < 3; round++) {
        if (round > 0) /* the first waits before the loop ever ran */
            ASSERT_OK(aq_loop_run_ready(l));
        int before = host_posts;
        pthread_t th;
        ASSERT_EQ(pthread_create(&th, NULL, post_later, l), 0);
        /* The host's wait, with no timeout of its own but the test's. */
        while (host_posts == before) {
            struct pollfd p = {fd, POLLIN, 0};
            ASSERT_EQ(poll(&p, 1, 5000), 1); /* 0: never woken */
            ASSERT_OK(aq_loop_run_ready(l));
        }
        ASSERT_EQ(pthread_join(th, NULL), 0);
        ASSERT_EQ(host_posts, before + 1);
        /* Served: the fd is quiet again, not woken a second time for
         * nothing (the wake-up eventfd was armed for writing too, and
         * each read of it was an EPOLLOUT event). */
        struct pollfd p = {fd, POLLIN, 0};
        ASSERT_EQ(poll(&p, 1, 0), 0);
    }
    ASSERT_OK(aq_loop_keep_alive(l, 0));
    ASSERT_OK(aq_loop_free(l));
}

/* The same host wait after an aq_loop_run that another thread's
 * aq_loop_stop ended while the loop slept in its poller: a post then
 * makes the fd readable too (a reviewer's reproducer: only the end of
 * aq_loop_run_ready readied the inbox for a host, so the poll slept
 * through the post). */
static void *stop_later(void *arg)
{
    usleep(20000);
    ASSERT_OK(aq_loop_stop(arg));
    return NULL;
}

TEST(test_post_wakes_a_host_loop_after_a_stopped_run)
{
    aq_loop *l;
    pthread_t th;
    ASSERT_OK(aq_loop_new(&l));
    int fd = aq_loop_fd(l);
    ASSERT(fd >= 0);
    ASSERT_OK(aq_loop_keep_alive(l, 1));
    ASSERT_EQ(pthread_create(&th, NULL, stop_later, l), 0);
    ASSERT_OK(aq_loop_run(l)); /* asleep until stopped */
    ASSERT_EQ(pthread_join(th, NULL), 0);
    int before = host_posts;
    ASSERT_EQ(pthread_create(&th, NULL, post_later, l), 0);
    struct pollfd p = {fd, POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 5000), 1); /* 0: never woken */
    ASSERT_EQ(pthread_join(th, NULL), 0);
    ASSERT_OK(aq_loop_run_ready(l));
    ASSERT_EQ(host_posts, before + 1);
    ASSERT_OK(aq_loop_keep_alive(l, 0));
    ASSERT_OK(aq_loop_free(l));
}

/* A task's aq_loop_stop leaves aq_loop_fd quiet once the run it ended
 * has returned (the wake-up it wrote while the loop was awake stayed
 * unread: a host's next wait woke at once for nothing). */
static void *stop_own_loop(void *arg)
{
    ASSERT_OK(aq_loop_stop(arg));
    return NULL;
}

/* Runs fn as a task of a kept-alive loop a host watches (aq_loop_fd),
 * until fn's stop ends the run: the fd must poll quiet after it. Returns
 * the loop, still kept alive. */
static aq_loop *stop_while_awake(aq_task_fn fn)
{
    aq_loop *l;
    ASSERT_OK(aq_loop_new(&l));
    int fd = aq_loop_fd(l);
    ASSERT(fd >= 0);
    ASSERT_OK(aq_loop_keep_alive(l, 1));
    ASSERT_OK(aq_loop_run_ready(l)); /* the loop has polled: awake */
    aq_task *t;
    ASSERT_OK(aq_loop_spawn(l, &t, fn, l, 0));
    ASSERT_OK(aq_loop_run(l)); /* kept alive: ends at the stop only */
    ASSERT_EQ(aq_task_done(t), 1);
    ASSERT_OK(aq_task_release(t));
    struct pollfd p = {fd, POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 0), 0);
    return l;
}

TEST(test_post_stop_from_a_task_leaves_the_fd_quiet)
{
    aq_loop *l = stop_while_awake(stop_own_loop);
    ASSERT_OK(aq_loop_keep_alive(l, 0));
    ASSERT_OK(aq_loop_free(l));
}

/* So does another thread's, made while the loop is awake (a task of it
 * runs): the run drains the wake-up once the stopper is done with it.
 * Before, it stayed unread and the fd polled readable for nothing. */
static atomic_int stop_made;

static void *stop_then_tell(void *arg)
{
    ASSERT_OK(aq_loop_stop(arg));
    atomic_store(&stop_made, 1);
    return NULL;
}

static void *stopped_by_a_thread(void *arg)
{
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, stop_then_tell, arg), 0);
    while (!atomic_load(&stop_made)) /* the loop stays awake meanwhile */
        ;
    ASSERT_EQ(pthread_join(th, NULL), 0);
    return NULL;
}

TEST(test_post_stop_from_a_thread_leaves_the_fd_quiet)
{
    atomic_store(&stop_made, 0);
    aq_loop *l = stop_while_awake(stopped_by_a_thread);
    /* A stop made after that run still wakes the host at once. */
    struct pollfd p = {aq_loop_fd(l), POLLIN, 0};
    ASSERT_OK(aq_loop_stop(l));
    ASSERT_EQ(poll(&p, 1, 5000), 1);
    ASSERT_OK(aq_loop_run_ready(l)); /* ends at it, and drains it */
    ASSERT_EQ(poll(&p, 1, 0), 0);
    ASSERT_OK(aq_loop_keep_alive(l, 0));
    ASSERT_OK(aq_loop_free(l));
}

/* aq_loop_run_ready runs one iteration and returns even when tasks keep
 * yielding and the loop has no I/O state (aq_loop_fd never called):
 * before, they switched among themselves and it never returned. */
static long yields;

static void *yielder(void *arg)
{
    (void)arg;
    for (;;) {
        yields++;
        if (aq_yield() != AQ_OK)
            return NULL;
    }
}

TEST(test_post_run_ready_returns_without_the_fd)
{
    aq_loop *l;
    ASSERT_OK(aq_loop_new(&l));
    yields = 0;
    ASSERT_OK(aq_loop_spawn(l, NULL, yielder, NULL, 0));
    ASSERT_OK(aq_loop_spawn(l, NULL, yielder, NULL, 0));
    ASSERT_OK(aq_loop_run_ready(l));
    ASSERT_EQ(yields, 2); /* each ready task ran once */
    ASSERT_OK(aq_loop_run_ready(l));
    ASSERT_EQ(yields, 4);
    ASSERT_OK(aq_loop_free(l)); /* cancels them */
}

int main(int argc, char **argv)
{
    RUN(test_post_from_threads_in_order);
    RUN(test_post_feeds_a_waiting_task);
    RUN(test_post_stop_from_another_thread);
    RUN(test_post_stop_aq_run);
    RUN(test_post_bad_input);
    RUN(test_post_wakes_a_host_loop);
    RUN(test_post_wakes_a_host_loop_after_a_stopped_run);
    RUN(test_post_stop_from_a_task_leaves_the_fd_quiet);
    RUN(test_post_stop_from_a_thread_leaves_the_fd_quiet);
    RUN(test_post_run_ready_returns_without_the_fd);
    return t_done();
}
