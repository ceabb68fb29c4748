/* libaq - errors and time. MIT licensed.
 * Part of the public API: include <aq.h>, which includes every part in
 * order; its opening comment states the conventions all of them follow. */
#ifndef AQ_API_BASE_H
#define AQ_API_BASE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks a public function for export: default visibility, so that it
 * stays visible from the shared library, which libaq builds with
 * -fvisibility=hidden. Empty on compilers other than GCC and Clang. */
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
    AQ_EPERM = -EPERM,           /* a call that needs a task (every
                                    suspending call, aq_spawn) made
                                    outside one (or in a drop callback:
                                    aq_drop_fn); or a lock not held by
                                    the caller */
    AQ_ENOMEM = -ENOMEM,         /* out of memory; nothing was changed */
    AQ_EINVAL = -EINVAL,         /* bad argument, or task_done() past zero:
                                    aq_error_detail() says which check */
    AQ_EBUSY = -EBUSY,           /* object in use: has waiters, or running */
    AQ_EDEADLK = -EDEADLK,       /* wait could never end (a task on itself;
                                    every task blocked with no timer) */
    AQ_EALREADY = -EALREADY,     /* the task has already finished; an
                                    entry was acknowledged already
                                    (libaq-redis) */
    AQ_EBADF = -EBADF,           /* the fd was closed (aq_fd_close) */
    AQ_ETIMEDOUT = -ETIMEDOUT,   /* the deadline passed first */
    AQ_ECANCELED = -ECANCELED,   /* the calling task was cancelled */
    AQ_EAGAIN = -EAGAIN,         /* aq_select_try: no clause was ready;
                                    aq_cores_start, aq_to_thread: no
                                    thread could be started (EAGAIN) */
    AQ_EFULL = -4001,            /* try_put on a full queue (QueueFull) */
    AQ_EEMPTY = -4002,           /* try_get on an empty queue (QueueEmpty) */
    AQ_ESHUTDOWN = -4003,        /* queue was shut down (QueueShutDown) */
    AQ_EDROPPED = -4004,         /* the queue's overflow policy discarded
                                    the item just put (aq_queue_set_overflow) */
    AQ_EBROKEN = -4005,          /* the barrier was aborted or reset
                                    (BrokenBarrierError) */
    AQ_EGROUP = -4006,           /* a task of the group failed (the
                                    ExceptionGroup of a TaskGroup) */
    AQ_ELIMIT = -4007,           /* a reader found no separator within its
                                    limit (LimitOverrunError) */
    AQ_EINCOMPLETE = -4008,      /* end of file before the bytes asked for
                                    (IncompleteReadError) */
    AQ_ESERVER = -4009           /* a server answered with an error
                                    (libaq-redis: aq_redis_queue_error
                                    gives its message) */
};

/* A human-readable message for a code, e.g. "queue is full"; for a
 * system error passed through as -errno, the system's message ("Connection
 * refused"). Never NULL; an unknown code gives "unknown error". The
 * string is static (Python's os.strerror; Go's err.Error()). Does not
 * suspend; callable anywhere, from any thread. */
AQ_EXTERN const char *aq_strerror(int code);

/* The code's symbolic name, e.g. "AQ_EFULL"; for a system error, the
 * errno name ("ECONNREFUSED"). Never NULL; an unknown code gives "AQ_E?".
 * The string is static (Python's errno.errorcode[code]). Does not
 * suspend; callable anywhere, from any thread. */
AQ_EXTERN const char *aq_errname(int code);

/* Which check failed, for the AQ_EINVAL most recently returned to this
 * thread by any libaq call: a short static English phrase such as "the
 * item's size differs from the queue's item_size" or "queue is NULL",
 * distinct for each check a call makes, so that two AQ_EINVALs can be
 * told apart without a debugger. Pointer arguments that are NULL make one
 * check, whose phrase names them together ("queue or item is NULL"): the
 * caller can see which. Codes other than AQ_EINVAL (AQ_EPERM for a call
 * outside a task, AQ_EBUSY for a nested aq_run) set no detail, nor does a
 * system call's own EINVAL passed through as AQ_EINVAL (aq_read of fewer
 * than 8 bytes from an eventfd, say): the detail may then describe an
 * earlier AQ_EINVAL, so it names libaq's checks only. As errno: a
 * successful call leaves it unchanged, so read it right after the AQ_EINVAL
 * it explains; "" when this thread has had none. Never NULL. Tasks of one
 * loop share their thread's detail. Does not suspend; callable anywhere, from
 * any thread (each thread has its own). No asyncio counterpart (its
 * ValueError and TypeError carry messages); Go's error strings. */
AQ_EXTERN const char *aq_error_detail(void);

/* Returns AQ_EINVAL after making why this thread's aq_error_detail(): for
 * code layered on libaq (libaq-redis uses it, and so can a user's own
 * wrappers that check their arguments), so that a caller finds every
 * detail in one place. why is kept as a pointer, not copied: give a
 * string literal or other static string. NULL gives "". Does not suspend;
 * callable anywhere, from any thread. */
AQ_EXTERN int aq_einval(const char *why);

/* ===================================================================== */
/*  Time                                                                 */
/* ===================================================================== */

/* One nanosecond: the unit of aq_now(), of deadlines and of every
 * duration libaq takes (an int64_t). */
#define AQ_NSEC INT64_C(1)
/* One microsecond, in nanoseconds: 5 * AQ_USEC is 5 us. */
#define AQ_USEC INT64_C(1000)
/* One millisecond, in nanoseconds: aq_in(10 * AQ_MSEC) is "in 10 ms". */
#define AQ_MSEC INT64_C(1000000)
/* One second, in nanoseconds: asyncio.sleep(0.5) is
 * aq_sleep(AQ_SEC / 2). */
#define AQ_SEC INT64_C(1000000000)

/* "No deadline", for every _until call. Any other deadline at or before
 * aq_now(), a negative one included, is already past. */
#define AQ_NEVER INT64_C(-1)

/* The current time in nanoseconds on CLOCK_MONOTONIC (asyncio's
 * loop.time(), in ns; Go's monotonic time.Now()). Deadlines are
 * expressed on this clock: aq_now() + 10 * AQ_MSEC is "in 10 ms".
 * Never fails, never suspends; callable anywhere. */
AQ_EXTERN int64_t aq_now(void);

/* The deadline ns nanoseconds from now, for the _until calls:
 * aq_queue_get_until(q, &v, aq_in(50 * AQ_MSEC)) waits at most 50 ms
 * (asyncio.wait_for(q.get(), 0.05); Go's time.After). Saturates at
 * INT64_MAX instead of wrapping for a huge ns; ns <= 0 gives a deadline
 * already past (the call then completes at once or fails with
 * AQ_ETIMEDOUT), never below 0 (so never AQ_NEVER, even for INT64_MIN).
 * AQ_NEVER, not aq_in, means no deadline. Never fails,
 * never suspends; callable anywhere. */
AQ_EXTERN int64_t aq_in(int64_t ns);

#ifdef __cplusplus
}
#endif
#endif /* AQ_API_BASE_H */
