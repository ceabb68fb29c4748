/* A user's program, built with a sanitizer (or run under valgrind)
 * against an ordinary build of libaq (tests/sanitize/check.sh). Usage:
 *   user [compact] [leak] [race] [threads] [signal] [free] [stop] [deep]
 * compact: the tasks are compact (one shared stack, frames copied aside);
 * leak: each worker task loses a malloc'd block: the report must appear;
 * race: a plain thread and a task write one variable unsynchronised: the
 *   ThreadSanitizer report must appear;
 * threads: items filled by plain threads travel through a shared queue
 *   to tasks, and blocking work runs on the pool (aq_to_thread): libaq
 *   orders these, so no report may appear;
 * deep: 400 tasks park 300 calls deep at once, more than the 128 that
 *   get a ThreadSanitizer fiber of their own by default; run with
 *   AQ_TSAN_FIBERS=512 (check.sh), every one gets its own: no report (on
 *   their loop's fiber, whose shadow stack would hold all their frames,
 *   ThreadSanitizer aborts past 65,536);
 * free: a loop is freed while a pool worker still sends it the result of
 *   a call whose task timed out: the free waits for the worker, and
 *   libaq says so to ThreadSanitizer, so no report may appear (the
 *   worker's eventfd write and the free's close were reported);
 * stop: a plain thread started before the loop is opened to posts (by
 *   its task's first wait on a shared queue) stops it: the eventfd write
 *   and the eventfd's making are ordered for ThreadSanitizer too, so no
 *   report may appear (one did);
 * signal: a task waits on an event (no timer: the loop sleeps without a
 *   timeout) until a sigaction handler run on the loop's thread calls
 *   aq_loop_stop: the loop must stop (under ThreadSanitizer, which runs
 *   a handler only inside a call it intercepts, it slept on for ever).
 * Every worker also keeps a buffer on its stack across a suspension, so a
 * sanitizer that lost track of the stack switches would report it, and
 * parks once more with the lost pointer still in its frame: a compact
 * task's frames are then copied with it, and a copy that left it where
 * LeakSanitizer looks (a vector register) would hide one leak. main_task
 * has a stack of its own, so that the last frames copied are a worker's
 * (with the copy by memcpy, 3 of the 4 leaks were reported). */
#include <aq.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int leak, race, threads;
static volatile int shared_word; /* race: written by a thread and a task */
static int failed;      /* main_task's verdict */

struct msg {
    int n;
    char text[24];
};

static void *worker(void *arg)
{
    char buf[64];
    memset(buf, (int)(size_t)arg, sizeof buf);
    aq_sleep(AQ_USEC);
    char *p = malloc(100);
    memcpy(p, buf, sizeof buf);
    aq_yield();
    int sum = p[0] + buf[63];
    if (!leak)
        free(p);
    aq_sleep(1000); /* p's stale copy is moved with the frame (compact) */
    return (void *)(size_t)sum;
}

static void *racer(void *arg)
{
    (void)arg;
    shared_word++;
    return NULL;
}

static void *feeder(void *arg)
{
    aq_queue *q = arg;
    for (int i = 0; i < 100; i++) {
        struct msg *m = malloc(sizeof *m);
        m->n = i;
        snprintf(m->text, sizeof m->text, "item %d", i);
        if (aq_queue_thread_put(q, &m) != AQ_OK)
            abort();
    }
    return NULL;
}

static void *blocking_square(void *arg)
{
    int *v = malloc(sizeof *v);
    *v = (int)(size_t)arg * (int)(size_t)arg;
    return v;
}

static int consume_all(void);

/* A task with a stack of its own (a compact task cannot wait on a
 * shared queue): takes the feeders' 200 items, then a pool result. */
static void *consume(void *arg)
{
    (void)arg;
    return (void *)(size_t)consume_all();
}

