/* libaq - LIFO storage: a stack of items. MIT licensed.
 *
 * Items live in buf[0 .. count); the top is the last one. The buffer
 * doubles when full (never past maxsize) and is kept afterwards.
 * DROP_OLDEST gives up the bottom item, buf[0], and slides the rest down
 * one slot: O(maxsize) bytes moved per drop, the price of keeping push
 * and pop at the top a plain index.
 */
#include "queue/queue.h"

static int lifo_grow(aq_queue *q)
{
    return aq__queue_grow_buf(q, q->item_size);
}

static void lifo_push(aq_queue *q, const void *item)
{
    aq__item_copy(q->buf + q->count * q->item_size, item, q->item_size);
    q->count++;
}

static void lifo_pop(aq_queue *q, void *out)
{
    q->count--;
    aq__item_copy(out, q->buf + q->count * q->item_size, q->item_size);
}

static int lifo_drop(aq_queue *q, const void *item)
{
    size_t sz = q->item_size;
    aq__queue_discard(q, q->buf);
    memmove(q->buf, q->buf + sz, (q->count - 1) * sz);
    q->count--;
    lifo_push(q, item);
    return AQ_OK;
}

static unsigned char *lifo_slot(const aq_queue *q, size_t i)
{
    return q->buf + i * q->item_size;
}

static void lifo_peek(const aq_queue *q, size_t i, void *out)
{
    memcpy(out, q->buf + (q->count - 1 - i) * q->item_size, q->item_size);
}

const aq__qops aq__lifo_ops = {lifo_grow, lifo_push, lifo_pop,
                               lifo_peek, lifo_drop, lifo_slot};
