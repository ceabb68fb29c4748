/* Shared queues under stress: plain threads (the blocking thread faces,
 * try_put, try_get) and the tasks of two loops (aq_cores) hammer three
 * small shared queues (FIFO, maxsize 1-8, and AQ_RENDEZVOUS) with random
 * deadlines (already passed, 0-200 us, 0.2-2 ms, none) and child tasks
 * cancelled at random moments, for a fixed number of producer operations
 * chosen by a seeded generator. The seed replays the choices, not the
 * interleavings: run again with STRESS_SEED=<seed> to retry them.
 *
 * Checked, item by item (each carries its producer, sequence number and
 * queue, and a checksum):
 * - conservation: every item whose put returned AQ_OK is got exactly
 *   once, and no item whose put failed is ever got. An outcome is what
 *   the call returned: a put or get that returned AQ_OK moved its item
 *   even if a cancel or deadline raced it (completed beats cancelled),
 *   one that returned AQ_ETIMEDOUT or AQ_ECANCELED moved nothing;
 * - order: each consumer sees each producer's items of a queue in
 *   increasing sequence order (FIFO, no barging);
 * - task_done after every item; once the producers are done, a thread
 *   (aq_queue_thread_join) and a task (aq_queue_join) join each queue
 *   and find nothing unfinished, around aq_queue_shutdown (join first,
 *   or for some seeds shut down first and drain); every consumer ends on
 *   AQ_ESHUTDOWN with its queue empty; the queues' statistics agree;
 * - no lost wake-up: from the final phase on, consumers wait without
 *   deadlines, and a last quiet phase has a thread ping-pong with a task
 *   alone on each loop, no deadlines either, so that only a wake-up can
 *   end a wait; a watchdog thread fails the run (exit 1, with the seed
 *   and what is stuck) if nothing moves for STRESS_STALL seconds.
 *
 * Environment: STRESS_SEED (replay), STRESS_OPS (producer operations in
 * all; the default takes 2-3 s optimized, 4-5 s under ThreadSanitizer
 * and valgrind with smaller defaults), STRESS_PINGS (the quiet phase's
 * round trips per loop), STRESS_STALL (the watchdog's limit in seconds,
 * default 10).
 * `make soak-threads` runs it over and over with fresh seeds. */
#include "rt_helpers.h"

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define STRESS_HAVE_VALGRIND 1
#endif
#endif

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_THREAD__) || __has_feature(thread_sanitizer)
#define DEFAULT_OPS 50000L
#define DEFAULT_PINGS 500L
#else
#define DEFAULT_OPS 450000L
#define DEFAULT_PINGS 2000L
#endif
#define VALGRIND_OPS 100000L /* tests/valgrind.sh: about 5 s, not 20 */

#define NQ 3                    /* queues; the last is AQ_RENDEZVOUS */
#define NLOOPS 2                /* aq_cores_start(&c, 2) */
#define NPT 3                   /* producer threads */
#define NPK 4                   /* producer tasks, spread over the loops */
#define NPROD (NPT + NPK)
#define NCT NQ                  /* consumer threads: one per queue */
#define NCK (NQ * NLOOPS)       /* consumer tasks: per queue, per loop */

/* ---- items, randomness -------------------------------------------------- */

typedef struct item {
    uint32_t prod, seq, q, check;
} item;

static uint32_t checksum(uint32_t p, uint32_t s, uint32_t q)
{
    return (p * 2654435761u) ^ (s * 0x9E3779B1u) ^ ((q + 1) * 0x85EBCA77u) ^
           0xA5A5A5A5u;
}

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnext(rng *r) /* splitmix64 */
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static uint32_t rbelow(rng *r, uint32_t n) { return (uint32_t)(rnext(r) % n); }

/* ---- shared state ------------------------------------------------------- */

enum {
    ST_PUT_OK, ST_PUT_TIMEDOUT, ST_PUT_FULL, ST_PUT_CANCELED,
    ST_GET_OK, ST_GET_TIMEDOUT, ST_GET_EMPTY, ST_GET_CANCELED,
    ST_CANCELS, ST_CANCEL_LATE, ST_JOIN_OK, ST_JOIN_TIMEDOUT, NSTAT
};
static const char *const stat_name[NSTAT] = {
    "put_ok", "put_timedout", "put_full", "put_canceled",
    "get_ok", "get_timedout", "get_empty", "get_canceled",
    "cancels", "cancel_late", "join_ok", "join_timedout"};

enum { PH_RUN, PH_FINAL, PH_REAP, PH_QUIET };
static const char *const phase_name[] = {
    "running (producers at work)",
    "final (producers done: join, shutdown, drain)",
    "reaping (consumers ending)",
    "quiet ping-pong (a thread and a lone task per loop, no deadlines)"};

