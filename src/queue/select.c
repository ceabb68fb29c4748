/* libaq - select: complete exactly one of several puts, gets, task and
 * group completions, event waits and lock or permit acquisitions (Go's
 * select, libdill's choose). MIT licensed.
 *
 * Invariants:
 * - Exactly one clause completes. Either the poll pass completes one and
 *   links nothing, or the task parks with one waiter record per enabled
 *   clause, and the first waker to complete a record unlinks all the
 *   others before anything else runs (aq__waiter_wake, runtime.h). One
 *   thread, so "first" needs no lock or claim flag.
 * - No record stays on a list once the call returns: a waker, the
 *   deadline or a cancel unlinks them all, whichever comes first.
 * - Waiters on each queue are served oldest first: a select's record is
 *   one waiter among the others, completed by queue.c's hand-off rules,
 *   so no second copy of those rules lives here.
 *
 * A select runs in up to three steps:
 * 1. scan: one pass that checks every clause before anything changes
 *    (AQ_EINVAL, AQ_EDEADLK) and counts the ready ones (a pure test per
 *    clause).
 * 2. choose: complete one ready clause (at random with equal
 *    probability, or the first in array order when biased) through the
 *    queue's own non-waiting path.
 * 3. park: link a record per enabled clause into the queue's getters or
 *    putters or the task's joiners, and park. The records live in this
 *    frame (AQ_SELECT_STATIC of them) or, past that, on the heap,
 *    allocated before anything is linked. In a compact task the frame
 *    moves while parked; compact.c re-links the records where they are.
 *    On wake-up, the completed record's index comes from the task
 *    (wait_index), and the clause's result is filled in.
 *
 * Fair choice counts ready clauses and draws one with a single random
 * number, rather than shuffling the clauses (as Go does): two cheap
 * passes with no permutation array, and each ready clause is equally
 * likely to be chosen (tests/test_select.c measures it).
 */
#include "queue/queue.h"
#include "sync/sync.h"

/* An fd clause's wait state (an aq_fd begins with it: runtime.h), and its
 * direction. */
static aq__fdwait *fdw(const aq_clause *c) { return (aq__fdwait *)c->fd; }

static unsigned fd_dir(const aq_clause *c)
{
    return c->op == AQ_OP_READABLE ? AQ__IO_IN : AQ__IO_OUT;
}

/* A clause's op is its waiter's kind (runtime.h cannot see select.h). */
#define SAME(k) ((int)AQ__W_##k == (int)AQ_OP_##k)
_Static_assert(SAME(PUT) && SAME(GET) && SAME(TASK) && SAME(EVENT) &&
                   SAME(LOCK) && SAME(SEM) && SAME(GROUP) && SAME(READABLE) &&
                   SAME(WRITABLE),
               "a clause's op is its waiter's kind");
#undef SAME

/* The union's pointer, whatever the kind: NULL disables the clause. */
static int enabled(const aq_clause *c) { return c->queue != NULL; }

/* Would the enabled clause's call return at once? Other kinds than
 * queues, out of line: the queue clauses are the hot ones. */
static int other_ready(const aq_clause *c)
{
    switch (c->op) {
    case AQ_OP_TASK:
        return c->task->state == AQ__DONE;
    case AQ_OP_EVENT:
        return c->event->set;
    case AQ_OP_LOCK:
        return c->lock->owner == 0;
    case AQ_OP_SEM:
        return aq__sem_value(c->sem) > 0;
    case AQ_OP_GROUP:
        return c->group->live == 0;
    default:
        return (fdw(c)->ready & fd_dir(c)) != 0;
    }
}

AQ__ALWAYS_INLINE int ready(const aq_clause *c)
{
    if (aq__likely(c->op == AQ_OP_GET))
        return aq__queue_get_ready(c->queue);
    if (c->op == AQ_OP_PUT)
        return aq__queue_put_ready(c->queue);
    return other_ready(c);
}

/* ---- 1. check, and count the ready clauses ------------------------------- */

/* Does clause i make the same operation on the same object as an
 * earlier one? The task would wait twice in one line (a queue's getters,
 * an fd's readers), and which record an item or an event reaches would
 * depend on the order of linking. */
static inline int twice(const aq_clause *c, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (c[j].queue == c[i].queue && c[j].op == c[i].op)
            return 1;
    return 0;
}

