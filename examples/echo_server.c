/* A line echo server on 127.0.0.1:PORT, a task per connection: the
 * README's "Sockets, pipes and files" example, verbatim from the first
 * #include on. Serves until killed, so it is not one of check.sh's
 * examples; tests/examples/test_echo_server.c starts it on a free port,
 * talks to it and kills it. Usage: echo_server PORT
 *
 * asyncio's equivalent:
 *   async def handle(reader, writer):
 *       while data := await reader.read(4096):
 *           writer.write(data); await writer.drain()
 *       writer.close()
 *   await (await asyncio.start_server(handle, '127.0.0.1', port))
 *       .serve_forever()
 */
#include <aq.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>

static void *handle(void *c)             /* async def handle(r, w): */
{
    char buf[4096];
    long n;
    size_t done;
    while ((n = aq_read(c, buf, sizeof buf)) > 0 &&
           aq_write_all(c, buf, (size_t)n, &done) == AQ_OK)
        ;                                /* w.write(data); w.drain() */
    aq_fd_close(c);                      /* w.close() */
    return NULL;
}

static void *serve(void *s)              /* asyncio.start_server */
{
    aq_fd *listener, *c;
    int fd = aq_fd_open(NULL, &listener, *(int *)s);
    while (fd >= 0 && (fd = aq_accept(listener)) >= 0)
        if (aq_fd_open(NULL, &c, fd) != AQ_OK)
            close(fd);
        else if (aq_spawn(NULL, handle, c) != AQ_OK)
            aq_fd_close(c);
    return NULL;                         /* accept failed: fd is -errno */
}

int main(int argc, char **argv)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    a.sin_port = htons(argc > 1 ? atoi(argv[1]) : 8888);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 128))
        return 1;
    aq_run(serve, &s, NULL);             /* serves until accept fails */
    return 1;
}
