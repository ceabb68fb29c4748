/* libaq - other threads: posts into a loop, stopping it, keeping it
 * alive; one queue for threads and tasks; blocking work handed to a
 * thread pool. MIT licensed.
 * Part of the public API: include <aq.h>, which includes every part in
 * order; its opening comment states the conventions all of them follow. */
#ifndef AQ_API_THREAD_H
#define AQ_API_THREAD_H

#include "loop.h"
#include "queue.h" /* aq_queue: the thread faces of a shared queue */

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/*  Threads: posts, stop, keep-alive                                     */
/* ===================================================================== */

/* Keeps loop alive (on nonzero), or undoes one earlier call (on 0), as
 * libuv's uv_ref and uv_unref count a handle: while
 * kept alive, a loop with nothing ready waits for posts and fds instead
 * of returning from aq_loop_run (and aq_run's AQ_EDEADLK check counts it
 * as busy). The first call also opens the loop to aq_loop_post: make it
 * on the loop's thread (or before the loop runs), before another thread
 * may post. Keeping a loop alive also makes its tasks return to the loop
 * after each iteration, so posts and fds are served within 16 loop
 * iterations even while tasks stay busy (an iteration runs every task
 * that was ready: with many tasks, that is many switches).
 * Returns: AQ_OK; AQ_EINVAL if loop is NULL, or on 0 if the loop is not
 * kept alive; AQ_ENOMEM or -errno (eventfd, epoll) on the first call.
 * Does not suspend. Not thread-safe: the loop's thread only. */
AQ_EXTERN int aq_loop_keep_alive(aq_loop *loop, int on);

/* Runs fn(arg) on loop's thread at its next poll (asyncio's
 * call_soon_threadsafe): one post, one call, in the order posted from
 * each thread, never merged. fn runs outside any task, so it may not call
 * suspending functions; it may spawn tasks (aq_loop_spawn), use try_
 * calls on queues, set events. A loop sleeping in its poller is woken by
 * an eventfd, written only when it sleeps. Posts still queued when the
 * loop is freed are dropped, never run. The record is allocated with the
 * aq_set_allocator allocator, which must then be thread-safe. A loop
 * whose keep-alive count is back to 0 still takes posts (AQ_OK), but
 * they run only if it polls again (aq_loop_run_ready does; aq_loop_run
 * may return first, with nothing to wait for), else they are dropped
 * when it is freed. A dropped post's arg is not freed (a post has no
 * destructor): to lose none, stop the threads that post, then run the
 * loop once more (aq_loop_run_ready) before aq_loop_free.
 * Returns: AQ_OK; AQ_EINVAL if loop or fn is NULL, or the loop is not
 * open to posts (neither aq_loop_keep_alive nor anything that opens it
 * for its own wake-ups was called: a task's aq_to_thread or wait on a
 * shared queue does, and its posts are then taken as those of a loop
 * whose keep-alive count is back to 0, above; or aq_loop_free
 * has reaped its tasks and closed it: a post accepted while the free
 * still reaped them is dropped, as above, or it is an aq_cores loop
 * that has ended); AQ_ENOMEM. Does not
 * suspend. Thread-safe: any thread, the loop's own included; the loop must
 * not be freed while a call is under way. */
AQ_EXTERN int aq_loop_post(aq_loop *loop, void (*fn)(void *arg), void *arg);

/* Makes aq_loop_run return at the loop's next iteration, leaving its
 * tasks where they are (asyncio's loop.stop()), and aq_loop_run then
 * returns AQ_OK; a kept-alive loop asleep in its poller is woken at once,
 * another one at its next wake-up. For aq_run's loop (a task gets it with
 * aq_loop_current()), aq_run then cancels and reaps the tasks and
 * returns AQ_ECANCELED. A stop made while the loop is not running is
 * kept: its next aq_loop_run returns at once, before running anything
 * (asyncio's stop() before run_forever() lets one iteration run first).
 * Returns: AQ_OK; AQ_EINVAL if loop is NULL. Does not suspend. Thread-safe,
 * and async-signal-safe: a sigaction handler may call it (lock-free atomics
 * and write(2) only; errno is kept). A signal handled on the loop's own
 * thread also cuts its sleep short (epoll_wait and clock_nanosleep return
 * EINTR). The handler must no longer be able to run, or must no longer name
 * the loop, once aq_loop_free begins; for aq_run's loop, which aq_run
 * frees itself, that is once its main task has returned, so a thread or
 * handler that may stop it must be told to stop naming it before then (a
 * flag under a mutex the main task takes last). To wait for signals in a
 * task instead, see aq_signals_open (io.h). */
