/* libaq - queues, overflow policies, batches, statistics. MIT licensed.
 * Part of the public API: include <aq.h>, which includes every part in
 * order; its opening comment states the conventions all of them follow. */
#ifndef AQ_API_QUEUE_H
#define AQ_API_QUEUE_H

#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/*  Queues                                                               */
/* ===================================================================== */

/* A queue of fixed-size items, copied in and out by value: an int, a
 * pointer (then the pointee moves to the getter) or a small struct.
 * Waiters are served oldest first; a put that finds a waiting getter
 * copies its item straight into that getter's buffer, and a get that
 * frees a slot moves the oldest waiting putter's item in, so a try_put
 * or try_get can never overtake a waiter already woken (no barging).
 * An item handed over is the getter's at once: unlike CPython, which
 * keeps it queued until the woken getter runs, qsize, empty and full no
 * longer count it, and shutdown(immediate) cannot take it back. On a
 * LIFO or PRIORITY queue the item a waiting putter brings is thus in
 * storage by the next get, which may return it: a full LIFO queue of
 * maxsize 2 holding 1, 2 with a put of 3 waiting gives 2 then 3 to two
 * gets made at once, where CPython gives 2 then 1 (its putter has not
 * run yet). FIFO order is the same either way.
 *
 * Every successful put adds one unfinished task; task_done() removes
 * it, and so does the discarding of a stored item (an immediate
 * shutdown, a DROP_OLDEST put: a discarded item is never waited for);
 * join() waits until none is left. shutdown() makes puts fail
 * and, once empty, gets fail, with AQ_ESHUTDOWN.
 *
 * A queue is not tied to a loop, but all its users must run on one
 * thread, unless it is shared (aq_queue_share, aq/thread.h). */
typedef struct aq_queue aq_queue;

/* The order a queue serves its items in, chosen at aq_queue_new: which of
 * asyncio's queue classes (or Go's unbuffered channel) it stands for. */
typedef enum aq_queue_kind {
    AQ_FIFO = 0,      /* asyncio.Queue: first in, first out */
    AQ_LIFO = 1,      /* asyncio.LifoQueue: last in, first out */
    AQ_PRIORITY = 2,  /* asyncio.PriorityQueue: smallest first; ties keep
                         insertion order */
    AQ_RENDEZVOUS = 3 /* no storage at all (Go's unbuffered channel, Trio's
                         max_buffer_size=0): a put completes only when a
                         getter takes its item. maxsize must be 0; qsize is
                         always 0 and full() always 1. Not asyncio's
                         maxsize=0, which means unbounded. With a putter
                         waiting, empty() is 1 and yet try_get succeeds:
                         test with try_get or aq_select, not empty(). */
} aq_queue_kind;

/* Orders two items of a priority queue: negative if a comes out before b,
 * positive if after, 0 for equal priority (then insertion order decides,
 * so payloads are never compared). ud is the pointer given at creation.
 * It runs in the middle of a put or get, as a plain function (as outside
 * any task, like aq_drop_fn): a call marked Suspends returns AQ_EPERM
 * there. It must not call into the queue, nor cancel or wake a task
 * (aq_task_cancel, aq_event_set, a release): a get may be handing a
 * waiting putter's item over as it runs, and that putter would be woken
 * twice. a and b point into the queue's storage, where an item is 8-byte
 * aligned: for a type that needs more (long double, __int128, SSE
 * vectors), memcpy it out rather than cast the pointer. */
typedef int (*aq_cmp_fn)(const void *a, const void *b, void *ud);

/* Largest accepted item size, in bytes. */
#define AQ_ITEM_MAX ((size_t)64 * 1024)

/* Creates a queue of items of item_size bytes in *out.
 * maxsize: the capacity; <= 0 means unbounded (asyncio's maxsize=0).
 * AQ_PRIORITY uses the ready-made ordering: each item begins with an
 * int64_t priority, smallest first (for example
 * struct job { int64_t prio; const char *name; }), so item_size must be
 * at least sizeof(int64_t). For another ordering use aq_queue_new_prio.
 * Returns: AQ_OK; AQ_EINVAL if out is NULL, kind is unknown, item_size is
 * 0 or above AQ_ITEM_MAX, or too small for AQ_PRIORITY, or maxsize is not
 * 0 for AQ_RENDEZVOUS; AQ_ENOMEM.
 * Does not suspend. Storage grows as needed and is reused. */
