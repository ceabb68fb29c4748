/* libaq - select and its clauses. MIT licensed.
 * Part of the public API: include <aq.h>, which includes every part in
 * order; its opening comment states the conventions all of them follow. */
#ifndef AQ_API_SELECT_H
#define AQ_API_SELECT_H

#include "sync.h"

typedef struct aq_fd aq_fd; /* io.h */

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/*  Select                                                               */
/* ===================================================================== */

/* Waits on several things at once, completing exactly one of them (Go's
 * select, libdill's choose; asyncio.wait(FIRST_COMPLETED) for tasks). A
 * clause is a put of an item, a get into a buffer, the completion of a
 * task or of a task group, an event being set, the acquisition of a lock
 * or a semaphore permit, or an fd turning readable or writable (as
 * aq_fd_wait_readable: then read or write until EAGAIN). (A barrier wait
 * is not a clause: arriving is itself an action, which a losing clause
 * could not take back.) Fill
 * clauses with the AQ_PUT, AQ_GET, AQ_TASK, AQ_GROUP, AQ_EVENT, AQ_LOCK,
 * AQ_SEM, AQ_READABLE and AQ_WRITABLE initialisers:
 *
 *     aq_clause c[] = { AQ_GET(work, &job), AQ_GET(control, &cmd) };
 *     int i = aq_select(c, 2, 0);   // 0 or 1: which one completed
 *
 * A clause whose object is NULL is disabled, as a nil channel in Go:
 * switch clauses off and on between calls by setting it. A clause on
 * a shut-down queue is ready and completes with AQ_ESHUTDOWN in its rc
 * (as a closed channel is ready in Go): a put at once, a get once the
 * queue is empty, its buffer untouched. Go's done channel, closed to tell
 * every waiter to stop (context's Done()), is an aq_event set once,
 * waited for with an AQ_EVENT clause (no dummy item needed). When
 * several clauses are ready at the call, one is chosen at random with
 * equal probability (the loop's generator,
 * aq_loop_seed); with AQ_SELECT_BIASED the first ready clause in array
 * order is taken, for priority between queues. Once the select waits,
 * the first clause whose object is released completes (the first fd
 * whose readiness the loop sees, in the order the poller reports), and
 * the losing clauses consume nothing (an fd's readiness stays). Waiters
 * on each queue are still served oldest first: a select waiting on a
 * queue is one waiter among the others, and an item is handed to exactly
 * one of them. A shutdown wakes a queue's getters before its putters: a
 * select waiting with a get and a put clause on one queue (a rendezvous
 * queue) completes its get clause, with AQ_ESHUTDOWN.
 *
 * Exactly one clause completes: its item moves (or its task's result is
 * read, or the lock or permit is taken) and its rc is set; the others do
 * nothing and their rc is left as it was. A cancelled or timed-out
 * select completed none, unless one completed first (completed beats
 * cancelled: the index is returned). A clause woken by a shutdown moved
 * nothing: if the task is cancelled before it runs again, the select
 * returns AQ_ECANCELED with every rc left as it was, as a plain get
 * woken by a shutdown then reports the cancel (aq_task_cancel).
 * Up to AQ_SELECT_STATIC clauses (n, disabled ones included) wait with
 * no allocation; beyond that the waiter records are allocated (AQ_ENOMEM
 * before anything is done).
 * A task may not use the same queue or fd twice in the same direction in
 * one select (AQ_EINVAL); a put and a get on one queue, or a readable
 * and a writable clause on one fd, are allowed. The clauses are checked
 * in array order before anything changes, and the first bad one gives
 * the code (AQ_EINVAL, AQ_EBUSY or AQ_EDEADLK below). */
typedef struct aq_clause {
    int op;          /* AQ_OP_*: what the clause waits for */
    int rc;          /* out: the completed clause's result: AQ_OK;
                        AQ_ESHUTDOWN for a queue shut down; for a put on
                        a queue with a DROP policy (always ready: such a
                        put never waits), AQ_EDROPPED if its item was
                        discarded; AQ_EGROUP for a group that failed */
    union {          /* the object; NULL disables the clause */
        aq_queue *queue;
        aq_task *task;
        aq_event *event;
        aq_lock *lock;
        aq_sem *sem;
        aq_group *group;
        aq_fd *fd;
    };
    void *buf;       /* PUT: the item; GET: the destination; TASK: NULL or
                        a void * that receives the task's result; GROUP:
                        NULL or an int that receives its status */
    size_t size;     /* PUT, GET: bytes at buf, must be the queue's
                        item_size (a mismatch is AQ_EINVAL) */
} aq_clause;

enum {
    AQ_OP_PUT = 1,      /* aq_queue_put */
    AQ_OP_GET = 2,      /* aq_queue_get */
    AQ_OP_TASK = 3,     /* aq_task_wait (of a task of the caller's loop) */
    AQ_OP_EVENT = 4,    /* aq_event_wait */
    AQ_OP_LOCK = 5,     /* aq_lock_acquire: the caller owns the lock after */
    AQ_OP_SEM = 6,      /* aq_sem_acquire: the caller holds a permit after */
    AQ_OP_GROUP = 7,    /* aq_group_wait (without cancelling on a loss) */
    AQ_OP_READABLE = 8, /* aq_fd_wait_readable */
    AQ_OP_WRITABLE = 9  /* aq_fd_wait_writable */
};

/* Every clause macro below: each field named, in declaration order, so
 * that C++20 takes them too and g++'s -Wextra finds none missing. */
