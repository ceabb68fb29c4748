/* Cross-thread peer benchmark: plain pthreads, mutex + condition variables,
 * the textbook way (signal after every change, wait in a while loop).
 *
 * Usage: pthread_condvar [N]   (else env N; default 200,000 round trips
 * for thread_pingpong, 2,000,000 items for thread_bulk; N sets both).
 * Prints "<row> pthread_condvar <ns>", the median of 3 runs per row:
 *
 *   thread_pingpong  two threads bounce a token through two one-slot
 *                    mailboxes (mutex + condvar each), N times; ns per
 *                    round trip.
 *   thread_bulk      one producer, one consumer, a ring of 1024 longs
 *                    guarded by one mutex and two condvars (not_full,
 *                    not_empty); ns per item.
 *
 * A run is timed from before the first pthread_create to after the last
 * pthread_join (thread start-up is ~tens of us, noise at these N).
 * Exit 1 if a result check fails, 2 on a bad N.
 * Build: gcc -O2 -pthread pthread_condvar.c -o pthread_condvar
 */
#include <pthread.h>

#include "peer.h"

/* ---- thread_pingpong: a one-slot mailbox each way ---- */
struct mailbox {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int full;
    long value;
};
static struct mailbox to_echo, to_init;

static void mb_put(struct mailbox *m, long v)
{
    pthread_mutex_lock(&m->mu);
    while (m->full)             /* never true here: the peer has taken it */
        pthread_cond_wait(&m->cv, &m->mu);
    m->value = v;
    m->full = 1;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

static long mb_get(struct mailbox *m)
{
    pthread_mutex_lock(&m->mu);
    while (!m->full)
        pthread_cond_wait(&m->cv, &m->mu);
    long v = m->value;
    m->full = 0;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    return v;
}

static void *echo(void *arg)
{
    (void)arg;
    for (long i = 0; i < n_items; i++)
        mb_put(&to_init, mb_get(&to_echo));
    return NULL;
}

static void *initiator(void *arg)
{
    long bad = 0;
    for (long i = 0; i < n_items; i++) {
        mb_put(&to_echo, i);
        bad += mb_get(&to_init) != i;
    }
    *(long *)arg = bad;
    return NULL;
}

static double pingpong(void)
{
    static struct mailbox empty = {PTHREAD_MUTEX_INITIALIZER,
                                   PTHREAD_COND_INITIALIZER, 0, 0};
    pthread_t a, b;
    long bad = -1;
    to_echo = to_init = empty;
    double t0 = now_ns();
    pthread_create(&b, NULL, echo, NULL);
    pthread_create(&a, NULL, initiator, &bad);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    double el = now_ns() - t0;
    if (bad != 0) {
        fprintf(stderr, "check failed: thread_pingpong echo (%ld bad)\n", bad);
        exit(1);
    }
    return el / n_items;
}

/* ---- thread_bulk: bounded ring, one mutex, two condvars ---- */
#define RING 1024
static struct {
    pthread_mutex_t mu;
    pthread_cond_t not_full, not_empty;
    long buf[RING];
    long head, count;           /* head: next slot to read */
} ring = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
          PTHREAD_COND_INITIALIZER, {0}, 0, 0};

static void *producer(void *arg)
{
    (void)arg;
    for (long i = 0; i < n_items; i++) {
        pthread_mutex_lock(&ring.mu);
        while (ring.count == RING)
            pthread_cond_wait(&ring.not_full, &ring.mu);
        ring.buf[(ring.head + ring.count) % RING] = i;
        ring.count++;
        pthread_cond_signal(&ring.not_empty);
        pthread_mutex_unlock(&ring.mu);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    long sum = 0;
    for (long i = 0; i < n_items; i++) {
        pthread_mutex_lock(&ring.mu);
        while (ring.count == 0)
            pthread_cond_wait(&ring.not_empty, &ring.mu);
        sum += ring.buf[ring.head];
        ring.head = (ring.head + 1) % RING;
        ring.count--;
        pthread_cond_signal(&ring.not_full);
        pthread_mutex_unlock(&ring.mu);
    }
    *(long *)arg = sum;
    return NULL;
}

static double bulk(void)
{
    pthread_t p, c;
    long sum = -1;
    ring.head = ring.count = 0;
    double t0 = now_ns();
    pthread_create(&c, NULL, consumer, &sum);
    pthread_create(&p, NULL, producer, NULL);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    return bulk_result(t0, sum, n_items);
}

int main(int argc, char **argv)
{
    return peer_main(argc, argv, "pthread_condvar", pingpong, bulk, 0);
}
