/* aqthreads - libaq's side of the cross-thread benchmarks (bench/threads.py
 * runs it beside bench/peers/threads/). MIT licensed.
 *
 * Usage:  aqthreads ROW [N]
 *
 * Prints "ROW libaq NS" lines, the format of the peers: the median of 3
 * runs, in ns per item (bulk, fanout) or per round trip (pingpong).
 *   thread_bulk      a plain thread puts N longs into a shared queue of
 *                    maxsize 1024 (aq_queue_thread_put); a task gets them
 *   thread_pingpong  a thread and a task bounce a token through two
 *                    shared queues of maxsize 1, N round trips
 *   loop_pingpong    a task on each of two loops (aq_cores) bounces a
 *                    token through two shared queues, N round trips
 *   fanout           N items, each costing about 1 us of CPU to its
 *                    consumer, from a producer task on loop 0 to 8
 *                    consumer tasks spread over the loops: rows
 *                    fanout_1loop and fanout_2loops (aq_cores of 1 and 2)
 *   busy_bulk        thread_bulk with a consumer busy ~200 ns per item, so
 *                    that its loop never sleeps: for counting eventfd writes
 *                    per item under strace (threads.py does)
 * Every run checks the sum of what it got; a mismatch or a libaq error
 * exits 1, a bad argument 2.
 */
#define _POSIX_C_SOURCE 200809L

#include <aq.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ok(int rc, const char *what)
{
    if (rc != AQ_OK) {
        fprintf(stderr, "aqthreads: %s: %s\n", what, aq_strerror(rc));
        exit(1);
    }
}

static aq_queue *shared_queue(long maxsize)
{
    aq_queue *q;
    ok(aq_queue_new(&q, AQ_FIFO, sizeof(long), maxsize), "aq_queue_new");
    ok(aq_queue_share(q), "aq_queue_share");
    return q;
}

/* Spins for about ns nanoseconds of CPU: the work of one item. */
static void work(int64_t ns)
{
    int64_t end = aq_now() + ns;
    while (aq_now() < end)
        ;
}

static struct {
    aq_queue *a, *b; /* a: towards the consumer/pong; b: back */
    long n;
    int64_t work_ns;
    long sum;
} g;

/* Runs thread on a plain thread and task as aq_run's main task, from
 * both starts to both ends: ns per item of n. */
static double thread_and_task(void *(*thread)(void *), aq_task_fn task,
                              long n)
{
    pthread_t th;
    int64_t t0 = aq_now();
    if (pthread_create(&th, NULL, thread, NULL))
        ok(AQ_ENOMEM, "pthread_create");
    ok(aq_run(task, NULL, NULL), "aq_run");
    pthread_join(th, NULL);
    return (double)(aq_now() - t0) / (double)n;
}

/* ---- thread_bulk, busy_bulk ---------------------------------------------- */

static void *bulk_producer(void *arg)
{
    (void)arg;
    for (long i = 1; i <= g.n; i++)
        ok(aq_queue_thread_put(g.a, &i), "thread_put");
    return NULL;
}

static void *bulk_consumer(void *arg)
{
    (void)arg;
    long v, sum = 0;
    for (long i = 0; i < g.n; i++) {
        ok(aq_queue_get(g.a, &v), "get");
        sum += v;
        if (g.work_ns)
            work(g.work_ns);
    }
    g.sum = sum;
    return NULL;
}

static double bulk(long n, int64_t work_ns)
{
    g.a = shared_queue(1024);
    g.n = n;
    g.work_ns = work_ns;
    double ns = thread_and_task(bulk_producer, bulk_consumer, n);
    if (g.sum != n * (n + 1) / 2)
        ok(AQ_EINVAL, "bulk: wrong sum");
    aq_queue_free(g.a);
    return ns;
}

/* ---- thread_pingpong ----------------------------------------------------- */

static void *pong_thread(void *arg)
{
    (void)arg;
    long v;
    for (long i = 0; i < g.n; i++) {
        ok(aq_queue_thread_get(g.a, &v), "thread_get");
        v++;
        ok(aq_queue_thread_put(g.b, &v), "thread_put");
    }
    return NULL;
}

static void *ping_task(void *arg)
{
    (void)arg;
    long v = 0;
    for (long i = 0; i < g.n; i++) {
        ok(aq_queue_put(g.a, &v), "put");
        ok(aq_queue_get(g.b, &v), "get");
    }
    g.sum = v;
    return NULL;
}

static double thread_pingpong(long n)
{
    g.a = shared_queue(1);
    g.b = shared_queue(1);
    g.n = n;
    double ns = thread_and_task(pong_thread, ping_task, n);
    if (g.sum != n)
        ok(AQ_EINVAL, "thread_pingpong: wrong count");
    aq_queue_free(g.a);
    aq_queue_free(g.b);
    return ns;
}

