/* libaq-redis - the queue calls: put, acknowledgements, join, shutdown,
 * delete, size and statistics. MIT licensed.
 *
 * Invariants:
 * - Every public call that suspends begins with aq__rq_enter and ends with
 *   aq__rq_leave, so q->calls is exact when close asks.
 * - An acknowledged entry stays held, marked acking, until its ack's
 *   outcome is known (see ack_id).
 */
#include "redis/redis.h"

#include <stdio.h>
#include <string.h>

/* ---- put ----------------------------------------------------------------- */

static const int batch_put = RQ_BATCH_PUT, batch_ack = RQ_BATCH_ACK;

int aq_redis_queue_put_until(aq_redis_queue *q, const void *item,
                             int64_t deadline)
{
    int rc = aq__rq_enter(q, item ? NULL : "item is NULL");
    if (rc != AQ_OK)
        return rc;
    int64_t pause = AQ_MSEC;
    for (;;) {
        aq__rq_slot *s = aq__rq_slot_take(q);
        if (!s)
            return aq__rq_leave(q, AQ_ENOMEM);
        memcpy(s->item, item, q->item_size);
        long long n;
        rc = aq__rq_call_with(q, s, aq__rq_batch_add, &batch_put, deadline,
                              &n, NULL);
        if (rc != AQ_OK || n == 0) /* 0: the id came back */
            break;
        if (n == -1) {
            q->shut = q->shut ? q->shut : 1;
            rc = AQ_ESHUTDOWN;
            break;
        }
        rc = aq__rq_back_off(&pause, deadline); /* full: ask again later */
        if (rc != AQ_OK)
            break;
    }
    return aq__rq_leave(q, rc);
}

int aq_redis_queue_put(aq_redis_queue *q, const void *item)
{
    return aq_redis_queue_put_until(q, item, AQ_NEVER);
}

/* ---- acknowledgements ------------------------------------------------------ */

static int valid_id(const char *s)
{
    size_t n = strnlen(s, AQ_REDIS_ID_MAX);
    if (n == AQ_REDIS_ID_MAX || n == 0)
        return 0;
    const char *dash = strchr(s, '-');
    if (!dash || dash == s || !dash[1])
        return 0;
    for (const char *p = s; *p; p++)
        if (p != dash && (*p < '0' || *p > '9'))
            return 0;
    return 1;
}

/* Acknowledges id. A held entry stays held, marked acking, until the
 * outcome is known: a take after a reconnection meanwhile must not hand
 * it out again. */
static int ack_id(aq_redis_queue *q, const char *id)
{
    long i = aq__rq_held_find(q, id);
    if (i >= 0)
        aq__rq_held_at(q, (size_t)i)->acking = 1;
    aq__rq_slot *s = aq__rq_slot_take(q);
    if (!s)
        return AQ_ENOMEM;
    snprintf(s->id.s, sizeof s->id.s, "%s", id);
    long long n;
    int resent;
    int rc = aq__rq_call_with(q, s, aq__rq_batch_add, &batch_ack, AQ_NEVER,
                              &n, &resent);
    /* Done with, whatever came: an ack that did not land lets the entry
     * go idle, and a sweep hands it out again. */
    if ((i = aq__rq_held_find(q, id)) >= 0)
        aq__rq_held_remove(q, (size_t)i);
    if (rc != AQ_OK)
        return rc;
    /* An ack sent again after its reply was lost finds the entry gone
     * when the first one took it: this member held it, touched, so no
     * other member could have. */
    if (n == 1 || resent) {
        q->st.acks++;
        return AQ_OK;
    }
    q->st.acks_late++;
    return AQ_EALREADY;
}

/* A cancelled task_done or ack sends nothing, but the entry is no longer
 * the task's all the same (the header's promise): its held record i (if
 * any) goes, so the sweep stops touching the entry, which goes idle and
 * is handed out again. Kept, it would stay held as long as the handle. */
static int cancelled(aq_redis_queue *q, long i)
{
    if (i >= 0)
        aq__rq_held_remove(q, (size_t)i);
    return AQ_ECANCELED;
}

int aq_redis_queue_ack(aq_redis_queue *q, const aq_redis_id *id)
{
    int rc = aq__rq_enter(q, id && valid_id(id->s)
                                 ? NULL
                                 : "id is NULL or not a valid entry id");
    if (rc == AQ_ECANCELED)
        return cancelled(q, aq__rq_held_find(q, id->s));
    if (rc != AQ_OK)
        return rc;
    aq_redis_id copy = *id; /* the held record it may name goes first */
    return aq__rq_leave(q, ack_id(q, copy.s));
}

