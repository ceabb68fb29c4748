/* fds, pipes and sockets (aq_fd_*, aq_read, aq_write_all, aq_accept,
 * aq_connect): waiting on readiness without blocking the thread, EAGAIN
 * handling both ways, closing an fd under a waiter, fd numbers reused,
 * deadlines and cancels, no SIGPIPE, I/O not starved by busy tasks, a
 * loop waiting for I/O not taken for a deadlock, bad input, allocation
 * failures. Pipes and socketpairs only, plus loopback TCP. */
#include "rt_helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

struct rd {
    aq_fd *f;
    char buf[64];
    long n;      /* aq_read's result */
    int wakeups; /* how many times the read returned */
    int64_t deadline;
};

static void *reader(void *arg)
{
    struct rd *r = arg;
    r->n = aq_read_until(r->f, r->buf, sizeof r->buf, r->deadline);
    r->wakeups++;
    return NULL;
}

/* A pipe whose read end r->f is registered, for a reader task. */
static void pipe_reader(struct rd *r, int p[2])
{
    ASSERT(pipe(p) == 0);
    *r = (struct rd){.n = PENDING, .deadline = AQ_NEVER};
    ASSERT_OK(aq_fd_open(NULL, &r->f, p[0]));
}

static void *pipe_main(void *arg)
{
    (void)arg;
    int p[2];
    static struct rd r;
    pipe_reader(&r, p);
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, reader, &r));
    ASSERT_OK(aq_sleep(2 * AQ_MSEC)); /* the reader parks; the thread not */
    ASSERT_EQ(r.n, PENDING);
    ASSERT(write(p[1], "hello", 5) == 5);
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_EQ(r.n, 5);
    ASSERT(memcmp(r.buf, "hello", 5) == 0);
    /* End of file. */
    close(p[1]);
    ASSERT_EQ(aq_read(r.f, r.buf, sizeof r.buf), 0);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_fd_close(r.f));
    return NULL;
}

TEST(test_io_pipe_read_waits) { t_main(pipe_main, NULL); }

/* 4 MiB through a socketpair: both sides fill the kernel buffers and park
 * on EAGAIN many times; every byte arrives, in order. */
#define BIG (4 << 20)

struct side {
    aq_fd *f;
    unsigned char *buf;
    int rc;
};

static void *big_writer(void *arg)
{
    struct side *s = arg;
    size_t done = 0;
    s->rc = aq_write_all(s->f, s->buf, BIG, &done);
    ASSERT_EQ(done, BIG);
    return NULL;
}

static void *big_reader(void *arg)
{
    struct side *s = arg;
    size_t got = 0;
    while (got < BIG) {
        size_t want = BIG - got < 4096 ? BIG - got : 4096;
        long n = aq_read(s->f, s->buf + got, want);
        ASSERT(n > 0);
        got += (size_t)n;
    }
    s->rc = AQ_OK;
    return NULL;
}

static void *socketpair_main(void *arg)
{
    (void)arg;
    int sv[2];
    ASSERT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    static struct side w, r;
    w = (struct side){NULL, malloc(BIG), PENDING};
    r = (struct side){NULL, malloc(BIG), PENDING};
    for (size_t i = 0; i < BIG; i++)
        w.buf[i] = (unsigned char)(i * 7 + i / 4096);
    ASSERT_OK(aq_fd_open(NULL, &w.f, sv[0]));
    ASSERT_OK(aq_fd_open(NULL, &r.f, sv[1]));
    aq_task *t[2];
    ASSERT_OK(aq_spawn(&t[0], big_writer, &w));
    ASSERT_OK(aq_spawn(&t[1], big_reader, &r));
    ASSERT_OK(aq_gather(t, 2, NULL));
    ASSERT_OK(w.rc);
    ASSERT_OK(r.rc);
    ASSERT(memcmp(w.buf, r.buf, BIG) == 0);
    free(w.buf);
    free(r.buf);
    for (int i = 0; i < 2; i++)
        ASSERT_OK(aq_task_release(t[i]));
    ASSERT_OK(aq_fd_close(w.f));
    ASSERT_OK(aq_fd_close(r.f));
    return NULL;
}

TEST(test_io_socketpair_backpressure) { t_main(socketpair_main, NULL); }

/* Closing an fd under a waiting reader wakes it once with AQ_EBADF; the
 * fd number, reused at once by a new pipe, never reaches it. */
