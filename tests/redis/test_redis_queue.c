/* libaq-redis: the queue calls keep asyncio.Queue's meaning on a real
 * Redis stream: FIFO across waiting gets, deadlines and cancels that lose
 * no entry, maxsize backpressure, task_done/ack and join, shutdown seen by
 * every member, pipelined puts, a reconnection after the server dropped
 * every client. */
#include "redis_helpers.h"

#include <hiredis/hiredis.h>

#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include <limits.h>

static aq_redis_queue *g_q;

/* ---- put and get ---------------------------------------------------------- */

static void *roundtrip_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("t:roundtrip", "c1");
    aq_redis_queue *q = open_q(&c);
    ASSERT_OK(aq_redis_queue_put(q, "item-001"));
    ASSERT_OK(aq_redis_queue_put(q, "item-002"));
    long n = -1;
    ASSERT_OK(aq_redis_queue_qsize(q, &n));
    ASSERT_EQ(n, 2);
    char item[ITEM];
    aq_redis_id a, b;
    ASSERT_OK(aq_redis_queue_get_entry_until(q, item, &a, AQ_NEVER));
    ASSERT(memcmp(item, "item-001", ITEM) == 0);
    ASSERT_OK(aq_redis_queue_get_entry_until(q, item, &b, AQ_NEVER));
    ASSERT(memcmp(item, "item-002", ITEM) == 0);
    ASSERT(strcmp(a.s, b.s) < 0 || strlen(a.s) < strlen(b.s));
    /* Got is not done: both still count until acknowledged. */
    ASSERT_OK(aq_redis_queue_qsize(q, &n));
    ASSERT_EQ(n, 2);
    ASSERT_RC(aq_redis_queue_join_until(q, aq_now() + 30 * AQ_MSEC),
              AQ_ETIMEDOUT);
    ASSERT_OK(aq_redis_queue_task_done(q));
    ASSERT_OK(aq_redis_queue_task_done(q));
    ASSERT_RC(aq_redis_queue_task_done(q), AQ_EINVAL); /* one too many */
    ASSERT_OK(aq_redis_queue_join(q));
    ASSERT_OK(aq_redis_queue_qsize(q, &n));
    ASSERT_EQ(n, 0);
    aq_redis_stats st;
    ASSERT_OK(aq_redis_queue_stats(q, &st));
    ASSERT_EQ(st.puts, 2);
    ASSERT_EQ(st.gets, 2);
    ASSERT_EQ(st.acks, 2);
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(put_get_task_done_join) { t_main(roundtrip_main, NULL); }

/* Nothing of a caller's frame is kept while it waits (replies go to
 * slots the handle owns), so compact tasks, whose frames move, may wait
 * too. */
TEST(compact_tasks_use_it_too) { t_main_compact(roundtrip_main, NULL); }

/* Gets waiting in line are served oldest first, one entry each. */
static int g_order[3], g_norder;

static void *getter(void *arg)
{
    char item[ITEM];
    ASSERT_OK(aq_redis_queue_get(g_q, item));
    g_order[g_norder++] = (int)IVAL(arg) * 10 + (item[7] - '0');
    ASSERT_OK(aq_redis_queue_task_done(g_q));
    return NULL;
}

static void *fifo_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("t:fifo", "c1");
    g_q = open_q(&c);
    aq_task *t[3];
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(aq_spawn(&t[i], getter, IARG(i + 1)));
        ASSERT_OK(aq_sleep(5 * AQ_MSEC)); /* they line up in this order */
    }
    ASSERT_OK(aq_redis_queue_put(g_q, "entry--1"));
    ASSERT_OK(aq_redis_queue_put(g_q, "entry--2"));
    ASSERT_OK(aq_redis_queue_put(g_q, "entry--3"));
    ASSERT_OK(aq_gather(t, 3, NULL));
    for (int i = 0; i < 3; i++)
        ASSERT_OK(aq_task_release(t[i]));
    ASSERT_EQ(g_norder, 3);
    ASSERT_EQ(g_order[0], 11);
    ASSERT_EQ(g_order[1], 22);
    ASSERT_EQ(g_order[2], 33);
    ASSERT_OK(aq_redis_queue_join(g_q));
    ASSERT_OK(aq_redis_queue_close(g_q));
    return NULL;
}
TEST(waiting_gets_served_oldest_first) { t_main(fifo_main, NULL); }

/* ---- deadlines and cancels lose nothing ---------------------------------- */

static void *late_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("t:late", "c1");
    aq_redis_queue *q = open_q(&c);
    char item[ITEM];
    /* The get leaves while its read is blocked at the server... */
    ASSERT_RC(aq_redis_queue_get_until(q, item, aq_now() + 20 * AQ_MSEC),
              AQ_ETIMEDOUT);
    /* ...which then delivers the entry put now: held, not lost. */
    ASSERT_OK(aq_redis_queue_put(q, "late-one"));
    ASSERT_OK(aq_sleep(60 * AQ_MSEC));
    ASSERT_OK(aq_redis_queue_get_until(q, item, aq_now())); /* at once */
    ASSERT(memcmp(item, "late-one", ITEM) == 0);
    ASSERT_OK(aq_redis_queue_task_done(q));
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(get_timed_out_before_delivery_loses_nothing) { t_main(late_main, NULL); }

