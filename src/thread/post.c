/* libaq - posts from other threads, stop, keep-alive. MIT licensed.
 *
 * A loop kept alive (aq_loop_keep_alive) has an inbox: a lock-free stack
 * of post records (`top`, pushed by any thread with a compare-and-swap,
 * taken whole by the loop with an exchange: no ABA, since nobody pops a
 * single record) and an eventfd registered with its poller. The memory
 * contract:
 * - A poster links its record to the top it read and swaps it in
 *   (seq_cst; its release half publishes the record's fields), then reads
 *   `sleeping` (seq_cst); the loop, before it blocks in the poller, sets
 *   `sleeping` (seq_cst), then reads `top` (seq_cst). Of two seq_cst
 *   writes followed by reads of the other's variable, at least one read
 *   sees the other write: either the loop sees the post and does not
 *   block, or the poster sees the loop asleep and writes the eventfd. So
 *   the eventfd is written only while the loop sleeps (or is about to),
 *   and no post waits for a wake-up that never comes.
 * - The loop takes the whole stack after every poll (exchange with NULL,
 *   acquire: it reads the records' fields), reverses it into the order
 *   of the pushes, and runs the posts in that order, one call per post;
 *   it frees each record (they come from the allocator of
 *   aq_set_allocator, which must then be thread-safe, as malloc is).
 * - `senders` counts threads inside aq_loop_post or aq__post_send:
 *   aq_loop_free waits for it to drop to 0 after closing the inbox (so
 *   every post that saw it open is in the list it drains) and again after
 *   the last promise is kept (so no sender touches freed memory): a
 *   two-step close, as libuv's async handles do.
 * - A reserved post (aq__post_reserve, for work handed to another thread
 *   that must report back: src/thread/pool.c) has its record allocated
 *   on the loop's thread when reserved, so sending it cannot fail, and is
 *   counted in `promised` (under mu) until sent. aq_loop_free waits for
 *   `promised` to drop to 0 (a condition variable on mu, signalled by the
 *   last send once the inbox is closed) and then runs the reserved posts
 *   it finds queued instead of dropping them: a reservation is a promise
 *   that its function runs exactly once, and the loop keeps it.
 * - An owned post (aq__post_send_owned: a wake-up that shared.c sends to
 *   a task waiting on a shared queue) lives in the waiter's frame: the
 *   loop never frees it, and reads everything it needs from it before
 *   calling fn, after which the record may be gone. Its task does not
 *   return before the post has run (shared.c), so the record outlives
 *   its stay in the inbox.
 * The inbox pointer itself is published with release when created, and
 * read with acquire by posters.
 *
 * - aq_loop_stop from outside the loop writes the eventfd whether the
 *   loop sleeps or not (a signal handler cannot wait for a handshake),
 *   counting itself among the senders from before its flag goes up. A
 *   run that ends at the flag waits the senders out, then drains the
 *   eventfd (host_waits), so that a host watching aq_loop_fd is not woken
 *   for a stop already served.
 * aq_loop_stop is async-signal-safe: it uses lock-free atomics (asserted
 * below), write(2) and nothing else, and keeps errno as it found it.
 */
#include "thread/thread.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* What makes aq_loop_stop async-signal-safe: atomics that take no lock. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_POINTER_LOCK_FREE == 2,
               "aq_loop_stop needs lock-free atomics");

typedef aq__post post;

typedef struct inbox {
    post *_Atomic top;     /* the last post pushed; each links the one
                              pushed before it */
    _Atomic int sleeping;  /* the loop may be blocked in the poller */
    pthread_mutex_t mu;    /* guards promised, for the free's wait */
    pthread_cond_t sent;   /* the last promised post was sent (at free) */
    long promised;         /* reserved posts not yet sent; guarded by mu */
    _Atomic int senders;   /* threads inside aq_loop_post */
    _Atomic int open;      /* cleared by aq_loop_free */
    long keep;             /* aq_loop_keep_alive count (loop thread) */
    int64_t spin_ns;       /* may_sleep's next watch (loop thread) */
} inbox;

/* How long a loop whose tasks wait on shared queues watches its inbox
 * before it sleeps: adaptive, between SPIN_MIN_NS and SPIN_MAX_NS. A
 * watch that saw a post doubles the next one's length; one that saw none
 * halves it, down to SPIN_MIN_NS. So a ping-pong with another thread
 * keeps watching, while a loop whose wake-ups come late (or whose other
 * thread cannot even run: more runnable threads than CPUs) soon burns no
 * more than 2 us per sleep, as glibc's adaptive mutexes learn their
 * spins. Not down to none: a loop that sleeps at once pays the wake-up
 * of an idle CPU (10-20 us in a VM) on every hand-off, and two loops
 * bouncing items then both settle there (loop_pingpong 9-34 us per round
 * trip against 2.1-2.6 with the floor: bench/RESULTS.md, "The wake-up
 * eventfd armed for reading only"). */
