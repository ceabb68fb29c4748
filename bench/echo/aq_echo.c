/* libaq echo server for the echo benchmark (bench/README.md): an accept
 * loop and one task per connection, aq_read then aq_write_all, on one
 * thread. MIT licensed.
 *
 *   aq_echo PORT [compact]
 *
 * "compact" calls aq_loop_set_compact(loop, 256 KiB) before any spawn, so
 * every task, the acceptor included, runs on the shared stack and keeps
 * only its saved frames while parked. The read buffer lives in the
 * connection task's frame: a parked compact task saves it, so it is kept
 * at 256 bytes (the benchmark's messages are 64); a 4 KiB buffer would
 * cost 4 KiB more per idle connection in compact mode, and nothing in the
 * default mode, where the stack page is committed anyway.
 * Runs until killed; a failed libaq call or system call exits 1. */
#include <aq.h>

#include <stdint.h>
#include <unistd.h>

#include "echo.h"

#define ECHO_BUF 256

static void *conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    aq_fd *f;
    int rc = aq_fd_open(NULL, &f, fd);
    if (rc) {
        close(fd);
        return NULL;
    }
    char buf[ECHO_BUF];
    long n;
    size_t done;
    while ((n = aq_read(f, buf, sizeof buf)) > 0)
        if (aq_write_all(f, buf, (size_t)n, &done))
            break; /* the peer went away (-EPIPE, -ECONNRESET) */
    aq_fd_close(f);
    return NULL;
}

static void *acceptor(void *arg)
{
    aq_fd *lf;
    int rc = aq_fd_open(NULL, &lf, *(int *)arg);
    if (rc)
        echo_die("aq_fd_open", rc);
    for (;;) {
        int fd = aq_accept(lf);
        if (fd < 0)
            echo_die("aq_accept", fd);
        echo_nodelay(fd);
        rc = aq_spawn(NULL, conn, (void *)(intptr_t)fd); /* detached */
        if (rc)
            echo_die("aq_spawn", rc);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *usage = "aq_echo PORT [compact]";
    if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "compact"))) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    int lfd = echo_listen(echo_port(argv[1], usage));
    aq_loop *loop;
    int rc = aq_loop_new(&loop);
    if (rc)
        echo_die("aq_loop_new", rc);
    if (argc == 3 && (rc = aq_loop_set_compact(loop, 256 * 1024)))
        echo_die("aq_loop_set_compact", rc);
    if ((rc = aq_loop_spawn(loop, NULL, acceptor, &lfd, 0)))
        echo_die("aq_loop_spawn", rc);
    if ((rc = aq_loop_run(loop)))
        echo_die("aq_loop_run", rc);
    return 1; /* the acceptor never returns */
}