static struct {
    uint64_t seed;
    long per_prod; /* operations (so sequence numbers) per producer */
    int stall_s;
    long rounds;  /* the quiet phase's round trips per loop */
    aq_queue *q[NQ];
    long maxsize[NQ];
    int shut_first[NQ];     /* final phase: shutdown before join */
    _Atomic int shut[NQ];   /* aq_queue_shutdown(q[i]) was called */
    aq_cores *c;
    /* Per item, at prod * per_prod + seq: */
    _Atomic int *status;    /* 0 put in flight, 1 AQ_OK, else the put's rc */
    _Atomic int *got;       /* times it was got */
    _Atomic unsigned char *where; /* the queue it was put into */
    _Atomic long issued[NPROD];   /* sequence numbers used so far */
    _Atomic long stat[NSTAT];
    _Atomic long qgot[NQ];  /* items the consumers got, per queue */
    _Atomic long progress;  /* items moved, round trips, phase steps */
    _Atomic int phase;
    _Atomic int prod_tasks_done, cons_done, wd_stop;
    _Atomic int pdone[NPROD], cdone[NCT + NCK]; /* returned: for the report */
    aq_queue *ping[NLOOPS], *pong[NLOOPS]; /* the quiet phase's */
    _Atomic long pings[NLOOPS];            /* its round trips so far */
    int64_t t0;
} g;

/* The first failure reports and ends the process; a thread failing at
 * the same moment waits for that. */
static _Atomic int g_dying;
static void hold_if_dying(void)
{
    if (atomic_exchange(&g_dying, 1))
        for (;;)
            pause();
}

static void die(const char *fmt, ...)
{
    va_list ap;
    hold_if_dying();
    fprintf(stderr, "FAIL test_thread_stress: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n  seed %" PRIu64 " (replay the choices with "
                    "STRESS_SEED=%" PRIu64 " STRESS_OPS=%ld)\n",
            g.seed, g.seed, g.per_prod * NPROD);
    fflush(stderr);
    _exit(1); /* other threads are running: no atexit, no destructors */
}

/* ASSERT_* exit(1) from whichever thread failed: name the seed then. */
static _Atomic int g_finished;
static void name_seed_on_exit(void)
{
    if (!g_finished && g.seed)
        fprintf(stderr, "  (test_thread_stress seed %" PRIu64 ": replay the "
                        "choices with STRESS_SEED=%" PRIu64 ")\n",
                g.seed, g.seed);
}

static const char *rcname(int rc) { return aq_errname(rc); }

/* A deadline for a call: already passed, 0-200 us, 0.2-2 ms, or none. */
static int64_t pick_deadline(rng *r)
{
    uint32_t k = rbelow(r, 100);
    int64_t now = aq_now();
    if (k < 15)
        return k < 2 ? 0 : now - (int64_t)rbelow(r, 1000) * AQ_USEC;
    if (k < 60)
        return now + (int64_t)rbelow(r, 200001) * AQ_NSEC;
    if (k < 80)
        return now + 200 * AQ_USEC + (int64_t)rbelow(r, 1800) * AQ_USEC;
    return AQ_NEVER;
}

/* Each actor switches now and then between a fast and a slow pace, so
 * that the queues go through full spells (putters wait, gets refill from
 * them) and empty ones (getters wait, puts hand over). */
static uint32_t pace(rng *r, int *slow, uint32_t percent)
{
    if (rbelow(r, 256) == 0)
        *slow = !*slow;
    return *slow ? percent + 30 : percent;
}

static void thread_pause(rng *r, uint32_t percent)
{
    if (rbelow(r, 100) >= percent)
        return;
    if (rbelow(r, 2)) {
        sched_yield();
    } else {
        struct timespec ts = {0, (long)rbelow(r, 300) * 1000};
        nanosleep(&ts, NULL);
    }
}

static void task_pause(rng *r, uint32_t percent)
{
    if (rbelow(r, 100) >= percent)
        return;
    if (rbelow(r, 2))
        ASSERT_OK(aq_yield());
    else
        ASSERT_OK(aq_sleep((int64_t)rbelow(r, 300) * AQ_USEC));
}

/* ---- producing ---------------------------------------------------------- */

static item new_item(long p, int qi)
{
    long s = atomic_fetch_add(&g.issued[p], 1);
    ASSERT(s < g.per_prod);
    atomic_store(&g.where[p * g.per_prod + s], (unsigned char)qi);
    item it = {(uint32_t)p, (uint32_t)s, (uint32_t)qi, 0};
    it.check = checksum(it.prod, it.seq, it.q);
    return it;
}

