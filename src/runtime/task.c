/* libaq - tasks: spawn, block and wake, cancel, wait, gather, sleep.
 * MIT licensed.
 *
 * Every suspension goes through aq__park (runtime.h): the task links a
 * waiter record per thing it waits on (none, to sleep), optionally arms
 * its deadline, and parks. Exactly one of three things then makes it
 * ready again, each unlinking all its records first so no other can: a
 * waker (aq__waiter_wake, after completing the operation of one record:
 * handing it an item, taking its item), its deadline, or a cancellation
 * (both aq__task_abort). A task already made ready is no longer WAITING,
 * so a late cancel cannot undo a completed operation: completed beats
 * cancelled, and an item is never lost.
 *
 * References: a task holds one for the loop until it returns, and one for
 * the handle aq_spawn gave out, if any.
 */
#include "runtime/runtime.h"

#include <string.h>

_Atomic uint64_t aq__task_serials;

/* ---- blocking and waking ------------------------------------------------- */

void aq__task_unlink_waits(aq_task *t)
{
    for (unsigned i = 0; i < t->nwaits; i++)
        aq__list_remove(&t->waits[i].link); /* no-op if on no list */
}

void aq__task_abort(aq_task *t, int rc)
{
    if (aq__unlikely(t->foreign)) {
        aq__foreign *f = (aq__foreign *)t->waits;
        f->abort(f);
    } else {
        aq__task_unlink_waits(t);
    }
    aq__task_wake(t, rc);
}

void aq__task_wake_all(aq_list *list, int rc)
{
    while (!aq__list_empty(list))
        aq__waiter_wake(aq__waiter_pop(list), rc);
}

AQ__UNTRACED void aq__task_entry(void)
{
    aq_task *t = aq__cur;
    if (aq__unlikely(aq__fibers))
        aq__fiber_resumed(t->loop, NULL);
    aq__prefetch_next(t->loop);
    t->result = t->fn(t->arg);
    t->state = AQ__DONE;
    t->loop->nlive--;
    aq__task_wake_all(&t->joiners, AQ_OK);
    aq__loop_exit(t);
}

/* Task records are kept for reuse like stacks (same limit): a malloc and
 * a free cost more than the rest of a spawn. The loop frees them. */
static void record_put(aq_loop *l, aq_task *t)
{
    if (t->name) { /* a reused record starts without one */
        aq__free(t->name);
        t->name = NULL;
    }
    if (l->nspare < l->pool_max) {
        t->arg = l->spare;
        l->spare = t;
        l->nspare++;
    } else {
        aq__task_free_record(t);
    }
}

void aq__task_unref(aq_task *t)
{
    if (--t->refs == 0) {
        aq__list_remove(&t->all);
        record_put(t->loop, t);
    }
}

void aq__task_free_record(aq_task *t)
{
    if (t->fiber)
        aq__fiber_free(t);
    aq__free(t->name);
    aq__free(t->save);
    aq__free(t);
}

void aq__task_free_spares(aq_loop *l, size_t keep)
{
    while (l->nspare > keep) {
        aq_task *t = l->spare;
        l->spare = t->arg;
        l->nspare--;
        aq__task_free_record(t);
    }
}

/* A record, from the spares (with the save buffer and the sanitizer's
 * fiber it had, if any) or new (with none). */
static aq_task *task_alloc(aq_loop *l)
{
    aq_task *t = l->spare;
    if (t) {
        l->spare = t->arg;
        l->nspare--;
        return t;
    }
    t = aq__malloc(sizeof *t);
    if (t) {
        t->save = NULL;
        t->save_cap = 0;
        t->fiber = NULL;
    }
    return t;
}

/* ---- spawn and lifetime -------------------------------------------------- */

