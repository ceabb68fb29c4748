/* libaq - blocking work on a pool of OS threads (aq_to_thread). MIT
 * licensed.
 *
 * A call hands a job record to the pool and parks its task on the job's
 * wait list; a worker runs fn, stores the result in the job and sends the
 * post reserved for it (thread/thread.h), which runs done() on the loop's
 * thread. Invariants:
 * - Whether the waiting call still waits is decided in one place, done(),
 *   on the loop's thread, by whether the call's waiter record is still on
 *   the job's list (a cancel, a deadline or a scope unlinks it when it
 *   wakes the task). Waiting: done() wakes it with AQ_OK, and the call
 *   takes the result and frees the job. Gone: done() gives the result to
 *   cleanup and frees the job. Never both, and nothing is ever written
 *   into the frame of a call that returned: the worker writes only into
 *   the job, which is on the heap.
 * - The worker's last access to a job is the send: the loop may free it
 *   from then on. Its result is published by the inbox's mutex, which the
 *   send takes and the loop takes before running done().
 * - A job is withdrawn, or reaches done(), never both: a call that stops
 *   waiting while its job is still queued takes it back under pool.mu
 *   (fn never runs: asyncio's executor cancels a pending future so),
 *   and a worker takes a job only under pool.mu. The take-back is made
 *   the moment the wait is cut (the waiter is a foreign record whose
 *   abort does it, on the loop's thread), not when the task resumes:
 *   other tasks may run in between, and a worker could take the job
 *   meanwhile (a reviewer's reproducer: fn ran after AQ_ECANCELED).
 * - A call that stopped waiting still holds the job until it has looked
 *   for it in the queue (refs: the call's and done()'s): done() may run
 *   between the cut and the task's resumption, and had it freed the job,
 *   the call would have looked for a freed record, and found (and
 *   withdrawn) another call's job that malloc gave the same address (a
 *   reviewer's reproducer).
 * - A job handed over and not withdrawn always reaches done(): its post
 *   was allocated when the call reserved it, so sending cannot fail, and
 *   aq_loop_free waits for reserved posts and runs them (thread/post.c).
 *   Each job keeps its loop alive from the hand-over to done() or its
 *   withdrawal, in the loop's own count (io->keep, as a shared queue's
 *   waits do), not the user's (aq_loop_keep_alive): an unmatched
 *   aq_loop_keep_alive(loop, 0) of the user's cannot take a job's away,
 *   which let the loop return (aq_run: AQ_EDEADLK) while fn still ran.
 * - The pool's state is guarded by pool.mu; a worker holds it only to
 *   take a job or to wait for one, never while fn runs.
 */
#include "thread/thread.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>

typedef struct job {
    aq_list link; /* on pool.jobs until a worker takes it (mu);
                     then pointing at itself */
    aq_task_fn fn;
    void *arg;
    aq_cleanup_fn cleanup;
    void *result;         /* fn's, written by the worker before the send */
    aq_loop *loop;        /* the caller's */
    const aq_cores *cores; /* the caller's aq__cores_self */
    aq__post *done;       /* reserved: runs done(job) on the loop */
    aq_list waiters;      /* the waiting call's record, while it waits */
    int refs;             /* the call (until it has looked for the job
                             after a cut) and done(): the last frees it */
} job;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work;  /* a job was queued, or the pool is stopping */
    pthread_cond_t stopped; /* a shutdown has ended (pool_at_exit) */
    aq_list jobs;           /* jobs not yet taken, oldest first: a
                               withdrawal unlinks one in O(1) */
    size_t queued;        /* how many */
    size_t size;          /* threads allowed (aq_pool_set_size) */
    size_t nthreads;      /* threads started, in threads[] */
    size_t idle;          /* of them, waiting for work */
    int stopping;         /* aq_pool_shutdown under way */
    int atfork;           /* the fork handlers are registered */
    pthread_t threads[AQ_POOL_MAX];
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER,
          .work = PTHREAD_COND_INITIALIZER,
          .stopped = PTHREAD_COND_INITIALIZER,
          .jobs = {.next = &pool.jobs, .prev = &pool.jobs},
          .size = 4};

/* Set while a worker runs a job (thread.h): from there, aq_pool_shutdown
 * would join its own thread. */
_Thread_local int aq__in_job;
_Thread_local const aq_cores *aq__job_cores;

static void *worker(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        while (aq__list_empty(&pool.jobs) && !pool.stopping) {
            pool.idle++;
            pthread_cond_wait(&pool.work, &pool.mu);
            pool.idle--;
        }
        if (aq__list_empty(&pool.jobs))
            break; /* stopping, and nothing left to do */
        job *j = aq__list_entry(aq__list_pop_front(&pool.jobs), job, link);
        pool.queued--;
        pthread_mutex_unlock(&pool.mu);
        aq__in_job = 1;
        aq__job_cores = j->cores;
        j->result = j->fn(j->arg);
        aq__in_job = 0;
        aq__job_cores = NULL;
        aq__post_send(j->loop, j->done); /* j is the loop's from here */
        pthread_mutex_lock(&pool.mu);
    }
    pthread_mutex_unlock(&pool.mu);
    return NULL;
}

