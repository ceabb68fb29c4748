/* libaq - the queue's private types: a shared core (queue.c) over a
 * storage kind (an ops table: fifo.c, lifo.c, prio.c). MIT licensed. */
#ifndef AQ_QUEUE_H
#define AQ_QUEUE_H

#include "runtime/runtime.h"

/* ---- queues (queue.c, batch.c; fifo.c, lifo.c, prio.c) ---------------- */

typedef struct aq__shared aq__shared;

/* Storage of one queue kind. push never fails when count < cap; grow
 * makes room for one more item (AQ_OK or AQ_ENOMEM, nothing changed). */
typedef struct aq__qops {
    int (*grow)(aq_queue *q);
    void (*push)(aq_queue *q, const void *item);
    void (*pop)(aq_queue *q, void *out);
    /* The item the i-th next pop would return (i < count). */
    void (*peek)(const aq_queue *q, size_t i, void *out);
    /* Runs of n >= 1 items, for the batch calls: push_run stores
     * items[0 .. n) as n pushes in order would (count + n <= cap);
     * pop_run takes what n pops would return, in that order (n <= count).
     * One call per run, so a kind can copy it in bulk. */
    void (*push_run)(aq_queue *q, const void *items, size_t n);
    void (*pop_run)(aq_queue *q, void *out, size_t n);
    /* AQ_DROP_OLDEST on a full queue: passes the stored item that the
     * kind gives up first to aq__queue_victim, stores item in its place
     * and returns aq__queue_replaced(q); or, if item itself is the one
     * to give up (PRIORITY only), returns aq__queue_refuse(q, item),
     * storing nothing. The kind counts, so that put_overflow can reach
     * it by a jump rather than a call it must come back from. */
    int (*drop)(aq_queue *q, const void *item);
    /* Takes out the stored item that storage gives up most cheaply (FIFO
     * the oldest, LIFO the top: the next get's; PRIORITY the last heap
     * entry), leaving count - 1 items a valid queue, and returns its
     * bytes, valid until q next changes (count > 0). For the discards of
     * an immediate shutdown or a free, so that a drop callback sees only
     * the items still there. */
    unsigned char *(*shed)(aq_queue *q);
} aq__qops;

struct aq_queue {
    const aq__qops *ops;
    size_t item_size;
    size_t count;        /* items stored */
    size_t limit;        /* full at this count: maxsize, or SIZE_MAX */
    size_t cap;          /* items the buffer holds: 0 or a power of two */
    size_t head;         /* FIFO: index of the oldest item in the ring */
    long maxsize;        /* as given; 0: unbounded */
    size_t slot;         /* PRIORITY: bytes per heap entry (seq + item) */
    unsigned char *buf;  /* ring (FIFO), stack (LIFO) or heap (PRIORITY) */
    uint64_t seq;        /* PRIORITY: insertion counter for stable ties */
    aq_cmp_fn cmp;       /* PRIORITY: the user's order, or NULL with
                            aq__prio_key_ops (leading int64_t key) */
    void *ud;
    long unfinished;     /* puts not yet matched by task_done */
    aq_list getters, putters, joiners; /* waiting tasks, oldest first */
    unsigned flags;      /* AQ__Q_* below: the rare cases, so that a get
                            on an empty queue tests one word for all */
    unsigned char overflow;     /* aq_overflow; read only when full */
    unsigned char overflow_set; /* aq_queue_set_overflow succeeded once */
    aq_drop_fn drop;     /* called on each discarded item, or NULL */
    void *drop_ud;
    /* Statistics. put is not counted: it is got + count + dropped -
     * refused (every item that entered was got, is stored, or was
     * discarded from storage), which saves an increment per put. */
    uint64_t got;        /* items taken by gets, hand-offs included */
    uint64_t dropped;    /* items given to the policy or an immediate
                            shutdown, stored or not */
    uint64_t refused;    /* of those, new items that were never stored */
    size_t high_water;   /* the largest count after a push since the last
                            trim (aq__queue_trim), which folds it into
                            high_before: the statistics show the larger */
    size_t high_before;
    aq__shared *shared;  /* AQ__Q_SHARED: where the state really is */
    unsigned batching;   /* batch calls under way (batch.c): one that
                            waited goes on with q after its wait, so
                            aq_queue_free refuses while this is > 0 */
};

