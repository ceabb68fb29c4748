/* libaq - helpers of the stack overflow tests: a task that overruns its
 * stack, and a child process to let it die in. MIT licensed. */
#ifndef AQ_OVERFLOW_HELPERS_H
#define AQ_OVERFLOW_HELPERS_H

#include "test.h"

#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

/* Under AddressSanitizer, frames carry redzones or move to ASan's fake
 * stack, and ASan takes SIGSEGV itself: an overflow then shows as ASan's
 * report rather than libaq's. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* Burns 1 KiB of stack per level; the volatile buffer and the use of the
 * result after the call keep the compiler from turning it into a loop. The
 * bound is never reached: 1000000 levels need about 1 GiB. */
static int recurse(int n)
{
    volatile char frame[1024];
    frame[0] = (char)n;
    if (n > 1000000)
        return n;
    return recurse(n + 1) + frame[0];
}

/* A task body that overflows any stack. */
static inline void *overflowing(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)recurse(0);
}

/* Runs child() in a child process with its stderr captured into out (at
 * most size - 1 bytes, NUL-terminated); returns the child's wait status.
 * child() is expected to die: if it returns, the child exits 0. */
static inline int run_in_child(void (*child)(void), char *out, size_t size)
{
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    fflush(stdout);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        child();
        _exit(0);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t r;
    while (len < size - 1 &&
           (r = read(fds[0], out + len, size - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(fds[0]);
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    return status;
}

/* Runs child() in a child process, which must exit 0 (its ASSERTs exit
 * 1); shows its stderr if it does not. */
static inline void run_child_ok(void (*child)(void))
{
    char out[4096];
    int status = run_in_child(child, out, sizeof out);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "%s", out);
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
}

#endif
