/* The tutorial's safe consumer: it calls task_done() for every item, even
 * when processing fails, so that join() still returns. Here process()
 * fails on every multiple of 3 and the consumer logs it the way
 * logging.exception() would (its first line: the traceback has no C
 * counterpart). The consumer never stops by itself, so main cancels it
 * once join() has returned.
 *
 * Python twin: examples/python/safe_consumer.py
 */
#include "example.h"

/* process()'s own failure, Python's `raise ValueError`. Positive, so it
 * never collides with a libaq code (those are 0 or negative). */
#define PROCESS_FAILED 1

static aq_queue *queue;

/* async def process(item): returns 0, PROCESS_FAILED, or the libaq code
 * of its interrupted sleep (AQ_ECANCELED: Python's CancelledError). */
static int process(int item)
{
    int rc = aq_sleep(100 * AQ_MSEC); /* simulate work */
    if (rc != AQ_OK)
        return rc;
    if (item % 3 == 0)
        return PROCESS_FAILED;
    printf("Processed: %d\n", item);
    return 0;
}

/* async def safe_consumer(queue) */
static void *safe_consumer(void *arg)
{
    (void)arg;
    for (;;) {
        int item;
        /* Fails only once main has cancelled us: the end of the work. */
        if (aq_queue_get(queue, &item) != AQ_OK)
            break;
        int rc = process(item);  /* try: await process(item) */
        if (rc == PROCESS_FAILED) /* except Exception: logging.exception */
            printf("ERROR:root:Failed to process %d\n", item);
        aq_queue_task_done(queue); /* finally: always mark as done */
        /* CancelledError is no Exception: it leaves the loop, after the
         * finally clause has run. */
        if (rc == AQ_ECANCELED)
            break;
    }
    return NULL;
}

/* async def main() */
static void *main_task(void *arg)
{
    aq_task *worker;
    (void)arg;
    if (check(aq_spawn(&worker, safe_consumer, NULL), "aq_spawn"))
        return NULL;
    for (int item = 1; item <= 9; item++) /* await queue.put(item) */
        if (check(aq_queue_put(queue, &item), "aq_queue_put"))
            goto out;
    /* Returns although items 3, 6 and 9 failed: each was marked done. */
    if (check(aq_queue_join(queue), "aq_queue_join"))
        goto out;
    printf("join() returned: every item was marked done\n");
    /* worker.cancel(); await worker. The wait succeeds: the worker sees
     * AQ_ECANCELED in its get and returns normally. */
    check(aq_task_cancel(worker), "aq_task_cancel");
    check(aq_task_wait(worker, NULL), "aq_task_wait");
out:
    aq_task_release(worker);
    return NULL;
}

int main(void)
{
    /* queue = asyncio.Queue() */
    if (check(aq_queue_new(&queue, AQ_FIFO, sizeof(int), 0), "aq_queue_new"))
        return 1;
    check(aq_run(main_task, NULL, NULL), "aq_run");
    check(aq_queue_free(queue), "aq_queue_free");
    return exit_status;
}