/* fork copies the pool's memory but none of its threads: the child starts
 * with an empty pool. prepare/parent hold mu across the fork, so the
 * child's copy is consistent; the child makes itself a fresh one. */
static void fork_prepare(void) { pthread_mutex_lock(&pool.mu); }
static void fork_parent(void) { pthread_mutex_unlock(&pool.mu); }

static void fork_child(void)
{
    pthread_mutex_init(&pool.mu, NULL);
    pthread_cond_init(&pool.work, NULL);
    pthread_cond_init(&pool.stopped, NULL);
    aq__list_init(&pool.jobs); /* the parent's: their loops are its own */
    pool.queued = pool.nthreads = pool.idle = 0;
    pool.stopping = 0;
}

/* Under mu: starts a worker with every signal blocked (it inherits the
 * mask of the thread creating it, which may not block the signals that a
 * loop waits for: they must not be delivered here). AQ_OK or -errno. */
static int start_worker(void)
{
    if (!pool.atfork) {
        int rc = pthread_atfork(fork_prepare, fork_parent, fork_child);
        if (rc)
            return -rc;
        pool.atfork = 1;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&pool.threads[pool.nthreads], NULL, worker, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc)
        return -rc;
    pool.nthreads++;
    return AQ_OK;
}

/* Queues j, starting a worker if none is idle for it. AQ_OK, AQ_EBUSY
 * (shutting down) or -errno (no thread at all could be started). */
static int submit(job *j)
{
    int rc = AQ_OK;
    pthread_mutex_lock(&pool.mu);
    if (pool.stopping) {
        rc = AQ_EBUSY;
    } else if (pool.queued >= pool.idle && pool.nthreads < pool.size) {
        rc = start_worker();
        if (pool.nthreads > 0)
            rc = AQ_OK; /* a busy worker will take it later */
    }
    if (rc == AQ_OK) {
        aq__list_push_back(&pool.jobs, &j->link);
        pool.queued++;
        pthread_cond_signal(&pool.work);
    }
    pthread_mutex_unlock(&pool.mu);
    return rc;
}

/* Takes j back if no worker has taken it yet: 1 if so (then nobody else
 * holds it), 0 if a worker runs or ran it. */
static int withdraw(job *j)
{
    pthread_mutex_lock(&pool.mu);
    int found = j->link.next != &j->link; /* still on pool.jobs */
    if (found) {
        aq__list_remove(&j->link);
        pool.queued--;
    }
    pthread_mutex_unlock(&pool.mu);
    return found;
}

/* Keeps l alive for a job, opening it to posts (its first job's). */
static int keep(aq_loop *l)
{
    int rc = aq__inbox_open(l);
    if (rc == AQ_OK)
        ((aq__io *)l->io)->keep++;
    return rc;
}

static void unkeep(aq_loop *l) { ((aq__io *)l->io)->keep--; }

/* Undoes what hand_over did for a job that never ran: its post (if
 * reserved), the loop kept alive, the record. */
static void discard(aq_loop *l, job *j)
{
    if (j->done)
        aq__post_unreserve(l, j->done);
    unkeep(l);
    aq__free(j);
}

static void release(job *j)
{
    if (--j->refs == 0)
        aq__free(j);
}

/* The job's post, on the loop's thread, outside any task. */
static void done(void *arg)
{
    job *j = arg;
    unkeep(j->loop); /* kept since the hand-over */
    if (!aq__list_empty(&j->waiters)) {
        aq__task_wake_all(&j->waiters, AQ_OK); /* the call frees j */
        return;
    }
    if (j->cleanup)
        j->cleanup(j->result, j->arg);
    release(j);
}

/* Allocates j, keeps l alive for it and reserves its post, then submits
 * it. AQ_OK: handed over, *out set; otherwise nothing is left behind. */
static int hand_over(aq_loop *l, job **out, aq_task_fn fn, void *arg,
                     aq_cleanup_fn cleanup)
{
    job *j = aq__malloc(sizeof *j);
    if (!j)
        return AQ_ENOMEM;
    int rc = keep(l);
    if (rc) {
        aq__free(j);
        return rc;
    }
    j->done = aq__post_reserve(l, done, j);
    rc = j->done ? AQ_OK : AQ_ENOMEM;
    if (rc == AQ_OK) {
        j->fn = fn;
        j->arg = arg;
        j->cleanup = cleanup;
        j->loop = l;
        j->cores = aq__cores_self;
        j->refs = 2;
        aq__list_init(&j->waiters);
        rc = submit(j);
    }
    if (rc) {
        discard(l, j);
        return rc;
    }
    *out = j;
    return AQ_OK;
}