#define SPIN_MAX_NS (50 * AQ_USEC)
#define SPIN_MIN_NS (2 * AQ_USEC)

static int may_sleep(aq_loop *l, int64_t *timeout_ns)
{
    inbox *in = atomic_load_explicit(&l->inbox, memory_order_relaxed);
    /* A task that waits on a shared queue is usually woken by another
     * thread within microseconds (a hand-off, a ping-pong): watching the
     * count a little first spares both sides a system call (the sleep and
     * the eventfd write) per wake-up, as Go's scheduler spins before it
     * parks a thread. Bounded by the timeout, and taken off it, so no
     * timer is late for it; relaxed: a post seen here is taken under the
     * inbox mutex. */
    if (((aq__io *)l->io)->xwaits > 0) {
        int64_t spin = in->spin_ns, t = *timeout_ns, start = aq_now(), now;
        int64_t end = start + (t >= 0 && t < spin ? t : spin);
        do {
            for (int i = 0; i < 32; i++) {
                if (atomic_load_explicit(&in->top, memory_order_relaxed)) {
                    spin = 2 * (spin > SPIN_MIN_NS ? spin : SPIN_MIN_NS);
                    in->spin_ns = spin < SPIN_MAX_NS ? spin : SPIN_MAX_NS;
                    return -1;
                }
                aq__cpu_relax();
            }
        } while ((now = aq_now()) < end);
        in->spin_ns = spin / 2 < SPIN_MIN_NS ? SPIN_MIN_NS : spin / 2;
        if (t >= 0)
            *timeout_ns = t > now - start ? t - (now - start) : 0;
    }
    atomic_store(&in->sleeping, 1);
    /* The store above must be visible before the load below (the
     * handshake in the header comment). seq_cst says so, but a full fence
     * spells it out for every target: qemu-user's AArch64 emulation on an
     * x86 host let a store-release and a later load-acquire pass each
     * other here, and a loop slept with a post queued (test_thread_stress
     * stalled under `make test-aarch64`). */
    atomic_thread_fence(memory_order_seq_cst);
    /* A stop raised meanwhile by a thread that found no inbox yet wrote
     * no wake-up (aq_loop_stop): the flag is looked at after the same
     * fence, so that the loop does not sleep through it. */
    return atomic_load(&in->top) == NULL &&
           !atomic_load_explicit(&l->stop, memory_order_relaxed);
}

static void wait_senders(inbox *in);

/* A host loop is about to wait on aq_loop_fd instead of the loop on its
 * poller: the same handshake as may_sleep's, without the watch (the host
 * must not be held up), and a post that came first writes the eventfd
 * here, so that the host finds the fd readable and comes back at once. */
static void host_waits(aq_loop *l)
{
    inbox *in = atomic_load_explicit(&l->inbox, memory_order_relaxed);
    if (l->stopped) {
        /* The stop's eventfd write was made while the loop was awake, and
         * nothing reads it now that the run ends: drained here, once its
         * writer is done (it counts among the senders from before its
         * flag went up, and posters that saw the loop asleep are waited
         * out too), or the host would be woken once for nothing. A stop
         * made since is seen below, and written again. */
        wait_senders(in);
        uint64_t n;
        ssize_t r = read(((aq__io *)l->io)->wakefd, &n, sizeof n);
        (void)r; /* EAGAIN: nothing was written */
    }
    atomic_store(&in->sleeping, 1);
    atomic_thread_fence(memory_order_seq_cst); /* as in may_sleep */
    if (atomic_load(&in->top) || atomic_load(&l->stop)) {
        uint64_t one = 1;
        ssize_t r = write(((aq__io *)l->io)->wakefd, &one, sizeof one);
        (void)r; /* EAGAIN: the counter is full, the fd readable anyway */
    }
}

/* Takes every post queued, oldest first. */
static post *take_all(inbox *in)
{
    post *p = atomic_exchange_explicit(&in->top, NULL, memory_order_acquire);
    aq__fiber_acquire(in);
    post *fifo = NULL;
    while (p) { /* the stack holds the newest first: reverse it */
        post *next = p->next;
        p->next = fifo;
        fifo = p;
        p = next;
    }
    return fifo;
}

