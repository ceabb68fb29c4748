/* A resumable parser for RESP2 requests (the Redis protocol), for
 * examples/resp_queue_server.c. MIT licensed.
 *
 * A request is either a multibulk array of bulk strings, as redis-cli
 * and every client library send it ("*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n"),
 * or an inline command: one line of words separated by spaces or tabs
 * ("PING\r\n", as redis-benchmark's ping_inline and telnet send it;
 * quotes are not interpreted, unlike Redis's sdssplitargs).
 *
 * The parser never copies and never reads outside the bytes it is given.
 * The caller keeps the bytes of the request under way in one buffer, from
 * its first byte on, and calls resp_parse again with the longer span each
 * time more arrive; the buffer may move between calls (arguments are
 * offsets, not pointers). Arguments already complete are not parsed
 * again, so a large request that arrives in small pieces costs one header
 * parse per argument and per call, never a rescan of the data.
 *
 * Limits, as Redis 7.0's defaults: a bulk string of at most 512 MiB
 * (proto-max-bulk-len), at most 1024 * 1024 arguments, an inline line or
 * a length header of at most 64 KiB. A request beyond them is an error,
 * reported before any of its data has to be buffered. */
#ifndef RESP_PARSE_H
#define RESP_PARSE_H

#include <stddef.h>

#define RESP_MAX_BULK ((size_t)512 * 1024 * 1024)
#define RESP_MAX_ARGS ((size_t)1024 * 1024)
#define RESP_MAX_INLINE ((size_t)64 * 1024)

/* resp_parse's results: a request complete, more bytes needed, or a
 * protocol error (negative; resp_strerror gives Redis's message). */
enum {
    RESP_DONE = 1,
    RESP_INCOMPLETE = 0,
    RESP_EMULTIBULK = -1, /* bad or too large "*<count>" header */
    RESP_EBULK = -2,      /* bad or too large "$<length>" header */
    RESP_EDOLLAR = -3,    /* an element that is not a bulk string */
    RESP_EINLINE = -4,    /* an inline line longer than max_inline */
    RESP_ECRLF = -5,      /* bulk data not followed by "\r\n" */
    RESP_ENOMEM = -6      /* the argument array could not grow */
};

/* One argument: len bytes at offset off from the request's first byte. */
typedef struct resp_arg {
    size_t off, len;
} resp_arg;

typedef struct resp_parser {
    /* Limits, set by resp_parser_init to the defaults above; a caller
     * may lower them (the fuzz test does) before the first parse. */
    size_t max_bulk, max_args, max_inline;
    /* After RESP_DONE: the request's arguments (argc may be 0 for an
     * empty inline line or "*0"), and pos, the request's length in bytes:
     * the next request begins pos bytes after this one's first byte.
     * Valid until the next resp_parse call. */
    size_t argc;
    resp_arg *argv;
    size_t pos;
    /* After RESP_INCOMPLETE: the request needs at least this many bytes
     * from its first one (a hint for growing the buffer once). */
    size_t need;
    /* Internal state of the request under way. */
    long long want; /* multibulk count, or -1 before the header */
    size_t cap;     /* argv's room */
    int done;       /* the last call returned RESP_DONE */
    int bad;        /* the byte found instead of '$' (RESP_EDOLLAR) */
} resp_parser;

void resp_parser_init(resp_parser *p);
/* Frees the argument array; p can be initialised again. */
void resp_parser_free(resp_parser *p);

/* Parses the request beginning at buf, of which len bytes are there.
 * After RESP_DONE the next call starts a new request (at buf + pos of
 * this one, which the caller passes as the new buf). After an error the
 * parser's state is undefined until resp_parser_init: the server replies
 * and closes the connection, as Redis does (there is no resynchronising
 * inside a byte stream of unknown framing).
 * Returns RESP_DONE, RESP_INCOMPLETE or a negative RESP_E* code. */
int resp_parse(resp_parser *p, const char *buf, size_t len);

/* The error reply's text for a RESP_E* code (without '-' and "\r\n"),
 * as Redis words it; for RESP_EDOLLAR it names p's offending byte. Writes
 * into out (n bytes, at least 64) and returns out. */
char *resp_strerror(const resp_parser *p, int code, char *out, size_t n);

#endif