/* Records what a put of it returned; allowed: the codes that the call
 * may return in this test (besides AQ_OK). */
static void put_done(const item *it, int rc, const char *call, int allowed1,
                     int allowed2)
{
    long i = (long)it->prod * g.per_prod + it->seq;
    if (rc == AQ_OK) {
        atomic_store(&g.status[i], 1);
        g.stat[ST_PUT_OK]++;
        return;
    }
    if (rc != allowed1 && rc != allowed2)
        die("%s of item (producer %u, seq %u) into queue %u returned %s",
            call, it->prod, it->seq, it->q, rcname(rc));
    atomic_store(&g.status[i], rc);
    g.stat[rc == AQ_ETIMEDOUT ? ST_PUT_TIMEDOUT
           : rc == AQ_EFULL   ? ST_PUT_FULL
                              : ST_PUT_CANCELED]++;
    if (atomic_load(&g.got[i]))
        die("item (producer %u, seq %u) was got from queue %u, yet its %s "
            "returned %s",
            it->prod, it->seq, it->q, call, rcname(rc));
}

/* A child task, spawned with a handle on the caller's loop, that makes
 * one put or get and reports what it returned; the caller cancels it at a
 * random moment, then waits for it. */
typedef struct child {
    int get;
    aq_queue *q;
    item it; /* put: the item; get: where it lands */
    int64_t deadline;
    int rc;
} child;

static void *child_fn(void *arg)
{
    child *ch = arg;
    ch->rc = ch->get ? aq_queue_get_until(ch->q, &ch->it, ch->deadline)
                     : aq_queue_put_until(ch->q, &ch->it, ch->deadline);
    return NULL;
}

static int child_op(rng *r, int get, aq_queue *q, item *it)
{
    child ch = {get, q, *it, rbelow(r, 2) ? AQ_NEVER : pick_deadline(r),
                PENDING};
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, child_fn, &ch));
    switch (rbelow(r, 5)) {
    case 0: /* before it first runs */
        break;
    case 1: /* after it ran once */
        ASSERT_OK(aq_yield());
        break;
    case 2:
        for (uint32_t n = rbelow(r, 4); n > 0; n--)
            ASSERT_OK(aq_yield());
        break;
    case 3:
        ASSERT_OK(aq_sleep((int64_t)rbelow(r, 30) * AQ_USEC));
        break;
    default:
        ASSERT_OK(aq_sleep((int64_t)rbelow(r, 300) * AQ_USEC));
        break;
    }
    int rc = aq_task_cancel(t);
    if (rc == AQ_OK)
        g.stat[ST_CANCELS]++;
    else if (rc == AQ_EALREADY)
        g.stat[ST_CANCEL_LATE]++;
    else
        die("aq_task_cancel returned %s", rcname(rc));
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_OK(aq_task_release(t));
    if (ch.rc == PENDING)
        die("a child task returned without its call's outcome");
    if (get && ch.rc == AQ_OK)
        *it = ch.it;
    return ch.rc;
}

/* A producer's life, as a plain thread (the blocking thread face) or as
 * a task (the suspending call, and cancelled children). */
static void produce(long p, int task)
{
    rng r = {g.seed ^ (0x100 + (uint64_t)p) * 0xD1B54A32D192ED03u};
    int slow = 0;
    for (long n = 0; n < g.per_prod; n++) {
        int qi = (int)rbelow(&r, NQ);
        aq_queue *q = g.q[qi];
        item it = new_item(p, qi);
        uint32_t k = rbelow(&r, 100);
        if (k < (task ? 15u : 20u)) {
            put_done(&it, aq_queue_try_put(q, &it), "aq_queue_try_put",
                     AQ_EFULL, AQ_EFULL);
        } else if (task && k < 35) {
            put_done(&it, child_op(&r, 0, q, &it),
                     "aq_queue_put_until (cancelled child)", AQ_ETIMEDOUT,
                     AQ_ECANCELED);
        } else if (task) {
            int64_t d = pick_deadline(&r);
            put_done(&it, aq_queue_put_until(q, &it, d), "aq_queue_put_until",
                     AQ_ETIMEDOUT, AQ_ETIMEDOUT);
        } else {
            int64_t d = pick_deadline(&r);
            put_done(&it, aq_queue_thread_put_until(q, &it, d),
                     "aq_queue_thread_put_until", AQ_ETIMEDOUT, AQ_ETIMEDOUT);
        }
        if (task)
            task_pause(&r, pace(&r, &slow, 2));
        else
            thread_pause(&r, pace(&r, &slow, 2));
    }
    g.pdone[p] = 1;
    if (task)
        g.prod_tasks_done++;
}

