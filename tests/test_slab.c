/* Stacks past the guard budget: slabs. With AQ_GUARD_BUDGET=4 and
 * AQ_STACK_GUARDS=mprotect (guards made as on kernels before 6.13) set
 * before the first spawn, every stack but the first four is carved from a
 * slab (256 to a mapping, no guard pages). Covers many tasks across several
 * slabs, reuse of stacks whose pages were given back (the cold list),
 * allocation failure of a new slab, and the overflow check that stands in
 * for a guard page on slab stacks (in a child process). */
#include "overflow_helpers.h"
#include "rt_helpers.h"

#define NT 700 /* past the budget: about three slabs */

static void *parked(void *arg)
{
    long v = -1;
    int rc = aq_queue_get(arg, &v);
    return IARG(rc ? rc : v);
}

/* Parks NT tasks, feeds them, checks every result; twice, so the second
 * round reuses stacks: pooled ones, and cold ones whose pages were given
 * back (the pool is kept small for that). */
static void *many_main(void *arg)
{
    static aq_task *t[NT];
    aq_queue *q = new_fifo(0);
    (void)arg;
    ASSERT_OK(aq_loop_set_stack_pool(aq_loop_current(), 16));
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < NT; i++)
            ASSERT_OK(aq_spawn(&t[i], parked, q));
        ASSERT_OK(aq_yield());
        ASSERT_EQ(aq_queue_getters(q), NT);
        for (long i = 0; i < NT; i++)
            ASSERT_OK(aq_queue_try_put(q, &i));
        for (long i = 0; i < NT; i++) {
            void *res;
            ASSERT_OK(aq_task_wait(t[i], &res));
            ASSERT_EQ(IVAL(res), i);
            ASSERT_OK(aq_task_release(t[i]));
        }
    }
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_slab_many_tasks_and_reuse)
{
    t_main(many_main, NULL);
}

/* A new slab needs memory for its headers: if that fails, the spawn
 * reports AQ_ENOMEM, spawns nothing and leaks nothing, and a retry works.
 * A first round leaves records and pooled stacks behind, so that in the
 * second the extra spawns allocate a record first and, whenever the
 * current slab is full, a slab second: failing every spawn's second
 * allocation hits exactly the slabs. */
#define EXTRA 300

static void *slab_oom_main(void *arg)
{
    static aq_task *t[NT + EXTRA];
    aq_queue *q = new_fifo(0);
    int n = 0, failed = 0;
    (void)arg;
    for (int round = 0; round < 2; round++) {
        int want = round ? NT + EXTRA : NT;
        for (n = 0; n < want; n++) {
            aq_task *x = (aq_task *)&x;
            if (round && n >= NT)
                t_fail_alloc_at(2);
            int rc = aq_spawn(&x, parked, q);
            t_fail_alloc_at(0);
            if (rc == AQ_ENOMEM) {
                ASSERT(x == (aq_task *)&x);
                failed++;
                rc = aq_spawn(&x, parked, q); /* the retry gets its slab */
            }
            ASSERT_OK(rc);
            t[n] = x;
        }
        ASSERT_OK(aq_yield());
        ASSERT_EQ(aq_queue_getters(q), n);
        for (long i = 0; i < n; i++)
            ASSERT_OK(aq_queue_try_put(q, &i));
        for (int i = 0; i < n; i++) {
            void *res;
            ASSERT_OK(aq_task_wait(t[i], &res));
            ASSERT_EQ(IVAL(res), i);
            ASSERT_OK(aq_task_release(t[i]));
        }
    }
    ASSERT(failed >= 1); /* 300 more stacks need at least one new slab */
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_slab_allocation_failure)
{
    t_main(slab_oom_main, NULL);
}

/* Recurses 1 KiB a level, yielding at each: on a slab stack there is no
 * guard page, and the switch-time check must catch the frame below the
 * stack's limit. */
static int deep_yield(int n)
{
    volatile char frame[1024];
    frame[0] = (char)n;
    if (n > 1000000 || aq_yield() != AQ_OK)
        return n;
    return deep_yield(n + 1) + frame[0];
}

static void *yielding_overflow(void *arg)
{
    (void)arg;
    return IARG(deep_yield(0));
}

static void *spin(void *arg)
{
    (void)arg;
    while (aq_yield() == AQ_OK)
        ;
    return NULL;
}

static void slab_overflow_child(void)
{
    aq_loop *l;
    aq_loop_new(&l);
    /* The budget is spent by the parent's earlier tests; make sure of it
     * here too, then two slab stacks: the overflowing task and a
     * neighbour to yield to. */
    for (int i = 0; i < 8; i++)
        aq_loop_spawn(l, NULL, spin, NULL, 0);
    aq_loop_spawn(l, NULL, yielding_overflow, NULL, 0);
    aq_loop_run(l); /* dies of the overflow */
}

TEST(test_slab_overflow_found_at_a_switch)
{
    char out[8192];
    int status = run_in_child(slab_overflow_child, out, sizeof out);
#ifdef UNDER_ASAN
    /* ASan's frame layout (redzones, fake stacks) can let a 1 KiB frame
     * reach the neighbour stack before any switch: the child must still
     * die, by libaq's check or by a sanitizer's report of what followed
     * (ASan's, or UBSan's: clang's build read a task pointer from the
     * overwritten frame, misaligned, after the 2026-12-03 stop check
     * changed the switch's frames). */
    ASSERT(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
    ASSERT(strstr(out, "found at a switch") != NULL ||
           strstr(out, "AddressSanitizer") != NULL ||
           strstr(out, "UndefinedBehaviorSanitizer") != NULL);
#else
    ASSERT(WIFSIGNALED(status));
    ASSERT_EQ(WTERMSIG(status), SIGABRT);
    ASSERT(strstr(out, "libaq: stack overflow in task 0x") != NULL);
    ASSERT(strstr(out, "found at a switch") != NULL);
#endif
}

/* The same many tasks, reuse and slab allocation failure on guarded
 * slabs (guard regions, Linux 6.13+; on an older kernel these are the
 * unguarded slabs again), in a child that keeps libaq's default. */
static void guarded_child(void)
{
    test_slab_many_tasks_and_reuse();
    test_slab_allocation_failure();
}

TEST(test_slab_guarded_many_tasks_and_failure)
{
    run_child_ok(guarded_child);
}

int main(int argc, char **argv)
{
    RUN(test_slab_guarded_many_tasks_and_failure);
    /* Before any stack exists: read once, at the first spawn. Guards made
     * with mprotect, the only kind with a budget. */
    setenv("AQ_GUARD_BUDGET", "4", 1);
    setenv("AQ_STACK_GUARDS", "mprotect", 1);
    RUN(test_slab_many_tasks_and_reuse);
    RUN(test_slab_allocation_failure);
    RUN(test_slab_overflow_found_at_a_switch);
    return t_done();
}
