/* libaq model tests - an operation program: what each task does, in
 * order. MIT licensed.
 *
 * A program is a few queues plus up to M_TASKS worker tasks, each with a
 * straight list of operations (no loops, no branches), so every operation
 * runs exactly once and can be named by (task, index). The same program
 * is run twice: by the reference model (model.h) and on libaq
 * (interp.h). It comes from a 64-bit seed (generator below), from fuzzer
 * bytes (m_decode) or from the shrinker.
 *
 * Time is made deterministic by never letting a timer fire: a deadline is
 * either already past (the call times out unless it can complete at
 * once), or none, or "far" (seconds ahead: it goes on libaq's timer heap
 * but cannot expire during a run of microseconds). A time-out of k ticks
 * is written as a task that yields k times and then cancels the waiter;
 * a sleep of k ticks is k calls of aq_sleep(0).
 *
 * A select (M_SELECT) has 2 or 3 clauses, each a put or a get on one of
 * the program's queues or the completion of a worker task, one byte each
 * (m_op.cl; decoded by m_cl_* below). Fair selects draw from the loop's
 * generator, which the test seeds with m_prog.seed so that the model can
 * replay every choice.
 *
 * A batch op (put_many, get_many and their try_ forms) moves 1..M_BATCH
 * items: its count and, for puts, each item's priority come from m_op.arg
 * (m_batch_n, m_batch_prio); item j of op (t, i) has id m_batch_id.
 *
 * A queue may have an overflow policy (m_prog.policy), set at creation
 * with a drop callback that logs every item discarded, in order: none
 * (aq_queue_set_overflow is not called), AQ_BLOCK, AQ_DROP_NEWEST or
 * AQ_DROP_OLDEST (the DROP ones on bounded, storing queues only).
 *
 * A sync program (m_prog.sync) also has the primitives of aq/sync.h: two
 * locks (lock 0 a plain one, lock 1 condition 0's own, aq_cond_lock),
 * one or two semaphores (bounded or not, 0..2 permits), events,
 * conditions (condition 1, if any, over condition 0's lock) and barriers
 * (2..4 parties); ops acquire, release, wait, set, clear, notify, abort
 * and reset them (op.q names which one), and a select's clauses may also
 * be event, lock and semaphore ones. A task that ends holding a lock
 * releases it (interp.h and model.h alike, as `async with` would), so a
 * condition's shielded re-acquire never waits for a lock nobody can
 * release.
 */
#ifndef MODEL_PROG_H
#define MODEL_PROG_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Everything here is static; a file that includes it need not use all. */
#define M_UNUSED __attribute__((unused))
#define M_FN M_UNUSED static

#define M_TASKS 12
#define M_OPS 24
#define M_QUEUES 2
#define M_ITEMS (M_TASKS * M_OPS)
#define M_BATCH 4                  /* items of a batch op, at most */
#define M_IDS (M_ITEMS * M_BATCH)  /* item ids run from 1 to M_IDS */

enum m_kind {
    M_PUT,       /* q, deadline; arg: priority 0..3 */
    M_GET,       /* q, deadline */
    M_TRY_PUT,   /* q; arg: priority */
    M_TRY_GET,   /* q */
    M_TASK_DONE, /* q */
    M_JOIN,      /* q, deadline */
    M_YIELD,
    M_SLEEP,     /* deadline never: arg ticks of aq_sleep(0); past: the
                    same with aq_sleep_until(0); far: sleep until
                    cancelled */
    M_CANCEL,    /* arg: target task (mod ntasks) */
    M_SHUTDOWN,  /* q; arg & 1: immediate */
    M_SELECT,    /* deadline; cl[]: clauses; arg: priority of the put
                    item (& 3), 3 clauses not 2 (& 4), biased (& 8) */
    M_PUT_MANY,  /* q, deadline; arg: count, priorities (m_batch_*) */
    M_GET_MANY,  /* q, deadline; arg: count */
    M_TRY_PUT_MANY, /* q; arg: count, priorities */
    M_TRY_GET_MANY, /* q; arg: count */
    M_NKINDS_Q,  /* the kinds of a program without sync objects */
    /* Sync programs only; q % the count names the object. */
    M_LOCK_ACQ = M_NKINDS_Q, /* lock (q & 1), deadline */
    M_LOCK_TRY,  /* lock: aq_lock_try_acquire */
    M_LOCK_REL,  /* lock */
    M_SEM_ACQ,   /* sem, deadline */
    M_SEM_TRY,   /* sem */
    M_SEM_REL,   /* sem */
    M_EV_WAIT,   /* event, deadline */
    M_EV_SET,    /* event */
    M_EV_CLEAR,  /* event */
    M_COND_WAIT, /* condition, deadline */
    M_COND_NOTIFY, /* condition; arg: n (m_notify_n) */
    M_BAR_WAIT,  /* barrier, deadline */
    M_BAR_ABORT, /* barrier */
    M_BAR_RESET, /* barrier */
    M_NKINDS
};

enum m_dl { M_DL_NEVER, M_DL_PAST, M_DL_FAR, M_NDL };

/* Queue kinds: FIFO, LIFO and PRIORITY of aq.h, PRIORITY through
 * aq_queue_new_prio with a comparator (the model treats it as PRIORITY),
 * and AQ_RENDEZVOUS (maxsize always 0). */
