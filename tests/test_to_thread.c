/* Blocking work on the thread pool (aq_to_thread, _until, _ex,
 * aq_pool_set_size, aq_pool_shutdown): results delivered, more calls than
 * threads, cancels and deadlines while fn runs (cleanup exactly once, on
 * the loop's thread or within aq_loop_free), the loop not taken for a
 * deadlock, workers blocking every signal, shutdown and restart, bad
 * input and allocation failures. Heap args come from the counting
 * allocator, so a cleanup missed is a leak the harness reports. */
#include "rt_helpers.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

static void *twice(void *arg) { return IARG(2 * IVAL(arg)); }

static void *slow_twice(void *arg)
{
    usleep(20000);
    return twice(arg);
}

static void *result_main(void *arg)
{
    (void)arg;
    void *r = NULL;
    ASSERT_OK(aq_to_thread(twice, IARG(21), &r));
    ASSERT_EQ(IVAL(r), 42);
    ASSERT_OK(aq_to_thread_until(twice, IARG(5), &r, aq_now() + AQ_SEC));
    ASSERT_EQ(IVAL(r), 10);
    ASSERT_OK(aq_to_thread(twice, IARG(5), NULL)); /* result dropped */
    /* The only task waits for a thread: the loop sleeps, no AQ_EDEADLK. */
    ASSERT_OK(aq_to_thread(slow_twice, IARG(4), &r));
    ASSERT_EQ(IVAL(r), 8);
    return IARG(1);
}

TEST(test_to_thread_result_delivered)
{
    void *res = NULL;
    ASSERT_OK(aq_run(result_main, NULL, &res));
    ASSERT_EQ(IVAL(res), 1);
}

/* 40 tasks against a pool of 4: every result right; at most 4 fn calls
 * at once, and more than one (they do run in parallel). */
#define NCALLS 40

static _Atomic int g_running, g_peak;

static void *counted(void *arg)
{
    int now = atomic_fetch_add(&g_running, 1) + 1;
    int peak = atomic_load(&g_peak);
    while (now > peak && !atomic_compare_exchange_weak(&g_peak, &peak, now))
        ;
    usleep(2000);
    atomic_fetch_sub(&g_running, 1);
    return IARG(IVAL(arg) + 1);
}

static void *many_child(void *arg)
{
    void *r = NULL;
    ASSERT_OK(aq_to_thread(counted, arg, &r));
    return r;
}

static void *many_main(void *arg)
{
    (void)arg;
    aq_task *t[NCALLS];
    void *res[NCALLS];
    for (long i = 0; i < NCALLS; i++)
        ASSERT_OK(aq_spawn(&t[i], many_child, IARG(i)));
    ASSERT_OK(aq_gather(t, NCALLS, res));
    for (long i = 0; i < NCALLS; i++) {
        ASSERT_EQ(IVAL(res[i]), i + 1);
        ASSERT_OK(aq_task_release(t[i]));
    }
    return NULL;
}

TEST(test_to_thread_many_more_than_the_pool)
{
    atomic_store(&g_running, 0);
    atomic_store(&g_peak, 0);
    ASSERT_OK(aq_pool_set_size(4));
    t_main(many_main, NULL);
    ASSERT(atomic_load(&g_peak) <= 4);
    ASSERT(atomic_load(&g_peak) > 1);
}

/* ---- cancels and deadlines ---------------------------------------------- */

/* fn blocks until the test opens the gate; its arg is a heap record that
 * only the cleanup frees. */
static _Atomic int g_gate;   /* fn may return */
static _Atomic int g_started; /* fn calls begun */
static int g_cleanups;       /* cleanup calls (loop thread only) */
static int g_cleanup_in_task;
static pthread_t g_loop_thread;
static int g_cleanup_thread_ok;

struct req {
    long v;
};

static void *gated(void *arg)
{
    struct req *q = arg;
    atomic_fetch_add(&g_started, 1);
    while (!atomic_load(&g_gate))
        usleep(200);
    return IARG(q->v * 10);
}

