/* libaq-redis - opening and closing a handle: the address, the two
 * connections and what each new connection sends first, the group, the
 * take-back of this member's own entries, the keeper task. MIT licensed.
 *
 * Invariants:
 * - A handle is its opening task's loop's: every call checks it
 *   (aq__rq_enter), since hiredis and the slots are not thread-safe.
 * - Nothing is looked up: the host must be numeric, for a lookup would
 *   block the loop (hiredis' connect calls getaddrinfo).
 * - Close frees nothing a parked task still uses (q->calls), and stops
 *   the keeper and the drivers before freeing the slots their callbacks
 *   may still complete.
 */
#include "redis/redis.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- open and close ------------------------------------------------------ */

/* A new connection: w reloads the scripts before anything else goes out
 * on it. After a reconnection of either, what was in flight may have
 * been delivered to this member with its reply lost: the keeper takes
 * this member's own pending entries back (it can wait out a LOADING
 * server; a hook cannot). */
static void w_up(aq__rq_conn *c, void *arg)
{
    aq_redis_queue *q = arg;
    aq__rq_scripts_load(q);
    if (c->ever_up) {
        q->take_back = 1;
        aq_event_set(q->keep);
    }
}

static void r_up(aq__rq_conn *c, void *arg)
{
    aq_redis_queue *q = arg;
    if (c->ever_up) {
        q->take_back = 1;
        aq_event_set(q->keep);
    }
    aq__rq_read(q);
}

static char *dup_cat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb + 1);
    }
    return s;
}

/* "host:port" with a numeric host, an IPv6 one in brackets ("[::1]:6379"):
 * hiredis would look a name up with getaddrinfo, blocking the loop. */
static int parse_addr(aq_redis_queue *q, const char *addr)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr)
        return aq_einval("address has no ':port'");
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || !isdigit((unsigned char)colon[1]) ||
        port <= 0 || port > 65535)
        return aq_einval("address's port is not a number in 1..65535");
    size_t len = (size_t)(colon - addr); /* >= 1 */
    int bracketed = addr[0] == '[' && len >= 2 && addr[len - 1] == ']';
    if (bracketed)
        addr++, len -= 2;
    char host[INET6_ADDRSTRLEN];
    unsigned char bin[sizeof(struct in6_addr)];
    if (len == 0 || len >= sizeof host)
        return aq_einval("address's host is empty or too long");
    memcpy(host, addr, len);
    host[len] = 0;
    if (bracketed ? inet_pton(AF_INET6, host, bin) != 1
                  : inet_pton(AF_INET, host, bin) != 1)
        return aq_einval(bracketed || strchr(host, ':')
                             ? "address's host is not a numeric IPv6 "
                               "address in brackets ([::1]:6379)"
                             : "address's host is not a numeric IPv4 or "
                               "IPv6 address");
    q->host = strdup(host);
    q->port = (int)port;
    return q->host ? AQ_OK : AQ_ENOMEM;
}

static void queue_free(aq_redis_queue *q)
{
    aq__rq_task_stop(&q->keeper);
    aq__rq_conn_stop(&q->r);
    aq__rq_conn_stop(&q->w);
    aq__rq_batch_free(q);
    if (q->keep)
        aq_event_free(q->keep);
    aq__rq_slot_free_list(q->getters); /* none by now: no call runs */
    aq__rq_slot_free_list(q->spare);
    free(q->held);
    free(q->gone);
    free(q->host);
    free(q->stream);
    free(q->group);
    free(q->consumer);
    free(q->flag_key);
    free(q->dead_key);
    free(q->acked_key);
    free(q);
}

/* Does a stream name end as one of a queue's own keys (open_config:
 * "<stream>:shutdown" and the others)? Such a queue and that other one
 * would write into each other's keys. */
static int reserved(const char *stream)
{
    static const char *const ends[] = {":acked", ":shutdown", ":dead"};
    size_t n = strlen(stream);
    for (size_t i = 0; i < sizeof ends / sizeof *ends; i++) {
        size_t k = strlen(ends[i]);
        if (n >= k && strcmp(stream + n - k, ends[i]) == 0)
            return 1;
    }
    return 0;
}

