/* aqbench - libaq's side of the peer benchmarks. MIT licensed.
 *
 * Usage:  aqbench WORKLOAD N
 *
 * Prints one line on stdout, "WORKLOAD N ns_per_item" (1 decimal), except
 *     spawn N ns_cold ns_warm bytes_per_task (also spawn-compact)
 *     timers N ns_per_timer mean_lateness_us
 *     dropoldest N ns_per_drop_oldest_put ns_per_try_put (libaq only)
 *     lockhandoff N ns_per_acquisition percent_handovers
 * the format of peers/asyncio_bench.py and peers/go/main.go, whose
 * workloads this file repeats one for one (see README.md for the
 * differences that remain). Unknown workload or bad N: usage on stderr,
 * exit 2. A failed result check or a libaq error: exit 1.
 *
 * Every workload runs inside one aq_run() whose main task takes the times,
 * so loop creation and teardown stay outside the measured part, as the
 * peers keep interpreter and runtime start-up outside theirs. Tasks are
 * spawned with handles and awaited with aq_gather / aq_task_wait, the
 * counterpart of asyncio.gather and `await task`; the handles are released
 * inside the timed part, since a detached task would free itself there
 * too. Stacks use the loop's defaults, with one exception: spawn keeps N
 * stacks warm (aq_loop_set_stack_pool), which is what Go does by itself:
 * its runtime keeps dead goroutines and their stacks for reuse.
 * spawn-compact is spawn with the waiters in compact mode
 * (aq_loop_set_compact); the peers have no such mode, so run.py sets it
 * beside their plain spawn. select2 and selpingpong have a twin in the Go
 * peer but none in the asyncio one, which has no select over queues; so
 * have the sync workloads lock, sem, lockhandoff and group1000.
 */
#define _POSIX_C_SOURCE 200809L

#include "benchutil.h"

#include <aq.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- helpers ------------------------------------------------------------- */

/* Every libaq call is checked, including in the hot loops: the branch is
 * predicted and costs next to nothing, and a silent error would make the
 * figures meaningless. */
static void aq_check(int rc, const char *call)
{
    if (rc != AQ_OK) {
        fprintf(stderr, "%s failed: %s (%s)\n", call, aq_errname(rc),
                aq_strerror(rc));
        exit(1);
    }
}
#define AQ(call) aq_check((call), #call)

/* The current resident set size from /proc/self/status (VmRSS, in kB). */
static int64_t vm_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long long kb = -1;
    if (!f)
        fail("cannot open /proc/self/status");
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %lld", &kb) == 1)
            break;
    fclose(f);
    if (kb < 0)
        fail("VmRSS not found in /proc/self/status");
    return (int64_t)kb * 1024;
}

static aq_task *spawn(aq_task_fn fn, void *arg)
{
    aq_task *t;
    AQ(aq_spawn(&t, fn, arg));
    return t;
}

/* Waits for every task (asyncio.gather) and drops the handles. */
static void gather(aq_task **tasks, size_t n, void **results)
{
    AQ(aq_gather(tasks, n, results));
    for (size_t i = 0; i < n; i++)
        AQ(aq_task_release(tasks[i]));
}

/* Each workload fills out[] with the fields after "WORKLOAD N". */
#define MAX_FIELDS 3

struct job {
    long n;
    double out[MAX_FIELDS];
    int nout;
};

/* ---- switch -------------------------------------------------------------- */

static void *yielder(void *arg)
{
    long n = *(const long *)arg;
    for (long i = 0; i < n; i++)
        AQ(aq_yield());
    return NULL;
}

static void bench_switch(struct job *j)
{
    int64_t t0 = now_ns();
    aq_task *t[2] = {spawn(yielder, &j->n), spawn(yielder, &j->n)};
    gather(t, 2, NULL);
    j->out[0] = (double)(now_ns() - t0) / (2.0 * (double)j->n);
    j->nout = 1;
}

/* ---- handoff and bulk ---------------------------------------------------- */

