/* libaq-redis - crash recovery: taking back this member's own pending
 * entries, reclaiming other members' idle ones, and keeping the entries
 * this member works on from being reclaimed. MIT licensed.
 *
 * Invariants:
 * - Every entry taken comes through aq__rq_deliver_entries, like a read's, so
 *   one already held is not held twice.
 * - A reconnection asks the keeper task for a take-back of this member's
 *   own pending entries: a read whose reply was lost delivered them.
 * - Only a handle that has made a get takes other members' entries (a
 *   producer would hold them for ever, touched, and stall join).
 * - A sweep first re-touches every held entry (XCLAIM ... JUSTID, which
 *   resets its idle time without counting a delivery), then reclaims:
 *   a live member's long job is never taken from it, however long it
 *   runs, while a dead member's entries are idle from its death on.
 * - The delivery count is Redis' own (XPENDING): a take that pushes an
 *   entry past max_deliveries buries it in the same script.
 * - A take goes on from where the last one of its kind stopped (a
 *   cursor, q->cursor), in rounds of TAKE_COUNT: a take-back reaches every
 *   own pending entry, however many, and successive sweeps every idle one,
 *   however many live entries come first (XAUTOCLAIM looks at 10 x
 *   TAKE_COUNT entries per round). A sweep stops once it has taken
 *   TAKE_COUNT entries or looked at the whole list; the next one goes on
 *   from there.
 */
#include "redis/redis.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAKE_COUNT 1000

/* The entries a take moved to the dead-letter stream: counted, and those
 * this member held, read ahead and not yet handed to a task, dropped (a
 * take-back after a reconnection counts a delivery for each held entry:
 * one could go to the stream and still be handed out). One a task has
 * stays its own: its task_done finds it gone (AQ_EALREADY); one promised
 * to a waiting get sends that get back in line (get.c). */
static void drop_buried(aq_redis_queue *q, const redisReply *ids)
{
    q->st.dead += (long)ids->elements;
    for (size_t k = 0; k < ids->elements; k++) {
        const redisReply *id = ids->element[k];
        long i = id->type == REDIS_REPLY_STRING ? aq__rq_held_find(q, id->str)
                                                : -1;
        if (i >= 0 && aq__rq_held_at(q, (size_t)i)->task == 0)
            aq__rq_held_remove(q, (size_t)i);
    }
}

static void take_cb(redisAsyncContext *ac, void *r, void *priv, int own)
{
    (void)ac;
    aq__rq_slot *s = priv;
    aq_redis_queue *q = s->q;
    redisReply *reply = r;
    long long got = 0;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
        reply->element[0]->type == REDIS_REPLY_ARRAY &&
        reply->element[2]->type == REDIS_REPLY_STRING &&
        reply->element[2]->len < AQ_REDIS_ID_MAX) {
        drop_buried(q, reply->element[0]);
        got = (long long)reply->element[1]->elements;
        q->st.reclaimed += got;
        aq__rq_deliver_entries(q, reply->element[1], 0);
        memcpy(q->cursor[own].s, reply->element[2]->str,
               reply->element[2]->len + 1);
    }
    int keep = s->state != RQ_GONE;
    aq__rq_reply_done(s, reply);
    if (keep)
        s->n = got;
}

static void take_idle_cb(redisAsyncContext *ac, void *r, void *priv)
{
    take_cb(ac, r, priv, 0);
}

static void take_own_cb(redisAsyncContext *ac, void *r, void *priv)
{
    take_cb(ac, r, priv, 1);
}

/* The take script's command: this member's own pending entries (own) or
 * other members' idle ones. The strings live in the caller's frame. */
typedef struct take_cmd {
    char idle[24], max[24], count[24];
    aq_redis_id cursor; /* a copy: a resend must send the same */
    const char *argv[12];
    size_t lens[12];
} take_cmd;

static void take_cmd_init(take_cmd *t, aq_redis_queue *q, int own)
{
    snprintf(t->idle, sizeof t->idle, "%lld",
             (long long)(q->claim_idle / AQ_MSEC)); /* whole ms (open.c) */
    snprintf(t->max, sizeof t->max, "%ld", q->max_deliveries);
    snprintf(t->count, sizeof t->count, "%d", TAKE_COUNT);
    t->cursor = q->cursor[own];
    const char *argv[12] = {"EVALSHA",
                            q->sha[RQ_TAKE],
                            "2",
                            q->stream,
                            q->dead_key,
                            q->group,
                            q->consumer,
                            t->idle,
                            t->max,
                            t->count,
                            own ? "own" : "idle",
                            t->cursor.s};
    for (int i = 0; i < 12; i++) {
        t->argv[i] = argv[i];
        t->lens[i] = strlen(argv[i]);
    }
}

