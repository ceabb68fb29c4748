/* floor - the floor column of `make bench`. MIT licensed.
 *
 * Usage:  floor WORKLOAD N      (WORKLOAD: bulk switch handoff pingpong
 *                                priority)
 *
 * Prints "WORKLOAD N ns_per_item" (1 decimal), the format of aqbench and
 * the peers. Unknown workload or bad N: usage, exit 2. A failed result
 * check: exit 1. A workload this machine has no floor for (the switch
 * rows off x86-64): a message on stderr, exit 3, and run.py shows "n/a".
 *
 * What it measures: aqbench's workloads written as the plainest
 * single-threaded C, with none of libaq (no loop, no waiter lists, no
 * checks on handles, no cancellation or shutdown), so that each libaq
 * figure can be read as a multiple of what the work itself costs on this
 * machine:
 *
 *   bulk      N int64 items through a bare ring of 1024 slots: fill it
 *             until full, drain it until empty, as aqbench's producer and
 *             consumer take turns, minus the switches (one per 1024 items
 *             there). ns per put + get.
 *   switch    two bare contexts switching to each other N times each
 *             (floor_ctx.h): ns per switch.
 *   handoff   a producer context puts an item into a one-slot buffer and
 *             switches to the consumer, which takes it and switches back;
 *             N times: ns per item (two switches, one put, one get).
 *   pingpong  two one-slot buffers; A puts i into the first and switches,
 *             B takes it, puts it into the second and switches back, A
 *             takes it: ns per round trip.
 *   priority  a bare binary min-heap of 8-byte keys: push N keys of the
 *             shared LCG, pop them all, checking the order. ns per
 *             push + pop. No insertion number, so ties are not kept in
 *             order: the floor is the heap alone, and the figure shows
 *             what libaq's stable ties and payloads cost on top of it.
 *
 * Each ring and heap operation is a call (noinline), as a queue library's
 * put and get are: inlined, the compiler would fuse bulk's fill and drain
 * loops into a vectorised copy, and the floor would measure memory
 * bandwidth rather than a queue. The heap is allocated for N keys before
 * the clock starts but first touched inside the timed part, as libaq's
 * grown queue is.
 */
#define _POSIX_C_SOURCE 200809L

#include "benchutil.h"
#include "floor_ctx.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

/* ---- a bare ring buffer --------------------------------------------------- */

/* Capacity a power of two; head and tail only grow, and tail - head is
 * the count, so full and empty need no extra flag. */
struct ring {
    int64_t *buf;
    size_t mask, head, tail;
};

static void ring_init(struct ring *r, size_t cap)
{
    r->buf = xmalloc(cap * sizeof *r->buf);
    r->mask = cap - 1;
    r->head = r->tail = 0;
}

static NOINLINE int ring_put(struct ring *r, int64_t v)
{
    if (r->tail - r->head > r->mask)
        return 0; /* full */
    r->buf[r->tail++ & r->mask] = v;
    return 1;
}

static NOINLINE int ring_get(struct ring *r, int64_t *v)
{
    if (r->head == r->tail)
        return 0; /* empty */
    *v = r->buf[r->head++ & r->mask];
    return 1;
}

/* The same capacity and item as aqbench's bulk (1024 int64_t). */
static double floor_bulk(long n)
{
    struct ring r;
    int64_t v, sum = 0;
    ring_init(&r, 1024);
    int64_t t0 = now_ns();
    for (long i = 0; i < n;) {
        while (i < n && ring_put(&r, i))
            i++;
        while (ring_get(&r, &v))
            sum += v;
    }
    int64_t elapsed = now_ns() - t0;
    check(sum == (int64_t)n * (n - 1) / 2, "bulk: sum");
    free(r.buf);
    return (double)elapsed / (double)n;
}

/* ---- a bare binary heap of 8-byte keys ---------------------------------- */

struct heap {
    int64_t *a;
    size_t n;
};

static NOINLINE void heap_push(struct heap *h, int64_t k)
{
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->a[parent] <= k)
            break;
        h->a[i] = h->a[parent];
        i = parent;
    }
    h->a[i] = k;
}

