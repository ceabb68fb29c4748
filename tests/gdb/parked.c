/* A program whose tasks park in functions of distinct names, then stops in
 * stop_here() for tests/gdb/check.sh, which runs it under gdb with the
 * libaq extension and checks that aq-bt names each one's function. */
#include "aq.h"

#include <stdio.h>

static aq_queue *q;

__attribute__((noinline)) static void consumer_parked_here(void)
{
    long v;
    aq_queue_get(q, &v);
}

__attribute__((noinline)) static void sleeper_parked_here(void)
{
    aq_sleep(10 * AQ_SEC);
}

static void *consumer(void *arg)
{
    (void)arg;
    consumer_parked_here();
    return NULL;
}

static void *sleeper(void *arg)
{
    (void)arg;
    sleeper_parked_here();
    return NULL;
}

__attribute__((noinline)) void stop_here(void)
{
    __asm__ volatile("" ::: "memory");
}

static void *main_task(void *arg)
{
    (void)arg;
    aq_task *a, *b;
    aq_queue_new(&q, AQ_FIFO, sizeof(long), 0);
    aq_spawn(&a, consumer, NULL);
    aq_spawn(&b, sleeper, NULL);
    aq_task_set_name(a, "consumer");
    aq_task_set_name(b, "sleeper");
    aq_yield(); /* both park */
    stop_here();
    aq_task_cancel(a);
    aq_task_cancel(b);
    aq_task_wait(a, NULL);
    aq_task_wait(b, NULL);
    aq_task_release(a);
    aq_task_release(b);
    aq_queue_free(q);
    puts("done");
    return NULL;
}

int main(void) { return aq_run(main_task, NULL, NULL) != AQ_OK; }
