/* libaq - asyncio-style queues and coroutines for C. MIT licensed.
 *
 * One header, the whole public API. Sections: errors, time, loop, task,
 * queue (with overflow policies, batches and statistics),
 * sync (Event, Lock, Semaphore, Condition, Barrier, task groups), select,
 * allocator, version.
 *
 * The model is Python's asyncio: a single-threaded event loop runs tasks
 * (stackful coroutines). A task runs until it calls a function marked
 * "Suspends" below; that call parks the task, never the thread, and the
 * loop runs the next ready task. Queues move items between tasks with the
 * exact semantics of CPython 3.13's asyncio.Queue, LifoQueue and
 * PriorityQueue, including task_done()/join() and shutdown().
 *
 * Conventions:
 * - Every fallible call returns int: AQ_OK (0) or a negative AQ_E* code.
 *   Counts are returned as long with the same sign rule. errno is never
 *   used to report anything.
 * - "Suspends" marks calls that may park the calling task. They must be
 *   called from inside a task; outside one they return AQ_EPERM and do
 *   nothing. Once a task has been cancelled, every suspending call it
 *   makes returns AQ_ECANCELED at once (cancellation is sticky), so
 *   cleanup code never hangs; a task can hold that off for a last step
 *   with aq_task_shield. When several things are wrong, AQ_EPERM
 *   comes first, then the argument checks, then AQ_ECANCELED. In a
 *   compact task (aq_loop_set_compact) a suspending call may also return
 *   AQ_ENOMEM, having done nothing.
 * - Each suspending call has an _until twin taking an absolute deadline
 *   in nanoseconds on the aq_now() clock; AQ_NEVER means no deadline. A
 *   call that can complete at once does so even if its deadline passed.
 *   Inside a timeout scope (aq_timeout_begin), every suspending call,
 *   _until or not, may also return AQ_ETIMEDOUT when the scope's deadline
 *   comes first; the lists of return codes below do not repeat it.
 * - The floating-point environment (rounding mode, exception masks) is
 *   the thread's, shared by its tasks: a task that changes it should
 *   restore it before its next suspending call.
 * - A loop and everything attached to it (tasks, queues used by its
 *   tasks) belong to one OS thread. No function here is thread-safe
 *   except aq_now(), aq_strerror() and aq_errname().
 */
#ifndef AQ_H
#define AQ_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define AQ_EXTERN __attribute__((visibility("default")))
#else
#define AQ_EXTERN
#endif

/* ===================================================================== */
/*  Errors                                                               */
/* ===================================================================== */

/* Codes with an errno twin equal -errno, so system errors pass through.
 * Queue-only codes sit below -4000. */
enum {
    AQ_OK = 0,
    AQ_EPERM = -EPERM,           /* suspending call made outside a task;
                                    or a lock not held by the caller */
    AQ_ENOMEM = -ENOMEM,         /* out of memory; nothing was changed */
    AQ_EINVAL = -EINVAL,         /* bad argument, or task_done() past zero */
    AQ_EBUSY = -EBUSY,           /* object in use: has waiters, or running */
    AQ_EDEADLK = -EDEADLK,       /* wait could never end (a task on itself;
                                    every task blocked with no timer) */
    AQ_EALREADY = -EALREADY,     /* the task has already finished */
    AQ_ETIMEDOUT = -ETIMEDOUT,   /* the deadline passed first */
    AQ_ECANCELED = -ECANCELED,   /* the calling task was cancelled */
    AQ_EAGAIN = -EAGAIN,         /* aq_select_try: no clause was ready */
    AQ_EFULL = -4001,            /* try_put on a full queue (QueueFull) */
    AQ_EEMPTY = -4002,           /* try_get on an empty queue (QueueEmpty) */
    AQ_ESHUTDOWN = -4003,        /* queue was shut down (QueueShutDown) */
    AQ_EDROPPED = -4004,         /* the queue's overflow policy discarded
                                    the item just put (aq_queue_set_overflow) */
    AQ_EBROKEN = -4005,          /* the barrier was aborted or reset
                                    (BrokenBarrierError) */
    AQ_EGROUP = -4006            /* a task of the group failed (the
                                    ExceptionGroup of a TaskGroup) */
};

/* A human-readable message for a code, e.g. "queue is full". Never NULL;
 * an unknown code gives "unknown error". The string is static. Does not
 * suspend; callable anywhere, from any thread. */
AQ_EXTERN const char *aq_strerror(int code);

/* The code's symbolic name, e.g. "AQ_EFULL". Never NULL; an unknown code
 * gives "AQ_E?". The string is static. Does not suspend; callable
 * anywhere, from any thread. */
AQ_EXTERN const char *aq_errname(int code);

/* ===================================================================== */
/*  Time                                                                 */
/* ===================================================================== */

#define AQ_NSEC INT64_C(1)
#define AQ_USEC INT64_C(1000)
#define AQ_MSEC INT64_C(1000000)
#define AQ_SEC INT64_C(1000000000)

/* "No deadline", for every _until call. */
#define AQ_NEVER INT64_C(-1)

/* The current time in nanoseconds on CLOCK_MONOTONIC. Deadlines are
 * expressed on this clock: aq_now() + 10 * AQ_MSEC is "in 10 ms".
 * Never fails, never suspends; callable anywhere. */
AQ_EXTERN int64_t aq_now(void);

/* ===================================================================== */
/*  Loop                                                                 */
/* ===================================================================== */

/* An event loop: a FIFO ready queue of tasks plus a timer heap. The loop
 * runs a task until it suspends, then the next ready one; scheduling is
 * fair and deterministic. One loop runs per thread at a time. */
typedef struct aq_loop aq_loop;
typedef struct aq_task aq_task;

/* A task's body. Its return value is the task's result (aq_task_wait). */
typedef void *(*aq_task_fn)(void *arg);

/* Default stack size of a task: 64 KiB of address space, committed by the
 * kernel page by page as it is touched. The first 16,384 stacks of a
 * process get a guard page below them, so an overflow faults at once and
 * is reported (task and stack size) before the process dies of SIGSEGV.
 * Past that (each guard page costs kernel mappings, limited to 65,530 per
 * process by default), stacks are carved from shared slabs without
 * guards, and the stack pointer is checked whenever the task suspends or
 * returns: an overflow still in progress then is reported and the process
 * aborted, but one that unwound before may go unnoticed. A process whose
 * vm.max_map_count is raised can set another number of guarded stacks in
 * the environment variable AQ_GUARD_BUDGET (read once, at the first
 * spawn). */
