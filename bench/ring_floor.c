/* ring_floor - what a thread-to-thread ring costs with nothing of libaq
 * around it, for issue 9's thread_bulk row. MIT licensed.
 *
 * Usage:  ring_floor locked|lockfree N
 *
 * One producer thread puts the longs 1..N into a ring of 1024 slots, the
 * main thread gets them (sched_yield while full or empty), and the sum is
 * checked. Prints "ring_floor MODE N ns_per_item" (1 decimal); a bad
 * argument exits 2, a wrong sum 1.
 *   locked    the ring's count and head under one spinlock that backs off
 *             as src/thread/thread.h's does (the cost any design with one
 *             lock per call pays: no waiters, statistics or tables)
 *   lockfree  Vyukov's bounded multi-producer multi-consumer ring: a
 *             sequence number per slot, head and tail on lines of their
 *             own, so that the two ends share no lock
 * Run pinned to two CPUs (`taskset -c 0,1`), interleaved with aqthreads
 * thread_bulk and the peers: bench/RESULTS.md. */
#define _GNU_SOURCE

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS 1024

static long n_items;

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* ---- locked -------------------------------------------------------------
 */

static _Atomic int held;
static long locked_ring[SLOTS];
static size_t locked_head, locked_count;

static void lock(void)
{
    unsigned pauses = 1;
    while (atomic_exchange_explicit(&held, 1, memory_order_acquire)) {
        do {
            for (unsigned i = 0; i < pauses; i++)
                relax();
            if (pauses >= 4)
                sched_yield();
            if (pauses < 128)
                pauses *= 2;
        } while (atomic_load_explicit(&held, memory_order_relaxed));
    }
}

static void unlock(void)
{
    atomic_store_explicit(&held, 0, memory_order_release);
}

static int locked_put(long v)
{
    lock();
    int ok = locked_count < SLOTS;
    if (ok) {
        locked_ring[(locked_head + locked_count) % SLOTS] = v;
        locked_count++;
    }
    unlock();
    return ok;
}

static int locked_get(long *v)
{
    lock();
    int ok = locked_count > 0;
    if (ok) {
        *v = locked_ring[locked_head];
        locked_head = (locked_head + 1) % SLOTS;
        locked_count--;
    }
    unlock();
    return ok;
}

/* ---- lockfree -----------------------------------------------------------
 */

typedef struct slot {
    _Atomic size_t seq;
    long v;
} slot;

static slot free_ring[SLOTS];
static _Alignas(64) _Atomic size_t tail;
static _Alignas(64) _Atomic size_t head;

/* A put takes position pos when its slot's sequence is pos, a get when
 * it is pos + 1; a get hands the slot to the put one lap later. */
static int lockfree_put(long v)
{
    size_t pos = atomic_load_explicit(&tail, memory_order_relaxed);
    for (;;) {
        slot *s = &free_ring[pos % SLOTS];
        size_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        long diff = (long)seq - (long)pos;
        if (diff < 0)
            return 0; /* full */
        if (diff == 0 && atomic_compare_exchange_weak_explicit(
                             &tail, &pos, pos + 1, memory_order_relaxed,
                             memory_order_relaxed)) {
            s->v = v;
            atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
            return 1;
        }
        if (diff > 0)
            pos = atomic_load_explicit(&tail, memory_order_relaxed);
    }
}

static int lockfree_get(long *v)
{
    size_t pos = atomic_load_explicit(&head, memory_order_relaxed);
    for (;;) {
        slot *s = &free_ring[pos % SLOTS];
        size_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        long diff = (long)seq - (long)(pos + 1);
        if (diff < 0)
            return 0; /* empty */
        if (diff == 0 && atomic_compare_exchange_weak_explicit(
                             &head, &pos, pos + 1, memory_order_relaxed,
                             memory_order_relaxed)) {
            *v = s->v;
            atomic_store_explicit(&s->seq, pos + SLOTS, memory_order_release);
            return 1;
        }
        if (diff > 0)
            pos = atomic_load_explicit(&head, memory_order_relaxed);
    }
}

/* ---- the run ------------------------------------------------------------
 */

static int (*put)(long v);
static int (*get)(long *v);

static void *producer(void *arg)
{
    (void)arg;
    for (long i = 1; i <= n_items; i++)
        while (!put(i))
            sched_yield();
    return NULL;
}

int main(int argc, char **argv)
{
    n_items = argc == 3 ? atol(argv[2]) : 0;
    int lockfree = argc == 3 && strcmp(argv[1], "lockfree") == 0;
    if (n_items <= 0 || (!lockfree && strcmp(argv[1], "locked") != 0)) {
        fprintf(stderr, "usage: ring_floor locked|lockfree N\n");
        return 2;
    }
    put = lockfree ? lockfree_put : locked_put;
    get = lockfree ? lockfree_get : locked_get;
    for (size_t i = 0; i < SLOTS; i++)
        atomic_init(&free_ring[i].seq, i);
    pthread_t th;
    double t0 = now_ns();
    if (pthread_create(&th, NULL, producer, NULL))
        return 1;
    long sum = 0, v;
    for (long i = 0; i < n_items; i++) {
        while (!get(&v))
            sched_yield();
        sum += v;
    }
    pthread_join(th, NULL);
    double ns = (now_ns() - t0) / (double)n_items;
    if (sum != n_items * (n_items + 1) / 2) {
        fprintf(stderr, "ring_floor: wrong sum\n");
        return 1;
    }
    printf("ring_floor %s %ld %.1f\n", argv[1], n_items, ns);
    return 0;
}