/* ---- loop_pingpong ------------------------------------------------------- */

static void *pong_task(void *arg)
{
    (void)arg;
    long v;
    for (long i = 0; i < g.n; i++) {
        ok(aq_queue_get(g.a, &v), "get");
        v++;
        ok(aq_queue_put(g.b, &v), "put");
    }
    return NULL;
}

static double loop_pingpong(long n)
{
    aq_cores *c;
    g.a = shared_queue(1);
    g.b = shared_queue(1);
    g.n = n;
    ok(aq_cores_start(&c, 2), "aq_cores_start");
    int64_t t0 = aq_now();
    ok(aq_cores_spawn(c, 1, pong_task, NULL), "spawn");
    ok(aq_cores_spawn(c, 0, ping_task, NULL), "spawn");
    ok(aq_cores_wait(c), "aq_cores_wait");
    double ns = (double)(aq_now() - t0) / (double)n;
    ok(aq_cores_stop(c), "aq_cores_stop");
    if (g.sum != n)
        ok(AQ_EINVAL, "loop_pingpong: wrong count");
    aq_queue_free(g.a);
    aq_queue_free(g.b);
    return ns;
}

/* ---- fanout -------------------------------------------------------------- */

static _Atomic long fan_sum;

static void *fan_consumer(void *arg)
{
    (void)arg;
    long v, sum = 0;
    while (aq_queue_get(g.a, &v) == AQ_OK) {
        work(g.work_ns);
        sum += v;
    }
    fan_sum += sum;
    return NULL;
}

static void *fan_producer(void *arg)
{
    (void)arg;
    for (long i = 1; i <= g.n; i++)
        ok(aq_queue_put(g.a, &i), "put");
    ok(aq_queue_shutdown(g.a, 0), "shutdown"); /* consumers drain, end */
    return NULL;
}

static double fanout(long n, size_t loops)
{
    aq_cores *c;
    g.a = shared_queue(1024);
    g.n = n;
    g.work_ns = 1000;
    fan_sum = 0;
    ok(aq_cores_start(&c, loops), "aq_cores_start");
    int64_t t0 = aq_now();
    for (int i = 0; i < 8; i++)
        ok(aq_cores_spawn(c, AQ_ANY_CORE, fan_consumer, NULL), "spawn");
    ok(aq_cores_spawn(c, 0, fan_producer, NULL), "spawn");
    ok(aq_cores_wait(c), "aq_cores_wait");
    double ns = (double)(aq_now() - t0) / (double)n;
    ok(aq_cores_stop(c), "aq_cores_stop");
    if (fan_sum != n * (n + 1) / 2)
        ok(AQ_EINVAL, "fanout: wrong sum");
    aq_queue_free(g.a);
    return ns;
}

/* ---- main ---------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { THREAD_BULK, BUSY_BULK, THREAD_PINGPONG, LOOP_PINGPONG, FAN1, FAN2 };

static double run_one(int row, long n)
{
    switch (row) {
    case THREAD_BULK: return bulk(n, 0);
    case BUSY_BULK: return bulk(n, 200);
    case THREAD_PINGPONG: return thread_pingpong(n);
    case LOOP_PINGPONG: return loop_pingpong(n);
    case FAN1: return fanout(n, 1);
    default: return fanout(n, 2);
    }
}

static void row(const char *name, int which, long n, int runs)
{
    double t[3];
    for (int i = 0; i < runs; i++)
        t[i] = run_one(which, n);
    qsort(t, (size_t)runs, sizeof t[0], cmp_double);
    printf("%s libaq %.1f\n", name, t[runs / 2]);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    const char *what = argc > 1 ? argv[1] : "";
    if (argc > 3 || (argc > 2 && n < 1)) {
        fprintf(stderr, "usage: aqthreads ROW [N]\n");
        return 2;
    }
    if (!strcmp(what, "thread_bulk"))
        row(what, THREAD_BULK, n ? n : 2000000, 3);
    else if (!strcmp(what, "busy_bulk")) /* once: it runs under strace */
        row(what, BUSY_BULK, n ? n : 200000, 1);
    else if (!strcmp(what, "thread_pingpong"))
        row(what, THREAD_PINGPONG, n ? n : 200000, 3);
    else if (!strcmp(what, "loop_pingpong"))
        row(what, LOOP_PINGPONG, n ? n : 200000, 3);
    else if (!strcmp(what, "fanout")) {
        row("fanout_1loop", FAN1, n ? n : 1000000, 3);
        row("fanout_2loops", FAN2, n ? n : 1000000, 3);
    } else {
        fprintf(stderr, "usage: aqthreads ROW [N]: thread_bulk, busy_bulk, "
                        "thread_pingpong, loop_pingpong, fanout\n");
        return 2;
    }
    return 0;
}
