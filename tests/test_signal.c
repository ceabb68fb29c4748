/* Signals waited for by tasks (aq_signals_*): raise and kill while a task
 * waits, several pending ones taken one per call, deadlines, cancels,
 * closing under a waiter, the mask put back as it was, a loop waiting
 * for a signal not taken for a deadlock, aq_loop_stop from a signal
 * handler, bad input and allocation failures. */
#include "rt_helpers.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

/* Is n blocked in this thread? */
static int blocked(int n)
{
    sigset_t cur;
    ASSERT(pthread_sigmask(SIG_BLOCK, NULL, &cur) == 0);
    return sigismember(&cur, n);
}

static void set_blocked(int n, int on)
{
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, n);
    ASSERT(pthread_sigmask(on ? SIG_BLOCK : SIG_UNBLOCK, &one, NULL) == 0);
}

struct waiter {
    aq_signals *s;
    int signo;
    int rc;
    int64_t deadline;
};

static void *wait_task(void *arg)
{
    struct waiter *w = arg;
    w->rc = aq_signals_wait_until(w->s, &w->signo, w->deadline);
    return NULL;
}

static const int g_term[] = {SIGUSR1, SIGTERM};

static void *raise_main(void *arg)
{
    (void)arg;
    struct waiter w = {.signo = 0, .rc = PENDING, .deadline = AQ_NEVER};
    ASSERT_OK(aq_signals_open(NULL, &w.s, g_term, 2));
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, wait_task, &w));
    ASSERT_OK(aq_sleep(2 * AQ_MSEC)); /* the waiter parks */
    ASSERT_EQ(w.rc, PENDING);
    ASSERT(raise(SIGUSR1) == 0); /* pending: blocked, not delivered */
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_OK(w.rc);
    ASSERT_EQ(w.signo, SIGUSR1);
    ASSERT_OK(aq_task_release(t));
    /* A signal to the process rather than the thread. */
    w.rc = PENDING;
    ASSERT_OK(aq_spawn(&t, wait_task, &w));
    ASSERT_OK(aq_sleep(2 * AQ_MSEC));
    ASSERT(kill(getpid(), SIGTERM) == 0);
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_OK(w.rc);
    ASSERT_EQ(w.signo, SIGTERM);
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_signals_close(w.s));
    return NULL;
}

TEST(test_signal_raise_and_kill_wake_the_waiter) { t_main(raise_main, NULL); }

/* Two signals sent before any wait: one per call, the lower first; the
 * third call finds nothing (a past deadline is a poll). */
static const int g_two[] = {SIGUSR2, SIGUSR1};

static void *two_main(void *arg)
{
    (void)arg;
    aq_signals *s;
    int n = 0;
    ASSERT_OK(aq_signals_open(NULL, &s, g_two, 2));
    ASSERT(raise(SIGUSR2) == 0);
    ASSERT(raise(SIGUSR1) == 0);
    ASSERT_OK(aq_signals_wait(s, &n));
    ASSERT_EQ(n, SIGUSR1);
    ASSERT_OK(aq_signals_wait(s, &n));
    ASSERT_EQ(n, SIGUSR2);
    n = 0;
    ASSERT_RC(aq_signals_wait_until(s, &n, 0), AQ_ETIMEDOUT);
    ASSERT_EQ(n, 0);
    /* A pending signal is taken even with the deadline passed. */
    ASSERT(raise(SIGUSR2) == 0);
    ASSERT_OK(aq_signals_wait_until(s, &n, 0));
    ASSERT_EQ(n, SIGUSR2);
    ASSERT_OK(aq_signals_close(s));
    return NULL;
}

TEST(test_signal_two_pending_one_per_call) { t_main(two_main, NULL); }

