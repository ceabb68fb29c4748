/* libaq-redis - the queue: open and close, put, acknowledgements, join,
 * shutdown; and the round trip every call makes. MIT licensed.
 *
 * Invariants:
 * - One command, one slot (redis.h): the reply's callback writes only
 *   into the slot, never into a caller's frame, and a caller that left
 *   early leaves the slot to the callback. A deadline or a cancel that
 *   races the reply loses nothing: a caller that finds its slot DONE
 *   takes the outcome even if its wait said timed out or cancelled
 *   (completed beats cancelled, as everywhere in libaq).
 * - A reply lost with its connection (NULL) makes the caller send again
 *   once reconnected: every command this file sends is safe to repeat
 *   (a put may then store its item twice, which at-least-once allows).
 * - q->calls counts the public calls under way, so close can refuse to
 *   free what a parked task still uses.
 */
#include "redis/redis.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- slots and the round trip ------------------------------------------ */

rq_slot *rq_slot_take(aq_redis_queue *q)
{
    rq_slot *s = q->spare;
    if (s) {
        q->spare = s->next;
    } else {
        s = calloc(1, sizeof *s + q->item_size);
        if (!s)
            return NULL;
        if (aq_event_new(&s->done) != AQ_OK) {
            free(s);
            return NULL;
        }
        s->q = q;
    }
    s->next = NULL;
    s->state = RQ_WAIT;
    s->rc = AQ_OK;
    s->n = 0;
    s->retry = RQ_RETRY_NONE;
    aq_event_clear(s->done);
    return s;
}

void rq_slot_put(aq_redis_queue *q, rq_slot *s)
{
    s->next = q->spare;
    q->spare = s;
}

static void slot_free_list(rq_slot *s)
{
    while (s) {
        rq_slot *next = s->next;
        aq_event_free(s->done);
        free(s);
        s = next;
    }
}

void rq_note_error(aq_redis_queue *q, const redisReply *r)
{
    snprintf(q->err, sizeof q->err, "%.*s", (int)r->len, r->str);
}

/* Completes s with reply r (NULL: the connection was lost). */
void rq_reply_done(rq_slot *s, const redisReply *r)
{
    if (s->state == RQ_GONE) {
        rq_slot_put(s->q, s);
        return;
    }
    s->state = RQ_DONE;
    if (!r) {
        s->rc = -ECONNRESET;
    } else if (r->type == REDIS_REPLY_ERROR) {
        s->rc = AQ_ESERVER;
        s->retry = strncmp(r->str, "NOSCRIPT", 8) == 0  ? RQ_RETRY_SCRIPTS
                   : strncmp(r->str, "LOADING", 7) == 0 ? RQ_RETRY_LATER
                                                        : RQ_RETRY_NONE;
        rq_note_error(s->q, r);
    } else {
        s->rc = AQ_OK;
        s->n = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    }
    aq_event_set(s->done);
}

static void reply_cb(redisAsyncContext *ac, void *r, void *priv)
{
    (void)ac;
    rq_reply_done(priv, r);
}

/* Sleeps *pause (never past deadline) before a call asks the server
 * again, then doubles *pause up to 20 ms: Redis cannot tell a waiter
 * when room comes, the stream empties or its data is loaded. */
int rq_back_off(int64_t *pause, int64_t deadline)
{
    int64_t wake = aq_now() + *pause;
    if (deadline != AQ_NEVER && wake > deadline)
        wake = deadline;
    int rc = aq_sleep_until(wake);
    if (rc == AQ_OK && deadline != AQ_NEVER && aq_now() >= deadline)
        rc = AQ_ETIMEDOUT;
    *pause = *pause * 2 > 20 * AQ_MSEC ? 20 * AQ_MSEC : *pause * 2;
    return rc;
}

/* Makes a call on the command connection through slot s (the caller's,
 * filled; given back here unless the caller leaves first) and waits for
 * its reply, sending again after a reconnection, after a NOSCRIPT (the
 * scripts loaded first) and, backing off, while the server is LOADING.
 * send puts the command on its way: at once (rq_call) or in a batch
 * (batch.c). *n: the integer reply. *resent (if not NULL): 1 if a reply
 * was lost on the way, so that the server may have run the command
 * twice. Returns the slot's code, or the wait's (AQ_ETIMEDOUT,
 * AQ_ECANCELED). */