/* The arguments of clause i, on something other than a queue. */
static int check_other(const aq_clause *cs, size_t i, const aq_task *self)
{
    const aq_clause *c = &cs[i];
    switch (c->op) {
    case AQ_OP_TASK:
        if (!c->task || !self)
            return AQ_OK;
        if (c->task == self)
            return AQ_EDEADLK;
        return c->task->loop != self->loop
                   ? aq_einval("a task clause's task belongs to another loop")
                   : AQ_OK;
    case AQ_OP_LOCK: /* a lock is owned by a task: one must ask */
        if (!c->lock)
            return AQ_OK;
        if (!self)
            return AQ_EPERM;
        return aq__lock_owner_is(c->lock, self) ? AQ_EDEADLK : AQ_OK;
    case AQ_OP_GROUP: /* as aq_group_wait: a child would wait for itself */
        return c->group && self && aq__group_has_child(c->group, self)
                   ? AQ_EDEADLK
                   : AQ_OK;
    case AQ_OP_EVENT:
    case AQ_OP_SEM:
        return AQ_OK;
    case AQ_OP_READABLE: /* as aq_fd_wait_*: one waiter per direction */
    case AQ_OP_WRITABLE:
        if (!c->fd)
            return AQ_OK;
        if (self && fdw(c)->loop != self->loop)
            return aq_einval("an fd clause's fd belongs to another loop");
        if (twice(cs, i))
            return aq_einval(
                "two clauses wait for the same fd in the same direction");
        return aq__fdwait_busy(fdw(c), fd_dir(c)) ? AQ_EBUSY : AQ_OK;
    }
    return aq_einval("a clause has an unknown op");
}

/* A clause on a queue flagged shared: one shared between threads, or
 * one whose drop callback runs (callback.c). Out of line and cold, so
 * that the hot clauses' checks stay as they were. */
static __attribute__((cold, noinline)) int shared_clause(const aq_clause *c)
{
    if (c->queue->flags & AQ__Q_BUSY)
        return AQ_EBUSY;
    return aq_einval("a clause's queue is shared between threads (not a "
                     "select clause yet)");
}

/* A clause's own arguments: AQ_OK, or the code for the whole select.
 * Twice the same operation on one queue or fd is refused (twice):
 * O(n^2) over those clauses, which are few in practice (wait_any's task
 * clauses are not compared). */
AQ__ALWAYS_INLINE int check(const aq_clause *c, size_t i,
                            const aq_task *self)
{
    const aq_clause *ci = &c[i];
    if (ci->op != AQ_OP_GET && ci->op != AQ_OP_PUT)
        return check_other(c, i, self);
    if (!ci->queue)
        return AQ_OK;
    /* A shared queue's header is never ready and nobody serves its
     * lists: refused whatever the other clauses are (aq_queue_share: not
     * a clause yet), rather than left to wait for ever. */
    if (ci->queue->flags & AQ__Q_SHARED)
        return shared_clause(ci);
    if (!ci->buf)
        return aq_einval("a queue clause's buffer is NULL");
    if (ci->size != ci->queue->item_size)
        return aq_einval("a queue clause's size differs from the queue's "
                         "item size");
    if (twice(c, i))
        return aq_einval(
            "two clauses make the same operation on the same queue");
    return AQ_OK;
}

/* One pass: checks every clause before anything changes, and counts the
 * ready ones. Returns how many are ready (>= 0) with *pick the first (or,
 * when exactly one is, that one), or a negative code. */
AQ__ALWAYS_INLINE int scan(const aq_clause *c, size_t n, int flags,
                           const aq_task *self, size_t *pick)
{
    if (!c || n == 0 || (flags & ~AQ_SELECT_BIASED))
        return aq_einval(!c       ? "clauses is NULL"
                         : n == 0 ? "n is 0"
                                  : "flags has unknown bits");
    int nready = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = check(c, i, self);
        if (rc)
            return rc;
        if (enabled(&c[i]) && ready(&c[i]) && nready++ == 0)
            *pick = i;
    }
    return nready;
}

/* ---- 2. complete a ready clause ------------------------------------------ */

/* Fills in clause i, which completed with rc: its rc, and what a task or
 * group clause reads back. Returns i. */
