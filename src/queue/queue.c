/* libaq - the queue core shared by every kind: waiters, backpressure,
 * task_done/join and shutdown. MIT licensed.
 *
 * Invariants, which direct hand-off keeps:
 * - getters wait only while the queue is empty: a put that finds a getter
 *   copies its item into the getter's buffer instead of storing it;
 * - putters wait only while the queue is full: a get that frees a slot
 *   moves the oldest putter's item in at once.
 * (A rendezvous queue stores nothing and counts as always full: there,
 * a put hands its item to a waiting getter or waits, and a get takes the
 * oldest waiting putter's item straight from its buffer.)
 * A woken waiter has therefore already got its item or placed it; nothing
 * is left for it to claim later, so a try_put/try_get cannot overtake it
 * (no barging, unlike CPython's bug 83055), and a cancel or timeout that
 * arrives after the wake-up changes nothing. A waiter cancelled before
 * that is simply unlinked: its put never inserts, its get never takes.
 *
 * Overflow policies keep both invariants: a policy is consulted only by
 * a put that finds the queue full and no getter (a full queue has none),
 * so an item that a getter could take is never dropped; and a queue with
 * a DROP policy never has putters, since such puts never wait.
 *
 * Statistics cost one increment per item got (the put count is derived
 * from it) and one compare per item stored; AQ_BLOCK queues pay nothing
 * else for policies: the policy is read only on the full-queue path.
 *
 * The storage kinds (fifo.c, lifo.c, prio.c) push and pop (one item or
 * a run of them), peek, drop a victim and shed an item; this file
 * decides when, for the batch calls of batch.c too.
 */
#include "queue/queue.h"

static inline int is_full(const aq_queue *q) { return q->count >= q->limit; }

/* The slow half of put, get and join: park on a wait list with the item
 * or destination. Out of line on purpose: the switch it inlines needs a
 * frame pointer and callee-saved registers, which would otherwise be set
 * up on every call, including the many that never wait (`make
 * bench-check`, bulk: 12 instructions per put + get more inlined). */
static __attribute__((noinline)) int park(aq_task *self, aq_list *list,
                                          void *buf, int64_t deadline,
                                          int kind, aq_queue *q)
{
    return aq__wait_on(self, list, buf, deadline, kind, q);
}

/* ---- life cycle ---------------------------------------------------------- */

static int queue_make(aq_queue **out, const aq__qops *ops, size_t item_size,
                      long maxsize, aq_cmp_fn cmp, void *ud)
{
    if (!out)
        return aq_einval("out is NULL");
    if (item_size == 0 || item_size > AQ_ITEM_MAX)
        return aq_einval("item_size is 0 or above AQ_ITEM_MAX");
    aq_queue *q = aq__malloc(sizeof *q);
    if (!q)
        return AQ_ENOMEM;
    memset(q, 0, sizeof *q);
    q->ops = ops;
    q->item_size = item_size;
    q->maxsize = maxsize > 0 ? maxsize : 0;
    q->limit = maxsize > 0 ? (size_t)maxsize : SIZE_MAX;
    q->cmp = cmp;
    q->ud = ud;
    /* A heap entry is a sequence number then the item, padded so that the
     * next entry's sequence number stays aligned. The other kinds store
     * bare items (slot 0: aq__queue_trim sizes their buffer by item). */
    if (ops == &aq__prio_ops || ops == &aq__prio_key_ops)
        q->slot = sizeof(uint64_t) + ((item_size + 7) & ~(size_t)7);
    aq__list_init(&q->getters);
    aq__list_init(&q->putters);
    aq__list_init(&q->joiners);
    *out = q;
    return AQ_OK;
}