struct transfer {
    aq_queue *q;
    long n;
    int64_t sum;
};

static void *producer(void *arg)
{
    struct transfer *tr = arg;
    for (int64_t i = 0; i < tr->n; i++)
        AQ(aq_queue_put(tr->q, &i));
    return NULL;
}

static void *consumer(void *arg)
{
    struct transfer *tr = arg;
    int64_t sum = 0, v;
    for (long i = 0; i < tr->n; i++) {
        AQ(aq_queue_get(tr->q, &v));
        sum += v;
    }
    tr->sum = sum;
    return NULL;
}

/* 1 producer -> 1 consumer through a bounded FIFO of int64_t (Go's int). */
static void transfer_with(struct job *j, long maxsize, aq_task_fn prod,
                          aq_task_fn cons)
{
    struct transfer tr = {NULL, j->n, 0};
    AQ(aq_queue_new(&tr.q, AQ_FIFO, sizeof(int64_t), maxsize));
    int64_t t0 = now_ns();
    aq_task *t[2] = {spawn(prod, &tr), spawn(cons, &tr)};
    gather(t, 2, NULL);
    int64_t elapsed = now_ns() - t0;
    check(tr.sum == (int64_t)j->n * (j->n - 1) / 2, "sum");
    AQ(aq_queue_free(tr.q));
    j->out[0] = (double)elapsed / (double)j->n;
    j->nout = 1;
}

static void transfer(struct job *j, long maxsize)
{
    transfer_with(j, maxsize, producer, consumer);
}

static void bench_handoff(struct job *j) { transfer(j, 1); }
static void bench_bulk(struct job *j) { transfer(j, 1024); }

/* ---- bulk64: the same transfer in batches ------------------------------- */

#define BATCH 64

/* put_many of BATCH items at a time (the last batch may be shorter). */
static void *batch_producer(void *arg)
{
    struct transfer *tr = arg;
    int64_t items[BATCH];
    size_t done;
    for (int64_t i = 0; i < tr->n; i += BATCH) {
        size_t k = tr->n - i < BATCH ? (size_t)(tr->n - i) : BATCH;
        for (size_t j = 0; j < k; j++)
            items[j] = i + (int64_t)j;
        AQ(aq_queue_put_many(tr->q, items, k, &done));
    }
    return NULL;
}

/* get_many of up to BATCH items until n have come. */
static void *batch_consumer(void *arg)
{
    struct transfer *tr = arg;
    int64_t items[BATCH], sum = 0;
    size_t got;
    for (long left = tr->n; left > 0; left -= (long)got) {
        AQ(aq_queue_get_many(tr->q, items, BATCH, &got));
        for (size_t j = 0; j < got; j++)
            sum += items[j];
    }
    tr->sum = sum;
    return NULL;
}

/* bulk with put_many/get_many of 64 (capacity 1024, int64_t items). */
static void bench_bulk64(struct job *j)
{
    transfer_with(j, 1024, batch_producer, batch_consumer);
}

/* ---- pingpong and selpingpong ------------------------------------------- */

/* selpingpong is pingpong with every get made as a 2-clause select: the
 * get, plus a get on ctl, an idle control queue that never receives. The
 * two share one body; sel is a constant at each call of the inlined
 * bodies, so plain pingpong keeps its plain aq_queue_get. */
struct pingpong {
    aq_queue *q1, *q2, *ctl;
    long n;
};

static inline void pp_get(const struct pingpong *p, aq_queue *q, int64_t *v,
                          int sel)
{
    if (!sel) {
        AQ(aq_queue_get(q, v));
        return;
    }
    int64_t cmd;
    aq_clause c[2] = {AQ_GET(q, v), AQ_GET(p->ctl, &cmd)};
    int i = aq_select(c, 2, 0);
    if (i != 0) { /* ctl never receives: anything else is an error */
        aq_check(i < 0 ? i : c[i].rc, "aq_select");
        fail("select on an idle control queue");
    }
    AQ(c[0].rc);
}

