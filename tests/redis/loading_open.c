/* The member that tests/redis/loading.py opens while the server is still
 * loading its data (LOADING): the open waits that out, loads its scripts
 * once the server takes them, and the queue then works. It prints one
 * "name value" line per step. Address in argv[1]. */
#include <aq.h>
#include <aq/redis.h>

#include <stdint.h>
#include <stdio.h>

static const char *addr;

static void *member(void *arg)
{
    (void)arg;
    aq_redis_config cfg = {.addr = addr, .stream = "loading",
                           .consumer = "m1", .item_size = 8,
                           .connect_timeout = 30 * AQ_SEC};
    aq_redis_queue *q;
    int64_t t0 = aq_now();
    int rc = aq_redis_queue_open(&q, &cfg);
    printf("open %s\n", aq_errname(rc));
    printf("open_ms %lld\n", (long long)((aq_now() - t0) / AQ_MSEC));
    if (rc != AQ_OK) {
        printf("error %s\n", aq_redis_queue_error(NULL));
        return NULL;
    }
    uint64_t v = 42, got = 0;
    printf("put %s\n", aq_errname(aq_redis_queue_put(q, &v)));
    printf("get %s\n", aq_errname(aq_redis_queue_get(q, &got)));
    printf("item %llu\n", (unsigned long long)got);
    printf("task_done %s\n", aq_errname(aq_redis_queue_task_done(q)));
    printf("close %s\n", aq_errname(aq_redis_queue_close(q)));
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: loading_open HOST:PORT\n");
        return 2;
    }
    addr = argv[1];
    int rc = aq_run(member, NULL, NULL);
    return rc == AQ_OK ? 0 : 1;
}
