/* libaq - the runtime's private types and calls: stacks, tasks, the
 * loop, compact mode, timers, blocking and waking. MIT licensed.
 *
 * Layout of the runtime:
 *   aq_loop  owns a FIFO ready list of tasks, a min-heap of tasks with a
 *            deadline, a list of every live task and a pool of stacks.
 *   aq_task  is a stackful coroutine. While it is blocked, it waits
 *            through one or more waiter records (aq__waiter) that live
 *            in the frame of the call that waits, each on one wait list
 *            (a queue's getters/putters/joiners, another task's joiners).
 *            So waiting allocates nothing, and a task can wait on
 *            several things at once (aq_select).
 */
#ifndef AQ_RUNTIME_H
#define AQ_RUNTIME_H

#include "ctx/ctx.h"

#include <stdatomic.h>

/* ---- stacks (stack.c) ---------------------------------------------------- */

typedef struct aq__slab aq__slab;

typedef struct aq__stack {
    struct aq__stack *next; /* loop->pool or loop->cold link */
    void *lo;               /* lowest usable byte */
    size_t size;            /* usable bytes, from lo up; the pool keeps
                               stacks of the loop's default size */
    void *limit;            /* lowest frame address allowed at a switch, if
                               there is no guard page; else NULL */
    aq__slab *slab;         /* the slab it was carved from, or NULL if it
                               is its own mapping */
    unsigned vg_id;         /* valgrind's id for this stack, if any */
    unsigned char budgeted; /* its guard page came from the process's
                               budget (an mprotect'ed guard, stack.c) */
} aq__stack;

/* Gets a stack of `size` bytes, from the pool if one fits.
 * Returns AQ_OK or AQ_ENOMEM. */
AQ__HIDDEN int aq__stack_get(aq_loop *l, size_t size, aq__stack **out);
/* Returns a stack to the pool, or releases it when the pool is full. */
AQ__HIDDEN void aq__stack_put(aq_loop *l, aq__stack *s);
/* Unmaps every stack of the loop; none may be in use. */
AQ__HIDDEN void aq__stack_release_all(aq_loop *l);
AQ__HIDDEN size_t aq__page_round(size_t n);

/* Gives this thread an alternate signal stack and the process a SIGSEGV
 * handler that reports task stack overflows (overflow.c). Idempotent. */
AQ__HIDDEN void aq__overflow_arm(void);
/* Reports that t overran its stack (found at a switch) and aborts. */
AQ__HIDDEN void aq__overflow_abort(aq_task *t) __attribute__((noreturn));

/* ---- tasks (task.c) ------------------------------------------------------ */

enum aq__task_state {
    AQ__READY,   /* on loop->ready (or just spawned) */
    AQ__RUNNING, /* the current task */
    AQ__WAITING, /* suspended: on a wait list and/or the timer heap */
    AQ__DONE     /* returned; stack recycled */
};

/* A waiter record (Go's runtime calls it a sudog): one per thing a task
 * waits on, in the frame of the call that waits. Tasks and wait lists
 * are many-to-many (a select waits on several queues; a queue has many
 * waiters), so the link cannot live in the task.
 *
 * Who touches what: the waiting task fills every field before linking
 * and reads nothing back but its own buffer; a waker unlinks the record,
 * moves the item through `buf`, and calls aq__waiter_wake, which
 * decides the outcome for the task as a whole (its wait_rc and
 * wait_index) and unlinks the task's other records before anything else
 * can run. Whoever wakes the task first wins; the records of a task that
 * is no longer WAITING are never on a list. */
typedef struct aq__waiter {
    aq_list link;  /* on one wait list; points at itself once unlinked */
    aq_task *task; /* the waiting task */
    void *buf;     /* get: destination; put: the item; otherwise NULL */
    int index;     /* which clause of a select; 0 for a single wait */
    unsigned char kind; /* enum aq__wait_kind, for aq_loop_dump ... */
    const void *on;     /* ... and the object waited on (NULL: none) */
} aq__waiter;

/* What a waiter record waits for (aq_loop_dump names it from
 * aq__wait_names). The first ones are the AQ_OP_* codes of select.h, so
 * a select clause's op is its kind. */
enum aq__wait_kind {
    AQ__W_PUT = 1, AQ__W_GET, AQ__W_TASK, AQ__W_EVENT, AQ__W_LOCK,
    AQ__W_SEM, AQ__W_GROUP, AQ__W_READABLE, AQ__W_WRITABLE,
    AQ__W_JOIN, AQ__W_COND, AQ__W_BARRIER, AQ__W_POOL,
    AQ__W_SLEEP, AQ__W_KINDS
};
/* Their names, by kind (dump.c; the gdb extension reads it too). */
AQ__HIDDEN extern const char *const aq__wait_names[AQ__W_KINDS];

