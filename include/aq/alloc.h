/* libaq - the allocator hook and the version. MIT licensed.
 * Part of the public API: include <aq.h>, which includes every part in
 * order; its opening comment states the conventions all of them follow. */
#ifndef AQ_API_ALLOC_H
#define AQ_API_ALLOC_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/*  Allocator                                                            */
/* ===================================================================== */

/* Replaces the allocator used for every allocation libaq makes (stacks
 * excepted: they are mmap'd), as libuv's uv_replace_allocator and Lua's
 * lua_Alloc do. Pass all three, or all NULL to restore
 * malloc/realloc/free. Call it while no loop, task or queue exists: a
 * block must be freed by the allocator that made it (a call made later
 * is not detected: the old blocks then reach the new free, which
 * corrupts memory). The three keep the C library's contract: realloc_fn
 * is called with NULL (as malloc_fn) and free_fn with NULL (nothing to
 * do); blocks are aligned for any type, as malloc's. They must be
 * thread-safe as soon as libaq runs on more than one thread: posts
 * (aq_loop_post), shared queues' thread faces and the loops of aq_cores
 * allocate on threads other than the first.
 * Returns: AQ_OK; AQ_EINVAL if only some are NULL. Does not suspend. */
AQ_EXTERN int aq_set_allocator(void *(*malloc_fn)(size_t),
                               void *(*realloc_fn)(void *, size_t),
                               void (*free_fn)(void *));

/* ===================================================================== */
/*  Version                                                              */
/* ===================================================================== */

/* Major version of these headers (also the shared library's soname
 * number), for #if tests at compile time; aq_version() gives the version
 * of the library linked in. */
#define AQ_VERSION_MAJOR 0
/* Minor version of these headers. */
#define AQ_VERSION_MINOR 1
/* Patch version of these headers. */
#define AQ_VERSION_PATCH 0

/* Returns "MAJOR.MINOR.PATCH" of the library linked in (a static string;
 * libuv's uv_version_string). Does not suspend. */
AQ_EXTERN const char *aq_version(void);

#ifdef __cplusplus
}
#endif
#endif /* AQ_API_ALLOC_H */