static inline void ping_body(const struct pingpong *p, int sel)
{
    int64_t v;
    for (int64_t i = 0; i < p->n; i++) {
        AQ(aq_queue_put(p->q1, &i));
        pp_get(p, p->q2, &v, sel);
        if (v != i) /* inline test: no call per round trip */
            fail("pingpong order");
    }
}

static inline void pong_body(const struct pingpong *p, int sel)
{
    int64_t v;
    for (long i = 0; i < p->n; i++) {
        pp_get(p, p->q1, &v, sel);
        AQ(aq_queue_put(p->q2, &v));
    }
}

static void *ping(void *arg) { ping_body(arg, 0); return NULL; }
static void *pong(void *arg) { pong_body(arg, 0); return NULL; }
static void *selping(void *arg) { ping_body(arg, 1); return NULL; }
static void *selpong(void *arg) { pong_body(arg, 1); return NULL; }

static void pingpong(struct job *j, aq_task_fn a, aq_task_fn b)
{
    struct pingpong p = {NULL, NULL, NULL, j->n};
    AQ(aq_queue_new(&p.q1, AQ_FIFO, sizeof(int64_t), 1));
    AQ(aq_queue_new(&p.q2, AQ_FIFO, sizeof(int64_t), 1));
    AQ(aq_queue_new(&p.ctl, AQ_FIFO, sizeof(int64_t), 1));
    int64_t t0 = now_ns();
    aq_task *t[2] = {spawn(a, &p), spawn(b, &p)};
    gather(t, 2, NULL);
    j->out[0] = (double)(now_ns() - t0) / (double)j->n;
    j->nout = 1;
    AQ(aq_queue_free(p.q1));
    AQ(aq_queue_free(p.q2));
    AQ(aq_queue_free(p.ctl));
}

static void bench_pingpong(struct job *j) { pingpong(j, ping, pong); }
static void bench_selpingpong(struct job *j) { pingpong(j, selping, selpong); }

/* ---- select2 ------------------------------------------------------------- */

/* One task, two queues: put an item into a, then a fair select over
 * {get a, get b} with b always empty, so exactly one clause is ready and
 * the select never waits. The figure is ns per put + select, the same loop
 * as the Go peer's send + 2-case select receive. */
static void bench_select2(struct job *j)
{
    aq_queue *a, *b;
    int64_t v, w;
    AQ(aq_queue_new(&a, AQ_FIFO, sizeof(int64_t), 1024));
    AQ(aq_queue_new(&b, AQ_FIFO, sizeof(int64_t), 1024));
    int64_t t0 = now_ns();
    for (int64_t i = 0; i < j->n; i++) {
        AQ(aq_queue_put(a, &i));
        aq_clause c[2] = {AQ_GET(a, &v), AQ_GET(b, &w)};
        if (aq_select(c, 2, 0) != 0 || c[0].rc != AQ_OK || v != i)
            fail("select2: the ready clause");
    }
    j->out[0] = (double)(now_ns() - t0) / (double)j->n;
    j->nout = 1;
    AQ(aq_queue_free(a));
    AQ(aq_queue_free(b));
}

/* ---- fanout -------------------------------------------------------------- */

#define FANOUT_CONSUMERS 8

struct fan {
    aq_queue *q;
    int64_t sum;
};

static void *fan_consumer(void *arg)
{
    struct fan *f = arg;
    int64_t v, sum = 0;
    for (;;) {
        AQ(aq_queue_get(f->q, &v));
        AQ(aq_queue_task_done(f->q));
        if (v < 0) /* sentinel */
            break;
        sum += v;
    }
    f->sum = sum;
    return NULL;
}

