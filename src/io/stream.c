/* libaq - buffered readers (asyncio's StreamReader): exact counts, lines
 * and separated records over a registered fd. MIT licensed.
 *
 * A reader is one allocation: the record and its buffer. The bytes it
 * holds are buf[start, end); a call looks for what it needs there first
 * and reads the fd (aq_read, which parks on EAGAIN) only when that is not
 * enough, into the free tail, moving the held bytes to the front when the
 * tail is used up. So no call allocates, and the bytes read per system
 * call are as many as the buffer takes, not as many as one record needs.
 *
 * Invariant: bytes leave [start, end) only when a call returns them to
 * its caller (or, for an over-long line, discards them, as documented).
 * A wait that ends in a deadline, a cancel or an error returns before
 * anything is taken, so the bytes that came stay for the next call: that
 * is how "nothing is lost" holds without any undo.
 *
 * `busy` covers a call from entry to return, across its waits: a second
 * task coming in meanwhile would find the buffer about to move under
 * the first one's pending read (aq_read writes at the end it was given),
 * so it is refused with AQ_EBUSY, as asyncio refuses a second waiter.
 */
#include "io/io.h"

#include <limits.h>

struct aq_reader {
    aq_fd *f;           /* outlives the calls (io.h) */
    size_t size;        /* of buf: also the limit of a record */
    size_t start, end;  /* the held bytes: buf[start, end) */
    unsigned char eof;  /* a read returned 0: no byte will come again */
    unsigned char busy; /* a call is in progress (it may be waiting) */
    unsigned char buf[];
};

int aq_reader_new(aq_reader **out, aq_fd *f, size_t bufsize)
{
    if (!out || !f)
        return aq_einval("out or fd is NULL");
    if (bufsize == 0 || bufsize > LONG_MAX ||
        bufsize > SIZE_MAX - sizeof(aq_reader))
        return aq_einval("bufsize is 0 or too large");
    aq_reader *r = aq__malloc(sizeof *r + bufsize);
    if (!r)
        return AQ_ENOMEM;
    r->f = f;
    r->size = bufsize;
    r->start = r->end = 0;
    r->eof = 0;
    r->busy = 0;
    *out = r;
    return AQ_OK;
}

int aq_reader_free(aq_reader *r)
{
    if (!r)
        return aq_einval("reader is NULL");
    if (r->busy)
        return AQ_EBUSY;
    aq__free(r);
    return AQ_OK;
}

size_t aq_reader_buffered(const aq_reader *r)
{
    return r ? r->end - r->start : 0;
}

int aq_reader_at_eof(const aq_reader *r)
{
    return r && r->eof && r->start == r->end;
}

/* ---- the buffer ---------------------------------------------------------- */

/* Reads more of the fd into the free tail (moving the held bytes to the
 * front if the tail is used up), waiting until a byte comes. Only called
 * while fewer than r->size bytes are held, so there is room. AQ_OK (end
 * of file sets r->eof) or the read's code, with nothing taken. */
static int fill(aq_reader *r, int64_t deadline)
{
    if (r->end == r->size) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    long n = aq_read_until(r->f, r->buf + r->end, r->size - r->end,
                           deadline);
    if (n < 0)
        return (int)n;
    if (n == 0)
        r->eof = 1;
    r->end += (size_t)n;
    return AQ_OK;
}

/* Copies n held bytes out and takes them. */
static void take(aq_reader *r, void *buf, size_t n)
{
    if (n)
        memcpy(buf, r->buf + r->start, n);
    r->start += n;
    if (r->start == r->end)
        r->start = r->end = 0; /* empty: the next fill reads a whole tail */
}

/* The offset from r->start of the first sep in the held bytes, searching
 * the first `within` of them from offset `from`; -1 if none. */
static long find(const aq_reader *r, const unsigned char *sep, size_t seplen,
                 size_t from, size_t within)
{
    const unsigned char *p = r->buf + r->start;
    for (size_t i = from; i + seplen <= within; i++) {
        const unsigned char *q = memchr(p + i, sep[0],
                                        within - seplen + 1 - i);
        if (!q)
            return -1;
        i = (size_t)(q - p);
        if (memcmp(q, sep, seplen) == 0)
            return (long)i;
    }
    return -1;
}

