/* libaq model tests - the reference model. MIT licensed.
 *
 * A plain simulation of the documented semantics, sharing no code with
 * libaq (aq.h is included for the error codes only):
 * - one FIFO ready list; the running task runs until it suspends, then
 *   the oldest ready task runs; a yield goes to the back of the list;
 * - waiters on a queue are served oldest first; a put that finds a
 *   waiting getter hands it the item directly, and a get that frees a
 *   slot moves the oldest waiting putter's item in (no barging);
 * - a woken task's call has completed: a later cancel does not undo it
 *   (completed beats cancelled), but one that failed (shutdown) reports
 *   the cancel instead; cancellation is sticky;
 * - shutdown, task_done and join as CONFORMANCE.md states them.
 * Queue storage is one array in insertion order: FIFO takes the first
 * item, LIFO the last, PRIORITY the first of the smallest priority.
 *
 * The driver mirrors what interp.h does on libaq. With M_RUN_AQ, aq_run's
 * main task spawns the workers in order and waits for each in turn; when
 * nothing is ready and main has not returned, aq_run gives up
 * (AQ_EDEADLK), cancels every unfinished task (main first, then in spawn
 * order) and runs them to the end. With M_RUN_LOOP there is no main: the
 * workers are spawned in order, the loop runs until nothing is ready, and
 * the test cancels the unfinished ones in spawn order and runs it again.
 * Either way every op runs exactly once.
 *
 * Order of wake-ups inside one call (aq.h leaves it open; the model fixes
 * it and libaq must match): shutdown wakes joiners, then getters, then
 * putters.
 *
 * A rendezvous queue stores nothing: a put hands its item to the oldest
 * waiting getter or waits, a get takes the oldest waiting putter's item.
 *
 * A select (aq.h's Select section) first checks its clauses in order
 * (a task clause naming the caller: AQ_EDEADLK; a queue already used in
 * that direction: AQ_EINVAL), then the cancel, then completes a ready
 * clause: the first one if biased, else the pick-th ready one in array
 * order, pick drawn as select.c's draw() does from the loop's splitmix64
 * generator (one draw per select that finds two or more ready; seeded
 * with m_prog.seed and shared by all selects of the run). With none
 * ready it fails at once with a past deadline, or waits on every clause
 * at once, one waiter among the others in each list (oldest first); the
 * first waker wins and takes it off the other lists.
 *
 * Overflow policies (aq.h): a put that finds the queue full and no getter
 * (a full queue has none, but a rendezvous one, which takes no policy)
 * consults the policy, and so never waits under a DROP one: DROP_NEWEST
 * refuses the new item (AQ_EDROPPED); DROP_OLDEST discards the stored
 * item the kind gives up first (FIFO: the next a get would take; LIFO:
 * the bottom of the stack; both the oldest stored, the first of the
 * array) and stores the new one (AQ_OK), or on a PRIORITY queue the
 * least urgent (the largest priority, of equals the newest), unless the
 * new item is itself the least urgent (ties lost): then it is refused.
 * A discarded stored item takes back its unfinished count (never below
 * zero) as the new one adds its own. Shutdown and cancel come first.
 * Every discarded item goes to the drop log (m_out.drops) in order; an
 * immediate shutdown logs a queue's items in the order gets would take
 * them for FIFO and LIFO (oldest first; top first); a heap's order is
 * libaq's own, so for PRIORITY the shutdown's entries are sorted by id
 * on both sides.
 * The statistics counters follow aq_queue_stats: put (items that entered
 * storage or a getter), got, dropped, high_water.
 *
 * Batches (batch.c): put_many offers its items in order as that many
 * puts would, waiting for room as often as needed with the item in
 * flight; it stops at a shutdown, a deadline, a cancel while it waited,
 * or (having completed an item by a wake-up) a cancel that came after it
 * (completed beats cancelled for that item only); a dropped item is not
 * an early stop. get_many waits only for its first item; once it has one
 * (at once, or when it runs again after the wake-up) it takes what it
 * can without waiting, up to n, refilling slots from waiting putters as
 * single gets do. The try_ forms never wait and ignore cancellation.
 *
 * Sync primitives (aq/sync.h; src/sync/sync.h): every release hands over
 * to the oldest waiter before anything else runs (a lock's ownership, a
 * permit), so a waiter cancelled before it takes nothing and one
 * cancelled after it keeps what it got (AQ_OK). Suspending calls check
 * the cancel first, then their own state: a lock acquire by its owner is
 * AQ_EDEADLK; a barrier wait on a broken one AQ_EBROKEN. A release of an
 * unlocked lock is AQ_EINVAL, of another task's AQ_EPERM; a bounded
 * semaphore refuses a release past its initial value (AQ_EINVAL) unless
 * a waiter takes the permit. Event set wakes every waiter (AQ_OK even if
 * cleared before it runs). A condition's wait needs its lock (AQ_EPERM),
 * then checks the cancel, hands the lock on and waits (a past deadline:
 * at once AQ_ETIMEDOUT); notify (n < 0: AQ_EINVAL; without the lock:
 * AQ_EPERM) moves up to n waiters, oldest first, to the back of the
 * lock's wait list, where the lock's hand-over wakes them; a wait cut
 * short (cancel, deadline, a cancel while queued for the lock) takes the
 * lock back when its task runs again, at once if free, else queued at
 * the back, shielded from cancels (but for aq_run's final reaping, which
 * overrides shields and leaves it without the lock), and returns its
 * code holding the lock. A barrier round ends when the last party
 * arrives (indexes 0..parties-1 by arrival; a waiter cancelled leaves
 * the count at once); abort breaks it and reset mends it, both failing
 * the current waiters with AQ_EBROKEN. A select's event, lock and
 * semaphore clauses are ready when the event is set, the lock free, a
 * permit left; a lock clause on a lock the caller holds is AQ_EDEADLK.
 * A task that ends holding a lock releases it (prog.h).
 */
#ifndef MODEL_MODEL_H
#define MODEL_MODEL_H

#include "prog.h"

#include "aq.h"

#include <stdlib.h>

/* The observable state of one queue after an op. */
typedef struct m_snap {
    long qsize, unfinished, getters, putters, joiners;
    long head; /* id of the next item a get would take; 0 if empty */
    uint64_t order; /* hash of all ids in get order, if qsize <= M_PEEK */
    int shut;
    /* aq_queue_statistics' counters */
    long st_put, st_got, st_dropped, st_high;
} m_snap;

#define M_PEEK 16

/* Folds the next id of a queue's get order into a hash. */
static inline uint64_t m_hash(uint64_t h, long id)
{
    return (h ^ (uint64_t)id) * UINT64_C(0x100000001B3);
}

/* The observable state of the sync objects after an op. */
typedef struct m_ssnap {
    long locked[M_LOCKS], semv[M_SEMS], set[M_EVS];
    long nwait[M_BARS], broken[M_BARS];
} m_ssnap;

