/* libaq - tests of the loop API used directly. MIT licensed.
 *
 * Covers aq_loop_new/run/free without aq_run: tasks spawned from outside
 * a running loop and their results, aq_loop_run returning with only
 * blocked tasks left and being run again after more work arrives,
 * aq_loop_free cancelling and reaping what is still blocked, the calls
 * refused from inside a running loop, aq_loop_current, the default stack
 * size (its bounds, and refused while a task is alive), the stack pool
 * limit, and two loops on one thread.
 */
#include "rt_helpers.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

/* ---- helpers --------------------------------------------------------- */

/* What a task saw: its loop, and how its one waiting call ended. */
struct probe {
    aq_queue *q;   /* get from it, if set; else just record and return */
    aq_loop *loop; /* aq_loop_current() inside the task */
    aq_task *self;
    int ran, rc;
    long item;
};

static void *probe_main(void *arg)
{
    struct probe *p = arg;
    p->ran = 1;
    p->loop = aq_loop_current();
    p->self = aq_task_self();
    p->rc = p->q ? aq_queue_get(p->q, &p->item) : AQ_OK;
    return p;
}

static void probe_init(struct probe *p, aq_queue *q)
{
    *p = (struct probe){.q = q, .rc = PENDING, .item = -1};
}

static aq_loop *new_loop(void)
{
    aq_loop *l;
    ASSERT_OK(aq_loop_new(&l));
    return l;
}

/* Collects the results of tasks spawned from outside, through the only
 * call that reads them: aq_task_wait, from inside a task. */
struct collect {
    aq_task **set;
    size_t n;
    void *res[4];
};

static void *collect_main(void *arg)
{
    struct collect *c = arg;
    ASSERT_OK(aq_gather(c->set, c->n, c->res));
    return NULL;
}

/* ---- running --------------------------------------------------------- */

TEST(test_loop_spawn_outside_run_and_results)
{
    aq_loop *l = new_loop();
    aq_task *t[3], *c;
    struct probe p;
    probe_init(&p, NULL);
    ASSERT(aq_loop_current() == NULL);
    ASSERT_OK(aq_loop_spawn(l, &t[0], ret_arg, IARG(10), 0));
    ASSERT_OK(aq_loop_spawn(l, &t[1], probe_main, &p, 0));
    ASSERT_OK(aq_loop_spawn(l, &t[2], ret_arg, IARG(30), 0));
    struct collect col = {t, 3, {0}};
    ASSERT_OK(aq_loop_spawn(l, &c, collect_main, &col, 0));
    /* Nothing runs before aq_loop_run. */
    ASSERT_EQ(p.ran, 0);
    ASSERT_EQ(aq_task_done(t[0]), 0);
    ASSERT_OK(aq_loop_run(l));
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(aq_task_done(t[i]), 1);
    ASSERT_EQ(aq_task_done(c), 1);
    ASSERT_EQ(IVAL(col.res[0]), 10);
    ASSERT(col.res[1] == &p);
    ASSERT_EQ(IVAL(col.res[2]), 30);
    ASSERT(p.loop == l);
    ASSERT(p.self == t[1]);
    ASSERT(aq_loop_current() == NULL);
    ASSERT(aq_task_self() == NULL);
    /* Running an idle loop again returns at once. */
    ASSERT_OK(aq_loop_run(l));
    for (int i = 0; i < 3; i++)
        ASSERT_OK(aq_task_release(t[i]));
    ASSERT_OK(aq_task_release(c));
    ASSERT_OK(aq_loop_free(l));
}

TEST(test_loop_run_returns_with_blocked_tasks)
{
    aq_loop *l = new_loop();
    aq_queue *q = new_fifo(0);
    aq_task *t;
    struct probe p;
    probe_init(&p, q);
    ASSERT_OK(aq_loop_spawn(l, &t, probe_main, &p, 0));
    ASSERT_OK(aq_loop_run(l));
    /* It stopped with the task still waiting, not with an error. */
    ASSERT_EQ(p.ran, 1);
    ASSERT_EQ(p.rc, PENDING);
    ASSERT_EQ(aq_task_done(t), 0);
    ASSERT_EQ(aq_task_cancelled(t), 0);
    ASSERT_EQ(aq_queue_getters(q), 1);
    /* Fed from outside the loop, the task becomes ready... */
    long v = 12;
    ASSERT_OK(aq_queue_try_put(q, &v));
    ASSERT_EQ(aq_queue_getters(q), 0);
    ASSERT_EQ(p.rc, PENDING);
    /* ...and the next run finishes it. */
    ASSERT_OK(aq_loop_run(l));
    ASSERT_OK(p.rc);
    ASSERT_EQ(p.item, 12);
    ASSERT_EQ(aq_task_done(t), 1);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_loop_free(l));
    ASSERT_OK(aq_queue_free(q));
}

