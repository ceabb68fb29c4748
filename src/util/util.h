/* libaq - what every part of the library shares: visibility, branch
 * hints, the allocator hook. MIT licensed.
 *
 * Includes run one way: queue/ -> sync/ -> runtime/ -> ctx/ -> util/.
 */
#ifndef AQ_UTIL_H
#define AQ_UTIL_H

#include "aq.h"
#include "util/list.h"

#include <stdint.h>
#include <string.h>

#define AQ__HIDDEN __attribute__((visibility("hidden")))
/* Never instrumented by ThreadSanitizer (a build with -DAQ_TSAN=ON): for
 * the functions a task's fiber leaves for good (fiber.c). */
#define AQ__UNTRACED __attribute__((no_sanitize_thread))

/* For the suspension path: inlined even in unoptimised builds, so that a
 * task parks and switches from the frame of the call it made; compact.c
 * sizes a task's saved frames on that. */
#define AQ__ALWAYS_INLINE static inline __attribute__((always_inline))

#define aq__likely(x) __builtin_expect(!!(x), 1)
#define aq__unlikely(x) __builtin_expect(!!(x), 0)

/* ---- allocator (alloc.c) ------------------------------------------------- */

AQ__HIDDEN void *aq__malloc(size_t n);
AQ__HIDDEN void *aq__realloc(void *p, size_t n);
AQ__HIDDEN void aq__free(void *p);

#endif
