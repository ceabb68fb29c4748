/* libaq - the allocator hook. MIT licensed.
 *
 * Every heap allocation of the library goes through these three pointers,
 * so a program can plug in its own allocator and tests can count or fail
 * allocations. Stacks are mmap'd and do not pass through here.
 */
#include "util/util.h"

#include <stdlib.h>

static void *(*malloc_fn)(size_t) = malloc;
static void *(*realloc_fn)(void *, size_t) = realloc;
static void (*free_fn)(void *) = free;

void *aq__malloc(size_t n) { return malloc_fn(n); }
void *aq__realloc(void *p, size_t n) { return realloc_fn(p, n); }
void aq__free(void *p) { free_fn(p); }

int aq_set_allocator(void *(*m)(size_t), void *(*r)(void *, size_t),
                     void (*f)(void *))
{
    if (!m && !r && !f) {
        m = malloc;
        r = realloc;
        f = free;
    }
    if (!m || !r || !f)
        return aq_einval(
            "malloc, realloc and free must be given together (or all NULL)");
    malloc_fn = m;
    realloc_fn = r;
    free_fn = f;
    return AQ_OK;
}
