/* libaq-redis: nothing is lost when a member dies. Its own pending
 * entries come back to it when it opens again; another member's sweep
 * reclaims them once idle; a live member's long job is never reclaimed;
 * an entry delivered too often, or not an item, goes to the dead-letter
 * stream; and the encoding is plain enough for redis-cli both ways. */
#include "redis_helpers.h"

/* Gets n entries and returns without acknowledging them, as a worker
 * killed mid-item would. */
static void get_and_vanish(const char *stream, const char *consumer, int n)
{
    aq_redis_config c = cfg_for(stream, consumer);
    aq_redis_queue *q = open_q(&c);
    char item[ITEM];
    for (int i = 0; i < n; i++)
        ASSERT_OK(aq_redis_queue_get_until(q, item, aq_now() + AQ_SEC));
    ASSERT_OK(aq_redis_queue_close(q));
}

static void *own_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("r:own", "worker-1");
    aq_redis_queue *q = open_q(&c);
    ASSERT_OK(aq_redis_queue_put(q, "own-0001"));
    ASSERT_OK(aq_redis_queue_put(q, "own-0002"));
    ASSERT_OK(aq_redis_queue_put(q, "own-0003"));
    ASSERT_OK(aq_redis_queue_close(q));
    get_and_vanish("r:own", "worker-1", 2);
    /* The same name opens again: its two come first, then the third. */
    q = open_q(&c);
    aq_redis_stats st;
    ASSERT_OK(aq_redis_queue_stats(q, &st));
    ASSERT_EQ(st.reclaimed, 2);
    char item[ITEM];
    const char *want[] = {"own-0001", "own-0002", "own-0003"};
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(aq_redis_queue_get_until(q, item, aq_now() + AQ_SEC));
        ASSERT(memcmp(item, want[i], ITEM) == 0);
        ASSERT_OK(aq_redis_queue_task_done(q));
    }
    ASSERT_OK(aq_redis_queue_join_until(q, aq_now() + AQ_SEC));
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(own_pending_entries_come_back_first) { t_main(own_main, NULL); }

static void *sweep_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("r:sweep", "survivor");
    c.claim_idle = 100 * AQ_MSEC;
    c.sweep_every = -1; /* only the sweeps this test makes */
    aq_redis_queue *q = open_q(&c);
    ASSERT_OK(aq_redis_queue_put(q, "orphan-1"));
    get_and_vanish("r:sweep", "dead-worker", 1);
    char item[ITEM];
    /* A consumer (it has made a get) may take; a producer may not. */
    ASSERT_RC(aq_redis_queue_get_until(q, item, aq_now()), AQ_ETIMEDOUT);
    /* Not idle long enough yet: nothing taken. */
    ASSERT_EQ(aq_redis_queue_sweep(q), 0);
    ASSERT_OK(aq_sleep(150 * AQ_MSEC));
    ASSERT_EQ(aq_redis_queue_sweep(q), 1);
    ASSERT_OK(aq_redis_queue_get_until(q, item, aq_now()));
    ASSERT(memcmp(item, "orphan-1", ITEM) == 0);
    ASSERT_OK(aq_redis_queue_task_done(q));
    ASSERT_OK(aq_redis_queue_join_until(q, aq_now() + AQ_SEC));
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(sweep_reclaims_idle_entries_of_the_dead) { t_main(sweep_main, NULL); }

/* Adds `live` entries delivered to a live member, then `dead` entries
 * ("dead0001"...) delivered to a dead one and idle for an hour, all in
 * group "aq" of the stream, in one script. */
