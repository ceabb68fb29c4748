/* A small Redis-protocol (RESP2) server on loopback whose lists are libaq
 * queues: one task per connection, blocking pops as queue gets.
 *
 *     resp_queue_server PORT        (PORT 0: the kernel picks one)
 *
 * It prints "resp_queue_server: listening on 127.0.0.1:PORT" once ready
 * and serves until SIGTERM or SIGINT, then exits 0 (see "Shutdown").
 *
 * Commands (names in any case, replies as Redis 7.0 gives them):
 *   PING [msg], ECHO msg, QUIT
 *   LPUSH key value [value ...], RPUSH key value [value ...]
 *   LPOP key [count], RPOP key [count], LLEN key, DEL key [key ...]
 *   BLPOP key [key ...] timeout, BRPOP key [key ...] timeout
 *     (timeout in seconds, fractions allowed, 0 = forever)
 *   CONFIG GET save | appendonly: "" and "no" (redis-benchmark asks at
 *     start); any other parameter: an empty array
 * Every key is a list; there are no strings, hashes or expiry.
 *
 * Lists. A Redis list is a deque: pushes and pops at both ends, in any
 * mix. No single libaq kind is one (a FIFO gives RPUSH + LPOP, a LIFO
 * LPUSH + LPOP), so a list here is two unbounded AQ_LIFO queues back to
 * back, the classic two-stack deque:
 *
 *     end[LEFT] (top = leftmost)   end[RIGHT] (top = rightmost)
 *     [ l0 l1 l2 ... lk | r0 r1 ... rm ]   as the list reads, left to right
 *
 * LPUSH puts on end[LEFT], RPUSH on end[RIGHT]; LPOP gets from end[LEFT],
 * RPOP from end[RIGHT]. A pop from an empty end first moves the nearer
 * half of the other end's items across (try_get_many, then try_put_many
 * each half back in stack order): O(1) amortised per item, as for any
 * two-stack deque. Every combination of the four is supported.
 *
 * Blocking pops. BLPOP waits on end[LEFT], BRPOP on end[RIGHT]: a get
 * with a deadline, which for several keys (or one) is one aq_select_until
 * with one AQ_GET clause per key. A pop waits only when the whole list is
 * empty, and a push onto a list with waiters goes to the end they wait on
 * (libaq then copies the item straight into the oldest waiter's buffer),
 * so waiters are never left waiting beside stored items. A multi-value
 * push onto a list with waiters serves them as Redis does: the whole
 * push first, then left waiters from the left end, then right waiters
 * from the right end (Redis serves both kinds in one arrival order; here
 * a BLPOP waiter goes before an older BRPOP waiter on the same key).
 *
 * The select has one more clause, AQ_READABLE on the client's socket: a
 * client that disconnects while blocked (or sends more commands, which
 * are buffered for after the pop, as Redis does) ends the select with no
 * get completed, so the item a later push brings stays in the list for
 * the next client. (A plain get_until could not tell: the dead client's
 * get would take the next item and lose it.) An item is lost only if the
 * client goes away after the get completed and before the reply is
 * written, as in Redis.
 *
 * Values. Queue items are fixed-size, so an item is a pointer to a value
 * (its length, then its bytes) on the heap; whoever takes it from a
 * queue frees it after replying. Each queue has a drop callback (policy
 * AQ_BLOCK, so nothing is ever dropped otherwise) that frees what it
 * still holds at aq_queue_free. An emptied list is freed once no task
 * waits on it, as Redis deletes empty keys.
 *
 * Protocol. examples/resp/resp_parse.c, a resumable parser per
 * connection, handles partial reads and pipelining: replies to a burst of
 * pipelined requests go out in one write. A malformed request, a bulk
 * string over 512 MiB, more than 1024 * 1024 arguments or an inline line
 * over 64 KiB gets "-ERR Protocol error: ..." and the connection is then
 * closed (no resynchronising inside a stream of unknown framing; Redis
 * does the same). A client whose unparsed input exceeds 1 GiB (Redis's
 * client-query-buffer-limit) is closed too. Other clients are not
 * affected.
 *
 * Shutdown. SIGTERM and SIGINT run a handler that calls aq_loop_stop,
 * which is async-signal-safe (an atomic store and a write(2) to the
 * loop's eventfd: aq_loop_keep_alive opened it). aq_run then cancels every
 * task: blocked pops end without taking anything, connections close, and
 * main frees the lists with their values and exits 0. The main task
 * ignores the two signals from the moment it stops serving, since aq_run
 * frees the loop once it has returned: a second signal (a repeated kill,
 * Ctrl-C after SIGTERM) must not reach a freed loop.
 *
 * Not implemented: other data types, LINDEX/LRANGE/LINSERT and friends,
 * BLMOVE, MULTI, pub/sub, persistence, AUTH, RESP3. Keys are hashed with
 * FNV-1a, unseeded: fine on loopback, not against hostile key choice. */
