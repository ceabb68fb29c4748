/* libaq - file descriptors: readiness waits and I/O that suspends the
 * task, never the thread; signals waited for. MIT licensed.
 * Part of the public API: include <aq.h>, which includes every part in
 * order; its opening comment states the conventions all of them follow. */
#ifndef AQ_API_IO_H
#define AQ_API_IO_H

#include "loop.h"
#include "sync.h" /* aq_group, for aq_serve_group */

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
 * the I/O itself. The helpers below try the system call first (but for
 * aq_read after a short read from a TCP socket: see there) and, on
 * EAGAIN, park the task until the fd is ready, then try again; system
 * errors come back as -errno (AQ_EBADF, -ECONNRESET, -EPIPE: a socket
 * write never raises SIGPIPE; a write to a pipe whose reader has gone
 * does, as write(2) does, and its default action ends the process:
 * ignore SIGPIPE, as Python does at startup, to get -EPIPE there too). At
 * most one task may wait per direction of an fd (a second gets AQ_EBUSY). A
 * loop with an fd registered is never out of work: aq_loop_run waits for I/O
 * rather than returning, so close (or detach) fds when done. A loop opens its
 * own epoll fd at its first registration (and an eventfd when first kept
 * alive) and closes them in aq_loop_free: count them in if you count a
 * program's open fds. */
typedef struct aq_fd aq_fd; /* also declared by select.h */

/* Registers fd with loop (NULL: the calling task's loop) and makes it
 * non-blocking. The caller keeps the fd's ownership until aq_fd_close,
 * and the handle too: one still open when its loop is freed (by
 * aq_loop_free, or at the end of aq_run) outlives the loop, unregistered,
 * and must still be closed (aq_fd_close closes the fd, aq_fd_detach
 * returns it, aq_fd_fileno still answers; a call that waits returns
 * AQ_EINVAL, its loop being gone). aq_signals_close after the loop is
 * freed works alike.
 * Returns: AQ_OK; AQ_EPERM if loop is NULL outside a task; AQ_EINVAL if
 * out is NULL or fd < 0; -errno from fcntl or epoll (AQ_EBADF for a
 * closed fd, -EPERM for a regular file, which epoll refuses); AQ_ENOMEM.
 * On failure the fd is left as it was (blocking if it was). Does not
 * suspend. */
AQ_EXTERN int aq_fd_open(aq_loop *loop, aq_fd **out, int fd);
/* Unregisters f and closes its fd. A task waiting on f is woken with
 * AQ_EBADF first (also one that an event has woken but that has not run
 * yet), so the fd number, once reused, can never reach it.
 * f is freed. Returns: AQ_OK; AQ_EINVAL if f is NULL; -errno from
 * close(2) (the fd is closed anyway). Does not suspend. */
AQ_EXTERN int aq_fd_close(aq_fd *f);
/* As aq_fd_close, but leaves the fd open: f is unregistered and freed,
 * its waiters woken with AQ_EBADF.
 * Returns: the fd (>= 0, still non-blocking); AQ_EINVAL if f is NULL.
 * Does not suspend. */
AQ_EXTERN int aq_fd_detach(aq_fd *f);
/* f's fd number, or AQ_EINVAL if f is NULL. Calls on it that neither
 * close it nor make it blocking are yours to make (setsockopt, fstat,
 * shutdown(fd, SHUT_WR) for a half close, whose end of file the peer's
 * read then sees); close it with aq_fd_close only, or it is closed under
 * the loop's poller. Does not suspend. */
AQ_EXTERN int aq_fd_fileno(const aq_fd *f);