AQ_EXTERN int aq_queue_new(aq_queue **out, aq_queue_kind kind,
                           size_t item_size, long maxsize);

/* Creates an AQ_PRIORITY queue ordered by cmp (ud is passed to it).
 * Returns: AQ_OK; AQ_EINVAL if out or cmp is NULL or item_size is 0 or
 * above AQ_ITEM_MAX; AQ_ENOMEM. Does not suspend. */
AQ_EXTERN int aq_queue_new_prio(aq_queue **out, size_t item_size,
                                long maxsize, aq_cmp_fn cmp, void *ud);

/* Frees q and any items still in it, passing each to q's drop callback
 * if one is set (aq_queue_set_overflow), so that what pointer items own
 * can be freed, in an immediate shutdown's order, each counted as a
 * shutdown counts it (in the callback's figures, dropped grows,
 * unfinished falls and put stays).
 * Refused while a task (or, on a shared queue, a thread) waits on q.
 * Returns: AQ_OK; AQ_EINVAL if q is NULL; AQ_EBUSY if a getter, putter or
 * joiner is waiting, or a task is inside a put_many or get_many on q (one
 * woken from its wait goes on with its other items), or on a shared queue
 * while any thread or task is still inside a put, get or join on it,
 * waiting or completed and not yet returned: q is left as it was. AQ_OK
 * only says that no call is inside q now, not that none will start: free
 * q once no thread or task can call it again (shut it down, then join
 * those threads or wait for those tasks). Retrying until AQ_OK while a
 * consumer loops on get frees q between two of its gets, and its next
 * get uses freed memory. Does not suspend. */
AQ_EXTERN int aq_queue_free(aq_queue *q);

/* Puts a copy of the item_size bytes at item (await q.put(item)): hands
 * it to the oldest waiting getter, or stores it; if the queue is full,
 * waits for a free slot. A put that fails never inserts its item.
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_EINVAL if q or item is
 * NULL; AQ_ESHUTDOWN if q is (or becomes, while waiting) shut down;
 * AQ_ECANCELED; AQ_ETIMEDOUT (the _until form); AQ_ENOMEM if storage
 * could not grow; AQ_EDROPPED under a drop policy when the full queue
 * discarded this very item (aq_queue_set_overflow: it never waits then).
 * On a shared queue, also the codes of a task's first wait (thread.h).
 * Suspends. */
AQ_EXTERN int aq_queue_put(aq_queue *q, const void *item);
AQ_EXTERN int aq_queue_put_until(aq_queue *q, const void *item,
                                 int64_t deadline);

/* Puts without waiting (q.put_nowait(item)).
 * Returns: AQ_OK; AQ_EINVAL if q or item is NULL; AQ_ESHUTDOWN (checked
 * before fullness); AQ_EFULL (AQ_BLOCK policy); AQ_EDROPPED (a drop
 * policy discarded this very item); AQ_ENOMEM. Does not suspend;
 * callable outside a task. */
AQ_EXTERN int aq_queue_try_put(aq_queue *q, const void *item);

/* Takes the next item into the item_size bytes at out (await q.get()),
 * waiting while the queue is empty. After shutdown, gets still drain the
 * queued items, then fail.
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_EINVAL if q or out is NULL;
 * AQ_ESHUTDOWN if q is shut down and empty; AQ_ECANCELED; AQ_ETIMEDOUT
 * (the _until form); on a shared queue, also the codes of a task's first
 * wait (thread.h). On failure *out is untouched. Suspends. */
AQ_EXTERN int aq_queue_get(aq_queue *q, void *out);
AQ_EXTERN int aq_queue_get_until(aq_queue *q, void *out, int64_t deadline);

/* Takes an item without waiting (q.get_nowait()).
 * Returns: AQ_OK; AQ_EINVAL if q or out is NULL; AQ_ESHUTDOWN if shut
 * down and empty; AQ_EEMPTY. Does not suspend; callable outside a task. */
