/* libaq-redis: bad input gets a clear code and changes nothing (the rows
 * of docs/RELIABILITY.md's table for aq_redis_queue_*): calls outside a
 * task, NULL and out-of-range arguments, an unreachable server, a key of
 * the wrong type, a handle used from another loop's thread, a close while
 * a call is under way. */
#include "redis_helpers.h"

#include <errno.h>
#include <pthread.h>

static aq_redis_queue *g_q;

TEST(outside_a_task)
{
    aq_redis_queue *q = NULL;
    aq_redis_config c = cfg_for("m:outside", "c1");
    char item[ITEM] = "outside!";
    aq_redis_id id = {"1-0"};
    long n;
    ASSERT_RC(aq_redis_queue_open(&q, &c), AQ_EPERM);
    ASSERT(q == NULL);
    /* Any handle: the task check comes first. */
    aq_redis_queue *h = (aq_redis_queue *)&c;
    ASSERT_RC(aq_redis_queue_put(h, item), AQ_EPERM);
    ASSERT_RC(aq_redis_queue_get(h, item), AQ_EPERM);
    ASSERT_RC(aq_redis_queue_task_done(h), AQ_EPERM);
    ASSERT_RC(aq_redis_queue_ack(h, &id), AQ_EPERM);
    ASSERT_RC(aq_redis_queue_join(h), AQ_EPERM);
    ASSERT_RC(aq_redis_queue_shutdown(h, 0), AQ_EPERM);
    ASSERT_RC(aq_redis_queue_delete(h), AQ_EPERM);
    ASSERT_RC(aq_redis_queue_qsize(h, &n), AQ_EPERM);
    ASSERT_EQ(aq_redis_queue_sweep(h), AQ_EPERM);
    ASSERT_RC(aq_redis_queue_close(h), AQ_EPERM);
}

static void *open_args_main(void *arg)
{
    (void)arg;
    aq_redis_queue *q = NULL;
    aq_redis_config c = cfg_for("m:args", "c1");
    int fds = open_fds();
    ASSERT_RC(aq_redis_queue_open(NULL, &c), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_open(&q, NULL), AQ_EINVAL);
    aq_redis_config bad = c;
    bad.stream = NULL;
    ASSERT_RC(aq_redis_queue_open(&q, &bad), AQ_EINVAL);
    bad = c;
    bad.item_size = 0;
    ASSERT_RC(aq_redis_queue_open(&q, &bad), AQ_EINVAL);
    ASSERT(strcmp(aq_error_detail(),
                  "cfg->item_size is 0 or above AQ_REDIS_ITEM_MAX") == 0);
    bad.item_size = AQ_REDIS_ITEM_MAX + 1;
    ASSERT_RC(aq_redis_queue_open(&q, &bad), AQ_EINVAL);
    bad = c;
    bad.stream = "";
    ASSERT_RC(aq_redis_queue_open(&q, &bad), AQ_EINVAL);
    ASSERT(strstr(aq_error_detail(), "cfg->stream is NULL or empty") != NULL);
    /* Another queue's key names, and empty names where NULL means the
     * default, are refused before anything reaches the server. */
    const char *taken[] = {"m:args:acked", "m:args:shutdown", "m:args:dead"};
    for (int i = 0; i < 3; i++) {
        bad = c;
        bad.stream = taken[i];
        ASSERT_RC(aq_redis_queue_open(&q, &bad), AQ_EINVAL);
        ASSERT(strstr(aq_error_detail(), "another queue's key") != NULL);
    }
    bad = c;
    bad.group = "";
    ASSERT_RC(aq_redis_queue_open(&q, &bad), AQ_EINVAL);
    bad = c;
    bad.consumer = "";
    ASSERT_RC(aq_redis_queue_open(&q, &bad), AQ_EINVAL);
    /* Names would be looked up, blocking the loop: numeric hosts only,
     * an IPv6 one in brackets and only then. */
    const char *addrs[] = {
        "nohost",           "127.0.0.1:",       "127.0.0.1:0",
        "127.0.0.1:65536",  "127.0.0.1:63x",    ":6379",
        "localhost:6379",   "example.com:6379", " 127.0.0.1:6379",
        "300.1.1.1:6379",   "127.0.0.1:+6379",  "[]:6379",
        "[127.0.0.1]:6379", "::1:6379",         "[::1:6379"};
    for (int i = 0; i < 15; i++) {
        bad = c;
        bad.addr = addrs[i];
        ASSERT_RC(aq_redis_queue_open(&q, &bad), AQ_EINVAL);
        ASSERT(strncmp(aq_error_detail(), "address", 7) == 0);
    }
    /* Every argument check comes before a cancel (aq.h), the address's
     * too. */
    ASSERT_OK(aq_task_cancel(aq_task_self()));
    bad = c;
    bad.addr = "::1:6379";
    ASSERT_RC(aq_redis_queue_open(&q, &bad), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_open(&q, &c), AQ_ECANCELED);
    ASSERT(q == NULL);
    ASSERT_EQ(open_fds(), fds);
    return NULL;
}
TEST(open_bad_arguments) { t_main(open_args_main, NULL); }

