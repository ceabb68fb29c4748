/* libaq echo benchmark - what the C programs share: the loopback listening
 * socket, the monotonic clock, and dying with a message. Header-only, so
 * each program stays one file plus this. MIT licensed. */
#ifndef AQ_BENCH_ECHO_H
#define AQ_BENCH_ECHO_H

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* Every server listens with this backlog (the kernel caps it at
 * net.core.somaxconn, 4096 on Debian 12). */
#define ECHO_BACKLOG 8192

static inline void echo_die(const char *what, int err)
{
    fprintf(stderr, "%s: %s\n", what, strerror(err < 0 ? -err : err));
    exit(1);
}

static inline int64_t echo_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline struct sockaddr_in echo_addr(int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    return a;
}

/* A socket listening on 127.0.0.1:port (SO_REUSEADDR, so a server can
 * follow another on the same port at once), blocking. Dies on failure. */
static inline int echo_listen(int port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in a = echo_addr(port);
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, ECHO_BACKLOG))
        echo_die("listen", errno);
    return s;
}

/* TCP_NODELAY, as Go, asyncio and uvloop set on every connection. */
static inline void echo_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* The port argument of every program: 1-65535, else usage and exit 2. */
static inline int echo_port(const char *arg, const char *usage)
{
    char *end;
    long p = strtol(arg, &end, 10);
    if (*end || p < 1 || p > 65535) {
        fprintf(stderr, "usage: %s\n", usage);
        exit(2);
    }
    return (int)p;
}

/* The deadline programs' draw: reader id's generator starts at
 * echo_seed(id); each read's deadline is 1-50 ms after now (uniform, to
 * the nanosecond). */
static inline uint64_t echo_seed(long id)
{
    return (uint64_t)id * 2654435761u + 12345;
}

static inline int64_t echo_next_deadline(uint64_t *x, int64_t now)
{
    *x = *x * 6364136223846793005u + 1442695040888963407u;
    return now + 1000000 + (int64_t)((*x >> 33) % 49000000u);
}

static inline int echo_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The deadline programs' report (deadlines.c, deadline_floor.c): late[]
 * holds n lateness figures, ns. Prints one line,
 *   NAME N p50_us A p99_us B max_us C min_us D over_1ms K
 * (K: how many came more than 1 ms late); returns 1 if one fired early,
 * else 0. Sorts late[]. */
static inline int echo_lateness(const char *name, int64_t *late, size_t n)
{
    size_t over = 0;
    for (size_t i = 0; i < n; i++)
        over += late[i] > 1000000;
    qsort(late, n, sizeof *late, echo_cmp_i64);
    printf("%s %zu p50_us %.1f p99_us %.1f max_us %.1f min_us %.1f "
           "over_1ms %zu\n",
           name, n, (double)late[n / 2] / 1e3,
           (double)late[n * 99 / 100] / 1e3, (double)late[n - 1] / 1e3,
           (double)late[0] / 1e3, over);
    if (late[0] < 0) {
        fprintf(stderr, "%s: a deadline fired early\n", name);
        return 1;
    }
    return 0;
}

/* With DEADLINE_TRACE set in the environment, the deadline programs
 * write each read more than 1 ms late to stderr, with when it came (s
 * after start), so that a burst at one instant (the process not running)
 * can be told from late reads spread over the run. */
static inline void echo_trace_late(long reader, long read, int64_t late,
                                   int64_t since_start)
{
    static int on = -1;
    if (on < 0)
        on = getenv("DEADLINE_TRACE") != NULL;
    if (on && late > 1000000)
        fprintf(stderr, "late %lld us reader %ld read %ld at %.3f s\n",
                (long long)(late / 1000), reader, read,
                (double)since_start / 1e9);
}

#endif