static void pend(const char *stream, int live, int dead)
{
    char out[64];
    cli(out, sizeof out,
        "EVAL \"local s, ids = KEYS[1], {} "
        "for i = 1, ARGV[1] do redis.call('XADD', s, '*', 'item', "
        "'live-abc') end "
        "redis.call('XREADGROUP', 'GROUP', 'aq', 'alive', 'COUNT', ARGV[1], "
        "'STREAMS', s, '>') "
        "for i = 1, ARGV[2] do ids[i] = redis.call('XADD', s, '*', 'item', "
        "string.format('dead%%04d', i)) end "
        "redis.call('XREADGROUP', 'GROUP', 'aq', 'dead', 'COUNT', ARGV[2], "
        "'STREAMS', s, '>') "
        "ids[#ids + 1] = 'IDLE' ids[#ids + 1] = 3600000 "
        "ids[#ids + 1] = 'JUSTID' "
        "return #redis.call('XCLAIM', s, 'aq', 'dead', 0, unpack(ids))\" "
        "1 %s %d %d",
        stream, live, dead);
    ASSERT_EQ(atol(out), dead);
}

/* Gets the n entries "dead0001"... in order, and acknowledges them. */
static void get_dead(aq_redis_queue *q, int n)
{
    for (int i = 1; i <= n; i++) {
        char item[ITEM], want[16];
        ASSERT_OK(aq_redis_queue_get_until(q, item, aq_now() + AQ_SEC));
        snprintf(want, sizeof want, "dead%04d", i);
        ASSERT_EQ(memcmp(item, want, ITEM), 0);
        ASSERT_OK(aq_redis_queue_task_done(q));
    }
}

/* A dead member's entries behind 11,000 pending ones of a live member: a
 * sweep reaches them (a reviewer's reproducer: every sweep began at the
 * start of the pending list, where XAUTOCLAIM looks at 10,000 entries at
 * most, and never took them). */
static void *far_sweep_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("r:far", "survivor");
    c.claim_idle = 60 * AQ_SEC; /* the live ones are not idle */
    c.sweep_every = -1;
    aq_redis_queue *q = open_q(&c);
    pend("r:far", 11000, 5);
    char item[ITEM];
    ASSERT_RC(aq_redis_queue_get_until(q, item, aq_now()), AQ_ETIMEDOUT);
    ASSERT_EQ(aq_redis_queue_sweep(q), 5);
    get_dead(q, 5);
    ASSERT_EQ(aq_redis_queue_sweep(q), 0);
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(sweep_reaches_idle_entries_behind_many_live_ones)
{
    t_main(far_sweep_main, NULL);
}

/* A member that opens again takes back every entry of its own still
 * pending, not only the first 1000 (one round of the take). */
static void *many_own_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("r:many", "dead");
    aq_redis_queue *q = open_q(&c);
    ASSERT_OK(aq_redis_queue_close(q));
    pend("r:many", 0, 1005);
    q = open_q(&c);
    aq_redis_stats st;
    ASSERT_OK(aq_redis_queue_stats(q, &st));
    ASSERT_EQ(st.reclaimed, 1005);
    get_dead(q, 1005);
    ASSERT_OK(aq_redis_queue_join_until(q, aq_now() + AQ_SEC));
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(open_takes_back_more_than_a_round_of_own_entries)
{
    t_main(many_own_main, NULL);
}

/* The automatic sweeper: a member that dies is reclaimed from without
 * anyone calling sweep. */
static void *auto_sweep_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("r:auto", "survivor");
    c.claim_idle = 90 * AQ_MSEC; /* sweeps every 30 ms */
    aq_redis_queue *q = open_q(&c);
    ASSERT_OK(aq_redis_queue_put(q, "orphan-2"));
    get_and_vanish("r:auto", "dead-worker", 1);
    int64_t t0 = aq_now();
    char item[ITEM];
    ASSERT_OK(aq_redis_queue_get_until(q, item, t0 + AQ_SEC));
    ASSERT(memcmp(item, "orphan-2", ITEM) == 0);
    /* Idle time plus one sweep interval, and some slack for the test. */
    ASSERT(aq_now() - t0 < 90 * AQ_MSEC + 30 * AQ_MSEC + 100 * AQ_MSEC);
    ASSERT_OK(aq_redis_queue_task_done(q));
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(sweeper_reclaims_by_itself) { t_main(auto_sweep_main, NULL); }