static void req_cleanup(void *result, void *arg)
{
    struct req *q = arg;
    g_cleanups++;
    g_cleanup_in_task |= aq_task_self() != NULL;
    g_cleanup_thread_ok = pthread_equal(pthread_self(), g_loop_thread);
    if (result) /* fn ran: the result is its own arg's, times 10 */
        ASSERT_EQ(IVAL(result), q->v * 10);
    t_free(q);
}

static struct req *new_req(long v)
{
    struct req *q = t_malloc(sizeof *q);
    ASSERT(q != NULL);
    q->v = v;
    return q;
}

static void gate_reset(void)
{
    atomic_store(&g_gate, 0);
    atomic_store(&g_started, 0);
    g_cleanups = g_cleanup_in_task = 0;
    g_loop_thread = pthread_self();
}

struct call {
    int rc;
    void *r;
    int64_t deadline;
    aq_cleanup_fn cleanup; /* NULL: req_cleanup */
};

static void *gated_child(void *arg)
{
    struct call *c = arg;
    c->rc = aq_to_thread_ex(gated, new_req(7),
                            c->cleanup ? c->cleanup : req_cleanup, &c->r,
                            c->deadline);
    return NULL;
}

/* Spawns gated_child(c) on l, runs l until fn has begun, cancels the
 * task and runs l until it has returned (aq_loop_run would wait for the
 * job too: it keeps the loop alive); fn still blocked. (Cut short before
 * a worker took it, the job would be withdrawn instead.) */
static void cut_short_on(aq_loop *l, struct call *c)
{
    int before = atomic_load(&g_started);
    c->rc = PENDING;
    c->deadline = AQ_NEVER;
    aq_task *t;
    ASSERT_OK(aq_loop_spawn(l, &t, gated_child, c, 0));
    while (atomic_load(&g_started) == before) {
        ASSERT_OK(aq_loop_run_ready(l));
        usleep(100);
    }
    ASSERT_OK(aq_task_cancel(t));
    while (c->rc == PENDING)
        ASSERT_OK(aq_loop_run_ready(l));
    ASSERT_OK(aq_task_release(t));
    ASSERT_RC(c->rc, AQ_ECANCELED);
    ASSERT_EQ(g_cleanups, 0);
}

/* Cancelled while fn runs: the call returns at once, fn runs on, and
 * the cleanup gets its result once, on the loop's thread, outside a task,
 * while the loop goes on. */
static void *cancel_main(void *arg)
{
    (void)arg;
    struct call c = {.rc = PENDING, .deadline = AQ_NEVER};
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, gated_child, &c));
    while (atomic_load(&g_started) == 0)
        ASSERT_OK(aq_sleep(AQ_MSEC));
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_RC(c.rc, AQ_ECANCELED);
    ASSERT(c.r == NULL); /* never written */
    ASSERT_OK(aq_task_release(t));
    ASSERT_EQ(g_cleanups, 0); /* fn still runs */
    atomic_store(&g_gate, 1);
    while (g_cleanups == 0)
        ASSERT_OK(aq_sleep(AQ_MSEC));
    ASSERT_OK(aq_sleep(5 * AQ_MSEC));
    ASSERT_EQ(g_cleanups, 1);
    ASSERT_EQ(g_cleanup_in_task, 0);
    ASSERT(g_cleanup_thread_ok);
    return NULL;
}

TEST(test_to_thread_cancel_while_running)
{
    gate_reset();
    t_main(cancel_main, NULL);
    ASSERT_EQ(g_cleanups, 1);
}

/* The deadline passes while fn runs: AQ_ETIMEDOUT, then as a cancel. The
 * main task returns before fn does: aq_run's free waits for fn and runs
 * the cleanup itself. */
static void *opener(void *arg)
{
    (void)arg;
    usleep(20000);
    atomic_store(&g_gate, 1);
    return NULL;
}

