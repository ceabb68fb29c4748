/* System call failures in the I/O layer: epoll_create1 (the loop's
 * poller), epoll_ctl (arming an fd, the wake-up fd) and eventfd (the
 * wake-up fd of a kept-alive loop) fail once each: the call reports
 * -errno, registers nothing, leaks no fd or memory, and works when tried
 * again. epoll_pwait2 refused for good with EPERM, as a seccomp profile
 * older than the call refuses it: the poller falls back to epoll_wait.
 * Linked with -Wl,--wrap for those four (tests/CMakeLists.txt), so
 * libaq's calls come here. */
#include "test.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

int __real_epoll_create1(int);
int __real_epoll_ctl(int, int, int, struct epoll_event *);
int __real_eventfd(unsigned, int);

static int pwait2_calls;

/* A seccomp filter's answer (no __real_: it never gets through). */
int __wrap_epoll_pwait2(int epfd, struct epoll_event *ev, int n,
                        const struct timespec *timeout, const sigset_t *mask)
{
    (void)epfd, (void)ev, (void)n, (void)timeout, (void)mask;
    pwait2_calls++;
    errno = EPERM;
    return -1;
}

static int fail_create, fail_ctl, fail_eventfd; /* fail the next call */

int __wrap_epoll_create1(int flags)
{
    if (fail_create) {
        fail_create = 0;
        errno = EMFILE;
        return -1;
    }
    return __real_epoll_create1(flags);
}

int __wrap_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    if (fail_ctl && op == EPOLL_CTL_ADD) {
        fail_ctl = 0;
        errno = ENOSPC;
        return -1;
    }
    return __real_epoll_ctl(epfd, op, fd, ev);
}

int __wrap_eventfd(unsigned initval, int flags)
{
    if (fail_eventfd) {
        fail_eventfd = 0;
        errno = ENFILE;
        return -1;
    }
    return __real_eventfd(initval, flags);
}

/* The lowest free fd number: a leaked fd would move it up. */
static int lowest_free_fd(void)
{
    int fd = dup(0);
    close(fd);
    return fd;
}

TEST(test_io_fault_poller_and_arm)
{
    int p[2];
    ASSERT(pipe(p) == 0);
    int low = lowest_free_fd();
    aq_loop *l;
    aq_fd *f = NULL;
    ASSERT_OK(aq_loop_new(&l));
    fail_create = 1;
    ASSERT_RC(aq_fd_open(l, &f, p[0]), -EMFILE);
    ASSERT(f == NULL);
    fail_ctl = 1;
    ASSERT_RC(aq_fd_open(l, &f, p[0]), -ENOSPC);
    ASSERT(f == NULL);
    ASSERT_OK(aq_fd_open(l, &f, p[0]));
    ASSERT_EQ(aq_fd_detach(f), p[0]);
    ASSERT_OK(aq_loop_free(l));
    ASSERT_EQ(lowest_free_fd(), low); /* the poller's fd went with it */
    close(p[0]);
    close(p[1]);
}

TEST(test_io_fault_wakeup)
{
    int low = lowest_free_fd();
    aq_loop *l;
    ASSERT_OK(aq_loop_new(&l));
    fail_eventfd = 1;
    ASSERT_RC(aq_loop_keep_alive(l, 1), -ENFILE);
    fail_ctl = 1;
    ASSERT_RC(aq_loop_keep_alive(l, 1), -ENOSPC);
    ASSERT_RC(aq_loop_post(l, (void (*)(void *))free, NULL), AQ_EINVAL);
    ASSERT_OK(aq_loop_keep_alive(l, 1));
    ASSERT_OK(aq_loop_keep_alive(l, 0));
    ASSERT_OK(aq_loop_free(l));
    ASSERT_EQ(lowest_free_fd(), low);
}

/* epoll_pwait2 refused with EPERM (a seccomp filter, not ENOSYS): the
 * poller falls back to epoll_wait, and a byte written 10 ms after a task
 * began to wait for it is read (a reviewer's reproducer under seccomp:
 * the fallback was taken on ENOSYS only, so no fd event was ever seen,
 * the read timed out and the loop spun at 100% CPU). Under valgrind and
 * ThreadSanitizer the poller never tries epoll_pwait2: the read is
 * checked all the same. */
static int pipe_fds[2];

static void *writes_later(void *arg)
{
    (void)arg;
    ASSERT_OK(aq_sleep(10 * AQ_MSEC));
    ASSERT_EQ(write(pipe_fds[1], "x", 1), 1);
    return NULL;
}

static void *pwait2_main(void *arg)
{
    (void)arg;
    aq_fd *f;
    aq_task *w;
    char c = 0;
    ASSERT_EQ(pipe(pipe_fds), 0);
    ASSERT_OK(aq_fd_open(NULL, &f, pipe_fds[0]));
    ASSERT_OK(aq_spawn(&w, writes_later, NULL));
    int64_t t0 = aq_now();
    ASSERT_EQ(aq_read_until(f, &c, 1, t0 + 2 * AQ_SEC), 1);
    ASSERT_EQ(c, 'x');
    ASSERT(aq_now() - t0 < AQ_SEC);
    ASSERT_OK(aq_task_wait(w, NULL));
    ASSERT_OK(aq_task_release(w));
    ASSERT_OK(aq_fd_close(f));
    ASSERT_EQ(close(pipe_fds[1]), 0);
    return NULL;
}

TEST(test_io_fault_pwait2_refused)
{
    t_main(pwait2_main, NULL);
    ASSERT(pwait2_calls <= 1); /* tried once at most, then never again */
}

int main(int argc, char **argv)
{
    RUN(test_io_fault_poller_and_arm);
    RUN(test_io_fault_wakeup);
    RUN(test_io_fault_pwait2_refused);
    return t_done();
}
