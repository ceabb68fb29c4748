/* libaq - PRIORITY storage: a stable min-heap, 4-ary in key order and
 * binary with a comparator (ARITY below). MIT licensed.
 *
 * Each heap entry is a 64-bit insertion number followed by the item (see
 * q->slot). Entries compare by the user's comparator over the items, or
 * by the item's leading int64_t when there is none, and on a tie by
 * insertion number: equal priorities come out first in, first out, and
 * payloads are never compared (so Python's TypeError on ties cannot
 * happen). Sifting moves a hole rather than swapping, so no scratch entry
 * is needed; entry moves go through aq__item_copy, which turns the common
 * 16-byte entry (an int64_t item) into two moves.
 *
 * DROP_OLDEST gives up the least urgent entry, the last a get would take.
 * Every parent comes out before its children, so that entry is a leaf:
 * a scan of the leaves, half the entries of the binary heap and three
 * quarters of the 4-ary one (O(maxsize), comparator calls included). The new
 * item takes the leaf's place and sifts up; if it is itself the least urgent
 * (its insertion number is the newest, so it also loses every tie) nothing
 * changes and it is the one dropped.
 */
#include "queue/queue.h"

#define ENTRY(q, i) ((q)->buf + (i) * (q)->slot)
#define ITEM(e) ((e) + sizeof(uint64_t))

static uint64_t seq_of(const unsigned char *e)
{
    uint64_t s;
    memcpy(&s, e, sizeof s);
    return s;
}

/* Does the entry (seq, item) come out before entry e? `custom` is a
 * constant at every call site, so the compiler builds two copies of the
 * heap code: one comparing leading int64_t keys inline, one calling the
 * user's comparator (see the two ops tables at the end). Branches, not
 * flag arithmetic: a branchless key test (& and | of the three tests)
 * was measured slower on large heaps (N = 500,000: 250 against 238 ns per
 * put + get), since the predicted branch lets the CPU start the next
 * level's load before the comparison is known. */
static inline int before(const aq_queue *q, int custom, uint64_t seq,
                         const void *item, const unsigned char *e)
{
    if (custom) {
        int c = q->cmp(item, ITEM(e), q->ud);
        if (c)
            return c < 0;
    } else {
        int64_t a, b;
        memcpy(&a, item, sizeof a);
        memcpy(&b, ITEM(e), sizeof b);
        if (a != b)
            return a < b;
    }
    return seq < seq_of(e);
}

/* Children per node: 4 in key order, where a comparison is a few
 * instructions and what costs is the levels (each a dependent load, and
 * a cache miss once the heap outgrows the cache): the heap is half as
 * deep, and four 16-byte siblings share one or two cache lines (N = 1,000:
 * 125 -> 112 ns per put + get). 2 with a comparator, where each
 * comparison is a call and the binary heap makes the fewest. */
#define ARITY(custom) ((custom) ? (size_t)2 : (size_t)4)

static int prio_grow(aq_queue *q)
{
    return aq__queue_grow_buf(q, q->slot);
}

/* Stores (seq, item) at hole i, a leaf, moving it up past the parents
 * it comes out before. */
static inline void sift_up(aq_queue *q, int custom, size_t i, uint64_t seq,
                           const void *item)
{
    while (i > 0) {
        size_t parent = (i - 1) / ARITY(custom);
        if (!before(q, custom, seq, item, ENTRY(q, parent)))
            break;
        aq__item_copy(ENTRY(q, i), ENTRY(q, parent), q->slot);
        i = parent;
    }
    memcpy(ENTRY(q, i), &seq, sizeof seq);
    aq__item_copy(ITEM(ENTRY(q, i)), item, q->item_size);
}

static inline void push_impl(aq_queue *q, const void *item, int custom)
{
    sift_up(q, custom, q->count++, q->seq++, item);
}

static inline int drop_impl(aq_queue *q, const void *item, int custom)
{
    /* The first leaf: the one after the last entry's parent. */
    size_t worst = q->count > 1 ? (q->count - 2) / ARITY(custom) + 1 : 0;
    for (size_t j = worst + 1; j < q->count; j++) {
        const unsigned char *w = ENTRY(q, worst);
        if (before(q, custom, seq_of(w), ITEM(w), ENTRY(q, j)))
            worst = j;
    }
    if (!before(q, custom, q->seq, item, ENTRY(q, worst)))
        return aq__queue_refuse(q, item);
    aq__queue_victim(q, ITEM(ENTRY(q, worst)));
    sift_up(q, custom, worst, q->seq++, item);
    return aq__queue_replaced(q);
}

/* Pops the root the bottom-up way: the hole left at the root sinks to a
 * leaf along the path of smallest children (ARITY - 1 comparisons per
 * level, among the children), then the last entry is sifted up from that
 * leaf, which usually costs nothing since it came from the bottom. For
 * the binary heap about half the comparisons of the textbook pop, and
 * comparisons are what cost there: each may call the user's comparator. */
