/* libaq - FIFO storage: a ring buffer of items. MIT licensed.
 *
 * Items live in buf[head .. head + count), wrapping at cap. The capacity
 * is a power of two, so wrapping is a mask rather than a branch or a
 * division; the buffer doubles when full and is kept afterwards. With
 * count 0 the ring is empty wherever head points. DROP_OLDEST gives up
 * the item at head, the one the next get would take: O(1). A run of
 * items (the batch calls) moves with at most two memcpy calls, split
 * where it crosses the end of the ring.
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

/* The oldest item (a get's): head moves on, the slot keeps its bytes
 * until the next push (what a shutdown's or a free's drop callback
 * reads). */
static unsigned char *fifo_shed(aq_queue *q)
{
    unsigned char *item = at(q, 0);
    q->head = (q->head + 1) & (q->cap - 1);
    q->count--;
    return item;
}

static void fifo_pop(aq_queue *q, void *out)
{
    aq__item_copy(out, fifo_shed(q), q->item_size);
}

/* Pop and push in one: the new item goes to the tail slot, which in a
 * ring filled to cap is the head slot itself (the old item has been seen
 * by then), and head moves on; count stays. */
static inline int overwrite_oldest(aq_queue *q, const void *item)
{
    unsigned char *tail = at(q, q->count);
    q->head = (q->head + 1) & (q->cap - 1);
    aq__queue_replaced(q);
    /* The copy last: nothing of q is needed after it, so no register
     * has to be saved across it. */
    aq__item_copy(tail, item, q->item_size);
    return AQ_OK;
}

/* With a drop callback to call first: out of line, so that a drop
 * without one sets up no frame. */
static __attribute__((noinline)) int drop_seen(aq_queue *q, const void *item)
{
    aq__queue_victim(q, at(q, 0));
    return overwrite_oldest(q, item);
}

static int fifo_drop(aq_queue *q, const void *item)
{
    if (aq__unlikely(q->drop))
        return drop_seen(q, item);
    return overwrite_oldest(q, item);
}

static void fifo_peek(const aq_queue *q, size_t i, void *out)
{
    memcpy(out, at(q, i), q->item_size);
}

/* Copies n items between the ring, from slot `from` on (wrapping), and
 * the flat array `flat`: into the ring if `in`, else out of it. A run
 * crosses the end of the ring at most once, so this is at most two
 * memcpy calls, whatever n is. */
static void ring_copy(aq_queue *q, size_t from, unsigned char *flat,
                      size_t n, int in)
{
    size_t sz = q->item_size, first = q->cap - from < n ? q->cap - from : n;
    unsigned char *ring = q->buf + from * sz;
    memcpy(in ? ring : flat, in ? flat : ring, first * sz);
    if (n > first)
        memcpy(in ? q->buf : flat + first * sz,
               in ? flat + first * sz : q->buf, (n - first) * sz);
}

static void fifo_push_run(aq_queue *q, const void *items, size_t n)
{
    ring_copy(q, (q->head + q->count) & (q->cap - 1), (void *)items, n, 1);
    q->count += n;
}

static void fifo_pop_run(aq_queue *q, void *out, size_t n)
{
    ring_copy(q, q->head, out, n, 0);
    q->head = (q->head + n) & (q->cap - 1);
    q->count -= n;
}

const aq__qops aq__fifo_ops = {fifo_grow, fifo_push,     fifo_pop,
                               fifo_peek, fifo_push_run, fifo_pop_run,
                               fifo_drop, fifo_shed};