/* The main task is the producer, as in both peers. */
static void bench_fanout(struct job *j)
{
    aq_queue *q;
    struct fan fans[FANOUT_CONSUMERS];
    aq_task *t[FANOUT_CONSUMERS];
    AQ(aq_queue_new(&q, AQ_FIFO, sizeof(int64_t), 64));
    int64_t t0 = now_ns();
    for (int k = 0; k < FANOUT_CONSUMERS; k++) {
        fans[k].q = q;
        fans[k].sum = 0;
        t[k] = spawn(fan_consumer, &fans[k]);
    }
    for (int64_t i = 0; i < j->n; i++)
        AQ(aq_queue_put(q, &i));
    AQ(aq_queue_join(q)); /* every item consumed */
    for (int k = 0; k < FANOUT_CONSUMERS; k++) {
        int64_t stop = -1;
        AQ(aq_queue_put(q, &stop));
    }
    gather(t, FANOUT_CONSUMERS, NULL);
    int64_t elapsed = now_ns() - t0;
    int64_t total = 0;
    for (int k = 0; k < FANOUT_CONSUMERS; k++)
        total += fans[k].sum;
    check(total == (int64_t)j->n * (j->n - 1) / 2, "sum");
    AQ(aq_queue_free(q));
    j->out[0] = (double)elapsed / (double)j->n;
    j->nout = 1;
}

/* ---- priority ------------------------------------------------------------ */

/* Put all, then get all, from the main task: the queue is unbounded, so no
 * put waits and no get finds it empty, exactly as in the peers. */
static void bench_priority(struct job *j)
{
    aq_queue *q;
    int64_t *prios = lcg(j->n); /* generated outside the timed part */
    int64_t p, prev = -1;
    AQ(aq_queue_new(&q, AQ_PRIORITY, sizeof(int64_t), 0));
    int64_t t0 = now_ns();
    for (long i = 0; i < j->n; i++)
        AQ(aq_queue_put(q, &prios[i]));
    for (long i = 0; i < j->n; i++) {
        AQ(aq_queue_get(q, &p));
        if (p < prev) /* inline test: no call per item */
            fail("priority order");
        prev = p;
    }
    j->out[0] = (double)(now_ns() - t0) / (double)j->n;
    j->nout = 1;
    AQ(aq_queue_free(q));
    free(prios);
}

/* ---- dropoldest ---------------------------------------------------------- */

#define DROP_MAXSIZE 64

/* Times n puts made by put() on q in rounds of DROP_MAXSIZE - 1, between
 * which reset() (untimed) brings q back to its starting state: the clock
 * is read twice a round, the same for both callers below. */
static double timed_puts(aq_queue *q, long n, int (*put)(aq_queue *, const
                         void *), void (*reset)(aq_queue *))
{
    int64_t elapsed = 0, v = 0;
    for (long done = 0; done < n;) {
        long round = n - done < DROP_MAXSIZE - 1 ? n - done : DROP_MAXSIZE - 1;
        int64_t t0 = now_ns();
        for (long i = 0; i < round; i++, v++)
            AQ(put(q, &v));
        elapsed += now_ns() - t0;
        done += round;
        reset(q);
    }
    return (double)elapsed / (double)n;
}

static void leave_full(aq_queue *q) { (void)q; }

/* Takes all but one item, so that the next round's puts all find room. */
static void leave_one(aq_queue *q)
{
    int64_t v;
    while (aq_queue_qsize(q) > 1)
        AQ(aq_queue_try_get(q, &v));
}

/* ns per AQ_DROP_OLDEST put on a full FIFO of int64_t (maxsize 64), and
 * ns per try_put on the same queue with room, the ratio's yardstick. */
static void bench_dropoldest(struct job *j)
{
    aq_queue *full, *room;
    int64_t v = 0;
    AQ(aq_queue_new(&full, AQ_FIFO, sizeof(int64_t), DROP_MAXSIZE));
    AQ(aq_queue_new(&room, AQ_FIFO, sizeof(int64_t), DROP_MAXSIZE));
    AQ(aq_queue_set_overflow(full, AQ_DROP_OLDEST, NULL, NULL));
    for (int i = 0; i < DROP_MAXSIZE; i++)
        AQ(aq_queue_try_put(full, &v));
    AQ(aq_queue_try_put(room, &v));
    j->out[0] = timed_puts(full, j->n, aq_queue_try_put, leave_full);
    j->out[1] = timed_puts(room, j->n, aq_queue_try_put, leave_one);
    aq_queue_stats st;
    AQ(aq_queue_statistics(full, &st));
    check(st.dropped == (uint64_t)j->n, "dropped count");
    j->nout = 2;
    AQ(aq_queue_free(full));
    AQ(aq_queue_free(room));
}