int rq_call_with(aq_redis_queue *q, rq_slot *s, rq_send_fn *send,
                 const void *how, int64_t deadline, long long *n,
                 int *resent)
{
    int rc;
    int64_t pause = AQ_MSEC;
    if (resent)
        *resent = 0;
    for (;;) {
        rc = rq_conn_wait_up(&q->w, deadline);
        if (rc != AQ_OK)
            break;
        s->state = RQ_WAIT;
        aq_event_clear(s->done);
        rc = send(q, s, how);
        if (rc != AQ_OK)
            break;
        rc = aq_event_wait_until(s->done, deadline);
        if (s->state != RQ_DONE) {
            s->state = RQ_GONE; /* the callback or the flush frees it */
            return rc;
        }
        rc = s->rc;
        if (rc == -ECONNRESET) {
            if (resent)
                *resent = 1;
            continue;
        }
        if (rc == AQ_ESERVER && s->retry == RQ_RETRY_SCRIPTS) {
            rq_scripts_load(q); /* an admin flushed them */
            continue;
        }
        if (rc == AQ_ESERVER && s->retry == RQ_RETRY_LATER &&
            (rc = rq_back_off(&pause, deadline)) == AQ_OK)
            continue;
        break;
    }
    if (n)
        *n = s->n;
    rq_slot_put(q, s);
    return rc;
}

/* A command sent as it is (rq_call). */
typedef struct direct {
    redisCallbackFn *cb;
    int argc;
    const char **argv;
    const size_t *lens;
} direct;

static int send_direct(aq_redis_queue *q, rq_slot *s, const void *how)
{
    const direct *d = how;
    return rq_conn_send(&q->w, d->cb ? d->cb : reply_cb, s, d->argc,
                        d->argv, d->lens);
}

/* rq_call_with for argv, sent at once. cb: NULL for reply_cb, else a
 * callback that reads the reply and ends with rq_reply_done. */
int rq_call(aq_redis_queue *q, redisCallbackFn *cb, int argc,
            const char **argv, const size_t *lens, int64_t deadline,
            long long *n, int *resent)
{
    rq_slot *s = rq_slot_take(q);
    if (!s)
        return AQ_ENOMEM;
    direct d = {cb, argc, argv, lens};
    return rq_call_with(q, s, send_direct, &d, deadline, n, resent);
}

/* Whether the calling task's cancellation applies now (not shielded). */
static int cancel_due(aq_task *self)
{
    if (!aq_task_cancelled(self))
        return 0;
    int shielded = aq_task_shield(1);
    aq_task_shield(shielded);
    return !shielded;
}

/* The checks every public suspending call begins with, in <aq.h>'s
 * order (outside a task, then the arguments, args_ok saying whether the
 * call's own are valid, then a cancel); counts the call in. */
int rq_enter(aq_redis_queue *q, int args_ok)
{
    aq_task *self = aq_task_self();
    if (!self)
        return AQ_EPERM;
    if (!q || aq_loop_current() != q->loop || !args_ok)
        return AQ_EINVAL;
    if (cancel_due(self))
        return AQ_ECANCELED;
    q->calls++;
    return AQ_OK;
}
#define LEAVE(q, rc) return ((q)->calls--, (rc))

/* ---- open and close ------------------------------------------------------ */

/* A new connection: w reloads the scripts before anything else goes out
 * on it. After a reconnection of either, what was in flight may have
 * been delivered to this member with its reply lost: the keeper takes
 * this member's own pending entries back (it can wait out a LOADING
 * server; a hook cannot). */
static void w_up(rq_conn *c, void *arg)
{
    aq_redis_queue *q = arg;
    rq_scripts_load(q);
    if (c->ever_up) {
        q->take_back = 1;
        aq_event_set(q->keep);
    }
}

