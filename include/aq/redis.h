/* libaq-redis - a queue that spans machines: libaq's queue calls on a
 * Redis stream with a consumer group, at-least-once. MIT licensed.
 *
 * A separate library (link -laq-redis -laq -lhiredis), so that the core
 * keeps no dependency; include <aq/redis.h> after <aq.h>. Every call
 * follows <aq.h>'s conventions: int codes, "Suspends" marks the calls
 * that park the task (never the thread), _until twins take a deadline on
 * the aq_now() clock. A handle belongs to the loop of the task that
 * opened it, and any task of that loop may use it (compact tasks too).
 * libaq-redis allocates with malloc, as hiredis does (aq_set_allocator
 * governs libaq's own allocations only).
 * Every suspending call here may also return AQ_ENOMEM (nothing sent).
 *
 * The queue is a stream holding every entry not yet acknowledged, and a
 * consumer group that hands each entry to one member:
 *
 *   asyncio.Queue / Celery / RQ     libaq-redis         Redis
 *   await q.put(item)               aq_redis_queue_put  XADD (script)
 *   await q.get()                   aq_redis_queue_get  XREADGROUP >
 *   q.task_done() / job ack         ..._task_done/ack   XACK, head trimmed
 *   await q.join()                  aq_redis_queue_join none unacknowledged
 *   q.shutdown()                    ..._shutdown        SET <s>:shutdown
 *   visibility timeout (re-runs     claim_idle, with    XAUTOCLAIM; held
 *     long jobs)                      held entries kept   entries re-touched
 *                                     fresh               (XCLAIM JUSTID)
 *   dead letter / failed queue      <stream>:dead       XADD
 *
 * At-least-once: an entry stays in the stream until acknowledged. One a
 * member got and did not acknowledge (it crashed, or lost its connection)
 * is taken back: by the same member when it opens again under the same
 * consumer name, or by any member's sweep once it has been idle for
 * claim_idle. So every entry put is processed at least once, and a
 * handler may see an entry twice (use its id, from
 * aq_redis_queue_get_entry_until, to make the handler idempotent). An entry
 * delivered more than max_deliveries times goes to the dead-letter stream
 * instead.
 *
 * Encoding: an entry has one field, "item", whose value is the item's
 * item_size bytes exactly (binary). `redis-cli XADD jobs '*' item abcdefgh`
 * makes an 8-byte item; XRANGE shows libaq's puts the same way. An entry
 * without that field or of another length is moved to the dead-letter
 * stream (field "reason" = "bad item"), never handed to a get; other
 * fields beside a good "item" are ignored (the entry is delivered).
 * A dead-letter entry has the fields "reason" ("deliveries N", N the
 * deliveries it had, or "bad item"), "id" (its id in the queue's
 * stream), then the entry's own fields ("item" and its bytes, for one
 * of libaq's). An entry of more than 3,000 fields (one no libaq put
 * makes) moves as several dead-letter entries, each with the same "id", a
 * field "part" = "k/n" after it, and the next 3,000 of its fields: a
 * Redis script can pass no more than about 8,000 values to one XADD.
 *
 * maxsize, qsize and join count the entries not yet acknowledged:
 * undelivered plus pending, over all members. Acknowledged entries leave
 * the stream as its head is trimmed, in whole nodes of entries (XTRIM
 * MINID ~), so the stream may hold some for a while: the key
 * "<stream>:acked" counts those, and the count is XLEN minus it. The
 * stream and its keys belong to the queue: no other consumer group on
 * it (a trim would take entries that group has not read). Its keys are
 * "<stream>:acked", "<stream>:shutdown" (present: shut down, whatever
 * its type; the string "2" is an immediate shutdown, anything else a
 * graceful one, so `redis-cli SET <stream>:shutdown 2` stops every
 * member at once) and the dead-letter stream "<stream>:dead"; a stream name
 * ending in one of those suffixes is refused, and an open that creates
 * the stream deletes a "<stream>:acked" key left from before.
 */
#ifndef AQ_API_REDIS_H
#define AQ_API_REDIS_H

#include "../aq.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A handle on the queue for one member of the consumer group: made by
 * aq_redis_queue_open, freed by aq_redis_queue_close; it belongs to the
 * loop of the task that opened it. */
typedef struct aq_redis_queue aq_redis_queue;

/* Bytes an aq_redis_id holds, its terminating NUL included. */
#define AQ_REDIS_ID_MAX 48
/* A stream entry's id, as aq_redis_queue_get_entry_until gives it and
 * aq_redis_queue_ack takes it. */
