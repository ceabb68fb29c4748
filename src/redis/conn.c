/* libaq-redis - one connection to the server, driven by the loop.
 * MIT licensed.
 *
 * Invariants:
 * - hiredis never blocks the thread: its socket is non-blocking and
 *   registered with the loop once per connection (aq_fd_open), and one
 *   task, the driver, makes every redisAsyncHandleRead/Write call.
 * - Callers only queue commands: redisAsyncCommandArgv fills hiredis'
 *   output buffer and calls the addWrite hook, which kicks the driver;
 *   or they add to a batch, which kicks it too, and the driver turns the
 *   batches into commands (before_write) just before it writes.
 *   The driver runs after the tasks already ready, so the commands that
 *   tasks queue in one turn of the loop leave in one write: that is the
 *   pipelining, with no timer and no batch size to tune.
 * - The socket is watched edge-triggered: after a readable event the
 *   driver reads while a peek finds more (recv MSG_PEEK), since hiredis
 *   reads at most 16 KiB a call and no new edge would come for the rest;
 *   and a peek that finds the end of the stream or an error (a reset)
 *   reads that too, because the server's close may come in the same edge
 *   as its last reply (a reviewer's reproducer: counting the bytes with
 *   FIONREAD, which has no count for a close, left the socket in
 *   CLOSE_WAIT and every call waiting for ever).
 * - A lost connection completes every command in flight with a NULL
 *   reply (hiredis does that before its disconnect callback); the callers
 *   decide whether to send again. ac is NULL and `up` clear from then
 *   until the driver has connected again, backing off from 10 ms to 1 s.
 * - Only a cancel (aq__rq_conn_stop) ends the driver, which then touches
 *   nothing: the stopper frees the connection after the driver's end.
 */
#include "redis/redis.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>

#define BACKOFF_MIN (10 * AQ_MSEC)
#define BACKOFF_MAX AQ_SEC

/* ---- hiredis' adapter hooks ------------------------------------------ */

/* Reads need no hook: the driver always watches the socket. */
static void hook_nop(void *p) { (void)p; }

static void hook_add_write(void *p)
{
    aq__rq_conn *c = p;
    c->want_write = 1;
    aq_event_set(c->kick);
}

static void hook_del_write(void *p) { ((aq__rq_conn *)p)->want_write = 0; }

/* Called whenever hiredis frees the context (a lost connection, a failed
 * connect, which calls no disconnect callback, or aq__rq_conn_stop), before
 * it closes the socket: the fd leaves the loop first, so its number, once
 * reused, reaches no one. */
static void hook_cleanup(void *p)
{
    aq__rq_conn *c = p;
    if (c->fd) {
        aq_fd_detach(c->fd);
        c->fd = NULL;
    }
    c->ac = NULL;
    c->want_write = 0;
    aq_event_clear(c->up);
}

/* errno still holds the cause when hiredis reports an I/O error. */
static int cause(const redisAsyncContext *ac)
{
    return ac->c.err == REDIS_ERR_IO && errno ? -errno : -ECONNRESET;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    aq__rq_conn *c = ac->data;
    if (status != REDIS_OK) {
        c->last_error = cause(ac);
        return;
    }
    if (c->ever_up)
        c->reconnects++;
    c->ever_up = 1;
    c->last_error = 0;
    c->backoff = BACKOFF_MIN;
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    if (status != REDIS_OK)
        ((aq__rq_conn *)ac->data)->last_error = cause(ac);
}

/* ---- the driver ------------------------------------------------------- */

static int connect_once(aq__rq_conn *c)
{
    redisAsyncContext *ac = redisAsyncConnect(c->host, c->port);
    if (!ac)
        return AQ_ENOMEM;
    if (ac->err) {
        int rc = errno ? -errno : -ECONNREFUSED;
        redisAsyncFree(ac);
        return rc;
    }
    int rc = aq_fd_open(NULL, &c->fd, ac->c.fd);
    if (rc != AQ_OK) {
        redisAsyncFree(ac);
        return rc;
    }
    ac->data = c;
    ac->ev.data = c;
    ac->ev.addRead = hook_nop;
    ac->ev.delRead = hook_nop;
    ac->ev.addWrite = hook_add_write;
    ac->ev.delWrite = hook_del_write;
    ac->ev.cleanup = hook_cleanup;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    c->ac = ac;
    aq_event_set(c->up);
    if (c->on_up)
        c->on_up(c, c->arg);
    return AQ_OK;
}

/* hiredis writes with write(2), which raises SIGPIPE on a connection the
 * server has reset: the default action would kill the process, where
 * redis.h promises a reconnection (and io.h's own writes never raise
 * it). Linux has no SO_NOSIGPIPE, so the write runs with SIGPIPE blocked
 * in this thread, and a SIGPIPE it raised (none was pending before) is
 * taken back with a zero-timeout sigtimedwait, as libcurl does. A
 * program that ignores SIGPIPE pays none of this. */