int aq_queue_new(aq_queue **out, aq_queue_kind kind, size_t item_size,
                 long maxsize)
{
    switch (kind) {
    case AQ_FIFO:
        return queue_make(out, &aq__fifo_ops, item_size, maxsize, NULL, NULL);
    case AQ_LIFO:
        return queue_make(out, &aq__lifo_ops, item_size, maxsize, NULL, NULL);
    case AQ_PRIORITY:
        if (item_size < sizeof(int64_t))
            return aq_einval(
                "a priority queue's item_size is below 8 (its int64_t key)");
        return queue_make(out, &aq__prio_key_ops, item_size, maxsize, NULL,
                          NULL);
    case AQ_RENDEZVOUS: {
        /* Storage that is always full: a put can only hand over. */
        if (maxsize != 0)
            return aq_einval("a rendezvous queue's maxsize must be 0");
        int rc = queue_make(out, &aq__fifo_ops, item_size, 0, NULL, NULL);
        if (rc == AQ_OK) {
            (*out)->limit = 0;
            (*out)->flags = AQ__Q_RENDEZVOUS;
        }
        return rc;
    }
    }
    return aq_einval("unknown queue kind");
}

int aq_queue_new_prio(aq_queue **out, size_t item_size, long maxsize,
                      aq_cmp_fn cmp, void *ud)
{
    if (!cmp)
        return aq_einval("cmp is NULL");
    return queue_make(out, &aq__prio_ops, item_size, maxsize, cmp, ud);
}

int aq_queue_free(aq_queue *q)
{
    if (!q)
        return aq_einval("queue is NULL");
    if (q->flags & AQ__Q_SHARED)
        return q->shared->vt->free(q);
    if (!aq__list_empty(&q->getters) || !aq__list_empty(&q->putters) ||
        !aq__list_empty(&q->joiners) || q->batching)
        return AQ_EBUSY;
    /* Items still stored go to the drop callback, if any, so that what
     * pointer items own is not leaked: each out of q and counted before
     * its call, as a shutdown's are, so that the callback's figures add
     * up (put stays what entered). */
    while (q->drop && q->count)
        aq__queue_discard(q, q->ops->shed(q));
    aq__free(q->buf);
    aq__free(q);
    return AQ_OK;
}

/* Gives memory back after a spike, called when a get finds q empty and
 * its storage holds more than AQ__TRIM_MIN items: if q held at most a
 * quarter of its capacity since it last emptied (high_water, which the
 * put path keeps anyway, so this costs a put nothing), the capacity drops
 * to the power of two at least twice that peak (and AQ__TRIM_MIN). A
 * queue that keeps reaching a quarter of its storage keeps it, so a
 * steady queue never thrashes; after a burst, the burst's own emptying
 * only resets the peak, and the next one shrinks. An emptying is one
 * whatever number of gets find q empty before anything is stored again
 * (a batch get that ends on an empty queue, then a get that parks): with
 * nothing stored since the last one, there is nothing to judge. The ring
 * is empty, so nothing moves; a failed realloc keeps the old buffer. */
__attribute__((noinline)) void aq__queue_trim(aq_queue *q)
{
    size_t peak = q->high_water;
    if (peak == 0)
        return; /* the same emptying as the last call */
    if (peak > q->high_before)
        q->high_before = peak;
    q->high_water = 0; /* from now on: since this emptying */
    if (peak > q->cap / 4)
        return;
    size_t cap = AQ__TRIM_MIN;
    while (cap < 2 * peak)
        cap *= 2;
    size_t entry = q->slot ? q->slot : q->item_size;
    unsigned char *buf = aq__realloc(q->buf, cap * entry);
    if (!buf)
        return;
    q->buf = buf;
    q->cap = cap;
    q->head = 0;
}

int aq__queue_grow_buf(aq_queue *q, size_t entry)
{
    size_t cap = q->cap ? 2 * q->cap : 8;
    if (cap < q->cap || cap > SIZE_MAX / entry)
        return AQ_ENOMEM;
    unsigned char *buf = aq__realloc(q->buf, cap * entry);
    if (!buf)
        return AQ_ENOMEM;
    q->buf = buf;
    q->cap = cap;
    return AQ_OK;
}

/* ---- put ----------------------------------------------------------------- */

/* Completes a put on a queue that is not full: straight into the oldest
 * getter's buffer, else into storage. */