/* The caller knows the heap is not empty. */
static NOINLINE int64_t heap_pop(struct heap *h)
{
    int64_t top = h->a[0], last = h->a[--h->n];
    size_t i = 0, n = h->n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && h->a[c + 1] < h->a[c])
            c++;
        if (last <= h->a[c])
            break;
        h->a[i] = h->a[c];
        i = c;
    }
    h->a[i] = last;
    return top;
}

static double floor_priority(long n)
{
    int64_t *keys = lcg(n); /* generated outside the timed part */
    struct heap h = {xmalloc((size_t)n * sizeof(int64_t)), 0};
    int64_t prev = -1;
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++)
        heap_push(&h, keys[i]);
    for (long i = 0; i < n; i++) {
        int64_t k = heap_pop(&h);
        if (k < prev)
            fail("priority order");
        prev = k;
    }
    int64_t elapsed = now_ns() - t0;
    free(h.a);
    free(keys);
    return (double)elapsed / (double)n;
}

/* ---- two bare contexts ---------------------------------------------------- */

#if FLOOR_HAVE_CTX

#define STACK_SIZE (64 * 1024)

/* The one-slot buffer of handoff and pingpong: plain stores and loads,
 * not ring calls, since the switch after each put already keeps the
 * compiler from fusing the two sides' loops (measured per handoff item:
 * 13.7 ns with ring calls, 11-13 ns with this slot). */
struct slot {
    int64_t v;
    int full;
};

/* The run's state: globals, because an entry function takes no argument
 * (it is "returned" into by the first switch). */
static struct {
    floor_ctx main, a, b;
    struct slot q1, q2;
    long n;
} g;

/* A context that has done its part hands the CPU on for good: it is never
 * resumed, since the other context finishes the run. */
static void leave(floor_ctx *self, floor_ctx *to)
{
    for (;;)
        floor_ctx_switch(self, to);
}

/* Lays out a new stack so that the first switch to c enters entry with
 * %rsp + 8 aligned to 16, as after a call: six zeros for the registers
 * floor_ctx_switch pops, then entry as the address it returns to, then a
 * null return address for entry itself. */
static void *ctx_start(floor_ctx *c, void (*entry)(void))
{
    char *stack = xmalloc(STACK_SIZE);
    uintptr_t top = ((uintptr_t)stack + STACK_SIZE) & ~(uintptr_t)15;
    uintptr_t *sp = (uintptr_t *)top;
    *--sp = 0;
    *--sp = (uintptr_t)entry;
    for (int i = 0; i < 6; i++)
        *--sp = 0;
    c->sp = sp;
    return stack;
}

/* Runs a from the main context until a context switches back to main;
 * returns the elapsed ns. */
static int64_t run_pair(void (*a)(void), void (*b)(void), long n)
{
    void *sa = ctx_start(&g.a, a), *sb = ctx_start(&g.b, b);
    g.n = n;
    int64_t t0 = now_ns();
    floor_ctx_switch(&g.main, &g.a);
    int64_t elapsed = now_ns() - t0;
    free(sa);
    free(sb);
    return elapsed;
}

/* A side of the handoff or pingpong row. Each round it takes the item
 * in its input slot if there is one, puts an item into its output slot if
 * it has one, then switches to the other side: the bare form of a task
 * that gets, puts, and parks. */
struct side {
    floor_ctx *self, *other, *then; /* then: where to go when done */
    struct slot *in, *out;          /* NULL: none */
    int echo;     /* put the item just taken (pong), else the round number */
    int64_t got;  /* items taken */
    int64_t last; /* the item taken last */
};

static struct side side_a, side_b;

/* Items must arrive in the order they were put: each taken item must be
 * the number of items taken before it. */
static void take(struct side *s)
{
    if (s->in && s->in->full) {
        if (s->in->v != s->got)
            fail("order");
        s->in->full = 0;
        s->got++;
        s->last = s->in->v;
    }
}

/* Both sides of a row run this one loop, so every switch is made from one
 * call site and the return that resumes a side always goes where the
 * return predictor expects. Two sides that switched from different sites
 * (a producer in its put, a consumer in its get) would pay a mispredicted
 * return on every switch, about 8 ns here (measured): a cost of how code
 * is laid out, not of switching, so not part of the floor. */