#define AQ_STACK_DEFAULT ((size_t)64 * 1024)
/* Smallest and largest accepted stack sizes. */
#define AQ_STACK_MIN ((size_t)16 * 1024)
#define AQ_STACK_MAX ((size_t)1024 * 1024 * 1024)

/* The asyncio.run() of libaq: makes a fresh loop, runs fn(arg) in a task
 * until it returns, then cancels every task still alive, runs them until
 * they return, and frees the loop and all its tasks.
 * result: if not NULL, receives fn's return value.
 * Returns: AQ_OK; AQ_EINVAL if fn is NULL; AQ_ENOMEM; AQ_EBUSY if called
 * from inside a task (loops do not nest); AQ_EDEADLK if fn's task could
 * never finish because every task was blocked with no timer pending (the
 * tasks are then cancelled and reaped as above; *result receives what fn
 * returned after its wait failed with AQ_ECANCELED).
 * Does not suspend: it blocks the calling thread, like asyncio.run(). */
AQ_EXTERN int aq_run(aq_task_fn fn, void *arg, void **result);

/* Creates a loop in *out. The caller owns it; free with aq_loop_free().
 * Returns: AQ_OK; AQ_EINVAL if out is NULL; AQ_ENOMEM (*out untouched).
 * Does not suspend. */
AQ_EXTERN int aq_loop_new(aq_loop **out);

/* Runs the loop until no task is ready and no timer is pending. Tasks
 * still blocked on a queue or another task stay blocked (a later run, or
 * aq_loop_free, handles them).
 * Returns: AQ_OK; AQ_EINVAL if loop is NULL; AQ_EBUSY if this or another
 * loop is already running on this thread. Does not suspend. */
AQ_EXTERN int aq_loop_run(aq_loop *loop);

/* Frees a loop: cancels every task that has not finished, runs the loop
 * until they all return, then frees every task (handles still held by
 * the caller become invalid) and every pooled stack. Queues are not owned
 * by the loop; free them yourself, before or after.
 * Returns: AQ_OK; AQ_EINVAL if loop is NULL; AQ_EBUSY if the loop is
 * running (called from one of its own tasks), or if it still has tasks to
 * reap and the call comes from a task of another loop (loops do not
 * nest): nothing is freed. Does not suspend. */
AQ_EXTERN int aq_loop_free(aq_loop *loop);

/* Sets the default stack size for tasks spawned on this loop from now on
 * (rounded up to whole pages). Call it before spawning: the loop's pooled
 * stacks are of the old size.
 * Returns: AQ_OK; AQ_EINVAL if loop is NULL or size is outside
 * [AQ_STACK_MIN, AQ_STACK_MAX]; AQ_EBUSY if a task of the loop has not
 * returned yet (nothing changes). Does not suspend. */
AQ_EXTERN int aq_loop_set_stack_size(aq_loop *loop, size_t size);

/* Sets how many free stacks the loop keeps warm (memory still committed)
 * for reuse, and as many records of finished tasks; default 1024. A spawn that finds a warm stack costs a
 * pointer pop; otherwise it pays page faults on first touch (about 14 us
 * a page on a VM). Stacks freed beyond the limit give their memory back
 * to the system but keep their address range until the loop is freed.
 * A program that spawns bursts of N tasks over and over can set N here
 * and pay about 4 KiB per kept stack. Lowering it releases the excess now.
 * Returns: AQ_OK; AQ_EINVAL if loop is NULL. Does not suspend. */
AQ_EXTERN int aq_loop_set_stack_pool(aq_loop *loop, size_t max_stacks);

/* Compact mode, for programs with very many idle tasks. With size > 0,
 * tasks spawned on this loop from now on with stack_size 0 share one run
 * stack of `size` bytes: while a compact task is parked, its frames (a
 * few hundred bytes for a task waiting in a queue call) are copied to a
 * buffer of their own size, so a parked task costs under 512 bytes in
 * all instead of a page or two. The price: a switch to a compact task
 * whose frames are not in place goes through the loop and copies them
 * (tens of nanoseconds more), and a compact task must not hand pointers
 * to its own stack variables to other tasks (its frames move; libaq's
 * own queue calls account for that). The shared stack has a guard page,
 * so an overflow is reported as in the default mode. A compact task
 * reserves room for its frames as it parks: any suspending call it makes
 * may also return AQ_ENOMEM, having done nothing.
 * size 0 turns compact mode off for later spawns.
 * Returns: AQ_OK; AQ_EINVAL if loop is NULL, size is outside
 * [AQ_STACK_MIN, AQ_STACK_MAX] (0 excepted), or this build's context
 * switch is the ucontext fallback (which cannot save frames); AQ_EBUSY if
 * compact tasks of the loop are still alive; AQ_ENOMEM.
 * Does not suspend. */
AQ_EXTERN int aq_loop_set_compact(aq_loop *loop, size_t size);

/* Returns the loop running the calling task, or NULL outside a task.
 * Does not suspend. */
AQ_EXTERN aq_loop *aq_loop_current(void);

/* Seeds the loop's random generator, which aq_select uses to choose
 * among several ready clauses (fair choice): the same seed and the same
 * program give the same choices, for reproducible tests. A new loop is
 * seeded from the clock and its address.
 * Returns: AQ_OK; AQ_EINVAL if loop is NULL. Does not suspend. */
AQ_EXTERN int aq_loop_seed(aq_loop *loop, uint64_t seed);

/* A loop's counters at one moment (aq_loop_statistics). */
typedef struct aq_loop_stats {
    size_t tasks;        /* tasks spawned that have not returned */
    size_t ready;        /* of those, waiting for their turn to run */
    size_t parked;       /* of those, suspended in a wait or a sleep (the
                            rest: the caller, if it is one of them) */
    size_t timers;       /* deadlines armed (sleeps and _until waits) */
    uint64_t iterations; /* loop iterations since the loop was created:
                            passes of aq_loop_run (or aq_run) that ran
                            the ready tasks or slept for a timer */
} aq_loop_stats;

/* Fills *out with the loop's counters. Costs O(ready tasks).
 * Returns: AQ_OK; AQ_EINVAL if loop or out is NULL. Does not suspend. */
