/* aqredis - libaq-redis' side of `make bench-redis` (bench/redis/run.py
 * starts the server, pre-fills streams and runs the peers). MIT licensed.
 *
 * Usage:  aqredis MODE ADDR STREAM N PRODUCERS CONSUMERS
 *
 *   e2e    PRODUCERS tasks put N 8-byte items (0 .. N-1) through one
 *          handle while CONSUMERS tasks get and task_done them through a
 *          second handle, both handles in this process, on one loop
 *   put    PRODUCERS tasks put N items through one handle, no consumer
 *   drain  CONSUMERS tasks get and task_done N items that the runner has
 *          put into STREAM beforehand
 *
 * The environment variable PREFETCH sets the handles' read-ahead
 * (aq_redis_config.prefetch; default 0).
 *
 * Every mode uses maxsize 0 (unbounded) and prints one line of key=value
 * pairs: items, seconds (the timed part: from the first call to the last
 * reply, the handles already open) and items_per_s; then commands and
 * writes (aq_redis_queue_stats over the timed part, both handles: their
 * ratio is the pipelining's batch size). e2e and drain check that the
 * stream is empty at the end (every entry acknowledged), e2e also the sum
 * of the items got. A libaq error or a failed check exits 1, bad
 * arguments 2.
 */
#define _POSIX_C_SOURCE 200809L

#include <aq.h>
#include <aq/redis.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ok(int rc, const char *what)
{
    if (rc != AQ_OK) {
        fprintf(stderr, "aqredis: %s: %s\n", what, aq_strerror(rc));
        exit(1);
    }
}

static struct {
    const char *mode, *addr, *stream;
    long n, producers, consumers;
    long to_put, to_get; /* items not yet claimed by a task */
    uint64_t sum;        /* of the items got */
} g;

/* The tasks share the loop's thread, so the counters need no lock: a
 * task claims an item before its call suspends, and exactly n puts and n
 * gets are made in all, however the tasks interleave. */
static void *producer(void *arg)
{
    aq_redis_queue *q = arg;
    while (g.to_put > 0) {
        uint64_t item = (uint64_t)--g.to_put;
        ok(aq_redis_queue_put(q, &item), "aq_redis_queue_put");
    }
    return NULL;
}

static void *consumer(void *arg)
{
    aq_redis_queue *q = arg;
    while (g.to_get > 0) {
        g.to_get--;
        uint64_t item;
        ok(aq_redis_queue_get(q, &item), "aq_redis_queue_get");
        g.sum += item;
        ok(aq_redis_queue_task_done(q), "aq_redis_queue_task_done");
    }
    return NULL;
}

static aq_redis_queue *open_queue(const char *consumer_name)
{
    const char *prefetch = getenv("PREFETCH");
    aq_redis_config cfg = {.addr = g.addr,
                           .stream = g.stream,
                           .consumer = consumer_name,
                           .item_size = sizeof(uint64_t),
                           .prefetch = prefetch ? atol(prefetch) : 0};
    aq_redis_queue *q;
    ok(aq_redis_queue_open(&q, &cfg), "aq_redis_queue_open");
    return q;
}

static void spawn_n(aq_task **t, long n, aq_task_fn fn, aq_redis_queue *q)
{
    for (long i = 0; i < n; i++)
        ok(aq_spawn(&t[i], fn, q), "aq_spawn");
}

static void counts(aq_redis_queue *q, long *commands, long *writes)
{
    aq_redis_stats st;
    ok(aq_redis_queue_stats(q, &st), "aq_redis_queue_stats");
    *commands += st.commands;
    *writes += st.writes;
}

static void *bench(void *arg)
{
    (void)arg;
    /* Distinct consumer names: a handle opening under a name that holds
     * pending entries would take them back. */
    aq_redis_queue *pq = g.producers ? open_queue("bench-producers") : NULL;
    aq_redis_queue *cq = g.consumers ? open_queue("bench-consumers") : NULL;
    long cmd0 = 0, wr0 = 0, cmd1 = 0, wr1 = 0;
    aq_redis_queue *both[2] = {pq, cq};
    for (int i = 0; i < 2; i++)
        if (both[i])
            counts(both[i], &cmd0, &wr0);

    long ntasks = g.producers + g.consumers;
    aq_task **t = malloc((size_t)ntasks * sizeof *t);
    if (!t)
        ok(AQ_ENOMEM, "malloc");
    int64_t t0 = aq_now();
    spawn_n(t, g.producers, producer, pq);
    spawn_n(t + g.producers, g.consumers, consumer, cq);
    ok(aq_gather(t, (size_t)ntasks, NULL), "aq_gather");
    int64_t elapsed = aq_now() - t0;
    for (long i = 0; i < ntasks; i++)
        aq_task_release(t[i]);
    free(t);
    for (int i = 0; i < 2; i++)
        if (both[i])
            counts(both[i], &cmd1, &wr1);

    /* Every acknowledgement deletes its entry: a drained queue is an
     * empty stream, else an ack was lost. */
    if (cq) {
        long left;
        ok(aq_redis_queue_qsize(cq, &left), "aq_redis_queue_qsize");
        if (left != 0) {
            fprintf(stderr, "aqredis: %ld entries left in the stream\n",
                    left);
            exit(1);
        }
    }
    for (int i = 0; i < 2; i++)
        if (both[i])
            ok(aq_redis_queue_close(both[i]), "aq_redis_queue_close");
    double s = (double)elapsed / 1e9;
    printf("%s items=%ld seconds=%.3f items_per_s=%.0f commands=%ld "
           "writes=%ld\n",
           g.mode, g.n, s, (double)g.n / s, cmd1 - cmd0, wr1 - wr0);
    return NULL;
}

static long count_arg(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *end || v < 0 ? -1 : v;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: aqredis e2e|put|drain ADDR STREAM N "
                        "PRODUCERS CONSUMERS\n");
        return 2;
    }
    g.mode = argv[1];
    g.addr = argv[2];
    g.stream = argv[3];
    g.n = count_arg(argv[4]);
    g.producers = count_arg(argv[5]);
    g.consumers = count_arg(argv[6]);
    int e2e = strcmp(g.mode, "e2e") == 0, put = strcmp(g.mode, "put") == 0,
        drain = strcmp(g.mode, "drain") == 0;
    /* Each mode runs exactly the tasks it names. */
    if (g.n <= 0 || g.producers < 0 || g.consumers < 0 ||
        !(e2e || put || drain) || (g.producers > 0) != (e2e || put) ||
        (g.consumers > 0) != (e2e || drain)) {
        fprintf(stderr, "aqredis: bad arguments (see the file's header)\n");
        return 2;
    }
    g.to_put = g.producers ? g.n : 0;
    g.to_get = g.consumers ? g.n : 0;
    ok(aq_run(bench, NULL, NULL), "aq_run");
    /* The sum of 0 .. n-1: every item got once, none lost or doubled. */
    uint64_t want = (uint64_t)g.n * (uint64_t)(g.n - 1) / 2;
    if (e2e && g.sum != want) {
        fprintf(stderr, "aqredis: sum %llu, want %llu\n",
                (unsigned long long)g.sum, (unsigned long long)want);
        return 1;
    }
    return 0;
}