static void *close_main(void *arg)
{
    (void)arg;
    int a[2], b[2];
    ASSERT(pipe(a) == 0);
    static struct rd r1, r2;
    r1 = (struct rd){.n = PENDING, .deadline = AQ_NEVER};
    r2 = (struct rd){.n = PENDING, .deadline = AQ_NEVER};
    ASSERT_OK(aq_fd_open(NULL, &r1.f, a[0]));
    aq_task *t1, *t2;
    ASSERT_OK(aq_spawn(&t1, reader, &r1));
    ASSERT_OK(aq_yield());
    int num = a[0];
    ASSERT_OK(aq_fd_close(r1.f));
    ASSERT(pipe(b) == 0);
    ASSERT_EQ(b[0], num); /* the lowest free number: the one just closed */
    ASSERT_OK(aq_fd_open(NULL, &r2.f, b[0]));
    ASSERT_OK(aq_spawn(&t2, reader, &r2));
    ASSERT(write(b[1], "x", 1) == 1);
    ASSERT_OK(aq_task_wait(t1, NULL));
    ASSERT_OK(aq_task_wait(t2, NULL));
    ASSERT_RC((int)r1.n, AQ_EBADF);
    ASSERT_EQ(r1.wakeups, 1);
    ASSERT_EQ(r2.n, 1);
    ASSERT_EQ(r2.wakeups, 1);
    ASSERT_OK(aq_task_release(t1));
    ASSERT_OK(aq_task_release(t2));
    ASSERT_OK(aq_fd_close(r2.f));
    close(a[1]);
    close(b[1]);
    return NULL;
}

TEST(test_io_close_under_waiter_and_fd_reuse) { t_main(close_main, NULL); }

/* Closing an fd after an event woke its reader but before the reader ran:
 * the reader still gets AQ_EBADF and never touches the freed aq_fd (the
 * ASan build would catch it). epoll reports events in the order they
 * came, so the closer, woken by an earlier write, runs first. Both a
 * plain read and a select with a readable clause. */
struct closer {
    aq_fd *own;    /* its pipe, written first */
    aq_fd *victim; /* the reader's fd, closed once own is readable */
};

static void *closer(void *arg)
{
    struct closer *c = arg;
    char ch;
    ASSERT_EQ(aq_read(c->own, &ch, 1), 1);
    ASSERT_OK(aq_fd_close(c->victim));
    return NULL;
}

static void *select_reader(void *arg)
{
    struct rd *r = arg;
    aq_clause c[] = {AQ_READABLE(r->f)};
    r->n = aq_select(c, 1, 0);
    r->wakeups++;
    return NULL;
}

static void *close_after_wake_main(void *arg)
{
    (void)arg;
    for (int use_select = 0; use_select < 2; use_select++) {
        int a[2], p[2];
        static struct rd r;
        static struct closer c;
        pipe_reader(&r, p);
        ASSERT(pipe(a) == 0);
        ASSERT_OK(aq_fd_open(NULL, &c.own, a[0]));
        c.victim = r.f;
        aq_task *tc, *tr;
        ASSERT_OK(aq_spawn(&tc, closer, &c));
        ASSERT_OK(aq_spawn(&tr, use_select ? select_reader : reader, &r));
        ASSERT_OK(aq_yield()); /* both park */
        ASSERT(write(a[1], "c", 1) == 1); /* the closer's edge first */
        ASSERT(write(p[1], "r", 1) == 1);
        ASSERT_OK(aq_task_wait(tr, NULL));
        ASSERT_OK(aq_task_wait(tc, NULL));
        ASSERT_RC((int)r.n, AQ_EBADF);
        ASSERT_EQ(r.wakeups, 1);
        ASSERT_OK(aq_task_release(tc));
        ASSERT_OK(aq_task_release(tr));
        ASSERT_OK(aq_fd_close(c.own));
        close(a[1]);
        close(p[1]);
    }
    return NULL;
}

TEST(test_io_close_after_wake) { t_main(close_after_wake_main, NULL); }