AQ_EXTERN int aq_loop_statistics(const aq_loop *loop, aq_loop_stats *out);

/* ===================================================================== */
/*  Tasks                                                                */
/* ===================================================================== */

/* Spawns fn(arg) as a new task on loop (asyncio.create_task). The task is
 * appended to the ready queue and first runs when the loop reaches it;
 * callable from inside or outside a running loop.
 * out: if not NULL, receives a handle: the caller then holds one reference
 *   and must drop it with aq_task_release() (or let aq_loop_free() reclaim
 *   it). If NULL the task is detached and frees itself when it returns.
 * stack_size: 0 for the loop's default (a compact task if the loop is in
 *   compact mode, see aq_loop_set_compact), else a stack of its own
 *   within [AQ_STACK_MIN, AQ_STACK_MAX] (rounded up to whole pages).
 * Returns: AQ_OK; AQ_EINVAL if loop or fn is NULL or stack_size is out of
 * range; AQ_ENOMEM (no stack or memory: nothing was spawned, *out
 * untouched). Does not suspend. */
AQ_EXTERN int aq_loop_spawn(aq_loop *loop, aq_task **out, aq_task_fn fn,
                            void *arg, size_t stack_size);

/* aq_loop_spawn() on the calling task's loop with the default stack.
 * Returns: as aq_loop_spawn(), and AQ_EPERM outside a task.
 * Does not suspend. */
AQ_EXTERN int aq_spawn(aq_task **out, aq_task_fn fn, void *arg);

/* Returns the calling task, or NULL outside a task. The caller holds no
 * reference through it. Does not suspend. */
AQ_EXTERN aq_task *aq_task_self(void);

/* Waits until task t returns (await task).
 * result: if not NULL, receives t's return value on AQ_OK.
 * Returns: AQ_OK (also at once if t had already returned); AQ_EPERM
 * outside a task; AQ_EINVAL if t is NULL; AQ_EDEADLK if t is the calling
 * task; AQ_ECANCELED if the caller is cancelled (t keeps running);
 * AQ_ETIMEDOUT (the _until form) if the deadline passed first.
 * Suspends. */
AQ_EXTERN int aq_task_wait(aq_task *t, void **result);
AQ_EXTERN int aq_task_wait_until(aq_task *t, void **result, int64_t deadline);

/* Waits for every task in tasks[0..n) (asyncio.gather). results: if not
 * NULL, results[i] receives tasks[i]'s return value. If the caller is
 * cancelled, or the deadline passes, every task of the set that is still
 * running is cancelled (as asyncio.gather does) and the call returns.
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_EINVAL if tasks is NULL
 * with n > 0 or any tasks[i] is NULL; AQ_EDEADLK if the set contains the
 * caller; AQ_ECANCELED; AQ_ETIMEDOUT (the _until form). Suspends. */
AQ_EXTERN int aq_gather(aq_task *const *tasks, size_t n, void **results);
AQ_EXTERN int aq_gather_until(aq_task *const *tasks, size_t n,
                              void **results, int64_t deadline);

/* Waits until the first of tasks[0..n) returns (asyncio.wait with
 * return_when=FIRST_COMPLETED, Go's select over done channels) and
 * returns its index; NULL entries are skipped, so a caller can clear the
 * ones it has handled and call again: that loop is asyncio.as_completed
 * (README shows it). If several have returned, the lowest index wins.
 * The tasks keep running; nothing is cancelled.
 * result: if not NULL, receives the finished task's return value.
 * Returns: the index (>= 0); AQ_EPERM outside a task; AQ_EINVAL if tasks
 * is NULL, n is 0 or every entry is NULL; AQ_EDEADLK if the set contains
 * the caller; AQ_ECANCELED; AQ_ETIMEDOUT (the _until form); AQ_ENOMEM if
 * n > AQ_SELECT_STATIC and its waiter records could not be allocated.
 * Suspends. */
AQ_EXTERN int aq_task_wait_any(aq_task *const *tasks, size_t n,
                               void **result);
AQ_EXTERN int aq_task_wait_any_until(aq_task *const *tasks, size_t n,
                                     void **result, int64_t deadline);

/* ---- timeout scopes (asyncio.timeout, asyncio.timeout_at) ------------ */

/* A deadline over a block of code: every suspending call the task makes
 * between aq_timeout_begin and aq_timeout_end waits at most until the
 * scope's deadline (or its own _until deadline, or an enclosing scope's,
 * whichever is earliest), and one cut short by the scope returns
 * AQ_ETIMEDOUT. A call that can complete at once still does. Scopes nest;
 * the earliest deadline wins. Unlike asyncio's, a scope is not built on
 * cancellation: a task's cancellation stays sticky and distinct
 * (AQ_ECANCELED), and an expired scope cancels nothing once it ends.
 *
 *     aq_timeout t;
 *     aq_timeout_begin(&t, aq_now() + 5 * AQ_SEC);  // async with timeout(5)
 *     rc = aq_queue_get(q, &item);                  // AQ_ETIMEDOUT at 5 s
 *     ...
 *     if (aq_timeout_end(&t) == 1) ...              // the scope expired
 *
 * The struct lives in the caller's frame (no allocation); its fields are
 * the library's, read them through the calls. Every begin must be paired
 * with an end in the same task, innermost first, before the task
 * returns. */
typedef struct aq_timeout {
    int64_t deadline;
    int expired;
    struct aq_timeout *outer;
    aq_task *task;
} aq_timeout;

/* Opens a scope with an absolute deadline (asyncio.timeout_at(when);
 * asyncio.timeout(delay) is aq_now() + delay; AQ_NEVER: none yet).
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_EINVAL if scope is NULL.
 * Does not suspend. */
AQ_EXTERN int aq_timeout_begin(aq_timeout *scope, int64_t deadline);
/* Closes the calling task's innermost scope.
 * Returns: 1 if a call was cut short by this scope (asyncio's
 * cm.expired(), Trio's cancelled_caught), else 0; AQ_EPERM outside a
 * task; AQ_EINVAL if scope is NULL or not the task's innermost open
 * scope (nothing changes). Does not suspend. */
AQ_EXTERN int aq_timeout_end(aq_timeout *scope);
/* Moves the scope's deadline (cm.reschedule(when)); waits already under
 * way keep the deadline they started with.
 * Returns: AQ_OK; AQ_EINVAL if scope is NULL or not the calling task's.
 * Does not suspend. */
