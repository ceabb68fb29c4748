/* Shared queues (aq_queue_share): plain threads with the blocking thread
 * faces and tasks with the ordinary calls on one queue. Every item
 * arrives once and in each producer's order; a thread waits in line with
 * tasks (no barging); deadlines, shutdown and join keep their meanings
 * across threads; a blocking face called on a loop's thread reports
 * AQ_EDEADLK; tasks of two loops share one queue. */
#include "rt_helpers.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#define NPROD 4
#define NITEMS 20000

static aq_queue *new_shared(long maxsize)
{
    aq_queue *q = new_fifo(maxsize);
    ASSERT_OK(aq_queue_share(q));
    return q;
}

/* ---- threads produce, a task consumes ------------------------------------ */

static struct {
    aq_queue *q;
} g;

static void *producer(void *arg)
{
    long p = IVAL(arg);
    for (long i = 0; i < NITEMS; i++) {
        long v = p * NITEMS + i;
        ASSERT_OK(aq_queue_thread_put(g.q, &v));
    }
    return NULL;
}

static void *consume_all(void *arg)
{
    (void)arg;
    long next[NPROD] = {0};
    for (long n = 0; n < (long)NPROD * NITEMS; n++) {
        long v;
        ASSERT_OK(aq_queue_get(g.q, &v));
        long p = v / NITEMS;
        ASSERT(p >= 0 && p < NPROD);
        ASSERT_EQ(v % NITEMS, next[p]); /* each producer's order, no gap */
        next[p]++;
        ASSERT_OK(aq_queue_task_done(g.q));
    }
    return NULL;
}

static void *joiner(void *arg)
{
    pthread_t *producers = arg;
    for (int p = 0; p < NPROD; p++) /* every item is in, then: */
        thread_stop(producers[p]);
    ASSERT_OK(aq_queue_thread_join(g.q)); /* returns once all are done */
    ASSERT_EQ(aq_queue_unfinished(g.q), 0);
    ASSERT_EQ(aq_queue_qsize(g.q), 0);
    return NULL;
}

TEST(test_thread_producers_task_consumer)
{
    g.q = new_shared(64);
    pthread_t t[NPROD], j;
    long one = -1;
    ASSERT_OK(aq_queue_try_put(g.q, &one)); /* from a thread: allowed */
    ASSERT_OK(aq_queue_try_get(g.q, &one));
    ASSERT_OK(aq_queue_task_done(g.q));
    for (long p = 0; p < NPROD; p++)
        thread_start(&t[p], producer, IARG(p));
    thread_start(&j, joiner, t);
    t_main(consume_all, NULL);
    thread_stop(j);
    aq_queue_stats st;
    ASSERT_OK(aq_queue_statistics(g.q, &st));
    ASSERT_EQ(st.got, (long)NPROD * NITEMS + 1);
    ASSERT_EQ(st.put, (long)NPROD * NITEMS + 1);
    ASSERT(st.high_water <= 64);
    ASSERT_OK(aq_queue_free(g.q));
}

/* ---- a task produces, threads consume ------------------------------------ */

static long g_sum[NPROD];

static void *consumer_thread(void *arg)
{
    long c = IVAL(arg), v;
    int rc;
    while ((rc = aq_queue_thread_get(g.q, &v)) == AQ_OK) {
        g_sum[c] += v;
        ASSERT_OK(aq_queue_task_done(g.q));
    }
    ASSERT_RC(rc, AQ_ESHUTDOWN); /* shut down and drained */
    return NULL;
}

static void *produce_then_join(void *arg)
{
    (void)arg;
    for (long i = 1; i <= NITEMS; i++)
        ASSERT_OK(aq_queue_put(g.q, &i)); /* suspends on the full queue */
    ASSERT_OK(aq_queue_join(g.q));        /* the threads' task_done */
    ASSERT_EQ(aq_queue_unfinished(g.q), 0);
    ASSERT_OK(aq_queue_shutdown(g.q, 0));
    return NULL;
}