AQ_EXTERN int aq_loop_stop(aq_loop *loop);

/* ===================================================================== */
/*  Threads and tasks: one queue                                         */
/* ===================================================================== */

/* A shared queue is one queue for plain OS threads and for the tasks of
 * any number of loops, where Python needs queue.Queue for threads,
 * asyncio.Queue for tasks and janus to join them. Tasks use the ordinary
 * calls (aq_queue_put, aq_queue_get, ..., from a task of any loop; they
 * suspend the task, never the thread); threads use the blocking thread
 * faces below. Both keep every rule of a queue: FIFO (or LIFO, priority)
 * order, waiters served oldest first whichever kind they are (no
 * barging), task_done/join, shutdown, overflow policies, statistics.
 * On a shared queue every call that does not suspend (try_put, try_get,
 * task_done, shutdown, qsize, statistics, ...) may be made from any
 * thread. The price: a lock per call, and a wake-up that crosses threads
 * (a futex for a thread, a post to its loop for a task); a queue that is
 * not shared pays nothing (src/thread/shared.c and docs/DESIGN.md).
 *
 * Its overflow policy (aq_queue_set_overflow) may be set before or after
 * aq_queue_share, before the first put, as for any queue.
 * Limits: a shared queue cannot be a clause of aq_select yet
 * (aq_select, aq_select_until and aq_select_try return AQ_EINVAL for a
 * select with such a clause even when another is ready, unless an
 * earlier clause is bad in another way: select.h's order of checks): to
 * wait for it or something else, let a task of the loop move its items
 * into an ordinary queue of maxsize 1 (aq_queue_get, then aq_queue_put),
 * and select on that one;
 * a compact task (aq_loop_set_compact) cannot wait on one (AQ_EINVAL when
 * it would have to wait, after the deadline test: its frames move while
 * it is parked); and its
 * drop callback runs under the queue's lock: a call from it that would
 * change the queue returns AQ_EBUSY as on any queue (queue.h; a select
 * clause on it, AQ_EINVAL as always; its thread faces, AQ_EBUSY from a
 * plain thread and AQ_EDEADLK from a loop's, as always there), and its
 * figures are read without
 * taking the lock again; it must not cancel a task waiting on the queue,
 * nor call another shared queue whose own callback may call this one
 * from another thread (each thread holding one lock and waiting for the
 * other's: a deadlock). A task waiting on a shared queue
 * keeps its loop alive (as aq_loop_keep_alive does) until the wait ends:
 * another thread may end it, so the loop sleeps rather than report
 * AQ_EDEADLK. The first time a task of a loop is about to wait on a
 * shared queue, the loop is opened to posts (as aq_loop_keep_alive does:
 * an eventfd and a record); if that fails, the call returns the same
 * codes as aq_loop_keep_alive (AQ_ENOMEM, or -errno such as -EMFILE)
 * and nothing changed. A call that completes at once never opens it, so
 * never fails for it. */

/* Makes q shared, from now until it is freed; items already in it stay.
 * Call it before a second thread may see q. Idempotent.
 * Returns: AQ_OK; AQ_EINVAL if q is NULL; AQ_EBUSY if a task waits on q
 * or is inside a put_many or get_many on it (as for aq_queue_free);
 * AQ_ENOMEM (q unchanged). Does not suspend. Not thread-safe (q is not
 * shared yet). */
AQ_EXTERN int aq_queue_share(aq_queue *q);

