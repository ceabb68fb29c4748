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
} m_snap;

#define M_PEEK 16

/* Folds the next id of a queue's get order into a hash. */
static inline uint64_t m_hash(uint64_t h, long id)
{
    return (h ^ (uint64_t)id) * UINT64_C(0x100000001B3);
}

/* The outcome of one op. */
typedef struct m_res {
    int rc;
    long got;     /* the item's id for a successful get, else 0 */
    long gotprio; /* and its priority */
    long order;   /* rank of this op's completion over the whole run */
    m_snap snap[M_QUEUES]; /* every queue, just after it completed */
} m_res;

typedef struct m_out {
    m_res res[M_TASKS][M_OPS];
    m_res wait[M_TASKS]; /* main's aq_task_wait on each worker */
    int run_rc;          /* aq_run's return */
    /* After the run: what try_get drains from each queue, in order. */
    long left[M_QUEUES][M_ITEMS];
    int nleft[M_QUEUES];
    long final_unfinished[M_QUEUES];
    /* Model only: items dropped by an immediate shutdown, and the ops
     * still blocked when the loop ran dry (their calls must then end with
     * AQ_ECANCELED, and interp.h gives them no timer). */
    long dropped[M_ITEMS];
    int ndropped;
    unsigned char stuck[M_TASKS][M_OPS];
    /* Counts of interesting events, to show what the runs exercise. */
    long n_handoff_get, n_handoff_put, n_cancel_waiting, n_cancel_woken,
        n_dropped, n_deadlock, n_timeout;
} m_out;

/* ---- small lists of task numbers ----------------------------------------- */

typedef struct mm_list {
    int v[M_TASKS + 1];
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
    m_item items[M_ITEMS]; /* in insertion order */
    int n;
    long unfinished;
    mm_list getters, putters, joiners;
} mm_queue;

enum { MT_READY, MT_RUNNING, MT_WAITING, MT_DONE };

typedef struct mm_task {
    int state, cancelled;
    int pc;       /* the op being run */
    int resuming; /* pc's op suspended; finish it when run again */
    int wait_rc;  /* set by whoever woke it */
    int ticks;    /* sleep ticks still to go */
    m_item item;  /* a waiting put's item; a waiting get's result */
    mm_list *on;  /* the wait list it is on, if any */
    mm_list joiners; /* tasks waiting for it to return */
} mm_task;

typedef struct mm {
    const m_prog *p;
    m_out *out;
    mm_queue q[M_QUEUES];
    mm_queue scratch;       /* a copy to read a queue's get order from */
    mm_task t[M_TASKS + 1]; /* workers, then main */
    int main;               /* main's number: p->ntasks */
    mm_list ready;
    long order;
    int finishing; /* aq_run is reaping: main's return no longer stops */
    int stop;
} mm;

/* ---- scheduling ---------------------------------------------------------- */

static void mm_wake(mm *m, int t, int rc)
{
    m->t[t].state = MT_READY;
    m->t[t].wait_rc = rc;
    m->t[t].on = NULL;
    ml_push(&m->ready, t);
}

static void mm_wake_all(mm *m, mm_list *l, int rc)
{
    while (l->n)
        mm_wake(m, ml_pop(l), rc);
}