/* A wait that other threads may complete (thread/shared.c): its list
 * and its outcome are guarded by a lock the runtime knows nothing of. The
 * task's one record (t->waits, on no list of the loop) begins such a
 * record, and t->foreign is set: a timeout or a cancel (aq__task_abort)
 * then calls `abort`, which unlinks the wait under that lock unless it
 * was completed first, instead of unlinking the record itself. */
typedef struct aq__foreign {
    aq__waiter w;
    void (*abort)(struct aq__foreign *f);
} aq__foreign;

struct aq_task {
    aq_list link;        /* on loop->ready while READY */
    aq_loop *loop;
    aq__ctx ctx;         /* saved registers while not running */
    aq__stack *stack;    /* NULL once DONE */
    aq_task_fn fn;
    void *arg;           /* fn's argument; once the record is freed, the
                            next spare record (loop->spare) */
    void *result;        /* fn's return value, once DONE */
    aq__waiter *waits;   /* its records, an array in the frame of the
                            waiting call (compact.c moves it with the
                            frames); meaningful only while WAITING */
    unsigned nwaits;     /* how many records `waits` holds: 1 but while
                            a select waits on several (saves a store
                            on every single wait) */
    int wait_index;      /* of several records, the index of the one
                            that completed (set only when nwaits > 1) */
    int wait_rc;         /* outcome of the wait, set by whoever wakes us */
    unsigned char state; /* enum aq__task_state */
    unsigned char cancelled; /* aq_task_cancel was called: sticky */
    unsigned char shielded;  /* aq_task_shield: the cancel waits */
    unsigned char compact;   /* runs on loop->shared (compact.c) */
    unsigned char slow_park; /* AQ__PARK_* below: what makes a park take
                                the out-of-line path, one test for all */
    unsigned char foreign;   /* t->waits begins an aq__foreign */
    aq_timeout *scope;   /* innermost timeout scope (timeout.c), in the
                            task's own frames: only the task touches it */
    int64_t own_deadline; /* under a scope: the waiting call's own */
    int refs;            /* the loop's (until DONE) + the handle's */
    int64_t deadline;    /* when heap_idx != AQ__NO_TIMER */
    uint64_t timer_seq;  /* ties between equal deadlines: FIFO */
    size_t heap_idx;     /* index in loop->timers, or AQ__NO_TIMER */
    aq_list joiners;     /* tasks in aq_task_wait on this one */
    aq_list all;         /* on loop->tasks until freed */
    char *name;          /* aq_task_set_name's copy, or NULL; freed with
                            the record's reuse or release */
    int64_t wait_since;  /* debug mode (AQ__PARK_STAMPED): when its current
                            or last wait began (aq_now), for the dump */
    uint64_t serial;     /* this task among every task of the process
                            (from 1), where a reused record keeps its
                            address: what a lock's owner is (sync.h) */
    size_t save_len;        /* compact: bytes of frames in save */
    /* From here on, what a record keeps when the loop reuses it (spawn
     * clears only what comes before): */
    unsigned char *save;    /* compact: its frames while evicted */
    size_t save_cap;
    void *fiber;            /* ThreadSanitizer's fiber, under it (fiber.c) */
};

#define AQ__NO_TIMER SIZE_MAX

#define AQ__PARK_COMPACT 1u /* must reserve room for its frames */
#define AQ__PARK_SCOPED 2u  /* has a timeout scope */
#define AQ__PARK_STAMPED 4u /* debug mode: stamps wait_since (dump.c) */

/* The part of a registered fd (io/) that waiting on it needs, kept here
 * so that select (queue/) can wait on fds without including io/. The
 * ready bits say which directions an event has reported since a wait last
 * consumed them (fds are watched edge-triggered: the bits are the only
 * memory of an edge). At most one waiter per direction.
 *
 * woken[dir - 1] is the task an event woke that has not run since: it
 * will consume the ready bit, so closing the fd before then must turn its
 * wake-up into AQ_EBADF (aq_fd_detach), or it would touch freed
 * memory. Overriding an AQ_OK is safe here, unlike a queue's: an event
 * moved nothing. That task still counts as the direction's waiter, so
 * woken is never overwritten and holds no task but the one that runs
 * next in that direction.
 *
 * drained marks a direction whose last read found the kernel's buffer
 * empty (a TCP socket's short read, io/fd.c): until an event reports that
 * direction again (ready) or a wait consumes one, a read would fail with
 * EAGAIN, so aq_read waits first instead of making it. */
