/* libaq - error codes to names and messages, and the version. MIT licensed.
 */
#define _GNU_SOURCE /* strerrorname_np */
#include "util/util.h"

#include <string.h>

static const struct {
    int code;
    const char *name;
    const char *msg;
} errors[] = {
    {AQ_OK, "AQ_OK", "success"},
    {AQ_EPERM, "AQ_EPERM",
     "not permitted: a call that needs a task made outside one, or a lock "
     "not held"},
    {AQ_ENOMEM, "AQ_ENOMEM", "out of memory"},
    {AQ_EINVAL, "AQ_EINVAL", "invalid argument"},
    {AQ_EBUSY, "AQ_EBUSY",
     "in use: a queue or object with waiters, a running loop, or aq_run "
     "inside a task"},
    {AQ_EDEADLK, "AQ_EDEADLK", "wait could never end"},
    {AQ_EALREADY, "AQ_EALREADY",
     "already done: the task has finished, or the entry was acknowledged"},
    {AQ_EBADF, "AQ_EBADF", "file descriptor closed or invalid"},
    {AQ_ETIMEDOUT, "AQ_ETIMEDOUT", "deadline passed"},
    {AQ_ECANCELED, "AQ_ECANCELED", "task was cancelled"},
    {AQ_EAGAIN, "AQ_EAGAIN",
     "no select clause was ready, or no thread could be started"},
    {AQ_EFULL, "AQ_EFULL", "queue is full"},
    {AQ_EEMPTY, "AQ_EEMPTY", "queue is empty"},
    {AQ_ESHUTDOWN, "AQ_ESHUTDOWN", "queue is shut down"},
    {AQ_EDROPPED, "AQ_EDROPPED", "item was dropped by the overflow policy"},
    {AQ_EBROKEN, "AQ_EBROKEN", "barrier is broken"},
    {AQ_EGROUP, "AQ_EGROUP", "a task of the group failed"},
    {AQ_ELIMIT, "AQ_ELIMIT", "separator not found within the reader's limit"},
    {AQ_EINCOMPLETE, "AQ_EINCOMPLETE",
     "end of file before the bytes asked for"},
    {AQ_ESERVER, "AQ_ESERVER", "the server answered with an error"},
};

#define NERRORS (sizeof errors / sizeof errors[0])

/* Other system errors pass through as -errno (-ECONNREFUSED...): glibc
 * names them; its strings for known codes are static, and a code glibc
 * does not know has no name. */
static const char *sys_name(int code)
{
    return code < 0 && code > -4096 ? strerrorname_np(-code) : NULL;
}

const char *aq_strerror(int code)
{
    for (size_t i = 0; i < NERRORS; i++)
        if (errors[i].code == code)
            return errors[i].msg;
    return sys_name(code) ? strerror(-code) : "unknown error";
}

const char *aq_errname(int code)
{
    for (size_t i = 0; i < NERRORS; i++)
        if (errors[i].code == code)
            return errors[i].name;
    const char *name = sys_name(code);
    return name ? name : "AQ_E?";
}

/* One pointer per thread: each AQ_EINVAL names its check with a string
 * literal, so keeping it needs no copy and no lock, and a thread only ever
 * reads what its own calls wrote (errno's rule). */
static _Thread_local const char *inval_why;

/* Cold and out of line: the success path of a checked call pays nothing
 * for its message. */
__attribute__((cold, noinline)) int aq_einval(const char *why)
{
    inval_why = why;
    return AQ_EINVAL;
}

const char *aq_error_detail(void) { return inval_why ? inval_why : ""; }

#define AQ_STR2(x) #x
#define AQ_STR(x) AQ_STR2(x)

const char *aq_version(void)
{
    return AQ_STR(AQ_VERSION_MAJOR) "." AQ_STR(AQ_VERSION_MINOR) "." AQ_STR(
        AQ_VERSION_PATCH);
}
