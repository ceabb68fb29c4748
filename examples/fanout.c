/* The tutorial's fan-out: one producer (the main task) and three
 * consumers C0..C2 share a queue of maxsize 20. The producer puts 0..29,
 * waits with join() until every item was marked done, then puts one None
 * sentinel per consumer and gathers them. Each item takes 0.5 s, so the
 * run takes about 5 s, as the Python one does.
 *
 * Python twin: examples/python/fanout.py
 */
#include "example.h"

#define NCONSUMERS 3
#define NITEMS 30
#define SENTINEL (-1) /* stands for Python's None */

static aq_queue *queue;

/* async def consumer(name, queue) */
static void *consumer(void *arg)
{
    const char *name = arg;
    for (;;) {
        int item;
        /* A get fails only if this task is cancelled: then stop, as the
         * CancelledError would stop the Python coroutine. */
        if (aq_queue_get(queue, &item) != AQ_OK || item == SENTINEL)
            break;
        printf("[%s] Processing: %d\n", name, item);
        if (aq_sleep(500 * AQ_MSEC) != AQ_OK) /* await asyncio.sleep(0.5) */
            break;
        aq_queue_task_done(queue);
    }
    return NULL;
}

/* async def main() */
static void *main_task(void *arg)
{
    /* Static: the names must outlive this task if it fails early and
     * aq_run cancels the consumers after it returned. */
    static char names[NCONSUMERS][8];
    aq_task *consumers[NCONSUMERS];
    int n;
    (void)arg;

    /* consumers = [asyncio.create_task(consumer(f"C{i}", queue))
     *              for i in range(3)] */
    for (n = 0; n < NCONSUMERS; n++) {
        snprintf(names[n], sizeof names[n], "C%d", n);
        if (check(aq_spawn(&consumers[n], consumer, names[n]), "aq_spawn"))
            goto out;
    }
    for (int i = 0; i < NITEMS; i++) /* await queue.put(i) */
        if (check(aq_queue_put(queue, &i), "aq_queue_put"))
            goto out;
    /* await queue.join(): every item put has been marked done */
    if (check(aq_queue_join(queue), "aq_queue_join"))
        goto out;
    for (int i = 0; i < NCONSUMERS; i++) { /* await queue.put(None) */
        int sentinel = SENTINEL;
        if (check(aq_queue_put(queue, &sentinel), "aq_queue_put"))
            goto out;
    }
    check(aq_gather(consumers, NCONSUMERS, NULL), "aq_gather");
out:
    /* On an early exit, consumers still running are cancelled by aq_run
     * once this task returns; here we only drop our handles. */
    for (int i = 0; i < n; i++)
        aq_task_release(consumers[i]);
    return NULL;
}

int main(void)
{
    /* queue = asyncio.Queue(maxsize=20) */
    if (check(aq_queue_new(&queue, AQ_FIFO, sizeof(int), 20),
              "aq_queue_new"))
        return 1;
    check(aq_run(main_task, NULL, NULL), "aq_run");
    check(aq_queue_free(queue), "aq_queue_free");
    return exit_status;
}
