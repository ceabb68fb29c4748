/* libaq - shared queues: one queue for plain threads and for the tasks
 * of any loop (aq_queue_share). MIT licensed.
 *
 * A shared queue is a header (what the user holds; queue.h says how its
 * fields send every call here) over `struct shared`: a lock (a spinlock,
 * thread.h: it is held for a few dozen instructions), the queue core's
 * own state in an inner queue, three wait lists of this file's waiter
 * records, and the list of dozing threads (DOZE_NS). Invariants:
 * - The inner queue and the wait lists are touched only under mu. The
 *   core is called on the inner queue with no task (its try forms) only,
 *   so it never parks or wakes anyone and its own wait lists stay empty:
 *   waiting is done here, and every move of an item is the core's (its
 *   put and get, aq__queue_hand_over, aq__queue_refill).
 * - As in queue.c, getters wait only while the queue is empty and putters
 *   only while it is full (a rendezvous queue is always full): a put that
 *   finds a getter hands its item over, and a get that frees a slot
 *   refills it from the oldest putter, before mu is released. So no call
 *   overtakes a waiter (no barging), whichever thread it comes from.
 * - A waiter's outcome is decided once, under mu. A completer unlinks the
 *   record, moves the item and sets state DONE with rc; a waiter that
 *   stops waiting (its deadline, a cancel) takes mu and unlinks itself
 *   only if still PENDING (a task's timer or cancel does so at once, from
 *   aq__task_abort through its aq__foreign record, as queue.c's waiters
 *   are unlinked at once: state ABORTED). Whoever takes mu first wins, and
 *   an item moved is never taken back: completed beats cancelled, at this
 *   one place.
 * - Wake-ups. A thread sleeps on a futex word in its record: 0 waiting,
 *   1 done (release by the completer, acquire by the thread), 2 asleep
 *   (set by the thread with a CAS from 0, so that the completer makes the
 *   FUTEX_WAKE system call only for a thread that sleeps), 3 dozing (a
 *   putter's first sleep, bounded by DOZE_NS: a completer that moved its
 *   item in does not wake it but links it on `dozers`, which a get wakes
 *   once the queue is half empty; one that failed it wakes it at once;
 *   after the doze the thread turns 3 into 2 with a CAS, or finds 1). The
 *   completer does this under mu, and a thread that slept takes mu once
 *   before it returns (leaving `dozers` if still on it), so its record is
 *   never touched after it is gone.
 *   A task is woken through an owned post to its loop (post.c), sent
 *   under mu, or directly when the completer runs in a task of that same
 *   loop. If the task stops waiting first and finds itself DONE, its post
 *   has been sent: it stays ready until the post has run, so no post
 *   outlives the frame it lives in.
 * - `inside` (in the header's aq__shared, queue.h) counts the callers
 *   between linking a record and their last touch of the queue (wait()),
 *   completed or not, and the batch calls (batch.c) for their whole call:
 *   a completed waiter is on no list, yet a thread may still take mu on
 *   its way out and a task's timer may still reach task_abort before its
 *   wake-up runs. So aq_queue_free (vt_free) reports AQ_EBUSY while it is
 *   above 0, not only while a list is non-empty.
 * - A task that waits here keeps its loop alive (io->keep) meanwhile:
 *   another thread may complete the wait, so a loop with nothing else to
 *   do sleeps in its poller rather than report AQ_EDEADLK.
 * Nothing else is locked under mu (a wake-up post is a lock-free push;
 * a loop's first wait opens its inbox under mu, which takes no lock).
 * The drop callback (aq_queue_set_overflow) runs under mu: its calls on
 * the header are refused, or read under its hold (lock_to_change,
 * lock_to_read); it must not cancel a task that waits on the queue (the
 * abort takes mu).
 */
#include "queue/queue.h"
#include "thread/thread.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { PENDING, DONE, ABORTED };
enum { WORD_WAITING, WORD_DONE, WORD_ASLEEP, WORD_DOZING };

