/* libaq - registered fds: waits for readiness, and the read, write,
 * accept and connect helpers that park on EAGAIN. MIT licensed.
 *
 * Every helper follows one pattern: try the system call; on EAGAIN wait
 * for the direction (a waiter record in this frame, on the fd's list for
 * that direction) and try again. The call comes first, so a ready bit is
 * only a hint and an edge is never waited for that already came.
 *
 * One exception saves a system call per message: a read that returned
 * less than asked from a TCP socket emptied its receive buffer (Linux's
 * tcp_recvmsg stops short only then, but for the two cases below), so
 * aq_read's next call waits for the next event before reading instead of
 * making a read that would fail with EAGAIN (tokio does the same on
 * epoll). Data that arrives after the
 * short read raises an edge, which the loop can only see after it, so
 * none is missed. Two cases break the rule, and both announce themselves
 * with an event before the read they affect: a short read can end at the
 * peer's FIN (the next read returns 0 at once), and one stops at a peer's
 * urgent byte (MSG_OOB) with data queued behind it. So once an event has
 * reported a hang-up, an error or urgent data (AQ__IO_EXCEPT, never
 * consumed), this fd reads first again, and a short read asks poll
 * whether more is there (short_read): if so the fd stays readable for a
 * wait too, since the wait before that read may have consumed the only
 * edge. Other fds (pipes, UDP and Unix
 * sockets, whose reads may stop short of what is queued: one datagram,
 * one sender's credentials) always read first. A read of 0 bytes is made
 * at once, as read(2) would return.
 *
 * Errors are -errno, unchanged (errno is per thread, so it is read at
 * once). Sockets are written with MSG_NOSIGNAL: a peer that went away
 * gives AQ's -EPIPE, never a SIGPIPE that kills the process.
 *
 * Closing (aq_fd_close, aq_fd_detach) wakes a waiter of either direction
 * with -EBADF before the fd is disarmed, and turns the wake-up of one an
 * event woke but that has not run yet into -EBADF too: the waiting call
 * returns without touching the aq_fd again, so the handle can go.
 */
#define _GNU_SOURCE /* accept4: a new socket non-blocking in one call */
#include "io/io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

int aq_fd_open(aq_loop *loop, aq_fd **out, int fd)
{
    if (!loop)
        loop = aq_loop_current();
    if (!loop)
        return AQ_EPERM;
    if (!out)
        return aq_einval("out is NULL");
    if (fd < 0)
        return aq_einval("fd is negative");
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK)))
        return -errno;
    aq_fd *f = aq__malloc(sizeof *f);
    int rc = f ? AQ_OK : AQ_ENOMEM;
    if (!f)
        goto fail;
    f->w.loop = loop;
    f->fd = fd;
    f->w.ready = f->w.drained = 0;
    f->w.woken[0] = f->w.woken[1] = NULL;
    int proto;
    socklen_t len = sizeof proto;
    int sock = getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0;
    f->not_socket = !sock && errno == ENOTSOCK;
    f->tcp = sock && proto == IPPROTO_TCP;
    aq__list_init(&f->w.readers);
    aq__list_init(&f->w.writers);
    rc = aq__io_register(f);
    if (rc) {
        aq__free(f);
        goto fail;
    }
    *out = f;
    return AQ_OK;
fail:
    if (!(fl & O_NONBLOCK)) /* the fd as the caller gave it */
        (void)fcntl(fd, F_SETFL, fl);
    return rc;
}

int aq_fd_fileno(const aq_fd *f)
{
    return f ? f->fd : aq_einval("fd is NULL");
}

int aq_fd_detach(aq_fd *f)
{
    if (!f)
        return aq_einval("fd is NULL");
    int fd = f->fd;
    aq__task_wake_all(&f->w.readers, AQ_EBADF);
    aq__task_wake_all(&f->w.writers, AQ_EBADF);
    for (int d = 0; d < 2; d++) /* woken by an event, not yet run */
        if (f->w.woken[d])
            f->w.woken[d]->wait_rc = AQ_EBADF;
    aq__io_unregister(f);
    aq__free(f);
    return fd;
}

int aq_fd_close(aq_fd *f)
{
    int fd = aq_fd_detach(f);
    if (fd < 0)
        return fd;
    return close(fd) ? -errno : AQ_OK;
}

/* ---- waiting ------------------------------------------------------------- */

