/* libaq-redis - batches: the puts and the acknowledgements that tasks
 * make in one turn of the loop reach the server as one script call each.
 * MIT licensed.
 *
 * Invariants:
 * - A batched call's slot carries its own copy of the item or the id,
 *   made as it joins the batch: a flush reads nothing in a caller's frame,
 *   which may be gone (a caller that left) or copied aside (a compact
 *   task).
 * - The driver of w flushes just before it writes (aq__rq_conn's
 *   before_write), after the tasks that were ready have run: every put or
 *   acknowledgement of the turn is in the batch, with no timer and no
 *   size to tune. At most BATCH_MAX calls go in one script call (Lua's
 *   unpack has a limit); a longer batch becomes several.
 * - A slot whose caller left before the flush is dropped unsent (its put
 *   stores nothing). Sent, the script answers with one result per slot, in
 *   order, and the callback completes the i-th slot with the i-th result;
 *   a lost connection completes them all with a NULL reply, and each
 *   caller sends again, as for any call (aq__rq_call_with).
 */
#include "redis/redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_MAX 1000
#define PREFIX 7 /* at most: EVALSHA sha numkeys, three keys, one ARGV */

/* aq__rq_send_fn: joins the batch of its kind and wakes the driver. */
int aq__rq_batch_add(aq_redis_queue *q, aq__rq_slot *s, const void *kind)
{
    aq__rq_batch *b = &q->batch[*(const int *)kind];
    s->next = NULL;
    *b->tail = s;
    b->tail = &s->next;
    aq__rq_conn_kick(&q->w);
    return AQ_OK;
}

static void batch_cb(redisAsyncContext *ac, void *r, void *priv,
                     int kind)
{
    (void)ac;
    redisReply *reply = r;
    size_t i = 0;
    for (aq__rq_slot *s = priv, *next; s; s = next, i++) {
        next = s->next; /* aq__rq_reply_done may put s on the spare list */
        const redisReply *e = reply;
        if (reply && reply->type == REDIS_REPLY_ARRAY)
            e = i < reply->elements ? reply->element[i] : NULL;
        if (kind == RQ_BATCH_PUT && e && e->type == REDIS_REPLY_STRING &&
            s->state != RQ_GONE)
            s->q->st.puts++;
        aq__rq_reply_done(s, e);
    }
}

static void put_batch_cb(redisAsyncContext *ac, void *r, void *priv)
{
    batch_cb(ac, r, priv, RQ_BATCH_PUT);
}

static void ack_batch_cb(redisAsyncContext *ac, void *r, void *priv)
{
    batch_cb(ac, r, priv, RQ_BATCH_ACK);
}

static int argv_room(aq_redis_queue *q, size_t n)
{
    if (n <= q->cap_argv)
        return 1;
    const char **argv = realloc(q->argv, n * sizeof *argv);
    if (argv)
        q->argv = argv;
    size_t *lens = realloc(q->lens, n * sizeof *lens);
    if (lens)
        q->lens = lens;
    if (!argv || !lens)
        return 0;
    q->cap_argv = n;
    return 1;
}

/* Takes up to BATCH_MAX live slots off b into a list of its own; their
 * count in *n. */
static aq__rq_slot *take_live(aq_redis_queue *q, aq__rq_batch *b, size_t *n)
{
    aq__rq_slot *head = NULL, **tail = &head;
    *n = 0;
    while (b->head && *n < BATCH_MAX) {
        aq__rq_slot *s = b->head;
        b->head = s->next;
        if (s->state == RQ_GONE) {
            aq__rq_slot_put(q, s);
            continue;
        }
        *tail = s;
        tail = &s->next;
        ++*n;
    }
    *tail = NULL;
    if (!b->head)
        b->tail = &b->head;
    return head;
}

static void flush(aq_redis_queue *q, int kind)
{
    aq__rq_batch *b = &q->batch[kind];
    char max[24];
    snprintf(max, sizeof max, "%ld", q->maxsize);
    while (b->head && q->w.ac) {
        size_t n;
        aq__rq_slot *head = take_live(q, b, &n);
        if (!head)
            break;
        int rc = AQ_ENOMEM;
        if (argv_room(q, PREFIX + n)) {
            const char **a = q->argv;
            size_t *l = q->lens, argc = 0;
            a[argc++] = "EVALSHA";
            a[argc++] = q->sha[kind == RQ_BATCH_PUT ? RQ_PUT : RQ_ACK];
            a[argc++] = kind == RQ_BATCH_PUT ? "3" : "2";
            a[argc++] = q->stream;
            if (kind == RQ_BATCH_PUT)
                a[argc++] = q->flag_key;
            a[argc++] = q->acked_key;
            a[argc++] = kind == RQ_BATCH_PUT ? max : q->group;
            for (size_t i = 0; i < argc; i++)
                l[i] = strlen(a[i]);
            for (aq__rq_slot *s = head; s; s = s->next, argc++) {
                int put = kind == RQ_BATCH_PUT;
                a[argc] = put ? (const char *)s->item : s->id.s;
                l[argc] = put ? q->item_size : strlen(s->id.s);
            }
            rc = aq__rq_conn_send(
                &q->w, kind == RQ_BATCH_PUT ? put_batch_cb : ack_batch_cb,
                head, (int)argc, a, l);
        }
        if (rc != AQ_OK) /* each caller sends again */
            batch_cb(NULL, NULL, head, kind);
    }
}

/* The before_write hook of w. */
void aq__rq_batch_flush(aq__rq_conn *c, void *arg)
{
    (void)c;
    aq_redis_queue *q = arg;
    for (int kind = 0; kind < RQ_NBATCH; kind++)
        flush(q, kind);
}

/* At close: the batches hold only slots whose callers left. */
void aq__rq_batch_free(aq_redis_queue *q)
{
    for (int kind = 0; kind < RQ_NBATCH; kind++) {
        size_t n;
        while (q->batch[kind].head)
            take_live(q, &q->batch[kind], &n);
    }
    free(q->argv);
    free(q->lens);
}
