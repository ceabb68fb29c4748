/* System call failures in the I/O layer: epoll_create1 (the loop's
 * poller), epoll_ctl (arming an fd, the wake-up fd) and eventfd (the
 * wake-up fd of a kept-alive loop) fail once each: the call reports
 * -errno, registers nothing, leaks no fd or memory, and works when tried
 * again. Linked with -Wl,--wrap for those three (tests/CMakeLists.txt),
 * so libaq's calls come here. */
#include "test.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

int __real_epoll_create1(int);
int __real_epoll_ctl(int, int, int, struct epoll_event *);
int __real_eventfd(unsigned, int);

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

int main(int argc, char **argv)
{
    RUN(test_io_fault_poller_and_arm);
    RUN(test_io_fault_wakeup);
    return t_done();
}
