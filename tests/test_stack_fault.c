/* Stack allocation failures: when the mmap or the mprotect of a new task
 * stack fails, the spawn returns AQ_ENOMEM, spawns nothing, and leaks no
 * mapping. Linked with -Wl,--wrap=mmap,--wrap=mprotect,--wrap=munmap (see
 * tests/CMakeLists.txt), so libaq's calls come here; the rest of the
 * process keeps the real ones. */
#include "test.h"

#include <sys/mman.h>

void *__real_mmap(void *, size_t, int, int, int, off_t);
int __real_mprotect(void *, size_t, int);
int __real_munmap(void *, size_t);

static int fail_mmap, fail_mprotect; /* fail the next call when set */
static long live_maps;               /* mappings made and not unmapped */

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
    return __real_mprotect(addr, len, prot);
}

int __wrap_munmap(void *addr, size_t len)
{
    live_maps--;
    return __real_munmap(addr, len);
}

static void *noop(void *arg) { return arg; }

/* Spawns with each failure injected, then for real, and checks that only
 * the real spawn left a task behind. */
static void *spawn_under_faults(void *arg)
{
    aq_loop *l = aq_loop_current();
    aq_task *t = NULL;
    (void)arg;
    /* A fresh size bypasses the stack pool, so a new mapping is needed. */
    size_t size = 2 * AQ_STACK_MIN;
    long before = live_maps;

    fail_mmap = 1;
    ASSERT_RC(aq_loop_spawn(l, &t, noop, NULL, size), AQ_ENOMEM);
    ASSERT(t == NULL);
    ASSERT_EQ(live_maps, before);

    fail_mprotect = 1;
    ASSERT_RC(aq_loop_spawn(l, &t, noop, NULL, size), AQ_ENOMEM);
    ASSERT(t == NULL);
    ASSERT_EQ(live_maps, before); /* the half-made stack was unmapped */

    ASSERT_OK(aq_loop_spawn(l, &t, noop, (void *)7, size));
    ASSERT_EQ(live_maps, before + 1);
    void *res = NULL;
    ASSERT_OK(aq_task_wait(t, &res));
    ASSERT(res == (void *)7);
    ASSERT_OK(aq_task_release(t));
    return NULL;
}

TEST(test_stack_mmap_failure_spawns_nothing)
{
    live_maps = 0;
    t_main(spawn_under_faults, NULL);
    ASSERT_EQ(live_maps, 0); /* every stack unmapped when the loop went */
}

/* aq_run's own first spawn failing: AQ_ENOMEM and nothing left over. */
TEST(test_stack_mmap_failure_in_run)
{
    live_maps = 0;
    fail_mmap = 1;
    ASSERT_RC(aq_run(noop, NULL, NULL), AQ_ENOMEM);
    ASSERT_EQ(live_maps, 0);
}

int main(int argc, char **argv)
{
    /* The first run on a thread maps its alternate signal stack for good
     * (overflow.c); get that done before counting. */
    ASSERT_OK(aq_run(noop, NULL, NULL));
    RUN(test_stack_mmap_failure_spawns_nothing);
    RUN(test_stack_mmap_failure_in_run);
    return t_done();
}