static void *deadline_main(void *arg)
{
    (void)arg;
    struct call c = {.rc = PENDING};
    /* A deadline that passes before a worker takes the job withdraws it
     * (cleanup at once, fn never run): longer until one took it. */
    for (int64_t wait = 5 * AQ_MSEC;; wait *= 2) {
        int64_t t0 = aq_now();
        c.deadline = t0 + wait;
        gated_child(&c);
        ASSERT_RC(c.rc, AQ_ETIMEDOUT);
        ASSERT(aq_now() - t0 >= wait);
        if (g_cleanups == 0)
            break; /* taken: fn runs on */
        ASSERT_EQ(g_cleanups, 1);
        g_cleanups = 0;
    }
    pthread_t th;
    ASSERT(pthread_create(&th, NULL, opener, NULL) == 0);
    pthread_detach(th);
    return NULL; /* fn still blocked */
}

/* A pool job that holds its thread until the gate opens. */
static void *gate_only(void *arg)
{
    atomic_fetch_add(&g_started, 1);
    while (!atomic_load(&g_gate))
        usleep(200);
    return arg;
}

static void *hold_the_worker(void *arg)
{
    (void)arg;
    ASSERT_OK(aq_to_thread(gate_only, NULL, NULL));
    return NULL;
}

/* Spawns a task whose pool call holds the pool's only thread (see
 * one_worker) until the gate opens, and waits until it does. */
static aq_task *hold_worker(void)
{
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, hold_the_worker, NULL));
    while (atomic_load(&g_started) == 0)
        ASSERT_OK(aq_sleep(AQ_MSEC));
    return t;
}

/* Runs fn as the main task (in compact mode if asked) with a pool of one
 * thread, none of it left over from earlier tests. */
static void one_worker(aq_task_fn fn, int compact)
{
    gate_reset();
    ASSERT_OK(aq_pool_shutdown());
    ASSERT_OK(aq_pool_set_size(1));
    if (compact)
        t_main_compact(fn, NULL);
    else
        t_main(fn, NULL);
    ASSERT_OK(aq_pool_set_size(4));
}

/* A call cut short while its job still waits for a thread withdraws it:
 * fn never runs (asyncio's executor never starts a cancelled pending
 * future), and cleanup(NULL, arg) is called at once, in the calling task.
 * It ran all the same, later, when a worker came to it (and held the
 * worker meanwhile). */
static void *withdraw_main(void *arg)
{
    (void)arg;
    aq_task *busy = hold_worker();
    struct call queued = {.rc = PENDING, .deadline = aq_now() + 5 * AQ_MSEC};
    gated_child(&queued);
    ASSERT_RC(queued.rc, AQ_ETIMEDOUT);
    ASSERT_EQ(g_cleanups, 1); /* at once, with NULL (req_cleanup checks) */
    ASSERT_EQ(g_cleanup_in_task, 1);
    aq_task *c;
    queued.deadline = AQ_NEVER;
    ASSERT_OK(aq_spawn(&c, gated_child, &queued)); /* cancelled in line */
    ASSERT_OK(aq_sleep(5 * AQ_MSEC));
    ASSERT_OK(aq_task_cancel(c));
    ASSERT_OK(aq_task_wait(c, NULL));
    ASSERT_OK(aq_task_release(c));
    ASSERT_RC(queued.rc, AQ_ECANCELED);
    ASSERT_EQ(g_cleanups, 2);
    atomic_store(&g_gate, 1);
    ASSERT_OK(aq_task_wait(busy, NULL));
    ASSERT_OK(aq_task_release(busy));
    ASSERT_OK(aq_to_thread(twice, IARG(1), NULL)); /* after any queued */
    ASSERT_EQ(atomic_load(&g_started), 1); /* the two never ran */
    return NULL;
}

TEST(test_to_thread_cut_short_in_line_never_runs)
{
    one_worker(withdraw_main, 0);
    ASSERT_EQ(g_cleanups, 2);
}