TEST(test_thread_task_producer_thread_consumers)
{
    g.q = new_shared(8);
    memset(g_sum, 0, sizeof g_sum);
    pthread_t t[NPROD];
    for (long c = 0; c < NPROD; c++)
        thread_start(&t[c], consumer_thread, IARG(c));
    t_main(produce_then_join, NULL);
    long sum = 0;
    for (int c = 0; c < NPROD; c++) {
        thread_stop(t[c]);
        sum += g_sum[c];
    }
    ASSERT_EQ(sum, (long)NITEMS * (NITEMS + 1) / 2); /* each item once */
    ASSERT_OK(aq_queue_free(g.q));
}

/* ---- a thread waits in line with tasks ----------------------------------- */

static void *thread_puts_3(void *arg)
{
    (void)arg;
    long v = 3;
    ASSERT_OK(aq_queue_thread_put(g.q, &v));
    return NULL;
}

static void *task_puts(void *arg)
{
    long v = IVAL(arg);
    ASSERT_OK(aq_queue_put(g.q, &v));
    return NULL;
}

static void *fifo_across_kinds(void *arg)
{
    (void)arg;
    put_long(g.q, 1); /* full (maxsize 1) */
    aq_task *t2, *t4;
    ASSERT_OK(aq_spawn(&t2, task_puts, IARG(2)));
    aq_yield(); /* the task is first in line */
    pthread_t th;
    thread_start(&th, thread_puts_3, NULL);
    while (aq_queue_putters(g.q) < 2) /* then the thread */
        ASSERT_OK(aq_sleep(AQ_MSEC / 10));
    ASSERT_OK(aq_spawn(&t4, task_puts, IARG(4)));
    aq_yield(); /* and another task */
    ASSERT_EQ(aq_queue_putters(g.q), 3);
    ASSERT_RC(aq_queue_try_put(g.q, &(long){9}), AQ_EFULL); /* no barging */
    for (long want = 1; want <= 4; want++) {
        long v;
        ASSERT_OK(aq_queue_get(g.q, &v));
        ASSERT_EQ(v, want); /* served oldest first, whatever the kind */
    }
    thread_stop(th);
    ASSERT_OK(aq_task_wait(t2, NULL));
    ASSERT_OK(aq_task_wait(t4, NULL));
    aq_task_release(t2);
    aq_task_release(t4);
    return NULL;
}

TEST(test_thread_waits_in_line_with_tasks)
{
    g.q = new_shared(1);
    t_main(fifo_across_kinds, NULL);
    ASSERT_OK(aq_queue_free(g.q));
}

/* ---- deadlines and shutdown ---------------------------------------------- */

static void *shut_later(void *arg)
{
    (void)arg;
    ASSERT_OK(aq_sleep(20 * AQ_MSEC));
    ASSERT_OK(aq_queue_shutdown(g.q, 0));
    return NULL;
}

static void *thread_get_shut(void *arg)
{
    (void)arg;
    long v;
    ASSERT_RC(aq_queue_thread_get(g.q, &v), AQ_ESHUTDOWN);
    ASSERT_RC(aq_queue_thread_put(g.q, &v), AQ_ESHUTDOWN);
    return NULL;
}

TEST(test_thread_deadline_and_shutdown)
{
    g.q = new_shared(1);
    long v = 1;
    int64_t t0 = aq_now();
    ASSERT_RC(aq_queue_thread_get_until(g.q, &v, t0 + 20 * AQ_MSEC),
              AQ_ETIMEDOUT);
    ASSERT(aq_now() - t0 >= 20 * AQ_MSEC);
    ASSERT_RC(aq_queue_thread_get_until(g.q, &v, t0), AQ_ETIMEDOUT);
    ASSERT_OK(aq_queue_thread_put(g.q, &v));
    ASSERT_RC(aq_queue_thread_put_until(g.q, &v, aq_now() + AQ_MSEC),
              AQ_ETIMEDOUT); /* full */
    ASSERT_EQ(aq_queue_putters(g.q), 0); /* the timed-out record is gone */
    ASSERT_RC(aq_queue_thread_join_until(g.q, aq_now() + AQ_MSEC),
              AQ_ETIMEDOUT);
    ASSERT_OK(aq_queue_thread_get(g.q, &v));
    ASSERT_OK(aq_queue_task_done(g.q));
    ASSERT_OK(aq_queue_thread_join(g.q));
    pthread_t th;
    thread_start(&th, thread_get_shut, NULL);
    t_main(shut_later, NULL); /* a task shuts it down: the thread wakes */
    thread_stop(th);
    ASSERT_OK(aq_queue_free(g.q));
}

