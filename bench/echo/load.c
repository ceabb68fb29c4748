/* Load client for the echo benchmark (bench/README.md): plain epoll, one
 * thread. MIT licensed.
 *
 *   load PORT CONNS WARMUP_S SECONDS    closed loop
 *   load PORT CONNS idle                idle connections
 *
 * Closed loop: CONNS connections to 127.0.0.1:PORT, each sending a 64-byte
 * message and waiting for all 64 bytes of its echo before sending the
 * next. After WARMUP_S seconds, SECONDS more are measured: every request
 * that completes then counts, its latency (send to last byte back, both
 * timestamps taken per request) going into a log-linear histogram (64
 * sub-buckets per power of two: under 1.6% error). Prints one line:
 *   rps R p50_us A p99_us B max_us C requests N total T
 * (N measured, T all, warm-up included). The first 8 bytes of a message
 * are its connection's request number, checked in the echo.
 *
 * Idle: CONNS connections, opened in rounds of 500, each round echoing
 * one message per connection (so the server has accepted and served
 * every one before the next round: no SYN waits on a full backlog); then
 * prints "ready CONNS" and holds them until standard input closes. */
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "echo.h"

#define MSG 64
#define SUB 64 /* sub-buckets per power of two */
#define NBUCKET (SUB + 58 * (SUB / 2))

struct conn {
    int fd;
    int got;       /* bytes of the echo read so far */
    uint64_t seq;  /* the request in flight */
    int64_t sent;  /* when it was sent */
    char buf[MSG]; /* the echo so far */
};

static uint64_t hist[NBUCKET];

static int bucket(uint64_t v)
{
    if (v < SUB)
        return (int)v;
    int e = 63 - __builtin_clzll(v) - 5; /* v >> e in [32, 64) */
    return SUB + (e - 1) * (SUB / 2) + (int)((v >> e) - SUB / 2);
}

/* The upper end of bucket b, in ns. */
static uint64_t bucket_top(int b)
{
    if (b < SUB)
        return (uint64_t)b;
    int e = (b - SUB) / (SUB / 2) + 1, sub = (b - SUB) % (SUB / 2);
    return (((uint64_t)sub + SUB / 2 + 1) << e) - 1;
}

static double quantile(uint64_t count, double q)
{
    uint64_t want = (uint64_t)(q * (double)count), seen = 0;
    for (int b = 0; b < NBUCKET; b++)
        if ((seen += hist[b]) > want)
            return (double)bucket_top(b) / 1e3;
    return 0;
}

static int dial(int port)
{
    struct sockaddr_in a = echo_addr(port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a))
        echo_die("connect", errno);
    echo_nodelay(fd);
    return fd;
}

static void send_msg(struct conn *c, int64_t now)
{
    char m[MSG];
    memset(m, 'x', sizeof m);
    memcpy(m, &c->seq, sizeof c->seq);
    c->sent = now;
    c->got = 0;
    if (send(c->fd, m, MSG, MSG_NOSIGNAL) != MSG)
        echo_die("send (short or failed)", errno ? errno : EIO);
}

/* Reads what has come of c's echo; returns 1 once all MSG bytes are in. */
static int recv_msg(struct conn *c)
{
    ssize_t r = recv(c->fd, c->buf + c->got, (size_t)(MSG - c->got), 0);
    if (r == 0)
        echo_die("recv", ECONNRESET);
    if (r < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return 0;
        echo_die("recv", errno);
    }
    if ((c->got += (int)r) < MSG)
        return 0;
    uint64_t seq;
    memcpy(&seq, c->buf, sizeof seq);
    if (seq != c->seq)
        echo_die("echo mismatch", EPROTO);
    return 1;
}

static void idle(int port, int n)
{
    struct conn *cs = calloc((size_t)n, sizeof *cs);
    for (int i = 0; i < n; i += 500) {
        int end = i + 500 < n ? i + 500 : n;
        for (int j = i; j < end; j++) {
            cs[j].fd = dial(port);
            send_msg(&cs[j], 0);
        }
        for (int j = i; j < end; j++) /* blocking sockets: waits */
            while (!recv_msg(&cs[j]))
                ;
    }
    printf("ready %d\n", n);
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0)
        ;
}

int main(int argc, char **argv)
{
    const char *usage = "load PORT CONNS WARMUP_S SECONDS | load PORT CONNS "
                        "idle";
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    int port = echo_port(argv[1], usage), n = atoi(argv[2]);
    if (n < 1) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    if (argc == 4 && !strcmp(argv[3], "idle")) {
        idle(port, n);
        return 0;
    }
    double warm = atof(argv[3]), secs = argc == 5 ? atof(argv[4]) : 0;
    if (argc != 5 || warm < 0 || secs <= 0) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct conn *cs = calloc((size_t)n, sizeof *cs);
    for (int i = 0; i < n; i++) {
        cs[i].fd = dial(port);
        fcntl(cs[i].fd, F_SETFL, O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev))
            echo_die("epoll_ctl", errno);
    }
    int64_t start = echo_now();
    int64_t from = start + (int64_t)(warm * 1e9);
    int64_t until = from + (int64_t)(secs * 1e9);
    for (int i = 0; i < n; i++)
        send_msg(&cs[i], start);
    uint64_t counted = 0, total = 0, max = 0;
    static struct epoll_event evs[1024];
    for (;;) {
        int k = epoll_wait(ep, evs, 1024, 10);
        if (k < 0 && errno != EINTR)
            echo_die("epoll_wait", errno);
        int64_t now = echo_now();
        for (int i = 0; i < k; i++) {
            struct conn *c = &cs[evs[i].data.u32];
            if (!recv_msg(c))
                continue;
            now = echo_now();
            total++;
            if (now >= from && now < until) {
                uint64_t lat = (uint64_t)(now - c->sent);
                hist[bucket(lat)]++;
                max = lat > max ? lat : max;
                counted++;
            }
            c->seq++;
            send_msg(c, now);
        }
        if (now >= until)
            break;
    }
    printf("rps %.0f p50_us %.1f p99_us %.1f max_us %.1f requests %llu "
           "total %llu\n",
           (double)counted / secs, quantile(counted, 0.50),
           quantile(counted, 0.99), (double)max / 1e3,
           (unsigned long long)counted, (unsigned long long)total);
    for (int i = 0; i < n; i++)
        close(cs[i].fd);
    return 0;
}