AQ_EXTERN int aq_timeout_reschedule(aq_timeout *scope, int64_t deadline);
/* 1 if a call was cut short by the scope so far, else 0 (NULL: 0). */
AQ_EXTERN int aq_timeout_expired(const aq_timeout *scope);

/* Requests cancellation of t (task.cancel()). If t is suspended, its call
 * returns AQ_ECANCELED as soon as the loop runs it, and so does every
 * suspending call it makes afterwards: it should clean up and return.
 * If t's pending call had already completed (an item handed to it, a
 * slot given to its put), that call still reports success: an item is
 * never lost; the cancellation shows at t's next suspending call. A task
 * cancelled before it first runs still runs (so it can free its arg),
 * with every suspending call failing. A pending call that had failed for
 * another reason (deadline, shutdown) by the time t runs again reports
 * AQ_ECANCELED instead. Cancelling twice is harmless. Callable from
 * anywhere, including the task itself.
 * Returns: AQ_OK; AQ_EINVAL if t is NULL; AQ_EALREADY if t has already
 * returned (nothing changes). Does not suspend. */
AQ_EXTERN int aq_task_cancel(aq_task *t);

/* Shields the calling task from cancellation while `on` is nonzero, for
 * cleanup that must finish (a last put of a sentinel, a final flush): a
 * cancel that arrives meanwhile is recorded (aq_task_cancelled says 1) but
 * interrupts no wait and fails no call, and deadlines still apply. Once
 * the shield is lifted, the cancellation applies as usual: the next
 * suspending call returns AQ_ECANCELED. aq_loop_free and the reaping at
 * the end of aq_run override shields, so that no task can outlive them.
 * Returns: the previous state (1 shielded, 0 not); AQ_EPERM outside a
 * task. Does not suspend. */
AQ_EXTERN int aq_task_shield(int on);

/* Drops the caller's reference to t. A finished task is freed at once; a
 * running one when it returns. t must not be used afterwards.
 * Returns: AQ_OK; AQ_EINVAL if t is NULL. Does not suspend. */
AQ_EXTERN int aq_task_release(aq_task *t);

/* Returns 1 if t has returned, else 0; AQ_EINVAL if t is NULL.
 * Does not suspend. */
AQ_EXTERN int aq_task_done(const aq_task *t);

/* Returns 1 if cancellation of t was requested, else 0; AQ_EINVAL if t is
 * NULL. Does not suspend. */
AQ_EXTERN int aq_task_cancelled(const aq_task *t);

/* Lets every other ready task run once, then resumes (asyncio.sleep(0)).
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_ECANCELED. Suspends. */
AQ_EXTERN int aq_yield(void);

/* Sleeps for ns nanoseconds (asyncio.sleep), or until the deadline.
 * ns <= 0 behaves as aq_yield(); a duration past the clock's range sleeps
 * until cancelled.
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_ECANCELED. Suspends. */
AQ_EXTERN int aq_sleep(int64_t ns);
AQ_EXTERN int aq_sleep_until(int64_t deadline);

/* ===================================================================== */
/*  Queues                                                               */
/* ===================================================================== */

/* A queue of fixed-size items, copied in and out by value: an int, a
 * pointer (then the pointee moves to the getter) or a small struct.
 * Waiters are served oldest first; a put that finds a waiting getter
 * copies its item straight into that getter's buffer, and a get that
 * frees a slot moves the oldest waiting putter's item in, so a try_put
 * or try_get can never overtake a waiter already woken (no barging).
 *
 * Every successful put adds one unfinished task; only task_done()
 * removes it; join() waits until none is left. shutdown() makes puts fail
 * and, once empty, gets fail, with AQ_ESHUTDOWN.
 *
 * A queue is not tied to a loop, but all its users must run on one
 * thread. */
typedef struct aq_queue aq_queue;

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
 * so payloads are never compared). ud is the pointer given at creation. */
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
 * can be freed. Refused while a task waits on q.
 * Returns: AQ_OK; AQ_EINVAL if q is NULL; AQ_EBUSY if a getter, putter or
 * joiner is waiting (shut it down and let them return first): q is left
 * as it was. Does not suspend. */
AQ_EXTERN int aq_queue_free(aq_queue *q);

/* Puts a copy of the item_size bytes at item (await q.put(item)): hands
 * it to the oldest waiting getter, or stores it; if the queue is full,
 * waits for a free slot. A put that fails never inserts its item.
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_EINVAL if q or item is
 * NULL; AQ_ESHUTDOWN if q is (or becomes, while waiting) shut down;
 * AQ_ECANCELED; AQ_ETIMEDOUT (the _until form); AQ_ENOMEM if storage
 * could not grow. Suspends. */
AQ_EXTERN int aq_queue_put(aq_queue *q, const void *item);
AQ_EXTERN int aq_queue_put_until(aq_queue *q, const void *item,
                                 int64_t deadline);

/* Puts without waiting (q.put_nowait(item)).
 * Returns: AQ_OK; AQ_EINVAL if q or item is NULL; AQ_ESHUTDOWN (checked
 * before fullness); AQ_EFULL; AQ_ENOMEM. Does not suspend; callable
 * outside a task. */
AQ_EXTERN int aq_queue_try_put(aq_queue *q, const void *item);

/* Takes the next item into the item_size bytes at out (await q.get()),
 * waiting while the queue is empty. After shutdown, gets still drain the
 * queued items, then fail.
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_EINVAL if q or out is NULL;
 * AQ_ESHUTDOWN if q is shut down and empty; AQ_ECANCELED; AQ_ETIMEDOUT
 * (the _until form). On failure *out is untouched. Suspends. */
AQ_EXTERN int aq_queue_get(aq_queue *q, void *out);
AQ_EXTERN int aq_queue_get_until(aq_queue *q, void *out, int64_t deadline);

/* Takes an item without waiting (q.get_nowait()).
 * Returns: AQ_OK; AQ_EINVAL if q or out is NULL; AQ_ESHUTDOWN if shut
 * down and empty; AQ_EEMPTY. Does not suspend; callable outside a task. */
AQ_EXTERN int aq_queue_try_get(aq_queue *q, void *out);

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