/* The take-back is made when the cancel comes, not when the cancelled
 * task resumes: tasks that run in between (here: the gate opened, then
 * 20 ms of CPU on the loop's thread) let the worker come free, and it
 * took the job and ran fn after the call had returned AQ_ECANCELED (a
 * reviewer's reproducer). */
static void *cut_then_busy_main(void *arg)
{
    (void)arg;
    aq_task *busy = hold_worker(), *c;
    static struct call queued; /* not in a frame: compact mode moves it */
    queued = (struct call){.rc = PENDING, .deadline = AQ_NEVER};
    ASSERT_OK(aq_spawn(&c, gated_child, &queued));
    ASSERT_OK(aq_yield()); /* its job queued behind the gate */
    ASSERT_OK(aq_task_cancel(c));
    atomic_store(&g_gate, 1); /* the worker comes free ... */
    int64_t end = aq_now() + 20 * AQ_MSEC;
    while (aq_now() < end) /* ... while the loop's thread is busy */
        ;
    ASSERT_OK(aq_task_wait(c, NULL));
    ASSERT_RC(queued.rc, AQ_ECANCELED);
    ASSERT_EQ(g_cleanups, 1); /* (NULL, arg), at once, in the task */
    ASSERT_EQ(g_cleanup_in_task, 1);
    ASSERT_OK(aq_task_wait(busy, NULL));
    ASSERT_OK(aq_to_thread(twice, IARG(1), NULL)); /* after any queued */
    ASSERT_EQ(atomic_load(&g_started), 1);         /* gated never ran */
    ASSERT_OK(aq_task_release(c));
    ASSERT_OK(aq_task_release(busy));
    return NULL;
}

TEST(test_to_thread_cancel_takes_back_at_once)
{
    one_worker(cut_then_busy_main, 0);
    ASSERT_EQ(g_cleanups, 1);
    /* In compact mode the cancelled task's record is in its frames,
     * copied aside while it is parked: the take-back reads it there. */
    one_worker(cut_then_busy_main, 1);
    ASSERT_EQ(g_cleanups, 1);
}

/* A call cut short after its job ran, whose result comes (done) before
 * the task resumes: the job must outlive that resumption. A reviewer's
 * reproducer, with a pool of 1: A's fn posts the cancel of A (and sets
 * B's event) just before its result's post, so both run in one batch;
 * B then calls aq_to_thread, its job record given A's freed address by
 * malloc, queued behind F's blocked job; A, resuming, looked for its
 * freed record in the queue, found B's job and withdrew it: B's fn never
 * ran and B waited for ever on a freed record. */
static aq_loop *aba_loop;
static aq_task *aba_a;
static aq_event *aba_ev;
static _Atomic int aba_fn_a_done, aba_posted;
static int aba_b_ran;

static void aba_cancel(void *unused)
{
    (void)unused;
    ASSERT_OK(aq_event_set(aba_ev)); /* B ready before A */
    ASSERT_OK(aq_task_cancel(aba_a));
    aba_posted = 1;
}

static void *aba_fn_a(void *arg)
{
    ASSERT_OK(aq_loop_post(aba_loop, aba_cancel, NULL));
    aba_fn_a_done = 1;
    return arg; /* its done post follows the cancel's */
}

static void *aba_fn_b(void *arg)
{
    aba_b_ran = 1;
    return arg;
}

static void *aba_task_a(void *arg)
{
    (void)arg;
    ASSERT_RC(aq_to_thread(aba_fn_a, NULL, NULL), AQ_ECANCELED);
    return NULL;
}

static void *aba_task_b(void *arg)
{
    (void)arg;
    ASSERT_OK(aq_event_wait(aba_ev));
    return IARG(aq_to_thread(aba_fn_b, NULL, NULL));
}