/* The thread faces of a shared queue: queue.Queue's put, get and join
 * (Go's blocking send and receive), blocking the calling thread until
 * they complete or the deadline passes (AQ_NEVER: none; aq_now()'s clock,
 * CLOCK_MONOTONIC nanoseconds). As everywhere in libaq, a call that can
 * complete at once does, whatever its deadline; one that cannot and whose
 * deadline has passed returns AQ_ETIMEDOUT (not AQ_EFULL or AQ_EEMPTY:
 * those are the try forms', aq_queue_try_put and aq_queue_try_get, which
 * with aq_queue_task_done and aq_queue_shutdown are thread-safe on a
 * shared queue).
 * A thread blocked in put is served in turn with the tasks that wait, and
 * an item handed over as the deadline passes is delivered (AQ_OK), never
 * lost or doubled: the outcome is decided once, under the queue's lock.
 * How a thread waits: it watches for a hand-off for a few microseconds,
 * then sleeps on a futex. A put that waited on a full queue dozes: once a
 * get has moved its item in, the put returns when the queue is down to
 * half, or when its doze ends: a timed sleep of about 50 us from when it
 * began to wait (so it may return at once, the queue still full, if the
 * move came late; a loaded machine can stretch the sleep). So a feeding
 * thread refills runs of items rather than cycling once per item on the
 * CPU its consumers need.
 * Returns: AQ_OK; AQ_EINVAL if q or item/out is NULL or q is not shared
 * (checked first); AQ_EDEADLK if the calling thread is running a loop (a
 * task, or a post: blocking there would stop the loop, and with it the
 * tasks that could complete the call; tokio panics here), even when the
 * call could complete at once (an item there, room, nothing unfinished
 * for a join): the thread faces are for threads, and a task uses the
 * queue's ordinary calls; AQ_ETIMEDOUT; AQ_ESHUTDOWN (put:
 * the queue is shut down; get: shut down and empty); put: AQ_EDROPPED
 * (an overflow policy discarded the item), AQ_ENOMEM. Blocks the thread.
 * Thread-safe: any thread that is not running a loop. */
AQ_EXTERN int aq_queue_thread_put(aq_queue *q, const void *item);
AQ_EXTERN int aq_queue_thread_put_until(aq_queue *q, const void *item,
                                        int64_t deadline);
AQ_EXTERN int aq_queue_thread_get(aq_queue *q, void *out);
AQ_EXTERN int aq_queue_thread_get_until(aq_queue *q, void *out,
                                        int64_t deadline);
/* Blocks until every item put has been matched by aq_queue_task_done
 * (queue.Queue.join). Returns: AQ_OK; AQ_EINVAL if q is NULL or not
 * shared; AQ_EDEADLK as above; AQ_ETIMEDOUT. Blocks the thread.
 * Thread-safe: any thread that is not running a loop. */
AQ_EXTERN int aq_queue_thread_join(aq_queue *q);
AQ_EXTERN int aq_queue_thread_join_until(aq_queue *q, int64_t deadline);

/* ===================================================================== */
/*  Loops on every core                                                  */
/* ===================================================================== */

/* A set of loops, each run by a thread of its own (tokio's multi-thread
 * runtime, Go's GOMAXPROCS, without work stealing): tasks are spawned
 * onto a chosen loop or round robin, and stay on it. Tasks of different
 * loops exchange work through shared queues (aq_queue_share): a shared
 * work queue fanned out to consumer tasks on every loop uses every core.
 * Scheduling stays cooperative within a loop: a consumer that always
 * finds an item never suspends, so its loop's other consumers wait;
 * CPU-bound work gains from as many loops as CPUs, not from more tasks.
 * Each loop is kept alive (aq_loop_keep_alive) from start to stop. */
typedef struct aq_cores aq_cores;

/* The most loops aq_cores_start makes. */
#define AQ_CORES_MAX 1024
/* The loop index that means "any" for aq_cores_spawn: the next loop in
 * round robin. */
#define AQ_ANY_CORE (-1L)