static void *get_forever(void *arg)
{
    char item[ITEM];
    return IARG(aq_redis_queue_get(arg, item));
}

static void *cancel_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("t:cancel", "c1");
    aq_redis_queue *q = open_q(&c);
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, get_forever, q));
    ASSERT_OK(aq_sleep(10 * AQ_MSEC));
    ASSERT_RC(aq_redis_queue_close(q), AQ_EBUSY); /* a get is under way */
    ASSERT_OK(aq_task_cancel(t));
    void *res;
    ASSERT_OK(aq_task_wait(t, &res));
    ASSERT_RC((int)IVAL(res), AQ_ECANCELED);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_redis_queue_put(q, "after-cx"));
    char item[ITEM];
    ASSERT_OK(aq_redis_queue_get_until(q, item, aq_now() + AQ_SEC));
    ASSERT(memcmp(item, "after-cx", ITEM) == 0);
    ASSERT_OK(aq_redis_queue_task_done(q));
    /* A cancelled task's calls fail at once, sending nothing. */
    ASSERT_OK(aq_task_cancel(aq_task_self()));
    ASSERT_RC(aq_redis_queue_put(q, "never-01"), AQ_ECANCELED);
    ASSERT_RC(aq_redis_queue_get(q, item), AQ_ECANCELED);
    long n = -1;
    ASSERT_RC(aq_redis_queue_qsize(q, &n), AQ_ECANCELED);
    ASSERT_OK(aq_redis_queue_close(q)); /* shielded: works cancelled */
    return NULL;
}
TEST(cancelled_get_loses_nothing) { t_main(cancel_main, NULL); }

/* ---- maxsize --------------------------------------------------------------- */

static void *consume_one_later(void *arg)
{
    char item[ITEM];
    ASSERT_OK(aq_sleep(50 * AQ_MSEC));
    ASSERT_OK(aq_redis_queue_get(arg, item));
    ASSERT_OK(aq_redis_queue_task_done(arg));
    return NULL;
}

static void *maxsize_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("t:maxsize", "c1");
    c.maxsize = 2;
    aq_redis_queue *q = open_q(&c);
    ASSERT_OK(aq_redis_queue_put(q, "full-001"));
    ASSERT_OK(aq_redis_queue_put(q, "full-002"));
    int64_t t0 = aq_now();
    ASSERT_RC(aq_redis_queue_put_until(q, "full-003", t0 + 30 * AQ_MSEC),
              AQ_ETIMEDOUT);
    ASSERT(aq_now() - t0 >= 30 * AQ_MSEC);
    long n;
    ASSERT_OK(aq_redis_queue_qsize(q, &n));
    ASSERT_EQ(n, 2); /* the timed-out put stored nothing */
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, consume_one_later, q));
    ASSERT_OK(aq_redis_queue_put(q, "full-003")); /* waits for the ack */
    ASSERT(aq_now() - t0 >= 50 * AQ_MSEC);
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_redis_queue_qsize(q, &n));
    ASSERT_EQ(n, 2);
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(maxsize_backpressure) { t_main(maxsize_main, NULL); }

/* ---- acknowledgements ------------------------------------------------------ */

static void *ack_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("t:ack", "c1");
    aq_redis_queue *q = open_q(&c);
    ASSERT_OK(aq_redis_queue_put(q, "ack-0001"));
    char item[ITEM];
    aq_redis_id id;
    ASSERT_OK(aq_redis_queue_get_entry_until(q, item, &id, AQ_NEVER));
    ASSERT_OK(aq_redis_queue_ack(q, &id));
    ASSERT_RC(aq_redis_queue_ack(q, &id), AQ_EALREADY); /* once only */
    ASSERT_RC(aq_redis_queue_task_done(q), AQ_EINVAL);  /* nothing held */
    aq_redis_stats st;
    ASSERT_OK(aq_redis_queue_stats(q, &st));
    ASSERT_EQ(st.acks, 1);
    ASSERT_EQ(st.acks_late, 1);
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(ack_by_id_once) { t_main(ack_main, NULL); }

/* task_done acknowledges the calling task's own entry, not another's. */
static void *hold_then_done(void *arg)
{
    char item[ITEM];
    ASSERT_OK(aq_redis_queue_get(arg, item));
    ASSERT_OK(aq_sleep(30 * AQ_MSEC));
    ASSERT_OK(aq_redis_queue_task_done(arg));
    return NULL;
}

static void *per_task_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("t:pertask", "c1");
    aq_redis_queue *q = open_q(&c);
    ASSERT_OK(aq_redis_queue_put(q, "other-01"));
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, hold_then_done, q));
    ASSERT_OK(aq_sleep(10 * AQ_MSEC)); /* t holds the entry */
    ASSERT_RC(aq_redis_queue_task_done(q), AQ_EINVAL);
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_redis_queue_join_until(q, aq_now() + AQ_SEC));
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(task_done_is_per_task) { t_main(per_task_main, NULL); }