/* Puts arg's value on the queue the probe waits on. */
struct feed {
    aq_queue *q;
    long v;
};

static void *feed_main(void *arg)
{
    struct feed *f = arg;
    ASSERT_OK(aq_queue_put(f->q, &f->v));
    return NULL;
}

TEST(test_loop_run_again_after_more_spawns)
{
    aq_loop *l = new_loop();
    aq_queue *q = new_fifo(0);
    struct probe p[2];
    probe_init(&p[0], q);
    probe_init(&p[1], q);
    ASSERT_OK(aq_loop_spawn(l, NULL, probe_main, &p[0], 0));
    ASSERT_OK(aq_loop_spawn(l, NULL, probe_main, &p[1], 0));
    ASSERT_OK(aq_loop_run(l));
    ASSERT_EQ(aq_queue_getters(q), 2);
    struct feed f1 = {q, 1}, f2 = {q, 2};
    ASSERT_OK(aq_loop_spawn(l, NULL, feed_main, &f1, 0));
    ASSERT_OK(aq_loop_run(l));
    /* The oldest getter got the item; the other still waits. */
    ASSERT_OK(p[0].rc);
    ASSERT_EQ(p[0].item, 1);
    ASSERT_EQ(p[1].rc, PENDING);
    ASSERT_EQ(aq_queue_getters(q), 1);
    ASSERT_OK(aq_loop_spawn(l, NULL, feed_main, &f2, 0));
    ASSERT_OK(aq_loop_run(l));
    ASSERT_OK(p[1].rc);
    ASSERT_EQ(p[1].item, 2);
    ASSERT_EQ(aq_queue_getters(q), 0);
    ASSERT_OK(aq_loop_free(l));
    ASSERT_OK(aq_queue_free(q));
}

static void *sleep_task(void *arg)
{
    *(int *)arg = aq_sleep(10 * AQ_SEC);
    return NULL;
}

TEST(test_loop_free_cancels_and_reaps_blocked)
{
    aq_loop *l = new_loop();
    aq_queue *q = new_fifo(0);
    struct probe kept, detached, unstarted;
    aq_task *t, *u;
    probe_init(&kept, q);
    probe_init(&detached, q);
    probe_init(&unstarted, q);
    ASSERT_OK(aq_loop_spawn(l, &t, probe_main, &kept, 0));
    ASSERT_OK(aq_loop_spawn(l, NULL, probe_main, &detached, 0));
    ASSERT_OK(aq_loop_run(l));
    ASSERT_EQ(aq_queue_getters(q), 2);
    /* Spawned after the run: never ran before the free. A sleeper too,
     * which the free must not sleep out. */
    int slept = PENDING;
    ASSERT_OK(aq_loop_spawn(l, &u, probe_main, &unstarted, 0));
    ASSERT_OK(aq_loop_spawn(l, NULL, sleep_task, &slept, 0));
    ASSERT_OK(aq_task_release(u)); /* dropped early: the loop keeps it */
    int64_t start = aq_now();
    ASSERT_OK(aq_loop_free(l)); /* t's handle is reclaimed here */
    ASSERT(aq_now() - start < AQ_SEC);
    ASSERT_RC(kept.rc, AQ_ECANCELED);
    ASSERT_RC(detached.rc, AQ_ECANCELED);
    ASSERT_EQ(unstarted.ran, 1);
    ASSERT_RC(unstarted.rc, AQ_ECANCELED);
    ASSERT_RC(slept, AQ_ECANCELED);
    ASSERT_EQ(aq_queue_getters(q), 0);
    /* The queue outlives the loop and is untouched. */
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_EQ(aq_queue_unfinished(q), 0);
    ASSERT_OK(aq_queue_free(q));
}

/* ---- calls refused inside a running loop ----------------------------- */

struct inside {
    aq_loop *own, *other;
    int run_own, free_own, run_other;
};

