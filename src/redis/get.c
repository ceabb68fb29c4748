/* libaq-redis - gets: the entries this member holds, the line of waiting
 * gets, and the read rounds on the reading connection. MIT licensed.
 *
 * Invariants:
 * - An entry Redis delivered to this member is held (q->held) until it
 *   is acknowledged; nothing delivered is dropped, whatever happens to
 *   the get that asked for it.
 * - Gets are served oldest first: a held entry free for a get exists only
 *   while no get waits, since each arriving entry is promised at once to
 *   the oldest waiting get (its slot). A get that arrives later cannot
 *   take it first (no barging), and a get that left early (GONE) is
 *   skipped, its entry promised to the next.
 * - An entry no longer held (acknowledged, buried, given up by a
 *   cancelled ack) is never held again. The read round in flight may
 *   still bring one: a reply that comes late (the reading connection
 *   slow) after the take-back that follows a reconnection of the other
 *   connection took the entry, handed it out and saw it acknowledged. So
 *   the ids that stop being held while a round is in flight are kept
 *   (q->gone) until its reply, which skips them.
 * - At most one read round is in flight, asking for as many entries as
 *   gets wait, plus the read-ahead (prefetch) not yet held: each round is
 *   a GET of the shutdown key, then XREADGROUP ">" blocking at most
 *   `block` at the server (not blocking once a graceful shutdown is seen,
 *   so that "nothing left" shows at once).
 */
#include "redis/redis.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- held entries --------------------------------------------------------- */

aq__rq_held *aq__rq_held_at(const aq_redis_queue *q, size_t i)
{
    return (aq__rq_held *)(q->held + i * q->stride);
}

/* Keeps id until the reply of the read round in flight. Out of memory,
 * it is not kept: that reply could then hand it out a second time, as
 * at-least-once allows. */
static void keep_gone(aq_redis_queue *q, const aq_redis_id *id)
{
    if (q->ngone == q->capgone) {
        size_t cap = q->capgone ? 2 * q->capgone : 16;
        aq_redis_id *p = realloc(q->gone, cap * sizeof *p);
        if (!p)
            return;
        q->gone = p;
        q->capgone = cap;
    }
    q->gone[q->ngone++] = *id;
}

static int was_gone(const aq_redis_queue *q, const char *id)
{
    for (size_t i = 0; i < q->ngone; i++)
        if (strcmp(q->gone[i].s, id) == 0)
            return 1;
    return 0;
}

void aq__rq_held_remove(aq_redis_queue *q, size_t i)
{
    if (q->reading)
        keep_gone(q, &aq__rq_held_at(q, i)->id);
    memmove(q->held + i * q->stride, q->held + (i + 1) * q->stride,
            (q->nheld - i - 1) * q->stride);
    q->nheld--;
}

/* The index of the held entry id, or -1. */
long aq__rq_held_find(const aq_redis_queue *q, const char *id)
{
    for (size_t i = 0; i < q->nheld; i++)
        if (strcmp(aq__rq_held_at(q, i)->id.s, id) == 0)
            return (long)i;
    return -1;
}

/* Neither promised to a get, nor a task's, nor being acknowledged. */
static int held_is_free(const aq__rq_held *h)
{
    return !h->slot && h->task == 0 && !h->acking;
}

/* The oldest free held entry, or NULL. */
static aq__rq_held *held_free(const aq_redis_queue *q)
{
    for (size_t i = 0; i < q->nheld; i++)
        if (held_is_free(aq__rq_held_at(q, i)))
            return aq__rq_held_at(q, i);
    return NULL;
}

static aq__rq_held *held_add(aq_redis_queue *q, const redisReply *id,
                             const char *item)
{
    if (q->nheld == q->capheld) {
        size_t cap = q->capheld ? 2 * q->capheld : 16;
        unsigned char *p = realloc(q->held, cap * q->stride);
        if (!p)
            return NULL;
        q->held = p;
        q->capheld = cap;
    }
    aq__rq_held *h = aq__rq_held_at(q, q->nheld++);
    memcpy(h->id.s, id->str, id->len);
    h->id.s[id->len] = 0;
    h->slot = NULL;
    h->task = 0;
    h->acking = 0;
    memcpy(h->item, item, q->item_size);
    return h;
}