/* Shuts q down (q.shutdown(immediate)): puts fail from now on with
 * AQ_ESHUTDOWN and waiting putters are woken with it; gets drain what is
 * queued, then fail, and waiting getters are woken with it. If immediate
 * is nonzero, queued items are dropped first, each subtracting one
 * unfinished task (never below zero), passed to the queue's drop callback
 * if aq_queue_set_overflow set one (in storage order, which for FIFO is
 * oldest first) and counted in aq_queue_stats.dropped; joiners are
 * released if unfinished reaches zero. Repeating it is harmless; a later
 * immediate shutdown still drops what is left.
 * Returns: AQ_OK; AQ_EINVAL if q is NULL. Does not suspend. */
AQ_EXTERN int aq_queue_shutdown(aq_queue *q, int immediate);

/* Introspection. Each returns the count (>= 0), or for the predicates 1
 * or 0, or AQ_EINVAL if q is NULL. None suspends. */
AQ_EXTERN long aq_queue_qsize(const aq_queue *q);      /* items queued */
AQ_EXTERN long aq_queue_maxsize(const aq_queue *q);    /* 0: unbounded */
AQ_EXTERN int aq_queue_empty(const aq_queue *q);       /* qsize == 0 */
AQ_EXTERN int aq_queue_full(const aq_queue *q);   /* maxsize>0, qsize>=max */
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

/* Called once for each item a policy discards (including a new item a
 * put could not keep) and for each item an immediate aq_queue_shutdown
 * discards, with a pointer to its bytes, valid during the call only (do
 * not write through it: for a new item they are the caller's); ud is the
 * pointer given to aq_queue_set_overflow. It may free what a pointer
 * item owns; it must not call into q. */
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
 * counterpart; asyncio users loop over get_nowait). Every item taken is
 * handed over: *got says how many, also when the call then fails.
 * got: receives the count taken (0 on failure before any was taken).
 * Returns: AQ_OK with *got >= 1; AQ_EPERM outside a task; AQ_EINVAL if q,
 * out or got is NULL or n is 0; AQ_ESHUTDOWN if q is shut down and
 * empty; AQ_ECANCELED; AQ_ETIMEDOUT (the _until form). Suspends. */
AQ_EXTERN int aq_queue_get_many(aq_queue *q, void *out, size_t n,
                                size_t *got);
AQ_EXTERN int aq_queue_get_many_until(aq_queue *q, void *out, size_t n,
                                      size_t *got, int64_t deadline);

/* The non-waiting form: takes what is there, up to n.
 * Returns: AQ_OK with *got >= 1; AQ_EINVAL as above; AQ_ESHUTDOWN if shut
 * down and empty; AQ_EEMPTY. Does not suspend; callable outside a task. */
AQ_EXTERN int aq_queue_try_get_many(aq_queue *q, void *out, size_t n,
                                    size_t *got);

/* Puts the n items at items[0 .. n * item_size), in order, waiting for
 * room as needed (under a DROP policy, never waiting). It stops early on
 * cancellation, deadline or shutdown: exactly the first *done items went
 * in (each exactly once), the rest did not.
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

/* The non-waiting form: puts what fits, in order.
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
    size_t high_water;   /* the largest qsize seen */
    long qsize, maxsize;
    long getters, putters, joiners; /* tasks waiting in each call */
    long unfinished;
    int is_shutdown;
} aq_queue_stats;

/* Fills *out with q's counters. The totals cost one increment per item
 * got and one compare per item stored (put is derived: got + qsize +
 * the dropped items that had been stored); the waiter counts are
 * O(waiters).
 * Returns: AQ_OK; AQ_EINVAL if q or out is NULL. Does not suspend. */
AQ_EXTERN int aq_queue_statistics(const aq_queue *q, aq_queue_stats *out);

/* Copies the item that the i-th next get would return (i = 0: the next
 * one) into out, leaving the queue unchanged. O(1) for FIFO and LIFO,
 * O(n * i) for PRIORITY: meant for inspection, not for the hot path.
 * Returns: AQ_OK; AQ_EINVAL if q or out is NULL or i >= qsize.
 * Does not suspend. */
AQ_EXTERN int aq_queue_peek(const aq_queue *q, size_t i, void *out);

/* ===================================================================== */
/*  Sync: Event, Lock, Semaphore, Condition, Barrier                     */
/* ===================================================================== */

/* asyncio's synchronisation primitives, for tasks of one loop. Each is an
 * opaque handle made by _new and freed by _free (refused with AQ_EBUSY
 * while a task waits on it). Waiters are served oldest first, and every
 * release hands over directly: the lock's ownership or a permit goes to
 * the oldest waiter before anything else runs, so no newcomer can take
 * it first, and a waiter cancelled after the hand-over still reports
 * AQ_OK (it holds the lock or the permit: a permit is never lost, and a
 * lock is never held by a task that was not told so). A waiter cancelled
 * or timed out before the hand-over takes nothing. Suspending calls follow
 * the conventions at the top (AQ_EPERM, then AQ_EINVAL for a NULL handle,
 * then AQ_ECANCELED; an _until twin; AQ_ENOMEM in compact tasks).
 * Predicates (is_set, locked, broken) return 1 or 0 only; NULL gives 0.
 * Differences from asyncio are stated at each call. */
typedef struct aq_event aq_event;
typedef struct aq_lock aq_lock;
typedef struct aq_sem aq_sem;
typedef struct aq_cond aq_cond;
typedef struct aq_barrier aq_barrier;

/* ---- Event (asyncio.Event) ------------------------------------------- */

/* Creates a clear event. Returns: AQ_OK; AQ_EINVAL if out is NULL;
 * AQ_ENOMEM. Does not suspend. */
AQ_EXTERN int aq_event_new(aq_event **out);
/* Returns: AQ_OK; AQ_EINVAL if e is NULL; AQ_EBUSY if a task waits on e.
 * Does not suspend. */
AQ_EXTERN int aq_event_free(aq_event *e);
/* Sets e and wakes every waiter (event.set()); later waits return at
 * once. A waiter woken here returns AQ_OK even if e is cleared before it
 * runs. Returns: AQ_OK; AQ_EINVAL if e is NULL. Does not suspend. */
AQ_EXTERN int aq_event_set(aq_event *e);
/* Clears e (event.clear()). Returns: AQ_OK; AQ_EINVAL if e is NULL.
 * Does not suspend. */
