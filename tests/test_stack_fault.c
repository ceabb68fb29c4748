/* Stack allocation failures: when the mmap of a new task stack or slab,
 * or the call that makes its guard page (madvise(MADV_GUARD_INSTALL), or
 * mprotect on kernels without guard regions) fails, the spawn returns
 * AQ_ENOMEM, spawns nothing, and leaves no half-made stack and no
 * mapping behind; a retry works. A failed populate of a stack's top page
 * costs nothing but the fault it would have saved. Linked with
 * -Wl,--wrap= for mmap, mprotect, munmap, madvise and process_madvise (see
 * tests/CMakeLists.txt), so libaq's calls come here; the rest of the
 * process keeps the real ones. The fallback for kernels before Linux 6.13
 * (MADV_GUARD_INSTALL refused with EINVAL) runs in a child process, which
 * decides how to make guards afresh. */
#define _GNU_SOURCE /* process_madvise */
#include "overflow_helpers.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/uio.h>

#define GUARD_INSTALL 102 /* MADV_GUARD_INSTALL */
#define POPULATE_WRITE 23 /* MADV_POPULATE_WRITE */

void *__real_mmap(void *, size_t, int, int, int, off_t);
int __real_mprotect(void *, size_t, int);
int __real_munmap(void *, size_t);
int __real_madvise(void *, size_t, int);
ssize_t __real_process_madvise(int, const struct iovec *, size_t, int,
                               unsigned);

static int fail_mmap, fail_mprotect; /* fail the next call when set */
static int fail_guard;       /* fail guard installs until a madvise fails */
static int fail_populate;    /* fail every populate while set */
static int no_guard_regions; /* a kernel before 6.13: EINVAL */
static long live_maps;       /* mappings made and not unmapped */
static long mprotects, guard_installs; /* calls that succeeded */

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
                  off_t off)
{
    if (fail_mmap) {
        fail_mmap = 0;
        return MAP_FAILED;
    }
    void *p = __real_mmap(addr, len, prot, flags, fd, off);
    if (p != MAP_FAILED)
        live_maps++;
    return p;
}

int __wrap_mprotect(void *addr, size_t len, int prot)
{
    if (fail_mprotect) {
        fail_mprotect = 0;
        return -1;
    }
    mprotects++;
    return __real_mprotect(addr, len, prot);
}

int __wrap_munmap(void *addr, size_t len)
{
    live_maps--;
    return __real_munmap(addr, len);
}

/* The advice fails as the injection says: errno, or 0 to go ahead. */
static int injected(int advice)
{
    if (advice == GUARD_INSTALL && no_guard_regions)
        return EINVAL;
    if (advice == GUARD_INSTALL && fail_guard)
        return ENOMEM;
    if (advice == POPULATE_WRITE && fail_populate)
        return ENOMEM;
    return 0;
}

int __wrap_madvise(void *addr, size_t len, int advice)
{
    int e = injected(advice);
    if (e) {
        if (advice == GUARD_INSTALL)
            fail_guard = 0;
        errno = e;
        return -1;
    }
    if (advice == GUARD_INSTALL)
        guard_installs++;
    return __real_madvise(addr, len, advice);
}

/* Fails without clearing the injection, so the madvise libaq then tries
 * fails too. */
ssize_t __wrap_process_madvise(int pidfd, const struct iovec *iov,
                               size_t n, int advice, unsigned flags)
{
    int e = injected(advice);
    if (e) {
        errno = e;
        return -1;
    }
    ssize_t r = __real_process_madvise(pidfd, iov, n, advice, flags);
    if (r > 0 && advice == GUARD_INSTALL)
        guard_installs += (long)n;
    return r;
}

static void *noop(void *arg) { return arg; }

static void *parked(void *arg)
{
    long v = -1;
    int rc = aq_queue_get(arg, &v);
    return (void *)(intptr_t)(rc ? rc : v);
}

