/* libaq - the poller backend's contract (one backend per build: epoll.c
 * on Linux). MIT licensed.
 *
 * Five calls. An fd is armed once, for reading and writing at once (or
 * for reading only: a wake-up eventfd, which is always writable), edge-
 * triggered, with a 64-bit tag that comes back with each of its events;
 * the caller (io.c) makes the tag unique per registration, so an event
 * for an fd number that was closed and reused never reaches the new
 * owner. An error or hang-up is reported as both readable and writable,
 * so that whoever waits retries and the system call names the reason.
 */
#ifndef AQ_IO_POLLER_H
#define AQ_IO_POLLER_H

#include "runtime/runtime.h"

typedef struct aq__poller aq__poller;

/* AQ_OK or -errno (*out untouched). */
AQ__HIDDEN int aq__poller_new(aq__poller **out);
AQ__HIDDEN void aq__poller_free(aq__poller *p);
/* An fd that is readable while events are pending (for a host loop that
 * drives this one: aq_loop_fd). */
AQ__HIDDEN int aq__poller_fd(const aq__poller *p);
/* Arms fd for the directions dirs (AQ__IO_IN, AQ__IO_OUT or both),
 * edge-triggered: AQ_OK or -errno. */
AQ__HIDDEN int aq__poller_arm(aq__poller *p, int fd, uint64_t tag,
                              unsigned dirs);
/* Disarms fd (before it is closed): AQ_OK or -errno. */
AQ__HIDDEN int aq__poller_disarm(aq__poller *p, int fd);
/* Waits up to timeout_ns (0: just look; -1: until an event) and calls
 * ready(ctx, tag, AQ__IO_* bits) for each event. An interrupted wait
 * (EINTR) returns early with no event. Returns the number of events or
 * -errno. */
AQ__HIDDEN int aq__poller_wait(aq__poller *p, int64_t timeout_ns,
                               void (*ready)(void *ctx, uint64_t tag,
                                             unsigned events),
                               void *ctx);

#endif
