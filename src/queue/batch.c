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
 * - a batch counts itself in the queue's `batching` (a shared queue's in
 *   its `inside`) for the whole call: unlike a single call it goes on
 *   with the queue after its wait, when no record of it is linked any
 *   more, so aq_queue_free must refuse meanwhile (a reviewer's
 *   reproducer: a get_many woken with its first item took the next from
 *   a queue another task had freed);
 * - *done and *got count exactly the items that moved, each once, the
 *   first ones of the array in array order; under a DROP policy *done
 *   also counts the new items the policy discarded (AQ_EDROPPED from the
 *   item path is not an early stop: the rest are still offered).
 */
#include "queue/queue.h"

/* Moves up to n items between buf and q, put (buf to q, in order) or get
 * (q to buf): runs where no waiter needs serving, else item by item. A
 * put waits (if self) for room as often as needed; a get for its first
 * item only. *count: how many moved. */
static int batch_run(aq_queue *q, unsigned char *buf, size_t n, size_t *count,
                     aq_task *self, int64_t deadline, int put)
{
    size_t i = 0, sz = q->item_size;
    int rc = AQ_OK;
    while (i < n) {
        unsigned char *at = buf + i * sz;
        size_t k = put ? aq__queue_put_run(q, at, n - i)
                       : aq__queue_get_run(q, at, n - i);
        if (k) {
            i += k;
            continue;
        }
        rc = put ? aq__queue_put_one(q, at, self, deadline)
                 : aq__queue_get_one(q, at, i ? NULL : self, deadline);
        /* An item a DROP policy discarded was dealt with (the callback
         * and the statistics say so): not an early stop. */
        if (rc == AQ_EDROPPED)
            rc = AQ_OK;
        if (rc != AQ_OK)
            break;
        i++;
        /* A cancel can only come in while the task waits. That item moved
         * (completed beats cancelled); a put must stop there, while a get
         * keeps what it can take without waiting. */
        if (put && self && i < n && aq__cancel_due(self)) {
            rc = AQ_ECANCELED;
            break;
        }
    }
    *count = i;
    /* A get that took items succeeded: they are the caller's. */
    return put || !i ? rc : AQ_OK;
}

/* batch_run, counted in (see the invariants). */
static int batch(aq_queue *q, unsigned char *buf, size_t n, size_t *count,
                 aq_task *self, int64_t deadline, int put)
{
    aq__shared *s = q->flags & AQ__Q_SHARED ? q->shared : NULL;
    if (s)
        aq__shared_enter(s);
    else
        q->batching++;
    int rc = batch_run(q, buf, n, count, self, deadline, put);
    if (s)
        aq__shared_leave(s); /* q may be freed from here on */
    else
        q->batching--;
    return rc;
}

/* Why the arguments were refused, in the header's names: the items and
 * done of a put, the out and got of a get. */
static const char *batch_why(const aq_queue *q, const void *buf,
                             const size_t *count, int put)
{
    if (!q)
        return "queue is NULL";
    if (!buf || !count)
        return put ? "items or done is NULL" : "out or got is NULL";
    return "n is 0";
}

/* The shared prologue, as a function whose code batch_wait can look at. */
static int batch_begin(aq_task **self, aq_queue *q, const void *buf, size_t n,
                       const size_t *count, int put)
{
    AQ__SUSPEND_BEGIN(*self, q && buf && count && n,
                      batch_why(q, buf, count, put));
    return AQ_OK;
}

/* The waiting forms: the shared prologue, then the batch. */
static int batch_wait(aq_queue *q, void *buf, size_t n, size_t *count,
                      int64_t deadline, int put)
{
    aq_task *self;
    int rc = batch_begin(&self, q, buf, n, count, put);
    if (rc == AQ_OK)
        return batch(q, buf, n, count, self, deadline, put);
    if (rc == AQ_ECANCELED) /* valid arguments: the count is owed */
        *count = 0;
    return rc;
}

/* The try forms: no task needed, never wait. */
static int batch_try(aq_queue *q, void *buf, size_t n, size_t *count,
                     int put)
{
    if (!q || !buf || !count || !n)
        return aq_einval(batch_why(q, buf, count, put));
    return batch(q, buf, n, count, NULL, AQ_NEVER, put);
}

int aq_queue_put_many_until(aq_queue *q, const void *items, size_t n,
                            size_t *done, int64_t deadline)
{
    /* Only puts read from buf: the cast drops nothing that is used. */
    return batch_wait(q, (void *)items, n, done, deadline, 1);
}

int aq_queue_put_many(aq_queue *q, const void *items, size_t n,
                      size_t *done)
{
    return aq_queue_put_many_until(q, items, n, done, AQ_NEVER);
}

int aq_queue_try_put_many(aq_queue *q, const void *items, size_t n,
                          size_t *done)
{
    return batch_try(q, (void *)items, n, done, 1);
}

int aq_queue_get_many_until(aq_queue *q, void *out, size_t n, size_t *got,
                            int64_t deadline)
{
    return batch_wait(q, out, n, got, deadline, 0);
}

int aq_queue_get_many(aq_queue *q, void *out, size_t n, size_t *got)
{
    return aq_queue_get_many_until(q, out, n, got, AQ_NEVER);
}

int aq_queue_try_get_many(aq_queue *q, void *out, size_t n, size_t *got)
{
    return batch_try(q, out, n, got, 0);
}
