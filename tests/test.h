/* libaq - the tests' tiny harness. MIT licensed.
 *
 * TEST(name) defines a test; RUN(name) in main runs it if argv names no
 * filter or a filter that is a substring of its name. Every test runs with
 * a counting allocator installed, and fails if it leaks a block. ASSERT_*
 * print both sides (error codes by name) with file:line and exit(1), so
 * the first failure ends the file's run and CTest reports it.
 *
 * Fault injection: t_fail_alloc_at(k) makes the k-th allocation from now
 * return NULL (0 disables it).
 */
#ifndef AQ_TEST_H
#define AQ_TEST_H

#include "aq.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Atomic: threads that post into a loop allocate through it too. */
static _Atomic long t_live;   /* blocks allocated and not yet freed */
static _Atomic long t_allocs; /* allocations made since the test started */
static long t_fail_at;     /* fail the allocation with this number */
static int t_passed;

static void t_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(1);
}

static int t_should_fail(void)
{
    return atomic_fetch_add(&t_allocs, 1) + 1 == t_fail_at;
}

static void *t_malloc(size_t n)
{
    if (t_should_fail())
        return NULL;
    void *p = malloc(n);
    if (p)
        t_live++;
    return p;
}

/* Bytes asked by the last realloc (atomic: threads allocate too). */
static _Atomic size_t t_last_realloc;

static void *t_realloc(void *p, size_t n)
{
    if (t_should_fail())
        return NULL;
    t_last_realloc = n;
    void *r = realloc(p, n);
    if (r && !p)
        t_live++;
    return r;
}

static void t_free(void *p)
{
    if (p)
        t_live--;
    free(p);
}

static inline void t_fail_alloc_at(long k)
{
    t_fail_at = k ? t_allocs + k : 0;
}

#define TEST(name) static void name(void)

#define ASSERT(c)                                                          \
    do {                                                                   \
        if (!(c))                                                          \
            t_fail(__FILE__, __LINE__, "ASSERT(%s)", #c);                  \
    } while (0)

#define ASSERT_EQ(a, b)                                                    \
    do {                                                                   \
        long long a_ = (long long)(a), b_ = (long long)(b);                \
        if (a_ != b_)                                                      \
            t_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b,  \
                   a_, b_);                                                \
    } while (0)

#define ASSERT_RC(expr, code)                                              \
    do {                                                                   \
        int r_ = (expr), c_ = (code);                                      \
        if (r_ != c_)                                                      \
            t_fail(__FILE__, __LINE__, "%s: got %s (%d), want %s (%d)",    \
                   #expr, aq_errname(r_), r_, aq_errname(c_), c_);         \
    } while (0)

#define ASSERT_OK(expr) ASSERT_RC(expr, AQ_OK)

static void t_run(const char *name, void (*fn)(void), int argc, char **argv)
{
    if (argc > 1) {
        int match = 0;
        for (int i = 1; i < argc; i++)
            match |= strstr(name, argv[i]) != NULL;
        if (!match)
            return;
    }
    ASSERT_OK(aq_set_allocator(t_malloc, t_realloc, t_free));
    t_live = t_allocs = t_fail_at = 0;
    fn();
    t_fail_at = 0;
    if (t_live != 0)
        t_fail(__FILE__, __LINE__, "%s leaked %ld block(s)", name, t_live);
    printf("ok %s\n", name);
    t_passed++;
}

#define RUN(name) t_run(#name, name, argc, argv)

/* Prints the closing line; returns main's exit status. */
static int t_done(void)
{
    printf("%d passed, 0 failed\n", t_passed);
    return 0;
}

/* Runs fn(arg) as the main task of a fresh loop and checks it ran. */
static inline void *t_main(aq_task_fn fn, void *arg)
{
    void *res = NULL;
    ASSERT_OK(aq_run(fn, arg, &res));
    return res;
}

#endif
