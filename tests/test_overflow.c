/* Stack overflow is loud: a task that runs off its stack hits the guard
 * page, and the process reports which task overflowed and its stack size
 * before dying of SIGSEGV. Run in a child process, whose stderr and exit
 * status the parent checks. Under AddressSanitizer, ASan's own handler
 * takes the fault and reports a stack overflow instead: also accepted. */
#include "test.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static int depth_reached;

/* Burns 1 KiB of stack per level; the volatile buffer and the use of the
 * result after the call keep the compiler from turning it into a loop. The
 * bound is never reached: 1000000 levels need about 1 GiB. */
static int recurse(int n)
{
    volatile char frame[1024];
    frame[0] = (char)n;
    depth_reached = n;
    if (n > 1000000)
        return n;
    return recurse(n + 1) + frame[0];
}

static void *overflowing(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)recurse(0);
}

static void *spawn_overflowing(void *arg)
{
    aq_task *t;
    (void)arg;
    aq_loop_spawn(aq_loop_current(), &t, overflowing, NULL, 32 * 1024);
    aq_task_wait(t, NULL);
    return NULL;
}

TEST(test_overflow_reports_task_and_size)
{
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    fflush(stdout);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        aq_run(spawn_overflowing, NULL, NULL);
        _exit(0); /* not reached: the overflow kills us */
    }
    close(fds[1]);
    char out[8192];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof out - 1 &&
           (r = read(fds[0], out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(fds[0]);
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
#ifdef UNDER_ASAN
    ASSERT(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
    ASSERT(strstr(out, "stack-overflow") != NULL);
#else
    ASSERT(WIFSIGNALED(status));
    ASSERT_EQ(WTERMSIG(status), SIGSEGV);
    ASSERT(strstr(out, "libaq: stack overflow in task 0x") != NULL);
    ASSERT(strstr(out, "(stack size 32768 bytes, hit its guard page") != NULL);
#endif
}

int main(int argc, char **argv)
{
    RUN(test_overflow_reports_task_and_size);
    return t_done();
}
