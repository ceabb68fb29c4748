/* libaq - private calls between the thread layer's files (src/thread/).
 * MIT licensed. */
#ifndef AQ_THREAD_THREAD_H
#define AQ_THREAD_THREAD_H

#include "io/io.h"

#include <pthread.h>
#include <sched.h>

/* A record of the inbox of posts (post.c's header comment gives the
 * contract): from aq_loop_post (allocated, freed after it runs), reserved
 * ahead (aq__post_reserve), or owned by the sender (in its frame). */
/* A spinning thread's pause: lets the other hardware thread of the core
 * run and saves power, without giving up the CPU. */
static inline void aq__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* A lock for a few dozen instructions taken by threads on different
 * cores at once (a shared queue's): test-and-test-and-set, spinning on
 * a plain load between tries. A thread that finds it held waits longer
 * each time it looks (1, 2, 4 ... AQ__SPIN_MAX pauses) and, from
 * AQ__SPIN_YIELD_FROM pauses on, gives the CPU away (sched_yield) after
 * each wait. A holder that has not let go by then is either descheduled
 * (an oversubscribed machine: it needs this CPU to finish, hence the
 * yield) or taking turn after turn while the other side keeps pulling
 * the lock's line away from it: stepping away for longer and longer lets
 * it run a batch of calls alone, with the queue's lines in its cache.
 * Measured (bench/RESULTS.md, "Shared-queue lock: a backoff between
 * yields"): `aqthreads thread_bulk` pinned to two CPUs, 59-62 ns per
 * item against 140-162 with a yield after every 4 pauses (the lock
 * before); on one CPU and in the ping-pongs, no change. A backoff
 * with no yield until 255 or 1024 pauses were spun made the one-CPU rows
 * 1.2 to 2.5 times slower (the same section, and "Shared-queue lock: yield
 * sooner").
 * glibc's mutexes, even the adaptive kind, sleep in the kernel on
 * contention and then make every unlock a FUTEX_WAKE: with one, the
 * lock and unlock took 45% of a thread-to-task transfer (perf record on
 * `aqthreads thread_bulk`, bench/RESULTS.md, "Threads and tasks"). acquire on
 * taking, release on leaving: what the lock guards is ordered by it, and
 * stated so to ThreadSanitizer (fiber.c) for a sanitized program. */
#define AQ__SPIN_YIELD_FROM 4
#define AQ__SPIN_MAX 128

typedef struct aq__spinlock {
    _Atomic int held;
} aq__spinlock;

static inline void aq__spin_lock(aq__spinlock *l)
{
    unsigned pauses = 1;
    while (atomic_exchange_explicit(&l->held, 1, memory_order_acquire)) {
        do {
            for (unsigned i = 0; i < pauses; i++)
                aq__cpu_relax();
            if (pauses >= AQ__SPIN_YIELD_FROM)
                sched_yield();
            if (pauses < AQ__SPIN_MAX)
                pauses *= 2;
        } while (atomic_load_explicit(&l->held, memory_order_relaxed));
    }
    aq__fiber_acquire(l); /* ThreadSanitizer cannot see the atomics */
}

static inline void aq__spin_unlock(aq__spinlock *l)
{
    aq__fiber_release(l);
    atomic_store_explicit(&l->held, 0, memory_order_release);
}

enum { AQ__POST_HEAP, AQ__POST_RESERVED, AQ__POST_OWNED };

typedef struct aq__post {
    struct aq__post *next;
    void (*fn)(void *arg);
    void *arg;
    int kind; /* AQ__POST_*: who frees it, and whether a free runs it */
} aq__post;

/* Opens l to posts without keeping it alive (aq_loop_keep_alive does
 * both). The loop's thread only. AQ_OK, AQ_ENOMEM or -errno. */
AQ__HIDDEN int aq__inbox_open(aq_loop *l);
/* Sends p, filled in by the caller, whose memory stays the caller's: fn
 * runs on l's thread at its next poll, after which the loop never touches
 * p again. l must be open to posts and must not be freed before fn runs.
 * Any thread. */
AQ__HIDDEN void aq__post_send_owned(aq_loop *l, aq__post *p);

/* Closes l's inbox for good, on l's thread, without freeing it (a loop
 * that ends before it is freed: cores.c): aq_loop_post then returns
 * AQ_EINVAL, and every post accepted before runs now, none dropped.
 * Wake-ups of l's waiting tasks (owned posts) and reserved posts (a pool
 * job's end) still arrive, and run at its polls or, the last reserved
 * ones, in aq_loop_free: this does not wait for them. Nothing if l was
 * never open to posts. */
AQ__HIDDEN void aq__inbox_close(aq_loop *l);
/* aq_loop_free's first step, which it skips if done already: refuses
 * posts, waits until every reserved post is sent and runs them, drops
 * the rest; l's memory stays, so that a post made to it meanwhile gets
 * AQ_EINVAL. For freeing several loops whose pool jobs and cleanups may
 * still post to each other (aq_cores_stop). Not on l's thread while it
 * runs. Nothing if l was never open to posts. */
AQ__HIDDEN void aq__inbox_settle(aq_loop *l);

/* In a thread of an aq_cores set (cores.c), that set, for the thread's
 * whole life, whatever loop runs on it (one nested in a post too); NULL
 * in every other thread. */
extern _Thread_local const aq_cores *aq__cores_self;
/* In a pool worker (pool.c), while it runs a job: aq__in_job is 1, and
 * aq__job_cores is the aq__cores_self of the thread whose task waits for
 * the job. A call that would wait for that thread to end must refuse
 * (aq_cores_stop), and one that would join the worker itself
 * (aq_pool_shutdown). A set, not a thread id: a joined thread's id is
 * reused, and a set outlives the jobs its tasks wait for (cores.c settles
 * them before it frees anything). */
extern _Thread_local int aq__in_job;
extern _Thread_local const aq_cores *aq__job_cores;

/* What the process's exit does to the pool (pool.c's destructor): waits
 * for a shutdown under way on another thread, then shuts it down. */
AQ__HIDDEN void aq__pool_at_exit(void);

/* Reserves a post of fn(arg) on l, which must be open to posts
 * (aq_loop_keep_alive): the record is allocated now, so aq__post_send
 * cannot fail, and aq_loop_free waits for the send and runs fn rather
 * than dropping it. The loop's thread only. NULL: out of memory. */
AQ__HIDDEN aq__post *aq__post_reserve(aq_loop *l, void (*fn)(void *arg),
                                      void *arg);
/* Gives a reservation back unsent (the work could not be handed over).
 * The loop's thread only. */
AQ__HIDDEN void aq__post_unreserve(aq_loop *l, aq__post *p);
/* Sends a reserved post: fn runs on l's thread at its next poll, or at
 * aq_loop_free. Any thread, once; p is the loop's afterwards. */
AQ__HIDDEN void aq__post_send(aq_loop *l, aq__post *p);

#endif
