/* TCP by address (aq_listen_tcp, aq_serve, aq_connect_tcp): a listener
 * on a loopback port the kernel picks, a task per connection echoing what
 * clients connected by address send, serving stopped by a cancel with the
 * listener still the caller's; a refused connection, bad input and out of
 * memory leave no fd behind. */
#include "rt_helpers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define NCLIENTS 3

static int g_port;
static aq_fd *g_listener;

static void *echo(void *conn)
{
    char buf[256];
    long n;
    size_t done;
    while ((n = aq_read(conn, buf, sizeof buf)) > 0 &&
           aq_write_all(conn, buf, (size_t)n, &done) == AQ_OK)
        ;
    ASSERT_OK(aq_fd_close(conn));
    return NULL;
}

static void *serve(void *listener)
{
    return IARG(aq_serve(listener, echo));
}

static void *client(void *arg)
{
    char msg[32], back[32];
    int len = snprintf(msg, sizeof msg, "hello %ld", IVAL(arg));
    aq_fd *c;
    size_t done;
    ASSERT_OK(aq_connect_tcp_until(&c, "127.0.0.1", g_port,
                                   aq_now() + 10 * AQ_SEC));
    ASSERT_OK(aq_write_all(c, msg, (size_t)len, &done));
    for (long got = 0, n; got < len; got += n) /* the echo, whole */
        ASSERT((n = aq_read(c, back + got, (size_t)(len - got))) > 0);
    ASSERT(memcmp(msg, back, (size_t)len) == 0);
    ASSERT_OK(aq_fd_close(c));
    return NULL;
}

/* A listener on a loopback port the kernel picks, its port in g_port. */
static aq_fd *listen_any(void)
{
    aq_fd *l;
    ASSERT_OK(aq_listen_tcp(NULL, &l, "127.0.0.1", 0));
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    ASSERT(getsockname(aq_fd_fileno(l), (struct sockaddr *)&a, &len) == 0);
    g_port = ntohs(a.sin_port);
    ASSERT(g_port > 0);
    return l;
}

static void *main_echo(void *arg)
{
    (void)arg;
    aq_fd *l = listen_any();
    aq_task *server, *c[NCLIENTS];
    ASSERT_OK(aq_spawn(&server, serve, l));
    for (long i = 0; i < NCLIENTS; i++)
        ASSERT_OK(aq_spawn(&c[i], client, IARG(i)));
    ASSERT_OK(aq_gather(c, NCLIENTS, NULL));
    for (int i = 0; i < NCLIENTS; i++)
        aq_task_release(c[i]);
    ASSERT_OK(aq_task_cancel(server));
    void *rc;
    ASSERT_OK(aq_task_wait(server, &rc));
    ASSERT_RC((int)IVAL(rc), AQ_ECANCELED);
    aq_task_release(server);
    ASSERT(fcntl(aq_fd_fileno(l), F_GETFD) != -1); /* still open */
    ASSERT_OK(aq_fd_close(l));
    return NULL;
}

/* ---- serving in a task group: stop, drain, close the clients ---------- */

/* A group child per connection: reads a word, works 50 ms, answers
 * "done:<word>" and reads on until EOF; "fail" fails the group (7). A
 * cancel ends it with AQ_ECANCELED, which is no failure. */
static int worker(void *conn)
{
    char buf[64], out[80];
    long n = aq_read(conn, buf, sizeof buf - 1);
    int rc = n < 0 ? (int)n : 0;
    if (n > 0) {
        buf[n] = 0;
        if (strcmp(buf, "fail") == 0)
            rc = 7;
        else if ((rc = aq_sleep(50 * AQ_MSEC)) == AQ_OK) {
            size_t done;
            int len = snprintf(out, sizeof out, "done:%s", buf);
            rc = aq_write_all(conn, out, (size_t)len, &done);
            while (rc == AQ_OK && (n = aq_read(conn, buf, sizeof buf)) > 0)
                ;
            rc = rc ? rc : n < 0 ? (int)n : 0;
        }
    }
    ASSERT_OK(aq_fd_close(conn));
    return rc;
}