/* The outcome of one op. */
typedef struct m_res {
    int rc;       /* a select's: the index of the clause, or an error */
    int crc;      /* a select's completed clause's rc; else 0 */
    int cnt;      /* a batch's *done or *got; else 0 */
    int ngot;     /* items got (a get: 0 or 1; a get_many: *got) */
    long got[M_BATCH];     /* their ids, in order */
    long gotprio[M_BATCH]; /* and priorities */
    long ndrops;  /* length of the drop log (queues with a callback) */
    long order;   /* rank of this op's completion over the whole run */
    m_snap snap[M_QUEUES]; /* every queue, just after it completed */
    m_ssnap sy;   /* the sync objects (sync programs) */
} m_res;

/* One item discarded: by a queue's policy or an immediate shutdown. */
typedef struct m_drop {
    int q;       /* the queue */
    int refused; /* model only: a new item that never entered */
    long id;
} m_drop;

/* Sorts drop log entries [from, to) by id: an immediate shutdown's
 * entries for a PRIORITY queue, whose storage order is libaq's own. */
static inline void m_sort_drops(m_drop *d, long from, long to)
{
    for (long i = from + 1; i < to; i++)
        for (long j = i; j > from && d[j - 1].id > d[j].id; j--) {
            m_drop x = d[j];
            d[j] = d[j - 1];
            d[j - 1] = x;
        }
}

typedef struct m_out {
    m_res res[M_TASKS][M_OPS];
    m_res wait[M_TASKS]; /* main's aq_task_wait on each worker */
    int run_rc;          /* aq_run's return */
    /* After the run: what try_get drains from each queue, in order. */
    long left[M_QUEUES][M_IDS];
    int nleft[M_QUEUES];
    long final_unfinished[M_QUEUES];
    /* Every item discarded, in order: the model's log has every queue's,
     * libaq's what the drop callbacks saw (queues with a policy set). */
    m_drop drops[M_IDS];
    long ndrops;
    /* Model only: the ops still blocked when the loop ran dry (their
     * calls must then end with AQ_ECANCELED, and interp.h gives them no
     * timer). */
    unsigned char stuck[M_TASKS][M_OPS];
    /* Counts of interesting events, to show what the runs exercise. */
    long n_handoff_get, n_handoff_put, n_cancel_waiting, n_cancel_woken,
        n_dropped, n_deadlock, n_timeout;
    long n_rdv;      /* items handed over on a rendezvous queue */
    long n_shared;   /* shared queues (interp.h: mi_shared) */
    long n_sel_now;  /* selects completed at once (poll) */
    long n_sel_draw; /* of which fair among >= 2 ready: a draw */
    long n_sel_woken; /* selects that waited and then won a clause */
    long n_sel_fail; /* selects that completed none (timeout, cancel) */
    long n_pol_drop;  /* stored items a DROP_OLDEST put discarded */
    long n_refused;   /* new items a DROP policy refused (AQ_EDROPPED) */
    long n_batch_wait; /* batch ops that waited at least once */
    long n_batch_part; /* put_many that stopped after 1..n-1 items */
    long n_batch_drain; /* get_many that got 2 or more items */
    long n_lock_pass;  /* lock hand-overs to a waiter */
    long n_sem_pass;   /* permits handed to a waiter */
    long n_ev_woken;   /* waiters an event set woke */
    long n_notified;   /* condition waiters moved to the lock */
    long n_reacquire;  /* condition waits cut short that queued again */
    long n_bar_round;  /* barrier rounds completed */
    long n_broken;     /* barrier waiters failed by abort or reset */
    long n_misuse;     /* sync ops refused: EPERM, EDEADLK, EINVAL */
    long n_sel_sync;   /* selects won by an event, lock or sem clause */
} m_out;

/* ---- small lists of task numbers ----------------------------------------- */

typedef struct mm_list {
    int v[M_TASKS * M_CLAUSES + 1]; /* a task's joiners: main, and a
                                       select may name a task thrice */
    int n;
} mm_list;

static void ml_push(mm_list *l, int t) { l->v[l->n++] = t; }

static int ml_pop(mm_list *l)
{
    int t = l->v[0];
    memmove(l->v, l->v + 1, (size_t)--l->n * sizeof l->v[0]);
    return t;
}

static void ml_remove(mm_list *l, int t)
{
    for (int i = 0; i < l->n; i++)
        if (l->v[i] == t) {
            memmove(l->v + i, l->v + i + 1,
                    (size_t)(l->n - i - 1) * sizeof l->v[0]);
            l->n--;
            return;
        }
}

/* ---- state --------------------------------------------------------------- */

typedef struct mm_queue {
    int kind, maxsize, shut;
    int idx, policy, logs; /* its number, M_POL_*, callback set */
    m_item items[M_IDS]; /* in insertion order */
    int n;
    long unfinished;
    long st_put, st_got, st_dropped, st_high;
    mm_list getters, putters, joiners;
} mm_queue;

enum { MT_READY, MT_RUNNING, MT_WAITING, MT_DONE };

typedef struct mm_task {
    int state, cancelled;
    int pc;       /* the op being run */
    int resuming; /* pc's op suspended; finish it when run again */
    int wait_rc;  /* set by whoever woke it */
    int wait_idx; /* which of `on` its waker took it from */
    int ticks;    /* sleep ticks still to go */
    int bdone;    /* a batch put's items done so far */
    int shielded; /* a condition's re-acquire: a cancel does not wake */
    int reacq;    /* the condition wait is re-acquiring its lock */
    int cw_rc;    /* and what it will return then */
    int cnotified; /* the condition wait was notified (moved to the lock) */
    int ccond;     /* the condition it waits on */
    int bindex;   /* a barrier waiter's arrival index */
    int bwaited;  /* the batch op has waited */
    m_item item;  /* a waiting put's item */
    m_item got;   /* a waiting get's result */
    mm_list *on[M_CLAUSES]; /* the wait lists it is on (a select: one per
                               clause), NULL for none */
    mm_list joiners; /* tasks waiting for it to return */
} mm_task;

typedef struct mm_lock {
    int owner; /* a task, or -1 */
    mm_list waiters;
} mm_lock;

typedef struct mm_sem {
    long value, bound;
    mm_list waiters;
} mm_sem;

typedef struct mm_ev {
    int set;
    mm_list waiters;
} mm_ev;

typedef struct mm_bar {
    int parties, broken;
    mm_list waiters; /* their count is n_waiting */
} mm_bar;