static int at_start(const aq_redis_queue *q, int own)
{
    return strcmp(q->cursor[own].s, "0-0") == 0;
}

/* Takes entries in rounds, waiting for each reply until the deadline:
 * a take-back every own pending entry from the first, a sweep from where
 * the last stopped, until TAKE_COUNT are taken or the end is reached.
 * Returns how many were taken, or a negative code (those taken before it
 * are held all the same). */
int aq__rq_take(aq_redis_queue *q, int own, int64_t deadline)
{
    if (own)
        strcpy(q->cursor[1].s, "0-0");
    long long total = 0;
    do {
        take_cmd t;
        take_cmd_init(&t, q, own);
        long long n;
        int rc = aq__rq_call(q, own ? take_own_cb : take_idle_cb, 12, t.argv,
                             t.lens, deadline, &n, NULL);
        if (rc != AQ_OK)
            return rc;
        total += n;
    } while (!at_start(q, own) && (own || total < TAKE_COUNT));
    return total < INT_MAX ? (int)total : INT_MAX;
}

/* Re-touches the held entries: XCLAIM <ids> JUSTID at idle 0. */
static int touch(aq_redis_queue *q)
{
    if (q->nheld == 0)
        return AQ_OK;
    size_t argc = 6 + q->nheld;
    const char **argv = malloc(argc * sizeof *argv);
    size_t *lens = malloc(argc * sizeof *lens);
    /* Copies: held may change while the reply is awaited, and a lost
     * reply makes aq__rq_call send argv again. */
    aq_redis_id *ids = malloc(q->nheld * sizeof *ids);
    int rc = AQ_ENOMEM;
    if (argv && lens && ids) {
        argv[0] = "XCLAIM", argv[1] = q->stream, argv[2] = q->group;
        argv[3] = q->consumer, argv[4] = "0";
        for (size_t i = 0; i < q->nheld; i++) {
            ids[i] = aq__rq_held_at(q, i)->id;
            argv[5 + i] = ids[i].s;
        }
        argv[argc - 1] = "JUSTID";
        for (size_t i = 0; i < argc; i++)
            lens[i] = strlen(argv[i]);
        rc =
            aq__rq_call(q, NULL, (int)argc, argv, lens, AQ_NEVER, NULL, NULL);
    }
    free(argv);
    free(lens);
    free(ids);
    return rc;
}

/* The keeper task: a take-back when a reconnection asks for one (w_up,
 * r_up), a sweep every sweep_every. Its calls wait out a reconnection or
 * a LOADING server as any call does; a take-back that fails all the same
 * is tried again at the next wake-up. */
void *aq__rq_keeper(void *arg)
{
    aq_redis_queue *q = arg;
    int64_t next = q->sweep_every > 0 ? aq_now() + q->sweep_every : AQ_NEVER;
    for (;;) {
        int rc = aq_event_wait_until(q->keep, next);
        if (rc == AQ_ECANCELED)
            return NULL;
        aq_event_clear(q->keep);
        if (q->take_back) {
            q->take_back = 0;
            if (aq__rq_take(q, 1, AQ_NEVER) < 0)
                q->take_back = 1;
        }
        if (next != AQ_NEVER && aq_now() >= next) {
            aq__rq_sweep(q);
            next = aq_now() + q->sweep_every;
        }
    }
}

long aq__rq_sweep(aq_redis_queue *q)
{
    int rc = touch(q);
    if (rc != AQ_OK)
        return rc;
    /* Only a handle that gets may take: a producer's sweep would hold
     * the dead's entries, touched, and never work on them. */
    return q->got_once ? aq__rq_take(q, 0, AQ_NEVER) : 0;
}

long aq_redis_queue_sweep(aq_redis_queue *q)
{
    int rc = aq__rq_enter(q, NULL);
    if (rc != AQ_OK)
        return rc;
    long n = aq__rq_sweep(q);
    q->calls--; /* aq__rq_leave's, for a long */
    return n;
}