/* Waits until f is readable (or writable): returns at once if an event
 * reported it since the last wait in that direction returned. The fd is
 * watched edge-triggered: after a wait returns, read (write) until EAGAIN
 * before waiting again, or an edge that came meanwhile is already spent.
 * The helpers below do that for you; on a TCP socket, an aq_read that
 * returned fewer bytes than asked counts as having reached EAGAIN: once
 * the peer's FIN, a reset or an urgent byte came, such a read that stopped
 * there leaves the fd readable if the end of file, the error or the data
 * behind the urgent byte is there (libaq looks), and a wait returns at
 * once. After the end of file or a reset has been read (0, -ECONNRESET),
 * a wait does not return (no edge comes): stop there. On a TCP socket, a
 * lone urgent byte (MSG_OOB, with SO_OOBINLINE off), which read(2) does
 * not return, does not wake a read wait; on a Unix stream socket Linux
 * reports such a byte as readable, and it does.
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
 * On a TCP socket, a read that returns fewer than n bytes has emptied the
 * kernel's receive buffer, so the next call waits for the loop to report
 * new data before it reads: one read(2) per message rather than a second
 * one failing with EAGAIN (tokio does the same). New data is seen only
 * once the loop has polled, which it does while the task is suspended: so
 * after a short read, a deadline already passed gives AQ_ETIMEDOUT even
 * if data has arrived meanwhile, and a task polling with past deadlines
 * must suspend between calls to see it, as with asyncio's reader.read
 * under wait_for(..., 0): while other tasks are ready the loop polls
 * only every 16 rounds, so a wait (aq_fd_wait_readable_until) serves
 * better than a series of aq_yield calls. Once the loop has reported a
 * hang-up, an error or urgent data (a peer's send with MSG_OOB, where a
 * read stops short with data behind it) on the socket, every call reads
 * first again. A call with n == 0 returns 0 at once, as read(2) does.
 * Other fds (pipes, UDP and Unix sockets) read first every time; the
 * rule has not been tested on kernel TLS sockets (TCP_ULP "tls"). The
 * buffered reader's calls read through this one and follow the same
 * rule. A task that reads while another waits to read f is not refused
 * if it finds bytes (each gets its own); it gets AQ_EBUSY only if it
 * would have to wait too.
 * Returns: the byte count (> 0); 0 at end of file; AQ_EPERM; AQ_EINVAL
 * if f is NULL or of another loop, buf is NULL with n > 0, or n >
 * LONG_MAX; AQ_EBUSY, AQ_EBADF, AQ_ECANCELED, AQ_ETIMEDOUT as for the
 * waits; -errno from read(2). Suspends. */
AQ_EXTERN long aq_read(aq_fd *f, void *buf, size_t n);
AQ_EXTERN long aq_read_until(aq_fd *f, void *buf, size_t n,
                             int64_t deadline);

/* Writes all n bytes of buf, waiting for room as often as needed
 * (writer.write(data); await writer.drain()).
 * done: NULL, or receives how many bytes went out, also when the call
 * fails (AQ_ECANCELED at once: 0; AQ_ENOMEM: a compact task that cannot
 * park after part of buf went out, aq.h), but for AQ_EPERM and AQ_EINVAL,
 * which write nothing.
 * Returns: AQ_OK (all n went out); AQ_EPERM; AQ_EINVAL if f is NULL,
 * f is of another loop, or buf is NULL with n > 0; AQ_EBUSY at once,
 * nothing written (*done 0; n 0 included), while another task waits for
 * f to be writable (its aq_write_all, aq_fd_wait_writable, a select's
 * AQ_WRITABLE clause, aq_connect) or was woken and has not run yet, so
 * two messages never interleave (tasks that share an fd's writes take
 * turns with an aq_lock, or hand their messages to one writer task);
 * AQ_EBADF, AQ_ECANCELED,
 * AQ_ETIMEDOUT as for the waits; -errno from the write (-EPIPE,
 * -ECONNRESET). Suspends. */
AQ_EXTERN int aq_write_all(aq_fd *f, const void *buf, size_t n,
                           size_t *done);
AQ_EXTERN int aq_write_all_until(aq_fd *f, const void *buf, size_t n,
                                 size_t *done, int64_t deadline);

/* Accepts a connection on a listening socket, waiting for one
 * (asyncio's loop.sock_accept; Go's Listener.Accept).
 * Returns: the new socket's fd (>= 0; non-blocking and close-on-exec,
 * not registered: pass it to aq_fd_open); AQ_EPERM; AQ_EINVAL if
 * listener is NULL or registered with another loop; AQ_EBUSY,
 * AQ_EBADF, AQ_ECANCELED, AQ_ETIMEDOUT as for the waits; -errno from
 * accept4(2) (-EMFILE...). Suspends. */
AQ_EXTERN int aq_accept(aq_fd *listener);
AQ_EXTERN int aq_accept_until(aq_fd *listener, int64_t deadline);