/* A task that returns holding an entry: a later task spawned into its
 * reused record holds nothing (a reviewer's reproducer: its task_done
 * acknowledged the returned task's entry, when the handle knew the holder
 * by its pointer). The entry stays held; its id acknowledges it. */
static void *get_and_return(void *arg)
{
    char item[ITEM];
    ASSERT_OK(aq_redis_queue_get_entry_until(g_q, item, arg, AQ_NEVER));
    return NULL;
}

static void *done_nothing(void *arg)
{
    (void)arg;
    ASSERT_RC(aq_redis_queue_task_done(g_q), AQ_EINVAL);
    return NULL;
}

static void *reused_record_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("t:reused", "c1");
    g_q = open_q(&c);
    ASSERT_OK(aq_redis_queue_put(g_q, "returned"));
    aq_redis_id id;
    aq_task *a, *b;
    ASSERT_OK(aq_spawn(&a, get_and_return, &id));
    ASSERT_OK(aq_task_wait(a, NULL));
    ASSERT_OK(aq_task_release(a));
    ASSERT_OK(aq_spawn(&b, done_nothing, NULL));
    ASSERT(b == a); /* the case under test: a's record again */
    ASSERT_OK(aq_task_wait(b, NULL));
    ASSERT_OK(aq_task_release(b));
    ASSERT_EQ(cli_long("XLEN %s", "t:reused") -
                  cli_long("GET %s", "t:reused:acked"),
              1);
    ASSERT_OK(aq_redis_queue_ack(g_q, &id));
    ASSERT_OK(aq_redis_queue_join_until(g_q, aq_now() + AQ_SEC));
    ASSERT_OK(aq_redis_queue_close(g_q));
    return NULL;
}
TEST(task_done_ignores_a_reused_task_record)
{
    t_main(reused_record_main, NULL);
}

/* ---- shutdown ---------------------------------------------------------------- */

static void *shutdown_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("t:shut", "c1");
    aq_redis_queue *q = open_q(&c);
    aq_redis_config c2 = cfg_for("t:shut", "c2");
    aq_redis_queue *other = open_q(&c2);
    ASSERT_OK(aq_redis_queue_put(q, "shut-001"));
    ASSERT_OK(aq_redis_queue_put(q, "shut-002"));
    ASSERT_OK(aq_redis_queue_shutdown(q, 0));
    ASSERT_RC(aq_redis_queue_put(q, "shut-003"), AQ_ESHUTDOWN);
    ASSERT_RC(aq_redis_queue_put(other, "shut-003"), AQ_ESHUTDOWN);
    char item[ITEM];
    /* Graceful: what is there is still delivered, then the end shows. */
    ASSERT_OK(aq_redis_queue_get(q, item));
    ASSERT(memcmp(item, "shut-001", ITEM) == 0);
    ASSERT_OK(aq_redis_queue_get(other, item));
    ASSERT(memcmp(item, "shut-002", ITEM) == 0);
    ASSERT_RC(aq_redis_queue_get(q, item), AQ_ESHUTDOWN);
    ASSERT_RC(aq_redis_queue_get(other, item), AQ_ESHUTDOWN);
    ASSERT_OK(aq_redis_queue_task_done(q));
    ASSERT_OK(aq_redis_queue_task_done(other));
    ASSERT_OK(aq_redis_queue_join(q));
    ASSERT_OK(aq_redis_queue_close(other));
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(shutdown_graceful_seen_by_every_member) { t_main(shutdown_main, NULL); }

/* A shutdown key set by hand, of any type, is a graceful shutdown for
 * every call (a reviewer's reproducer: gets saw only a 1-byte string, so
 * one made with HSET or "SET key yes" left them waiting, and join failed
 * with the server's WRONGTYPE). */
static void *key_of_any_type_main(void *arg)
{
    (void)arg;
    const char *make[] = {"HSET t:shutkey:shutdown by hand",
                          "SET t:shutkey:shutdown yes"};
    for (int i = 0; i < 2; i++) {
        aq_redis_config c = cfg_for("t:shutkey", "c1");
        aq_redis_queue *q = open_q(&c);
        aq_redis_config c2 = cfg_for("t:shutkey", "c2");
        aq_redis_queue *other = open_q(&c2); /* gets only: no put sees it */
        ASSERT_OK(aq_redis_queue_put(q, "shutkey1"));
        char out[64], item[ITEM];
        cli(out, sizeof out, "%s", make[i]);
        ASSERT_RC(aq_redis_queue_put(q, "shutkey2"), AQ_ESHUTDOWN);
        ASSERT_OK(aq_redis_queue_get_until(other, item, aq_now() + AQ_SEC));
        ASSERT_EQ(memcmp(item, "shutkey1", ITEM), 0);
        ASSERT_RC(aq_redis_queue_get_until(other, item, aq_now() + AQ_SEC),
                  AQ_ESHUTDOWN);
        ASSERT_OK(aq_redis_queue_task_done(other));
        ASSERT_OK(aq_redis_queue_join_until(other, aq_now() + AQ_SEC));
        ASSERT_OK(aq_redis_queue_close(other));
        ASSERT_OK(aq_redis_queue_delete(q));
        ASSERT_OK(aq_redis_queue_close(q));
    }
    return NULL;
}
TEST(shutdown_key_of_any_type) { t_main(key_of_any_type_main, NULL); }

