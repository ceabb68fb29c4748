/* The tutorial's non-blocking operations: put_nowait() on a full queue
 * fails at once (Python raises QueueFull; libaq returns AQ_EFULL) and the
 * item is dropped; get_nowait() on an empty queue fails with AQ_EEMPTY
 * (QueueEmpty). Neither call ever suspends.
 *
 * Python twin: examples/python/put_nowait.py
 */
#include "example.h"

static void *main_task(void *arg)
{
    aq_queue *queue = arg;

    for (int item = 0; item < 5; item++) {
        int rc = aq_queue_try_put(queue, &item); /* queue.put_nowait(item) */
        if (rc == AQ_EFULL) {                    /* except QueueFull: */
            printf("Queue is full, dropping item\n");
            continue;
        }
        if (check(rc, "aq_queue_try_put"))
            return NULL;
        printf("Queued: %d\n", item);
    }
    for (;;) {
        int item;
        int rc = aq_queue_try_get(queue, &item); /* queue.get_nowait() */
        if (rc == AQ_EEMPTY) {                   /* except QueueEmpty: */
            printf("Queue is empty\n");
            break;
        }
        if (check(rc, "aq_queue_try_get"))
            return NULL;
        printf("Got: %d\n", item);
        check(aq_queue_task_done(queue), "aq_queue_task_done");
    }
    return NULL;
}

int main(void)
{
    aq_queue *queue;
    /* queue = asyncio.Queue(maxsize=3) */
    if (check(aq_queue_new(&queue, AQ_FIFO, sizeof(int), 3), "aq_queue_new"))
        return 1;
    /* The try_ calls work outside a task too; running them in one keeps
     * the shape of the Python program, where they sit in a coroutine. */
    check(aq_run(main_task, queue, NULL), "aq_run");
    check(aq_queue_free(queue), "aq_queue_free");
    return exit_status;
}