typedef struct aq_redis_id {
    char s[AQ_REDIS_ID_MAX]; /* the id as Redis writes it, "ms-seq"
                                ("1700000000000-0"), NUL-terminated */
} aq_redis_id;

/* What aq_redis_queue_open needs. Zero-initialise, then set stream and
 * item_size; every other field has a default when 0 or NULL. */
typedef struct aq_redis_config {
    const char *addr;      /* "host:port", host a numeric IPv4 or IPv6
                              address, IPv6 in brackets
                              ("10.0.0.7:6379", "[::1]:6379"):
                              names are not looked up, which would block
                              the loop. NULL or "": the environment
                              variable AQ_REDIS (if set and not empty),
                              else "127.0.0.1:6379". No password, ACL
                              user, database number or TLS: a server
                              with requirepass refuses the open with
                              AQ_ESERVER ("NOAUTH ...") */
    const char *stream;    /* the stream's key (required, not empty) */
    const char *group;     /* the consumer group; NULL: "aq" */
    const char *consumer;  /* this member's name in the group; NULL:
                              "<hostname>-<pid>-<n>", n counting the
                              handles the process opened. Give a stable
                              name to take back your own pending entries
                              at once after a restart (else the sweep of
                              another member does, after claim_idle).
                              One name, one open handle at a time: a
                              handle takes back the pending entries of
                              its name as its own. A name stays in the
                              group after close (XINFO CONSUMERS lists
                              it), so each restart under the default
                              name adds one: give workers stable names,
                              or remove old ones that hold no entry
                              with XGROUP DELCONSUMER. */
    size_t item_size;      /* bytes per item, 1 .. AQ_REDIS_ITEM_MAX */
    long maxsize;          /* <= 0: unbounded; else puts wait while
                              maxsize entries are not yet acknowledged */
    int64_t claim_idle;    /* ns an entry may stay unacknowledged with a
                              member that no longer touches it before a
                              sweep takes it (<= 0: the default, 30 s;
                              the server counts whole milliseconds: a
                              part of one is rounded up) */
    int64_t sweep_every;   /* ns between this member's sweeps (default
                              claim_idle / 3, of claim_idle rounded up;
                              at least 1 ms, so keep claim_idle well
                              above a few ms, or a live member's sweeps
                              cannot keep its entries); < 0: none but
                              those made by aq_redis_queue_sweep. A member that holds
                              entries must sweep more often than
                              claim_idle, or it loses them to others. A
                              handle takes other members' entries only
                              once it has made a get: a producer's
                              sweeps never take work it would not do. */
    long max_deliveries;   /* deliveries before an entry goes to the dead-
                              letter stream "<stream>:dead" (default 5).
                              Every hand-out to a member counts, as
                              Redis counts them: a get's read, a read
                              ahead (prefetch), a take-back at open or
                              after a reconnection (an entry it moves to
                              the dead-letter stream is then no longer
                              handed out), a sweep's claim. So when a
                              member dies, each entry it held (the one
                              that killed it, and those read ahead)
                              comes one delivery nearer the dead-letter
                              stream: set this above the crashes a good
                              entry may live through */
    long prefetch;         /* entries to read ahead of the gets, from the
                              handle's first get on (default 0: a read
                              asks for one per waiting get).
                              Read-ahead entries are this member's from
                              delivery on (pending, re-touched), so gets
                              find them at once, but no other member can
                              take them while this one lives: Celery's
                              prefetch multiplier, with its trade-off */
    int64_t block;         /* ns a get's read blocks at the server per
                              round (XREADGROUP BLOCK; <= 0: the
                              default, 100 ms): how soon this member
                              sees a shutdown made by another */
    int64_t connect_timeout; /* ns aq_redis_queue_open waits for the
                                server (<= 0: the default, 5 s). These
                                durations are capped at a century, and
                                block at an hour */
} aq_redis_config;

/* Largest accepted item_size, in bytes: 1 MiB. */
#define AQ_REDIS_ITEM_MAX (1 << 20)