static inline int put_now(aq_queue *q, const void *item)
{
    if (aq__unlikely(!aq__list_empty(&q->getters))) {
        aq__waiter *g = aq__waiter_pop(&q->getters);
        aq__queue_hand_over(q, g->buf, item);
        aq__waiter_wake(g, AQ_OK);
        return AQ_OK;
    }
    if (aq__unlikely(q->count == q->cap)) {
        int rc = q->ops->grow(q);
        if (rc)
            return rc;
    }
    q->ops->push(q, item);
    q->unfinished++;
    if (q->count > q->high_water)
        q->high_water = q->count;
    return AQ_OK;
}

/* Out of line, so that put_overflow reaches it by a jump. */
__attribute__((noinline)) int aq__queue_refuse(aq_queue *q, const void *item)
{
    aq__queue_victim(q, (void *)item);
    q->dropped++;
    q->refused++;
    return AQ_EDROPPED;
}

/* A put on a full queue with no getter, under a DROP policy (the caller
 * checked q->overflow): never waits. Out of line: AQ_BLOCK queues never
 * come here. Both ways out are jumps (the kind's drop counts), so this
 * sets up no frame. */
static __attribute__((noinline)) int put_overflow(aq_queue *q,
                                                  const void *item)
{
    if (q->overflow == AQ_DROP_OLDEST)
        return q->ops->drop(q, item);
    return aq__queue_refuse(q, item);
}

/* A put on a shut-down or shared queue. Out of line, so that the test
 * that leads here stays a single test of memory: inlined, gcc loaded the
 * flags into a register to test them twice (one more instruction per
 * put, `make bench-check`). */
static __attribute__((noinline)) int put_flagged(aq_queue *q,
                                                 const void *item,
                                                 aq_task *self,
                                                 int64_t deadline)
{
    if (q->flags & AQ__Q_SHARED)
        return q->shared->vt->put(q, item, self, deadline);
    return AQ_ESHUTDOWN;
}

/* One put past the caller's checks, the path every put takes, single or
 * batched: completes at once if it can; else, with a task, parks it
 * until a get moves the item in (and counts it unfinished, so on AQ_OK
 * there is nothing left to do); with self NULL, fails with AQ_EFULL. A
 * DROP policy applies where it would wait or fail. */
AQ__ALWAYS_INLINE int put_one(aq_queue *q, const void *item, aq_task *self,
                             int64_t deadline)
{
    if (aq__unlikely(q->flags & (AQ__Q_SHUTDOWN | AQ__Q_SHARED)))
        return put_flagged(q, item, self, deadline);
    if (aq__likely(aq__queue_can_put(q)))
        return put_now(q, item);
    if (q->overflow)
        return put_overflow(q, item);
    if (!self)
        return AQ_EFULL;
    return park(self, &q->putters, (void *)item, deadline, AQ__W_PUT, q);
}

int aq__queue_put_one(aq_queue *q, const void *item, aq_task *self,
                      int64_t deadline)
{
    return put_one(q, item, self, deadline);
}

int aq_queue_try_put(aq_queue *q, const void *item)
{
    if (!q || !item)
        return aq_einval("queue or item is NULL");
    return put_one(q, item, NULL, AQ_NEVER);
}

/* The put of aq_queue_put and aq_queue_put_until, inlined into both. */
static inline int put_wait(aq_queue *q, const void *item, int64_t deadline)
{
    aq_task *self;
    AQ__SUSPEND_BEGIN(self, q && item, "queue or item is NULL");
    return put_one(q, item, self, deadline);
}

int aq_queue_put_until(aq_queue *q, const void *item, int64_t deadline)
{
    return put_wait(q, item, deadline);
}

int aq_queue_put(aq_queue *q, const void *item)
{
    return put_wait(q, item, AQ_NEVER);
}

/* ---- get ----------------------------------------------------------------- */

/* Completes a get on a non-empty queue, then refills the freed slot from
 * the oldest putter. */
static inline void get_now(aq_queue *q, void *out)
{
    q->ops->pop(q, out);
    q->got++;
    if (aq__unlikely(!aq__list_empty(&q->putters))) {
        aq__waiter *p = aq__waiter_pop(&q->putters);
        aq__queue_refill(q, p->buf);
        aq__waiter_wake(p, AQ_OK);
    }
}