/* A thread whose put waits on a full queue dozes: once a get has moved
 * its item in, it is woken only when the queue is down to half its
 * maxsize (or after DOZE_NS at most, so that a consumer that stops taking
 * items never holds a finished put back for long). Waking it for every
 * item would cost the getter a FUTEX_WAKE (a system call) per item and
 * keep the thread cycling on the CPU the consumers need; dozing, it
 * refills half the queue in one go while the consumers drain the rest
 * (measured: bench/RESULTS.md, "Threads and tasks"). A put that returns
 * later than its item went in changes no order and loses nothing. */
#define DOZE_NS (50 * AQ_USEC)

typedef struct shared shared;

typedef struct xwaiter {
    aq__foreign fw; /* task: its t->waits (runtime.h), for aborts */
    shared *s;     /* the queue: a task's abort, a thread's doze */
    aq_list link;  /* on a wait list of the queue while PENDING (mu) */
    void *buf;     /* put: the item; get: the destination; join: NULL */
    int state;     /* PENDING, DONE or ABORTED (mu) */
    int rc;        /* the outcome, set with DONE (mu) */
    aq_task *task; /* the waiting task, or NULL for a thread */
    aq_loop *loop; /* task: its loop (the completer reads it here rather
                      than from the task, a line another core writes) */
    int delivered; /* task: its wake-up has run (its loop's thread only) */
    aq__post post; /* task: the wake-up, posted to task->loop */
    int dozing;    /* thread: DONE and on s->dozers, not yet woken (mu) */
    _Atomic unsigned word; /* thread: WORD_* */
} xwaiter;

struct shared {
    aq__shared base;
    aq__spinlock mu;
    aq_queue *q;                       /* the core's state */
    const aq_queue *head; /* the header users hold: what a dump names */
    aq_list getters, putters, joiners; /* xwaiters, oldest first */
    aq_list dozers; /* threads whose put is done, to wake (DOZE_NS) */
};

/* How a call that cannot complete at once goes on. */
enum { TRY, AS_TASK, AS_THREAD };

static shared *sh(const aq_queue *h) { return (shared *)h->shared; }

/* ---- completing ---------------------------------------------------------- */

static void deliver(void *arg)
{
    xwaiter *w = arg;
    w->delivered = 1;
    if (w->task->state == AQ__WAITING) /* else it stopped waiting first */
        aq__task_wake(w->task, w->rc);
}

static xwaiter *pop(aq_list *l)
{
    return aq__list_entry(aq__list_pop_front(l), xwaiter, link);
}