typedef struct mm {
    const m_prog *p;
    m_out *out;
    mm_queue q[M_QUEUES];
    mm_lock lk[M_LOCKS];
    mm_sem sem[M_SEMS];
    mm_ev ev[M_EVS];
    mm_list cond[M_CONDS]; /* waiters not yet notified; lock 1 */
    mm_bar bar[M_BARS];
    int closing;   /* aq_run's final reaping: cancels override shields */
    mm_queue scratch;       /* a copy to read a queue's get order from */
    mm_task t[M_TASKS + 1]; /* workers, then main */
    int main;               /* main's number: p->ntasks */
    mm_list ready;
    long order;
    uint64_t rng;  /* the loop's generator, as select.c draws from it */
    int finishing; /* aq_run is reaping: main's return no longer stops */
    int stop;
    long nlogged;  /* drop log entries of queues with a callback */
} mm;

/* ---- scheduling ---------------------------------------------------------- */

/* Wakes waiting task t with rc. from: the list its waker took it off
 * (which names the select clause that won: the first on that list, as
 * a select's task clauses may name one task twice and link in array
 * order), or NULL for a cancel; it leaves every other list at once. */
static void mm_wake(mm *m, int t, mm_list *from, int rc)
{
    mm_task *v = &m->t[t];
    v->wait_idx = -1;
    for (int c = 0; c < M_CLAUSES; c++) {
        if (v->on[c] && v->on[c] == from && v->wait_idx < 0)
            v->wait_idx = c;
        else if (v->on[c])
            ml_remove(v->on[c], t);
        v->on[c] = NULL;
    }
    v->state = MT_READY;
    v->wait_rc = rc;
    ml_push(&m->ready, t);
}

/* The oldest waiter of l, woken with rc. */
static int mm_wake_first(mm *m, mm_list *l, int rc)
{
    int t = ml_pop(l);
    mm_wake(m, t, l, rc);
    return t;
}

static void mm_wake_all(mm *m, mm_list *l, int rc)
{
    while (l->n)
        mm_wake_first(m, l, rc);
}

static void mm_block(mm *m, int t, mm_list *l)
{
    m->t[t].state = MT_WAITING;
    memset(m->t[t].on, 0, sizeof m->t[t].on);
    m->t[t].on[0] = l;
    if (l)
        ml_push(l, t);
}

/* Back of the ready list, as aq_yield does. */
static void mm_requeue(mm *m, int t)
{
    m->t[t].state = MT_READY;
    ml_push(&m->ready, t);
}

/* ---- queue operations ---------------------------------------------------- */

static int mq_full(const mm_queue *q)
{
    return q->kind == M_RDV || (q->maxsize > 0 && q->n >= q->maxsize);
}

/* Can a put complete now: room, or a getter to hand to (only a
 * rendezvous queue has getters while full: it is always full). */
static int mq_can_put(const mm_queue *q)
{
    return !mq_full(q) || q->getters.n;
}

/* Which stored item the next get takes. */
static int mq_pick(const mm_queue *q)
{
    if (q->kind == M_FIFO)
        return 0;
    if (q->kind == M_LIFO)
        return q->n - 1;
    int best = 0;
    for (int i = 1; i < q->n; i++)
        if (q->items[i].prio < q->items[best].prio) /* ties: the older */
            best = i;
    return best;
}

static m_item mq_take(mm_queue *q)
{
    int i = mq_pick(q);
    m_item it = q->items[i];
    memmove(q->items + i, q->items + i + 1,
            (size_t)(q->n - i - 1) * sizeof it);
    q->n--;
    return it;
}

/* An item entering storage: counted put, and the high-water mark. */
static void mq_store(mm_queue *q, m_item it)
{
    q->items[q->n++] = it;
    q->st_put++;
    if (q->n > q->st_high)
        q->st_high = q->n;
}

/* A put that may complete: to the oldest getter, else into storage. */
static void mq_put_now(mm *m, mm_queue *q, m_item it)
{
    q->unfinished++;
    if (q->getters.n) {
        int g = ml_pop(&q->getters);
        m->t[g].got = it;
        q->st_put++;
        q->st_got++;
        mm_wake(m, g, &q->getters, AQ_OK);
        m->out->n_handoff_get++;
        m->out->n_rdv += q->kind == M_RDV;
        return;
    }
    mq_store(q, it);
}

/* A get from a non-empty queue; the freed slot goes to the oldest
 * putter at once. */
static m_item mq_get_now(mm *m, mm_queue *q)
{
    m_item it = mq_take(q);
    q->st_got++;
    if (q->putters.n) {
        int p = ml_pop(&q->putters);
        mq_store(q, m->t[p].item);
        q->unfinished++;
        mm_wake(m, p, &q->putters, AQ_OK);
        m->out->n_handoff_put++;
    }
    return it;
}

/* A get from an empty rendezvous queue with a putter waiting: the oldest
 * putter's item, straight from it. */
static m_item mq_get_from_putter(mm *m, mm_queue *q)
{
    int p = ml_pop(&q->putters);
    q->unfinished++;
    q->st_put++;
    q->st_got++;
    mm_wake(m, p, &q->putters, AQ_OK);
    m->out->n_rdv++;
    return m->t[p].item;
}

/* Item it discarded from q: into the drop log and the counters. */
static void mq_log_drop(mm *m, mm_queue *q, m_item it, int refused)
{
    m->out->drops[m->out->ndrops++] = (m_drop){q->idx, refused, it.id};
    m->nlogged += q->logs;
    q->st_dropped++;
}

/* A put of it on a full queue with no getter, under a DROP policy:
 * AQ_OK with a stored item discarded for it, or AQ_EDROPPED with it
 * refused. */
static int mq_overflow(mm *m, mm_queue *q, m_item it)
{
    int v = 0; /* the victim: FIFO's next get and LIFO's bottom alike */
    if (q->kind == M_PRIO) /* the last a get would take */
        for (int i = 1; i < q->n; i++)
            if (q->items[i].prio >= q->items[v].prio)
                v = i;
    if (q->policy == M_POL_NEWEST ||
        (q->kind == M_PRIO && it.prio >= q->items[v].prio)) {
        mq_log_drop(m, q, it, 1);
        m->out->n_refused++;
        return AQ_EDROPPED;
    }
    mq_log_drop(m, q, q->items[v], 0);
    memmove(q->items + v, q->items + v + 1,
            (size_t)(q->n - v - 1) * sizeof it);
    q->n--;
    if (q->unfinished > 0)
        q->unfinished--;
    q->unfinished++;
    mq_store(q, it);
    m->out->n_pol_drop++;
    return AQ_OK;
}

/* A put of it that does not wait: AQ_OK, AQ_EDROPPED under a DROP
 * policy, or AQ_ESHUTDOWN or AQ_EFULL with nothing done. */
static int mq_offer(mm *m, mm_queue *q, m_item it)
{
    if (q->shut)
        return AQ_ESHUTDOWN;
    if (mq_can_put(q)) {
        mq_put_now(m, q, it);
        return AQ_OK;
    }
    if (q->policy >= M_POL_NEWEST)
        return mq_overflow(m, q, it);
    return AQ_EFULL;
}