/* A rendezvous get: takes the oldest putter's item straight from its
 * buffer. Putters wait on an empty queue only when it is a rendezvous
 * queue, so for the others the list is empty whenever count is 0. */
static __attribute__((noinline)) void get_from_putter(aq_queue *q,
                                                      void *out)
{
    aq__waiter *p = aq__waiter_pop(&q->putters);
    aq__queue_hand_over(q, out, p->buf);
    aq__waiter_wake(p, AQ_OK);
}

/* One get past the caller's checks, the path every get takes, single or
 * batched: completes at once if it can; else, with a task, parks it
 * with its buffer, into which a put copies its item; with self NULL,
 * fails with AQ_EEMPTY. */
AQ__ALWAYS_INLINE int get_one(aq_queue *q, void *out, aq_task *self,
                             int64_t deadline)
{
    if (aq__likely(q->count > 0)) {
        get_now(q, out);
        return AQ_OK;
    }
    if (aq__unlikely(q->flags)) { /* shut down, rendezvous or shared */
        if (q->flags & AQ__Q_SHARED)
            return q->shared->vt->get(q, out, self, deadline);
        if (q->flags & AQ__Q_SHUTDOWN)
            return AQ_ESHUTDOWN;
        if (!aq__list_empty(&q->putters)) {
            get_from_putter(q, out);
            return AQ_OK;
        }
    }
    if (aq__unlikely(q->cap > AQ__TRIM_MIN))
        aq__queue_trim(q); /* empty: the moment to give memory back */
    if (!self)
        return AQ_EEMPTY;
    return park(self, &q->getters, out, deadline, AQ__W_GET, q);
}

int aq__queue_get_one(aq_queue *q, void *out, aq_task *self,
                      int64_t deadline)
{
    return get_one(q, out, self, deadline);
}

int aq_queue_try_get(aq_queue *q, void *out)
{
    if (!q || !out)
        return aq_einval("queue or out is NULL");
    return get_one(q, out, NULL, AQ_NEVER);
}

/* The get of aq_queue_get and aq_queue_get_until, inlined into both. */
static inline int get_wait(aq_queue *q, void *out, int64_t deadline)
{
    aq_task *self;
    AQ__SUSPEND_BEGIN(self, q && out, "queue or out is NULL");
    return get_one(q, out, self, deadline);
}

int aq_queue_get_until(aq_queue *q, void *out, int64_t deadline)
{
    return get_wait(q, out, deadline);
}

int aq_queue_get(aq_queue *q, void *out)
{
    return get_wait(q, out, AQ_NEVER);
}

/* ---- size-checked forms ---------------------------------------------- */

/* A wrong size is an argument error: reported after AQ_EPERM, which the
 * plain call gives outside a task. */
int aq_queue_put_sized(aq_queue *q, const void *item, size_t size,
                       int64_t deadline)
{
    if (q && size != q->item_size && aq__cur)
        return aq_einval(
            "the item's size differs from the queue's item_size");
    return put_wait(q, item, deadline);
}

int aq_queue_get_sized(aq_queue *q, void *out, size_t size,
                       int64_t deadline)
{
    if (q && size != q->item_size && aq__cur)
        return aq_einval(
            "the item's size differs from the queue's item_size");
    return get_wait(q, out, deadline);
}

/* ---- runs (the batch calls' fast path, batch.c) ------------------------ */

/* A run moves many items with one storage call, and so only where no
 * waiter needs serving in between: the item path (put_one, get_one)
 * decides everything else, item by item. */