static void *deadline_main(void *arg)
{
    (void)arg;
    aq_signals *s;
    int n = 0;
    ASSERT_OK(aq_signals_open(NULL, &s, g_term, 2));
    int64_t t0 = aq_now();
    ASSERT_RC(aq_signals_wait_until(s, &n, t0 + 5 * AQ_MSEC),
              AQ_ETIMEDOUT);
    ASSERT(aq_now() - t0 >= 5 * AQ_MSEC);
    ASSERT_EQ(n, 0);
    ASSERT_OK(aq_signals_close(s));
    return NULL;
}

TEST(test_signal_deadline) { t_main(deadline_main, NULL); }

/* A cancelled waiter returns AQ_ECANCELED; a signal sent afterwards stays
 * pending for the next wait: nothing is lost. Closing under a waiter
 * wakes it with AQ_EBADF. */
static void *cancel_main(void *arg)
{
    (void)arg;
    struct waiter w = {.rc = PENDING, .deadline = AQ_NEVER};
    ASSERT_OK(aq_signals_open(NULL, &w.s, g_term, 2));
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, wait_task, &w));
    ASSERT_OK(aq_sleep(AQ_MSEC));
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_RC(w.rc, AQ_ECANCELED);
    ASSERT_EQ(w.signo, 0);
    ASSERT_OK(aq_task_release(t));
    ASSERT(raise(SIGUSR1) == 0);
    int n = 0;
    ASSERT_OK(aq_signals_wait(w.s, &n));
    ASSERT_EQ(n, SIGUSR1);
    w.rc = PENDING;
    ASSERT_OK(aq_spawn(&t, wait_task, &w));
    ASSERT_OK(aq_sleep(AQ_MSEC));
    ASSERT_OK(aq_signals_close(w.s));
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_RC(w.rc, AQ_EBADF);
    ASSERT_OK(aq_task_release(t));
    return NULL;
}

TEST(test_signal_cancel_and_close_under_a_waiter)
{
    t_main(cancel_main, NULL);
}

/* Close unblocks what open blocked, and only that: SIGHUP, blocked by
 * the program before, stays blocked. */
static void *mask_main(void *arg)
{
    (void)arg;
    static const int sigs[] = {SIGUSR1, SIGHUP, SIGUSR1};
    set_blocked(SIGHUP, 1);
    ASSERT(!blocked(SIGUSR1));
    aq_signals *s;
    ASSERT_OK(aq_signals_open(NULL, &s, sigs, 3)); /* SIGUSR1 twice */
    ASSERT(blocked(SIGUSR1));
    ASSERT(blocked(SIGHUP));
    ASSERT(!blocked(SIGTERM));
    ASSERT_OK(aq_signals_close(s));
    ASSERT(!blocked(SIGUSR1));
    ASSERT(blocked(SIGHUP));
    set_blocked(SIGHUP, 0);
    return NULL;
}

TEST(test_signal_close_restores_the_mask) { t_main(mask_main, NULL); }

/* aq_run's only task waits for a signal that another thread sends later:
 * the loop sleeps in epoll instead of reporting AQ_EDEADLK. The thread is
 * created after the open, so it inherits the blocked mask and cannot take
 * the process-wide SIGTERM itself (the caveat in io.h). */
static void *late_kill(void *arg)
{
    (void)arg;
    usleep(10000);
    ASSERT(kill(getpid(), SIGTERM) == 0);
    return NULL;
}

static void *alone_main(void *arg)
{
    (void)arg;
    aq_signals *s;
    int n = 0;
    ASSERT_OK(aq_signals_open(NULL, &s, g_term, 2));
    pthread_t th;
    ASSERT(pthread_create(&th, NULL, late_kill, NULL) == 0);
    ASSERT_OK(aq_signals_wait(s, &n));
    ASSERT_EQ(n, SIGTERM);
    pthread_join(th, NULL);
    ASSERT_OK(aq_signals_close(s));
    return NULL;
}

TEST(test_signal_from_another_thread_no_deadlock)
{
    t_main(alone_main, NULL);
}

/* aq_loop_stop from a sigaction handler: another thread signals the loop's
 * thread while it sleeps in epoll; the loop stops at once. */
