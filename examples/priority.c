/* The tutorial's PriorityQueue snippet: jobs put as (1, "urgent task"),
 * (10, "low priority task"), (5, "medium task") come out lowest number
 * first. Each is printed as Python prints the tuple.
 *
 * Python twin: examples/python/priority.py
 *   queue = asyncio.PriorityQueue()
 *   await queue.put((1, "urgent task"))
 *   item = await queue.get()  # (1, "urgent task")
 */
#include "example.h"

#include <inttypes.h>

/* The C shape of the (priority, payload) tuple. AQ_PRIORITY's ready-made
 * ordering reads the leading int64_t, smallest first; equal priorities
 * come out in insertion order, so the names are never compared (Python
 * would compare them, and fail on payloads that do not support <). */
struct job {
    int64_t prio;
    const char *name;
};

static void *main_task(void *arg)
{
    aq_queue *queue = arg;
    static const struct job jobs[] = {
        {1, "urgent task"},
        {10, "low priority task"},
        {5, "medium task"},
    };

    for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++)
        if (check(aq_queue_put(queue, &jobs[i]), "aq_queue_put"))
            return NULL;

    while (!aq_queue_empty(queue)) { /* while not queue.empty(): */
        struct job job;
        if (check(aq_queue_get(queue, &job), "aq_queue_get"))
            return NULL;
        printf("(%" PRId64 ", '%s')\n", job.prio, job.name); /* print(item) */
    }
    return NULL;
}

int main(void)
{
    aq_queue *queue;
    /* asyncio.PriorityQueue(): maxsize 0, unbounded */
    if (check(aq_queue_new(&queue, AQ_PRIORITY, sizeof(struct job), 0),
              "aq_queue_new"))
        return 1;
    check(aq_run(main_task, queue, NULL), "aq_run");
    check(aq_queue_free(queue), "aq_queue_free");
    return exit_status;
}