/* Durations below the server's millisecond: claim_idle 2 ns (its third,
 * 0, turned the sweeps off: the orphan never came back), and claim_idle
 * 30 ns with sweep_every 1 ns (the keeper of a handle with nothing to
 * send looped without yielding: the loop froze at 100% CPU). Both are
 * rounded up, and the survivor reclaims the orphan (a reviewer's
 * reproducers). */
static void *tiny_durations_main(void *arg)
{
    (void)arg;
    for (int k = 0; k < 2; k++) {
        aq_redis_config c = cfg_for(k ? "r:tiny2" : "r:tiny1", "survivor");
        c.claim_idle = k ? 30 : 2;
        c.sweep_every = k ? 1 : 0;
        aq_redis_queue *q = open_q(&c);
        ASSERT_OK(aq_redis_queue_put(q, "orphan-3"));
        get_and_vanish(c.stream, "dead-worker", 1);
        char item[ITEM];
        ASSERT_OK(aq_redis_queue_get_until(q, item, aq_now() + AQ_SEC));
        ASSERT(memcmp(item, "orphan-3", ITEM) == 0);
        ASSERT_OK(aq_redis_queue_task_done(q));
        ASSERT_OK(aq_redis_queue_close(q));
    }
    return NULL;
}
TEST(sub_millisecond_durations_sweep) { t_main(tiny_durations_main, NULL); }

/* A task cancelled after its get: its task_done (or ack) sends nothing
 * and returns AQ_ECANCELED, but the entry is no longer the task's: it goes
 * idle and the sweeper hands it out again, so join can end. (A fresh
 * user's trial found it held for as long as the handle, touched by every
 * sweep, and join waiting for ever.) */
static void *get_then_cancelled_done(void *arg)
{
    aq_redis_queue *q = arg;
    char item[ITEM];
    aq_redis_id id;
    ASSERT_OK(aq_redis_queue_get_entry_until(q, item, &id, AQ_NEVER));
    ASSERT_OK(aq_task_cancel(aq_task_self()));
    if (memcmp(item, "cx-ack-1", ITEM) == 0)
        return IARG(aq_redis_queue_ack(q, &id));
    return IARG(aq_redis_queue_task_done(q));
}

static void *cancelled_done_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("r:cxdone", "only");
    c.claim_idle = 90 * AQ_MSEC; /* sweeps every 30 ms */
    aq_redis_queue *q = open_q(&c);
    const char *items[2] = {"cx-done1", "cx-ack-1"};
    for (int k = 0; k < 2; k++) {
        ASSERT_OK(aq_redis_queue_put(q, items[k]));
        aq_task *t;
        void *res;
        ASSERT_OK(aq_spawn(&t, get_then_cancelled_done, q));
        ASSERT_OK(aq_task_wait(t, &res));
        ASSERT_OK(aq_task_release(t));
        ASSERT_RC((int)IVAL(res), AQ_ECANCELED);
        char item[ITEM];
        ASSERT_OK(aq_redis_queue_get_until(q, item, aq_now() + AQ_SEC));
        ASSERT(memcmp(item, items[k], ITEM) == 0); /* handed out again */
        ASSERT_OK(aq_redis_queue_task_done(q));
    }
    ASSERT_OK(aq_redis_queue_join_until(q, aq_now() + AQ_SEC));
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(cancelled_task_done_releases_the_entry)
{
    t_main(cancelled_done_main, NULL);
}

/* A job longer than claim_idle stays with its live member: its sweeper
 * re-touches what it holds, so another member's sweep finds nothing.
 * (claim_idle 250 ms, a sweep every 83: with 90 ms, a CI run on two
 * loaded CPUs once let the thief take the job, the sweeper's turn late.) */