AQ_EXTERN int aq_event_clear(aq_event *e);
/* 1 if e is set, else 0 (event.is_set()). Does not suspend. */
AQ_EXTERN int aq_event_is_set(const aq_event *e);
/* Waits until e is set (await event.wait()); at once if it is.
 * Returns: AQ_OK; AQ_EPERM; AQ_EINVAL if e is NULL; AQ_ECANCELED;
 * AQ_ETIMEDOUT (the _until form). Suspends. */
AQ_EXTERN int aq_event_wait(aq_event *e);
AQ_EXTERN int aq_event_wait_until(aq_event *e, int64_t deadline);

/* ---- Lock (asyncio.Lock) --------------------------------------------- */

/* Creates an unlocked lock. Returns: AQ_OK; AQ_EINVAL if out is NULL;
 * AQ_ENOMEM. Does not suspend. */
AQ_EXTERN int aq_lock_new(aq_lock **out);
/* Returns: AQ_OK; AQ_EINVAL if l is NULL; AQ_EBUSY if l is held or a task
 * waits on it. Does not suspend. */
AQ_EXTERN int aq_lock_free(aq_lock *l);
/* Acquires l for the calling task (await lock.acquire()), waiting while
 * another task holds it; waiters get it in arrival order.
 * Returns: AQ_OK (the caller owns l); AQ_EPERM outside a task; AQ_EINVAL
 * if l is NULL; AQ_EDEADLK if the caller already holds l (asyncio would
 * wait forever); AQ_ECANCELED; AQ_ETIMEDOUT (the _until form).
 * Suspends. */
AQ_EXTERN int aq_lock_acquire(aq_lock *l);
AQ_EXTERN int aq_lock_acquire_until(aq_lock *l, int64_t deadline);
/* Acquires l if it is free (Go's TryLock; asyncio has none).
 * Returns: AQ_OK; AQ_EINVAL if l is NULL; AQ_EPERM outside a task (a lock
 * is owned by a task); AQ_EBUSY if held. Does not suspend. */
AQ_EXTERN int aq_lock_try_acquire(aq_lock *l);
/* Releases l (lock.release()), handing it to the oldest waiter if any.
 * Returns: AQ_OK; AQ_EINVAL if l is NULL or not locked (asyncio's
 * RuntimeError); AQ_EPERM if the caller is not the task that holds it
 * (asyncio allows that; libaq refuses it). Does not suspend. */
AQ_EXTERN int aq_lock_release(aq_lock *l);
/* 1 if l is held, else 0 (lock.locked()). Does not suspend. */
AQ_EXTERN int aq_lock_locked(const aq_lock *l);

/* ---- Semaphore, BoundedSemaphore ------------------------------------- */

/* Creates a semaphore holding `value` permits (asyncio.Semaphore(value));
 * with bounded nonzero, a BoundedSemaphore: a release that would raise
 * the value above its initial one fails.
 * Returns: AQ_OK; AQ_EINVAL if out is NULL, value < 0, or bounded with
 * value 0; AQ_ENOMEM. Does not suspend. */
AQ_EXTERN int aq_sem_new(aq_sem **out, long value, int bounded);
/* Returns: AQ_OK; AQ_EINVAL if s is NULL; AQ_EBUSY if a task waits on s.
 * Does not suspend. */
AQ_EXTERN int aq_sem_free(aq_sem *s);
/* Takes a permit (await sem.acquire()), waiting while none is left;
 * waiters get permits in arrival order.
 * Returns: AQ_OK; AQ_EPERM; AQ_EINVAL if s is NULL; AQ_ECANCELED;
 * AQ_ETIMEDOUT (the _until form). Suspends. */
AQ_EXTERN int aq_sem_acquire(aq_sem *s);
AQ_EXTERN int aq_sem_acquire_until(aq_sem *s, int64_t deadline);
/* Takes a permit if one is free. Returns: AQ_OK; AQ_EINVAL if s is NULL;
 * AQ_EBUSY if none. Does not suspend; callable outside a task. */
AQ_EXTERN int aq_sem_try_acquire(aq_sem *s);
/* Returns a permit (sem.release()), handing it to the oldest waiter if
 * any. Returns: AQ_OK; AQ_EINVAL if s is NULL, or s is bounded and
 * already at its initial value (asyncio's ValueError), or the value would
 * pass LONG_MAX. Does not suspend; callable outside a task. */
AQ_EXTERN int aq_sem_release(aq_sem *s);
/* 1 if no permit is free (sem.locked()), else 0. Does not suspend. */
AQ_EXTERN int aq_sem_locked(const aq_sem *s);
/* Permits free now (>= 0), or AQ_EINVAL if s is NULL. Does not suspend. */
AQ_EXTERN long aq_sem_value(const aq_sem *s);

/* ---- Condition (asyncio.Condition) ----------------------------------- */

/* Creates a condition over lock, or over a lock of its own if lock is
 * NULL (freed with it; aq_cond_lock returns it).
 * Returns: AQ_OK; AQ_EINVAL if out is NULL; AQ_ENOMEM. Does not
 * suspend. */
AQ_EXTERN int aq_cond_new(aq_cond **out, aq_lock *lock);
/* Returns: AQ_OK; AQ_EINVAL if c is NULL; AQ_EBUSY if a task waits on c,
 * or c's own lock is held. Does not suspend. */
AQ_EXTERN int aq_cond_free(aq_cond *c);
/* c's lock, to acquire and release around waits; NULL if c is NULL. */
AQ_EXTERN aq_lock *aq_cond_lock(const aq_cond *c);
/* Releases the lock, waits to be notified, and takes the lock back
 * (await cond.wait()). It returns holding the lock whatever ended the
 * wait: a deadline or a cancel re-acquires it first (shielded), as
 * asyncio does. A notified waiter gets the lock in notification order.
 * Returns: AQ_OK; AQ_EPERM outside a task or if the caller does not hold
 * the lock (asyncio's RuntimeError); AQ_EINVAL if c is NULL;
 * AQ_ECANCELED (lock held); AQ_ETIMEDOUT (the _until form; lock held).
 * Suspends. */
