/* libaq - Event (asyncio.Event): set, clear, wait. MIT licensed.
 *
 * Invariant: tasks wait only while the event is clear. set() wakes every
 * waiter with AQ_OK at once, so a clear() right after cannot strand a
 * waiter that was already released (as in asyncio, a waiter woken by set
 * returns success even if the event is cleared before it runs).
 */
#include "sync/sync.h"

int aq_event_new(aq_event **out)
{
    if (!out)
        return aq_einval("out is NULL");
    aq_event *e = aq__malloc(sizeof *e);
    if (!e)
        return AQ_ENOMEM;
    aq__list_init(&e->waiters);
    e->set = 0;
    *out = e;
    return AQ_OK;
}

int aq_event_free(aq_event *e)
{
    if (!e)
        return aq_einval("event is NULL");
    if (!aq__list_empty(&e->waiters))
        return AQ_EBUSY;
    aq__free(e);
    return AQ_OK;
}

int aq_event_set(aq_event *e)
{
    if (!e)
        return aq_einval("event is NULL");
    e->set = 1;
    aq__task_wake_all(&e->waiters, AQ_OK);
    return AQ_OK;
}

int aq_event_clear(aq_event *e)
{
    if (!e)
        return aq_einval("event is NULL");
    e->set = 0;
    return AQ_OK;
}

int aq_event_is_set(const aq_event *e) { return e && e->set; }

int aq_event_wait_until(aq_event *e, int64_t deadline)
{
    aq_task *self;
    AQ__SUSPEND_BEGIN(self, e != NULL, "event is NULL");
    if (e->set)
        return AQ_OK;
    return aq__wait_on(self, &e->waiters, NULL, deadline, AQ__W_EVENT, e);
}

int aq_event_wait(aq_event *e) { return aq_event_wait_until(e, AQ_NEVER); }
