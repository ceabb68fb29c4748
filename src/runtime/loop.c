/* libaq - the event loop: ready list, one iteration, run. MIT licensed.
 *
 * One iteration, as in asyncio's _run_once: read the clock and wake the
 * tasks whose deadline passed (they join the tail of the ready list), then
 * run the tasks that were ready at that moment, oldest first. Tasks made
 * ready meanwhile wait for the next iteration, so a task that keeps
 * yielding cannot starve timers.
 *
 * A suspending task does not return to the loop to pick the next task: it
 * switches straight to it (one switch per hand-over instead of two). It
 * returns to the loop's own context only when the ready list is empty, or
 * when the iteration's snapshot has run and a timer is pending. With no
 * timer pending, running on past the snapshot gives the same order asyncio
 * would (FIFO) without the round trip through the loop.
 *
 * An I/O source (io/: fds, posts from other threads), once installed,
 * counts as a pending timer for that choice, so that tasks do return to
 * the loop; the loop then polls it with timeout 0 every AQ__POLL_EVERY
 * iterations while tasks are ready, and when none is, blocks in it until
 * the next timer is due (idle). A loop with nothing ready, no timer and
 * nothing the source waits for has no work left and returns.
 *
 * Invariant: a task on the ready list stays there until it is popped and
 * run; nothing else removes it. So `iter_end`, the snapshot's last task,
 * is always reached.
 */
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Thread_local aq_task *aq__cur __attribute__((tls_model("initial-exec")));
_Thread_local aq_task *aq__plain_task
    __attribute__((tls_model("initial-exec")));
_Thread_local aq_loop *aq__thread_loop;

int64_t aq_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * AQ_SEC + ts.tv_nsec;
}

int64_t aq_in(int64_t ns)
{
    int64_t now = aq_now();
    if (ns > INT64_MAX - now)
        return INT64_MAX;
    return ns < -now ? 0 : now + ns; /* past, never a negative AQ_NEVER */
}

/* ---- switching ----------------------------------------------------------- */

AQ__UNTRACED void aq__loop_exit(aq_task *t)
{
    aq_loop *l = t->loop;
    aq__stack_check(t);
    l->zombie = t;
    aq__cur = NULL;
    aq__switch_to(l, &t->ctx, NULL, 1);
    __builtin_unreachable();
}

/* The finished task left the CPU: recycle its stack, drop the loop's
 * reference. Returns 1 if it was aq_run's main task. */
static int reap(aq_loop *l)
{
    aq_task *t = l->zombie;
    if (!t)
        return 0;
    l->zombie = NULL;
    if (t->compact)
        aq__compact_done(l, t);
    else
        aq__stack_put(l, t->stack);
    t->stack = NULL;
    aq__task_unref(t);
    return t == l->main;
}

/* Nothing is ready: sleeps the thread until the earliest deadline, or
 * until the source has something (an fd event, a post). An early return
 * (a signal) just costs one more iteration. */
