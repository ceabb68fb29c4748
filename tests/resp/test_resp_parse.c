/* Fuzz-style test of examples/resp/resp_parse.c, the RESP server's
 * request parser: random, valid and mutated byte strings, each parsed
 * twice, as the server feeds it:
 *
 * - whole: all bytes at once, request after request;
 * - chunked: bytes arriving in random pieces (1 to 64 bytes, sometimes
 *   one at a time), the parser called again with the longer span after
 *   each, exactly as a connection's buffer grows.
 *
 * Every call gets a fresh heap copy of exactly the bytes it may read, so
 * under AddressSanitizer (make test-asan) a read past them is caught at
 * once; valgrind (tests/valgrind.sh) catches it too. Checked:
 * - both feedings give the same trace: the same requests with the same
 *   arguments, then the same final state (an error code, or "needs more");
 * - a valid input gives back exactly the requests it was generated from;
 * - RESP_DONE: 0 < pos <= len and every argument inside [0, pos);
 *   RESP_INCOMPLETE: need > len; errors are RESP_E* codes with a message
 *   starting "ERR Protocol error: ";
 * - nothing leaks (LeakSanitizer, valgrind).
 * Half the inputs run with small limits (bulk 100 bytes, 8 arguments,
 * inline 64 bytes) so the limit paths are crossed often.
 *
 *   test_resp_parse [cases [seed]]     default 100000 cases, seed 1 */
#include "resp_parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng;

static uint64_t next(void) /* xorshift64* */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717u;
}

static size_t below(size_t n) { return n ? (size_t)(next() % n) : 0; }

/* A growable byte string. */
typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (b->cap - b->n < n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->n < n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        b->cap = cap;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

static void put_num(buf *b, char tag, long long v)
{
    char t[32];
    snprintf(t, sizeof t, "%c%lld", tag, v);
    puts_(b, t);
}

static long failures;
static uint64_t case_seed;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "FAIL (case seed %llu) %s:%d: ",              \
                    (unsigned long long)case_seed, __FILE__, __LINE__);   \
            fprintf(stderr, __VA_ARGS__);                                 \
            fprintf(stderr, "\n");                                        \
            failures++;                                                   \
            return;                                                       \
        }                                                                 \
    } while (0)

/* ---- generating ------------------------------------------------------ */

/* Appends random valid requests to in, and their trace to want: "D",
 * argc, then each argument as its length and bytes; then "I" (the input
 * ends between requests). */
static void gen_valid(buf *in, buf *want)
{
    size_t nreq = 1 + below(5);
    for (size_t r = 0; r < nreq; r++) {
        unsigned char args[8][320];
        size_t argc = below(7), lens[8];
        if (below(4) == 0) { /* inline: words of plain characters */
            static const char w[] = "abcXYZ019_-$:+*";
            argc = below(6);
            for (size_t i = 0; i < argc; i++) {
                lens[i] = 1 + below(12);
                for (size_t j = 0; j < lens[i]; j++)
                    args[i][j] = (unsigned char)w[below(sizeof w - 1)];
            }
            if (argc > 0 && args[0][0] == '*')
                args[0][0] = 'x'; /* a '*' first is a multibulk header */
            for (size_t i = 0; i < argc; i++) {
                put(in, below(3) ? " " : "\t ", i || below(2) ? 1 : 0);
                put(in, args[i], lens[i]);
            }
            if (below(3) == 0)
                puts_(in, "  ");
            puts_(in, below(2) ? "\r\n" : "\n");
        } else {
            put_num(in, '*', (long long)argc);
            puts_(in, "\r\n");
            for (size_t i = 0; i < argc; i++) {
                lens[i] = below(5) ? below(24) : below(320);
                for (size_t j = 0; j < lens[i]; j++) /* any byte */
                    args[i][j] = (unsigned char)next();
                put_num(in, '$', (long long)lens[i]);
                puts_(in, "\r\n");
                put(in, args[i], lens[i]);
                puts_(in, "\r\n");
            }
        }
        put(want, "D", 1);
        put(want, &argc, sizeof argc);
        for (size_t i = 0; i < argc; i++) {
            put(want, &lens[i], sizeof lens[i]);
            put(want, args[i], lens[i]);
        }
    }
    put(want, "I", 1);
}

static const char *tokens[] = {
    "*", "$", "\r\n", "\r", "\n", "-1", "0", "*0\r\n", "*-1\r\n",
    "$-1\r\n", "99999999999999999999", "$600000000\r\n", "*1048577\r\n",
    "*1048576\r\n", "$536870912\r\n", "$536870913\r\n", " ", "\t", ":",
    "*3\r\n$3\r\nSET\r\n", "PING\r\n", "$0\r\n\r\n", "\0",
};

