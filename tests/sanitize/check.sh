#!/bin/sh
# A user's program (tests/sanitize/user.c) built with -fsanitize=address
# and with -fsanitize=thread, and run under valgrind, against the ordinary
# build BUILD of libaq (not rebuilt for any of them), in the default and
# the compact mode: a leak made inside a task is reported, a race between
# a task and a thread is reported, and a program that does neither gets
# no report at all (items passed from threads to tasks through a shared
# queue, and a result from the pool, included). A sigaction handler that
# calls aq_loop_stop stops a loop asleep without a timer, in each.
# Usage: tests/sanitize/check.sh BUILD SOURCE_DIR
set -u
build=$1
src=$2
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
# DWARF 4: valgrind 3.19 cannot read clang 14's DWARF 5.
user() { # NAME FLAGS...: builds the program against the shared library
    name=$1
    shift
    "$cc" -g -gdwarf-4 -O1 "$@" -I"$src/include" "$src/tests/sanitize/user.c" \
        -L"$build" -laq -Wl,-rpath,"$build" -lpthread -o "$tmp/$name" ||
        { echo "FAIL: cannot build $name"; exit 1; }
}
# expect PATTERN|- LABEL CMD...: the run prints "done", and its output
# holds PATTERN (or, for -, no sanitizer or valgrind report at all).
expect() {
    want=$1
    label=$2
    shift 2
    "$@" >"$tmp/out" 2>&1
    if [ "$want" = - ]; then
        if grep -q '^done$' "$tmp/out" &&
           ! grep -Eq 'ERROR: |WARNING: |SUMMARY: |definitely lost|Invalid ' \
               "$tmp/out"; then
            echo "ok   $label: no report"
            return
        fi
    elif grep -q "$want" "$tmp/out"; then
        echo "ok   $label: $(grep -m1 "$want" "$tmp/out" | sed 's/^==[0-9]*== *//')"
        return
    fi
    echo "FAIL $label (output follows)"
    tail -40 "$tmp/out"
    fail=1
}

user asan -fsanitize=address
user tsan -fsanitize=thread
user plain
for mode in "" compact; do
    m=${mode:-default}
    expect - "ASan, $m mode, no leak" "$tmp/asan" $mode threads
    expect 'ERROR: LeakSanitizer: detected memory leaks' \
        "ASan, $m mode, leak in a task" "$tmp/asan" $mode leak
    expect '400 byte(s) leaked in 4 allocation(s)' \
        "ASan, $m mode, the 4 leaks counted" "$tmp/asan" $mode leak
    expect - "TSan, $m mode, no race" "$tmp/tsan" $mode threads
    expect 'WARNING: ThreadSanitizer: data race' \
        "TSan, $m mode, race between a task and a thread" "$tmp/tsan" $mode race
    if [ -z "$mode" ]; then
        expect - "ASan, stopped by a signal handler" \
            timeout -s KILL 20 "$tmp/asan" signal
        expect - "TSan, stopped by a signal handler" \
            timeout -s KILL 20 "$tmp/tsan" signal
        expect - "TSan, a loop freed while a pool worker posts to it" \
            timeout -s KILL 60 "$tmp/tsan" free
        expect - "TSan, stopped by a thread started before its inbox" \
            timeout -s KILL 20 "$tmp/tsan" stop
        expect - "TSan, 400 tasks parked 300 calls deep, AQ_TSAN_FIBERS=512" \
            timeout -s KILL 60 env AQ_TSAN_FIBERS=512 "$tmp/tsan" deep
    fi
    if command -v valgrind >/dev/null 2>&1; then
        vg="valgrind -q --leak-check=full --errors-for-leak-kinds=definite"
        expect - "valgrind, $m mode, no leak" $vg "$tmp/plain" $mode threads
        expect '400 bytes in 4 blocks are definitely lost' \
            "valgrind, $m mode, leak in a task" $vg "$tmp/plain" $mode leak
    else
        echo "FAIL: valgrind is not installed (tests/deps.sh installs it)"
        fail=1
    fi
done
exit $fail