/* Keeps the loop from polling until both posts are in its inbox. */
static void *aba_spinner(void *arg)
{
    (void)arg;
    while (!aba_fn_a_done)
        ;
    usleep(20000); /* the worker sends the done post meanwhile */
    while (!aba_posted)
        ASSERT_OK(aq_yield());
    return NULL;
}

static void *aba_main(void *arg)
{
    (void)arg;
    aba_loop = aq_loop_current();
    ASSERT_OK(aq_event_new(&aba_ev));
    aq_task *b, *f, *s;
    ASSERT_OK(aq_spawn(&b, aba_task_b, NULL));
    ASSERT_OK(aq_yield()); /* B waits on the event */
    ASSERT_OK(aq_spawn(&aba_a, aba_task_a, NULL));
    ASSERT_OK(aq_spawn(&f, hold_the_worker, NULL)); /* behind A's job */
    ASSERT_OK(aq_spawn(&s, aba_spinner, NULL));
    ASSERT_OK(aq_task_wait(aba_a, NULL)); /* cut, and back from the cut */
    atomic_store(&g_gate, 1); /* then F, then B's fn, run */
    void *rc = IARG(1);
    ASSERT_OK(aq_task_wait_until(b, &rc, aq_in(2 * AQ_SEC))); /* no hang */
    ASSERT_OK((int)IVAL(rc));
    ASSERT_EQ(aba_b_ran, 1);
    aq_task *t[] = {aba_a, b, f, s};
    ASSERT_OK(aq_gather(t, 4, NULL));
    for (int i = 0; i < 4; i++)
        ASSERT_OK(aq_task_release(t[i]));
    ASSERT_OK(aq_event_free(aba_ev));
    return NULL;
}

TEST(test_to_thread_cut_after_its_result_came) { one_worker(aba_main, 0); }

/* The call keeps its loop alive in a count of the loop's own: an
 * unmatched aq_loop_keep_alive(loop, 0) is AQ_EINVAL while fn runs (a
 * reviewer's reproducer: AQ_OK, taking the job's keep-alive away, and
 * aq_run returned AQ_EDEADLK while fn ran, cancelling the caller). */
static void *twice_later(void *arg)
{
    usleep(20000);
    return twice(arg);
}

static void *waits_for_twice(void *arg)
{
    void *r = NULL;
    ASSERT_OK(aq_to_thread(twice_later, arg, &r));
    ASSERT_EQ(IVAL(r), 2 * IVAL(arg));
    return NULL;
}

static void *unmatched_main(void *arg)
{
    (void)arg;
    aq_loop *l = aq_loop_current();
    ASSERT_RC(aq_loop_keep_alive(l, 0), AQ_EINVAL);
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, waits_for_twice, IARG(21)));
    ASSERT_OK(aq_yield()); /* fn handed over */
    ASSERT_RC(aq_loop_keep_alive(l, 0), AQ_EINVAL);
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_OK(aq_task_release(t));
    return NULL;
}

TEST(test_to_thread_keep_alive_not_the_users)
{
    t_main(unmatched_main, NULL);
}

TEST(test_to_thread_deadline_and_cleanup_at_loop_free)
{
    gate_reset();
    ASSERT_OK(aq_run(deadline_main, NULL, NULL));
    ASSERT_EQ(g_cleanups, 1); /* aq_run waited for fn, then cleaned up */
    ASSERT_EQ(g_cleanup_in_task, 0);
}

/* A task of another loop frees the loop whose task left a job running
 * (its deadline passed): the free waits for fn and runs the cleanup as a
 * plain function, outside any task, as the header says, not inside the
 * freeing task (a reviewer's reproducer: aq_task_self() was that task,
 * and a suspending call in the cleanup suspended it mid-free). */
static void *free_other_main(void *other)
{
    pthread_t th;
    ASSERT(pthread_create(&th, NULL, opener, NULL) == 0);
    pthread_detach(th);
    ASSERT_OK(aq_loop_free(other)); /* no task left there */
    return NULL;
}

