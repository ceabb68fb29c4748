/* libaq - the loop's I/O source: registrations and event dispatch.
 * MIT licensed.
 *
 * Invariants:
 * - An fd is armed once, when registered, and disarmed once, when
 *   closed or detached: no epoll_ctl per wait, so steady-state I/O costs
 *   only the reads, writes and epoll_wait calls themselves.
 * - An event reaches the aq_fd whose registration it was armed for, or
 *   nobody: its tag is (slot << 32 | generation), and a slot's generation
 *   changes each time it is freed (io.h).
 * - An event wakes the waiter of each direction it reports, after setting
 *   that direction's ready bit; a waiter that finds the bit set consumes
 *   it and goes on without parking. So an edge that comes while nobody
 *   waits is never lost.
 * - An aq_fd the user has not closed when the loop is freed is the
 *   user's still (io.h): the loop orphans it (no loop) rather than free
 *   it, and a later close or detach then only closes or returns its fd.
 * The loop calls poll() with timeout 0 every AQ__POLL_EVERY iterations
 * while tasks are ready, and with the time to the next timer (or no
 * limit) when none is: I/O is neither starved nor busy-polled.
 */
#include "io/io.h"

#include <errno.h>
#include <unistd.h>

/* Wakes the waiter of direction dir, if any (there is at most one),
 * remembering its task until it runs (runtime.h: aq__fdwait). */
static void wake_waiter(aq__fdwait *w, unsigned dir, aq_list *list)
{
    if (aq__list_empty(list))
        return;
    aq__waiter *x = aq__waiter_pop(list);
    w->woken[dir - 1] = x->task;
    aq__waiter_wake(x, AQ_OK);
}

static void dispatch(void *ctx, uint64_t tag, unsigned bits)
{
    aq__io *io = ctx;
    if (tag == AQ__IO_WAKE_TAG) { /* a post: reset the fd; after_poll
                                     runs the posts */
        uint64_t n;
        ssize_t r = read(io->wakefd, &n, sizeof n);
        (void)r; /* -1 (EAGAIN): an earlier read already reset it */
        return;
    }
    uint32_t slot = (uint32_t)(tag >> 32), gen = (uint32_t)tag;
    if (slot >= io->nslots || io->slots[slot].gen != gen ||
        !io->slots[slot].f)
        return; /* a registration that is gone */
    aq_fd *f = io->slots[slot].f;
    f->w.ready |= bits;
    if (bits & AQ__IO_IN)
        wake_waiter(&f->w, AQ__IO_IN, &f->w.readers);
    if (bits & AQ__IO_OUT)
        wake_waiter(&f->w, AQ__IO_OUT, &f->w.writers);
}

static void io_poll(aq_loop *l, int64_t timeout_ns)
{
    aq__io *io = l->io;
    if (timeout_ns != 0 && io->may_sleep) {
        int may = io->may_sleep(l, &timeout_ns);
        /* Posts came in while it watched: take them without the poller's
         * system call, but look at the fds at least every AQ__POLL_EVERY
         * times, so that they are never starved. */
        if (may < 0 && ++io->unpolled < AQ__POLL_EVERY) {
            io->after_poll(l);
            return;
        }
        if (may <= 0)
            timeout_ns = 0;
    }
    io->unpolled = 0;
    aq__poller_wait(io->poller, timeout_ns, dispatch, io);
    if (io->after_poll)
        io->after_poll(l);
}

static int io_busy(const aq_loop *l)
{
    const aq__io *io = l->io;
    return io->nfds > 0 || io->keep > 0;
}

static void io_destroy(aq_loop *l)
{
    aq__io *io = l->io;
    if (io->on_destroy)
        io->on_destroy(l);
    /* Orphaned: every task has returned, so none waits or was woken. */
    for (uint32_t s = 0; s < io->nslots; s++)
        if (io->slots[s].f)
            io->slots[s].f->w.loop = NULL;
    aq__poller_free(io->poller);
    aq__free(io->slots);
    aq__free(io);
    l->io = NULL;
    l->src = NULL;
    l->pending--;
}

static void io_host_waits(aq_loop *l)
{
    aq__io *io = l->io;
    if (io->host_waits)
        io->host_waits(l);
}

static const aq__source io_source = {io_poll, io_busy, io_destroy,
                                     io_host_waits};

int aq__io_get(aq_loop *l, aq__io **out)
{
    if (!l->io) {
        aq__io *io = aq__malloc(sizeof *io);
        if (!io)
            return AQ_ENOMEM;
        memset(io, 0, sizeof *io);
        int rc = aq__poller_new(&io->poller);
        if (rc) {
            aq__free(io);
            return rc;
        }
        l->io = io;
        l->src = &io_source;
        l->pending++; /* suspending tasks go back to the loop: polls */
    }
    *out = l->io;
    return AQ_OK;
}

/* A free slot, growing the table if none: its index, or -1 (no memory). */
static int64_t slot_take(aq__io *io)
{
    if (io->free < io->nslots) {
        uint32_t s = io->free;
        io->free = io->slots[s].next;
        return s;
    }
    if (io->nslots == io->cap) {
        uint32_t cap = io->cap ? 2 * io->cap : 16;
        aq__io_slot *t = aq__realloc(io->slots, cap * sizeof *t);
        if (!t)
            return -1;
        io->slots = t;
        io->cap = cap;
    }
    io->slots[io->nslots].gen = 0;
    io->free = io->nslots + 1;
    return io->nslots++;
}

static void slot_give(aq__io *io, uint32_t s)
{
    io->slots[s].f = NULL;
    io->slots[s].gen++;
    io->slots[s].next = io->free;
    io->free = s;
}

int aq__io_register(aq_fd *f)
{
    aq__io *io;
    int rc = aq__io_get(f->w.loop, &io);
    if (rc)
        return rc;
    int64_t s = slot_take(io);
    if (s < 0)
        return AQ_ENOMEM;
    io->slots[s].f = f;
    f->slot = (uint32_t)s;
    rc = aq__poller_arm(io->poller, f->fd,
                        (uint64_t)s << 32 | io->slots[s].gen,
                        AQ__IO_IN | AQ__IO_OUT);
    if (rc) {
        slot_give(io, (uint32_t)s);
        return rc;
    }
    io->nfds++;
    return AQ_OK;
}

void aq__io_unregister(aq_fd *f)
{
    if (!f->w.loop) /* orphaned: its loop is gone (io_destroy) */
        return;
    aq__io *io = f->w.loop->io;
    aq__poller_disarm(io->poller, f->fd); /* fails only if already gone */
    slot_give(io, f->slot);
    io->nfds--;
}

int aq_loop_fd(aq_loop *l)
{
    aq__io *io;
    if (!l)
        return aq_einval("loop is NULL");
    int rc = aq__io_get(l, &io);
    return rc ? rc : aq__poller_fd(io->poller);
}