static void *deadline_cancel_main(void *arg)
{
    (void)arg;
    int p[2];
    ASSERT(pipe(p) == 0);
    aq_fd *f;
    char c;
    ASSERT_OK(aq_fd_open(NULL, &f, p[0]));
    /* A deadline: AQ_ETIMEDOUT, and the fd can be waited on again. */
    ASSERT_EQ(aq_read_until(f, &c, 1, aq_now() + AQ_MSEC), AQ_ETIMEDOUT);
    ASSERT_RC(aq_fd_wait_readable_until(f, aq_now() + AQ_MSEC),
              AQ_ETIMEDOUT);
    /* A cancel. */
    static struct rd r;
    r = (struct rd){.f = f, .n = PENDING, .deadline = AQ_NEVER};
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, reader, &r));
    ASSERT_OK(aq_yield());
    /* A second reader of the same direction is refused. */
    ASSERT_EQ(aq_read_until(f, &c, 1, AQ_NEVER), AQ_EBUSY);
    ASSERT_OK(aq_task_cancel(t));
    /* So is one select waiting twice for the same readiness (after the
     * reader has gone, so that EBUSY cannot be the reason); a readable
     * and a writable clause on one fd are allowed. */
    ASSERT_OK(aq_task_wait(t, NULL));
    aq_clause twice[] = {AQ_READABLE(f), AQ_READABLE(f)};
    ASSERT_RC(aq_select_until(twice, 2, 0, aq_now() + AQ_MSEC), AQ_EINVAL);
    ASSERT_RC(aq_select_try(twice, 2, 0), AQ_EINVAL);
    aq_clause both[] = {AQ_READABLE(f), AQ_WRITABLE(f)};
    ASSERT_RC(aq_select_until(both, 2, 0, aq_now() + AQ_MSEC), AQ_ETIMEDOUT);
    ASSERT_RC((int)r.n, AQ_ECANCELED);
    ASSERT_OK(aq_task_release(t));
    /* Data that came while nobody waited is not lost. */
    ASSERT(write(p[1], "z", 1) == 1);
    ASSERT_OK(aq_sleep(AQ_MSEC)); /* the loop polls: the edge is seen */
    ASSERT_OK(aq_fd_wait_readable(f));
    ASSERT_EQ(aq_read(f, &c, 1), 1);
    ASSERT_EQ(c, 'z');
    ASSERT_OK(aq_fd_close(f));
    close(p[1]);
    return NULL;
}

TEST(test_io_deadline_cancel_busy) { t_main(deadline_cancel_main, NULL); }

/* Two tasks' aq_write_all on one fd: while the first waits for room (or
 * is woken and has not run), the second is refused with AQ_EBUSY and
 * writes nothing, so the first's message arrives whole (a reviewer's
 * reproducer: the second wrote into the room the peer had just made, in
 * the middle of the first's message, and both returned AQ_OK). */
#define BIG_MSG (4u << 20)

struct wr {
    aq_fd *f;
    const char *buf;
    size_t n, done;
    int rc;
};

static void *write_all_task(void *arg)
{
    struct wr *w = arg;
    w->rc = aq_write_all(w->f, w->buf, w->n, &w->done);
    return NULL;
}

