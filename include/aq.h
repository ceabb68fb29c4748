/* libaq - asyncio-style queues and coroutines for C. MIT licensed.
 *
 * The whole public API: include this header. Its parts, under aq/ and
 * included below in order: errors and time (base.h), loop and tasks with
 * timeout scopes (loop.h), queues with overflow policies, batches and
 * statistics (queue.h), Event, Lock, Semaphore, Condition, Barrier and
 * task groups (sync.h), select (select.h), fds, sockets, pipes and
 * signals and buffered readers (io.h), posts from other threads and
 * work on a thread pool (thread.h), allocator and version (alloc.h). The
 * conventions below hold for all of them.
 *
 * The model is Python's asyncio: a single-threaded event loop runs tasks
 * (stackful coroutines). A task runs until it calls a function marked
 * "Suspends" in these headers; that call parks the task, never the thread,
 * and the loop runs the next ready task. Queues move items between tasks
 * with the semantics of CPython 3.13's asyncio.Queue, LifoQueue and
 * PriorityQueue, including task_done()/join() and shutdown(), and depart
 * from them only where libaq gives a stronger guarantee, each said where
 * it applies (queue.h): no barging (so a waiting putter's item is
 * stored before a later get, which matters to LIFO and PRIORITY order),
 * an item handed over leaves qsize at once, a handed item is never lost
 * to a cancel, priority ties go by insertion order.
 *
 * Conventions:
 * - Every fallible call returns int: AQ_OK (0) or a negative AQ_E* code.
 *   Counts are returned as long with the same sign rule. Predicates
 *   (aq_queue_empty, aq_task_done, aq_lock_locked...) answer only 1 or 0,
 *   and 0 for a NULL argument, so that `if (aq_queue_empty(q))` never
 *   reads an error as true. errno is never used to report anything.
 * - "Suspends" marks calls that may park the calling task. They must be
 *   called from inside a task; outside one they return AQ_EPERM and do
 *   nothing. Once a task has been cancelled, every suspending call it
 *   makes returns AQ_ECANCELED at once (cancellation is sticky), so
 *   cleanup code never hangs; a task can hold that off for a last step
 *   with aq_task_shield. When several things are wrong, AQ_EPERM
 *   comes first, then the argument checks, then AQ_ECANCELED. So do
 *   calls that take a loop, NULL for the caller's (aq_fd_open,
 *   aq_listen_tcp, aq_signals_open): given NULL outside a task, they
 *   return AQ_EPERM before any argument check. In a
 *   compact task (aq_loop_set_compact) a suspending call may also return
 *   AQ_ENOMEM, having done nothing; except the calls that report how far
 *   they got and may wait again after a part (aq_queue_put_many,
 *   aq_write_all, aq_reader_read_exactly past the reader's bufsize):
 *   they stop as on a cancel, their count saying exactly what was done.
 * - Each suspending call has an _until twin taking an absolute deadline
 *   in nanoseconds on the aq_now() clock; AQ_NEVER means no deadline. A
 *   call that can complete at once does so even if its deadline passed;
 *   one that would have to wait then fails with AQ_ETIMEDOUT at once,
 *   without suspending (asyncio parks the coroutine for one loop step
 *   first): a task that polls in a loop with a passed deadline never
 *   lets the other tasks run, so call aq_yield() between polls. aq_in(ns)
 *   gives the deadline ns from now.
 *   Inside a timeout scope (aq_timeout_begin), every suspending call,
 *   _until or not, may also return AQ_ETIMEDOUT when the scope's deadline
 *   comes first; the lists of return codes below do not repeat it.
 * - The floating-point environment (rounding mode, exception masks) is
 *   the thread's, shared by its tasks: a task that changes it should
 *   restore it before its next suspending call.
 * - A loop and everything attached to it (tasks, queues used by its
 *   tasks) belong to one OS thread: the one that runs it. A loop whose
 *   tasks have parked must be run again, and freed, on that thread (the
 *   tasks resume on the stack and, under ThreadSanitizer, the fiber they
 *   parked on: its build crashes when they move); one with no task left
 *   may be freed anywhere. No function here is thread-safe
 *   except aq_now(), aq_in(), aq_version(), aq_strerror(),
 *   aq_errname(), aq_einval(), aq_error_detail(),
 *   aq_loop_post(), aq_loop_stop(), aq_pool_set_size(),
 *   aq_pool_shutdown() and the aq_cores_* calls (thread.h), and the
 *   exception made for shared queues (aq_queue_share, thread.h): a shared
 *   queue's calls may be made from any thread and the tasks of any loop,
 *   and its thread faces (aq_queue_thread_*) are for plain threads.
 */
#ifndef AQ_H
#define AQ_H

#include "aq/base.h"   /* errors, time */
#include "aq/loop.h"   /* loop, tasks, timeout scopes */
#include "aq/queue.h"  /* queues, overflow policies, batches, statistics */
#include "aq/sync.h"   /* Event, Lock, Semaphore, Condition, Barrier, groups */
#include "aq/select.h" /* select */
#include "aq/io.h"     /* fds, sockets, pipes, signals, buffered readers */
#include "aq/thread.h" /* posts, stop, keep-alive, thread pool */
#include "aq/alloc.h"  /* allocator, version */

#endif /* AQ_H */