static void *inside_main(void *arg)
{
    struct inside *in = arg;
    ASSERT(aq_loop_current() == in->own);
    in->run_own = aq_loop_run(in->own);
    in->free_own = aq_loop_free(in->own);
    in->run_other = aq_loop_run(in->other);
    /* Still alive and running: spawning onto it works. */
    ASSERT_OK(aq_spawn(NULL, ret_arg, NULL));
    ASSERT_OK(aq_yield());
    return NULL;
}

TEST(test_loop_run_and_free_inside_are_ebusy)
{
    struct inside in = {new_loop(), new_loop(), PENDING, PENDING, PENDING};
    struct probe p;
    aq_task *t;
    probe_init(&p, NULL);
    /* other has a ready task that must not run from inside own's. */
    ASSERT_OK(aq_loop_spawn(in.other, NULL, probe_main, &p, 0));
    ASSERT_OK(aq_loop_spawn(in.own, &t, inside_main, &in, 0));
    ASSERT_OK(aq_loop_run(in.own));
    ASSERT_EQ(aq_task_done(t), 1);
    ASSERT_RC(in.run_own, AQ_EBUSY);
    ASSERT_RC(in.free_own, AQ_EBUSY);
    ASSERT_RC(in.run_other, AQ_EBUSY);
    ASSERT_EQ(p.ran, 0);
    ASSERT_OK(aq_loop_run(in.other));
    ASSERT_EQ(p.ran, 1);
    ASSERT(p.loop == in.other);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_loop_free(in.own));
    ASSERT_OK(aq_loop_free(in.other));
}

/* Two threads run one loop at once by mistake: one of them always gets
 * AQ_EBUSY, so no two threads are ever inside its tasks together. */
static struct {
    aq_loop *l;
    atomic_int inside, most, stop;
    atomic_long ran; /* runs that got the loop */
} two;

/* Runs from start to end within one aq_loop_run_ready, then leaves a
 * successor: no task is ever suspended on one thread and resumed on the
 * other (a ThreadSanitizer build of libaq cannot follow a task across
 * threads: fiber.c). */
static void *busy_task(void *arg)
{
    (void)arg;
    int n = atomic_fetch_add(&two.inside, 1) + 1;
    if (n > atomic_load(&two.most))
        atomic_store(&two.most, n);
    for (volatile int k = 0; k < 100; k++)
        ;
    atomic_fetch_sub(&two.inside, 1);
    if (!atomic_load(&two.stop))
        ASSERT_OK(aq_spawn(NULL, busy_task, NULL));
    return NULL;
}

static void *drive(void *arg)
{
    (void)arg;
    for (long i = 0; i < 200000 && atomic_load(&two.most) < 2; i++) {
        int rc = aq_loop_run_ready(two.l);
        ASSERT(rc == AQ_OK || rc == AQ_EBUSY);
        if (rc == AQ_OK)
            atomic_fetch_add(&two.ran, 1);
    }
    return NULL;
}

TEST(test_loop_run_from_two_threads_is_ebusy)
{
    two.l = new_loop();
    for (int i = 0; i < 4; i++)
        ASSERT_OK(aq_loop_spawn(two.l, NULL, busy_task, NULL, 0));
    pthread_t a, b;
    ASSERT_EQ(pthread_create(&a, NULL, drive, NULL), 0);
    ASSERT_EQ(pthread_create(&b, NULL, drive, NULL), 0);
    ASSERT_EQ(pthread_join(a, NULL), 0);
    ASSERT_EQ(pthread_join(b, NULL), 0);
    ASSERT_EQ(atomic_load(&two.most), 1);
    ASSERT(atomic_load(&two.ran) > 0);
    atomic_store(&two.stop, 1);
    ASSERT_OK(aq_loop_run(two.l));
    ASSERT_OK(aq_loop_free(two.l));
}

static void *current_main(void *arg)
{
    aq_loop **seen = arg;
    *seen = aq_loop_current();
    return NULL;
}

TEST(test_loop_current)
{
    aq_loop *l = new_loop(), *seen = NULL, *in_run = NULL;
    ASSERT(aq_loop_current() == NULL);
    ASSERT_OK(aq_loop_spawn(l, NULL, current_main, &seen, 0));
    ASSERT(aq_loop_current() == NULL); /* spawning does not enter it */
    ASSERT_OK(aq_loop_run(l));
    ASSERT(seen == l);
    ASSERT(aq_loop_current() == NULL);
    ASSERT_OK(aq_loop_free(l));
    /* aq_run's own loop, likewise visible only inside. */
    ASSERT_OK(aq_run(current_main, &in_run, NULL));
    ASSERT(in_run != NULL);
    ASSERT(aq_loop_current() == NULL);
}