/* Every call's prologue (aq.h's order: AQ_EPERM, AQ_EINVAL, AQ_ECANCELED,
 * then AQ_EBUSY), claiming r for the call; ends it with READER_END. why
 * names the call's own checks (args_ok); count: NULL, or the call's
 * progress count, written once the arguments are good. */
#define READER_BEGIN(self, r, args_ok, why)                                  \
    READER_BEGIN_COUNTED(self, r, args_ok, why, (size_t *)NULL)
#define READER_BEGIN_COUNTED(self, r, args_ok, why, count)                   \
    do {                                                                     \
        AQ__SUSPEND_BEGIN_COUNTED(                                           \
            self,                                                            \
            (r) != NULL && (r)->f->w.loop == (self)->loop && (args_ok),      \
            (r) == NULL ? "reader is NULL"                                   \
            : (r)->f->w.loop != (self)->loop                                 \
                ? "the reader's fd belongs to another loop, or to none "     \
                  "(its loop freed)"                                         \
                : (why),                                                     \
            count);                                                          \
        if ((r)->busy)                                                       \
            return AQ_EBUSY;                                                 \
        (r)->busy = 1;                                                       \
    } while (0)

#define READER_END(r, rc)                                                  \
    do {                                                                   \
        (r)->busy = 0;                                                     \
        return (rc);                                                       \
    } while (0)

/* ---- read, read_exactly -------------------------------------------------- */

long aq_reader_read_until(aq_reader *r, void *buf, size_t n,
                          int64_t deadline)
{
    aq_task *self;
    READER_BEGIN(self, r, (buf || n == 0) && n <= LONG_MAX,
                 n > LONG_MAX ? "n is above LONG_MAX"
                              : "buf is NULL with n > 0");
    (void)self;
    long rc = AQ_OK;
    if (n > 0 && r->start == r->end && !r->eof)
        rc = fill(r, deadline);
    if (rc == AQ_OK) {
        size_t held = r->end - r->start;
        rc = (long)(n < held ? n : held);
        take(r, buf, (size_t)rc);
    }
    READER_END(r, rc);
}

long aq_reader_read(aq_reader *r, void *buf, size_t n)
{
    return aq_reader_read_until(r, buf, n, AQ_NEVER);
}

int aq_reader_read_exactly_until(aq_reader *r, void *buf, size_t n,
                                 size_t *got, int64_t deadline)
{
    aq_task *self;
    size_t dummy;
    if (!got)
        got = &dummy;
    READER_BEGIN_COUNTED(
        self, r, (buf || n == 0) && n <= LONG_MAX,
        n > LONG_MAX ? "n is above LONG_MAX" : "buf is NULL with n > 0", got);
    (void)self;
    int rc = AQ_OK;
    if (n <= r->size) {
        /* The record gathers in the buffer: nothing is taken before all
         * n bytes are there (or the stream ended). */
        while (r->end - r->start < n && !r->eof)
            if ((rc = fill(r, deadline)) != AQ_OK)
                READER_END(r, rc);
        size_t held = r->end - r->start;
        *got = n < held ? n : held;
        take(r, buf, *got);
        READER_END(r, *got == n ? AQ_OK : AQ_EINCOMPLETE);
    }
    /* Larger than the buffer: what is held, then straight into buf. */
    *got = r->end - r->start;
    take(r, buf, *got);
    while (*got < n && !r->eof) {
        long k = aq_read_until(r->f, (char *)buf + *got, n - *got, deadline);
        if (k < 0)
            READER_END(r, (int)k);
        if (k == 0)
            r->eof = 1;
        *got += (size_t)k;
    }
    READER_END(r, *got == n ? AQ_OK : AQ_EINCOMPLETE);
}

