/* Model-based random testing: random programs of puts, gets, batches
 * (put_many, get_many, their try_ forms), task_done, join, yields,
 * cancels, shutdowns and selects (put, get and task clauses, fair or
 * biased) over 2-12 tasks and one or two queues of every kind
 * (rendezvous included), some with an overflow policy and a drop
 * callback, half of them also with locks, semaphores, events,
 * conditions and barriers (and event, lock and semaphore clauses), each
 * run on libaq and on a small reference model
 * (tests/model/model.h) that predicts every return code, every item got,
 * the order in which ops complete and the queue's counters after each op.
 * See tests/model/interp.h for what is compared.
 *
 *   test_model                       10000 seeds from 1
 *   test_model --seeds N --start S   N seeds from S
 *   test_model --seed S [-v]         one seed; -v prints program and trace
 *   test_model --write-corpus DIR --seeds N   encode N generated programs
 *                                    as fuzzer inputs (tests/fuzz/)
 *
 * A failure prints its seed and a shrunk program, ready for --seed S -v.
 */
#include "test.h"

#include "model/interp.h"

#include <time.h>

static uint64_t o_start = 1, o_seeds = 10000, o_seed;
static int o_one, o_verbose;
static const char *o_corpus;

static void fail_seed(uint64_t seed, const m_prog *p, const char *msg)
{
    fprintf(stderr, "FAIL seed %llu: %s\n", (unsigned long long)seed, msg);
    m_explain(p);
    fprintf(stderr, "replay: test_model --seed %llu -v\n",
            (unsigned long long)seed);
    exit(1);
}

static void write_corpus(void)
{
    static uint8_t buf[M_ENCODED_MAX];
    for (uint64_t s = o_start; s < o_start + o_seeds; s++) {
        m_prog p;
        char path[4096];
        m_generate(&p, s);
        size_t n = m_encode(&p, buf);
        snprintf(path, sizeof path, "%s/seed-%llu", o_corpus,
                 (unsigned long long)s);
        FILE *f = fopen(path, "wb");
        ASSERT(f != NULL);
        ASSERT_EQ(fwrite(buf, 1, n, f), n);
        ASSERT_EQ(fclose(f), 0);
    }
}

TEST(test_model_seeds)
{
    char msg[M_MSG];
    m_out *stats = calloc(1, sizeof *stats);
    long ops = 0;
    ASSERT(stats != NULL);
    if (o_one) {
        m_prog p;
        m_generate(&p, o_seed);
        m_early = stderr;
        snprintf(m_label, sizeof m_label, "seed %llu",
                 (unsigned long long)o_seed);
        if (o_verbose)
            m_print(&p, stdout);
        if (m_check(&p, msg, sizeof msg, o_verbose ? stdout : NULL, NULL))
            fail_seed(o_seed, &p, msg);
        free(stats);
        m_cleanup();
        return;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    m_early = stderr;
    for (uint64_t s = o_start; s < o_start + o_seeds; s++) {
        m_prog p;
        m_generate(&p, s);
        snprintf(m_label, sizeof m_label, "seed %llu", (unsigned long long)s);
        for (int t = 0; t < p.ntasks; t++)
            ops += p.nops[t];
        long live = t_live; /* the shared loop's blocks stay */
        if (m_check(&p, msg, sizeof msg, NULL, stats))
            fail_seed(s, &p, msg);
        if (p.runner == M_RUN_AQ && t_live != live)
            fail_seed(s, &p, "aq_run leaked a block");
        if (o_verbose && (s - o_start + 1) % 100000 == 0) {
            printf("  %llu seeds\n", (unsigned long long)(s - o_start + 1));
            fflush(stdout); /* soak progress, even into a pipe */
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("seeds %llu..%llu: %ld ops in %.2f s; model events: %ld "
           "put->getter hand-offs, %ld slot->putter moves, %ld waiters "
           "cancelled, %ld cancels after completion, %ld timeouts, %ld "
           "items dropped, %ld runs ended blocked, %ld rendezvous "
           "hand-offs; selects: %ld completed at once (%ld by a fair draw "
           "among >= 2 ready), %ld after waiting, %ld none; policies: "
           "%ld stored items dropped, %ld new items refused; batches: %ld "
           "waited, %ld puts stopped part way, %ld gets took 2+; sync: "
           "%ld lock hand-overs, %ld permits handed over, %ld event "
           "waiters woken, %ld condition waiters notified, %ld cut-short "
           "waits queued to re-acquire, %ld barrier rounds, %ld barrier "
           "waiters broken, %ld misuses refused, %ld selects won by a sync "
           "clause; %ld queues shared\n",
           (unsigned long long)o_start,
           (unsigned long long)(o_start + o_seeds - 1), ops,
           (double)(t1.tv_sec - t0.tv_sec) +
               (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
           stats->n_handoff_get, stats->n_handoff_put,
           stats->n_cancel_waiting, stats->n_cancel_woken, stats->n_timeout,
           stats->n_dropped, stats->n_deadlock, stats->n_rdv,
           stats->n_sel_now, stats->n_sel_draw, stats->n_sel_woken,
           stats->n_sel_fail, stats->n_pol_drop, stats->n_refused,
           stats->n_batch_wait, stats->n_batch_part, stats->n_batch_drain,
           stats->n_lock_pass, stats->n_sem_pass, stats->n_ev_woken,
           stats->n_notified, stats->n_reacquire, stats->n_bar_round,
           stats->n_broken, stats->n_misuse, stats->n_sel_sync, stats->n_shared);
    free(stats);
    m_cleanup();
}

static uint64_t num(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (!*s || *end) {
        fprintf(stderr, "not a number: %s\n", s);
        exit(2);
    }
    return (uint64_t)v;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-v")) {
            o_verbose = 1;
        } else if (i + 1 < argc && !strcmp(a, "--seeds")) {
            o_seeds = num(argv[++i]);
        } else if (i + 1 < argc && !strcmp(a, "--start")) {
            o_start = num(argv[++i]);
        } else if (i + 1 < argc && !strcmp(a, "--seed")) {
            o_seed = num(argv[++i]);
            o_one = 1;
        } else if (i + 1 < argc && !strcmp(a, "--write-corpus")) {
            o_corpus = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--seeds N] [--start S] "
                    "[--seed S] [-v] [--write-corpus DIR]\n", argv[0]);
            return 2;
        }
    }
    if (o_corpus) {
        write_corpus();
        return 0;
    }
    /* The name filter of t_run is not used: argv holds options. */
    t_run("test_model_seeds", test_model_seeds, 1, argv);
    return t_done();
}