/* Completes w, already unlinked, with rc. Under mu. */
static void complete(xwaiter *w, int rc)
{
    w->state = DONE;
    w->rc = rc;
    if (w->task) {
        if (aq__cur && aq__cur->loop == w->loop)
            deliver(w); /* the same loop's thread: no post needed */
        else
            aq__post_send_owned(w->loop, &w->post);
        return;
    }
    /* release: the thread reads rc (and its item) after it sees WORD_DONE */
    aq__fiber_release(&w->word);
    unsigned was =
        atomic_exchange_explicit(&w->word, WORD_DONE, memory_order_release);
    if (was == WORD_DOZING && rc == AQ_OK) { /* woken with others, later */
        aq__list_push_back(&w->s->dozers, &w->link);
        w->dozing = 1;
    } else if (was == WORD_ASLEEP || was == WORD_DOZING) {
        syscall(SYS_futex, &w->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
}

/* Wakes the dozing threads whose put is done (complete). Under mu. */
static void wake_dozers(shared *s)
{
    while (!aq__list_empty(&s->dozers)) {
        xwaiter *w = pop(&s->dozers);
        w->dozing = 0;
        syscall(SYS_futex, &w->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
}

static void complete_all(aq_list *l, int rc)
{
    while (!aq__list_empty(l))
        complete(pop(l), rc);
}

/* ---- waiting ------------------------------------------------------------- */

/* What a task's stopped wait reports, by aq__park's rule: success
 * stands; another failure of a cancelled task reports the cancel. */
static int outcome(aq_task *t, int rc)
{
    return rc != AQ_OK && aq__cancel_due(t) ? AQ_ECANCELED : rc;
}

/* A task's timer or cancel (aq__task_abort), on its loop's thread: the
 * wait stops now, unless a completer came first. */
static void task_abort(aq__foreign *f)
{
    xwaiter *w = (xwaiter *)f; /* fw is its first member */
    aq__spin_lock(&w->s->mu);
    if (w->state == PENDING) {
        aq__list_remove(&w->link);
        w->state = ABORTED;
    }
    aq__spin_unlock(&w->s->mu);
}

static int task_wait(shared *s, xwaiter *w, aq_task *self, int kind,
                     int64_t d)
{
    aq__io *io = self->loop->io;
    w->s = s;
    w->task = self;
    w->loop = self->loop;
    w->delivered = 0;
    w->post.fn = deliver;
    w->post.arg = w;
    /* The task's record: on no list of the loop; only a delivery, a timer
     * or a cancel (through task_abort) wakes it. */
    aq__list_init(&w->fw.w.link);
    w->fw.w.task = self;
    w->fw.w.buf = NULL;
    w->fw.w.kind = (unsigned char)kind;
    w->fw.w.on = s->head;
    w->fw.abort = task_abort;
    self->foreign = 1;
    io->keep++;
    io->xwaits++;
    aq__spin_unlock(&s->mu);
    int rc = aq__park(self, &w->fw.w, d);
    self->foreign = 0;
    io->keep--;
    io->xwaits--;
    /* Delivered: completed, whatever woke the task (the wake-up, or a
     * timer or cancel that came first and left the task ready when the
     * wake-up ran): the completer's code stands, not the park's. */
    if (w->delivered)
        return outcome(self, w->rc);
    aq__spin_lock(&s->mu);
    int done = w->state == DONE; /* else ABORTED: unlinked, nothing moved */
    aq__spin_unlock(&s->mu);
    if (!done) {
        /* Cut short: by a scope, if its deadline came first. Noted only
         * now (aq__park leaves a foreign wait's to us): a wait completed
         * as its timer fired was not cut short. */
        if (rc == AQ_ETIMEDOUT && self->scope)
            aq__scope_note(self);
        return rc;
    }
    /* Completed as the wait stopped: the item moved, and the wake-up post
     * in this frame is on the inbox. The loop runs it at its next poll,
     * which comes within AQ__POLL_EVERY iterations while a task is ready
     * (closing or not): stay ready until then, cancel or no cancel. */
    while (!w->delivered) {
        aq__ready_push(self->loop, self);
        aq__loop_suspend(self);
    }
    return outcome(self, w->rc);
}

/* Sleeps while w->word is `val`, until the absolute CLOCK_MONOTONIC time
 * `until` (aq_now()'s clock; AQ_NEVER: none). Returns 0 or an errno. */
static int futex_wait(_Atomic unsigned *word, unsigned val, int64_t until)
{
    struct timespec ts = {(time_t)(until / AQ_SEC), (long)(until % AQ_SEC)};
    long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET_PRIVATE, val,
                     until == AQ_NEVER ? NULL : &ts, NULL,
                     FUTEX_BITSET_MATCH_ANY);
    return r < 0 ? errno : 0;
}

/* How long a waiting thread watches its word before it sleeps: a
 * hand-off often comes within a microsecond or two, and then costs no
 * system call on either side. A putter watches less: past that, the
 * consumers are slower than it is, and it had better doze (DOZE_NS). */
#define WATCH_NS (4 * AQ_USEC)
#define WATCH_PUT_NS (1 * AQ_USEC)

/* Watches w's word for up to ns: 1 if it turned WORD_DONE. */
static int watch(xwaiter *w, int64_t ns)
{
    int64_t end = aq_now() + ns;
    do {
        for (int i = 0; i < 8; i++) {
            if (atomic_load_explicit(&w->word, memory_order_acquire) ==
                WORD_DONE)
                return 1;
            aq__cpu_relax();
        }
    } while (aq_now() < end);
    return 0;
}

/* doze: a put on a full queue (see DOZE_NS). */
static int thread_wait(shared *s, xwaiter *w, int64_t d, int doze)
{
    w->task = NULL;
    w->s = s;
    w->dozing = 0;
    atomic_init(&w->word, WORD_WAITING);
    aq__spin_unlock(&s->mu);
    if (watch(w, doze ? WATCH_PUT_NS : WATCH_NS))
        return w->rc;
    unsigned sleep = doze ? WORD_DOZING : WORD_ASLEEP, waiting = WORD_WAITING;
    if (!atomic_compare_exchange_strong_explicit(
            &w->word, &waiting, sleep, memory_order_acquire,
            memory_order_acquire))
        return w->rc; /* WORD_DONE meanwhile */
    int64_t until = d;
    if (doze) {
        int64_t end = aq_now() + DOZE_NS;
        if (d == AQ_NEVER || end < d)
            until = end;
    }
    for (;;) {
        int err = futex_wait(&w->word, sleep, until);
        if (atomic_load_explicit(&w->word, memory_order_acquire) ==
            WORD_DONE) {
            aq__spin_lock(&s->mu); /* a completer waking us is done */
            if (w->dozing) /* the doze ran out first */
                aq__list_remove(&w->link);
            aq__spin_unlock(&s->mu);
            return w->rc;
        }
        if (err == ETIMEDOUT && until != d) { /* the doze is over */
            unsigned dozing = WORD_DOZING;
            if (!atomic_compare_exchange_strong_explicit(
                    &w->word, &dozing, WORD_ASLEEP, memory_order_acquire,
                    memory_order_acquire))
                continue; /* WORD_DONE meanwhile: taken above */
            sleep = WORD_ASLEEP;
            until = d;
        } else if (err == ETIMEDOUT) {
            int rc = AQ_ETIMEDOUT;
            aq__spin_lock(&s->mu);
            if (w->state == PENDING || w->dozing) /* off its list */
                aq__list_remove(&w->link);
            if (w->state != PENDING)
                rc = w->rc; /* completed as the deadline passed */
            aq__spin_unlock(&s->mu);
            return rc;
        }
    }
}

/* Waits with w linked on a list, mu held (released on return); doze: a
 * put's wait (thread_wait). The caller counts in `inside` from here to
 * its last touch of s: once completed it is on no list, yet a thread
 * still takes mu on its way out (a doze, a deadline), and a task's timer
 * or cancel may still call task_abort until its wake-up has run, so
 * vt_free must wait for that count, not only for the lists. */
static int wait(shared *s, xwaiter *w, aq_task *self, int how, int kind,
                int64_t d, int doze)
{
    w->state = PENDING;
    aq__shared_enter(&s->base);
    int rc;
    if (how == AS_TASK) {
        rc = task_wait(s, w, self, kind, d);
    } else {
        rc = thread_wait(s, w, d, doze);
        aq__fiber_acquire(&w->word); /* what its completer wrote, for TSan */
    }
    aq__shared_leave(&s->base);
    return rc; /* s may be freed from here on */
}

/* The checks before a call links a record: a deadline already passed
 * (for a task, also its timeout scopes, and d becomes the earliest); for
 * a task, its loop open to posts, its wake-up coming as one. Opening it
 * (an eventfd, a record: once per loop) is done here, under mu, so that
 * only a call about to wait can fail for it, and after every other check,
 * so that it changes nothing a failure would have to undo. */
static int may_wait(aq_task *self, int how, int64_t *d)
{
    if (how != AS_TASK)
        return *d != AQ_NEVER && *d <= aq_now() ? AQ_ETIMEDOUT : AQ_OK;
    int rc = aq__park_begin(self, d);
    if (rc)
        return rc; /* a deadline passed: as on any queue, compact or not */
    /* A compact task's frames move while it is parked, and other threads
     * write into its record: it may not wait here. Tested after the
     * deadline, which is what a call that cannot wait reports first
     * (the room aq__park_begin reserved for its frames is kept for its
     * next park, as after any wait). */
    if (self->compact)
        return aq_einval("a compact-mode task cannot wait on a shared queue");
    return aq__inbox_open(self->loop);
}

/* ---- the operations ------------------------------------------------------ */

/* Takes mu for a change, unless this thread runs s's drop callback (or
 * one nested in it), which holds mu already: taking it again would spin
 * for ever, so the change is refused, as callback.c refuses a plain
 * queue's. AQ_OK with mu held, or AQ_EBUSY. */
static int lock_to_change(shared *s)
{
    if (aq__queue_dropping(s->q))
        return AQ_EBUSY;
    aq__spin_lock(&s->mu);
    return AQ_OK;
}

/* Takes mu for a read, unless the callback holds it (the figures are then
 * read under the callback's hold). Returns whether it took mu. */
static int lock_to_read(shared *s)
{
    if (aq__queue_dropping(s->q))
        return 0;
    aq__spin_lock(&s->mu);
    return 1;
}

static int put_op(aq_queue *h, const void *item, aq_task *self, int how,
                  int64_t d)
{
    shared *s = sh(h);
    int rc;
    if (lock_to_change(s))
        return AQ_EBUSY;
    if (!aq__list_empty(&s->getters)) { /* so not shut down, and empty */
        xwaiter *g = pop(&s->getters);
        aq__queue_hand_over(s->q, g->buf, item);
        complete(g, AQ_OK);
        rc = AQ_OK;
    } else {
        rc = aq__queue_put_one(s->q, item, NULL, AQ_NEVER);
        if (rc == AQ_EFULL && how != TRY &&
            (rc = may_wait(self, how, &d)) == AQ_OK) {
            xwaiter w;
            w.buf = (void *)item;
            aq__list_push_back(&s->putters, &w.link);
            /* A rendezvous put is a hand-over to a getter who may wait
             * for an answer: it never dozes. */
            return wait(s, &w, self, how, AQ__W_PUT, d,
                        !(s->q->flags & AQ__Q_RENDEZVOUS));
        }
    }
    aq__spin_unlock(&s->mu);
    return rc;
}

static int get_op(aq_queue *h, void *out, aq_task *self, int how, int64_t d)
{
    shared *s = sh(h);
    int rc;
    if (lock_to_change(s))
        return AQ_EBUSY;
    rc = aq__queue_get_one(s->q, out, NULL, AQ_NEVER);
    if (rc == AQ_OK && !aq__list_empty(&s->putters)) { /* it was full */
        xwaiter *p = pop(&s->putters);
        aq__queue_refill(s->q, p->buf);
        complete(p, AQ_OK);
    } else if (rc == AQ_OK && !aq__list_empty(&s->dozers) &&
               s->q->count <= s->q->limit / 2) {
        wake_dozers(s); /* half empty: time they refilled it */
    } else if (rc == AQ_EEMPTY && !aq__list_empty(&s->putters)) {
        xwaiter *p = pop(&s->putters); /* a rendezvous queue */
        aq__queue_hand_over(s->q, out, p->buf);
        complete(p, AQ_OK);
        rc = AQ_OK;
    } else if (rc == AQ_EEMPTY && how != TRY &&
               (rc = may_wait(self, how, &d)) == AQ_OK) {
        xwaiter w;
        w.buf = out;
        aq__list_push_back(&s->getters, &w.link);
        return wait(s, &w, self, how, AQ__W_GET, d, 0);
    }
    aq__spin_unlock(&s->mu);
    return rc;
}

static int join_op(aq_queue *h, aq_task *self, int how, int64_t d)
{
    shared *s = sh(h);
    int rc = AQ_OK;
    if (lock_to_change(s))
        return AQ_EBUSY;
    if (s->q->unfinished > 0 && (rc = may_wait(self, how, &d)) == AQ_OK) {
        xwaiter w;
        w.buf = NULL;
        aq__list_push_back(&s->joiners, &w.link);
        return wait(s, &w, self, how, AQ__W_JOIN, d, 0);
    }
    aq__spin_unlock(&s->mu);
    return rc;
}

/* ---- the table queue.c calls --------------------------------------------- */

static int vt_put(aq_queue *h, const void *item, aq_task *self, int64_t d)
{
    return put_op(h, item, self, self ? AS_TASK : TRY, d);
}

static int vt_get(aq_queue *h, void *out, aq_task *self, int64_t d)
{
    return get_op(h, out, self, self ? AS_TASK : TRY, d);
}

static int vt_join(aq_queue *h, aq_task *self, int64_t d)
{
    return join_op(h, self, AS_TASK, d);
}

static int vt_task_done(aq_queue *h)
{
    shared *s = sh(h);
    if (lock_to_change(s))
        return AQ_EBUSY;
    int rc = aq_queue_task_done(s->q);
    if (rc == AQ_OK && s->q->unfinished == 0)
        complete_all(&s->joiners, AQ_OK);
    aq__spin_unlock(&s->mu);
    return rc;
}

static int vt_shutdown(aq_queue *h, int immediate)
{
    shared *s = sh(h);
    if (lock_to_change(s))
        return AQ_EBUSY;
    int rc = aq_queue_shutdown(s->q, immediate);
    if (immediate && s->q->unfinished == 0) /* as the core does */
        complete_all(&s->joiners, AQ_OK);
    complete_all(&s->getters, AQ_ESHUTDOWN);
    complete_all(&s->putters, AQ_ESHUTDOWN);
    wake_dozers(s); /* nothing more to refill */
    aq__spin_unlock(&s->mu);
    return rc;
}

static int vt_free(aq_queue *h)
{
    shared *s = sh(h);
    if (lock_to_change(s))
        return AQ_EBUSY;
    /* Waiting, or completed and still returning (wait()). */
    int busy =
        atomic_load_explicit(&s->base.inside, memory_order_acquire) > 0;
    aq__spin_unlock(&s->mu);
    aq__fiber_acquire(&s->base.inside);
    if (busy)
        return AQ_EBUSY;
    aq_queue_free(s->q);
    aq__free(s);
    aq__free(h);
    return AQ_OK;
}

static int vt_set_overflow(aq_queue *h, aq_overflow policy, aq_drop_fn drop,
                           void *ud)
{
    shared *s = sh(h);
    if (lock_to_change(s))
        return AQ_EBUSY;
    int rc = aq_queue_set_overflow(s->q, policy, drop, ud);
    aq__spin_unlock(&s->mu);
    return rc;
}

static int vt_statistics(const aq_queue *h, aq_queue_stats *out)
{
    shared *s = sh(h);
    int locking = lock_to_read(s);
    aq_queue_statistics(s->q, out);
    out->getters = (long)aq__list_len(&s->getters);
    out->putters = (long)aq__list_len(&s->putters);
    out->joiners = (long)aq__list_len(&s->joiners);
    if (locking)
        aq__spin_unlock(&s->mu);
    return AQ_OK;
}

static int vt_peek(const aq_queue *h, size_t i, void *out)
{
    shared *s = sh(h);
    int locking = lock_to_read(s);
    int rc = aq_queue_peek(s->q, i, out);
    if (locking)
        aq__spin_unlock(&s->mu);
    return rc;
}

static const aq__shared_vt shared_vt = {
    vt_put,  vt_get,          vt_task_done,  vt_join, vt_shutdown,
    vt_free, vt_set_overflow, vt_statistics, vt_peek};

/* ---- public -------------------------------------------------------------- */

int aq_queue_share(aq_queue *h)
{
    if (!h)
        return aq_einval("queue is NULL");
    if (h->flags & AQ__Q_BUSY) /* from its drop callback (callback.c) */
        return AQ_EBUSY;
    if (h->flags & AQ__Q_SHARED)
        return AQ_OK;
    if (!aq__list_empty(&h->getters) || !aq__list_empty(&h->putters) ||
        !aq__list_empty(&h->joiners) || h->batching)
        return AQ_EBUSY;
    shared *s = aq__malloc(sizeof *s);
    aq_queue *q = aq__malloc(sizeof *q);
    if (!s || !q) {
        aq__free(s);
        aq__free(q);
        return AQ_ENOMEM;
    }
    /* The state moves into the inner queue; the header keeps what the
     * calls read before they reach a flag test (the item size, maxsize)
     * and says empty, full and shared. */
    *q = *h;
    aq__list_init(&q->getters);
    aq__list_init(&q->putters);
    aq__list_init(&q->joiners);
    s->base.vt = &shared_vt;
    s->q = q;
    s->head = h;
    atomic_init(&s->mu.held, 0);
    aq__list_init(&s->getters);
    aq__list_init(&s->putters);
    aq__list_init(&s->joiners);
    aq__list_init(&s->dozers);
    atomic_init(&s->base.inside, 0);
    aq_queue head = {0};
    head.ops = h->ops;
    head.item_size = h->item_size;
    head.maxsize = h->maxsize;
    head.limit = 0;
    head.flags = AQ__Q_SHARED | (h->flags & AQ__Q_RENDEZVOUS); /* for full */
    head.shared = &s->base;
    *h = head;
    aq__list_init(&h->getters);
    aq__list_init(&h->putters);
    aq__list_init(&h->joiners);
    return AQ_OK;
}

/* The thread faces: blocking calls for threads that run no loop. */
static int thread_check(const aq_queue *h, const char *bad)
{
    if (!h)
        return aq_einval("queue is NULL");
    /* A busy queue (its drop callback runs: callback.c) wears a shared
     * queue's flag over no shared state. */
    if ((h->flags & (AQ__Q_SHARED | AQ__Q_BUSY)) != AQ__Q_SHARED)
        return aq_einval("queue is not shared (aq_queue_share)");
    if (bad)
        return aq_einval(bad);
    return aq__thread_loop ? AQ_EDEADLK : AQ_OK;
}

int aq_queue_thread_put_until(aq_queue *h, const void *item,
                              int64_t deadline)
{
    int rc = thread_check(h, item ? NULL : "item is NULL");
    return rc ? rc : put_op(h, item, NULL, AS_THREAD, deadline);
}

int aq_queue_thread_put(aq_queue *h, const void *item)
{
    return aq_queue_thread_put_until(h, item, AQ_NEVER);
}

int aq_queue_thread_get_until(aq_queue *h, void *out, int64_t deadline)
{
    int rc = thread_check(h, out ? NULL : "out is NULL");
    return rc ? rc : get_op(h, out, NULL, AS_THREAD, deadline);
}

int aq_queue_thread_get(aq_queue *h, void *out)
{
    return aq_queue_thread_get_until(h, out, AQ_NEVER);
}

int aq_queue_thread_join_until(aq_queue *h, int64_t deadline)
{
    int rc = thread_check(h, NULL);
    return rc ? rc : join_op(h, NULL, AS_THREAD, deadline);
}

int aq_queue_thread_join(aq_queue *h)
{
    return aq_queue_thread_join_until(h, AQ_NEVER);
}
