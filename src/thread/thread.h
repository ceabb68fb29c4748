/* libaq - private calls between the thread layer's files (src/thread/).
 * MIT licensed. */
#ifndef AQ_THREAD_THREAD_H
#define AQ_THREAD_THREAD_H

#include "io/io.h"

/* A post reserved ahead on a loop's thread and sent later from any
 * thread (post.c's header comment gives the contract). */
typedef struct aq__post aq__post;

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