static void *producer_thread(void *arg)
{
    produce(IVAL(arg), 0);
    return NULL;
}

static void *producer_task(void *arg)
{
    produce(IVAL(arg), 1);
    return NULL;
}

/* ---- consuming ---------------------------------------------------------- */

typedef struct consumer {
    long id;
    int home; /* the queue it waits on; it tries the others now and then */
    long last[NQ][NPROD];
    long items;
    int slow;
    rng r;
} consumer;

static void consumer_init(consumer *c, long id)
{
    c->id = id;
    c->home = (int)(id % NQ);
    for (int q = 0; q < NQ; q++)
        for (int p = 0; p < NPROD; p++)
            c->last[q][p] = -1;
    c->items = 0;
    c->slow = 0;
    c->r.s = g.seed ^ (0x200 + (uint64_t)id) * 0xD1B54A32D192ED03u;
}

/* Consumer c got it from queue qi. */
static void took(consumer *c, int qi, const item *it, const char *call)
{
    if (it->prod >= NPROD || (long)it->seq >= g.per_prod ||
        it->q != (uint32_t)qi ||
        it->check != checksum(it->prod, it->seq, it->q))
        die("consumer %ld got a corrupt item from queue %d by %s: producer "
            "%u, seq %u, queue %u, check %08x",
            c->id, qi, call, it->prod, it->seq, it->q, it->check);
    long i = (long)it->prod * g.per_prod + it->seq;
    int was = atomic_fetch_add(&g.got[i], 1);
    if (was != 0)
        die("item (producer %u, seq %u) of queue %d got twice (the second "
            "time by consumer %ld, %s)",
            it->prod, it->seq, qi, c->id, call);
    if ((long)it->seq <= c->last[qi][it->prod])
        die("consumer %ld got producer %u's seq %u from queue %d after seq "
            "%ld (by %s): out of FIFO order",
            c->id, it->prod, it->seq, qi, c->last[qi][it->prod], call);
    c->last[qi][it->prod] = it->seq;
    int st = atomic_load(&g.status[i]);
    if (st < 0)
        die("consumer %ld got item (producer %u, seq %u) from queue %d by "
            "%s, yet its put returned %s",
            c->id, it->prod, it->seq, qi, call, rcname(st));
    c->items++;
    g.qgot[qi]++;
    g.stat[ST_GET_OK]++;
    g.progress++;
    ASSERT_OK(aq_queue_task_done(g.q[qi]));
}

/* Sorts a get's outcome: 1 to go on, 0 when home is shut down and
 * drained (the consumer ends). allowed1, allowed2: the failures that the
 * call may report in this test (besides AQ_ESHUTDOWN at the end). */
static int got_rc(consumer *c, int qi, int rc, const item *it,
                  const char *call, int allowed1, int allowed2)
{
    if (rc == AQ_OK) {
        took(c, qi, it, call);
        return 1;
    }
    if (rc == AQ_ESHUTDOWN) {
        if (!atomic_load(&g.shut[qi]))
            die("%s on queue %d returned AQ_ESHUTDOWN before any shutdown",
                call, qi);
        if (aq_queue_qsize(g.q[qi]) != 0)
            die("%s on queue %d returned AQ_ESHUTDOWN with %ld item(s) "
                "still queued",
                call, qi, aq_queue_qsize(g.q[qi]));
        return qi != c->home;
    }
    if (rc != allowed1 && rc != allowed2)
        die("%s on queue %d returned %s", call, qi, rcname(rc));
    g.stat[rc == AQ_ETIMEDOUT ? ST_GET_TIMEDOUT
           : rc == AQ_EEMPTY  ? ST_GET_EMPTY
                              : ST_GET_CANCELED]++;
    return 1;
}

static int other_queue(consumer *c)
{
    return (c->home + 1 + (int)rbelow(&c->r, NQ - 1)) % NQ;
}

static void join_rc(int rc, const char *call)
{
    if (rc == AQ_OK)
        g.stat[ST_JOIN_OK]++;
    else if (rc == AQ_ETIMEDOUT)
        g.stat[ST_JOIN_TIMEDOUT]++;
    else
        die("%s returned %s", call, rcname(rc));
}

/* A consumer's life, as a plain thread (the blocking thread faces) or as
 * a task (the suspending calls, and cancelled children). */