enum { M_FIFO, M_LIFO, M_PRIO, M_PRIO_CMP, M_RDV, M_NQKINDS };

#define M_CLAUSES 3

/* Sync objects of a program, at most. */
#define M_LOCKS 2 /* lock 0, and condition 0's lock */
#define M_SEMS 2
#define M_EVS 2
#define M_CONDS 2
#define M_BARS 2

/* Overflow policies: none set, or aq_overflow's value + 1. */
enum { M_POL_NONE, M_POL_BLOCK, M_POL_NEWEST, M_POL_OLDEST, M_NPOL };

typedef struct m_op {
    unsigned char kind, q, dl, arg;
    unsigned char cl[M_CLAUSES]; /* M_SELECT only: see m_cl_op */
} m_op;

/* How the tasks are run: aq_run (a main task spawns the workers and waits
 * for each; aq_run cancels what is stuck), or on one loop kept across
 * programs (workers spawned from outside, aq_loop_run, then the test
 * cancels what is stuck and runs the loop again). */
enum { M_RUN_AQ, M_RUN_LOOP };

typedef struct m_prog {
    int runner;
    uint64_t seed; /* of the loop's generator (aq_loop_seed) */
    int nq;
    int qkind[M_QUEUES];
    int maxsize[M_QUEUES]; /* 0: unbounded */
    int policy[M_QUEUES];  /* M_POL_*: see m_fix_policy */
    int ntasks;            /* workers, >= 1 */
    /* Sync objects (m_fix_sync keeps them in range); none if !sync. */
    int sync;
    int nsem, sem_init[M_SEMS], sem_bounded[M_SEMS];
    int nev, ncond, nbar, parties[M_BARS];
    int nops[M_TASKS];
    m_op ops[M_TASKS][M_OPS];
} m_prog;

/* The item moved through the queues: a priority first, as AQ_PRIORITY's
 * default ordering wants, then a unique id. */
typedef struct m_item {
    int64_t prio;
    int64_t id;
} m_item;

/* Decoding of an op's fields, shared by model and interpreter so that
 * both read a program the same way whatever its raw bytes. */
static inline int m_qi(const m_prog *p, const m_op *op)
{
    return op->q % p->nq;
}
static inline int m_prio(const m_op *op) { return op->arg % 4; }
static inline int m_ticks(const m_op *op) { return 1 + op->arg % 3; }
static inline int m_target(const m_prog *p, const m_op *op)
{
    return op->arg % p->ntasks;
}
static inline int m_immediate(const m_op *op) { return op->arg & 1; }
/* Ids are positions, so items stay unique whatever the shrinker deletes. */
static inline long m_item_id(int t, int i) { return 1 + (long)t * M_OPS + i; }
/* Only these calls take a deadline. */
static inline int m_has_dl(int kind)
{
    return kind == M_PUT || kind == M_GET || kind == M_JOIN ||
           kind == M_SLEEP || kind == M_SELECT || kind == M_PUT_MANY ||
           kind == M_GET_MANY || kind == M_LOCK_ACQ || kind == M_SEM_ACQ ||
           kind == M_EV_WAIT || kind == M_COND_WAIT || kind == M_BAR_WAIT;
}

/* Sync ops: which object (op.q modulo the count), and notify's n:
 * 0, 1, 2, all (M_NOTIFY_ALL: aq_cond_notify_all) or -1 (AQ_EINVAL). */
#define M_NOTIFY_ALL (-2)
static inline int m_is_sync(int kind) { return kind >= M_NKINDS_Q; }
static inline int m_lk(const m_op *op) { return op->q % M_LOCKS; }
static inline int m_sem(const m_prog *p, const m_op *op)
{
    return op->q % p->nsem;
}
static inline int m_ev(const m_prog *p, const m_op *op)
{
    return op->q % p->nev;
}
static inline int m_cond(const m_prog *p, const m_op *op)
{
    return op->q % p->ncond;
}
static inline int m_bar(const m_prog *p, const m_op *op)
{
    return op->q % p->nbar;
}
static inline long m_notify_n(const m_op *op)
{
    static const signed char n[8] = {0, 1, 1, 2, M_NOTIFY_ALL,
                                     M_NOTIFY_ALL, M_NOTIFY_ALL, -1};
    return n[op->arg & 7];
}

/* Keeps the sync objects in range: 1..2 of each, 0..2 permits (a
 * bounded semaphore at least 1: aq_sem_new refuses 0), 2..4 parties; a
 * program without sync has none. */
static inline void m_fix_sync(m_prog *p)
{
    if (!p->sync) {
        p->nsem = p->nev = p->ncond = p->nbar = 0;
        memset(p->sem_init, 0, sizeof p->sem_init);
        memset(p->sem_bounded, 0, sizeof p->sem_bounded);
        memset(p->parties, 0, sizeof p->parties);
        return;
    }
    p->nsem = p->nsem == 2 ? 2 : 1;
    p->nev = p->nev == 2 ? 2 : 1;
    p->ncond = p->ncond == 2 ? 2 : 1;
    p->nbar = p->nbar == 2 ? 2 : 1;
    for (int k = 0; k < M_SEMS; k++) {
        p->sem_init[k] %= 3;
        p->sem_bounded[k] = p->sem_bounded[k] && p->sem_init[k] > 0;
    }
    for (int k = 0; k < M_BARS; k++)
        if (p->parties[k] < 2 || p->parties[k] > 4)
            p->parties[k] = 2 + p->parties[k] % 3;
}

