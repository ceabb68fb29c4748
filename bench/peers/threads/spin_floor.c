/* Cross-thread floor: what crossing between the two cores costs on this
 * machine, with nothing else in the way.
 *
 * Usage: spin_floor [N]   (else env N; default 200,000 round trips for
 * the pingpong rows, 2,000,000 items for thread_bulk; N sets both).
 * Prints "<row> floor <ns>", the median of 3 runs per row:
 *
 *   thread_pingpong  two threads bounce a counter through two cache
 *   loop_pingpong    lines, each spinning on the other's line (no lock,
 *                    no sleep, no queue): ns per round trip. The same
 *                    figure serves both rows: whatever a task, a loop or
 *                    a thread adds, each round trip still moves two lines
 *                    between the cores, so no design that keeps the two
 *                    sides on two cores can go below it.
 *   thread_bulk      a single-producer, single-consumer ring of 1024
 *                    longs (a Lamport ring, release/acquire), where each
 *                    side reads the other's index only when its last
 *                    reading says full or empty, so that lines cross in
 *                    batches: ns per item.
 *
 * Both threads spin all the time, so the figures assume two cores that are
 * free: run it pinned to two CPUs (run.sh uses taskset -c 0,1). A run is
 * timed from before the first pthread_create to after the last
 * pthread_join. Exit 1 if a result check fails, 2 on a bad N.
 * Build: gcc -O2 -pthread spin_floor.c -o spin_floor
 */
#include <pthread.h>
#include <stdatomic.h>

#include "peer.h"

/* A line of its own for each word the two threads write, so that each
 * transfer is the one the workload needs and not false sharing. */
struct line {
    _Atomic long v;
    char pad[64 - sizeof(long)];
};

/* ---- pingpong ---- */
static struct line ping, pong;

static void *echo(void *arg)
{
    (void)arg;
    for (long i = 1; i <= n_items; i++) {
        while (atomic_load_explicit(&ping.v, memory_order_acquire) != i)
            ;
        atomic_store_explicit(&pong.v, i, memory_order_release);
    }
    return NULL;
}

static double pingpong(void)
{
    pthread_t t;
    atomic_store(&ping.v, 0);
    atomic_store(&pong.v, 0);
    double t0 = now_ns();
    pthread_create(&t, NULL, echo, NULL);
    for (long i = 1; i <= n_items; i++) {
        atomic_store_explicit(&ping.v, i, memory_order_release);
        while (atomic_load_explicit(&pong.v, memory_order_acquire) != i)
            ;
    }
    pthread_join(t, NULL);
    return (now_ns() - t0) / n_items;
}

/* ---- thread_bulk: a Lamport ring ---- */
#define RING 1024
static struct line head, tail; /* next to read, next to write */
static long buf[RING];

static void *producer(void *arg)
{
    (void)arg;
    long seen = 0; /* head as last read: re-read only when it says full */
    for (long i = 0; i < n_items; i++) {
        while (i - seen == RING)
            seen = atomic_load_explicit(&head.v, memory_order_acquire);
        buf[i % RING] = i;
        atomic_store_explicit(&tail.v, i + 1, memory_order_release);
    }
    return NULL;
}

static double bulk(void)
{
    pthread_t t;
    long sum = 0;
    atomic_store(&head.v, 0);
    atomic_store(&tail.v, 0);
    double t0 = now_ns();
    pthread_create(&t, NULL, producer, NULL);
    long seen = 0; /* tail as last read: re-read only when it says empty */
    for (long i = 0; i < n_items; i++) {
        while (seen == i)
            seen = atomic_load_explicit(&tail.v, memory_order_acquire);
        sum += buf[i % RING];
        atomic_store_explicit(&head.v, i + 1, memory_order_release);
    }
    pthread_join(t, NULL);
    return bulk_result(t0, sum, n_items);
}

int main(int argc, char **argv)
{
    return peer_main(argc, argv, "floor", pingpong, bulk, 1);
}
