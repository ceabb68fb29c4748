/* libaq - tests of aq_error_detail: every AQ_EINVAL names its check.
 * MIT licensed.
 *
 * A call that makes several argument checks gives a different detail for
 * each, so a user can tell them apart; the detail is per thread and, as
 * errno, a successful call leaves it as it was. The details asserted here
 * are the text aq.h's users will read and search for.
 */
#include "rt_helpers.h"

#include <limits.h>

/* expr returns AQ_EINVAL and aq_error_detail() then reads want exactly. */
#define ASSERT_DETAIL(expr, want)                                          \
    do {                                                                   \
        ASSERT_RC(expr, AQ_EINVAL);                                        \
        const char *d_ = aq_error_detail();                                \
        if (strcmp(d_, (want)) != 0)                                       \
            t_fail(__FILE__, __LINE__, "%s: detail \"%s\", want \"%s\"",   \
                   #expr, d_, (want));                                     \
    } while (0)

static void *detail_in_thread(void *arg)
{
    const char **seen = arg;
    seen[0] = aq_error_detail(); /* this thread has had no AQ_EINVAL */
    aq_queue *q;
    ASSERT_RC(aq_queue_new(&q, AQ_FIFO, 0, 0), AQ_EINVAL);
    seen[1] = aq_error_detail();
    return NULL;
}

TEST(test_error_detail_is_per_thread)
{
    ASSERT_DETAIL(aq_loop_new(NULL), "out is NULL");
    const char *seen[2] = {NULL, NULL};
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, detail_in_thread, seen), 0);
    ASSERT_EQ(pthread_join(th, NULL), 0);
    ASSERT(strcmp(seen[0], "") == 0);
    ASSERT(strcmp(seen[1], "item_size is 0 or above AQ_ITEM_MAX") == 0);
    /* The other thread's failure did not touch this thread's detail. */
    ASSERT(strcmp(aq_error_detail(), "out is NULL") == 0);
}

TEST(test_error_detail_survives_success)
{
    ASSERT_DETAIL(aq_event_set(NULL), "event is NULL");
    aq_event *e;
    ASSERT_OK(aq_event_new(&e));
    ASSERT_OK(aq_event_set(e));
    ASSERT(strcmp(aq_error_detail(), "event is NULL") == 0);
    ASSERT_OK(aq_event_free(e));
}

TEST(test_error_detail_tells_queue_new_checks_apart)
{
    aq_queue *q = (aq_queue *)&q; /* must stay untouched */
    aq_queue *const before = q;
    ASSERT_DETAIL(aq_queue_new(NULL, AQ_FIFO, 8, 0), "out is NULL");
    ASSERT_DETAIL(aq_queue_new(&q, AQ_FIFO, 0, 0),
                  "item_size is 0 or above AQ_ITEM_MAX");
    ASSERT_DETAIL(aq_queue_new(&q, AQ_PRIORITY, 4, 0),
                  "a priority queue's item_size is below 8 (its int64_t "
                  "key)");
    ASSERT_DETAIL(aq_queue_new(&q, AQ_RENDEZVOUS, 8, 1),
                  "a rendezvous queue's maxsize must be 0");
    ASSERT_DETAIL(aq_queue_new(&q, (aq_queue_kind)99, 8, 0),
                  "unknown queue kind");
    ASSERT(q == before);
}

TEST(test_error_detail_tells_release_and_policy_checks_apart)
{
    aq_sem *s;
    ASSERT_DETAIL(aq_sem_new(NULL, 1, 1), "out is NULL");
    ASSERT_DETAIL(aq_sem_new(&s, -1, 0), "value is negative");
    ASSERT_DETAIL(aq_sem_new(&s, 0, 1), "a bounded semaphore's value is 0");
    ASSERT_OK(aq_sem_new(&s, 1, 1));
    ASSERT_DETAIL(aq_sem_release(NULL), "semaphore is NULL");
    ASSERT_DETAIL(aq_sem_release(s),
                  "a bounded semaphore was released more times than "
                  "acquired");
    ASSERT_EQ(aq_sem_value(s), 1);
    ASSERT_OK(aq_sem_free(s));
    /* At LONG_MAX both rules refuse a release: a bounded semaphore says
     * it is bounded (asyncio's ValueError), an unbounded one names the
     * limit. */
    ASSERT_OK(aq_sem_new(&s, LONG_MAX, 1));
    ASSERT_DETAIL(aq_sem_release(s),
                  "a bounded semaphore was released more times than "
                  "acquired");
    ASSERT_OK(aq_sem_free(s));
    ASSERT_OK(aq_sem_new(&s, LONG_MAX, 0));
    ASSERT_DETAIL(aq_sem_release(s),
                  "the semaphore's value would pass LONG_MAX");
    ASSERT_EQ(aq_sem_value(s), LONG_MAX);
    ASSERT_OK(aq_sem_free(s));

    aq_queue *q;
    ASSERT_OK(aq_queue_new(&q, AQ_FIFO, sizeof(int), 0));
    ASSERT_DETAIL(aq_queue_set_overflow(NULL, AQ_DROP_OLDEST, NULL, NULL),
                  "queue is NULL");
    ASSERT_DETAIL(aq_queue_set_overflow(q, (aq_overflow)9, NULL, NULL),
                  "the policy is unknown");
    ASSERT_DETAIL(aq_queue_set_overflow(q, AQ_DROP_OLDEST, NULL, NULL),
                  "a drop policy needs a bounded queue (maxsize > 0) that "
                  "is not a rendezvous");
    ASSERT_DETAIL(aq_queue_task_done(NULL), "queue is NULL");
    ASSERT_DETAIL(aq_queue_task_done(q),
                  "task_done was called more times than items were put");
    int v;
    ASSERT_DETAIL(aq_queue_peek(q, 0, NULL), "queue or out is NULL");
    ASSERT_DETAIL(aq_queue_peek(q, 0, &v), "the index is at or past qsize");
    ASSERT_EQ(aq_queue_unfinished(q), 0);
    ASSERT_OK(aq_queue_free(q));
}

