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
    M_NKINDS
};

enum m_dl { M_DL_NEVER, M_DL_PAST, M_DL_FAR, M_NDL };

/* Queue kinds: FIFO, LIFO and PRIORITY of aq.h, PRIORITY through
 * aq_queue_new_prio with a comparator (the model treats it as PRIORITY),
 * and AQ_RENDEZVOUS (maxsize always 0). */
enum { M_FIFO, M_LIFO, M_PRIO, M_PRIO_CMP, M_RDV, M_NQKINDS };

#define M_CLAUSES 3

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
           kind == M_GET_MANY;
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
 * its kind (c % 3: put, get, task) and its queue or target task (c / 3,
 * modulo the count). */
enum { M_CL_PUT, M_CL_GET, M_CL_TASK };
static inline int m_sel_n(const m_op *op) { return op->arg & 4 ? 3 : 2; }
static inline int m_sel_biased(const m_op *op) { return (op->arg & 8) != 0; }
static inline int m_cl_op(unsigned char c) { return c % 3; }
static inline int m_cl_q(const m_prog *p, unsigned char c)
{
    return c / 3 % p->nq;
}
static inline int m_cl_target(const m_prog *p, unsigned char c)
{
    return c / 3 % p->ntasks;
}
static inline unsigned char m_cl_make(int op, int k)
{
    return (unsigned char)(op + 3 * k);
}

/* ---- printing ------------------------------------------------------------ */

M_UNUSED static const char *const m_kind_names[M_NKINDS] = {
    "put", "get", "try_put", "try_get", "task_done",
    "join", "yield", "sleep", "cancel", "shutdown", "select",
    "put_many", "get_many", "try_put_many", "try_get_many"};

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
    case M_SELECT: {
        size_t at = (size_t)snprintf(buf, len, "select%s {",
                                     m_sel_biased(op) ? " biased" : "");
        for (int k = 0; k < m_sel_n(op) && at < len; k++) {
            unsigned char c = op->cl[k];
            const char *sep = k ? ", " : "";
            if (m_cl_op(c) == M_CL_PUT)
                at += (size_t)snprintf(buf + at, len - at, "%sput q%d #%ld "
                                       "prio %d", sep, m_cl_q(p, c),
                                       m_item_id(t, i), m_prio(op));
            else if (m_cl_op(c) == M_CL_GET)
                at += (size_t)snprintf(buf + at, len - at, "%sget q%d", sep,
                                       m_cl_q(p, c));
            else
                at += (size_t)snprintf(buf + at, len - at, "%stask t%d", sep,
                                       m_cl_target(p, c));
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
 * gets on each queue and the completion of another worker (at most one
 * such clause), in random order. A queue twice in one direction would be
 * AQ_EINVAL, which the model predicts but the generator avoids. */
M_FN void m_gen_select(m_prog *p, uint64_t *s, int t, m_op *op)
{
    unsigned char cand[2 * M_QUEUES + 1];
    int nc = 0;
    for (int q = 0; q < p->nq; q++) {
        cand[nc++] = m_cl_make(M_CL_PUT, q);
        cand[nc++] = m_cl_make(M_CL_GET, q);
    }
    int other = (t + 1 + (int)m_below(s, (unsigned)p->ntasks - 1)) %
                p->ntasks; /* ntasks >= 2 */
    cand[nc++] = m_cl_make(M_CL_TASK, other);
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
    int may_shut = m_below(&s, 3) == 0;
    int dl_rate = (int)m_below(&s, 3); /* how often deadlines appear */
    for (int t = 0; t < p->ntasks; t++) {
        m_op *ops = p->ops[t];
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
        const unsigned char *w = m_roles[m_below(&s, 3)];
        int n = 1 + (int)m_below(&s, 1 + m_below(&s, M_OPS));
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
                m_gen_select(p, &s, t, op);
        }
        p->nops[t] = n;
    }
}

/* ---- decoding fuzzer bytes ----------------------------------------------- */

/* Four header bytes (queues, sizes, task count and runner, policies),
 * then three bytes per op: task, kind + deadline, queue + arg; a select
 * has three more, its clause bytes (an input that ends inside them ends
 * the program). Any byte string is a valid program; ops past a task's
 * M_OPS are ignored. The loop's seed is a hash of the whole input.
 *
 * Since selects and rendezvous queues came in (11 op kinds, 5 queue
 * kinds), and again since batches and policies did (15 op kinds, a
 * fourth header byte), older inputs decode to other programs than they
 * used to, still valid ones: the corpus keeps its value as varied
 * seeds. */
M_FN void m_decode(m_prog *p, const uint8_t *d, size_t n)
{
    uint8_t h[4] = {0, 0, 0, 0};
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
    p->policy[0] = h[3] & 3;
    p->policy[1] = h[3] >> 2 & 3;
    m_fix_policy(p);
    for (size_t i = 4; i + 2 < n; i += 3) {
        int t = d[i] % p->ntasks, kind = d[i + 1] % M_NKINDS;
        if (kind == M_SELECT && i + 2 + M_CLAUSES >= n)
            break;
        if (p->nops[t] == M_OPS) {
            i += kind == M_SELECT ? M_CLAUSES : 0;
            continue;
        }
        m_op *op = &p->ops[t][p->nops[t]++];
        op->kind = (unsigned char)kind;
        op->dl = (d[i + 1] / M_NKINDS) % M_NDL;
        op->q = d[i + 2] >> 7;
        op->arg = d[i + 2] & 0x7f;
        if (kind == M_SELECT) {
            memcpy(op->cl, d + i + 3, M_CLAUSES);
            i += M_CLAUSES;
        }
    }
}

/* The most bytes m_encode writes. */
#define M_ENCODED_MAX (4 + (3 + M_CLAUSES) * M_ITEMS)

/* The inverse of m_decode (but for the seed, which follows the bytes),
 * for seeding the fuzzer's corpus with generated programs. Returns the
 * byte count (at most M_ENCODED_MAX). */
M_FN size_t m_encode(const m_prog *p, uint8_t *d)
{
    size_t n = 0;
    d[n++] = (uint8_t)((p->nq - 1) | p->qkind[0] << 1 | p->qkind[1] << 4);
    d[n++] = (uint8_t)(p->maxsize[0] + 5 * p->maxsize[1]);
    d[n++] = (uint8_t)((p->ntasks - 1) | (p->runner == M_RUN_LOOP) << 7);
    d[n++] = (uint8_t)(p->policy[0] | p->policy[1] << 2);
    for (int t = 0; t < p->ntasks; t++)
        for (int i = 0; i < p->nops[t]; i++) {
            const m_op *op = &p->ops[t][i];
            d[n++] = (uint8_t)t;
            d[n++] = (uint8_t)(op->kind + M_NKINDS * (op->dl % M_NDL));
            d[n++] = (uint8_t)((op->q & 1) << 7 | (op->arg & 0x7f));
            if (op->kind == M_SELECT)
                for (int k = 0; k < M_CLAUSES; k++)
                    d[n++] = op->cl[k];
        }
    return n;
}

#endif