static void run_posts(aq_loop *l)
{
    inbox *in = atomic_load_explicit(&l->inbox, memory_order_relaxed);
    atomic_store_explicit(&in->sleeping, 0, memory_order_relaxed);
    /* relaxed: a cheap look; take_all's exchange acquires what it takes */
    if (!atomic_load_explicit(&in->top, memory_order_relaxed))
        return;
    post *p = take_all(in);
    while (p) {
        post *next = p->next;
        int owned = p->kind == AQ__POST_OWNED; /* p may die in fn */
        p->fn(p->arg);
        if (!owned)
            aq__free(p);
        p = next;
    }
}

static void wait_senders(inbox *in)
{
    while (atomic_load(&in->senders))
        sched_yield();
    aq__fiber_acquire(&in->senders); /* what they did: leave_senders */
}

/* A sender's last touch of the inbox (its eventfd write included) comes
 * before the free's: said to ThreadSanitizer too, which does not see
 * this handshake inside an ordinary libaq (a reviewer's report of a race
 * between a pool worker's write and the free's close). */
static void leave_senders(inbox *in)
{
    aq__fiber_release(&in->senders);
    atomic_fetch_sub_explicit(&in->senders, 1, memory_order_seq_cst);
}

/* Refuses posts from now on, then waits for the posters mid-send: one
 * that saw the inbox open may still be appending, and its record must be
 * in the list taken after. The first step of both ends of an inbox. */
static void refuse(inbox *in)
{
    atomic_store(&in->open, 0);
    atomic_thread_fence(memory_order_seq_cst); /* open, then senders: the
                                                  same handshake as
                                                  may_sleep's */
    wait_senders(in);
}

/* refuse, then waits until every reserved post is sent too (on the stack):
 * the free's first step. */
static void shut(inbox *in)
{
    refuse(in);
    pthread_mutex_lock(&in->mu);
    while (in->promised > 0) /* a reserved post is a promise: wait */
        pthread_cond_wait(&in->sent, &in->mu);
    pthread_mutex_unlock(&in->mu);
}

void aq__inbox_close(aq_loop *l)
{
    inbox *in = atomic_load_explicit(&l->inbox, memory_order_relaxed);
    if (!in)
        return;
    /* Reserved posts are not waited for here: a pool job may run long,
     * and the loop's tasks, its callers among them, are to be cancelled
     * now (a fresh user's trial: aq_cores_stop cancelled nothing until
     * the job returned). Sent later, they run at the loop's polls or in
     * aq_loop_free, which waits for them (inbox_free). */
    refuse(in);
    /* As at a poll: the posts run as the loop's, so that a blocking
     * thread face called from one still reports AQ_EDEADLK. */
    aq_loop *outer = aq__thread_loop;
    aq__thread_loop = l;
    run_posts(l); /* owned posts too: their tasks may still wait */
    aq__thread_loop = outer;
}

void aq__inbox_settle(aq_loop *l)
{
    inbox *in = atomic_load_explicit(&l->inbox, memory_order_relaxed);
    if (!in)
        return;
    shut(in);
    post *p = take_all(in);
    wait_senders(in); /* a reserved post's sender may still be waking us */
    for (post *next; p; p = next) { /* reserved: run; the rest: drop */
        next = p->next;
        if (p->kind == AQ__POST_OWNED)
            continue; /* none left: every waiting task has returned */
        if (p->kind == AQ__POST_RESERVED)
            p->fn(p->arg); /* may still use the inbox (keep-alive) */
        aq__free(p);
    }
}

static void inbox_free(aq_loop *l)
{
    aq__io *io = l->io;
    inbox *in = atomic_load_explicit(&l->inbox, memory_order_relaxed);
    aq__inbox_settle(l); /* nothing left if it was settled already */
    atomic_store_explicit(&l->inbox, NULL, memory_order_relaxed);
    pthread_cond_destroy(&in->sent);
    pthread_mutex_destroy(&in->mu);
    close(io->wakefd);
    aq__free(in);
}