#define _POSIX_C_SOURCE 200809L

#include <aq.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "resp/resp_parse.h"

/* ===================================================================== */
/*  Values                                                               */
/* ===================================================================== */

typedef struct value {
    size_t len;
    char data[];
} value;

static value *value_new(const char *p, size_t n)
{
    value *v = malloc(sizeof *v + n);
    if (v) {
        v->len = n;
        memcpy(v->data, p, n);
    }
    return v;
}

/* A queue's drop callback: item points at a value pointer. */
static void value_drop(void *item, void *ud)
{
    (void)ud;
    value *v;
    memcpy(&v, item, sizeof v);
    free(v);
}

/* ===================================================================== */
/*  Lists: two LIFO queues back to back                                  */
/* ===================================================================== */

enum { LEFT = 0, RIGHT = 1 };

typedef struct rlist {
    struct rlist *next; /* the keyspace's hash chain */
    aq_queue *end[2];   /* LIFO stacks: [LEFT]'s top is the leftmost item,
                           [RIGHT]'s the rightmost */
    size_t klen;
    char key[];
} rlist;

static long list_len(const rlist *l)
{
    return aq_queue_qsize(l->end[LEFT]) + aq_queue_qsize(l->end[RIGHT]);
}

static long list_waiters(const rlist *l)
{
    return aq_queue_getters(l->end[LEFT]) + aq_queue_getters(l->end[RIGHT]);
}

/* Moves the half of the other end's items nearer to `side` over to it;
 * side's stack is empty. Returns AQ_OK (also with nothing to move) or
 * AQ_ENOMEM, the list unchanged. */
static int list_rebalance(rlist *l, int side)
{
    aq_queue *to = l->end[side], *from = l->end[!side];
    size_t n = (size_t)aq_queue_qsize(from), got;
    if (n == 0)
        return AQ_OK;
    value **tmp = malloc(n * sizeof *tmp);
    if (!tmp)
        return AQ_ENOMEM;
    /* tmp[0] is from's top (its outermost item), tmp[n - 1] its bottom,
     * the item nearest to side's end. */
    aq_queue_try_get_many(from, tmp, n, &got);
    size_t k = (n + 1) / 2; /* tmp[n - k .. n - 1] move across */
    /* Stacks grow by puts in order, the last put on top: side's top must
     * be tmp[n - 1], so put tmp[n - k] first. */
    int rc = aq_queue_try_put_many(to, tmp + (n - k), k, &got);
    if (rc == AQ_OK) {
        /* The rest goes back with tmp[0] on top again. */
        for (size_t i = 0, j = n - k; i + 1 < j; i++, j--) {
            value *t = tmp[i];
            tmp[i] = tmp[j - 1];
            tmp[j - 1] = t;
        }
        if (n > k)
            rc = aq_queue_try_put_many(from, tmp, n - k, &got);
    }
    /* Storage only grows by what it held moments ago, and libaq keeps
     * it, so these puts cannot fail; if one did the items would be lost:
     * refuse loudly rather than silently. */
    if (rc != AQ_OK) {
        fprintf(stderr, "resp_queue_server: rebalance: %s\n",
                aq_strerror(rc));
        abort();
    }
    free(tmp);
    return AQ_OK;
}

/* Pops from side's end into *out. Returns AQ_OK, AQ_EEMPTY or AQ_ENOMEM. */
static int list_pop(rlist *l, int side, value **out)
{
    if (aq_queue_empty(l->end[side])) {
        int rc = list_rebalance(l, side);
        if (rc != AQ_OK)
            return rc;
    }
    return aq_queue_try_get(l->end[side], out);
}

/* Pushes the n values onto side's end, in order (LPUSH a b c leaves c
 * leftmost), serving waiting pops first (see the top comment). Each value
 * the list takes is set to NULL in v; the caller frees the others.
 * Returns AQ_OK, or AQ_ENOMEM if storage could not grow (the values not
 * yet pushed stay in v). */