/* Batch ops: n items (1..M_BATCH); item j of a put has priority
 * m_batch_prio (item 0's is m_prio's) and id m_batch_id (item 0's is
 * m_item_id's, the others above every single item's). */
static inline int m_is_batch(int kind)
{
    return kind >= M_PUT_MANY && kind <= M_TRY_GET_MANY;
}
static inline int m_batch_put(int kind)
{
    return kind == M_PUT_MANY || kind == M_TRY_PUT_MANY;
}
static inline int m_batch_n(const m_op *op) { return 1 + (op->arg >> 5 & 3); }
static inline int m_batch_prio(const m_op *op, int j)
{
    return op->arg >> j & 3;
}
static inline long m_batch_id(int t, int i, int j)
{
    return m_item_id(t, i) + (long)j * M_ITEMS;
}

/* Does queue q drop items by policy (DROP_NEWEST or DROP_OLDEST)? Does
 * a drop callback log what it discards (any policy set)? */
static inline int m_pol_drops(const m_prog *p, int q)
{
    return p->policy[q] >= M_POL_NEWEST;
}
static inline int m_pol_logs(const m_prog *p, int q)
{
    return p->policy[q] != M_POL_NONE;
}

/* Keeps a DROP policy to bounded queues that store items, as
 * aq_queue_set_overflow requires (others get AQ_BLOCK), and no policy
 * on a queue the program does not have. */
static inline void m_fix_policy(m_prog *p)
{
    for (int q = 0; q < M_QUEUES; q++) {
        p->policy[q] %= M_NPOL;
        if (q >= p->nq)
            p->policy[q] = M_POL_NONE;
        else if (m_pol_drops(p, q) &&
                 (p->qkind[q] == M_RDV || p->maxsize[q] == 0))
            p->policy[q] = M_POL_BLOCK;
    }
}

/* A select's clauses: how many, whether biased, and for clause byte c
 * its kind (c % m_ncl: put, get, task, and in a sync program event, lock,
 * semaphore) and its queue, target task or object (c / m_ncl, modulo
 * the count). */
enum { M_CL_PUT, M_CL_GET, M_CL_TASK, M_CL_EVENT, M_CL_LOCK, M_CL_SEM,
       M_NCL };
static inline int m_sel_n(const m_op *op) { return op->arg & 4 ? 3 : 2; }
static inline int m_sel_biased(const m_op *op) { return (op->arg & 8) != 0; }
static inline int m_ncl(const m_prog *p) { return p->sync ? M_NCL : 3; }
static inline int m_cl_op(const m_prog *p, unsigned char c)
{
    return c % m_ncl(p);
}
static inline int m_cl_k(const m_prog *p, unsigned char c)
{
    return c / m_ncl(p);
}
static inline int m_cl_q(const m_prog *p, unsigned char c)
{
    return m_cl_k(p, c) % p->nq;
}
static inline int m_cl_target(const m_prog *p, unsigned char c)
{
    return m_cl_k(p, c) % p->ntasks;
}
/* The object of an event, lock or semaphore clause. */
static inline int m_cl_obj(const m_prog *p, unsigned char c)
{
    int op = m_cl_op(p, c), k = m_cl_k(p, c);
    return op == M_CL_EVENT ? k % p->nev
           : op == M_CL_LOCK ? k % M_LOCKS
                             : k % p->nsem;
}
static inline unsigned char m_cl_make(const m_prog *p, int op, int k)
{
    return (unsigned char)(op + m_ncl(p) * k);
}

/* ---- printing ------------------------------------------------------------ */

M_UNUSED static const char *const m_kind_names[M_NKINDS] = {
    "put", "get", "try_put", "try_get", "task_done",
    "join", "yield", "sleep", "cancel", "shutdown", "select",
    "put_many", "get_many", "try_put_many", "try_get_many",
    "lock_acquire", "lock_try_acquire", "lock_release", "sem_acquire",
    "sem_try_acquire", "sem_release", "event_wait", "event_set",
    "event_clear", "cond_wait", "cond_notify", "barrier_wait",
    "barrier_abort", "barrier_reset"};

M_UNUSED static const char *const m_cl_names[M_NCL] = {
    "put", "get", "task", "event", "lock", "sem"};

M_UNUSED static const char *const m_pol_names[M_NPOL] = {
    "", ", policy BLOCK", ", policy DROP_NEWEST", ", policy DROP_OLDEST"};

M_UNUSED static const char *const m_qkind_names[M_NQKINDS] = {
    "FIFO", "LIFO", "PRIORITY", "PRIORITY(cmp)", "RENDEZVOUS"};

/* Room for m_op_str's longest text. */
#define M_OPSTR 128

