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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void *handle(void *c)             /* async def handle(r, w): */
{
    char buf[4096];
    long n;
    while ((n = aq_read(c, buf, sizeof buf)) > 0 &&
           aq_write_all(c, buf, (size_t)n, NULL) == AQ_OK)
        ;                                /* w.write(data); w.drain() */
    aq_fd_close(c);                      /* w.close() */
    return NULL;
}

static void *serve(void *port)           /* start_server, serve_forever */
{
    return (void *)(intptr_t)aq_serve_tcp("127.0.0.1", *(int *)port, handle);
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 8888;
    void *rc = NULL;
    aq_run(serve, &port, &rc);           /* serves until it fails */
    fprintf(stderr, "echo_server: port %d: %s\n", port,
            aq_strerror((int)(intptr_t)rc));
    return 1;
}
