#!/bin/sh
# Keeps the examples' promise: each prints exactly what its Python twin
# (examples/python/<name>.py) prints.
#
#   tests/examples/check.sh BUILD_DIR   runs BUILD_DIR/examples/<name> for
#       every <name>.expected here and diffs its stdout against the file.
#       Prints one line per example, then "N passed, M failed"; exits 1 if
#       any failed (or was not built), 2 on bad usage.
#   tests/examples/check.sh --regenerate
#       rewrites every <name>.expected from the Python twin (needs python3
#       3.11 or later; set PYTHON to use another interpreter). -P keeps
#       the twins' folder off sys.path, so select.py cannot shadow the
#       standard module of that name.
#
# Plain POSIX sh and diff: no CMake needed. AQ_EXAMPLE_RUNNER, if set, is
# put before each example's path (an emulator for a cross build).

here=$(cd "$(dirname "$0")" && pwd)
pydir=$here/../../examples/python

if [ "$1" = "--regenerate" ]; then
    for py in "$pydir"/*.py; do
        name=$(basename "$py" .py)
        echo "regenerating $name.expected"
        "${PYTHON:-python3}" -P "$py" >"$here/$name.expected" || exit 1
    done
    exit 0
fi

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 BUILD_DIR | --regenerate" >&2
    exit 2
fi
bindir=$1/examples

# A hung example must fail the run, not stall it; the slowest one (fanout)
# takes about 5 s.
if command -v timeout >/dev/null 2>&1; then
    limit="timeout 60"
else
    limit=
fi

out=$(mktemp) || exit 2
trap 'rm -f "$out"' EXIT INT TERM

passed=0
failed=0
for expected in "$here"/*.expected; do
    name=$(basename "$expected" .expected)
    if [ ! -x "$bindir/$name" ]; then
        echo "FAIL $name: $bindir/$name was not built"
        failed=$((failed + 1))
        continue
    fi
    $limit ${AQ_EXAMPLE_RUNNER:-} "$bindir/$name" >"$out"
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "FAIL $name: exit status $rc"
        failed=$((failed + 1))
    elif diff -u "$expected" "$out" >/dev/null; then
        echo "ok   $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name: output differs from $name.expected (- Python, + C)"
        diff -u "$expected" "$out" | sed '1,2d'
        failed=$((failed + 1))
    fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