/* Connects a socket (asyncio.open_connection's connect), waiting for the
 * handshake. addr and len (its size in bytes) as for connect(2). A
 * handshake already done when connect(2) returns (loopback) completes
 * the call even past its deadline.
 * Returns: AQ_OK; AQ_EPERM; AQ_EINVAL if f or addr is NULL, or len is 0
 * or above INT32_MAX (socklen_t's range);
 * AQ_EBUSY, AQ_EBADF, AQ_ECANCELED, AQ_ETIMEDOUT as for the waits; -errno
 * from connect(2) or the handshake (-ECONNREFUSED). A Unix socket whose
 * listener's backlog is full fails at once with -EAGAIN (AQ_EAGAIN, whose
 * aq_strerror names select: Linux answers a non-blocking Unix connect so,
 * not with a handshake to wait for); try again later. Suspends. */
AQ_EXTERN int aq_connect(aq_fd *f, const struct sockaddr *addr, size_t len);
AQ_EXTERN int aq_connect_until(aq_fd *f, const struct sockaddr *addr,
                               size_t len, int64_t deadline);

/* ---- TCP by address (asyncio.start_server, open_connection) -------- */

/* Makes a TCP socket listening on host:port (SO_REUSEADDR, backlog
 * SOMAXCONN) and registers it with loop (NULL: the calling task's), ready
 * for aq_accept or aq_serve. host is a numeric IPv4 or IPv6 address
 * ("127.0.0.1", "0.0.0.0", "::1"): names are not looked up, since that
 * would block the loop (resolve with aq_to_thread(getaddrinfo...) first).
 * port 0 lets the kernel choose: getsockname(aq_fd_fileno(*out)) tells.
 * Returns: AQ_OK; AQ_EPERM if loop is NULL outside a task; AQ_EINVAL if
 * out or host is NULL, host is not a numeric address or port is outside
 * 0..65535; -errno from socket, bind or listen (-EADDRINUSE, -EACCES);
 * AQ_ENOMEM as aq_fd_open. On failure nothing is left open and *out is
 * untouched. Does not suspend. */
AQ_EXTERN int aq_listen_tcp(aq_loop *loop, aq_fd **out, const char *host,
                            int port);

/* Accepts connections on listener for ever, each served by a detached
 * task running handler(conn), where conn, handler's void *arg, is the
 * connection's aq_fd * (cast it back), which the handler must close
 * (aq_fd_close): asyncio.start_server's
 * client_connected_cb, Go's accept loop with `go handle(conn)`. A
 * connection that cannot be registered or given a task (out of memory) is
 * closed at once, and serving goes on. listener stays the caller's.
 * Cancelling the serving task stops accepting; handler tasks already
 * running go on (they are detached), until they return or their loop is
 * freed, which cancels them as it does every task (aq_run's end). An
 * accept that fails for want of fds or memory (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM) does not end serving: it is tried again after a pause of 5 ms,
 * doubling up to 1 s while it keeps failing (Go's http.Server; asyncio
 * pauses for 1 s), the connections waiting in the backlog meanwhile.
 * Returns only on failure: AQ_EPERM outside a task; AQ_EINVAL if listener
 * or handler is NULL, or listener belongs to another loop; AQ_EBUSY if
 * another task already waits on listener (aq_accept, a second
 * aq_serve); AQ_ECANCELED; AQ_ETIMEDOUT when a timeout scope's deadline
 * passes (aq_timeout_begin: the pauses end then too); AQ_EBADF if
 * listener is closed meanwhile, even between a pause and the next
 * accept; any other -errno from accept4. Suspends. */
AQ_EXTERN int aq_serve(aq_fd *listener, aq_task_fn handler);

