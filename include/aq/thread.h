/* libaq - other threads: posts into a loop, stopping it, keeping it
 * alive. MIT licensed.
 * Part of the public API: include <aq.h>, which includes every part in
 * order; its opening comment states the conventions all of them follow. */
#ifndef AQ_API_THREAD_H
#define AQ_API_THREAD_H

#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/*  Threads: posts, stop, keep-alive                                     */
/* ===================================================================== */

/* Keeps loop alive (on nonzero), or undoes one earlier call (on 0): while
 * kept alive, a loop with nothing ready waits for posts and fds instead
 * of returning from aq_loop_run (and aq_run's AQ_EDEADLK check counts it
 * as busy). The first call also opens the loop to aq_loop_post: make it
 * on the loop's thread (or before the loop runs), before another thread
 * may post. Keeping a loop alive also makes its tasks return to the loop
 * after each iteration, so posts and fds are served within
 * AQ__POLL_EVERY (16) iterations even while tasks stay busy.
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
 * aq_set_allocator allocator, which must then be thread-safe.
 * Returns: AQ_OK; AQ_EINVAL if loop or fn is NULL, or the loop is not
 * open to posts (aq_loop_keep_alive was never called, or it is being
 * freed); AQ_ENOMEM. Does not suspend. Thread-safe: any thread, the
 * loop's own included; the loop must not be freed while a call is under
 * way. */
AQ_EXTERN int aq_loop_post(aq_loop *loop, void (*fn)(void *arg), void *arg);

/* Makes aq_loop_run return at the loop's next iteration, leaving its
 * tasks where they are (asyncio's loop.stop()); a kept-alive loop asleep
 * in its poller is woken at once, another one at its next wake-up. For
 * aq_run's loop, aq_run then cancels and reaps the tasks and returns
 * AQ_ECANCELED. Returns: AQ_OK; AQ_EINVAL if loop is NULL. Does not
 * suspend. Thread-safe, and async-signal-safe: a sigaction handler may
 * call it (lock-free atomics and write(2) only; errno is kept). A signal
 * handled on the loop's own thread also cuts its sleep short (epoll_wait
 * and clock_nanosleep return EINTR). The handler must no longer be able
 * to run, or must no longer name the loop, once aq_loop_free begins.
 * To wait for signals in a task instead, see aq_signals_open (io.h). */
AQ_EXTERN int aq_loop_stop(aq_loop *loop);

#ifdef __cplusplus
}
#endif
#endif /* AQ_API_THREAD_H */