/* Flips, inserts, deletes, truncates and splices tokens into in. */
static void mutate(buf *in)
{
    size_t n = 1 + below(6);
    for (size_t k = 0; k < n; k++) {
        size_t at = below(in->n + 1);
        switch (below(5)) {
        case 0: /* flip a byte */
            if (in->n)
                in->p[below(in->n)] = (unsigned char)next();
            break;
        case 1: { /* delete a run */
            if (!in->n)
                break;
            size_t a = below(in->n), len = 1 + below(8);
            if (len > in->n - a)
                len = in->n - a;
            memmove(in->p + a, in->p + a + len, in->n - a - len);
            in->n -= len;
            break;
        }
        case 2: /* truncate */
            in->n = at;
            break;
        default: { /* insert a token */
            const char *t = tokens[below(sizeof tokens / sizeof *tokens)];
            size_t len = *t ? strlen(t) : 1;
            buf tail = {0};
            put(&tail, in->p + at, in->n - at);
            in->n = at;
            put(in, t, len);
            put(in, tail.p, tail.n);
            free(tail.p);
        }
        }
    }
}

/* Bytes from RESP's own alphabet, mostly, so that they get past the
 * first checks now and then. */
static void gen_random(buf *in)
{
    static const char a[] = "*$\r\n0123456789-: aP\t";
    size_t n = below(200);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = below(8) ? (unsigned char)a[below(sizeof a - 1)]
                                   : (unsigned char)next();
        put(in, &c, 1);
    }
}

/* ---- parsing --------------------------------------------------------- */

static int small_limits;
static long violations; /* a DONE or INCOMPLETE breaking its invariant */

static void init(resp_parser *p)
{
    resp_parser_init(p);
    if (small_limits) {
        p->max_bulk = 100;
        p->max_args = 8;
        p->max_inline = 64;
    }
}

/* One call on an exact heap copy of data[0, len): a read past len lands
 * outside the block. Records a completed request into trace. Returns the
 * parser's result. */
static int call(resp_parser *p, const unsigned char *data, size_t len,
                buf *trace)
{
    unsigned char *copy = malloc(len ? len : 1);
    if (!copy)
        exit(1);
    if (len)
        memcpy(copy, data, len);
    int r = resp_parse(p, (const char *)copy, len);
    if (r == RESP_DONE) {
        int ok = p->pos > 0 && p->pos <= len && p->argc <= p->max_args;
        for (size_t i = 0; ok && i < p->argc; i++)
            ok = p->argv[i].off <= p->pos &&
                 p->argv[i].len <= p->pos - p->argv[i].off;
        if (!ok) {
            violations++;
        } else {
            put(trace, "D", 1);
            put(trace, &p->argc, sizeof p->argc);
            for (size_t i = 0; i < p->argc; i++) {
                put(trace, &p->argv[i].len, sizeof p->argv[i].len);
                put(trace, copy + p->argv[i].off, p->argv[i].len);
            }
        }
    } else if (r == RESP_INCOMPLETE && p->need <= len) {
        violations++;
    }
    free(copy);
    return r;
}

/* Records the final state: "I" (needs more) or "E" and the code. */
static void end(buf *trace, int r)
{
    if (r == RESP_INCOMPLETE) {
        put(trace, "I", 1);
    } else {
        put(trace, "E", 1);
        put(trace, &r, sizeof r);
    }
}

static int check_code(const resp_parser *p, int r)
{
    if (r < RESP_ENOMEM || r > RESP_DONE)
        return 0;
    if (r < 0) {
        char msg[96];
        resp_strerror(p, r, msg, sizeof msg);
        return strncmp(msg, "ERR Protocol error: ", 20) == 0;
    }
    return 1;
}

static int parse_whole(const buf *in, buf *trace)
{
    resp_parser p;
    init(&p);
    size_t start = 0;
    int r, ok;
    static const unsigned char none[1];
    const unsigned char *base = in->p ? in->p : none; /* empty: no buffer */
    while ((r = call(&p, base + start, in->n - start, trace)) == RESP_DONE)
        start += p.pos;
    ok = check_code(&p, r);
    end(trace, r);
    resp_parser_free(&p);
    return ok;
}