/* ---- stack size ------------------------------------------------------ */

#define DEEP_BYTES (200 * 1024)

/* Uses 200 KiB of its stack: fine only with a stack bigger than the
 * 64 KiB default. */
static void *deep_task(void *arg)
{
    volatile unsigned char buf[DEEP_BYTES];
    for (size_t i = 0; i < DEEP_BYTES; i++)
        buf[i] = (unsigned char)i;
    ASSERT_OK(aq_yield());
    long sum = 0;
    for (size_t i = 0; i < DEEP_BYTES; i += 4096)
        sum += buf[i] + buf[i + 1];
    (void)arg;
    return IARG(sum);
}

TEST(test_loop_set_stack_size_bounds)
{
    aq_loop *l = new_loop();
    aq_task *t[2];
    ASSERT_RC(aq_loop_set_stack_size(NULL, AQ_STACK_DEFAULT), AQ_EINVAL);
    ASSERT_RC(aq_loop_set_stack_size(l, 0), AQ_EINVAL);
    ASSERT_RC(aq_loop_set_stack_size(l, AQ_STACK_MIN - 1), AQ_EINVAL);
    ASSERT_RC(aq_loop_set_stack_size(l, AQ_STACK_MAX + 1), AQ_EINVAL);
    ASSERT_RC(aq_loop_set_stack_size(l, SIZE_MAX), AQ_EINVAL);
    ASSERT_OK(aq_loop_set_stack_size(l, AQ_STACK_MIN));
    ASSERT_OK(aq_loop_set_stack_size(l, AQ_STACK_MAX));
    ASSERT_OK(aq_loop_set_stack_size(l, AQ_STACK_MIN + 1)); /* rounded */
    ASSERT_OK(aq_loop_set_stack_size(l, 256 * 1024));
    /* The new default serves tasks spawned with stack_size 0; two of
     * them, so a pooled stack of the new size is reused too. */
    ASSERT_OK(aq_loop_spawn(l, &t[0], deep_task, NULL, 0));
    ASSERT_OK(aq_loop_run(l));
    ASSERT_OK(aq_loop_spawn(l, &t[1], deep_task, NULL, 0));
    ASSERT_OK(aq_loop_run(l));
    struct collect col = {t, 2, {0}};
    aq_task *c;
    ASSERT_OK(aq_loop_spawn(l, &c, collect_main, &col, 0));
    ASSERT_OK(aq_loop_run(l));
    ASSERT(IVAL(col.res[0]) > 0);
    ASSERT_EQ(IVAL(col.res[0]), IVAL(col.res[1]));
    ASSERT_OK(aq_task_release(t[0]));
    ASSERT_OK(aq_task_release(t[1]));
    ASSERT_OK(aq_task_release(c));
    ASSERT_OK(aq_loop_free(l));
}

static void *set_size_inside(void *arg)
{
    *(int *)arg = aq_loop_set_stack_size(aq_loop_current(), AQ_STACK_MIN);
    return NULL;
}

TEST(test_loop_set_stack_size_busy_with_live_tasks)
{
    aq_loop *l = new_loop();
    aq_queue *q = new_fifo(0);
    struct probe p;
    int inside = PENDING;
    probe_init(&p, q);
    /* Spawned, not yet run: already too late to change the size. */
    ASSERT_OK(aq_loop_spawn(l, NULL, probe_main, &p, 0));
    ASSERT_RC(aq_loop_set_stack_size(l, 256 * 1024), AQ_EBUSY);
    ASSERT_OK(aq_loop_spawn(l, NULL, set_size_inside, &inside, 0));
    ASSERT_OK(aq_loop_run(l));
    ASSERT_RC(inside, AQ_EBUSY);
    /* Blocked counts as alive too. */
    ASSERT_RC(aq_loop_set_stack_size(l, 256 * 1024), AQ_EBUSY);
    long v = 3;
    ASSERT_OK(aq_queue_try_put(q, &v));
    ASSERT_OK(aq_loop_run(l));
    ASSERT_EQ(p.item, 3);
    /* Every task returned: now it may change, and tasks still run. */
    ASSERT_OK(aq_loop_set_stack_size(l, 256 * 1024));
    aq_task *t;
    ASSERT_OK(aq_loop_spawn(l, &t, deep_task, NULL, 0));
    ASSERT_OK(aq_loop_run(l));
    ASSERT_EQ(aq_task_done(t), 1);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_loop_free(l));
    ASSERT_OK(aq_queue_free(q));
}