static void r_up(rq_conn *c, void *arg)
{
    aq_redis_queue *q = arg;
    if (c->ever_up) {
        q->take_back = 1;
        aq_event_set(q->keep);
    }
    rq_read(q);
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

/* "host:port" with a numeric host ("[::1]:6379" too): hiredis would look
 * a name up with getaddrinfo, blocking the loop. */
static int parse_addr(aq_redis_queue *q, const char *addr)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr)
        return AQ_EINVAL;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || !isdigit((unsigned char)colon[1]) ||
        port <= 0 || port > 65535)
        return AQ_EINVAL;
    size_t len = (size_t)(colon - addr);
    if (addr[0] == '[' && addr[len - 1] == ']')
        addr++, len -= 2;
    char host[INET6_ADDRSTRLEN];
    unsigned char bin[sizeof(struct in6_addr)];
    if (len == 0 || len >= sizeof host)
        return AQ_EINVAL;
    memcpy(host, addr, len);
    host[len] = 0;
    if (inet_pton(AF_INET, host, bin) != 1 &&
        inet_pton(AF_INET6, host, bin) != 1)
        return AQ_EINVAL;
    q->host = strdup(host);
    q->r.port = q->w.port = (int)port;
    return q->host ? AQ_OK : AQ_ENOMEM;
}

static void queue_free(aq_redis_queue *q)
{
    rq_task_stop(&q->keeper);
    rq_conn_stop(&q->r);
    rq_conn_stop(&q->w);
    rq_batch_free(q);
    if (q->keep)
        aq_event_free(q->keep);
    slot_free_list(q->getters); /* all GONE by now */
    slot_free_list(q->spare);
    free(q->held);
    free(q->host);
    free(q->stream);
    free(q->group);
    free(q->consumer);
    free(q->flag_key);
    free(q->dead_key);
    free(q->acked_key);
    free(q);
}

static int open_config(aq_redis_queue *q, const aq_redis_config *cfg)
{
    const char *addr = cfg->addr ? cfg->addr : getenv("AQ_REDIS");
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
    q->stride = (sizeof(rq_held) + cfg->item_size + 7) & ~(size_t)7;
    q->maxsize = cfg->maxsize > 0 ? cfg->maxsize : 0;
    q->claim_idle = cfg->claim_idle > 0 ? cfg->claim_idle : 30 * AQ_SEC;
    q->sweep_every = cfg->sweep_every ? cfg->sweep_every : q->claim_idle / 3;
    q->max_deliveries = cfg->max_deliveries > 0 ? cfg->max_deliveries : 5;
    q->prefetch = cfg->prefetch > 0 ? cfg->prefetch : 0;
    q->block = cfg->block > 0 ? cfg->block : 100 * AQ_MSEC;
    q->connect_timeout =
        cfg->connect_timeout > 0 ? cfg->connect_timeout : 5 * AQ_SEC;
    q->getters_tail = &q->getters;
    for (int kind = 0; kind < RQ_NBATCH; kind++)
        q->batch[kind].tail = &q->batch[kind].head;
    return AQ_OK;
}

static int open_server(aq_redis_queue *q)
{
    int64_t deadline = aq_now() + q->connect_timeout;
    int rc = aq_event_new(&q->keep);
    q->w.before_write = rq_batch_flush;
    if (rc == AQ_OK)
        rc = rq_conn_start(&q->w, q->host, q->w.port, w_up, q);
    if (rc == AQ_OK)
        rc = rq_conn_start(&q->r, q->host, q->r.port, r_up, q);
    if (rc != AQ_OK)
        return rc;
    /* Queued after the scripts' loading on the same connection, so its
     * reply says they are loaded; sent whole (EVAL), since their SHAs are
     * not known yet. */
    const char *argv[] = {"EVAL", rq_script_src[RQ_CREATE], "2", q->stream,
                          q->acked_key, q->group};
    size_t lens[6];
    for (int i = 0; i < 6; i++)
        lens[i] = strlen(argv[i]);
    rc = rq_call(q, NULL, 6, argv, lens, deadline, NULL, NULL);
    if (rc == AQ_ETIMEDOUT && q->w.last_error)
        return q->w.last_error;
    if (rc != AQ_OK)
        return rc;
    for (int i = 0; i < RQ_NSCRIPTS; i++)
        if (!q->sha[i][0])
            return AQ_ESERVER;
    rc = rq_take(q, 1, deadline);
    if (rc < 0)
        return rc;
    return aq_loop_spawn(q->loop, &q->keeper, rq_keeper, q, RQ_STACK);
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
    if (!out || !cfg || !cfg->stream || !cfg->stream[0] ||
        cfg->item_size == 0 || cfg->item_size > AQ_REDIS_ITEM_MAX)
        return AQ_EINVAL;
    if (cancel_due(self))
        return AQ_ECANCELED;
    aq_redis_queue *q = calloc(1, sizeof *q);
    if (!q)
        return AQ_ENOMEM;
    q->loop = aq_loop_current();
    int rc = open_config(q, cfg);
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
    if (!q || aq_loop_current() != q->loop)
        return AQ_EINVAL;
    if (q->calls > 0)
        return AQ_EBUSY;
    queue_free(q);
    return AQ_OK;
}