size_t aq__queue_put_run(aq_queue *q, const void *items, size_t n)
{
    /* A waiting getter takes the next item first (hand-off); a shut-down
     * or rendezvous queue, or a full one, stores nothing here. */
    if (q->flags || !aq__list_empty(&q->getters) || is_full(q))
        return 0;
    size_t k = q->limit - q->count < n ? q->limit - q->count : n;
    while (q->cap - q->count < k && q->ops->grow(q) == AQ_OK)
        ;
    /* Growth failed: store what fits; the item path reports AQ_ENOMEM. */
    if (k > q->cap - q->count)
        k = q->cap - q->count;
    if (k) {
        q->ops->push_run(q, items, k);
        q->unfinished += (long)k;
        if (q->count > q->high_water)
            q->high_water = q->count;
    }
    return k;
}

size_t aq__queue_get_run(aq_queue *q, void *out, size_t n)
{
    /* A waiting putter refills each freed slot in turn, as after a
     * single get: only the item path does that. */
    if (!aq__list_empty(&q->putters))
        return 0;
    size_t k = q->count < n ? q->count : n;
    if (k) { /* a shared queue's header (count 0) is never written */
        q->ops->pop_run(q, out, k);
        q->got += k;
    }
    return k;
}

/* ---- task_done and join -------------------------------------------------- */

int aq_queue_task_done(aq_queue *q)
{
    if (!q || q->unfinished <= 0) /* a shared header counts 0 */
        return !q ? aq_einval("queue is NULL")
               : q->flags & AQ__Q_SHARED
                   ? q->shared->vt->task_done(q)
                   : aq_einval("task_done was called more times than items "
                               "were put");
    if (--q->unfinished == 0)
        aq__task_wake_all(&q->joiners, AQ_OK);
    return AQ_OK;
}

int aq_queue_join_until(aq_queue *q, int64_t deadline)
{
    aq_task *self;
    AQ__SUSPEND_BEGIN(self, q != NULL, "queue is NULL");
    if (q->flags & AQ__Q_SHARED)
        return q->shared->vt->join(q, self, deadline);
    if (q->unfinished == 0)
        return AQ_OK;
    return park(self, &q->joiners, NULL, deadline, AQ__W_JOIN, q);
}

int aq_queue_join(aq_queue *q) { return aq_queue_join_until(q, AQ_NEVER); }

/* ---- shutdown ------------------------------------------------------------ */

int aq_queue_shutdown(aq_queue *q, int immediate)
{
    if (!q)
        return aq_einval("queue is NULL");
    if (q->flags & AQ__Q_SHARED)
        return q->shared->vt->shutdown(q, immediate);
    q->flags |= AQ__Q_SHUTDOWN;
    if (immediate) {
        /* Drop what is queued, each item counting as done (never below
         * zero) and passed to the drop callback once out of q, so that the
         * callback's figures and peek see only what is left (they saw the
         * whole queue, freed items included: a fresh user's trial). With
         * count 0 every kind is empty, wherever its other fields point. */
        while (q->count)
            aq__queue_discard(q, q->ops->shed(q));
        if (q->unfinished == 0)
            aq__task_wake_all(&q->joiners, AQ_OK);
    }
    /* Getters wait only on an empty queue, putters only on a full one:
     * after shutdown neither can ever complete. */
    aq__task_wake_all(&q->getters, AQ_ESHUTDOWN);
    aq__task_wake_all(&q->putters, AQ_ESHUTDOWN);
    return AQ_OK;
}

/* ---- introspection ------------------------------------------------------- */

/* A shared queue's header says nothing: its figures come from a snapshot
 * taken under its lock. none: the answer for a NULL q (AQ_EINVAL for a
 * count, 0 for a predicate, which answers only 1 or 0). */
#define AQ__FIGURE(q, none, field, own)                                   \
    do {                                                                  \
        if (!(q))                                                         \
            return (none);                                                \
        if ((q)->flags & AQ__Q_SHARED) {                                  \
            aq_queue_stats st;                                            \
            (q)->shared->vt->statistics((q), &st);                        \
            return (field);                                               \
        }                                                                 \
        return (own);                                                     \
    } while (0)

