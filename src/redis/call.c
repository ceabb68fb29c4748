/* libaq-redis - the round trip every call makes: slots, sending (at once
 * or in a batch), the retries, and the checks a call begins with. MIT
 * licensed.
 *
 * Invariants:
 * - One command, one slot (redis.h): the reply's callback writes only
 *   into the slot, never into a caller's frame, and a caller that left
 *   early leaves the slot to the callback. A deadline or a cancel that
 *   races the reply loses nothing: a caller that finds its slot DONE
 *   takes the outcome even if its wait said timed out or cancelled
 *   (completed beats cancelled, as everywhere in libaq).
 * - A reply lost with its connection (NULL) makes the caller send again
 *   once reconnected: every command libaq-redis sends is safe to repeat
 *   (a put may then store its item twice, which at-least-once allows).
 * - q->calls counts the public calls under way (aq__rq_enter), so close can
 *   refuse to free what a parked task still uses.
 */
#include "redis/redis.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- slots and the round trip ------------------------------------------ */

aq__rq_slot *aq__rq_slot_take(aq_redis_queue *q)
{
    aq__rq_slot *s = q->spare;
    if (s) {
        q->spare = s->next;
    } else {
        s = calloc(1, sizeof *s + q->item_size);
        if (!s)
            return NULL;
        if (aq_event_new(&s->done) != AQ_OK) {
            free(s);
            return NULL;
        }
        s->q = q;
    }
    s->next = NULL;
    s->state = RQ_WAIT;
    s->rc = AQ_OK;
    s->n = 0;
    s->retry = RQ_RETRY_NONE;
    aq_event_clear(s->done);
    return s;
}

void aq__rq_slot_put(aq_redis_queue *q, aq__rq_slot *s)
{
    s->next = q->spare;
    q->spare = s;
}

void aq__rq_slot_free_list(aq__rq_slot *s)
{
    while (s) {
        aq__rq_slot *next = s->next;
        aq_event_free(s->done);
        free(s);
        s = next;
    }
}

void aq__rq_note_error(aq_redis_queue *q, const redisReply *r)
{
    snprintf(q->err, sizeof q->err, "%.*s", (int)r->len, r->str);
}

/* Completes s with reply r (NULL: the connection was lost). */
void aq__rq_reply_done(aq__rq_slot *s, const redisReply *r)
{
    if (s->state == RQ_GONE) {
        aq__rq_slot_put(s->q, s);
        return;
    }
    s->state = RQ_DONE;
    if (!r) {
        s->rc = -ECONNRESET;
    } else if (r->type == REDIS_REPLY_ERROR) {
        s->rc = AQ_ESERVER;
        s->retry = strncmp(r->str, "NOSCRIPT", 8) == 0  ? RQ_RETRY_SCRIPTS
                   : strncmp(r->str, "LOADING", 7) == 0 ? RQ_RETRY_LATER
                                                        : RQ_RETRY_NONE;
        aq__rq_note_error(s->q, r);
    } else {
        s->rc = AQ_OK;
        s->n = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    }
    aq_event_set(s->done);
}

static void reply_cb(redisAsyncContext *ac, void *r, void *priv)
{
    (void)ac;
    aq__rq_reply_done(priv, r);
}

/* Sleeps *pause (never past deadline) before a call asks the server
 * again, then doubles *pause up to 20 ms: Redis cannot tell a waiter
 * when room comes, the stream empties or its data is loaded. */
int aq__rq_back_off(int64_t *pause, int64_t deadline)
{
    int64_t wake = aq_now() + *pause;
    if (deadline != AQ_NEVER && wake > deadline)
        wake = deadline;
    int rc = aq_sleep_until(wake);
    if (rc == AQ_OK && deadline != AQ_NEVER && aq_now() >= deadline)
        rc = AQ_ETIMEDOUT;
    *pause = *pause * 2 > 20 * AQ_MSEC ? 20 * AQ_MSEC : *pause * 2;
    return rc;
}

