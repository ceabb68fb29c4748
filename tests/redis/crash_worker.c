/* libaq-redis crash test: one process of tests/redis/crash.py's run.
 *
 *   crash_worker produce N LOG
 *       puts sequence numbers 0..N-1, waits with join until every entry
 *       is acknowledged, then shuts the queue down (graceful).
 *   crash_worker consume NAME TASKS WORK_MS CLAIM_IDLE_MS LOG
 *       member NAME with TASKS tasks, each getting an entry, working on
 *       it for WORK_MS (a sleep), then acknowledging it, until the
 *       shutdown.
 *
 * The server's address comes from AQ_REDIS. Every event goes to LOG as
 * one line, written through at its newline, so that what a SIGKILL
 * interrupts is still on file: crash.py reads the logs to account for
 * every item. Times are aq_now() (CLOCK_MONOTONIC, the clock of Python's
 * time.monotonic_ns), comparable across the processes.
 *
 *   put SEQ RC                     producer, per put
 *   join RC / shutdown RC          producer
 *   start SEQ ID TASK NS           consumer: processing begins
 *   end SEQ ID TASK NS             consumer: processing done
 *   ack SEQ ID TASK NS RC          consumer: task_done's outcome
 *   stats PUTS GETS ACKS LATE RECLAIMED DEAD RECONNECTS
 *                                  both, before closing
 *   error WHAT RC [MESSAGE]        anything else that failed, with the
 *                                  server's error message if any
 *
 * Exit status 0 when every call went as expected, 1 otherwise.
 */
#include <aq.h>
#include <aq/redis.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM "crash"
#define MAX_TASKS 16

static FILE *log_file;
static aq_redis_queue *queue;
static int failed;

/* The command line, parsed once by main. */
static const char *name;
static long count, ntasks;
static int64_t work, claim_idle;

static int logged_error(const char *what, int rc)
{
    const char *why = queue ? aq_redis_queue_error(queue) : NULL;
    fprintf(log_file, "error %s %s %s\n", what, aq_errname(rc),
            why ? why : "");
    failed = 1;
    return rc;
}

static void log_stats(void)
{
    aq_redis_stats st;
    aq_redis_queue_stats(queue, &st);
    fprintf(log_file, "stats %ld %ld %ld %ld %ld %ld %ld\n", st.puts,
            st.gets, st.acks, st.acks_late, st.reclaimed, st.dead,
            st.reconnects);
}

static int open_queue(const char *consumer, int64_t idle)
{
    aq_redis_config cfg = {0};
    cfg.stream = STREAM;
    cfg.consumer = consumer;
    cfg.item_size = sizeof(uint64_t);
    /* Bounded, so that the producer is still putting when crash.py
     * restarts the server: puts are then cut by the restart too. */
    cfg.maxsize = 64;
    cfg.claim_idle = idle;
    int rc = aq_redis_queue_open(&queue, &cfg);
    return rc == AQ_OK ? rc : logged_error("open", rc);
}

static void *produce(void *arg)
{
    (void)arg;
    /* Configured as a consumer is, sweeps included: a producer's sweeps
     * must take none of the dead consumer's entries (it would hold them
     * and never work on them), which the end's checks would show. */
    if (open_queue("producer", claim_idle) != AQ_OK)
        return NULL;
    for (uint64_t seq = 0; seq < (uint64_t)count; seq++) {
        int rc = aq_redis_queue_put(queue, &seq);
        fprintf(log_file, "put %" PRIu64 " %s\n", seq, aq_errname(rc));
        if (rc != AQ_OK) {
            logged_error("put", rc);
            break;
        }
    }
    if (!failed) {
        int rc = aq_redis_queue_join(queue);
        fprintf(log_file, "join %s\n", aq_errname(rc));
        failed = rc != AQ_OK;
    }
    if (!failed) {
        int rc = aq_redis_queue_shutdown(queue, 0);
        fprintf(log_file, "shutdown %s\n", aq_errname(rc));
        failed = rc != AQ_OK;
    }
    log_stats();
    aq_redis_queue_close(queue);
    return NULL;
}

static void *consume_task(void *arg)
{
    long task = (long)(intptr_t)arg;
    for (;;) {
        uint64_t seq;
        aq_redis_id id;
        int rc = aq_redis_queue_get_entry_until(queue, &seq, &id, AQ_NEVER);
        if (rc == AQ_ESHUTDOWN) /* drained: the producer's join is over */
            return NULL;
        if (rc != AQ_OK) {
            logged_error("get", rc);
            return NULL;
        }
        fprintf(log_file, "start %" PRIu64 " %s %ld %" PRId64 "\n", seq,
                id.s, task, aq_now());
        if ((rc = aq_sleep(work)) != AQ_OK) {
            logged_error("sleep", rc);
            return NULL;
        }
        fprintf(log_file, "end %" PRIu64 " %s %ld %" PRId64 "\n", seq, id.s,
                task, aq_now());
        rc = aq_redis_queue_task_done(queue);
        fprintf(log_file, "ack %" PRIu64 " %s %ld %" PRId64 " %s\n", seq,
                id.s, task, aq_now(), aq_errname(rc));
        /* AQ_EALREADY is at-least-once at work (another member took the
         * entry over), which crash.py counts; anything else is a fault. */
        if (rc != AQ_OK && rc != AQ_EALREADY)
            failed = 1;
    }
}

static void *consume(void *arg)
{
    aq_task *tasks[MAX_TASKS];
    long n;
    (void)arg;
    if (open_queue(name, claim_idle) != AQ_OK)
        return NULL;
    for (n = 0; n < ntasks; n++) {
        int rc = aq_spawn(&tasks[n], consume_task, (void *)(intptr_t)n);
        if (rc != AQ_OK) {
            logged_error("spawn", rc);
            break;
        }
    }
    int rc = aq_gather(tasks, (size_t)n, NULL);
    if (rc != AQ_OK)
        logged_error("gather", rc);
    for (long i = 0; i < n; i++)
        aq_task_release(tasks[i]);
    log_stats();
    aq_redis_queue_close(queue);
    return NULL;
}

static int usage(void)
{
    fputs("usage: crash_worker produce N CLAIM_IDLE_MS LOG\n"
          "       crash_worker consume NAME TASKS WORK_MS CLAIM_IDLE_MS "
          "LOG\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    aq_task_fn role;
    const char *path;
    if (argc == 5 && strcmp(argv[1], "produce") == 0) {
        role = produce;
        count = atol(argv[2]);
        claim_idle = atol(argv[3]) * AQ_MSEC;
        path = argv[4];
    } else if (argc == 7 && strcmp(argv[1], "consume") == 0) {
        role = consume;
        name = argv[2];
        ntasks = atol(argv[3]);
        work = atol(argv[4]) * AQ_MSEC;
        claim_idle = atol(argv[5]) * AQ_MSEC;
        path = argv[6];
        if (ntasks < 1 || ntasks > MAX_TASKS)
            return usage();
    } else {
        return usage();
    }
    log_file = fopen(path, "w");
    if (!log_file) {
        perror(path);
        return 1;
    }
    setvbuf(log_file, NULL, _IOLBF, 0);
    int rc = aq_run(role, NULL, NULL);
    if (rc != AQ_OK)
        logged_error("run", rc);
    fclose(log_file);
    return failed;
}
