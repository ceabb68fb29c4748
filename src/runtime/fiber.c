/* libaq - telling the sanitizers about stack switches, when a program
 * runs under one: AddressSanitizer (with LeakSanitizer) and
 * ThreadSanitizer. MIT licensed.
 *
 * The sanitizers' fiber interfaces are reached through weak references:
 * a program built with -fsanitize=address or =thread brings their
 * runtime, the references resolve, and an ordinary build of libaq
 * reports its switches; any other program leaves them NULL and pays one
 * test of a flag per switch (aq__fibers, read by aq__switch_to).
 *
 * Invariants:
 * - aq__fibers is decided once per process, when libaq is loaded (a
 *   constructor: no thread can race it), from which references resolved;
 *   it never changes after.
 * - AddressSanitizer learns of every switch on both sides: the stack
 *   about to run (start) and, once there, the switch completed (finish),
 *   with the leaving side's fake-frame handle, NULL when that side dies.
 *   A stack handed to a new task, or frames copied as bytes (compact
 *   tasks), are unpoisoned first: their old redzones mean nothing now.
 * - ThreadSanitizer (in a program that uses an ordinary libaq; a libaq
 *   built with it sees its own switches as one thread's code, as before)
 *   sees a task as a fiber of its own, made when it is
 *   spawned, and each loop's own context as the fiber the thread had when
 *   the loop began to run. Switches synchronise: the tasks of a loop take
 *   turns. A fiber stays with the task's record when the loop keeps the
 *   record for reuse, and goes when the record does (never while it
 *   runs): ThreadSanitizer takes milliseconds to make one (4.2-6.4 ms,
 *   0.1 ms to destroy: bench/tsan_fiber.c, bench/RESULTS.md), so a spawn
 *   must not pay that each time.
 * - At most tsan_fiber_max fibers live at once (TSAN_FIBERS, or the
 *   environment's AQ_TSAN_FIBERS up to TSAN_FIBERS_MAX): ThreadSanitizer
 *   counts each as a thread and dies past 8,128 of them, and each costs
 *   its milliseconds. Tasks spawned past that run on their loop's fiber,
 *   as all tasks would without fibers: still correct for races between
 *   threads (a loop's tasks never run at once), only their reports'
 *   stacks may mix frames, and that fiber's shadow stack holds the
 *   frames of all of them that are parked: past 65,536 in all,
 *   ThreadSanitizer aborts (a fresh user's trial: 250 tasks parked 600
 *   calls deep), hence the variable.
 *   A reused fiber starts balanced: the task's function returned into
 *   aq__task_entry, which, with aq__loop_exit and the switch, is never
 *   instrumented (AQ__UNTRACED), so no frame of the ended task is left on
 *   the fiber's shadow stack.
 * - Happens-before that travels through libaq's own atomics (posts,
 *   shared queues' locks) is stated to ThreadSanitizer with release and
 *   acquire on the object (aq__fiber_release/acquire), because a
 *   sanitized program does not see inside an uninstrumented libaq.
 */
#include "runtime/runtime.h"

#include <stdatomic.h>
#include <stdlib.h>

/* The sanitizers' interfaces (sanitizer/common_interface_defs.h,
 * sanitizer/tsan_interface.h), declared weak. */
#define AQ__WEAK __attribute__((weak))
AQ__WEAK void __sanitizer_start_switch_fiber(void **fake, const void *bottom,
                                             size_t size);
AQ__WEAK void __sanitizer_finish_switch_fiber(void *fake,
                                              const void **bottom_old,
                                              size_t *size_old);
AQ__WEAK void __asan_unpoison_memory_region(void const volatile *p,
                                            size_t size);
AQ__WEAK void *__tsan_get_current_fiber(void);
AQ__WEAK void *__tsan_create_fiber(unsigned flags);
AQ__WEAK void __tsan_destroy_fiber(void *fiber);
AQ__WEAK void __tsan_switch_to_fiber(void *fiber, unsigned flags);
AQ__WEAK void __tsan_acquire(void *addr);
AQ__WEAK void __tsan_release(void *addr);