/* Below this many items of storage a queue never trims (aq__queue_trim):
 * 64 items cost little and spare a realloc per burst. */
#define AQ__TRIM_MIN 64
void aq__queue_trim(aq_queue *q);

#define AQ__Q_SHUTDOWN 1u   /* aq_queue_shutdown was called */
#define AQ__Q_RENDEZVOUS 2u /* AQ_RENDEZVOUS: stores nothing, limit 0 */
#define AQ__Q_SHARED 4u     /* aq_queue_share: a header over `shared` */
/* With SHARED: the queue's drop callback runs, and `shared` is
 * callback.c's refusal table. */
#define AQ__Q_BUSY 8u

/* A shared queue (aq_queue_share) is a header whose own state says empty
 * (count 0), full (limit 0) and flagged, so that every path of this file
 * reaches a flag test it makes anyway (the shutdown test of a put, the
 * flags test of a get on an empty queue, the error branch of task_done)
 * and turns off there to src/thread/shared.c, which keeps the real state
 * under a lock. A queue that is not shared pays no instruction for it.
 * The calls go through this table so that queue/ includes nothing above
 * it; self is the calling task, or NULL for a try form. */
typedef struct aq__shared_vt {
    int (*put)(aq_queue *q, const void *item, aq_task *self, int64_t d);
    int (*get)(aq_queue *q, void *out, aq_task *self, int64_t d);
    int (*task_done)(aq_queue *q);
    int (*join)(aq_queue *q, aq_task *self, int64_t d);
    int (*shutdown)(aq_queue *q, int immediate);
    int (*free)(aq_queue *q);
    int (*set_overflow)(aq_queue *q, aq_overflow policy, aq_drop_fn drop,
                        void *ud);
    int (*statistics)(const aq_queue *q, aq_queue_stats *out);
    int (*peek)(const aq_queue *q, size_t i, void *out);
} aq__shared_vt;

struct aq__shared {
    const aq__shared_vt *vt;
    /* Callers still to touch the queue again (vt->free refuses while any
     * is): a wait (shared.c) from its link to its last touch, and a batch
     * call (batch.c) for the whole call, since it goes on with its other
     * items after a wait. */
    _Atomic long inside;
};

/* Counts a caller in s->inside, then out after its last touch of the
 * queue (the release orders that touch before vt->free's acquire). */
static inline void aq__shared_enter(aq__shared *s)
{
    atomic_fetch_add_explicit(&s->inside, 1, memory_order_relaxed);
}

static inline void aq__shared_leave(aq__shared *s)
{
    aq__fiber_release(&s->inside); /* ThreadSanitizer: fiber.c */
    atomic_fetch_sub_explicit(&s->inside, 1, memory_order_release);
}

/* Can a put complete now (try_put succeed, or fail with a shutdown it
 * must report)? With room, or by hand-off: a getter waits only on an
 * empty queue, which only a rendezvous queue (limit 0) counts as full, so
 * the second test decides for rendezvous queues alone. */
static inline int aq__queue_can_put(const aq_queue *q)
{
    return q->count < q->limit || !aq__list_empty(&q->getters);
}

/* Would a put or get return at once (aq_select's readiness test)? Either
 * completes, or fails with AQ_ESHUTDOWN: a shut-down queue is ready, as a
 * closed Go channel is. A put under a DROP policy never waits, so it is
 * always ready. A get is also ready on an empty rendezvous queue with a
 * putter waiting. */
static inline int aq__queue_put_ready(const aq_queue *q)
{
    return aq__queue_can_put(q) || (q->flags & AQ__Q_SHUTDOWN) ||
           q->overflow;
}

static inline int aq__queue_get_ready(const aq_queue *q)
{
    return q->count > 0 || (q->flags & AQ__Q_SHUTDOWN) ||
           !aq__list_empty(&q->putters);
}

AQ__HIDDEN extern const aq__qops aq__fifo_ops, aq__lifo_ops, aq__prio_key_ops,
    aq__prio_ops;

/* The single-item paths of queue.c, for batch.c. They run after the
 * caller's checks (q and the buffer valid; with a task, its prologue
 * passed) and decide hand-off alone. With self the running task, a call
 * that cannot complete parks it until the deadline (then AQ_ETIMEDOUT,
 * AQ_ECANCELED, AQ_ESHUTDOWN); with self NULL it fails with AQ_EFULL or
 * AQ_EEMPTY instead. Otherwise as aq_queue_put_until/get_until. */