static void *serve_in_group(void *arg)
{
    return IARG(aq_serve_group(g_listener, worker, arg));
}

/* Connects and sends word: the connection. */
static aq_fd *ask(const char *word)
{
    aq_fd *c;
    size_t done;
    ASSERT_OK(aq_connect_tcp_until(&c, "127.0.0.1", g_port,
                                   aq_now() + 10 * AQ_SEC));
    ASSERT_OK(aq_write_all(c, word, strlen(word), &done));
    return c;
}

/* Reads what c receives until EOF into buf (NUL-terminated). */
static void answer(aq_fd *c, char *buf, size_t n)
{
    size_t got = 0;
    long r;
    while ((r = aq_read(c, buf + got, n - 1 - got)) > 0)
        got += (size_t)r;
    ASSERT(r == 0 || r == -ECONNRESET);
    buf[got] = 0;
}

/* Waits until g runs n children (the connections' handlers started). */
static void until_live(aq_group *g, long n)
{
    for (int i = 0; aq_group_live(g) < n; i++) {
        ASSERT(i < 1000);
        ASSERT_OK(aq_sleep(AQ_MSEC));
    }
}

/* Serving stops at a cancel of the serving task, then the group's wait
 * drains: each handler mid-work finishes its answer (asyncio's close()
 * then wait_closed()); or aq_group_cancel ends them first (close_clients):
 * each client sees its connection closed with no answer. */
static void *main_drain(void *arg)
{
    int close_clients = (int)IVAL(arg);
    g_listener = listen_any();
    aq_group *g;
    ASSERT_OK(aq_group_new(&g));
    aq_task *server;
    ASSERT_OK(aq_spawn(&server, serve_in_group, g));
    aq_fd *c[NCLIENTS];
    for (int i = 0; i < NCLIENTS; i++)
        c[i] = ask((char[]){"abc"[i], 0});
    until_live(g, NCLIENTS);
    ASSERT_OK(aq_task_cancel(server));
    void *rc;
    ASSERT_OK(aq_task_wait(server, &rc));
    ASSERT_RC((int)IVAL(rc), AQ_ECANCELED);
    aq_task_release(server);
    if (close_clients)
        ASSERT_OK(aq_group_cancel(g));
    for (int i = 0; i < NCLIENTS; i++) /* the handlers wait for EOF */
        ASSERT(shutdown(aq_fd_fileno(c[i]), SHUT_WR) == 0);
    int status = -1;
    ASSERT_OK(aq_group_wait(g, &status));
    ASSERT_EQ(status, 0);
    for (int i = 0; i < NCLIENTS; i++) {
        char buf[64], want[16];
        answer(c[i], buf, sizeof buf);
        snprintf(want, sizeof want, "done:%c", "abc"[i]);
        ASSERT(strcmp(buf, close_clients ? "" : want) == 0);
        ASSERT_OK(aq_fd_close(c[i]));
    }
    ASSERT_OK(aq_group_free(g));
    ASSERT_OK(aq_fd_close(g_listener));
    return NULL;
}

TEST(test_tcp_serve_group_drains)
{
    int before = open_fds();
    t_main(main_drain, IARG(0));
    t_main(main_drain, IARG(1));
    ASSERT_EQ(open_fds(), before);
}

/* A handler that fails cancels the others (a TaskGroup's rule) and ends
 * serving at the next connection, which is closed unserved. */
