/* The member that tests/redis/lossy_link.py cuts off mid-acknowledgement:
 * it puts and gets one entry, waits for the go on stdin (the link is armed
 * to cut then), acknowledges, tries to get once more and prints what it
 * saw, one "name value" line each. Address in argv[1]. */
#include <aq.h>
#include <aq/redis.h>

#include <stdint.h>
#include <stdio.h>

static const char *addr;

static void *member(void *arg)
{
    (void)arg;
    aq_redis_config cfg = {.addr = addr, .stream = "lossy",
                           .consumer = "m1", .item_size = 8,
                           .sweep_every = -1}; /* only the ack crosses */
    aq_redis_queue *q;
    int rc = aq_redis_queue_open(&q, &cfg);
    printf("open %s\n", aq_errname(rc));
    if (rc != AQ_OK)
        return NULL;
    uint64_t v = 42;
    printf("put %s\n", aq_errname(aq_redis_queue_put(q, &v)));
    printf("get %s\n", aq_errname(aq_redis_queue_get(q, &v)));
    fflush(stdout);
    getchar();
    printf("task_done %s\n", aq_errname(aq_redis_queue_task_done(q)));
    /* Acknowledged: a take-back after the reconnection must not hand it
     * out again. */
    rc = aq_redis_queue_get_until(q, &v, aq_now() + 300 * AQ_MSEC);
    printf("get_again %s\n", aq_errname(rc));
    aq_redis_stats st;
    aq_redis_queue_stats(q, &st);
    printf("acks %ld\nacks_late %ld\nreconnects %ld\n", st.acks,
           st.acks_late, st.reconnects);
    aq_redis_queue_close(q);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    addr = argv[1];
    return aq_run(member, NULL, NULL) != AQ_OK;
}
