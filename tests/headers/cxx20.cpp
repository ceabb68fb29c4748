// The public headers as C++20 sees them: every select clause macro in
// use, compiled with -Wall -Wextra -Werror (tests/CMakeLists.txt). g++'s
// -Wextra warned at each macro while they left fields out (a fresh
// user's trial: 23 warnings for this file).
#include <aq.h>

int pick(aq_queue *a, aq_queue *b, int *x, int *y, aq_task *t, void **r,
         aq_event *e, aq_group *g, int *status, aq_fd *f)
{
    aq_clause c[] = {AQ_GET(a, x),       AQ_PUT(b, y),
                     AQ_TASK(t, r),      AQ_TASK(t, NULL),
                     AQ_EVENT(e),        AQ_GROUP(g, status),
                     AQ_READABLE(f),     AQ_WRITABLE(f),
                     AQ_LOCK(NULL),      AQ_SEM(NULL)};
    return aq_select(c, sizeof c / sizeof c[0], 0);
}