/* The oldest entry task id t holds and is not acknowledging, or -1. */
static long oldest_held(aq_redis_queue *q, uint64_t t)
{
    for (size_t i = 0; i < q->nheld; i++) {
        aq__rq_held *h = aq__rq_held_at(q, i);
        if (h->task == t && !h->acking)
            return (long)i;
    }
    return -1;
}

int aq_redis_queue_task_done(aq_redis_queue *q)
{
    int rc = aq__rq_enter(q, NULL);
    if (rc == AQ_ECANCELED)
        return cancelled(q, oldest_held(q, aq_task_id(aq_task_self())));
    if (rc != AQ_OK)
        return rc;
    long i = oldest_held(q, aq_task_id(aq_task_self()));
    if (i < 0)
        return aq__rq_leave(q, aq_einval("this task holds no entry of the "
                                         "queue to mark done"));
    aq_redis_id id = aq__rq_held_at(q, (size_t)i)->id;
    return aq__rq_leave(q, ack_id(q, id.s));
}

/* ---- join, shutdown, size ------------------------------------------------ */

/* The entries not yet acknowledged (the len script): for "join", -1
 * after an immediate shutdown. */
static int count(aq_redis_queue *q, const char *what, int64_t deadline,
                 long long *n)
{
    const char *argv[] = {"EVALSHA", q->sha[RQ_LEN], "3", q->stream,
                          q->flag_key, q->acked_key, what};
    size_t lens[7];
    for (int i = 0; i < 7; i++)
        lens[i] = strlen(argv[i]);
    return aq__rq_call(q, NULL, 7, argv, lens, deadline, n, NULL);
}

int aq_redis_queue_join_until(aq_redis_queue *q, int64_t deadline)
{
    int rc = aq__rq_enter(q, NULL);
    if (rc != AQ_OK)
        return rc;
    int64_t pause = AQ_MSEC;
    for (;;) {
        long long n;
        rc = count(q, "join", deadline, &n);
        if (rc != AQ_OK || n == 0)
            break;
        if (n < 0) {
            rc = AQ_ESHUTDOWN;
            break;
        }
        rc = aq__rq_back_off(&pause, deadline);
        if (rc != AQ_OK)
            break;
    }
    return aq__rq_leave(q, rc);
}

int aq_redis_queue_join(aq_redis_queue *q)
{
    return aq_redis_queue_join_until(q, AQ_NEVER);
}

int aq_redis_queue_shutdown(aq_redis_queue *q, int immediate)
{
    int rc = aq__rq_enter(q, NULL);
    if (rc != AQ_OK)
        return rc;
    /* Graceful never overwrites immediate (NX); immediate always wins. */
    const char *argv[] = {"SET", q->flag_key, immediate ? "2" : "1", "NX"};
    size_t lens[] = {3, strlen(q->flag_key), 1, 2};
    rc = aq__rq_call(q, NULL, immediate ? 3 : 4, argv, lens, AQ_NEVER, NULL,
                     NULL);
    if (rc == AQ_OK) {
        if (immediate)
            q->shut = 2;
        else if (!q->shut)
            q->shut = 1;
        if (q->shut == 2)
            aq__rq_getters_fail(q, AQ_ESHUTDOWN);
        aq__rq_read(q);
    }
    return aq__rq_leave(q, rc);
}

int aq_redis_queue_delete(aq_redis_queue *q)
{
    int rc = aq__rq_enter(q, NULL);
    if (rc != AQ_OK)
        return rc;
    const char *argv[] = {"DEL", q->stream, q->flag_key, q->acked_key};
    size_t lens[] = {3, strlen(q->stream), strlen(q->flag_key),
                     strlen(q->acked_key)};
    rc = aq__rq_call(q, NULL, 4, argv, lens, AQ_NEVER, NULL, NULL);
    return aq__rq_leave(q, rc);
}

int aq_redis_queue_qsize(aq_redis_queue *q, long *n)
{
    int rc = aq__rq_enter(q, n ? NULL : "n is NULL");
    if (rc != AQ_OK)
        return rc;
    long long len;
    rc = count(q, "size", AQ_NEVER, &len);
    if (rc == AQ_OK)
        *n = (long)len;
    return aq__rq_leave(q, rc);
}

int aq_redis_queue_stats(const aq_redis_queue *q, aq_redis_stats *out)
{
    if (!q || !out)
        return aq_einval("queue or out is NULL");
    *out = q->st;
    out->reconnects = q->w.reconnects + q->r.reconnects;
    out->commands = q->w.commands + q->r.commands;
    out->writes = q->w.writes + q->r.writes;
    return AQ_OK;
}