/* Durations are added to aq_now() and sent to the server in ms: one
 * near INT64_MAX overflowed both (a reviewer's reproducer: an open with
 * connect_timeout INT64_MAX failed at once, and a block of INT64_MAX made
 * every read fail with 'ERR timeout is negative'). The longest a duration
 * is taken to be: a century, later than any clock value plus itself;
 * a read round blocks an hour at most (the get just makes more rounds). */
#define RQ_DURATION_MAX ((int64_t)100 * 365 * 24 * 3600 * AQ_SEC)
#define RQ_BLOCK_MAX ((int64_t)3600 * AQ_SEC)

static int64_t at_most(int64_t ns, int64_t max)
{
    return ns > max ? max : ns;
}

static int open_config(aq_redis_queue *q, const aq_redis_config *cfg)
{
    const char *addr =
        cfg->addr && *cfg->addr ? cfg->addr : getenv("AQ_REDIS");
    int rc = parse_addr(q, addr && *addr ? addr : "127.0.0.1:6379");
    if (rc != AQ_OK)
        return rc;
    char me[300];
    if (!cfg->consumer) { /* one name per handle: see redis.h */
        static _Atomic long handles;
        char host[256] = "host";
        gethostname(host, sizeof host - 1);
        snprintf(me, sizeof me, "%s-%ld-%ld", host, (long)getpid(),
                 ++handles);
    }
    q->stream = strdup(cfg->stream);
    q->group = strdup(cfg->group ? cfg->group : "aq");
    q->consumer = strdup(cfg->consumer ? cfg->consumer : me);
    q->flag_key = dup_cat(cfg->stream, ":shutdown");
    q->dead_key = dup_cat(cfg->stream, ":dead");
    q->acked_key = dup_cat(cfg->stream, ":acked");
    if (!q->stream || !q->group || !q->consumer || !q->flag_key ||
        !q->dead_key || !q->acked_key)
        return AQ_ENOMEM;
    q->item_size = cfg->item_size;
    q->stride = (sizeof(aq__rq_held) + cfg->item_size + 7) & ~(size_t)7;
    q->maxsize = cfg->maxsize > 0 ? cfg->maxsize : 0;
    /* The server counts whole milliseconds: a part of one is rounded up
     * (sent as 0, it would take live members' entries at once), and a
     * sweep comes at most once a millisecond (a few ns apart, the keeper
     * of a handle with nothing to send never yielded; claim_idle / 3 of
     * 1 or 2 ns, 0, turned sweeps off). */
    int64_t idle = at_most(
        cfg->claim_idle > 0 ? cfg->claim_idle : 30 * AQ_SEC, RQ_DURATION_MAX);
    q->claim_idle = (idle + AQ_MSEC - 1) / AQ_MSEC * AQ_MSEC;
    q->sweep_every =
        at_most(cfg->sweep_every ? cfg->sweep_every : q->claim_idle / 3,
                RQ_DURATION_MAX);
    if (q->sweep_every > 0 && q->sweep_every < AQ_MSEC)
        q->sweep_every = AQ_MSEC;
    q->max_deliveries = cfg->max_deliveries > 0 ? cfg->max_deliveries : 5;
    q->prefetch = cfg->prefetch > 0 ? cfg->prefetch : 0;
    q->block =
        at_most(cfg->block > 0 ? cfg->block : 100 * AQ_MSEC, RQ_BLOCK_MAX);
    q->connect_timeout =
        at_most(cfg->connect_timeout > 0 ? cfg->connect_timeout : 5 * AQ_SEC,
                RQ_DURATION_MAX);
    q->getters_tail = &q->getters;
    strcpy(q->cursor[0].s, "0-0"); /* sweeps start at the start (a
                                      take-back always does: recover.c) */
    for (int kind = 0; kind < RQ_NBATCH; kind++)
        q->batch[kind].tail = &q->batch[kind].head;
    return AQ_OK;
}

static int scripts_loaded(const aq_redis_queue *q)
{
    for (int i = 0; i < RQ_NSCRIPTS; i++)
        if (!q->sha[i][0])
            return 0;
    return 1;
}