AQ__HIDDEN int aq__queue_put_one(aq_queue *q, const void *item,
                                 aq_task *self, int64_t deadline);
AQ__HIDDEN int aq__queue_get_one(aq_queue *q, void *out, aq_task *self,
                                 int64_t deadline);

/* The batch calls' fast path: store the longest prefix of items[0 .. n)
 * that needs no waiter served and fits, or take the longest run of up to
 * n items that refills no putter; each returns how many moved (0: go
 * item by item). Never suspend. */
AQ__HIDDEN size_t aq__queue_put_run(aq_queue *q, const void *items,
                                    size_t n);
AQ__HIDDEN size_t aq__queue_get_run(aq_queue *q, void *out, size_t n);
/* Calls q's drop callback on item as outside any task, q refusing every
 * change meanwhile (callback.c). */
AQ__HIDDEN void aq__queue_call_drop(aq_queue *q, void *item);
/* The drop callbacks this thread runs, innermost first (a callback may
 * call another queue, which drops in turn): callback.c links a frame per
 * call. */
typedef struct aq__drop_frame {
    const aq_queue *q;
    const struct aq__drop_frame *outer;
} aq__drop_frame;
extern _Thread_local const aq__drop_frame *aq__dropping;

/* Does this thread run q's drop callback, or one nested in it? */
static inline int aq__queue_dropping(const aq_queue *q)
{
    for (const aq__drop_frame *f = aq__dropping; f; f = f->outer)
        if (f->q == q)
            return 1;
    return 0;
}

/* Hands an item the queue lets go of without a get (displaced by a
 * DROP_OLDEST put, refused, discarded by an immediate shutdown, left at
 * aq_queue_free) to the drop callback, if any. */
static inline void aq__queue_victim(aq_queue *q, void *item)
{
    if (q->drop)
        aq__queue_call_drop(q, item);
}

/* The end of a DROP_OLDEST put that stored its item in a victim's
 * place: the new item takes over the victim's unfinished count, or
 * counts one if task_done calls had brought it to zero. */
static inline int aq__queue_replaced(aq_queue *q)
{
    q->dropped++;
    if (q->unfinished == 0)
        q->unfinished = 1;
    return AQ_OK;
}

/* A put whose item never enters (DROP_NEWEST, or a DROP_OLDEST put of
 * the least urgent item): the callback only reads it, and it never
 * counts as unfinished. Returns AQ_EDROPPED. */
AQ__HIDDEN int aq__queue_refuse(aq_queue *q, const void *item);

/* Discards a stored item on its way out of storage (the kind then
 * forgets it): passes it to q->drop, counts it dropped and takes back its
 * unfinished count (never below zero; waking joiners is the caller's
 * business, since a DROP_OLDEST put adds one straight back). */
static inline void aq__queue_discard(aq_queue *q, void *item)
{
    q->dropped++; /* counted first: the callback sees figures that add up */
    if (q->unfinished > 0)
        q->unfinished--;
    aq__queue_victim(q, item);
}

/* Doubles q->buf (entry bytes a slot), keeping cap a power of two. */
AQ__HIDDEN int aq__queue_grow_buf(aq_queue *q, size_t entry);

/* Copies one item; sizes of a machine word or two are the common case
 * and are worth a direct move rather than a memcpy call. */
static inline void aq__item_copy(void *dst, const void *src, size_t n)
{
    switch (n) {
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    case 16: memcpy(dst, src, 16); break;
    default: memcpy(dst, src, n); break;
    }
}

/* The two moves by which a waiter is served (queue.c; and shared.c for
 * its own waiters). hand_over: an item goes from a putter straight to a
 * getter (dst), never stored: it counts as got and unfinished. refill:
 * after a get freed a slot of a full queue, the oldest putter's item is
 * stored in it (the slot exists, so push cannot fail; the count is back
 * where it was, so the high-water mark needs no look). */
static inline void aq__queue_hand_over(aq_queue *q, void *dst,
                                       const void *item)
{
    aq__item_copy(dst, item, q->item_size);
    q->unfinished++;
    q->got++;
}

static inline void aq__queue_refill(aq_queue *q, const void *item)
{
    q->ops->push(q, item);
    q->unfinished++;
}

#endif