/* A task's get inside a timeout scope, completed by a thread just before
 * the scope's deadline while the loop is busy: the deadline then fires
 * before the wake-up post runs. The get returns the item, and the scope
 * did not cut it short (aq_timeout_end 0; it said 1: a reviewer's
 * reproducer). */
static struct {
    int64_t deadline;
    _Atomic int put_done;
} sc;

static void *scoped_getter(void *arg)
{
    (void)arg;
    aq_timeout scope;
    ASSERT_OK(aq_timeout_begin(&scope, sc.deadline));
    long v = 0;
    ASSERT_OK(aq_queue_get(g.q, &v));
    ASSERT_EQ(v, 42);
    ASSERT_EQ(aq_timeout_end(&scope), 0);
    return NULL;
}

static void *busy_past_the_deadline(void *arg)
{
    (void)arg; /* no yield: the loop runs timers and posts after this */
    while (!atomic_load(&sc.put_done) || aq_now() <= sc.deadline + AQ_MSEC)
        ;
    return NULL;
}

static void *thread_puts_42(void *arg)
{
    (void)arg;
    while (aq_queue_getters(g.q) < 1)
        sched_yield();
    long v = 42;
    ASSERT_OK(aq_queue_thread_put(g.q, &v));
    atomic_store(&sc.put_done, 1);
    return NULL;
}

static void *getter_and_busy_task(void *arg)
{
    (void)arg;
    aq_task *t[2];
    ASSERT_OK(aq_spawn(&t[0], scoped_getter, NULL));
    ASSERT_OK(aq_spawn(&t[1], busy_past_the_deadline, NULL));
    ASSERT_OK(aq_gather(t, 2, NULL));
    aq_task_release(t[0]);
    aq_task_release(t[1]);
    return NULL;
}

TEST(test_thread_completed_wait_is_not_cut_by_its_scope)
{
    g.q = new_shared(4);
    sc.deadline = aq_now() + 20 * AQ_MSEC;
    atomic_store(&sc.put_done, 0);
    pthread_t th;
    thread_start(&th, thread_puts_42, NULL);
    t_main(getter_and_busy_task, NULL);
    thread_stop(th);
    ASSERT_EQ(aq_queue_qsize(g.q), 0);
    ASSERT_OK(aq_queue_free(g.q));
}

/* ---- misuse -------------------------------------------------------------- */

static void *blocking_in_a_task(void *arg)
{
    (void)arg;
    long v = 1;
    ASSERT_RC(aq_queue_thread_put(g.q, &v), AQ_EDEADLK);
    ASSERT_RC(aq_queue_thread_get(g.q, &v), AQ_EDEADLK);
    ASSERT_RC(aq_queue_thread_join(g.q), AQ_EDEADLK);
    ASSERT_EQ(aq_queue_qsize(g.q), 0); /* nothing was put */
    aq_clause c[] = {AQ_GET(g.q, &v)};
    ASSERT_RC(aq_select(c, 1, 0), AQ_EINVAL); /* not a clause yet */
    ASSERT_RC(aq_select_try(c, 1, 0), AQ_EINVAL);
    aq_queue *other = new_fifo(0);
    aq_clause two[] = {AQ_GET(other, &v), AQ_GET(g.q, &v)};
    ASSERT_RC(aq_select_until(two, 2, 0, aq_now() + AQ_SEC), AQ_EINVAL);
    ASSERT_EQ(aq_queue_getters(other), 0); /* nothing linked */
    /* Refused even with another clause ready, biased or fair, waiting
     * or not: the shared clause would never win, not even with items. */
    long w = 3;
    ASSERT_OK(aq_queue_try_put(other, &w));
    for (int flags = 0; flags <= AQ_SELECT_BIASED;
         flags += AQ_SELECT_BIASED) {
        ASSERT_RC(aq_select(two, 2, flags), AQ_EINVAL);
        ASSERT_RC(aq_select_try(two, 2, flags), AQ_EINVAL);
    }
    ASSERT_EQ(aq_queue_qsize(other), 1); /* nothing taken */
    ASSERT_OK(aq_queue_try_get(other, &w));
    ASSERT_OK(aq_queue_free(other));
    return NULL;
}