/* ---- put ----------------------------------------------------------------- */

static const int batch_put = RQ_BATCH_PUT, batch_ack = RQ_BATCH_ACK;

int aq_redis_queue_put_until(aq_redis_queue *q, const void *item,
                             int64_t deadline)
{
    int rc = rq_enter(q, item != NULL);
    if (rc != AQ_OK)
        return rc;
    int64_t pause = AQ_MSEC;
    for (;;) {
        rq_slot *s = rq_slot_take(q);
        if (!s)
            LEAVE(q, AQ_ENOMEM);
        memcpy(s->item, item, q->item_size);
        long long n;
        rc = rq_call_with(q, s, rq_batch_add, &batch_put, deadline, &n,
                          NULL);
        if (rc != AQ_OK || n == 0) /* 0: the id came back */
            break;
        if (n == -1) {
            q->shut = q->shut ? q->shut : 1;
            rc = AQ_ESHUTDOWN;
            break;
        }
        rc = rq_back_off(&pause, deadline); /* full: ask again later */
        if (rc != AQ_OK)
            break;
    }
    LEAVE(q, rc);
}

int aq_redis_queue_put(aq_redis_queue *q, const void *item)
{
    return aq_redis_queue_put_until(q, item, AQ_NEVER);
}

/* ---- acknowledgements ------------------------------------------------------ */

static int valid_id(const char *s)
{
    size_t n = strnlen(s, AQ_REDIS_ID_MAX);
    if (n == AQ_REDIS_ID_MAX || n == 0)
        return 0;
    const char *dash = strchr(s, '-');
    if (!dash || dash == s || !dash[1])
        return 0;
    for (const char *p = s; *p; p++)
        if (p != dash && (*p < '0' || *p > '9'))
            return 0;
    return 1;
}

/* Acknowledges id. A held entry stays held, marked acking, until the
 * outcome is known: a take after a reconnection meanwhile must not hand
 * it out again. */
static int ack_id(aq_redis_queue *q, const char *id)
{
    for (size_t i = 0; i < q->nheld; i++)
        if (strcmp(rq_held_at(q, i)->id.s, id) == 0)
            rq_held_at(q, i)->acking = 1;
    rq_slot *s = rq_slot_take(q);
    if (!s)
        return AQ_ENOMEM;
    snprintf(s->id.s, sizeof s->id.s, "%s", id);
    long long n;
    int resent;
    int rc = rq_call_with(q, s, rq_batch_add, &batch_ack, AQ_NEVER, &n,
                          &resent);
    /* Done with, whatever came: an ack that did not land lets the entry
     * go idle, and a sweep hands it out again. */
    for (size_t i = 0; i < q->nheld; i++)
        if (strcmp(rq_held_at(q, i)->id.s, id) == 0) {
            rq_held_remove(q, i);
            break;
        }
    if (rc != AQ_OK)
        return rc;
    /* An ack sent again after its reply was lost finds the entry gone
     * when the first one took it: this member held it, touched, so no
     * other member could have. */
    if (n == 1 || resent) {
        q->st.acks++;
        return AQ_OK;
    }
    q->st.acks_late++;
    return AQ_EALREADY;
}

int aq_redis_queue_ack(aq_redis_queue *q, const aq_redis_id *id)
{
    int rc = rq_enter(q, id && valid_id(id->s));
    if (rc != AQ_OK)
        return rc;
    aq_redis_id copy = *id; /* the held record it may name goes first */
    LEAVE(q, ack_id(q, copy.s));
}