/* ---- spawn --------------------------------------------------------------- */

static void *waiter(void *arg)
{
    int64_t v;
    AQ(aq_queue_get(arg, &v));
    return (void *)(intptr_t)v;
}

/* Spawns n tasks all parked in a get on one shared queue, then feeds
 * them. *elapsed: the time excluding the RSS read; returns VmRSS while all
 * n are parked. */
static int64_t spawn_round(long n, int64_t *elapsed)
{
    aq_queue *q;
    aq_task **tasks = xmalloc((size_t)n * sizeof *tasks);
    AQ(aq_queue_new(&q, AQ_FIFO, sizeof(int64_t), 0));
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++)
        tasks[i] = spawn(waiter, q);
    /* One yield: we go to the back of the ready list, behind every new
     * task, so when we resume all n are parked in their get. */
    AQ(aq_yield());
    int64_t t1 = now_ns();
    int64_t rss = vm_rss_bytes();
    int64_t t2 = now_ns();
    for (int64_t i = 0; i < n; i++)
        AQ(aq_queue_put(q, &i));
    int64_t total = 0;
    for (long i = 0; i < n; i++) {
        void *r;
        AQ(aq_task_wait(tasks[i], &r));
        AQ(aq_task_release(tasks[i]));
        total += (intptr_t)r;
    }
    int64_t t3 = now_ns();
    check(total == (int64_t)n * (n - 1) / 2, "sum");
    AQ(aq_queue_free(q));
    free(tasks);
    *elapsed = (t1 - t0) + (t3 - t2);
    return rss;
}

static void bench_spawn(struct job *j)
{
    int64_t cold, warm, unused;
    AQ(aq_loop_set_stack_pool(aq_loop_current(), (size_t)j->n));
    int64_t rss_1000 = spawn_round(1000, &unused); /* warm-up, baseline */
    int64_t rss_n = spawn_round(j->n, &cold);
    spawn_round(j->n, &warm);
    j->out[0] = (double)cold / (double)j->n;
    j->out[1] = (double)warm / (double)j->n;
    j->out[2] = (double)(rss_n - rss_1000) / (double)j->n;
    j->nout = 3;
}

/* The same rounds with the waiters in compact mode. The main task was
 * spawned before the mode was set, so it keeps its own stack (and may hand
 * its variables to the waiters). */
static void bench_spawn_compact(struct job *j)
{
    AQ(aq_loop_set_compact(aq_loop_current(), 256 * 1024));
    bench_spawn(j);
}

/* ---- timers -------------------------------------------------------------- */

struct sleeper {
    int64_t duration;  /* ns */
    int64_t *lateness; /* shared sum: one thread, so no atomics needed */
};

static void *sleeper(void *arg)
{
    struct sleeper *s = arg;
    /* Intended wake = when this task starts sleeping + its duration. */
    int64_t start = now_ns();
    AQ(aq_sleep(s->duration));
    *s->lateness += now_ns() - start - s->duration;
    return NULL;
}

static void bench_timers(struct job *j)
{
    int64_t *x = lcg(j->n);
    struct sleeper *s = xmalloc((size_t)j->n * sizeof *s);
    aq_task **t = xmalloc((size_t)j->n * sizeof *t);
    int64_t lateness = 0;
    for (long i = 0; i < j->n; i++) { /* x % 100000 us: [0, 100) ms */
        s[i].duration = (x[i] % 100000) * 1000;
        s[i].lateness = &lateness;
    }
    int64_t t0 = now_ns();
    for (long i = 0; i < j->n; i++)
        t[i] = spawn(sleeper, &s[i]);
    gather(t, (size_t)j->n, NULL);
    int64_t elapsed = now_ns() - t0;
    j->out[0] = (double)elapsed / (double)j->n;
    j->out[1] = (double)lateness / (double)j->n / 1000.0;
    j->nout = 2;
    free(t);
    free(s);
    free(x);
}