static void *unreachable_main(void *arg)
{
    (void)arg;
    aq_redis_queue *q = NULL;
    aq_redis_config c = cfg_for("m:unreachable", "c1");
    c.addr = "127.0.0.1:1"; /* nobody listens on port 1 */
    c.connect_timeout = 200 * AQ_MSEC;
    /* The first attempt also opens the loop's epoll fd, kept until the
     * loop is freed: count from the second. */
    ASSERT_RC(aq_redis_queue_open(&q, &c), -ECONNREFUSED);
    int fds = open_fds();
    int64_t t0 = aq_now();
    ASSERT_RC(aq_redis_queue_open(&q, &c), -ECONNREFUSED);
    ASSERT(aq_now() - t0 >= 200 * AQ_MSEC); /* it kept trying */
    ASSERT(q == NULL);
    ASSERT_EQ(open_fds(), fds);
    c.addr = "[::1]:1"; /* IPv6, numeric: accepted, and refused */
    ASSERT_RC(aq_redis_queue_open(&q, &c), -ECONNREFUSED);
    ASSERT(q == NULL);
    return NULL;
}
TEST(open_unreachable_server) { t_main(unreachable_main, NULL); }

static void *wrongtype_main(void *arg)
{
    (void)arg;
    char out[64];
    cli(out, sizeof out, "SET m:string hello");
    aq_redis_queue *q = NULL;
    aq_redis_config c = cfg_for("m:string", "c1");
    ASSERT_RC(aq_redis_queue_open(&q, &c), AQ_ESERVER);
    ASSERT(q == NULL);
    /* No handle to ask: the thread's last failed open tells. */
    ASSERT(aq_redis_queue_error(NULL) != NULL);
    ASSERT(strstr(aq_redis_queue_error(NULL), "WRONGTYPE") != NULL);
    cli(out, sizeof out, "GET m:string"); /* left as it was */
    ASSERT(strcmp(out, "hello") == 0);
    return NULL;
}
TEST(open_key_of_another_type) { t_main(wrongtype_main, NULL); }

static void *call_args_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("m:calls", "c1");
    aq_redis_queue *q = open_q(&c);
    char item[ITEM];
    long n;
    aq_redis_id id;
    ASSERT_RC(aq_redis_queue_put(NULL, "nullq!!!"), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_put(q, NULL), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_get(NULL, item), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_get(q, NULL), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_task_done(NULL), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_task_done(q), AQ_EINVAL); /* nothing held */
    ASSERT(strcmp(aq_error_detail(),
                  "this task holds no entry of the queue to mark done") == 0);
    ASSERT_RC(aq_redis_queue_ack(q, NULL), AQ_EINVAL);
    const char *ids[] = {"", "abc", "1-", "-1", "1-2-3", "1x-0"};
    for (int i = 0; i < 6; i++) {
        snprintf(id.s, sizeof id.s, "%s", ids[i]);
        ASSERT_RC(aq_redis_queue_ack(q, &id), AQ_EINVAL);
    }
    memset(id.s, '1', sizeof id.s); /* no NUL within */
    ASSERT_RC(aq_redis_queue_ack(q, &id), AQ_EINVAL);
    snprintf(id.s, sizeof id.s, "1-0"); /* well formed, never delivered */
    ASSERT_RC(aq_redis_queue_ack(q, &id), AQ_EALREADY);
    ASSERT_RC(aq_redis_queue_join(NULL), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_shutdown(NULL, 0), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_delete(NULL), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_qsize(NULL, &n), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_qsize(q, NULL), AQ_EINVAL);
    ASSERT_EQ(aq_redis_queue_sweep(NULL), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_stats(NULL, NULL), AQ_EINVAL);
    aq_redis_stats st;
    ASSERT_RC(aq_redis_queue_stats(q, NULL), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_stats(NULL, &st), AQ_EINVAL);
    ASSERT(aq_redis_queue_error(NULL) == NULL); /* the last open worked */
    ASSERT_RC(aq_redis_queue_close(NULL), AQ_EINVAL);
    /* Nothing above reached the stream. */
    ASSERT_OK(aq_redis_queue_qsize(q, &n));
    ASSERT_EQ(n, 0);
    ASSERT_OK(aq_redis_queue_stats(q, &st));
    ASSERT_EQ(st.puts + st.gets + st.acks, 0);
    /* Precedence, as in aq.h: the arguments before a cancel. */
    ASSERT_OK(aq_task_cancel(aq_task_self()));
    ASSERT_RC(aq_redis_queue_put(q, NULL), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_get(q, NULL), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_qsize(q, NULL), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_put(q, "cancel!!"), AQ_ECANCELED);
    ASSERT_RC(aq_redis_queue_join(q), AQ_ECANCELED);
    ASSERT_RC(aq_redis_queue_shutdown(q, 0), AQ_ECANCELED);
    ASSERT_RC(aq_redis_queue_delete(q), AQ_ECANCELED);
    ASSERT_EQ(aq_redis_queue_sweep(q), AQ_ECANCELED);
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(calls_bad_arguments) { t_main(call_args_main, NULL); }