static int finish(aq_clause *c, size_t i, int rc)
{
    if (c[i].op <= AQ_OP_GET) { /* a queue's: nothing to read back */
        c[i].rc = rc;
        return (int)i;
    }
    if (c[i].op == AQ_OP_TASK && c[i].buf)
        *(void **)c[i].buf = c[i].task->result;
    if (c[i].op == AQ_OP_GROUP) {
        if (c[i].group->failed)
            rc = AQ_EGROUP;
        if (c[i].buf)
            *(int *)c[i].buf = c[i].group->status;
    }
    if (c[i].op >= AQ_OP_READABLE) /* consumed, as aq_fd_wait_* does */
        aq__fdwait_consume(fdw(&c[i]), fd_dir(&c[i]));
    c[i].rc = rc;
    return (int)i;
}

/* Completes ready clause i through the object's own non-waiting path
 * (hand-off and no barging are queue.c's): its index, or AQ_ENOMEM if a
 * put could not grow its queue's storage (then nothing happened). A put
 * under a DROP policy completes with AQ_EDROPPED in its rc. */
static int complete(aq_clause *c, size_t i)
{
    int rc = AQ_OK;
    switch (c[i].op) {
    case AQ_OP_PUT:
        rc = aq__queue_put_one(c[i].queue, c[i].buf, NULL, AQ_NEVER);
        if (rc == AQ_ENOMEM)
            return rc;
        break;
    case AQ_OP_GET:
        rc = aq__queue_get_one(c[i].queue, c[i].buf, NULL, AQ_NEVER);
        break;
    case AQ_OP_LOCK: /* ready: free, and self is a task (check) */
        rc = aq_lock_try_acquire(c[i].lock);
        break;
    case AQ_OP_SEM:
        rc = aq_sem_try_acquire(c[i].sem);
        break;
    default: /* a task or group done, an event set, an fd ready: nothing
                to take here (finish consumes an fd's ready bit) */
        break;
    }
    return finish(c, i, rc);
}

/* A number in [0, n) from the generator: the top bits scaled (Lemire's
 * multiply-shift; its bias, n / 2^32, is far below what any test sees). */
static size_t draw(uint64_t *rng, size_t n)
{
    return (size_t)(((aq__rand_next(rng) >> 32) * (uint64_t)n) >> 32);
}

/* The generator for a select made outside any task (aq_select_try). */
static _Thread_local uint64_t loose_rng = 0x853c49e6748fea9bULL;

/* With nready >= 1 clauses ready and the first at `first`: completes the
 * first one (biased, or the only one), or one drawn at random. */
static int choose(aq_clause *c, int nready, size_t first, int flags,
                  aq_task *self)
{
    if (nready == 1 || (flags & AQ_SELECT_BIASED))
        return complete(c, first);
    size_t pick = draw(self ? &self->loop->rng : &loose_rng, (size_t)nready);
    for (size_t i = first;; i++)
        if (enabled(&c[i]) && ready(&c[i]) && pick-- == 0)
            return complete(c, i);
}

/* ---- 3. park ------------------------------------------------------------- */

/* The wait list a record joins for a clause on something other than a
 * queue (park picks a queue's getters or putters itself, beside the test
 * it makes there). Each object's releaser completes the oldest record as
 * it would a plain waiter, as a queue's hands over an item: a lock's
 * ownership or a permit handed over, every record at once for an event
 * set, a task or a group done. */
static aq_list *wait_list(const aq_clause *c)
{
    switch (c->op) {
    case AQ_OP_TASK:
        return &c->task->joiners;
    case AQ_OP_EVENT:
        return &c->event->waiters;
    case AQ_OP_LOCK:
        return &c->lock->waiters;
    case AQ_OP_SEM:
        return &c->sem->waiters;
    case AQ_OP_GROUP:
        return &c->group->waiters;
    default: /* an fd's direction */
        return c->op == AQ_OP_READABLE ? &fdw(c)->readers : &fdw(c)->writers;
    }
}

/* A group clause's select counts among the group's waiters from its
 * park to its last read of the group (finish), whichever clause won:
 * aq_group_free refuses until then (sync.h). */
static void leave_groups(aq_clause *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c[i].op == AQ_OP_GROUP && c[i].group)
            aq__group_leave(c[i].group);
}

/* Parks on every enabled clause until one completes: its index, or the
 * code that ended the wait (AQ_ETIMEDOUT, AQ_ECANCELED, AQ_ENOMEM). Out
 * of line, so that a select that completes at once does not set up this
 * frame and its records. */
