/* libaq - timers: a binary min-heap of tasks by deadline. MIT licensed.
 *
 * A task waits on at most one deadline at a time, so the heap holds task
 * pointers and each task remembers its own index: removal on wake-up or
 * cancel is O(log n) with no search and no allocation. Equal deadlines
 * fire in the order they were set (the sequence number), which keeps
 * scheduling deterministic.
 */
#include "runtime/runtime.h"

static int earlier(const aq_task *a, const aq_task *b)
{
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline;
    return a->timer_seq < b->timer_seq;
}

static void place(aq_loop *l, size_t i, aq_task *t)
{
    l->timers[i] = t;
    t->heap_idx = i;
}

static void sift_up(aq_loop *l, size_t i)
{
    aq_task *t = l->timers[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!earlier(t, l->timers[parent]))
            break;
        place(l, i, l->timers[parent]);
        i = parent;
    }
    place(l, i, t);
}

static void sift_down(aq_loop *l, size_t i)
{
    aq_task *t = l->timers[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->ntimers)
            break;
        if (c + 1 < l->ntimers && earlier(l->timers[c + 1], l->timers[c]))
            c++;
        if (!earlier(l->timers[c], t))
            break;
        place(l, i, l->timers[c]);
        i = c;
    }
    place(l, i, t);
}

int aq__timer_reserve(aq_loop *l, size_t n)
{
    if (n <= l->timers_cap)
        return AQ_OK;
    size_t cap = l->timers_cap ? 2 * l->timers_cap : 16;
    while (cap < n)
        cap *= 2;
    aq_task **h = aq__realloc(l->timers, cap * sizeof *h);
    if (!h)
        return AQ_ENOMEM;
    l->timers = h;
    l->timers_cap = cap;
    return AQ_OK;
}

void aq__timer_add(aq_loop *l, aq_task *t, int64_t deadline)
{
    t->deadline = deadline;
    t->timer_seq = l->timer_seq++;
    l->timers[l->ntimers] = t;
    l->pending++;
    sift_up(l, l->ntimers++);
}

void aq__timer_remove(aq_loop *l, aq_task *t)
{
    size_t i = t->heap_idx;
    aq_task *last = l->timers[--l->ntimers];
    l->pending--;
    t->heap_idx = AQ__NO_TIMER;
    if (i == l->ntimers)
        return;
    place(l, i, last);
    if (i > 0 && earlier(last, l->timers[(i - 1) / 2]))
        sift_up(l, i);
    else
        sift_down(l, i);
}

void aq__timer_expire(aq_loop *l, int64_t now)
{
    while (l->ntimers && l->timers[0]->deadline <= now) {
        aq_task *t = l->timers[0];
        aq__timer_remove(l, t);
        aq__task_abort(t, AQ_ETIMEDOUT);
    }
}
