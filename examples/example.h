/* Shared by the examples: one helper that reports a failed libaq call.
 *
 * Python raises an exception; libaq returns a negative code instead, and a
 * C program should look at it. check() prints the failing call and the
 * code's message on stderr (stdout carries only what the Python twin
 * prints), remembers that the run failed, and passes the code on, so a
 * call site reads:  if (check(aq_queue_put(q, &x), "aq_queue_put")) ...
 */
#ifndef EXAMPLE_H
#define EXAMPLE_H

#include <aq.h>
#include <stdio.h>

/* 1 once any check() failed: each example's main() returns it. */
static int exit_status;

static inline int check(int rc, const char *what)
{
    if (rc != AQ_OK) {
        fprintf(stderr, "%s: %s (%s)\n", what, aq_strerror(rc),
                aq_errname(rc));
        exit_status = 1;
    }
    return rc;
}

#endif
