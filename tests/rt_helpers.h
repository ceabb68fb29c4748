/* libaq - helpers shared by the runtime tests (task, timer, loop, misuse).
 * MIT licensed. Each helper asserts through test.h, so a test using one
 * fails at its own line's caller rather than silently. */
#ifndef AQ_RT_HELPERS_H
#define AQ_RT_HELPERS_H

#include "test.h"

#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

/* Leaves no fd to make: RLIMIT_NOFILE drops to the lowest free number,
 * so the next socket, eventfd or accept fails with EMFILE, until
 * t_fds_back(saved). */
static inline void t_fds_none_left(struct rlimit *saved)
{
    int low = dup(0);
    ASSERT(low >= 0);
    close(low);
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, saved), 0);
    struct rlimit r = *saved;
    r.rlim_cur = (rlim_t)low;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &r), 0);
}

static inline void t_fds_back(const struct rlimit *saved)
{
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, saved), 0);
}

/* A long passed through a task's void * argument or result. */
#define IARG(v) ((void *)(intptr_t)(v))
#define IVAL(p) ((long)(intptr_t)(p))

/* A return code that no libaq call returns: "the call has not returned". */
#define PENDING 1

/* The order in which tasks reached some point, for ordering checks. */
static struct {
    int v[64];
    int n;
} g_log;

static inline void log_reset(void) { g_log.n = 0; }

static inline void log_push(int v)
{
    ASSERT(g_log.n < 64);
    g_log.v[g_log.n++] = v;
}

static inline void log_expect(const int *want, int n)
{
    ASSERT_EQ(g_log.n, n);
    for (int i = 0; i < n; i++)
        ASSERT_EQ(g_log.v[i], want[i]);
}

/* How many fds the process has open, for "nothing left open" checks. */
static inline int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    ASSERT(d != NULL);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Returns its argument: the simplest task with a result. */
static inline void *ret_arg(void *arg) { return arg; }

/* Runs fn(arg) as the main task of a compact loop (a 256 KiB shared run
 * stack), checks it finished, then frees the loop. */
static inline void t_main_compact(aq_task_fn fn, void *arg)
{
    aq_loop *l;
    aq_task *t;
    ASSERT_OK(aq_loop_new(&l));
    ASSERT_OK(aq_loop_set_compact(l, 256 * 1024));
    ASSERT_OK(aq_loop_spawn(l, &t, fn, arg, 0));
    ASSERT_OK(aq_loop_run(l));
    ASSERT_EQ(aq_task_done(t), 1);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_loop_free(l));
}

static inline aq_queue *new_fifo(long maxsize)
{
    aq_queue *q;
    ASSERT_OK(aq_queue_new(&q, AQ_FIFO, sizeof(long), maxsize));
    return q;
}

static inline void put_long(aq_queue *q, long v)
{
    ASSERT_OK(aq_queue_try_put(q, &v));
}

/* A plain thread for the thread tests: started, or joined (it must
 * return NULL). */
static inline void thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    ASSERT_EQ(pthread_create(t, NULL, fn, arg), 0);
}

static inline void thread_stop(pthread_t t)
{
    void *res;
    ASSERT_EQ(pthread_join(t, &res), 0);
    ASSERT(res == NULL);
}

#endif