#define AQ__IO_IN 1u
#define AQ__IO_OUT 2u
/* In ready, never consumed: an event reported a hang-up, an error or a
 * peer's urgent byte, after which a read may stop short with more to
 * come at once and no edge to say so (io/fd.c). */
#define AQ__IO_EXCEPT 4u

typedef struct aq__fdwait {
    aq_loop *loop;
    unsigned ready;   /* AQ__IO_IN | AQ__IO_OUT | AQ__IO_EXCEPT */
    unsigned drained; /* AQ__IO_IN after a read that emptied the buffer */
    aq_list readers;  /* the record of the task waiting to read */
    aq_list writers;  /* ... to write */
    aq_task *woken[2]; /* by an event, not yet run: [dir - 1] */
} aq__fdwait;

/* Does a task wait on direction dir already (parked, or woken by an
 * event and not yet run)? */
static inline int aq__fdwait_busy(const aq__fdwait *w, unsigned dir)
{
    const aq_list *l = dir == AQ__IO_IN ? &w->readers : &w->writers;
    return !aq__list_empty(l) || w->woken[dir - 1] != NULL;
}

/* A wait on direction dir succeeded: it takes the event reported. */
static inline void aq__fdwait_consume(aq__fdwait *w, unsigned dir)
{
    w->ready &= ~dir;
    w->drained &= ~dir;
    w->woken[dir - 1] = NULL;
}

/* An event source the loop polls (io/ installs one when a loop first
 * registers an fd): hooks, so that runtime/ includes nothing above it. */
typedef struct aq__source {
    /* Takes what is ready, waiting up to timeout_ns (0: only look; -1:
     * until something happens); makes the tasks it completes ready. */
    void (*poll)(aq_loop *l, int64_t timeout_ns);
    /* Could something still come from outside (an fd registered, a post
     * awaited)? Then a loop with nothing ready and no timer waits in poll
     * instead of returning: it is not deadlocked. */
    int (*busy)(const aq_loop *l);
    /* At aq_loop_free, once every task has returned. */
    void (*destroy)(aq_loop *l);
    /* At the end of aq_loop_run_ready: a host loop is about to wait on
     * aq_loop_fd, so what comes from another thread from now on must make
     * that fd readable (the loop's own poller would otherwise be told). */
    void (*host_waits)(aq_loop *l);
} aq__source;

/* While tasks are ready, the loop polls its source once every this many
 * iterations, so I/O is never starved by busy tasks. */
#define AQ__POLL_EVERY 16

struct aq_loop {
    aq_list ready;       /* FIFO of READY tasks */
    aq_task *iter_end;   /* last task of this iteration's snapshot of the
                            ready list, NULL once it has run (see loop.c) */
    aq__ctx ctx;         /* the loop's own context (the run caller's) */
    aq_task *zombie;     /* finished task whose stack awaits recycling */
    aq_task **timers;    /* min-heap by (deadline, timer_seq) */
    size_t ntimers, timers_cap;
    size_t pending;      /* armed timers, plus 1 with an I/O source: while
                            nonzero, a task that suspends goes back to the
                            loop after the iteration's snapshot (so timers
                            fire and I/O is polled) instead of running on
                            to the next ready task */
    uint64_t timer_seq;
    aq_list tasks;       /* every task record not yet freed, DONE ones
                            still held by a handle included */
    size_t nlive;        /* tasks not DONE: the timer heap has room for
                            each of them */
    int closing;         /* aq_loop_free/aq_run is cancelling everything:
                            tasks spawned now start cancelled */
    int freeing;         /* aq_loop_free has reaped every task and runs
                            what is left (cleanups): no spawn, run or
                            second free may start on the loop now */
    size_t stack_size;   /* default for new tasks */
    aq__stack *pool;     /* free stacks of stack_size bytes, pages kept */
    size_t npool, pool_max;
    aq__stack *cold;     /* free stacks whose pages were given back */
    aq_task *spare;      /* freed task records for reuse, chained through
                            their arg field; at most pool_max */
    size_t nspare;
    aq__slab *slabs;     /* every slab of the loop, freed with it */
    aq__stack *shared;   /* run stack of compact tasks, or NULL */
    aq_task *resident;   /* compact task whose frames are on it, or NULL */
    size_t ncompact;     /* compact tasks not DONE */
    aq_task *main;       /* aq_run's task: the loop stops when it returns */
    uint64_t rng;        /* aq__rand_next's state (aq_loop_seed) */
    const aq__source *src; /* the I/O source, or NULL (none yet) */
    void *io;            /* its state, opaque here */
    unsigned since_poll; /* iterations since the source was polled */
    uint64_t iterations; /* passes of aq_loop_run that ran or slept */
    unsigned char debug; /* AQ__PARK_STAMPED in debug mode, else 0: what
                            a new task's slow_park starts as */
    _Atomic int stop;    /* aq_loop_stop, from any thread: seen at the next
                            iteration (relaxed, then an acquire fence once
                            seen: post.c's host_waits) */
    int stopped;         /* the last aq_loop_run ended by aq_loop_stop */
    _Atomic int running; /* inside aq_loop_run or _run_ready: taken with
                            an exchange, so that two threads calling them
                            at once cannot both run the loop */
    /* Sanitizers' fiber state (fiber.c), used only under one. */
    int fiber_from_loop; /* the switch in progress leaves the loop context */
    const void *fiber_stack_lo; /* the run caller's stack, for ASan */
    size_t fiber_stack_size;
    void *tsan_fiber;    /* the loop context's ThreadSanitizer fiber */
    /* thread/post.c's, once kept alive: other threads read it (acquire)
     * to post. On a cache line of its own, so that posters reading it do
     * not take the line of fields the loop writes every iteration. */
    char pad_before[64];
    void *_Atomic inbox;
    char pad_after[64 - sizeof(void *)];
};

