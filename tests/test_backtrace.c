/* libaq - tests of aq_task_backtrace: a parked task's frames, from
 * inside the program. MIT licensed.
 *
 * A task parks from a function that records its own return address (the
 * call site in its caller): that exact address must be one of the task's
 * frames, with a return address inside that function just below it, the
 * queue call it parked in below that, and libaq's entry frame above. Then each refusal:
 * the running task, a finished one, a compact one, one that has not run,
 * and one whose stack has no room left for the unwinder.
 */
#include "rt_helpers.h"

#include <stdint.h>

static aq_queue *g_q;
static void *g_call_site; /* where parker's caller resumes */

static __attribute__((noinline)) int parker(void)
{
    g_call_site = __builtin_return_address(0);
    long v;
    return aq_queue_get(g_q, &v);
}

static void *parked_task(void *arg)
{
    (void)arg;
    int rc = parker();
    __asm__ volatile("" ::: "memory"); /* keep the call a call, not a jump */
    return IARG(rc);
}

/* Whether pc is a return address inside parker (a few dozen bytes). */
static int in_parker(void *pc)
{
    uintptr_t p = (uintptr_t)pc, f = (uintptr_t)parker;
    return p > f && p < f + 256;
}

static void *frames_main(void *arg)
{
    (void)arg;
    g_q = new_fifo(0);
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, parked_task, NULL));
    ASSERT_OK(aq_task_backtrace(t, NULL, 0)); /* not run yet: 0 frames */
    ASSERT_OK(aq_yield());
    void *pcs[64];
    int n = aq_task_backtrace(t, pcs, 64);
    ASSERT(n >= 3);
    int found = -1;
    for (int i = 0; i < n; i++)
        if (pcs[i] == g_call_site)
            found = i;
    /* Inside out: libaq's queue call, parker, the call site in
     * parked_task, then libaq's entry frame. */
    ASSERT(found >= 2 && found < n - 1);
    ASSERT(in_parker(pcs[found - 1]));
    ASSERT(!in_parker(pcs[found - 2]));
    /* A smaller array gets the innermost frames and the whole count. */
    void *two[2];
    ASSERT_EQ(aq_task_backtrace(t, two, 2), n);
    ASSERT(two[0] == pcs[0] && two[1] == pcs[1]);
    /* Asking changed nothing: the task still gets its item. */
    long v = 7;
    ASSERT_OK(aq_queue_put(g_q, &v));
    void *res;
    ASSERT_OK(aq_task_wait(t, &res));
    ASSERT_OK((int)IVAL(res));
    ASSERT_RC(aq_task_backtrace(t, pcs, 64), AQ_EALREADY);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_queue_free(g_q));
    return NULL;
}
TEST(test_backtrace_of_a_parked_task) { t_main(frames_main, NULL); }

/* Recurses until about 6 KiB of its 32 KiB stack is left (frames differ
 * in size between builds, ASan's most of all), then parks: less room
 * below its frames than the unwinder is given. */
#define DEEP_STACK (2 * AQ_STACK_MIN)
static char *g_top;

static __attribute__((noinline)) int deep_parker(void)
{
    volatile char pad[512];
    pad[0] = 1;
    if (g_top - (char *)pad < (long)(DEEP_STACK - 6 * 1024))
        return deep_parker() + pad[0] - 1;
    return aq_sleep(AQ_SEC);
}

static void *deep_task(void *arg)
{
    (void)arg;
    volatile char here;
    g_top = (char *)&here;
    return IARG(deep_parker());
}

