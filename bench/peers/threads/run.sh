#!/bin/sh
# Cross-thread peer benchmarks: build and run the peers in this folder.
#
#   OUT=/tmp/aq-peers-threads N= sh bench/peers/threads/run.sh
#
# Installs what is missing with apt-get (librust-crossbeam-channel-dev,
# python3-janus; through sudo unless root), builds everything into $OUT
# (default /tmp/aq-peers-threads), runs each program under taskset -c 0,1
# and prints its lines, "<row> <peer> <ns_per_item>" (each the median of
# 3 runs inside the program), on stdout; build and apt output go to stderr.
# N, if set, is passed on to every program and sets all its rows (defaults:
# 2,000,000 items for bulk rows, 200,000 round trips for pingpong rows,
# 200,000 items for queue_Queue_threads, 20,000 for janus, which costs
# ~100 us per item: see janus_bench.py). Exits non-zero if a build fails
# or a program fails (its own result check, or a bad N); the other
# programs still run.
#
# The Go rows come from ../go (bulk and pingpong with GOMAXPROCS=2), which
# bench/threads.py runs beside these.
#   pthread_condvar.c   thread_pingpong, thread_bulk        peer pthread_condvar
#   spin_floor.c        thread_pingpong, loop_pingpong,     peer floor (two
#                       thread_bulk                         threads spinning)
#   crossbeam/          thread_bulk, thread_pingpong        peer crossbeam
#   janus_bench.py      janus_sync_to_async                 peers janus, queue_Queue_threads
set -eu

here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/aq-peers-threads}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}  # Debian's: python3-janus lives in its dist-packages

# ---- install what is missing -------------------------------------------
sh "$here/../apt-install.sh" librust-crossbeam-channel-dev python3-janus

# ---- build ---------------------------------------------------------------
echo "run.sh: building into $OUT" >&2
gcc -O2 -Wall -pthread "$here/pthread_condvar.c" -o "$OUT/pthread_condvar"
gcc -O2 -Wall -pthread "$here/spin_floor.c" -o "$OUT/spin_floor"
# cargo finds .cargo/config.toml from the working directory, and writes
# Cargo.lock next to Cargo.toml: build a copy in $OUT, not the source tree.
rm -rf "$OUT/crossbeam-src"
mkdir -p "$OUT/crossbeam-src"
cp -R "$here/crossbeam/Cargo.toml" "$here/crossbeam/src" "$here/crossbeam/.cargo" \
    "$OUT/crossbeam-src/"
( cd "$OUT/crossbeam-src" &&
  CARGO_HOME="$OUT/cargo-home" CARGO_TARGET_DIR="$OUT/cargo-target" \
  cargo build --release --offline -q >&2 )
cp "$OUT/cargo-target/release/crossbeam-threads" "$OUT/crossbeam-threads"
"$PYTHON" -c 'import janus' || { echo "run.sh: $PYTHON cannot import janus" >&2; exit 1; }

# ---- run ---------------------------------------------------------------
status=0
run() {
    taskset -c 0,1 "$@" ${N:+"$N"} || { echo "run.sh: $* failed (exit $?)" >&2; status=1; }
}
run "$OUT/pthread_condvar"
run "$OUT/spin_floor"
run "$OUT/crossbeam-threads"
run "$PYTHON" "$here/janus_bench.py"
exit $status