/* The running task of this thread (NULL outside a task). */
extern _Thread_local aq_task *aq__cur
    __attribute__((tls_model("initial-exec")));
/* The task a plain section (below) interrupted, or NULL: still running
 * for what only looks (aq_loop_statistics counts it so). */
extern _Thread_local aq_task *aq__plain_task
    __attribute__((tls_model("initial-exec")));
/* Around a user's function that the library calls in the middle of an
 * operation (a drop callback, a priority comparator): it runs as outside
 * any task, so that each call marked Suspends returns AQ_EPERM at its
 * first check, before it changes anything. A suspension there would let
 * other tasks use a structure the operation has half changed. begin
 * returns what end restores (nesting keeps NULL, and the outer section's
 * aq__plain_task). */
static inline aq_task *aq__plain_begin(void)
{
    aq_task *self = aq__cur;
    if (self) {
        aq__plain_task = self;
        aq__cur = NULL;
    }
    return self;
}

/* Is this thread inside a task, a plain section of one included? Loops
 * do not nest there: aq_run, aq_loop_run and a free that must reap say
 * AQ_EBUSY from a drop callback or comparator run in a task's put, as
 * from the task itself. */
static inline int aq__in_task(void) { return aq__cur || aq__plain_task; }

static inline void aq__plain_end(aq_task *self)
{
    if (self) {
        aq__cur = self;
        aq__plain_task = NULL;
    }
}

/* The loop this thread is running (inside aq_loop_run or
 * aq_loop_run_ready: its tasks and its posts), or NULL: a blocking call
 * made there would stop the loop (thread/shared.c reports AQ_EDEADLK). */
extern _Thread_local aq_loop *aq__thread_loop;

/* Completes every waiter on a wait list with rc, oldest first. */
AQ__HIDDEN void aq__task_wake_all(aq_list *list, int rc);
/* Unlinks every waiter record of t (a no-op for those on no list). */
AQ__HIDDEN void aq__task_unlink_waits(aq_task *t);
/* Wakes a WAITING task from wherever it waits (timeout, cancel). */
AQ__HIDDEN void aq__task_abort(aq_task *t, int rc);
/* Entry point of every task's context. */
AQ__HIDDEN void aq__task_entry(void);
/* Drops a reference; the last one files the record among the loop's
 * spares for reuse (or frees it past the pool limit). */
AQ__HIDDEN void aq__task_unref(aq_task *t);
/* Frees a task record and the save buffer it may carry. */
AQ__HIDDEN void aq__task_free_record(aq_task *t);
/* Frees spare task records until `keep` are left. */
AQ__HIDDEN void aq__task_free_spares(aq_loop *l, size_t keep);

/* Must t's suspending calls fail with AQ_ECANCELED, and its waits be
 * interrupted? Once cancelled, yes, unless it shields itself; the loop's
 * final reaping (aq_loop_free, the end of aq_run) overrides shields, or a
 * shielded task waiting forever would never be reaped. */
