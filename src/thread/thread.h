/* libaq - private calls between the thread layer's files (src/thread/).
 * MIT licensed. */
#ifndef AQ_THREAD_THREAD_H
#define AQ_THREAD_THREAD_H

#include "io/io.h"

#include <pthread.h>

/* A record of the inbox of posts (post.c's header comment gives the
 * contract): from aq_loop_post (allocated, freed after it runs), reserved
 * ahead (aq__post_reserve), or owned by the sender (in its frame). */
/* A spinning thread's pause: lets the other hardware thread of the core
 * run and saves power, without giving up the CPU. */
static inline void aq__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Initialises a mutex that guards a few instructions and is taken by
 * threads on different cores at once (a shared queue's, a loop's inbox):
 * glibc's adaptive kind spins a little before it sleeps in the kernel,
 * where the default kind sleeps at once. Elsewhere, the default. */
AQ__HIDDEN void aq__mutex_init_short(pthread_mutex_t *mu);

enum { AQ__POST_HEAP, AQ__POST_RESERVED, AQ__POST_OWNED };

typedef struct aq__post {
    struct aq__post *next;
    void (*fn)(void *arg);
    void *arg;
    int kind; /* AQ__POST_*: who frees it, and whether a free runs it */
} aq__post;

/* Opens l to posts without keeping it alive (aq_loop_keep_alive does
 * both). The loop's thread only. AQ_OK, AQ_ENOMEM or -errno. */
AQ__HIDDEN int aq__inbox_open(aq_loop *l);
/* Sends p, filled in by the caller, whose memory stays the caller's: fn
 * runs on l's thread at its next poll, after which the loop never touches
 * p again. l must be open to posts and must not be freed before fn runs.
 * Any thread. */
AQ__HIDDEN void aq__post_send_owned(aq_loop *l, aq__post *p);

/* Reserves a post of fn(arg) on l, which must be open to posts
 * (aq_loop_keep_alive): the record is allocated now, so aq__post_send
 * cannot fail, and aq_loop_free waits for the send and runs fn rather
 * than dropping it. The loop's thread only. NULL: out of memory. */
AQ__HIDDEN aq__post *aq__post_reserve(aq_loop *l, void (*fn)(void *arg),
                                      void *arg);
/* Gives a reservation back unsent (the work could not be handed over).
 * The loop's thread only. */
AQ__HIDDEN void aq__post_unreserve(aq_loop *l, aq__post *p);
/* Sends a reserved post: fn runs on l's thread at its next poll, or at
 * aq_loop_free. Any thread, once; p is the loop's afterwards. */
AQ__HIDDEN void aq__post_send(aq_loop *l, aq__post *p);

#endif