/* Starts n loops on n new threads (n = 0: one per CPU online, from
 * sysconf(_SC_NPROCESSORS_ONLN)). The threads run their loops until
 * aq_cores_stop; they are not pinned to CPUs (use pthread_setaffinity_np
 * from a task if you need that), and they inherit the caller's signal
 * mask (unlike the pool's threads, which block every signal): block
 * SIGINT, SIGTERM, ... before this call if only another thread (or
 * aq_signals_open's loop) should take them. Returns: AQ_OK; AQ_EINVAL if out
 * is NULL or n is above AQ_CORES_MAX; AQ_ENOMEM; -errno from pthread_create,
 * eventfd or epoll (then nothing is left running). Blocks briefly. Any
 * thread. */
AQ_EXTERN int aq_cores_start(aq_cores **out, size_t n);
/* How many loops c has (0 if c is NULL). Does not suspend. Any thread. */
AQ_EXTERN size_t aq_cores_count(const aq_cores *c);
/* Loop i of c, or NULL if c is NULL or i is out of range; for the
 * thread-safe calls (aq_loop_post, aq_loop_stop) only. aq_loop_stop on it
 * ends that loop for good (so does undoing its keep-alive with
 * aq_loop_keep_alive(loop, 0), once the loop has nothing left to do):
 * the posts and spawns it had accepted still run, then its tasks are
 * cancelled and run to their end on its thread, as aq_cores_stop does;
 * from then on aq_cores_spawn to it (by its index, or when AQ_ANY_CORE's
 * round robin reaches it) and aq_loop_post to it return AQ_EINVAL. The
 * pointer stays valid until aq_cores_stop, which still joins every
 * thread; the other loops run on. Does not suspend. Any thread. */
AQ_EXTERN aq_loop *aq_cores_loop(const aq_cores *c, size_t i);
/* Spawns fn(arg) as a detached task on loop i (AQ_ANY_CORE: the next in
 * round robin): it starts at that loop's next poll; its result is
 * dropped. asyncio's run_coroutine_threadsafe without the future.
 * Returns: AQ_OK; AQ_EINVAL if c or fn is NULL or i is out of range;
 * AQ_ENOMEM (nothing spawned). A task whose stack the loop cannot get
 * later is counted and reported by aq_cores_wait. Does not suspend.
 * Thread-safe, until aq_cores_stop begins. */
AQ_EXTERN int aq_cores_spawn(aq_cores *c, long i, aq_task_fn fn, void *arg);
/* Blocks the calling thread until every task spawned through c so far
 * has returned. It may be under way on another thread when aq_cores_stop
 * begins: it then returns once the stop has cancelled and finished the
 * tasks, before the stop frees c. Returns: AQ_OK; AQ_EINVAL if c is
 * NULL; AQ_EDEADLK if called from a thread running a loop (a task of c
 * would wait for itself); AQ_ENOMEM if some spawn could not start for
 * want of memory since the last call (the others have returned). Blocks
 * the thread. Any thread but a loop's: a task calls it (or
 * aq_cores_stop, which from another loop's task would block that loop)
 * through aq_to_thread. A task spawned through c that does so waits for
 * itself, for ever: wait for its siblings by other means (a shared
 * queue's join, a task group on its loop). The call then holds a pool
 * thread until c's tasks return: if they make aq_to_thread calls of
 * their own and every pool thread is so held (a pool of 1, or as many
 * such calls as aq_pool_set_size), their jobs wait behind it and it
 * never returns; the same holds for aq_cores_stop, whose free waits for
 * the results of the jobs its cancelled tasks left (executor starvation,
 * as in asyncio with a busy executor): make the pool larger than the
 * number of such calls at once, or make them from a thread of your own. */
