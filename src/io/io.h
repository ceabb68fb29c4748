/* libaq - private types of the I/O layer (src/io/). MIT licensed. */
#ifndef AQ_IO_IO_H
#define AQ_IO_IO_H

#include "io/poller.h"

/* A registered fd: what waiting needs (runtime.h), then the fd. A second
 * waiter in a direction is refused with AQ_EBUSY. */
struct aq_fd {
    aq__fdwait w;     /* first: select sees an aq_fd as its aq__fdwait */
    int fd;
    uint32_t slot;    /* its registration in the loop's table (io.c) */
    unsigned char not_socket; /* getsockopt said ENOTSOCK: write() */
    unsigned char tcp;        /* a short read empties it (fd.c) */
};

/* The loop's I/O state, created with the first registration. Each slot
 * pairs a registered aq_fd with a generation that changes whenever the
 * slot is freed: an event carries (slot, generation), so an event that
 * was already fetched for an fd closed since, or for an fd number now
 * reused by another registration, finds a different generation and is
 * dropped (the libdill#129 class of bug). */
typedef struct aq__io_slot {
    aq_fd *f;         /* NULL while free */
    uint32_t gen;
    uint32_t next;    /* free list link */
} aq__io_slot;

typedef struct aq__io {
    aq__poller *poller;
    /* The cross-thread inbox (src/thread/post.c), once the loop is kept
     * alive: run at every poll, after the events; and the wake-up fd it
     * registers, whose events only reset it (tag AQ__IO_WAKE_TAG). */
    void (*after_poll)(aq_loop *l);
    void (*on_destroy)(aq_loop *l);
    int wakefd;
    aq__io_slot *slots;
    uint32_t nslots, cap, free;  /* free: first free slot, or nslots */
    /* Called before the loop may block in the poller for up to
     * *timeout_ns (-1: no limit): 1 if it still may, 0 if not (a post is
     * pending), -1 if posts came while it watched the inbox first
     * (thread/post.c), a watch whose length it takes off *timeout_ns, so
     * that a timer is not late for it. NULL: always 1. */
    int (*may_sleep)(aq_loop *l, int64_t *timeout_ns);
    /* Before a host loop waits on the poller's fd (aq_loop_run_ready's
     * end): posts from then on must wake it (thread/post.c). NULL: no
     * inbox. */
    void (*host_waits)(aq_loop *l);
    unsigned unpolled; /* polls skipped in a row for posts (io_poll) */
    long nfds;        /* registered fds: the loop waits while any is */
    long keep;        /* other reasons to wait (posts, signals) */
    long xwaits;      /* tasks waiting on shared queues (thread/shared.c):
                         another thread is likely to wake one soon */
} aq__io;

/* The tag of the loop's wake-up fd: no registration has this slot. */
#define AQ__IO_WAKE_TAG UINT64_MAX

/* The loop's I/O state, created if needed: AQ_OK, AQ_ENOMEM or -errno. */
AQ__HIDDEN int aq__io_get(aq_loop *l, aq__io **out);
/* Registers f->fd with its loop (arms it once): AQ_OK or a code. */
AQ__HIDDEN int aq__io_register(aq_fd *f);
/* Forgets f (its pending events will be dropped) and disarms its fd. */
AQ__HIDDEN void aq__io_unregister(aq_fd *f);

/* f's registration, (slot, generation) as its events carry it, for a
 * caller that uses f again after a wait that its timer ended: the task
 * was then ready and on no list, so a close by a task that ran first
 * reached no waiter and freed f. aq__io_registered tells, without
 * touching f, whether that registration is still f's. */
static inline uint64_t aq__io_tag(const aq_fd *f)
{
    const aq__io *io = f->w.loop->io;
    return (uint64_t)f->slot << 32 | io->slots[f->slot].gen;
}

static inline int aq__io_registered(const aq_loop *l, uint64_t tag,
                                    const aq_fd *f)
{
    const aq__io *io = l->io;
    uint32_t s = (uint32_t)(tag >> 32);
    return s < io->nslots && io->slots[s].gen == (uint32_t)tag &&
           io->slots[s].f == f;
}

#endif