/* try_get: AQ_OK with *got, or why not. */
static int mq_try_get(mm *m, mm_queue *q, m_item *got)
{
    if (q->n)
        *got = mq_get_now(m, q);
    else if (q->shut)
        return AQ_ESHUTDOWN;
    else if (q->putters.n)
        *got = mq_get_from_putter(m, q);
    else
        return AQ_EEMPTY;
    return AQ_OK;
}

static void mq_shutdown(mm *m, mm_queue *q, int immediate)
{
    q->shut = 1;
    if (immediate) {
        long from = m->out->ndrops;
        for (int i = 0; i < q->n; i++) /* LIFO: top first, as gets */
            mq_log_drop(m, q, q->items[q->kind == M_LIFO ? q->n - 1 - i : i],
                        0);
        if (q->kind == M_PRIO)
            m_sort_drops(m->out->drops, from, m->out->ndrops);
        m->out->n_dropped += q->n;
        q->unfinished -= q->n < q->unfinished ? q->n : q->unfinished;
        q->n = 0;
        if (q->unfinished == 0)
            mm_wake_all(m, &q->joiners, AQ_OK);
    }
    mm_wake_all(m, &q->getters, AQ_ESHUTDOWN);
    mm_wake_all(m, &q->putters, AQ_ESHUTDOWN);
}

/* ---- running ops --------------------------------------------------------- */

/* What a worker's op returned. */
typedef struct mm_ret {
    int rc, crc, cnt, ngot;
    m_item got[M_BATCH];
} mm_ret;

/* An op's outcome x into its record r (the model's and libaq's alike),
 * with the drop log's length and the completion rank. */
static inline void m_res_fill(m_res *r, const mm_ret *x, long ndrops,
                              long order)
{
    r->rc = x->rc;
    r->crc = x->crc;
    r->cnt = x->cnt;
    r->ngot = x->ngot;
    for (int j = 0; j < x->ngot; j++) {
        r->got[j] = x->got[j].id;
        r->gotprio[j] = x->got[j].prio;
    }
    r->ndrops = ndrops;
    r->order = order;
}

static int s_sync(const mm *m) { return m->p->sync; }

static void mm_record(mm *m, m_res *r, const mm_ret *x)
{
    m_res_fill(r, x, m->nlogged, m->order++);
    for (int k = 0; k < m->p->nq; k++) {
        const mm_queue *q = &m->q[k];
        m_snap *s = &r->snap[k];
        s->qsize = q->n;
        s->unfinished = q->unfinished;
        s->getters = q->getters.n;
        s->putters = q->putters.n;
        s->joiners = q->joiners.n;
        s->head = q->n ? q->items[mq_pick(q)].id : 0;
        s->shut = q->shut;
        s->st_put = q->st_put;
        s->st_got = q->st_got;
        s->st_dropped = q->st_dropped;
        s->st_high = q->st_high;
        s->order = 0;
        if (q->n <= M_PEEK) { /* take everything from a copy */
            mm_queue *c = &m->scratch;
            c->kind = q->kind;
            c->n = q->n;
            memcpy(c->items, q->items, (size_t)q->n * sizeof q->items[0]);
            while (c->n)
                s->order = m_hash(s->order, mq_take(c).id);
        }
    }
    for (int k = 0; s_sync(m) && k < M_LOCKS; k++)
        r->sy.locked[k] = m->lk[k].owner >= 0;
    for (int k = 0; k < m->p->nsem; k++)
        r->sy.semv[k] = m->sem[k].value;
    for (int k = 0; k < m->p->nev; k++)
        r->sy.set[k] = m->ev[k].set;
    for (int k = 0; k < m->p->nbar; k++) {
        r->sy.nwait[k] = m->bar[k].waiters.n;
        r->sy.broken[k] = m->bar[k].broken;
    }
    if (x->rc == AQ_ETIMEDOUT)
        m->out->n_timeout++;
}

/* The loop's generator as select.c's draw() uses it: a number in
 * [0, n) from the top 32 bits of splitmix64's next output. */