int aq__fibers;

#define TSAN_FIBERS 128
#define TSAN_FIBERS_MAX 8000
static int tsan_fiber_max = TSAN_FIBERS;
static _Atomic int tsan_fibers; /* live fibers made by fiber_new */

/* Fibers for ThreadSanitizer, decided with aq__fibers. Not in a libaq
 * built with ThreadSanitizer itself (-DAQ_TSAN=ON, AQ_TSAN_BUILD): its
 * own accesses and atomics are then seen anyway, and the milliseconds a
 * fiber costs at each first spawn would upset the suite's timing tests. */
static int tsan_on;

__attribute__((constructor)) static void detect(void)
{
#ifndef AQ_TSAN_BUILD
    tsan_on = __tsan_switch_to_fiber && __tsan_create_fiber &&
              __tsan_destroy_fiber && __tsan_get_current_fiber;
    const char *v = tsan_on ? getenv("AQ_TSAN_FIBERS") : NULL;
    char *end;
    long n = v ? strtol(v, &end, 10) : -1;
    if (v && *v && !*end && n >= 0 && n <= TSAN_FIBERS_MAX)
        tsan_fiber_max = (int)n; /* anything else: the default */
#endif
    aq__fibers = (__sanitizer_start_switch_fiber &&
                  __sanitizer_finish_switch_fiber) ||
                 tsan_on;
}

void aq__fiber_resumed(aq_loop *l, void *fake)
{
    if (!__sanitizer_finish_switch_fiber)
        return;
    const void *lo;
    size_t size;
    __sanitizer_finish_switch_fiber(fake, &lo, &size);
    if (l->fiber_from_loop) { /* learn the loop's own stack */
        l->fiber_stack_lo = lo;
        l->fiber_stack_size = size;
        l->fiber_from_loop = 0;
    }
}

AQ__UNTRACED void aq__fiber_switch(aq_loop *l, aq__ctx *from, aq_task *to,
                                   int from_dies)
{
    void *fake = NULL;
    if (tsan_on) {
        void *fiber = to && to->fiber ? to->fiber : l->tsan_fiber;
        if (fiber != __tsan_get_current_fiber())
            __tsan_switch_to_fiber(fiber, 0);
    }
    if (__sanitizer_start_switch_fiber) {
        l->fiber_from_loop = from == &l->ctx;
        __sanitizer_start_switch_fiber(
            from_dies ? NULL : &fake, to ? to->stack->lo : l->fiber_stack_lo,
            to ? to->stack->size : l->fiber_stack_size);
    }
    aq__ctx_switch(from, to ? &to->ctx : &l->ctx);
    aq__fiber_resumed(l, fake);
}

void aq__fiber_loop_begins(aq_loop *l)
{
    if (tsan_on)
        l->tsan_fiber = __tsan_get_current_fiber();
}

void aq__fiber_new(aq_task *t)
{
    if (!tsan_on || t->fiber)
        return;
    if (atomic_fetch_add(&tsan_fibers, 1) >= tsan_fiber_max) {
        atomic_fetch_sub(&tsan_fibers, 1);
        return;
    }
    t->fiber = __tsan_create_fiber(0);
}

void aq__fiber_free(aq_task *t)
{
    if (tsan_on) {
        __tsan_destroy_fiber(t->fiber);
        atomic_fetch_sub(&tsan_fibers, 1);
    }
    t->fiber = NULL;
}

void aq__fiber_unpoison(const void *p, size_t len)
{
    if (__asan_unpoison_memory_region)
        __asan_unpoison_memory_region(p, len);
}

int aq__fiber_tsan_runtime(void) { return __tsan_acquire != NULL; }

void aq__fiber_release(void *obj)
{
    if (__tsan_release)
        __tsan_release(obj);
}

void aq__fiber_acquire(void *obj)
{
    if (__tsan_acquire)
        __tsan_acquire(obj);
}