long aq_queue_qsize(const aq_queue *q)
{
    AQ__FIGURE(q, aq_einval("queue is NULL"), st.qsize, (long)q->count);
}
long aq_queue_maxsize(const aq_queue *q)
{
    return q ? q->maxsize : aq_einval("queue is NULL");
}
int aq_queue_empty(const aq_queue *q)
{
    AQ__FIGURE(q, 0, st.qsize == 0, q->count == 0);
}
int aq_queue_full(const aq_queue *q)
{
    AQ__FIGURE(q, 0,
               (q->flags & AQ__Q_RENDEZVOUS) ||
                   (st.maxsize > 0 && st.qsize >= st.maxsize),
               is_full(q));
}
int aq_queue_is_shutdown(const aq_queue *q)
{
    AQ__FIGURE(q, 0, st.is_shutdown, (q->flags & AQ__Q_SHUTDOWN) != 0);
}
long aq_queue_unfinished(const aq_queue *q)
{
    AQ__FIGURE(q, aq_einval("queue is NULL"), st.unfinished, q->unfinished);
}
long aq_queue_getters(const aq_queue *q)
{
    AQ__FIGURE(q, aq_einval("queue is NULL"), st.getters,
               (long)aq__list_len(&q->getters));
}
long aq_queue_putters(const aq_queue *q)
{
    AQ__FIGURE(q, aq_einval("queue is NULL"), st.putters,
               (long)aq__list_len(&q->putters));
}
long aq_queue_joiners(const aq_queue *q)
{
    AQ__FIGURE(q, aq_einval("queue is NULL"), st.joiners,
               (long)aq__list_len(&q->joiners));
}

int aq_queue_peek(const aq_queue *q, size_t i, void *out)
{
    if (q && out && (q->flags & AQ__Q_SHARED))
        return q->shared->vt->peek(q, i, out);
    if (!q || !out)
        return aq_einval("queue or out is NULL");
    if (i >= q->count)
        return aq_einval("the index is at or past qsize");
    q->ops->peek(q, i, out);
    return AQ_OK;
}

/* ---- overflow policy and statistics -------------------------------------- */

int aq_queue_set_overflow(aq_queue *q, aq_overflow policy, aq_drop_fn drop,
                          void *ud)
{
    if (!q)
        return aq_einval("queue is NULL");
    if (policy != AQ_BLOCK && policy != AQ_DROP_NEWEST &&
        policy != AQ_DROP_OLDEST)
        return aq_einval("the policy is unknown");
    if (q->flags & AQ__Q_SHARED)
        return q->shared->vt->set_overflow(q, policy, drop, ud);
    /* Only a bounded queue that stores items ever gets full enough to
     * drop. */
    if (policy != AQ_BLOCK &&
        (q->maxsize == 0 || (q->flags & AQ__Q_RENDEZVOUS)))
        return aq_einval("a drop policy needs a bounded queue (maxsize > 0) "
                         "that is not a rendezvous");
    /* Before the first put, so that no putter is waiting (DROP queues
     * have none) and every item ever stored was stored under one rule. */
    if (q->overflow_set || q->got + q->count + q->dropped > 0)
        return AQ_EBUSY;
    q->overflow = (unsigned char)policy;
    q->overflow_set = 1;
    q->drop = drop;
    q->drop_ud = ud;
    return AQ_OK;
}

int aq_queue_statistics(const aq_queue *q, aq_queue_stats *out)
{
    if (!q || !out)
        return aq_einval("queue or out is NULL");
    if (q->flags & AQ__Q_SHARED)
        return q->shared->vt->statistics(q, out);
    memset(out, 0, sizeof *out);
    out->put = q->got + q->count + q->dropped - q->refused;
    out->got = q->got;
    out->dropped = q->dropped;
    out->high_water =
        q->high_water > q->high_before ? q->high_water : q->high_before;
    out->qsize = (long)q->count;
    out->maxsize = q->maxsize;
    out->getters = (long)aq__list_len(&q->getters);
    out->putters = (long)aq__list_len(&q->putters);
    out->joiners = (long)aq__list_len(&q->joiners);
    out->unfinished = q->unfinished;
    out->is_shutdown = (q->flags & AQ__Q_SHUTDOWN) != 0;
    out->capacity = q->cap;
    return AQ_OK;
}
