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

/* Runs child, which must die of SIGSEGV on a guard page after libaq's
 * report naming the task and `report` (the stack size part). */
static void expect_guard_report(void (*fn)(void), const char *report)
{
    char out[8192];
    int status = run_in_child(fn, out, sizeof out);
#ifdef UNDER_ASAN
    (void)report;
    ASSERT(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
    ASSERT(strstr(out, "stack-overflow") != NULL);
#else
    ASSERT(WIFSIGNALED(status));
    ASSERT_EQ(WTERMSIG(status), SIGSEGV);
    ASSERT(strstr(out, "libaq: stack overflow in task 0x") != NULL);
    ASSERT(strstr(out, report) != NULL);
#endif
}

TEST(test_overflow_reports_task_and_size)
{
    expect_guard_report(child, "(stack size 32768 bytes, hit its guard page");
}

/* A default-size stack: carved from a guarded slab (guard regions,
 * Linux 6.13+), its guard page made by madvise(MADV_GUARD_INSTALL) inside
 * the slab's one mapping, above the neighbour's top. The fault must come
 * as SIGSEGV at an address in that page, which overflow.c recognises.
 * Several tasks are parked first, so the overflowing stack has
 * neighbours on both sides. */
static void *park(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)aq_sleep(INT64_C(3600000000000));
}

static void *spawn_overflowing_default(void *arg)
{
    aq_task *t[4];
    (void)arg;
    for (int i = 0; i < 3; i++)
        aq_spawn(&t[i], park, NULL);
    aq_spawn(&t[3], overflowing, NULL);
    aq_task_wait(t[3], NULL);
    return NULL;
}

static void child_default(void)
{
    aq_run(spawn_overflowing_default, NULL, NULL);
}

TEST(test_overflow_default_stack_hits_guard)
{
    expect_guard_report(child_default,
                        "(stack size 65536 bytes, hit its guard page");
}

int main(int argc, char **argv)
{
    RUN(test_overflow_reports_task_and_size);
    RUN(test_overflow_default_stack_hits_guard);
    return t_done();
}