/* In a task: the suspending calls' prologue and select's clause checks. */
static void *suspending_checks(void *arg)
{
    (void)arg;
    aq_queue *q;
    ASSERT_OK(aq_queue_new(&q, AQ_FIFO, sizeof(int), 0));
    int item = 7;
    short small = 0;
    ASSERT_DETAIL(aq_queue_put(q, NULL), "queue or item is NULL");
    ASSERT_DETAIL(aq_queue_put_sized(q, &small, sizeof small, AQ_NEVER),
                  "the item's size differs from the queue's item_size");
    ASSERT_DETAIL(aq_queue_get_until(q, NULL, AQ_NEVER),
                  "queue or out is NULL");

    aq_clause none[1] = {AQ_GET(q, &item)};
    ASSERT_DETAIL(aq_select_try(NULL, 1, 0), "clauses is NULL");
    ASSERT_DETAIL(aq_select_try(none, 0, 0), "n is 0");
    ASSERT_DETAIL(aq_select_try(none, 1, 8), "flags has unknown bits");
    aq_clause twice[2] = {AQ_GET(q, &item), AQ_GET(q, &item)};
    ASSERT_DETAIL(aq_select_try(twice, 2, 0),
                  "two clauses make the same operation on the same queue");
    aq_clause wrong[1] = {AQ_GET(q, &small)};
    ASSERT_DETAIL(aq_select_try(wrong, 1, 0),
                  "a queue clause's size differs from the queue's item "
                  "size");
    aq_clause nobuf[1] = {{.op = AQ_OP_GET, .queue = q, .size = sizeof item}};
    ASSERT_DETAIL(aq_select_try(nobuf, 1, 0),
                  "a queue clause's buffer is NULL");

    /* The batch calls name their own parameters. */
    size_t got;
    ASSERT_DETAIL(aq_queue_get_many(q, NULL, 4, &got), "out or got is NULL");
    ASSERT_DETAIL(aq_queue_put_many(q, &item, 1, NULL),
                  "items or done is NULL");
    ASSERT_DETAIL(aq_queue_try_put_many(q, &item, 0, &got), "n is 0");
    ASSERT_DETAIL(aq_queue_put_many(NULL, &item, 1, &got), "queue is NULL");

    /* aq_spawn has no loop parameter, so its detail names none. */
    aq_task *t;
    ASSERT_DETAIL(aq_spawn(&t, NULL, NULL), "fn is NULL");
    aq_lock *l;
    ASSERT_OK(aq_lock_new(&l));
    ASSERT_DETAIL(aq_lock_release(NULL), "lock is NULL");
    ASSERT_DETAIL(aq_lock_release(l), "the lock is not held");
    ASSERT_OK(aq_lock_free(l));
    ASSERT_EQ(aq_queue_qsize(q), 0);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_error_detail_tells_suspending_checks_apart)
{
    t_main(suspending_checks, NULL);
}

TEST(test_error_detail_layered_code_sets_it)
{
    ASSERT_DETAIL(aq_einval("wrapper: name is empty"),
                  "wrapper: name is empty");
    ASSERT_DETAIL(aq_einval(NULL), "");
}

int main(int argc, char **argv)
{
    RUN(test_error_detail_is_per_thread);
    RUN(test_error_detail_survives_success);
    RUN(test_error_detail_tells_queue_new_checks_apart);
    RUN(test_error_detail_tells_release_and_policy_checks_apart);
    RUN(test_error_detail_tells_suspending_checks_apart);
    RUN(test_error_detail_layered_code_sets_it);
    return t_done();
}