/* Runs n probe tasks on l to completion. */
static void run_probes(aq_loop *l, int n)
{
    struct probe p[8];
    ASSERT(n <= 8);
    for (int i = 0; i < n; i++) {
        probe_init(&p[i], NULL);
        ASSERT_OK(aq_loop_spawn(l, NULL, probe_main, &p[i], 0));
    }
    ASSERT_OK(aq_loop_run(l));
    for (int i = 0; i < n; i++) {
        ASSERT_EQ(p[i].ran, 1);
        ASSERT(p[i].loop == l);
    }
}

TEST(test_loop_set_stack_pool)
{
    aq_loop *l = new_loop();
    ASSERT_RC(aq_loop_set_stack_pool(NULL, 4), AQ_EINVAL);
    run_probes(l, 8);
    /* Lowering it with stacks pooled, to nothing, and raising it again:
     * tasks keep running on whatever stacks are left. */
    ASSERT_OK(aq_loop_set_stack_pool(l, 2));
    run_probes(l, 8);
    ASSERT_OK(aq_loop_set_stack_pool(l, 0));
    run_probes(l, 8);
    ASSERT_OK(aq_loop_set_stack_pool(l, 1024));
    run_probes(l, 8);
    ASSERT_OK(aq_loop_free(l));
}

/* ---- several loops --------------------------------------------------- */

/* Runs one probe on a fresh loop and checks it saw that loop. */
static void run_one_loop(void)
{
    aq_loop *l = new_loop();
    struct probe p;
    aq_task *t;
    probe_init(&p, NULL);
    ASSERT_OK(aq_loop_spawn(l, &t, probe_main, &p, 0));
    ASSERT_OK(aq_loop_run(l));
    ASSERT(p.loop == l);
    ASSERT(p.self == t);
    ASSERT_OK(p.rc);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_loop_free(l));
}

TEST(test_loop_two_loops_one_after_the_other)
{
    run_one_loop();
    run_one_loop();
    ASSERT_EQ(t_live, 0);

    /* Both alive at once, run in turn, a queue shared between them. */
    aq_loop *a = new_loop(), *b = new_loop();
    aq_queue *q = new_fifo(0);
    struct probe pa, pb;
    probe_init(&pa, q);
    probe_init(&pb, NULL);
    ASSERT_OK(aq_loop_spawn(a, NULL, probe_main, &pa, 0));
    ASSERT_OK(aq_loop_spawn(b, NULL, probe_main, &pb, 0));
    ASSERT_OK(aq_loop_run(a));
    ASSERT_EQ(pb.ran, 0); /* b's task waits for b's run */
    ASSERT_EQ(aq_queue_getters(q), 1);
    struct feed f = {q, 77};
    ASSERT_OK(aq_loop_spawn(b, NULL, feed_main, &f, 0));
    ASSERT_OK(aq_loop_run(b));
    ASSERT(pb.loop == b);
    /* b's put woke a's getter; a's next run delivers it. */
    ASSERT_EQ(pa.rc, PENDING);
    ASSERT_OK(aq_loop_run(a));
    ASSERT_OK(pa.rc);
    ASSERT_EQ(pa.item, 77);
    ASSERT(pa.loop == a);
    ASSERT_OK(aq_loop_free(b));
    ASSERT_OK(aq_loop_free(a));
    ASSERT_OK(aq_queue_free(q));
}

/* Frees another loop from inside a task of this one. That loop's tasks
 * cannot run now (loops do not nest), so the free must either refuse
 * (AQ_EBUSY, loop intact) or really cancel and reap them, as documented:
 * it may not drop them half way. The probe's cleanup shows which. */
struct cross {
    aq_loop *other;
    int rc;
};

static void *cleanup_task(void *arg)
{
    int *cleaned = arg;
    int rc = aq_sleep(10 * AQ_SEC);
    *cleaned = rc == AQ_ECANCELED ? 1 : -1;
    return NULL;
}

static void *cross_free_main(void *arg)
{
    struct cross *c = arg;
    c->rc = aq_loop_free(c->other);
    return NULL;
}

