#!/bin/sh
# libaq - checks tests/spin/handoff.pml exhaustively with SPIN: assertions
# and invalid end states (deadlocks, lost wake-ups), full state space (no
# bitstate hashing, no depth bound hit). MIT licensed.
#
# Usage: tests/spin/run.sh [-DNAME[=VALUE] ...]
#   With no option, two searches: the model as it is (K=2 items per
#   producer; main shuts the queue down after joining the producers), then
#   -DSHUT_RACE=1 -DK=1 (the shutdown races the puts: vt_shutdown's
#   complete_all on putters that sleep or doze, its wake_dozers). With
#   options, one search, of the variant they select (they go to spin's
#   preprocessor: -DK=1, -DDOZE_TIMEOUT=0, -DDL_IN_DOZE=1, -DSHUT_RACE=1;
#   handoff.pml's header says what each means). The model follows the C
#   code as it is (handoff.pml's header says which commit, and what is and
#   is not modelled).
# Exit status: 0 every search completed with no error; 1 pan found an
# error (its trail is replayed, and the work directory kept); 2 a search
# was not complete, or a tool failed.
#
# About 35 s and 1.3 GB with no option on one core (26 million states
# stored, then 2 million); pan stops, and the run fails, if it needs more
# than 2000 MB.
set -eu

here=$(cd "$(dirname "$0")" && pwd)

if ! command -v spin >/dev/null 2>&1; then
    sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get install -y spin ||
        { $sudo apt-get update && $sudo apt-get install -y spin; }
fi
command -v gcc >/dev/null 2>&1 || { echo "run.sh: gcc is missing" >&2; exit 2; }

work=
keep=0
cleanup() { [ "$keep" = 1 ] || [ -z "$work" ] || rm -rf "$work"; }
trap cleanup EXIT

# check [-DNAME[=VALUE] ...]: one exhaustive search of the variant the
# options select; exits the script on an error or an incomplete search.
check() {
    cleanup
    work=$(mktemp -d "${TMPDIR:-/tmp}/aq-spin.XXXXXX")
    cp "$here/handoff.pml" "$work/"
    cd "$work"

    # -a: generate the verifier; the -D options select the model's variant.
    echo "+ spin -a $* handoff.pml"
    spin -a "$@" handoff.pml >spin.out 2>&1 || { cat spin.out; exit 2; }

    # SAFETY: assertions and invalid end states only (no never claim), so
    # no cycle detection is needed; COLLAPSE: lossless state compression
    # (the search stays exhaustive, unlike BITSTATE or HC); MEMLIM: stop
    # cleanly (reported below as incomplete) rather than be killed.
    CFLAGS_PAN="-O2 -w -DSAFETY -DCOLLAPSE -DMEMLIM=2000"
    echo "+ gcc $CFLAGS_PAN -o pan pan.c"
    # shellcheck disable=SC2086
    gcc $CFLAGS_PAN -o pan pan.c || exit 2

    # -m: depth bound (the deepest path is under 1000 steps; hitting the
    # bound is reported and fails the run); -w25: 2^25 hash slots; pan
    # stops at the first error (-c1, its default).
    echo "+ ./pan -m100000 -w25"
    start=$(date +%s)
    ./pan -m100000 -w25 >pan.out 2>&1 || true
    end=$(date +%s)
    cat pan.out
    echo "run.sh: pan ran $((end - start)) s"

    if grep -q "errors: [1-9]" pan.out || [ -f handoff.pml.trail ]; then
        keep=1
        echo
        echo "run.sh: FAIL: pan found an error; the counterexample" \
            "(spin -t -p):"
        spin -t -p "$@" handoff.pml >trail.txt 2>&1 || true
        # One line per step: process, model line, statement.
        grep -E '^ *[0-9]+:[[:space:]]+proc' trail.txt |
            sed -E 's/^ *([0-9]+):[[:space:]]+proc +([0-9]+) \(([A-Za-z:]+)[^)]*\) handoff\.pml:([0-9]+) \(state [0-9]+\)[[:space:]]*/\1 \3 line \4 /' |
            grep -v ' :init: ' | tail -n 60
        grep -E 'assertion violated|invalid end state|text of failed' \
            trail.txt || true
        echo "run.sh: full trail in $work/trail.txt (replay: cd $work &&" \
            "spin -t -p $* handoff.pml)"
        exit 1
    fi
    if ! grep -q "errors: 0" pan.out ||
        grep -q "max search depth too small" pan.out ||
        grep -q "Search not completed" pan.out ||
        grep -q "reached -DMEMLIM bound" pan.out ||
        grep -q "out of memory" pan.out; then
        keep=1
        echo "run.sh: FAIL: the search was not complete (see $work/pan.out)"
        exit 2
    fi
    echo "run.sh: OK (${*:-no option}): exhaustive search, no assertion" \
        "violated, no invalid end state"
    cd "$here"
}

if [ "$#" -gt 0 ]; then
    check "$@"
else
    check
    check -DSHUT_RACE=1 -DK=1
fi