static aq_loop *g_loop;
static pthread_t g_loop_thread;

static void on_usr2(int n)
{
    (void)n;
    aq_loop_stop(g_loop);
}

static void *late_usr2(void *arg)
{
    (void)arg;
    usleep(10000);
    ASSERT(pthread_kill(g_loop_thread, SIGUSR2) == 0);
    return NULL;
}

static void *sleep_forever(void *arg)
{
    (void)arg;
    ASSERT_RC(aq_sleep(AQ_SEC * 3600), AQ_ECANCELED);
    return NULL;
}

TEST(test_signal_loop_stop_from_a_handler)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr2;
    sigemptyset(&sa.sa_mask);
    ASSERT(sigaction(SIGUSR2, &sa, &old) == 0);
    ASSERT_OK(aq_loop_new(&g_loop));
    ASSERT_OK(aq_loop_keep_alive(g_loop, 1));
    ASSERT_OK(aq_loop_spawn(g_loop, NULL, sleep_forever, NULL, 0));
    g_loop_thread = pthread_self();
    pthread_t th;
    int64_t t0 = aq_now();
    ASSERT(pthread_create(&th, NULL, late_usr2, NULL) == 0);
    ASSERT_OK(aq_loop_run(g_loop));
    ASSERT(aq_now() - t0 < AQ_SEC);
    pthread_join(th, NULL);
    ASSERT(sigaction(SIGUSR2, &old, NULL) == 0);
    ASSERT_OK(aq_loop_keep_alive(g_loop, 0));
    ASSERT_OK(aq_loop_free(g_loop));
}

/* ---- bad input ----------------------------------------------------------- */

static void *other_loop_waiter(void *arg)
{
    int n;
    ASSERT_RC(aq_signals_wait(arg, &n), AQ_EINVAL);
    return NULL;
}

static void *close_elsewhere(void *arg)
{
    ASSERT_RC(aq_signals_close(arg), AQ_EPERM);
    return NULL;
}

static void *bad_main(void *arg)
{
    (void)arg;
    aq_signals *s = NULL, *s2 = NULL;
    int n = 0;
    static const int bad[] = {0, -1, 32, 33, SIGKILL, SIGSTOP, SIGSEGV,
                              SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS};
    ASSERT_RC(aq_signals_open(NULL, NULL, g_term, 2), AQ_EINVAL);
    ASSERT_RC(aq_signals_open(NULL, &s, NULL, 2), AQ_EINVAL);
    ASSERT_RC(aq_signals_open(NULL, &s, g_term, 0), AQ_EINVAL);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int two[] = {SIGUSR1, bad[i]};
        ASSERT_RC(aq_signals_open(NULL, &s, two, 2), AQ_EINVAL);
    }
    int past = SIGRTMAX + 1;
    ASSERT_RC(aq_signals_open(NULL, &s, &past, 1), AQ_EINVAL);
    ASSERT(s == NULL);
    ASSERT(!blocked(SIGUSR1)); /* nothing blocked by a refused open */
    int rt = SIGRTMIN;
    ASSERT_OK(aq_signals_open(NULL, &s, g_term, 2));
    ASSERT_OK(aq_signals_open(NULL, &s2, &rt, 1)); /* disjoint: fine */
    /* SIGTERM is taken: the second set is refused, the mask unchanged. */
    static const int overlap[] = {SIGHUP, SIGTERM};
    aq_signals *s3 = NULL;
    ASSERT_RC(aq_signals_open(NULL, &s3, overlap, 2), AQ_EBUSY);
    ASSERT(s3 == NULL);
    ASSERT(!blocked(SIGHUP));
    /* Waits: NULLs, a second waiter, a cancelled caller. */
    ASSERT_RC(aq_signals_wait(NULL, &n), AQ_EINVAL);
    ASSERT_RC(aq_signals_wait(s, NULL), AQ_EINVAL);
    ASSERT_RC(aq_signals_wait_until(NULL, &n, 0), AQ_EINVAL);
    struct waiter w = {.s = s, .rc = PENDING, .deadline = AQ_NEVER};
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, wait_task, &w));
    ASSERT_OK(aq_sleep(AQ_MSEC));
    ASSERT_RC(aq_signals_wait_until(s, &n, aq_now() + AQ_SEC), AQ_EBUSY);
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_task_cancel(aq_task_self()));
    ASSERT(raise(SIGUSR1) == 0);
    ASSERT_RC(aq_signals_wait(s, &n), AQ_ECANCELED); /* even if pending */
    ASSERT_RC(aq_signals_wait(NULL, &n), AQ_EINVAL); /* before cancel */
    ASSERT_EQ(n, 0);
    ASSERT_OK(aq_task_shield(1));
    ASSERT_OK(aq_signals_wait(s, &n)); /* still pending: not taken */
    ASSERT_EQ(n, SIGUSR1);
    pthread_t th;
    ASSERT(pthread_create(&th, NULL, close_elsewhere, s) == 0);
    pthread_join(th, NULL);
    ASSERT_OK(aq_signals_close(s2));
    ASSERT_OK(aq_signals_close(s));
    ASSERT_RC(aq_signals_close(NULL), AQ_EINVAL);
    ASSERT(!blocked(SIGTERM));
    ASSERT(!blocked(SIGRTMIN));
    ASSERT_EQ(aq_task_shield(0), 1);
    return NULL;
}

