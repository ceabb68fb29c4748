/* libaq-redis - internals shared by the connection (conn.c) and the
 * queue (queue.c). MIT licensed. */
#ifndef AQ_REDIS_INTERNAL_H
#define AQ_REDIS_INTERNAL_H

#include <aq.h>
#include <aq/redis.h>

#include <hiredis/async.h>

/* One connection to the server, driven by one task of the loop (conn.c).
 * ac is NULL while the connection is down; `up` is set exactly while it
 * is not, so callers wait on it for a reconnection. */
typedef struct aq__rq_conn {
    const char *host;
    int port;
    redisAsyncContext *ac;
    aq_fd *fd;        /* ac's socket, registered with the loop */
    aq_event *kick;   /* set by hiredis' addWrite hook: output waits */
    aq_event *up;
    aq_task *driver;
    int want_write;   /* hiredis has output to send */
    int ever_up;      /* a connection was made before: the next is a
                         reconnection */
    int last_error;   /* -errno of the last failed attempt, or 0 */
    int64_t backoff;  /* the wait before the next attempt */
    long reconnects, commands, writes;
    /* Queues what every new connection must send before anything else
     * (scripts, the recovery of pending entries). */
    void (*on_up)(struct aq__rq_conn *c, void *arg);
    /* Called by the driver each time before it writes: queues the
     * batches that the turn's tasks filled (batch.c). */
    void (*before_write)(struct aq__rq_conn *c, void *arg);
    void *arg;
} aq__rq_conn;

int aq__rq_conn_start(aq__rq_conn *c, const char *host, int port,
                      void (*on_up)(aq__rq_conn *, void *), void *arg);
void aq__rq_conn_stop(aq__rq_conn *c);
/* Cancels *t, waits for its end (shielded) and drops the handle. */
void aq__rq_task_stop(aq_task **t);
int aq__rq_conn_wait_up(aq__rq_conn *c, int64_t deadline);
int aq__rq_conn_send(aq__rq_conn *c, redisCallbackFn *fn, void *priv,
                     int argc, const char **argv, const size_t *lens);
void aq__rq_conn_kick(aq__rq_conn *c);

/* The drivers' and the sweeper's stacks: their own, also in a compact
 * loop, since hiredis' calls run on them. */
#define RQ_STACK (64 * 1024)

/* ---- the queue (queue.c, get.c, recover.c) ---------------------------- */

/* The outcome of one command, owned by the handle (never in a caller's
 * frame): a caller that leaves early (deadline, cancel) marks it GONE and
 * the reply's callback frees it, so a late reply writes into no stale
 * frame and is never lost. Spare slots are kept on a free list: a wait
 * allocates nothing once the handle is warm. */
enum { RQ_WAIT, RQ_DONE, RQ_GONE };
typedef struct aq__rq_slot {
    struct aq__rq_slot *next; /* free list, or the waiting gets' line */
    aq_redis_queue *q;
    aq_event *done;        /* set when state becomes DONE */
    int state;
    int rc;
    long long n;           /* an integer reply */
    int retry;             /* RQ_RETRY_*: an error reply worth resending */
    aq_redis_id id;        /* a batched ack's id, copied in */
    unsigned char item[];  /* a batched put's item (item_size bytes) */
} aq__rq_slot;

/* The slots of the calls one turn of the loop batches (batch.c). */
enum { RQ_BATCH_PUT, RQ_BATCH_ACK, RQ_NBATCH };
typedef struct aq__rq_batch {
    aq__rq_slot *head, **tail;
} aq__rq_batch;

/* Error replies that say "again", not "no": NOSCRIPT (an admin flushed
 * the scripts: load them and resend) and LOADING (a restarted server
 * still reads its data: wait and resend). Positive, so that they never
 * reach a caller. */
enum { RQ_RETRY_NONE, RQ_RETRY_SCRIPTS, RQ_RETRY_LATER };
#define RQ_AGAIN 1 /* a get's wake-up: read again later (LOADING) */

/* An entry this member holds: got from Redis and not yet acknowledged.
 * Held entries are kept in the order they came, and are re-touched by
 * every sweep so that no other member reclaims them while they are
 * worked on. Each is, in turn: free for the next get (slot NULL, task
 * 0), promised to a waiting get (slot), the task's (task), then being
 * acknowledged (acking). */
typedef struct aq__rq_held {
    aq_redis_id id;
    aq__rq_slot *slot;
    uint64_t task;        /* the holder's aq_task_id, 0 if none: not its
                             pointer, which a task spawned after it
                             returned may have (a reused record) */
    int acking;           /* its ack is under way: not the task's any more,
                             and still held, so that a take after a
                             reconnection does not hand it out again */
    unsigned char item[]; /* item_size bytes */
} aq__rq_held;