/* A call's wait: its waiter on the job's list, and what its abort did. */
typedef struct pool_wait {
    aq__foreign fw; /* first: the task's record (runtime.h) */
    job *j;
    int withdrawn;
} pool_wait;

/* A cancel or timer cutting the wait (aq__task_abort), on the loop's
 * thread: off the job's list, and the job taken back if still queued. */
static void cut(aq__foreign *f)
{
    pool_wait *pw = (pool_wait *)f;
    aq__list_remove(&f->w.link);
    pw->withdrawn = withdraw(pw->j);
}

/* The call, up to its outcome; *handed says whether fn was handed over
 * (then done() or this call disposes of the result, else the caller). */
static int call(aq_task_fn fn, void *arg, aq_cleanup_fn cleanup,
                void **result, int64_t deadline, int *handed)
{
    aq_task *self;
    AQ__SUSPEND_BEGIN(self, fn != NULL, "fn is NULL");
    int64_t d = deadline;
    int rc = aq__park_begin(self, &d);
    job *j;
    if (rc == AQ_OK)
        rc = hand_over(self->loop, &j, fn, arg, cleanup);
    if (rc)
        return rc;
    *handed = 1;
    pool_wait pw = {.j = j, .withdrawn = 0};
    pw.fw.abort = cut;
    self->foreign = 1;
    rc = aq__park_on(self, &pw.fw.w, &j->waiters, NULL, d, AQ__W_POOL, NULL);
    self->foreign = 0;
    if (rc == AQ_ETIMEDOUT && self->scope)
        aq__scope_note(self); /* aq__park leaves a foreign wait's to us */
    if (rc && pw.withdrawn) { /* still queued when cut: fn never runs */
        discard(self->loop, j);
        *handed = 0; /* the caller's cleanup(NULL, arg) */
        return rc;
    }
    if (rc) { /* done() disposes of the result, before or after this */
        release(j);
        return rc;
    }
    void *r = j->result;
    aq__free(j);
    if (result)
        *result = r;
    else if (cleanup)
        cleanup(r, arg); /* a result nobody takes */
    return AQ_OK;
}

int aq_to_thread_ex(aq_task_fn fn, void *arg, aq_cleanup_fn cleanup,
                    void **result, int64_t deadline)
{
    int handed = 0;
    int rc = call(fn, arg, cleanup, result, deadline, &handed);
    if (!handed && cleanup)
        cleanup(NULL, arg); /* fn never ran: arg is released all the same */
    return rc;
}

int aq_to_thread_until(aq_task_fn fn, void *arg, void **result,
                       int64_t deadline)
{
    return aq_to_thread_ex(fn, arg, NULL, result, deadline);
}

int aq_to_thread(aq_task_fn fn, void *arg, void **result)
{
    return aq_to_thread_ex(fn, arg, NULL, result, AQ_NEVER);
}

int aq_pool_set_size(size_t n)
{
    if (n == 0 || n > AQ_POOL_MAX)
        return aq_einval("n is 0 or above AQ_POOL_MAX");
    pthread_mutex_lock(&pool.mu);
    pool.size = n;
    pthread_mutex_unlock(&pool.mu);
    return AQ_OK;
}

int aq_pool_shutdown(void)
{
    if (aq__in_job) /* a job's fn: the worker would join itself */
        return AQ_EDEADLK;
    pthread_mutex_lock(&pool.mu);
    if (pool.stopping) {
        pthread_mutex_unlock(&pool.mu);
        return AQ_EBUSY;
    }
    pool.stopping = 1;
    pthread_cond_broadcast(&pool.work);
    size_t n = pool.nthreads;
    pthread_mutex_unlock(&pool.mu);
    /* No thread is started while stopping: threads[0..n) stays put. */
    for (size_t i = 0; i < n; i++)
        pthread_join(pool.threads[i], NULL);
    pthread_mutex_lock(&pool.mu);
    pool.nthreads = 0;
    pool.stopping = 0;
    pthread_cond_broadcast(&pool.stopped);
    pthread_mutex_unlock(&pool.mu);
    return AQ_OK;
}

/* At exit (or when a shared libaq is unloaded): workers still running
 * fn would otherwise run on while the process tears down. A shutdown
 * already under way on another thread is waited for, then one is made
 * (its AQ_EBUSY waited for nothing: a reviewer's reproducer saw fn cut
 * off by the exit). From an fn (AQ_EDEADLK) nothing is waited for. */
void aq__pool_at_exit(void)
{
    while (aq_pool_shutdown() == AQ_EBUSY) {
        pthread_mutex_lock(&pool.mu);
        while (pool.stopping)
            pthread_cond_wait(&pool.stopped, &pool.mu);
        pthread_mutex_unlock(&pool.mu);
    }
}

__attribute__((destructor)) static void pool_at_exit(void)
{
    aq__pool_at_exit();
}
