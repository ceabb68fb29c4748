/* libaq - the scale soak, small: 20,000 tasks move 200,000 items through
 * 1000 bounded queues under random cancellations and shutdowns, twice;
 * every item is accounted for and RSS must not grow from round to round.
 * tests/soak/soak.h has the logic; `make soak-scale` runs it with a
 * million tasks. MIT licensed.
 *
 *   test_soak_small [--tasks N] [--items N] [--rounds N] [filter...]
 *
 * Under valgrind it scales itself down to 5,000 tasks and 50,000 items
 * unless told otherwise: valgrind tracks at most about 32,000 memory
 * segments, and the first 16,384 stacks take two each (stack and guard
 * page), so 20,000 tasks abort it (10,000 still run, in about 13 s).
 */
#include "test.h"

#include "soak/soak.h"

static struct soak_cfg g_cfg = {20000, 200000, 2, 1, 5, 2048};

TEST(test_soak_small_rounds)
{
    ASSERT_EQ(soak_run(&g_cfg), 0);
}

int main(int argc, char **argv)
{
    /* Options out, name filters kept for RUN. */
    int n = 1, sized = 0;
    for (int i = 1; i < argc; i++) {
        uint64_t *opt = strcmp(argv[i], "--tasks") == 0   ? &g_cfg.tasks
                        : strcmp(argv[i], "--items") == 0 ? &g_cfg.items
                                                          : NULL;
        if (opt && i + 1 < argc) {
            sized = 1;
            *opt = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            g_cfg.rounds = atoi(argv[++i]);
        } else {
            argv[n++] = argv[i];
        }
    }
    argc = n;
    if (!sized && soak_on_valgrind()) {
        g_cfg.tasks = 5000;
        g_cfg.items = 50000;
        printf("under valgrind: scaled down to 5000 tasks, 50000 items\n");
    }
    RUN(test_soak_small_rounds);
    return t_done();
}
