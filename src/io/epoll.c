/* libaq - the epoll backend of the poller (poller.h). MIT licensed.
 *
 * Each fd is added once with EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI |
 * EPOLLET (the wake-up eventfd without EPOLLOUT):
 * no epoll_ctl per wait, ever. Edge-triggered means an event says "this
 * changed", not "this is so": io.c keeps per-direction readiness bits,
 * set here and cleared when a system call reports EAGAIN.
 */
#include "io/poller.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* Events taken per epoll_wait: more are left for the next call. */
#define BATCH 64

struct aq__poller {
    int epfd;
    struct epoll_event ev[BATCH];
};

int aq__poller_new(aq__poller **out)
{
    aq__poller *p = aq__malloc(sizeof *p);
    if (!p)
        return AQ_ENOMEM;
    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (p->epfd < 0) {
        int rc = -errno;
        aq__free(p);
        return rc;
    }
    *out = p;
    return AQ_OK;
}

void aq__poller_free(aq__poller *p)
{
    close(p->epfd);
    aq__free(p);
}

int aq__poller_fd(const aq__poller *p) { return p->epfd; }

int aq__poller_arm(aq__poller *p, int fd, uint64_t tag, unsigned dirs)
{
    struct epoll_event ev;
    /* Only the directions asked for: every read of an eventfd is a new
     * EPOLLOUT edge, which would make the poller's fd readable again
     * (a host loop woken twice per post) and the next wait return at
     * once. */
    ev.events = EPOLLRDHUP | EPOLLPRI | EPOLLET |
                (dirs & AQ__IO_IN ? EPOLLIN : 0) |
                (dirs & AQ__IO_OUT ? EPOLLOUT : 0);
    ev.data.u64 = tag;
    return epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : AQ_OK;
}

int aq__poller_disarm(aq__poller *p, int fd)
{
    struct epoll_event ev = {0}; /* ignored, but kernels < 2.6.9 read it */
    return epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, &ev) ? -errno : AQ_OK;
}

int aq__poller_wait(aq__poller *p, int64_t timeout_ns,
                    void (*ready)(void *ctx, uint64_t tag, unsigned events),
                    void *ctx)
{
    /* epoll_pwait2 (Linux 5.11) takes the timeout in nanoseconds, so a
     * timer fires on time; epoll_wait only in milliseconds, rounded up so
     * that a timer is never polled for just before it is due (which would
     * spin), hence up to 1 ms late. The first ENOSYS settles it, and so
     * does EPERM, which the call has no other reason to return: a
     * seccomp profile older than the call refuses it so (without the
     * fallback no fd event was ever seen, a reviewer's reproducer). It is
     * not tried under valgrind, which does not know the call (3.19 warns
     * for each), nor under ThreadSanitizer, which does not intercept it
     * and runs a signal handler only inside a call it intercepts: a
     * handler calling aq_loop_stop never ran while the loop slept in it
     * (tests/sanitize/check.sh). */
    static _Atomic int no_pwait2;
    int n = -1;
    errno = ENOSYS;
    if (!atomic_load_explicit(&no_pwait2, memory_order_relaxed) &&
        !RUNNING_ON_VALGRIND && !aq__fiber_tsan_runtime()) {
        struct timespec ts = {(time_t)(timeout_ns / AQ_SEC),
                              (long)(timeout_ns % AQ_SEC)};
        n = epoll_pwait2(p->epfd, p->ev, BATCH, timeout_ns < 0 ? NULL : &ts,
                         NULL);
        if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
            atomic_store_explicit(&no_pwait2, 1, memory_order_relaxed);
            errno = ENOSYS;
        }
    }
    if (n < 0 && errno == ENOSYS) {
        int ms = timeout_ns < 0 ? -1
                 : timeout_ns > (int64_t)0x7fffffff * AQ_MSEC
                     ? 0x7fffffff
                     : (int)((timeout_ns + AQ_MSEC - 1) / AQ_MSEC);
        n = epoll_wait(p->epfd, p->ev, BATCH, ms);
    }
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        uint32_t e = p->ev[i].events;
        unsigned bits = 0;
        /* Not EPOLLPRI: a peer's urgent byte alone gives read(2) nothing
         * (SO_OOBINLINE off; on, the byte is data and EPOLLIN comes), and
         * a READABLE clause woken by it won a select over a ready queue
         * whose task then blocked in the read (a reviewer's reproducer).
         * It still marks the fd (AQ__IO_EXCEPT: fd.c's reads first). */
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            bits |= AQ__IO_IN;
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            bits |= AQ__IO_OUT;
        if (e & (EPOLLPRI | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            bits |= AQ__IO_EXCEPT;
        ready(ctx, p->ev[i].data.u64, bits);
    }
    return n;
}
