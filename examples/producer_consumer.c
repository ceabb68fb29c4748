/* The tutorial's basic producer-consumer: a producer puts 0..19 and a None
 * sentinel into a queue of maxsize 10; a consumer prints each item, takes
 * 0.1 s per item and marks it done. maxsize gives backpressure: the
 * producer is suspended whenever the queue holds 10 items.
 *
 * Python:  asyncio.run(main()) with asyncio.gather(producer, consumer)
 */
#include <aq.h>
#include <stdio.h>

#define SENTINEL (-1) /* stands for Python's None */

static aq_queue *queue;

static void *producer(void *arg)
{
    (void)arg;
    for (int item = 0; item < 20; item++) {
        if (aq_queue_put(queue, &item) != AQ_OK)
            return NULL;
        printf("Produced: %d\n", item);
    }
    int sentinel = SENTINEL;
    aq_queue_put(queue, &sentinel); /* sentinel to signal completion */
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    for (;;) {
        int item;
        if (aq_queue_get(queue, &item) != AQ_OK || item == SENTINEL)
            break;
        printf("Consumed: %d\n", item);
        aq_sleep(100 * AQ_MSEC); /* simulate processing */
        aq_queue_task_done(queue);
    }
    return NULL;
}

static void *main_task(void *arg)
{
    aq_task *tasks[2];
    (void)arg;
    aq_spawn(&tasks[0], producer, NULL);
    aq_spawn(&tasks[1], consumer, NULL);
    aq_gather(tasks, 2, NULL);
    aq_task_release(tasks[0]);
    aq_task_release(tasks[1]);
    return NULL;
}

int main(void)
{
    int rc = aq_queue_new(&queue, AQ_FIFO, sizeof(int), 10);
    if (rc != AQ_OK) {
        fprintf(stderr, "aq_queue_new: %s\n", aq_strerror(rc));
        return 1;
    }
    rc = aq_run(main_task, NULL, NULL);
    aq_queue_free(queue);
    if (rc != AQ_OK) {
        fprintf(stderr, "aq_run: %s\n", aq_strerror(rc));
        return 1;
    }
    return 0;
}