static void consume(long id, int task)
{
    consumer *c = malloc(sizeof *c);
    ASSERT(c);
    consumer_init(c, id);
    for (int on = 1; on;) {
        /* Once the producers are done, only waits without a deadline:
         * then nothing but a wake-up ends a wait, so a lost one stalls. */
        int patient = g.phase != PH_RUN;
        uint32_t k = patient ? 99 : rbelow(&c->r, 100);
        aq_queue *home = g.q[c->home];
        item it;
        if (k < 10) {
            on = got_rc(c, c->home, aq_queue_try_get(home, &it), &it,
                        "aq_queue_try_get", AQ_EEMPTY, AQ_EEMPTY);
        } else if (k < 14) {
            int qi = other_queue(c);
            got_rc(c, qi, aq_queue_try_get(g.q[qi], &it), &it,
                   "aq_queue_try_get", AQ_EEMPTY, AQ_EEMPTY);
        } else if (k < 15) {
            int64_t d = aq_now() + (int64_t)rbelow(&c->r, 100) * AQ_USEC;
            if (task)
                join_rc(aq_queue_join_until(home, d), "aq_queue_join_until");
            else
                join_rc(aq_queue_thread_join_until(home, d),
                        "aq_queue_thread_join_until");
        } else if (task && k < 30) {
            on = got_rc(c, c->home, child_op(&c->r, 1, home, &it), &it,
                        "aq_queue_get_until (cancelled child)", AQ_ETIMEDOUT,
                        AQ_ECANCELED);
        } else {
            int64_t d = patient ? AQ_NEVER : pick_deadline(&c->r);
            int rc = task ? aq_queue_get_until(home, &it, d)
                          : aq_queue_thread_get_until(home, &it, d);
            on = got_rc(c, c->home, rc, &it,
                        task ? "aq_queue_get_until"
                             : "aq_queue_thread_get_until",
                        AQ_ETIMEDOUT, AQ_ETIMEDOUT);
        }
        if (!patient && task)
            task_pause(&c->r, pace(&c->r, &c->slow, 2));
        else if (!patient)
            thread_pause(&c->r, pace(&c->r, &c->slow, 2));
    }
    g.cdone[c->id] = 1;
    g.cons_done++;
    free(c);
}

static void *consumer_thread(void *arg)
{
    consume(IVAL(arg), 0);
    return NULL;
}

static void *consumer_task(void *arg)
{
    consume(IVAL(arg), 1);
    return NULL;
}

/* ---- the final phase ---------------------------------------------------- */

static void check_settled(int qi, const char *after)
{
    long u = aq_queue_unfinished(g.q[qi]), n = aq_queue_qsize(g.q[qi]);
    if (u != 0 || n != 0)
        die("queue %d after %s: %ld unfinished, %ld queued (want 0, 0)", qi,
            after, u, n);
}

static void *final_thread(void *arg)
{
    int qi = (int)IVAL(arg);
    aq_queue *q = g.q[qi];
    if (!g.shut_first[qi]) {
        ASSERT_OK(aq_queue_thread_join(q));
        check_settled(qi, "aq_queue_thread_join");
        g.progress++;
        g.shut[qi] = 1;
        ASSERT_OK(aq_queue_shutdown(q, 0));
    } else {
        g.shut[qi] = 1; /* consumers drain what is left, then end */
        ASSERT_OK(aq_queue_shutdown(q, 0));
        g.progress++;
        ASSERT_OK(aq_queue_thread_join(q));
        check_settled(qi, "shutdown, then aq_queue_thread_join");
    }
    g.progress++;
    return NULL;
}

static void *join_task(void *arg)
{
    int qi = (int)IVAL(arg);
    ASSERT_OK(aq_queue_join(g.q[qi]));
    long u = aq_queue_unfinished(g.q[qi]);
    if (u != 0)
        die("queue %d: aq_queue_join returned with %ld unfinished", qi, u);
    g.progress++;
    return NULL;
}

/* ---- the quiet phase ---------------------------------------------------- */

/* The busy phases hide a lost wake-up: a loop with timers armed wakes at
 * the next one anyway and finds the post it missed. So at the end, alone
 * on each loop, a task answers a thread's pings, with no deadline on
 * either side and random gaps: an exchange often finds the loop (or the
 * thread) asleep with no timer, and only its wake-up can end the wait. */
static void *ponger(void *arg)
{
    long i = IVAL(arg);
    rng r = {g.seed ^ (0x300 + (uint64_t)i) * 0xD1B54A32D192ED03u};
    long v;
    int rc;
    while ((rc = aq_queue_get(g.ping[i], &v)) == AQ_OK) {
        if (rbelow(&r, 4) == 0) /* the pinger may sleep in its get */
            ASSERT_OK(aq_sleep((int64_t)rbelow(&r, 300) * AQ_USEC));
        ASSERT_OK(aq_queue_put(g.pong[i], &v));
    }
    ASSERT_RC(rc, AQ_ESHUTDOWN);
    return NULL;
}