TEST(test_to_thread_cleanup_outside_tasks_when_a_task_frees_the_loop)
{
    gate_reset();
    aq_loop *other;
    struct call c = {0};
    ASSERT_OK(aq_loop_new(&other));
    cut_short_on(other, &c);
    ASSERT_OK(aq_run(free_other_main, other, NULL));
    ASSERT_EQ(g_cleanups, 1);
    ASSERT_EQ(g_cleanup_in_task, 0);
}

/* A cleanup run within aq_loop_free (fn returned after its caller timed
 * out and the loop's tasks were reaped) finds the loop closed to new
 * work: a spawn on it is AQ_EINVAL (a reviewer's reproducer: AQ_OK, and
 * the task never ran and leaked), and a free, run or run_ready of it
 * AQ_EBUSY (the second free freed the loop under the first: a heap use
 * after free). */
static aq_loop *freed_loop;
static int in_free_spawn, in_free_free, in_free_run, in_free_run_ready;

static void *never_runs(void *arg) { return arg; }

static aq_task *in_free_caller; /* a handle never released */
static int in_free_caller_done = -1;

static void in_free_cleanup(void *result, void *arg)
{
    req_cleanup(result, arg);
    /* The handle is still valid here (the records went first, and this
     * read freed memory: a reviewer's ASan reproducer). */
    in_free_caller_done = aq_task_done(in_free_caller);
    in_free_spawn = aq_loop_spawn(freed_loop, NULL, never_runs, NULL, 0);
    in_free_free = aq_loop_free(freed_loop);
    in_free_run = aq_loop_run(freed_loop);
    in_free_run_ready = aq_loop_run_ready(freed_loop);
}

TEST(test_to_thread_cleanup_within_free_cannot_reuse_the_loop)
{
    gate_reset();
    struct call c = {.cleanup = in_free_cleanup};
    ASSERT_OK(aq_loop_new(&freed_loop));
    ASSERT_OK(aq_loop_spawn(freed_loop, &in_free_caller, twice, IARG(1), 0));
    cut_short_on(freed_loop, &c); /* runs in_free_caller to its end too */
    pthread_t th;
    ASSERT(pthread_create(&th, NULL, opener, NULL) == 0);
    ASSERT_OK(aq_loop_free(freed_loop)); /* waits for fn, runs cleanup */
    ASSERT(pthread_join(th, NULL) == 0);
    ASSERT_EQ(g_cleanups, 1);
    ASSERT_RC(in_free_spawn, AQ_EINVAL);
    ASSERT_RC(in_free_free, AQ_EBUSY);
    ASSERT_RC(in_free_run, AQ_EBUSY);
    ASSERT_RC(in_free_run_ready, AQ_EBUSY);
    ASSERT_EQ(in_free_caller_done, 1);
}

/* A timeout scope cuts the wait short like a deadline; a result nobody
 * takes (result NULL) goes to the cleanup on success too, called by the
 * caller before the call returns (as thread.h says). */
static void *scope_main(void *arg)
{
    (void)arg;
    aq_timeout s;
    ASSERT_OK(aq_timeout_begin(&s, aq_now() + 2 * AQ_MSEC));
    ASSERT_RC(aq_to_thread_ex(gated, new_req(3), req_cleanup, NULL,
                              AQ_NEVER), AQ_ETIMEDOUT);
    ASSERT_EQ(aq_timeout_end(&s), 1);
    atomic_store(&g_gate, 1);
    while (g_cleanups == 0)
        ASSERT_OK(aq_sleep(AQ_MSEC));
    ASSERT_OK(aq_to_thread_ex(gated, new_req(4), req_cleanup, NULL,
                              AQ_NEVER));
    ASSERT_EQ(g_cleanups, 2);
    return NULL;
}

TEST(test_to_thread_scope_and_untaken_result)
{
    gate_reset();
    t_main(scope_main, NULL);
    ASSERT_EQ(g_cleanups, 2);
}

/* ---- the pool ------------------------------------------------------------ */