int aq_loop_spawn(aq_loop *l, aq_task **out, aq_task_fn fn, void *arg,
                  size_t stack_size)
{
    if (!l || !fn)
        return aq_einval("loop or fn is NULL");
    if (l->freeing) /* a cleanup run within aq_loop_free: nothing would
                       run the task */
        return aq_einval("the loop is being freed (aq_loop_free)");
    int compact = stack_size == 0 && l->shared;
    if (stack_size == 0)
        stack_size = l->stack_size;
    else if (stack_size < AQ_STACK_MIN || stack_size > AQ_STACK_MAX)
        return aq_einval("stack_size is outside AQ_STACK_MIN..AQ_STACK_MAX");
    else
        stack_size = aq__page_round(stack_size);

    if (aq__timer_reserve(l, l->nlive + 1) != AQ_OK)
        return AQ_ENOMEM;
    aq_task *t = task_alloc(l);
    if (!t)
        return AQ_ENOMEM;
    memset(t, 0, offsetof(aq_task, save)); /* a reused record keeps the rest */
    t->loop = l;
    t->slow_park = l->debug;
    t->serial = atomic_fetch_add_explicit(&aq__task_serials, 1,
                                          memory_order_relaxed) +
                1;
    int rc = AQ_OK;
    if (compact)
        aq__compact_init(l, t);
    else
        rc = aq__stack_get(l, stack_size, &t->stack);
    if (rc) {
        record_put(l, t);
        return rc;
    }
    l->nlive++;
    t->cancelled = (unsigned char)l->closing;
    t->fn = fn;
    t->arg = arg;
    t->refs = out ? 2 : 1;
    t->heap_idx = AQ__NO_TIMER;
    t->nwaits = 1;
    aq__list_init(&t->link);
    aq__list_init(&t->joiners);
    if (!compact) /* a compact task's frame is made when it first runs */
        aq__ctx_make(&t->ctx, t->stack->lo, t->stack->size, aq__task_entry);
    if (aq__unlikely(aq__fibers))
        aq__fiber_new(t);
    aq__list_push_back(&l->tasks, &t->all);
    aq__ready_push(l, t);
    if (out)
        *out = t;
    return AQ_OK;
}

int aq_spawn(aq_task **out, aq_task_fn fn, void *arg)
{
    if (!aq__cur)
        return AQ_EPERM;
    if (!fn) /* aq_loop_spawn's phrase would name a loop we supply */
        return aq_einval("fn is NULL");
    return aq_loop_spawn(aq__cur->loop, out, fn, arg, 0);
}

aq_task *aq_task_self(void) { return aq__cur; }

uint64_t aq_task_id(const aq_task *t) { return t ? t->serial : 0; }

int aq_task_release(aq_task *t)
{
    if (!t)
        return aq_einval("task is NULL");
    aq__task_unref(t);
    return AQ_OK;
}

int aq_task_done(const aq_task *t)
{
    return t && t->state == AQ__DONE;
}

int aq_task_cancelled(const aq_task *t)
{
    return t && t->cancelled;
}

int aq_task_shield(int on)
{
    aq_task *self = aq__cur;
    if (!self)
        return AQ_EPERM;
    int was = self->shielded;
    self->shielded = on != 0;
    return was;
}

int aq_task_cancel(aq_task *t)
{
    if (!t)
        return aq_einval("task is NULL");
    if (t->state == AQ__DONE)
        return AQ_EALREADY;
    t->cancelled = 1;
    if (t->state == AQ__WAITING && aq__cancel_due(t))
        aq__task_abort(t, AQ_ECANCELED);
    return AQ_OK;
}

/* ---- waiting for tasks --------------------------------------------------- */

int aq_task_wait_until(aq_task *t, void **result, int64_t deadline)
{
    aq_task *self = aq__cur;
    int rc;
    if (!self)
        return AQ_EPERM;
    if (!t)
        return aq_einval("task is NULL");
    if (t == self)
        return AQ_EDEADLK;
    if (t->loop != self->loop) /* its wake-up would go to the wrong loop */
        return aq_einval("the task belongs to another loop");
    if (aq__cancel_due(self))
        return AQ_ECANCELED;
    if (t->state != AQ__DONE) {
        rc = aq__wait_on(self, &t->joiners, NULL, deadline,
                             AQ__W_TASK, t);
        if (rc)
            return rc;
    }
    if (result)
        *result = t->result;
    return AQ_OK;
}

int aq_task_wait(aq_task *t, void **result)
{
    return aq_task_wait_until(t, result, AQ_NEVER);
}

/* Cancels every task of the set that has not returned (asyncio.gather's
 * answer to its own cancellation). */