static int parse_chunked(const buf *in, buf *trace)
{
    resp_parser p;
    init(&p);
    size_t start = 0, avail = 0;
    int r = RESP_INCOMPLETE, ok, bytewise = below(8) == 0;
    static const unsigned char none[1];
    const unsigned char *base = in->p ? in->p : none; /* empty: no buffer */
    for (;;) {
        while ((r = call(&p, base + start, avail - start, trace)) ==
               RESP_DONE)
            start += p.pos;
        if (r != RESP_INCOMPLETE || avail == in->n)
            break;
        size_t step = bytewise ? 1 : 1 + below(64);
        avail = avail + step < in->n ? avail + step : in->n;
    }
    ok = check_code(&p, r);
    end(trace, r);
    resp_parser_free(&p);
    return ok;
}

static void one_case(uint64_t seed)
{
    case_seed = seed;
    rng = seed * 0x9E3779B97F4A7C15u + 1;
    small_limits = (int)(seed & 1);
    buf in = {0}, want = {0}, whole = {0}, chunked = {0};
    int kind = (int)below(3); /* valid, mutated, random */
    if (kind == 2)
        gen_random(&in);
    else
        gen_valid(&in, &want);
    if (kind == 1)
        mutate(&in);
    violations = 0;
    int ok1 = parse_whole(&in, &whole), ok2 = parse_chunked(&in, &chunked);
    int same = whole.n == chunked.n &&
               (whole.n == 0 || memcmp(whole.p, chunked.p, whole.n) == 0);
    int expected = kind != 0 || small_limits ||
                   (want.n == whole.n && memcmp(want.p, whole.p, want.n) == 0);
    free(in.p);
    free(want.p);
    free(whole.p);
    free(chunked.p);
    CHECK(ok1 && ok2, "a result outside the RESP_* codes or messages");
    CHECK(violations == 0, "RESP_DONE with pos or an argument out of "
                           "bounds, or RESP_INCOMPLETE with need <= len");
    CHECK(same, "whole and chunked feeding disagree (kind %d)", kind);
    CHECK(expected, "a valid input parsed into other requests");
}

/* Hand-written cases: the limits at their edges, as Redis draws them. */
static void fixed_cases(void)
{
    case_seed = 0;
    static const struct {
        const char *in;
        int want;
    } cases[] = {
        {"*1\r\n$536870912\r\n", RESP_INCOMPLETE}, /* 512 MiB: allowed */
        {"*1\r\n$536870913\r\n", RESP_EBULK},
        {"*1\r\n$600000000\r\n", RESP_EBULK},
        {"*1\r\n$-1\r\n", RESP_EBULK},
        {"*1048576\r\n", RESP_INCOMPLETE},
        {"*1048577\r\n", RESP_EMULTIBULK},
        {"*99999999999999999999\r\n", RESP_EMULTIBULK},
        {"*1\n", RESP_EMULTIBULK},
        {"*1\r\n:1\r\n", RESP_EDOLLAR},
        {"*1\r\n$1\r\nab\r\n", RESP_ECRLF},
        {"*1\r\n$1\r\na", RESP_INCOMPLETE},
        {"*-1\r\n", RESP_DONE},
        {"PING\r\n", RESP_DONE},
        {"\r\n", RESP_DONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        buf t = {0};
        resp_parser p;
        resp_parser_init(&p);
        int r = call(&p, (const unsigned char *)cases[i].in,
                     strlen(cases[i].in), &t);
        resp_parser_free(&p);
        free(t.p);
        CHECK(r == cases[i].want, "%s: got %d, want %d", cases[i].in, r,
              cases[i].want);
    }
    /* An inline line of 64 KiB without its newline is too big. */
    size_t n = RESP_MAX_INLINE;
    unsigned char *line = malloc(n);
    memset(line, 'a', n);
    buf t = {0};
    resp_parser p;
    resp_parser_init(&p);
    int r1 = call(&p, line, n - 1, &t), r2 = call(&p, line, n, &t);
    resp_parser_free(&p);
    free(line);
    free(t.p);
    CHECK(r1 == RESP_INCOMPLETE && r2 == RESP_EINLINE, "inline: %d %d", r1,
          r2);
}

int main(int argc, char **argv)
{
    long cases = argc > 1 ? atol(argv[1]) : 100000;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    fixed_cases();
    for (long i = 0; i < cases && failures < 10; i++)
        one_case(seed + (uint64_t)i);
    if (failures) {
        fprintf(stderr, "test_resp_parse: %ld failures\n", failures);
        return 1;
    }
    printf("test_resp_parse: %ld cases, 0 failures\n", cases);
    return 0;
}