AQ_EXTERN int aq_queue_try_get(aq_queue *q, void *out);

/* Size-checked put and get: AQ_QUEUE_PUT(q, &x) and AQ_QUEUE_GET(q, &x)
 * pass sizeof x along, so a variable of the wrong type is caught, at run
 * time (C cannot know q's item_size when it compiles), with AQ_EINVAL and
 * nothing moved, where aq_queue_put would copy item_size bytes from it;
 * a non-pointer argument fails to compile. Otherwise as aq_queue_put_until
 * and aq_queue_get_until (deadline AQ_NEVER: none).
 * Returns: as those; AQ_EINVAL also if size is not q's item_size (after
 * AQ_EPERM, as every argument check). Suspends. */
AQ_EXTERN int aq_queue_put_sized(aq_queue *q, const void *item, size_t size,
                                 int64_t deadline);
AQ_EXTERN int aq_queue_get_sized(aq_queue *q, void *out, size_t size,
                                 int64_t deadline);
/* Puts *ptr: aq_queue_put_sized(q, ptr, sizeof *ptr, AQ_NEVER), so an
 * item of the wrong size fails with AQ_EINVAL. Suspends. */
#define AQ_QUEUE_PUT(q, ptr)                                              \
    aq_queue_put_sized((q), (ptr), sizeof *(ptr), AQ_NEVER)
/* Gets into *ptr: aq_queue_get_sized(q, ptr, sizeof *ptr, AQ_NEVER), so a
 * destination of the wrong size fails with AQ_EINVAL. Suspends. */
#define AQ_QUEUE_GET(q, ptr)                                              \
    aq_queue_get_sized((q), (ptr), sizeof *(ptr), AQ_NEVER)

/* Marks one got item as processed (q.task_done()).
 * Returns: AQ_OK; AQ_EINVAL if q is NULL or no task is unfinished (the
 * count stays 0). Never reports shutdown. Does not suspend. */
AQ_EXTERN int aq_queue_task_done(aq_queue *q);

/* Waits until every item put has been marked done (await q.join());
 * returns at once if none is unfinished. Never reports shutdown.
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_EINVAL if q is NULL;
 * AQ_ECANCELED; AQ_ETIMEDOUT (the _until form). Suspends. */
AQ_EXTERN int aq_queue_join(aq_queue *q);
AQ_EXTERN int aq_queue_join_until(aq_queue *q, int64_t deadline);

/* Shuts q down (q.shutdown(immediate); Go's close(ch)): puts fail from
 * now on with AQ_ESHUTDOWN (where Go's send on a closed channel panics)
 * and waiting putters are woken with it; gets drain what is queued, then
 * fail, leaving their destination untouched (the ok == false of Go's
 * `v, ok := <-ch`; `for v := range ch` is a loop while the get returns
 * AQ_OK), and waiting getters are woken with it. If immediate
 * is nonzero, queued items are dropped first, each subtracting one
 * unfinished task (never below zero), passed to the queue's drop callback
 * if aq_queue_set_overflow set one (in the order gets would take them,
 * oldest first for FIFO and top first for LIFO; for PRIORITY, in no order
 * to rely on; each out of q by its call, so that the callback's
 * qsize counts the items left and peek never shows one passed on) and
 * counted in aq_queue_stats.dropped; joiners are released if unfinished
 * reaches zero.
 * Repeating it is harmless; a later immediate shutdown still drops what is
 * left. Returns: AQ_OK; AQ_EINVAL if q is NULL. Does not suspend. */
AQ_EXTERN int aq_queue_shutdown(aq_queue *q, int immediate);

/* Introspection (q.qsize(), q.maxsize, q.empty(), q.full()). The counts
 * return the count (>= 0), or AQ_EINVAL if q is NULL; the predicates (empty,
 * full, is_shutdown) answer only 1 or 0, and 0 if q is NULL. None suspends. */
