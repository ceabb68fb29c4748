/* The tutorial's basic producer-consumer: a producer puts 0..19 and a None
 * sentinel into a queue of maxsize 10; a consumer prints each item, takes
 * 0.1 s per item and marks it done. maxsize gives backpressure: the
 * producer is suspended whenever the queue holds 10 items.
 *
 * Python twin: examples/python/producer_consumer.py
 *   asyncio.run(main()) with asyncio.gather(producer, consumer)
 */
#include "example.h"

#define SENTINEL (-1) /* stands for Python's None */

static aq_queue *queue;

/* async def producer(queue, items) */
static void *producer(void *arg)
{
    (void)arg;
    for (int item = 0; item < 20; item++) { /* for item in range(20): */
        if (check(aq_queue_put(queue, &item), "aq_queue_put"))
            return NULL;
        printf("Produced: %d\n", item);
    }
    int sentinel = SENTINEL; /* await queue.put(None) */
    check(aq_queue_put(queue, &sentinel), "aq_queue_put");
    return NULL;
}

/* async def consumer(queue) */
static void *consumer(void *arg)
{
    (void)arg;
    for (;;) {
        int item;
        /* A get fails only if this task is cancelled: then stop, as the
         * CancelledError would stop the Python coroutine. */
        if (aq_queue_get(queue, &item) != AQ_OK || item == SENTINEL)
            break;
        printf("Consumed: %d\n", item);
        if (aq_sleep(100 * AQ_MSEC) != AQ_OK) /* simulate processing */
            break;
        aq_queue_task_done(queue);
    }
    return NULL;
}

/* async def main(): await asyncio.gather(producer(...), consumer(...)) */
static void *main_task(void *arg)
{
    aq_task *tasks[2];
    (void)arg;
    if (check(aq_spawn(&tasks[0], producer, NULL), "aq_spawn"))
        return NULL;
    if (check(aq_spawn(&tasks[1], consumer, NULL), "aq_spawn")) {
        aq_task_release(tasks[0]); /* aq_run cancels and reaps it */
        return NULL;
    }
    check(aq_gather(tasks, 2, NULL), "aq_gather");
    aq_task_release(tasks[0]);
    aq_task_release(tasks[1]);
    return NULL;
}

int main(void)
{
    /* queue = asyncio.Queue(maxsize=10) */
    if (check(aq_queue_new(&queue, AQ_FIFO, sizeof(int), 10),
              "aq_queue_new"))
        return 1;
    check(aq_run(main_task, NULL, NULL), "aq_run"); /* asyncio.run(main()) */
    check(aq_queue_free(queue), "aq_queue_free");
    return exit_status;
}