static inline void pop_impl(aq_queue *q, void *out, int custom)
{
    aq__item_copy(out, ITEM(ENTRY(q, 0)), q->item_size);
    size_t n = --q->count;
    if (n == 0)
        return;
    size_t i = 0;
    for (;;) {
        size_t c = ARITY(custom) * i + 1;
        if (c >= n)
            break;
        size_t end = n - c < ARITY(custom) ? n : c + ARITY(custom);
        /* Key order: the children's children are 16 adjacent entries,
         * four cache lines, one of which the next level reads. Fetching
         * all four while this level compares overlaps the next miss
         * with this one (N = 500,000: 245 -> 221 ns per put + get). */
        if (!custom && 4 * c + 1 < n)
            for (size_t g = 4 * c + 1; g < 4 * c + 17; g += 4)
                __builtin_prefetch(ENTRY(q, g));
        size_t best = c;
        for (size_t k = c + 1; k < end; k++)
            if (before(q, custom, seq_of(ENTRY(q, k)), ITEM(ENTRY(q, k)),
                       ENTRY(q, best)))
                best = k;
        aq__item_copy(ENTRY(q, i), ENTRY(q, best), q->slot);
        i = best;
    }
    /* The last entry sits at index n, outside the live heap [0, n): the
     * moves above never touched it. It fills the hole at i. */
    const unsigned char *last = ENTRY(q, n);
    sift_up(q, custom, i, seq_of(last), ITEM(last));
}

/* The i-th entry in pop order, by selection: O(n * i), for inspection.
 * Plain for the comparator's sake (see the cmp_ operations below). */
static void prio_peek(const aq_queue *q, size_t i, void *out)
{
    aq_task *self = aq__plain_begin();
    int custom = q->cmp != NULL;
    const unsigned char *prev = NULL;
    for (size_t k = 0; k <= i; k++) {
        const unsigned char *best = NULL;
        for (size_t j = 0; j < q->count; j++) {
            const unsigned char *e = ENTRY(q, j);
            if (prev && !before(q, custom, seq_of(prev), ITEM(prev), e))
                continue;
            if (!best || before(q, custom, seq_of(e), ITEM(e), best))
                best = e;
        }
        prev = best;
    }
    memcpy(out, ITEM(prev), q->item_size);
    aq__plain_end(self);
}

/* A heap has no bulk form: a run is its items pushed or popped one by
 * one, through the inlined heap code rather than the ops table. */
static inline void push_run_impl(aq_queue *q, const void *items, size_t n,
                                 int custom)
{
    const unsigned char *p = items;
    for (size_t i = 0; i < n; i++)
        push_impl(q, p + i * q->item_size, custom);
}

static inline void pop_run_impl(aq_queue *q, void *out, size_t n, int custom)
{
    unsigned char *p = out;
    for (size_t i = 0; i < n; i++)
        pop_impl(q, p + i * q->item_size, custom);
}

static void key_push(aq_queue *q, const void *item) { push_impl(q, item, 0); }
static void key_pop(aq_queue *q, void *out) { pop_impl(q, out, 0); }

static void key_push_run(aq_queue *q, const void *items, size_t n)
{
    push_run_impl(q, items, n, 0);
}
static void key_pop_run(aq_queue *q, void *out, size_t n)
{
    pop_run_impl(q, out, n, 0);
}

static int key_drop(aq_queue *q, const void *item)
{
    return drop_impl(q, item, 0);
}

/* With the user's comparator, each operation runs plain (runtime.h,
 * aq__plain_begin): the comparator is called mid-sift, and one that
 * suspended let another task's get see a hole in the heap (items lost).
 * Once per operation rather than per comparison: a put + get on a heap
 * of about 1,000 items costs 25 instructions more than unguarded, against
 * 81 with the guard around each comparison (callgrind, bench/RESULTS.md,
 * "The comparator's guard"). */
static void cmp_push(aq_queue *q, const void *item)
{
    aq_task *self = aq__plain_begin();
    push_impl(q, item, 1);
    aq__plain_end(self);
}
static void cmp_pop(aq_queue *q, void *out)
{
    aq_task *self = aq__plain_begin();
    pop_impl(q, out, 1);
    aq__plain_end(self);
}
static void cmp_push_run(aq_queue *q, const void *items, size_t n)
{
    aq_task *self = aq__plain_begin();
    push_run_impl(q, items, n, 1);
    aq__plain_end(self);
}
static void cmp_pop_run(aq_queue *q, void *out, size_t n)
{
    aq_task *self = aq__plain_begin();
    pop_run_impl(q, out, n, 1);
    aq__plain_end(self);
}
static int cmp_drop(aq_queue *q, const void *item)
{
    aq_task *self = aq__plain_begin();
    int rc = drop_impl(q, item, 1);
    aq__plain_end(self);
    return rc;
}

/* AQ_PRIORITY by leading int64_t key, and by the user's comparator. */
/* The last heap entry: a heap without its last entry is still a heap,
 * and the entry keeps its bytes. */
static unsigned char *prio_shed(aq_queue *q)
{
    q->count--;
    return ITEM(ENTRY(q, q->count));
}

const aq__qops aq__prio_key_ops = {prio_grow, key_push,     key_pop,
                                   prio_peek, key_push_run, key_pop_run,
                                   key_drop,  prio_shed};
const aq__qops aq__prio_ops = {prio_grow, cmp_push,     cmp_pop,
                               prio_peek, cmp_push_run, cmp_pop_run,
                               cmp_drop,  prio_shed};
