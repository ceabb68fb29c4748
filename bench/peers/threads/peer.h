/* What the C peers of bench/peers/threads share: the clock, the median of
 * three runs, and N from the command line or the environment. Each peer
 * is one file built on its own (run.sh), so these are static functions. */
#ifndef PEER_H
#define PEER_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of three runs of run(). */
static double median3(double (*run)(void))
{
    double r[3] = {run(), run(), run()};
    qsort(r, 3, sizeof r[0], cmp_double);
    return r[1];
}

/* A bulk run's figure: ns per item since t0, once the consumer has summed
 * sum over the items 0 .. n - 1; exits 1, naming the row, if the sum
 * says an item was lost or doubled. */
static double bulk_result(double t0, long sum, long n)
{
    double el = now_ns() - t0;
    if (sum != n * (n - 1) / 2) {
        fprintf(stderr, "check failed: thread_bulk sum %ld\n", sum);
        exit(1);
    }
    return el / n;
}

/* N from argv[1] or the environment sets both *n_pp and *n_bulk; else they
 * keep their defaults. Returns 0, or 2 (the exit code) after a usage line
 * naming the program. */
static int parse_n(int argc, char **argv, const char *name, long *n_pp,
                   long *n_bulk)
{
    const char *s = argc > 1 ? argv[1] : getenv("N");
    if (s && *s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (*end || v <= 0 || v > 1000000000L) {
            fprintf(stderr, "usage: %s [N]  (0 < N <= 1e9)\n", name);
            return 2;
        }
        *n_pp = *n_bulk = v;
    }
    return 0;
}

#endif
