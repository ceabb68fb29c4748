/* The member that tests/redis/late_reply.py drives: a get waits on a
 * blocked read; the go on stdin comes once an entry was added (the read
 * delivered it at the server), its reply held back by the relay and the
 * other connection cut. The take-back that follows the reconnection
 * hands the entry to the get, which acknowledges it; then the late reply
 * comes, and a second get must not be handed the entry again. Prints one
 * "name value" line per step. Address in argv[1]. With argv[2] "bad",
 * the entry is a bad item on stream "latebad": the take-back moves it to
 * the dead-letter stream, and the late reply must not move it again. */
#include <aq.h>
#include <aq/redis.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static aq_redis_queue *q;
static int bad; /* the entry is a bad item: no get is handed it */

static void *get_and_ack(void *arg)
{
    char *item = arg;
    int rc =
        aq_redis_queue_get_until(q, item, aq_now() + (bad ? 3 : 10) * AQ_SEC);
    printf("get %s\n", aq_errname(rc));
    if (rc == AQ_OK)
        printf("task_done %s\n", aq_errname(aq_redis_queue_task_done(q)));
    return NULL;
}

static void *member(void *arg)
{
    aq_redis_config cfg = {.addr = arg,
                           .stream = bad ? "latebad" : "late",
                           .consumer = "m1",
                           .item_size = 8,
                           .block = 3 * AQ_SEC,
                           .sweep_every = -1};
    int rc = aq_redis_queue_open(&q, &cfg);
    printf("open %s\n", aq_errname(rc));
    if (rc != AQ_OK)
        return NULL;
    char item[9] = "", again[9] = "";
    aq_task *t;
    aq_spawn(&t, get_and_ack, item);
    aq_sleep(200 * AQ_MSEC); /* its read blocked at the server */
    printf("ready\n");
    fflush(stdout);
    getchar();
    aq_task_wait(t, NULL);
    aq_task_release(t);
    printf("item %s\n", item);
    /* Past the late reply (the relay holds it 1 s). */
    rc = aq_redis_queue_get_until(q, again, aq_now() + 2 * AQ_SEC);
    printf("get_again %s\n", aq_errname(rc));
    if (rc == AQ_OK)
        printf("task_done_again %s\n",
               aq_errname(aq_redis_queue_task_done(q)));
    aq_redis_stats st;
    aq_redis_queue_stats(q, &st);
    printf("acks %ld\nacks_late %ld\nreconnects %ld\n", st.acks, st.acks_late,
           st.reconnects);
    printf("dead %ld\n", st.dead);
    aq_redis_queue_close(q);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3)
        return 2;
    bad = argc == 3 && strcmp(argv[2], "bad") == 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    return aq_run(member, argv[1], NULL) != AQ_OK;
}