AQ_EXTERN long aq_queue_qsize(const aq_queue *q);      /* items queued */
AQ_EXTERN long aq_queue_maxsize(const aq_queue *q);    /* 0: unbounded */
AQ_EXTERN int aq_queue_empty(const aq_queue *q);       /* qsize == 0 */
AQ_EXTERN int aq_queue_full(const aq_queue *q);   /* maxsize>0, qsize>=max */
/* getters, putters, joiners: tasks waiting, and on a shared queue
 * threads too. */
AQ_EXTERN long aq_queue_getters(const aq_queue *q);    /* waiting gets */
AQ_EXTERN long aq_queue_putters(const aq_queue *q);    /* waiting puts */
AQ_EXTERN long aq_queue_joiners(const aq_queue *q);    /* waiting joins */
AQ_EXTERN long aq_queue_unfinished(const aq_queue *q); /* put, not done */
AQ_EXTERN int aq_queue_is_shutdown(const aq_queue *q);

/* ---- overflow policies --------------------------------------------- */

/* What a put does when a bounded queue is full. Waiting getters are
 * always served first: an item handed to a getter is never dropped. */
typedef enum aq_overflow {
    AQ_BLOCK = 0,       /* wait for room (asyncio's put); the default */
    AQ_DROP_NEWEST = 1, /* discard the item being put; the put returns
                           AQ_EDROPPED at once */
    AQ_DROP_OLDEST = 2  /* discard the stored item that has waited longest
                           for FIFO (the next one a get would take), the
                           bottom of the stack for LIFO, the least urgent
                           for PRIORITY (the last one a get would take:
                           if that is the new item itself, the new item is
                           discarded and the put returns AQ_EDROPPED);
                           the new item is then stored and the put returns
                           AQ_OK. Costs: FIFO O(1); LIFO moves the
                           maxsize - 1 items above the bottom down one
                           slot; PRIORITY scans the heap's leaf half,
                           maxsize / 2 comparisons (comparator calls) */
} aq_overflow;

/* Called once for each item a policy discards (including a new item a put
 * could not keep) and for each item an immediate aq_queue_shutdown discards,
 * with a pointer to its bytes, valid during the call only (do not write
 * through it: for a new item they are the caller's; FIFO and LIFO store items
 * item_size bytes apart, so memcpy out a type that needs more alignment than
 * that gives); ud is the pointer given to aq_queue_set_overflow (a stored
 * item of a PRIORITY queue is 8-byte aligned there: see aq_cmp_fn). It may
 * free what a pointer item owns. A call on q from it that would change q
 * (try_put, try_get, the batch calls, task_done, shutdown, set_overflow,
 * free, share, aq_select_try with a clause on q) returns AQ_EBUSY and changes
 * nothing, rather than work on the half-done put, also from a callback nested
 * in q's (q's calls another queue, which drops in turn); q's figures (qsize,
 * unfinished, statistics) and aq_queue_peek read q as it stands (a shutdown's
 * or a free's item already out of q); the thread faces (thread.h) say
 * AQ_EINVAL, q not being shared. A callback run outside any task (a try_put
 * from main) may run a loop, whose tasks find q refusing changes (AQ_EBUSY)
 * until the callback returns. It runs on the thread of the call that drops (a
 * put, a shutdown; on a shared queue any thread). It runs as a plain
 * function, as outside any task, even inside a task's put: a call marked
 * Suspends returns AQ_EPERM there (so do aq_spawn, and aq_task_self's NULL;
 * aq_run, aq_loop_run, aq_loop_run_ready, and aq_loop_free of a loop with
 * tasks to reap say AQ_EBUSY, as from the task), since a suspension would let
 * other tasks use q while the put that dropped the item is half done. The
 * try_ calls on other queues and semaphores, aq_event_set, aq_loop_spawn and
 * aq_task_cancel work as anywhere (aq_loop_current() is NULL there too: keep
 * the loop's pointer from before the put for aq_loop_spawn). */
typedef void (*aq_drop_fn)(void *item, void *ud);

