#!/bin/sh
# The thread soak: runs tests/test_thread_stress.c (shared queues used by
# plain threads and by the tasks of two loops) over and over, each round
# with a fresh seed, until SECONDS have passed; prints each round's seed
# and figures and a summary line. The first failing round stops the soak,
# with the test's own message (it names the seed: STRESS_SEED=<seed>
# replays its choices). Run by `make soak-threads`.
# Usage: tests/soak/threads.sh TEST_BINARY [SECONDS [OPS_PER_ROUND]]
set -eu
bin=$1
secs=${2:-600}
ops=${3:-}
[ -x "$bin" ] || { echo "soak-threads: no $bin" >&2; exit 1; }
[ -n "$ops" ] && export STRESS_OPS="$ops"

start=$(date +%s)
end=$((start + secs))
rounds=0 total_ops=0 total_moved=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "soak-threads: $bin for $secs s${ops:+, $ops ops a round}"
while [ "$(date +%s)" -lt "$end" ]; do
    rounds=$((rounds + 1))
    if ! "$bin" >"$out" 2>&1; then
        cat "$out"
        echo "soak-threads: FAILED in round $rounds after" \
             "$(($(date +%s) - start)) s (the seed is named above)"
        exit 1
    fi
    # test_thread_stress: seed S ops N moved M secs T | counters...
    set -- $(grep ' moved ' "$out")
    total_ops=$((total_ops + $5))
    total_moved=$((total_moved + $7))
    printf 'round %d: seed %s, ops %s, moved %s, %s s\n' \
        "$rounds" "$3" "$5" "$7" "$9"
done
echo "soak-threads: $rounds rounds, $total_ops ops, $total_moved items" \
     "moved, $(($(date +%s) - start)) s, no failure"
