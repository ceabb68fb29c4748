/* libaq - timeout scopes (asyncio.timeout, timeout_at; Trio's
 * move_on_at). MIT licensed.
 *
 * A scope is a deadline over every suspending call its task makes until
 * the scope ends. It is not built on cancellation, which is sticky here
 * and so could not be lifted when the scope ends (asyncio needs
 * uncancel() for that): each wait instead takes the earlier of its own
 * deadline and its scopes' (aq__park_begin_slow), and a wait cut
 * short by a scope returns AQ_ETIMEDOUT like any other deadline.
 *
 * Invariants:
 * - A task's scopes form a stack through their `outer` links, innermost
 *   at t->scope, each in the task's own frames; only the task reads or
 *   writes them (so compact mode, which moves parked frames, never has to
 *   follow these pointers: the frames are in place whenever the task
 *   runs).
 * - A scope is marked expired only by its own task, after a wait of its
 *   own ended with AQ_ETIMEDOUT, and only if the scope's deadline came
 *   strictly before the call's own: a call whose own deadline passes is
 *   the call's timeout, not the scope's.
 * - Of several scopes, the earliest deadline wins; of equal ones, the
 *   innermost.
 */
#include "runtime/runtime.h"

/* Is deadline a earlier than b? AQ_NEVER is later than all; any other
 * negative value is a deadline long past, as aq__park_begin reads it. */
static int earlier(int64_t a, int64_t b)
{
    return a != AQ_NEVER && (b == AQ_NEVER || a < b);
}

int64_t aq__scope_clamp(const aq_task *t, int64_t own)
{
    for (const aq_timeout *s = t->scope; s; s = s->outer)
        if (earlier(s->deadline, own))
            own = s->deadline;
    return own;
}

void aq__scope_note(aq_task *t)
{
    int64_t own = t->own_deadline;
    aq_timeout *first = NULL;
    for (aq_timeout *s = t->scope; s; s = s->outer)
        if (earlier(s->deadline, first ? first->deadline : own))
            first = s;
    if (first)
        first->expired = 1;
}

int aq__park_begin_slow(aq_task *t, int64_t *d)
{
    if (t->scope) {
        t->own_deadline = *d;
        *d = aq__scope_clamp(t, *d);
    }
    int stamped = t->slow_park & AQ__PARK_STAMPED;
    int64_t now = *d != AQ_NEVER || stamped ? aq_now() : 0; /* one read */
    if (*d != AQ_NEVER && *d <= now) {
        if (t->scope)
            aq__scope_note(t);
        return AQ_ETIMEDOUT;
    }
    if (stamped)
        t->wait_since = now;
    return aq__park_reserve(t);
}

/* Is scope one of t's open scopes? (scope->task alone cannot say: an
 * ended scope keeps it.) */
static int open_in(const aq_task *t, const aq_timeout *scope)
{
    for (const aq_timeout *s = t->scope; s; s = s->outer)
        if (s == scope)
            return 1;
    return 0;
}

int aq_timeout_begin(aq_timeout *scope, int64_t deadline)
{
    aq_task *self = aq__cur;
    if (!self)
        return AQ_EPERM;
    if (!scope)
        return aq_einval("scope is NULL");
    if (open_in(self, scope)) /* linking it again would make a cycle */
        return aq_einval("scope is already open (a begin without its end)");
    scope->deadline = deadline;
    scope->expired = 0;
    scope->outer = self->scope;
    scope->task = self;
    aq__task_set_scope(self, scope);
    return AQ_OK;
}

int aq_timeout_end(aq_timeout *scope)
{
    aq_task *self = aq__cur;
    if (!self)
        return AQ_EPERM;
    if (!scope || self->scope != scope)
        return aq_einval(
            "scope is NULL or not this task's innermost open scope");
    aq__task_set_scope(self, scope->outer);
    return scope->expired;
}

int aq_timeout_reschedule(aq_timeout *scope, int64_t deadline)
{
    aq_task *self = aq__cur;
    if (!self)
        return AQ_EPERM;
    if (!scope)
        return aq_einval("scope is NULL");
    if (!open_in(self, scope))
        return aq_einval(scope->task == self
                             ? "scope is ended (or not begun)"
                             : "scope belongs to another task");
    scope->deadline = deadline;
    return AQ_OK;
}

int aq_timeout_expired(const aq_timeout *scope)
{
    return scope && scope->expired;
}