/* Opens (creating if needed) the stream and the group, connects twice
 * (one connection for blocking reads, one for everything else, so a
 * blocked read never stalls a put), loads the scripts, and takes back
 * this consumer's own pending entries, every one, in rounds of 1000
 * (they come first to its gets).
 * Both connections reconnect by themselves after an error or a server
 * restart, backing off from 10 ms to 1 s. Meanwhile every suspending
 * call on the handle waits for the reconnection: the _until forms up to
 * their deadline (AQ_ETIMEDOUT), the others (qsize, sweep, shutdown,
 * delete, task_done, ack, and put, get and join without a deadline)
 * with no limit of their own: bound them with a timeout scope
 * (aq_timeout_begin) or a cancel, as any suspending call.
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_EINVAL if out or cfg or
 * cfg->stream is NULL, the stream is "" or ends in ":acked",
 * ":shutdown" or ":dead" (another queue's keys), group or consumer is ""
 * (NULL gives the default), item_size is 0 or > AQ_REDIS_ITEM_MAX, addr
 * is not "host:port" with a numeric host (IPv6 in brackets) and a port
 * in 1..65535 (these checks before a cancel: AQ_ECANCELED); AQ_ENOMEM;
 * AQ_ETIMEDOUT with nothing reached in connect_timeout (or, when there was
 * one, the last connection error instead, e.g. -ECONNREFUSED); AQ_ESERVER if
 * the server refused a command (the key holds another type): with no handle
 * made, aq_redis_queue_error(NULL) gives the server's message. Suspends. */
AQ_EXTERN int aq_redis_queue_open(aq_redis_queue **out, const aq_redis_config *cfg);

/* Closes both connections and frees q. Entries this member got and did
 * not acknowledge stay pending for it (taken back at its next open, or
 * by a sweep). Waits, shielded from cancellation, for the tasks that
 * drive the connections to end (one turn of the loop): meanwhile every
 * call on q from another task returns AQ_EINVAL, and a second close
 * AQ_EBUSY.
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_EINVAL if q is NULL or of
 * another loop; AQ_EBUSY if a call on q, or a close, is under way in
 * some task (nothing done). Suspends. */
AQ_EXTERN int aq_redis_queue_close(aq_redis_queue *q);

/* Puts a copy of item_size bytes at item (await q.put(item)): XADD,
 * waiting while maxsize entries are unacknowledged (it retries every 1 ms,
 * backing off to 20 ms: Redis cannot tell a put when room comes). Puts of
 * many tasks share round trips: the puts made while the loop ran its
 * other tasks go out as one script call, in one write.
 * A put whose connection drops before its reply came is sent again
 * after reconnecting: it returns AQ_OK once the item is stored, and the
 * item may then be stored twice (at-least-once), as two entries with ids
 * of their own: only a key inside the item tells such copies apart (the
 * entry id tells a redelivery of one entry). A put cut short by its
 * deadline or a cancel after its command went out may still be stored,
 * and usually is: a caller that puts the item again after AQ_ECANCELED
 * or AQ_ETIMEDOUT may store it twice, and the handle's statistics count
 * only the puts that returned AQ_OK.
 * Returns: AQ_OK; AQ_EPERM outside a task; AQ_EINVAL if q or item is
 * NULL or q is of another loop; AQ_ESHUTDOWN after a shutdown by any
 * member; AQ_ECANCELED; AQ_ETIMEDOUT (the _until form); AQ_ESERVER if the
 * server refused (aq_redis_queue_error says). Suspends. */
AQ_EXTERN int aq_redis_queue_put(aq_redis_queue *q, const void *item);
AQ_EXTERN int aq_redis_queue_put_until(aq_redis_queue *q, const void *item,
                             int64_t deadline);

/* Gets the oldest entry into item (item_size bytes; await q.get()):
 * first one this member already holds (taken back or reclaimed), else
 * XREADGROUP ">" on the reading connection, one read for every waiting
 * get of this handle, served oldest waiter first. The entry stays
 * pending, charged to this member, until acknowledged (task_done or ack).
 * A get cut short by its deadline or a cancel after Redis delivered its
 * entry loses nothing: the entry goes to the next get of this handle, or
 * stays pending for reclaim if the handle is closed first. A get whose
 * deadline has passed still returns an entry this member already holds
 * (taken back, reclaimed or read ahead: prefetch) with AQ_OK, as a
 * queue's get completes when it can, and then asks the server nothing;
 * holding none, it returns AQ_ETIMEDOUT without suspending, but its read
 * has gone out: an entry that read delivers is held by this handle, for
 * its next get (or for reclaim once the handle is closed).
 * id: NULL, or receives the entry's id (the _entry form).
 * Returns: AQ_OK; AQ_EPERM; AQ_EINVAL if q or item is NULL or q is of
 * another loop; AQ_ESHUTDOWN once a shutdown is seen and no entry is
 * left to deliver (at once after an immediate shutdown); AQ_ECANCELED;
 * AQ_ETIMEDOUT; AQ_ESERVER if the server refuses the read, as when it
 * restarted without its data and the consumer group is gone ("NOGROUP":
 * open a new handle, which makes the group again). Connection errors are
 * not returned: the get waits for the reconnection. Suspends. */
