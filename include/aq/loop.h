/* libaq - the loop and tasks, timeout scopes. MIT licensed.
 * Part of the public API: include <aq.h>, which includes every part in
 * order; its opening comment states the conventions all of them follow. */
#ifndef AQ_API_LOOP_H
#define AQ_API_LOOP_H

#include "base.h"

#include <stdio.h> /* FILE, for aq_loop_dump */

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/*  Loop                                                                 */
/* ===================================================================== */

/* An event loop: a FIFO ready queue of tasks plus a timer heap. The loop
 * runs a task until it suspends, then the next ready one; scheduling is
 * fair and deterministic. One loop runs per thread at a time. */
typedef struct aq_loop aq_loop;
/* A task: fn(arg) running on a stack of its own on one loop, suspended
 * only inside libaq's suspending calls (asyncio.Task, Go's goroutine).
 * Made by aq_loop_spawn or aq_spawn; a handle from them holds a reference,
 * dropped with aq_task_release. */
typedef struct aq_task aq_task;

/* A task's body. Its return value is the task's result (aq_task_wait).
 * Results that are not pointers (examples/results.c): an integer goes
 * through intptr_t (return (void *)(intptr_t)n; read back with
 * (long)(intptr_t)result); several values go into a struct that the
 * spawner owns and passes as arg, read after aq_task_wait (it must
 * outlive the task); what the task makes (a string) comes back as memory
 * it allocated, which the waiter frees. */
typedef void *(*aq_task_fn)(void *arg);

/* Default stack size of a task: 64 KiB of address space, committed by the
 * kernel page by page as it is touched. Every stack gets a guard page
 * below it, so an overflow faults at once and is reported (task and stack
 * size) before the process dies of SIGSEGV. The report comes from a
 * SIGSEGV handler that the first loop run installs only if the program
 * has none (the default action; a program's own crash handler, or a
 * sanitizer's, keeps the fault), running on an alternate signal stack of
 * 64 KiB that each thread gets at its first loop run unless it has one
 * (sigaltstack): the stack is unmapped when the thread exits, and the
 * handler is put back to the default if libaq is unloaded (dlclose).
 * On Linux 6.13+ guards are
 * guard regions (MADV_GUARD_INSTALL), which cost no kernel mappings, so
 * every stack of any number of tasks is guarded. On older kernels (or
 * with AQ_STACK_GUARDS=mprotect in the environment, read once) a guard is
 * an mprotect'ed page, which costs kernel mappings (65,530 per process by
 * default): only the first 16,384 stacks of a process get one. Past that,
 * stacks are carved from shared slabs without guards, and the stack
 * pointer is checked whenever the task suspends or returns: an overflow
 * still in progress then is reported and the process aborted, but one
 * that unwound before may go unnoticed. A process whose vm.max_map_count
 * is raised can set another number of such guarded stacks in the
 * environment variable AQ_GUARD_BUDGET (read once, at the first spawn). */
#define AQ_STACK_DEFAULT ((size_t)64 * 1024)
/* Smallest accepted stack size, in bytes: 16 KiB. */
#define AQ_STACK_MIN ((size_t)16 * 1024)
/* Largest accepted stack size, in bytes: 1 GiB. */
#define AQ_STACK_MAX ((size_t)1024 * 1024 * 1024)

/* The asyncio.run() of libaq: makes a fresh loop, runs fn(arg) in a task
 * until it returns, then cancels every task still alive, runs them until
 * they return, and frees the loop and all its tasks.
 * result: if not NULL, receives fn's return value.
 * Returns: AQ_OK; AQ_EINVAL if fn is NULL; AQ_ENOMEM; AQ_EBUSY if called
 * from inside a task (loops do not nest; a drop callback or comparator
 * run in a task's put or get counts as the task); AQ_ECANCELED if
 * aq_loop_stop stopped the loop (thread.h; the tasks are cancelled and reaped
 * as below, and *result receives what fn returned); AQ_EDEADLK if fn's task
 * could never finish because every task was blocked with no timer pending
 * (the tasks are then cancelled and reaped as above; *result receives what fn
 * returned after its wait failed with AQ_ECANCELED). Does not suspend: it
 * blocks the calling thread, like asyncio.run(). */
AQ_EXTERN int aq_run(aq_task_fn fn, void *arg, void **result);