static void *main_group_fails(void *arg)
{
    (void)arg;
    g_listener = listen_any();
    aq_group *g;
    ASSERT_OK(aq_group_new(&g));
    aq_task *server;
    ASSERT_OK(aq_spawn(&server, serve_in_group, g));
    aq_fd *busy = ask("slow");
    until_live(g, 1);
    aq_fd *bad = ask("fail");
    int status = 0;
    ASSERT_RC(aq_group_wait(g, &status), AQ_EGROUP);
    ASSERT_EQ(status, 7);
    char buf[64];
    answer(busy, buf, sizeof buf); /* cancelled mid-work: no answer */
    ASSERT_EQ(buf[0], 0);
    aq_fd *late = ask("late");
    void *rc;
    ASSERT_OK(aq_task_wait(server, &rc));
    ASSERT_RC((int)IVAL(rc), AQ_EGROUP);
    aq_task_release(server);
    answer(late, buf, sizeof buf); /* closed unserved */
    ASSERT_EQ(buf[0], 0);
    ASSERT_OK(aq_fd_close(busy));
    ASSERT_OK(aq_fd_close(bad));
    ASSERT_OK(aq_fd_close(late));
    ASSERT_OK(aq_group_free(g));
    ASSERT_OK(aq_fd_close(g_listener));
    return NULL;
}

/* The serving task as a child of g itself (Trio's handler_nursery): a
 * failed handler cancels it with the other handlers, at once, with no
 * new connection; g's wait covers the server too. */
static int serve_as_child(void *g)
{
    int rc = aq_serve_group(g_listener, worker, g);
    return rc == AQ_ECANCELED ? rc : 1; /* cancelled: no failure */
}

static void *main_server_in_group(void *arg)
{
    (void)arg;
    g_listener = listen_any();
    aq_group *g;
    ASSERT_OK(aq_group_new(&g));
    ASSERT_OK(aq_group_spawn(g, serve_as_child, g));
    aq_fd *busy = ask("slow");
    until_live(g, 2); /* the server and busy's handler */
    aq_fd *bad = ask("fail");
    int status = 0;
    ASSERT_RC(aq_group_wait(g, &status), AQ_EGROUP); /* server included */
    ASSERT_EQ(status, 7);
    ASSERT_EQ(aq_group_live(g), 0);
    char buf[64];
    answer(busy, buf, sizeof buf); /* cancelled mid-work: no answer */
    ASSERT_EQ(buf[0], 0);
    ASSERT_OK(aq_fd_close(busy));
    ASSERT_OK(aq_fd_close(bad));
    ASSERT_OK(aq_group_free(g));
    ASSERT_OK(aq_fd_close(g_listener));
    return NULL;
}

TEST(test_tcp_serve_group_server_as_a_child)
{
    int before = open_fds();
    t_main(main_server_in_group, NULL);
    ASSERT_EQ(open_fds(), before);
}

TEST(test_tcp_serve_group_failure_ends_serving)
{
    int before = open_fds();
    t_main(main_group_fails, NULL);
    ASSERT_EQ(open_fds(), before);
}

/* Out of fds, accept fails with EMFILE: serving pauses and goes on (it
 * returned -EMFILE, and a client could end a server by opening
 * connections), and a client is served once fds are free again. (A new
 * one: the one that waited in the backlog is served too on Linux, but
 * valgrind, whose fd limit sits below the kernel's, accepts it and
 * closes it.) */