static void *pinger(void *arg)
{
    long i = IVAL(arg);
    rng r = {g.seed ^ (0x400 + (uint64_t)i) * 0xD1B54A32D192ED03u};
    for (long n = 0; n < g.rounds; n++) {
        long v;
        ASSERT_OK(aq_queue_thread_put(g.ping[i], &n));
        ASSERT_OK(aq_queue_thread_get(g.pong[i], &v));
        if (v != n)
            die("ping-pong on loop %ld: sent %ld, got back %ld", i, n, v);
        g.pings[i]++;
        g.progress++;
        if (rbelow(&r, 2)) /* the loop sleeps after 50 us without posts */
            thread_pause(&r, 100);
    }
    ASSERT_OK(aq_queue_shutdown(g.ping[i], 0));
    return NULL;
}

/* ---- the watchdog ------------------------------------------------------- */

static void stall_report(double quiet_s)
{
    fprintf(stderr,
            "FAIL test_thread_stress: STALL, no progress for %.1f s (no "
            "item moved, no round trip, no phase step): a lost wake-up, or "
            "a lost item that join waits for\n"
            "  seed %" PRIu64 " (replay the choices with STRESS_SEED=%" PRIu64
            " STRESS_OPS=%ld), phase: %s, %.1f s in\n",
            quiet_s, g.seed, g.seed, g.per_prod * NPROD,
            phase_name[atomic_load(&g.phase)],
            (double)(aq_now() - g.t0) / AQ_SEC);
    fprintf(stderr, "  producer tasks done %d/%d, consumers done %d/%d;",
            g.prod_tasks_done, NPK, g.cons_done, NCT + NCK);
    for (int s = 0; s < NSTAT; s++)
        fprintf(stderr, " %s %ld", stat_name[s], g.stat[s]);
    fprintf(stderr, "\n");
    for (int p = 0; p < NPROD; p++)
        if (!g.pdone[p])
            fprintf(stderr, "  producer %d (a %s) has not returned\n", p,
                    p < NPT ? "thread" : "task");
    for (int k = 0; k < NCT + NCK; k++)
        if (!g.cdone[k])
            fprintf(stderr, "  consumer %d (a %s of queue %d) has not "
                            "returned\n",
                    k, k < NCT ? "thread" : "task", k % NQ);
    if (g.phase == PH_QUIET)
        for (int i = 0; i < NLOOPS; i++)
            fprintf(stderr, "  ping-pong on loop %d: %ld of %ld round "
                            "trips\n",
                    i, g.pings[i], g.rounds);
    /* Items: puts still under way, and items put but never got. */
    long inflight = 0, missing[NQ] = {0};
    for (long p = 0; p < NPROD; p++) {
        long n = g.issued[p];
        for (long s = 0; s < n; s++) {
            long i = p * g.per_prod + s;
            int st = g.status[i];
            if (st == 0 && inflight++ < 8)
                fprintf(stderr, "  put under way: producer %ld (a %s) seq "
                                "%ld into queue %d\n",
                        p, p < NPT ? "thread" : "task", s, g.where[i]);
            if (st == 1 && g.got[i] == 0 && missing[g.where[i]]++ < 8)
                fprintf(stderr, "  put, not got: producer %ld seq %ld "
                                "(queue %d)\n",
                        p, s, g.where[i]);
        }
    }
    fflush(stderr);
    /* The queues' own figures take their locks: if a lock is what hangs,
     * the alarm ends the process anyway. */
    alarm(5);
    for (int qi = 0; qi < NQ; qi++) {
        aq_queue_stats st;
        aq_queue_statistics(g.q[qi], &st);
        fprintf(stderr,
                "  queue %d (%s, maxsize %ld): put but not got %ld; "
                "qsize %ld, unfinished %ld, getters %ld, putters %ld, "
                "joiners %ld, "
                "shutdown %d, put %" PRIu64 ", got %" PRIu64 "\n",
                qi, g.maxsize[qi] ? "FIFO" : "RENDEZVOUS",
                g.maxsize[qi], missing[qi], st.qsize, st.unfinished,
                st.getters, st.putters, st.joiners, st.is_shutdown, st.put,
                st.got);
        if ((long)st.got > g.qgot[qi])
            fprintf(stderr,
                    "    %ld item(s) taken from it that no consumer "
                    "received (a getter not woken, or a get that failed "
                    "although its item moved)\n",
                    (long)st.got - g.qgot[qi]);
    }
    fflush(stderr);
}