static void *compact_waits(void *arg)
{
    (void)arg;
    long v;
    /* A deadline already passed comes first, as on any queue. */
    ASSERT_RC(aq_queue_get_until(g.q, &v, aq_now() - 1), AQ_ETIMEDOUT);
    aq_timeout scope;
    ASSERT_OK(aq_timeout_begin(&scope, aq_now() - 1));
    ASSERT_RC(aq_queue_get(g.q, &v), AQ_ETIMEDOUT);
    ASSERT_EQ(aq_timeout_end(&scope), 1);
    ASSERT_RC(aq_queue_get(g.q, &v), AQ_EINVAL); /* would have to wait */
    put_long(g.q, 5);
    ASSERT_OK(aq_queue_get(g.q, &v)); /* completes at once: fine */
    ASSERT_EQ(v, 5);
    return NULL;
}

static void *getter(void *arg)
{
    long v;
    ASSERT_OK(aq_queue_get(arg, &v));
    return NULL;
}

static void *share_under_a_waiter(void *arg)
{
    (void)arg;
    aq_queue *q = new_fifo(0);
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, getter, q));
    aq_yield();
    ASSERT_RC(aq_queue_share(q), AQ_EBUSY); /* a task waits on it */
    put_long(q, 1);                         /* still a plain queue */
    ASSERT_OK(aq_task_wait(t, NULL));
    aq_task_release(t);
    ASSERT_OK(aq_queue_share(q)); /* no waiter now */
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_thread_bad_input)
{
    long v = 1;
    ASSERT_RC(aq_queue_share(NULL), AQ_EINVAL);
    aq_queue *plain = new_fifo(1);
    ASSERT_RC(aq_queue_thread_put(plain, &v), AQ_EINVAL); /* not shared */
    ASSERT_RC(aq_queue_thread_get(plain, &v), AQ_EINVAL);
    ASSERT_RC(aq_queue_thread_join(plain), AQ_EINVAL);
    ASSERT_EQ(aq_queue_qsize(plain), 0);
    put_long(plain, 7);
    t_fail_alloc_at(1);
    ASSERT_RC(aq_queue_share(plain), AQ_ENOMEM);
    t_fail_alloc_at(0);
    ASSERT_EQ(aq_queue_qsize(plain), 1); /* unchanged, still plain */
    ASSERT_OK(aq_queue_share(plain));
    ASSERT_OK(aq_queue_share(plain)); /* idempotent */
    ASSERT_EQ(aq_queue_qsize(plain), 1); /* the item moved with it */
    ASSERT_EQ(aq_queue_full(plain), 1);
    ASSERT_RC(aq_queue_thread_put(NULL, &v), AQ_EINVAL);
    ASSERT_RC(aq_queue_thread_put(plain, NULL), AQ_EINVAL);
    ASSERT_RC(aq_queue_thread_get(plain, NULL), AQ_EINVAL);
    ASSERT_RC(aq_queue_thread_join(NULL), AQ_EINVAL);
    ASSERT_OK(aq_queue_thread_get(plain, &v));
    ASSERT_EQ(v, 7);
    g.q = plain;
    t_main(blocking_in_a_task, NULL);
    t_main_compact(compact_waits, NULL);
    ASSERT_OK(aq_queue_free(plain));
    t_main(share_under_a_waiter, NULL);
}

/* ---- a task's first wait opens its loop to posts ------------------------ */

/* Opening a loop to posts (a waiting task's wake-up) makes an eventfd:
 * it happens only when a task is about to wait, so a call that completes
 * at once never fails for it, and one that fails for it changes nothing.
 * No fd can be made while t_fds_none_left's limit stands. */
