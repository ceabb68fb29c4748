/* aq_read's system calls: after a short read from a TCP socket (its
 * receive buffer emptied), the next aq_read waits for an event instead of
 * making a read that fails with EAGAIN; every other case still reads
 * first. Linked with -Wl,--wrap=read (tests/CMakeLists.txt), so libaq's
 * read(2) calls come here and are counted, with their EAGAIN results.
 * Each case checks the bytes as well as the counts, and the cases where
 * waiting first would lose data or hang: the peer's FIN behind the last
 * bytes, a peer's urgent byte, a readiness wait between two reads, a read
 * that filled the buffer, a read of 0 bytes, and a pipe. */
#include "rt_helpers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

ssize_t __real_read(int fd, void *buf, size_t n);

static int g_fd = -1; /* the fd whose reads are counted */
static int g_reads, g_eagain;

ssize_t __wrap_read(int fd, void *buf, size_t n)
{
    ssize_t r = __real_read(fd, buf, n);
    if (fd == g_fd) {
        int e = errno;
        g_reads++;
        g_eagain += r < 0 && e == EAGAIN;
        errno = e;
    }
    return r;
}

/* A connected loopback TCP pair: *server is registered with the calling
 * task's loop and counted; the client end stays a plain blocking fd. */
static void tcp_pair(aq_fd **server, int *client)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT(l >= 0 && bind(l, (struct sockaddr *)&a, sizeof a) == 0);
    ASSERT(listen(l, 1) == 0);
    ASSERT(getsockname(l, (struct sockaddr *)&a, &len) == 0);
    *client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT(connect(*client, (struct sockaddr *)&a, sizeof a) == 0);
    ASSERT(setsockopt(*client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) ==
           0);
    int s = accept(l, NULL, NULL);
    ASSERT(s >= 0);
    close(l);
    ASSERT_OK(aq_fd_open(NULL, server, s));
    g_fd = s;
    g_reads = g_eagain = 0;
}

/* Runs body(server, client) as a loop's main task on a fresh pair, then
 * closes both ends. */
static void (*g_body)(aq_fd *f, int c);

static void *tcp_main(void *arg)
{
    (void)arg;
    aq_fd *f;
    int c;
    tcp_pair(&f, &c);
    g_body(f, c);
    ASSERT_OK(aq_fd_close(f));
    close(c);
    return NULL;
}

static void tcp_case(void (*body)(aq_fd *f, int c))
{
    g_body = body;
    t_main(tcp_main, NULL);
}

static void send_str(int fd, const char *s)
{
    ASSERT_EQ(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Reads what is there, with a deadline (a hang fails the test), and
 * checks it is want. */
static void read_expect(aq_fd *f, size_t n, const char *want)
{
    char buf[64] = {0};
    ASSERT(n < sizeof buf);
    long r = aq_read_until(f, buf, n, aq_now() + 5 * AQ_SEC);
    ASSERT_EQ(r, (long)strlen(want));
    ASSERT(memcmp(buf, want, (size_t)r) == 0);
}

/* What a writer task does 20 ms after it starts, while the test's task
 * waits: write s (unless NULL) on fd, then shut its side if close_after. */
struct later {
    int fd, close_after;
    const char *s;
};

static void *write_later(void *arg)
{
    struct later *w = arg;
    ASSERT_OK(aq_sleep(20 * AQ_MSEC));
    if (w->s)
        send_str(w->fd, w->s);
    if (w->close_after)
        ASSERT(shutdown(w->fd, SHUT_WR) == 0);
    return NULL;
}

static aq_task *later_start(struct later *w)
{
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, write_later, w));
    return t;
}

static void later_end(aq_task *t)
{
    ASSERT_OK(aq_task_wait(t, NULL));
    aq_task_release(t);
}

/* Short read, then more data later: one read per message, no EAGAIN. */
static void short_then_more(aq_fd *f, int c)
{
    send_str(c, "hello");
    ASSERT_OK(aq_fd_wait_readable(f)); /* the data is in */
    read_expect(f, 32, "hello");       /* short: emptied */
    struct later w = {c, 0, "world"};
    aq_task *t = later_start(&w);
    read_expect(f, 32, "world"); /* waits first: no failing read */
    ASSERT_EQ(g_reads, 2);
    ASSERT_EQ(g_eagain, 0);
    later_end(t);
    /* A read of 0 bytes returns 0 at once, as read(2) does. */
    char none[1];
    int64_t t0 = aq_now();
    ASSERT_EQ(aq_read_until(f, none, 0, t0 + 5 * AQ_SEC), 0);
    ASSERT(aq_now() - t0 < AQ_SEC);
    /* The end of the stream behind the last bytes: the FIN's edge comes
     * before the read that takes them, and none after; the read after it
     * must still see the end. */
    send_str(c, "bye");
    ASSERT(shutdown(c, SHUT_WR) == 0);
    ASSERT_OK(aq_sleep(20 * AQ_MSEC)); /* the loop polls: data and FIN */
    read_expect(f, 32, "bye");
    read_expect(f, 32, "");
    ASSERT_EQ(g_eagain, 0);
}