static void *long_job_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("r:long", "slow-worker");
    c.claim_idle = 250 * AQ_MSEC;
    aq_redis_queue *slow = open_q(&c);
    aq_redis_config c2 = cfg_for("r:long", "thief");
    c2.claim_idle = 250 * AQ_MSEC;
    c2.sweep_every = -1;
    aq_redis_queue *thief = open_q(&c2);
    ASSERT_OK(aq_redis_queue_put(slow, "longjob1"));
    char item[ITEM];
    ASSERT_OK(aq_redis_queue_get(slow, item));
    /* The thief is a consumer too: its sweeps may take. */
    ASSERT_RC(aq_redis_queue_get_until(thief, item, aq_now()), AQ_ETIMEDOUT);
    for (int i = 0; i < 4; i++) { /* 4 x the idle time, sweeping */
        ASSERT_OK(aq_sleep(250 * AQ_MSEC));
        ASSERT_EQ(aq_redis_queue_sweep(thief), 0);
    }
    ASSERT_OK(aq_redis_queue_task_done(slow)); /* AQ_OK: still its own */
    aq_redis_stats st;
    ASSERT_OK(aq_redis_queue_stats(thief, &st));
    ASSERT_EQ(st.gets, 0);
    ASSERT_EQ(st.reclaimed, 0);
    ASSERT_OK(aq_redis_queue_close(thief));
    ASSERT_OK(aq_redis_queue_close(slow));
    return NULL;
}
TEST(long_job_of_a_live_member_not_reclaimed) { t_main(long_job_main, NULL); }

/* A producer's sweeps take nothing: had it taken the dead worker's
 * entry, it would hold it, touched, for ever, and its join would never
 * return (found by a new user's trial). A worker takes it instead. */
static void *producer_sweep_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("r:producer", NULL);
    c.claim_idle = 90 * AQ_MSEC; /* sweeps every 30 ms */
    aq_redis_queue *producer = open_q(&c);
    ASSERT_OK(aq_redis_queue_put(producer, "job-0001"));
    get_and_vanish("r:producer", "dead-worker", 1);
    ASSERT_OK(aq_sleep(200 * AQ_MSEC)); /* idle, and several sweeps */
    ASSERT_EQ(aq_redis_queue_sweep(producer), 0);
    aq_redis_stats st;
    ASSERT_OK(aq_redis_queue_stats(producer, &st));
    ASSERT_EQ(st.reclaimed, 0);
    aq_redis_config c2 = cfg_for("r:producer", "live-worker");
    c2.claim_idle = 90 * AQ_MSEC;
    aq_redis_queue *worker = open_q(&c2);
    char item[ITEM];
    ASSERT_OK(aq_redis_queue_get_until(worker, item, aq_now() + AQ_SEC));
    ASSERT(memcmp(item, "job-0001", ITEM) == 0);
    ASSERT_OK(aq_redis_queue_task_done(worker));
    ASSERT_OK(aq_redis_queue_join_until(producer, aq_now() + AQ_SEC));
    ASSERT_OK(aq_redis_queue_close(worker));
    ASSERT_OK(aq_redis_queue_close(producer));
    return NULL;
}
TEST(producer_sweeps_take_nothing) { t_main(producer_sweep_main, NULL); }