AQ_EXTERN int aq_redis_queue_get(aq_redis_queue *q, void *item);
AQ_EXTERN int aq_redis_queue_get_until(aq_redis_queue *q, void *item,
                             int64_t deadline);
AQ_EXTERN int aq_redis_queue_get_entry_until(aq_redis_queue *q, void *item,
                                   aq_redis_id *id, int64_t deadline);

/* Acknowledges the oldest entry the calling task got from q and has not
 * acknowledged (q.task_done() for the usual get-process-done loop; it
 * is per task, so that tasks sharing q cannot acknowledge each other's
 * work): XACK, in one script with the trim of the stream's head. Waits
 * for the reply, acknowledgements of one loop turn sharing it, retrying
 * across a reconnection.
 * Returns: AQ_OK; AQ_EALREADY if the entry was no longer pending (another
 * member reclaimed and acknowledged it, or it went to the dead-letter
 * stream): the work was done twice. Not always reported: an
 * acknowledgement resent over a new connection (the old one dropped
 * before its reply) that finds the entry no longer pending returns
 * AQ_OK, since its first sending may be what took it; the work may
 * then have been done twice unseen (a member cut off for longer than
 * claim_idle). AQ_EPERM; AQ_EINVAL if q is NULL,
 * of another loop, or the calling task holds no entry of q (task_done()
 * called too many times); AQ_ECANCELED; AQ_ESERVER. Whatever it returns
 * but AQ_EINVAL, the entry is no longer the task's: if the
 * acknowledgement did not reach the server (or was never sent: a
 * cancelled task's call returns AQ_ECANCELED at once), the entry goes
 * idle and a sweep hands it out again (at-least-once), rather than
 * staying held for ever: after claim_idle, so a join waits that long for
 * it. A call cut short after
 * its XACK went out may have acknowledged the entry all the same (the
 * server's count then exceeds the handle's statistics). An entry a
 * task still holds when it returns stays held by the handle until close
 * (or aq_redis_queue_ack with its id): no other task's task_done takes
 * it, not even one of a later task given the returned task's reused
 * record (the holder is known by aq_task_id). An entry acknowledged by
 * id (aq_redis_queue_ack) is no longer its task's: that task's next
 * task_done takes its next entry, or returns AQ_EINVAL if it holds none.
 * Suspends. */
AQ_EXTERN int aq_redis_queue_task_done(aq_redis_queue *q);

/* Acknowledges the entry id, which any member may have got (the explicit
 * form, for entries handed between tasks or processes). Codes as
 * aq_redis_queue_task_done, with AQ_EINVAL if id is NULL or not of the
 * form "ms-seq". Suspends. */
AQ_EXTERN int aq_redis_queue_ack(aq_redis_queue *q, const aq_redis_id *id);

/* Waits until every entry put, by any member, has been acknowledged
 * (await q.join()); entries moved to the dead-letter stream count as
 * done. Redis cannot tell a waiter when
 * that happens, so join asks every 1 ms, backing off to 20 ms.
 * Returns: AQ_OK; AQ_ESHUTDOWN after an immediate shutdown; AQ_EPERM;
 * AQ_EINVAL if q is NULL or of another loop; AQ_ECANCELED; AQ_ETIMEDOUT;
 * AQ_ESERVER. Suspends. */
AQ_EXTERN int aq_redis_queue_join(aq_redis_queue *q);
AQ_EXTERN int aq_redis_queue_join_until(aq_redis_queue *q, int64_t deadline);

/* Shuts the queue down for every member (q.shutdown(immediate)): sets
 * the key "<stream>:shutdown", which puts check atomically (AQ_ESHUTDOWN
 * from then on) and gets read before every blocking read, so another
 * member sees it within about two `block` times (the check goes out
 * with the blocking read after the one under way, and Redis's timer adds
 * up to 100 ms at its default hz of 10). Without immediate, gets go on
 * until no undelivered entry is left (entries a dead member held are not
 * waited for: they stay pending, and join waits for them, until a sweep
 * claims them after claim_idle and a get of that member takes them, or
 * a member opens under the dead one's name and takes them back); with it,
 * gets fail at once and join returns AQ_ESHUTDOWN. Unlike asyncio, an
 * immediate shutdown discards nothing: the entries stay in the stream
 * (aq_redis_queue_delete starts afresh). A handle's gets keep a shutdown
 * they have seen: deleting the key again lets puts through (each checks
 * the key), but only handles opened after that get again.
 * Returns: AQ_OK; AQ_EPERM; AQ_EINVAL if q is NULL or of another loop;
 * AQ_ECANCELED; AQ_ESERVER. Suspends. */
