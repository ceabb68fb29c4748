/* libaq - task groups (asyncio.TaskGroup, Trio's nursery, Go's errgroup).
 * MIT licensed.
 *
 * A group runs child tasks of the form int fn(void *arg); a child fails
 * by returning nonzero, except a cancelled child returning AQ_ECANCELED.
 * Invariants:
 * - live == the records on `children` == the children not yet returned.
 * - The first failure is the group's: its status is kept, and every
 *   other live child is cancelled at once (later failures, often those
 *   cancellations, are ignored), as asyncio's TaskGroup does.
 * - No child outlives a wait: whatever ends aq_group_wait (all done, the
 *   waiter cancelled, its deadline), the call returns only once live is
 *   0; when the waiter is cut short it cancels the children first, then
 *   waits for them shielded from its own cancellation and scopes.
 * - A group that is cancelling (failed, or cancelled while children
 *   live) takes no new child, as asyncio's refuses create_task while it
 *   shuts down: a child spawned then would never be cancelled and would
 *   hold the wait past its deadline. A failure refuses for good
 *   (AQ_EGROUP); a cancel until live is back to 0 (AQ_ECANCELED).
 * Waiters of the group (aq_group_wait, select clauses) are woken together
 * when live reaches 0, as joiners of a task are.
 * - A woken waiter reads g once it runs (status, failed; live, which a
 *   spawn made meanwhile raises again, and then it waits again): it
 *   counts in `inside` from its first wait to its last read, and
 *   aq_group_free refuses while any does. (Counting only the linked
 *   waiters let the first woken one free g under the others.)
 */
#include "sync/sync.h"

typedef struct child {
    aq_list link; /* on the group's children */
    aq_group *g;
    aq_task *task;
    aq_group_fn fn;
    void *arg;
} child;

int aq_group_new(aq_group **out)
{
    if (!out)
        return aq_einval("out is NULL");
    aq_group *g = aq__malloc(sizeof *g);
    if (!g)
        return AQ_ENOMEM;
    aq__list_init(&g->children);
    aq__list_init(&g->waiters);
    g->live = 0;
    g->inside = 0;
    g->status = 0;
    g->failed = 0;
    g->cancelling = 0;
    *out = g;
    return AQ_OK;
}

int aq_group_free(aq_group *g)
{
    if (!g)
        return aq_einval("group is NULL");
    if (g->live || g->inside) /* every waiter linked counts in inside */
        return AQ_EBUSY;
    aq__free(g);
    return AQ_OK;
}

int aq_group_cancel(aq_group *g)
{
    if (!g)
        return aq_einval("group is NULL");
    g->cancelling = g->live > 0;
    for (aq_list *n = g->children.next; n != &g->children; n = n->next)
        aq_task_cancel(aq__list_entry(n, child, link)->task);
    return AQ_OK;
}

static void *child_entry(void *arg)
{
    child *c = arg;
    aq_group *g = c->g;
    int status = c->fn(c->arg);
    /* A cancelled child that says so is not a failure (CancelledError is
     * not an error of a TaskGroup either). */
    int failed = status != 0 &&
                 !(status == AQ_ECANCELED && c->task->cancelled);
    aq__list_remove(&c->link);
    aq__free(c);
    if (failed && !g->failed) {
        g->failed = 1;
        g->status = status;
        aq_group_cancel(g);
    }
    if (--g->live == 0) {
        g->cancelling = 0; /* done: the group takes children again */
        aq__task_wake_all(&g->waiters, AQ_OK);
    }
    return NULL;
}

int aq__group_has_child(const aq_group *g, const aq_task *t)
{
    /* A child's task runs child_entry on its record, alive until fn
     * returns, which is when t could be asking. */
    return t->fn == child_entry && ((const child *)t->arg)->g == g;
}