/* aq_serve with each connection served by a child of the task group g
 * (aq_group_spawn(g, handler, conn)) instead of a detached task, so that
 * a server can stop and drain: cancel the serving task (no new
 * connection is accepted), then aq_group_wait(g) to let the handlers
 * finish (asyncio's Server.close() then wait_closed()), or
 * aq_group_cancel(g) first to end them (Server.close_clients(), Go's
 * http.Server.Shutdown with a cancelled context); aq_group_wait_until
 * bounds the drain, cancelling the handlers still running at the
 * deadline. handler returns 0, or a nonzero status that fails the group
 * (aq_group_fn): that cancels every other connection's handler, as a
 * TaskGroup does, and ends serving with AQ_EGROUP when the next
 * connection comes (the group takes no new child). So a handler returns
 * 0 for its own connection's errors (a client reset: -ECONNRESET
 * returned as is would end every other connection) and nonzero only to
 * bring the whole server down. To stop serving at once then, make the
 * serving task a child of g too (aq_group_spawn, as Trio's
 * handler_nursery): the failure cancels it with the other handlers
 * (aq_serve_group returns AQ_ECANCELED there; return 0 or that from the
 * child), and aq_group_wait covers the server as well: it counts in
 * aq_group_live, one wait frees g safely, and to stop accepting while
 * the handlers drain, cancel the server child alone (publish its
 * aq_task_self() from it). A handler cancelled still closes conn (the
 * client then reads end of file).
 * A handler cancelled by
 * the group returning AQ_ECANCELED is not a failure. While the group is
 * being cancelled (aq_group_spawn's AQ_ECANCELED), new connections are
 * closed at once and serving goes on. Free g only once the serving task
 * has returned and a wait on g has returned after that: a wait made
 * while no connection is open returns at once, and the next accept
 * spawns into g again.
 * Returns only on failure: the codes of aq_serve; AQ_EINVAL also if g is
 * NULL; AQ_EGROUP once a handler has failed (the listener stays open and
 * the caller's; the connection accepted meanwhile is closed). Suspends. */
AQ_EXTERN int aq_serve_group(aq_fd *listener, aq_group_fn handler,
                             aq_group *g);

/* aq_listen_tcp on the calling task's loop, then aq_serve, then the
 * listener closed: asyncio.start_server(handler, host, port) followed by
 * serve_forever() in one call. (With port 0 nobody learns the port: use
 * the two calls above for that.) Returns only on failure, with the codes
 * of aq_listen_tcp or aq_serve (AQ_ECANCELED when the task is
 * cancelled); the listener is closed by then. AQ_EINVAL also if handler
 * is NULL (nothing opened). Suspends. */
AQ_EXTERN int aq_serve_tcp(const char *host, int port, aq_task_fn handler);

/* Connects to host:port over TCP and registers the socket with the
 * calling task's loop (asyncio.open_connection; Go's net.Dial): host is a
 * numeric IPv4 or IPv6 address, as for aq_listen_tcp. On AQ_OK, *out is
 * the connection (non-blocking and close-on-exec; TCP_NODELAY is not set:
 * setsockopt on aq_fd_fileno(*out) if wanted), which the caller closes
 * with aq_fd_close. The socket is the call's own until then, so no other
 * task can wait on it (no AQ_EBUSY or AQ_EBADF).
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_EINVAL if out or host is
 * NULL, host is not a numeric address or port is outside 0..65535;
 * AQ_ECANCELED; AQ_ETIMEDOUT (_until); -errno from socket or connect
 * (-ECONNREFUSED); AQ_ENOMEM. On failure nothing is left open and *out is
 * untouched. Suspends. */
AQ_EXTERN int aq_connect_tcp(aq_fd **out, const char *host, int port);
AQ_EXTERN int aq_connect_tcp_until(aq_fd **out, const char *host, int port,
                                   int64_t deadline);

/* ---- living inside another event loop (libuv, libev, GLib) ----------- */

/* Lets a program built on another event loop drive a libaq loop:
 *
 *     fd = aq_loop_fd(l);            // watch it for readability
 *     on readable, on the timer, and after any libaq call the host's
 *     own code makes on this loop's thread (a spawn, a try_put that
 *     wakes a getter, an event set, a cancel):
 *         aq_loop_run_ready(l);
 *         rearm the timer for aq_loop_next_deadline(l), rounded up
 *
 * Such a call makes a task ready without touching the fd or a timer:
 * skipped, the task waits for the next unrelated wake-up (a thread's
 * put into a shared queue, a post, aq_to_thread's result do wake the
 * fd). Round the timer's timeout up to the host's unit (ms for poll and
 * libuv): rounded down, the host wakes before the deadline, finds
 * nothing due and spins until it passes. A blocking thread face
 * (aq_queue_thread_get, ...) called by host code between two
 * aq_loop_run_ready calls is not detected (no AQ_EDEADLK: the loop is
 * not running) and blocks the host, and with it the loop.
 *
 * aq_loop_fd returns an fd (epoll's; libuv's uv_backend_fd) that is
 * readable while I/O events
 * of the loop's fds or posts are pending, and quiet again once a run
 * has served them, a run that ended at an aq_loop_stop included; it
 * never blocks anything. An aq_loop_post made from another thread just
 * as the loop wakes up, or an aq_loop_stop made just as the loop first
 * opens to posts, may leave it readable once more with nothing pending:
 * the next run finds nothing to do.
 * Watch it level-triggered (poll, libuv's uv_poll, epoll without
 * EPOLLET): one aq_loop_run_ready takes at most 64 events, and the fd
 * stays readable while more are pending. Call it before the first
 * aq_loop_run_ready, so that the loop's I/O state exists.
 * Returns: the fd (>= 0; the loop owns it); AQ_EINVAL if loop is NULL;
 * AQ_ENOMEM or -errno. Does not suspend. */