static void *write_busy_main(void *arg)
{
    (void)arg;
    int sp[2];
    ASSERT(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
    aq_fd *f;
    ASSERT_OK(aq_fd_open(NULL, &f, sp[0]));
    char *big = t_malloc(BIG_MSG), *in = t_malloc(1 << 16);
    memset(big, 'A', BIG_MSG);
    struct wr a = {f, big, BIG_MSG, 0, PENDING};
    struct wr b = {f, "BBBBBBBB", 8, 99, PENDING};
    aq_task *ta, *tb;
    ASSERT_OK(aq_spawn(&ta, write_all_task, &a));
    ASSERT_OK(aq_sleep(5 * AQ_MSEC)); /* a has filled the socket, waits */
    ASSERT_EQ(a.rc, PENDING);
    ssize_t k = read(sp[1], in, 1 << 16); /* room, not yet polled */
    ASSERT(k > 0);
    size_t total = (size_t)k;
    ASSERT_OK(aq_spawn(&tb, write_all_task, &b));
    ASSERT_OK(aq_task_wait(tb, NULL));
    ASSERT_RC(b.rc, AQ_EBUSY);
    ASSERT_EQ(b.done, 0);
    /* The rest of a's message, all of it 'A'. */
    ASSERT(fcntl(sp[1], F_SETFL, fcntl(sp[1], F_GETFL) | O_NONBLOCK) == 0);
    aq_fd *peer;
    ASSERT_OK(aq_fd_open(NULL, &peer, sp[1]));
    for (ssize_t i = 0; i < k; i++)
        ASSERT_EQ(in[i], 'A');
    while (total < BIG_MSG) {
        long r = aq_read_until(peer, in, 1 << 16, aq_now() + AQ_SEC);
        ASSERT(r > 0);
        for (long i = 0; i < r; i++)
            ASSERT_EQ(in[i], 'A');
        total += (size_t)r;
    }
    ASSERT_OK(aq_task_wait(ta, NULL));
    ASSERT_OK(a.rc);
    ASSERT_EQ(a.done, BIG_MSG);
    ASSERT_EQ(total, BIG_MSG);
    /* Once a is done, b's write goes through. */
    ASSERT_OK(aq_write_all(f, "BBBBBBBB", 8, &b.done));
    ASSERT_EQ(aq_read_until(peer, in, 8, aq_now() + AQ_SEC), 8);
    ASSERT_EQ(memcmp(in, "BBBBBBBB", 8), 0);
    ASSERT_OK(aq_task_release(ta));
    ASSERT_OK(aq_task_release(tb));
    ASSERT_OK(aq_fd_close(peer));
    ASSERT_OK(aq_fd_close(f));
    t_free(big);
    t_free(in);
    return NULL;
}

TEST(test_io_write_all_second_writer_busy) { t_main(write_busy_main, NULL); }

/* A cancel that comes while a writer is ready, woken by a writable event
 * that does not let it finish: its next wait reports it (the write went
 * on, met EAGAIN and parked for good: a reviewer's reproducer). A call
 * cancelled at once writes its count (0), as io.h says of any failure;
 * a connect whose handshake is done succeeds past its deadline. */
static struct {
    aq_fd *w, *x; /* pipe P's write end, pipe X's read end */
    int p_read, x_write;
    aq_task *writer;
    size_t done;
    int rc;
} wc;

static void *cancel_writer(void *arg)
{
    (void)arg;
    size_t n = 4 << 20;
    char *buf = calloc(1, n);
    wc.rc = aq_write_all(wc.w, buf, n, &wc.done);
    free(buf);
    return NULL;
}

static void *cancel_when_x_readable(void *arg)
{
    (void)arg; /* woken by the same poll as the writer, and first */
    char c;
    ASSERT_EQ(aq_read(wc.x, &c, 1), 1);
    ASSERT_OK(aq_task_cancel(wc.writer));
    return NULL;
}

static void *make_both_ready(void *arg)
{
    (void)arg;
    static char sink[65536];
    ASSERT_OK(aq_sleep(10 * AQ_MSEC)); /* the writer has filled P */
    ASSERT(write(wc.x_write, "x", 1) == 1);
    ASSERT(read(wc.p_read, sink, sizeof sink) > 0);
    return NULL;
}

static void *cancel_woken_main(void *arg)
{
    (void)arg;
    int p[2], x[2];
    ASSERT(pipe(p) == 0 && pipe(x) == 0);
    wc.p_read = p[0];
    wc.x_write = x[1];
    wc.rc = PENDING;
    ASSERT_OK(aq_fd_open(NULL, &wc.w, p[1]));
    ASSERT_OK(aq_fd_open(NULL, &wc.x, x[0]));
    aq_task *t[2];
    ASSERT_OK(aq_spawn(&wc.writer, cancel_writer, NULL));
    ASSERT_OK(aq_spawn(&t[0], cancel_when_x_readable, NULL));
    ASSERT_OK(aq_spawn(&t[1], make_both_ready, NULL));
    ASSERT_OK(aq_gather(t, 2, NULL));
    ASSERT_OK(aq_task_wait_until(wc.writer, NULL, aq_in(AQ_SEC)));
    ASSERT_RC(wc.rc, AQ_ECANCELED);
    ASSERT(wc.done > 0 && wc.done < (4 << 20)); /* what went out */
    for (int i = 0; i < 2; i++)
        aq_task_release(t[i]);
    aq_task_release(wc.writer);
    /* Cancelled at once: nothing written, and the count says so. */
    size_t done = 99;
    ASSERT_OK(aq_task_cancel(aq_task_self()));
    ASSERT_RC(aq_write_all(wc.w, "a", 1, &done), AQ_ECANCELED);
    ASSERT_EQ(done, 0);
    ASSERT_OK(aq_fd_close(wc.w));
    ASSERT_OK(aq_fd_close(wc.x));
    close(p[0]);
    close(x[1]);
    return NULL;
}

static void *connect_past_main(void *arg)
{
    (void)arg;
    aq_fd *l, *c;
    ASSERT_OK(aq_listen_tcp(NULL, &l, "127.0.0.1", 0));
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    ASSERT(getsockname(aq_fd_fileno(l), (struct sockaddr *)&a, &len) == 0);
    /* Loopback's handshake is done by the time connect(2) returns. */
    ASSERT_OK(aq_connect_tcp_until(&c, "127.0.0.1", ntohs(a.sin_port),
                                   aq_now() - 1));
    int s = aq_accept_until(l, aq_in(AQ_SEC));
    ASSERT(s >= 0);
    close(s);
    ASSERT_OK(aq_fd_close(c));
    ASSERT_OK(aq_fd_close(l));
    return NULL;
}

TEST(test_io_cancel_while_woken_and_past_deadlines)
{
    t_main(cancel_woken_main, NULL);
    t_main(connect_past_main, NULL);
}

/* Loopback TCP: accept, connect, echo; then a write to a peer that went
 * away gives -EPIPE (or -ECONNRESET), never SIGPIPE. */
static int listen_any(int *port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    ASSERT(listen(s, 16) == 0);
    socklen_t len = sizeof a;
    ASSERT(getsockname(s, (struct sockaddr *)&a, &len) == 0);
    *port = ntohs(a.sin_port);
    return s;
}

static aq_fd *g_listener;

static void *echo_server(void *arg)
{
    (void)arg;
    int fd = aq_accept(g_listener);
    ASSERT(fd >= 0);
    aq_fd *c;
    ASSERT_OK(aq_fd_open(NULL, &c, fd));
    char buf[128];
    long n;
    while ((n = aq_read(c, buf, sizeof buf)) > 0) {
        size_t done;
        ASSERT_OK(aq_write_all(c, buf, (size_t)n, &done));
    }
    ASSERT_EQ(n, 0);
    ASSERT_OK(aq_fd_close(c));
    return NULL;
}

static void *tcp_main(void *arg)
{
    (void)arg;
    int port;
    ASSERT_OK(aq_fd_open(NULL, &g_listener, listen_any(&port)));
    aq_task *srv;
    ASSERT_OK(aq_spawn(&srv, echo_server, NULL));
    aq_fd *c;
    ASSERT_OK(aq_fd_open(NULL, &c, socket(AF_INET, SOCK_STREAM, 0)));
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    ASSERT_OK(aq_connect(c, (struct sockaddr *)&a, sizeof a));
    size_t done;
    char buf[16];
    for (int i = 0; i < 100; i++) {
        ASSERT_OK(aq_write_all(c, "ping", 4, &done));
        size_t got = 0;
        while (got < 4) {
            long n = aq_read(c, buf + got, 4 - got);
            ASSERT(n > 0);
            got += (size_t)n;
        }
        ASSERT(memcmp(buf, "ping", 4) == 0);
    }
    ASSERT_OK(shutdown(aq_fd_fileno(c), SHUT_WR));
    ASSERT_OK(aq_task_wait(srv, NULL)); /* it saw EOF and closed */
    /* The peer is gone: writing fails with a code, not a signal. */
    int rc = AQ_OK;
    for (int i = 0; i < 100 && rc == AQ_OK; i++)
        rc = aq_write_all(c, "late", 4, &done);
    ASSERT(rc == -EPIPE || rc == -ECONNRESET);
    /* A refused connection. */
    aq_fd *d;
    ASSERT_OK(aq_fd_open(NULL, &d, socket(AF_INET, SOCK_STREAM, 0)));
    ASSERT_OK(aq_fd_close(g_listener));
    rc = aq_connect(d, (struct sockaddr *)&a, sizeof a);
    ASSERT_RC(rc, -ECONNREFUSED);
    ASSERT_OK(aq_fd_close(d));
    ASSERT_OK(aq_fd_close(c));
    ASSERT_OK(aq_task_release(srv));
    return NULL;
}

TEST(test_io_tcp_accept_connect_echo_epipe) { t_main(tcp_main, NULL); }

/* A thread writes later: the loop waits in epoll for it instead of
 * reporting AQ_EDEADLK (nothing ready, no timer, but an fd registered). */
static void *late_writer(void *arg)
{
    usleep(20000);
    ASSERT(write(*(int *)arg, "t", 1) == 1);
    return NULL;
}

static void *thread_main(void *arg)
{
    int *p = arg;
    aq_fd *f;
    char c;
    ASSERT_OK(aq_fd_open(NULL, &f, p[0]));
    ASSERT_EQ(aq_read(f, &c, 1), 1);
    ASSERT_EQ(c, 't');
    ASSERT_OK(aq_fd_close(f));
    return NULL;
}

TEST(test_io_not_a_deadlock)
{
    int p[2];
    pthread_t th;
    ASSERT(pipe(p) == 0);
    ASSERT(pthread_create(&th, NULL, late_writer, &p[1]) == 0);
    t_main(thread_main, p);
    pthread_join(th, NULL);
    close(p[1]);
}

/* Busy tasks that keep yielding do not starve I/O: the reader gets its
 * data within AQ__POLL_EVERY iterations, long before they stop. */
static int g_spins;

static void *spinner(void *arg)
{
    (void)arg;
    for (g_spins = 0; g_spins < 10000; g_spins++)
        if (aq_yield())
            break;
    return NULL;
}

static void *starve_main(void *arg)
{
    (void)arg;
    int p[2];
    static struct rd r;
    pipe_reader(&r, p);
    aq_task *t, *s;
    ASSERT_OK(aq_spawn(&t, reader, &r));
    ASSERT_OK(aq_yield());
    ASSERT(write(p[1], "s", 1) == 1);
    ASSERT_OK(aq_spawn(&s, spinner, NULL));
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_EQ(r.n, 1);
    ASSERT(g_spins < 100);
    ASSERT_OK(aq_task_cancel(s));
    ASSERT_OK(aq_task_wait(s, NULL));
    ASSERT_OK(aq_task_release(s));
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_fd_close(r.f));
    close(p[1]);
    return NULL;
}

