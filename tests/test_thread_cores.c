/* Loops on every core (aq_cores_*): a shared work queue fanned out to
 * consumer tasks on every loop, each item consumed once, with work on
 * every loop; stop cancels the tasks still waiting; misuse is reported. */
#include "rt_helpers.h"

#include <pthread.h>
#include <unistd.h>

#define NLOOPS 2
#define NCONSUMERS 8
#define NWORK 100000

static struct {
    aq_queue *q;
    aq_cores *c;
    _Atomic long sum, items, cancelled;
    _Atomic int used[NLOOPS]; /* consumers that ran on loop i */
} g;

static void *consumer(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < aq_cores_count(g.c); i++)
        if (aq_cores_loop(g.c, i) == aq_loop_current())
            g.used[i]++;
    long v;
    int rc;
    while ((rc = aq_queue_get(g.q, &v)) == AQ_OK) {
        g.sum += v;
        g.items++;
        ASSERT_OK(aq_queue_task_done(g.q));
    }
    if (rc == AQ_ECANCELED)
        g.cancelled++;
    else
        ASSERT_RC(rc, AQ_ESHUTDOWN);
    return NULL;
}

TEST(test_cores_fan_out)
{
    memset(&g, 0, sizeof g);
    g.q = new_fifo(64);
    ASSERT_OK(aq_queue_share(g.q));
    ASSERT_OK(aq_cores_start(&g.c, NLOOPS));
    ASSERT_EQ(aq_cores_count(g.c), NLOOPS);
    for (int i = 0; i < NCONSUMERS; i++)
        ASSERT_OK(aq_cores_spawn(g.c, AQ_ANY_CORE, consumer, NULL));
    for (long i = 1; i <= NWORK; i++)
        ASSERT_OK(aq_queue_thread_put(g.q, &i));
    ASSERT_OK(aq_queue_thread_join(g.q));
    ASSERT_OK(aq_queue_shutdown(g.q, 0));
    ASSERT_OK(aq_cores_wait(g.c)); /* every consumer returned */
    ASSERT_EQ(g.items, NWORK);
    ASSERT_EQ(g.sum, (long)NWORK * (NWORK + 1) / 2);
    for (int i = 0; i < NLOOPS; i++)
        ASSERT_EQ(g.used[i], NCONSUMERS / NLOOPS); /* round robin */
    ASSERT_OK(aq_cores_stop(g.c));
    ASSERT_OK(aq_queue_free(g.q));
}

TEST(test_cores_stop_cancels_waiting_tasks)
{
    memset(&g, 0, sizeof g);
    g.q = new_fifo(0);
    ASSERT_OK(aq_queue_share(g.q));
    ASSERT_OK(aq_cores_start(&g.c, 0)); /* one per CPU */
    ASSERT(aq_cores_count(g.c) >= 1);
    for (int i = 0; i < NCONSUMERS; i++)
        ASSERT_OK(aq_cores_spawn(g.c, i % (long)aq_cores_count(g.c),
                                 consumer, NULL));
    while (aq_queue_getters(g.q) < NCONSUMERS) /* all parked */
        usleep(1000);
    ASSERT_OK(aq_cores_stop(g.c));
    ASSERT_EQ(g.cancelled, NCONSUMERS);
    ASSERT_EQ(aq_queue_getters(g.q), 0);
    ASSERT_OK(aq_queue_free(g.q));
}

static void *misuse_from_a_loop(void *arg)
{
    (void)arg;
    ASSERT_RC(aq_cores_wait(g.c), AQ_EDEADLK);
    ASSERT_RC(aq_cores_stop(g.c), AQ_EDEADLK); /* left running */
    g.items = 1;
    return NULL;
}

TEST(test_cores_bad_input)
{
    memset(&g, 0, sizeof g);
    ASSERT_RC(aq_cores_start(NULL, 1), AQ_EINVAL);
    ASSERT_RC(aq_cores_start(&g.c, AQ_CORES_MAX + 1), AQ_EINVAL);
    t_fail_alloc_at(1);
    ASSERT_RC(aq_cores_start(&g.c, 1), AQ_ENOMEM);
    t_fail_alloc_at(0);
    ASSERT_OK(aq_cores_start(&g.c, 1));
    ASSERT_RC(aq_cores_spawn(NULL, 0, consumer, NULL), AQ_EINVAL);
    ASSERT_RC(aq_cores_spawn(g.c, 0, NULL, NULL), AQ_EINVAL);
    ASSERT_RC(aq_cores_spawn(g.c, 1, consumer, NULL), AQ_EINVAL);
    ASSERT_RC(aq_cores_spawn(g.c, -2, consumer, NULL), AQ_EINVAL);
    ASSERT(aq_cores_loop(g.c, 1) == NULL);
    ASSERT(aq_cores_loop(NULL, 0) == NULL);
    ASSERT_EQ(aq_cores_count(NULL), 0);
    ASSERT_RC(aq_cores_wait(NULL), AQ_EINVAL);
    ASSERT_RC(aq_cores_stop(NULL), AQ_EINVAL);
    t_fail_alloc_at(1);
    ASSERT_RC(aq_cores_spawn(g.c, 0, consumer, NULL), AQ_ENOMEM);
    t_fail_alloc_at(0);
    ASSERT_OK(aq_cores_wait(g.c)); /* the failed spawn left no count */
    ASSERT_OK(aq_cores_spawn(g.c, 0, misuse_from_a_loop, NULL));
    ASSERT_OK(aq_cores_wait(g.c));
    ASSERT_EQ(g.items, 1);
    ASSERT_OK(aq_cores_stop(g.c));
}

int main(int argc, char **argv)
{
    RUN(test_cores_fan_out);
    RUN(test_cores_stop_cancels_waiting_tasks);
    RUN(test_cores_bad_input);
    return t_done();
}