static void *immediate_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("t:shut-now", "c1");
    aq_redis_queue *q = open_q(&c);
    aq_redis_config c2 = cfg_for("t:shut-now", "c2");
    aq_redis_queue *other = open_q(&c2);
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, get_forever, other)); /* blocked at the server */
    ASSERT_OK(aq_sleep(10 * AQ_MSEC));
    ASSERT_OK(aq_redis_queue_put(q, "kept-001"));
    void *res;
    ASSERT_OK(aq_task_wait(t, &res)); /* it got that one */
    ASSERT_OK((int)IVAL(res));
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_redis_queue_put(q, "kept-002"));
    ASSERT_OK(aq_spawn(&t, get_forever, other));
    ASSERT_OK(aq_sleep(10 * AQ_MSEC));
    int64_t t0 = aq_now();
    ASSERT_OK(aq_redis_queue_shutdown(q, 1));
    char item[ITEM];
    ASSERT_RC(aq_redis_queue_get(q, item), AQ_ESHUTDOWN);
    ASSERT_RC(aq_redis_queue_join(q), AQ_ESHUTDOWN);
    ASSERT_OK(aq_task_wait(t, &res));
    /* The other member's get saw it within its block time (50 ms) or
     * got kept-002 first; either way, not a wait for ever. */
    ASSERT((int)IVAL(res) == AQ_ESHUTDOWN || (int)IVAL(res) == AQ_OK);
    ASSERT(aq_now() - t0 < 500 * AQ_MSEC);
    ASSERT_OK(aq_task_release(t));
    ASSERT_RC(aq_redis_queue_get(other, item), AQ_ESHUTDOWN);
    long n;
    ASSERT_OK(aq_redis_queue_qsize(q, &n));
    ASSERT_EQ(n, 2); /* discarded nothing */
    ASSERT_OK(aq_redis_queue_close(other));
    /* Deleted, the name starts afresh: no entries, no shutdown. */
    ASSERT_OK(aq_redis_queue_delete(q));
    ASSERT_OK(aq_redis_queue_close(q));
    q = open_q(&c);
    ASSERT_OK(aq_redis_queue_qsize(q, &n));
    ASSERT_EQ(n, 0);
    ASSERT_OK(aq_redis_queue_put(q, "afresh!!"));
    ASSERT_OK(aq_redis_queue_get(q, item));
    ASSERT(memcmp(item, "afresh!!", ITEM) == 0);
    ASSERT_OK(aq_redis_queue_task_done(q));
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(shutdown_immediate_discards_nothing) { t_main(immediate_main, NULL); }

/* ---- pipelining ------------------------------------------------------------- */

#define PIPE_TASKS 50

static void *put_one(void *arg)
{
    char item[ITEM];
    snprintf(item, sizeof item, "p%06ld", IVAL(arg)); /* 7 + NUL */
    return IARG(aq_redis_queue_put(g_q, item));
}

static void *pipeline_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("t:pipe", "c1");
    g_q = open_q(&c);
    aq_redis_stats before, after;
    ASSERT_OK(aq_redis_queue_stats(g_q, &before));
    aq_task *t[PIPE_TASKS];
    for (long i = 0; i < PIPE_TASKS; i++)
        ASSERT_OK(aq_spawn(&t[i], put_one, IARG(i)));
    void *res[PIPE_TASKS];
    ASSERT_OK(aq_gather(t, PIPE_TASKS, res));
    for (int i = 0; i < PIPE_TASKS; i++) {
        ASSERT_OK((int)IVAL(res[i]));
        ASSERT_OK(aq_task_release(t[i]));
    }
    ASSERT_OK(aq_redis_queue_stats(g_q, &after));
    ASSERT_EQ(after.puts - before.puts, PIPE_TASKS);
    /* 50 puts made in one turn of the loop leave as one script call, in
     * one write. */
    ASSERT_EQ(after.commands - before.commands, 1);
    ASSERT_EQ(after.writes - before.writes, 1);
    long n;
    ASSERT_OK(aq_redis_queue_qsize(g_q, &n));
    ASSERT_EQ(n, PIPE_TASKS);
    ASSERT_OK(aq_redis_queue_close(g_q));
    return NULL;
}
TEST(puts_of_many_tasks_share_writes) { t_main(pipeline_main, NULL); }

/* ---- read-ahead ------------------------------------------------------------ */