TEST(test_io_busy_tasks_do_not_starve_io) { t_main(starve_main, NULL); }

/* "A line from the socket or an item from the queue, whichever first": a
 * readable clause in a select. */
static void *select_main(void *arg)
{
    (void)arg;
    int p[2];
    ASSERT(pipe(p) == 0);
    aq_fd *f;
    aq_queue *q = new_fifo(0);
    long v;
    ASSERT_OK(aq_fd_open(NULL, &f, p[0]));
    aq_clause c[] = {AQ_READABLE(f), AQ_GET(q, &v)};
    ASSERT_RC(aq_select_try(c, 2, 0), AQ_EAGAIN);
    put_long(q, 5);
    ASSERT_EQ(aq_select(c, 2, 0), 1);
    ASSERT_EQ(v, 5);
    ASSERT(write(p[1], "r", 1) == 1);
    ASSERT_EQ(aq_select(c, 2, 0), 0); /* parks, woken by the event */
    ASSERT_EQ(aq_queue_getters(q), 0);
    char ch;
    ASSERT_EQ(aq_read(f, &ch, 1), 1);
    /* Consumed: the next select waits again, here until its deadline. */
    ASSERT_RC(aq_select_until(c, 2, 0, aq_now() + AQ_MSEC), AQ_ETIMEDOUT);
    ASSERT_OK(aq_fd_close(f));
    close(p[1]);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_io_select_readable_or_queue) { t_main(select_main, NULL); }

