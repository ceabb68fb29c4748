/* Threads and tasks on one queue: a pool of four plain threads computes
 * squares and puts them into a bounded shared queue with blocking puts
 * (as with queue.Queue); two tasks take them with suspending gets (as
 * with asyncio.Queue). The last thread to finish shuts the queue down
 * (thread-safe on a shared queue), so the consumers drain it and stop.
 * Python needs two queue types and a bridge for this (janus, or
 * call_soon_threadsafe into an unbounded asyncio.Queue, which loses the
 * backpressure): see the README's "Threads and tasks".
 *
 * Python twin: examples/python/threads.py
 */
#include "example.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define NTHREADS 4
#define PER_THREAD 250

static aq_queue *results;
static atomic_int running = NTHREADS;
static pthread_t pool[NTHREADS];
static int started[NTHREADS]; /* pthread_create succeeded: join it */

static void producer_done(void) /* the last one out shuts it down */
{
    if (atomic_fetch_sub(&running, 1) == 1)
        check(aq_queue_shutdown(results, 0), "aq_queue_shutdown");
}

static void *worker(void *arg) /* a plain thread: blocks when full */
{
    long first = (long)(intptr_t)arg;
    for (long i = first; i < first + PER_THREAD; i++) {
        long square = i * i;
        if (check(aq_queue_thread_put(results, &square), "thread_put"))
            break;
    }
    producer_done();
    return NULL;
}

static void *consumer(void *arg) /* a task: suspends when empty */
{
    long *sum = arg, v;
    while (aq_queue_get(results, &v) == AQ_OK) /* AQ_ESHUTDOWN: drained */
        *sum += v;
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    long sums[2] = {0, 0};
    aq_task *c[2];
    for (int i = 0; i < 2; i++)
        check(aq_spawn(&c[i], consumer, &sums[i]), "aq_spawn");
    for (long t = 0; t < NTHREADS; t++) {
        int err = pthread_create(&pool[t], NULL, worker,
                                 (void *)(intptr_t)(t * PER_THREAD));
        started[t] = err == 0;
        if (err) { /* a producer that never ran is done all the same */
            check(-err, "pthread_create");
            producer_done();
        }
    }
    check(aq_gather(c, 2, NULL), "aq_gather");
    for (int i = 0; i < 2; i++)
        aq_task_release(c[i]);
    aq_queue_stats st;
    aq_queue_statistics(results, &st);
    printf("items: %llu\n", (unsigned long long)st.got);
    printf("sum of squares: %ld\n", sums[0] + sums[1]);
    if (st.high_water > 16) /* the bound held the threads back */
        check(AQ_EINVAL, "bounded queue overfilled");
    return NULL;
}

int main(void)
{
    if (check(aq_queue_new(&results, AQ_FIFO, sizeof(long), 16), "new") ||
        check(aq_queue_share(results), "aq_queue_share"))
        return 1;
    check(aq_run(main_task, NULL, NULL), "aq_run");
    for (int t = 0; t < NTHREADS; t++) /* off the loop: a join blocks */
        if (started[t])
            pthread_join(pool[t], NULL);
    aq_queue_free(results);
    return exit_status;
}