AQ_EXTERN int aq_cond_wait(aq_cond *c);
AQ_EXTERN int aq_cond_wait_until(aq_cond *c, int64_t deadline);
/* Waits until pred(arg) returns nonzero (await cond.wait_for(pred)),
 * testing it first and after each wake-up, with the lock held.
 * Returns: AQ_OK once pred holds; as aq_cond_wait otherwise; AQ_EINVAL if
 * pred is NULL. Suspends. */
AQ_EXTERN int aq_cond_wait_for(aq_cond *c, int (*pred)(void *), void *arg);
AQ_EXTERN int aq_cond_wait_for_until(aq_cond *c, int (*pred)(void *),
                                     void *arg, int64_t deadline);
/* Wakes up to n waiters, oldest first (cond.notify(n)); each then waits
 * for the lock. aq_cond_notify_all wakes all (cond.notify_all()).
 * Returns: AQ_OK; AQ_EINVAL if c is NULL or n < 0; AQ_EPERM if the
 * caller does not hold the lock. Does not suspend. */
AQ_EXTERN int aq_cond_notify(aq_cond *c, long n);
AQ_EXTERN int aq_cond_notify_all(aq_cond *c);

/* ---- Barrier (asyncio.Barrier) --------------------------------------- */

/* Creates a barrier for `parties` tasks (1 to INT_MAX).
 * Returns: AQ_OK; AQ_EINVAL if out is NULL or parties is out of range;
 * AQ_ENOMEM. Does not suspend. */
AQ_EXTERN int aq_barrier_new(aq_barrier **out, long parties);
/* Returns: AQ_OK; AQ_EINVAL if b is NULL; AQ_EBUSY if a task waits on b.
 * Does not suspend. */
AQ_EXTERN int aq_barrier_free(aq_barrier *b);
/* Waits until `parties` tasks have called it (await barrier.wait()); the
 * last one releases them all. A waiter that is cancelled or times out
 * leaves without breaking the barrier, as in asyncio. Unlike asyncio,
 * the round ends at once (no draining state): the next caller starts a
 * new round.
 * Returns: the caller's arrival index, 0 to parties - 1 (>= 0);
 * AQ_EPERM; AQ_EINVAL if b is NULL; AQ_EBROKEN if b is broken or was
 * aborted or reset while waiting; AQ_ECANCELED; AQ_ETIMEDOUT (the _until
 * form). Suspends. */
AQ_EXTERN int aq_barrier_wait(aq_barrier *b);
AQ_EXTERN int aq_barrier_wait_until(aq_barrier *b, int64_t deadline);
/* Breaks b (barrier.abort()): waiters and later waits get AQ_EBROKEN
 * until aq_barrier_reset. Returns: AQ_OK; AQ_EINVAL if b is NULL. Does
 * not suspend. */
AQ_EXTERN int aq_barrier_abort(aq_barrier *b);
/* Starts b afresh (barrier.reset()): the current round's waiters get
 * AQ_EBROKEN; a broken barrier is mended. Returns: AQ_OK; AQ_EINVAL if b
 * is NULL. Does not suspend. */
AQ_EXTERN int aq_barrier_reset(aq_barrier *b);
/* barrier.parties, barrier.n_waiting: counts, or AQ_EINVAL if b is NULL;
 * barrier.broken: 1 or 0. None suspends. */
AQ_EXTERN long aq_barrier_parties(const aq_barrier *b);
AQ_EXTERN long aq_barrier_n_waiting(const aq_barrier *b);
AQ_EXTERN int aq_barrier_broken(const aq_barrier *b);

/* ---- task groups (asyncio.TaskGroup, Trio's nursery, Go's errgroup) -- */

/* A group of child tasks that succeed or fail together. A child is
 * int fn(void *arg): it fails by returning nonzero (a negative AQ_E* code
 * or any status of the program's), except that a child which was
 * cancelled and returns AQ_ECANCELED has not failed (a CancelledError is
 * not an error of a TaskGroup either). The first failure cancels every other
 * child still running, and the group's wait reports it. Cancelling the
 * waiting task, or its deadline, cancels the children too, and the wait
 * returns only once every child has returned: no child outlives the
 * group's wait. Children run on the spawning task's loop; the group owns
 * them (no handles are given out). */
typedef struct aq_group aq_group;
typedef int (*aq_group_fn)(void *arg);

/* Creates an empty group. Returns: AQ_OK; AQ_EINVAL if out is NULL;
 * AQ_ENOMEM. Does not suspend. */
AQ_EXTERN int aq_group_new(aq_group **out);
/* Returns: AQ_OK; AQ_EINVAL if g is NULL; AQ_EBUSY if a child is still
 * running or a task waits on g. Does not suspend. */
AQ_EXTERN int aq_group_free(aq_group *g);
/* Spawns fn(arg) as a child of g (tg.create_task), on the caller's loop.
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_EINVAL if g or fn is NULL;
 * AQ_EGROUP if a child has already failed (the group is shutting down,
 * as asyncio's refuses new tasks then); AQ_ENOMEM. Does not suspend. */
AQ_EXTERN int aq_group_spawn(aq_group *g, aq_group_fn fn, void *arg);
/* Waits until every child has returned (the end of `async with
 * TaskGroup()`). status: if not NULL, receives the first failing child's
 * status, or 0.
 * Returns: AQ_OK if every child returned 0; AQ_EGROUP if one failed (the
 * others were cancelled and have returned); AQ_EPERM outside a task;
 * AQ_EINVAL if g is NULL; AQ_ECANCELED if the caller was cancelled and
 * AQ_ETIMEDOUT (the _until form, or a timeout scope) if the deadline
 * passed: in both, the children were cancelled and have all returned
 * (the wait for them is shielded). Suspends. */
AQ_EXTERN int aq_group_wait(aq_group *g, int *status);
AQ_EXTERN int aq_group_wait_until(aq_group *g, int *status,
                                  int64_t deadline);
/* Cancels every child still running (a failure does it by itself).
 * Returns: AQ_OK; AQ_EINVAL if g is NULL. Does not suspend. */
AQ_EXTERN int aq_group_cancel(aq_group *g);
/* Children still running (>= 0), or AQ_EINVAL if g is NULL. */
AQ_EXTERN long aq_group_live(const aq_group *g);

/* ===================================================================== */
/*  Select                                                               */
/* ===================================================================== */

