/* Plain epoll echo server for the echo benchmark (bench/README.md): the
 * baseline libaq is held to. One thread, level-triggered, non-blocking,
 * one read per event and one send per read (MSG_NOSIGNAL, as libaq's
 * aq_write_all). MIT licensed.
 *
 *   epoll_echo PORT
 *
 * Nothing is queued for later writing: a short write closes the
 * connection. The benchmark's closed-loop client never has more than one
 * 64-byte message in flight per connection, so the send buffer always has
 * room and that never happens there. Runs until killed. */
/* accept4 needs _GNU_SOURCE, which the build defines for every program. */
#include <sys/epoll.h>
#include <unistd.h>

#include "echo.h"

#define BATCH 256

int main(int argc, char **argv)
{
    const char *usage = "epoll_echo PORT";
    if (argc != 2) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    int lfd = echo_listen(echo_port(argv[1], usage));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev))
        echo_die("epoll", errno);
    static struct epoll_event evs[BATCH];
    static char buf[4096];
    for (;;) {
        int n = epoll_wait(ep, evs, BATCH, -1);
        if (n < 0 && errno != EINTR)
            echo_die("epoll_wait", errno);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) { /* one accept per event: level-triggered */
                int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (c < 0)
                    continue;
                echo_nodelay(c);
                ev = (struct epoll_event){.events = EPOLLIN, .data.fd = c};
                if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev))
                    close(c);
                continue;
            }
            ssize_t r = read(fd, buf, sizeof buf);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r <= 0 || send(fd, buf, (size_t)r, MSG_NOSIGNAL) != r)
                close(fd); /* end of file, error, or a short write */
        }
    }
}