/* The process's exit while another thread's aq_pool_shutdown joins a
 * worker still running fn: the exit's own shutdown (aq__pool_at_exit,
 * pool.c's destructor, linked in from the static library) waits for that
 * one (its AQ_EBUSY waited for nothing, and the process ended with fn cut
 * off: a reviewer's reproducer, which forked a process to exit). */
void aq__pool_at_exit(void);

static _Atomic int g_exit_fn_started, g_exit_fn_done;

static void *finish_later(void *arg)
{
    atomic_store(&g_exit_fn_started, 1);
    usleep(100000);
    atomic_store(&g_exit_fn_done, 1);
    return arg;
}

static void *call_finish_later(void *arg)
{
    (void)arg;
    ASSERT_OK(aq_to_thread(finish_later, NULL, NULL));
    return NULL;
}

static void *other_shutdown(void *arg)
{
    (void)arg;
    ASSERT_OK(aq_pool_shutdown()); /* joins the worker: until fn ends */
    return NULL;
}

TEST(test_to_thread_exit_waits_for_a_shutdown_under_way)
{
    aq_loop *l;
    pthread_t th;
    ASSERT_OK(aq_loop_new(&l));
    ASSERT_OK(aq_loop_spawn(l, NULL, call_finish_later, NULL, 0));
    ASSERT_OK(aq_loop_run_ready(l)); /* fn handed over */
    while (!atomic_load(&g_exit_fn_started))
        usleep(1000);
    ASSERT(pthread_create(&th, NULL, other_shutdown, NULL) == 0);
    usleep(20000); /* the other shutdown is joining by now */
    aq__pool_at_exit();
    ASSERT_EQ(atomic_load(&g_exit_fn_done), 1);
    ASSERT(pthread_join(th, NULL) == 0);
    ASSERT_OK(aq_loop_run(l)); /* the call's result */
    ASSERT_OK(aq_loop_free(l));
}

/* Workers block every signal, whatever the loop's thread blocks. */
static void *mask_of_worker(void *arg)
{
    (void)arg;
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    return IARG(sigismember(&cur, SIGTERM) && sigismember(&cur, SIGINT) &&
                sigismember(&cur, SIGUSR1));
}

static void *mask_main(void *arg)
{
    (void)arg;
    void *r = NULL;
    ASSERT_OK(aq_to_thread(mask_of_worker, NULL, &r));
    ASSERT_EQ(IVAL(r), 1);
    return NULL;
}

static void *try_shutdown(void *arg)
{
    (void)arg;
    return IARG(aq_pool_shutdown());
}

static void *shutdown_main(void *arg)
{
    (void)arg;
    void *r = NULL;
    ASSERT_OK(aq_to_thread(try_shutdown, NULL, &r));
    ASSERT_RC((int)IVAL(r), AQ_EDEADLK); /* it would join itself */
    return NULL;
}

TEST(test_to_thread_pool_lifetime)
{
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    ASSERT(!sigismember(&cur, SIGTERM));
    ASSERT_OK(aq_pool_shutdown()); /* fresh threads for the mask test */
    t_main(mask_main, NULL);
    t_main(shutdown_main, NULL);
    ASSERT_OK(aq_pool_set_size(1));
    ASSERT_OK(aq_pool_shutdown());
    ASSERT_OK(aq_pool_shutdown()); /* twice: nothing to join */
    t_main(result_main, NULL);     /* restarts, with one thread */
    ASSERT_OK(aq_pool_set_size(4));
}

/* ---- bad input ----------------------------------------------------------- */

static void *never(void *arg)
{
    (void)arg;
    atomic_fetch_add(&g_started, 1);
    return NULL;
}