/* Creates a loop in *out (asyncio.new_event_loop; uv_loop_init). The
 * caller owns it; free with aq_loop_free().
 * Returns: AQ_OK; AQ_EINVAL if out is NULL; AQ_ENOMEM (*out untouched).
 * Does not suspend. */
AQ_EXTERN int aq_loop_new(aq_loop **out);

/* Runs the loop until no task is ready and no timer is pending. Tasks
 * still blocked on a queue or another task stay blocked (a later run, or
 * aq_loop_free, handles them).
 * Returns: AQ_OK; AQ_EINVAL if loop is NULL; AQ_EBUSY if called from a
 * task (a drop callback or comparator run in one included), or if this
 * loop is already running (on any thread: of two threads
 * calling at once, one runs it and the other gets AQ_EBUSY), or is being
 * freed (from a cleanup that aq_loop_free runs). A post,
 * which runs outside any task, may run another loop to its end (as
 * aq_loop_free of another loop does): that loop runs nested, and the
 * outer one resumes after. Does not suspend: it blocks the calling
 * thread while it waits for timers, fds and posts (asyncio's
 * loop.run_until_complete; aq_loop_run_ready never blocks). */
AQ_EXTERN int aq_loop_run(aq_loop *loop);

/* Runs one iteration without ever blocking (the "run what is ready"
 * call for a host event loop, with aq_loop_fd): takes pending I/O events
 * and posts, fires due timers, runs the tasks ready at that moment once
 * each, and returns; posts from other threads after it returns make
 * aq_loop_fd readable. A pending aq_loop_stop is taken instead: that
 * call runs no task and fires no timer (the posts and I/O events it took
 * first have run), the next one runs as usual (libuv's
 * uv_run(UV_RUN_NOWAIT)). Returns: AQ_OK; AQ_EINVAL if loop is NULL;
 * AQ_EBUSY as aq_loop_run. Does not suspend. */
AQ_EXTERN int aq_loop_run_ready(aq_loop *loop);

/* When the loop next needs to run (for a host loop's timer): aq_now() if
 * a task is ready, the earliest timer's deadline, or AQ_NEVER if neither
 * (I/O events and posts are not counted: they make aq_loop_fd readable;
 * libuv's uv_backend_timeout, as an absolute time). AQ_NEVER is -1, the
 * value of AQ_EPERM: compare with AQ_NEVER first.
 * Returns: that time (aq_now() units, ns); AQ_EINVAL if loop is NULL (a
 * negative value other than AQ_NEVER is an error). Does not suspend. */
AQ_EXTERN int64_t aq_loop_next_deadline(const aq_loop *loop);

/* Frees a loop: cancels every task that has not finished, runs the loop
 * until they all return, then frees every task (handles still held by
 * the caller become invalid) and every pooled stack. Queues are not owned
 * by the loop; free them yourself, before or after. Work its tasks handed
 * to the thread pool (aq_to_thread, thread.h) and that is still running
 * is waited for, and its cleanups run, before the loop goes (and before
 * the task records: a cleanup may still read a handle the program holds,
 * aq_task_done or aq_task_release on it).
 * Returns: AQ_OK; AQ_EINVAL if loop is NULL; AQ_EBUSY if the loop is
 * running (called from one of its own tasks or posts, or from another
 * thread while that one runs it: a run that may begin during the free is
 * the caller's race, as for any free), or if it still has tasks to
 * reap and the call comes from a task of another loop (a drop callback
 * or comparator run in its put or get included: loops do not nest), or
 * from a cleanup this free runs: nothing is freed. Such a
 * cleanup finds the loop closed: aq_loop_spawn on it is AQ_EINVAL, its
 * runs AQ_EBUSY (hand a late result to another loop, or free it there).
 * Does not suspend. */
AQ_EXTERN int aq_loop_free(aq_loop *loop);

/* Sets the default stack size, in bytes, for tasks spawned on this loop
 * from now on (rounded up to whole pages). Call it before spawning: the
 * loop's pooled stacks are of the old size.
 * Returns: AQ_OK; AQ_EINVAL if loop is NULL or size is outside
 * [AQ_STACK_MIN, AQ_STACK_MAX]; AQ_EBUSY if a task of the loop has not
 * returned yet, or compact mode is on and size is a new one (its shared
 * stack comes from the same pool: turn it off with aq_loop_set_compact
 * (loop, 0) first); nothing changes then. Does not suspend. */
