/* libaq - posts from other threads, stop, keep-alive. MIT licensed.
 *
 * A loop kept alive (aq_loop_keep_alive) has an inbox: a mutex-guarded
 * FIFO of post records, a count of them that the loop reads without the
 * lock, and an eventfd registered with its poller. The memory contract:
 * - A poster appends under the mutex and increments `count` (seq_cst),
 *   then reads `sleeping` (seq_cst); the loop, before it blocks in the
 *   poller, sets `sleeping` (seq_cst), then reads `count` (seq_cst). Of
 *   two seq_cst writes followed by reads of the other's variable, at
 *   least one read sees the other write: either the loop sees the post
 *   and does not block, or the poster sees the loop asleep and writes the
 *   eventfd. So the eventfd is written only while the loop sleeps (or is
 *   about to), and no post waits for a wake-up that never comes.
 * - The loop takes the whole list under the mutex after every poll and
 *   runs the posts in order, one call per post, outside the lock; it
 *   frees each record (they come from the allocator of aq_set_allocator,
 *   which must then be thread-safe, as malloc is).
 * - `senders` counts threads inside aq_loop_post: aq_loop_free waits for
 *   it to drop to 0 after closing the inbox, so no poster touches freed
 *   memory (a two-step close, as libuv's async handles do).
 * The inbox pointer itself is published with release when created, and
 * read with acquire by posters.
 */
#include "io/io.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef struct post {
    struct post *next;
    void (*fn)(void *arg);
    void *arg;
} post;

typedef struct inbox {
    pthread_mutex_t mu;
    post *head, **tail;    /* guarded by mu */
    _Atomic long count;    /* posts queued */
    _Atomic int sleeping;  /* the loop may be blocked in the poller */
    _Atomic int senders;   /* threads inside aq_loop_post */
    _Atomic int open;      /* cleared by aq_loop_free */
    long keep;             /* aq_loop_keep_alive count (loop thread) */
} inbox;

static int may_sleep(aq_loop *l)
{
    inbox *in = atomic_load_explicit(&l->inbox, memory_order_relaxed);
    atomic_store(&in->sleeping, 1);
    return atomic_load(&in->count) == 0;
}

static void run_posts(aq_loop *l)
{
    inbox *in = atomic_load_explicit(&l->inbox, memory_order_relaxed);
    atomic_store_explicit(&in->sleeping, 0, memory_order_relaxed);
    if (atomic_load_explicit(&in->count, memory_order_acquire) == 0)
        return;
    pthread_mutex_lock(&in->mu);
    post *p = in->head;
    long n = 0;
    for (post *q = p; q; q = q->next)
        n++;
    in->head = NULL;
    in->tail = &in->head;
    atomic_fetch_sub(&in->count, n);
    pthread_mutex_unlock(&in->mu);
    while (p) {
        post *next = p->next;
        p->fn(p->arg);
        aq__free(p);
        p = next;
    }
}

static void inbox_free(aq_loop *l)
{
    aq__io *io = l->io;
    inbox *in = atomic_load_explicit(&l->inbox, memory_order_relaxed);
    atomic_store(&in->open, 0);
    while (atomic_load(&in->senders)) /* wait out posters mid-send */
        sched_yield();
    atomic_store_explicit(&l->inbox, NULL, memory_order_relaxed);
    for (post *p = in->head, *next; p; p = next) { /* never run */
        next = p->next;
        aq__free(p);
    }
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
    if (fd < 0 || (rc = aq__poller_arm(io->poller, fd, AQ__IO_WAKE_TAG))) {
        rc = fd < 0 ? -errno : rc;
        if (fd >= 0)
            close(fd);
        aq__free(in);
        return rc;
    }
    pthread_mutex_init(&in->mu, NULL);
    in->tail = &in->head;
    atomic_store(&in->open, 1);
    io->wakefd = fd;
    io->may_sleep = may_sleep;
    io->after_poll = run_posts;
    io->on_destroy = inbox_free;
    atomic_store_explicit(&l->inbox, in, memory_order_release);
    return AQ_OK;
}

int aq_loop_keep_alive(aq_loop *l, int on)
{
    if (!l)
        return AQ_EINVAL;
    inbox *in = atomic_load_explicit(&l->inbox, memory_order_relaxed);
    if (!on) {
        if (!in || in->keep == 0)
            return AQ_EINVAL;
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
    if (atomic_load(&in->sleeping)) {
        uint64_t one = 1;
        ssize_t r = write(((aq__io *)l->io)->wakefd, &one, sizeof one);
        (void)r; /* EAGAIN: the counter is full, the loop wakes anyway */
    }
}

int aq_loop_post(aq_loop *l, void (*fn)(void *arg), void *arg)
{
    if (!l || !fn)
        return AQ_EINVAL;
    inbox *in = atomic_load_explicit(&l->inbox, memory_order_acquire);
    if (!in)
        return AQ_EINVAL; /* not kept alive: nothing would run it */
    atomic_fetch_add(&in->senders, 1);
    int rc = AQ_OK;
    post *p = atomic_load(&in->open) ? aq__malloc(sizeof *p) : NULL;
    if (!p) {
        rc = atomic_load(&in->open) ? AQ_ENOMEM : AQ_EINVAL;
    } else {
        p->next = NULL;
        p->fn = fn;
        p->arg = arg;
        pthread_mutex_lock(&in->mu);
        *in->tail = p;
        in->tail = &p->next;
        pthread_mutex_unlock(&in->mu);
        atomic_fetch_add(&in->count, 1);
        wake(l, in);
    }
    atomic_fetch_sub(&in->senders, 1);
    return rc;
}

int aq_loop_stop(aq_loop *l)
{
    if (!l)
        return AQ_EINVAL;
    atomic_store_explicit(&l->stop, 1, memory_order_relaxed);
    inbox *in = atomic_load_explicit(&l->inbox, memory_order_acquire);
    if (in) {
        atomic_fetch_add(&in->senders, 1);
        if (atomic_load(&in->open)) {
            uint64_t one = 1;
            ssize_t r = write(((aq__io *)l->io)->wakefd, &one, sizeof one);
            (void)r;
        }
        atomic_fetch_sub(&in->senders, 1);
    }
    return AQ_OK;
}
