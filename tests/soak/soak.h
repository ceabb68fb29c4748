/* libaq - the scale soak, shared by tests/soak/soak.c (make soak-scale:
 * a million tasks) and tests/test_soak_small.c (the CTest version).
 * MIT licensed.
 *
 * One round is one aq_run. Its main task spawns every worker at once;
 * worker i serves queue i % nq, as a producer or a consumer (a random
 * split per queue, at least one of each). Producers put numbered items
 * (each item id belongs to exactly one producer); consumers get them,
 * record them and call task_done. A canceller task cancels about 1% of
 * the workers, and shuts a few queues down (half of them immediately),
 * at random points of the run, drawn from a fixed-seed PRNG. A queue is
 * shut down by its last producer to leave (a counted shutdown: consumers
 * then drain it and stop), or by its last consumer to leave (every
 * consumer was cancelled: its blocked producers must not wait forever).
 *
 * Accounting, one bit per item in two bitmaps: an item is "put" when its
 * put returned AQ_OK, and "accounted" when a consumer got it, when the
 * canceller saw it dropped by an immediate shutdown, or when the main
 * task drains it from a shut-down queue at the end. A put that failed
 * (the producer cancelled, the queue shut down) never inserted its item,
 * and that producer's remaining items count as not produced. At the end
 * the two bitmaps must be equal (nothing lost, nothing invented), no bit
 * may have been set twice (nothing got twice), and the counters must add
 * up. FIFO queues are also checked for order: two items of one producer
 * got in a row by one consumer come out in the order they were put.
 *
 * Memory: VmRSS is read after each round, once aq_run has freed the loop,
 * and must neither grow from round to round nor stay above the baseline
 * taken before the first round. It is also read at the end of the work,
 * the loop still alive: only the warm stack pool and bookkeeping may be
 * left then, not the pages of a million finished tasks' stacks. Every static function here is used by
 * both programs.
 */
#ifndef AQ_SOAK_H
#define AQ_SOAK_H

#include "aq.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SOAK_HAVE_VALGRIND 1
#endif
#endif

struct soak_cfg {
    uint64_t tasks;  /* workers per round (the canceller and main aside) */
    uint64_t items;  /* items the producers try to put, per round */
    int rounds;
    uint64_t seed;   /* round r uses seed + r */
    int rss_pct;     /* allowed RSS growth, percent... */
    long rss_kib;    /* ...or this many KiB, whichever is larger */
};

/* An item: the priority first, as AQ_PRIORITY's default ordering wants. */
struct soak_item {
    int64_t prio;
    uint32_t id;    /* global item number */
    uint32_t task;  /* index of the producer that put it */
};

struct soak_queue {
    aq_queue *q;
    aq_queue_kind kind;
    uint64_t first, nitems;  /* its items: [first, first + nitems) */
    uint64_t ntasks, nprod;  /* its workers; the first nprod ranks of the
                                permutation below are producers */
    uint64_t perm_a, perm_b; /* rank r -> (r * a + b) % ntasks */
    uint64_t prod_left, cons_left;
};

struct soak {
    const struct soak_cfg *cfg;
    uint64_t ntasks, nitems, nq;
    struct soak_queue *qs;
    aq_task **slot;     /* each live worker's handle, NULL once it left */
    uint64_t *put_bits, *seen_bits;
    size_t nwords;
    aq_queue *done_q;   /* the last worker to leave posts a token here */
    uint64_t live;      /* workers that have not left yet */
    uint64_t rng;
    uint64_t events;    /* puts and gets done: the canceller's stall check */
    /* Per-round counters. */
    uint64_t produced, unproduced, got, leftover, dropped;
    uint64_t cancels, cancel_misses, seen_cancel, put_shutdown;
    uint64_t shutdowns, shut_immediate;
    uint64_t errors;
    long rss_loop, rss_peak;
};

/* Workers only get an index: the rest lives here (one thread). */
static struct soak *soak_g;

/* ---- helpers ----------------------------------------------------------- */

static void soak_err(struct soak *s, const char *fmt, ...)
{
    va_list ap;
    /* The first few say what broke; the count says how often. */
    if (s->errors++ < 20) {
        fflush(stdout);
        fprintf(stderr, "soak: FAIL: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\n");
    }
}

