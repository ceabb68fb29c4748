#!/bin/sh
# Runs every test program of a build under valgrind's memcheck: no invalid
# access, no use of uninitialised memory, no definite leak. libaq registers
# each task stack with valgrind, so it follows the context switches.
# Usage: tests/valgrind.sh BUILD_DIR. Prints "N passed, M failed".
set -u
build=${1:?usage: tests/valgrind.sh BUILD_DIR}
pass=0
fail=0
# libaq-redis' tests (tests/redis/) run against a real redis-server that
# server.py starts, when the build has them.
for exe in "$build"/tests/test_* "$build"/tests/redis/test_redis_*; do
    [ -x "$exe" ] || continue
    name=$(basename "$exe")
    args=
    # The model test's default 10,000 seeds take minutes under valgrind;
    # a sample of them exercises the same code.
    [ "$name" = test_model ] && args="--seeds 500"
    # The echo example's test drives the example server it is given.
    [ "$name" = test_echo_example ] && args="$build/examples/echo_server"
    wrap=
    case "$exe" in */redis/*) wrap="python3 $(dirname "$0")/redis/server.py" ;; esac
    if $wrap valgrind -q --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite "$exe" $args >"$build/$name.vg" 2>&1
    then
        pass=$((pass + 1))
        echo "ok   $name"
    else
        fail=$((fail + 1))
        echo "FAIL $name (valgrind output follows)"
        tail -40 "$build/$name.vg"
    fi
done
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