M_FN void m_op_str(const m_prog *p, int t, int i, char *buf, size_t len)
{
    const m_op *op = &p->ops[t][i];
    static const char *const dl[M_NDL] = {"", " deadline=past",
                                          " deadline=far"};
    const char *d = m_has_dl(op->kind) ? dl[op->dl % M_NDL] : "";
    switch (op->kind) {
    case M_PUT:
    case M_TRY_PUT:
        snprintf(buf, len, "%s q%d #%ld prio %d%s", m_kind_names[op->kind],
                 m_qi(p, op), m_item_id(t, i), m_prio(op), d);
        break;
    case M_GET:
    case M_TRY_GET:
    case M_TASK_DONE:
    case M_JOIN:
        snprintf(buf, len, "%s q%d%s", m_kind_names[op->kind], m_qi(p, op),
                 d);
        break;
    case M_SLEEP:
        if (op->dl == M_DL_FAR)
            snprintf(buf, len, "sleep until cancelled");
        else
            snprintf(buf, len, "sleep %d tick(s)%s", m_ticks(op),
                     op->dl == M_DL_PAST ? " via sleep_until(past)" : "");
        break;
    case M_CANCEL:
        snprintf(buf, len, "cancel t%d", m_target(p, op));
        break;
    case M_SHUTDOWN:
        snprintf(buf, len, "shutdown q%d%s", m_qi(p, op),
                 m_immediate(op) ? " immediate" : "");
        break;
    case M_PUT_MANY:
    case M_TRY_PUT_MANY: {
        size_t at = (size_t)snprintf(buf, len, "%s q%d [",
                                     m_kind_names[op->kind], m_qi(p, op));
        for (int j = 0; j < m_batch_n(op) && at < len; j++)
            at += (size_t)snprintf(buf + at, len - at, "%s#%ld p%d",
                                   j ? ", " : "", m_batch_id(t, i, j),
                                   m_batch_prio(op, j));
        if (at < len)
            snprintf(buf + at, len - at, "]%s", d);
        break;
    }
    case M_GET_MANY:
    case M_TRY_GET_MANY:
        snprintf(buf, len, "%s q%d n=%d%s", m_kind_names[op->kind],
                 m_qi(p, op), m_batch_n(op), d);
        break;
    case M_LOCK_ACQ:
    case M_LOCK_TRY:
    case M_LOCK_REL:
    case M_SEM_ACQ:
    case M_SEM_TRY:
    case M_SEM_REL:
    case M_EV_WAIT:
    case M_EV_SET:
    case M_EV_CLEAR:
        snprintf(buf, len, "%s %c%d%s", m_kind_names[op->kind],
                 "LSE"[(op->kind - M_LOCK_ACQ) / 3],
                 op->kind <= M_LOCK_REL  ? m_lk(op)
                 : op->kind <= M_SEM_REL ? m_sem(p, op)
                                         : m_ev(p, op), d);
        break;
    case M_COND_WAIT:
        snprintf(buf, len, "cond_wait C%d%s", m_cond(p, op), d);
        break;
    case M_COND_NOTIFY:
        if (m_notify_n(op) == M_NOTIFY_ALL)
            snprintf(buf, len, "cond_notify_all C%d", m_cond(p, op));
        else
            snprintf(buf, len, "cond_notify C%d n=%ld", m_cond(p, op),
                     m_notify_n(op));
        break;
    case M_BAR_WAIT:
    case M_BAR_ABORT:
    case M_BAR_RESET:
        snprintf(buf, len, "%s B%d%s", m_kind_names[op->kind], m_bar(p, op),
                 d);
        break;
    case M_SELECT: {
        size_t at = (size_t)snprintf(buf, len, "select%s {",
                                     m_sel_biased(op) ? " biased" : "");
        for (int k = 0; k < m_sel_n(op) && at < len; k++) {
            unsigned char c = op->cl[k];
            const char *sep = k ? ", " : "";
            int o = m_cl_op(p, c);
            if (o == M_CL_PUT)
                at += (size_t)snprintf(buf + at, len - at, "%sput q%d #%ld "
                                       "prio %d", sep, m_cl_q(p, c),
                                       m_item_id(t, i), m_prio(op));
            else if (o == M_CL_GET)
                at += (size_t)snprintf(buf + at, len - at, "%sget q%d", sep,
                                       m_cl_q(p, c));
            else if (o == M_CL_TASK)
                at += (size_t)snprintf(buf + at, len - at, "%stask t%d", sep,
                                       m_cl_target(p, c));
            else
                at += (size_t)snprintf(buf + at, len - at, "%s%s %c%d", sep,
                                       m_cl_names[o],
                                       "ELS"[o - M_CL_EVENT],
                                       m_cl_obj(p, c));
        }
        if (at < len)
            snprintf(buf + at, len - at, "}%s", d);
        break;
    }
    default:
        snprintf(buf, len, "%s", m_kind_names[op->kind]);
    }
}

M_FN void m_print(const m_prog *p, FILE *f)
{
    char buf[M_OPSTR];
    fprintf(f, "program: %d queue(s), %d task(s), run by %s, loop seed "
            "%#llx\n", p->nq, p->ntasks,
            p->runner == M_RUN_AQ ? "aq_run" : "aq_loop_run",
            (unsigned long long)p->seed);
    for (int q = 0; q < p->nq; q++) {
        fprintf(f, "  q%d: %s, ", q, m_qkind_names[p->qkind[q]]);
        if (p->maxsize[q])
            fprintf(f, "maxsize %d", p->maxsize[q]);
        else
            fprintf(f, "unbounded");
        fprintf(f, "%s\n", m_pol_names[p->policy[q] % M_NPOL]);
    }
    if (p->sync) {
        fprintf(f, "  L0: lock; L1: C0's lock; C0: condition%s\n",
                p->ncond > 1 ? "; C1: condition over L1" : "");
        for (int k = 0; k < p->nsem; k++)
            fprintf(f, "  S%d: %ssemaphore(%d)\n", k,
                    p->sem_bounded[k] ? "bounded " : "", p->sem_init[k]);
        fprintf(f, "  %d event(s)", p->nev);
        for (int k = 0; k < p->nbar; k++)
            fprintf(f, "; B%d: barrier(%d)", k, p->parties[k]);
        fprintf(f, "\n");
    }
    for (int t = 0; t < p->ntasks; t++) {
        fprintf(f, "  t%d:%s\n", t, p->nops[t] ? "" : " (no ops)");
        for (int i = 0; i < p->nops[t]; i++) {
            m_op_str(p, t, i, buf, sizeof buf);
            fprintf(f, "    %2d  %s\n", i, buf);
        }
    }
}