enum { RQ_PUT, RQ_ACK, RQ_LEN, RQ_TAKE, RQ_NSCRIPTS };

struct aq_redis_queue {
    aq_loop *loop;
    aq__rq_conn w; /* everything but the blocking reads */
    aq__rq_conn r; /* the gets' XREADGROUP BLOCK */
    char *host, *stream, *group, *consumer;
    char *flag_key, *dead_key, *acked_key; /* <stream>:shutdown ... */
    int port;
    size_t item_size;
    long maxsize, max_deliveries, prefetch;
    int64_t claim_idle, sweep_every, block, connect_timeout;
    char sha[RQ_NSCRIPTS][41]; /* "" until loaded */

    aq__rq_batch batch[RQ_NBATCH];
    const char **argv;     /* a batch's command, reused */
    size_t *lens, cap_argv;

    unsigned char *held; /* aq__rq_held records of `stride` bytes */
    size_t stride, nheld, capheld;
    aq_redis_id *gone;   /* ids no longer held, since the read round in
                            flight went out (get.c) */
    size_t ngone, capgone;

    aq__rq_slot *spare;
    aq__rq_slot *getters, **getters_tail; /* waiting gets, oldest first */
    long ngetters;         /* of them, those not GONE */
    int reading;           /* a read round is in flight on r */
    int read_blocks;       /* ... and it blocks at the server */
    int shut;              /* shutdown seen: 0, 1 (graceful), 2 (immediate) */
    int drained;           /* graceful: a read found nothing left */
    int got_once;          /* a get was made: read-ahead may begin */

    aq_redis_id cursor[2]; /* where the last take of each mode (idle,
                              own: recover.c) stopped, "0-0" at the
                              start */
    aq_task *keeper;       /* sweeps, and takes back what a lost
                              connection delivered (recover.c) */
    aq_event *keep;        /* wakes the keeper for a take-back */
    int take_back;         /* a reconnection calls for a take-back */
    long calls;            /* public calls under way */
    int closing;           /* aq_redis_queue_close is under way: it
                              suspends, and no call may start meanwhile */
    aq_redis_stats st;
    char err[256];         /* the last error reply, "" if none */
};

/* scripts.c */
extern const char *const aq__rq_script_src[RQ_NSCRIPTS];
extern const char aq__rq_create_src[];
extern const char aq__rq_bury_src[];
void aq__rq_scripts_load(aq_redis_queue *q);

/* call.c */
aq__rq_slot *aq__rq_slot_take(aq_redis_queue *q);
void aq__rq_slot_put(aq_redis_queue *q, aq__rq_slot *s);
void aq__rq_slot_free_list(aq__rq_slot *s);
int aq__rq_cancel_due(aq_task *self);
void aq__rq_note_error(aq_redis_queue *q, const redisReply *r);
/* How a call's command goes out on w: sent at once, or added to a
 * batch. */
typedef int aq__rq_send_fn(aq_redis_queue *q, aq__rq_slot *s,
                           const void *how);
int aq__rq_call_with(aq_redis_queue *q, aq__rq_slot *s, aq__rq_send_fn *send,
                     const void *how, int64_t deadline, long long *n,
                     int *resent);
int aq__rq_call(aq_redis_queue *q, redisCallbackFn *cb, int argc,
                const char **argv, const size_t *lens, int64_t deadline,
                long long *n, int *resent);
int aq__rq_back_off(int64_t *pause, int64_t deadline);
void aq__rq_reply_done(aq__rq_slot *s, const redisReply *r);
int aq__rq_enter(aq_redis_queue *q, const char *bad);
/* The end of a call that aq__rq_enter counted in: return aq__rq_leave(q, rc).
 */
static inline int aq__rq_leave(aq_redis_queue *q, int rc)
{
    q->calls--;
    return rc;
}

/* batch.c */
int aq__rq_batch_add(aq_redis_queue *q, aq__rq_slot *s, const void *kind);
void aq__rq_batch_flush(aq__rq_conn *c, void *arg);
void aq__rq_batch_free(aq_redis_queue *q);

/* get.c */
aq__rq_held *aq__rq_held_at(const aq_redis_queue *q, size_t i);
void aq__rq_held_remove(aq_redis_queue *q, size_t i);
long aq__rq_held_find(const aq_redis_queue *q, const char *id);
void aq__rq_deliver_entries(aq_redis_queue *q, const redisReply *entries,
                            int read);
void aq__rq_read(aq_redis_queue *q);
void aq__rq_getters_fail(aq_redis_queue *q, int rc);

/* recover.c */
int aq__rq_take(aq_redis_queue *q, int own, int64_t deadline);
long aq__rq_sweep(aq_redis_queue *q);
void *aq__rq_keeper(void *arg);

#endif
