/* The tutorial's crawler-style fan-out, with asyncio's toolbox around a
 * queue: a Semaphore bounds concurrent fetches to 3, a task group runs
 * one fetch per URL and waits for them all (asyncio.TaskGroup), and an
 * Event shuts a pool of queue workers down gracefully once their queue is
 * drained.
 *
 * A group child is int fn(void *arg): 0 is success, anything else fails
 * the group, which then cancels the other children (aq_group_wait returns
 * AQ_EGROUP and the failing status).
 *
 * Python twin: examples/python/task_group.py
 */
#include "example.h"

#include <stdint.h>

#define NURLS 10
#define NWORKERS 4
#define NJOBS 20

static aq_sem *limit;
static int active, max_active;
static long bytes[NURLS];

/* One fetch: at most 3 at once, each "downloading" for 5 to 15 ms. */
static int fetch(void *arg)
{
    long url = (long)(intptr_t)arg;
    int rc = aq_sem_acquire(limit); /* async with limit: */
    if (rc)
        return rc;
    if (++active > max_active)
        max_active = active;
    rc = aq_sleep((url % 3 + 1) * 5 * AQ_MSEC);
    active--;
    aq_sem_release(limit);
    if (rc)
        return rc;
    bytes[url] = url * 100;
    return 0;
}

struct pool {
    aq_queue *jobs;
    aq_event *stop;
    int handled;
};

/* Takes jobs until the stop event is set; jobs come first when both are
 * ready, so the queue is drained before anyone stops. */
static int pool_worker(void *arg)
{
    struct pool *p = arg;
    for (;;) {
        int job;
        aq_clause c[] = {AQ_GET(p->jobs, &job), AQ_EVENT(p->stop)};
        int i = aq_select(c, 2, AQ_SELECT_BIASED);
        if (i < 0)
            return i;
        if (i == 1)
            return 0;
        p->handled++;
        aq_queue_task_done(p->jobs);
    }
}

static void *main_task(void *arg)
{
    (void)arg;
    aq_group *g;
    int status;
    if (check(aq_sem_new(&limit, 3, 0), "aq_sem_new") ||
        check(aq_group_new(&g), "aq_group_new"))
        return NULL;
    for (long url = 0; url < NURLS; url++)
        check(aq_group_spawn(g, fetch, (void *)(intptr_t)url), "spawn");
    check(aq_group_wait(g, &status), "aq_group_wait");
    long total = 0;
    for (int url = 0; url < NURLS; url++)
        total += bytes[url];
    printf("fetched %d pages, %ld bytes in all\n", NURLS, total);
    printf("at most %d fetches at once\n", max_active);

    struct pool p = {NULL, NULL, 0};
    if (check(aq_queue_new(&p.jobs, AQ_FIFO, sizeof(int), 0), "new") ||
        check(aq_event_new(&p.stop), "aq_event_new"))
        return NULL;
    for (int w = 0; w < NWORKERS; w++)
        check(aq_group_spawn(g, pool_worker, &p), "spawn");
    for (int job = 0; job < NJOBS; job++)
        check(aq_queue_put(p.jobs, &job), "aq_queue_put");
    check(aq_queue_join(p.jobs), "aq_queue_join");
    printf("pool: %d jobs handled\n", p.handled);
    check(aq_event_set(p.stop), "aq_event_set"); /* graceful shutdown */
    check(aq_group_wait(g, &status), "aq_group_wait");
    printf("pool: stopped, %ld workers left\n", aq_group_live(g));
    aq_group_free(g);
    aq_event_free(p.stop);
    aq_queue_free(p.jobs);
    aq_sem_free(limit);
    return NULL;
}

int main(void)
{
    check(aq_run(main_task, NULL, NULL), "aq_run");
    return exit_status;
}
