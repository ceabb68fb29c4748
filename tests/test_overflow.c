/* Stack overflow is loud: a task that runs off its stack hits the guard
 * page, and the process reports which task overflowed and its stack size
 * before dying of SIGSEGV. Run in a child process, whose stderr and exit
 * status the parent checks. Under AddressSanitizer, ASan's own handler
 * takes the fault and reports a stack overflow instead: also accepted. */
#include "overflow_helpers.h"

static void *spawn_overflowing(void *arg)
{
    aq_task *t;
    (void)arg;
    aq_loop_spawn(aq_loop_current(), &t, overflowing, NULL, 32 * 1024);
    aq_task_wait(t, NULL);
    return NULL;
}

static void child(void)
{
    aq_run(spawn_overflowing, NULL, NULL); /* dies of the overflow */
}

TEST(test_overflow_reports_task_and_size)
{
    char out[8192];
    int status = run_in_child(child, out, sizeof out);
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