AQ_EXTERN int aq_redis_queue_shutdown(aq_redis_queue *q, int immediate);

/* Deletes the queue from the server: the stream with its group and
 * every entry still in it, the shutdown key and the acknowledged
 * entries' counter (DEL of the three, one command), so
 * that the name can be used afresh. The dead-letter stream is kept: it
 * holds what failed. Other members' gets then fail (AQ_ESERVER,
 * NOGROUP), but a put still succeeds: it makes the stream
 * again, without the group, and its item waits there for the next open,
 * which makes the group from the stream's start (nothing is lost; qsize
 * counts it meanwhile). Delete only once the others are done. q stays
 * open; close it.
 * Returns: AQ_OK; AQ_EPERM; AQ_EINVAL if q is NULL or of another loop;
 * AQ_ECANCELED; AQ_ESERVER. Suspends. */
AQ_EXTERN int aq_redis_queue_delete(aq_redis_queue *q);

/* The stream's length into *n (q.qsize(): undelivered plus pending).
 * Returns: AQ_OK; AQ_EPERM; AQ_EINVAL if q or n is NULL; AQ_ECANCELED;
 * AQ_ESERVER. Suspends. */
AQ_EXTERN int aq_redis_queue_qsize(aq_redis_queue *q, long *n);

/* Runs a sweep now (the sweep also runs every sweep_every by itself):
 * re-touches the entries this member holds, so no other member reclaims
 * them, then takes (XAUTOCLAIM) entries idle longer than claim_idle from
 * other members, moving any delivered more than max_deliveries times to
 * "<stream>:dead" (the claim counts as a delivery: with max_deliveries 1,
 * an entry delivered once and then claimed goes there). It goes through
 * the group's pending entries from where the last sweep stopped, in
 * script calls that look at 10,000 entries each, until it has taken
 * 1000 or reached the end (the next sweep starts over from the first):
 * an idle entry is reached however many live ones come before it. A
 * script call that fails ends the sweep with its code; the entries the
 * calls before it took are held all the same (stats.reclaimed counts
 * them).
 * Returns: how many entries it took for this member (>= 0; those it
 * moved to the dead-letter stream are not among them: stats.dead counts
 * them), or the codes of aq_redis_queue_qsize. Suspends. */
AQ_EXTERN long aq_redis_queue_sweep(aq_redis_queue *q);

/* Counts since open. Does not suspend. */
typedef struct aq_redis_stats {
    long puts;         /* puts stored (AQ_OK) */
    long gets;         /* entries handed to gets */
    long acks;         /* acknowledgements that took an entry (AQ_OK) */
    long acks_late;    /* ... that found it gone (AQ_EALREADY) */
    long reclaimed;    /* entries handed to this member by a take-back
                          or a claim, counted at each (one taken back
                          twice, as across a server restart, counts
                          twice) */
    long dead;         /* entries this member moved to "<stream>:dead"
                          (counted as the server's reply confirms each
                          move; one found moved already is not) */
    long reconnects;   /* connections made again after a loss */
    long commands;     /* commands sent on both connections */
    long writes;       /* socket writes that sent them: commands / writes
                          is the pipelining's batch size */
} aq_redis_stats;

/* Copies q's counts since open into *out (aq_queue_statistics'
 * counterpart). Returns: AQ_OK; AQ_EINVAL if q or out is NULL. Does not
 * suspend. */
AQ_EXTERN int aq_redis_queue_stats(const aq_redis_queue *q,
                                   aq_redis_stats *out);

/* The server's last error message on q (the cause of the latest
 * AQ_ESERVER), or NULL if there was none; a later call that succeeds
 * does not clear it. Valid until the next call on q. q NULL: the
 * message of the calling thread's last aq_redis_queue_open, if it failed
 * with AQ_ESERVER (else NULL), valid until that thread's next open. Does
 * not suspend. */
AQ_EXTERN const char *aq_redis_queue_error(const aq_redis_queue *q);

#ifdef __cplusplus
}
#endif

#endif
