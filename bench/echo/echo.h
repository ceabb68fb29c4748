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

#endif
