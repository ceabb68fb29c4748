/* libaq - loops on every core: N loops on N threads, tasks spawned onto
 * them from any thread, stopped together. MIT licensed.
 *
 * Invariants:
 * - Each loop is created, kept alive and freed by this file, and run by
 *   its own thread until it stops: at aq_cores_stop, or earlier if the
 *   user stops it (aq_loop_stop on aq_cores_loop) or undoes its
 *   keep-alive. Either way the thread then ends the loop for good: it
 *   closes its inbox (posts accepted run, later ones are refused), then
 *   cancels its tasks and runs them to their end, on the thread they ran
 *   on. The loop's memory stays until aq_cores_stop frees it after the
 *   joins and after every loop has settled (its pool jobs' ends run), so
 *   that a spawn, a post or a stop made to an ended loop (the
 *   user may still hold aq_cores_loop's pointer) touches no freed memory
 *   and gets AQ_EINVAL.
 * - A spawn from another thread is a post (aq_loop_post) whose record is
 *   allocated by the caller, so a spawn reports AQ_ENOMEM at once; only a
 *   task's stack is allocated on the loop, and a failure there is counted
 *   in `lost` and reported by aq_cores_wait.
 * - `live` counts spawns not yet returned (or lost): incremented before
 *   the post, decremented when the task's function returns; under `mu`,
 *   so that aq_cores_wait sleeps on `idle` without missing the last one.
 * - A spawn record is on `pending` from the post until its loop runs the
 *   post; a refused post's record is taken back by its spawner. Since an
 *   ending loop runs every post it accepted, pending is empty and `live`
 *   is 0 once every loop thread has ended (a task the stop cancelled
 *   has returned).
 * - `waiters` counts threads inside aq_cores_wait, from before they take
 *   mu to their last touch of c: one may be under way as aq_cores_stop
 *   begins (even blocked on mu), and the stop frees c only once they have
 *   all left.
 */
#include "thread/thread.h"

#include <pthread.h>
#include <unistd.h>

typedef struct core {
    aq_loop *loop;
    aq_cores *set; /* its set, for its thread (core_main) */
    pthread_t thread;
} core;

struct aq_cores {
    size_t n;
    core *cores;
    _Atomic size_t next;  /* round robin for AQ_ANY_CORE (relaxed: any
                             spread will do) */
    pthread_mutex_t mu;
    pthread_cond_t idle;  /* live dropped to 0 */
    long live;            /* under mu */
    long lost;            /* spawns the loop could not start; under mu */
    _Atomic long waiters; /* threads in aq_cores_wait */
    aq_list pending;      /* spawn records posted, not started; under mu */
};

typedef struct spawn_rec {
    aq_list link;         /* on c->pending until started */
    aq_cores *c;
    aq_loop *loop;
    aq_task_fn fn;
    void *arg;
} spawn_rec;

static void settle(aq_cores *c, int lost)
{
    pthread_mutex_lock(&c->mu);
    c->lost += lost;
    if (--c->live == 0)
        pthread_cond_broadcast(&c->idle);
    pthread_mutex_unlock(&c->mu);
}

static void *run_spawned(void *arg)
{
    spawn_rec r = *(spawn_rec *)arg;
    aq__free(arg);
    void *res = r.fn(r.arg);
    settle(r.c, 0);
    return res;
}

static void on_spawn_post(void *arg)
{
    spawn_rec *r = arg;
    pthread_mutex_lock(&r->c->mu);
    aq__list_remove(&r->link);
    pthread_mutex_unlock(&r->c->mu);
    if (aq_loop_spawn(r->loop, NULL, run_spawned, r, 0) != AQ_OK) {
        aq_cores *c = r->c;
        aq__free(r);
        settle(c, 1);
    }
}

_Thread_local const aq_cores *aq__cores_self;

static void *core_main(void *arg)
{
    core *me = arg; /* loop and set written before the thread began */
    aq_loop *l = me->loop;
    aq__cores_self = me->set;
    aq_loop_run(l);     /* kept alive: returns when stopped */
    aq__inbox_close(l); /* spawns accepted start, to be cancelled below */
    aq_loop_keep_alive(l, 0);
    aq__loop_finish(l); /* cancels and finishes what is left, here */
    return NULL;
}

/* Stops and joins the first n cores, waits out the threads returning
 * from aq_cores_wait, then frees the loops and c. Every loop is settled
 * (its pool jobs' ends awaited and run) before any is freed: a job of one
 * loop, or the cleanup its end runs here, may still post or spawn to
 * another (a reviewer's reproducers: a use after free of loop 0 while
 * loop 1's free waited for its job), and must find it ended, not gone. */