static int list_push(rlist *l, int side, value **v, size_t n)
{
    if (list_waiters(l) == 0) {
        for (size_t i = 0; i < n; i++) {
            int rc = aq_queue_try_put(l->end[side], &v[i]);
            if (rc != AQ_OK)
                return rc;
            v[i] = NULL;
        }
        return AQ_OK;
    }
    /* Waiters: the list is empty. Its contents after the whole push would
     * be v[n-1] .. v[0] (LPUSH) or v[0] .. v[n-1] (RPUSH), left to right;
     * hand them out from the left end to left waiters, from the right end
     * to right waiters, and store what is left. A put onto a queue with a
     * waiting getter copies the item into the oldest one's buffer and
     * stores nothing. */
    size_t lo = 0, hi = n; /* the items still to place: AT(lo .. hi-1) */
#define AT(i) (side == LEFT ? &v[n - 1 - (i)] : &v[(i)])
    while (lo < hi && aq_queue_getters(l->end[LEFT]) > 0) {
        aq_queue_try_put(l->end[LEFT], AT(lo));
        *AT(lo++) = NULL;
    }
    while (lo < hi && aq_queue_getters(l->end[RIGHT]) > 0) {
        aq_queue_try_put(l->end[RIGHT], AT(hi - 1));
        *AT(--hi) = NULL;
    }
    /* The rest is stored on the left stack, AT(lo), the leftmost, on
     * top: put last. */
    for (; hi > lo; hi--) {
        int rc = aq_queue_try_put(l->end[LEFT], AT(hi - 1));
        if (rc != AQ_OK)
            return rc;
        *AT(hi - 1) = NULL;
    }
#undef AT
    return AQ_OK;
}

/* ===================================================================== */
/*  Keyspace: a chained hash table of lists                              */
/* ===================================================================== */

static struct {
    rlist **tab;
    size_t mask; /* buckets - 1 */
    size_t count;
} ks;

static uint64_t hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211u;
    return h;
}

static rlist **ks_slot(const char *k, size_t n)
{
    rlist **s = &ks.tab[hash(k, n) & ks.mask];
    while (*s && !((*s)->klen == n && memcmp((*s)->key, k, n) == 0))
        s = &(*s)->next;
    return s;
}

static rlist *ks_find(const char *k, size_t n)
{
    return ks.tab ? *ks_slot(k, n) : NULL;
}

static int ks_grow(void)
{
    size_t nb = ks.tab ? (ks.mask + 1) * 2 : 64;
    rlist **t = calloc(nb, sizeof *t);
    if (!t)
        return AQ_ENOMEM;
    for (size_t i = 0; ks.tab && i <= ks.mask; i++) {
        for (rlist *l = ks.tab[i], *next; l; l = next) {
            next = l->next;
            rlist **s = &t[hash(l->key, l->klen) & (nb - 1)];
            l->next = *s;
            *s = l;
        }
    }
    free(ks.tab);
    ks.tab = t;
    ks.mask = nb - 1;
    return AQ_OK;
}

static void list_free(rlist *l)
{
    /* No task waits on it (the callers check), so these succeed; the
     * drop callback frees the values still held. */
    aq_queue_free(l->end[LEFT]);
    aq_queue_free(l->end[RIGHT]);
    free(l);
}

/* The list named k, created empty if missing. Returns it, or NULL when
 * out of memory. */
static rlist *ks_get(const char *k, size_t n)
{
    rlist *l = ks_find(k, n);
    if (l)
        return l;
    if ((!ks.tab || ks.count > ks.mask) && ks_grow() != AQ_OK)
        return NULL;
    l = calloc(1, sizeof *l + n);
    if (!l)
        return NULL;
    l->klen = n;
    memcpy(l->key, k, n);
    for (int e = LEFT; e <= RIGHT; e++) {
        if (aq_queue_new(&l->end[e], AQ_LIFO, sizeof(value *), 0) != AQ_OK ||
            aq_queue_set_overflow(l->end[e], AQ_BLOCK, value_drop, NULL) !=
                AQ_OK) {
            aq_queue_free(l->end[LEFT]);
            aq_queue_free(l->end[RIGHT]);
            free(l);
            return NULL;
        }
    }
    rlist **s = ks_slot(k, n);
    *s = l;
    ks.count++;
    return l;
}

