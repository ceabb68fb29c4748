/* libaq - helpers shared by the sync conformance tests (test_sync_*.c).
 * MIT licensed.
 *
 * The test_sync_*.c files mirror CPython's test_asyncio/test_locks.py. A
 * Python case often does `asyncio.create_task(lock.acquire())`: here that
 * is a task running sh_op_task over a struct sh_op, which makes the one
 * waiting call of its primitive (event wait, lock or semaphore acquire,
 * condition wait with the lock taken first, barrier wait), records the
 * call's return code, pushes its tag on the log (rt_helpers.h) when the
 * call succeeded, and then, if asked, gives back what it took (releases
 * the lock or the permit; a condition waiter releases the lock it holds
 * whatever ended its wait), recording that release's code too.
 *
 * Also the fifth of neco's checks, the same for every primitive: _new
 * fails cleanly when its allocation fails.
 */
#ifndef AQ_SYNC_HELPERS_H
#define AQ_SYNC_HELPERS_H

#include "rt_helpers.h"

enum sh_kind { SH_EVENT, SH_LOCK, SH_SEM, SH_COND, SH_BARRIER };

struct sh_op {
    int kind;         /* enum sh_kind: which call obj gets */
    void *obj;        /* the aq_event, aq_lock, aq_sem, aq_cond, aq_barrier */
    int tag;          /* pushed on the log when the call succeeds */
    int64_t deadline; /* for the _until form; AQ_NEVER by default */
    int release;      /* give back what was taken (lock, permit, cond lock) */
    int rc;           /* the call's result; PENDING until it returns */
    int rel_rc;       /* the release's result; PENDING if none was made */
    int started;      /* the task reached its call */
    aq_event *hold;   /* if set: the task keeps what it holds until this
                         is set (shielded: a cancel does not cut it short) */
};

static inline struct sh_op sh_op(int kind, void *obj, int tag)
{
    return (struct sh_op){kind, obj, tag, AQ_NEVER, 1, PENDING, PENDING, 0,
                          NULL};
}

/* The waiting call of o's primitive. A condition waiter takes the lock
 * first (its failure is returned as is, and *locked stays 0). */
static inline int sh_call(struct sh_op *o, int *locked)
{
    switch (o->kind) {
    case SH_EVENT:
        return aq_event_wait_until(o->obj, o->deadline);
    case SH_LOCK:
        return aq_lock_acquire_until(o->obj, o->deadline);
    case SH_SEM:
        return aq_sem_acquire_until(o->obj, o->deadline);
    case SH_COND: {
        int rc = aq_lock_acquire(aq_cond_lock(o->obj));
        if (rc)
            return rc;
        *locked = 1;
        return aq_cond_wait_until(o->obj, o->deadline);
    }
    case SH_BARRIER:
        return aq_barrier_wait_until(o->obj, o->deadline);
    }
    t_fail(__FILE__, __LINE__, "unknown kind %d", o->kind);
    return AQ_EINVAL;
}

static void *sh_op_task(void *arg)
{
    struct sh_op *o = arg;
    int locked = 0;
    o->started = 1;
    int rc = sh_call(o, &locked);
    o->rc = rc;
    if (rc >= 0)
        log_push(o->tag);
    /* What the task holds now: a condition waiter the lock, whatever
     * ended its wait; a lock or semaphore waiter what it acquired. */
    int held = o->kind == SH_COND ? locked
               : (o->kind == SH_LOCK || o->kind == SH_SEM) && rc == AQ_OK;
    if (o->hold && held) { /* keep it until told, even if cancelled */
        int was = aq_task_shield(1);
        ASSERT_OK(aq_event_wait(o->hold));
        aq_task_shield(was);
    }
    if (o->release && held) {
        if (o->kind == SH_COND)
            o->rel_rc = aq_lock_release(aq_cond_lock(o->obj));
        else if (o->kind == SH_LOCK)
            o->rel_rc = aq_lock_release(o->obj);
        else
            o->rel_rc = aq_sem_release(o->obj);
    }
    return IARG(rc);
}

static inline aq_task *sh_spawn(aq_task_fn fn, void *arg)
{
    aq_task *t = NULL;
    ASSERT_OK(aq_spawn(&t, fn, arg));
    ASSERT(t != NULL);
    return t;
}

/* Fresh objects, asserting that _new worked. */
static inline aq_event *new_event(void)
{
    aq_event *e = NULL;
    ASSERT_OK(aq_event_new(&e));
    ASSERT(e != NULL);
    return e;
}

static inline aq_lock *new_lock(void)
{
    aq_lock *l = NULL;
    ASSERT_OK(aq_lock_new(&l));
    ASSERT(l != NULL);
    return l;
}

/* Spawns o's task (asyncio.create_task(...)). */
static inline aq_task *sh_start(struct sh_op *o)
{
    return sh_spawn(sh_op_task, o);
}

/* Waits for t, drops the handle and returns t's result as an int. */
static inline int sh_finish(aq_task *t)
{
    void *res = NULL;
    ASSERT_OK(aq_task_wait(t, &res));
    ASSERT_OK(aq_task_release(t));
    return (int)IVAL(res);
}

/* Cancels t and reaps it; its call must have reported `want`. */
static inline void sh_cancel_finish(aq_task *t, int want)
{
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_RC(sh_finish(t), want);
}

/* await asyncio.sleep(0), n times. */
static inline void sh_yields(int n)
{
    while (n-- > 0)
        ASSERT_OK(aq_yield());
}

/* Runs fn as the main task of a fresh loop (t_main), with a fresh log. */
static inline void sh_main(aq_task_fn fn, void *arg)
{
    log_reset();
    ASSERT(t_main(fn, arg) == NULL);
}

/* ---- neco's fail check: _new under a failed allocation ------------------ */

/* Makes a fresh `kind` object (a semaphore of value 1, a barrier of 2
 * parties, a condition with a lock of its own); returns _new's code. */
static inline int sh_new(int kind, void **out)
{
    switch (kind) {
    case SH_EVENT:
        return aq_event_new((aq_event **)out);
    case SH_LOCK:
        return aq_lock_new((aq_lock **)out);
    case SH_SEM:
        return aq_sem_new((aq_sem **)out, 1, 0);
    case SH_COND:
        return aq_cond_new((aq_cond **)out, NULL);
    case SH_BARRIER:
        return aq_barrier_new((aq_barrier **)out, 2);
    }
    return AQ_EINVAL;
}

static inline int sh_free(int kind, void *obj)
{
    switch (kind) {
    case SH_EVENT:
        return aq_event_free(obj);
    case SH_LOCK:
        return aq_lock_free(obj);
    case SH_SEM:
        return aq_sem_free(obj);
    case SH_COND:
        return aq_cond_free(obj);
    case SH_BARRIER:
        return aq_barrier_free(obj);
    }
    return AQ_EINVAL;
}

/* The k-th allocation of _new fails: AQ_ENOMEM, *out untouched, and (the
 * harness's counting allocator) nothing leaked. Then _new works. */
static inline void sh_check_new_fails(int kind, long k)
{
    void *sentinel = &sentinel, *obj = sentinel;
    t_fail_alloc_at(k);
    ASSERT_RC(sh_new(kind, &obj), AQ_ENOMEM);
    t_fail_alloc_at(0);
    ASSERT(obj == sentinel);
    ASSERT_EQ(t_live, 0);
    ASSERT_OK(sh_new(kind, &obj));
    ASSERT(obj != sentinel);
    ASSERT_OK(sh_free(kind, obj));
    ASSERT_EQ(t_live, 0);
}

#endif
