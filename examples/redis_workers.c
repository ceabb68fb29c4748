/* The tutorial's fan-out (examples/fanout.c) across processes: one
 * producer and three consumers C0..C2, each a process of its own, share a
 * queue kept in Redis by libaq-redis. The producer puts 0..29, waits with
 * join() until every item was acknowledged, by whichever consumer, then
 * shuts the queue down; each consumer stops when its get says so. Each
 * item takes 0.5 s, so the run takes about 5 s, as fanout does.
 *
 *   redis-server &     (or any server: AQ_REDIS=host:port says where)
 *   ./build/examples/redis_workers
 *
 * The consumers are forked here so that one command runs the demo; they
 * could as well be started apart, on other machines: a consumer needs only
 * the server's address and the stream's name.
 *
 * Built when libaq-redis is (pkg-config found hiredis).
 */
#define _POSIX_C_SOURCE 200809L

#include "example.h"

#include <aq/redis.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define NCONSUMERS 3
#define NITEMS 30

/* A stream of this run's own, deleted at the end: a shutdown stays in
 * Redis (the key "<stream>:shutdown") until then, and a run killed
 * half-way must not leave the next one a queue shut down already. */
static char stream[32];

/* queue = Queue(maxsize=20), the same one for every process that opens
 * it: its items live in the server. */
static int open_queue(aq_redis_queue **q, const char *consumer)
{
    aq_redis_config cfg = {0}; /* addr NULL: AQ_REDIS, else 127.0.0.1:6379 */
    cfg.stream = stream;
    cfg.consumer = consumer;
    cfg.item_size = sizeof(int);
    cfg.maxsize = 20;
    return check(aq_redis_queue_open(q, &cfg), "aq_redis_queue_open");
}

/* async def consumer(name, queue), in a process of its own */
static void *consumer(void *arg)
{
    const char *name = arg;
    aq_redis_queue *q;
    int processed = 0;
    if (open_queue(&q, name))
        return NULL;
    for (;;) {
        int item;
        int rc = aq_redis_queue_get(q, &item);
        if (rc == AQ_ESHUTDOWN) /* shut down, and no item left */
            break;
        if (check(rc, "aq_redis_queue_get"))
            break;
        printf("[%s] Processing: %d\n", name, item);
        if (aq_sleep(500 * AQ_MSEC) != AQ_OK)
            break;
        /* Until acknowledged, the item stays in Redis: had this process
         * died, another consumer would have taken it over. */
        if (check(aq_redis_queue_task_done(q), "aq_redis_queue_task_done"))
            break;
        processed++;
    }
    printf("[%s] Stopped after %d items\n", name, processed);
    check(aq_redis_queue_close(q), "aq_redis_queue_close");
    return NULL;
}

/* The producer: put, join, then shut down in place of the sentinels. */
static void *producer(void *arg)
{
    aq_redis_queue *q;
    (void)arg;
    if (open_queue(&q, "producer"))
        return NULL;
    for (int i = 0; i < NITEMS; i++)
        if (check(aq_redis_queue_put(q, &i), "aq_redis_queue_put"))
            goto out;
    /* await queue.join(): every item put acknowledged, by any process */
    if (check(aq_redis_queue_join(q), "aq_redis_queue_join"))
        goto out;
    /* Seen by every consumer within its read's block time (100 ms) */
    check(aq_redis_queue_shutdown(q, 0), "aq_redis_queue_shutdown");
out:
    check(aq_redis_queue_close(q), "aq_redis_queue_close");
    return NULL;
}

/* Once every consumer has stopped: the queue leaves the server. */
static void *cleanup(void *arg)
{
    aq_redis_queue *q;
    (void)arg;
    if (open_queue(&q, "producer"))
        return NULL;
    check(aq_redis_queue_delete(q), "aq_redis_queue_delete");
    check(aq_redis_queue_close(q), "aq_redis_queue_close");
    return NULL;
}

int main(void)
{
    char names[NCONSUMERS][8];
    pid_t pids[NCONSUMERS];
    int n;

    snprintf(stream, sizeof stream, "fanout-%ld", (long)getpid());
    /* Line by line even into a pipe, so that the lines of the four
     * processes never mix. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (n = 0; n < NCONSUMERS; n++) {
        snprintf(names[n], sizeof names[n], "C%d", n);
        pids[n] = fork();
        if (pids[n] < 0) {
            perror("fork");
            exit_status = 1;
            break;
        }
        if (pids[n] == 0) { /* a consumer: a loop of its own, then exit */
            check(aq_run(consumer, names[n], NULL), "aq_run");
            return exit_status;
        }
    }
    if (n == NCONSUMERS)
        check(aq_run(producer, NULL, NULL), "aq_run");
    for (int i = 0; i < n; i++) {
        int status;
        /* Without the producer's shutdown, the consumers would wait for
         * items forever. */
        if (exit_status)
            kill(pids[i], SIGTERM);
        if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            exit_status = 1;
    }
    check(aq_run(cleanup, NULL, NULL), "aq_run");
    return exit_status;
}