#define AQ__CLAUSE(op_, member, obj, buf_, size_)                         \
    {.op = (op_), .rc = 0, .member = (obj), .buf = (buf_), .size = (size_)}

/* A clause putting a copy of *item on queue q (aq_queue_put; Go's
 * case ch <- v): sizeof *item must be q's item_size, and *item must stay
 * valid until the select returns. A NULL q disables the clause. */
#define AQ_PUT(q, item)                                                   \
    AQ__CLAUSE(AQ_OP_PUT, queue, q, (void *)(item), sizeof *(item))
/* A clause getting an item of queue q into *out (aq_queue_get; Go's
 * case v := <-ch): sizeof *out must be q's item_size. A NULL q disables
 * the clause. */
#define AQ_GET(q, out) AQ__CLAUSE(AQ_OP_GET, queue, q, out, sizeof *(out))
/* A clause waiting for task t to return (aq_task_wait); result: NULL, or
 * a void ** that receives t's return value. A NULL t disables the
 * clause. */
#define AQ_TASK(t, result) AQ__CLAUSE(AQ_OP_TASK, task, t, result, 0)
/* A clause waiting for event e to be set (aq_event_wait). A NULL e
 * disables the clause. */
#define AQ_EVENT(e) AQ__CLAUSE(AQ_OP_EVENT, event, e, NULL, 0)
/* A clause acquiring lock l (aq_lock_acquire): if it completes, the
 * caller owns l. A NULL l disables the clause. */
#define AQ_LOCK(l) AQ__CLAUSE(AQ_OP_LOCK, lock, l, NULL, 0)
/* A clause taking a permit of semaphore s (aq_sem_acquire). A NULL s
 * disables the clause. */
#define AQ_SEM(s) AQ__CLAUSE(AQ_OP_SEM, sem, s, NULL, 0)
/* A clause waiting until every child of group g has returned
 * (aq_group_wait, but a select that loses, is cancelled or times out
 * cancels no child: aq_group_wait would); its rc is AQ_EGROUP if a
 * child failed. status: NULL, or an int * that receives the first failing
 * child's status, or 0. A NULL g disables the clause. The clause
 * completes when the last child returns: a child spawned into g after
 * that, by a task that ran before the select's, is not waited for (check
 * aq_group_live(g), or end with aq_group_wait, which waits again), and
 * rc and status are the group's when the select runs. (Waiting again
 * there would re-read every clause after the wake-up, when their objects
 * may legally be gone: an fd closed, an event freed.) */
#define AQ_GROUP(g, status) AQ__CLAUSE(AQ_OP_GROUP, group, g, status, 0)
/* A clause waiting for fd f to turn readable (aq_fd_wait_readable): then
 * read until EAGAIN. A NULL f disables the clause. */
#define AQ_READABLE(f) AQ__CLAUSE(AQ_OP_READABLE, fd, f, NULL, 0)
/* A clause waiting for fd f to turn writable (aq_fd_wait_writable): then
 * write until EAGAIN. A NULL f disables the clause. */
#define AQ_WRITABLE(f) AQ__CLAUSE(AQ_OP_WRITABLE, fd, f, NULL, 0)

/* Clauses that wait without allocating. */
#define AQ_SELECT_STATIC 8

/* flags: take the first ready clause in array order, not a random one. */
#define AQ_SELECT_BIASED 1

/* Completes one of the n clauses, waiting until one can complete.
 * Returns: the index of the clause that completed (>= 0; its rc says
 * how); AQ_EPERM outside a task; AQ_EINVAL if clauses is NULL, n is 0, a
 * clause's op is unknown, an enabled clause has a NULL buf (PUT, GET) or
 * a size other than its queue's item size, a queue or an fd appears
 * twice in the same direction, flags has unknown bits, a clause's queue
 * is shared (aq_queue_share), or a TASK or fd clause's task or fd is of
 * another loop; AQ_EBUSY if another task already waits on an fd clause's
 * fd in that direction; AQ_EDEADLK if a TASK clause names the caller, a
 * LOCK clause a lock the caller holds, or a GROUP clause a group the
 * caller is a child of; AQ_EBADF if an fd clause's fd was
 * closed while the select waited (no clause completed); AQ_ECANCELED;
 * AQ_ETIMEDOUT (the _until form; with every clause disabled, the call
 * just waits for the deadline or a cancel); AQ_ENOMEM (a ready put
 * clause whose queue's storage could not grow, more than
 * AQ_SELECT_STATIC clauses, or a compact task that could not reserve
 * room to park). Suspends. */
AQ_EXTERN int aq_select(aq_clause *clauses, size_t n, int flags);
AQ_EXTERN int aq_select_until(aq_clause *clauses, size_t n, int flags,
                              int64_t deadline);

/* The non-waiting form (Go's select with a default case): completes a
 * ready clause if there is one. An fd clause is ready once the loop has
 * reported the event (it polls while tasks are suspended), not as soon
 * as data reaches the fd.
 * Returns: the index; AQ_EAGAIN if no clause was ready; AQ_EINVAL as
 * above; AQ_EBUSY and AQ_EDEADLK as above; AQ_ENOMEM if a put's storage
 * could not grow. Does not suspend;
 * callable outside a task, except with a LOCK clause (a lock is owned by
 * a task: AQ_EPERM). */
AQ_EXTERN int aq_select_try(aq_clause *clauses, size_t n, int flags);

#ifdef __cplusplus
}
#endif
#endif /* AQ_API_SELECT_H */