static int soak_rc(struct soak *s, int rc, int want, const char *what)
{
    if (rc == want)
        return 1;
    soak_err(s, "%s: got %s, want %s", what, aq_errname(rc),
             aq_errname(want));
    return 0;
}

/* splitmix64: small, fast and good enough to pick victims. */
static uint64_t soak_rand(uint64_t *st)
{
    uint64_t z = (*st += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t soak_below(uint64_t *st, uint64_t n)
{
    return n ? soak_rand(st) % n : 0;
}

/* 1024 priorities for millions of items: ties are the common case, and
 * they must keep insertion order. */
static int64_t soak_prio(uint64_t id)
{
    return (int64_t)((id * UINT64_C(0x9e3779b97f4a7c15)) >> 54);
}

static uint64_t soak_gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Sets bit i; returns its old value. */
static int soak_bit_set(uint64_t *bits, uint64_t i)
{
    uint64_t m = UINT64_C(1) << (i & 63);
    int was = (bits[i >> 6] & m) != 0;
    bits[i >> 6] |= m;
    return was;
}

/* A field of /proc/self/status in KiB, or -1 (not Linux, not found). */
static long soak_status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t n = strlen(key);
    long v = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* Resets VmHWM, so that each round reports its own peak (Linux 4.0+;
 * harmless where refused). */
static void soak_reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

/* RSS once libaq has given its memory back. glibc keeps freed heap
 * pages (the million task structs of a round) mapped and counted in
 * RSS until asked to return them: malloc_trim(0) does, so that what is
 * measured is what is still allocated, not the allocator's cache. */
static long soak_rss(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
    return soak_status_kib("VmRSS");
}

/* 1 when run under valgrind (and built with its header). */
static int soak_on_valgrind(void)
{
#ifdef SOAK_HAVE_VALGRIND
    return RUNNING_ON_VALGRIND != 0;
#else
    return 0;
#endif
}

/* 0 where RSS says nothing about libaq: ASan's quarantine and shadow
 * memory, or valgrind's own heap. The numbers are still printed. */
static int soak_rss_meaningful(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 0;
#endif
#endif
    if (soak_on_valgrind() || getenv("AQ_SOAK_EMULATED"))
        return 0; /* the RSS is the tool's or the emulator's */
    return soak_status_kib("VmRSS") >= 0;
}

/* ---- items ------------------------------------------------------------- */

static uint64_t soak_rank_role(const struct soak_queue *sq, uint64_t rank)
{
    return (rank * sq->perm_a + sq->perm_b) % sq->ntasks;
}

/* The items of producer number p (< nprod) of queue sq. */
static void soak_range(const struct soak_queue *sq, uint64_t p,
                       uint64_t *lo, uint64_t *hi)
{
    *lo = sq->first + p * sq->nitems / sq->nprod;
    *hi = sq->first + (p + 1) * sq->nitems / sq->nprod;
}

/* Checks that it is an item some producer of queue qi may have put, and
 * marks it accounted for; how says by whom, for the message. */
static void soak_account(struct soak *s, uint64_t qi,
                         const struct soak_item *it, const char *how)
{
    const struct soak_queue *sq = &s->qs[qi];
    uint64_t t = it->task, lo = 0, hi = 0, p;
    if (t >= s->ntasks || t % s->nq != qi) {
        soak_err(s, "%s: item %u names task %llu, not one of queue %llu",
                 how, it->id, (unsigned long long)t,
                 (unsigned long long)qi);
        return;
    }
    p = soak_rank_role(sq, t / s->nq);
    if (p < sq->nprod)
        soak_range(sq, p, &lo, &hi);
    if (it->id < lo || it->id >= hi || it->prio != soak_prio(it->id)) {
        soak_err(s, "%s: item %u (prio %lld) was not task %llu's to put",
                 how, it->id, (long long)it->prio, (unsigned long long)t);
        return;
    }
    if (soak_bit_set(s->seen_bits, it->id))
        soak_err(s, "%s: item %u accounted for twice", how, it->id);
}

/* ---- workers ----------------------------------------------------------- */

static void soak_produce(struct soak *s, uint64_t qi, uint64_t i,
                         uint64_t p)
{
    struct soak_queue *sq = &s->qs[qi];
    uint64_t lo, hi;
    soak_range(sq, p, &lo, &hi);
    for (uint64_t id = lo; id < hi; id++) {
        struct soak_item it = {soak_prio(id), (uint32_t)id, (uint32_t)i};
        int rc;
        /* Some puts carry a far deadline, so the timer heap works at
         * scale too; it must never fire. */
        if (id % 16 == 5)
            rc = aq_queue_put_until(sq->q, &it, aq_now() + 3600 * AQ_SEC);
        else
            rc = aq_queue_put(sq->q, &it);
        s->events++;
        if (rc == AQ_OK) {
            if (soak_bit_set(s->put_bits, id))
                soak_err(s, "item %llu put twice", (unsigned long long)id);
            s->produced++;
            continue;
        }
        if (rc == AQ_ECANCELED)
            s->seen_cancel++;
        else if (rc == AQ_ESHUTDOWN)
            s->put_shutdown++;
        else
            soak_rc(s, rc, AQ_OK, "put");
        /* A failed put inserted nothing: this item and the rest of the
         * range were never produced. */
        s->unproduced += hi - id;
        return;
    }
}

static void soak_consume(struct soak *s, uint64_t qi)
{
    struct soak_queue *sq = &s->qs[qi];
    uint32_t last_task = UINT32_MAX, last_id = 0;
    for (;;) {
        struct soak_item it;
        int rc = aq_queue_get(sq->q, &it);
        s->events++;
        if (rc == AQ_ECANCELED) {
            s->seen_cancel++;
            return;
        }
        if (rc == AQ_ESHUTDOWN)
            return;
        if (!soak_rc(s, rc, AQ_OK, "get"))
            return;
        soak_account(s, qi, &it, "get");
        s->got++;
        /* One consumer's gets happen in its own order, so two items of
         * one producer in a row must come out in put order. (Across
         * consumers no such check holds: an item handed to a waiting
         * getter is recorded only when that getter runs again.) */
        if (sq->kind == AQ_FIFO) {
            if (it.task == last_task && it.id <= last_id)
                soak_err(s, "FIFO queue %llu: item %u after %u",
                         (unsigned long long)qi, it.id, last_id);
            last_task = it.task;
            last_id = it.id;
        }
        soak_rc(s, aq_queue_task_done(sq->q), AQ_OK, "task_done");
        /* Now and then a consumer lets the others run while it holds no
         * wait: a cancel then shows here instead of in a get. */
        if (it.id % 8 == 3 && aq_yield() == AQ_ECANCELED) {
            s->seen_cancel++;
            return;
        }
    }
}

static void *soak_worker(void *arg)
{
    struct soak *s = soak_g;
    uint64_t i = (uint64_t)(uintptr_t)arg, qi = i % s->nq;
    struct soak_queue *sq = &s->qs[qi];
    uint64_t p = soak_rank_role(sq, i / s->nq);
    aq_task *self = s->slot[i];

    if (self != aq_task_self())
        soak_err(s, "task %llu: slot does not hold its handle",
                 (unsigned long long)i);
    if (p < sq->nprod) {
        soak_produce(s, qi, i, p);
        if (--sq->prod_left == 0) /* the counted shutdown */
            soak_rc(s, aq_queue_shutdown(sq->q, 0), AQ_OK, "shutdown");
    } else {
        soak_consume(s, qi);
        /* Every consumer left (cancelled): without this, producers
         * blocked on the full queue would wait forever. */
        if (--sq->cons_left == 0)
            soak_rc(s, aq_queue_shutdown(sq->q, 0), AQ_OK, "shutdown");
    }
    /* Leave: the canceller must never see this handle again. Releasing
     * it from inside is allowed; the task is freed when it returns. */
    s->slot[i] = NULL;
    soak_rc(s, aq_task_release(self), AQ_OK, "release");
    if (--s->live == 0) {
        char tok = 1;
        soak_rc(s, aq_queue_try_put(s->done_q, &tok), AQ_OK, "done");
    }
    return NULL;
}

/* ---- the canceller ----------------------------------------------------- */

static void soak_cancel_one(struct soak *s)
{
    /* A few tries: most picks late in the run hit a worker that left. */
    for (int tries = 0; tries < 8; tries++) {
        aq_task *t = s->slot[soak_below(&s->rng, s->ntasks)];
        if (!t)
            continue;
        soak_rc(s, aq_task_cancel(t), AQ_OK, "cancel");
        if (soak_below(&s->rng, 4) == 0) /* twice is harmless */
            soak_rc(s, aq_task_cancel(t), AQ_OK, "cancel again");
        if (aq_task_cancelled(t) != 1)
            soak_err(s, "cancelled task not marked cancelled");
        s->cancels++;
        return;
    }
    s->cancel_misses++;
}

static void soak_shut_one(struct soak *s)
{
    uint64_t qi = soak_below(&s->rng, s->nq);
    aq_queue *q = s->qs[qi].q;
    if (aq_queue_is_shutdown(q))
        return;
    s->shutdowns++;
    if (soak_below(&s->rng, 2)) {
        soak_rc(s, aq_queue_shutdown(q, 0), AQ_OK, "shutdown");
        return;
    }
    /* An immediate shutdown forgets what is queued: look first, so the
     * dropped items are accounted for. */
    long n = aq_queue_qsize(q);
    for (long k = 0; k < n; k++) {
        struct soak_item it;
        if (soak_rc(s, aq_queue_peek(q, (size_t)k, &it), AQ_OK, "peek"))
            soak_account(s, qi, &it, "dropped");
    }
    s->dropped += (uint64_t)n;
    s->shut_immediate++;
    soak_rc(s, aq_queue_shutdown(q, 1), AQ_OK, "shutdown immediate");
    if (aq_queue_qsize(q) != 0)
        soak_err(s, "immediate shutdown left %ld items",
                 aq_queue_qsize(q));
}

/* Cancels ntasks / 100 workers and shuts down nq / 200 + 1 queues, each
 * at a random point of the run: event k of n happens once the items
 * accounted for plus those given up reach (k + u) / n of 90% of all
 * items, u uniform in [0, 1), so the events spread over the whole run,
 * the very start (before most workers first ran) included. */
static void *soak_canceller(void *arg)
{
    struct soak *s = arg;
    uint64_t nc = s->ntasks / 100, ns = s->nq / 200 + 1;
    uint64_t span = s->nitems - s->nitems / 10 + 1, kc = 0, ks = 0;
    uint64_t tc = soak_below(&s->rng, span) / (nc ? nc : 1);
    uint64_t ts = soak_below(&s->rng, span) / ns;
    uint64_t last_events = s->events, idle = 0;

    while (kc < nc || ks < ns) {
        int cancel = ks == ns || (kc < nc && tc <= ts);
        uint64_t at = cancel ? tc : ts;
        while (s->got + s->unproduced < at && s->live > 0) {
            if (!soak_rc(s, aq_yield(), AQ_OK, "canceller yield"))
                return NULL;
            /* Every worker blocked for good would leave this task alone
             * yielding forever: stop, and let aq_run see the deadlock. */
            idle = s->events == last_events ? idle + 1 : 0;
            last_events = s->events;
            if (idle > 1000) {
                soak_err(s, "no put or get for 1000 loop iterations");
                return NULL;
            }
        }
        if (s->live == 0)
            break;
        if (cancel) {
            soak_cancel_one(s);
            kc++;
            tc = (kc * span + soak_below(&s->rng, span)) / nc;
        } else {
            soak_shut_one(s);
            ks++;
            ts = (ks * span + soak_below(&s->rng, span)) / ns;
        }
    }
    return NULL;
}

/* ---- one round --------------------------------------------------------- */

/* Drains what shut-down queues still hold, then checks that join, with
 * every item done, returns at once and that nothing waits any more. */
static void soak_drain(struct soak *s)
{
    for (uint64_t qi = 0; qi < s->nq; qi++) {
        aq_queue *q = s->qs[qi].q;
        struct soak_item it;
        int rc;
        if (aq_queue_is_shutdown(q) != 1)
            soak_err(s, "queue %llu not shut down at the end",
                     (unsigned long long)qi);
        while ((rc = aq_queue_try_get(q, &it)) == AQ_OK) {
            soak_account(s, qi, &it, "left over");
            s->leftover++;
            soak_rc(s, aq_queue_task_done(q), AQ_OK, "task_done");
        }
        soak_rc(s, rc, AQ_ESHUTDOWN, "drained get");
        if (aq_queue_unfinished(q) != 0)
            soak_err(s, "queue %llu: %ld unfinished", (unsigned long long)qi,
                     aq_queue_unfinished(q));
        soak_rc(s, aq_queue_join(q), AQ_OK, "join");
        if (aq_queue_getters(q) || aq_queue_putters(q) ||
            aq_queue_joiners(q))
            soak_err(s, "queue %llu: waiters left", (unsigned long long)qi);
    }
}

static void *soak_main_task(void *arg)
{
    struct soak *s = arg;
    aq_task *canc;
    if (!soak_rc(s, aq_spawn(&canc, soak_canceller, s), AQ_OK, "spawn"))
        return NULL;
    s->live = s->ntasks;
    for (uint64_t i = 0; i < s->ntasks; i++) {
        int rc = aq_spawn(&s->slot[i], soak_worker, (void *)(uintptr_t)i);
        if (!soak_rc(s, rc, AQ_OK, "spawn worker")) {
            s->live -= s->ntasks - i; /* the rest never existed */
            break;
        }
    }
    if (s->live > 0) {
        char tok;
        soak_rc(s, aq_queue_get(s->done_q, &tok), AQ_OK, "wait for workers");
    }
    soak_rc(s, aq_task_wait(canc, NULL), AQ_OK, "wait for canceller");
    soak_rc(s, aq_task_release(canc), AQ_OK, "release canceller");
    soak_drain(s);
    /* Every worker has left: its stack is in the warm pool (up to the
     * pool's 1024) or has given its pages back. */
    s->rss_loop = soak_rss();
    return NULL;
}

static void soak_reset(struct soak *s, uint64_t seed)
{
    memset(s->put_bits, 0, s->nwords * sizeof *s->put_bits);
    memset(s->seen_bits, 0, s->nwords * sizeof *s->seen_bits);
    memset(s->slot, 0, s->ntasks * sizeof *s->slot);
    s->rng = seed;
    s->events = 0;
    s->produced = s->unproduced = s->got = s->leftover = s->dropped = 0;
    s->cancels = s->cancel_misses = s->seen_cancel = s->put_shutdown = 0;
    s->shutdowns = s->shut_immediate = 0;
    s->rss_loop = s->rss_peak = -1;
}

/* Makes the queues: kinds in turn, random maxsize in [16, 64], random
 * producer/consumer split. Returns 0 on failure (reported). */
static int soak_make_queues(struct soak *s)
{
    static const aq_queue_kind kinds[] = {AQ_FIFO, AQ_LIFO, AQ_PRIORITY};
    for (uint64_t qi = 0; qi < s->nq; qi++) {
        struct soak_queue *sq = &s->qs[qi];
        uint64_t n = s->ntasks / s->nq + (qi < s->ntasks % s->nq);
        sq->kind = kinds[qi % 3];
        if (!soak_rc(s, aq_queue_new(&sq->q, sq->kind,
                                     sizeof(struct soak_item),
                                     16 + (long)soak_below(&s->rng, 49)),
                     AQ_OK, "queue_new"))
            return 0;
        sq->nitems = s->nitems / s->nq;
        sq->first = qi * sq->nitems + (qi < s->nitems % s->nq
                                           ? qi : s->nitems % s->nq);
        sq->nitems += qi < s->nitems % s->nq;
        sq->ntasks = n;
        sq->nprod = 1 + soak_below(&s->rng, n - 1); /* 1 .. n - 1 */
        do
            sq->perm_a = 1 + soak_below(&s->rng, n);
        while (soak_gcd(sq->perm_a, n) != 1);
        sq->perm_b = soak_below(&s->rng, n);
        sq->prod_left = sq->nprod;
        sq->cons_left = n - sq->nprod;
    }
    return soak_rc(s, aq_queue_new(&s->done_q, AQ_FIFO, 1, 0), AQ_OK,
                   "queue_new");
}

static void soak_free_queues(struct soak *s)
{
    for (uint64_t qi = 0; qi < s->nq; qi++) {
        if (s->qs[qi].q)
            soak_rc(s, aq_queue_free(s->qs[qi].q), AQ_OK, "queue_free");
        s->qs[qi].q = NULL;
    }
    if (s->done_q)
        soak_rc(s, aq_queue_free(s->done_q), AQ_OK, "queue_free");
    s->done_q = NULL;
}

/* The counters must add up and the bitmaps agree. */
static void soak_verify(struct soak *s)
{
    if (s->produced + s->unproduced != s->nitems)
        soak_err(s, "produced %llu + not produced %llu != items %llu",
                 (unsigned long long)s->produced,
                 (unsigned long long)s->unproduced,
                 (unsigned long long)s->nitems);
    if (s->got + s->leftover + s->dropped != s->produced)
        soak_err(s, "got %llu + left over %llu + dropped %llu != put %llu",
                 (unsigned long long)s->got, (unsigned long long)s->leftover,
                 (unsigned long long)s->dropped,
                 (unsigned long long)s->produced);
    if (s->live != 0)
        soak_err(s, "%llu workers never left", (unsigned long long)s->live);
    if (s->seen_cancel > s->cancels)
        soak_err(s, "%llu workers saw a cancel, %llu were cancelled",
                 (unsigned long long)s->seen_cancel,
                 (unsigned long long)s->cancels);
    for (size_t w = 0; w < s->nwords; w++) {
        uint64_t diff = s->put_bits[w] ^ s->seen_bits[w];
        if (diff) {
            uint64_t id = w * 64 + (uint64_t)__builtin_ctzll(diff);
            soak_err(s, "item %llu: put %d, accounted for %d",
                     (unsigned long long)id,
                     (int)(s->put_bits[w] >> (id & 63) & 1),
                     (int)(s->seen_bits[w] >> (id & 63) & 1));
            break;
        }
    }
    for (uint64_t i = 0; i < s->ntasks; i++) {
        if (s->slot[i]) {
            soak_err(s, "worker %llu still has a handle",
                     (unsigned long long)i);
            break;
        }
    }
}

static int soak_round(struct soak *s, int round)
{
    uint64_t errors = s->errors;
    soak_reset(s, s->cfg->seed + (uint64_t)round);
    soak_reset_peak();
    int64_t t0 = aq_now();
    if (soak_make_queues(s)) {
        int rc = aq_run(soak_main_task, s, NULL);
        soak_rc(s, rc, AQ_OK, "aq_run");
    }
    int64_t t1 = aq_now();
    soak_free_queues(s);
    soak_verify(s);
    s->rss_peak = soak_status_kib("VmHWM");
    printf("round %d: %.2f s; items put %llu, not produced %llu (puts "
           "refused by shutdown %llu), got %llu, left over %llu, dropped "
           "%llu; cancels %llu (missed %llu, seen %llu); shutdowns %llu "
           "(immediate %llu)\n",
           round, (double)(t1 - t0) / AQ_SEC,
           (unsigned long long)s->produced,
           (unsigned long long)s->unproduced,
           (unsigned long long)s->put_shutdown, (unsigned long long)s->got,
           (unsigned long long)s->leftover, (unsigned long long)s->dropped,
           (unsigned long long)s->cancels,
           (unsigned long long)s->cancel_misses,
           (unsigned long long)s->seen_cancel,
           (unsigned long long)s->shutdowns,
           (unsigned long long)s->shut_immediate);
    if (s->errors - errors > 20)
        fprintf(stderr, "soak: round %d: %llu failures in all\n", round,
                (unsigned long long)(s->errors - errors));
    return s->errors == errors;
}

/* ---- the whole soak ---------------------------------------------------- */

/* Runs cfg->rounds rounds; prints per-round results, RSS and timings.
 * Returns 0 if everything added up and memory did not grow, else 1. */
static int soak_run(const struct soak_cfg *cfg)
{
    struct soak s;
    long base, rss[64], rss_loop[64];
    int ok = 1, nr = cfg->rounds < 64 ? cfg->rounds : 64;
    memset(&s, 0, sizeof s);
    s.cfg = cfg;
    s.ntasks = cfg->tasks;
    s.nitems = cfg->items;
    if (s.ntasks < 2 || s.ntasks > UINT32_MAX || s.nitems >= UINT32_MAX ||
        nr < 1) {
        fprintf(stderr, "soak: need 2 <= tasks < 2^32, items < 2^32 - 1, "
                        "1 <= rounds\n");
        return 1;
    }
    /* Up to 1000 queues, each with at least a producer and a consumer. */
    s.nq = s.ntasks / 2 < 1000 ? s.ntasks / 2 : 1000;
    s.nwords = (size_t)(s.nitems / 64 + 1);
    s.qs = calloc((size_t)s.nq, sizeof *s.qs);
    s.slot = calloc((size_t)s.ntasks, sizeof *s.slot);
    s.put_bits = calloc(s.nwords, sizeof *s.put_bits);
    s.seen_bits = calloc(s.nwords, sizeof *s.seen_bits);
    if (!s.qs || !s.slot || !s.put_bits || !s.seen_bits) {
        fprintf(stderr, "soak: out of memory\n");
        ok = 0;
        goto out;
    }
    soak_g = &s;
    printf("soak: %llu tasks, %llu items, %llu queues, %d rounds, seed "
           "%llu\n",
           (unsigned long long)s.ntasks, (unsigned long long)s.nitems,
           (unsigned long long)s.nq, nr, (unsigned long long)cfg->seed);
    /* Touch the bookkeeping first, so the baseline includes it. */
    soak_reset(&s, cfg->seed);
    base = soak_rss();
    printf("RSS before round 1: %ld KiB\n", base);

    int64_t t0 = aq_now();
    for (int r = 1; r <= nr && ok; r++) {
        ok = soak_round(&s, r);
        rss[r - 1] = soak_rss();
        rss_loop[r - 1] = s.rss_loop;
        printf("round %d RSS: peak %ld KiB, end of work (loop alive) %ld "
               "KiB, loop freed %ld KiB\n",
               r, s.rss_peak, s.rss_loop, rss[r - 1]);
    }
    printf("total time: %.2f s\n", (double)(aq_now() - t0) / AQ_SEC);
    if (!ok)
        goto out;

    if (!soak_rss_meaningful()) {
        printf("memory: not checked (sanitizer, valgrind, emulator or no "
               "/proc)\n");
        goto out;
    }
    long tol_base = base * cfg->rss_pct / 100, tol_r1 = rss[0] *
                                                      cfg->rss_pct / 100;
    tol_base = tol_base > cfg->rss_kib ? tol_base : cfg->rss_kib;
    tol_r1 = tol_r1 > cfg->rss_kib ? tol_r1 : cfg->rss_kib;
    for (int r = 1; r <= nr; r++) {
        /* With the work done and the loop alive, only the warm pool
         * (1024 stacks of a page or two) and per-task bookkeeping sized
         * for the peak (slab headers, timer heap: under 128 bytes a task)
         * may stay: every colder stack gave its pages back. */
        long keep = 16 * 1024 + (long)(s.ntasks / 8);
        if (rss_loop[r - 1] > base + keep) {
            fprintf(stderr, "soak: FAIL: RSS at the end of round %d's "
                            "work is %ld KiB, baseline %ld + %ld KiB\n",
                    r, rss_loop[r - 1], base, keep);
            ok = 0;
        }
        /* Back near the baseline once the loop is gone... */
        if (rss[r - 1] > base + tol_base) {
            fprintf(stderr, "soak: FAIL: RSS after round %d is %ld KiB, "
                            "baseline %ld + %ld KiB\n",
                    r, rss[r - 1], base, tol_base);
            ok = 0;
        }
        /* ...and no creep from round to round. */
        if (r > 1 && rss[r - 1] > rss[0] + tol_r1) {
            fprintf(stderr, "soak: FAIL: RSS after round %d is %ld KiB, "
                            "round 1 left %ld + %ld KiB\n",
                    r, rss[r - 1], rss[0], tol_r1);
            ok = 0;
        }
    }
    if (ok)
        printf("memory: RSS after each round within max(%d%%, %ld KiB) of "
               "the baseline and of round 1; at the end of the work within "
               "16 MiB + 128 B a task of the baseline\n",
               cfg->rss_pct, cfg->rss_kib);
out:
    soak_g = NULL;
    free(s.qs);
    free(s.slot);
    free(s.put_bits);
    free(s.seen_bits);
    printf("soak: %s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}

#endif
