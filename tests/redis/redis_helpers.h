/* libaq-redis - helpers shared by the tests in tests/redis/, each run by
 * server.py against a real redis-server whose address is in AQ_REDIS.
 * MIT licensed. */
#ifndef AQ_REDIS_HELPERS_H
#define AQ_REDIS_HELPERS_H

#include "rt_helpers.h"

#include <aq/redis.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ITEM 8 /* bytes per item in these tests */

/* A config for a stream private to the calling test (the server is shared
 * by the tests of one file). */
static inline aq_redis_config cfg_for(const char *stream,
                                      const char *consumer)
{
    aq_redis_config c = {.stream = stream, .consumer = consumer,
                         .item_size = ITEM, .block = 50 * AQ_MSEC};
    return c;
}

static inline aq_redis_queue *open_q(const aq_redis_config *c)
{
    aq_redis_queue *q;
    int rc = aq_redis_queue_open(&q, c);
    if (rc != AQ_OK)
        t_fail(__FILE__, __LINE__, "open %s: %s (%s)", c->stream,
               aq_errname(rc), aq_strerror(rc));
    return q;
}

/* redis-cli against the test's server, its output (trimmed) in out. */
static inline void cli(char *out, size_t n, const char *fmt, ...)
{
    const char *addr = getenv("AQ_REDIS");
    ASSERT(addr != NULL);
    char host[64], cmd[1024], args[800];
    const char *colon = strrchr(addr, ':');
    ASSERT(colon && (size_t)(colon - addr) < sizeof host);
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "redis-cli --raw -h %s -p %s %s", host,
             colon + 1, args);
    FILE *p = popen(cmd, "r");
    ASSERT(p != NULL);
    size_t got = fread(out, 1, n - 1, p);
    out[got] = 0;
    while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == ' '))
        out[--got] = 0;
    ASSERT_EQ(pclose(p), 0);
}

static inline long cli_long(const char *fmt, const char *key)
{
    char out[64];
    cli(out, sizeof out, fmt, key);
    return atol(out);
}

#endif