/* ---- the line of waiting gets ------------------------------------------- */

static aq__rq_slot *getter_pop(aq_redis_queue *q)
{
    aq__rq_slot *s = q->getters;
    if (s) {
        q->getters = s->next;
        if (!q->getters)
            q->getters_tail = &q->getters;
    }
    return s;
}

/* Takes s, a get that left the line first (its deadline, a cancel), out
 * of it at once, back to the spare slots: left in the line until served,
 * the slots of gets that time out on an empty queue piled up, one per
 * get (a reviewer's reproducer: +31 MiB per 500 polls of 64 KiB items). */
static void getter_leave(aq_redis_queue *q, aq__rq_slot *s)
{
    aq__rq_slot **p = &q->getters;
    while (*p != s)
        p = &(*p)->next;
    *p = s->next;
    if (q->getters_tail == &s->next)
        q->getters_tail = p;
    q->ngetters--;
    aq__rq_slot_put(q, s);
}

/* Completes the oldest waiting get with rc; NULL if none waits. */
static aq__rq_slot *getter_complete(aq_redis_queue *q, int rc)
{
    aq__rq_slot *s = getter_pop(q);
    if (s) {
        s->state = RQ_DONE;
        s->rc = rc;
        q->ngetters--;
        aq_event_set(s->done);
    }
    return s;
}

/* Promises free held entries to the waiting gets, oldest first. */
static void promise(aq_redis_queue *q)
{
    aq__rq_held *h;
    while (q->ngetters > 0 && (h = held_free(q))) {
        aq__rq_slot *s = getter_complete(q, AQ_OK);
        if (!s)
            break;
        h->slot = s;
    }
}

void aq__rq_getters_fail(aq_redis_queue *q, int rc)
{
    while (getter_complete(q, rc))
        ;
}

/* ---- entries arriving ----------------------------------------------------- */

/* The value of field "item" if it is item_size bytes long, else NULL. */
static const char *item_of(const aq_redis_queue *q, const redisReply *f)
{
    if (!f || f->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && k->len == 4 &&
            memcmp(k->str, "item", 4) == 0)
            return v->type == REDIS_REPLY_STRING &&
                           (size_t)v->len == q->item_size
                       ? v->str
                       : NULL;
    }
    return NULL;
}

/* The move's reply: counted only if the entry was moved (1), not when it
 * was no longer pending (0: moved already, by a take-back or another
 * member's sweep) or the reply was lost. */
static void buried_cb(redisAsyncContext *ac, void *r, void *priv)
{
    (void)ac;
    const redisReply *reply = r;
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1)
        ((aq_redis_queue *)priv)->st.dead++;
}

static void bury(aq_redis_queue *q, const char *id, const char *reason)
{
    /* The script's text, not a SHA: no reply is awaited, so a NOSCRIPT
     * (the server's scripts flushed) would lose the move unseen; a bad
     * item is rare enough to send the few hundred bytes. */
    const char *argv[] = {"EVAL",      aq__rq_bury_src,
                          "2",         q->stream,
                          q->dead_key, q->group,
                          id,          reason};
    size_t lens[8];
    for (int i = 0; i < 8; i++)
        lens[i] = strlen(argv[i]);
    /* No reply awaited by any caller: if it is lost, the entry stays
     * pending, is reclaimed, and comes here again. */
    aq__rq_conn_send(&q->w, buried_cb, q, 8, argv, lens);
}

/* entries: an array of [id, [field, value...]] as XREADGROUP and
 * XAUTOCLAIM give them; read: they are a read round's. */
