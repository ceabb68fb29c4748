/* What the C peers of bench/peers/threads share: the clock, the median of
 * three runs, N from the command line or the environment, and main's
 * rows. Each peer is one file built on its own (run.sh), so these are
 * static. */
#ifndef PEER_H
#define PEER_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Round trips (ping-pong) or items (bulk) of the run being measured. */
static long n_items;

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

/* A peer's main: N from argv[1] or the environment (default 200,000 round
 * trips and 2,000,000 items) and the rows "thread_pingpong PEER ns" (and
 * "loop_pingpong PEER ns" too if loop_row), then "thread_bulk PEER ns",
 * each the median of three runs. Returns the exit code: 0, or 2 after a
 * usage line. */
static int peer_main(int argc, char **argv, const char *peer,
                     double (*pingpong)(void), double (*bulk)(void),
                     int loop_row)
{
    long n_pp = 200000, n_bulk = 2000000;
    const char *s = argc > 1 ? argv[1] : getenv("N");
    if (s && *s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (*end || v <= 0 || v > 1000000000L) {
            fprintf(stderr, "usage: %s [N]  (0 < N <= 1e9)\n", argv[0]);
            return 2;
        }
        n_pp = n_bulk = v;
    }
    n_items = n_pp;
    double pp = median3(pingpong);
    printf("thread_pingpong %s %.1f\n", peer, pp);
    if (loop_row)
        printf("loop_pingpong %s %.1f\n", peer, pp);
    fflush(stdout);
    n_items = n_bulk;
    printf("thread_bulk %s %.1f\n", peer, median3(bulk));
    return 0;
}

#endif