static void *bad_main(void *arg)
{
    (void)arg;
    void *r = IARG(99);
    ASSERT_RC(aq_to_thread(NULL, NULL, &r), AQ_EINVAL);
    ASSERT_RC(aq_to_thread_ex(NULL, new_req(1), req_cleanup, &r, AQ_NEVER),
              AQ_EINVAL);
    ASSERT_EQ(g_cleanups, 1); /* arg released all the same */
    /* A deadline already passed: fn never handed over. */
    ASSERT_RC(aq_to_thread_ex(never, new_req(1), req_cleanup, &r, 0),
              AQ_ETIMEDOUT);
    ASSERT_EQ(g_cleanups, 2);
    /* A cancelled caller: the same. */
    ASSERT_OK(aq_task_cancel(aq_task_self()));
    ASSERT_RC(aq_to_thread(NULL, NULL, &r), AQ_EINVAL); /* before cancel */
    ASSERT_RC(aq_to_thread_ex(never, new_req(1), req_cleanup, &r,
                              AQ_NEVER), AQ_ECANCELED);
    ASSERT_EQ(g_cleanups, 3);
    ASSERT_EQ(IVAL(r), 99); /* never written */
    ASSERT_EQ(atomic_load(&g_started), 0);
    return NULL;
}

/* Every allocation of a first call fails in turn (the job, the loop's
 * I/O state, poller and inbox, the post): AQ_ENOMEM, fn not run, the
 * cleanup called once with NULL, nothing leaked. */
static void *oom_main(void *arg)
{
    (void)arg;
    for (long k = 1;; k++) {
        void *r = NULL;
        int before = g_cleanups;
        struct req *q = new_req(1);
        t_fail_alloc_at(k);
        int rc = aq_to_thread_ex(ret_arg, q, req_cleanup, &r, AQ_NEVER);
        t_fail_alloc_at(0);
        if (rc == AQ_OK) {
            ASSERT(k > 3);
            ASSERT_EQ(g_cleanups, before); /* arg is ours again */
            ASSERT(r == q);
            t_free(q);
            break;
        }
        ASSERT_RC(rc, AQ_ENOMEM);
        ASSERT_EQ(g_cleanups, before + 1);
    }
    return NULL;
}

TEST(test_to_thread_bad_input)
{
    gate_reset();
    void *r = IARG(99);
    ASSERT_RC(aq_to_thread(twice, NULL, &r), AQ_EPERM);
    ASSERT_RC(aq_to_thread_until(NULL, NULL, NULL, 0), AQ_EPERM);
    ASSERT_RC(aq_to_thread_ex(never, new_req(1), req_cleanup, &r,
                              AQ_NEVER), AQ_EPERM);
    ASSERT_EQ(g_cleanups, 1);
    ASSERT_EQ(IVAL(r), 99);
    ASSERT_RC(aq_pool_set_size(0), AQ_EINVAL);
    ASSERT_RC(aq_pool_set_size(AQ_POOL_MAX + 1), AQ_EINVAL);
    ASSERT_OK(aq_pool_set_size(AQ_POOL_MAX));
    ASSERT_OK(aq_pool_set_size(4));
    g_cleanups = 0;
    t_main(bad_main, NULL);
    t_main(oom_main, NULL);
}

int main(int argc, char **argv)
{
    RUN(test_to_thread_result_delivered);
    RUN(test_to_thread_many_more_than_the_pool);
    RUN(test_to_thread_cancel_while_running);
    RUN(test_to_thread_cut_short_in_line_never_runs);
    RUN(test_to_thread_keep_alive_not_the_users);
    RUN(test_to_thread_cut_after_its_result_came);
    RUN(test_to_thread_cancel_takes_back_at_once);
    RUN(test_to_thread_deadline_and_cleanup_at_loop_free);
    RUN(test_to_thread_cleanup_outside_tasks_when_a_task_frees_the_loop);
    RUN(test_to_thread_cleanup_within_free_cannot_reuse_the_loop);
    RUN(test_to_thread_scope_and_untaken_result);
    RUN(test_to_thread_pool_lifetime);
    RUN(test_to_thread_exit_waits_for_a_shutdown_under_way);
    RUN(test_to_thread_bad_input);
    return t_done();
}