/* A handle is its loop's: another thread's loop gets AQ_EINVAL. */
static void *other_loop_task(void *arg)
{
    (void)arg;
    char item[ITEM] = "elsewhr";
    long n;
    aq_redis_id id = {"1-0"};
    ASSERT_RC(aq_redis_queue_put(g_q, item), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_get(g_q, item), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_ack(g_q, &id), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_qsize(g_q, &n), AQ_EINVAL);
    ASSERT_RC(aq_redis_queue_close(g_q), AQ_EINVAL);
    return NULL;
}

static void *other_thread(void *arg)
{
    (void)arg;
    ASSERT_OK(aq_run(other_loop_task, NULL, NULL));
    return NULL;
}

static void *other_loop_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("m:otherloop", "c1");
    g_q = open_q(&c);
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, other_thread, NULL), 0);
    ASSERT_EQ(pthread_join(th, NULL), 0);
    long n;
    ASSERT_OK(aq_redis_queue_qsize(g_q, &n));
    ASSERT_EQ(n, 0);
    ASSERT_OK(aq_redis_queue_close(g_q));
    return NULL;
}
TEST(handle_used_from_another_loop) { t_main(other_loop_main, NULL); }

static void *get_forever(void *arg)
{
    char item[ITEM];
    return IARG(aq_redis_queue_get(arg, item));
}

static void *busy_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("m:busy", "c1");
    aq_redis_queue *q = open_q(&c);
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, get_forever, q));
    ASSERT_OK(aq_sleep(5 * AQ_MSEC));
    ASSERT_RC(aq_redis_queue_close(q), AQ_EBUSY);
    ASSERT_OK(aq_redis_queue_put(q, "still-ok")); /* q unharmed */
    void *res;
    ASSERT_OK(aq_task_wait(t, &res));
    ASSERT_OK((int)IVAL(res));
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(close_while_a_call_waits) { t_main(busy_main, NULL); }

/* Calls made while a close is under way (it suspends while the drivers
 * end): a call gets AQ_EINVAL and a second close AQ_EBUSY, and nothing
 * touches the handle after the close frees it (a reviewer's reproducers:
 * the qsize started and read the freed handle, the second close freed it
 * twice). */
static int g_during_qsize = PENDING, g_during_close = PENDING;

static void *closes(void *arg) { return IARG(aq_redis_queue_close(arg)); }

static void *calls_during_close(void *arg)
{
    long n = -1;
    ASSERT_OK(aq_sleep(0)); /* the closer has begun and suspended */
    g_during_qsize = aq_redis_queue_qsize(arg, &n);
    g_during_close = aq_redis_queue_close(arg);
    return NULL;
}

static void *during_close_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("m:closing", "c1");
    aq_redis_queue *q = open_q(&c);
    aq_task *a, *b;
    void *res;
    ASSERT_OK(aq_spawn(&a, closes, q));
    ASSERT_OK(aq_spawn(&b, calls_during_close, q));
    ASSERT_OK(aq_task_wait(a, &res));
    ASSERT_OK((int)IVAL(res));
    ASSERT_OK(aq_task_wait(b, NULL));
    ASSERT_RC(g_during_qsize, AQ_EINVAL);
    ASSERT_RC(g_during_close, AQ_EBUSY);
    ASSERT_OK(aq_task_release(a));
    ASSERT_OK(aq_task_release(b));
    return NULL;
}
TEST(calls_while_a_close_is_under_way) { t_main(during_close_main, NULL); }

int main(int argc, char **argv)
{
    RUN(outside_a_task);
    RUN(open_bad_arguments);
    RUN(open_unreachable_server);
    RUN(open_key_of_another_type);
    RUN(calls_bad_arguments);
    RUN(handle_used_from_another_loop);
    RUN(close_while_a_call_waits);
    RUN(calls_while_a_close_is_under_way);
    return t_done();
}
