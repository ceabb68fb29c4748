#!/bin/sh
# examples/resp_queue_server against redis-server on the same machine,
# both single-threaded, driven by the same redis-benchmark run:
#
#   redis-benchmark -h 127.0.0.1 -p P -t ping_inline,lpush,rpop \
#       -c 50 -n 200000 --csv
#
# (the rpop test pops what the lpush test pushed). Each server is started
# fresh for each run (redis-server with --save '' --appendonly no), the
# runs alternate between the two servers, and the median of RUNS runs is
# printed per test: requests per second and p99 latency for each server,
# then the ratios libaq / redis-server and the targets' verdicts (rps at
# least 0.9x redis-server's, p99 at most 1.5x). Markdown, ready for
# bench/RESULTS.md; progress goes to stderr.
#
#   bench/resp_vs_redis.sh [BUILD_DIR]      (default: build)
#
# Environment: RUNS (5), N (200000), CLIENTS (50), TESTS
# (ping_inline,lpush,rpop), SERVER_CPU (0) and CLIENT_CPU (1): each
# server is pinned to SERVER_CPU and redis-benchmark to CLIENT_CPU with
# taskset, so server and client do not share a core and the server does
# not migrate. Needs redis-server, redis-benchmark, redis-cli and taskset
# (.ci/run installs the redis-tools and redis-server packages).
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
RUNS=${RUNS:-5}
N=${N:-200000}
CLIENTS=${CLIENTS:-50}
TESTS=${TESTS:-ping_inline,lpush,rpop}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

for tool in redis-server redis-benchmark redis-cli taskset python3; do
    command -v $tool >/dev/null 2>&1 || {
        echo "resp_vs_redis.sh: $tool not found" >&2
        exit 1
    }
done
# An instrumented build would measure the instrumentation.
if grep -Eq '^(AQ_SANITIZE:BOOL=ON|AQ_TSAN:BOOL=ON|CMAKE_BUILD_TYPE:STRING=Debug)' \
    "$build/CMakeCache.txt" 2>/dev/null; then
    echo "resp_vs_redis.sh: $build is a Debug or sanitizer build" >&2
    exit 1
fi
cmake --build "$build" --target resp_queue_server -j2 >&2
server_bin=$build/examples/resp_queue_server

tmp=$(mktemp -d)
pid=
cleanup() {
    [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_ready() { # port (sh has no locals: tries is this function's own)
    tries=0
    until redis-cli -h 127.0.0.1 -p "$1" PING >/dev/null 2>&1; do
        tries=$((tries + 1))
        [ $tries -lt 200 ] || { echo "server on port $1 did not start" >&2; exit 1; }
        sleep 0.05
    done
}

# run NAME INDEX: one server started, benchmarked, stopped; CSV kept.
run() {
    port=$(free_port)
    if [ "$1" = redis ]; then
        taskset -c "$SERVER_CPU" redis-server --port "$port" \
            --bind 127.0.0.1 --save '' --appendonly no \
            --loglevel warning >"$tmp/server.log" 2>&1 &
    else
        taskset -c "$SERVER_CPU" "$server_bin" "$port" \
            >"$tmp/server.log" 2>&1 &
    fi
    pid=$!
    wait_ready "$port"
    taskset -c "$CLIENT_CPU" redis-benchmark -h 127.0.0.1 -p "$port" \
        -t "$TESTS" -c "$CLIENTS" -n "$N" --csv >"$tmp/$1.$2.csv"
    kill -TERM "$pid"
    wait "$pid" || true
    pid=
}

i=1
while [ $i -le "$RUNS" ]; do
    echo "run $i of $RUNS: redis-server" >&2
    run redis $i
    echo "run $i of $RUNS: resp_queue_server" >&2
    run libaq $i
    i=$((i + 1))
done

python3 - "$tmp" "$RUNS" <<'EOF'
import csv, statistics, sys, os
tmp, runs = sys.argv[1], int(sys.argv[2])
def load(name):
    rows = {}
    for i in range(1, runs + 1):
        with open(os.path.join(tmp, "%s.%d.csv" % (name, i))) as f:
            for r in csv.DictReader(f):
                t = rows.setdefault(r["test"], {"rps": [], "p99": []})
                t["rps"].append(float(r["rps"]))
                t["p99"].append(float(r["p99_latency_ms"]))
    return rows
redis, aq = load("redis"), load("libaq")
print("| test | redis-server rps | libaq rps | rps ratio | "
      "redis-server p99 ms | libaq p99 ms | p99 ratio | targets |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for test in redis:
    r, a = redis[test], aq[test]
    rr, ar = statistics.median(r["rps"]), statistics.median(a["rps"])
    rp, ap = statistics.median(r["p99"]), statistics.median(a["p99"])
    ok_rps, ok_p99 = ar >= 0.9 * rr, ap <= 1.5 * rp
    verdict = "%s, %s" % ("rps met" if ok_rps else "rps NOT met",
                          "p99 met" if ok_p99 else "p99 NOT met")
    print("| %s | %.0f | %.0f | %.2f | %.3f | %.3f | %.2f | %s |" %
          (test, rr, ar, ar / rr, rp, ap, ap / rp, verdict))
print()
print("Every run (rps): " + "; ".join(
    "%s redis-server %s, libaq %s" % (
        t, " ".join("%.0f" % x for x in redis[t]["rps"]),
        " ".join("%.0f" % x for x in aq[t]["rps"])) for t in redis))
EOF