static void relay(struct side *s)
{
    for (long i = 0; i < g.n; i++) {
        take(s);
        if (s->out) {
            if (s->out->full)
                fail("a one-slot buffer found full");
            s->out->v = s->echo ? s->last : i;
            s->out->full = 1;
        }
        floor_ctx_switch(s->self, s->other);
    }
    take(s); /* pingpong: the last echo, sent after our last round */
    leave(s->self, s->then);
}

static void side_a_entry(void) { relay(&side_a); }
static void side_b_entry(void) { relay(&side_b); }

/* Side a starts; after its n-th round, b has made its n-th too and
 * switched back, so a finishes the row and returns to main. */
static int64_t run_sides(struct slot *a_in, struct slot *a_out,
                         struct slot *b_in, struct slot *b_out, int b_echo,
                         long n)
{
    g.q1.full = g.q2.full = 0;
    side_a = (struct side){&g.a, &g.b, &g.main, a_in, a_out, 0, 0, 0};
    side_b = (struct side){&g.b, &g.a, &g.a, b_in, b_out, b_echo, 0, 0};
    return run_pair(side_a_entry, side_b_entry, n);
}

/* The switch row in its own loop: relay's round, with no slot on either
 * side, measured 5.9 ns per switch against 4.5 for this loop, and the
 * floor is the least a switch costs. One loop for both sides, as in
 * relay. */
static NOINLINE void yield_n(floor_ctx *self, floor_ctx *other, long n)
{
    for (long i = 0; i < n; i++)
        floor_ctx_switch(self, other);
}

static void switch_a(void)
{
    yield_n(&g.a, &g.b, g.n);
    leave(&g.a, &g.main);
}

static void switch_b(void)
{
    yield_n(&g.b, &g.a, g.n);
    leave(&g.b, &g.a);
}

/* Two contexts that only switch to each other, n times each. */
static double floor_switch(long n)
{
    return (double)run_pair(switch_a, switch_b, n) / (2.0 * (double)n);
}

/* a puts 0..n-1 into a one-slot buffer, b takes them. */
static double floor_handoff(long n)
{
    int64_t elapsed = run_sides(NULL, &g.q1, &g.q1, NULL, 0, n);
    check(side_b.got == n, "handoff: items taken");
    return (double)elapsed / (double)n;
}

/* a puts i into q1 and takes it back from q2; b echoes q1 into q2. */
static double floor_pingpong(long n)
{
    int64_t elapsed = run_sides(&g.q2, &g.q1, &g.q1, &g.q2, 1, n);
    check(side_a.got == n && side_b.got == n, "pingpong: round trips");
    return (double)elapsed / (double)n;
}

#else /* no bare switch for this machine: the rows are not available */
#define floor_switch NULL
#define floor_handoff NULL
#define floor_pingpong NULL
#endif

/* ---- main ----------------------------------------------------------------- */

static const struct workload {
    const char *name;
    double (*run)(long n);
} workloads[] = {
    {"bulk", floor_bulk},         {"switch", floor_switch},
    {"handoff", floor_handoff},   {"pingpong", floor_pingpong},
    {"priority", floor_priority},
};
#define NWORKLOADS (sizeof workloads / sizeof workloads[0])

int main(int argc, char **argv)
{
    const struct workload *w = NULL;
    long n = argc == 3 ? parse_n(argv[2]) : -1;
    for (size_t i = 0; argc == 3 && i < NWORKLOADS; i++)
        if (strcmp(argv[1], workloads[i].name) == 0)
            w = &workloads[i];
    if (!w || n < 1) {
        fprintf(stderr, "usage: %s WORKLOAD N  (N >= 1; WORKLOAD one of:",
                argv[0]);
        for (size_t i = 0; i < NWORKLOADS; i++)
            fprintf(stderr, " %s", workloads[i].name);
        fprintf(stderr, ")\n");
        return 2;
    }
    if (!w->run) {
        fprintf(stderr, "%s: n/a: the bare context switch is x86-64 only\n",
                w->name);
        return 3;
    }
    printf("%s %ld %.1f\n", w->name, n, w->run(n));
    return 0;
}