static void *first_wait_fails_cleanly(void *arg)
{
    (void)arg;
    aq_queue *q = new_shared(1);
    long v = 5, out = 0;
    struct rlimit saved;
    t_fds_none_left(&saved);
    ASSERT_OK(aq_queue_put(q, &v));       /* room: no wait, no fd */
    ASSERT_RC(aq_queue_join(q), -EMFILE); /* unfinished: would wait */
    v = 6;
    ASSERT_RC(aq_queue_put(q, &v), -EMFILE); /* full: would wait */
    ASSERT_OK(aq_queue_get(q, &out));        /* an item: no wait */
    ASSERT_EQ(out, 5);
    ASSERT_OK(aq_queue_task_done(q));
    ASSERT_OK(aq_queue_join(q)); /* nothing unfinished: no wait */
    ASSERT_RC(aq_queue_get(q, &out), -EMFILE); /* empty: would wait */
    /* A call that would not wait after all says why, not the fd. */
    ASSERT_RC(aq_queue_get_until(q, &out, aq_now() - 1), AQ_ETIMEDOUT);
    t_fds_back(&saved);
    aq_queue_stats st;
    ASSERT_OK(aq_queue_statistics(q, &st));
    ASSERT_EQ(st.put, 1); /* the failed put left no item, nor a waiter */
    ASSERT_EQ(st.got, 1);
    ASSERT_EQ(st.getters + st.putters + st.joiners, 0);
    ASSERT_RC(aq_queue_get_until(q, &out, aq_now() + AQ_MSEC),
              AQ_ETIMEDOUT); /* it opens now, and waits */
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_thread_first_wait_opens_the_loop)
{
    t_main(first_wait_fails_cleanly, NULL);
}

/* ---- tasks of two loops --------------------------------------------------- */

#define NLOOP_ITEMS 50000

static void *loop_producer(void *arg)
{
    (void)arg;
    for (long i = 0; i < NLOOP_ITEMS; i++)
        ASSERT_OK(aq_queue_put(g.q, &i));
    return NULL;
}

/* A thread running a loop of its own, whose main task is *(aq_task_fn *)
 * arg. */
static void *run_loop(void *arg)
{
    ASSERT_OK(aq_run(*(const aq_task_fn *)arg, NULL, NULL));
    return NULL;
}

static void *loop_consumer(void *arg)
{
    (void)arg;
    for (long i = 0; i < NLOOP_ITEMS; i++) {
        long v;
        ASSERT_OK(aq_queue_get(g.q, &v));
        ASSERT_EQ(v, i);
    }
    return NULL;
}

TEST(test_thread_two_loops_one_queue)
{
    g.q = new_shared(16);
    pthread_t th;
    static const aq_task_fn fn = loop_producer;
    thread_start(&th, run_loop, (void *)&fn); /* loop B puts, loop A gets */
    t_main(loop_consumer, NULL);
    thread_stop(th);
    ASSERT_EQ(aq_queue_qsize(g.q), 0);
    ASSERT_OK(aq_queue_free(g.q));
}

/* Batches from tasks of two loops at once: every item arrives once. A
 * batch call on a shared queue goes through its lock like the others
 * (ThreadSanitizer, in .ci/run, saw it write the header's count without
 * it once). */

#define NBATCH_ITEMS 40000

static _Atomic long batch_got, batch_sum;

static void *batch_consumer(void *arg)
{
    (void)arg;
    long buf[8];
    size_t got;
    int rc;
    while ((rc = aq_queue_get_many(g.q, buf, 8, &got)) == AQ_OK) {
        ASSERT(got >= 1 && got <= 8);
        for (size_t i = 0; i < got; i++)
            batch_sum += buf[i];
        batch_got += (long)got;
    }
    ASSERT_RC(rc, AQ_ESHUTDOWN);
    return NULL;
}

static void *batch_producer(void *arg)
{
    (void)arg;
    for (long i = 0; i < NBATCH_ITEMS; i++)
        ASSERT_OK(aq_queue_thread_put(g.q, &i));
    ASSERT_OK(aq_queue_shutdown(g.q, 0)); /* the consumers drain, then end */
    return NULL;
}

