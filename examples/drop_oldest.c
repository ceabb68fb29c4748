/* The tutorial's custom backpressure: drop oldest, and sample. A fast
 * sensor produces readings into a small queue; a slow consumer keeps up
 * with only some of them. The queue's AQ_DROP_OLDEST policy throws the
 * oldest reading away when the queue is full, so a put never waits and
 * the consumer always sees the freshest readings; a counter in the
 * producer keeps only one reading in SAMPLE. The counts come from
 * aq_queue_statistics. The pace is set in loop ticks (aq_yield), not in
 * time, so the output is the same on every machine.
 *
 * Python twin: examples/python/drop_oldest.py (asyncio has no policy: it
 * drops by hand with get_nowait, then put_nowait).
 */
#include "example.h"

enum {
    READINGS = 24, /* readings the sensor makes */
    SAMPLE = 2,    /* keep one reading in SAMPLE */
    WORK = 4       /* the consumer's ticks per reading: slower than the
                      sensor */
};

/* Called by the queue for each reading its policy throws away. */
static void on_drop(void *item, void *ud)
{
    (void)ud;
    printf("dropped reading %d\n", *(int *)item);
}

static void *sensor(void *arg)
{
    aq_queue *queue = arg;
    for (int i = 0; i < READINGS; i++) {
        int reading = 100 + i;
        if (i % SAMPLE == 0 && /* sampling: one in SAMPLE goes on */
            check(aq_queue_put(queue, &reading), "aq_queue_put"))
            return NULL;
        if (check(aq_yield(), "aq_yield")) /* the next reading: a tick */
            return NULL;
    }
    return NULL;
}

static void *consumer(void *arg)
{
    aq_queue *queue = arg;
    int reading;
    while (aq_queue_get(queue, &reading) == AQ_OK) {
        printf("consumed reading %d\n", reading);
        for (int i = 0; i < WORK; i++)
            if (aq_yield() != AQ_OK)
                return NULL; /* cancelled: the run is over */
        aq_queue_task_done(queue);
    }
    return NULL; /* the get failed: we were cancelled */
}

static void *main_task(void *arg)
{
    aq_queue *queue = arg;
    aq_task *worker, *producer;
    aq_queue_stats st;
    if (check(aq_spawn(&worker, consumer, queue), "aq_spawn"))
        return NULL;
    if (!check(aq_spawn(&producer, sensor, queue), "aq_spawn")) {
        check(aq_task_wait(producer, NULL), "aq_task_wait");
        aq_task_release(producer);
        /* Dropped readings never count as unfinished: join ends. */
        check(aq_queue_join(queue), "aq_queue_join");
    }
    aq_task_cancel(worker);
    aq_task_release(worker);
    if (check(aq_queue_statistics(queue, &st), "aq_queue_statistics"))
        return NULL;
    /* put counts every reading that went in, the ones dropped later
     * included (FIFO DROP_OLDEST never refuses a new one). */
    printf("readings %d, sampled %llu, consumed %llu, dropped %llu\n",
           READINGS, (unsigned long long)st.put,
           (unsigned long long)st.got, (unsigned long long)st.dropped);
    return NULL;
}

int main(void)
{
    aq_queue *queue;
    if (check(aq_queue_new(&queue, AQ_FIFO, sizeof(int), 3), "aq_queue_new"))
        return 1;
    if (!check(aq_queue_set_overflow(queue, AQ_DROP_OLDEST, on_drop, NULL),
               "aq_queue_set_overflow"))
        check(aq_run(main_task, queue, NULL), "aq_run");
    check(aq_queue_free(queue), "aq_queue_free");
    return exit_status;
}