static int mm_draw(mm *m, int n)
{
    uint64_t z = (m->rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    z ^= z >> 31;
    return (int)(((z >> 32) * (uint64_t)n) >> 32);
}

/* ---- sync primitives ----------------------------------------------------- */

/* What a blocking call returns when its task runs again: success stands
 * even if a cancel came after it (completed beats cancelled), but a wait
 * that failed otherwise (shutdown) while a cancel came in reports the
 * cancel, as aq_task_cancel documents. */
static int mm_wait_rc(const mm_task *t)
{
    return t->wait_rc != AQ_OK && t->cancelled ? AQ_ECANCELED : t->wait_rc;
}


/* Lock l to its oldest waiter (whatever it waits in: an acquire, a
 * select's clause, a condition wait notified or re-acquiring), or
 * unlocked. */
static void mm_lock_pass(mm *m, mm_lock *l)
{
    if (!l->waiters.n) {
        l->owner = -1;
        return;
    }
    l->owner = l->waiters.v[0];
    mm_wake_first(m, &l->waiters, AQ_OK);
    m->out->n_lock_pass++;
}

static int mm_sem_release(mm *m, mm_sem *s)
{
    if (s->waiters.n) {
        mm_wake_first(m, &s->waiters, AQ_OK);
        m->out->n_sem_pass++;
        return AQ_OK;
    }
    if (s->bound && s->value >= s->bound)
        return AQ_EINVAL;
    s->value++;
    return AQ_OK;
}

/* Moves condition k's oldest waiter to the lock's list: notified. */
static void mm_cond_notify_one(mm *m, int k)
{
    mm_list *l = &m->lk[1].waiters;
    int u = ml_pop(&m->cond[k]);
    ml_push(l, u);
    m->t[u].on[0] = l;
    m->t[u].cnotified = 1;
    m->out->n_notified++;
}

/* A condition wait of task ti, cut short, has the lock back (or was
 * reaped without it): if it had been notified, the notification goes on
 * to the condition's oldest waiter (gh-112202). */
static void mm_cond_cut_done(mm *m, int ti)
{
    mm_task *t = &m->t[ti];
    if (t->cnotified && m->cond[t->ccond].n)
        mm_cond_notify_one(m, t->ccond);
    t->cnotified = 0;
}

/* A condition wait of task ti cut short with rc takes the lock back:
 * completes (1, *r set) if it is free, else queues for it shielded. */
static int mm_cond_reacquire(mm *m, int ti, int rc, mm_ret *r)
{
    mm_lock *l = &m->lk[1];
    mm_task *t = &m->t[ti];
    if (l->owner < 0) {
        l->owner = ti;
        r->rc = rc;
        mm_cond_cut_done(m, ti);
        return 1;
    }
    if (m->closing) { /* the final reaping: no wait begun, lock not held:
                         the cancel is what the caller reports */
        (void)rc;
        r->rc = AQ_ECANCELED;
        mm_cond_cut_done(m, ti);
        return 1;
    }
    t->reacq = 1;
    t->cw_rc = rc;
    t->shielded = 1;
    m->out->n_reacquire++;
    mm_block(m, ti, &l->waiters);
    return 0;
}

/* Starts sync op `op` of worker ti: 1 if it completed (*r set). */
static int mm_sync_start(mm *m, int ti, const m_op *op, mm_ret *r)
{
    const m_prog *p = m->p;
    mm_task *t = &m->t[ti];
    int past = op->dl == M_DL_PAST;
    mm_lock *l = &m->lk[m_lk(op)];
    switch (op->kind) {
    case M_LOCK_ACQ:
        if (t->cancelled)
            r->rc = AQ_ECANCELED;
        else if (l->owner < 0)
            l->owner = ti;
        else if (l->owner == ti)
            r->rc = AQ_EDEADLK;
        else if (past)
            r->rc = AQ_ETIMEDOUT;
        else
            return mm_block(m, ti, &l->waiters), 0;
        return 1;
    case M_LOCK_TRY:
        if (l->owner >= 0)
            r->rc = AQ_EBUSY;
        else
            l->owner = ti;
        return 1;
    case M_LOCK_REL:
        if (l->owner < 0)
            r->rc = AQ_EINVAL;
        else if (l->owner != ti)
            r->rc = AQ_EPERM;
        else
            mm_lock_pass(m, l);
        return 1;
    case M_SEM_ACQ: {
        mm_sem *s = &m->sem[m_sem(p, op)];
        if (t->cancelled)
            r->rc = AQ_ECANCELED;
        else if (s->value > 0)
            s->value--;
        else if (past)
            r->rc = AQ_ETIMEDOUT;
        else
            return mm_block(m, ti, &s->waiters), 0;
        return 1;
    }
    case M_SEM_TRY: {
        mm_sem *s = &m->sem[m_sem(p, op)];
        if (s->value == 0)
            r->rc = AQ_EBUSY;
        else
            s->value--;
        return 1;
    }
    case M_SEM_REL:
        r->rc = mm_sem_release(m, &m->sem[m_sem(p, op)]);
        return 1;
    case M_EV_WAIT: {
        mm_ev *e = &m->ev[m_ev(p, op)];
        if (t->cancelled)
            r->rc = AQ_ECANCELED;
        else if (e->set)
            ;
        else if (past)
            r->rc = AQ_ETIMEDOUT;
        else
            return mm_block(m, ti, &e->waiters), 0;
        return 1;
    }
    case M_EV_SET: {
        mm_ev *e = &m->ev[m_ev(p, op)];
        e->set = 1;
        m->out->n_ev_woken += e->waiters.n;
        mm_wake_all(m, &e->waiters, AQ_OK);
        return 1;
    }
    case M_EV_CLEAR:
        m->ev[m_ev(p, op)].set = 0;
        return 1;
    case M_COND_WAIT:
        l = &m->lk[1];
        if (l->owner != ti) {
            r->rc = AQ_EPERM;
            return 1;
        }
        if (t->cancelled) {
            r->rc = AQ_ECANCELED;
            return 1;
        }
        if (past) { /* at once, the lock still held: nothing passed on */
            r->rc = AQ_ETIMEDOUT;
            return 1;
        }
        mm_lock_pass(m, l);
        t->reacq = 0;
        t->cnotified = 0;
        t->ccond = m_cond(p, op);
        return mm_block(m, ti, &m->cond[m_cond(p, op)]), 0;
    case M_COND_NOTIFY: {
        long n = m_notify_n(op);
        mm_list *c = &m->cond[m_cond(p, op)];
        l = &m->lk[1];
        if (n == -1) {
            r->rc = AQ_EINVAL;
        } else if (l->owner != ti) {
            r->rc = AQ_EPERM;
        } else {
            while ((n == M_NOTIFY_ALL || n-- > 0) && c->n)
                mm_cond_notify_one(m, m_cond(p, op));
        }
        return 1;
    }
    case M_BAR_WAIT: {
        mm_bar *b = &m->bar[m_bar(p, op)];
        int idx = b->waiters.n;
        if (t->cancelled) {
            r->rc = AQ_ECANCELED;
        } else if (b->broken) {
            r->rc = AQ_EBROKEN;
        } else if (idx + 1 == b->parties) {
            mm_wake_all(m, &b->waiters, AQ_OK);
            m->out->n_bar_round++;
            r->rc = idx;
        } else if (past) {
            r->rc = AQ_ETIMEDOUT;
        } else {
            t->bindex = idx;
            return mm_block(m, ti, &b->waiters), 0;
        }
        return 1;
    }
    case M_BAR_ABORT:
    case M_BAR_RESET: {
        mm_bar *b = &m->bar[m_bar(p, op)];
        m->out->n_broken += b->waiters.n;
        mm_wake_all(m, &b->waiters, AQ_EBROKEN);
        b->broken = op->kind == M_BAR_ABORT;
        return 1;
    }
    }
    abort();
}

/* Finishes worker ti's suspended sync op: 1 if it completed. */
static int mm_sync_resume(mm *m, int ti, const m_op *op, mm_ret *r)
{
    mm_task *t = &m->t[ti];
    r->rc = mm_wait_rc(t);
    if (op->kind == M_BAR_WAIT && r->rc == AQ_OK)
        r->rc = t->bindex;
    if (op->kind != M_COND_WAIT)
        return 1;
    if (t->reacq) { /* handed the lock, or reaped without it */
        t->reacq = t->shielded = 0;
        /* Reaped, but the lock went free before this task ran (its owner
         * returned and released it with no waiter left to hand it to):
         * condition.c's reacquire tests the lock first, and takes it. */
        if (m->lk[1].owner < 0)
            m->lk[1].owner = ti;
        r->rc = m->lk[1].owner == ti ? t->cw_rc : AQ_ECANCELED;
        mm_cond_cut_done(m, ti);
        return 1;
    }
    if (r->rc == AQ_OK) /* notified and handed the lock */
        return 1;
    return mm_cond_reacquire(m, ti, r->rc, r);
}

static int mm_is_misuse(int rc)
{
    return rc == AQ_EPERM || rc == AQ_EDEADLK || rc == AQ_EINVAL;
}

/* The wait list a select clause waits on. */
static mm_list *mm_cl_list(mm *m, unsigned char c)
{
    const m_prog *p = m->p;
    switch (m_cl_op(p, c)) {
    case M_CL_TASK:
        return &m->t[m_cl_target(p, c)].joiners;
    case M_CL_EVENT:
        return &m->ev[m_cl_obj(p, c)].waiters;
    case M_CL_LOCK:
        return &m->lk[m_cl_obj(p, c)].waiters;
    case M_CL_SEM:
        return &m->sem[m_cl_obj(p, c)].waiters;
    }
    mm_queue *q = &m->q[m_cl_q(p, c)];
    return m_cl_op(p, c) == M_CL_PUT ? &q->putters : &q->getters;
}

/* Would clause c return at once? */
static int mm_cl_ready(mm *m, unsigned char c)
{
    const m_prog *p = m->p;
    const mm_queue *q = &m->q[m_cl_q(p, c)];
    switch (m_cl_op(p, c)) {
    case M_CL_PUT: /* a DROP policy never lets a put wait */
        return q->shut || mq_can_put(q) || q->policy >= M_POL_NEWEST;
    case M_CL_GET:
        return q->n || q->shut || q->putters.n;
    case M_CL_EVENT:
        return m->ev[m_cl_obj(p, c)].set;
    case M_CL_LOCK:
        return m->lk[m_cl_obj(p, c)].owner < 0;
    case M_CL_SEM:
        return m->sem[m_cl_obj(p, c)].value > 0;
    }
    return m->t[m_cl_target(p, c)].state == MT_DONE;
}

/* Select: the argument checks, clause by clause in array order. */
static int mm_sel_check(const mm *m, int ti, const m_op *op)
{
    const m_prog *p = m->p;
    for (int k = 0; k < m_sel_n(op); k++) {
        unsigned char c = op->cl[k];
        int o = m_cl_op(p, c);
        if (o == M_CL_TASK) {
            if (m_cl_target(p, c) == ti)
                return AQ_EDEADLK;
            continue;
        }
        if (o == M_CL_LOCK) {
            if (m->lk[m_cl_obj(p, c)].owner == ti)
                return AQ_EDEADLK;
            continue;
        }
        if (o != M_CL_PUT && o != M_CL_GET)
            continue;
        for (int j = 0; j < k; j++)
            if (m_cl_op(p, op->cl[j]) == o &&
                m_cl_q(p, op->cl[j]) == m_cl_q(p, c))
                return AQ_EINVAL;
    }
    return AQ_OK;
}

/* Select: completes a ready clause, if any (1, with *r set). */
static int mm_sel_poll(mm *m, int ti, const m_op *op, mm_ret *r)
{
    int n = m_sel_n(op), nready = 0, k;
    for (k = 0; k < n; k++)
        nready += mm_cl_ready(m, op->cl[k]);
    if (nready == 0)
        return 0;
    int pick = 0;
    if (!m_sel_biased(op) && nready > 1) {
        pick = mm_draw(m, nready);
        m->out->n_sel_draw++;
    }
    for (k = 0;; k++)
        if (mm_cl_ready(m, op->cl[k]) && pick-- == 0)
            break;
    unsigned char c = op->cl[k];
    mm_queue *q = &m->q[m_cl_q(m->p, c)];
    r->rc = k;
    r->crc = AQ_OK;
    switch (m_cl_op(m->p, c)) {
    case M_CL_PUT:
        r->crc = mq_offer(m, q, m->t[ti].item);
        break;
    case M_CL_GET:
        r->ngot = (r->crc = mq_try_get(m, q, &r->got[0])) == AQ_OK;
        break;
    case M_CL_LOCK:
        m->lk[m_cl_obj(m->p, c)].owner = ti;
        break;
    case M_CL_SEM:
        m->sem[m_cl_obj(m->p, c)].value--;
        break;
    }
    m->out->n_sel_sync += m_cl_op(m->p, c) >= M_CL_EVENT;
    m->out->n_sel_now++;
    return 1;
}

/* Select: waits on every clause, in array order. */
static void mm_sel_block(mm *m, int ti, const m_op *op)
{
    mm_task *t = &m->t[ti];
    t->state = MT_WAITING;
    memset(t->on, 0, sizeof t->on);
    for (int k = 0; k < m_sel_n(op); k++) {
        t->on[k] = mm_cl_list(m, op->cl[k]);
        ml_push(t->on[k], ti);
    }
}

/* get_many with its first item in r: takes more without waiting, up to
 * its n; *got is the count. */
static void mm_get_more(mm *m, int ti, mm_ret *r)
{
    const m_op *op = &m->p->ops[ti][m->t[ti].pc];
    mm_queue *q = &m->q[m_qi(m->p, op)];
    while (r->ngot < m_batch_n(op) &&
           mq_try_get(m, q, &r->got[r->ngot]) == AQ_OK)
        r->ngot++;
    r->cnt = r->ngot;
    m->out->n_batch_drain += r->ngot > 1;
}

/* put_many (or try_) from item t->bdone on: 1 if it completed (*r set),
 * 0 if it waits with an item in flight (t->item). */
static int mm_put_many(mm *m, int ti, mm_ret *r)
{
    mm_task *t = &m->t[ti];
    const m_op *op = &m->p->ops[ti][t->pc];
    mm_queue *q = &m->q[m_qi(m->p, op)];
    int n = m_batch_n(op), wait = op->kind == M_PUT_MANY;
    r->rc = AQ_OK;
    while (t->bdone < n) {
        m_item it = {m_batch_prio(op, t->bdone),
                     m_batch_id(ti, t->pc, t->bdone)};
        int rc = mq_offer(m, q, it);
        if (rc == AQ_EFULL && wait) {
            if (op->dl != M_DL_PAST) {
                t->item = it;
                if (!t->bwaited)
                    t->bwaited = 1; /* counted once, when it resumes */
                mm_block(m, ti, &q->putters);
                return 0;
            }
            rc = AQ_ETIMEDOUT;
        }
        if (rc != AQ_OK && rc != AQ_EDROPPED) { /* a drop goes on */
            r->rc = rc;
            break;
        }
        t->bdone++;
        /* Only a wait lets a cancel in; the item it completed stands. */
        if (wait && t->cancelled && t->bdone < n) {
            r->rc = AQ_ECANCELED;
            break;
        }
    }
    r->cnt = t->bdone;
    m->out->n_batch_part += r->cnt > 0 && r->cnt < n;
    return 1;
}

/* Starts worker ti's current op. Returns 1 if it completed (*r set), 0
 * if the task suspended. */
static int mm_start(mm *m, int ti, mm_ret *r)
{
    const m_prog *p = m->p;
    mm_task *t = &m->t[ti];
    const m_op *op = &p->ops[ti][t->pc];
    mm_queue *q = &m->q[m_qi(p, op)];
    int past = op->dl == M_DL_PAST;
    memset(r, 0, sizeof *r);
    if (m_is_sync(op->kind)) {
        int done = mm_sync_start(m, ti, op, r);
        m->out->n_misuse += done && mm_is_misuse(r->rc);
        return done;
    }
    switch (op->kind) {
    case M_PUT:
        t->item = (m_item){m_prio(op), m_item_id(ti, t->pc)};
        if (t->cancelled)
            r->rc = AQ_ECANCELED;
        else if ((r->rc = mq_offer(m, q, t->item)) != AQ_EFULL)
            ;
        else if (past)
            r->rc = AQ_ETIMEDOUT;
        else
            return mm_block(m, ti, &q->putters), 0;
        return 1;
    case M_GET:
        if (t->cancelled) {
            r->rc = AQ_ECANCELED;
        } else if ((r->rc = mq_try_get(m, q, &r->got[0])) == AQ_OK) {
            r->ngot = 1;
        } else if (r->rc == AQ_ESHUTDOWN) {
        } else if (past) {
            r->rc = AQ_ETIMEDOUT;
        } else {
            return mm_block(m, ti, &q->getters), 0;
        }
        return 1;
    case M_TRY_PUT:
        r->rc = mq_offer(m, q, (m_item){m_prio(op), m_item_id(ti, t->pc)});
        return 1;
    case M_TRY_GET:
        r->ngot = (r->rc = mq_try_get(m, q, &r->got[0])) == AQ_OK;
        return 1;
    case M_PUT_MANY:
    case M_TRY_PUT_MANY:
        t->bdone = t->bwaited = 0;
        if (op->kind == M_PUT_MANY && t->cancelled) {
            r->rc = AQ_ECANCELED;
            return 1;
        }
        return mm_put_many(m, ti, r);
    case M_GET_MANY:
    case M_TRY_GET_MANY:
        t->bwaited = 0;
        if (op->kind == M_GET_MANY && t->cancelled) {
            r->rc = AQ_ECANCELED;
        } else if ((r->rc = mq_try_get(m, q, &r->got[0])) == AQ_OK) {
            r->ngot = 1;
            mm_get_more(m, ti, r);
        } else if (r->rc != AQ_EEMPTY || op->kind == M_TRY_GET_MANY) {
        } else if (past) {
            r->rc = AQ_ETIMEDOUT;
        } else {
            return mm_block(m, ti, &q->getters), 0;
        }
        return 1;
    case M_TASK_DONE:
        if (q->unfinished <= 0) {
            r->rc = AQ_EINVAL;
        } else if (--q->unfinished == 0) {
            mm_wake_all(m, &q->joiners, AQ_OK);
        }
        return 1;
    case M_JOIN:
        if (t->cancelled)
            r->rc = AQ_ECANCELED;
        else if (q->unfinished == 0)
            r->rc = AQ_OK;
        else if (past)
            r->rc = AQ_ETIMEDOUT;
        else
            return mm_block(m, ti, &q->joiners), 0;
        return 1;
    case M_YIELD:
    case M_SLEEP:
        if (t->cancelled) {
            r->rc = AQ_ECANCELED;
            return 1;
        }
        if (op->kind == M_SLEEP && op->dl == M_DL_FAR)
            return mm_block(m, ti, NULL), 0; /* only a cancel ends it */
        t->ticks = op->kind == M_SLEEP ? m_ticks(op) : 1;
        return mm_requeue(m, ti), 0;
    case M_CANCEL: {
        int k = m_target(p, op);
        mm_task *v = &m->t[k];
        if (v->state == MT_DONE) {
            r->rc = AQ_EALREADY;
            return 1;
        }
        if (v->state == MT_WAITING && (!v->shielded || m->closing)) {
            mm_wake(m, k, NULL, AQ_ECANCELED);
            m->out->n_cancel_waiting++;
        } else if (v->state == MT_READY && v->resuming && !v->cancelled &&
                   v->wait_rc == AQ_OK) {
            int vk = p->ops[k][v->pc].kind;
            if (vk == M_PUT || vk == M_GET || vk == M_JOIN ||
                vk == M_SELECT || vk == M_PUT_MANY || vk == M_GET_MANY ||
                (m_has_dl(vk) && m_is_sync(vk)))
                m->out->n_cancel_woken++; /* completed beats cancelled */
        }
        v->cancelled = 1;
        return 1;
    }
    case M_SHUTDOWN:
        mq_shutdown(m, q, m_immediate(op));
        return 1;
    case M_SELECT:
        t->item = (m_item){m_prio(op), m_item_id(ti, t->pc)};
        if ((r->rc = mm_sel_check(m, ti, op)) != AQ_OK)
            return 1;
        if (t->cancelled)
            r->rc = AQ_ECANCELED;
        else if (mm_sel_poll(m, ti, op, r))
            return 1;
        else if (past)
            r->rc = AQ_ETIMEDOUT;
        else
            return mm_sel_block(m, ti, op), 0;
        m->out->n_sel_fail++;
        return 1;
    }
    abort(); /* unknown kind: m_decode never makes one */
}

/* Finishes worker ti's suspended op now that it runs again. Returns 1 if
 * it completed, 0 if it suspended again (more sleep ticks). */
static int mm_resume(mm *m, int ti, mm_ret *r)
{
    mm_task *t = &m->t[ti];
    const m_op *op = &m->p->ops[ti][t->pc];
    memset(r, 0, sizeof *r);
    if (op->kind == M_YIELD ||
        (op->kind == M_SLEEP && op->dl != M_DL_FAR)) {
        /* Nothing completes for a yield, so a cancel shows at once. */
        r->rc = t->cancelled ? AQ_ECANCELED : AQ_OK;
        if (r->rc == AQ_OK && --t->ticks > 0)
            return mm_requeue(m, ti), 0;
        return 1;
    }
    if (m_is_sync(op->kind))
        return mm_sync_resume(m, ti, op, r);
    r->rc = mm_wait_rc(t);
    if (op->kind == M_PUT_MANY) {
        /* Its item in flight went in (or it failed): on with the rest. */
        m->out->n_batch_wait += t->bwaited == 1;
        t->bwaited = 2;
        if (r->rc != AQ_OK) {
            r->cnt = t->bdone;
            m->out->n_batch_part += r->cnt > 0;
            return 1;
        }
        t->bdone++;
        if (t->cancelled && t->bdone < m_batch_n(op)) {
            r->rc = AQ_ECANCELED;
            r->cnt = t->bdone;
            m->out->n_batch_part++;
            return 1;
        }
        return mm_put_many(m, ti, r);
    }
    if (op->kind == M_GET_MANY) {
        m->out->n_batch_wait++;
        if (r->rc == AQ_OK) {
            r->ngot = 1;
            r->got[0] = t->got;
            mm_get_more(m, ti, r);
        }
        return 1;
    }
    if (op->kind == M_SELECT) {
        /* A waker's code (AQ_OK, AQ_ESHUTDOWN) is the won clause's. */
        if (r->rc != AQ_OK && r->rc != AQ_ESHUTDOWN) {
            m->out->n_sel_fail++;
            return 1;
        }
        r->crc = r->rc;
        r->rc = t->wait_idx;
        r->ngot = m_cl_op(m->p, op->cl[t->wait_idx]) == M_CL_GET &&
                  r->crc == AQ_OK;
        m->out->n_sel_sync += m_cl_op(m->p, op->cl[t->wait_idx]) >=
                              M_CL_EVENT;
        m->out->n_sel_woken++;
    } else {
        r->ngot = op->kind == M_GET && r->rc == AQ_OK;
    }
    if (r->ngot)
        r->got[0] = t->got;
    return 1;
}

static void mm_run_worker(mm *m, int ti)
{
    mm_task *t = &m->t[ti];
    mm_ret r;
    if (t->resuming) {
        if (!mm_resume(m, ti, &r))
            return;
        mm_record(m, &m->out->res[ti][t->pc++], &r);
        t->resuming = 0;
    }
    while (t->pc < m->p->nops[ti]) {
        if (!mm_start(m, ti, &r)) {
            t->resuming = 1;
            return;
        }
        mm_record(m, &m->out->res[ti][t->pc++], &r);
    }
    /* Its epilogue: the locks it still holds, in order. */
    for (int k = 0; m->p->sync && k < M_LOCKS; k++)
        if (m->lk[k].owner == ti)
            mm_lock_pass(m, &m->lk[k]);
    t->state = MT_DONE;
    mm_wake_all(m, &t->joiners, AQ_OK);
}

/* Main: spawn every worker, then aq_task_wait on each in turn. */
static void mm_run_main(mm *m)
{
    mm_task *t = &m->t[m->main];
    int n = m->p->ntasks;
    if (t->pc == 0 && !t->resuming)
        for (int i = 0; i < n; i++)
            mm_requeue(m, i);
    if (t->resuming) {
        mm_ret r = {.rc = mm_wait_rc(t)};
        mm_record(m, &m->out->wait[t->pc++], &r);
        t->resuming = 0;
    }
    while (t->pc < n) {
        mm_ret r = {.rc = AQ_OK};
        if (t->cancelled) {
            r.rc = AQ_ECANCELED;
        } else if (m->t[t->pc].state != MT_DONE) {
            mm_block(m, m->main, &m->t[t->pc].joiners);
            t->resuming = 1;
            return;
        }
        mm_record(m, &m->out->wait[t->pc++], &r);
    }
    t->state = MT_DONE;
    if (!m->finishing)
        m->stop = 1; /* aq_run's loop ends when its task returns */
}

static void mm_loop(mm *m)
{
    while (m->ready.n && !m->stop) {
        int t = ml_pop(&m->ready);
        m->t[t].state = MT_RUNNING;
        if (t == m->main)
            mm_run_main(m);
        else
            mm_run_worker(m, t);
    }
}

/* Predicts everything m_out holds for program p. Returns 0, or -1 if the
 * model's own sanity checks fail (a bug in the model). */
M_FN int m_simulate(const m_prog *p, m_out *out)
{
    mm *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    memset(out, 0, sizeof *out);
    m->p = p;
    m->out = out;
    m->main = p->ntasks;
    m->rng = p->seed;
    for (int k = 0; k < p->nq; k++) {
        m->q[k].kind = p->qkind[k] == M_PRIO_CMP ? M_PRIO : p->qkind[k];
        m->q[k].maxsize = p->maxsize[k];
        m->q[k].idx = k;
        m->q[k].policy = p->policy[k];
        m->q[k].logs = m_pol_logs(p, k);
    }
    for (int k = 0; k < M_LOCKS; k++)
        m->lk[k].owner = -1;
    for (int k = 0; k < p->nsem; k++) {
        m->sem[k].value = p->sem_init[k];
        m->sem[k].bound = p->sem_bounded[k] ? p->sem_init[k] : 0;
    }
    for (int k = 0; k < p->nbar; k++)
        m->bar[k].parties = p->parties[k];
    int with_main = p->runner == M_RUN_AQ, stuck = 0;
    if (with_main) {
        mm_requeue(m, m->main);
    } else {
        for (int i = 0; i < p->ntasks; i++)
            mm_requeue(m, i);
        m->t[m->main].state = MT_DONE; /* there is none */
    }
    mm_loop(m);
    for (int i = 0; i < p->ntasks; i++)
        stuck |= m->t[i].state != MT_DONE;
    out->run_rc = with_main && stuck ? AQ_EDEADLK : AQ_OK;
    if (stuck) {
        /* Nothing ready, no timer (far deadlines never fire): cancel
         * every unfinished task, main first, and run them out. */
        out->n_deadlock++;
        m->finishing = 1;
        m->closing = with_main; /* aq_run's reaping overrides shields */
        for (int i = 0; i <= m->main; i++) {
            int ti = i == 0 ? m->main : i - 1;
            mm_task *t = &m->t[ti];
            if (t->state == MT_DONE)
                continue;
            if (ti != m->main)
                out->stuck[ti][t->pc] = 1;
            t->cancelled = 1;
            /* All wait, as the list ran dry; a condition's re-acquire is
             * shielded from the test's cancel, not from aq_run's. */
            if (t->state == MT_WAITING && (!t->shielded || m->closing))
                mm_wake(m, ti, NULL, AQ_ECANCELED);
        }
        mm_loop(m);
    }
    int bad = 0;
    for (int i = 0; i <= m->main; i++)
        bad |= m->t[i].state != MT_DONE;
    for (int k = 0; k < p->nq; k++) {
        mm_queue *q = &m->q[k];
        bad |= q->getters.n || q->putters.n || q->joiners.n;
        while (q->n)
            out->left[k][out->nleft[k]++] = mq_take(q).id;
        out->final_unfinished[k] = q->unfinished;
    }
    for (int k = 0; k < M_LOCKS; k++)
        bad |= m->lk[k].waiters.n || m->lk[k].owner >= 0;
    for (int k = 0; k < M_SEMS; k++)
        bad |= m->sem[k].waiters.n;
    for (int k = 0; k < M_EVS; k++)
        bad |= m->ev[k].waiters.n;
    for (int k = 0; k < M_CONDS; k++)
        bad |= m->cond[k].n;
    for (int k = 0; k < M_BARS; k++)
        bad |= m->bar[k].waiters.n;
    /* A stuck op can only have ended by aq_run's cancellation (but a
     * condition wait, re-acquiring, returns its own code). */
    for (int t = 0; t < p->ntasks; t++)
        for (int i = 0; i < p->nops[t]; i++)
            bad |= out->stuck[t][i] && out->res[t][i].rc != AQ_ECANCELED &&
                   p->ops[t][i].kind != M_COND_WAIT;
    free(m);
    return bad ? -1 : 0;
}

#endif