static void idle(aq_loop *l)
{
    if (l->src) {
        int64_t wait = -1;
        if (l->ntimers) {
            wait = aq__timer_next_due(l) - aq_now();
            if (wait < 0)
                wait = 0;
        }
        l->since_poll = 0;
        l->src->poll(l, wait);
        return;
    }
    int64_t due = aq__timer_next_due(l);
    struct timespec ts = {(time_t)(due / AQ_SEC), (long)(due % AQ_SEC)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* Is there anything left that could ever make a task ready? */
static int has_work(const aq_loop *l)
{
    /* While the loop is being closed every task has been cancelled, so no
     * outside event can matter any more. */
    return !aq__list_empty(&l->ready) || l->ntimers ||
           (l->src && !l->closing && l->src->busy(l));
}

/* ---- public -------------------------------------------------------------- */

/* An environment switch: set to anything but "" or "0". */
static int env_on(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

int aq_loop_new(aq_loop **out)
{
    if (!out)
        return aq_einval("out is NULL");
    aq_loop *l = aq__malloc(sizeof *l);
    if (!l)
        return AQ_ENOMEM;
    memset(l, 0, sizeof *l);
    aq__list_init(&l->ready);
    aq__list_init(&l->tasks);
    l->stack_size = aq__page_round(AQ_STACK_DEFAULT);
    l->pool_max = 1024;
    /* Unseeded loops differ from run to run and from each other. */
    l->rng = (uint64_t)aq_now() ^ (uint64_t)(uintptr_t)l;
    if (env_on("AQ_DEBUG"))
        aq_loop_set_debug(l, 1);
    *out = l;
    return AQ_OK;
}

/* The loop proper. block: iterate, waiting (in idle) when nothing is
 * ready, until no work is left; otherwise run one iteration's snapshot of
 * ready tasks, if any, and return. */
static int run(aq_loop *l, int block)
{
    int ran = 0;
    if (!l)
        return aq_einval("loop is NULL");
    if (aq__in_task() || l->freeing ||
        atomic_exchange_explicit(&l->running, 1, memory_order_acquire))
        return AQ_EBUSY;
    aq__overflow_arm();
    aq_loop *outer = aq__thread_loop; /* a post may run a second loop */
    aq__thread_loop = l;
    /* One iteration only: tasks must come back to the loop after it, not
     * switch among themselves (aq__loop_suspend) while nothing else
     * pends. */
    l->pending += !block;
    l->stopped = 0;
    if (aq__unlikely(aq__fibers))
        aq__fiber_loop_begins(l);
    if (!block && l->src) /* take what the host loop saw as ready */
        l->src->poll(l, 0);
    for (;;) {
        if (!l->iter_end) { /* a new iteration */
            if (atomic_load_explicit(&l->stop, memory_order_relaxed)) {
                /* acquire, with aq_loop_stop's release: what it did
                 * before (counting itself a sender) is seen after */
                atomic_thread_fence(memory_order_acquire);
                atomic_store_explicit(&l->stop, 0, memory_order_relaxed);
                l->stopped = 1;
                break; /* aq_loop_stop: leave the tasks as they are */
            }
            if (l->ntimers) /* one clock read per iteration */
                aq__timer_expire(l, aq_now());
            if (l->src && ++l->since_poll >= AQ__POLL_EVERY) {
                l->since_poll = 0; /* busy tasks do not starve I/O */
                l->src->poll(l, 0);
            }
            if (!has_work(l) ||
                (!block && (ran || aq__list_empty(&l->ready))))
                break; /* nothing to do: not an iteration */
            ran = 1;
            l->iterations++;
            if (aq__list_empty(&l->ready)) {
                idle(l);
                continue;
            }
            l->iter_end = aq__list_entry(l->ready.prev, aq_task, link);
        }
        aq_task *t = aq__ready_pop(l);
        aq__prefetch_next(l);
        if (t->compact)
            aq__compact_enter(l, t);
        aq__switch_to(l, &l->ctx, t, 0);
        if (reap(l)) {
            l->iter_end = NULL;
            break;
        }
    }
    l->pending -= !block;
    /* Back to the host, which may wait on aq_loop_fd now, after either
     * run: a post must make it readable (after an aq_loop_run stopped
     * with a post pending, none did: a reviewer's reproducer). */
    if (l->src)
        l->src->host_waits(l);
    aq__thread_loop = outer;
    atomic_store_explicit(&l->running, 0, memory_order_release);
    return AQ_OK;
}

int aq_loop_run(aq_loop *l) { return run(l, 1); }

int aq_loop_run_ready(aq_loop *l) { return run(l, 0); }

int64_t aq_loop_next_deadline(const aq_loop *l)
{
    if (!l)
        return aq_einval("loop is NULL");
    if (!aq__list_empty(&l->ready))
        return aq_now();
    return l->ntimers ? aq__timer_next_due(l) : AQ_NEVER;
}

/* Cancels every task that has not returned and runs them until they do.
 * A cancelled task's suspending calls all fail at once, and a task that
 * its cleanup spawns starts cancelled, so this ends unless a task ignores
 * AQ_ECANCELED and loops forever. An aq_loop_stop made meanwhile (or
 * before, and not yet seen) does not cut it short. */
void aq__loop_finish(aq_loop *l)
{
    l->main = NULL;
    l->closing = 1;
    for (aq_list *n = l->tasks.next; n != &l->tasks; n = n->next) {
        aq_task *t = aq__list_entry(n, aq_task, all);
        if (t->state != AQ__DONE)
            aq_task_cancel(t);
    }
    /* Until a run ends other than at a stop; one refused (AQ_EBUSY:
     * called where loops do not nest) never clears `stopped`, and would
     * be retried for ever (a reviewer's reproducer). */
    while (aq_loop_run(l) == AQ_OK && l->stopped)
        ;
    l->closing = 0;
}

int aq_loop_free(aq_loop *l)
{
    if (!l)
        return aq_einval("loop is NULL");
    /* Its leftover tasks must run to be reaped, and loops do not nest. */
    if (atomic_load_explicit(&l->running, memory_order_acquire) ||
        (aq__in_task() && l->nlive) || l->freeing)
        return AQ_EBUSY;
    /* What the free runs (a pool job's cleanup, a reserved post) runs as
     * a plain function, whoever frees: from a task of another loop it
     * would otherwise see that task as its own, and a suspension there
     * would let another task free l under it (a reviewer's reproducer). */
    int in_task = aq__in_task(); /* a callback run in one's put too */
    aq_task *self = aq__plain_begin();
    if (!in_task) /* from a task, nothing to reap (above) and none to run */
        aq__loop_finish(l);
    /* Every task has returned; what runs from here on (a pool job's
     * cleanup, within the source's destroy) may not start another on l,
     * nor free it again (a reviewer's reproducers: a task spawned by a
     * cleanup never ran and leaked, and a second free from one freed l
     * under this one). */
    l->freeing = 1;
    /* The source first: its destroy runs the late pool results'
     * cleanups, which may still read the handles the program holds (a
     * reviewer's reproducer read a freed record when the records went
     * first). */
    if (l->src)
        l->src->destroy(l);
    while (!aq__list_empty(&l->tasks)) { /* handles never released */
        aq_task *t = aq__list_entry(l->tasks.next, aq_task, all);
        aq__list_remove(&t->all);
        aq__task_free_record(t);
    }
    aq__task_free_spares(l, 0);
    if (l->shared)
        aq__stack_put(l, l->shared);
    aq__stack_release_all(l);
    aq__free(l->timers);
    aq__free(l);
    aq__plain_end(self);
    return AQ_OK;
}

int aq_loop_set_stack_size(aq_loop *l, size_t size)
{
    if (!l)
        return aq_einval("loop is NULL");
    if (size < AQ_STACK_MIN || size > AQ_STACK_MAX)
        return aq_einval("size is outside AQ_STACK_MIN..AQ_STACK_MAX");
    if (l->nlive)
        return AQ_EBUSY;
    size = aq__page_round(size);
    /* Compact mode's shared stack may be one of the pooled stacks or
     * slabs that a new size gives back: releasing them freed it under
     * l->shared (a reviewer's reproducer: a heap-use-after-free at the
     * next compact run or at aq_loop_free). */
    if (size != l->stack_size && l->shared)
        return AQ_EBUSY;
    if (size != l->stack_size) {
        /* Pooled stacks and slabs are all of the old size, and unused. */
        aq__stack_release_all(l);
        l->stack_size = size;
    }
    return AQ_OK;
}

int aq_loop_set_stack_pool(aq_loop *l, size_t max_stacks)
{
    if (!l)
        return aq_einval("loop is NULL");
    l->pool_max = max_stacks;
    aq__task_free_spares(l, max_stacks);
    while (l->npool > max_stacks) { /* re-file the excess as cold */
        aq__stack *s = l->pool;
        l->pool = s->next;
        l->npool--;
        aq__stack_put(l, s);
    }
    return AQ_OK;
}

int aq_loop_seed(aq_loop *l, uint64_t seed)
{
    if (!l)
        return aq_einval("loop is NULL");
    l->rng = seed;
    return AQ_OK;
}

aq_loop *aq_loop_current(void)
{
    return aq__cur ? aq__cur->loop : NULL;
}

int aq_loop_statistics(const aq_loop *l, aq_loop_stats *out)
{
    if (!l || !out)
        return aq_einval("loop or out is NULL");
    memset(out, 0, sizeof *out);
    out->tasks = l->nlive;
    out->ready = aq__list_len(&l->ready);
    /* Live tasks are ready, running (at most one: the caller, if it is a
     * task of this loop, or a callback run in one's put) or parked. */
    const aq_task *self = aq__cur ? aq__cur : aq__plain_task;
    size_t running = self && self->loop == l;
    out->parked = out->tasks - out->ready - running;
    out->timers = l->ntimers;
    out->iterations = l->iterations;
    return AQ_OK;
}

int aq_run(aq_task_fn fn, void *arg, void **result)
{
    aq_loop *l;
    aq_task *main;
    if (!fn)
        return aq_einval("fn is NULL");
    if (aq__in_task())
        return AQ_EBUSY;
    int rc = aq_loop_new(&l);
    if (rc)
        return rc;
    rc = aq_loop_spawn(l, &main, fn, arg, 0);
    if (rc) {
        aq_loop_free(l);
        return rc;
    }
    l->main = main;
    int dump = env_on("AQ_DEADLOCK_DUMP");
    if (dump) /* so that the dump can say how long each task waited */
        aq_loop_set_debug(l, 1);
    aq_loop_run(l);
    if (main->state != AQ__DONE) /* stopped, or it could never end */
        rc = l->stopped ? AQ_ECANCELED : AQ_EDEADLK;
    if (rc == AQ_EDEADLK && dump) {
        fprintf(stderr, "libaq: aq_run: no task can ever run again "
                        "(AQ_EDEADLK); its tasks, before they are "
                        "cancelled:\n");
        aq_loop_dump(l, stderr);
    }
    aq__loop_finish(l);
    if (result)
        *result = main->result;
    aq_task_release(main);
    aq_loop_free(l);
    return rc;
}