/* A signal that interrupts the loop's wait in the poller (a handler
 * installed without SA_RESTART: epoll_wait fails with EINTR) costs one
 * more iteration, nothing else: the reader still gets its data, the
 * sleeper still wakes on time. */
static volatile sig_atomic_t g_usr1;
static _Atomic int g_stop_signals;

static void on_usr1(int sig)
{
    (void)sig;
    g_usr1++;
}

/* Signals the loop's thread every millisecond until told to stop. */
static void *signaller(void *arg)
{
    pthread_t *loop_thread = arg;
    while (!g_stop_signals) {
        usleep(1000);
        pthread_kill(*loop_thread, SIGUSR1);
    }
    return NULL;
}

static void *eintr_main(void *arg)
{
    int *p = arg;
    static struct rd r;
    r = (struct rd){.n = PENDING, .deadline = AQ_NEVER};
    ASSERT_OK(aq_fd_open(NULL, &r.f, p[0]));
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, reader, &r));
    int64_t t0 = aq_now();
    sig_atomic_t before = g_usr1;
    ASSERT_OK(aq_sleep(30 * AQ_MSEC)); /* the loop blocks, and is hit */
    ASSERT(aq_now() - t0 >= 30 * AQ_MSEC);
    ASSERT(g_usr1 > before); /* signals landed during the loop's sleep */
    ASSERT_EQ(r.n, PENDING);
    ASSERT(write(p[1], "e", 1) == 1);
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_EQ(r.n, 1);
    ASSERT_EQ(r.wakeups, 1);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_fd_close(r.f));
    return NULL;
}

