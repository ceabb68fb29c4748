/* libaq model tests - run a program on libaq and judge it against the
 * reference model; shrink failing programs. MIT licensed.
 *
 * m_check() runs the model (model.h), then the same program on libaq,
 * one libaq task per program task, started as the program's runner says
 * (see prog.h; the shared loop's stack pool spares an mmap per task).
 * Every task runs its ops and records, after each one, the return code,
 * the item got and the state of every queue: qsize, unfinished, waiter
 * counts, shutdown flag, next item, and the whole get order read with
 * aq_queue_peek while at most M_PEEK items are queued. Then:
 * - every record must equal the model's, including the rank at which the
 *   op completed, so the interleaving itself is checked; for a select,
 *   the clause that completed (the loop is seeded with m_prog.seed, so
 *   even a fair choice is predicted) and that clause's rc;
 * - a select leaves the rc and buffer of every other clause untouched,
 *   and a task clause delivers that task's result;
 * - aq_run's return, main's waits and what try_get drains afterwards must
 *   match too;
 * - conservation, from libaq's own results alone: an item got was put
 *   successfully on that queue and is got at most once; an item put and
 *   never got must be one the model says an immediate shutdown dropped.
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

typedef struct mi_run mi_run;

typedef struct mi_arg {
    mi_run *run;
    int t;
} mi_arg;

struct mi_run {
    const m_prog *p;
    const m_out *pred; /* the model's, for the stuck flags */
    m_out *out;
    aq_queue *q[M_QUEUES];
    aq_task *h[M_TASKS];
    mi_arg args[M_TASKS];
    long order;
    int64_t far;
    char err[256]; /* first broken invariant seen during the run */
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