static int open_server(aq_redis_queue *q)
{
    int64_t deadline = aq_now() + q->connect_timeout;
    int rc = aq_event_new(&q->keep);
    q->w.before_write = aq__rq_batch_flush;
    if (rc == AQ_OK)
        rc = aq__rq_conn_start(&q->w, q->host, q->port, w_up, q);
    if (rc == AQ_OK)
        rc = aq__rq_conn_start(&q->r, q->host, q->port, r_up, q);
    if (rc != AQ_OK)
        return rc;
    /* Queued after the scripts' loading on the same connection, so its
     * reply says they are loaded; sent whole (EVAL), since their SHAs are
     * not known yet. */
    const char *argv[] = {"EVAL",    aq__rq_create_src, "2",
                          q->stream, q->acked_key,      q->group};
    size_t lens[6];
    for (int i = 0; i < 6; i++)
        lens[i] = strlen(argv[i]);
    rc = aq__rq_call(q, NULL, 6, argv, lens, deadline, NULL, NULL);
    if (rc == AQ_ETIMEDOUT && q->w.last_error)
        return q->w.last_error;
    if (rc != AQ_OK)
        return rc;
    if (!scripts_loaded(q)) {
        /* A server still loading its data refused the loads queued at
         * connect (LOADING); the create's call waited that out, so load
         * them again, a reply on the same connection saying when. */
        const char *ping[] = {"PING"};
        size_t ping_len[] = {4};
        aq__rq_scripts_load(q);
        rc = aq__rq_call(q, NULL, 1, ping, ping_len, deadline, NULL, NULL);
        if (rc != AQ_OK)
            return rc;
    }
    if (!scripts_loaded(q))
        return AQ_ESERVER;
    rc = aq__rq_take(q, 1, deadline);
    if (rc < 0)
        return rc;
    return aq_loop_spawn(q->loop, &q->keeper, aq__rq_keeper, q, RQ_STACK);
}

/* The server's message when an open fails with AQ_ESERVER: there is no
 * handle to ask then. Per thread, as loops are. */
static _Thread_local char open_error[sizeof ((aq_redis_queue *)0)->err];

int aq_redis_queue_open(aq_redis_queue **out, const aq_redis_config *cfg)
{
    aq_task *self = aq_task_self();
    if (!self)
        return AQ_EPERM;
    open_error[0] = 0;
    if (!out || !cfg)
        return aq_einval("out or cfg is NULL");
    if (!cfg->stream || !cfg->stream[0])
        return aq_einval("cfg->stream is NULL or empty");
    if (reserved(cfg->stream))
        return aq_einval("cfg->stream ends in :acked, :shutdown or :dead, "
                         "the name of another queue's key");
    if ((cfg->group && !cfg->group[0]) ||
        (cfg->consumer && !cfg->consumer[0]))
        return aq_einval("cfg->group or cfg->consumer is empty (NULL: the "
                         "default)");
    if (cfg->item_size == 0 || cfg->item_size > AQ_REDIS_ITEM_MAX)
        return aq_einval("cfg->item_size is 0 or above AQ_REDIS_ITEM_MAX");
    aq_redis_queue *q = calloc(1, sizeof *q);
    if (!q)
        return AQ_ENOMEM;
    q->loop = aq_loop_current();
    int rc = open_config(q, cfg); /* the address's check among them */
    if (rc == AQ_OK && aq__rq_cancel_due(self))
        rc = AQ_ECANCELED; /* after every argument check (aq.h) */
    if (rc == AQ_OK)
        rc = open_server(q);
    if (rc < 0) {
        if (rc == AQ_ESERVER)
            memcpy(open_error, q->err, sizeof open_error);
        queue_free(q);
        return rc;
    }
    *out = q;
    return AQ_OK;
}

int aq_redis_queue_close(aq_redis_queue *q)
{
    if (!aq_task_self())
        return AQ_EPERM;
    if (!q)
        return aq_einval("queue is NULL");
    if (aq_loop_current() != q->loop)
        return aq_einval("queue belongs to another loop");
    if (q->calls > 0 || q->closing)
        return AQ_EBUSY;
    /* queue_free suspends (the drivers end): a call or a second close
     * made meanwhile must not start on a handle about to be freed (a
     * reviewer's reproducers: heap-use-after-free, a double free). */
    q->closing = 1;
    queue_free(q);
    return AQ_OK;
}

const char *aq_redis_queue_error(const aq_redis_queue *q)
{
    const char *e = q ? q->err : open_error;
    return e[0] ? e : NULL;
}