AQ_EXTERN int aq_loop_fd(aq_loop *loop);

/* ===================================================================== */
/*  Signals                                                              */
/* ===================================================================== */

/* A set of signals that tasks receive by waiting (asyncio's
 * loop.add_signal_handler: a server stops accepting and drains on
 * SIGINT, SIGTERM or SIGHUP). libaq uses a signalfd: opening a set blocks
 * its signals in the calling thread, so that they stay pending instead
 * of running their disposition, and registers a signalfd for them with
 * the loop; a wait reads one signal from it. No handler runs, so a task
 * may do anything with a signal it got (a self-pipe written by a
 * handler would have been the portable choice; signalfd needs no
 * handler, loses nothing to a full pipe and is Linux's, like epoll).
 *
 * Caveats, all from the kernel:
 * - Blocking is per thread. A signal sent to the process (kill(1), ^C in
 *   a terminal) goes to any one thread that does not block it, and there
 *   its disposition acts (SIGINT, SIGTERM: the process ends) and the loop
 *   never hears of it. So every thread must block the set's signals:
 *   open the set (or call pthread_sigmask) on the loop's thread before
 *   the program creates other threads, which inherit the mask; threads
 *   made earlier must block the signals themselves. Under aq_run the set
 *   can only be opened from a task, so block the signals with
 *   pthread_sigmask in main before aq_run (none then ends the process
 *   before the task opens the set) and leave them blocked after
 *   aq_signals_close, which restores the mask it found, if a late one
 *   may still come. libaq's own worker
 *   threads (aq_to_thread, thread.h) block every signal. A signal sent
 *   to one other thread (pthread_kill) is that thread's and never read.
 * - Standard signals do not queue: two SIGTERMs sent before a wait reads
 *   one are read once. Real-time signals (SIGRTMIN..SIGRTMAX) queue.
 * - fork: the child inherits the blocked mask and the signalfd (close-on-
 *   exec), but not a working copy of the loop. exec keeps the mask: a
 *   program started from a child with SIGTERM blocked ignores SIGTERM.
 *   Unblock the signals in the child before exec (pthread_sigmask after
 *   fork, or posix_spawnattr_setsigmask).
 * - Synchronous signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP,
 *   SIGSYS) cannot be waited for: blocked, a fault kills the process
 *   anyway. SIGKILL and SIGSTOP cannot be blocked at all.
 * An open set counts as a registered fd: aq_loop_run waits for signals
 * rather than returning, and aq_run's AQ_EDEADLK check counts the loop as
 * busy. Close the set when done. To stop a loop from a handler of one's
 * own instead, aq_loop_stop is async-signal-safe (thread.h). */
typedef struct aq_signals aq_signals;

/* Blocks signos[0..n-1] in the calling thread (pthread_sigmask), which
 * must be loop's, and opens a signalfd for them registered with loop
 * (NULL: the calling task's loop). A signal already pending is read by
 * the first wait. Repeated numbers count once. A signal may be in one
 * open set at a time in the process. The caller owns *out; close it with
 * aq_signals_close on the same thread.
 * Returns: AQ_OK; AQ_EPERM if loop is NULL outside a task; AQ_EINVAL if
 * out or signos is NULL, n is 0, or a number is not a signal that can be
 * waited for (0, negative, past SIGRTMAX, glibc's own 32 and 33, SIGKILL,
 * SIGSTOP, the synchronous ones above); AQ_EBUSY if one is in another
 * open set; AQ_ENOMEM; -errno from signalfd or epoll (-EMFILE). On
 * failure the mask is as it was. Does not suspend. */