AQ_EXTERN int aq_loop_set_stack_size(aq_loop *loop, size_t size);

/* Sets how many free stacks the loop keeps warm (memory still committed)
 * for reuse, and as many records of finished tasks; default 1024. A
 * spawn that finds a warm stack costs a pointer pop; otherwise it pays a
 * page fault on first touch (the "spawn cold" against "spawn warm" rows
 * of `make bench`). Stacks freed beyond the limit give their memory back
 * to the system but keep their address range until the loop is freed.
 * A program that spawns bursts of N tasks over and over can set N here
 * and pay about 4 KiB per kept stack. Lowering it releases the excess now.
 * Returns: AQ_OK; AQ_EINVAL if loop is NULL. Does not suspend. */
AQ_EXTERN int aq_loop_set_stack_pool(aq_loop *loop, size_t max_stacks);

/* Compact mode, for programs with very many idle tasks. With size > 0,
 * tasks spawned on this loop from now on with stack_size 0 share one run
 * stack of `size` bytes: while a compact task is parked, its frames (a
 * few hundred bytes for a task waiting in a queue call) are copied to a
 * buffer of their own size, so a parked task costs about 500-550 bytes
 * in all instead of a page or two (bench/RESULTS.md; more for waits with
 * deeper frames: an fd read, a select of several clauses). The price: a
 * switch to a compact task whose frames are not in place goes through
 * the loop and copies them (tens of nanoseconds more), and a compact task
 * must not hand pointers to its own stack variables to other tasks or
 * threads (in an item, a spawn's or a post's arg): while it is parked
 * its frames are elsewhere, and they come back to the same addresses
 * only when it runs. libaq's own calls account for that: any buffer or
 * out-parameter a compact task passes to them (a get's destination, a
 * put's item, results, counts, select clauses' buffers, an aq_timeout)
 * may be its own stack variable. The shared stack has a guard page,
 * so an overflow is reported as in the default mode. A compact task
 * reserves room for its frames as it parks: any suspending call it makes
 * may also return AQ_ENOMEM, having done nothing (the calls that count
 * their progress stop as on a cancel instead: aq.h).
 * size 0 turns compact mode off for later spawns. For aq_run's loop,
 * call it from the main task on aq_loop_current() (the main task itself
 * is not compact); for a loop of aq_cores, from a task spawned there
 * (aq_cores_spawn), on aq_loop_current(), which aq_cores_wait then waits
 * for before the compact tasks are spawned.
 * Returns: AQ_OK; AQ_EINVAL if loop is NULL, size is outside
 * [AQ_STACK_MIN, AQ_STACK_MAX] (0 excepted), or this build's context
 * switch is the ucontext fallback (which cannot save frames); AQ_EBUSY if
 * compact tasks of the loop are still alive; AQ_ENOMEM.
 * Does not suspend. */
AQ_EXTERN int aq_loop_set_compact(aq_loop *loop, size_t size);

/* Returns the loop running the calling task, or NULL outside a task
 * (asyncio.get_running_loop, which raises there). Does not suspend. */
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
    size_t timers;       /* deadlines armed: sleeps, _until waits, and
                            waits inside a timeout scope */
    uint64_t iterations; /* loop iterations since the loop was created:
                            passes of aq_loop_run (or aq_run) that ran
                            the ready tasks or waited (for a timer, an
                            fd or a post), and each aq_loop_run_ready
                            that ran something (a run with nothing to
                            do counts none) */
} aq_loop_stats;

/* Fills *out with the loop's counters. Costs O(ready tasks).
 * Returns: AQ_OK; AQ_EINVAL if loop or out is NULL. Does not suspend. */
AQ_EXTERN int aq_loop_statistics(const aq_loop *loop, aq_loop_stats *out);

/* ===================================================================== */
/*  Tasks                                                                */
/* ===================================================================== */

