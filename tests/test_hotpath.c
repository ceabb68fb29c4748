/* The hot paths allocate nothing: once a queue's buffer has grown to its
 * working size, put, get, try_put, try_get, hand-offs to waiting getters
 * and putters, task switches (aq_yield) and waking parked tasks make no
 * call to the allocator. Counted with the harness's allocator, which
 * every allocation of libaq goes through. (System calls on the same
 * paths: `strace -c` on aqbench, recorded in bench/RESULTS.md.) */
#include "rt_helpers.h"

#define ROUNDS 10000

static void *consumer(void *arg)
{
    aq_queue *q = arg;
    long v, sum = 0;
    for (long i = 0; i < ROUNDS; i++) {
        ASSERT_OK(aq_queue_get(q, &v));
        sum += v;
    }
    return IARG(sum);
}

static void *yielder(void *arg)
{
    (void)arg;
    for (long i = 0; i < ROUNDS; i++)
        ASSERT_OK(aq_yield());
    return NULL;
}

static void *hot_main(void *arg)
{
    aq_queue_kind kind = (aq_queue_kind)IVAL(arg);
    aq_queue *q;
    aq_task *c, *y;
    long v;
    ASSERT_OK(aq_queue_new(&q, kind, sizeof(long), 1));
    /* Warm up: the buffer's one slot, a stack and a record for each task
     * to come, back in the loop's pools. */
    ASSERT_OK(aq_queue_try_put(q, &(long){1}));
    ASSERT_OK(aq_queue_try_get(q, &v));
    ASSERT_OK(aq_spawn(&c, ret_arg, NULL));
    ASSERT_OK(aq_spawn(&y, ret_arg, NULL));
    ASSERT_OK(aq_task_wait(c, NULL));
    ASSERT_OK(aq_task_wait(y, NULL));
    ASSERT_OK(aq_task_release(c));
    ASSERT_OK(aq_task_release(y));

    long allocs = t_allocs;
    ASSERT_OK(aq_spawn(&c, consumer, q)); /* from the pools */
    ASSERT_OK(aq_spawn(&y, yielder, NULL));
    /* maxsize 1: the producer parks on every other put, the consumer on
     * every get that finds the queue empty: hand-offs both ways. */
    for (long i = 0; i < ROUNDS; i++)
        ASSERT_OK(aq_queue_put(q, &i));
    void *sum;
    ASSERT_OK(aq_task_wait(c, &sum));
    ASSERT_EQ(IVAL(sum), (long)ROUNDS * (ROUNDS - 1) / 2);
    ASSERT_OK(aq_task_wait(y, NULL));
    ASSERT_OK(aq_task_release(c));
    ASSERT_OK(aq_task_release(y));
    ASSERT_EQ(t_allocs, allocs);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_hotpath_allocates_nothing)
{
    t_main(hot_main, IARG(AQ_FIFO));
    t_main(hot_main, IARG(AQ_LIFO));
    t_main(hot_main, IARG(AQ_PRIORITY));
}

int main(int argc, char **argv)
{
    RUN(test_hotpath_allocates_nothing);
    return t_done();
}