static void *prefetch_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("t:prefetch", "eager");
    c.prefetch = 3;
    aq_redis_queue *eager = open_q(&c);
    aq_redis_config c2 = cfg_for("t:prefetch", "plain");
    aq_redis_queue *plain = open_q(&c2);
    char item[ITEM];
    for (int i = 1; i <= 6; i++) {
        snprintf(item, sizeof item, "ahead-%d", i);
        ASSERT_OK(aq_redis_queue_put(plain, item));
    }
    /* One get, and three more read ahead: four pending to "eager". */
    ASSERT_OK(aq_redis_queue_get(eager, item));
    ASSERT(memcmp(item, "ahead-1", 7) == 0);
    ASSERT_OK(aq_sleep(30 * AQ_MSEC));
    char out[256];
    cli(out, sizeof out, "XPENDING t:prefetch aq - + 10 eager");
    ASSERT(strstr(out, "ahead") == NULL); /* ids, not items */
    ASSERT_EQ(cli_long("XPENDING %s aq", "t:prefetch"), 4);
    /* The other member gets what was not read ahead. */
    ASSERT_OK(aq_redis_queue_get(plain, item));
    ASSERT(memcmp(item, "ahead-5", 7) == 0);
    ASSERT_OK(aq_redis_queue_task_done(plain));
    /* "eager" finds its read-ahead at once, in order. */
    ASSERT_OK(aq_redis_queue_task_done(eager));
    for (int i = 2; i <= 4; i++) {
        ASSERT_OK(aq_redis_queue_get_until(eager, item, aq_now()));
        ASSERT_EQ(item[6], '0' + i);
        ASSERT_OK(aq_redis_queue_task_done(eager));
    }
    ASSERT_OK(aq_redis_queue_get_until(eager, item, aq_now() + AQ_SEC));
    ASSERT(memcmp(item, "ahead-6", 7) == 0);
    ASSERT_OK(aq_redis_queue_task_done(eager));
    ASSERT_OK(aq_redis_queue_join_until(eager, aq_now() + AQ_SEC));
    ASSERT_OK(aq_redis_queue_close(plain));
    ASSERT_OK(aq_redis_queue_close(eager));
    return NULL;
}
TEST(prefetch_reads_ahead) { t_main(prefetch_main, NULL); }

/* A prefetch as large as a long goes: reads ask for at most 1000, and
 * a get is served (the count of entries wanted overflowed, so no read
 * was made and the get timed out: a reviewer's reproducer, UBSan). */
static void *huge_prefetch_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("t:hugeprefetch", "c1");
    c.prefetch = LONG_MAX;
    aq_redis_queue *q = open_q(&c);
    char item[ITEM];
    ASSERT_OK(aq_redis_queue_put(q, "huge-001"));
    ASSERT_OK(aq_redis_queue_get_until(q, item, aq_now() + 2 * AQ_SEC));
    ASSERT(memcmp(item, "huge-001", ITEM) == 0);
    ASSERT_OK(aq_redis_queue_task_done(q));
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(prefetch_as_large_as_a_long) { t_main(huge_prefetch_main, NULL); }

/* One read brings X and Y for two waiting gets (and, read ahead, W if
 * `ahead`); the first, cancelled, acknowledges Y by id before the second
 * runs: the second finds its promised entry gone and tries again (it
 * dereferenced NULL: a reviewer's reproducer): it takes W, held free,
 * else the next entry put, Z. (It went back in line without looking at
 * the free entries held, so it waited with W there until a new entry
 * came: another reviewer's reproducer, through a LOADING reply, which
 * sends gets back in line the same way.) */
static aq_redis_queue *g_rq;
static aq_redis_id g_y;

static void *get_then_ack_y(void *arg)
{
    (void)arg;
    char item[ITEM];
    ASSERT_OK(aq_redis_queue_get_until(g_rq, item, aq_now() + 2 * AQ_SEC));
    ASSERT_OK(aq_task_cancel(aq_task_self()));
    ASSERT_RC(aq_redis_queue_ack(g_rq, &g_y), AQ_ECANCELED);
    return NULL;
}

static void *get_one(void *arg)
{
    char *item = arg;
    return IARG(aq_redis_queue_get_until(g_rq, item, aq_now() + 2 * AQ_SEC));
}

static void *promised_gone_main(void *arg)
{
    int ahead = (int)IVAL(arg);
    aq_redis_config c = cfg_for("t:promised", "c1");
    c.prefetch = 4;
    g_rq = open_q(&c);
    aq_task *t[2];
    char item[ITEM], out[256], x[48];
    ASSERT_OK(aq_spawn(&t[0], get_then_ack_y, NULL));
    ASSERT_OK(aq_spawn(&t[1], get_one, item));
    ASSERT_OK(aq_sleep(20 * AQ_MSEC)); /* both in line, one read out */
    cli(out, sizeof out,
        "EVAL \"return {redis.call('XADD',KEYS[1],'*','item','xxxxxxxx'),"
        "redis.call('XADD',KEYS[1],'*','item','yyyyyyyy')%s}\" 1 t:promised",
        ahead ? ",redis.call('XADD',KEYS[1],'*','item','wwwwwwww')" : "");
    ASSERT_EQ(sscanf(out, "%47s %47s", x, g_y.s), 2);
    ASSERT_OK(aq_task_wait(t[0], NULL));
    if (!ahead)
        ASSERT_OK(aq_redis_queue_put(g_rq, "zzzzzzzz"));
    void *rc;
    ASSERT_OK(aq_task_wait(t[1], &rc));
    ASSERT_OK((int)IVAL(rc));
    ASSERT(memcmp(item, ahead ? "wwwwwwww" : "zzzzzzzz", ITEM) == 0);
    for (int i = 0; i < 2; i++)
        ASSERT_OK(aq_task_release(t[i]));
    ASSERT_OK(aq_redis_queue_delete(g_rq));
    ASSERT_OK(aq_redis_queue_close(g_rq));
    return NULL;
}
TEST(promised_entry_acknowledged_before_its_get_ran)
{
    t_main(promised_gone_main, IARG(0));
}
TEST(promised_entry_gone_then_one_held_free)
{
    t_main(promised_gone_main, IARG(1));
}

