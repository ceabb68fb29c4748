/* libaq - FIFO storage: a ring buffer of items. MIT licensed.
 *
 * Items live in buf[head .. head + count), wrapping at cap. The capacity
 * is a power of two, so wrapping is a mask rather than a branch or a
 * division; the buffer doubles when full and is kept afterwards. With
 * count 0 the ring is empty wherever head points. DROP_OLDEST gives up
 * the item at head, the one the next get would take: O(1).
 */
#include "queue/queue.h"

static inline unsigned char *at(const aq_queue *q, size_t i)
{
    return q->buf + ((q->head + i) & (q->cap - 1)) * q->item_size;
}

static int fifo_grow(aq_queue *q)
{
    size_t old = q->cap;
    int rc = aq__queue_grow_buf(q, q->item_size);
    if (rc)
        return rc;
    /* A wrapped ring keeps its wrapped tail at the front; slide the run
     * from head to the old end up to the new end instead. */
    if (q->count && q->head + q->count > old) {
        size_t run = old - q->head, sz = q->item_size;
        memmove(q->buf + (q->cap - run) * sz, q->buf + q->head * sz, run * sz);
        q->head = q->cap - run;
    }
    return AQ_OK;
}

static void fifo_push(aq_queue *q, const void *item)
{
    aq__item_copy(at(q, q->count), item, q->item_size);
    q->count++;
}

static void fifo_pop(aq_queue *q, void *out)
{
    aq__item_copy(out, q->buf + q->head * q->item_size, q->item_size);
    q->head = (q->head + 1) & (q->cap - 1);
    q->count--;
}

/* Pop and push in one: the new item goes to the tail slot, which in a
 * ring filled to cap is the head slot itself (the old item has been seen
 * by then), and head moves on; count stays. */
static int fifo_drop(aq_queue *q, const void *item)
{
    aq__queue_discard(q, at(q, 0));
    aq__item_copy(at(q, q->count), item, q->item_size);
    q->head = (q->head + 1) & (q->cap - 1);
    return AQ_OK;
}

static unsigned char *fifo_slot(const aq_queue *q, size_t i)
{
    return at(q, i);
}

static void fifo_peek(const aq_queue *q, size_t i, void *out)
{
    memcpy(out, at(q, i), q->item_size);
}

const aq__qops aq__fifo_ops = {fifo_grow, fifo_push, fifo_pop,
                               fifo_peek, fifo_drop, fifo_slot};