int aq_redis_queue_task_done(aq_redis_queue *q)
{
    int rc = rq_enter(q, 1);
    if (rc != AQ_OK)
        return rc;
    aq_task *self = aq_task_self();
    for (size_t i = 0; i < q->nheld; i++) {
        rq_held *h = rq_held_at(q, i);
        if (h->task == self && !h->acking) {
            aq_redis_id id = h->id;
            LEAVE(q, ack_id(q, id.s));
        }
    }
    LEAVE(q, AQ_EINVAL);
}

/* ---- join, shutdown, size ------------------------------------------------ */

/* The entries not yet acknowledged (the len script): for "join", -1
 * after an immediate shutdown. */
static int count(aq_redis_queue *q, const char *what, int64_t deadline,
                 long long *n)
{
    const char *argv[] = {"EVALSHA", q->sha[RQ_LEN], "3", q->stream,
                          q->flag_key, q->acked_key, what};
    size_t lens[7];
    for (int i = 0; i < 7; i++)
        lens[i] = strlen(argv[i]);
    return rq_call(q, NULL, 7, argv, lens, deadline, n, NULL);
}

int aq_redis_queue_join_until(aq_redis_queue *q, int64_t deadline)
{
    int rc = rq_enter(q, 1);
    if (rc != AQ_OK)
        return rc;
    int64_t pause = AQ_MSEC;
    for (;;) {
        long long n;
        rc = count(q, "join", deadline, &n);
        if (rc != AQ_OK || n == 0)
            break;
        if (n < 0) {
            rc = AQ_ESHUTDOWN;
            break;
        }
        rc = rq_back_off(&pause, deadline);
        if (rc != AQ_OK)
            break;
    }
    LEAVE(q, rc);
}

int aq_redis_queue_join(aq_redis_queue *q)
{
    return aq_redis_queue_join_until(q, AQ_NEVER);
}

int aq_redis_queue_shutdown(aq_redis_queue *q, int immediate)
{
    int rc = rq_enter(q, 1);
    if (rc != AQ_OK)
        return rc;
    /* Graceful never overwrites immediate (NX); immediate always wins. */
    const char *argv[] = {"SET", q->flag_key, immediate ? "2" : "1", "NX"};
    size_t lens[] = {3, strlen(q->flag_key), 1, 2};
    rc = rq_call(q, NULL, immediate ? 3 : 4, argv, lens, AQ_NEVER, NULL,
                 NULL);
    if (rc == AQ_OK) {
        if (immediate)
            q->shut = 2;
        else if (!q->shut)
            q->shut = 1;
        if (q->shut == 2)
            rq_getters_fail(q, AQ_ESHUTDOWN);
        rq_read(q);
    }
    LEAVE(q, rc);
}

int aq_redis_queue_delete(aq_redis_queue *q)
{
    int rc = rq_enter(q, 1);
    if (rc != AQ_OK)
        return rc;
    const char *argv[] = {"DEL", q->stream, q->flag_key, q->acked_key};
    size_t lens[] = {3, strlen(q->stream), strlen(q->flag_key),
                     strlen(q->acked_key)};
    rc = rq_call(q, NULL, 4, argv, lens, AQ_NEVER, NULL, NULL);
    LEAVE(q, rc);
}

int aq_redis_queue_qsize(aq_redis_queue *q, long *n)
{
    int rc = rq_enter(q, n != NULL);
    if (rc != AQ_OK)
        return rc;
    long long len;
    rc = count(q, "size", AQ_NEVER, &len);
    if (rc == AQ_OK)
        *n = (long)len;
    LEAVE(q, rc);
}

int aq_redis_queue_stats(const aq_redis_queue *q, aq_redis_stats *out)
{
    if (!q || !out)
        return AQ_EINVAL;
    *out = q->st;
    out->reconnects = q->w.reconnects + q->r.reconnects;
    out->commands = q->w.commands + q->r.commands;
    out->writes = q->w.writes + q->r.writes;
    return AQ_OK;
}

const char *aq_redis_queue_error(const aq_redis_queue *q)
{
    const char *e = q ? q->err : open_error;
    return e[0] ? e : NULL;
}