void aq__rq_deliver_entries(aq_redis_queue *q, const redisReply *entries,
                            int read)
{
    if (!entries || entries->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
            e->element[0]->type != REDIS_REPLY_STRING ||
            e->element[0]->len >= AQ_REDIS_ID_MAX)
            continue;
        const redisReply *id = e->element[0];
        if (aq__rq_held_find(q, id->str) >= 0 ||
            (read && was_gone(q, id->str)))
            continue; /* taken back after a reconnection: held already, or
                         acknowledged since */
        const char *item = item_of(q, e->element[1]);
        if (!item)
            bury(q, id->str, "bad item");
        else if (!held_add(q, id, item))
            break; /* out of memory: the rest stay pending, reclaimed */
    }
    promise(q);
}

/* ---- read rounds ------------------------------------------------------------ */

/* The shutdown key's GET: present is shut down, whatever its value or
 * type (a key of another type answers WRONGTYPE), and the string "2" an
 * immediate shutdown, as the put script (EXISTS) and the len script see
 * it. */
static void flag_cb(redisAsyncContext *ac, void *r, void *priv)
{
    (void)ac;
    aq_redis_queue *q = priv;
    redisReply *reply = r;
    int v = 0;
    if (reply && reply->type == REDIS_REPLY_STRING)
        v = reply->len == 1 && reply->str[0] == '2' ? 2 : 1;
    else if (reply && reply->type == REDIS_REPLY_ERROR &&
             strncmp(reply->str, "WRONGTYPE", 9) == 0)
        v = 1;
    if (v > q->shut)
        q->shut = v;
}

static void read_cb(redisAsyncContext *ac, void *r, void *priv)
{
    (void)ac;
    aq_redis_queue *q = priv;
    redisReply *reply = r;
    q->reading = 0;
    int got = reply && reply->type == REDIS_REPLY_ARRAY &&
              reply->elements > 0 && reply->element[0]->elements == 2;
    if (got)
        aq__rq_deliver_entries(q, reply->element[0]->element[1], 1);
    q->ngone = 0; /* the round they could come back in is over */
    if (!reply)
        return; /* connection lost: r_up reads again */
    if (reply->type == REDIS_REPLY_ERROR) {
        aq__rq_note_error(q, reply);
        /* A restarted server still loading its data: the gets read again
         * after a pause (a callback cannot wait). */
        aq__rq_getters_fail(q, strncmp(reply->str, "LOADING", 7) == 0
                                   ? RQ_AGAIN
                                   : AQ_ESERVER);
        return;
    }
    if (!got && q->shut == 1 && !q->read_blocks)
        q->drained = 1;
    if (q->shut == 2 || q->drained)
        aq__rq_getters_fail(q, AQ_ESHUTDOWN);
    aq__rq_read(q);
}

/* How many entries a read round should ask for: one per waiting get,
 * plus the read-ahead (prefetch) that free held entries do not cover. */
static long wanted(const aq_redis_queue *q)
{
    long free_held = 0;
    if (!q->got_once) /* a handle that only puts never reads ahead */
        return q->ngetters;
    for (size_t i = 0; q->prefetch && i < q->nheld; i++)
        free_held += held_is_free(aq__rq_held_at(q, i));
    /* With no get waiting, top up only at half: one read per half
     * prefetch, not one per get. */
    if (q->ngetters == 0 && free_held > q->prefetch / 2)
        return 0;
    /* prefetch - free_held first: both >= 0, so no overflow whatever
     * prefetch is (ngetters + prefetch overflowed for LONG_MAX). */
    long ahead = q->prefetch - free_held;
    long want = q->ngetters + (ahead < 1000 ? ahead : 1000);
    return want < 1000 ? want : 1000;
}