static void write_no_sigpipe(aq__rq_conn *c)
{
    struct sigaction now;
    if (sigaction(SIGPIPE, NULL, &now) == 0 && !(now.sa_flags & SA_SIGINFO) &&
        now.sa_handler == SIG_IGN) {
        redisAsyncHandleWrite(c->ac);
        return;
    }
    sigset_t pipe, old, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &old);
    int was = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
    redisAsyncHandleWrite(c->ac);
    if (!was && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Whether a read of fd would not block: bytes are queued, or the end of
 * the stream or an error (a reset), which hiredis must read to see. */
static int more_to_read(int fd)
{
    char byte;
    return recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 ||
           (errno != EAGAIN && errno != EWOULDBLOCK);
}

/* Moves bytes both ways until the connection is lost (AQ_OK) or the
 * driver is cancelled (AQ_ECANCELED). */
static int pump(aq__rq_conn *c)
{
    for (;;) {
        if (c->before_write)
            c->before_write(c, c->arg);
        if (c->want_write) {
            c->writes++;
            write_no_sigpipe(c);
            if (!c->ac)
                return AQ_OK;
        }
        aq_event_clear(c->kick);
        /* Output still waiting means the socket's buffer is full: wait
         * for room rather than for a kick. */
        aq_clause cl[3] = {AQ_READABLE(c->fd),
                           AQ_EVENT(c->want_write ? NULL : c->kick),
                           AQ_WRITABLE(c->want_write ? c->fd : NULL)};
        int i = aq_select(cl, 3, AQ_SELECT_BIASED);
        if (i == AQ_ECANCELED)
            return i;
        if (i < 0) { /* cannot happen with our own fd; drop the link */
            redisAsyncDisconnect(c->ac);
            return AQ_OK;
        }
        if (i == 0) {
            int fd = aq_fd_fileno(c->fd);
            do /* until nothing is left */
                redisAsyncHandleRead(c->ac);
            while (c->ac && more_to_read(fd));
            if (!c->ac)
                return AQ_OK;
        }
    }
}

static void *drive(void *arg)
{
    aq__rq_conn *c = arg;
    for (;;) {
        int rc = connect_once(c);
        if (rc == AQ_OK) {
            if (pump(c) == AQ_ECANCELED)
                return NULL;
        } else {
            c->last_error = rc;
        }
        /* on_connect starts the back-off over once a connection is made */
        if (aq_sleep(c->backoff) == AQ_ECANCELED)
            return NULL;
        c->backoff = c->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX
                                                  : c->backoff * 2;
    }
}

/* ---- the callers' side ------------------------------------------------ */

int aq__rq_conn_start(aq__rq_conn *c, const char *host, int port,
                      void (*on_up)(aq__rq_conn *, void *), void *arg)
{
    c->host = host;
    c->port = port;
    c->backoff = BACKOFF_MIN;
    c->on_up = on_up;
    c->arg = arg;
    int rc = aq_event_new(&c->kick);
    if (rc == AQ_OK && (rc = aq_event_new(&c->up)) == AQ_OK &&
        (rc = aq_loop_spawn(aq_loop_current(), &c->driver, drive, c,
                            RQ_STACK)) == AQ_OK)
        return AQ_OK;
    aq__rq_conn_stop(c);
    return rc;
}

void aq__rq_task_stop(aq_task **t)
{
    if (!*t)
        return;
    int shield = aq_task_shield(1); /* a closing task may be cancelled */
    aq_task_cancel(*t);
    aq_task_wait(*t, NULL);
    aq_task_release(*t);
    aq_task_shield(shield);
    *t = NULL;
}

void aq__rq_conn_stop(aq__rq_conn *c)
{
    aq__rq_task_stop(&c->driver);
    if (c->ac) /* completes what is in flight with NULL replies */
        redisAsyncFree(c->ac);
    if (c->kick)
        aq_event_free(c->kick);
    if (c->up)
        aq_event_free(c->up);
    c->kick = c->up = NULL;
}

/* Wakes the driver: a batch has something to send. */
void aq__rq_conn_kick(aq__rq_conn *c) { aq_event_set(c->kick); }

int aq__rq_conn_wait_up(aq__rq_conn *c, int64_t deadline)
{
    while (!c->ac) {
        int rc = aq_event_wait_until(c->up, deadline);
        if (rc != AQ_OK)
            return rc;
    }
    return AQ_OK;
}

int aq__rq_conn_send(aq__rq_conn *c, redisCallbackFn *fn, void *priv,
                     int argc, const char **argv, const size_t *lens)
{
    if (!c->ac)
        return -ECONNRESET;
    if (redisAsyncCommandArgv(c->ac, fn, priv, argc, argv, lens) !=
        REDIS_OK)
        return AQ_ENOMEM; /* hiredis fails only so on a live context */
    c->commands++;
    return AQ_OK;
}
