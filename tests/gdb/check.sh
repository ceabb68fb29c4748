#!/bin/sh
# The gdb extension (tools/gdb/libaq-gdb.py) on a program with parked tasks
# (tests/gdb/parked.c): aq-tasks lists them by name (a sleep's deadline
# in seconds from now, as aq_loop_dump says it), aq-bt shows the
# function each one is parked in (and the running one's, from its
# thread), refuses what is not a task, and the program then goes on to
# its end, its own registers put back. On a core of it made by gcore,
# aq-tasks lists the same, and aq-bt says it needs a live process.
# Usage: tests/gdb/check.sh PARKED
set -eu
parked=${1:?usage: tests/gdb/check.sh PARKED}
ext=$(dirname "$0")/../../tools/gdb/libaq-gdb.py
core=$(mktemp -u /tmp/aq-gdb-core.XXXXXX)
trap 'rm -f "$core"' EXIT
# AQ_GDB_CORE=0 (set under ASan, whose shadow mappings would make the core
# terabytes long) leaves the core out.
if [ "${AQ_GDB_CORE:-1}" = 1 ]; then
    make_core="gcore $core"
else
    make_core='echo no core (AQ_GDB_CORE=0)\n'
fi
# The stacks guarded with mprotect, so that gcore can read them (see the
# extension's header on MADV_GUARD_INSTALL).
out=$(AQ_STACK_GUARDS=mprotect gdb -q -batch -nx \
    -ex 'set debuginfod enabled off' \
    -ex 'break stop_here' -ex run -ex "source $ext" \
    -ex 'aq-tasks' -ex 'aq-bt 2' -ex 'aq-bt 3' -ex 'aq-bt 1' \
    -ex 'aq-bt 0x1234' -ex 'aq-tasks (long)aq__thread_loop' \
    -ex 'aq-tasks 0' -ex "$make_core" -ex continue \
    "$parked" 2>&1)
printf '%s\n' "$out"
fail=0
for want in '"consumer" parked on get from queue 0x' \
    '"sleeper" parked on sleep, deadline in 9.' \
    'in consumer_parked_here ()' 'in sleeper_parked_here ()' \
    '(no name) running, on thread 1' '#0  stop_here () at' \
    'aq-bt: 0x1234 is not a task' 'aq-tasks: 0 is NULL, not a loop' \
    'exited normally'; do
    if ! printf '%s\n' "$out" | grep -qF "$want"; then
        echo "FAIL: the output lacks: $want"
        fail=1
    fi
done
# A loop given as a bare address (an integer to gdb, as aq_loop_dump
# prints it) lists the same tasks (it raised a Python exception).
if [ "$(printf '%s\n' "$out" | grep -c '^libaq loop 0x.*: 3 tasks')" != 2 ]
then
    echo "FAIL: aq-tasks with the loop's address did not list its tasks"
    fail=1
fi
# The same program's core: aq-tasks reads it; aq-bt says it needs a
# process (gdb -batch then fails, with its last command).
if [ "${AQ_GDB_CORE:-1}" = 1 ]; then
    incore=$(gdb -q -batch -nx -ex 'set debuginfod enabled off' \
        -ex "source $ext" -ex 'aq-tasks' -ex 'aq-bt 2' "$parked" "$core" \
        2>&1 || true)
    printf '%s\n' "$incore"
    for want in '"consumer" parked on get from queue 0x' \
        '"sleeper" parked on sleep, deadline at ' \
        'aq-bt needs a live process'; do
        if ! printf '%s\n' "$incore" | grep -qF "$want"; then
            echo "FAIL: on the core, the output lacks: $want"
            fail=1
        fi
    done
fi
# Each backtrace ends at the task's first frame, without the zero return
# address below it (a frame at 0x0 and "Cannot access memory").
if printf '%s\n' "$out" | grep -v 'is not a task' |
    grep -qE 'Cannot access memory|^#[0-9]+ +0x0+ in \?\?'; then
    echo "FAIL: a backtrace runs past aq__task_entry"
    fail=1
fi
printf '%s\n' "$out" | grep -q 'in aq__task_entry ()' ||
    { echo "FAIL: no backtrace reaches aq__task_entry"; fail=1; }
# "done" is printed after the tasks were cancelled and waited for: the
# thread's registers were restored after each aq-bt.
printf '%s\n' "$out" | grep -qx 'done' || { echo "FAIL: no done"; fail=1; }
exit $fail
