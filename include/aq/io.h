/* libaq - file descriptors: readiness waits and I/O that suspends the
 * task, never the thread. MIT licensed.
 * Part of the public API: include <aq.h>, which includes every part in
 * order; its opening comment states the conventions all of them follow. */
#ifndef AQ_API_IO_H
#define AQ_API_IO_H

#include "loop.h"

/* Declared, not defined, so that <aq.h> does not bring in the socket
 * headers' names (send, connect...) for programs that do no I/O. */
struct sockaddr;

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/*  I/O: fds, sockets and pipes                                          */
/* ===================================================================== */

/* An fd registered with a loop (asyncio's add_reader/add_writer, the
 * transports under its streams). The loop watches it with epoll, edge-
 * triggered, armed once at registration: no system call per wait beyond
 * the I/O itself. The helpers below try the system call first and, on
 * EAGAIN, park the task until the fd is ready, then try again; system
 * errors come back as -errno (AQ_EBADF, -ECONNRESET, -EPIPE: a socket
 * write never raises SIGPIPE). At most one task may wait per direction of
 * an fd (a second gets AQ_EBUSY). A loop with an fd registered is never
 * out of work: aq_loop_run waits for I/O rather than returning, so close
 * (or detach) fds when done. */
typedef struct aq_fd aq_fd; /* also declared by select.h */

/* Registers fd with loop (NULL: the calling task's loop) and makes it
 * non-blocking. The caller keeps the fd's ownership until aq_fd_close.
 * Returns: AQ_OK; AQ_EPERM if loop is NULL outside a task; AQ_EINVAL if
 * out is NULL or fd < 0; -errno from fcntl or epoll (AQ_EBADF for a
 * closed fd, -EPERM for a regular file, which epoll refuses); AQ_ENOMEM.
 * Does not suspend. */
AQ_EXTERN int aq_fd_open(aq_loop *loop, aq_fd **out, int fd);
/* Unregisters f and closes its fd. A task waiting on f is woken with
 * AQ_EBADF first, so the fd number, once reused, can never reach it.
 * f is freed. Returns: AQ_OK; AQ_EINVAL if f is NULL; -errno from
 * close(2) (the fd is closed anyway). Does not suspend. */
AQ_EXTERN int aq_fd_close(aq_fd *f);
/* As aq_fd_close, but leaves the fd open and returns it (>= 0, still
 * non-blocking), or AQ_EINVAL if f is NULL. */
AQ_EXTERN int aq_fd_detach(aq_fd *f);
/* f's fd number, or AQ_EINVAL if f is NULL. Does not suspend. */
AQ_EXTERN int aq_fd_fileno(const aq_fd *f);

/* Waits until f is readable (or writable): returns at once if an event
 * reported it since the last wait in that direction returned. The fd is
 * watched edge-triggered: after a wait returns, read (write) until EAGAIN
 * before waiting again, or an edge that came meanwhile is already spent.
 * The helpers below do that for you.
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_EINVAL if f is NULL or
 * registered with another loop; AQ_EBUSY if a task already waits in that
 * direction; AQ_EBADF if f is closed meanwhile; AQ_ECANCELED;
 * AQ_ETIMEDOUT (the _until form). Suspends. */
AQ_EXTERN int aq_fd_wait_readable(aq_fd *f);
AQ_EXTERN int aq_fd_wait_readable_until(aq_fd *f, int64_t deadline);
AQ_EXTERN int aq_fd_wait_writable(aq_fd *f);
AQ_EXTERN int aq_fd_wait_writable_until(aq_fd *f, int64_t deadline);

/* Reads up to n bytes into buf, waiting until at least one is there
 * (await reader.read(n)).
 * Returns: the byte count (> 0); 0 at end of file; AQ_EPERM; AQ_EINVAL
 * if f is NULL or of another loop, buf is NULL with n > 0, or n >
 * LONG_MAX; AQ_EBUSY, AQ_EBADF, AQ_ECANCELED, AQ_ETIMEDOUT as for the
 * waits; -errno from read(2). Suspends. */
AQ_EXTERN long aq_read(aq_fd *f, void *buf, size_t n);
AQ_EXTERN long aq_read_until(aq_fd *f, void *buf, size_t n,
                             int64_t deadline);

/* Writes all n bytes of buf, waiting for room as often as needed
 * (writer.write(data); await writer.drain()).
 * done: receives how many bytes went out, also when the call fails.
 * Returns: AQ_OK (*done == n); AQ_EPERM; AQ_EINVAL if f or done is NULL,
 * f is of another loop, or buf is NULL with n > 0; AQ_EBUSY, AQ_EBADF,
 * AQ_ECANCELED, AQ_ETIMEDOUT as for the waits; -errno from the write
 * (-EPIPE, -ECONNRESET). Suspends. */
AQ_EXTERN int aq_write_all(aq_fd *f, const void *buf, size_t n,
                           size_t *done);
AQ_EXTERN int aq_write_all_until(aq_fd *f, const void *buf, size_t n,
                                 size_t *done, int64_t deadline);

/* Accepts a connection on a listening socket, waiting for one.
 * Returns: the new socket's fd (>= 0; non-blocking and close-on-exec,
 * not registered: pass it to aq_fd_open); AQ_EPERM; AQ_EINVAL; AQ_EBUSY,
 * AQ_EBADF, AQ_ECANCELED, AQ_ETIMEDOUT as for the waits; -errno from
 * accept4(2) (-EMFILE...). Suspends. */
AQ_EXTERN int aq_accept(aq_fd *listener);
AQ_EXTERN int aq_accept_until(aq_fd *listener, int64_t deadline);

/* Connects a socket (asyncio.open_connection's connect), waiting for the
 * handshake.
 * Returns: AQ_OK; AQ_EPERM; AQ_EINVAL if f or addr is NULL or len is 0;
 * AQ_EBUSY, AQ_EBADF, AQ_ECANCELED, AQ_ETIMEDOUT as for the waits; -errno
 * from connect(2) or the handshake (-ECONNREFUSED). Suspends. */
AQ_EXTERN int aq_connect(aq_fd *f, const struct sockaddr *addr, size_t len);
AQ_EXTERN int aq_connect_until(aq_fd *f, const struct sockaddr *addr,
                               size_t len, int64_t deadline);

/* ---- living inside another event loop (libuv, libev, GLib) ----------- */

/* Lets a program built on another event loop drive a libaq loop:
 *
 *     fd = aq_loop_fd(l);            // watch it for readability
 *     on readable, on the timer, and once after spawning tasks:
 *         aq_loop_run_ready(l);
 *         rearm the timer for aq_loop_next_deadline(l)
 *
 * aq_loop_fd returns an fd (epoll's) that is readable while I/O events
 * of the loop's fds or posts are pending; it never blocks anything.
 * Call it before the first aq_loop_run_ready: it also makes the loop's
 * tasks go back to the loop after each iteration.
 * Returns: the fd (>= 0; the loop owns it); AQ_EINVAL if loop is NULL;
 * AQ_ENOMEM or -errno. Does not suspend. */
AQ_EXTERN int aq_loop_fd(aq_loop *loop);

#ifdef __cplusplus
}
#endif
#endif /* AQ_API_IO_H */