static void *watchdog(void *arg)
{
    (void)arg;
    long last = -1;
    int64_t since = aq_now();
    while (!g.wd_stop) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        long now_progress = g.progress;
        int64_t now = aq_now();
        if (now_progress != last) {
            last = now_progress;
            since = now;
        } else if (now - since >= (int64_t)g.stall_s * AQ_SEC) {
            hold_if_dying();
            stall_report((double)(now - since) / AQ_SEC);
            _exit(1);
        }
    }
    return NULL;
}

/* ---- the run ------------------------------------------------------------ */

static long env_long(const char *name, long dflt)
{
    const char *s = getenv(name);
    return s && *s ? strtol(s, NULL, 0) : dflt;
}

static void configure(void)
{
    const char *s = getenv("STRESS_SEED");
    if (s && *s) {
        g.seed = strtoull(s, NULL, 0);
    } else {
        rng r = {(uint64_t)aq_now() ^ ((uint64_t)getpid() << 32)};
        g.seed = rnext(&r) % 1000000000000u + 1;
    }
    long ops = DEFAULT_OPS;
#ifdef STRESS_HAVE_VALGRIND
    if (RUNNING_ON_VALGRIND)
        ops = VALGRIND_OPS;
#endif
    ops = env_long("STRESS_OPS", ops);
    g.per_prod = ops / NPROD > 0 ? ops / NPROD : 1;
    g.rounds = env_long("STRESS_PINGS", DEFAULT_PINGS);
    g.stall_s = (int)env_long("STRESS_STALL", 10);
    if (g.stall_s <= 0)
        g.stall_s = 10;
    rng r = {g.seed};
    for (int qi = 0; qi < NQ; qi++) {
        g.maxsize[qi] = qi == NQ - 1 ? 0 : 1 + (long)rbelow(&r, 8);
        g.shut_first[qi] = rbelow(&r, 4) == 0;
    }
}