/* Makes a call on the command connection through slot s (the caller's,
 * filled; given back here unless the caller leaves first) and waits for
 * its reply, sending again after a reconnection, after a NOSCRIPT (the
 * scripts loaded first) and, backing off, while the server is LOADING.
 * send puts the command on its way: at once (aq__rq_call) or in a batch
 * (batch.c). *n: the integer reply. *resent (if not NULL): 1 if a reply
 * was lost on the way, so that the server may have run the command
 * twice. Returns the slot's code, or the wait's (AQ_ETIMEDOUT,
 * AQ_ECANCELED). */
int aq__rq_call_with(aq_redis_queue *q, aq__rq_slot *s, aq__rq_send_fn *send,
                     const void *how, int64_t deadline, long long *n,
                     int *resent)
{
    int rc;
    int64_t pause = AQ_MSEC;
    if (resent)
        *resent = 0;
    for (;;) {
        rc = aq__rq_conn_wait_up(&q->w, deadline);
        if (rc != AQ_OK)
            break;
        s->state = RQ_WAIT;
        aq_event_clear(s->done);
        rc = send(q, s, how);
        if (rc != AQ_OK)
            break;
        rc = aq_event_wait_until(s->done, deadline);
        if (s->state != RQ_DONE) {
            s->state = RQ_GONE; /* the callback or the flush frees it */
            return rc;
        }
        rc = s->rc;
        if (rc == -ECONNRESET) {
            if (resent)
                *resent = 1;
            continue;
        }
        if (rc == AQ_ESERVER && s->retry == RQ_RETRY_SCRIPTS) {
            aq__rq_scripts_load(q); /* an admin flushed them */
            continue;
        }
        if (rc == AQ_ESERVER && s->retry == RQ_RETRY_LATER &&
            (rc = aq__rq_back_off(&pause, deadline)) == AQ_OK)
            continue;
        break;
    }
    if (n)
        *n = s->n;
    aq__rq_slot_put(q, s);
    return rc;
}

/* A command sent as it is (aq__rq_call). */
typedef struct direct {
    redisCallbackFn *cb;
    int argc;
    const char **argv;
    const size_t *lens;
} direct;

static int send_direct(aq_redis_queue *q, aq__rq_slot *s, const void *how)
{
    const direct *d = how;
    return aq__rq_conn_send(&q->w, d->cb ? d->cb : reply_cb, s, d->argc,
                            d->argv, d->lens);
}

/* aq__rq_call_with for argv, sent at once. cb: NULL for reply_cb, else a
 * callback that reads the reply and ends with aq__rq_reply_done. */
int aq__rq_call(aq_redis_queue *q, redisCallbackFn *cb, int argc,
                const char **argv, const size_t *lens, int64_t deadline,
                long long *n, int *resent)
{
    aq__rq_slot *s = aq__rq_slot_take(q);
    if (!s)
        return AQ_ENOMEM;
    direct d = {cb, argc, argv, lens};
    return aq__rq_call_with(q, s, send_direct, &d, deadline, n, resent);
}

/* Whether the calling task's cancellation applies now (not shielded). */
int aq__rq_cancel_due(aq_task *self)
{
    if (!aq_task_cancelled(self))
        return 0;
    int shielded = aq_task_shield(1);
    aq_task_shield(shielded);
    return !shielded;
}

/* The checks every public suspending call begins with, in <aq.h>'s
 * order (outside a task, then the arguments, bad naming what is wrong
 * with the call's own, NULL when they are valid, then a cancel); counts
 * the call in. */
int aq__rq_enter(aq_redis_queue *q, const char *bad)
{
    aq_task *self = aq_task_self();
    if (!self)
        return AQ_EPERM;
    if (!q)
        return aq_einval("queue is NULL");
    if (aq_loop_current() != q->loop)
        return aq_einval("queue belongs to another loop");
    if (bad)
        return aq_einval(bad);
    if (q->closing) /* it would be freed under the call */
        return aq_einval("queue is being closed (aq_redis_queue_close)");
    if (aq__rq_cancel_due(self))
        return AQ_ECANCELED;
    q->calls++;
    return AQ_OK;
}