int aq_group_spawn(aq_group *g, aq_group_fn fn, void *arg)
{
    if (!aq__cur)
        return AQ_EPERM;
    if (!g || !fn)
        return aq_einval("group or fn is NULL");
    if (g->failed)
        return AQ_EGROUP; /* shutting down, as asyncio's TaskGroup */
    if (g->cancelling)
        return AQ_ECANCELED;
    child *c = aq__malloc(sizeof *c);
    if (!c)
        return AQ_ENOMEM;
    c->g = g;
    c->fn = fn;
    c->arg = arg;
    int rc = aq_loop_spawn(aq__cur->loop, &c->task, child_entry, c, 0);
    if (rc) {
        aq__free(c);
        return rc;
    }
    aq_task_release(c->task); /* detached: the record holds the pointer
                                 only while the child lives */
    aq__list_push_back(&g->children, &c->link);
    g->live++;
    return AQ_OK;
}

long aq_group_live(const aq_group *g)
{
    return g ? g->live : aq_einval("group is NULL");
}

/* Cancels the children and waits until every one has returned, whatever
 * the caller's state: no cancellation, deadline or scope of the caller's
 * cuts it short (only the loop's own end: it reaps them itself). Cancels
 * again after each wait: when the last child returns, the group takes
 * children again (child_entry) while this task is only ready, and a task
 * that runs first may spawn one, which the first cancel never reached:
 * uncancelled, it would hold the cut wait for its whole life, or for
 * ever if it waits on the waiter. Inlined, so that a compact task parks
 * from the frame that reserved its room. */
AQ__ALWAYS_INLINE void reap(aq_group *g, aq_task *self)
{
    aq__uncut saved;
    aq__uncut_begin(self, &saved);
    for (;;) {
        aq_group_cancel(g); /* and the group cancelling while live > 0 */
        if (g->live == 0 || self->loop->closing)
            break;
        aq__wait_on(self, &g->waiters, NULL, AQ_NEVER, AQ__W_GROUP, g);
    }
    aq__uncut_end(self, &saved);
}

int aq_group_wait_until(aq_group *g, int *status, int64_t deadline)
{
    aq_task *self = aq__cur;
    if (!self)
        return AQ_EPERM;
    if (!g)
        return aq_einval("group is NULL");
    if (aq__group_has_child(g, self)) /* it would wait for itself */
        return AQ_EDEADLK;
    /* A compact task needs room to park, for the wait and for the reap
     * that may follow: made first (runtime.h), so that an AQ_ENOMEM has
     * done nothing. Failing inside the reap instead, it had cancelled the
     * children and then retried without end. */
    int rc = g->live > 0 ? aq__park_reserve_ahead(self) : AQ_OK;
    if (rc != AQ_OK)
        return rc;
    aq__group_enter(g);
    if (aq__cancel_due(self))
        rc = AQ_ECANCELED;
    /* Again while live: a task that ran between the wake-up and this one
     * may have spawned a child (the group took it: live was 0), and no
     * child outlives the wait. A cancel that came meanwhile, while this
     * task was ready, would wake nothing: it is seen here. */
    while (rc == AQ_OK && g->live > 0) {
        rc = aq__wait_on(self, &g->waiters, NULL, deadline, AQ__W_GROUP, g);
        if (rc == AQ_OK && g->live > 0 && aq__cancel_due(self))
            rc = AQ_ECANCELED;
    }
    if (rc != AQ_OK) /* cut short: no child may outlive the wait */
        reap(g, self);
    if (status)
        *status = g->status;
    /* A child's failure beats the cut that ended the wait, once every
     * child has returned: asyncio's TaskGroup raises its ExceptionGroup,
     * not the CancelledError of a timeout or a cancel that came during
     * its wait (the timeout scope still says it expired). live is 0
     * whenever rc is AQ_OK; after a cut, unless the loop's final reaping
     * cut the reap short too. */
    if (g->failed && g->live == 0)
        rc = AQ_EGROUP;
    aq__group_leave(g);
    return rc;
}

int aq_group_wait(aq_group *g, int *status)
{
    return aq_group_wait_until(g, status, AQ_NEVER);
}