static void teardown(aq_cores *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        aq_loop_stop(c->cores[i].loop);
    for (size_t i = 0; i < n; i++)
        pthread_join(c->cores[i].thread, NULL);
    /* Outside any task, as within aq_loop_free: a cleanup may not
     * suspend the caller's task in the middle of this (a reviewer's
     * reproducer: it slept there, and other tasks ran). */
    aq_task *self = aq__plain_begin();
    for (size_t i = 0; i < n; i++)
        aq__inbox_settle(c->cores[i].loop);
    aq__plain_end(self);
    while (atomic_load(&c->waiters) > 0) /* live is 0: on their way out */
        sched_yield();
    for (size_t i = 0; i < n; i++)
        aq_loop_free(c->cores[i].loop);
    pthread_cond_destroy(&c->idle);
    pthread_mutex_destroy(&c->mu);
    aq__free(c->cores);
    aq__free(c);
}

int aq_cores_start(aq_cores **out, size_t n)
{
    if (!out)
        return aq_einval("out is NULL");
    if (n > AQ_CORES_MAX)
        return aq_einval("n is above AQ_CORES_MAX");
    if (n == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus > 0 ? (size_t)cpus : 1;
        if (n > AQ_CORES_MAX)
            n = AQ_CORES_MAX;
    }
    aq_cores *c = aq__malloc(sizeof *c);
    core *cores = aq__malloc(n * sizeof *cores);
    if (!c || !cores) {
        aq__free(c);
        aq__free(cores);
        return AQ_ENOMEM;
    }
    memset(c, 0, sizeof *c);
    c->n = n;
    c->cores = cores;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->idle, NULL);
    aq__list_init(&c->pending);
    for (size_t i = 0; i < n; i++) {
        aq_loop *l;
        int rc = aq_loop_new(&l);
        if (rc == AQ_OK && (rc = aq_loop_keep_alive(l, 1)) != AQ_OK)
            aq_loop_free(l);
        if (rc == AQ_OK) {
            cores[i].loop = l;
            cores[i].set = c;
            if ((rc = -pthread_create(&cores[i].thread, NULL, core_main,
                                      &cores[i]))) {
                aq_loop_keep_alive(l, 0);
                aq_loop_free(l);
            }
        }
        if (rc != AQ_OK) {
            teardown(c, i);
            return rc;
        }
    }
    *out = c;
    return AQ_OK;
}

size_t aq_cores_count(const aq_cores *c) { return c ? c->n : 0; }

aq_loop *aq_cores_loop(const aq_cores *c, size_t i)
{
    return c && i < c->n ? c->cores[i].loop : NULL;
}

int aq_cores_spawn(aq_cores *c, long i, aq_task_fn fn, void *arg)
{
    if (!c || !fn || i < AQ_ANY_CORE || (i >= 0 && (size_t)i >= c->n))
        return aq_einval(
            "cores or fn is NULL, or the core index is out of range");
    if (i == AQ_ANY_CORE)
        i = (long)(atomic_fetch_add_explicit(&c->next, 1,
                                             memory_order_relaxed) %
                   c->n);
    spawn_rec *r = aq__malloc(sizeof *r);
    if (!r)
        return AQ_ENOMEM;
    r->c = c;
    r->loop = c->cores[i].loop;
    r->fn = fn;
    r->arg = arg;
    pthread_mutex_lock(&c->mu);
    c->live++;
    aq__list_push_back(&c->pending, &r->link);
    pthread_mutex_unlock(&c->mu);
    int rc = aq_loop_post(r->loop, on_spawn_post, r);
    if (rc != AQ_OK) {
        pthread_mutex_lock(&c->mu);
        aq__list_remove(&r->link);
        pthread_mutex_unlock(&c->mu);
        aq__free(r);
        settle(c, 0);
    }
    return rc;
}

int aq_cores_wait(aq_cores *c)
{
    if (!c)
        return aq_einval("cores is NULL");
    if (aq__thread_loop)
        return AQ_EDEADLK;
    atomic_fetch_add(&c->waiters, 1);
    pthread_mutex_lock(&c->mu);
    while (c->live > 0)
        pthread_cond_wait(&c->idle, &c->mu);
    long lost = c->lost;
    c->lost = 0;
    pthread_mutex_unlock(&c->mu);
    atomic_fetch_sub(&c->waiters, 1); /* c may be freed from here on */
    return lost ? AQ_ENOMEM : AQ_OK;
}

int aq_cores_stop(aq_cores *c)
{
    if (!c)
        return aq_einval("cores is NULL");
    /* Its own thread would never be joined: called from one of them (its
     * loop, or a loop nested in one of its posts), or from a pool job
     * (aq_to_thread) that one of them waits for. */
    if (aq__cores_self == c || (aq__in_job && aq__job_cores == c))
        return AQ_EDEADLK;
    teardown(c, c->n);
    return AQ_OK;
}