TEST(test_io_eintr_in_the_poller)
{
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_usr1; /* no SA_RESTART */
    ASSERT(sigaction(SIGUSR1, &sa, &old) == 0);
    int p[2];
    ASSERT(pipe(p) == 0);
    pthread_t self = pthread_self(), th;
    g_usr1 = 0;
    g_stop_signals = 0;
    ASSERT(pthread_create(&th, NULL, signaller, &self) == 0);
    t_main(eintr_main, p); /* signals keep coming all along */
    g_stop_signals = 1;
    pthread_join(th, NULL);
    close(p[1]);
    ASSERT(sigaction(SIGUSR1, &old, NULL) == 0);
}

/* ---- bad input and allocation failures ---------------------------------- */

static void *bad_main(void *arg)
{
    aq_loop *other = arg;
    aq_fd *f = NULL;
    char c;
    ASSERT_RC(aq_fd_open(NULL, NULL, 0), AQ_EINVAL);
    ASSERT_RC(aq_fd_open(NULL, &f, -1), AQ_EINVAL);
    int closed = dup(0);
    close(closed);
    ASSERT_RC(aq_fd_open(NULL, &f, closed), AQ_EBADF);
    int p[2];
    ASSERT(pipe(p) == 0);
    ASSERT_OK(aq_fd_open(NULL, &f, p[0]));
    ASSERT_EQ(aq_read(NULL, &c, 1), AQ_EINVAL);
    ASSERT_EQ(aq_read(f, NULL, 1), AQ_EINVAL);
    ASSERT_RC(aq_write_all(f, NULL, 1, NULL), AQ_EINVAL);
    aq_fd *w;
    ASSERT_OK(aq_fd_open(NULL, &w, p[1]));
    ASSERT_OK(aq_write_all(w, "x", 1, NULL)); /* done NULL: not wanted */
    ASSERT_EQ(aq_read(f, &c, 1), 1);
    ASSERT_EQ(aq_fd_detach(w), p[1]);
    ASSERT_RC(aq_accept(NULL), AQ_EINVAL);
    ASSERT_RC(aq_connect(f, NULL, 4), AQ_EINVAL);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    /* Beyond socklen_t: cut down, connect read a length it was not given
     * (2^32 + 16 connected). */
    ASSERT_RC(aq_connect(f, (struct sockaddr *)&sa, ((size_t)1 << 32) + 16),
              AQ_EINVAL);
    ASSERT(strstr(aq_error_detail(), "INT32_MAX") != NULL);
    ASSERT_RC(aq_fd_wait_readable(NULL), AQ_EINVAL);
    ASSERT(strcmp(aq_error_detail(), "fd is NULL") == 0);
    ASSERT_RC(aq_fd_close(NULL), AQ_EINVAL);
    ASSERT_RC(aq_fd_detach(NULL), AQ_EINVAL);
    ASSERT_EQ(aq_fd_fileno(NULL), AQ_EINVAL);
    /* An fd of another loop. */
    aq_fd *g;
    ASSERT_OK(aq_fd_open(other, &g, p[1]));
    ASSERT_RC(aq_fd_wait_writable(g), AQ_EINVAL);
    ASSERT(strstr(aq_error_detail(), "another loop") != NULL);
    ASSERT_EQ(aq_fd_detach(g), p[1]);
    ASSERT_OK(aq_fd_close(f));
    close(p[1]);
    return NULL;
}

