/* libaq model tests - run a program on libaq and judge it against the
 * reference model; shrink failing programs. MIT licensed.
 *
 * m_check() runs the model (model.h), then the same program on libaq,
 * one libaq task per program task, started as the program's runner says
 * (see prog.h; the shared loop's stack pool spares an mmap per task).
 * Every task runs its ops and records, after each one, the return code,
 * a batch's count, the items got and the state of every queue: qsize,
 * unfinished, waiter counts, shutdown flag, next item, the whole get
 * order read with aq_queue_peek while at most M_PEEK items are queued,
 * aq_queue_statistics' put, got, dropped and high_water (its other
 * fields must agree with the single calls), and how many items the drop
 * callbacks have seen. Then:
 * - every record must equal the model's, including the rank at which the
 *   op completed, so the interleaving itself is checked, and in a sync
 *   program the state of every sync object (locked, a semaphore's value,
 *   is_set, a barrier's n_waiting and broken); for a select,
 *   the clause that completed (the loop is seeded with m_prog.seed, so
 *   even a fair choice is predicted) and that clause's rc;
 * - a select leaves the rc and buffer of every other clause untouched,
 *   and a task clause delivers that task's result;
 * - a batch leaves the buffer past its count untouched;
 * - aq_run's return, main's waits, what try_get drains afterwards and
 *   the drop callbacks' log (queues with a policy set: every item
 *   discarded, in order) must match too;
 * - conservation, from libaq's own results alone: an item got was
 *   offered to that queue (a put that returned AQ_OK or AQ_EDROPPED, a
 *   batch's first *done) and is got, left or dropped exactly once; the
 *   model's log stands in for drops on queues without a callback.
 *
 * "Far" deadlines (M_FAR_NS ahead, see prog.h) exercise libaq's timer
 * heap without firing: a run takes microseconds. The ops the model says
 * stay blocked at the end get AQ_NEVER instead, or the loop would sleep
 * until the deadline rather than end. Should libaq disagree with the
 * model and block elsewhere, the deadline is near enough that the run
 * still ends (and fails).
 */
#ifndef MODEL_INTERP_H
#define MODEL_INTERP_H

#include "model.h"

#include <stdarg.h>
#include <stdlib.h>

#define M_FAR_NS (5 * AQ_SEC)
#define M_MSG 512 /* size of a failure message buffer */
#define M_WHY 320 /* of one difference between two results */

typedef struct mi_run mi_run;

typedef struct mi_arg {
    mi_run *run;
    int t;
} mi_arg;

/* A drop callback's ud: which queue. */
typedef struct mi_dropctx {
    mi_run *run;
    int k;
} mi_dropctx;

struct mi_run {
    const m_prog *p;
    const m_out *pred; /* the model's, for the stuck flags */
    m_out *out;
    aq_queue *q[M_QUEUES];
    aq_lock *lk[M_LOCKS]; /* lk[1] is cond[0]'s */
    aq_sem *sem[M_SEMS];
    aq_event *ev[M_EVS];
    aq_cond *cond[M_CONDS];
    aq_barrier *bar[M_BARS];
    aq_task *h[M_TASKS];
    mi_arg args[M_TASKS];
    mi_dropctx dctx[M_QUEUES];
    long order;
    int64_t far;
    char err[M_MSG]; /* first broken invariant seen during the run */
};

/* If set, the first op whose result differs from the model's is also
 * reported here at once, named by m_label: a bug that corrupts memory
 * may crash or hang the run before m_check can compare. */
static FILE *m_early;
static char m_label[64];

/* The loop M_RUN_LOOP programs share; m_cleanup() frees it. */
static aq_loop *mi_loop;

M_FN void m_cleanup(void)
{
    if (mi_loop)
        aq_loop_free(mi_loop);
    mi_loop = NULL;
}