TEST(test_thread_stress)
{
    memset(&g, 0, sizeof g);
    configure();
    printf("test_thread_stress: seed %" PRIu64 ", %ld ops (STRESS_SEED=%"
           PRIu64 " replays the choices); queues:",
           g.seed, g.per_prod * NPROD, g.seed);
    for (int qi = 0; qi < NQ; qi++) {
        if (g.maxsize[qi])
            printf("%sFIFO %ld", qi ? ", " : " ", g.maxsize[qi]);
        else
            printf("%sRENDEZVOUS", qi ? ", " : " ");
        printf("%s", g.shut_first[qi] ? " (shutdown, then join)" : "");
    }
    printf("\n");
    fflush(stdout);
    atexit(name_seed_on_exit);

    size_t n = (size_t)(NPROD * g.per_prod);
    g.status = calloc(n, sizeof *g.status);
    g.got = calloc(n, sizeof *g.got);
    g.where = calloc(n, sizeof *g.where);
    ASSERT(g.status && g.got && g.where);
    for (int qi = 0; qi < NQ; qi++) {
        ASSERT_OK(aq_queue_new(&g.q[qi],
                               g.maxsize[qi] ? AQ_FIFO : AQ_RENDEZVOUS,
                               sizeof(item), g.maxsize[qi]));
        ASSERT_OK(aq_queue_share(g.q[qi]));
    }
    g.t0 = aq_now();
    pthread_t wd, pt[NPT], ct[NCT], ft[NQ];
    thread_start(&wd, watchdog, NULL);

    ASSERT_OK(aq_cores_start(&g.c, NLOOPS));
    for (long k = 0; k < NCK; k++) /* queue k % NQ, loop k / NQ */
        ASSERT_OK(aq_cores_spawn(g.c, k / NQ, consumer_task, IARG(NCT + k)));
    for (long k = 0; k < NPK; k++)
        ASSERT_OK(aq_cores_spawn(g.c, k % NLOOPS, producer_task,
                                 IARG(NPT + k)));
    for (long k = 0; k < NCT; k++)
        thread_start(&ct[k], consumer_thread, IARG(k));
    for (long k = 0; k < NPT; k++)
        thread_start(&pt[k], producer_thread, IARG(k));

    /* The producers end after their operations. */
    for (int k = 0; k < NPT; k++)
        thread_stop(pt[k]);
    while (g.prod_tasks_done < NPK) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    g.phase = PH_FINAL;
    g.progress++;

    /* Join and shut down each queue: a thread and a task join. */
    for (long qi = 0; qi < NQ; qi++)
        ASSERT_OK(aq_cores_spawn(g.c, qi % NLOOPS, join_task, IARG(qi)));
    for (long qi = 0; qi < NQ; qi++)
        thread_start(&ft[qi], final_thread, IARG(qi));
    for (int qi = 0; qi < NQ; qi++)
        thread_stop(ft[qi]);

    /* Every consumer ends on AQ_ESHUTDOWN. */
    g.phase = PH_REAP;
    g.progress++;
    for (int k = 0; k < NCT; k++)
        thread_stop(ct[k]);
    ASSERT_OK(aq_cores_wait(g.c));
    ASSERT_EQ(g.cons_done, NCT + NCK);

    /* Loops with nothing else to do: wake-ups alone keep things going. */
    g.phase = PH_QUIET;
    g.progress++;
    pthread_t pp[NLOOPS];
    for (long i = 0; i < NLOOPS; i++) {
        ASSERT_OK(aq_queue_new(&g.ping[i], i % 2 ? AQ_FIFO : AQ_RENDEZVOUS,
                               sizeof(long), i % 2));
        ASSERT_OK(aq_queue_new(&g.pong[i], i % 2 ? AQ_RENDEZVOUS : AQ_FIFO,
                               sizeof(long), 1 - i % 2));
        ASSERT_OK(aq_queue_share(g.ping[i]));
        ASSERT_OK(aq_queue_share(g.pong[i]));
        ASSERT_OK(aq_cores_spawn(g.c, i, ponger, IARG(i)));
        thread_start(&pp[i], pinger, IARG(i));
    }
    for (int i = 0; i < NLOOPS; i++)
        thread_stop(pp[i]);
    ASSERT_OK(aq_cores_wait(g.c));
    for (int i = 0; i < NLOOPS; i++) {
        ASSERT_EQ(g.pings[i], g.rounds);
        ASSERT_OK(aq_queue_free(g.ping[i]));
        ASSERT_OK(aq_queue_free(g.pong[i]));
    }
    ASSERT_OK(aq_cores_stop(g.c));
    g.wd_stop = 1;
    thread_stop(wd);

    /* Every item accounted for. */
    long put_ok[NQ] = {0}, failed = 0;
    for (long p = 0; p < NPROD; p++) {
        ASSERT_EQ(g.issued[p], g.per_prod);
        for (long s = 0; s < g.per_prod; s++) {
            long i = p * g.per_prod + s;
            int st = g.status[i], got = g.got[i], qi = g.where[i];
            if (st == 0)
                die("producer %ld seq %ld: its put never returned", p, s);
            if (st == 1 && got != 1)
                die("item (producer %ld, seq %ld) of queue %d: put returned "
                    "AQ_OK, got %d times (%s)",
                    p, s, qi, got, got ? "duplicated" : "lost");
            if (st != 1 && got != 0)
                die("item (producer %ld, seq %ld) of queue %d: put returned "
                    "%s, yet got %d time(s)",
                    p, s, qi, rcname(st), got);
            if (st == 1)
                put_ok[qi]++;
            else
                failed++;
        }
    }
    ASSERT_EQ(g.stat[ST_PUT_OK], put_ok[0] + put_ok[1] + put_ok[2]);
    ASSERT_EQ(g.stat[ST_GET_OK], g.stat[ST_PUT_OK]);
    ASSERT_EQ(g.stat[ST_PUT_OK] + failed, NPROD * g.per_prod);
    for (int qi = 0; qi < NQ; qi++) {
        aq_queue_stats st;
        ASSERT_OK(aq_queue_statistics(g.q[qi], &st));
        ASSERT_EQ(st.put, put_ok[qi]);
        ASSERT_EQ(st.got, put_ok[qi]);
        ASSERT_EQ(st.dropped, 0);
        ASSERT_EQ(st.qsize, 0);
        ASSERT_EQ(st.unfinished, 0);
        ASSERT_EQ(st.getters + st.putters + st.joiners, 0);
        ASSERT_EQ(st.is_shutdown, 1);
        ASSERT((long)st.high_water <= g.maxsize[qi]);
        ASSERT_OK(aq_queue_free(g.q[qi]));
    }
    free(g.status);
    free(g.got);
    free(g.where);

    double secs = (double)(aq_now() - g.t0) / AQ_SEC;
    printf("test_thread_stress: seed %" PRIu64
           " ops %ld moved %ld secs %.2f |",
           g.seed, g.per_prod * NPROD, g.stat[ST_GET_OK], secs);
    printf(" pings %ld", g.rounds * NLOOPS);
    for (int s = 0; s < NSTAT; s++)
        printf(" %s %ld", stat_name[s], g.stat[s]);
    printf("\n");
    g_finished = 1;
}

int main(int argc, char **argv)
{
    RUN(test_thread_stress);
    return t_done();
}