AQ_EXTERN int aq_signals_open(aq_loop *loop, aq_signals **out,
                              const int *signos, size_t n);

/* Waits until one of s's signals is pending, takes it and stores its
 * number in *signo. Several pending signals come one per call, in the
 * kernel's order (those sent to the thread, as raise() does, before those
 * sent to the process; lower numbers first among each). A wait finds a
 * signal that came while nobody waited; one with a deadline already
 * passed still takes a pending signal (a poll).
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_EINVAL if s or signo is
 * NULL or s is of another loop; AQ_EBUSY if a task already waits on s;
 * AQ_EBADF if s is closed meanwhile; AQ_ECANCELED; AQ_ETIMEDOUT (the
 * _until form). *signo is written only on AQ_OK. Suspends. */
AQ_EXTERN int aq_signals_wait(aq_signals *s, int *signo);
AQ_EXTERN int aq_signals_wait_until(aq_signals *s, int *signo,
                                    int64_t deadline);

/* Closes s: a task waiting on it is woken with AQ_EBADF, the signalfd is
 * closed, and each of s's signals is blocked or not in the calling thread
 * as it was before aq_signals_open. A signal still pending is then
 * delivered by its disposition (SIGTERM's default ends the process):
 * drain it first (aq_signals_wait_until with a past deadline) if that
 * matters. s is freed.
 * Returns: AQ_OK; AQ_EINVAL if s is NULL; AQ_EPERM if called from
 * another thread than aq_signals_open's (nothing done); -errno from
 * close(2) (closed anyway). Does not suspend. */
AQ_EXTERN int aq_signals_close(aq_signals *s);

/* ===================================================================== */
/*  Buffered readers: lines, separators, exact counts                    */
/* ===================================================================== */

/* asyncio's StreamReader over a registered fd: a buffer of bufsize bytes,
 * allocated once by aq_reader_new, that the calls below fill with
 * aq_read and take records out of; no call allocates. bufsize is also the
 * limit (asyncio's `limit`): a line or a separated record must fit in it.
 *
 * Nothing is lost to a deadline, a timeout scope, a cancel or an I/O
 * error: bytes read from the fd stay in the reader until a call returns
 * them, so the same call made again later returns the whole record. One
 * call at a time per reader: a second task calling in while one waits in
 * a call gets AQ_EBUSY (asyncio's RuntimeError). Records are bytes, not
 * strings: nothing is NUL-terminated.
 *
 * The calls of a reader share these codes: AQ_EPERM outside a task (even
 * when the reader holds the bytes: nothing is taken); AQ_EINVAL if r is
 * NULL, the reader's fd is registered with another loop (or with none:
 * its loop was freed), or an argument
 * is bad as each call says; AQ_EBUSY as above; AQ_ECANCELED (even when
 * the reader holds the bytes: nothing is taken); AQ_ETIMEDOUT (the _until
 * forms); AQ_EBADF if the fd is closed meanwhile (then only aq_reader_free
 * may follow); -errno from read(2) (-ECONNRESET). */
typedef struct aq_reader aq_reader;

/* asyncio's default limit, 64 KiB: a good bufsize for line protocols. */
#define AQ_READER_LIMIT ((size_t)64 * 1024)

/* Makes a reader of f with a buffer of bufsize bytes. f stays the
 * caller's (the reader neither closes nor frees it) and must outlive the
 * reader's calls; bytes the reader holds are read from f no more.
 * Returns: AQ_OK; AQ_EINVAL if out or f is NULL, bufsize is 0 or more
 * than LONG_MAX; AQ_ENOMEM (*out untouched). Does not suspend. */
AQ_EXTERN int aq_reader_new(aq_reader **out, aq_fd *f, size_t bufsize);
/* Frees r and the bytes it still holds; f is left open and registered.
 * Returns: AQ_OK; AQ_EINVAL if r is NULL; AQ_EBUSY if a task waits in a
 * call on r (nothing freed). Does not suspend. */
AQ_EXTERN int aq_reader_free(aq_reader *r);
/* How many bytes r holds, read from its fd and not yet returned; 0 if r
 * is NULL. Does not suspend. */
AQ_EXTERN size_t aq_reader_buffered(const aq_reader *r);
/* 1 if r has seen end of file and holds no byte (asyncio's at_eof()),
 * else 0 (also if r is NULL). Does not suspend. */