/* ---- sync: lock, sem, lockhandoff, group1000 ---------------------------- */

/* Uncontended aq_lock_acquire + aq_lock_release in the main task, n
 * times: ns per pair (Go: sync.Mutex Lock + Unlock). */
static void bench_lock(struct job *j)
{
    aq_lock *l;
    AQ(aq_lock_new(&l));
    int64_t t0 = now_ns();
    for (long i = 0; i < j->n; i++) {
        AQ(aq_lock_acquire(l));
        AQ(aq_lock_release(l));
    }
    j->out[0] = (double)(now_ns() - t0) / (double)j->n;
    j->nout = 1;
    AQ(aq_lock_free(l));
}

/* The same with a one-permit semaphore (Go: x/sync's semaphore.Weighted,
 * or a capacity-1 channel without it). */
static void bench_sem(struct job *j)
{
    aq_sem *s;
    AQ(aq_sem_new(&s, 1, 0));
    int64_t t0 = now_ns();
    for (long i = 0; i < j->n; i++) {
        AQ(aq_sem_acquire(s));
        AQ(aq_sem_release(s));
    }
    j->out[0] = (double)(now_ns() - t0) / (double)j->n;
    j->nout = 1;
    check(aq_sem_value(s) == 1, "sem: one permit left");
    AQ(aq_sem_free(s));
}

struct passer {
    aq_lock *l;
    int *owner;       /* who took the lock last, -1 at first */
    long *handovers;  /* acquisitions that took it from the other task */
    int me;
    long iters;
};

/* Acquire, yield (the other task runs and blocks on the lock), release:
 * the release hands the lock to the other task, whose acquire returns. */
static void *lock_passer(void *arg)
{
    struct passer *p = arg;
    for (long i = 0; i < p->iters; i++) {
        AQ(aq_lock_acquire(p->l));
        if (*p->owner != p->me && *p->owner >= 0)
            ++*p->handovers;
        *p->owner = p->me;
        AQ(aq_yield());
        AQ(aq_lock_release(p->l));
    }
    return NULL;
}

/* Two tasks pass one lock back and forth: n acquisitions in all, (n+1)/2
 * by the first task and n/2 by the second. Fields: ns per acquisition
 * (each is a hand-over but the first), and the percentage of acquisitions
 * that were hand-overs, as the Go peer counts them. */
static void bench_lockhandoff(struct job *j)
{
    aq_lock *l;
    int owner = -1;
    long handovers = 0;
    AQ(aq_lock_new(&l));
    struct passer p[2] = {{l, &owner, &handovers, 0, (j->n + 1) / 2},
                          {l, &owner, &handovers, 1, j->n / 2}};
    int64_t t0 = now_ns();
    aq_task *t[2] = {spawn(lock_passer, &p[0]), spawn(lock_passer, &p[1])};
    gather(t, 2, NULL);
    j->out[0] = (double)(now_ns() - t0) / (double)j->n;
    j->out[1] = 100.0 * (double)handovers / (double)j->n;
    j->nout = 2;
    AQ(aq_lock_free(l));
}

#define GROUP_SIZE 1000

static int group_child(void *arg)
{
    (void)arg;
    return 0;
}

/* n rounds of: a new group, 1,000 children that return 0 at once, the
 * group's wait, free. ns per group (Go: errgroup.Group, or its pattern
 * written out, with 1,000 goroutines). */
static void bench_group1000(struct job *j)
{
    int64_t t0 = now_ns();
    for (long i = 0; i < j->n; i++) {
        aq_group *g;
        int status;
        AQ(aq_group_new(&g));
        for (int k = 0; k < GROUP_SIZE; k++)
            AQ(aq_group_spawn(g, group_child, NULL));
        AQ(aq_group_wait(g, &status));
        check(status == 0, "group1000: status");
        AQ(aq_group_free(g));
    }
    j->out[0] = (double)(now_ns() - t0) / (double)j->n;
    j->nout = 1;
}

