/* libaq - signals waited for by tasks, through a signalfd. MIT licensed.
 *
 * Invariants:
 * - A signal is in at most one open set in the process (`claimed`, under
 *   claim_mu): two signalfds for one signal would race for each arrival,
 *   and closing one set would unblock a signal the other still needs.
 * - Opening blocks the set in the calling thread before the signalfd
 *   exists, so a signal sent meanwhile stays pending and the first wait
 *   reads it; closing puts each signal of the set back as it found it
 *   (blocked or not), after the fd is gone: nothing is read twice.
 * - A failed open leaves the mask, the claims and the fds as they were.
 * Waiting is aq_read_until on the registered signalfd, one
 * signalfd_siginfo at a time: the read comes first, so signals already
 * pending are taken without waiting for an edge (the fd is watched
 * edge-triggered, and a second pending signal brings no new edge).
 */
#define _GNU_SOURCE /* sigandset, sigorset, sigisemptyset */
#include "io/io.h"

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

struct aq_signals {
    aq_fd *f;         /* the signalfd, registered with the loop */
    sigset_t set;     /* its signals */
    sigset_t was;     /* those of them the thread blocked before */
    pthread_t thread; /* whose mask it changed: the loop's */
};

static pthread_mutex_t claim_mu = PTHREAD_MUTEX_INITIALIZER;
static sigset_t claimed; /* signals of open sets; guarded by claim_mu.
                            All zero bits: the empty set, on glibc */

/* Can a task wait for signal n? Not if blocking it is impossible
 * (SIGKILL, SIGSTOP), useless (a fault raises the synchronous ones even
 * when blocked) or glibc's (32 and 33, below SIGRTMIN, for its threads). */
static int waitable(int n)
{
    if (n >= SIGRTMIN && n <= SIGRTMAX)
        return 1;
    return n > 0 && n < 32 && n != SIGKILL && n != SIGSTOP &&
           n != SIGSEGV && n != SIGBUS && n != SIGFPE && n != SIGILL &&
           n != SIGTRAP && n != SIGSYS;
}

/* *out = the signals of a that are not in b (glibc has no sigdiffset). */
static void minus(sigset_t *out, const sigset_t *a, const sigset_t *b)
{
    *out = *a;
    for (int n = 1; n <= SIGRTMAX; n++)
        if (sigismember(b, n))
            sigdelset(out, n);
}

/* Unblocks the signals of s->set that were not blocked before. */
static void restore(const aq_signals *s)
{
    sigset_t unblock;
    minus(&unblock, &s->set, &s->was);
    pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
}

/* Under claim_mu: blocks s->set, opens and registers its signalfd. */
static int open_locked(aq_loop *loop, aq_signals *s)
{
    sigset_t both;
    sigandset(&both, &s->set, &claimed);
    if (!sigisemptyset(&both))
        return AQ_EBUSY;
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, &s->set, &old);
    sigandset(&s->was, &s->set, &old);
    int fd = signalfd(-1, &s->set, SFD_NONBLOCK | SFD_CLOEXEC);
    int rc = fd < 0 ? -errno : aq_fd_open(loop, &s->f, fd);
    if (rc) {
        if (fd >= 0)
            close(fd);
        restore(s);
        return rc;
    }
    sigorset(&claimed, &claimed, &s->set);
    return AQ_OK;
}

int aq_signals_open(aq_loop *loop, aq_signals **out, const int *signos,
                    size_t n)
{
    if (!loop)
        loop = aq_loop_current();
    if (!loop)
        return AQ_EPERM;
    if (!out || !signos)
        return aq_einval("out or signos is NULL");
    if (n == 0)
        return aq_einval("n is 0");
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < n; i++) {
        if (!waitable(signos[i]))
            return aq_einval(
                "a signal number is not one a task may wait for");
        sigaddset(&set, signos[i]);
    }
    aq_signals *s = aq__malloc(sizeof *s);
    if (!s)
        return AQ_ENOMEM;
    s->set = set;
    s->thread = pthread_self();
    pthread_mutex_lock(&claim_mu);
    int rc = open_locked(loop, s);
    pthread_mutex_unlock(&claim_mu);
    if (rc) {
        aq__free(s);
        return rc;
    }
    *out = s;
    return AQ_OK;
}

int aq_signals_wait_until(aq_signals *s, int *signo, int64_t deadline)
{
    aq_task *self;
    AQ__SUSPEND_BEGIN(
        self, s != NULL && signo != NULL && s->f->w.loop == self->loop,
        !s || !signo ? "signals or signo is NULL"
                     : "signals belongs to another loop");
    struct signalfd_siginfo si;
    /* A signalfd reads whole records: sizeof si bytes, never 0. */
    long r = aq_read_until(s->f, &si, sizeof si, deadline);
    if (r < 0)
        return (int)r; /* s may be closed (AQ_EBADF): do not touch it */
    *signo = (int)si.ssi_signo;
    return AQ_OK;
}

int aq_signals_wait(aq_signals *s, int *signo)
{
    return aq_signals_wait_until(s, signo, AQ_NEVER);
}

int aq_signals_close(aq_signals *s)
{
    if (!s)
        return aq_einval("signals is NULL");
    if (!pthread_equal(s->thread, pthread_self()))
        return AQ_EPERM; /* its mask is another thread's to restore */
    int rc = aq_fd_close(s->f);
    pthread_mutex_lock(&claim_mu);
    restore(s);
    minus(&claimed, &claimed, &s->set);
    pthread_mutex_unlock(&claim_mu);
    aq__free(s);
    return rc;
}