TEST(test_loop_free_other_loop_from_task)
{
    aq_loop *own = new_loop(), *other = new_loop();
    int cleaned = 0;
    struct cross c = {other, PENDING};
    /* Ready on other, never run yet. */
    ASSERT_OK(aq_loop_spawn(other, NULL, cleanup_task, &cleaned, 0));
    ASSERT_OK(aq_loop_spawn(own, NULL, cross_free_main, &c, 0));
    ASSERT_OK(aq_loop_run(own));
    if (c.rc == AQ_EBUSY) {
        ASSERT_EQ(cleaned, 0);
        ASSERT_OK(aq_loop_free(other));
    } else {
        ASSERT_OK(c.rc);
    }
    ASSERT_EQ(cleaned, 1);
    ASSERT_OK(aq_loop_free(own));
}

/* A task frees another loop that has no task left and whose last run an
 * aq_loop_stop ended: AQ_OK (a reviewer's reproducer: the free ran that
 * loop again to reap it, the run refused from a task, and the stop's mark
 * made the free retry for ever). */
static void *free_it(void *l)
{
    ASSERT_OK(aq_loop_free(l));
    return NULL;
}

TEST(test_loop_free_stopped_idle_loop_from_task)
{
    aq_loop *other = new_loop();
    ASSERT_OK(aq_loop_stop(other));
    ASSERT_OK(aq_loop_run(other)); /* ended by the stop */
    ASSERT_OK(aq_run(free_it, other, NULL));
}

/* A thread that ran a loop got an alternate signal stack for overflow
 * reports (overflow.c); it is unmapped when the thread exits (a fresh
 * user's trial: 64 KiB of address space kept per thread, so starting and
 * stopping aq_cores over and over ended in AQ_ENOMEM). */
static void *nothing(void *arg) { return arg; }

static void *run_once_on_a_thread(void *out)
{
    stack_t ss;
    ASSERT_OK(aq_run(nothing, NULL, NULL));
    ASSERT_EQ(sigaltstack(NULL, &ss), 0);
    *(void **)out = ss.ss_flags & SS_DISABLE ? NULL : ss.ss_sp;
    return NULL;
}

static int mapped(const void *p)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int found = 0;
    ASSERT(f != NULL);
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 &&
            (uintptr_t)p >= lo && (uintptr_t)p < hi)
            found = 1;
    }
    fclose(f);
    return found;
}

TEST(test_loop_thread_exit_frees_its_alt_stack)
{
    void *alt = NULL;
    pthread_t t;
    thread_start(&t, run_once_on_a_thread, &alt);
    thread_stop(t);
    ASSERT(alt != NULL); /* the thread had one (libaq's, or a sanitizer's) */
    ASSERT_EQ(mapped(alt), 0);
}

/* aq_loop_stop from aq_run's main task, which then keeps yielding with
 * nothing else pending: the stop takes effect (aq_run returns
 * AQ_ECANCELED, the task is reaped). The tasks ran on among themselves
 * past each iteration and the loop never saw the stop (a reviewer's
 * reproducer hung); bounded here so that a regression fails, not hangs. */
static void *stop_then_yield(void *arg)
{
    (void)arg;
    ASSERT_OK(aq_loop_stop(aq_loop_current()));
    long n = 0;
    while (aq_yield() == AQ_OK)
        ASSERT(++n < 10000000); /* the stop never took effect */
    return IARG(n);
}

TEST(test_loop_stop_seen_by_yielding_tasks)
{
    void *n = NULL;
    ASSERT_RC(aq_run(stop_then_yield, NULL, &n), AQ_ECANCELED);
    ASSERT(IVAL(n) < 10);
}

int main(int argc, char **argv)
{
    RUN(test_loop_spawn_outside_run_and_results);
    RUN(test_loop_run_returns_with_blocked_tasks);
    RUN(test_loop_run_again_after_more_spawns);
    RUN(test_loop_free_cancels_and_reaps_blocked);
    RUN(test_loop_run_and_free_inside_are_ebusy);
    RUN(test_loop_run_from_two_threads_is_ebusy);
    RUN(test_loop_current);
    RUN(test_loop_set_stack_size_bounds);
    RUN(test_loop_set_stack_size_busy_with_live_tasks);
    RUN(test_loop_set_stack_pool);
    RUN(test_loop_two_loops_one_after_the_other);
    RUN(test_loop_free_other_loop_from_task);
    RUN(test_loop_free_stopped_idle_loop_from_task);
    RUN(test_loop_thread_exit_frees_its_alt_stack);
    RUN(test_loop_stop_seen_by_yielding_tasks);
    return t_done();
}
