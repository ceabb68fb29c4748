/* A resumable RESP2 request parser: see resp_parse.h. MIT licensed.
 *
 * The invariant that keeps it from overreading: every index into buf is
 * compared with len before the byte is read, and every length taken from
 * the input is bounded (max_bulk, max_args, max_inline) before it is
 * added to an offset, so no sum can wrap. */
#include "resp_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void resp_parser_init(resp_parser *p)
{
    *p = (resp_parser){.max_bulk = RESP_MAX_BULK,
                       .max_args = RESP_MAX_ARGS,
                       .max_inline = RESP_MAX_INLINE,
                       .want = -1};
}

void resp_parser_free(resp_parser *p)
{
    free(p->argv);
    p->argv = NULL;
    p->cap = 0;
}

/* Appends an argument, growing argv as arguments actually arrive (a
 * header announcing a million of them allocates nothing by itself). */
static int push_arg(resp_parser *p, size_t off, size_t len)
{
    if (p->argc == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        resp_arg *a = realloc(p->argv, cap * sizeof *a);
        if (!a)
            return RESP_ENOMEM;
        p->argv = a;
        p->cap = cap;
    }
    p->argv[p->argc++] = (resp_arg){off, len};
    return 0;
}

/* The index of the first '\n' in buf[from, min(len, limit)), or -1. */
static long find_nl(const char *buf, size_t from, size_t len, size_t limit)
{
    size_t end = len < limit ? len : limit;
    if (from >= end)
        return -1;
    const char *nl = memchr(buf + from, '\n', end - from);
    return nl ? (long)(nl - buf) : -1;
}

/* Parses the decimal integer in buf[a, b): an optional '-', then 1 to 18
 * digits. Returns 0 and sets *v, or -1. */
static int parse_ll(const char *buf, size_t a, size_t b, long long *v)
{
    int neg = 0;
    if (a < b && buf[a] == '-') {
        neg = 1;
        a++;
    }
    if (a == b || b - a > 18)
        return -1;
    long long n = 0;
    for (; a < b; a++) {
        if (buf[a] < '0' || buf[a] > '9')
            return -1;
        n = n * 10 + (buf[a] - '0');
    }
    *v = neg ? -n : n;
    return 0;
}

/* "<digits>\r\n" header lines are at most this long, as in Redis. */
#define HEADER_MAX RESP_MAX_INLINE

/* An inline command: the words of one line. */
static int parse_inline(resp_parser *p, const char *buf, size_t len)
{
    long nl = find_nl(buf, 0, len, p->max_inline);
    if (nl < 0) {
        p->need = len + 1;
        return len >= p->max_inline ? RESP_EINLINE : RESP_INCOMPLETE;
    }
    size_t end = (size_t)nl;
    if (end > 0 && buf[end - 1] == '\r')
        end--;
    size_t i = 0;
    while (i < end) {
        while (i < end && (buf[i] == ' ' || buf[i] == '\t'))
            i++;
        size_t w = i;
        while (i < end && buf[i] != ' ' && buf[i] != '\t')
            i++;
        if (i > w) {
            if (p->argc >= p->max_args)
                return RESP_EMULTIBULK;
            if (push_arg(p, w, i - w) < 0)
                return RESP_ENOMEM;
        }
    }
    p->pos = (size_t)nl + 1;
    p->done = 1;
    return RESP_DONE;
}

int resp_parse(resp_parser *p, const char *buf, size_t len)
{
    if (p->done) {
        p->done = 0;
        p->argc = 0;
        p->pos = 0;
        p->want = -1;
    }
    p->need = 0;
    if (p->want < 0) {
        if (len == 0) {
            p->need = 1;
            return RESP_INCOMPLETE;
        }
        if (buf[0] != '*')
            return parse_inline(p, buf, len);
        long nl = find_nl(buf, 1, len, HEADER_MAX);
        if (nl < 0) {
            p->need = len + 1;
            return len >= HEADER_MAX ? RESP_EMULTIBULK : RESP_INCOMPLETE;
        }
        long long n;
        if ((size_t)nl < 2 || buf[nl - 1] != '\r' ||
            parse_ll(buf, 1, (size_t)nl - 1, &n) < 0 ||
            n > (long long)p->max_args)
            return RESP_EMULTIBULK;
        p->pos = (size_t)nl + 1;
        if (n <= 0) { /* "*0" and "*-1": an empty request, as in Redis */
            p->done = 1;
            return RESP_DONE;
        }
        p->want = n;
    }
    while (p->argc < (size_t)p->want) {
        size_t pos = p->pos;
        if (pos >= len) {
            p->need = pos + 1;
            return RESP_INCOMPLETE;
        }
        if (buf[pos] != '$') {
            p->bad = (unsigned char)buf[pos];
            return RESP_EDOLLAR;
        }
        long nl = find_nl(buf, pos + 1, len, pos + HEADER_MAX);
        if (nl < 0) {
            p->need = len + 1;
            return len - pos >= HEADER_MAX ? RESP_EBULK : RESP_INCOMPLETE;
        }
        long long n;
        if ((size_t)nl < pos + 2 || buf[nl - 1] != '\r' ||
            parse_ll(buf, pos + 1, (size_t)nl - 1, &n) < 0 || n < 0 ||
            (unsigned long long)n > p->max_bulk)
            return RESP_EBULK;
        /* n <= max_bulk (512 MiB) and data <= len: no wrap. */
        size_t data = (size_t)nl + 1, end = data + (size_t)n;
        if (len < end + 2) {
            p->need = end + 2;
            return RESP_INCOMPLETE;
        }
        if (buf[end] != '\r' || buf[end + 1] != '\n')
            return RESP_ECRLF;
        if (push_arg(p, data, (size_t)n) < 0)
            return RESP_ENOMEM;
        p->pos = end + 2;
    }
    p->done = 1;
    return RESP_DONE;
}

char *resp_strerror(const resp_parser *p, int code, char *out, size_t n)
{
    const char *m;
    switch (code) {
    case RESP_EMULTIBULK: m = "invalid multibulk length"; break;
    case RESP_EBULK: m = "invalid bulk length"; break;
    case RESP_EINLINE: m = "too big inline request"; break;
    case RESP_ECRLF: m = "bulk string not followed by CRLF"; break;
    case RESP_ENOMEM: m = "out of memory"; break;
    case RESP_EDOLLAR: {
        int c = p->bad;
        if (c > ' ' && c < 127)
            snprintf(out, n, "ERR Protocol error: expected '$', got '%c'",
                     c);
        else
            snprintf(out, n, "ERR Protocol error: expected '$', got "
                             "byte 0x%02x", c);
        return out;
    }
    default: m = "unknown error"; break;
    }
    snprintf(out, n, "ERR Protocol error: %s", m);
    return out;
}