AQ_EXTERN int aq_cores_wait(aq_cores *c);
/* Stops every loop of c, cancels the tasks still on them and lets them
 * finish on their own threads (as aq_loop_free does: a task waiting in
 * aq_queue_get on a shared queue gets AQ_ECANCELED), joins the threads
 * and frees c. Spawns and posts a loop had accepted still run first (a
 * spawned task starts cancelled: its first suspending call returns
 * AQ_ECANCELED); the tasks being cancelled may still spawn, and get
 * AQ_EINVAL from a loop that has ended, as do the pool jobs they leave
 * running and those jobs' cleanups (run within the stop), which may post
 * or spawn to any loop of c: no loop is freed until every one has
 * settled. Returns: AQ_OK; AQ_EINVAL if c is NULL; AQ_EDEADLK if called
 * from one of c's threads (from its loop, or from a loop nested in one of
 * its posts), or from a pool job (aq_to_thread) made by a task there,
 * even one whose wait was cut short: the stop would wait for that job
 * (c is then left running). Two sets whose jobs stop each other's set
 * wait for each other for ever. Blocks the thread. Any thread but c's
 * loops'; no other thread may begin a call on c once it has begun (an
 * aq_cores_wait already under way is waited for), and every
 * aq_cores_spawn made by another thread must have returned before it
 * begins: a spawn still under way would touch c once freed (join or
 * signal those threads first). */
AQ_EXTERN int aq_cores_stop(aq_cores *c);

/* ===================================================================== */
/*  Blocking work on a thread pool                                       */
/* ===================================================================== */

/* Runs fn(arg) on one of libaq's worker threads and parks the calling
 * task until fn returns (asyncio.to_thread, loop.run_in_executor(None,
 * ...)): blocking calls (files, getaddrinfo, compression) that would
 * otherwise stop the whole loop. fn runs outside any loop: it may block,
 * and must not touch the caller's loop, tasks or queues (aq_loop_post is
 * the way back), nor wait for that loop to do something: aq_loop_free
 * would wait for fn forever. Nor should it wait for other pool work (a
 * loop it runs whose tasks call aq_to_thread, a queue fed by pool
 * jobs): when every pool thread is held so, that work waits behind fn
 * for ever (executor starvation; Python's asyncio.run inside to_thread
 * gets an executor of its own). The result comes back through a post
 * (aq_loop_post): the call keeps its loop alive until then (as
 * aq_loop_keep_alive does, in a count of the loop's own that
 * aq_loop_keep_alive(loop, 0) does not undo: that call is still
 * AQ_EINVAL without a matching one of yours), so a loop whose tasks all
 * wait for threads sleeps instead
 * of returning, and aq_run does not report AQ_EDEADLK.
 *
 * Cancellation and deadlines: a thread cannot be interrupted safely, so
 * a call that stops waiting (its task cancelled, its deadline or a
 * timeout scope's passed) returns at once while fn, if a worker thread
 * has taken it, runs to completion anyway, however long it takes. One
 * still queued for a thread is withdrawn: fn never runs, and cleanup
 * gets (NULL, arg) at once, in the calling task, as asyncio's executor
 * never starts a cancelled pending future. Which of the two is decided
 * when the cut happens on the loop: at aq_task_cancel, or when the
 * loop runs the timer of a deadline (a deadline that passes while the
 * loop's thread is busy elsewhere counts from then). The result of a call
 * cut short while fn ran goes to cleanup(result, arg) (aq_to_thread_ex),
 * called once outside any task: on the loop's thread at the loop's next
 * poll after fn returns, or within aq_loop_free (on the thread that frees
 * the loop, which is closed to spawns and runs there; the handles the
 * program still holds to that loop's tasks are valid there, and freed
 * after), which waits for the fn calls of its tasks still running (as
 * asyncio.run waits for its executor). Without a cleanup the result is
 * dropped. So arg must outlive fn: not the caller's stack
 * frame if the call may be cut short; heap memory that cleanup frees.
 * After a plain aq_to_thread cut short, the caller cannot tell whether
 * fn was withdrawn or runs on, so it may never free arg: when arg must
 * be freed, use aq_to_thread_ex with a cleanup.
 *
 * The pool: aq_pool_set_size threads at most (default 4), started one
 * at a time as work finds no idle thread, with every signal blocked (so
 * that signals go to the loop: aq_signals_open in io.h). The threads stay
 * until aq_pool_shutdown, or until the process exits: a destructor then
 * shuts the pool down, which waits for fn calls still running, as Python
 * waits for its executor's threads (_exit and quick_exit do not wait, nor
 * does exit called from an fn itself: a worker cannot join the pool).
 * A child made by fork has no worker threads: its pool starts afresh, but
 * its copies of loops with work outstanding never get their results (the
 * child should exec or _exit, as after any fork of a threaded program).
 * A child that goes on may make new loops, pool calls, shared queues and
 * aq_cores, but must not use what it inherited: an aq_cores has no
 * threads there (aq_cores_spawn still returns AQ_OK, and nothing runs),
 * and a signal set it inherited keeps its signals claimed
 * (aq_signals_open of one of them returns AQ_EBUSY in the child; closing
 * the inherited set, AQ_EPERM).
 * Work is taken in the order handed over, by any thread; one loop's calls
 * may run in parallel. The job and post records come from aq_set_allocator's
 * allocator, on the loop's thread. */