static int consume_all(void)
{
    aq_queue *q;
    pthread_t th[2];
    if (aq_queue_new(&q, AQ_FIFO, sizeof(struct msg *), 8) != AQ_OK ||
        aq_queue_share(q) != AQ_OK)
        return 1;
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, feeder, q);
    long total = 0;
    for (int i = 0; i < 200; i++) {
        struct msg *m;
        if (aq_queue_get(q, &m) != AQ_OK)
            return 1;
        total += m->n + (long)strlen(m->text);
        free(m);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    void *r;
    if (aq_to_thread(blocking_square, (void *)7, &r) != AQ_OK)
        return 1;
    total += *(int *)r;
    free(r);
    aq_queue_free(q);
    return total == 2 * (4950 + 10 * 6 + 90 * 7) + 49 ? 0 : 1;
}

static void *main_task(void *arg)
{
    (void)arg;
    pthread_t th;
    if (race)
        pthread_create(&th, NULL, racer, NULL);
    aq_task *t[4];
    for (int i = 0; i < 4; i++)
        if (aq_spawn(&t[i], worker, (void *)(size_t)(i + 1)) != AQ_OK)
            abort();
    if (race)
        shared_word++;
    size_t sum = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        aq_task_wait(t[i], &r);
        sum += (size_t)r;
        aq_task_release(t[i]);
    }
    if (race)
        pthread_join(th, NULL);
    void *r = NULL;
    aq_task *c;
    if (threads && (aq_loop_spawn(aq_loop_current(), &c, consume, NULL,
                                  256 * 1024) != AQ_OK ||
                    aq_task_wait(c, &r) != AQ_OK || aq_task_release(c)))
        abort();
    failed = sum != 2 * (1 + 2 + 3 + 4) || r != NULL;
    return NULL;
}

/* ---- signal ---- */

static aq_loop *sig_loop;
static pthread_t sig_thread; /* the loop's */

static void on_term(int sig)
{
    (void)sig;
    aq_loop_stop(sig_loop);
}

static void *term_later(void *arg)
{
    (void)arg;
    struct timespec ms50 = {0, 50 * 1000 * 1000};
    nanosleep(&ms50, NULL);
    pthread_kill(sig_thread, SIGTERM); /* to the loop's thread itself */
    return NULL;
}

static void *wait_for_stop(void *arg)
{
    aq_event *e;
    if (aq_event_new(&e) != AQ_OK)
        abort();
    *(aq_event **)arg = e;
    return (void *)(intptr_t)aq_event_wait(e); /* until the loop's end */
}

static int signal_run(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    aq_task *t;
    aq_event *e = NULL;
    pthread_t th;
    if (aq_loop_new(&sig_loop) != AQ_OK ||
        aq_loop_keep_alive(sig_loop, 1) != AQ_OK ||
        aq_loop_spawn(sig_loop, &t, wait_for_stop, &e, 0) != AQ_OK ||
        sigaction(SIGTERM, &sa, NULL) != 0)
        return 2;
    sig_thread = pthread_self();
    pthread_create(&th, NULL, term_later, NULL);
    if (aq_loop_run(sig_loop) != AQ_OK || aq_task_done(t))
        return 3; /* stopped with the task still waiting */
    pthread_join(th, NULL);
    aq_loop_keep_alive(sig_loop, 0);
    aq_task_release(t);
    aq_loop_free(sig_loop); /* cancels and reaps the task */
    aq_event_free(e);
    puts("done");
    return 0;
}

/* stop */
static aq_loop *stop_loop;

static void *stop_later(void *arg)
{
    (void)arg;
    struct timespec ms20 = {0, 20 * 1000 * 1000};
    nanosleep(&ms20, NULL);
    aq_loop_stop(stop_loop);
    return NULL;
}

static void *get_until_stopped(void *arg)
{
    long v;
    if (aq_queue_get(arg, &v) != AQ_ECANCELED) /* stopped, then reaped */
        failed = 1;
    return NULL;
}