static void *refusals_main(void *arg)
{
    (void)arg;
    void *pcs[4];
    aq_task *self = aq_task_self();
    ASSERT_RC(aq_task_backtrace(NULL, pcs, 4), AQ_EINVAL);
    ASSERT_RC(aq_task_backtrace(self, NULL, 4), AQ_EINVAL);
    ASSERT_RC(aq_task_backtrace(self, pcs, 4), AQ_EINVAL);
    ASSERT(strstr(aq_error_detail(), "running") != NULL);
    aq_task *deep;
    ASSERT_OK(aq_loop_spawn(aq_loop_current(), &deep, deep_task, NULL,
                            DEEP_STACK));
    ASSERT_OK(aq_yield());
    ASSERT_RC(aq_task_backtrace(deep, pcs, 4), AQ_ENOMEM);
    ASSERT_OK(aq_task_cancel(deep));
    ASSERT_OK(aq_task_wait(deep, NULL));
    ASSERT_OK(aq_task_release(deep));
    return NULL;
}
TEST(test_backtrace_refusals) { t_main(refusals_main, NULL); }

static void *compact_sleeper(void *arg)
{
    (void)arg;
    return IARG(aq_sleep(AQ_SEC));
}

TEST(test_backtrace_of_a_compact_task_is_refused)
{
    aq_loop *l;
    ASSERT_OK(aq_loop_new(&l));
    ASSERT_OK(aq_loop_set_compact(l, 64 * 1024));
    aq_task *t;
    ASSERT_OK(aq_loop_spawn(l, &t, compact_sleeper, NULL, 0));
    ASSERT_OK(aq_loop_run_ready(l));
    void *pcs[4];
    ASSERT_RC(aq_task_backtrace(t, pcs, 4), AQ_EINVAL);
    ASSERT(strstr(aq_error_detail(), "compact") != NULL);
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_OK(aq_loop_run(l));
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_loop_free(l));
}

/* From a drop callback run in the task's put, the task is still the
 * running one: its backtrace is refused (it unwound from the stack
 * pointer of the task's last switch, writing over the callback's live
 * frames: SIGSEGV), and a dump counts it as running, not parked. */
struct in_drop {
    aq_task *self;
    aq_loop *loop;
    int rc;
    char *dump;
};

static void backtrace_in_drop(void *item, void *ud)
{
    (void)item;
    struct in_drop *d = ud;
    if (d->dump) /* aq_queue_free passes the stored item on too */
        return;
    volatile char canary[256];
    memset((char *)canary, 0x5a, sizeof canary);
    void *pcs[16];
    d->rc = aq_task_backtrace(d->self, pcs, 16);
    size_t len = 0;
    FILE *f = open_memstream(&d->dump, &len);
    ASSERT(f != NULL);
    ASSERT_OK(aq_loop_dump(d->loop, f));
    ASSERT_EQ(fclose(f), 0);
    for (size_t i = 0; i < sizeof canary; i++)
        ASSERT_EQ(canary[i], 0x5a);
}

static void *in_drop_main(void *arg)
{
    (void)arg;
    struct in_drop d = {aq_task_self(), aq_loop_current(), 1, NULL};
    aq_queue *q;
    long v = 1;
    ASSERT_OK(aq_queue_new(&q, AQ_FIFO, sizeof v, 1));
    ASSERT_OK(
        aq_queue_set_overflow(q, AQ_DROP_OLDEST, backtrace_in_drop, &d));
    ASSERT_OK(aq_queue_put(q, &v));
    ASSERT_OK(aq_yield()); /* a shallow switch: its saved stack pointer */
    ASSERT_OK(aq_queue_put(q, &v)); /* full: the callback runs */
    ASSERT_RC(d.rc, AQ_EINVAL);
    ASSERT(d.dump && strstr(d.dump, "1 task (0 ready, 0 parked)"));
    free(d.dump);
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}
TEST(test_backtrace_of_the_task_from_its_drop_callback)
{
    t_main(in_drop_main, NULL);
}

int main(int argc, char **argv)
{
    RUN(test_backtrace_of_a_parked_task);
    RUN(test_backtrace_refusals);
    RUN(test_backtrace_of_a_compact_task_is_refused);
    RUN(test_backtrace_of_the_task_from_its_drop_callback);
    return t_done();
}