/* Delivered more than max_deliveries times: buried, with its item. */
static void *poison_main(void *arg)
{
    (void)arg;
    aq_redis_config c = cfg_for("r:poison", "crashy");
    c.max_deliveries = 2;
    aq_redis_queue *q = open_q(&c);
    ASSERT_OK(aq_redis_queue_put(q, "poison-1"));
    ASSERT_OK(aq_redis_queue_close(q));
    get_and_vanish("r:poison", "crashy", 1); /* delivery 1 */
    get_and_vanish("r:poison", "crashy", 1); /* 2: taken back at open */
    q = open_q(&c);                          /* 3: too many */
    aq_redis_stats st;
    ASSERT_OK(aq_redis_queue_stats(q, &st));
    ASSERT_EQ(st.dead, 1);
    long n;
    ASSERT_OK(aq_redis_queue_qsize(q, &n));
    ASSERT_EQ(n, 0);
    ASSERT_OK(aq_redis_queue_join_until(q, aq_now() + AQ_SEC));
    ASSERT_EQ(cli_long("XLEN %s", "r:poison:dead"), 1);
    char out[256];
    cli(out, sizeof out, "XRANGE r:poison:dead - +");
    ASSERT(strstr(out, "deliveries 3") != NULL);
    ASSERT(strstr(out, "poison-1") != NULL);
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(over_delivered_entry_goes_to_dead_letters) { t_main(poison_main, NULL); }

/* ---- the encoding, both ways ------------------------------------------------ */

static void *interop_main(void *arg)
{
    (void)arg;
    char out[256];
    /* An entry added by hand, in the documented encoding, is got. */
    cli(out, sizeof out, "XADD r:interop '*' item by-hand!");
    aq_redis_config c = cfg_for("r:interop", "c1");
    aq_redis_queue *q = open_q(&c);
    char item[ITEM];
    aq_redis_id id;
    ASSERT_OK(aq_redis_queue_get_entry_until(q, item, &id, aq_now() + AQ_SEC));
    ASSERT(memcmp(item, "by-hand!", ITEM) == 0);
    ASSERT(strcmp(id.s, out) == 0); /* XADD printed the id */
    ASSERT_OK(aq_redis_queue_task_done(q));
    /* A put is read back by XRANGE, field "item", the bytes as they are. */
    ASSERT_OK(aq_redis_queue_put(q, "from-aq!"));
    cli(out, sizeof out, "XRANGE r:interop - +");
    ASSERT(strstr(out, "item\nfrom-aq!") != NULL);
    ASSERT_OK(aq_redis_queue_get_until(q, item, aq_now() + AQ_SEC));
    ASSERT_OK(aq_redis_queue_task_done(q));
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(redis_cli_reads_and_writes_the_encoding) { t_main(interop_main, NULL); }

/* Entries that are not items of this queue never reach a get. */
static void *bad_item_main(void *arg)
{
    (void)arg;
    char out[256];
    cli(out, sizeof out, "XADD r:bad '*' item short");
    cli(out, sizeof out, "XADD r:bad '*' other fieldxx");
    cli(out, sizeof out, "XADD r:bad '*' item good-one");
    aq_redis_config c = cfg_for("r:bad", "c1");
    aq_redis_queue *q = open_q(&c);
    char item[ITEM];
    ASSERT_OK(aq_redis_queue_get_until(q, item, aq_now() + AQ_SEC));
    ASSERT(memcmp(item, "good-one", ITEM) == 0);
    ASSERT_OK(aq_redis_queue_task_done(q));
    ASSERT_OK(aq_redis_queue_join_until(q, aq_now() + AQ_SEC));
    ASSERT_EQ(cli_long("XLEN %s", "r:bad:dead"), 2);
    cli(out, sizeof out, "XRANGE r:bad:dead - +");
    ASSERT(strstr(out, "bad item") != NULL);
    ASSERT(strstr(out, "short") != NULL);
    aq_redis_stats st;
    ASSERT_OK(aq_redis_queue_stats(q, &st));
    ASSERT_EQ(st.dead, 2);
    ASSERT_OK(aq_redis_queue_close(q));
    return NULL;
}
TEST(bad_entries_go_to_dead_letters) { t_main(bad_item_main, NULL); }

int main(int argc, char **argv)
{
    RUN(own_pending_entries_come_back_first);
    RUN(sweep_reclaims_idle_entries_of_the_dead);
    RUN(sweep_reaches_idle_entries_behind_many_live_ones);
    RUN(open_takes_back_more_than_a_round_of_own_entries);
    RUN(sweeper_reclaims_by_itself);
    RUN(sub_millisecond_durations_sweep);
    RUN(cancelled_task_done_releases_the_entry);
    RUN(long_job_of_a_live_member_not_reclaimed);
    RUN(producer_sweeps_take_nothing);
    RUN(over_delivered_entry_goes_to_dead_letters);
    RUN(redis_cli_reads_and_writes_the_encoding);
    RUN(bad_entries_go_to_dead_letters);
    return t_done();
}