TEST(test_io_reads_tcp_short_read_waits_first) { tcp_case(short_then_more); }

/* The FIN after a short read: it raises an edge of its own. */
static void fin_later(aq_fd *f, int c)
{
    send_str(c, "abc");
    read_expect(f, 32, "abc");
    struct later w = {c, 1, NULL};
    aq_task *t = later_start(&w);
    read_expect(f, 32, "");
    later_end(t);
}

TEST(test_io_reads_tcp_fin_after_short_read) { tcp_case(fin_later); }

/* A readiness wait consumes the event that a short read waits for: the
 * read after it must read, not wait for another. */
static void wait_then_read(aq_fd *f, int c)
{
    send_str(c, "one");
    read_expect(f, 32, "one"); /* short */
    struct later w = {c, 0, "two"};
    aq_task *t = later_start(&w);
    ASSERT_OK(aq_fd_wait_readable_until(f, aq_now() + 5 * AQ_SEC));
    read_expect(f, 32, "two");
    later_end(t);
    /* And through a select's readable clause. */
    w = (struct later){c, 0, "three"};
    t = later_start(&w);
    aq_clause cl[] = {AQ_READABLE(f)};
    ASSERT_EQ(aq_select_until(cl, 1, 0, aq_now() + 5 * AQ_SEC), 0);
    read_expect(f, 32, "three");
    later_end(t);
    ASSERT_EQ(g_eagain, 0);
}

TEST(test_io_reads_wait_between_reads) { tcp_case(wait_then_read); }

/* A read that fills the buffer says nothing of what is left: the next one
 * reads at once, even with its deadline passed. */
static void full_read(aq_fd *f, int c)
{
    send_str(c, "0123456789");
    ASSERT_OK(aq_fd_wait_readable(f));
    read_expect(f, 4, "0123");
    char buf[8] = {0};
    ASSERT_EQ(aq_read_until(f, buf, 4, aq_now() - 1), 4);
    ASSERT(memcmp(buf, "4567", 4) == 0);
    ASSERT_EQ(g_reads, 2);
}

TEST(test_io_reads_full_read_reads_again) { tcp_case(full_read); }

/* A peer's urgent byte stops a read short with data behind it, and its
 * event came before that read: the read after it must still read. */
static void urgent(aq_fd *f, int c)
{
    ASSERT_EQ(send(c, "abc", 3, 0), 3);
    ASSERT_EQ(send(c, "!", 1, MSG_OOB), 1);
    ASSERT_EQ(send(c, "def", 3, 0), 3);
    ASSERT_OK(aq_sleep(20 * AQ_MSEC)); /* the loop polls: every event */
    read_expect(f, 32, "abc");         /* stops at the urgent byte */
    read_expect(f, 32, "def");         /* the byte itself is out of band */
    send_str(c, "gh");
    ASSERT_OK(aq_sleep(20 * AQ_MSEC));
    read_expect(f, 32, "gh");
}

TEST(test_io_reads_urgent_byte) { tcp_case(urgent); }

/* Data and the peer's FIN (or an urgent byte with data behind it) in one
 * edge: a wait consumes it, a read stops short, and a second wait (what
 * io.h allows after a short read) must return, since the end of file (the
 * data behind) is there and no edge will come for it (a reviewer's
 * reproducer: the second wait never returned; examples/resp_queue_server
 * kept such connections open in CLOSE_WAIT). Through a select's clause
 * and aq_fd_wait_readable. But once nothing is left, a wait waits (the
 * first fix left such an fd readable for good: every wait after an
 * urgent byte returned with nothing to read, a select chose it over a
 * ready queue and its read blocked; a second reviewer's reproducer). */
static void data_and_fin_in_one_edge(aq_fd *f, int c)
{
    send_str(c, "last");
    ASSERT_EQ(shutdown(c, SHUT_WR), 0);
    ASSERT_OK(aq_sleep(20 * AQ_MSEC)); /* one poll sees both */
    ASSERT_OK(aq_fd_wait_readable_until(f, aq_now() + 5 * AQ_SEC));
    read_expect(f, 32, "last");
    aq_clause cl[] = {AQ_READABLE(f)};
    ASSERT_EQ(aq_select_until(cl, 1, 0, aq_now() + 2 * AQ_SEC), 0);
    read_expect(f, 32, ""); /* the end of file */
}

TEST(test_io_reads_wait_after_data_and_fin_in_one_edge)
{
    tcp_case(data_and_fin_in_one_edge);
}