/* Spawns one task of `size` bytes of stack with each failure injected,
 * then for real, and checks that only the real spawn left a task (and,
 * own: its own mapping) behind. */
static void own_stack_faults(size_t size, int *fail_guard_call)
{
    aq_loop *l = aq_loop_current();
    aq_task *t = NULL;
    long before = live_maps;

    fail_mmap = 1;
    ASSERT_RC(aq_loop_spawn(l, &t, noop, NULL, size), AQ_ENOMEM);
    ASSERT(t == NULL);
    ASSERT_EQ(live_maps, before);

    *fail_guard_call = 1;
    ASSERT_RC(aq_loop_spawn(l, &t, noop, NULL, size), AQ_ENOMEM);
    ASSERT(t == NULL);
    ASSERT_EQ(*fail_guard_call, 0); /* it was the call that failed */
    ASSERT_EQ(live_maps, before); /* the half-made stack was unmapped */

    ASSERT_OK(aq_loop_spawn(l, &t, noop, (void *)7, size));
    ASSERT_EQ(live_maps, before + 1);
    void *res = NULL;
    ASSERT_OK(aq_task_wait(t, &res));
    ASSERT(res == (void *)7);
    ASSERT_OK(aq_task_release(t));
}

/* Does this system honour MADV_GUARD_INSTALL? A kernel before 6.13 says
 * EINVAL; qemu-user says yes and ignores it, which libaq detects (a write
 * of the page must fail with EFAULT) and so must the test: there, the
 * guard-region cases test the mprotect path libaq then takes. */
static int guard_regions;

static int guard_regions_work(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    int fds[2], works = 0;
    char *p = __real_mmap(NULL, (size_t)ps, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || pipe(fds))
        return 0;
    if (__real_madvise(p, (size_t)ps, GUARD_INSTALL) == 0)
        works = write(fds[1], p, 1) < 0 && errno == EFAULT;
    close(fds[0]);
    close(fds[1]);
    __real_munmap(p, (size_t)ps);
    return works;
}

/* A fresh size bypasses the stack pool, so a new mapping is needed. */
static void *own_faults_main(void *arg)
{
    (void)arg;
    long protects = mprotects;
    if (!guard_regions) { /* the mprotect path, checked as such */
        own_stack_faults(2 * AQ_STACK_MIN, &fail_mprotect);
        ASSERT(mprotects > protects);
        return NULL;
    }
    own_stack_faults(2 * AQ_STACK_MIN, &fail_guard);
    ASSERT_EQ(mprotects, protects); /* guard regions only */
    return NULL;
}

TEST(test_stack_mmap_failure_spawns_nothing)
{
    live_maps = 0;
    t_main(own_faults_main, NULL);
    ASSERT_EQ(live_maps, 0); /* every stack unmapped when the loop went */
}

/* Default-size stacks come from guarded slabs of 256, prepared 16 at a
 * time. Parks tasks until a batch must be prepared and fails its guard
 * install, then fills the slab and fails the next slab's mmap and its
 * first batch's guards, then a populate. */
#define NPARK 300

static void spawn_parked(aq_queue *q, aq_task **t, int *n)
{
    ASSERT_OK(aq_spawn(&t[*n], parked, q));
    (*n)++;
}

