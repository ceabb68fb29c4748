/* libaq - batch calls: put_many and get_many, waiting or not. MIT
 * licensed.
 *
 * Invariants, all inherited from queue.c rather than decided here:
 * - every item moves either in a run (aq__queue_put_run/get_run: one
 *   storage call for many items, used only where no waiter needs serving
 *   in between) or through the single-item path (aq__queue_put_one/
 *   get_one), which alone decides hand-off, refills and parking; so a
 *   batch keeps exactly the order and the no-barging rule of that many
 *   single calls, and an overflow policy applied there applies here;
 * - a batch parks on one item at a time, through the same waiter record
 *   as a single call: a put_many waits with the item in flight (which a
 *   get moves in, or which never enters), a get_many only for its first
 *   item (which a put hands over, even if a cancel follows);
 * - *done and *got count exactly the items that moved, each once, the
 *   first ones of the array in array order.
 */
#include "queue/queue.h"

/* Puts items[0 .. n) in order: runs while they fit, item by item where a
 * getter waits or the queue is full. self NULL: never wait. */
static int put_many(aq_queue *q, const unsigned char *items, size_t n,
                    size_t *done, aq_task *self, int64_t deadline)
{
    size_t i = 0, sz = q->item_size;
    int rc = AQ_OK;
    while (i < n) {
        size_t k = aq__queue_put_run(q, items + i * sz, n - i);
        if (k) {
            i += k;
            continue;
        }
        rc = aq__queue_put_one(q, items + i * sz, self, deadline);
        if (rc != AQ_OK)
            break;
        i++;
        /* A cancel can only come in while the task waits. That item went
         * in (completed beats cancelled); the rest must not. */
        if (self && i < n && aq__cancel_due(self)) {
            rc = AQ_ECANCELED;
            break;
        }
    }
    *done = i;
    return rc;
}

/* Takes up to n items into out: runs where no putter waits, item by item
 * where one does. Waits (if self) for the first item only. */
static int get_many(aq_queue *q, unsigned char *out, size_t n, size_t *got,
                    aq_task *self, int64_t deadline)
{
    size_t i = 0, sz = q->item_size;
    int rc = AQ_OK;
    while (i < n) {
        size_t k = aq__queue_get_run(q, out + i * sz, n - i);
        if (k) {
            i += k;
            continue;
        }
        rc = aq__queue_get_one(q, out + i * sz, i ? NULL : self, deadline);
        if (rc != AQ_OK)
            break;
        i++;
    }
    *got = i;
    /* Having taken items, the call succeeded: they are the caller's. */
    return i ? AQ_OK : rc;
}

int aq_queue_put_many_until(aq_queue *q, const void *items, size_t n,
                            size_t *done, int64_t deadline)
{
    aq_task *self;
    int rc = aq__suspend_begin(&self, q && items && done && n);
    if (rc == AQ_OK)
        return put_many(q, items, n, done, self, deadline);
    if (rc == AQ_ECANCELED) /* valid arguments: the count is owed */
        *done = 0;
    return rc;
}

int aq_queue_put_many(aq_queue *q, const void *items, size_t n,
                      size_t *done)
{
    return aq_queue_put_many_until(q, items, n, done, AQ_NEVER);
}

int aq_queue_try_put_many(aq_queue *q, const void *items, size_t n,
                          size_t *done)
{
    if (!q || !items || !done || !n)
        return AQ_EINVAL;
    return put_many(q, items, n, done, NULL, AQ_NEVER);
}

int aq_queue_get_many_until(aq_queue *q, void *out, size_t n, size_t *got,
                            int64_t deadline)
{
    aq_task *self;
    int rc = aq__suspend_begin(&self, q && out && got && n);
    if (rc == AQ_OK)
        return get_many(q, out, n, got, self, deadline);
    if (rc == AQ_ECANCELED) /* valid arguments: the count is owed */
        *got = 0;
    return rc;
}

int aq_queue_get_many(aq_queue *q, void *out, size_t n, size_t *got)
{
    return aq_queue_get_many_until(q, out, n, got, AQ_NEVER);
}

int aq_queue_try_get_many(aq_queue *q, void *out, size_t n, size_t *got)
{
    if (!q || !out || !got || !n)
        return AQ_EINVAL;
    return get_many(q, out, n, got, NULL, AQ_NEVER);
}