static inline int aq__cancel_due(const aq_task *t)
{
    return t->cancelled && (!t->shielded || t->loop->closing);
}

/* The prologue every suspending call shares, in aq.h's order: AQ_EPERM
 * outside a task, then AQ_EINVAL if the caller's argument checks failed
 * (args_ok 0; why names them for aq_error_detail, evaluated only then),
 * then AQ_ECANCELED for a cancelled caller. On AQ_OK, self
 * is the running task; otherwise the enclosing function returns the code.
 * A macro, so that args_ok stays a chain of branches in the caller: as an
 * argument of an inline function, gcc computed it into a boolean first,
 * adding instructions to every put and get (`make bench-check` counts
 * them). */
#define AQ__SUSPEND_BEGIN(self, args_ok, why)                                \
    AQ__SUSPEND_BEGIN_COUNTED(self, args_ok, why, (size_t *)NULL)

/* The same for a call that reports its progress in *count (NULL: none):
 * once the arguments are good, the count is written (0), so that it holds
 * whatever the call returns from then on, a cancel at once included. */
#define AQ__SUSPEND_BEGIN_COUNTED(self, args_ok, why, count)                 \
    do {                                                                     \
        (self) = aq__cur;                                                    \
        if (aq__unlikely(!(self)))                                           \
            return AQ_EPERM;                                                 \
        if (aq__unlikely(!(args_ok)))                                        \
            return aq_einval(why);                                           \
        if (count)                                                           \
            *(count) = 0;                                                    \
        if (aq__unlikely(aq__cancel_due(self)))                              \
            return AQ_ECANCELED;                                             \
    } while (0)

/* Checked whenever a task leaves the CPU: guard pages catch an overflow
 * as it happens; on a stack without one, a frame below the limit at a
 * switch is the sign (stack.c). */
AQ__ALWAYS_INLINE void aq__stack_check(aq_task *t)
{
    if (t->stack->limit && (char *)__builtin_frame_address(0) <
                               (char *)t->stack->limit)
        aq__overflow_abort(t);
}

/* ---- sanitizers' fiber hooks (fiber.c) ---------------------------------- */

/* Non-zero when the program runs under AddressSanitizer or
 * ThreadSanitizer: every switch then goes through aq__fiber_switch. */
AQ__HIDDEN extern int aq__fibers;
/* The last task serial given out (aq_task.serial). */
AQ__HIDDEN extern _Atomic uint64_t aq__task_serials;
/* The switch of aq__switch_to, told to the sanitizers. */
AQ__HIDDEN void aq__fiber_switch(aq_loop *l, aq__ctx *from, aq_task *to,
                                 int from_dies);
/* Completes a switch on the side that was resumed. fake: the value saved
 * when this side left, NULL on a task's first entry. */
AQ__HIDDEN void aq__fiber_resumed(aq_loop *l, void *fake);
/* The loop's context is the thread's current fiber (aq_loop_run). */
AQ__HIDDEN void aq__fiber_loop_begins(aq_loop *l);
/* A spawned task t gets a ThreadSanitizer fiber, if it has none and the
 * process is under the limit (fiber.c). */
AQ__HIDDEN void aq__fiber_new(aq_task *t);
/* t's record is freed: its fiber goes with it. */
AQ__HIDDEN void aq__fiber_free(aq_task *t);
/* Memory whose old stack redzones mean nothing now. */
AQ__HIDDEN void aq__fiber_unpoison(const void *p, size_t len);
/* Happens-before through libaq's own atomics, for ThreadSanitizer: a
 * release on obj before publishing, an acquire after taking. */
AQ__HIDDEN void aq__fiber_release(void *obj);
AQ__HIDDEN void aq__fiber_acquire(void *obj);
/* Is ThreadSanitizer's runtime in the process (the program's, or this
 * libaq's own with -DAQ_TSAN=ON)? It runs a signal handler only inside a
 * call it intercepts: the poller then sleeps in one (epoll.c). */
AQ__HIDDEN int aq__fiber_tsan_runtime(void);
/* Room the hooked switch's own frame may take below a parking call, on
 * top of AQ__CTX_FRAME (compact.c reserves it). */
#define AQ__FIBER_FRAME 512

/* ---- loop (loop.c) ------------------------------------------------------- */

/* Switches from finished task t to the loop for good. */
AQ__HIDDEN void aq__loop_exit(aq_task *t) __attribute__((noreturn));
/* Cancels l's tasks and runs them to their end, on the calling thread
 * (aq_loop_free's first step; thread/cores.c ends a loop with it before
 * the loop is freed). */
