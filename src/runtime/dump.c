/* libaq - what a loop's tasks are doing: iterating them (asyncio's
 * all_tasks), a parked task's backtrace, and a dump of each, by hand or
 * when aq_run finds that nothing can ever run again (AQ_DEADLOCK_DUMP).
 * MIT licensed.
 *
 * Invariants:
 * - Reading only: a dump, a backtrace or an iteration changes no task,
 *   list or timer, so it may run at any point of the loop's thread, a
 *   deadlock included. A backtrace runs glibc's unwinder on the parked
 *   task's stack, below its saved frame, where nothing live is: the
 *   context switch (aq__ctx_call_on) lends it unwind information that
 *   leads into the task's frames, so no frame pointers are needed.
 * - What a parked task waits on is told from its records alone: each
 *   names its wait and its object (a kind byte and a pointer per park,
 *   set by whoever builds the record: aq__wait_on, select, the pool,
 *   shared queues), named by one table, aq__wait_names.
 * - How long a task has waited is known only in debug mode: a park then
 *   stamps its start (aq__park_begin_slow, which debug mode routes every
 *   park through), and a clock read per park is too dear otherwise (a
 *   hand-off costs about as much as one). A wait begun before debug mode
 *   was turned on has no stamp (0) and shows none.
 */
#define _GNU_SOURCE /* dladdr */
#include "runtime/runtime.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <limits.h>
#include <stdio.h>

int aq_loop_tasks(const aq_loop *l, aq_task **out, size_t n)
{
    if (!l || (!out && n > 0))
        return aq_einval("loop is NULL, or out is NULL with n > 0");
    size_t i = 0;
    for (const aq_list *e = l->tasks.next; e != &l->tasks; e = e->next) {
        aq_task *t = aq__list_entry(e, aq_task, all);
        if (t->state == AQ__DONE)
            continue;
        if (i < n)
            out[i] = t;
        i++;
    }
    return i > INT_MAX ? INT_MAX : (int)i;
}

const char *const aq__wait_names[AQ__W_KINDS] = {
    [AQ__W_PUT] = "put on queue",
    [AQ__W_GET] = "get from queue",
    [AQ__W_TASK] = "the end of task",
    [AQ__W_EVENT] = "event",
    [AQ__W_LOCK] = "lock",
    [AQ__W_SEM] = "semaphore",
    [AQ__W_GROUP] = "task group",
    [AQ__W_READABLE] = "readable fd",
    [AQ__W_WRITABLE] = "writable fd",
    [AQ__W_JOIN] = "join of queue",
    [AQ__W_COND] = "condition",
    [AQ__W_BARRIER] = "barrier",
    [AQ__W_POOL] = "blocking call on the pool (aq_to_thread)",
    [AQ__W_SLEEP] = "sleep",
};

/* What a WAITING task waits on, from its records: each names its wait
 * and the object (queue, task, lock, fd...) that it is for. */
static void waits_on(const aq_task *t, FILE *f)
{
    for (unsigned i = 0; i < t->nwaits; i++) {
        const aq__waiter *w = &t->waits[i];
        fprintf(f, "%s%s", i ? " or " : "", aq__wait_names[w->kind]);
        if (w->on)
            fprintf(f, " %p", w->on);
    }
}

/* ---- backtraces ---------------------------------------------------------- */

/* Room the unwinder needs below a parked frame (glibc's backtrace and
 * libgcc's unwinder take under 3 KiB here; the rest is margin). */
#define BT_ROOM 8192
#define BT_MAX 64 /* frames asked of the unwinder at most */

typedef struct {
    void *pcs[BT_MAX + 2];
    int got;
} bt_req;

static void bt_on_task_stack(void *arg)
{
    bt_req *r = arg;
    r->got = backtrace(r->pcs, BT_MAX + 2);
}

int aq_task_backtrace(const aq_task *t, void **pcs, size_t n)
{
    if (!t || (!pcs && n > 0))
        return aq_einval("task is NULL, or pcs is NULL with n > 0");
    if (t->state == AQ__DONE)
        return AQ_EALREADY;
    /* Its state, not aq__cur: a drop callback or a comparator run in the
     * task's put is the running task too (aq__cur is NULL there), and
     * its saved stack pointer is stale: unwinding from it wrote over the
     * callback's live frames. */
    if (t->state == AQ__RUNNING)
        return aq_einval("the task is the running one: call glibc's "
                         "backtrace() from it");
#if !AQ__CTX_HAS_SP
    return aq_einval("this build's context switch (ucontext) keeps no "
                     "frame to unwind");
#else
    if (t->compact)
        return aq_einval("a compact task's frames are copied aside");
    if ((uintptr_t)aq__ctx_resume_pc(&t->ctx) == (uintptr_t)aq__task_entry)
        return 0; /* has not run yet: no frames */
    char *sp = aq__ctx_sp((aq__ctx *)&t->ctx);
    char *floor = t->stack->limit ? t->stack->limit : t->stack->lo;
    if (sp - floor < BT_ROOM)
        return AQ_ENOMEM;
    void *prime[1];
    backtrace(prime, 1); /* its first call loads libgcc_s: not there */
    bt_req r;
    aq__ctx_call_on(sp, bt_on_task_stack, &r);
    /* The first two are ours (bt_on_task_stack, aq__ctx_call_on). */
    size_t got = r.got > 2 ? (size_t)r.got - 2 : 0;
    for (size_t i = 0; i < got && i < n; i++)
        pcs[i] = r.pcs[i + 2];
    return (int)got;
#endif
}