/* Sets q's overflow policy, once, before the first put (the tutorial's
 * "custom backpressure (drop oldest, sample, etc.)"). With a DROP policy,
 * put, put_until and try_put never wait and never return AQ_EFULL: a put
 * that had to discard its own item returns AQ_EDROPPED, having passed it
 * to drop (if set). A discarded item never counts as unfinished, so
 * join() cannot wait on it: DROP_OLDEST takes back the unfinished count
 * of the stored item it discards (never below zero) as the new one adds
 * its own. Waiting getters are served first, so no item a getter could
 * take is ever discarded. The policy is looked at only by a put that
 * finds q full: AQ_BLOCK puts cost nothing extra. An immediate shutdown
 * and aq_queue_free pass the items they discard to drop too, whatever
 * the policy: AQ_BLOCK with a drop callback is how a queue of pointer
 * items frees what it still holds. Sampling (keep one in k
 * under overload) is a counter in the producer: examples/drop_oldest.c
 * shows both.
 * drop: may be NULL; aq_queue_statistics counts discarded items anyway.
 * Returns: AQ_OK; AQ_EINVAL if q is NULL, policy is unknown, or the
 * policy drops and q is unbounded or AQ_RENDEZVOUS (nothing to drop);
 * AQ_EBUSY if something was already put into q or a policy was already
 * set (nothing changes). Does not suspend. */
AQ_EXTERN int aq_queue_set_overflow(aq_queue *q, aq_overflow policy,
                                    aq_drop_fn drop, void *ud);

/* ---- batches --------------------------------------------------------- */

/* Takes up to n items into out[0 .. n * item_size), in get order, waiting
 * only until at least one is there: one wake-up drains a burst (Go has no
 * counterpart; asyncio users loop over get_nowait). A waiting call woken
 * by one item handed to it also takes what else is stored when it runs
 * (the queue may have filled meanwhile; on a rendezvous queue, the items
 * of waiting putters; on a full bounded queue, as repeated try_gets, so
 * each take lets the oldest waiting putter's item in, which it may take
 * too), even if a cancel came meanwhile (see below: it
 * then holds more than one item to deal with). Every item taken is
 * handed over:
 * *got says how many. Once one was handed to it, the call has completed:
 * a cancel or deadline arriving after that returns AQ_OK with *got >= 1
 * (completed beats cancelled), so a failure always has *got == 0.
 * got: receives the count taken (0 on failure).
 * Returns: AQ_OK with *got >= 1; AQ_EPERM outside a task; AQ_EINVAL if q,
 * out or got is NULL or n is 0; AQ_ESHUTDOWN if q is shut down and
 * empty; AQ_ECANCELED; AQ_ETIMEDOUT (the _until form). Suspends. */
AQ_EXTERN int aq_queue_get_many(aq_queue *q, void *out, size_t n,
                                size_t *got);
AQ_EXTERN int aq_queue_get_many_until(aq_queue *q, void *out, size_t n,
                                      size_t *got, int64_t deadline);

/* The non-waiting form: takes what is there, up to n, as that many
 * try_gets would (on a rendezvous queue, from the waiting putters, oldest
 * first).
 * Returns: AQ_OK with *got >= 1; AQ_EINVAL as above; AQ_ESHUTDOWN if shut
 * down and empty; AQ_EEMPTY. Does not suspend; callable outside a task. */
AQ_EXTERN int aq_queue_try_get_many(aq_queue *q, void *out, size_t n,
                                    size_t *got);

/* Puts the n items at items[0 .. n * item_size), in order, waiting for
 * room as needed (under a DROP policy, never waiting). It stops early on
 * cancellation, deadline or shutdown, or when a compact task cannot park
 * (AQ_ENOMEM): exactly the first *done items went in (each exactly
 * once), the rest did not. The cancellation is checked
 * between items even when none has to wait (a drop callback may cancel
 * the caller).
 * done: receives how many went in, or under a DROP policy were dealt
 *   with by it: an item discarded is counted in *done, passed to the drop
 *   callback and counted in the statistics, and the batch goes on (the
 *   call then returns AQ_OK, never AQ_EDROPPED).
 * Returns: AQ_OK with *done == n; AQ_EPERM outside a task; AQ_EINVAL if
 * q, items or done is NULL or n is 0; AQ_ESHUTDOWN; AQ_ECANCELED;
 * AQ_ETIMEDOUT (the _until form); AQ_ENOMEM. Suspends. */
