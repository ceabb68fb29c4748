/* libaq - a queue's drop callback, and the queue as it looks from inside
 * one. MIT licensed.
 *
 * The callback runs in the middle of a put, a shutdown or a free, with
 * the item still in storage and the counts not yet settled. Invariants:
 * - It runs as a plain function (aq__plain_begin): had it suspended
 *   (aq_yield, a put on another queue), another task could have got the
 *   very item it was given, or drained the queue under a LIFO drop's
 *   memmove, as asyncio's callbacks never suspend.
 * - The queue refuses to be changed from it: every call that would
 *   change q (try_put, try_get, the batch calls, task_done, shutdown,
 *   set_overflow, free, share, a select clause) returns AQ_EBUSY, where it
 *   used to run on the half-done state (the same item passed to the
 *   callback twice, an item both handed over and dropped, the queue
 *   freed under the put that dropped). The figures and peek still read
 *   the real state.
 * The refusal costs the hot paths nothing: for the callback's length q
 * wears a busy header, the shared queue's disguise (queue.h: empty, full,
 * nothing unfinished, flagged shared), so every call reaches a flag test
 * it makes anyway and turns off to the busy table below. The real fields
 * wait in the caller's frame and are swapped back after the call. A
 * shared queue's callback runs on its inner queue, which users never
 * hold: the calls on its header are refused by shared.c, which sees this
 * thread in the callback, or in one nested in it (aq__dropping's frames:
 * a callback may call another queue, which drops in turn).
 */
#include "queue/queue.h"

_Thread_local const aq__drop_frame *aq__dropping;

/* The fields a busy header hides, and the table its calls reach. */
typedef struct busy {
    aq__shared base; /* what the header's `shared` points at */
    size_t count, limit;
    long unfinished;
    unsigned flags;
    aq__shared *shared;
} busy;

#define SWAP(type, a, b)                                                     \
    do {                                                                     \
        type tmp_ = (a);                                                     \
        (a) = (b);                                                           \
        (b) = tmp_;                                                          \
    } while (0)

/* Exchanges q's fields with b's: on, then off again. */
static void swap(aq_queue *q, busy *b)
{
    SWAP(size_t, q->count, b->count);
    SWAP(size_t, q->limit, b->limit);
    SWAP(long, q->unfinished, b->unfinished);
    SWAP(unsigned, q->flags, b->flags);
    SWAP(aq__shared *, q->shared, b->shared);
}

static busy *of(const aq_queue *q) { return (busy *)q->shared; }

static int refuse_put(aq_queue *q, const void *item, aq_task *self, int64_t d)
{
    (void)q, (void)item, (void)self, (void)d;
    return AQ_EBUSY;
}

static int refuse_get(aq_queue *q, void *out, aq_task *self, int64_t d)
{
    (void)q, (void)out, (void)self, (void)d;
    return AQ_EBUSY;
}

static int refuse(aq_queue *q)
{
    (void)q;
    return AQ_EBUSY;
}

static int refuse_join(aq_queue *q, aq_task *self, int64_t d)
{
    (void)q, (void)self, (void)d;
    return AQ_EBUSY;
}

static int refuse_shutdown(aq_queue *q, int immediate)
{
    (void)q, (void)immediate;
    return AQ_EBUSY;
}

static int refuse_overflow(aq_queue *q, aq_overflow policy, aq_drop_fn drop,
                           void *ud)
{
    (void)q, (void)policy, (void)drop, (void)ud;
    return AQ_EBUSY;
}

/* The reads see the real state: the header is taken off for them (q is
 * not const in truth: it is the queue whose callback runs). */
static int read_statistics(const aq_queue *q, aq_queue_stats *out)
{
    aq_queue *w = (aq_queue *)q;
    busy *b = of(q);
    swap(w, b);
    int rc = aq_queue_statistics(w, out);
    swap(w, b);
    return rc;
}

static int read_peek(const aq_queue *q, size_t i, void *out)
{
    aq_queue *w = (aq_queue *)q;
    busy *b = of(q);
    swap(w, b);
    int rc = aq_queue_peek(w, i, out);
    swap(w, b);
    return rc;
}

static const aq__shared_vt busy_vt = {
    refuse_put,      refuse_get,      refuse,
    refuse_join,     refuse_shutdown, refuse,
    refuse_overflow, read_statistics, read_peek};

void aq__queue_call_drop(aq_queue *q, void *item)
{
    busy b = {{&busy_vt, 0}, 0, 0, 0, q->flags | AQ__Q_SHARED | AQ__Q_BUSY,
              &b.base};
    aq__drop_frame frame = {q, aq__dropping};
    aq__dropping = &frame;
    swap(q, &b);
    aq_task *self = aq__plain_begin();
    q->drop(item, q->drop_ud);
    aq__plain_end(self);
    swap(q, &b);
    aq__dropping = frame.outer;
}