TEST(test_thread_batches_from_two_loops)
{
    g.q = new_shared(64);
    batch_got = batch_sum = 0;
    pthread_t loop_b, prod;
    static const aq_task_fn fn = batch_consumer;
    thread_start(&loop_b, run_loop, (void *)&fn);
    thread_start(&prod, batch_producer, NULL);
    t_main(batch_consumer, NULL); /* loop A */
    thread_stop(prod);
    thread_stop(loop_b);
    ASSERT_EQ(batch_got, NBATCH_ITEMS);
    ASSERT_EQ(batch_sum, (long)NBATCH_ITEMS * (NBATCH_ITEMS - 1) / 2);
    ASSERT_OK(aq_queue_free(g.q));
}

/* ---- freeing a queue while a caller returns ------------------------------ */

static void *get_five(void *arg)
{
    (void)arg;
    long v;
    ASSERT_OK(aq_queue_thread_get(g.q, &v));
    ASSERT_EQ(v, 5);
    return NULL;
}

/* Frees q, retrying while it reports AQ_EBUSY: 1 if it had to. */
static int free_when_idle(aq_queue *q)
{
    int busy = 0, rc;
    while ((rc = aq_queue_free(q)) == AQ_EBUSY) {
        busy = 1;
        sched_yield();
    }
    ASSERT_OK(rc);
    return busy;
}

/* A completed waiter is on no wait list, yet a thread may still take the
 * queue's lock on its way out: aq_queue_free reports AQ_EBUSY until it
 * has, rather than free the lock under it. 200 rounds of each: a thread's
 * put that waited on a full queue, moved in by a get, then woken by an
 * immediate shutdown (mode 0) or by a second get that leaves the queue
 * half empty (mode 1); a thread's get completed by a put (mode 2). Freed
 * too early, the thread writes freed memory (AddressSanitizer's build in
 * .ci/run reports it; here it may spin for ever on a reused lock); the
 * rounds where free had to wait show that it waited. */
TEST(test_thread_free_waits_for_returning_callers)
{
    long busy[3] = {0, 0, 0};
    for (int mode = 0; mode < 3; mode++) {
        for (int r = 0; r < 200; r++) {
            long v = 1;
            pthread_t th;
            g.q = new_shared(mode < 2 ? 2 : 0);
            if (mode < 2) {
                ASSERT_OK(aq_queue_try_put(g.q, &v));
                ASSERT_OK(aq_queue_try_put(g.q, &v));
                thread_start(&th, thread_puts_3, NULL);
                while (aq_queue_putters(g.q) < 1)
                    sched_yield();
                usleep(20); /* asleep on its futex, most rounds */
                ASSERT_OK(aq_queue_thread_get(g.q, &v)); /* moves 3 in */
                if (mode == 0)
                    ASSERT_OK(aq_queue_shutdown(g.q, 1));
                else
                    ASSERT_OK(aq_queue_thread_get(g.q, &v));
            } else {
                thread_start(&th, get_five, NULL);
                while (aq_queue_getters(g.q) < 1)
                    sched_yield();
                usleep(20);
                v = 5;
                ASSERT_OK(aq_queue_thread_put(g.q, &v));
            }
            busy[mode] += free_when_idle(g.q);
            thread_stop(th);
        }
    }
    ASSERT(busy[0] > 0 && busy[1] > 0 && busy[2] > 0);
}

int main(int argc, char **argv)
{
    RUN(test_thread_producers_task_consumer);
    RUN(test_thread_task_producer_thread_consumers);
    RUN(test_thread_waits_in_line_with_tasks);
    RUN(test_thread_deadline_and_shutdown);
    RUN(test_thread_completed_wait_is_not_cut_by_its_scope);
    RUN(test_thread_bad_input);
    RUN(test_thread_first_wait_opens_the_loop);
    RUN(test_thread_two_loops_one_queue);
    RUN(test_thread_batches_from_two_loops);
    RUN(test_thread_free_waits_for_returning_callers);
    return t_done();
}