static void mi_fail(mi_run *r, const char *fmt, ...)
{
    if (r->err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
}

static int mi_cmp(const void *a, const void *b, void *ud)
{
    int64_t x, y;
    (void)ud;
    memcpy(&x, a, sizeof x);
    memcpy(&y, b, sizeof y);
    return (x > y) - (x < y);
}

/* The drop callback of every queue with a policy set: logs the item. */
static void mi_drop(void *item, void *ud)
{
    mi_dropctx *c = ud;
    m_out *out = c->run->out;
    m_item it;
    memcpy(&it, item, sizeof it);
    if (out->ndrops == M_IDS) {
        mi_fail(c->run, "q%d: more drops than items", c->k);
        return;
    }
    out->drops[out->ndrops++] = (m_drop){c->k, 0, it.id};
}

static void mi_record(mi_run *r, m_res *res, const mm_ret *x)
{
    const m_prog *p = r->p;
    m_res_fill(res, x, r->out->ndrops, r->order++);
    for (int k = 0; k < p->nq; k++) {
        aq_queue *q = r->q[k];
        m_snap *s = &res->snap[k];
        m_item h = {0, 0};
        s->qsize = aq_queue_qsize(q);
        s->unfinished = aq_queue_unfinished(q);
        s->getters = aq_queue_getters(q);
        s->putters = aq_queue_putters(q);
        s->joiners = aq_queue_joiners(q);
        s->shut = aq_queue_is_shutdown(q);
        aq_queue_stats st;
        if (aq_queue_statistics(q, &st) != AQ_OK)
            mi_fail(r, "q%d: aq_queue_statistics failed", k);
        s->st_put = (long)st.put;
        s->st_got = (long)st.got;
        s->st_dropped = (long)st.dropped;
        s->st_high = (long)st.high_water;
        if (st.qsize != s->qsize || st.maxsize != p->maxsize[k] ||
            st.getters != s->getters || st.putters != s->putters ||
            st.joiners != s->joiners || st.unfinished != s->unfinished ||
            st.is_shutdown != s->shut)
            mi_fail(r, "q%d: aq_queue_statistics disagrees with the "
                    "single calls", k);
        if (s->qsize > 0 && aq_queue_peek(q, 0, &h) != AQ_OK)
            mi_fail(r, "q%d: peek(0) failed with qsize %ld", k, s->qsize);
        s->head = h.id;
        s->order = 0;
        for (long j = 0; s->qsize <= M_PEEK && j < s->qsize; j++) {
            if (aq_queue_peek(q, (size_t)j, &h) != AQ_OK)
                mi_fail(r, "q%d: peek(%ld) failed", k, j);
            s->order = m_hash(s->order, h.id);
        }
        /* The derived predicates must agree with qsize (a rendezvous
         * queue is always full, its qsize always 0). */
        if (aq_queue_empty(q) != (s->qsize == 0) ||
            aq_queue_full(q) != (p->qkind[k] == M_RDV ||
                                 (p->maxsize[k] > 0 &&
                                  s->qsize >= p->maxsize[k])) ||
            (p->qkind[k] == M_RDV && s->qsize != 0) ||
            aq_queue_maxsize(q) != p->maxsize[k])
            mi_fail(r, "q%d: empty/full/maxsize disagree with qsize %ld", k,
                    s->qsize);
    }
    if (!p->sync)
        return;
    for (int k = 0; k < M_LOCKS; k++)
        res->sy.locked[k] = aq_lock_locked(r->lk[k]);
    for (int k = 0; k < p->nsem; k++) {
        res->sy.semv[k] = aq_sem_value(r->sem[k]);
        if (aq_sem_locked(r->sem[k]) != (res->sy.semv[k] == 0))
            mi_fail(r, "S%d: locked disagrees with value %ld", k,
                    res->sy.semv[k]);
    }
    for (int k = 0; k < p->nev; k++)
        res->sy.set[k] = aq_event_is_set(r->ev[k]);
    for (int k = 0; k < p->nbar; k++) {
        res->sy.nwait[k] = aq_barrier_n_waiting(r->bar[k]);
        res->sy.broken[k] = aq_barrier_broken(r->bar[k]);
        if (aq_barrier_parties(r->bar[k]) != p->parties[k])
            mi_fail(r, "B%d: parties %ld", k, aq_barrier_parties(r->bar[k]));
    }
}

/* Runs worker ti's select op i (item it for its puts): the returned
 * index or error, *crc and *got for the clause that completed. Checks
 * that no other clause was touched. */
#define M_UNTOUCHED 0x5e1ec7
static int mi_select(mi_run *r, int ti, int i, const m_item *it, int64_t dl,
                     int *crc, m_item *got, int *is_get)
{
    const m_prog *p = r->p;
    const m_op *op = &p->ops[ti][i];
    aq_clause c[M_CLAUSES];
    m_item outs[M_CLAUSES];
    void *res[M_CLAUSES];
    int n = m_sel_n(op), flags = m_sel_biased(op) ? AQ_SELECT_BIASED : 0;
    for (int k = 0; k < n; k++) {
        unsigned char b = op->cl[k];
        aq_queue *q = r->q[m_cl_q(p, b)];
        outs[k] = (m_item){-1, 0};
        res[k] = NULL;
        switch (m_cl_op(p, b)) {
        case M_CL_PUT:
            c[k] = (aq_clause)AQ_PUT(q, it);
            break;
        case M_CL_GET:
            c[k] = (aq_clause)AQ_GET(q, &outs[k]);
            break;
        case M_CL_TASK:
            c[k] = (aq_clause)AQ_TASK(r->h[m_cl_target(p, b)], &res[k]);
            break;
        case M_CL_EVENT:
            c[k] = (aq_clause)AQ_EVENT(r->ev[m_cl_obj(p, b)]);
            break;
        case M_CL_LOCK:
            c[k] = (aq_clause)AQ_LOCK(r->lk[m_cl_obj(p, b)]);
            break;
        default:
            c[k] = (aq_clause)AQ_SEM(r->sem[m_cl_obj(p, b)]);
        }
        c[k].rc = M_UNTOUCHED;
    }
    int rc = op->dl == M_DL_NEVER ? aq_select(c, (size_t)n, flags)
                                  : aq_select_until(c, (size_t)n, flags, dl);
    if (rc >= n)
        mi_fail(r, "t%d op %d: select returned %d of %d clauses", ti, i, rc,
                n);
    for (int k = 0; k < n; k++) {
        unsigned char b = op->cl[k];
        if (k == rc) {
            *crc = c[k].rc;
            *is_get = m_cl_op(p, b) == M_CL_GET;
            *got = outs[k];
            if (m_cl_op(p, b) == M_CL_TASK &&
                res[k] != &r->args[m_cl_target(p, b)])
                mi_fail(r, "t%d op %d: task clause got a wrong result", ti,
                        i);
            continue;
        }
        if (c[k].rc != M_UNTOUCHED || outs[k].id != 0 || outs[k].prio != -1 ||
            res[k] != NULL)
            mi_fail(r, "t%d op %d: select touched clause %d, not the one "
                    "completed (%d)", ti, i, k, rc);
    }
    return rc;
}

/* Runs worker ti's batch op i (deadline dl unless M_DL_NEVER): the rc,
 * with the count and the items got in *x. Checks that the count was
 * written and that the buffer past it is untouched. */
#define M_NOCOUNT 77
static int mi_batch(mi_run *r, int ti, int i, int64_t dl, mm_ret *x)
{
    const m_prog *p = r->p;
    const m_op *op = &p->ops[ti][i];
    aq_queue *q = r->q[m_qi(p, op)];
    m_item buf[M_BATCH];
    size_t n = (size_t)m_batch_n(op), cnt = M_NOCOUNT;
    int put = m_batch_put(op->kind), never = op->dl == M_DL_NEVER, rc;
    for (int j = 0; j < M_BATCH; j++)
        buf[j] = put ? (m_item){m_batch_prio(op, j), m_batch_id(ti, i, j)}
                     : (m_item){-1, 0};
    switch (op->kind) {
    case M_PUT_MANY:
        rc = never ? aq_queue_put_many(q, buf, n, &cnt)
                   : aq_queue_put_many_until(q, buf, n, &cnt, dl);
        break;
    case M_TRY_PUT_MANY:
        rc = aq_queue_try_put_many(q, buf, n, &cnt);
        break;
    case M_GET_MANY:
        rc = never ? aq_queue_get_many(q, buf, n, &cnt)
                   : aq_queue_get_many_until(q, buf, n, &cnt, dl);
        break;
    default:
        rc = aq_queue_try_get_many(q, buf, n, &cnt);
    }
    if (cnt > n) {
        mi_fail(r, "t%d op %d: batch count %zu of %zu", ti, i, cnt, n);
        cnt = 0;
    }
    x->cnt = (int)cnt;
    if (put)
        return rc;
    x->ngot = (int)cnt;
    for (size_t j = 0; j < M_BATCH; j++) {
        if (j < cnt)
            x->got[j] = buf[j];
        else if (buf[j].id != 0 || buf[j].prio != -1)
            mi_fail(r, "t%d op %d: get_many wrote past its count %zu", ti,
                    i, cnt);
    }
    return rc;
}

static int mi_res_diff(const m_prog *p, int sel, const m_res *a,
                       const m_res *b, char *msg, size_t len);

/* Runs sync op `op` of worker ti (deadline dl unless M_DL_NEVER). */
static int mi_sync(mi_run *r, const m_op *op, int64_t dl)
{
    const m_prog *p = r->p;
    int never = op->dl == M_DL_NEVER;
    aq_lock *l = r->lk[m_lk(op)];
    switch (op->kind) {
    case M_LOCK_ACQ:
        return never ? aq_lock_acquire(l) : aq_lock_acquire_until(l, dl);
    case M_LOCK_TRY:
        return aq_lock_try_acquire(l);
    case M_LOCK_REL:
        return aq_lock_release(l);
    case M_SEM_ACQ: {
        aq_sem *s = r->sem[m_sem(p, op)];
        return never ? aq_sem_acquire(s) : aq_sem_acquire_until(s, dl);
    }
    case M_SEM_TRY:
        return aq_sem_try_acquire(r->sem[m_sem(p, op)]);
    case M_SEM_REL:
        return aq_sem_release(r->sem[m_sem(p, op)]);
    case M_EV_WAIT: {
        aq_event *e = r->ev[m_ev(p, op)];
        return never ? aq_event_wait(e) : aq_event_wait_until(e, dl);
    }
    case M_EV_SET:
        return aq_event_set(r->ev[m_ev(p, op)]);
    case M_EV_CLEAR:
        return aq_event_clear(r->ev[m_ev(p, op)]);
    case M_COND_WAIT: {
        aq_cond *c = r->cond[m_cond(p, op)];
        return never ? aq_cond_wait(c) : aq_cond_wait_until(c, dl);
    }
    case M_COND_NOTIFY: {
        aq_cond *c = r->cond[m_cond(p, op)];
        long n = m_notify_n(op);
        return n == M_NOTIFY_ALL ? aq_cond_notify_all(c)
                                 : aq_cond_notify(c, n);
    }
    case M_BAR_WAIT: {
        aq_barrier *b = r->bar[m_bar(p, op)];
        return never ? aq_barrier_wait(b) : aq_barrier_wait_until(b, dl);
    }
    case M_BAR_ABORT:
        return aq_barrier_abort(r->bar[m_bar(p, op)]);
    default:
        return aq_barrier_reset(r->bar[m_bar(p, op)]);
    }
}

/* The early report of worker ti's op i (see m_early). */
static void mi_check_now(mi_run *r, int ti, int i)
{
    char why[M_WHY], what[M_OPSTR];
    const m_prog *p = r->p;
    if (!m_early || r->err[0])
        return;
    if (!mi_res_diff(p, p->ops[ti][i].kind == M_SELECT, &r->out->res[ti][i],
                     &r->pred->res[ti][i], why, sizeof why))
        return;
    m_op_str(p, ti, i, what, sizeof what);
    fprintf(m_early, "%s: t%d op %d (%s) differs as it completes: %s\n",
            m_label, ti, i, what, why);
    fflush(m_early);
    mi_fail(r, "t%d op %d (%s): %s", ti, i, what, why);
}

static void *mi_worker(void *arg)
{
    mi_arg *a = arg;
    mi_run *r = a->run;
    const m_prog *p = r->p;
    int ti = a->t;
    for (int i = 0; i < p->nops[ti]; i++) {
        const m_op *op = &p->ops[ti][i];
        aq_queue *q = r->q[m_qi(p, op)];
        m_item it = {m_prio(op), m_item_id(ti, i)};
        m_item out = {-1, 0};
        int64_t far = r->pred->stuck[ti][i] ? AQ_NEVER : r->far;
        int64_t dl = op->dl == M_DL_PAST ? 0 : far;
        int rc = AQ_OK, crc = 0, is_get = 0;
        mm_ret x = {0};
        long from = r->out->ndrops;
        switch (op->kind) {
        case M_PUT:
            rc = op->dl == M_DL_NEVER ? aq_queue_put(q, &it)
                                      : aq_queue_put_until(q, &it, dl);
            break;
        case M_GET:
            rc = op->dl == M_DL_NEVER ? aq_queue_get(q, &out)
                                      : aq_queue_get_until(q, &out, dl);
            is_get = 1;
            break;
        case M_TRY_PUT:
            rc = aq_queue_try_put(q, &it);
            break;
        case M_TRY_GET:
            rc = aq_queue_try_get(q, &out);
            is_get = 1;
            break;
        case M_TASK_DONE:
            rc = aq_queue_task_done(q);
            break;
        case M_JOIN:
            rc = op->dl == M_DL_NEVER ? aq_queue_join(q)
                                      : aq_queue_join_until(q, dl);
            break;
        case M_YIELD:
            rc = aq_yield();
            break;
        case M_SLEEP:
            if (op->dl == M_DL_FAR) {
                rc = aq_sleep_until(far);
                break;
            }
            for (int k = 0; k < m_ticks(op) && rc == AQ_OK; k++)
                rc = op->dl == M_DL_PAST ? aq_sleep_until(0) : aq_sleep(0);
            break;
        case M_CANCEL:
            rc = aq_task_cancel(r->h[m_target(p, op)]);
            break;
        case M_SHUTDOWN:
            rc = aq_queue_shutdown(q, m_immediate(op));
            /* A heap's storage order is libaq's own (see model.h). */
            if (p->qkind[m_qi(p, op)] == M_PRIO ||
                p->qkind[m_qi(p, op)] == M_PRIO_CMP)
                m_sort_drops(r->out->drops, from, r->out->ndrops);
            break;
        case M_SELECT:
            rc = mi_select(r, ti, i, &it, dl, &crc, &out, &is_get);
            break;
        default:
            rc = m_is_sync(op->kind) ? mi_sync(r, op, dl)
                                     : mi_batch(r, ti, i, dl, &x);
        }
        int ok = op->kind == M_SELECT ? rc >= 0 && crc == AQ_OK : rc == AQ_OK;
        if (is_get && !ok && (out.id != 0 || out.prio != -1))
            mi_fail(r, "t%d op %d: failed get wrote its output", ti, i);
        x.rc = rc;
        x.crc = crc;
        if (is_get && ok) {
            x.ngot = 1;
            x.got[0] = out;
        }
        mi_record(r, &r->out->res[ti][i], &x);
        mi_check_now(r, ti, i);
    }
    /* The epilogue (prog.h): a lock it holds is released; a release of
     * another's or an unlocked one does nothing. */
    for (int k = 0; p->sync && k < M_LOCKS; k++)
        (void)aq_lock_release(r->lk[k]);
    return &r->args[ti]; /* a task clause checks it gets this */
}

static void *mi_main(void *arg)
{
    mi_run *r = arg;
    aq_loop_seed(aq_loop_current(), r->p->seed);
    for (int i = 0; i < r->p->ntasks; i++) {
        r->args[i] = (mi_arg){r, i};
        int rc = aq_spawn(&r->h[i], mi_worker, &r->args[i]);
        if (rc != AQ_OK) {
            mi_fail(r, "aq_spawn: %s", aq_errname(rc));
            abort(); /* cannot go on without the task */
        }
    }
    for (int i = 0; i < r->p->ntasks; i++) {
        mm_ret x = {.rc = aq_task_wait(r->h[i], NULL)};
        mi_record(r, &r->out->wait[i], &x);
    }
    return NULL;
}

/* M_RUN_LOOP: what aq_run does, by hand on the shared loop and without a
 * main task. */
static void mi_run_loop(mi_run *r)
{
    int n = r->p->ntasks, rc;
    if (!mi_loop && aq_loop_new(&mi_loop) != AQ_OK)
        abort();
    aq_loop_seed(mi_loop, r->p->seed);
    for (int i = 0; i < n; i++) {
        r->args[i] = (mi_arg){r, i};
        if (aq_loop_spawn(mi_loop, &r->h[i], mi_worker, &r->args[i], 0))
            abort(); /* cannot go on without the task */
    }
    r->out->run_rc = aq_loop_run(mi_loop);
    for (int i = 0; i < n; i++)
        if (!aq_task_done(r->h[i]) &&
            (rc = aq_task_cancel(r->h[i])) != AQ_OK)
            mi_fail(r, "cancelling stuck t%d: %s", i, aq_errname(rc));
    if ((rc = aq_loop_run(mi_loop)) != AQ_OK)
        mi_fail(r, "second aq_loop_run: %s", aq_errname(rc));
    for (int i = 0; i < n; i++) {
        if (aq_task_done(r->h[i]) != 1)
            mi_fail(r, "t%d still running after its cancellation", i);
        aq_task_release(r->h[i]);
    }
}

/* ---- comparing ----------------------------------------------------------- */

/* A result code, or a select's clause index and that clause's rc. */
static void m_rc_str(int sel, int rc, int crc, char *buf, size_t len)
{
    if (sel && rc >= 0)
        snprintf(buf, len, "clause %d (%s)", rc, aq_errname(crc));
    else
        snprintf(buf, len, "%s", aq_errname(rc));
}

static int mi_snap_diff(const m_prog *p, const m_res *a, const m_res *b,
                        char *msg, size_t len)
{
    for (int k = 0; k < p->nq; k++) {
        const m_snap *x = &a->snap[k], *y = &b->snap[k];
        static const char *const f[] = {
            "qsize", "unfinished", "getters", "putters", "joiners",
            "head item", "stats.put", "stats.got", "stats.dropped",
            "stats.high_water"};
        const long xv[] = {x->qsize,  x->unfinished, x->getters,
                           x->putters, x->joiners,   x->head,
                           x->st_put, x->st_got,     x->st_dropped,
                           x->st_high};
        const long yv[] = {y->qsize,  y->unfinished, y->getters,
                           y->putters, y->joiners,   y->head,
                           y->st_put, y->st_got,     y->st_dropped,
                           y->st_high};
        for (int j = 0; j < 10; j++)
            if (xv[j] != yv[j]) {
                snprintf(msg, len, "q%d %s: libaq %ld, model %ld", k, f[j],
                         xv[j], yv[j]);
                return 1;
            }
        if (x->order != y->order) {
            snprintf(msg, len, "q%d items in get order (peek) differ", k);
            return 1;
        }
        if (x->shut != y->shut) {
            snprintf(msg, len, "q%d is_shutdown: libaq %d, model %d", k,
                     x->shut, y->shut);
            return 1;
        }
    }
    return 0;
}

static int mi_sync_diff(const m_prog *p, const m_ssnap *x, const m_ssnap *y,
                        char *msg, size_t len)
{
    for (int k = 0; p->sync && k < M_LOCKS; k++)
        if (x->locked[k] != y->locked[k]) {
            snprintf(msg, len, "L%d locked: libaq %ld, model %ld", k,
                     x->locked[k], y->locked[k]);
            return 1;
        }
    for (int k = 0; k < p->nsem; k++)
        if (x->semv[k] != y->semv[k]) {
            snprintf(msg, len, "S%d value: libaq %ld, model %ld", k,
                     x->semv[k], y->semv[k]);
            return 1;
        }
    for (int k = 0; k < p->nev; k++)
        if (x->set[k] != y->set[k]) {
            snprintf(msg, len, "E%d is_set: libaq %ld, model %ld", k,
                     x->set[k], y->set[k]);
            return 1;
        }
    for (int k = 0; k < p->nbar; k++)
        if (x->nwait[k] != y->nwait[k] || x->broken[k] != y->broken[k]) {
            snprintf(msg, len, "B%d n_waiting, broken: libaq %ld, %ld, "
                     "model %ld, %ld", k, x->nwait[k], x->broken[k],
                     y->nwait[k], y->broken[k]);
            return 1;
        }
    return 0;
}

/* The items a result got, as " #id/pprio" each, or " no item". */
static void m_got_str(const m_res *a, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = 0;
    if (!a->ngot)
        snprintf(buf, len, " no item");
    for (int j = 0; j < a->ngot && j < M_BATCH && at < len; j++)
        at += (size_t)snprintf(buf + at, len - at, " #%ld/p%ld", a->got[j],
                               a->gotprio[j]);
}

static int mi_res_diff(const m_prog *p, int sel, const m_res *a,
                       const m_res *b, char *msg, size_t len)
{
    int same = a->rc == b->rc && a->crc == b->crc && a->cnt == b->cnt &&
               a->ngot == b->ngot;
    for (int j = 0; same && j < a->ngot && j < M_BATCH; j++)
        same = a->got[j] == b->got[j] && a->gotprio[j] == b->gotprio[j];
    if (!same) {
        char x[48], y[48], gx[80], gy[80];
        m_rc_str(sel, a->rc, a->crc, x, sizeof x);
        m_rc_str(sel, b->rc, b->crc, y, sizeof y);
        m_got_str(a, gx, sizeof gx);
        m_got_str(b, gy, sizeof gy);
        snprintf(msg, len, "libaq %s count %d%s, model %s count %d%s", x,
                 a->cnt, gx, y, b->cnt, gy);
        return 1;
    }
    if (a->ndrops != b->ndrops) {
        snprintf(msg, len, "drop callbacks so far: libaq %ld, model %ld",
                 a->ndrops, b->ndrops);
        return 1;
    }
    if (a->order != b->order) {
        snprintf(msg, len, "completed %ld-th in libaq, %ld-th in the model",
                 a->order, b->order);
        return 1;
    }
    if (mi_sync_diff(p, &a->sy, &b->sy, msg, len))
        return 1;
    return mi_snap_diff(p, a, b, msg, len);
}

/* The first disagreement in completion order, so the report names the
 * earliest point where libaq and the model part ways. */
static int mi_compare(const m_prog *p, const m_out *lib, const m_out *mod,
                      char *msg, size_t len)
{
    char why[M_WHY], what[M_OPSTR];
    long best = -1;
    for (int t = 0; t <= p->ntasks; t++) {
        int n = t == p->ntasks ? p->ntasks : p->nops[t];
        for (int i = 0; i < n; i++) {
            const m_res *a = t == p->ntasks ? &lib->wait[i] : &lib->res[t][i];
            const m_res *b = t == p->ntasks ? &mod->wait[i] : &mod->res[t][i];
            long o = a->order < b->order ? a->order : b->order;
            int sel = t < p->ntasks && p->ops[t][i].kind == M_SELECT;
            if (!mi_res_diff(p, sel, a, b, why, sizeof why) ||
                (best >= 0 && o >= best))
                continue;
            best = o;
            if (t == p->ntasks)
                snprintf(what, sizeof what, "main: task_wait(t%d)", i);
            else
                m_op_str(p, t, i, what, sizeof what);
            snprintf(msg, len, "t%d op %d (%s): %s",
                     t == p->ntasks ? -1 : t, i, what, why);
        }
    }
    if (best >= 0)
        return 1;
    if (lib->run_rc != mod->run_rc) {
        snprintf(msg, len, "aq_run returned %s, model %s",
                 aq_errname(lib->run_rc), aq_errname(mod->run_rc));
        return 1;
    }
    /* The drop callbacks' log against the model's entries for the same
     * queues (those with a policy set), entry by entry. */
    for (long a = 0, b = 0;; a++, b++) {
        while (b < mod->ndrops && !m_pol_logs(p, mod->drops[b].q))
            b++;
        if (a == lib->ndrops && b == mod->ndrops)
            break;
        if (a == lib->ndrops || b == mod->ndrops ||
            lib->drops[a].q != mod->drops[b].q ||
            lib->drops[a].id != mod->drops[b].id) {
            snprintf(msg, len, "drop %ld: libaq q%d #%ld, model q%d #%ld "
                     "(#0: none)", a, a < lib->ndrops ? lib->drops[a].q : 0,
                     a < lib->ndrops ? lib->drops[a].id : 0L,
                     b < mod->ndrops ? mod->drops[b].q : 0,
                     b < mod->ndrops ? mod->drops[b].id : 0L);
            return 1;
        }
    }
    for (int k = 0; k < p->nq; k++) {
        if (lib->final_unfinished[k] != mod->final_unfinished[k]) {
            snprintf(msg, len, "q%d unfinished at the end: libaq %ld, "
                     "model %ld", k, lib->final_unfinished[k],
                     mod->final_unfinished[k]);
            return 1;
        }
        for (int j = 0; j < lib->nleft[k] || j < mod->nleft[k]; j++) {
            long a = j < lib->nleft[k] ? lib->left[k][j] : 0;
            long b = j < mod->nleft[k] ? mod->left[k][j] : 0;
            if (a != b) {
                snprintf(msg, len, "q%d left item %d: libaq #%ld, model "
                         "#%ld (0: none)", k, j, a, b);
                return 1;
            }
        }
    }
    return 0;
}

/* Marks item id as taken from queue k (got, left or dropped); 0 if that
 * is legal: it was offered there, and is taken once. */
static int mi_seen(signed char *seen, const signed char *put_q, long id,
                   int k)
{
    if (id < 1 || id > M_IDS || put_q[id] != k)
        return 1; /* never offered to that queue */
    return seen[id]++ != 0; /* taken twice */
}

/* Marks the items op i of task t offered to a queue by libaq's results:
 * a put or select put clause that returned AQ_OK or AQ_EDROPPED (the
 * policy took it), a batch put's first *done items. */
static void mi_offered(const m_prog *p, const m_out *lib, int t, int i,
                       signed char *put_q)
{
    const m_op *op = &p->ops[t][i];
    const m_res *res = &lib->res[t][i];
    int k = m_qi(p, op), n = 0, rc = res->rc;
    if (op->kind == M_SELECT) {
        if (res->rc < 0 || res->rc >= m_sel_n(op) ||
            m_cl_op(p, op->cl[res->rc]) != M_CL_PUT)
            return;
        k = m_cl_q(p, op->cl[res->rc]);
        rc = res->crc;
    }
    if (op->kind == M_SELECT || op->kind == M_PUT || op->kind == M_TRY_PUT)
        n = rc == AQ_OK || rc == AQ_EDROPPED;
    else if (m_batch_put(op->kind))
        n = res->cnt;
    for (int j = 0; j < n && j < M_BATCH; j++)
        put_q[m_batch_id(t, i, j)] = (signed char)k;
}

/* The queue an op got its items from by libaq's results, or -1. */
static int mi_got_from(const m_prog *p, const m_out *lib, int t, int i)
{
    const m_op *op = &p->ops[t][i];
    const m_res *res = &lib->res[t][i];
    if (!res->ngot)
        return -1;
    if (op->kind == M_SELECT)
        return res->rc >= 0 && res->rc < m_sel_n(op)
                   ? m_cl_q(p, op->cl[res->rc]) : -1;
    return m_qi(p, op);
}

/* Conservation, judged on libaq's results (and for queues without a
 * drop callback the model's log of what immediate shutdowns dropped,
 * which libaq cannot report): every item got, left or dropped was
 * offered to that queue, and each item offered is exactly one of them. */
static int mi_conserve(const m_prog *p, const m_out *lib, const m_out *mod,
                       char *msg, size_t len)
{
    static signed char put_q[M_IDS + 1], seen[M_IDS + 1];
    memset(put_q, -1, sizeof put_q);
    memset(seen, 0, sizeof seen);
    for (int t = 0; t < p->ntasks; t++)
        for (int i = 0; i < p->nops[t]; i++)
            mi_offered(p, lib, t, i, put_q);
    for (int t = 0; t < p->ntasks; t++)
        for (int i = 0; i < p->nops[t]; i++) {
            const m_res *res = &lib->res[t][i];
            int k = mi_got_from(p, lib, t, i);
            for (int j = 0; k >= 0 && j < res->ngot && j < M_BATCH; j++)
                if (mi_seen(seen, put_q, res->got[j], k)) {
                    snprintf(msg, len, "t%d op %d got #%ld: not offered to "
                             "q%d, or taken twice", t, i, res->got[j], k);
                    return 1;
                }
        }
    for (int k = 0; k < p->nq; k++)
        for (int j = 0; j < lib->nleft[k]; j++)
            if (mi_seen(seen, put_q, lib->left[k][j], k)) {
                snprintf(msg, len, "q%d still held #%ld: not offered there, "
                         "or taken too", k, lib->left[k][j]);
                return 1;
            }
    for (int w = 0; w < 2; w++) {
        const m_out *o = w ? mod : lib;
        for (long j = 0; j < o->ndrops; j++) {
            const m_drop *d = &o->drops[j];
            if (m_pol_logs(p, d->q) != !w)
                continue;
            if (mi_seen(seen, put_q, d->id, d->q)) {
                snprintf(msg, len, "q%d dropped #%ld: not offered there, "
                         "or taken too", d->q, d->id);
                return 1;
            }
        }
    }
    for (long id = 1; id <= M_IDS; id++)
        if (put_q[id] >= 0 && !seen[id]) {
            snprintf(msg, len, "item #%ld was offered to q%d and is lost", id,
                     put_q[id]);
            return 1;
        }
    return 0;
}

/* ---- one run ------------------------------------------------------------- */

static void mi_trace(const m_prog *p, const m_out *lib, const m_out *mod,
                     FILE *f)
{
    long total = 0;
    for (int t = 0; t < p->ntasks; t++)
        total += p->nops[t];
    total += p->ntasks;
    fprintf(f, "trace (libaq; '!=' marks where the model differs):\n");
    for (long o = 0; o < total; o++)
        for (int t = 0; t <= p->ntasks; t++) {
            int n = t < p->ntasks ? p->nops[t]
                    : p->runner == M_RUN_AQ ? p->ntasks : 0;
            for (int i = 0; i < n; i++) {
                const m_res *a = t == p->ntasks ? &lib->wait[i]
                                                : &lib->res[t][i];
                const m_res *b = t == p->ntasks ? &mod->wait[i]
                                                : &mod->res[t][i];
                char what[M_OPSTR + 32], why[M_WHY], rcs[48];
                int sel = t < p->ntasks && p->ops[t][i].kind == M_SELECT;
                if (a->order != o)
                    continue;
                if (t == p->ntasks)
                    snprintf(what, sizeof what, "main  task_wait t%d", i);
                else {
                    char op[M_OPSTR];
                    m_op_str(p, t, i, op, sizeof op);
                    snprintf(what, sizeof what, "t%d.%-2d %s", t, i, op);
                }
                m_rc_str(sel, a->rc, a->crc, rcs, sizeof rcs);
                fprintf(f, "%4ld %-44s -> %s", o, what, rcs);
                if (t < p->ntasks && m_is_batch(p->ops[t][i].kind))
                    fprintf(f, " count %d", a->cnt);
                for (int j = 0; j < a->ngot && j < M_BATCH; j++)
                    fprintf(f, " #%ld", a->got[j]);
                for (int k = 0; k < p->nq && t < p->ntasks; k++) {
                    const m_snap *s = &a->snap[k];
                    fprintf(f, " | q%d n%ld u%ld g%ld p%ld j%ld%s", k,
                            s->qsize, s->unfinished, s->getters, s->putters,
                            s->joiners, s->shut ? " shut" : "");
                    if (s->st_dropped)
                        fprintf(f, " dropped %ld", s->st_dropped);
                    if (s->head)
                        fprintf(f, " next #%ld", s->head);
                }
                if (p->sync && t < p->ntasks) {
                    const m_ssnap *y = &a->sy;
                    fprintf(f, " | L%s%s S%ld", y->locked[0] ? "+" : "-",
                            y->locked[1] ? "+" : "-", y->semv[0]);
                    if (p->nsem > 1)
                        fprintf(f, ",%ld", y->semv[1]);
                    fprintf(f, " E%ld", y->set[0]);
                    if (p->nev > 1)
                        fprintf(f, ",%ld", y->set[1]);
                    for (int k = 0; k < p->nbar; k++)
                        fprintf(f, " B%d w%ld%s", k, y->nwait[k],
                                y->broken[k] ? " broken" : "");
                }
                if (mi_res_diff(p, sel, a, b, why, sizeof why))
                    fprintf(f, "\n     != %s", why);
                fprintf(f, "\n");
            }
        }
    fprintf(f, "aq_run: %s (model %s)\n", aq_errname(lib->run_rc),
            aq_errname(mod->run_rc));
    if (lib->ndrops) {
        fprintf(f, "drop callbacks (libaq):");
        for (long j = 0; j < lib->ndrops; j++)
            fprintf(f, " q%d #%ld", lib->drops[j].q, lib->drops[j].id);
        fprintf(f, "\n");
    }
}

/* The sync objects of r's program: AQ_OK, or the first failure. */
static int mi_sync_new(mi_run *r)
{
    const m_prog *p = r->p;
    int rc = aq_lock_new(&r->lk[0]);
    if (!rc)
        rc = aq_cond_new(&r->cond[0], NULL);
    if (!rc)
        r->lk[1] = aq_cond_lock(r->cond[0]);
    if (!rc && p->ncond > 1)
        rc = aq_cond_new(&r->cond[1], r->lk[1]);
    for (int k = 0; !rc && k < p->nsem; k++)
        rc = aq_sem_new(&r->sem[k], p->sem_init[k], p->sem_bounded[k]);
    for (int k = 0; !rc && k < p->nev; k++)
        rc = aq_event_new(&r->ev[k]);
    for (int k = 0; !rc && k < p->nbar; k++)
        rc = aq_barrier_new(&r->bar[k], p->parties[k]);
    return rc;
}

/* Frees what mi_sync_new made (each must be idle: AQ_OK), and the
 * first failure. */
static int mi_sync_free(mi_run *r)
{
    int rc = AQ_OK, x;
#define MI_FREE(fn, o)                                                    \
    do {                                                                  \
        if ((o) && (x = fn(o)) != AQ_OK && rc == AQ_OK)                   \
            rc = x;                                                       \
    } while (0)
    MI_FREE(aq_cond_free, r->cond[1]); /* before its lock's condition */
    MI_FREE(aq_cond_free, r->cond[0]);
    MI_FREE(aq_lock_free, r->lk[0]);
    for (int k = 0; k < M_SEMS; k++)
        MI_FREE(aq_sem_free, r->sem[k]);
    for (int k = 0; k < M_EVS; k++)
        MI_FREE(aq_event_free, r->ev[k]);
    for (int k = 0; k < M_BARS; k++)
        MI_FREE(aq_barrier_free, r->bar[k]);
#undef MI_FREE
    return rc;
}

/* Runs p on the model and on libaq. Returns 0 if they agree, else 1 with
 * the first difference in msg. verbose: print the whole trace. stats: if
 * not NULL, the model's event counts are added to it. */
/* Is p's queue k shared (aq_queue_share)? In half the programs that
 * allow it: those the model runs to the end (a task parked on a shared
 * queue keeps its loop waiting for other threads, where a plain queue's
 * would be reported as a deadlock), for each queue no select names (a
 * shared queue is no clause). All tasks are on one loop, so the order
 * stays the model's: shared.c's wake-ups are then direct, as queue.c's
 * are. */
static int mi_shared(const m_prog *p, const m_out *mod, int k)
{
    if (!(p->seed & 1) || mod->n_deadlock)
        return 0;
    for (int t = 0; t < p->ntasks; t++)
        for (int i = 0; i < p->nops[t]; i++) {
            const m_op *op = &p->ops[t][i];
            for (int c = 0; op->kind == M_SELECT && c < m_sel_n(op); c++) {
                int kind = m_cl_op(p, op->cl[c]);
                if ((kind == M_CL_PUT || kind == M_CL_GET) &&
                    m_cl_q(p, op->cl[c]) == k)
                    return 0;
            }
        }
    return 1;
}

M_FN int m_check(const m_prog *p, char *msg, size_t len, FILE *verbose,
                 m_out *stats)
{
    m_out *mod = calloc(1, sizeof *mod), *lib = calloc(1, sizeof *lib);
    mi_run *r = calloc(1, sizeof *r);
    int bad = 0;
    if (!mod || !lib || !r)
        abort();
    msg[0] = 0;
    if (m_simulate(p, mod)) {
        snprintf(msg, len, "the MODEL broke its own invariants");
        bad = 1;
        goto out;
    }
    r->p = p;
    r->pred = mod;
    r->out = lib;
    for (int k = 0; k < p->nq; k++) {
        int rc = p->qkind[k] == M_PRIO_CMP
                     ? aq_queue_new_prio(&r->q[k], sizeof(m_item),
                                         p->maxsize[k], mi_cmp, NULL)
                 : p->qkind[k] == M_RDV
                     ? aq_queue_new(&r->q[k], AQ_RENDEZVOUS, sizeof(m_item), 0)
                     : aq_queue_new(&r->q[k], (aq_queue_kind)p->qkind[k],
                                    sizeof(m_item), p->maxsize[k]);
        if (rc == AQ_OK && m_pol_logs(p, k)) {
            r->dctx[k] = (mi_dropctx){r, k};
            rc = aq_queue_set_overflow(r->q[k],
                                       (aq_overflow)(p->policy[k] - 1),
                                       mi_drop, &r->dctx[k]);
        }
        if (rc == AQ_OK && mi_shared(p, mod, k))
            rc = aq_queue_share(r->q[k]);
        if (rc != AQ_OK) {
            snprintf(msg, len, "aq_queue_new, set_overflow or share: %s",
                     aq_errname(rc));
            bad = 1;
            goto free_queues;
        }
    }
    if (p->sync && mi_sync_new(r) != AQ_OK) {
        snprintf(msg, len, "creating the sync objects failed");
        bad = 1;
        goto free_queues;
    }
    r->far = aq_now() + M_FAR_NS;
    if (p->runner == M_RUN_AQ) {
        lib->run_rc = aq_run(mi_main, r, NULL);
    } else {
        mi_run_loop(r);
    }
    for (int k = 0; k < p->nq; k++) {
        m_item it;
        int rc;
        while ((rc = aq_queue_try_get(r->q[k], &it)) == AQ_OK &&
               lib->nleft[k] < M_IDS)
            lib->left[k][lib->nleft[k]++] = it.id;
        if (rc != (aq_queue_is_shutdown(r->q[k]) ? AQ_ESHUTDOWN : AQ_EEMPTY))
            mi_fail(r, "q%d: try_get on the drained queue: %s", k,
                    aq_errname(rc));
        lib->final_unfinished[k] = aq_queue_unfinished(r->q[k]);
    }
    if (r->err[0]) {
        snprintf(msg, len, "%s", r->err);
        bad = 1;
    } else {
        bad = mi_compare(p, lib, mod, msg, len) ||
              mi_conserve(p, lib, mod, msg, len);
    }
    if (verbose)
        mi_trace(p, lib, mod, verbose);
free_queues:
    if (p->sync) {
        int rc = mi_sync_free(r);
        if (rc != AQ_OK && !bad) {
            snprintf(msg, len, "freeing the sync objects: %s",
                     aq_errname(rc));
            bad = 1;
        }
    }
    for (int k = 0; k < p->nq; k++) {
        int rc = r->q[k] ? aq_queue_free(r->q[k]) : AQ_OK;
        if (rc != AQ_OK && !bad) {
            snprintf(msg, len, "aq_queue_free(q%d): %s", k, aq_errname(rc));
            bad = 1;
        }
    }
    if (stats) {
        stats->n_handoff_get += mod->n_handoff_get;
        stats->n_handoff_put += mod->n_handoff_put;
        stats->n_cancel_waiting += mod->n_cancel_waiting;
        stats->n_cancel_woken += mod->n_cancel_woken;
        stats->n_dropped += mod->n_dropped;
        stats->n_deadlock += mod->n_deadlock;
        for (int k = 0; k < p->nq; k++)
            stats->n_shared += mi_shared(p, mod, k);
        stats->n_timeout += mod->n_timeout;
        stats->n_rdv += mod->n_rdv;
        stats->n_sel_now += mod->n_sel_now;
        stats->n_sel_draw += mod->n_sel_draw;
        stats->n_sel_woken += mod->n_sel_woken;
        stats->n_sel_fail += mod->n_sel_fail;
        stats->n_pol_drop += mod->n_pol_drop;
        stats->n_refused += mod->n_refused;
        stats->n_batch_wait += mod->n_batch_wait;
        stats->n_batch_part += mod->n_batch_part;
        stats->n_batch_drain += mod->n_batch_drain;
        stats->n_lock_pass += mod->n_lock_pass;
        stats->n_sem_pass += mod->n_sem_pass;
        stats->n_ev_woken += mod->n_ev_woken;
        stats->n_notified += mod->n_notified;
        stats->n_reacquire += mod->n_reacquire;
        stats->n_bar_round += mod->n_bar_round;
        stats->n_broken += mod->n_broken;
        stats->n_misuse += mod->n_misuse;
        stats->n_sel_sync += mod->n_sel_sync;
    }
out:
    free(mod);
    free(lib);
    free(r);
    return bad;
}

/* ---- shrinking ----------------------------------------------------------- */

static void ms_del_op(m_prog *p, int t, int i)
{
    memmove(&p->ops[t][i], &p->ops[t][i + 1],
            (size_t)(p->nops[t] - i - 1) * sizeof p->ops[t][0]);
    p->nops[t]--;
}

/* Deletes task t; cancels keep aiming at the same tasks (those aiming at
 * t go too), since targets are taken modulo the task count. */
static void ms_del_task(m_prog *p, int t)
{
    for (int u = 0; u < p->ntasks; u++)
        for (int i = p->nops[u] - 1; i >= 0; i--) {
            m_op *op = &p->ops[u][i];
            int k = op->kind == M_CANCEL ? m_target(p, op) : -1;
            if (k == t) {
                ms_del_op(p, u, i);
                continue;
            } else if (k >= 0) {
                op->arg = (unsigned char)(k > t ? k - 1 : k);
            }
            if (op->kind != M_SELECT)
                continue;
            /* A select's task clauses too; one on t takes the op away. */
            int gone = 0;
            for (int c = 0; c < m_sel_n(op); c++) {
                unsigned char b = op->cl[c];
                if (m_cl_op(p, b) != M_CL_TASK)
                    continue;
                k = m_cl_target(p, b);
                gone |= k == t;
                op->cl[c] = m_cl_make(p, M_CL_TASK, k > t ? k - 1 : k);
            }
            if (gone)
                ms_del_op(p, u, i);
        }
    memmove(&p->ops[t], &p->ops[t + 1],
            (size_t)(p->ntasks - t - 1) * sizeof p->ops[0]);
    memmove(&p->nops[t], &p->nops[t + 1],
            (size_t)(p->ntasks - t - 1) * sizeof p->nops[0]);
    p->ntasks--;
}

/* Keeps *p if the candidate c still fails. */
static int ms_try(m_prog *p, const m_prog *c)
{
    char msg[M_MSG];
    if (!m_check(c, msg, sizeof msg, NULL, NULL))
        return 0;
    *p = *c;
    return 1;
}

/* Greedy shrinking: delete whole tasks, then single ops, then simplify
 * deadlines, select clauses, batch counts, queues, sizes and policies,
 * while the program still fails; repeat
 * until nothing more can go. Any failure counts, not only the first one
 * seen: the smallest failing program is what helps. */
M_FN void m_shrink(m_prog *p)
{
    int progress = 1;
    while (progress) {
        progress = 0;
        for (int t = p->ntasks - 1; t >= 0 && p->ntasks > 1; t--) {
            m_prog c = *p;
            ms_del_task(&c, t);
            progress |= ms_try(p, &c);
        }
        for (int t = 0; t < p->ntasks; t++)
            for (int i = p->nops[t] - 1; i >= 0; i--) {
                m_prog c = *p;
                ms_del_op(&c, t, i);
                progress |= ms_try(p, &c);
            }
        for (int t = 0; t < p->ntasks; t++)
            for (int i = 0; i < p->nops[t]; i++) {
                m_prog c = *p;
                if (c.ops[t][i].dl != M_DL_NEVER) {
                    c.ops[t][i].dl = M_DL_NEVER;
                    progress |= ms_try(p, &c);
                }
                c = *p; /* a select with its third clause dropped */
                m_op *op = &c.ops[t][i];
                if (op->kind == M_SELECT && m_sel_n(op) == 3) {
                    op->arg &= (unsigned char)~4;
                    progress |= ms_try(p, &c);
                }
                c = *p; /* a batch of one item fewer */
                op = &c.ops[t][i];
                if (m_is_batch(op->kind) && m_batch_n(op) > 1) {
                    op->arg = (unsigned char)(op->arg - 32);
                    progress |= ms_try(p, &c);
                }
            }
        if (p->nq == 2) {
            m_prog c = *p;
            c.nq = 1;
            m_fix_policy(&c);
            progress |= ms_try(p, &c);
        }
        if (p->runner != M_RUN_LOOP) { /* no main task to read past */
            m_prog c = *p;
            c.runner = M_RUN_LOOP;
            progress |= ms_try(p, &c);
        }
        for (int k = 0; k < p->nq; k++) {
            m_prog c = *p;
            if (p->maxsize[k] > 1) {
                c.maxsize[k]--;
                progress |= ms_try(p, &c);
            }
            c = *p;
            if (p->qkind[k] != M_FIFO) {
                c.qkind[k] = M_FIFO;
                progress |= ms_try(p, &c);
            }
            c = *p; /* no policy (a DROP one found failing stays) */
            if (p->policy[k] == M_POL_BLOCK) {
                c.policy[k] = M_POL_NONE;
                progress |= ms_try(p, &c);
            }
        }
        if (p->sync) { /* fewer sync objects, simpler ones */
            for (int j = 0; j < 4; j++) {
                m_prog c = *p;
                int *w = j == 0   ? &c.nsem
                         : j == 1 ? &c.nev
                         : j == 2 ? &c.ncond
                                  : &c.nbar;
                if (*w > 1) {
                    (*w)--;
                    progress |= ms_try(p, &c);
                }
            }
            for (int k = 0; k < M_BARS; k++) {
                m_prog c = *p;
                if (c.parties[k] > 2) {
                    c.parties[k]--;
                    progress |= ms_try(p, &c);
                }
            }
            for (int k = 0; k < M_SEMS; k++) {
                m_prog c = *p;
                if (c.sem_bounded[k]) {
                    c.sem_bounded[k] = 0;
                    progress |= ms_try(p, &c);
                }
            }
        }
    }
}

/* Reports a failing program on stderr: the program as it failed, then a
 * shrunk one with its full trace (libaq's and the model's results side by
 * side). The caller prints what names the failure first. */
M_FN void m_explain(const m_prog *p)
{
    m_prog small = *p;
    char msg[M_MSG];
    FILE *early = m_early;
    m_print(p, stderr);
    fprintf(stderr, "shrinking...\n");
    m_early = NULL; /* each candidate would report */
    m_shrink(&small);
    m_early = early;
    m_check(&small, msg, sizeof msg, NULL, NULL);
    fprintf(stderr, "shrunk: %s\n", msg);
    m_print(&small, stderr);
    m_check(&small, msg, sizeof msg, stderr, NULL);
}

#endif