AQ_EXTERN int aq_reader_at_eof(const aq_reader *r);

/* Reads up to n bytes (await reader.read(n)): what r holds if it holds
 * any, else one read of the fd into r, waiting until a byte is there.
 * Returns: the byte count (> 0; 0 if n is 0); 0 at end of file; AQ_EINVAL
 * also if buf is NULL with n > 0, or n > LONG_MAX; the shared codes.
 * Suspends. */
AQ_EXTERN long aq_reader_read(aq_reader *r, void *buf, size_t n);
AQ_EXTERN long aq_reader_read_until(aq_reader *r, void *buf, size_t n,
                                    int64_t deadline);

/* Reads exactly n bytes into buf (await reader.readexactly(n)). n is not
 * limited by the buffer size: past it, the bytes go straight into buf.
 * got: may be NULL; receives how many bytes were placed into buf and
 * taken from the stream, also when the call fails (but for AQ_EPERM and
 * AQ_EINVAL, which write nothing), so that calling again
 * with buf + *got and n - *got goes on where this call stopped. When
 * n <= bufsize, a failure other than end of file takes nothing (*got is
 * 0): the bytes stay in r, and the same call made again gets them.
 * Returns: AQ_OK (*got == n; n 0 included); AQ_EINCOMPLETE at end of
 * file before n bytes (the *got < n bytes there were are in buf and
 * taken: IncompleteReadError's partial; *got == 0 is a clean end of file
 * at a frame's boundary, any other count a truncated frame); AQ_EINVAL also
 * if buf is NULL with n > 0, or n > LONG_MAX; the shared codes. Suspends. */
AQ_EXTERN int aq_reader_read_exactly(aq_reader *r, void *buf, size_t n,
                                     size_t *got);
AQ_EXTERN int aq_reader_read_exactly_until(aq_reader *r, void *buf,
                                           size_t n, size_t *got,
                                           int64_t deadline);

/* Reads a line, up to and including its '\n', into buf, of cap bytes
 * (await reader.readline()). The limit is the smaller of cap and the
 * reader's bufsize: a line longer than that (its '\n' counted) is an
 * error, and its bytes that r holds are discarded, through its '\n' if r
 * holds it (as asyncio's readline does; the rest of the line, if r has
 * not read it yet, comes back with the next call, which cannot be told
 * from a whole line: a protocol that must stay in step closes the
 * connection on AQ_ELIMIT). A buffered reader has no select clause
 * (AQ_READABLE on its fd misses a line r already holds): to wait for a
 * line or a stop request, cancel the reading task, or bound it with a
 * timeout scope.
 * Returns: the line's length (> 0); at end of file, the last line without
 * its '\n' (> 0), then 0; AQ_ELIMIT for a line over the limit (bytes
 * discarded as above); AQ_EINVAL also if buf is NULL or cap is 0 or more
 * than LONG_MAX; the shared codes. Suspends. */
AQ_EXTERN long aq_reader_read_line(aq_reader *r, char *buf, size_t cap);
AQ_EXTERN long aq_reader_read_line_until(aq_reader *r, char *buf,
                                         size_t cap, int64_t deadline);

/* Reads up to and including the separator sep (seplen bytes) into buf,
 * of cap bytes (await reader.readuntil(sep); aq_read_until is aq_read's
 * deadline form, hence "through"). The limit is the smaller of cap and
 * bufsize: a record longer than that (its separator counted) is an error
 * and its bytes stay in r (asyncio's LimitOverrunError), for
 * aq_reader_read or a call with a larger cap.
 * Returns: the record's length (>= seplen); 0 at end of file with
 * nothing held; AQ_EINCOMPLETE at end of file with bytes held but no
 * separator (they stay in r: aq_reader_read returns them); AQ_ELIMIT as
 * above; AQ_EINVAL also if sep or buf is NULL, seplen is 0, cap or bufsize
 * is less than seplen, or cap is more than LONG_MAX; the shared codes.
 * Suspends. */
AQ_EXTERN long aq_reader_read_through(aq_reader *r, const void *sep,
                                      size_t seplen, void *buf, size_t cap);
AQ_EXTERN long aq_reader_read_through_until(aq_reader *r, const void *sep,
                                            size_t seplen, void *buf,
                                            size_t cap, int64_t deadline);

#ifdef __cplusplus
}
#endif
#endif /* AQ_API_IO_H */
