#!/usr/bin/env python3
"""Cross-thread benchmarks: libaq's shared queues and aq_cores beside their
peers, measured in one run, pinned to cores 0 and 1, as ratios.

    BUILD=build python3 bench/threads.py        (make bench-threads)

Builds bench/aqthreads.c (the libaq rows), the Go peer (bench/peers/go,
run with GOMAXPROCS=2) and the peers of bench/peers/threads/ (pthread
condvar, crossbeam-channel, janus, and the floor: two threads spinning on
bare cache lines, what crossing between the cores costs with nothing else;
run.sh installs what is missing), runs every row, then prints a table: each
row's libaq figure, each peer's, and libaq / peer (below 1: libaq is
faster). Rows:

  thread_bulk      a thread puts, a task (goroutine, thread) gets; 1024 slots
  thread_pingpong  a thread and a task bounce a token; 1 slot each way
  loop_pingpong    a task on each of two loops; Go: two goroutines, 2 Ps
  janus            libaq's thread_bulk against janus's sync_q -> async_q
  fanout           1 us of CPU per item over 8 tasks: 2 loops against 1
  eventfd writes   per item, thread -> task with a busy consumer (strace)

N=... sets the items for every row (a quick pass: N=20000).
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(os.environ.get("BUILD", os.path.join(ROOT, "build")))
OUT = os.environ.get("OUT", "/tmp/aq-peers-threads")
N = os.environ.get("N")
PIN = ["taskset", "-c", "0,1"]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, **kw)


def lines(cmd, env=None):
    """Runs cmd, returns its stdout's '<row> <peer> <ns>' lines as tuples."""
    out = sh(cmd, stdout=subprocess.PIPE, env=env).stdout
    return [tuple(l.split()) for l in out.splitlines() if l.strip()]


def build():
    sh(["cmake", "-S", ROOT, "-B", BUILD, "-DAQ_BUILD_BENCH=ON"],
       stdout=subprocess.DEVNULL)
    sh(["cmake", "--build", BUILD, "-j2", "--target", "aqthreads"],
       stdout=subprocess.DEVNULL)
    sh(["sh", os.path.join(ROOT, "bench/peers/go/run.sh"), OUT],
       stdout=subprocess.DEVNULL)


def go_rows():
    env = dict(os.environ, GOMAXPROCS="2")
    gopeer = os.path.join(OUT, "gopeer")
    rows = []
    for work, row, n in (("bulk", "thread_bulk", "2000000"),
                         ("pingpong", "loop_pingpong", "200000")):
        out = lines(PIN + [gopeer, work, N or n], env)
        rows.append((row, "go", out[0][2]))
    return rows


def aq_rows():
    aq = os.path.join(BUILD, "bench", "aqthreads")
    rows = []
    for row in ("thread_bulk", "thread_pingpong", "loop_pingpong", "fanout"):
        rows += lines(PIN + [aq, row] + ([N] if N else []))
    return rows


def eventfd_writes():
    """eventfd writes per item while the consumer loop is busy: every
    write(2) of aqthreads busy_bulk but its one result line on stdout."""
    aq = os.path.join(BUILD, "bench", "aqthreads")
    n = int(N or 200000)
    r = subprocess.run(["strace", "-f", "-c", "-e", "trace=write"] + PIN +
                       [aq, "busy_bulk", str(n)], text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    m = re.search(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?write$",
                  r.stderr, re.M)
    writes = int(m.group(1)) - 1 if m else None
    return n, writes


def main():
    build()
    peers = lines(["sh", os.path.join(ROOT, "bench/peers/threads/run.sh")],
                  dict(os.environ, OUT=OUT, **({"N": N} if N else {})))
    rows = aq_rows() + go_rows() + peers
    fig = {}
    for row, who, ns in rows:
        fig.setdefault(row, {})[who] = float(ns)
    print(f"{'row':<22}{'libaq ns':>11}  peers (ns; libaq / peer)")
    aq_bulk = fig["thread_bulk"]["libaq"]
    for row in ("thread_bulk", "thread_pingpong", "loop_pingpong"):
        mine = fig[row]["libaq"]
        others = "  ".join(f"{p} {v:.1f} ({mine / v:.2f}x)"
                           for p, v in sorted(fig[row].items())
                           if p != "libaq")
        print(f"{row:<22}{mine:>11.1f}  {others}")
    j = fig.get("janus_sync_to_async", {})
    print(f"{'janus (thread_bulk)':<22}{aq_bulk:>11.1f}  " +
          "  ".join(f"{p} {v:.1f} ({v / aq_bulk:.0f}x slower)"
                    for p, v in sorted(j.items())))
    one, two = fig["fanout_1loop"]["libaq"], fig["fanout_2loops"]["libaq"]
    print(f"{'fanout 2 loops':<22}{two:>11.1f}  1 loop {one:.1f} "
          f"(speed-up {one / two:.2f}x)")
    n, writes = eventfd_writes()
    if writes is None:
        print("eventfd writes: strace missing or unreadable")
    else:
        print(f"{'eventfd writes':<22}{writes:>11d}  for {n} items "
              f"({100.0 * writes / n:.3f}% per item, consumer busy)")


if __name__ == "__main__":
    sys.exit(main())