TEST(test_io_bad_input)
{
    aq_loop *other;
    aq_fd *f;
    char c;
    ASSERT_RC(aq_fd_open(NULL, &f, 0), AQ_EPERM); /* no loop, no task */
    ASSERT_RC(aq_loop_fd(NULL), AQ_EINVAL);
    ASSERT_RC(aq_loop_run_ready(NULL), AQ_EINVAL);
    ASSERT_EQ(aq_loop_next_deadline(NULL), AQ_EINVAL);
    ASSERT_OK(aq_loop_new(&other));
    t_main(bad_main, other);
    ASSERT_OK(aq_loop_free(other));
    /* Suspending calls outside a task. */
    ASSERT_OK(aq_loop_new(&other));
    int p[2];
    ASSERT(pipe(p) == 0);
    ASSERT_OK(aq_fd_open(other, &f, p[0]));
    ASSERT_EQ(aq_read(f, &c, 1), AQ_EPERM);
    ASSERT_RC(aq_fd_wait_readable(f), AQ_EPERM);
    /* A regular file: epoll refuses it, with its own code, and the fd is
     * left blocking, as it came. */
    FILE *tmp = tmpfile();
    aq_fd *rf;
    ASSERT_EQ(fcntl(fileno(tmp), F_GETFL) & O_NONBLOCK, 0);
    ASSERT_RC(aq_fd_open(other, &rf, fileno(tmp)), -EPERM);
    ASSERT_EQ(fcntl(fileno(tmp), F_GETFL) & O_NONBLOCK, 0);
    fclose(tmp);
    ASSERT_OK(aq_fd_close(f));
    close(p[1]);
    ASSERT_OK(aq_loop_free(other));
}

/* Each allocation of a first registration fails in turn (the loop's I/O
 * state, the poller, the handle, the slot table): AQ_ENOMEM, nothing
 * registered, nothing leaked; then it works. */
TEST(test_io_out_of_memory)
{
    int p[2];
    ASSERT(pipe(p) == 0);
    for (long k = 1;; k++) {
        aq_loop *l;
        aq_fd *f = NULL;
        ASSERT_OK(aq_loop_new(&l));
        t_fail_alloc_at(k);
        int rc = aq_fd_open(l, &f, p[0]);
        t_fail_alloc_at(0);
        if (rc == AQ_OK) {
            ASSERT(k > 3);
            ASSERT_EQ(aq_fd_detach(f), p[0]);
            ASSERT_OK(aq_loop_free(l));
            break;
        }
        ASSERT_RC(rc, AQ_ENOMEM);
        ASSERT(f == NULL);
        ASSERT_OK(aq_loop_free(l));
    }
    close(p[0]);
    close(p[1]);
}

/* An aq_fd or aq_signals still open when its loop is freed (aq_run's
 * end, aq_loop_free) stays the user's: closing it afterwards closes the
 * fd and touches nothing of the loop (a fresh user's trial: a
 * heap-use-after-free under ASan, SIGSEGV without). */
static aq_fd *kept_fd;
static aq_signals *kept_sigs;

static void *open_and_return(void *arg)
{
    int sigs[] = {SIGUSR2};
    ASSERT_OK(aq_fd_open(NULL, &kept_fd, *(int *)arg));
    ASSERT_OK(aq_signals_open(NULL, &kept_sigs, sigs, 1));
    return NULL;
}

TEST(test_io_handles_outlive_their_loop)
{
    int p[2], q[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_EQ(pipe(q), 0);
    ASSERT_OK(aq_run(open_and_return, &p[0], NULL));
    ASSERT_OK(aq_fd_close(kept_fd));
    ASSERT_EQ(fcntl(p[0], F_GETFD), -1); /* closed */
    ASSERT_OK(aq_signals_close(kept_sigs));
    /* aq_loop_free; then detach gives the fd back, still open. */
    aq_loop *l;
    ASSERT_OK(aq_loop_new(&l));
    ASSERT_OK(aq_fd_open(l, &kept_fd, q[0]));
    ASSERT_OK(aq_loop_free(l));
    ASSERT_EQ(aq_fd_detach(kept_fd), q[0]);
    ASSERT(fcntl(q[0], F_GETFD) != -1);
    close(p[1]);
    close(q[0]);
    close(q[1]);
}

int main(int argc, char **argv)
{
    RUN(test_io_pipe_read_waits);
    RUN(test_io_socketpair_backpressure);
    RUN(test_io_close_under_waiter_and_fd_reuse);
    RUN(test_io_close_after_wake);
    RUN(test_io_deadline_cancel_busy);
    RUN(test_io_write_all_second_writer_busy);
    RUN(test_io_cancel_while_woken_and_past_deadlines);
    RUN(test_io_tcp_accept_connect_echo_epipe);
    RUN(test_io_not_a_deadlock);
    RUN(test_io_busy_tasks_do_not_starve_io);
    RUN(test_io_select_readable_or_queue);
    RUN(test_io_eintr_in_the_poller);
    RUN(test_io_bad_input);
    RUN(test_io_out_of_memory);
    RUN(test_io_handles_outlive_their_loop);
    return t_done();
}