static void *slab_faults_main(void *arg)
{
    static aq_task *t[NPARK];
    aq_queue *q;
    aq_task *x = NULL;
    int n = 0;
    (void)arg;
    ASSERT_OK(aq_queue_new(&q, AQ_FIFO, sizeof(long), 0));
    long before = live_maps; /* the slab the main task's stack came from */
    long guards = guard_installs;

    /* The main task took stack 0 of the first batch. */
    while (n < 15)
        spawn_parked(q, t, &n);
    ASSERT_EQ(guard_installs, guards); /* the batch was ready */
    fail_guard = 1;
    ASSERT_RC(aq_spawn(&x, parked, q), AQ_ENOMEM);
    ASSERT(x == NULL);
    ASSERT_EQ(fail_guard, 0);
    spawn_parked(q, t, &n); /* the retry prepares the batch */
    ASSERT_EQ(guard_installs, guards + 16);

    fail_populate = 1; /* best effort: the next batch is prepared anyway */
    while (n < 255)
        spawn_parked(q, t, &n);
    fail_populate = 0;
    ASSERT_EQ(live_maps, before); /* 256 guarded stacks, one mapping */

    fail_mmap = 1;
    ASSERT_RC(aq_spawn(&x, parked, q), AQ_ENOMEM);
    ASSERT(x == NULL);
    fail_guard = 1;
    ASSERT_RC(aq_spawn(&x, parked, q), AQ_ENOMEM);
    ASSERT(x == NULL);
    ASSERT_EQ(live_maps, before); /* the new slab was unmapped */
    while (n < NPARK)
        spawn_parked(q, t, &n);
    ASSERT_EQ(live_maps, before + 1);

    ASSERT_OK(aq_yield());
    ASSERT_EQ(aq_queue_getters(q), NPARK);
    for (long i = 0; i < NPARK; i++)
        ASSERT_OK(aq_queue_try_put(q, &i));
    for (long i = 0; i < NPARK; i++) {
        void *res;
        ASSERT_OK(aq_task_wait(t[i], &res));
        ASSERT_EQ((long)(intptr_t)res, i);
        ASSERT_OK(aq_task_release(t[i]));
    }
    ASSERT_OK(aq_queue_free(q));
    return NULL;
}

TEST(test_stack_slab_failures_spawn_nothing)
{
    live_maps = 0;
    /* Without guard regions there are no guarded slabs: default-size
     * stacks take the mprotect path, whose failures own_faults_main
     * checks. */
    t_main(guard_regions ? slab_faults_main : own_faults_main, NULL);
    ASSERT_EQ(live_maps, 0);
}

/* aq_run's own first spawn failing: AQ_ENOMEM and nothing left over. */
TEST(test_stack_mmap_failure_in_run)
{
    live_maps = 0;
    fail_mmap = 1;
    ASSERT_RC(aq_run(noop, NULL, NULL), AQ_ENOMEM);
    ASSERT_EQ(live_maps, 0);
}

/* A kernel without guard regions: libaq finds out at its first stack and
 * makes every guard with mprotect, as before; its failure spawns
 * nothing. In a child, which decides afresh; exits 0 if all went well. */
static void *fallback_main(void *arg)
{
    (void)arg;
    long protects = mprotects;
    own_stack_faults(2 * AQ_STACK_MIN, &fail_mprotect);
    ASSERT(mprotects > protects);
    return NULL;
}

static void fallback_child(void)
{
    no_guard_regions = 1;
    ASSERT_OK(aq_run(noop, NULL, NULL)); /* the alternate signal stack */
    live_maps = 0;
    mprotects = 0;
    t_main(fallback_main, NULL);
    ASSERT_EQ(live_maps, 0);
    ASSERT_EQ(guard_installs, 0);
    ASSERT(mprotects > 0); /* the main task's stack too */
}

TEST(test_stack_fallback_without_guard_regions)
{
    run_child_ok(fallback_child);
}

int main(int argc, char **argv)
{
    guard_regions = guard_regions_work();
    /* Before any stack is made in this process: the child decides. */
    RUN(test_stack_fallback_without_guard_regions);
    /* The first run on a thread maps its alternate signal stack for good
     * (overflow.c); get that done before counting. */
    ASSERT_OK(aq_run(noop, NULL, NULL));
    RUN(test_stack_mmap_failure_spawns_nothing);
    RUN(test_stack_slab_failures_spawn_nothing);
    RUN(test_stack_mmap_failure_in_run);
    return t_done();
}