/* A bad item read after an admin's SCRIPT FLUSH still reaches the dead-
 * letter stream (its move went by SHA with no reply awaited: NOSCRIPT
 * lost it, stats.dead counted it, and join waited for claim_idle). */
static void *bury_after_flush_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("t:buryflush", "c1");
    aq_redis_queue *q = open_q(&c);
    char out[256], item[ITEM];
    cli(out, sizeof out, "SCRIPT FLUSH");
    cli(out, sizeof out, "XADD t:buryflush '*' item short");
    ASSERT_RC(aq_redis_queue_get_until(q, item, aq_now() + 300 * AQ_MSEC),
              AQ_ETIMEDOUT);
    ASSERT_OK(aq_redis_queue_join_until(q, aq_now() + 2 * AQ_SEC));
    ASSERT_EQ(cli_long("XLEN %s", "t:buryflush:dead"), 1);
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(bad_item_buried_after_script_flush)
{
    t_main(bury_after_flush_main, NULL);
}

/* An entry of 4,000 fields and no item: its move to the dead-letter
 * stream was one XADD of 8,004 values, which a script cannot unpack
 * ("too many results to unpack"): the entry stayed pending, join waited
 * for ever and stats.dead counted a move that never happened (a
 * reviewer's reproducer). It moves as two parts, every field kept. */
#define MANY_FIELDS 4000

static redisContext *server_link(void)
{
    const char *addr = getenv("AQ_REDIS");
    char host[64];
    int port = 0;
    ASSERT(addr && sscanf(addr, "%63[^:]:%d", host, &port) == 2);
    redisContext *r = redisConnect(host, port);
    ASSERT(r && !r->err);
    return r;
}

static void add_entry_of_many_fields(redisContext *r, const char *stream)
{
    enum { ARGS = 3 + 2 * MANY_FIELDS };
    static char names[MANY_FIELDS][8];
    static const char *argv[ARGS];
    argv[0] = "XADD", argv[1] = stream, argv[2] = "*";
    for (int i = 0; i < MANY_FIELDS; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        argv[3 + 2 * i] = names[i];
        argv[4 + 2 * i] = "v";
    }
    redisReply *rep = redisCommandArgv(r, ARGS, argv, NULL);
    ASSERT(rep && rep->type == REDIS_REPLY_STRING);
    freeReplyObject(rep);
}

static void *many_fields_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("t:manyfields", "c1");
    aq_redis_queue *q = open_q(&c);
    redisContext *r = server_link();
    char item[ITEM];
    add_entry_of_many_fields(r, "t:manyfields");
    ASSERT_RC(aq_redis_queue_get_until(q, item, aq_now() + 300 * AQ_MSEC),
              AQ_ETIMEDOUT);
    ASSERT_OK(aq_redis_queue_join_until(q, aq_now() + 2 * AQ_SEC));
    redisReply *dead = redisCommand(r, "XRANGE t:manyfields:dead - +");
    ASSERT(dead && dead->type == REDIS_REPLY_ARRAY);
    ASSERT_EQ(dead->elements, 2);
    size_t kept = 0;
    for (size_t k = 0; k < dead->elements; k++) {
        redisReply *fields = dead->element[k]->element[1];
        ASSERT_EQ(strcmp(fields->element[0]->str, "reason"), 0);
        ASSERT_EQ(strcmp(fields->element[4]->str, "part"), 0);
        ASSERT_EQ(strcmp(fields->element[5]->str, k ? "2/2" : "1/2"), 0);
        kept += fields->elements - 6;
    }
    ASSERT_EQ(kept, 2 * MANY_FIELDS);
    freeReplyObject(dead);
    aq_redis_stats st;
    ASSERT_OK(aq_redis_queue_stats(q, &st));
    ASSERT_EQ(st.dead, 1);
    redisFree(r);
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(entry_of_many_fields_buried_in_parts) { t_main(many_fields_main, NULL); }

/* Entries read ahead, then moved to the dead-letter stream by the
 * take-back that follows a reconnection (it counts a delivery): the
 * handle no longer hands them out (they went to the stream and to later
 * gets too, whose task_done said AQ_EALREADY: a reviewer's reproducer). */