int aq_reader_read_exactly(aq_reader *r, void *buf, size_t n, size_t *got)
{
    return aq_reader_read_exactly_until(r, buf, n, got, AQ_NEVER);
}

/* ---- lines and separators ------------------------------------------------ */

/* What a separated read does when its limit is overrun, or the stream
 * ends before a separator. */
enum { AS_LINE, AS_THROUGH };

/* The search both calls share: waits until the held bytes contain sep
 * within the limit (the smaller of cap and the buffer), then returns the
 * record through sep. `mode` says what an overrun and an end of file
 * mean (aq.h: readline discards and returns a last partial line,
 * readuntil keeps the bytes and says so). */
static long through(aq_reader *r, const unsigned char *sep, size_t seplen,
                    void *buf, size_t cap, int64_t deadline, int mode)
{
    size_t limit = cap < r->size ? cap : r->size;
    size_t searched = 0; /* no sep starts before this offset */
    for (;;) {
        size_t held = r->end - r->start;
        size_t within = held < limit ? held : limit;
        long at = find(r, sep, seplen, searched, within);
        if (at >= 0) {
            size_t len = (size_t)at + seplen;
            take(r, buf, len);
            return (long)len;
        }
        /* A sep may still end in bytes yet to come: it starts at most
         * seplen - 1 bytes back. */
        if (within >= seplen)
            searched = within - seplen + 1;
        if (held >= limit) { /* no sep within the limit */
            if (mode == AS_LINE) {
                /* asyncio's readline: discard through the line's end
                 * if it is held, else all that is held. */
                at = find(r, sep, seplen, searched, held);
                size_t drop = at >= 0 ? (size_t)at + seplen : held;
                r->start += drop;
                if (r->start == r->end)
                    r->start = r->end = 0;
            }
            return AQ_ELIMIT;
        }
        if (r->eof) {
            if (mode == AS_THROUGH)
                return held ? AQ_EINCOMPLETE : 0;
            take(r, buf, held); /* the last line, or 0 */
            return (long)held;
        }
        int rc = fill(r, deadline);
        if (rc != AQ_OK)
            return rc;
    }
}

long aq_reader_read_line_until(aq_reader *r, char *buf, size_t cap,
                               int64_t deadline)
{
    aq_task *self;
    READER_BEGIN(self, r, buf && cap > 0 && cap <= LONG_MAX,
                 !buf ? "buf is NULL" : "cap is 0 or above LONG_MAX");
    (void)self;
    long rc = through(r, (const unsigned char *)"\n", 1, buf, cap, deadline,
                      AS_LINE);
    READER_END(r, rc);
}

long aq_reader_read_line(aq_reader *r, char *buf, size_t cap)
{
    return aq_reader_read_line_until(r, buf, cap, AQ_NEVER);
}

/* Which of read_through's own checks failed, one phrase each. */
static const char *through_why(const aq_reader *r, const void *sep,
                               size_t seplen, const void *buf, size_t cap)
{
    if (!sep || !buf)
        return "sep or buf is NULL";
    if (seplen == 0)
        return "seplen is 0";
    if (cap < seplen)
        return "cap is below seplen";
    if (cap > LONG_MAX)
        return "cap is above LONG_MAX";
    return r->size < seplen ? "seplen is above the reader's bufsize" : NULL;
}

long aq_reader_read_through_until(aq_reader *r, const void *sep,
                                  size_t seplen, void *buf, size_t cap,
                                  int64_t deadline)
{
    aq_task *self;
    READER_BEGIN(self, r,
                 sep && buf && seplen > 0 && cap >= seplen &&
                     cap <= LONG_MAX && r->size >= seplen,
                 through_why(r, sep, seplen, buf, cap));
    (void)self;
    long rc = through(r, sep, seplen, buf, cap, deadline, AS_THROUGH);
    READER_END(r, rc);
}

long aq_reader_read_through(aq_reader *r, const void *sep, size_t seplen,
                            void *buf, size_t cap)
{
    return aq_reader_read_through_until(r, sep, seplen, buf, cap, AQ_NEVER);
}