/* ---- generation from a seed ---------------------------------------------- */

/* splitmix64: tiny, and every seed gives a well-mixed stream. */
static inline uint64_t m_rand(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static inline unsigned m_below(uint64_t *s, unsigned n)
{
    return (unsigned)(m_rand(s) % n);
}

M_FN int m_pick(uint64_t *s, const unsigned char *w)
{
    unsigned sum = 0;
    for (int k = 0; k < M_NKINDS; k++)
        sum += w[k];
    unsigned r = m_below(s, sum);
    for (int k = 0; k < M_NKINDS; k++) {
        if (r < w[k])
            return k;
        r -= w[k];
    }
    return M_YIELD;
}

/* Op weights of a task's role, in enum m_kind order: producers, consumers
 * (get + task_done) and a mix, so that both full and empty queues with
 * waiters on them are common. Shutdown is rare: it ends all waiting.
 * Batches (pm gm tpm tgm) come in every role. */
M_UNUSED static const unsigned char m_roles[3][M_NKINDS] = {
    /* put get tput tget done join yield sleep cancel shut select
       pm gm tpm tgm */
    {30, 4, 12, 2, 2, 6, 6, 2, 2, 1, 8, 8, 1, 4, 1},
    {4, 30, 2, 12, 14, 2, 6, 2, 2, 1, 8, 1, 8, 1, 4},
    {14, 14, 6, 6, 8, 5, 6, 3, 4, 1, 10, 4, 4, 2, 2},
};

/* A select's clauses for task t: 2 or 3 distinct ones among the puts and
 * gets on each queue, the completion of another worker (at most one such
 * clause) and, in a sync program, each event, each lock the task is not
 * thought to hold (one it holds, AQ_EDEADLK, rarely) and each semaphore,
 * in random order. A queue twice in one direction would be AQ_EINVAL,
 * which the model predicts but the generator avoids. */
M_FN void m_gen_select(m_prog *p, uint64_t *s, int t, m_op *op,
                       const int *held)
{
    unsigned char cand[2 * M_QUEUES + 1 + M_EVS + M_LOCKS + M_SEMS];
    int nc = 0;
    for (int q = 0; q < p->nq; q++) {
        cand[nc++] = m_cl_make(p, M_CL_PUT, q);
        cand[nc++] = m_cl_make(p, M_CL_GET, q);
    }
    int other = (t + 1 + (int)m_below(s, (unsigned)p->ntasks - 1)) %
                p->ntasks; /* ntasks >= 2 */
    cand[nc++] = m_cl_make(p, M_CL_TASK, other);
    if (p->sync) {
        for (int k = 0; k < p->nev; k++)
            cand[nc++] = m_cl_make(p, M_CL_EVENT, k);
        for (int k = 0; k < M_LOCKS; k++)
            if (!held[k] || m_below(s, 8) == 0)
                cand[nc++] = m_cl_make(p, M_CL_LOCK, k);
        for (int k = 0; k < p->nsem; k++)
            cand[nc++] = m_cl_make(p, M_CL_SEM, k);
    }
    int n = 2 + (int)m_below(s, 2);
    for (int k = 0; k < n; k++) {
        int j = k + (int)m_below(s, (unsigned)(nc - k));
        unsigned char c = cand[j];
        cand[j] = cand[k];
        cand[k] = c;
        op->cl[k] = c;
    }
    op->arg = (unsigned char)((op->arg & ~12) | (n == 3 ? 4 : 0) |
                              (m_below(s, 2) ? 8 : 0));
}

/* ---- sync programs: ops in blocks ------------------------------------ */

/* A sync program's task is a run of blocks, each a few ops that belong
 * together: a queue op (the mixed role's weights), a critical section
 * (acquire or try_acquire a lock, sometimes both locks in order, a few
 * ops that do not wait, release), a condition section (acquire its lock,
 * wait or notify or both, release), a semaphore section or a lone
 * release or acquire, an event op, a barrier op, a select. Misuses come
 * rarely, for their error codes: a release of a lock not held, an
 * acquire of one held, a condition op without its lock, notify(-1), a
 * bounded semaphore released past its value (sections that fail to
 * acquire release all the same). Cut short at the task's op count, a
 * section leaves the lock to the task's epilogue. */
enum { MB_QUEUE, MB_LOCK, MB_COND, MB_SEM, MB_EVENT, MB_BAR, MB_SELECT,
       MB_N };

M_UNUSED static const unsigned char m_sync_roles[4][MB_N] = {
    {3, 5, 5, 1, 1, 1, 1}, /* locks and conditions */
    {3, 1, 1, 6, 1, 1, 1}, /* semaphores */
    {3, 1, 1, 1, 5, 4, 1}, /* events and barriers */
    {4, 2, 2, 2, 2, 2, 2}, /* a mix */
};

typedef struct m_gen {
    m_prog *p;
    uint64_t *s;
    int t, n, dl_rate, may_shut;
    m_op *ops;
    int held[M_LOCKS];
} m_gen;

static inline int mg_room(const m_gen *g) { return g->n < M_OPS; }

/* Appends op; a waiting kind may get a deadline, a select its clauses. */
M_FN void mg_add(m_gen *g, int kind, int q, int arg)
{
    if (!mg_room(g))
        return;
    m_op *op = &g->ops[g->n++];
    *op = (m_op){.kind = (unsigned char)kind, .q = (unsigned char)q,
                 .arg = (unsigned char)(arg & 0x7f)};
    if (m_has_dl(kind) && (int)m_below(g->s, 6) < g->dl_rate * 2)
        op->dl = (unsigned char)(1 + m_below(g->s, 2));
    if (kind == M_SELECT)
        m_gen_select(g->p, g->s, g->t, op, g->held);
}

/* An op that does not wait, inside a section: a select with a past
 * deadline (a lock clause on a held lock: AQ_EDEADLK) among them. */
M_FN void mg_filler(m_gen *g)
{
    static const unsigned char k[] = {M_YIELD, M_TRY_PUT, M_TRY_GET,
                                      M_EV_SET, M_SEM_REL, M_SEM_TRY,
                                      M_YIELD, M_SELECT};
    int kind = k[m_below(g->s, sizeof k)];
    mg_add(g, kind, (int)m_below(g->s, 2), (int)m_below(g->s, 128));
    if (kind == M_SELECT && g->n)
        g->ops[g->n - 1].dl = M_DL_PAST;
}

M_FN void mg_fillers(m_gen *g, int most)
{
    for (int j = (int)m_below(g->s, (unsigned)most + 1); j > 0; j--)
        mg_filler(g);
}

M_FN void mg_lock(m_gen *g)
{
    int l = (int)m_below(g->s, M_LOCKS), both = m_below(g->s, 8) == 0;
    int r = (int)m_below(g->s, 16);
    if (r == 0) { /* a release of a lock not held */
        mg_add(g, M_LOCK_REL, l, 0);
        return;
    }
    if (both)
        l = 0; /* L0 then L1: one order, no cycle */
    mg_add(g, m_below(g->s, 5) ? M_LOCK_ACQ : M_LOCK_TRY, l, 0);
    if (both)
        mg_add(g, M_LOCK_ACQ, 1, 0);
    g->held[l] = 1;
    g->held[1] |= both;
    if (r == 1) /* its owner acquires again: AQ_EDEADLK, or EBUSY */
        mg_add(g, m_below(g->s, 2) ? M_LOCK_ACQ : M_LOCK_TRY, l, 0);
    mg_fillers(g, 2);
    if (both) {
        mg_add(g, M_LOCK_REL, 1, 0);
        g->held[1] = 0;
    }
    mg_add(g, M_LOCK_REL, l, 0);
    g->held[l] = 0;
    if (r == 2) /* released twice */
        mg_add(g, M_LOCK_REL, l, 0);
}

M_FN void mg_cond(m_gen *g)
{
    int c = (int)m_below(g->s, 2), r = (int)m_below(g->s, 10);
    int arg = (int)m_below(g->s, 128);
    if ((arg & 7) == 7 && m_below(g->s, 3))
        arg ^= 3; /* notify(-1) a third as often */
    if (r == 0) { /* without the lock: AQ_EPERM */
        mg_add(g, m_below(g->s, 2) ? M_COND_WAIT : M_COND_NOTIFY, c, arg);
        return;
    }
    mg_add(g, M_LOCK_ACQ, 1, 0);
    g->held[1] = 1;
    if (r < 6)
        mg_add(g, M_COND_WAIT, c, 0);
    if (r >= 4)
        mg_add(g, M_COND_NOTIFY, c, arg);
    mg_fillers(g, 1);
    mg_add(g, M_LOCK_REL, 1, 0);
    g->held[1] = 0;
}

M_FN void mg_sem(m_gen *g)
{
    int k = (int)m_below(g->s, 2), r = (int)m_below(g->s, 4);
    if (r == 0) { /* a signal */
        mg_add(g, M_SEM_REL, k, 0);
    } else if (r == 1) { /* a consumer */
        mg_add(g, M_SEM_ACQ, k, 0);
    } else {
        mg_add(g, m_below(g->s, 4) ? M_SEM_ACQ : M_SEM_TRY, k, 0);
        mg_fillers(g, 2);
        mg_add(g, M_SEM_REL, k, 0);
    }
}

M_FN void mg_block(m_gen *g, int block)
{
    unsigned r = m_below(g->s, 20);
    int o = (int)m_below(g->s, 2);
    switch (block) {
    case MB_QUEUE: {
        int k;
        do
            k = m_pick(g->s, m_roles[2]);
        while (k == M_SHUTDOWN && !g->may_shut);
        mg_add(g, k, (int)m_below(g->s, (unsigned)g->p->nq),
               (int)m_below(g->s, 128));
        break;
    }
    case MB_LOCK:
        mg_lock(g);
        break;
    case MB_COND:
        mg_cond(g);
        break;
    case MB_SEM:
        mg_sem(g);
        break;
    case MB_EVENT:
        mg_add(g, r < 9 ? M_EV_SET : r < 16 ? M_EV_WAIT : M_EV_CLEAR, o, 0);
        break;
    case MB_BAR:
        mg_add(g, r < 17 ? M_BAR_WAIT : r < 18 ? M_BAR_ABORT : M_BAR_RESET,
               o, 0);
        break;
    default:
        mg_add(g, M_SELECT, 0, (int)m_below(g->s, 128));
    }
}

/* Task t's ops in a sync program: blocks until about n ops. */
M_FN int m_gen_sync_task(m_prog *p, uint64_t *s, int t, int n, int dl_rate,
                         int may_shut)
{
    m_gen g = {p, s, t, 0, dl_rate, may_shut, p->ops[t], {0, 0}};
    const unsigned char *w = m_sync_roles[m_below(s, 4)];
    unsigned sum = 0;
    for (int b = 0; b < MB_N; b++)
        sum += w[b];
    while (g.n < n) {
        unsigned r = m_below(s, sum);
        int b = 0;
        while (r >= w[b])
            r -= w[b++];
        mg_block(&g, b);
    }
    return g.n;
}

M_FN void m_generate(m_prog *p, uint64_t seed)
{
    uint64_t s = seed;
    memset(p, 0, sizeof *p);
    p->seed = m_rand(&s);
    p->nq = m_below(&s, 4) == 0 ? 2 : 1;
    for (int q = 0; q < p->nq; q++) {
        p->qkind[q] = (int)m_below(&s, M_NQKINDS);
        p->maxsize[q] = m_below(&s, 4) == 0 ? 0 : 1 + (int)m_below(&s, 4);
        if (p->qkind[q] == M_RDV)
            p->maxsize[q] = 0;
        /* Bounded storing queues: a policy 3 times in 5, a dropping one
         * 2 in 5; the others AQ_BLOCK (with the callback) 1 in 4. */
        static const int pol[5] = {M_POL_NONE, M_POL_NONE, M_POL_BLOCK,
                                   M_POL_NEWEST, M_POL_OLDEST};
        if (p->qkind[q] != M_RDV && p->maxsize[q] > 0)
            p->policy[q] = pol[m_below(&s, 5)];
        else
            p->policy[q] = m_below(&s, 4) == 0 ? M_POL_BLOCK : M_POL_NONE;
    }
    p->ntasks = 2 + (int)m_below(&s, M_TASKS - 1);
    p->runner = m_below(&s, 4) == 0 ? M_RUN_AQ : M_RUN_LOOP;
    /* Half the programs use the sync primitives too. */
    p->sync = (int)m_below(&s, 2);
    if (p->sync) {
        p->nsem = 1 + (int)m_below(&s, 2);
        p->nev = 1 + (int)m_below(&s, 2);
        p->ncond = 1 + (int)m_below(&s, 2);
        p->nbar = 1 + (int)m_below(&s, 2);
        for (int k = 0; k < M_SEMS; k++) {
            p->sem_init[k] = (int)m_below(&s, 3);
            p->sem_bounded[k] = (int)m_below(&s, 2);
        }
        for (int k = 0; k < M_BARS; k++)
            p->parties[k] = 2 + (int)m_below(&s, 3);
    }
    m_fix_sync(p);
    int may_shut = m_below(&s, 3) == 0;
    int dl_rate = (int)m_below(&s, 3); /* how often deadlines appear */
    for (int t = 0; t < p->ntasks; t++) {
        m_op *ops = p->ops[t];
        static const int none[M_LOCKS] = {0, 0};
        if (m_below(&s, 6) == 0) {
            /* A timer task: a time-out of k ticks on another task. */
            int k = (int)m_below(&s, 4), n = 0;
            for (int i = 0; i < k; i++)
                ops[n++] = (m_op){.kind = M_YIELD};
            ops[n++] = (m_op){.kind = M_CANCEL, .arg =
                              (unsigned char)m_below(&s, M_TASKS)};
            p->nops[t] = n;
            continue;
        }
        int n = 1 + (int)m_below(&s, 1 + m_below(&s, M_OPS));
        if (p->sync) {
            p->nops[t] = m_gen_sync_task(p, &s, t, n, dl_rate, may_shut);
            continue;
        }
        const unsigned char *w = m_roles[m_below(&s, 3)];
        for (int i = 0; i < n; i++) {
            m_op *op = &ops[i];
            int k;
            do
                k = m_pick(&s, w);
            while (k == M_SHUTDOWN && !may_shut);
            op->kind = (unsigned char)k;
            op->q = (unsigned char)m_below(&s, p->nq);
            op->arg = (unsigned char)m_below(&s, 256) & 0x7f;
            if (m_has_dl(k) && (int)m_below(&s, 6) < dl_rate * 2)
                op->dl = (unsigned char)(1 + m_below(&s, 2));
            if (k == M_SELECT)
                m_gen_select(p, &s, t, op, none);
        }
        p->nops[t] = n;
    }
}

/* ---- decoding fuzzer bytes ----------------------------------------------- */

/* Four header bytes (queues, sizes, task count, runner and the sync flag,
 * policies), in a sync program two more (its objects), then three bytes
 * per op: task, kind + deadline, queue or object + arg; a select has
 * three more, its clause bytes (an input that ends inside them ends the
 * program). Any byte string is a valid program; ops past a task's M_OPS
 * are ignored. The loop's seed is a hash of the whole input.
 *
 * Since selects and rendezvous queues came in (11 op kinds, 5 queue
 * kinds), and again since batches and policies did (15 op kinds, a
 * fourth header byte), older inputs decode to other programs than they
 * used to, still valid ones: the corpus keeps its value as varied
 * seeds. The sync primitives came in behind a flag (bit 6 of byte 2,
 * unused before), so an input without it decodes as it did (15 kinds,
 * 3 clause kinds); one with it (a mutation the fuzzer made) now decodes
 * to a sync program. */
M_FN void m_decode(m_prog *p, const uint8_t *d, size_t n)
{
    uint8_t h[6] = {0, 0, 0, 0, 0, 0};
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < 4 && i < n; i++)
        h[i] = d[i];
    p->seed = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++)
        p->seed = (p->seed ^ d[i]) * UINT64_C(0x100000001B3);
    p->nq = 1 + (h[0] & 1);
    p->qkind[0] = (h[0] >> 1 & 7) % M_NQKINDS;
    p->qkind[1] = (h[0] >> 4) % M_NQKINDS;
    p->maxsize[0] = p->qkind[0] == M_RDV ? 0 : h[1] % 5;
    p->maxsize[1] = p->qkind[1] == M_RDV ? 0 : (h[1] / 5) % 5;
    p->ntasks = 1 + (h[2] & 15) % M_TASKS;
    p->runner = h[2] >> 7 ? M_RUN_LOOP : M_RUN_AQ;
    p->sync = h[2] >> 6 & 1;
    p->policy[0] = h[3] & 3;
    p->policy[1] = h[3] >> 2 & 3;
    m_fix_policy(p);
    size_t i = 4;
    if (p->sync) {
        for (; i < 6 && i < n; i++)
            h[i] = d[i];
        p->nsem = 1 + (h[4] & 1);
        p->sem_init[0] = h[4] >> 1 & 3;
        p->sem_bounded[0] = h[4] >> 3 & 1;
        p->sem_init[1] = h[4] >> 4 & 3;
        p->sem_bounded[1] = h[4] >> 6 & 1;
        p->nev = 1 + (h[4] >> 7);
        p->ncond = 1 + (h[5] & 1);
        p->nbar = 1 + (h[5] >> 1 & 1);
        p->parties[0] = 2 + (h[5] >> 2 & 3);
        p->parties[1] = 2 + (h[5] >> 4 & 3);
    }
    m_fix_sync(p);
    int nk = p->sync ? M_NKINDS : M_NKINDS_Q;
    for (; i + 2 < n; i += 3) {
        int t = d[i] % p->ntasks, kind = d[i + 1] % nk;
        if (kind == M_SELECT && i + 2 + M_CLAUSES >= n)
            break;
        if (p->nops[t] == M_OPS) {
            i += kind == M_SELECT ? M_CLAUSES : 0;
            continue;
        }
        m_op *op = &p->ops[t][p->nops[t]++];
        op->kind = (unsigned char)kind;
        op->dl = (d[i + 1] / nk) % M_NDL;
        op->q = d[i + 2] >> 7;
        op->arg = d[i + 2] & 0x7f;
        if (kind == M_SELECT) {
            memcpy(op->cl, d + i + 3, M_CLAUSES);
            i += M_CLAUSES;
        }
    }
}