/* Waits until an event has reported direction `dir` since the last wait
 * consumed it, and consumes it. Suspends (unless already reported). */
static int wait_dir(aq_fd *f, unsigned dir, aq_task *self, int64_t deadline)
{
    if (aq__fdwait_busy(&f->w, dir))
        return AQ_EBUSY; /* one waiter per direction */
    if (!(f->w.ready & dir)) {
        /* A call that waits again (after an event that did not let it
         * finish) may have been cancelled while it was ready: no wake-up
         * would come for that cancel, so it is reported here. */
        if (aq__unlikely(aq__cancel_due(self)))
            return AQ_ECANCELED;
        aq_list *list = dir == AQ__IO_IN ? &f->w.readers : &f->w.writers;
        int rc = aq__wait_on(self, list, NULL, deadline,
                             dir == AQ__IO_IN ? AQ__W_READABLE : AQ__W_WRITABLE,
                             f);
        if (rc)
            return rc; /* f may be gone (AQ_EBADF): do not touch it */
    }
    aq__fdwait_consume(&f->w, dir);
    return AQ_OK;
}

/* The prologue of every waiting call on f; why names the call's own
 * checks (args_ok); count: NULL, or the call's progress count, written
 * once the arguments are good (AQ__SUSPEND_BEGIN_COUNTED). */
#define FD_BEGIN_COUNTED(self, f, args_ok, why, count)                       \
    AQ__SUSPEND_BEGIN_COUNTED(                                               \
        self, (f) != NULL && (f)->w.loop == (self)->loop && (args_ok),       \
        (f) == NULL ? "fd is NULL"                                           \
        : (f)->w.loop != (self)->loop                                        \
            ? "fd belongs to another loop, or to none (its loop freed)"      \
            : (why),                                                         \
        count)
#define FD_BEGIN(self, f, args_ok, why)                                      \
    FD_BEGIN_COUNTED(self, f, args_ok, why, (size_t *)NULL)

static int wait_until(aq_fd *f, unsigned dir, int64_t deadline)
{
    aq_task *self;
    FD_BEGIN(self, f, 1, NULL);
    return wait_dir(f, dir, self, deadline);
}

int aq_fd_wait_readable_until(aq_fd *f, int64_t deadline)
{
    return wait_until(f, AQ__IO_IN, deadline);
}

int aq_fd_wait_readable(aq_fd *f)
{
    return wait_until(f, AQ__IO_IN, AQ_NEVER);
}

int aq_fd_wait_writable_until(aq_fd *f, int64_t deadline)
{
    return wait_until(f, AQ__IO_OUT, deadline);
}

int aq_fd_wait_writable(aq_fd *f)
{
    return wait_until(f, AQ__IO_OUT, AQ_NEVER);
}

/* ---- read, write --------------------------------------------------------- */

/* After a short read from a TCP socket: emptied (see the top), unless an
 * event reported a hang-up, an error or urgent data, after which the
 * read may have stopped at the peer's FIN, a reset or an urgent byte with
 * more behind it, and no edge follows. Such an fd keeps reading first
 * (io.h), and a look that consumes nothing (poll, level-triggered) tells
 * a wait: something to read (the end of file, a reset, the bytes behind:
 * POLLIN or POLLHUP; not POLLERR alone, which an entry of the error queue
 * raises with nothing to read) leaves f readable, for the next wait too,
 * whose edge the wait before this read consumed (a reviewer's reproducer:
 * a wait after a short read that stopped at a FIN never returned);
 * nothing leaves it waiting for an edge. Marking it readable whenever the
 * bit was set made every wait after an urgent byte return with nothing
 * to read (a select then chose the fd over a ready queue, and the read
 * blocked). */
static void short_read(aq_fd *f)
{
    if (!(f->w.ready & AQ__IO_EXCEPT)) {
        f->w.ready &= ~AQ__IO_IN;
        f->w.drained |= AQ__IO_IN;
        return;
    }
    struct pollfd p = {.fd = f->fd, .events = POLLIN};
    if (poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP)))
        f->w.ready |= AQ__IO_IN;
    else
        f->w.ready &= ~AQ__IO_IN;
}