static void *buried_not_handed_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("t:buriedheld", "c1");
    c.prefetch = 4;
    c.max_deliveries = 1;
    aq_redis_queue *q = open_q(&c);
    char item[ITEM], out[64];
    ASSERT_OK(aq_redis_queue_put(q, "item-001"));
    ASSERT_OK(aq_redis_queue_put(q, "item-002"));
    ASSERT_OK(aq_redis_queue_put(q, "item-003"));
    ASSERT_OK(aq_redis_queue_get_until(q, item, aq_now() + AQ_SEC));
    ASSERT_OK(aq_redis_queue_task_done(q));
    ASSERT_OK(aq_sleep(50 * AQ_MSEC)); /* 002 and 003 read ahead */
    cli(out, sizeof out, "CLIENT KILL TYPE normal SKIPME yes");
    for (int i = 0; i < 100 && cli_long("XLEN %s", "t:buriedheld:dead") < 2;
         i++)
        ASSERT_OK(aq_sleep(10 * AQ_MSEC)); /* reconnect, take back */
    ASSERT_EQ(cli_long("XLEN %s", "t:buriedheld:dead"), 2);
    ASSERT_RC(aq_redis_queue_get_until(q, item, aq_now() + 200 * AQ_MSEC),
              AQ_ETIMEDOUT);
    ASSERT_OK(aq_redis_queue_join_until(q, aq_now() + AQ_SEC));
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(entries_buried_by_a_take_back_are_not_handed_out)
{
    t_main(buried_not_handed_main, NULL);
}

/* ---- a lost connection ------------------------------------------------------ */

static void *reconnect_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("t:reconnect", "c1");
    aq_redis_queue *q = open_q(&c);
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, get_forever, q)); /* blocked at the server */
    ASSERT_OK(aq_sleep(10 * AQ_MSEC));
    char out[64];
    /* The server drops every client: both connections, mid-read. */
    cli(out, sizeof out, "CLIENT KILL TYPE normal");
    ASSERT(atol(out) >= 2);
    ASSERT_OK(aq_sleep(50 * AQ_MSEC));
    ASSERT_OK(aq_redis_queue_put(q, "survived"));
    void *res;
    ASSERT_OK(aq_task_wait_until(t, &res, aq_now() + 2 * AQ_SEC));
    ASSERT_OK((int)IVAL(res));
    ASSERT_OK(aq_task_release(t));
    aq_redis_stats st;
    ASSERT_OK(aq_redis_queue_stats(q, &st));
    ASSERT(st.reconnects >= 2);
    ASSERT_EQ(st.gets, 1);
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(reconnects_after_the_server_drops_clients)
{
    t_main(reconnect_main, NULL);
}

/* Closes q once it has reconnected at least n times. */
static void close_after_reconnects(aq_redis_queue *q, long n)
{
    aq_redis_stats st;
    ASSERT_OK(aq_redis_queue_stats(q, &st));
    ASSERT(st.reconnects >= n);
    ASSERT_OK(aq_redis_queue_close(q));
}

/* The server's close in the same read as a reply: the reading
 * connection's round (the shutdown key's GET, then XREADGROUP BLOCK) is
 * out, the GET's reply comes, and the connection is killed, while the
 * loop's thread is held, so that one edge brings both. The driver read
 * while FIONREAD counted bytes, and a close has none: it never read the
 * end, the socket stayed in CLOSE_WAIT and the get waited until its
 * deadline though an item was put (a reviewer's reproducer, 3 runs of
 * 3). */
static void *kill_clients_soon(void *arg)
{
    (void)arg;
    char out[64];
    usleep(100 * 1000);
    cli(out, sizeof out, "CLIENT KILL TYPE normal SKIPME yes");
    return NULL;
}

static void *get_within_3s(void *arg)
{
    char item[ITEM];
    int rc = aq_redis_queue_get_until(arg, item, aq_now() + 3 * AQ_SEC);
    if (rc == AQ_OK)
        rc = aq_redis_queue_task_done(arg);
    return IARG(rc);
}

static void *close_with_a_reply_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("t:closereply", "c1");
    c.block = 5 * AQ_SEC;
    aq_redis_queue *q = open_q(&c);
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, get_within_3s, q));
    for (int i = 0; i < 5; i++)
        ASSERT_OK(aq_yield()); /* its round written */
    pthread_t killer;
    ASSERT_EQ(pthread_create(&killer, NULL, kill_clients_soon, NULL), 0);
    usleep(300 * 1000); /* the loop held: the reply and the close arrive */
    ASSERT_EQ(pthread_join(killer, NULL), 0);
    ASSERT_OK(aq_sleep(100 * AQ_MSEC));
    ASSERT_OK(aq_redis_queue_put(q, "after-01"));
    void *res;
    ASSERT_OK(aq_task_wait(t, &res));
    ASSERT_OK((int)IVAL(res));
    ASSERT_OK(aq_task_release(t));
    close_after_reconnects(q, 1);
    return NULL;
}
TEST(a_close_read_with_a_reply_is_seen)
{
    t_main(close_with_a_reply_main, NULL);
}

/* Clients dropped again and again while puts and gets flow: hiredis
 * writes with write(2), and a write on a connection the server reset
 * raised SIGPIPE, whose default action killed the process (a reviewer's
 * reproducer died in 5 runs of 5); the connections must come back. */
static long g_puts;

