/* LifoQueue: the most recently added item comes out first. The tutorial
 * only describes it; this is the natural demo: put 1, 2, 3, get 3, 2, 1.
 *
 * Python twin: examples/python/lifo.py
 *   queue = asyncio.LifoQueue()
 */
#include "example.h"

static void *main_task(void *arg)
{
    aq_queue *queue = arg;

    for (int item = 1; item <= 3; item++) { /* for item in (1, 2, 3): */
        if (check(aq_queue_put(queue, &item), "aq_queue_put"))
            return NULL;
        printf("Put: %d\n", item);
    }
    while (!aq_queue_empty(queue)) { /* while not queue.empty(): */
        int item;
        if (check(aq_queue_get(queue, &item), "aq_queue_get"))
            return NULL;
        printf("Got: %d\n", item);
    }
    return NULL;
}

int main(void)
{
    aq_queue *queue;
    if (check(aq_queue_new(&queue, AQ_LIFO, sizeof(int), 0), "aq_queue_new"))
        return 1;
    check(aq_run(main_task, queue, NULL), "aq_run");
    check(aq_queue_free(queue), "aq_queue_free");
    return exit_status;
}
