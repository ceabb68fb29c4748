/* libaq - the queue's private types: a shared core (queue.c) over a
 * storage kind (an ops table: fifo.c, lifo.c, prio.c). MIT licensed. */
#ifndef AQ_QUEUE_H
#define AQ_QUEUE_H

#include "runtime/runtime.h"

/* ---- queues (queue.c and queue_*.c) -------------------------------------- */

/* Storage of one queue kind. push never fails when count < cap; grow
 * makes room for one more item (AQ_OK or AQ_ENOMEM, nothing changed). */
typedef struct aq__qops {
    int (*grow)(aq_queue *q);
    void (*push)(aq_queue *q, const void *item);
    void (*pop)(aq_queue *q, void *out);
    /* The item the i-th next pop would return (i < count). */
    void (*peek)(const aq_queue *q, size_t i, void *out);
    /* AQ_DROP_OLDEST on a full queue: passes the stored item that the
     * kind gives up first to aq__queue_discard and stores item in its
     * place (AQ_OK), or returns AQ_EDROPPED, changing nothing, if item
     * itself is the one to give up (PRIORITY only). */
    int (*drop)(aq_queue *q, const void *item);
    /* The bytes of the i-th stored item in storage order (i < count), to
     * visit every item whatever the kind. */
    unsigned char *(*slot)(const aq_queue *q, size_t i);
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
    size_t high_water;   /* the largest count after a push */
};

#define AQ__Q_SHUTDOWN 1u   /* aq_queue_shutdown was called */
#define AQ__Q_RENDEZVOUS 2u /* AQ_RENDEZVOUS: stores nothing, limit 0 */

AQ__HIDDEN extern const aq__qops aq__fifo_ops, aq__lifo_ops, aq__prio_key_ops,
    aq__prio_ops;

/* Discards a stored item on its way out of storage (the kind then
 * forgets it): passes it to q->drop, counts it dropped and takes back its
 * unfinished count (never below zero; waking joiners is the caller's
 * business, since a DROP_OLDEST put adds one straight back). */
static inline void aq__queue_discard(aq_queue *q, void *item)
{
    if (q->drop)
        q->drop(item, q->drop_ud);
    q->dropped++;
    if (q->unfinished > 0)
        q->unfinished--;
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

#endif
