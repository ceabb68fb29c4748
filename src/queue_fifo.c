/* libaq - FIFO storage: a ring buffer of items. MIT licensed.
 *
 * Items live in buf[head .. head + count), wrapping at cap. The buffer
 * doubles when full (never past maxsize) and is kept afterwards.
 */
#include "internal.h"

static unsigned char *at(const aq_queue *q, size_t i)
{
    size_t idx = q->head + i;
    if (idx >= q->cap)
        idx -= q->cap;
    return q->buf + idx * q->item_size;
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
    if (++q->head == q->cap)
        q->head = 0;
    q->count--;
}

static void fifo_peek(const aq_queue *q, size_t i, void *out)
{
    memcpy(out, at(q, i), q->item_size);
}

const aq__qops aq__fifo_ops = {fifo_grow, fifo_push, fifo_pop, fifo_peek};
