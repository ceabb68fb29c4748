/* A line echo server on 127.0.0.1:PORT, a task per connection: the
 * README's "Sockets, pipes and files" example, verbatim from the first
 * #include on. Serves until killed, so it is not one of check.sh's
 * examples; tests/examples/test_echo_server.c starts it on a free port,
 * talks to it and kills it. Usage: echo_server PORT
 *
 * asyncio's equivalent:
 *   async def handle(reader, writer):
 *       while line := await reader.readline():
 *           writer.write(line); await writer.drain()
 *       writer.close()
 *   await (await asyncio.start_server(handle, '127.0.0.1', port))
 *       .serve_forever()
 */
#include <aq.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static void *handle(void *c)                /* async def handle(r, w): */
{
    aq_reader *r;
    char line[1024];
    long n;
    size_t done;
    if (aq_reader_new(&r, c, sizeof line) == AQ_OK) {
        while ((n = aq_reader_read_line(r, line, sizeof line)) > 0)
            if (aq_write_all(c, line, (size_t)n, &done) != AQ_OK)
                break;                      /* w.write(line); w.drain() */
        aq_reader_free(r);
    }
    aq_fd_close(c);                         /* w.close() */
    return NULL;
}

static void *serve(void *s)                 /* asyncio.start_server */
{
    aq_fd *listener, *c;
    aq_task *t;
    int fd = aq_fd_open(NULL, &listener, *(int *)s);
    while (fd >= 0 && (fd = aq_accept(listener)) >= 0) {
        if (aq_fd_open(NULL, &c, fd) != AQ_OK)
            close(fd);                      /* drop this one connection */
        else if (aq_spawn(&t, handle, c) != AQ_OK)
            aq_fd_close(c);
        else
            aq_task_release(t);             /* it runs on by itself */
    }
    fprintf(stderr, "echo_server: %s\n", aq_strerror(fd));
    return NULL;
}

int main(int argc, char **argv)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_port = htons(argc > 1 ? atoi(argv[1]) : 8888);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 128)) {
        perror("echo_server");
        return 1;
    }
    aq_run(serve, &s, NULL); /* returns only if accept failed */
    return 1;
}