/* Creates l's inbox and wake-up fd: AQ_OK or a code, nothing changed. */
static int inbox_make(aq_loop *l)
{
    aq__io *io;
    int rc = aq__io_get(l, &io);
    if (rc)
        return rc;
    inbox *in = aq__malloc(sizeof *in);
    if (!in)
        return AQ_ENOMEM;
    memset(in, 0, sizeof *in);
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0 ||
        (rc = aq__poller_arm(io->poller, fd, AQ__IO_WAKE_TAG, AQ__IO_IN))) {
        rc = fd < 0 ? -errno : rc;
        if (fd >= 0)
            close(fd);
        aq__free(in);
        return rc;
    }
    pthread_mutex_init(&in->mu, NULL);
    pthread_cond_init(&in->sent, NULL);
    /* Asleep until its first poll says otherwise: a host may wait on
     * aq_loop_fd right after aq_loop_keep_alive, before it runs the loop
     * (host_waits not yet called), and a post must wake it then. The
     * cost: an eventfd write per post until the first poll. */
    atomic_store(&in->sleeping, 1);
    atomic_store(&in->open, 1);
    io->wakefd = fd;
    io->may_sleep = may_sleep;
    io->host_waits = host_waits;
    io->after_poll = run_posts;
    io->on_destroy = inbox_free;
    aq__fiber_release(&in->open); /* the eventfd made: see found() */
    atomic_store_explicit(&l->inbox, in, memory_order_release);
    return AQ_OK;
}

int aq__inbox_open(aq_loop *l)
{
    return atomic_load_explicit(&l->inbox, memory_order_relaxed)
               ? AQ_OK
               : inbox_make(l);
}

int aq_loop_keep_alive(aq_loop *l, int on)
{
    if (!l)
        return aq_einval("loop is NULL");
    inbox *in = atomic_load_explicit(&l->inbox, memory_order_relaxed);
    if (!on) {
        if (!in || in->keep == 0)
            return aq_einval("aq_loop_keep_alive(loop, 0) without a matching "
                             "aq_loop_keep_alive(loop, 1)");
        in->keep--;
        ((aq__io *)l->io)->keep--;
        return AQ_OK;
    }
    if (!in) {
        int rc = inbox_make(l);
        if (rc)
            return rc;
        in = atomic_load_explicit(&l->inbox, memory_order_relaxed);
    }
    in->keep++;
    ((aq__io *)l->io)->keep++;
    return AQ_OK;
}

/* Wakes the loop if it may be blocked in its poller. */
static void wake(aq_loop *l, inbox *in)
{
    atomic_thread_fence(memory_order_seq_cst); /* the push, then this load:
                                                  as in may_sleep */
    if (atomic_load(&in->sleeping)) {
        uint64_t one = 1;
        ssize_t r = write(((aq__io *)l->io)->wakefd, &one, sizeof one);
        (void)r; /* EAGAIN: the counter is full, the loop wakes anyway */
    }
}

/* Pushes p and wakes the loop; the caller counts itself among the
 * senders. */
static void inbox_send(aq_loop *l, inbox *in, post *p)
{
    /* Once pushed, p is the loop's: it may run and be freed at once. */
    int reserved = p->kind == AQ__POST_RESERVED;
    post *top = atomic_load_explicit(&in->top, memory_order_relaxed);
    aq__fiber_release(in); /* for ThreadSanitizer (fiber.c) */
    do
        p->next = top;
    while (!atomic_compare_exchange_weak_explicit(
        &in->top, &top, p, memory_order_seq_cst, memory_order_relaxed));
    if (reserved) {
        /* After the push, so that a free that sees the promise kept finds
         * the post. relaxed: aq_loop_free clears open before it takes mu
         * to wait, so mu orders the two. */
        pthread_mutex_lock(&in->mu);
        if (--in->promised == 0 &&
            !atomic_load_explicit(&in->open, memory_order_relaxed))
            pthread_cond_signal(&in->sent); /* aq_loop_free waits for it */
        pthread_mutex_unlock(&in->mu);
    }
    wake(l, in);
}

/* l's inbox as another thread finds it (acquire: inbox_make's release),
 * or NULL. Said to ThreadSanitizer too, which does not see the atomics
 * of an ordinary libaq: a thread started before the loop opened its
 * inbox (its first wait on a shared queue) then wrote the eventfd with
 * no order against its making (a fresh user's report). */
static inbox *found(aq_loop *l)
{
    inbox *in = atomic_load_explicit(&l->inbox, memory_order_acquire);
    if (in)
        aq__fiber_acquire(&in->open);
    return in;
}