TEST(test_signal_bad_input)
{
    int n = 0;
    aq_signals *s = NULL;
    ASSERT_RC(aq_signals_open(NULL, &s, g_term, 2), AQ_EPERM);
    ASSERT_RC(aq_signals_open(NULL, NULL, NULL, 0), AQ_EPERM); /* first */
    ASSERT_RC(aq_signals_wait(NULL, &n), AQ_EPERM);
    ASSERT_RC(aq_signals_wait_until(NULL, NULL, 0), AQ_EPERM);
    t_main(bad_main, NULL);
    /* A set of one loop (opened outside any task), waited on from a task
     * of another. */
    aq_loop *l;
    ASSERT_OK(aq_loop_new(&l));
    ASSERT_OK(aq_signals_open(l, &s, g_term, 2));
    t_main(other_loop_waiter, s);
    ASSERT_OK(aq_signals_close(s));
    ASSERT_OK(aq_loop_free(l));
}

/* Every allocation of an open fails in turn: AQ_ENOMEM, the mask and
 * the claims as they were, nothing leaked; then the open succeeds. */
TEST(test_signal_out_of_memory)
{
    aq_loop *l;
    ASSERT_OK(aq_loop_new(&l));
    for (long k = 1;; k++) {
        aq_signals *s = NULL;
        t_fail_alloc_at(k);
        int rc = aq_signals_open(l, &s, g_term, 2);
        t_fail_alloc_at(0);
        if (rc == AQ_OK) {
            ASSERT(k > 3); /* the set, the I/O state, its poller... */
            ASSERT(blocked(SIGTERM));
            ASSERT_OK(aq_signals_close(s));
            break;
        }
        ASSERT_RC(rc, AQ_ENOMEM);
        ASSERT(s == NULL);
        ASSERT(!blocked(SIGTERM));
    }
    ASSERT(!blocked(SIGTERM));
    ASSERT_OK(aq_loop_free(l));
}

int main(int argc, char **argv)
{
    RUN(test_signal_raise_and_kill_wake_the_waiter);
    RUN(test_signal_two_pending_one_per_call);
    RUN(test_signal_deadline);
    RUN(test_signal_cancel_and_close_under_a_waiter);
    RUN(test_signal_close_restores_the_mask);
    RUN(test_signal_from_another_thread_no_deadlock);
    RUN(test_signal_loop_stop_from_a_handler);
    RUN(test_signal_bad_input);
    RUN(test_signal_out_of_memory);
    return t_done();
}