static void *main_emfile(void *arg)
{
    aq_fd *l, *c;
    ASSERT_OK(aq_listen_tcp(NULL, &l, "127.0.0.1", 0));
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    ASSERT(getsockname(aq_fd_fileno(l), (struct sockaddr *)&a, &len) == 0);
    aq_task *server;
    ASSERT_OK(aq_spawn(&server, serve, l));
    int s = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(s >= 0);
    ASSERT_OK(aq_fd_open(NULL, &c, s));
    struct rlimit old;
    t_fds_none_left(&old);
    ASSERT_OK(aq_connect(c, (struct sockaddr *)&a, sizeof a));
    ASSERT_OK(aq_sleep(50 * AQ_MSEC)); /* accept fails meanwhile */
    ASSERT(dup(0) < 0 && errno == EMFILE);
    ASSERT_EQ(aq_task_done(server), 0); /* still serving */
    if (arg) { /* closing the listener during the pause ends it */
        ASSERT_OK(aq_fd_close(l));
        void *rc;
        ASSERT_OK(aq_task_wait(server, &rc));
        ASSERT_RC((int)IVAL(rc), AQ_EBADF);
        aq_task_release(server);
        t_fds_back(&old);
        ASSERT_OK(aq_fd_close(c));
        return NULL;
    }
    t_fds_back(&old);
    ASSERT_OK(aq_fd_close(c));
    ASSERT_OK(aq_connect_tcp_until(&c, "127.0.0.1", ntohs(a.sin_port),
                                   aq_now() + 5 * AQ_SEC));
    char back[2];
    ASSERT_OK(aq_write_all(c, "hi", 2, NULL));
    for (long got = 0, n; got < 2; got += n)
        ASSERT((n = aq_read_until(c, back + got, (size_t)(2 - got),
                                  aq_now() + 5 * AQ_SEC)) > 0);
    ASSERT(memcmp(back, "hi", 2) == 0);
    ASSERT_OK(aq_fd_close(c));
    ASSERT_OK(aq_task_cancel(server));
    void *rc;
    ASSERT_OK(aq_task_wait(server, &rc));
    ASSERT_RC((int)IVAL(rc), AQ_ECANCELED);
    aq_task_release(server);
    ASSERT_OK(aq_fd_close(l));
    return NULL;
}

/* The pause ends by its timer, and a task that the same timers woke
 * first closes the listener before the server runs again: no waiter to
 * tell, so aq_serve must see for itself that the listener is gone
 * (AQ_EBADF; it called aq_accept on the freed aq_fd: a reviewer's
 * reproducer, a heap-use-after-free under ASan). */

static void *close_after_1ms(void *arg)
{
    (void)arg;
    ASSERT_OK(aq_sleep(AQ_MSEC));
    ASSERT_OK(aq_fd_close(g_listener));
    return NULL;
}

static void *busy_30ms(void *arg)
{
    (void)arg; /* no yield: both timers are due when it returns */
    for (int64_t end = aq_now() + 30 * AQ_MSEC; aq_now() < end;)
        ;
    return NULL;
}

static void *serve_scoped(void *arg)
{
    aq_timeout scope;
    ASSERT_OK(aq_timeout_begin(&scope, aq_in(20 * AQ_MSEC)));
    int rc = aq_serve(arg, echo);
    ASSERT_EQ(aq_timeout_end(&scope), 1);
    return IARG(rc);
}

static long g_ticks;

static void *ticker(void *arg)
{
    (void)arg;
    for (;;) {
        g_ticks++;
        if (aq_sleep(AQ_MSEC))
            return NULL;
    }
}

static void *main_pause_ends(void *arg)
{
    aq_task *t[3];
    struct rlimit old;
    void *rc;
    ASSERT_OK(aq_listen_tcp(NULL, &g_listener, "127.0.0.1", 0));
    t_fds_none_left(&old); /* accept4 fails with EMFILE from now on */
    if (!arg) {
        ASSERT_OK(aq_spawn(&t[0], serve, g_listener));
        ASSERT_OK(aq_spawn(&t[1], close_after_1ms, NULL));
        ASSERT_OK(aq_spawn(&t[2], busy_30ms, NULL));
        ASSERT_OK(aq_gather(t, 3, NULL));
        ASSERT_OK(aq_task_wait(t[0], &rc));
        ASSERT_RC((int)IVAL(rc), AQ_EBADF);
    } else {
        /* Under a timeout scope: its deadline ends serving (AQ_ETIMEDOUT);
         * it spun, every wait failing at once, and froze the loop. */
        g_ticks = 0;
        ASSERT_OK(aq_spawn(&t[1], ticker, NULL));
        ASSERT_OK(aq_spawn(&t[0], serve_scoped, g_listener));
        ASSERT_OK(aq_task_wait(t[0], &rc));
        ASSERT_RC((int)IVAL(rc), AQ_ETIMEDOUT);
        ASSERT(g_ticks >= 2); /* the loop ran other tasks meanwhile */
        ASSERT_OK(aq_task_cancel(t[1]));
        ASSERT_OK(aq_task_wait(t[1], NULL));
        ASSERT_OK(aq_fd_close(g_listener));
    }
    t_fds_back(&old);
    for (int i = 0; i < (arg ? 2 : 3); i++)
        aq_task_release(t[i]);
    return NULL;
}