static void *put_forever(void *arg)
{
    while (aq_redis_queue_put(arg, "pppppppp") == AQ_OK)
        g_puts++;
    return NULL;
}

static void *get_done_forever(void *arg)
{
    char item[ITEM];
    while (aq_redis_queue_get(arg, item) == AQ_OK &&
           aq_redis_queue_task_done(arg) != AQ_ECANCELED)
        ;
    return NULL;
}

static void *drops_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("t:drops", "c1");
    c.block = 20 * AQ_MSEC;
    aq_redis_queue *q = open_q(&c);
    aq_task *t[8];
    char out[64];
    g_puts = 0;
    for (int i = 0; i < 8; i++)
        ASSERT_OK(aq_spawn(&t[i], i < 4 ? put_forever : get_done_forever, q));
    for (int r = 0; r < 25; r++) {
        ASSERT_OK(aq_sleep(20 * AQ_MSEC));
        cli(out, sizeof out, "CLIENT KILL TYPE normal SKIPME yes");
    }
    for (int i = 0; i < 8; i++) {
        ASSERT_OK(aq_task_cancel(t[i]));
        ASSERT_OK(aq_task_wait(t[i], NULL));
        ASSERT_OK(aq_task_release(t[i]));
    }
    ASSERT(g_puts > 0);
    ASSERT_OK(aq_redis_queue_put(q, "after-01")); /* the link works */
    close_after_reconnects(q, 2);
    return NULL;
}
TEST(survives_the_server_dropping_clients_under_load)
{
    t_main(drops_main, NULL);
}

/* Gets that time out on an empty queue give their slot back at once:
 * 300 of them leave the heap as one did (a reviewer's reproducer: each
 * left its slot, item-sized, in the line until an entry came, +31 MiB per
 * 500 polls of 64 KiB items). */
static void *timed_out_gets_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("q:polls", "c1");
    c.block = 2 * AQ_MSEC;
    aq_redis_queue *q = open_q(&c);
    char item[ITEM];
    ASSERT_RC(aq_redis_queue_get_until(q, item, aq_now() + AQ_MSEC),
              AQ_ETIMEDOUT);
    long live = t_live;
    for (int i = 0; i < 300; i++)
        ASSERT_RC(aq_redis_queue_get_until(q, item, aq_now() + AQ_MSEC),
                  AQ_ETIMEDOUT);
    ASSERT(t_live - live < 20); /* not one slot per get */
    ASSERT_OK(aq_redis_queue_put(q, "after300"));
    ASSERT_OK(aq_redis_queue_get(q, item));
    ASSERT_EQ(memcmp(item, "after300", ITEM), 0);
    ASSERT_OK(aq_redis_queue_task_done(q));
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(timed_out_gets_give_their_slot_back)
{
    t_main(timed_out_gets_main, NULL);
}

/* Durations near INT64_MAX are taken as the longest there is (a
 * reviewer's reproducer: connect_timeout INT64_MAX failed the open at
 * once, with an overflow UBSan reports, and block INT64_MAX made every
 * read fail with the server's 'ERR timeout is negative'). */
static void *huge_durations_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("q:huge", "c1");
    c.connect_timeout = INT64_MAX;
    c.block = INT64_MAX;
    c.claim_idle = INT64_MAX;
    c.sweep_every = INT64_MAX;
    aq_redis_queue *q = open_q(&c);
    char item[ITEM];
    ASSERT_OK(aq_redis_queue_put(q, "huge-dur"));
    ASSERT_OK(aq_redis_queue_get(q, item));
    ASSERT_EQ(memcmp(item, "huge-dur", ITEM), 0);
    ASSERT_OK(aq_redis_queue_task_done(q));
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(durations_as_large_as_int64) { t_main(huge_durations_main, NULL); }

int main(int argc, char **argv)
{
    RUN(put_get_task_done_join);
    RUN(compact_tasks_use_it_too);
    RUN(waiting_gets_served_oldest_first);
    RUN(get_timed_out_before_delivery_loses_nothing);
    RUN(cancelled_get_loses_nothing);
    RUN(maxsize_backpressure);
    RUN(ack_by_id_once);
    RUN(task_done_is_per_task);
    RUN(task_done_ignores_a_reused_task_record);
    RUN(shutdown_graceful_seen_by_every_member);
    RUN(shutdown_key_of_any_type);
    RUN(shutdown_immediate_discards_nothing);
    RUN(puts_of_many_tasks_share_writes);
    RUN(prefetch_reads_ahead);
    RUN(prefetch_as_large_as_a_long);
    RUN(promised_entry_acknowledged_before_its_get_ran);
    RUN(promised_entry_gone_then_one_held_free);
    RUN(bad_item_buried_after_script_flush);
    RUN(entry_of_many_fields_buried_in_parts);
    RUN(entries_buried_by_a_take_back_are_not_handed_out);
    RUN(reconnects_after_the_server_drops_clients);
    RUN(a_close_read_with_a_reply_is_seen);
    RUN(survives_the_server_dropping_clients_under_load);
    RUN(timed_out_gets_give_their_slot_back);
    RUN(durations_as_large_as_int64);
    return t_done();
}