/* The most bytes m_encode writes. */
#define M_ENCODED_MAX (6 + (3 + M_CLAUSES) * M_ITEMS)

/* The inverse of m_decode (but for the seed, which follows the bytes),
 * for seeding the fuzzer's corpus with generated programs. Returns the
 * byte count (at most M_ENCODED_MAX). */
M_FN size_t m_encode(const m_prog *p, uint8_t *d)
{
    size_t n = 0;
    int nk = p->sync ? M_NKINDS : M_NKINDS_Q;
    d[n++] = (uint8_t)((p->nq - 1) | p->qkind[0] << 1 | p->qkind[1] << 4);
    d[n++] = (uint8_t)(p->maxsize[0] + 5 * p->maxsize[1]);
    d[n++] = (uint8_t)((p->ntasks - 1) | (p->runner == M_RUN_LOOP) << 7 |
                       (p->sync != 0) << 6);
    d[n++] = (uint8_t)(p->policy[0] | p->policy[1] << 2);
    if (p->sync) {
        d[n++] = (uint8_t)((p->nsem - 1) | p->sem_init[0] << 1 |
                           p->sem_bounded[0] << 3 | p->sem_init[1] << 4 |
                           p->sem_bounded[1] << 6 | (p->nev - 1) << 7);
        d[n++] = (uint8_t)((p->ncond - 1) | (p->nbar - 1) << 1 |
                           (p->parties[0] - 2) << 2 |
                           (p->parties[1] - 2) << 4);
    }
    for (int t = 0; t < p->ntasks; t++)
        for (int i = 0; i < p->nops[t]; i++) {
            const m_op *op = &p->ops[t][i];
            d[n++] = (uint8_t)t;
            d[n++] = (uint8_t)(op->kind + nk * (op->dl % M_NDL));
            d[n++] = (uint8_t)((op->q & 1) << 7 | (op->arg & 0x7f));
            if (op->kind == M_SELECT)
                for (int k = 0; k < M_CLAUSES; k++)
                    d[n++] = op->cl[k];
        }
    return n;
}

#endif