static void cancel_set(aq_task *const *tasks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tasks[i]->state != AQ__DONE)
            aq_task_cancel(tasks[i]);
}

int aq_gather_until(aq_task *const *tasks, size_t n, void **results,
                    int64_t deadline)
{
    aq_task *self = aq__cur;
    if (!self)
        return AQ_EPERM;
    if (!tasks && n > 0)
        return aq_einval("tasks is NULL with n > 0");
    for (size_t i = 0; i < n; i++) {
        if (!tasks[i])
            return aq_einval("an entry of tasks is NULL");
        if (tasks[i] == self)
            return AQ_EDEADLK;
        if (tasks[i]->loop != self->loop)
            return aq_einval("a task of tasks belongs to another loop");
    }
    if (aq__cancel_due(self)) {
        cancel_set(tasks, n);
        return AQ_ECANCELED;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = aq_task_wait_until(tasks[i], results ? &results[i] : NULL,
                                    deadline);
        if (rc == AQ_ENOMEM) /* a compact task could not park: no harm */
            return rc;
        if (rc) {
            cancel_set(tasks + i, n - i);
            return rc;
        }
    }
    return AQ_OK;
}

int aq_gather(aq_task *const *tasks, size_t n, void **results)
{
    return aq_gather_until(tasks, n, results, AQ_NEVER);
}

/* ---- yielding and sleeping ----------------------------------------------- */

/* Goes to the back of the ready list, past the checks of a suspension. */
AQ__ALWAYS_INLINE int yield_now(aq_task *self)
{
    aq__ready_push(self->loop, self);
    aq__loop_suspend(self);
    /* Nothing was completed on our behalf, so a cancel that arrived while
     * we sat on the ready list is reported now rather than later. */
    return aq__cancel_due(self) ? AQ_ECANCELED : AQ_OK;
}

int aq_yield(void)
{
    aq_task *self;
    AQ__SUSPEND_BEGIN(self, 1, NULL);
    /* A timeout scope whose deadline passed cuts every suspension short,
     * a yield's too (asyncio.timeout interrupts a sleep(0) alike). */
    int64_t d = AQ_NEVER;
    int rc = aq__park_begin(self, &d);
    return rc ? rc : yield_now(self);
}

int aq_sleep_until(int64_t deadline)
{
    aq_task *self;
    AQ__SUSPEND_BEGIN(self, 1, NULL);
    /* The deadline passing is a sleep's success, unless a timeout scope's
     * came first; a cancel that came first is turned into AQ_ECANCELED by
     * aq__park. */
    int64_t d = deadline;
    int rc = aq__park_begin(self, &d);
    if (rc == AQ_ETIMEDOUT && d == deadline) {
        /* Passed already, and no scope's deadline came first (one that
         * did is noted, and the sleep cut short): done, after a yield
         * that no scope cuts (aq_yield's would note the scope). */
        rc = aq__park_reserve(self);
        return rc ? rc : yield_now(self);
    }
    if (rc == AQ_OK) {
        aq__waiter w = {{&w.link, &w.link}, self, NULL, 0, AQ__W_SLEEP,
                        NULL}; /* on no list */
        rc = aq__park(self, &w, d);
    }
    if (rc == AQ_ETIMEDOUT && d == deadline)
        return AQ_OK;
    return rc;
}

int aq_sleep(int64_t ns)
{
    if (ns <= 0)
        return aq_yield();
    int64_t now = aq_now();
    /* A duration past the clock's range means "forever", not a wrap. */
    return aq_sleep_until(ns > INT64_MAX - now ? AQ_NEVER : now + ns);
}

/* ---- names (asyncio's Task.set_name, get_name) ----------------------------- */

int aq_task_set_name(aq_task *t, const char *name)
{
    if (!t || !name)
        return aq_einval("task or name is NULL");
    size_t n = strlen(name);
    char *copy = aq__malloc(n + 1);
    if (!copy)
        return AQ_ENOMEM;
    memcpy(copy, name, n + 1);
    aq__free(t->name);
    t->name = copy;
    return AQ_OK;
}

const char *aq_task_name(const aq_task *t) { return t ? t->name : NULL; }
