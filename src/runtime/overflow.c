/* libaq - loud stack overflows. MIT licensed.
 *
 * A task stack has a guard page below it (stack.c: a guard region or a
 * PROT_NONE page, both fault with si_addr in the page), so a task that
 * runs off its stack faults at once instead of corrupting a neighbour. A
 * bare SIGSEGV says nothing useful, though, and the kernel cannot even
 * deliver it on the overflowed stack. So the first aq_loop_run on a
 * thread gives that thread an alternate signal stack (unless it has one),
 * and the first in the process installs a SIGSEGV handler, but only if
 * the program has none of its own (nor a sanitizer). The handler names
 * the task and its stack size on stderr, then restores the default action
 * and returns: the faulting instruction runs again and the process dies of
 * SIGSEGV as it would have, core dump included.
 *
 * Neither outlives what it serves: the alternate stack is taken down and
 * unmapped when its thread exits (a thread-specific key's destructor: a
 * program that starts and joins loop threads, aq_cores among them, would
 * otherwise keep 64 KiB of address space per thread), and the handler is
 * put back to the default when libaq is unloaded (dlclose), so that no
 * later fault jumps into unmapped code.
 *
 * A fault anywhere else is not ours: the handler restores the default
 * action and lets it happen. Stacks without a guard page (stack.c) are
 * checked at each switch instead, and aq__overflow_abort reports those.
 */
#include "runtime/runtime.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

#define ALT_STACK_SIZE ((size_t)64 * 1024)

static _Thread_local int alt_ready;
static atomic_flag handler_set = ATOMIC_FLAG_INIT;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t alt_key; /* the thread's alternate stack, if ours */
static int key_made;

/* Formats n in hex (base 16) or decimal into the end of buf; returns the
 * start. Signal handlers may not call printf. */
static char *fmt_num(char *end, uintptr_t n, unsigned base)
{
    *--end = '\0';
    do {
        *--end = "0123456789abcdef"[n % base];
        n /= base;
    } while (n);
    return end;
}

static void say(const char *s)
{
    ssize_t r = write(STDERR_FILENO, s, strlen(s));
    (void)r; /* nothing better to do on a failed write while dying */
}

static void report(const aq_task *t, const char *how)
{
    char a[32], b[32];
    say("libaq: stack overflow in task 0x");
    say(fmt_num(a + sizeof a, (uintptr_t)t, 16));
    say(" (stack size ");
    say(fmt_num(b + sizeof b, t->stack->size, 10));
    say(" bytes, ");
    say(how);
    say(t->compact ? "; a compact task's: raise the shared stack with "
                     "aq_loop_set_compact)\n"
                   : "; raise it with aq_loop_spawn or "
                     "aq_loop_set_stack_size)\n");
}

static void on_segv(int sig, siginfo_t *info, void *uctx)
{
    aq_task *t = aq__cur;
    (void)uctx;
    if (t && t->stack && !t->stack->limit) {
        char *lo = t->stack->lo, *addr = info->si_addr;
        if (addr >= lo - aq__page_round(1) && addr < lo)
            report(t, "hit its guard page");
    }
    signal(sig, SIG_DFL);
}

void aq__overflow_abort(aq_task *t)
{
    report(t, "found at a switch");
    abort();
}

/* At the exit of a thread that got an alternate stack from us: it is
 * still the thread's (a program may have replaced it since: then it is
 * left alone), so it is disabled, then unmapped. */
static void alt_release(void *p)
{
    stack_t cur, off = {.ss_flags = SS_DISABLE};
    if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == p &&
        !(cur.ss_flags & SS_ONSTACK) && sigaltstack(&off, NULL) == 0)
        munmap(p, ALT_STACK_SIZE);
}

static void key_make(void)
{
    key_made = pthread_key_create(&alt_key, alt_release) == 0;
}

/* Unloading libaq (dlclose) takes its handler away with its code: put
 * the default back, as it was before (arm installs over SIG_DFL only).
 * The key goes too, or a thread exiting later would call into unmapped
 * code; the stacks of threads still alive then stay theirs. */
__attribute__((destructor)) static void overflow_unload(void)
{
    struct sigaction cur;
    if (sigaction(SIGSEGV, NULL, &cur) == 0 &&
        (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_segv)
        signal(SIGSEGV, SIG_DFL);
    if (key_made)
        pthread_key_delete(alt_key);
}

void aq__overflow_arm(void)
{
    if (!alt_ready) {
        stack_t cur;
        alt_ready = 1;
        pthread_once(&key_once, key_make);
        if (sigaltstack(NULL, &cur) == 0 && (cur.ss_flags & SS_DISABLE)) {
            /* Kept for the thread's lifetime: it may fault at any time. */
            void *p = mmap(NULL, ALT_STACK_SIZE, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p != MAP_FAILED) {
                stack_t ss = {.ss_sp = p, .ss_size = ALT_STACK_SIZE};
                if (sigaltstack(&ss, NULL) != 0)
                    munmap(p, ALT_STACK_SIZE);
                else if (key_made)
                    pthread_setspecific(alt_key, p);
            }
        }
    }
    if (!atomic_flag_test_and_set(&handler_set)) {
        struct sigaction old, sa;
        if (sigaction(SIGSEGV, NULL, &old) == 0 &&
            !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL) {
            memset(&sa, 0, sizeof sa);
            sa.sa_sigaction = on_segv;
            sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
            sigemptyset(&sa.sa_mask);
            sigaction(SIGSEGV, &sa, NULL);
        }
    }
}