void aq__rq_read(aq_redis_queue *q)
{
    long want = wanted(q);
    if (q->reading || want <= 0 || !q->r.ac)
        return;
    if (q->shut == 2 || q->drained) {
        aq__rq_getters_fail(q, AQ_ESHUTDOWN);
        return;
    }
    const char *get[] = {"GET", q->flag_key};
    size_t get_lens[] = {3, strlen(q->flag_key)};
    char count[24], block[24];
    snprintf(count, sizeof count, "%ld", want);
    snprintf(block, sizeof block, "%lld",
             (long long)((q->block + AQ_MSEC - 1) / AQ_MSEC));
    int blocks = q->shut == 0;
    const char *argv[] = {"XREADGROUP", "GROUP", q->group, q->consumer,
                          "COUNT", count, "STREAMS", q->stream, ">",
                          "BLOCK", block};
    int argc = 9;
    if (blocks) { /* BLOCK goes before STREAMS */
        argv[6] = "BLOCK", argv[7] = block;
        argv[8] = "STREAMS", argv[9] = q->stream, argv[10] = ">";
        argc = 11;
    }
    size_t lens[11];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    if (aq__rq_conn_send(&q->r, flag_cb, q, 2, get, get_lens) == AQ_OK &&
        aq__rq_conn_send(&q->r, read_cb, q, argc, argv, lens) == AQ_OK) {
        q->reading = 1;
        q->read_blocks = blocks;
    }
}

/* ---- the call ------------------------------------------------------------------ */

/* One turn in the line of gets: waits until an entry is promised to
 * this one (*h, NULL if it went before this get ran: acknowledged by id,
 * a cancelled ack included), or RQ_AGAIN (a LOADING server sends the
 * whole line back), or the code that ended the wait. */
static int wait_in_line(aq_redis_queue *q, int64_t deadline, aq__rq_held **h)
{
    aq__rq_slot *s = aq__rq_slot_take(q);
    if (!s)
        return AQ_ENOMEM;
    *q->getters_tail = s;
    q->getters_tail = &s->next;
    q->ngetters++;
    aq__rq_read(q);
    int rc = aq_event_wait_until(s->done, deadline);
    if (s->state != RQ_DONE) { /* left first */
        getter_leave(q, s);
        return rc;
    }
    rc = s->rc;
    for (size_t i = 0; rc == AQ_OK && i < q->nheld; i++)
        if (aq__rq_held_at(q, i)->slot == s) {
            *h = aq__rq_held_at(q, i);
            (*h)->slot = NULL;
        }
    aq__rq_slot_put(q, s);
    return rc;
}

/* Takes the oldest free held entry if no get waits before this one, else
 * waits in line for one; a get sent back (its entry gone, LOADING) looks
 * at the free held entries again before it queues again: one may have
 * come meanwhile (read ahead, taken back, swept), and no read would
 * deliver it. */
static int get_entry(aq_redis_queue *q, void *item, aq_redis_id *id,
                     int64_t deadline)
{
    q->got_once = 1;
    int64_t pause = AQ_MSEC;
    aq__rq_held *h;
    for (;;) {
        h = q->ngetters == 0 ? held_free(q) : NULL;
        if (q->shut == 2 || (!h && q->drained))
            return AQ_ESHUTDOWN;
        if (h)
            break;
        int rc = wait_in_line(q, deadline, &h);
        if (rc == AQ_OK && h)
            break;
        if (rc == RQ_AGAIN)
            rc = aq__rq_back_off(&pause, deadline);
        if (rc != AQ_OK)
            return rc;
    }
    h->task = aq_task_id(aq_task_self());
    memcpy(item, h->item, q->item_size);
    if (id)
        *id = h->id;
    q->st.gets++;
    aq__rq_read(q); /* read ahead again, if prefetch asks */
    return AQ_OK;
}

int aq_redis_queue_get_entry_until(aq_redis_queue *q, void *item,
                                   aq_redis_id *id, int64_t deadline)
{
    int rc = aq__rq_enter(q, item ? NULL : "item is NULL");
    if (rc != AQ_OK)
        return rc;
    return aq__rq_leave(q, get_entry(q, item, id, deadline));
}

int aq_redis_queue_get_until(aq_redis_queue *q, void *item, int64_t deadline)
{
    return aq_redis_queue_get_entry_until(q, item, NULL, deadline);
}

int aq_redis_queue_get(aq_redis_queue *q, void *item)
{
    return aq_redis_queue_get_entry_until(q, item, NULL, AQ_NEVER);
}