static void mi_record(mi_run *r, m_res *res, int rc, int crc,
                      const m_item *got)
{
    const m_prog *p = r->p;
    res->rc = rc;
    res->crc = crc;
    res->got = got ? got->id : 0;
    res->gotprio = got ? got->prio : 0;
    res->order = r->order++;
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
        if (m_cl_op(b) == M_CL_PUT)
            c[k] = (aq_clause)AQ_PUT(q, it);
        else if (m_cl_op(b) == M_CL_GET)
            c[k] = (aq_clause)AQ_GET(q, &outs[k]);
        else
            c[k] = (aq_clause)AQ_TASK(r->h[m_cl_target(p, b)], &res[k]);
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
            *is_get = m_cl_op(b) == M_CL_GET;
            *got = outs[k];
            if (m_cl_op(b) == M_CL_TASK &&
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

static int mi_res_diff(const m_prog *p, int sel, const m_res *a,
                       const m_res *b, char *msg, size_t len);

/* The early report of worker ti's op i (see m_early). */
static void mi_check_now(mi_run *r, int ti, int i)
{
    char why[200], what[M_OPSTR];
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
            break;
        case M_SELECT:
            rc = mi_select(r, ti, i, &it, dl, &crc, &out, &is_get);
            break;
        }
        int ok = op->kind == M_SELECT ? rc >= 0 && crc == AQ_OK : rc == AQ_OK;
        if (is_get && !ok && (out.id != 0 || out.prio != -1))
            mi_fail(r, "t%d op %d: failed get wrote its output", ti, i);
        mi_record(r, &r->out->res[ti][i], rc, crc,
                  is_get && ok ? &out : NULL);
        mi_check_now(r, ti, i);
    }
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
    for (int i = 0; i < r->p->ntasks; i++)
        mi_record(r, &r->out->wait[i], aq_task_wait(r->h[i], NULL), 0,
                  NULL);
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
        static const char *const f[] = {"qsize", "unfinished", "getters",
                                        "putters", "joiners", "head item"};
        const long xv[] = {x->qsize, x->unfinished, x->getters,
                           x->putters, x->joiners, x->head};
        const long yv[] = {y->qsize, y->unfinished, y->getters,
                           y->putters, y->joiners, y->head};
        for (int j = 0; j < 6; j++)
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

static int mi_res_diff(const m_prog *p, int sel, const m_res *a,
                       const m_res *b, char *msg, size_t len)
{
    if (a->rc != b->rc || a->crc != b->crc || a->got != b->got ||
        a->gotprio != b->gotprio) {
        char x[48], y[48];
        m_rc_str(sel, a->rc, a->crc, x, sizeof x);
        m_rc_str(sel, b->rc, b->crc, y, sizeof y);
        snprintf(msg, len, "libaq %s item #%ld/p%ld, model %s item #%ld/p%ld",
                 x, a->got, a->gotprio, y, b->got, b->gotprio);
        return 1;
    }
    if (a->order != b->order) {
        snprintf(msg, len, "completed %ld-th in libaq, %ld-th in the model",
                 a->order, b->order);
        return 1;
    }
    return mi_snap_diff(p, a, b, msg, len);
}

/* The first disagreement in completion order, so the report names the
 * earliest point where libaq and the model part ways. */
static int mi_compare(const m_prog *p, const m_out *lib, const m_out *mod,
                      char *msg, size_t len)
{
    char why[200], what[M_OPSTR];
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

/* Marks item id as got from queue k; 0 if that is legal. */
static int mi_seen(signed char *seen, const signed char *put_q, long id,
                   int k)
{
    if (id < 1 || id > M_ITEMS || put_q[id] != k)
        return 1; /* never put on that queue */
    return seen[id]++ != 0; /* got twice */
}

/* The queue that op i of task t moved an item into (dir M_CL_PUT) or
 * out of (M_CL_GET) by libaq's results, or -1: a put or get that
 * succeeded, or a select whose put or get clause did. */
static int mi_moved(const m_prog *p, const m_out *lib, int t, int i, int dir)
{
    const m_op *op = &p->ops[t][i];
    const m_res *res = &lib->res[t][i];
    if (op->kind == M_SELECT) {
        if (res->rc < 0 || res->rc >= m_sel_n(op) || res->crc != AQ_OK ||
            m_cl_op(op->cl[res->rc]) != dir)
            return -1;
        return m_cl_q(p, op->cl[res->rc]);
    }
    int put = op->kind == M_PUT || op->kind == M_TRY_PUT;
    int get = op->kind == M_GET || op->kind == M_TRY_GET;
    if (res->rc != AQ_OK || (dir == M_CL_PUT ? !put : !get))
        return -1;
    return m_qi(p, op);
}

/* Conservation, judged on libaq's results only (plus the model's list of
 * dropped items, which libaq cannot report): every item got or drained
 * was put successfully on that queue, and only once; every item put
 * successfully is got, drained or dropped. */
static int mi_conserve(const m_prog *p, const m_out *lib, const m_out *mod,
                       char *msg, size_t len)
{
    signed char put_q[M_ITEMS + 1], seen[M_ITEMS + 1], dropped[M_ITEMS + 1];
    memset(put_q, -1, sizeof put_q);
    memset(seen, 0, sizeof seen);
    memset(dropped, 0, sizeof dropped);
    for (int j = 0; j < mod->ndropped; j++)
        dropped[mod->dropped[j]] = 1;
    for (int t = 0; t < p->ntasks; t++)
        for (int i = 0; i < p->nops[t]; i++) {
            int k = mi_moved(p, lib, t, i, M_CL_PUT);
            if (k >= 0)
                put_q[m_item_id(t, i)] = (signed char)k;
        }
    for (int t = 0; t < p->ntasks; t++)
        for (int i = 0; i < p->nops[t]; i++) {
            long id = lib->res[t][i].got;
            int k = mi_moved(p, lib, t, i, M_CL_GET);
            if (k >= 0 && mi_seen(seen, put_q, id, k)) {
                snprintf(msg, len, "t%d op %d got #%ld: not put on q%d, "
                         "or got twice", t, i, id, k);
                return 1;
            }
        }
    for (int k = 0; k < p->nq; k++)
        for (int j = 0; j < lib->nleft[k]; j++)
            if (mi_seen(seen, put_q, lib->left[k][j], k)) {
                snprintf(msg, len, "q%d still held #%ld: not put there, "
                         "or got too", k, lib->left[k][j]);
                return 1;
            }
    for (long id = 1; id <= M_ITEMS; id++) {
        if (put_q[id] >= 0 && !seen[id] && !dropped[id]) {
            snprintf(msg, len, "item #%ld was put and is lost", id);
            return 1;
        }
        if (dropped[id] && (put_q[id] < 0 || seen[id])) {
            snprintf(msg, len, "item #%ld dropped but not put, or got", id);
            return 1;
        }
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
                char what[M_OPSTR + 32], why[200], rcs[48];
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
                if (a->got)
                    fprintf(f, " #%ld", a->got);
                for (int k = 0; k < p->nq && t < p->ntasks; k++) {
                    const m_snap *s = &a->snap[k];
                    fprintf(f, " | q%d n%ld u%ld g%ld p%ld j%ld%s", k,
                            s->qsize, s->unfinished, s->getters, s->putters,
                            s->joiners, s->shut ? " shut" : "");
                    if (s->head)
                        fprintf(f, " next #%ld", s->head);
                }
                if (mi_res_diff(p, sel, a, b, why, sizeof why))
                    fprintf(f, "\n     != %s", why);
                fprintf(f, "\n");
            }
        }
    fprintf(f, "aq_run: %s (model %s)\n", aq_errname(lib->run_rc),
            aq_errname(mod->run_rc));
}

/* Runs p on the model and on libaq. Returns 0 if they agree, else 1 with
 * the first difference in msg. verbose: print the whole trace. stats: if
 * not NULL, the model's event counts are added to it. */
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
        if (rc != AQ_OK) {
            snprintf(msg, len, "aq_queue_new: %s", aq_errname(rc));
            bad = 1;
            goto free_queues;
        }
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
               lib->nleft[k] < M_ITEMS)
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
        stats->n_timeout += mod->n_timeout;
        stats->n_rdv += mod->n_rdv;
        stats->n_sel_now += mod->n_sel_now;
        stats->n_sel_draw += mod->n_sel_draw;
        stats->n_sel_woken += mod->n_sel_woken;
        stats->n_sel_fail += mod->n_sel_fail;
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
                if (m_cl_op(b) != M_CL_TASK)
                    continue;
                k = m_cl_target(p, b);
                gone |= k == t;
                op->cl[c] = m_cl_make(M_CL_TASK, k > t ? k - 1 : k);
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
 * deadlines, select clauses, queues and sizes, while the program still fails; repeat
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
            }
        if (p->nq == 2) {
            m_prog c = *p;
            c.nq = 1;
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
