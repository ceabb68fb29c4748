/* libaq - TCP by address: a listening socket and a task per connection
 * (asyncio.start_server), and a connection (asyncio.open_connection).
 * MIT licensed.
 *
 * Invariants:
 * - aq_listen_tcp and aq_connect_tcp either return a registered socket or
 *   leave nothing behind: the socket is closed on every failure after it
 *   was made (a connect that fails or is cancelled included).
 * - aq_serve owns each accepted fd until a handler task owns it (a
 *   detached task, or a group's child: aq_serve_group): an fd
 *   that cannot be registered is closed at once, a registered one whose
 *   task cannot be spawned is closed through aq_fd_close. So no
 *   connection leaks, and none is left half served; the listener itself
 *   stays the caller's, whatever aq_serve returns.
 * Host names are not looked up: getaddrinfo blocks, and a loop must not
 * (resolve with aq_to_thread first).
 */
#include "io/io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* Fills *a from a numeric IPv4 or IPv6 address: its length, or 0. */
static socklen_t address(const char *host, int port,
                         struct sockaddr_storage *a)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)a;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)a;
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        return sizeof *v4;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        return sizeof *v6;
    }
    return 0;
}

int aq_listen_tcp(aq_loop *loop, aq_fd **out, const char *host, int port)
{
    struct sockaddr_storage a;
    if (!loop && !aq__cur) /* no loop to open it on: first, as aq_fd_open */
        return AQ_EPERM;
    if (!out || !host)
        return aq_einval("out or host is NULL");
    if (port < 0 || port > 65535)
        return aq_einval("port is outside 0..65535");
    socklen_t len = address(host, port, &a);
    if (!len)
        return aq_einval("host is not a numeric IPv4 or IPv6 address");
    int fd = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return -errno;
    /* A restarted server can bind while old connections sit in
     * TIME_WAIT, as asyncio's start_server allows by default. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc = bind(fd, (struct sockaddr *)&a, len) || listen(fd, SOMAXCONN)
                 ? -errno
                 : aq_fd_open(loop, out, fd);
    if (rc != AQ_OK)
        close(fd);
    return rc;
}

/* Does accept's error come from the moment (no fd or memory left for a
 * new socket) rather than from the listener? Serving then goes on after a
 * pause, as Go's http.Server does (5 ms doubling to 1 s; asyncio pauses
 * accepting for 1 s): a burst of connections must not end the server. */
static int out_of_room(int rc)
{
    return rc == -EMFILE || rc == -ENFILE || rc == -ENOBUFS || rc == -ENOMEM;
}

/* Who serves a connection: a detached task running task(conn), or a child
 * of g running child(conn). */
typedef struct server {
    aq_task_fn task;
    aq_group_fn child;
    aq_group *g;
} server;

static int start(const server *h, aq_fd *conn)
{
    return h->g ? aq_group_spawn(h->g, h->child, conn)
                : aq_spawn(NULL, h->task, conn);
}

static int serve(aq_fd *listener, const server *h)
{
    int64_t pause = 0;
    for (;;) {
        int fd = aq_accept(listener);
        if (out_of_room(fd)) {
            pause = pause ? (pause < AQ_SEC / 2 ? 2 * pause : AQ_SEC)
                          : 5 * AQ_MSEC;
            /* Paused as a waiter on the listener, not in a sleep, so that
             * closing it still wakes this call (AQ_EBADF) before the
             * aq_fd goes. The backlog keeps it readable: forget that, or
             * the wait would return at once; a new connection's edge
             * ends the pause early. */
            int64_t until = aq_in(pause);
            aq_loop *loop = listener->w.loop;
            uint64_t tag = aq__io_tag(listener);
            listener->w.ready &= ~AQ__IO_IN;
            int rc = aq_fd_wait_readable_until(listener, until);
            if (rc == AQ_ETIMEDOUT && aq_now() < until)
                return rc; /* a timeout scope's deadline, not the pause's:
                              every wait would now fail at once */
            if (rc != AQ_OK && rc != AQ_ETIMEDOUT)
                return rc; /* cancelled, or the listener closed */
            if (rc == AQ_ETIMEDOUT && !aq__io_registered(loop, tag, listener))
                return AQ_EBADF; /* closed after the pause's timer woke us */
            continue;
        }
        if (fd < 0)
            return fd;
        pause = 0;
        aq_fd *conn;
        if (aq_fd_open(NULL, &conn, fd) != AQ_OK) {
            close(fd); /* out of memory: refuse this one, serve on */
            continue;
        }
        int rc = start(h, conn);
        if (rc != AQ_OK)
            aq_fd_close(conn); /* and serve on, but for a failed group */
        if (rc == AQ_EGROUP)
            return rc;
    }
}

int aq_serve(aq_fd *listener, aq_task_fn handler)
{
    if (!listener || !handler) /* aq_accept checks the rest */
        return aq__cur ? aq_einval("listener or handler is NULL") : AQ_EPERM;
    server h = {handler, NULL, NULL};
    return serve(listener, &h);
}

int aq_serve_group(aq_fd *listener, aq_group_fn handler, aq_group *g)
{
    if (!listener || !handler || !g)
        return aq__cur ? aq_einval("listener, handler or g is NULL")
                       : AQ_EPERM;
    server h = {NULL, handler, g};
    return serve(listener, &h);
}

int aq_serve_tcp(const char *host, int port, aq_task_fn handler)
{
    aq_fd *listener;
    if (!handler) /* before a socket is made for nothing */
        return aq__cur ? aq_einval("handler is NULL") : AQ_EPERM;
    if (!host && aq__cur) /* aq_listen_tcp's detail would name its out */
        return aq_einval("host is NULL");
    int rc = aq_listen_tcp(NULL, &listener, host, port);
    if (rc != AQ_OK)
        return rc;
    rc = aq_serve(listener, handler);
    aq_fd_close(listener);
    return rc;
}

int aq_connect_tcp_until(aq_fd **out, const char *host, int port,
                         int64_t deadline)
{
    struct sockaddr_storage a;
    socklen_t len = 0;
    aq_task *self;
    /* The host is an argument too: parsed before the cancel is checked
     * (aq.h's order), so a bad one says AQ_EINVAL in a cancelled task. */
    AQ__SUSPEND_BEGIN(self,
                      out && host && port >= 0 && port <= 65535 &&
                          (len = address(host, port, &a)) != 0,
                      !out || !host ? "out or host is NULL"
                      : port < 0 || port > 65535
                          ? "port is outside 0..65535"
                          : "host is not a numeric IPv4 or IPv6 address");
    (void)self;
    int fd = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    aq_fd *f;
    int rc = aq_fd_open(NULL, &f, fd);
    if (rc != AQ_OK) {
        close(fd);
        return rc;
    }
    rc = aq_connect_until(f, (struct sockaddr *)&a, len, deadline);
    if (rc != AQ_OK) {
        aq_fd_close(f);
        return rc;
    }
    *out = f;
    return AQ_OK;
}

int aq_connect_tcp(aq_fd **out, const char *host, int port)
{
    return aq_connect_tcp_until(out, host, port, AQ_NEVER);
}