/* Spawns fn(arg) as a new task on loop (asyncio.create_task). The task is
 * appended to the ready queue and first runs when the loop reaches it;
 * callable from inside or outside a running loop, on the loop's thread
 * only (from another thread: aq_cores_spawn or aq_loop_post, thread.h;
 * a call from another thread is not detected, and a loop asleep in its
 * poller would not see the new task).
 * out: if not NULL, receives a handle: the caller then holds one reference
 *   and must drop it with aq_task_release() (or let aq_loop_free() reclaim
 *   it). If NULL the task is detached and frees itself when it returns.
 * stack_size: 0 for the loop's default (a compact task if the loop is in
 *   compact mode, see aq_loop_set_compact), else a stack of its own of
 *   that many bytes, within [AQ_STACK_MIN, AQ_STACK_MAX] (rounded up to
 *   whole pages).
 * Returns: AQ_OK; AQ_EINVAL if loop or fn is NULL, stack_size is out of
 * range, or loop is being freed (from a cleanup aq_loop_free runs: the
 * task would never run); AQ_ENOMEM (no stack or memory: nothing was
 * spawned, *out untouched). Does not suspend. */
AQ_EXTERN int aq_loop_spawn(aq_loop *loop, aq_task **out, aq_task_fn fn,
                            void *arg, size_t stack_size);

/* aq_loop_spawn() on the calling task's loop with the default stack.
 * Returns: as aq_loop_spawn(), and AQ_EPERM outside a task.
 * Does not suspend. */
AQ_EXTERN int aq_spawn(aq_task **out, aq_task_fn fn, void *arg);

/* Returns the calling task, or NULL outside a task
 * (asyncio.current_task). The caller holds no reference through it: the
 * pointer is valid while the task runs, and for as long after as a handle
 * is held (one from aq_spawn's out). A task group's child has no other
 * handle: to cancel one child alone, publish aq_task_self() from it and
 * clear it before the child returns (aq_task_cancel on a task that
 * returned and had no handle is a use after free). Does not suspend. */
AQ_EXTERN aq_task *aq_task_self(void);

/* Returns t's id, or 0 if t is NULL: a number no other task of the
 * process has, ever (1, 2, 3... in spawn order over every loop; 64 bits,
 * never wraps). A task's record is reused once the task is reaped, so
 * two tasks can have the same aq_task pointer one after the other, never
 * the same id: keep the id, not the pointer, to recognise a task later
 * (who owns a resource, whose entry this is). t must be a handle still
 * valid (aq_task_self's rule); aq_task_id(aq_task_self()) is the calling
 * task's, 0 outside any task. asyncio numbers its tasks the same way
 * (the default name "Task-N"); Go keeps goroutine ids hidden. Does not
 * suspend. */
AQ_EXTERN uint64_t aq_task_id(const aq_task *t);

/* Waits until task t returns (await task).
 * result: if not NULL, receives t's return value on AQ_OK.
 * Returns: AQ_OK (also at once if t had already returned); AQ_EPERM
 * outside a task; AQ_EINVAL if t is NULL or belongs to another loop (a
 * task of another loop, or thread, is awaited through a queue or an
 * event of its own); AQ_EDEADLK if t is the calling task; AQ_ECANCELED
 * if the caller is cancelled; AQ_ETIMEDOUT (the _until
 * form) if the deadline passed first. In both cases t keeps running:
 * unlike asyncio, where cancelling `await task` cancels the task and
 * wait_for cancels it on timeout, call aq_task_cancel(t) for that.
 * Suspends. */
AQ_EXTERN int aq_task_wait(aq_task *t, void **result);
AQ_EXTERN int aq_task_wait_until(aq_task *t, void **result, int64_t deadline);

