/* benchutil.h - what aqbench.c and floor.c share. MIT licensed.
 *
 * Both programs take `WORKLOAD N` and print `WORKLOAD N ns...`, and the
 * priority row of both must draw the same keys as the peers do, so the
 * clock, the checks, the LCG and the parsing of N live here once (each
 * program includes this header once; the functions are static).
 */
#ifndef BENCHUTIL_H
#define BENCHUTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void fail(const char *what)
{
    fprintf(stderr, "check failed: %s\n", what);
    exit(1);
}

static void check(int ok, const char *what)
{
    if (!ok)
        fail(what);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        fail("out of memory");
    return p;
}

/* The shared pseudo-random sequence: x0 = 12345,
 * x = (x * 1103515245 + 12345) mod 2^31, the value after each step. In
 * 64 bits the product cannot overflow, since x < 2^31. */
static int64_t *lcg(long n)
{
    int64_t *out = xmalloc((size_t)n * sizeof *out);
    uint64_t x = 12345;
    for (long i = 0; i < n; i++) {
        x = (x * 1103515245u + 12345u) % (UINT64_C(1) << 31);
        out[i] = (int64_t)x;
    }
    return out;
}

/* N as a positive decimal integer, or -1: digits only, as the peers
 * accept, so "1e6" or "-3" is a usage error rather than a surprise. */
static long parse_n(const char *s)
{
    if (!*s || strspn(s, "0123456789") != strlen(s))
        return -1;
    errno = 0;
    long n = strtol(s, NULL, 10);
    return errno || n < 1 ? -1 : n;
}

#endif