static void urgent_then_wait(aq_fd *f, int c)
{
    ASSERT_EQ(send(c, "abc", 3, 0), 3);
    ASSERT_EQ(send(c, "!", 1, MSG_OOB), 1);
    ASSERT_EQ(send(c, "def", 3, 0), 3);
    ASSERT_OK(aq_sleep(20 * AQ_MSEC));
    ASSERT_OK(aq_fd_wait_readable_until(f, aq_now() + 5 * AQ_SEC));
    read_expect(f, 32, "abc"); /* stops at the urgent byte */
    ASSERT_OK(aq_fd_wait_readable_until(f, aq_now() + 2 * AQ_SEC));
    read_expect(f, 32, "def");
    /* Nothing left: a wait waits. The next read reads first (io.h: an fd
     * that had urgent data always does; its EAGAIN is counted) and then
     * waits for the edge. Twice: not only once. */
    for (int i = 0; i < 2; i++) {
        ASSERT_RC(aq_fd_wait_readable_until(f, aq_now() + 50 * AQ_MSEC),
                  AQ_ETIMEDOUT);
        struct later w = {c, 0, i ? "ij" : "gh"};
        aq_task *t = later_start(&w);
        read_expect(f, 32, i ? "ij" : "gh");
        later_end(t);
    }
    ASSERT_EQ(g_eagain, 2);
}

TEST(test_io_reads_wait_after_an_urgent_byte) { tcp_case(urgent_then_wait); }

/* After urgent data an fd reads first, even once a short read found
 * nothing behind it: bytes sent since are read by a call whose deadline
 * has passed (the poll's first version marked it emptied: AQ_ETIMEDOUT
 * with 3 bytes queued; a reviewer's reproducer). */
static void urgent_then_read_first(aq_fd *f, int c)
{
    ASSERT_EQ(send(c, "!", 1, MSG_OOB), 1);
    send_str(c, "abc");
    ASSERT_OK(aq_sleep(20 * AQ_MSEC));
    read_expect(f, 32, "abc");
    send_str(c, "def");
    usleep(20 * 1000); /* arrived, and the loop has not polled */
    char buf[32];
    ASSERT_EQ(aq_read_until(f, buf, sizeof buf, aq_now() - 1), 3);
    ASSERT(memcmp(buf, "def", 3) == 0);
}

TEST(test_io_reads_read_first_after_an_urgent_byte)
{
    tcp_case(urgent_then_read_first);
}

/* A lone urgent byte gives read(2) nothing: it does not make the fd
 * readable, so a select over it and a ready queue takes the queue (the
 * READABLE clause won, and the task blocked in its read while the reply
 * waited in the queue; a reviewer's reproducer). */
static void lone_urgent_byte(aq_fd *f, int c)
{
    send_str(c, "req0");
    read_expect(f, 32, "req0");
    ASSERT_EQ(send(c, "!", 1, MSG_OOB), 1);
    ASSERT_OK(aq_sleep(20 * AQ_MSEC)); /* the loop has seen its event */
    aq_queue *q;
    long v = 7;
    ASSERT_OK(aq_queue_new(&q, AQ_FIFO, sizeof v, 0));
    ASSERT_OK(aq_queue_try_put(q, &v));
    aq_clause cl[] = {AQ_READABLE(f), AQ_GET(q, &v)};
    ASSERT_EQ(aq_select_until(cl, 2, AQ_SELECT_BIASED, aq_now() + AQ_SEC), 1);
    ASSERT_OK(aq_queue_free(q));
    ASSERT_RC(aq_fd_wait_readable_until(f, aq_now() + 50 * AQ_MSEC),
              AQ_ETIMEDOUT);
    send_str(c, "req1");
    ASSERT_OK(aq_fd_wait_readable_until(f, aq_now() + 5 * AQ_SEC));
    read_expect(f, 32, "req1");
}

TEST(test_io_reads_lone_urgent_byte_is_not_readable)
{
    tcp_case(lone_urgent_byte);
}

/* A pipe keeps reading first after a short read: bytes written since are
 * returned at once, before any poll, even with the deadline passed. */
static void *pipe_main(void *arg)
{
    (void)arg;
    int p[2];
    ASSERT(pipe(p) == 0);
    aq_fd *f;
    ASSERT_OK(aq_fd_open(NULL, &f, p[0]));
    g_fd = p[0];
    g_reads = g_eagain = 0;
    send_str(p[1], "ab");
    read_expect(f, 32, "ab"); /* short */
    send_str(p[1], "cd");
    char buf[8] = {0};
    ASSERT_EQ(aq_read_until(f, buf, sizeof buf, aq_now() - 1), 2);
    ASSERT(memcmp(buf, "cd", 2) == 0);
    ASSERT_EQ(g_reads, 2);
    ASSERT_OK(aq_fd_close(f));
    close(p[1]);
    return NULL;
}

TEST(test_io_reads_pipe_reads_first) { t_main(pipe_main, NULL); }

int main(int argc, char **argv)
{
    RUN(test_io_reads_tcp_short_read_waits_first);
    RUN(test_io_reads_tcp_fin_after_short_read);
    RUN(test_io_reads_wait_between_reads);
    RUN(test_io_reads_full_read_reads_again);
    RUN(test_io_reads_urgent_byte);
    RUN(test_io_reads_wait_after_data_and_fin_in_one_edge);
    RUN(test_io_reads_wait_after_an_urgent_byte);
    RUN(test_io_reads_read_first_after_an_urgent_byte);
    RUN(test_io_reads_lone_urgent_byte_is_not_readable);
    RUN(test_io_reads_pipe_reads_first);
    return t_done();
}