long aq_read_until(aq_fd *f, void *buf, size_t n, int64_t deadline)
{
    aq_task *self;
    FD_BEGIN(self, f, (buf || n == 0) && n <= LONG_MAX,
             n > LONG_MAX ? "n is above LONG_MAX" : "buf is NULL with n > 0");
    for (;;) {
        if (n > 0 && (f->w.drained & ~f->w.ready & AQ__IO_IN)) {
            int rc = wait_dir(f, AQ__IO_IN, self, deadline); /* no read */
            if (rc)
                return rc;
        }
        ssize_t r = read(f->fd, buf, n);
        if (r >= 0) {
            if (f->tcp && r > 0 && (size_t)r < n)
                short_read(f);
            return (long)r;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        f->w.ready &= ~AQ__IO_IN;
        int rc = wait_dir(f, AQ__IO_IN, self, deadline);
        if (rc)
            return rc;
    }
}

long aq_read(aq_fd *f, void *buf, size_t n)
{
    return aq_read_until(f, buf, n, AQ_NEVER);
}

/* One write: send() with MSG_NOSIGNAL on a socket, write() otherwise
 * (aq_fd_open asked which). */
static ssize_t write_some(aq_fd *f, const void *p, size_t n)
{
    if (f->not_socket)
        return write(f->fd, p, n);
    return send(f->fd, p, n, MSG_NOSIGNAL);
}

int aq_write_all_until(aq_fd *f, const void *buf, size_t n, size_t *done,
                       int64_t deadline)
{
    aq_task *self;
    FD_BEGIN_COUNTED(self, f, buf || n == 0, "buf is NULL with n > 0", done);
    /* Another task's write_all waits for room (or was woken and has not
     * run): writing now would put these bytes in the middle of its
     * message (a reviewer's reproducer), so nothing is written. */
    if (aq__fdwait_busy(&f->w, AQ__IO_OUT)) {
        if (done)
            *done = 0;
        return AQ_EBUSY;
    }
    const char *p = buf;
    size_t sent = 0;
    int rc = AQ_OK;
    while (sent < n) {
        ssize_t w = write_some(f, p + sent, n - sent);
        if (w >= 0) {
            sent += (size_t)w;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            rc = -errno;
            break;
        }
        f->w.ready &= ~AQ__IO_OUT;
        rc = wait_dir(f, AQ__IO_OUT, self, deadline);
        if (rc)
            break;
    }
    if (done)
        *done = sent;
    return rc;
}

int aq_write_all(aq_fd *f, const void *buf, size_t n, size_t *done)
{
    return aq_write_all_until(f, buf, n, done, AQ_NEVER);
}

/* ---- sockets ------------------------------------------------------------- */

int aq_accept_until(aq_fd *listener, int64_t deadline)
{
    aq_task *self;
    FD_BEGIN(self, listener, 1, NULL);
    for (;;) {
        int fd = accept4(listener->fd, NULL, NULL,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
            return fd;
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        listener->w.ready &= ~AQ__IO_IN;
        int rc = wait_dir(listener, AQ__IO_IN, self, deadline);
        if (rc)
            return rc;
    }
}

int aq_accept(aq_fd *listener) { return aq_accept_until(listener, AQ_NEVER); }

int aq_connect_until(aq_fd *f, const struct sockaddr *addr, size_t len,
                     int64_t deadline)
{
    aq_task *self;
    /* socklen_t is 32 bits: a larger len would be cut down, and connect
     * would read a length it was not given. */
    FD_BEGIN(self, f, addr != NULL && len > 0 && len <= INT32_MAX,
             !addr      ? "addr is NULL"
             : len == 0 ? "len is 0"
                        : "len is above INT32_MAX (socklen_t)");
    if (connect(f->fd, addr, (socklen_t)len) == 0)
        return AQ_OK;
    if (errno != EINPROGRESS && errno != EINTR)
        return -errno;
    /* In progress: it ends when the socket turns writable. It may have
     * already (loopback completes at once), which a call whose deadline
     * has passed must still report (aq.h): look before waiting. */
    struct pollfd p = {.fd = f->fd, .events = POLLOUT};
    if (poll(&p, 1, 0) != 1) {
        f->w.ready &= ~AQ__IO_OUT;
        int rc = wait_dir(f, AQ__IO_OUT, self, deadline);
        if (rc)
            return rc;
    }
    int err = 0;
    socklen_t elen = sizeof err;
    if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &elen))
        return -errno;
    return err ? -err : AQ_OK;
}

int aq_connect(aq_fd *f, const struct sockaddr *addr, size_t len)
{
    return aq_connect_until(f, addr, len, AQ_NEVER);
}