/* Waits on several things at once, completing exactly one of them (Go's
 * select, libdill's choose; asyncio.wait(FIRST_COMPLETED) for tasks). A
 * clause is a put of an item, a get into a buffer, the completion of a
 * task or of a task group, an event being set, or the acquisition of a
 * lock or a semaphore permit. (A barrier wait is not a clause: arriving
 * is itself an action, which a losing clause could not take back.) Fill
 * clauses with the AQ_PUT, AQ_GET, AQ_TASK, AQ_GROUP, AQ_EVENT, AQ_LOCK
 * and AQ_SEM initialisers:
 *
 *     aq_clause c[] = { AQ_GET(work, &job), AQ_GET(control, &cmd) };
 *     int i = aq_select(c, 2, 0);   // 0 or 1: which one completed
 *
 * A clause whose object is NULL is disabled, as a nil channel in Go:
 * switch clauses off and on between calls by setting it. A clause on
 * a shut-down queue is ready and completes with AQ_ESHUTDOWN in its rc
 * (as a closed channel is ready in Go): a put at once, a get once the
 * queue is empty. When several clauses are ready, one is chosen at
 * random with equal probability (the loop's generator, aq_loop_seed);
 * with AQ_SELECT_BIASED the first ready clause in array order is taken,
 * for priority between queues. Waiters on each queue are still served
 * oldest first: a select waiting on a queue is one waiter among the
 * others, and an item is handed to exactly one of them.
 *
 * Exactly one clause completes: its item moves (or its task's result is
 * read, or the lock or permit is taken) and its rc is set; the others do nothing and their rc is left as
 * it was. A cancelled or timed-out select completed none, unless one
 * completed first (completed beats cancelled: the index is returned).
 * Up to AQ_SELECT_STATIC clauses wait with no allocation; beyond that
 * the waiter records are allocated (AQ_ENOMEM before anything is done).
 * A task may not use the same queue twice in the same direction in one
 * select (AQ_EINVAL); a put and a get on one queue are allowed. */
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
    };
    void *buf;       /* PUT: the item; GET: the destination; TASK: NULL or
                        a void * that receives the task's result; GROUP:
                        NULL or an int that receives its status */
    size_t size;     /* PUT, GET: bytes at buf, must be the queue's
                        item_size (a mismatch is AQ_EINVAL) */
} aq_clause;

enum {
    AQ_OP_PUT = 1,   /* aq_queue_put */
    AQ_OP_GET = 2,   /* aq_queue_get */
    AQ_OP_TASK = 3,  /* aq_task_wait */
    AQ_OP_EVENT = 4, /* aq_event_wait */
    AQ_OP_LOCK = 5,  /* aq_lock_acquire: the caller owns the lock after */
    AQ_OP_SEM = 6,   /* aq_sem_acquire: the caller holds a permit after */
    AQ_OP_GROUP = 7  /* aq_group_wait (without cancelling on a loss) */
};

#define AQ_PUT(q, item)                                                   \
    {.op = AQ_OP_PUT, .queue = (q), .buf = (void *)(item),              \
     .size = sizeof *(item)}
#define AQ_GET(q, out)                                                    \
    {.op = AQ_OP_GET, .queue = (q), .buf = (out), .size = sizeof *(out)}
#define AQ_TASK(t, result) {.op = AQ_OP_TASK, .task = (t), .buf = (result)}
#define AQ_EVENT(e) {.op = AQ_OP_EVENT, .event = (e)}
#define AQ_LOCK(l) {.op = AQ_OP_LOCK, .lock = (l)}
#define AQ_SEM(s) {.op = AQ_OP_SEM, .sem = (s)}
#define AQ_GROUP(g, status) {.op = AQ_OP_GROUP, .group = (g), .buf = (status)}

/* Clauses that wait without allocating. */
#define AQ_SELECT_STATIC 8

/* flags: take the first ready clause in array order, not a random one. */
#define AQ_SELECT_BIASED 1

/* Completes one of the n clauses, waiting until one can complete.
 * Returns: the index of the clause that completed (>= 0; its rc says
 * how); AQ_EPERM outside a task; AQ_EINVAL if clauses is NULL, n is 0, a
 * clause's op is unknown, an enabled clause has a NULL buf (PUT, GET) or
 * a size other than its queue's item size, a queue appears twice in the
 * same direction, or flags has unknown bits; AQ_EDEADLK if a TASK clause
 * names the caller or a LOCK clause a lock the caller holds; AQ_ECANCELED; AQ_ETIMEDOUT (the _until form; with
 * every clause disabled, the call just waits for the deadline or a
 * cancel); AQ_ENOMEM (more than AQ_SELECT_STATIC clauses, or a compact
 * task that could not reserve room to park). Suspends. */
AQ_EXTERN int aq_select(aq_clause *clauses, size_t n, int flags);
AQ_EXTERN int aq_select_until(aq_clause *clauses, size_t n, int flags,
                              int64_t deadline);

/* The non-waiting form (Go's select with a default case): completes a
 * ready clause if there is one.
 * Returns: the index; AQ_EAGAIN if no clause was ready; AQ_EINVAL as
 * above; AQ_EDEADLK as above; AQ_ENOMEM if a put's storage could not
 * grow. Does not suspend;
 * callable outside a task, except with a LOCK clause (a lock is owned by
 * a task: AQ_EPERM). */
AQ_EXTERN int aq_select_try(aq_clause *clauses, size_t n, int flags);

/* ===================================================================== */
/*  Allocator                                                            */
/* ===================================================================== */

/* Replaces the allocator used for every allocation libaq makes (stacks
 * excepted: they are mmap'd). Pass all three, or all NULL to restore
 * malloc/realloc/free. Call it while no loop, task or queue exists: a
 * block must be freed by the allocator that made it.
 * Returns: AQ_OK; AQ_EINVAL if only some are NULL. Does not suspend. */
AQ_EXTERN int aq_set_allocator(void *(*malloc_fn)(size_t),
                               void *(*realloc_fn)(void *, size_t),
                               void (*free_fn)(void *));

/* ===================================================================== */
/*  Version                                                              */
/* ===================================================================== */

#define AQ_VERSION_MAJOR 0
#define AQ_VERSION_MINOR 1
#define AQ_VERSION_PATCH 0

/* Returns "MAJOR.MINOR.PATCH" of the library linked in (a static string).
 * Does not suspend. */
AQ_EXTERN const char *aq_version(void);

#ifdef __cplusplus
}
#endif
#endif /* AQ_H */
