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

/* The top (a get's): the stack shrinks under it, its bytes stay until
 * the next push (what a shutdown's or a free's drop callback reads). */
static unsigned char *lifo_shed(aq_queue *q)
{
    q->count--;
    return q->buf + q->count * q->item_size;
}

static void lifo_pop(aq_queue *q, void *out)
{
    aq__item_copy(out, lifo_shed(q), q->item_size);
}

static int lifo_drop(aq_queue *q, const void *item)
{
    size_t sz = q->item_size;
    aq__queue_victim(q, q->buf);
    memmove(q->buf, q->buf + sz, (q->count - 1) * sz);
    q->count--;
    lifo_push(q, item);
    return aq__queue_replaced(q);
}

static void lifo_peek(const aq_queue *q, size_t i, void *out)
{
    memcpy(out, q->buf + (q->count - 1 - i) * q->item_size, q->item_size);
}

/* Items pushed in order lie in order on the stack: one memcpy. */
static void lifo_push_run(aq_queue *q, const void *items, size_t n)
{
    memcpy(q->buf + q->count * q->item_size, items, n * q->item_size);
    q->count += n;
}

/* Pops come off the top, newest first: the run leaves reversed, so item
 * by item (each a direct move, no call through the ops table). */
static void lifo_pop_run(aq_queue *q, void *out, size_t n)
{
    size_t sz = q->item_size;
    unsigned char *dst = out;
    for (size_t i = 0; i < n; i++)
        aq__item_copy(dst + i * sz, q->buf + (q->count - 1 - i) * sz, sz);
    q->count -= n;
}

const aq__qops aq__lifo_ops = {lifo_grow, lifo_push,     lifo_pop,
                               lifo_peek, lifo_push_run, lifo_pop_run,
                               lifo_drop, lifo_shed};