static void mm_block(mm *m, int t, mm_list *l)
{
    m->t[t].state = MT_WAITING;
    m->t[t].on = l;
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
    return q->maxsize > 0 && q->n >= q->maxsize;
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

/* A put that may complete: to the oldest getter, else into storage. */
static void mq_put_now(mm *m, mm_queue *q, m_item it)
{
    q->unfinished++;
    if (q->getters.n) {
        int g = ml_pop(&q->getters);
        m->t[g].item = it;
        mm_wake(m, g, AQ_OK);
        m->out->n_handoff_get++;
        return;
    }
    q->items[q->n++] = it;
}

/* A get from a non-empty queue; the freed slot goes to the oldest
 * putter at once. */
static m_item mq_get_now(mm *m, mm_queue *q)
{
    m_item it = mq_take(q);
    if (q->putters.n) {
        int p = ml_pop(&q->putters);
        q->items[q->n++] = m->t[p].item;
        q->unfinished++;
        mm_wake(m, p, AQ_OK);
        m->out->n_handoff_put++;
    }
    return it;
}

static void mq_shutdown(mm *m, mm_queue *q, int immediate)
{
    q->shut = 1;
    if (immediate) {
        for (int i = 0; i < q->n; i++)
            m->out->dropped[m->out->ndropped++] = q->items[i].id;
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

static void mm_record(mm *m, m_res *r, int rc, const m_item *got)
{
    r->rc = rc;
    r->got = got ? got->id : 0;
    r->gotprio = got ? got->prio : 0;
    r->order = m->order++;
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
    if (rc == AQ_ETIMEDOUT)
        m->out->n_timeout++;
}

/* Starts worker ti's current op. Returns 1 if it completed (*rc, *got
 * set), 0 if the task suspended. */
static int mm_start(mm *m, int ti, int *rc, m_item *got, int *has_got)
{
    const m_prog *p = m->p;
    mm_task *t = &m->t[ti];
    const m_op *op = &p->ops[ti][t->pc];
    mm_queue *q = &m->q[m_qi(p, op)];
    int past = op->dl == M_DL_PAST;
    *has_got = 0;
    *rc = AQ_OK;
    switch (op->kind) {
    case M_PUT:
        t->item = (m_item){m_prio(op), m_item_id(ti, t->pc)};
        if (t->cancelled)
            *rc = AQ_ECANCELED;
        else if (q->shut)
            *rc = AQ_ESHUTDOWN;
        else if (!mq_full(q))
            mq_put_now(m, q, t->item);
        else if (past)
            *rc = AQ_ETIMEDOUT;
        else
            return mm_block(m, ti, &q->putters), 0;
        return 1;
    case M_GET:
        if (t->cancelled) {
            *rc = AQ_ECANCELED;
        } else if (q->n) {
            *got = mq_get_now(m, q);
            *has_got = 1;
        } else if (q->shut) {
            *rc = AQ_ESHUTDOWN;
        } else if (past) {
            *rc = AQ_ETIMEDOUT;
        } else {
            return mm_block(m, ti, &q->getters), 0;
        }
        return 1;
    case M_TRY_PUT:
        if (q->shut)
            *rc = AQ_ESHUTDOWN;
        else if (mq_full(q))
            *rc = AQ_EFULL;
        else
            mq_put_now(m, q, (m_item){m_prio(op), m_item_id(ti, t->pc)});
        return 1;
    case M_TRY_GET:
        if (q->n) {
            *got = mq_get_now(m, q);
            *has_got = 1;
        } else {
            *rc = q->shut ? AQ_ESHUTDOWN : AQ_EEMPTY;
        }
        return 1;
    case M_TASK_DONE:
        if (q->unfinished <= 0) {
            *rc = AQ_EINVAL;
        } else if (--q->unfinished == 0) {
            mm_wake_all(m, &q->joiners, AQ_OK);
        }
        return 1;
    case M_JOIN:
        if (t->cancelled)
            *rc = AQ_ECANCELED;
        else if (q->unfinished == 0)
            *rc = AQ_OK;
        else if (past)
            *rc = AQ_ETIMEDOUT;
        else
            return mm_block(m, ti, &q->joiners), 0;
        return 1;
    case M_YIELD:
    case M_SLEEP:
        if (t->cancelled) {
            *rc = AQ_ECANCELED;
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
            *rc = AQ_EALREADY;
            return 1;
        }
        if (v->state == MT_WAITING) {
            if (v->on)
                ml_remove(v->on, k);
            mm_wake(m, k, AQ_ECANCELED);
            m->out->n_cancel_waiting++;
        } else if (v->state == MT_READY && v->resuming && !v->cancelled &&
                   v->wait_rc == AQ_OK) {
            int vk = p->ops[k][v->pc].kind;
            if (vk == M_PUT || vk == M_GET || vk == M_JOIN)
                m->out->n_cancel_woken++; /* completed beats cancelled */
        }
        v->cancelled = 1;
        return 1;
    }
    case M_SHUTDOWN:
        mq_shutdown(m, q, m_immediate(op));
        return 1;
    }
    abort(); /* unknown kind: m_decode never makes one */
}

/* What a blocking call returns when its task runs again: success stands
 * even if a cancel came after it (completed beats cancelled), but a wait
 * that failed otherwise (shutdown) while a cancel came in reports the
 * cancel, as aq_task_cancel documents. */
static int mm_wait_rc(const mm_task *t)
{
    return t->wait_rc != AQ_OK && t->cancelled ? AQ_ECANCELED : t->wait_rc;
}

/* Finishes worker ti's suspended op now that it runs again. Returns 1 if
 * it completed, 0 if it suspended again (more sleep ticks). */
static int mm_resume(mm *m, int ti, int *rc, m_item *got, int *has_got)
{
    mm_task *t = &m->t[ti];
    const m_op *op = &m->p->ops[ti][t->pc];
    *has_got = 0;
    if (op->kind == M_YIELD ||
        (op->kind == M_SLEEP && op->dl != M_DL_FAR)) {
        /* Nothing completes for a yield, so a cancel shows at once. */
        *rc = t->cancelled ? AQ_ECANCELED : AQ_OK;
        if (*rc == AQ_OK && --t->ticks > 0)
            return mm_requeue(m, ti), 0;
        return 1;
    }
    *rc = mm_wait_rc(t);
    if (op->kind == M_GET && *rc == AQ_OK) {
        *got = t->item;
        *has_got = 1;
    }
    return 1;
}

static void mm_run_worker(mm *m, int ti)
{
    mm_task *t = &m->t[ti];
    int rc, has_got;
    m_item got;
    if (t->resuming) {
        if (!mm_resume(m, ti, &rc, &got, &has_got))
            return;
        mm_record(m, &m->out->res[ti][t->pc++], rc, has_got ? &got : NULL);
        t->resuming = 0;
    }
    while (t->pc < m->p->nops[ti]) {
        if (!mm_start(m, ti, &rc, &got, &has_got)) {
            t->resuming = 1;
            return;
        }
        mm_record(m, &m->out->res[ti][t->pc++], rc, has_got ? &got : NULL);
    }
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
        mm_record(m, &m->out->wait[t->pc++], mm_wait_rc(t), NULL);
        t->resuming = 0;
    }
    while (t->pc < n) {
        int rc = AQ_OK;
        if (t->cancelled) {
            rc = AQ_ECANCELED;
        } else if (m->t[t->pc].state != MT_DONE) {
            mm_block(m, m->main, &m->t[t->pc].joiners);
            t->resuming = 1;
            return;
        }
        mm_record(m, &m->out->wait[t->pc++], rc, NULL);
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
    for (int k = 0; k < p->nq; k++) {
        m->q[k].kind = p->qkind[k] == M_PRIO_CMP ? M_PRIO : p->qkind[k];
        m->q[k].maxsize = p->maxsize[k];
    }
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
        for (int i = 0; i <= m->main; i++) {
            int ti = i == 0 ? m->main : i - 1;
            mm_task *t = &m->t[ti];
            if (t->state == MT_DONE)
                continue;
            if (ti != m->main)
                out->stuck[ti][t->pc] = 1;
            t->cancelled = 1;
            if (t->state == MT_WAITING) { /* all are, the list ran dry */
                if (t->on)
                    ml_remove(t->on, ti);
                mm_wake(m, ti, AQ_ECANCELED);
            }
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
    /* A stuck op can only have ended by aq_run's cancellation. */
    for (int t = 0; t < p->ntasks; t++)
        for (int i = 0; i < p->nops[t]; i++)
            bad |= out->stuck[t][i] && out->res[t][i].rc != AQ_ECANCELED;
    free(m);
    return bad ? -1 : 0;
}

#endif