TEST(test_tcp_serve_through_emfile)
{
    t_main(main_emfile, NULL);
    t_main(main_emfile, IARG(1)); /* the listener closed in the pause */
    t_main(main_pause_ends, NULL);    /* closed after the pause's timer */
    t_main(main_pause_ends, IARG(1)); /* a scope's deadline */
}

TEST(test_tcp_serve_echo)
{
    int before = open_fds();
    t_main(main_echo, NULL);
    ASSERT_EQ(open_fds(), before); /* every connection closed */
}

static void *serve_tcp(void *port)
{
    return IARG(aq_serve_tcp("127.0.0.1", (int)IVAL(port), echo));
}

static void *main_serve_tcp(void *arg)
{
    (void)arg;
    /* A free port: bound by the kernel's choice, then let go. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ASSERT(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    ASSERT(getsockname(s, (struct sockaddr *)&a, &len) == 0);
    close(s);
    g_port = ntohs(a.sin_port);
    aq_task *server, *c;
    ASSERT_OK(aq_spawn(&server, serve_tcp, IARG(g_port)));
    aq_yield(); /* listening now */
    ASSERT_OK(aq_spawn(&c, client, IARG(7)));
    ASSERT_OK(aq_task_wait(c, NULL));
    aq_task_release(c);
    ASSERT_OK(aq_task_cancel(server));
    void *rc;
    ASSERT_OK(aq_task_wait(server, &rc));
    ASSERT_RC((int)IVAL(rc), AQ_ECANCELED);
    aq_task_release(server);
    return NULL;
}

TEST(test_tcp_serve_tcp)
{
    int before = open_fds();
    t_main(main_serve_tcp, NULL);
    ASSERT_EQ(open_fds(), before); /* the listener closed by the call */
}