static __attribute__((noinline)) int park(aq_clause *c, size_t n,
                                          aq_task *self, int64_t deadline)
{
    aq__waiter local[AQ_SELECT_STATIC], *w = local;
    int64_t d = deadline;
    int rc = aq__park_begin(self, &d);
    if (rc != AQ_OK)
        return rc;
    if (n > AQ_SELECT_STATIC) {
        if (n > SIZE_MAX / sizeof *w || !(w = aq__malloc(n * sizeof *w)))
            return AQ_ENOMEM;
    }
    unsigned k = 0, groups = 0;
    for (size_t i = 0; i < n; i++) {
        aq_queue *q = c[i].queue; /* the union's pointer */
        if (!q)
            continue;
        aq_list *list;
        if (c[i].op <= AQ_OP_GET) {
            list = c[i].op == AQ_OP_GET ? &q->getters : &q->putters;
            w[k].buf = c[i].buf;
        } else {
            list = wait_list(&c[i]);
            w[k].buf = NULL;
            if (c[i].op == AQ_OP_GROUP) {
                aq__group_enter(c[i].group);
                groups = 1;
            }
        }
        w[k].task = self;
        w[k].index = (int)i;
        w[k].kind = (unsigned char)c[i].op;
        w[k].on = q;
        aq__list_push_back(list, &w[k].link);
        k++;
    }
    self->nwaits = k;
    rc = aq__park(self, w, d);
    self->nwaits = 1; /* the default of a single wait (runtime.h) */
    int i = k > 1 ? self->wait_index : k == 1 ? w[0].index : -1;
    if (w != local)
        aq__free(w);
    if (rc == AQ_OK || rc == AQ_ESHUTDOWN)
        rc = finish(c, (size_t)i, rc); /* else nothing completed */
    if (groups)
        leave_groups(c, n);
    return rc;
}

/* ---- public -------------------------------------------------------------- */

int aq_select_until(aq_clause *c, size_t n, int flags, int64_t deadline)
{
    aq_task *self = aq__cur;
    size_t first = 0;
    if (aq__unlikely(!self))
        return AQ_EPERM;
    int nready = scan(c, n, flags, self, &first);
    if (nready < 0)
        return nready;
    if (aq__unlikely(aq__cancel_due(self)))
        return AQ_ECANCELED;
    if (nready > 0)
        return choose(c, nready, first, flags, self);
    return park(c, n, self, deadline);
}

int aq_select(aq_clause *c, size_t n, int flags)
{
    return aq_select_until(c, n, flags, AQ_NEVER);
}

int aq_select_try(aq_clause *c, size_t n, int flags)
{
    aq_task *self = aq__cur;
    size_t first = 0;
    int nready = scan(c, n, flags, self, &first);
    if (nready < 0)
        return nready;
    return nready ? choose(c, nready, first, flags, self) : AQ_EAGAIN;
}

/* ---- waiting for the first of several tasks ------------------------------ */

/* A select over one TASK clause per task, biased so that the lowest index
 * wins among tasks already done; NULL tasks are disabled clauses. */
int aq_task_wait_any_until(aq_task *const *tasks, size_t n, void **result,
                           int64_t deadline)
{
    aq_clause local[AQ_SELECT_STATIC], *c = local;
    if (!aq__cur)
        return AQ_EPERM;
    if (!tasks)
        return aq_einval("tasks is NULL");
    if (n == 0)
        return aq_einval("n is 0");
    size_t live = 0;
    for (size_t i = 0; i < n; i++)
        live += tasks[i] != NULL;
    if (live == 0)
        return aq_einval("every entry of tasks is NULL");
    if (n > AQ_SELECT_STATIC) {
        if (n > SIZE_MAX / sizeof *c || !(c = aq__malloc(n * sizeof *c)))
            return AQ_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        c[i] = (aq_clause)AQ_TASK(tasks[i], result);
    int rc = aq_select_until(c, n, AQ_SELECT_BIASED, deadline);
    if (c != local)
        aq__free(c);
    return rc;
}

int aq_task_wait_any(aq_task *const *tasks, size_t n, void **result)
{
    return aq_task_wait_any_until(tasks, n, result, AQ_NEVER);
}