/* ---- posts from another thread ------------------------------------------- */

/* A thread posts n callbacks into a loop kept busy by a task that yields
 * until all have run: ns per post, from the first post to the last run.
 * `strace -f -c -e trace=write aqbench post N` then counts the eventfd
 * writes (the only writes but the result line): the loop never sleeps,
 * so there should be almost none (the I/O issue asks <= 1% of posts). */
static struct {
    aq_loop *loop;
    long n;
    _Atomic long ran;
} g_post;

static void on_post(void *arg)
{
    (void)arg;
    g_post.ran++;
}

static void *poster(void *arg)
{
    (void)arg;
    for (long i = 0; i < g_post.n; i++)
        while (aq_loop_post(g_post.loop, on_post, NULL) != AQ_OK)
            ; /* AQ_ENOMEM: try again */
    return NULL;
}

static void *busy(void *arg)
{
    (void)arg;
    while (g_post.ran < g_post.n)
        AQ(aq_yield());
    return NULL;
}

static void bench_post(struct job *j)
{
    g_post.loop = aq_loop_current();
    g_post.n = j->n;
    g_post.ran = 0;
    AQ(aq_loop_keep_alive(g_post.loop, 1));
    aq_task *t = spawn(busy, NULL);
    pthread_t th;
    int64_t t0 = now_ns();
    if (pthread_create(&th, NULL, poster, NULL))
        fail("pthread_create");
    gather(&t, 1, NULL);
    j->out[0] = (double)(now_ns() - t0) / (double)j->n;
    j->nout = 1;
    pthread_join(th, NULL);
    AQ(aq_loop_keep_alive(g_post.loop, 0));
}

/* ---- main ---------------------------------------------------------------- */

static const struct workload {
    const char *name;
    void (*run)(struct job *j);
} workloads[] = {
    {"switch", bench_switch},     {"handoff", bench_handoff},
    {"pingpong", bench_pingpong}, {"bulk", bench_bulk},
    {"fanout", bench_fanout},     {"priority", bench_priority},
    {"spawn", bench_spawn},       {"timers", bench_timers},
    {"spawn-compact", bench_spawn_compact}, {"bulk64", bench_bulk64},
    {"dropoldest", bench_dropoldest},
    {"select2", bench_select2},   {"selpingpong", bench_selpingpong},
    {"lock", bench_lock},         {"sem", bench_sem},
    {"lockhandoff", bench_lockhandoff}, {"group1000", bench_group1000},
    {"post", bench_post},
};
#define NWORKLOADS (sizeof workloads / sizeof workloads[0])

struct main_arg {
    const struct workload *w;
    struct job job;
};

static void *bench_main(void *arg)
{
    struct main_arg *m = arg;
    m->w->run(&m->job);
    return NULL;
}

static int usage(const char *argv0)
{
    fprintf(stderr, "usage: %s WORKLOAD N  (N >= 1; WORKLOAD one of:", argv0);
    for (size_t i = 0; i < NWORKLOADS; i++)
        fprintf(stderr, " %s", workloads[i].name);
    fprintf(stderr, ")\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct main_arg m = {NULL, {0, {0}, 0}};
    if (argc != 3)
        return usage(argv[0]);
    for (size_t i = 0; i < NWORKLOADS; i++)
        if (strcmp(argv[1], workloads[i].name) == 0)
            m.w = &workloads[i];
    m.job.n = parse_n(argv[2]);
    if (!m.w || m.job.n < 1)
        return usage(argv[0]);
    AQ(aq_run(bench_main, &m, NULL));
    printf("%s %ld", m.w->name, m.job.n);
    for (int i = 0; i < m.job.nout; i++)
        printf(" %.1f", m.job.out[i]);
    printf("\n");
    return 0;
}