static int stop_run(void)
{
    aq_queue *q;
    aq_task *t;
    pthread_t th;
    if (aq_queue_new(&q, AQ_FIFO, sizeof(long), 4) != AQ_OK ||
        aq_queue_share(q) != AQ_OK || aq_loop_new(&stop_loop) != AQ_OK ||
        aq_loop_spawn(stop_loop, &t, get_until_stopped, q, 0) != AQ_OK)
        return 2;
    pthread_create(&th, NULL, stop_later, NULL); /* before the inbox is */
    if (aq_loop_run(stop_loop) != AQ_OK || aq_task_done(t))
        return 3; /* it must end at the stop, the task still waiting */
    pthread_join(th, NULL);
    aq_task_release(t);
    aq_loop_free(stop_loop);
    aq_queue_free(q);
    if (failed)
        return 3;
    puts("done");
    return 0;
}

/* deep */
#define DEEP_TASKS 400
#define DEEP_CALLS 300

static aq_event *deep_go;

static __attribute__((noinline)) int descend(int n)
{
    if (n == 0)
        return aq_event_wait(deep_go);
    int rc = descend(n - 1);
    shared_word = shared_word; /* work after the call: no tail call */
    return rc;
}

static void *deep_task(void *arg)
{
    (void)arg;
    if (descend(DEEP_CALLS) != AQ_OK)
        failed = 1;
    return NULL;
}

static void *deep_main(void *arg)
{
    (void)arg;
    aq_task *t[DEEP_TASKS];
    if (aq_event_new(&deep_go) != AQ_OK)
        return failed = 1, NULL;
    for (int i = 0; i < DEEP_TASKS; i++)
        if (aq_spawn(&t[i], deep_task, NULL) != AQ_OK)
            return failed = 1, NULL;
    aq_yield(); /* every one parks, DEEP_CALLS deep */
    aq_event_set(deep_go);
    if (aq_gather(t, DEEP_TASKS, NULL) != AQ_OK)
        failed = 1;
    for (int i = 0; i < DEEP_TASKS; i++)
        aq_task_release(t[i]);
    aq_event_free(deep_go);
    return NULL;
}

/* free */
static void *slow_echo(void *arg)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return arg;
}

static void *times_out(void *arg)
{
    (void)arg;
    if (aq_to_thread_until(slow_echo, NULL, NULL, aq_now() + AQ_MSEC) !=
        AQ_ETIMEDOUT)
        failed = 1;
    return NULL;
}

static int free_run(void)
{
    for (int i = 0; i < 10; i++) {
        aq_loop *l;
        struct timespec ts = {0, 3 * 1000 * 1000};
        if (aq_loop_new(&l) != AQ_OK ||
            aq_loop_spawn(l, NULL, times_out, NULL, 0) != AQ_OK)
            return 2;
        aq_loop_run_ready(l); /* the call goes to the pool */
        nanosleep(&ts, NULL);
        aq_loop_run_ready(l); /* its deadline: the task returns */
        aq_loop_free(l);      /* waits for the worker and its post */
    }
    if (failed)
        return 3;
    puts("done");
    return 0;
}

int main(int argc, char **argv)
{
    int compact = 0;
    for (int i = 1; i < argc; i++) {
        compact |= !strcmp(argv[i], "compact");
        leak |= !strcmp(argv[i], "leak");
        race |= !strcmp(argv[i], "race");
        threads |= !strcmp(argv[i], "threads");
        if (!strcmp(argv[i], "signal"))
            return signal_run();
        if (!strcmp(argv[i], "free"))
            return free_run();
        if (!strcmp(argv[i], "stop"))
            return stop_run();
        if (!strcmp(argv[i], "deep")) {
            int rc = aq_run(deep_main, NULL, NULL);
            if (rc != AQ_OK || failed)
                return 3;
            puts("done");
            return 0;
        }
    }
    aq_loop *l;
    aq_task *m;
    if (aq_loop_new(&l) != AQ_OK ||
        (compact && aq_loop_set_compact(l, 64 * 1024) != AQ_OK) ||
        aq_loop_spawn(l, &m, main_task, NULL, 256 * 1024) != AQ_OK ||
        aq_loop_run(l) != AQ_OK || !aq_task_done(m))
        return 2;
    aq_task_release(m);
    aq_loop_free(l);
    if (failed)
        return 3;
    puts("done");
    return 0;
}