int aq_loop_post(aq_loop *l, void (*fn)(void *arg), void *arg)
{
    if (!l || !fn)
        return aq_einval("loop or fn is NULL");
    inbox *in = found(l);
    if (!in)
        return aq_einval("the loop is not kept alive (aq_loop_keep_alive), "
                         "so nothing would run the post");
    atomic_fetch_add(&in->senders, 1);
    int rc = AQ_OK;
    post *p = atomic_load(&in->open) ? aq__malloc(sizeof *p) : NULL;
    if (!p) {
        rc = atomic_load(&in->open)
                 ? AQ_ENOMEM
                 : aq_einval("the loop is no longer kept alive, so nothing "
                             "would run the post");
    } else {
        p->fn = fn;
        p->arg = arg;
        p->kind = AQ__POST_HEAP;
        inbox_send(l, in, p);
    }
    leave_senders(in);
    return rc;
}

aq__post *aq__post_reserve(aq_loop *l, void (*fn)(void *arg), void *arg)
{
    inbox *in = atomic_load_explicit(&l->inbox, memory_order_relaxed);
    post *p = aq__malloc(sizeof *p);
    if (!p)
        return NULL;
    p->fn = fn;
    p->arg = arg;
    p->kind = AQ__POST_RESERVED;
    pthread_mutex_lock(&in->mu);
    in->promised++;
    pthread_mutex_unlock(&in->mu);
    return p;
}

void aq__post_unreserve(aq_loop *l, aq__post *p)
{
    inbox *in = atomic_load_explicit(&l->inbox, memory_order_relaxed);
    pthread_mutex_lock(&in->mu);
    in->promised--; /* the loop's thread: no free can be waiting on it */
    pthread_mutex_unlock(&in->mu);
    aq__free(p);
}

void aq__post_send_owned(aq_loop *l, aq__post *p)
{
    /* The loop is open to posts (aq__inbox_open) and cannot be freed
     * before the post is pushed: a task of it waits for this post. But
     * once pushed, the post may run, its task return and the loop be
     * freed while this thread still reads `sleeping` and writes the
     * eventfd: so it counts itself among the senders, whom aq_loop_free
     * waits out (found by the SPIN model, tests/spin/). */
    inbox *in = atomic_load_explicit(&l->inbox, memory_order_acquire);
    atomic_fetch_add_explicit(&in->senders, 1, memory_order_seq_cst);
    p->kind = AQ__POST_OWNED;
    inbox_send(l, in, p);
    leave_senders(in);
}

void aq__post_send(aq_loop *l, aq__post *p)
{
    /* acquire: pairs with inbox_make's release (this thread may never
     * have seen the pointer). The inbox cannot be gone: the loop's free
     * waits for this post, then for this sender. */
    inbox *in = atomic_load_explicit(&l->inbox, memory_order_acquire);
    /* seq_cst, as in aq_loop_post: the free reads senders after it saw
     * this post arrive, and must then see this thread inside. */
    atomic_fetch_add_explicit(&in->senders, 1, memory_order_seq_cst);
    inbox_send(l, in, p);
    leave_senders(in);
}

int aq_loop_stop(aq_loop *l)
{
    if (!l)
        return aq_einval("loop is NULL");
    int saved = errno; /* a signal handler's caller must find errno intact */
    /* From a task of l (a signal handler interrupting one included): l
     * is awake, and sees the flag at its next iteration, before it could
     * sleep. A wake-up written now would stay unread, and a host waiting
     * on aq_loop_fd after that run would be woken for nothing. */
    if (aq__cur && aq__cur->loop == l) {
        atomic_store_explicit(&l->stop, 1, memory_order_relaxed);
        errno = saved;
        return AQ_OK;
    }
    /* Among the senders before the flag is up (release): a run that saw
     * the flag, and ends at it, then waits this call out before it
     * drains the eventfd (host_waits), so that this write is not left
     * unread after the run. */
    inbox *in = found(l);
    if (in)
        atomic_fetch_add(&in->senders, 1);
    atomic_store_explicit(&l->stop, 1, memory_order_release);
    if (!in) {
        /* The loop may have opened its inbox since, and gone to sleep
         * without seeing the flag (a reviewer's forced schedule): look
         * again after a full fence, paired with may_sleep's, so that of
         * the two one sees the other (the flag, or the inbox: then write).
         * Such a late write is not waited out by the drain, and may leave
         * the fd readable once: only when the inbox is made meanwhile. */
        atomic_thread_fence(memory_order_seq_cst);
        if ((in = found(l)))
            atomic_fetch_add(&in->senders, 1);
    }
    if (in) {
        if (atomic_load(&in->open)) {
            uint64_t one = 1;
            ssize_t r = write(((aq__io *)l->io)->wakefd, &one, sizeof one);
            (void)r;
        }
        leave_senders(in);
    }
    errno = saved;
    return AQ_OK;
}
