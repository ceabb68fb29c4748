/* libaq - the scale soak: `make soak-scale`, or
 *
 *   soak [tasks] [items] [rounds] [seed]
 *
 * Defaults: 1,000,000 tasks moving 10,000,000 items, 3 rounds, seed 1.
 * See soak.h for what is run and checked. Prints each round's totals,
 * time and RSS; exits 1 on any mismatch or memory growth. Not part of
 * `make test` (tests/test_soak_small.c is its small twin there).
 * MIT licensed.
 */
#include "soak.h"

static int arg_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == '\0' || *s == '-' || *end != '\0')
        return 0;
    *out = v;
    return 1;
}

int main(int argc, char **argv)
{
    struct soak_cfg cfg = {1000000, 10000000, 3, 1, 5, 2048};
    uint64_t rounds = 3;
    if (argc > 5 || (argc > 1 && !arg_u64(argv[1], &cfg.tasks)) ||
        (argc > 2 && !arg_u64(argv[2], &cfg.items)) ||
        (argc > 3 && (!arg_u64(argv[3], &rounds) || rounds > 64)) ||
        (argc > 4 && !arg_u64(argv[4], &cfg.seed))) {
        fprintf(stderr, "usage: soak [tasks] [items] [rounds <= 64] "
                        "[seed]\n");
        return 2;
    }
    cfg.rounds = (int)rounds;
    /* Rounds take minutes: show each line as it comes, even into a pipe. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    return soak_run(&cfg);
}
