/* A worker that takes from a work queue or a control queue, whichever has
 * something first (Go's select). Control messages win when both are
 * ready (AQ_SELECT_BIASED: array order is priority).
 *
 * Python has no select over queues: its twin keeps one get() task per
 * queue and waits for the first with asyncio.wait(FIRST_COMPLETED). On
 * "stop" it must cancel the other get() task, and a get() cancelled just
 * as an item arrived loses that item. aq_select completes exactly one
 * clause and leaves the other queue untouched: nothing can be lost.
 *
 * Timeline: a job every 10 ms, a status request at 25 ms, stop at 65 ms.
 *
 * Python twin: examples/python/select.py
 */
#include "example.h"

enum { STATUS = 1, STOP = 2 };

struct queues {
    aq_queue *work, *control;
};

static void *worker(void *arg)
{
    struct queues *qs = arg;
    int done = 0;
    for (;;) {
        int cmd, job;
        aq_clause c[] = {AQ_GET(qs->control, &cmd), AQ_GET(qs->work, &job)};
        int i = aq_select(c, 2, AQ_SELECT_BIASED);
        if (i < 0) {
            check(i, "aq_select");
            return NULL;
        }
        if (i == 1) {
            printf("worker: job %d\n", job);
            done++;
            check(aq_queue_task_done(qs->work), "aq_queue_task_done");
        } else if (cmd == STATUS) {
            printf("worker: status: %d jobs done\n", done);
        } else {
            printf("worker: stopping after %d jobs\n", done);
            return NULL;
        }
    }
}

static int send(aq_queue *q, int v, int64_t wait_ms)
{
    int rc = aq_sleep(wait_ms * AQ_MSEC);
    return rc ? rc : aq_queue_put(q, &v);
}

static void *main_task(void *arg)
{
    struct queues *qs = arg;
    aq_task *w;
    if (check(aq_spawn(&w, worker, qs), "aq_spawn"))
        return NULL;
    /* Sleeps before each send: jobs at 10, 20, 30 ... 60 ms. */
    static const struct {
        int control, value, wait_ms;
    } plan[] = {{0, 1, 10}, {0, 2, 10}, {1, STATUS, 5}, {0, 3, 5},
                {0, 4, 10}, {0, 5, 10}, {0, 6, 10}, {1, STOP, 5}};
    for (size_t k = 0; k < sizeof plan / sizeof plan[0]; k++) {
        aq_queue *q = plan[k].control ? qs->control : qs->work;
        if (check(send(q, plan[k].value, plan[k].wait_ms), "send"))
            break;
        if (!plan[k].control)
            printf("producer: job %d\n", plan[k].value);
    }
    check(aq_task_wait(w, NULL), "aq_task_wait");
    aq_task_release(w);
    return NULL;
}

int main(void)
{
    struct queues qs;
    if (check(aq_queue_new(&qs.work, AQ_FIFO, sizeof(int), 0), "new") ||
        check(aq_queue_new(&qs.control, AQ_FIFO, sizeof(int), 0), "new"))
        return 1;
    check(aq_run(main_task, &qs, NULL), "aq_run");
    check(aq_queue_free(qs.work), "aq_queue_free");
    check(aq_queue_free(qs.control), "aq_queue_free");
    return exit_status;
}