/* One line per frame: the function when the dynamic symbol table knows
 * it, and always the object and offset, which addr2line resolves. */
static void dump_frames(const aq_task *t, FILE *f)
{
    if (t->state == AQ__RUNNING || t->compact || !AQ__CTX_HAS_SP)
        return; /* asking would only set this thread's error detail */
    void *pcs[16];
    int n = aq_task_backtrace(t, pcs, 16);
    for (int i = 0; i < n && i < 16; i++) {
        Dl_info di;
        fprintf(f, "      #%d %p", i, pcs[i]);
        if (!dladdr(pcs[i], &di) || !di.dli_fname) {
            fputc('\n', f);
            continue;
        }
        if (di.dli_sname)
            fprintf(f, " %s+%#tx", di.dli_sname,
                    (char *)pcs[i] - (char *)di.dli_saddr);
        fprintf(f, " (%s+%#tx)\n", di.dli_fname,
                (char *)pcs[i] - (char *)di.dli_fbase);
    }
}

/* ---- the dump ------------------------------------------------------------ */

static void dump_task(const aq_task *t, int64_t now, FILE *f)
{
    static const char *const states[] = {"ready", "running", "parked",
                                         "done"};
    fprintf(f, "  task %p #%llu", (const void *)t,
            (unsigned long long)t->serial);
    if (t->name)
        fprintf(f, " \"%s\"", t->name);
    fprintf(f, ": %s", states[t->state]);
    if (t->state == AQ__WAITING) {
        fprintf(f, " on ");
        if (t->nwaits > 1)
            fprintf(f, "a select of %u clauses: ", t->nwaits);
        waits_on(t, f);
        if (t->heap_idx != AQ__NO_TIMER)
            fprintf(f, ", deadline in %.3f s",
                    (double)(t->deadline - now) / AQ_SEC);
        else
            fprintf(f, ", no deadline");
        if ((t->slow_park & AQ__PARK_STAMPED) && t->wait_since)
            fprintf(f, ", waited %.3f s so far",
                    (double)(now - t->wait_since) / AQ_SEC);
    }
    if (t->cancelled)
        fprintf(f, ", cancelled%s", t->shielded ? " (shielded)" : "");
    if (t->compact)
        fprintf(f, ", compact");
    fputc('\n', f);
    dump_frames(t, f);
}

int aq_loop_set_debug(aq_loop *l, int on)
{
    if (!l)
        return aq_einval("loop is NULL");
    l->debug = on ? AQ__PARK_STAMPED : 0;
    for (aq_list *e = l->tasks.next; e != &l->tasks; e = e->next) {
        aq_task *t = aq__list_entry(e, aq_task, all);
        t->slow_park = (unsigned char)((t->slow_park & ~AQ__PARK_STAMPED) |
                                       l->debug);
        t->wait_since = 0;
    }
    return AQ_OK;
}

int aq_loop_debug(const aq_loop *l) { return l && l->debug; }

int aq_loop_dump(const aq_loop *l, FILE *f)
{
    if (!l || !f)
        return aq_einval("loop or FILE is NULL");
    aq_loop_stats st;
    aq_loop_statistics(l, &st);
    fprintf(f,
            "libaq: loop %p: %zu task%s (%zu ready, %zu parked), "
            "%zu timer%s\n",
            (const void *)l, st.tasks, st.tasks == 1 ? "" : "s", st.ready,
            st.parked, st.timers, st.timers == 1 ? "" : "s");
    int64_t now = aq_now();
    for (const aq_list *e = l->tasks.next; e != &l->tasks; e = e->next) {
        const aq_task *t = aq__list_entry(e, aq_task, all);
        if (t->state != AQ__DONE)
            dump_task(t, now, f);
    }
    /* A buffered stream fails at its flush (a full disk): ask it now. */
    return fflush(f) != 0 || ferror(f) ? AQ_EBADF : AQ_OK;
}