/* Deletes l if it is empty and no task waits on it (Redis deletes empty
 * lists). A task woken from a wait on l must look its key up again, as
 * the pusher that woke it may have deleted l meanwhile. */
static void ks_maybe_remove(rlist *l)
{
    if (!l || list_len(l) > 0 || list_waiters(l) > 0)
        return;
    rlist **s = ks_slot(l->key, l->klen);
    *s = l->next;
    ks.count--;
    list_free(l);
}

static void ks_free_all(void)
{
    for (size_t i = 0; ks.tab && i <= ks.mask; i++) {
        for (rlist *l = ks.tab[i], *next; l; l = next) {
            next = l->next;
            list_free(l);
        }
    }
    free(ks.tab);
    ks.tab = NULL;
    ks.count = 0;
}

/* ===================================================================== */
/*  Connections                                                          */
/* ===================================================================== */

#define QUERY_MAX ((size_t)1024 * 1024 * 1024) /* unparsed input */
#define READ_CHUNK ((size_t)16 * 1024)
#define FLUSH_AT ((size_t)64 * 1024) /* pending output written at once */

typedef struct conn {
    aq_fd *fd;
    char *in;             /* input: [in_start, in_end) not yet executed */
    size_t in_start, in_end, in_cap;
    int short_read;       /* the last read did not fill the room given */
    char *out;            /* replies not yet written */
    size_t out_len, out_cap;
    int broken;           /* out of memory or a write failed: close */
    resp_parser parser;
} conn;

enum { KEEP = 0, CLOSE = 1 }; /* what a command leaves the connection in */

/* ---- output ---------------------------------------------------------- */

static void out_raw(conn *c, const void *p, size_t n)
{
    if (c->broken)
        return;
    if (c->out_cap - c->out_len < n) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap - c->out_len < n)
            cap *= 2;
        char *o = realloc(c->out, cap);
        if (!o) {
            c->broken = 1;
            return;
        }
        c->out = o;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

static void out_fmt(conn *c, char type, long long n)
{
    char b[32];
    int len = snprintf(b, sizeof b, "%c%lld\r\n", type, n);
    out_raw(c, b, (size_t)len);
}

static void out_str(conn *c, const char *s) /* "+s" or "-s" lines */
{
    out_raw(c, s, strlen(s));
    out_raw(c, "\r\n", 2);
}

static int flush(conn *c)
{
    size_t done;
    if (c->broken)
        return -1;
    if (c->out_len == 0)
        return 0;
    int rc = aq_write_all(c->fd, c->out, c->out_len, &done);
    c->out_len = 0;
    if (rc != AQ_OK)
        c->broken = 1;
    return rc == AQ_OK ? 0 : -1;
}

static void out_bulk(conn *c, const char *p, size_t n)
{
    out_fmt(c, '$', (long long)n);
    if (n >= FLUSH_AT && flush(c) == 0) { /* large: no copy */
        size_t done;
        if (aq_write_all(c->fd, p, n, &done) != AQ_OK)
            c->broken = 1;
    } else {
        out_raw(c, p, n);
    }
    out_raw(c, "\r\n", 2);
}

/* Replies with a value taken from a list, and frees it. */
static void out_value(conn *c, value *v)
{
    out_bulk(c, v->data, v->len);
    free(v);
}

static void out_err(conn *c, const char *fmt, const char *arg)
{
    char b[160];
    snprintf(b, sizeof b, fmt, arg);
    out_raw(c, "-", 1);
    out_str(c, b);
}

/* ---- input ----------------------------------------------------------- */

/* Makes room for at least `want` more bytes after in_end (moving the
 * unexecuted input to the front only if `compact`). Returns 0, or -1
 * past QUERY_MAX or out of memory. */
static int in_room(conn *c, size_t want, int compact)
{
    if (compact && c->in_start > 0) {
        memmove(c->in, c->in + c->in_start, c->in_end - c->in_start);
        c->in_end -= c->in_start;
        c->in_start = 0;
    }
    if (c->in_cap - c->in_end >= want)
        return 0;
    if (c->in_end - c->in_start + want > QUERY_MAX)
        return -1;
    size_t cap = c->in_cap ? c->in_cap : READ_CHUNK;
    while (cap - c->in_end < want)
        cap *= 2;
    char *in = realloc(c->in, cap);
    if (!in)
        return -1;
    c->in = in;
    c->in_cap = cap;
    return 0;
}

