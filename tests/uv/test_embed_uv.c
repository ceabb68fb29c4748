/* A libaq loop driven by a real libuv loop (Debian's libuv1-dev): libuv
 * watches aq_loop_fd for readability, keeps a timer at
 * aq_loop_next_deadline, and calls aq_loop_run_ready. libaq's tasks sleep,
 * exchange items through a queue and read a pipe that a libuv timer
 * writes into, all while libuv owns the thread. Built when CMake finds
 * libuv; .ci/run installs it. */
#include "../test.h"

#include <uv.h>
#include <unistd.h>

static aq_loop *g_loop;
static uv_loop_t *g_uv;
static uv_poll_t g_poll;
static uv_timer_t g_timer, g_writer;
static aq_queue *g_q;
static int g_pipe[2];
static long g_got[3];
static int g_done;

static void drive(void);

static void on_timer(uv_timer_t *t)
{
    (void)t;
    drive();
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    (void)p;
    (void)status;
    (void)events;
    drive();
}

/* Runs what is ready, then re-arms libuv's timer for libaq's next need,
 * or stops watching once the tasks are done. */
static void drive(void)
{
    ASSERT_OK(aq_loop_run_ready(g_loop));
    if (g_done == 2) {
        uv_poll_stop(&g_poll);
        uv_timer_stop(&g_timer);
        return;
    }
    int64_t next = aq_loop_next_deadline(g_loop);
    if (next == AQ_NEVER) {
        uv_timer_stop(&g_timer);
        return;
    }
    int64_t wait = next - aq_now();
    uint64_t ms = wait <= 0 ? 0 : (uint64_t)((wait + AQ_MSEC - 1) / AQ_MSEC);
    uv_timer_start(&g_timer, on_timer, ms, 0);
}

static void *producer(void *arg)
{
    (void)arg;
    for (long i = 1; i <= 2; i++) {
        ASSERT_OK(aq_sleep(3 * AQ_MSEC));
        ASSERT_OK(aq_queue_put(g_q, &i));
    }
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2; i++)
        ASSERT_OK(aq_queue_get(g_q, &g_got[i]));
    aq_fd *f;
    char c;
    ASSERT_OK(aq_fd_open(NULL, &f, g_pipe[0]));
    ASSERT_EQ(aq_read(f, &c, 1), 1); /* written by a libuv timer */
    g_got[2] = c;
    ASSERT_OK(aq_fd_close(f));
    g_done = 2;
    return NULL;
}

static void write_pipe(uv_timer_t *t)
{
    (void)t;
    ASSERT(write(g_pipe[1], "u", 1) == 1);
}

TEST(test_embed_uv_drives_libaq)
{
    ASSERT(pipe(g_pipe) == 0);
    g_q = NULL;
    ASSERT_OK(aq_queue_new(&g_q, AQ_FIFO, sizeof(long), 0));
    ASSERT_OK(aq_loop_new(&g_loop));
    int fd = aq_loop_fd(g_loop);
    ASSERT(fd >= 0);
    ASSERT_OK(aq_loop_spawn(g_loop, NULL, producer, NULL, 0));
    ASSERT_OK(aq_loop_spawn(g_loop, NULL, consumer, NULL, 0));
    g_uv = uv_default_loop();
    ASSERT(uv_poll_init(g_uv, &g_poll, fd) == 0);
    ASSERT(uv_poll_start(&g_poll, UV_READABLE, on_poll) == 0);
    ASSERT(uv_timer_init(g_uv, &g_timer) == 0);
    ASSERT(uv_timer_init(g_uv, &g_writer) == 0);
    uv_timer_start(&g_writer, write_pipe, 20, 0);
    drive(); /* the tasks' first run */
    ASSERT(uv_run(g_uv, UV_RUN_DEFAULT) == 0);
    ASSERT_EQ(g_done, 2);
    ASSERT_EQ(g_got[0], 1);
    ASSERT_EQ(g_got[1], 2);
    ASSERT_EQ(g_got[2], 'u');
    uv_close((uv_handle_t *)&g_poll, NULL);
    uv_close((uv_handle_t *)&g_timer, NULL);
    uv_close((uv_handle_t *)&g_writer, NULL);
    uv_run(g_uv, UV_RUN_DEFAULT);
    ASSERT(uv_loop_close(g_uv) == 0);
    ASSERT_OK(aq_loop_free(g_loop));
    ASSERT_OK(aq_queue_free(g_q));
    close(g_pipe[1]);
}

int main(int argc, char **argv)
{
    RUN(test_embed_uv_drives_libaq);
    return t_done();
}