static void *bad_input_in_a_task(void *arg)
{
    (void)arg;
    aq_fd *l, *l2;
    ASSERT_RC(aq_listen_tcp(NULL, NULL, "127.0.0.1", 0), AQ_EINVAL);
    ASSERT_RC(aq_listen_tcp(NULL, &l, NULL, 0), AQ_EINVAL);
    ASSERT_RC(aq_listen_tcp(NULL, &l, "localhost", 0), AQ_EINVAL);
    ASSERT_RC(aq_listen_tcp(NULL, &l, "127.0.0.1", -1), AQ_EINVAL);
    ASSERT_RC(aq_listen_tcp(NULL, &l, "127.0.0.1", 65536), AQ_EINVAL);
    ASSERT_RC(aq_serve(NULL, echo), AQ_EINVAL);
    ASSERT_RC(aq_serve_tcp("127.0.0.1", 0, NULL), AQ_EINVAL);
    ASSERT_RC(aq_serve_tcp("localhost", 0, echo), AQ_EINVAL);
    ASSERT_RC(aq_serve_tcp(NULL, 0, echo), AQ_EINVAL);
    ASSERT(strcmp(aq_error_detail(), "host is NULL") == 0); /* no out */
    ASSERT_RC(aq_connect_tcp(NULL, "127.0.0.1", 1), AQ_EINVAL);
    ASSERT_RC(aq_connect_tcp(&l, NULL, 1), AQ_EINVAL);
    ASSERT_RC(aq_connect_tcp(&l, "localhost", 1), AQ_EINVAL);
    ASSERT_RC(aq_connect_tcp(&l, "127.0.0.1", 65536), AQ_EINVAL);
    ASSERT_OK(aq_listen_tcp(NULL, &l, "127.0.0.1", 0));
    ASSERT_RC(aq_serve(l, NULL), AQ_EINVAL);
    aq_group *g;
    ASSERT_OK(aq_group_new(&g));
    ASSERT_RC(aq_serve_group(NULL, worker, g), AQ_EINVAL);
    ASSERT_RC(aq_serve_group(l, NULL, g), AQ_EINVAL);
    ASSERT_RC(aq_serve_group(l, worker, NULL), AQ_EINVAL);
    ASSERT_OK(aq_group_free(g));
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    ASSERT(getsockname(aq_fd_fileno(l), (struct sockaddr *)&a, &len) == 0);
    int before = open_fds();
    ASSERT_RC(aq_listen_tcp(NULL, &l2, "127.0.0.1", ntohs(a.sin_port)),
              -EADDRINUSE);
    ASSERT_EQ(open_fds(), before); /* the failed socket was closed */
    ASSERT_OK(aq_fd_close(l)); /* nobody listens on that port now */
    aq_fd *c = NULL;
    ASSERT_RC(aq_connect_tcp(&c, "127.0.0.1", ntohs(a.sin_port)),
              -ECONNREFUSED);
    ASSERT(c == NULL);
    ASSERT_EQ(open_fds(), before - 1); /* its socket closed too */
    ASSERT_OK(aq_listen_tcp(NULL, &l, "127.0.0.1", 0));
    before = open_fds();
    t_fail_alloc_at(1);
    aq_fd *l3 = NULL;
    ASSERT_RC(aq_listen_tcp(NULL, &l3, "127.0.0.1", 0), AQ_ENOMEM);
    t_fail_alloc_at(0);
    ASSERT(l3 == NULL);
    ASSERT_EQ(open_fds(), before);
    ASSERT_OK(aq_fd_close(l));
    /* Argument checks come before the cancel (aq.h), the host's too. */
    ASSERT_OK(aq_task_cancel(aq_task_self()));
    ASSERT_RC(aq_connect_tcp(&c, "localhost", 1), AQ_EINVAL);
    ASSERT_RC(aq_connect_tcp_until(&c, "1.2.3", 1, AQ_NEVER), AQ_EINVAL);
    ASSERT_RC(aq_connect_tcp(&c, "127.0.0.1", 1), AQ_ECANCELED);
    return NULL;
}

TEST(test_tcp_bad_input)
{
    aq_fd *l;
    ASSERT_RC(aq_listen_tcp(NULL, &l, "127.0.0.1", 0), AQ_EPERM);
    /* No loop to open it on comes first, as for aq_fd_open and every
     * other call (aq.h), whatever else is wrong. */
    ASSERT_RC(aq_listen_tcp(NULL, NULL, "localhost", 0), AQ_EPERM);
    ASSERT_RC(aq_fd_open(NULL, NULL, -1), AQ_EPERM);
    ASSERT_RC(aq_serve(NULL, echo), AQ_EPERM);
    ASSERT_RC(aq_serve_group(NULL, worker, NULL), AQ_EPERM);
    ASSERT_RC(aq_connect_tcp(&l, "127.0.0.1", 1), AQ_EPERM);
    ASSERT_RC(aq_serve_tcp("127.0.0.1", 0, echo), AQ_EPERM);
    t_main(bad_input_in_a_task, NULL);
}

int main(int argc, char **argv)
{
    RUN(test_tcp_serve_echo);
    RUN(test_tcp_serve_group_drains);
    RUN(test_tcp_serve_group_failure_ends_serving);
    RUN(test_tcp_serve_group_server_as_a_child);
    RUN(test_tcp_serve_through_emfile);
    RUN(test_tcp_serve_tcp);
    RUN(test_tcp_bad_input);
    return t_done();
}