/* Reads what the socket has without waiting (while a pop is blocked).
 * Returns 1 if something was read or nothing was there, 0 at end of
 * file, -1 on an error or past QUERY_MAX. Never moves the buffer's
 * unexecuted bytes (the blocked command's arguments are among them),
 * though it may reallocate it. */
static int in_drain(conn *c)
{
    int fd = aq_fd_fileno(c->fd);
    for (;;) {
        if (in_room(c, READ_CHUNK, 0) < 0)
            return -1;
        ssize_t n = read(fd, c->in + c->in_end, c->in_cap - c->in_end);
        if (n > 0) {
            c->in_end += (size_t)n;
            continue;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
    }
}

/* ---- commands -------------------------------------------------------- */

typedef struct cmd {
    conn *c;
    size_t argc;
    const resp_arg *argv;
} cmd;

static const char *arg(const cmd *x, size_t i)
{
    return x->c->in + x->c->in_start + x->argv[i].off;
}

static size_t alen(const cmd *x, size_t i) { return x->argv[i].len; }

static int is(const cmd *x, size_t i, const char *name)
{
    size_t n = strlen(name);
    return alen(x, i) == n && strncasecmp(arg(x, i), name, n) == 0;
}

/* Redis's wording for a wrong argument count; name in lower case. */
static int wrong_args(conn *c, const char *name)
{
    out_err(c, "ERR wrong number of arguments for '%s' command", name);
    return KEEP;
}

/* Parses argument i as an integer >= 0. Returns 0, or -1. */
static int arg_count(const cmd *x, size_t i, long long *out)
{
    char b[24];
    size_t n = alen(x, i);
    if (n == 0 || n >= sizeof b)
        return -1;
    memcpy(b, arg(x, i), n);
    b[n] = 0;
    char *end;
    errno = 0;
    long long v = strtoll(b, &end, 10);
    if (*end || errno || v < 0)
        return -1;
    *out = v;
    return 0;
}

static int cmd_push(const cmd *x, int side, const char *name)
{
    conn *c = x->c;
    if (x->argc < 3)
        return wrong_args(c, name);
    size_t n = x->argc - 2;
    value **v = malloc(n * sizeof *v);
    size_t made = 0;
    if (v)
        for (; made < n; made++)
            if (!(v[made] = value_new(arg(x, made + 2), alen(x, made + 2))))
                break;
    rlist *l = made == n ? ks_get(arg(x, 1), alen(x, 1)) : NULL;
    if (!l) {
        for (size_t i = 0; i < made; i++)
            free(v[i]);
        free(v);
        out_err(c, "%s", "OOM out of memory");
        return KEEP;
    }
    long before = list_len(l);
    int rc = list_push(l, side, v, n);
    for (size_t i = 0; i < n; i++) /* NULL but after AQ_ENOMEM */
        free(v[i]);
    free(v);
    if (rc != AQ_OK)
        out_err(c, "%s", "OOM out of memory");
    else /* Redis replies with the length the push made, before waiters
            take anything */
        out_fmt(c, ':', before + (long long)n);
    ks_maybe_remove(l); /* everything may have gone to waiters */
    return KEEP;
}

static int cmd_pop(const cmd *x, int side, const char *name)
{
    conn *c = x->c;
    long long count = -1;
    if (x->argc < 2 || x->argc > 3)
        return wrong_args(c, name);
    if (x->argc == 3 && arg_count(x, 2, &count) < 0) {
        out_err(c, "%s", "ERR value is out of range, must be positive");
        return KEEP;
    }
    rlist *l = ks_find(arg(x, 1), alen(x, 1));
    if (!l) {
        out_raw(c, count < 0 ? "$-1\r\n" : "*-1\r\n", 5);
        return KEEP;
    }
    value *v;
    if (count < 0) {
        if (list_pop(l, side, &v) == AQ_OK)
            out_value(c, v);
        else
            out_raw(c, "$-1\r\n", 5); /* empty, with waiters */
    } else {
        long long n = list_len(l) < count ? list_len(l) : count;
        out_fmt(c, '*', n);
        for (long long i = 0; i < n; i++) {
            if (list_pop(l, side, &v) != AQ_OK) { /* out of memory */
                c->broken = 1; /* the array cannot be completed */
                break;
            }
            out_value(c, v);
        }
    }
    ks_maybe_remove(l);
    return KEEP;
}

/* BLPOP and BRPOP: pop from the first non-empty key in argument order,
 * or wait (see the top comment). */
static int cmd_bpop(const cmd *x, int side, const char *name)
{
    conn *c = x->c;
    if (x->argc < 3)
        return wrong_args(c, name);
    size_t nkeys = x->argc - 2;
    char b[64];
    size_t tn = alen(x, x->argc - 1);
    double secs = -1;
    char *end = b;
    if (tn > 0 && tn < sizeof b) {
        memcpy(b, arg(x, x->argc - 1), tn);
        b[tn] = 0;
        errno = 0;
        secs = strtod(b, &end);
    }
    if (tn == 0 || tn >= sizeof b || *end || errno || secs != secs ||
        secs > 1e9) {
        out_err(c, "%s", "ERR timeout is not a float or out of range");
        return KEEP;
    }
    if (secs < 0) {
        out_err(c, "%s", "ERR timeout is negative");
        return KEEP;
    }
    int64_t deadline =
        secs == 0 ? AQ_NEVER : aq_now() + (int64_t)(secs * 1e9);

    aq_clause stat[9], *cl = stat;
    value *got_stat[8], **got = got_stat;
    if (nkeys + 1 > 9) {
        cl = malloc((nkeys + 1) * sizeof *cl);
        got = malloc(nkeys * sizeof *got);
        if (!cl || !got) {
            free(cl == stat ? NULL : cl);
            free(got == got_stat ? NULL : got);
            out_err(c, "%s", "OOM out of memory");
            return KEEP;
        }
    }
    int ret = KEEP;
    for (;;) {
        /* Ready at once: the first key in order with an item. */
        size_t k;
        value *v = NULL;
        for (k = 0; k < nkeys; k++) {
            rlist *l = ks_find(arg(x, k + 1), alen(x, k + 1));
            if (l && list_len(l) > 0) {
                if (list_pop(l, side, &v) != AQ_OK)
                    v = NULL;
                break;
            }
        }
        if (k < nkeys) {
            if (v) {
                out_raw(c, "*2\r\n", 4);
                out_bulk(c, arg(x, k + 1), alen(x, k + 1));
                out_value(c, v);
            } else {
                out_err(c, "%s", "OOM out of memory");
            }
            break;
        }
        /* Wait: one get per list (created empty if missing), and the
         * socket, so that a departed client gives up its gets. */
        if (flush(c) < 0) {
            ret = CLOSE;
            break;
        }
        int r = in_drain(c);
        if (r <= 0) { /* gone (or broken) before anything was taken */
            ret = CLOSE;
            break;
        }
        for (k = 0; k < nkeys; k++) {
            rlist *l = ks_get(arg(x, k + 1), alen(x, k + 1));
            if (!l)
                break;
            cl[k] = (aq_clause)AQ_GET(l->end[side], &got[k]);
            for (size_t j = 0; j < k; j++) /* BLPOP a a 0: one clause */
                if (cl[j].queue == cl[k].queue)
                    cl[k].queue = NULL;
        }
        if (k < nkeys) {
            out_err(c, "%s", "OOM out of memory");
            break;
        }
        cl[nkeys] = (aq_clause)AQ_READABLE(c->fd);
        int i = aq_select_until(cl, nkeys + 1, AQ_SELECT_BIASED, deadline);
        if (i >= 0 && (size_t)i < nkeys) {
            out_raw(c, "*2\r\n", 4);
            out_bulk(c, arg(x, (size_t)i + 1), alen(x, (size_t)i + 1));
            out_value(c, got[i]);
            break;
        }
        if (i == (int)nkeys) /* input or end of file: look, then wait */
            continue;
        if (i == AQ_ETIMEDOUT)
            out_raw(c, "*-1\r\n", 5);
        else /* AQ_ECANCELED: the server is stopping */
            ret = CLOSE;
        break;
    }
    /* Lists made only to wait on, and emptied ones, go (by name: the
     * pointers may be stale after the wait). */
    for (size_t k = 0; k < nkeys; k++)
        ks_maybe_remove(ks_find(arg(x, k + 1), alen(x, k + 1)));
    if (cl != stat) {
        free(cl);
        free(got);
    }
    return ret;
}

/* The list commands: handler and end. Names in lower case, as Redis's
 * error replies spell them (is() ignores case). */
static const struct {
    const char *name;
    int (*fn)(const cmd *x, int side, const char *name);
    int side;
} list_cmds[] = {
    {"lpush", cmd_push, LEFT}, {"rpush", cmd_push, RIGHT},
    {"lpop", cmd_pop, LEFT},   {"rpop", cmd_pop, RIGHT},
    {"blpop", cmd_bpop, LEFT}, {"brpop", cmd_bpop, RIGHT},
};

static int dispatch(const cmd *x)
{
    conn *c = x->c;
    for (size_t i = 0; i < sizeof list_cmds / sizeof *list_cmds; i++)
        if (is(x, 0, list_cmds[i].name))
            return list_cmds[i].fn(x, list_cmds[i].side, list_cmds[i].name);
    if (is(x, 0, "PING")) {
        if (x->argc > 2)
            return wrong_args(c, "ping");
        if (x->argc == 2)
            out_bulk(c, arg(x, 1), alen(x, 1));
        else
            out_str(c, "+PONG");
        return KEEP;
    }
    if (is(x, 0, "ECHO")) {
        if (x->argc != 2)
            return wrong_args(c, "echo");
        out_bulk(c, arg(x, 1), alen(x, 1));
        return KEEP;
    }
    if (is(x, 0, "LLEN")) {
        if (x->argc != 2)
            return wrong_args(c, "llen");
        rlist *l = ks_find(arg(x, 1), alen(x, 1));
        out_fmt(c, ':', l ? list_len(l) : 0);
        return KEEP;
    }
    if (is(x, 0, "DEL")) {
        if (x->argc < 2)
            return wrong_args(c, "del");
        long long n = 0;
        for (size_t i = 1; i < x->argc; i++) {
            rlist *l = ks_find(arg(x, i), alen(x, i));
            if (l && list_len(l) > 0 && list_waiters(l) == 0) {
                value *v; /* drain it; removal frees the record */
                while (list_pop(l, LEFT, &v) == AQ_OK)
                    free(v);
                ks_maybe_remove(l);
                n++;
            }
        }
        out_fmt(c, ':', n);
        return KEEP;
    }
    if (is(x, 0, "CONFIG") && x->argc == 3 && is(x, 1, "GET")) {
        /* What redis-benchmark asks at start, answered truly: nothing
         * is ever persisted. Any other parameter: none here. */
        if (is(x, 2, "save") || is(x, 2, "appendonly")) {
            out_raw(c, "*2\r\n", 4);
            int save = is(x, 2, "save");
            out_bulk(c, arg(x, 2), alen(x, 2));
            out_bulk(c, save ? "" : "no", save ? 0 : 2);
        } else {
            out_raw(c, "*0\r\n", 4);
        }
        return KEEP;
    }
    if (is(x, 0, "QUIT")) {
        out_str(c, "+OK");
        return CLOSE;
    }
    char name[64];
    size_t n = alen(x, 0) < sizeof name - 1 ? alen(x, 0) : sizeof name - 1;
    for (size_t i = 0; i < n; i++) { /* keep the reply one clean line */
        char ch = arg(x, 0)[i];
        name[i] = ch >= ' ' && ch < 127 ? ch : '?';
    }
    name[n] = 0;
    out_err(c, "ERR unknown command '%s'", name);
    return KEEP;
}

/* Executes every complete request in the input. Returns KEEP or CLOSE. */
static int serve_input(conn *c)
{
    for (;;) {
        resp_parser *p = &c->parser;
        /* c->in is NULL until the first read: no offset on a NULL pointer */
        int r = resp_parse(p, c->in ? c->in + c->in_start : NULL,
                           c->in_end - c->in_start);
        if (r == RESP_INCOMPLETE)
            return c->broken ? CLOSE : KEEP;
        if (r < 0) {
            char msg[96];
            out_raw(c, "-", 1);
            out_str(c, resp_strerror(p, r, msg, sizeof msg));
            return CLOSE;
        }
        int st = KEEP;
        if (p->argc > 0) {
            cmd x = {c, p->argc, p->argv};
            st = dispatch(&x);
        }
        c->in_start += p->pos; /* p is untouched by the command */
        if (st == CLOSE || c->broken)
            return CLOSE;
        if (c->out_len >= FLUSH_AT && flush(c) < 0)
            return CLOSE;
    }
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    while (serve_input(c) == KEEP && flush(c) == 0) {
        if (c->in_start == c->in_end)
            c->in_start = c->in_end = 0;
        /* Room for the rest of a request whose size is known, else a
         * chunk more. */
        size_t have = c->in_end - c->in_start;
        size_t want = c->parser.need > have ? c->parser.need - have : 0;
        if (in_room(c, want > READ_CHUNK ? want : READ_CHUNK, 1) < 0) {
            out_err(c, "%s", "ERR query buffer limit reached");
            break;
        }
        /* A short read took all there was: wait for the next edge
         * rather than spend a read(2) that can only say EAGAIN. */
        if (c->short_read && aq_fd_wait_readable(c->fd) != AQ_OK)
            break;
        size_t room = c->in_cap - c->in_end;
        long n = aq_read(c->fd, c->in + c->in_end, room);
        if (n <= 0) /* end of file, an error or the server stopping */
            break;
        c->in_end += (size_t)n;
        c->short_read = (size_t)n < room;
    }
    flush(c); /* a protocol error's reply, QUIT's +OK; no-op if broken */
    aq_fd_close(c->fd);
    resp_parser_free(&c->parser);
    free(c->in);
    free(c->out);
    free(c);
    return NULL;
}

/* ===================================================================== */
/*  Listener, signals, main                                              */
/* ===================================================================== */

static aq_loop *g_loop;

/* Async-signal-safe: aq_loop_stop is an atomic store and a write(2). */
static void on_signal(int sig)
{
    (void)sig;
    aq_loop_stop(g_loop);
}

/* on_signal while the loop lives (SIG_IGN before aq_run frees it). */
static void handle_signals(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

static void *server_main(void *arg)
{
    int port = *(int *)arg, rc;
    g_loop = aq_loop_current();
    if ((rc = aq_loop_keep_alive(g_loop, 1)) != AQ_OK) {
        fprintf(stderr, "aq_loop_keep_alive: %s\n", aq_strerror(rc));
        return (void *)1;
    }

    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen_ = sizeof a;
    aq_fd *lf = NULL;
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 511) ||
        getsockname(s, (struct sockaddr *)&a, &alen_)) {
        perror("resp_queue_server: listen");
        if (s >= 0)
            close(s);
        return (void *)1;
    }
    if ((rc = aq_fd_open(NULL, &lf, s)) != AQ_OK) {
        fprintf(stderr, "aq_fd_open: %s\n", aq_strerror(rc));
        close(s);
        return (void *)1;
    }
    handle_signals(on_signal);
    printf("resp_queue_server: listening on 127.0.0.1:%d\n",
           ntohs(a.sin_port));
    fflush(stdout);

    for (;;) {
        int fd = aq_accept(lf);
        if (fd == AQ_ECANCELED)
            break;
        if (fd < 0) { /* -EMFILE and the like: breathe, then go on */
            if (aq_sleep(10 * AQ_MSEC) == AQ_ECANCELED)
                break;
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn *c = calloc(1, sizeof *c);
        aq_task *t;
        if (!c || aq_fd_open(NULL, &c->fd, fd) != AQ_OK) {
            free(c);
            close(fd);
            continue;
        }
        resp_parser_init(&c->parser);
        if (aq_spawn(&t, conn_main, c) != AQ_OK) {
            aq_fd_close(c->fd);
            free(c);
            continue;
        }
        aq_task_release(t); /* the loop runs it; we need no handle */
    }
    handle_signals(SIG_IGN); /* the loop goes once this task returns */
    aq_fd_close(lf);
    return NULL;
}

int main(int argc, char **argv)
{
    char *end;
    long port = argc == 2 ? strtol(argv[1], &end, 10) : -1;
    if (argc != 2 || *end || port < 0 || port > 65535) {
        fprintf(stderr, "usage: %s PORT  (0: any free port)\n", argv[0]);
        return 2;
    }
    int p = (int)port;
    void *result = NULL;
    int rc = aq_run(server_main, &p, &result);
    ks_free_all(); /* every task is gone: no waiter is left on a list */
    if (rc == AQ_ECANCELED) { /* stopped by a signal */
        fprintf(stderr, "resp_queue_server: stopped\n");
        return 0;
    }
    if (rc != AQ_OK)
        fprintf(stderr, "aq_run: %s\n", aq_strerror(rc));
    return 1;
}