AQ_EXTERN int aq_queue_put_many(aq_queue *q, const void *items, size_t n,
                                size_t *done);
AQ_EXTERN int aq_queue_put_many_until(aq_queue *q, const void *items,
                                      size_t n, size_t *done,
                                      int64_t deadline);

/* The non-waiting form: puts what fits, in order. Under a DROP policy
 * everything fits: discarded items count in *done, as for
 * aq_queue_put_many, and the call returns AQ_OK, never AQ_EDROPPED.
 * Returns: AQ_OK with *done == n; AQ_EFULL with *done < n (the first
 * *done went in); AQ_EINVAL as above; AQ_ESHUTDOWN; AQ_ENOMEM. Does not
 * suspend; callable outside a task. */
AQ_EXTERN int aq_queue_try_put_many(aq_queue *q, const void *items,
                                    size_t n, size_t *done);

/* ---- statistics ------------------------------------------------------ */

/* A queue's counters at one moment (aq_queue_statistics, after Trio's
 * statistics()). */
typedef struct aq_queue_stats {
    uint64_t put;        /* items that entered: stored or handed over (a
                            new item the policy refused never entered) */
    uint64_t got;        /* items taken by gets, hand-offs included */
    uint64_t dropped;    /* items discarded: by the overflow policy or an
                            immediate shutdown */
    size_t high_water;   /* the largest qsize seen since the queue was
                            made (never reset; an item handed straight
                            to a getter is never stored, so it does not
                            raise it) */
    long qsize;          /* items stored now (q.qsize()); always 0 in a
                            rendezvous queue */
    long maxsize;        /* the capacity (q.maxsize); 0: unbounded */
    long getters;        /* tasks waiting to get, a select's get clauses
                            included (on a shared queue, threads too);
                            a get_many handed its first item has
                            completed and no longer counts */
    long putters;        /* tasks waiting to put, a select's put clauses
                            included (on a shared queue, threads too);
                            a put_many counts while parked for room,
                            not between two of its items */
    long joiners;        /* tasks waiting in join (on a shared queue,
                            threads too) */
    long unfinished;     /* items put and not yet marked done by
                            task_done: what join waits to see reach 0;
                            above qsize while items are out with their
                            getters (handed to a woken getter that has
                            not run yet included) */
    int is_shutdown;     /* 1 once aq_queue_shutdown was called, else 0 */
    size_t capacity;     /* items its storage holds now (see below) */
} aq_queue_stats;

/* Fills *out with q's counters. The totals cost one increment per item
 * got and one compare per item stored (put is derived: got + qsize +
 * the dropped items that had been stored); the waiter counts are
 * O(waiters).
 * A shared queue's are taken under its lock: one consistent snapshot.
 * Storage: 0 until the first item is stored, then a power of two (8 for
 * maxsize 5; always 0 for a rendezvous queue); it doubles as items come,
 * and gives memory back when a get finds q empty (not the get that takes
 * the last item: the next one, which finds nothing): if q held at most a
 * quarter of its capacity since a get last found it empty, the capacity
 * drops to twice that (a power of two, at least 64 items). A queue that
 * keeps reaching a quarter of its storage keeps it, so a steady queue
 * never reallocates; after a burst, the second time q runs empty gives
 * the burst's memory back. Running empty counts once however many gets
 * find q empty before an item is stored again: a drained queue polled
 * with try_get keeps the burst's storage until it next stores and
 * empties again.
 * Returns: AQ_OK; AQ_EINVAL if q or out is NULL. Does not suspend. */
AQ_EXTERN int aq_queue_statistics(const aq_queue *q, aq_queue_stats *out);

/* Copies the item that the i-th next get would return (i = 0: the next
 * one) into out, leaving the queue unchanged. O(1) for FIFO and LIFO,
 * O(n * i) for PRIORITY: meant for inspection, not for the hot path.
 * Returns: AQ_OK; AQ_EINVAL if q or out is NULL or i >= qsize.
 * Does not suspend. */
AQ_EXTERN int aq_queue_peek(const aq_queue *q, size_t i, void *out);

#ifdef __cplusplus
}
#endif
#endif /* AQ_API_QUEUE_H */