/* Waits for every task in tasks[0..n) (asyncio.gather). results: if not
 * NULL, results[i] receives tasks[i]'s return value. If the caller is
 * cancelled, or the deadline passes, every task of the set that is still
 * running is cancelled (as asyncio.gather does) and the call returns at
 * once, without waiting for them to return (aq_group_wait does wait):
 * keep what they use alive until aq_task_wait says they have.
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_EINVAL if tasks is NULL
 * with n > 0 or any tasks[i] is NULL or of another loop (nothing is
 * cancelled then); AQ_EDEADLK if the set contains the caller; AQ_ECANCELED;
 * AQ_ETIMEDOUT (the _until form); AQ_ENOMEM in a compact task with no memory
 * to park: nothing is cancelled, and results holds what the tasks already
 * awaited returned. Suspends. */
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
 * is NULL, n is 0 or every entry is NULL, or one is of another loop;
 * AQ_EDEADLK if the set contains the caller; AQ_ECANCELED; AQ_ETIMEDOUT (the
 * _until form); AQ_ENOMEM if n > AQ_SELECT_STATIC (NULL entries count)
 * and its clauses or waiter records could not be allocated (the clauses
 * are allocated first, before the checks above but AQ_EPERM's and
 * AQ_EINVAL's for tasks and n). Suspends. */
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
 * the earliest deadline wins, and of scopes with equal deadlines the
 * innermost is the one that expires (aq_timeout_end returns 1 for it
 * only; asyncio 3.11 marks both expired, and the outer one raises
 * TimeoutError). Unlike asyncio's, a scope is not built on
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
 * the library's: the caller neither sets nor reads them, but goes through
 * the calls (begin sets them all). Every begin must be paired with an end
 * in the same task, innermost first, before the function whose frame
 * holds the struct returns: the task's later calls would read the dead
 * frame (undefined behaviour, as any pointer to a dead local: in practice
 * later calls time out at once, or a later begin crashes; the same
 * struct begun again returns AQ_EINVAL, and AddressSanitizer with
 * ASAN_OPTIONS=detect_stack_use_after_return=1 names the frame). A task
 * that returns with scopes open leaves nothing behind. */
typedef struct aq_timeout {
    int64_t deadline;         /* the scope's deadline, aq_now() clock, ns
                                 (AQ_NEVER: none); set by begin and
                                 reschedule */
    int expired;              /* 1 once a call was cut short by this
                                 scope; read it with aq_timeout_expired */
    struct aq_timeout *outer; /* the enclosing scope of the same task, or
                                 NULL */
    aq_task *task;            /* the task that opened the scope */
} aq_timeout;

/* Opens a scope with an absolute deadline (asyncio.timeout_at(when);
 * asyncio.timeout(delay) is aq_now() + delay; AQ_NEVER: none yet).
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_EINVAL if scope is NULL,
 * or already open in this task (a begin whose end was skipped, say by an
 * early return from the function that opened it, then the same struct
 * again: the scope is left as it was). Does not suspend. */
AQ_EXTERN int aq_timeout_begin(aq_timeout *scope, int64_t deadline);
/* Closes the calling task's innermost scope. A call whose wait the
 * scope's deadline ended, but which a cancel reached before the task
 * resumed, returns AQ_ECANCELED and does not count as cut short by the
 * scope: cancellation is reported first (where asyncio's expired() would
 * say True).
 * Returns: 1 if a call was cut short by this scope (asyncio's
 * cm.expired(), Trio's cancelled_caught), else 0; AQ_EPERM outside a
 * task; AQ_EINVAL if scope is NULL or not the task's innermost open
 * scope (nothing changes). Does not suspend. */
AQ_EXTERN int aq_timeout_end(aq_timeout *scope);
/* Moves the scope's deadline (cm.reschedule(when)), from the task's
 * next suspending call on. Only the scope's own task may move it, where
 * asyncio lets any code holding the context manager: another task gets
 * AQ_EINVAL (to move a deadline from outside, cancel the task, or have
 * it wait on an event as well).
 * A scope that already expired may be moved too (asyncio raises
 * RuntimeError): later calls wait until the new deadline, and it stays
 * expired (aq_timeout_end returns 1). AQ_NEVER lifts the deadline, as
 * in aq_timeout_begin.
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_EINVAL if scope is NULL,
 * not the calling task's, or not open (ended, or never begun): nothing
 * changes. Does not suspend. */
AQ_EXTERN int aq_timeout_reschedule(aq_timeout *scope, int64_t deadline);
/* 1 if a call was cut short by the scope so far, else 0 (NULL: 0).
 * Does not suspend. */
AQ_EXTERN int aq_timeout_expired(const aq_timeout *scope);

/* ---- names, iteration and a dump (asyncio's set_name, all_tasks) ---- */

/* Names t (task.set_name(name)): a copy of name, shown by aq_loop_dump.
 * Callable from anywhere on the loop's thread, for any live task.
 * Returns: AQ_OK; AQ_EINVAL if t or name is NULL; AQ_ENOMEM (the old name
 * kept). Does not suspend. */
AQ_EXTERN int aq_task_set_name(aq_task *t, const char *name);
/* t's name (task.get_name()), valid until it is renamed or t is freed,
 * or NULL if it has none or t is NULL. Does not suspend. */
AQ_EXTERN const char *aq_task_name(const aq_task *t);

/* The tasks of loop that have not returned (asyncio.all_tasks()): fills
 * out[0 .. n) with the first n of them, oldest spawn first, and returns
 * how many there are (which may be more than n: call again with room).
 * The handles carry no reference: use them before the loop runs again.
 * Returns: the count (>= 0); AQ_EINVAL if loop is NULL, or out is NULL
 * with n > 0. Does not suspend. */
AQ_EXTERN int aq_loop_tasks(const aq_loop *loop, aq_task **out, size_t n);

/* Writes every task of loop that has not returned to f, a line each: its
 * address, id and name (`task 0x... #N "name": parked on ...`, N its
 * aq_task_id, as the program may log it; the frames under it are
 * numbered `#0 ...`), ready, running or parked, and for a parked task what
 * it waits on, with the object's address (get from, put on or join of a
 * queue, shared ones included, named by the queue you hold; the end of
 * a task; a task group, event, lock, semaphore,
 * condition, barrier; a readable or writable fd; a blocking call on the
 * pool; a sleep; each clause of a select), its
 * deadline, in debug mode how long it has waited so far (aq_loop_set_debug),
 * and whether it was cancelled; a first line counts them (Go's goroutine
 * dump, asyncio's debug mode). aq_run writes it to stderr by itself,
 * before cancelling the tasks, when it finds that none can ever run again
 * (AQ_EDEADLK) and the environment variable AQ_DEADLOCK_DUMP is set to
 * anything but "" or "0": no code to change (aq_run then runs its loop in
 * debug mode, so the dump has the wait times).
 * Call it on the loop's thread (from a task, or between runs), never
 * from a signal handler (it allocates and writes through stdio) nor from
 * another thread while the loop runs (it reads the loop's lists without
 * a lock): to dump a loop stuck in another thread, post the dump to it
 * (aq_loop_post, with the loop as the post's arg: a post runs outside
 * any task, where aq_loop_current() is NULL) or use the gdb extension's
 * aq-tasks LOOP. Each parked
 * or ready task's line is followed by the frames it is suspended in
 * (aq_task_backtrace), except a compact task's, which are copied aside.
 * Returns: AQ_OK; AQ_EINVAL if loop or f is NULL; AQ_EBADF if writing to
 * f failed. Does not suspend. */
AQ_EXTERN int aq_loop_dump(const aq_loop *loop, FILE *f);

/* Fills pcs[0 .. n) with the return addresses of t's frames while t is
 * parked (or ready to resume), innermost first: the libaq call it is
 * parked in, then its callers up to the task's function and libaq's entry
 * frame. Go's runtime.Stack for another goroutine; asyncio's
 * Task.get_stack(). Resolve them with glibc's backtrace_symbols_fd(),
 * dladdr(), or `addr2line -f -e program` on the offsets aq_loop_dump
 * prints (dladdr knows exported functions only: -rdynamic adds a
 * program's non-static ones; static ones need addr2line and -g). No
 * frame pointers are needed: the unwinder
 * runs on t's stack, below its saved frame, led by unwind information the
 * context switch provides (x86-64 and AArch64). aq_loop_dump prints the
 * first 16 frames of each parked task.
 * Returns: how many frames t has (which may be more than n), up to 64; 0
 * for a task that has not run yet; AQ_EINVAL if t is NULL, pcs is NULL
 * with n > 0, t is the running task (call glibc's backtrace() in it; a
 * drop callback or comparator run in t's put or get counts as t), t
 * is a compact task (its frames are copied aside; run or not yet), or
 * this build uses
 * the ucontext switch; AQ_EALREADY if t has returned; AQ_ENOMEM if less
 * than 8 KiB of t's stack is free below its frames (the unwinder's room).
 * Does not suspend; call it on t's loop's thread. */
AQ_EXTERN int aq_task_backtrace(const aq_task *t, void **pcs, size_t n);

/* Turns loop's debug mode on (on != 0) or off (asyncio's
 * loop.set_debug()). In debug mode every park of the loop's tasks reads
 * the clock once, so that aq_loop_dump can say how long each parked task
 * has waited ("waited 1.502 s so far"); waits begun before it was turned
 * on show no time. It costs one clock read per park (about 20 ns here, as
 * much as a hand-off between tasks), which is why it is off by default.
 * Every new loop starts in debug mode when the environment variable
 * AQ_DEBUG is set to anything but "" or "0" (PYTHONASYNCIODEBUG), and
 * aq_run's loop when AQ_DEADLOCK_DUMP is.
 * Returns: AQ_OK; AQ_EINVAL if loop is NULL. Does not suspend; callable
 * at any point on the loop's thread. */
AQ_EXTERN int aq_loop_set_debug(aq_loop *loop, int on);
/* 1 if loop is in debug mode, else 0 (loop.get_debug(); NULL: 0). Does
 * not suspend. */
AQ_EXTERN int aq_loop_debug(const aq_loop *loop);

/* Requests cancellation of t (task.cancel()). If t is suspended, its call
 * returns AQ_ECANCELED as soon as the loop runs it, and so does every
 * suspending call it makes afterwards: it should clean up and return.
 * Its wait ends at once, though: it is no longer among a queue's (or a
 * lock's, an event's...) waiters, so an item put after the cancel goes
 * to the next waiter or into storage.
 * If t's pending call had already completed (an item handed to it, a
 * slot given to its put), that call still reports success: an item is
 * never lost; the cancellation shows at t's next suspending call. A task
 * cancelled before it first runs still runs (so it can free its arg),
 * with every suspending call failing. A pending call that had failed for
 * another reason (deadline, shutdown) by the time t runs again reports
 * AQ_ECANCELED instead. Cancelling twice is harmless. Callable from
 * anywhere on t's loop's thread (a task, a post, the code around the
 * loop), including the task itself; from another thread, post it to
 * t's loop (aq_loop_post), even for a task waiting on a shared queue.
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

/* Returns 1 if t has returned, else 0 (task.done(); also 0 if t is NULL:
 * a predicate answers only 1 or 0). Does not suspend. */
AQ_EXTERN int aq_task_done(const aq_task *t);

/* Returns 1 if cancellation of t was requested, else 0 (also if t is
 * NULL): asyncio's task.cancelling() > 0. Not task.cancelled(), which
 * says the task ended by the cancel: a libaq task always ends by
 * returning, and it stays 1 here whether or not the task honoured the
 * cancel. Does not suspend. */
AQ_EXTERN int aq_task_cancelled(const aq_task *t);

/* Lets every other ready task run once, then resumes (asyncio.sleep(0)).
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_ECANCELED; AQ_ETIMEDOUT
 * inside a timeout scope whose deadline has passed (as asyncio.timeout
 * interrupts a sleep(0)). Suspends. */
AQ_EXTERN int aq_yield(void);

/* Sleeps for ns nanoseconds (asyncio.sleep), or until the deadline.
 * ns <= 0, or a deadline already past, behaves as aq_yield() (it returns
 * AQ_OK after the other ready tasks ran once: unlike the other _until
 * calls, a sleep's deadline is its completion, not a failure); a duration
 * past the clock's range, and aq_sleep_until(AQ_NEVER), sleep until
 * cancelled with no timer (so a loop with nothing else to run reports
 * AQ_EDEADLK), whereas aq_sleep_until(INT64_MAX), aq_in's saturation,
 * arms a timer for the year 2262, which keeps aq_run waiting. A cancel
 * that arrives once the sleep's time has come but before the task runs
 * again makes it return AQ_ECANCELED (as asyncio's sleep raises
 * CancelledError then): a sleep completes only when the task resumes.
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_ECANCELED; AQ_ETIMEDOUT if
 * a timeout scope's deadline comes strictly first (then the scope is
 * marked expired), a past deadline's too: aq_sleep_until(d) inside a
 * scope whose deadline has also passed returns AQ_OK if d came no later
 * than the scope's, where aq_yield() would return AQ_ETIMEDOUT.
 * Suspends. */
AQ_EXTERN int aq_sleep(int64_t ns);
AQ_EXTERN int aq_sleep_until(int64_t deadline);

#ifdef __cplusplus
}
#endif
#endif /* AQ_API_LOOP_H */