typedef void (*aq_cleanup_fn)(void *result, void *arg);

/* The most threads aq_pool_set_size allows. */
#define AQ_POOL_MAX 256

/* Hands fn(arg) to the pool and waits for it, until deadline (AQ_NEVER:
 * none). On AQ_OK, *result receives what fn returned (result NULL: it
 * goes to cleanup, if any, called by the caller inside the calling task
 * before the call returns AQ_OK).
 * cleanup: NULL, or called exactly once with (result, arg) for every call
 * that does not give the caller fn's result: after fn returned if a
 * worker took fn and the call was cut short (see above: outside any
 * task); with result NULL as just said; at once, by the caller,
 * inside the calling task (so aq_task_self() is the caller there; and
 * outside a task for AQ_EPERM), with result NULL if fn never ran (every
 * failure below but a cancel or deadline that came once a worker had
 * taken fn: a task cancelled before the call, a deadline already past,
 * or one that came while fn still waited for a thread, gets
 * cleanup(NULL, arg) at once too). It is arg's destructor: with one,
 * arg is the call's until then, whatever the call returns, and never leaks.
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_EINVAL if fn is NULL;
 * AQ_ECANCELED (cancelled before the call, or while fn waited for a
 * thread: fn never runs; while fn ran: it runs on); AQ_ETIMEDOUT likewise
 * (a deadline already passed: never handed over); AQ_ENOMEM (the job,
 * its post, the loop's inbox);
 * -errno from pthread_create (-EAGAIN) when the pool has no thread and
 * could not start one, or from the first aq_loop_keep_alive (eventfd);
 * AQ_EBUSY if aq_pool_shutdown is under way. Suspends. */
AQ_EXTERN int aq_to_thread_ex(aq_task_fn fn, void *arg, aq_cleanup_fn cleanup,
                              void **result, int64_t deadline);
/* aq_to_thread_ex without a cleanup (aq_to_thread: and without a
 * deadline). Returns: as aq_to_thread_ex, AQ_ETIMEDOUT only from the
 * _until form. Suspends. */
AQ_EXTERN int aq_to_thread(aq_task_fn fn, void *arg, void **result);
AQ_EXTERN int aq_to_thread_until(aq_task_fn fn, void *arg, void **result,
                                 int64_t deadline);

/* Sets how many worker threads the pool may run at most (ThreadPoolExecutor's
 * max_workers; libuv's UV_THREADPOOL_SIZE), for threads started from now on:
 * lowering it stops no thread already started (until aq_pool_shutdown).
 * Returns: AQ_OK; AQ_EINVAL if n is 0 or more than AQ_POOL_MAX (the size
 * unchanged). Does not suspend. Thread-safe. */
AQ_EXTERN int aq_pool_set_size(size_t n);

/* Lets the worker threads finish the work handed over, queued included, then
 * joins them (loop.shutdown_default_executor()); a later aq_to_thread starts
 * the pool again. Blocks the calling thread (and its loop) until then: the
 * results are posted to their loops, which run them when they next poll.
 * Returns: AQ_OK; AQ_EDEADLK if called from a worker thread (from fn);
 * AQ_EBUSY if another shutdown is under way. Thread-safe. */
AQ_EXTERN int aq_pool_shutdown(void);

#ifdef __cplusplus
}
#endif
#endif /* AQ_API_THREAD_H */