AQ__HIDDEN void aq__loop_finish(aq_loop *l);

/* The loop's pseudo-random numbers (splitmix64: one add and a mix, and
 * every seed gives a full-period sequence), for fair choices that a test
 * can replay by seeding the loop. */
static inline uint64_t aq__rand_next(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static inline void aq__ready_push(aq_loop *l, aq_task *t)
{
    t->state = AQ__READY;
    aq__list_push_back(&l->ready, &t->link);
}

/* The hot path of every suspension lives here, inlined into each waiting
 * call: the ready list pop, the choice of what runs next (loop.c's header
 * comment explains it) and the switch. */

/* Switches from the context `from` to task `to` (NULL: the loop's own
 * context). Under a sanitizer the switch is told to it (fiber.c); else
 * it is the bare switch and one test. from_dies: `from` never resumes. */
AQ__ALWAYS_INLINE void aq__switch_to(aq_loop *l, aq__ctx *from, aq_task *to,
                                 int from_dies)
{
    if (aq__unlikely(aq__fibers))
        aq__fiber_switch(l, from, to, from_dies);
    else
        aq__ctx_switch(from, to ? &to->ctx : &l->ctx);
}

/* Asks the CPU to fetch what the next ready task touches first when it
 * runs: the frames above its saved stack pointer (a switch into it pops
 * its registers there, then returns up through its frames) and the
 * record of the task after it. With thousands of tasks, each parked on
 * its own stack, resuming one after another would otherwise wait on a
 * TLB miss and a few cache misses each (`spawn warm` in bench/RESULTS.md).
 * Called where the loop dispatches (after a task returns or the loop
 * idled) and at a task's first run; not on the put/get switch, whose
 * partners are usually in cache already and which keeps its instruction
 * budget. A prefetch never faults: a stale address costs nothing.
 * Always inlined: as a function of its own, GCC finds it free of side
 * effects (a prefetch is none) and deletes every call. */
AQ__ALWAYS_INLINE void aq__prefetch_next(const aq_loop *l)
{
    if (l->ready.next == &l->ready)
        return;
    aq_task *u = aq__list_entry(l->ready.next, aq_task, link);
    if (u->link.next != &l->ready)
        __builtin_prefetch(aq__list_entry(u->link.next, aq_task, link));
    if (u->compact || !AQ__CTX_HAS_SP)
        return; /* its frames are copied in (compact.c) */
    /* Four lines: the switch frame and the frames of a task parked in a
     * queue call (about 250 bytes: a compact task's save buffer). A fresh
     * task's lines past its stack's top are not its own, and fetching
     * them is harmless. */
    const char *sp = aq__ctx_sp(&u->ctx);
    __builtin_prefetch(sp);
    __builtin_prefetch(sp + 64);
    __builtin_prefetch(sp + 128);
    __builtin_prefetch(sp + 192);
}

AQ__ALWAYS_INLINE aq_task *aq__ready_pop(aq_loop *l)
{
    aq_task *t = aq__list_entry(aq__list_pop_front(&l->ready), aq_task, link);
    if (t == l->iter_end)
        l->iter_end = NULL;
    t->state = AQ__RUNNING;
    aq__cur = t;
    return t;
}

/* Suspends the current task t and runs the next ready task, or returns to
 * the loop. Returns when t is resumed. Past the iteration's snapshot,
 * with nothing pending, tasks run on among themselves without the loop:
 * a stop (aq_loop_stop) sends the next switch back to the loop, which
 * alone sees it (ready tasks that kept handing over made it wait for
 * ever). */
AQ__ALWAYS_INLINE void aq__loop_suspend(aq_task *t)
{
    aq_loop *l = t->loop;
    aq__stack_check(t);
    if (!aq__list_empty(&l->ready) &&
        (l->iter_end ||
         (l->pending == 0 &&
          !atomic_load_explicit(&l->stop, memory_order_relaxed)))) {
        aq_task *next = aq__list_entry(l->ready.next, aq_task, link);
        /* A compact task whose frames must be copied in is started from
         * the loop's context (compact.c). */
        if (aq__likely(!next->compact || next == l->resident)) {
            aq__ready_pop(l);
            if (next != t) /* t may have made itself ready (aq_yield) */
                aq__switch_to(l, &t->ctx, next, 0);
            return;
        }
    }
    aq__cur = NULL;
    aq__switch_to(l, &t->ctx, NULL, 0);
}


/* ---- compact tasks (compact.c) ------------------------------------------ */

/* Makes t a compact task of l: it will run on the shared stack. */
AQ__HIDDEN void aq__compact_init(aq_loop *l, aq_task *t);
/* Called by a compact task about to park: makes sure its save buffer can
 * take its frames, and `ahead` bytes more. AQ_OK or AQ_ENOMEM (then it
 * must not park). */
AQ__HIDDEN int aq__compact_reserve(aq_task *t, size_t ahead);
/* Puts t's frames on the shared stack, evicting the resident's. Called
 * from the loop's context only. */
AQ__HIDDEN void aq__compact_enter(aq_loop *l, aq_task *t);
/* Releases a finished compact task's save buffer. */
AQ__HIDDEN void aq__compact_done(aq_loop *l, aq_task *t);

/* Every park asks this first (aq__park_begin_slow, through
 * aq__park_begin): a compact task must have room to save its frames.
 * AQ_OK or AQ_ENOMEM. */
static inline int aq__park_reserve(aq_task *t)
{
    return aq__unlikely(t->compact) ? aq__compact_reserve(t, 0) : AQ_OK;
}

/* Room for the parks a call will make later, before it does anything it
 * cannot take back (a condition passing its lock on, a group cancelling
 * its children), so that an AQ_ENOMEM leaves nothing done and the uncut
 * wait that may follow never fails to park. Those parks come from this
 * frame through aq__park_begin_slow, one frame deeper than here: the
 * margin covers that frame (a few dozen bytes at -O2, a few hundred at
 * -O0, where a reservation made here without it fell short). */
#define AQ__PARK_AHEAD 1024

static inline int aq__park_reserve_ahead(aq_task *t)
{
    return aq__unlikely(t->compact) ? aq__compact_reserve(t, AQ__PARK_AHEAD)
                                    : AQ_OK;
}

/* ---- timers (timer.c) ---------------------------------------------------- */

/* Makes room in the heap for n tasks: AQ_OK or AQ_ENOMEM. */
AQ__HIDDEN int aq__timer_reserve(aq_loop *l, size_t n);
/* Arms t's deadline; room was reserved when t was spawned. */
AQ__HIDDEN void aq__timer_add(aq_loop *l, aq_task *t, int64_t deadline);
AQ__HIDDEN void aq__timer_remove(aq_loop *l, aq_task *t);
/* Wakes every task whose deadline is <= now, earliest first. */
AQ__HIDDEN void aq__timer_expire(aq_loop *l, int64_t now);
/* Earliest deadline; only when l->ntimers > 0. */
static inline int64_t aq__timer_next_due(const aq_loop *l)
{
    return l->timers[0]->deadline;
}

/* Sets t's innermost scope, keeping its slow-park flag in step. */
static inline void aq__task_set_scope(aq_task *t, aq_timeout *scope)
{
    t->scope = scope;
    if (scope)
        t->slow_park |= AQ__PARK_SCOPED;
    else
        t->slow_park &= (unsigned char)~AQ__PARK_SCOPED;
}

/* An uncut wait: one that neither the task's (sticky) cancellation nor
 * its timeout scopes may cut short, for a wait that must finish once
 * begun (a condition taking its lock back, a group reaping its children).
 * Only the loop's final reaping, which overrides shields, still ends it.
 * begin saves what end restores. */
typedef struct aq__uncut {
    aq_timeout *scope;
    unsigned char shielded;
} aq__uncut;

static inline void aq__uncut_begin(aq_task *t, aq__uncut *saved)
{
    saved->scope = t->scope;
    saved->shielded = t->shielded;
    t->shielded = 1;
    aq__task_set_scope(t, NULL);
}

static inline void aq__uncut_end(aq_task *t, const aq__uncut *saved)
{
    t->shielded = saved->shielded;
    aq__task_set_scope(t, saved->scope);
}

/* ---- blocking and waking (task.c's hot half, inlined) ------------------- */

/* ---- timeout scopes (timeout.c) ---------------------------------------- */

/* The earlier of `own` and every enclosing scope's deadline. */
AQ__HIDDEN int64_t aq__scope_clamp(const aq_task *t, int64_t own);
/* A wait of t under a scope timed out: if a scope's deadline came
 * strictly before the call's own (t->own_deadline), marks that scope
 * expired. */
AQ__HIDDEN void aq__scope_note(aq_task *t);

/* The first half of a park when t is compact, scoped or stamped
 * (timeout.c): clamps *d to t's scopes, stamps the wait's start in debug
 * mode, then as aq__park_begin. Out of line: a park from a
 * deeper frame only over-estimates what a compact task must reserve. */
AQ__HIDDEN int aq__park_begin_slow(aq_task *t, int64_t *d);

/* The first half of every wait, before any record is linked. *d is the
 * call's deadline; it becomes the wait's: the earliest of it and t's
 * timeout scopes' (the call's own is kept for aq__scope_note). A deadline
 * already passed fails with AQ_ETIMEDOUT (noting the scope it came from),
 * and a compact task reserves room for its frames (AQ_ENOMEM). AQ_OK: go
 * ahead and link. A task with neither pays one test for both. */
AQ__ALWAYS_INLINE int aq__park_begin(aq_task *t, int64_t *d)
{
    if (aq__unlikely(t->slow_park))
        return aq__park_begin_slow(t, d);
    if (*d != AQ_NEVER && *d <= aq_now())
        return AQ_ETIMEDOUT;
    return AQ_OK;
}

/* The second half: with its t->nwaits records `w` linked, parks the
 * current task until a waker completes one of them, the deadline d passes
 * or the task is cancelled. Returns the wake-up code: a waker's (AQ_OK,
 * AQ_ESHUTDOWN, AQ_EBROKEN), never AQ_ETIMEDOUT or AQ_ECANCELED, so those
 * mean that no record completed; with several records, t->wait_index
 * then says which one did. */
AQ__ALWAYS_INLINE int aq__park(aq_task *t, aq__waiter *w, int64_t d)
{
    if (d != AQ_NEVER)
        aq__timer_add(t->loop, t, d);
    t->waits = w;
    t->state = AQ__WAITING;
    aq__loop_suspend(t);
    if (aq__unlikely(t->wait_rc != AQ_OK)) {
        /* Success stands (an item moved is never taken back), but a wait
         * that failed for another reason (timeout, shutdown) while a
         * cancel came in reports the cancel: that is what the task must
         * act on. A timeout is the scope's, if one came first; a foreign
         * wait may still turn out completed (shared.c notes it itself). */
        if (aq__cancel_due(t))
            return AQ_ECANCELED;
        if (t->wait_rc == AQ_ETIMEDOUT && t->scope && !t->foreign)
            aq__scope_note(t);
    }
    return t->wait_rc;
}

/* aq__wait_on's second half, for a caller that keeps the record w in its
 * own frame to read it afterwards (a condition's wait: was it notified?)
 * or begins the park itself: fills w in, links it on list and parks t
 * until d. aq__park_begin has been called. */
AQ__ALWAYS_INLINE int aq__park_on(aq_task *t, aq__waiter *w, aq_list *list,
                                  void *buf, int64_t d, int kind,
                                  const void *on)
{
    w->task = t; /* its index is read only when a task has several */
    w->buf = buf;
    w->kind = (unsigned char)kind;
    w->on = on;
    aq__list_push_back(list, &w->link);
    return aq__park(t, w, d);
}

/* A wait on one list through one record in the caller's frame, with the
 * item or destination buf, until the deadline own (or a scope's). kind
 * (enum aq__wait_kind) and on say what it waits for, to aq_loop_dump
 * only. */
AQ__ALWAYS_INLINE int aq__wait_on(aq_task *t, aq_list *list, void *buf,
                                  int64_t own, int kind, const void *on)
{
    int64_t d = own;
    int rc = aq__park_begin(t, &d);
    if (rc != AQ_OK)
        return rc;
    aq__waiter w;
    return aq__park_on(t, &w, list, buf, d, kind, on);
}

/* Wakes a WAITING task whose records its waker has already unlinked:
 * stops its timer, records rc, appends it to the ready list. */
static inline void aq__task_wake(aq_task *t, int rc)
{
    if (t->heap_idx != AQ__NO_TIMER)
        aq__timer_remove(t->loop, t);
    t->wait_rc = rc;
    aq__ready_push(t->loop, t);
}

/* Completes waiter w, which its waker has unlinked (and whose item it has
 * moved): the task's other records are unlinked at once, so exactly one
 * of a select's clauses completes, and the task is woken with rc. */
static inline void aq__waiter_wake(aq__waiter *w, int rc)
{
    aq_task *t = w->task;
    if (aq__unlikely(t->nwaits > 1)) {
        aq__task_unlink_waits(t);
        t->wait_index = w->index;
    }
    aq__task_wake(t, rc);
}

/* The oldest waiter of a non-empty wait list, unlinked. */
static inline aq__waiter *aq__waiter_pop(aq_list *list)
{
    return aq__list_entry(aq__list_pop_front(list), aq__waiter, link);
}

#endif
