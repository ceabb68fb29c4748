/* The floor of the deadlines benchmark (deadlines.c): the same deadlines
 * met by the plainest single-threaded C, no libaq, so that what the
 * machine itself adds (the kernel's timer slack, the VM pausing the
 * process) is told apart from what the library adds. MIT licensed.
 *
 *   deadline_floor [READERS [READS]]   (default 1000 readers, 100 each)
 *
 * Each reader owns an idle pipe whose read end is in one epoll set
 * (edge-triggered, nothing ever written) and a deadline drawn as
 * deadlines.c draws it (echo.h). The loop sleeps in epoll_pwait2 until
 * the earliest deadline; then each reader whose deadline has passed
 * records its lateness (the clock read then, minus the deadline), then,
 * as aq_read_until does first, tries a read (EAGAIN) and draws its next
 * deadline, until every reader has had READS. As in deadlines.c,
 * every pipe is made before the first deadline is drawn. Prints
 * deadlines.c's line, named deadline_floor, and the same trace with
 * DEADLINE_TRACE set. Exits 1 if a deadline fires early. */
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "echo.h"

int main(int argc, char **argv)
{
    long readers = argc > 1 ? atol(argv[1]) : 1000;
    long reads = argc > 2 ? atol(argv[2]) : 100;
    if (argc > 3 || readers < 1 || reads < 1) {
        fprintf(stderr, "usage: deadline_floor [READERS [READS]]\n");
        return 2;
    }
    size_t n = (size_t)readers * (size_t)reads;
    int64_t *late = calloc(n, sizeof *late);
    int64_t *due = calloc((size_t)readers, sizeof *due);
    int *fd = calloc((size_t)readers, sizeof *fd);
    uint64_t *x = calloc((size_t)readers, sizeof *x);
    long *done = calloc((size_t)readers, sizeof *done);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!late || !due || !fd || !x || !done || ep < 0)
        echo_die("setup", ep < 0 ? errno : ENOMEM);
    for (long i = 0; i < readers; i++) {
        int p[2];
        struct epoll_event ev = {.events = EPOLLIN | EPOLLET};
        if (pipe2(p, O_NONBLOCK))
            echo_die("pipe2", errno);
        fd[i] = ev.data.fd = p[0];
        if (epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev))
            echo_die("epoll_ctl", errno);
    }
    int64_t t0 = echo_now();
    for (long i = 0; i < readers; i++) { /* after the set-up, all at once */
        x[i] = echo_seed(i);
        due[i] = echo_next_deadline(&x[i], echo_now());
    }
    for (long live = readers; live > 0;) {
        int64_t first = INT64_MAX;
        for (long i = 0; i < readers; i++)
            if (done[i] < reads && due[i] < first)
                first = due[i];
        int64_t wait = first - echo_now();
        if (wait > 0) {
            struct epoll_event ev[8];
            struct timespec ts = {wait / 1000000000, wait % 1000000000};
            if (epoll_pwait2(ep, ev, 8, &ts, NULL) < 0 && errno != EINTR)
                echo_die("epoll_pwait2", errno);
        }
        for (long i = 0; i < readers; i++) {
            int64_t now = echo_now();
            if (done[i] == reads || due[i] > now)
                continue;
            late[i * reads + done[i]] = now - due[i];
            echo_trace_late(i, done[i], now - due[i], now - t0);
            if (++done[i] == reads) {
                live--;
                continue;
            }
            char c;
            if (read(fd[i], &c, 1) >= 0 || errno != EAGAIN)
                echo_die("read of an idle pipe", errno);
            due[i] = echo_next_deadline(&x[i], now);
        }
    }
    return echo_lateness("deadline_floor", late, n);
}
