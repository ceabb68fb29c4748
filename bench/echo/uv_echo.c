/* libuv echo server for the echo benchmark (bench/README.md): the echo
 * of libuv's own tests and guide, one loop, one thread. MIT licensed.
 *
 *   uv_echo PORT
 *
 * Not pessimised: reads go into one static 64 KiB buffer (libuv's
 * suggested size), and each is echoed with uv_try_write, which writes at
 * once without a request; only what does not fit is copied into a
 * uv_write request (never, with the benchmark's 64-byte closed loop). */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "echo.h"

static uv_loop_t *loop;
static char rbuf[65536];

struct wreq {
    uv_write_t req;
    uv_buf_t buf;
};

static void on_close(uv_handle_t *h) { free(h); }

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    (void)h;
    (void)size;
    *buf = uv_buf_init(rbuf, sizeof rbuf);
}

static void on_written(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    if (status < 0 && !uv_is_closing((uv_handle_t *)req->handle))
        uv_close((uv_handle_t *)req->handle, on_close);
    free(w->buf.base);
    free(w);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    if (n < 0) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    uv_buf_t b = uv_buf_init(buf->base, (unsigned)n);
    int w = n ? uv_try_write(s, &b, 1) : 0;
    if (w == UV_EAGAIN || w == UV_ENOSYS)
        w = 0;
    if (w < 0) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    if (w < n) { /* the rest waits for room, in a copy of its own */
        struct wreq *r = malloc(sizeof *r);
        r->buf = uv_buf_init(malloc((size_t)(n - w)), (unsigned)(n - w));
        memcpy(r->buf.base, buf->base + w, (size_t)(n - w));
        uv_write(&r->req, s, &r->buf, 1, on_written);
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    uv_tcp_t *c = malloc(sizeof *c);
    uv_tcp_init(loop, c);
    if (uv_accept(server, (uv_stream_t *)c)) {
        uv_close((uv_handle_t *)c, on_close);
        return;
    }
    uv_tcp_nodelay(c, 1);
    uv_read_start((uv_stream_t *)c, on_alloc, on_read);
}

int main(int argc, char **argv)
{
    const char *usage = "uv_echo PORT";
    if (argc != 2) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    struct sockaddr_in a = echo_addr(echo_port(argv[1], usage));
    loop = uv_default_loop();
    static uv_tcp_t server;
    uv_tcp_init(loop, &server);
    int rc = uv_tcp_bind(&server, (struct sockaddr *)&a, 0);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&server, ECHO_BACKLOG, on_connection);
    if (rc) {
        fprintf(stderr, "listen: %s\n", uv_strerror(rc));
        return 1;
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}
