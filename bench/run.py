#!/usr/bin/env python3
"""Runs libaq's benchmarks beside their floor (bench/floor.c) and the Go,
Rust (async-channel, tokio) and asyncio peers (`make bench`), or checks
instruction counts against bench/budgets.txt (`make bench-check`).

Usage:  run.py [bench|check]

Environment:
  BUILD        CMake build directory, relative to the repository root or
               absolute (default: build). aqbench is BUILD/bench/aqbench,
               the floor BUILD/bench/floor, the Go peer
               BUILD/bench-go/gopeer, the Rust peers BUILD/bench-rust/rustpeer.
  BENCH_QUICK  1: one run per implementation with small fixed N, to try the
               harness out in seconds. The figures are then only indicative.

Standard library only. See bench/README.md for what is measured and how.
"""

import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
QUICK = os.environ.get("BENCH_QUICK", "0") not in ("", "0")
AQBENCH = os.path.join(BUILD, "bench", "aqbench")
GO_DIR = os.path.join(BUILD, "bench-go")
GOPEER = os.path.join(GO_DIR, "gopeer")
FLOOR = os.path.join(BUILD, "bench", "floor")
RUST_DIR = os.path.join(BUILD, "bench-rust")
RUSTPEER = os.path.join(RUST_DIR, "rustpeer")
PYPEER = os.path.join(ROOT, "bench", "peers", "asyncio_bench.py")
BUDGETS = os.path.join(ROOT, "bench", "budgets.txt")

RUNS = 1 if QUICK else 5
RUN_TIMEOUT = 300  # seconds; a run this long means something is stuck
TARGET_NS = 0.4e9  # aim of a calibrated run: inside the 0.2-1 s window

# Workloads whose cost per item does not depend on N: each implementation
# gets its own N, calibrated from a probe run so one run takes ~TARGET_NS.
STEADY = ["switch", "handoff", "pingpong", "bulk", "bulk64", "fanout",
          "select2", "selpingpong", "lock", "sem", "lockhandoff",
          "group1000"]
# Probe N per implementation: small enough to finish in ~0.1 s on a slow
# machine, large enough that start-up is noise. Also the quick-mode N.
PROBE_N = {"libaq": 1000000, "floor": 1000000, "go": 200000,
           "async-channel": 200000, "tokio": 200000, "asyncio": 10000}
QUICK_N = {"libaq": 200000, "floor": 200000, "go": 100000,
           "async-channel": 100000, "tokio": 100000, "asyncio": 5000}
# Workloads whose item is much bigger: group1000's item is a whole group
# of 1,000 tasks (0.3-0.7 ms).
PROBE_N_OF = {"group1000": {"libaq": 100, "asyncio": 10, "go": 100}}
QUICK_N_OF = {"group1000": {"libaq": 20, "asyncio": 5, "go": 20}}
MAX_N = 10**9

# Workloads whose result depends on N itself, so every implementation runs
# the same N: a heap costs O(log N) per item; spawn's memory figure and
# stack-pool behaviour change with N (libaq's pool keeps 1024 stacks, and
# its first 16384 stacks have guard pages, the rest come from slabs); a
# timer run lasts ~100 ms whatever N is, so ns per timer is elapsed / N and
# only compares at equal N.
FIXED_N = {"priority": 500000, "spawn": 10000, "spawn-compact": 10000,
           "timers": 10000}
FIXED_N_QUICK = {"priority": 50000, "spawn": 2000, "spawn-compact": 2000,
                 "timers": 2000}

WORKLOADS = STEADY + ["priority", "spawn", "spawn-compact", "timers"]
# libaq's compact mode and batch calls have no twin in the peers: their
# rows compare them with the peers' plain spawn and bulk, which do the same
# work (Go has no batch receive; asyncio users loop over get_nowait).
LIBAQ_ONLY = {"spawn-compact": "spawn", "bulk64": "bulk"}
# In the table's order: libaq, its floor, then the peers, nearest first.
IMPLS = ["libaq", "floor", "go", "async-channel", "tokio", "asyncio"]
PEERS = ["go", "async-channel", "tokio", "asyncio"]
# Workloads a peer does not have: asyncio has no select over queues, and
# its peer has no sync workloads yet.
SYNC = {"lock", "sem", "lockhandoff", "group1000"}
NOT_IN = {"asyncio": {"select2", "selpingpong"} | SYNC}
# The floor and the Rust peers have only these (bench/floor.c,
# bench/peers/rust/src/main.rs say why). A yield is tokio's whatever the
# channel, so switch is in the tokio column only.
ONLY_IN = {"floor": {"bulk", "switch", "handoff", "pingpong", "priority"},
           "tokio": {"switch", "handoff", "pingpong", "bulk", "fanout",
                     "spawn"},
           "async-channel": {"handoff", "pingpong", "bulk", "fanout",
                             "spawn"}}
# The exit status of a program that has no such workload on this machine
# (floor's switch rows off x86-64): the cell reads n/a.
EXIT_NA = 3


def runs_workload(impl, w):
    if impl != "libaq" and w in LIBAQ_ONLY:
        return False
    if w in NOT_IN.get(impl, ()):
        return False
    return impl not in ONLY_IN or w in ONLY_IN[impl]

# bench-check: callgrind at two N; the difference cancels start-up.
CHECK_WORKLOADS = ["handoff", "pingpong", "bulk", "bulk64", "priority",
                   "select2", "selpingpong", "lock", "sem", "lockhandoff",
                   "group1000", "dropoldest"]
CHECK_N_BASE, CHECK_N = 1000, 21000
# A group of 1,000 tasks is an item of ~10^5 instructions: fewer of them.
CHECK_N_OF = {"group1000": (10, 110)}
# The only instructions that vary between runs are glibc's formatting of
# the printed timing (its digits differ): a few dozen in all. Two runs
# whose totals differ by at most this many instructions count as the same
# (0.05 per item at the usual N = 1000 and 21000).
SAME_IR = 1000


def say(*args):
    print(*args, flush=True)


def die(msg):
    print(f"run.py: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def run_cmd(cmd, **kw):
    """Runs cmd from ROOT; returns the CompletedProcess (text mode)."""
    return subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True, **kw)


# ---- building --------------------------------------------------------------

def cmake_cache():
    cache = {}
    try:
        with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
            for line in f:
                m = re.match(r"([A-Za-z_0-9]+):[A-Z]+=(.*)", line)
                if m:
                    cache[m.group(1)] = m.group(2).strip()
    except OSError:
        pass
    return cache


def build_libaq():
    """Configures BUILD with the benchmarks on and builds aqbench. Refuses a
    debug or sanitizer tree rather than reconfigure one someone else uses:
    its figures would measure the instrumentation."""
    say(f"building aqbench and floor in {os.path.relpath(BUILD, ROOT)} ...")
    for cmd in (["cmake", "-S", ".", "-B", BUILD, "-DAQ_BUILD_BENCH=ON"],
                ["cmake", "--build", BUILD, "-j2", "--target", "aqbench",
                 "floor"]):
        p = run_cmd(cmd)
        if p.returncode != 0:
            sys.stderr.write(p.stdout + p.stderr)
            die(f"{' '.join(cmd)} failed")
    cache = cmake_cache()
    btype = cache.get("CMAKE_BUILD_TYPE", "")
    if btype not in ("Release", "RelWithDebInfo", "MinSizeRel"):
        die(f"{BUILD} has CMAKE_BUILD_TYPE={btype or '(none)'}; benchmarks "
            "need an optimised library: use another BUILD=dir or "
            "reconfigure with -DCMAKE_BUILD_TYPE=RelWithDebInfo")
    if cache.get("AQ_SANITIZE", "OFF").upper() in ("ON", "1", "TRUE", "YES"):
        die(f"{BUILD} is built with AQ_SANITIZE=ON; use another BUILD=dir")
    return cache


def build_peer(what, script, out_dir, skipped):
    """Builds a compiled peer with its script (`sh bench/peers/SCRIPT
    OUT_DIR`); returns False, after saying why, when the script exits 3
    (no toolchain, or a missing package: bench/peers/deps.sh)."""
    say(f"building {what} in {os.path.relpath(out_dir, ROOT)} ...")
    p = run_cmd(["sh", os.path.join(ROOT, "bench", "peers", script),
                 out_dir])
    if p.returncode == 3:
        why = p.stderr.strip().splitlines()[-1:] or ["no toolchain"]
        say(f"{what}: {why[0]}: {skipped} skipped")
        return False
    if p.returncode != 0:
        sys.stderr.write(p.stdout + p.stderr)
        die(f"building {what} failed")
    return True


def build_go():
    return build_peer("the Go peer", "go/run.sh", GO_DIR, "go")


def build_rust():
    return build_peer("the Rust peers", "rust/run.sh", RUST_DIR,
                      "async-channel and tokio")


def rust_versions():
    """rustc's version and the crates' as cargo resolved them."""
    crates = {}
    try:
        with open(os.path.join(RUST_DIR, "src-copy", "Cargo.lock")) as f:
            for m in re.finditer(r'name = "([^"]+)"\nversion = "([^"]+)"',
                                 f.read()):
                crates[m.group(1)] = m.group(2)
    except OSError:
        pass
    return (f"{first_line(['rustc', '--version'])}; tokio "
            f"{crates.get('tokio', '?')}, async-channel "
            f"{crates.get('async-channel', '?')} (Debian's crates, release "
            "build), tokio current-thread runtime")


# ---- machine description ---------------------------------------------------

def first_line(cmd):
    try:
        p = subprocess.run(cmd, text=True, capture_output=True, timeout=30)
        return (p.stdout or p.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def cpu_model():
    model, cores = "unknown", 0
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                key = key.strip()
                if key == "model name" and model == "unknown":
                    model = val.strip()
                elif key == "processor":
                    cores += 1
    except OSError:
        pass
    return f"{model} ({cores} logical CPUs)"


def header(cache, have_go, have_rust, py_loop, go_sync):
    cc = cache.get("CMAKE_C_COMPILER", "cc")
    uname = first_line(["uname", "-srm"])
    say()
    say("## libaq benchmarks" + (" (QUICK mode: indicative only)" if QUICK
                                 else ""))
    say()
    say(f"- date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    say(f"- uname -srm: {uname}")
    say(f"- cpu: {cpu_model()}")
    say(f"- compiler: {first_line([cc, '--version'])} "
        f"({os.path.realpath(shutil.which(cc) or cc)})")
    say(f"- libaq build: {cache.get('CMAKE_BUILD_TYPE', '?')}, aqbench -O2, "
        "default stack size; spawn keeps N stacks warm (as Go keeps dead "
        "goroutines)")
    say("- floor: bench/floor.c, plain single-threaded C, -O2, the same "
        "compiler; no libaq")
    say(f"- rust: {rust_versions() if have_rust else 'skipped'}")
    say(f"- python: {platform.python_version()} (loop={py_loop})")
    say(f"- go: {first_line(['go', 'version']) if have_go else 'skipped'}"
        + (f"; sem and group1000 peers: {go_sync}" if have_go else ""))
    say(f"- runs: {RUNS} per cell, median" + ("" if QUICK else
        "; N calibrated per implementation for ~0.4 s a run, except "
        "priority, spawn and timers (same N for all)"))
    say()


# ---- running ---------------------------------------------------------------

def command(impl):
    return {"libaq": [AQBENCH], "floor": [FLOOR],
            "asyncio": [sys.executable, PYPEER], "go": [GOPEER],
            "tokio": [RUSTPEER, "tokio"],
            "async-channel": [RUSTPEER, "async-channel"]}[impl]


class RunError(Exception):
    pass


class NotAvailable(RunError):
    """The program has no such workload on this machine (exit EXIT_NA)."""


def run_once(impl, workload, n):
    """One run; returns (fields as floats, stderr)."""
    cmd = command(impl) + [workload, str(n)]
    env = dict(os.environ, GOMAXPROCS="1")
    try:
        p = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True,
                           timeout=RUN_TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        raise RunError(f"{impl} {workload} {n}: timed out")
    words = p.stdout.split()
    if p.returncode == EXIT_NA:
        raise NotAvailable(p.stderr.strip())
    if p.returncode != 0 or len(words) < 3 or words[:2] != [workload, str(n)]:
        raise RunError(f"{impl} {workload} {n}: exit {p.returncode}: "
                       f"{(p.stdout + p.stderr).strip()}")
    return [float(w) for w in words[2:]], p.stderr


def nice(n):
    """n rounded down to two significant digits, so printed N read well."""
    n = int(n)
    if n < 100:
        return max(n, 1)
    scale = 10 ** (len(str(n)) - 2)
    return n // scale * scale


def choose_n(impl, workload):
    if workload in FIXED_N:
        return (FIXED_N_QUICK if QUICK else FIXED_N)[workload]
    if QUICK:
        return QUICK_N_OF.get(workload, QUICK_N)[impl]
    probe = PROBE_N_OF.get(workload, PROBE_N)[impl]
    fields, _ = run_once(impl, workload, probe)
    per_item = max(fields[0], 0.1)
    return min(max(nice(TARGET_NS / per_item), probe), MAX_N)


def attempt(impl, workload, fn, results, failed):
    """fn()'s value, or None after recording why not: n/a in results if
    the program has no such workload here, else the error in failed."""
    try:
        return fn()
    except NotAvailable as e:
        results[(impl, workload)] = NA
        say(f"{impl} {workload}: {e}")
    except RunError as e:
        failed.append(str(e))
        say(f"ERROR {e}")
    return None


def measure(workload, impls, results, failed):
    """Measures workload in every implementation of impls: N chosen for
    each, then RUNS rounds of one run of each in turn, so that a slow
    spell of the machine (a VM's neighbours) falls on every implementation
    alike instead of on one cell, and the ratios stay true. Stores (N,
    per-field medians), or NA, in results[(impl, workload)]."""
    ns, runs = {}, {}
    for impl in impls:
        sys.stderr.write(f"  {workload} / {impl} ...\n")
        sys.stderr.flush()
        n = attempt(impl, workload, lambda: choose_n(impl, workload),
                    results, failed)
        if n is not None:
            ns[impl], runs[impl] = n, []
    for _ in range(RUNS):
        for impl in list(runs):  # quick mode finds n/a here: no probe run
            got = attempt(impl, workload,
                          lambda: run_once(impl, workload, ns[impl])[0],
                          results, failed)
            if got is None:
                del runs[impl]
            else:
                runs[impl].append(got)
    for impl, got in runs.items():
        results[(impl, workload)] = (
            ns[impl], [statistics.median(col) for col in zip(*got)])


# A cell whose program said it has no such workload on this machine.
NA = "n/a"


def fmt(v):
    if v is None:
        return "-"
    if v == NA:
        return NA
    return f"{v:.1f}" if abs(v) < 1e5 else f"{v:.0f}"


def ratio(peer, mine):
    if NA in (peer, mine):
        return NA
    if peer is None or mine is None or mine <= 0 or peer < 0:
        return "-"
    r = peer / mine
    return f"{r:.2f}" if r < 100 else f"{r:.0f}"


# Table rows: (label, workload, field index).
ROWS = [
    ("switch, ns/switch", "switch", 0),
    ("handoff, ns/item", "handoff", 0),
    ("pingpong, ns/round trip", "pingpong", 0),
    ("bulk, ns/item", "bulk", 0),
    ("bulk64 (put_many/get_many), ns/item", "bulk64", 0),
    ("fanout, ns/item", "fanout", 0),
    ("select2, ns/put + select", "select2", 0),
    ("selpingpong, ns/round trip", "selpingpong", 0),
    ("lock, ns/acquire + release", "lock", 0),
    ("sem, ns/acquire + release", "sem", 0),
    ("lockhandoff, ns/acquisition", "lockhandoff", 0),
    ("group1000, ns/group", "group1000", 0),
    ("priority, ns/item", "priority", 0),
    ("spawn cold, ns/task", "spawn", 0),
    ("spawn warm, ns/task", "spawn", 1),
    ("spawn, bytes/task", "spawn", 2),
    ("spawn compact cold, ns/task", "spawn-compact", 0),
    ("spawn compact warm, ns/task", "spawn-compact", 1),
    ("spawn compact, bytes/task", "spawn-compact", 2),
    ("timers, ns/timer", "timers", 0),
    ("timers, mean lateness us", "timers", 1),
]


def bench():
    cache = build_libaq()
    have_go = build_go()
    have_rust = build_rust()
    impls = [i for i in IMPLS if (i != "go" or have_go) and
             (i not in ("tokio", "async-channel") or have_rust)]
    try:
        _, err = run_once("asyncio", "switch", 10)
        m = re.search(r"loop=(\w+)", err)
        py_loop = m.group(1) if m else "?"
    except RunError as e:
        die(str(e))
    go_sync = "-"
    if have_go:
        try:
            _, err = run_once("go", "lock", 10)
            m = re.search(r"syncpeers=(.*)", err)
            go_sync = m.group(1).strip() if m else "?"
        except RunError as e:
            die(str(e))
    header(cache, have_go, have_rust, py_loop, go_sync)

    results, failed = {}, []
    for w in WORKLOADS:
        todo = []
        for impl in IMPLS:
            if not runs_workload(impl, w):
                continue
            if impl not in impls:  # its toolchain is missing: said above
                results[(impl, w)] = NA
                continue
            todo.append(impl)
        measure(w, todo, results, failed)

    def result(impl, w):
        if impl != "libaq":
            w = LIBAQ_ONLY.get(w, w)
        return results.get((impl, w))

    def cell(impl, w, i):
        """A figure, NA, or None (not measured)."""
        r = result(impl, w)
        if r == NA:
            return NA
        return r[1][i] if r and i < len(r[1]) else None

    def val(impl, w, i):
        """A figure or None, for arithmetic."""
        v = cell(impl, w, i)
        return None if v == NA else v

    def n_of(impl, w):
        r = result(impl, w)
        return NA if r == NA else str(r[0]) if r else "-"

    say("| workload | " + " | ".join(IMPLS) + " | libaq/floor | "
        + " | ".join(f"{p}/libaq" for p in PEERS) + " | N "
        + " / ".join(IMPLS) + " |")
    say("|---|" + "---:|" * (len(IMPLS) + 1 + len(PEERS)) + "---|")
    for label, w, i in ROWS:
        mine = cell("libaq", w, i)
        cells = [fmt(cell(impl, w, i)) for impl in IMPLS]
        ratios = [ratio(mine, cell("floor", w, i))]
        ratios += [ratio(cell(p, w, i), mine) for p in PEERS]
        ns = " / ".join(n_of(impl, w) for impl in IMPLS)
        say(f"| {label} | " + " | ".join(cells + ratios) + f" | {ns} |")
    say()
    say("libaq/floor is libaq's figure as a multiple of the floor's, the "
        "same work as plain single-threaded C (bench/floor.c): 1 would be "
        "no overhead at all. The other ratios are peer / libaq: above 1, "
        "libaq is faster (or, for bytes and lateness, smaller). The bulk64 "
        "row sets libaq's batch calls beside the others' plain bulk. n/a: "
        "not on this machine (no toolchain for that peer, or the floor's "
        "switch off x86-64); -: that program has no such workload.")

    def within(label, num, den):
        """One implementation's figure over another of its own, per impl:
        num and den are (workload, field index)."""
        out = []
        for impl in IMPLS:
            a, b = val(impl, *num), val(impl, *den)
            if b and a is not None:
                out.append(f"{impl} {a / b:.2f}")
        say(f"{label}: " + (", ".join(out) or "-"))

    within("spawn warm/cold", ("spawn", 1), ("spawn", 0))
    # The cost of waiting in a select rather than a get, in one run.
    within("selpingpong/pingpong", ("selpingpong", 0), ("pingpong", 0))
    sync_targets(val, go_sync)
    floor_targets(val)
    dropoldest(failed)
    if not have_go:
        say("go: skipped (not installed)")
    if not have_rust:
        say("async-channel, tokio: skipped (no cargo or crates: "
            "bench/peers/deps.sh)")
    if failed:
        say()
        for f in failed:
            say(f"FAILED: {f}")
        return 1
    return 0


def sync_targets(val, go_sync):
    """The sync issue's targets, from this run's figures."""
    def verdict(ok):
        return "met" if ok else "NOT met"

    mine, go_mutex = val("libaq", "lock", 0), val("go", "lock", 0)
    if mine and go_mutex:
        r = go_mutex / mine
        say(f"lock: Go Mutex {fmt(go_mutex)} ns / libaq {fmt(mine)} ns = "
            f"{r:.2f} (target >= 4: {verdict(r >= 4)})")
    sem, go_sem = val("libaq", "sem", 0), val("go", "sem", 0)
    if sem and go_mutex:
        r = go_mutex / sem
        say(f"sem: Go Mutex Lock+Unlock {fmt(go_mutex)} ns / libaq sem "
            f"{fmt(sem)} ns = {r:.2f} (target >= 4: {verdict(r >= 4)}); "
            f"Go's own semaphore ({go_sync.split(' (')[0]}) / libaq sem = "
            f"{ratio(go_sem, sem)}")
    ho, pp = val("libaq", "lockhandoff", 0), val("libaq", "pingpong", 0)
    if ho and pp:
        say(f"lockhandoff / pingpong (libaq): {fmt(ho)} ns per hand-over / "
            f"{fmt(pp)} ns per round trip = {ho / pp:.2f} (target <= 1: "
            f"{verdict(ho <= pp)})")
    shares = [f"{impl} {fmt(val(impl, 'lockhandoff', 1))}%" for impl in IMPLS
              if val(impl, "lockhandoff", 1) is not None]
    if shares:
        say("lockhandoff, acquisitions that were hand-overs: "
            + ", ".join(shares) + " (Go's Mutex lets the unlocker take it "
            "back until a waiter has waited 1 ms)")
    grp, go_grp = val("libaq", "group1000", 0), val("go", "group1000", 0)
    if grp and go_grp:
        r = go_grp / grp
        say(f"group1000: Go {fmt(go_grp)} ns / libaq {fmt(grp)} ns = "
            f"{r:.2f} (target >= 1: {verdict(r >= 1)})")


def floor_targets(val):
    """The hot-path issue's targets (issue 13), from this run's figures:
    each line gives the figure, the bound and the verdict; a target whose
    figures this run lacks says so. priority's second target (>= 5x Go at
    N = 1,000) needs a run at that N: not made here."""
    def div(a, b):
        return a / b if a is not None and b else None

    def at(impl, w, i=0):
        return val(impl, w, i)

    targets = [
        ("bulk, libaq / floor", div(at("libaq", "bulk"), at("floor", "bulk")),
         "<=", 3),
        ("bulk, async-channel / libaq",
         div(at("async-channel", "bulk"), at("libaq", "bulk")), ">=", 3),
        ("fanout, async-channel / libaq",
         div(at("async-channel", "fanout"), at("libaq", "fanout")), ">=", 4),
        ("handoff, libaq / floor",
         div(at("libaq", "handoff"), at("floor", "handoff")), "<=", 2),
        ("pingpong, libaq ns", at("libaq", "pingpong"), "<=", 30),
        ("switch, libaq / floor",
         div(at("libaq", "switch"), at("floor", "switch")), "<=", 1.5),
        ("priority, go / libaq", div(at("go", "priority"),
                                     at("libaq", "priority")), ">=", 3),
        ("spawn warm, go / libaq", div(at("go", "spawn", 1),
                                       at("libaq", "spawn", 1)), ">=", 6),
        ("spawn compact, libaq bytes/task", at("libaq", "spawn-compact", 2),
         "<=", 256),
    ]
    say()
    say("Targets of the hot-path issue (13), this run:")
    for what, v, op, bound in targets:
        if v is None:
            say(f"- {what}: not measured in this run")
            continue
        ok = v <= bound if op == "<=" else v >= bound
        say(f"- {what} = {v:.2f} (target {op} {bound}): "
            + ("met" if ok else "NOT met"))
    sizes = [f"{impl} {fmt(val(impl, 'spawn', 2))}" for impl in IMPLS
             if val(impl, "spawn", 2) is not None]
    if sizes:
        say("- bytes per parked task, default mode: " + ", ".join(sizes))


# libaq only (the peers have no overflow policy): a DROP_OLDEST put on a
# full FIFO against a try_put with room, same queue shape.
DROPOLDEST_N = 10**6 if QUICK else 10**7
DROPOLDEST_TARGET = 1.2


def dropoldest(failed):
    try:
        runs = [run_once("libaq", "dropoldest", DROPOLDEST_N)[0]
                for _ in range(RUNS)]
    except RunError as e:
        failed.append(str(e))
        say(f"ERROR {e}")
        return
    drop, put = (statistics.median(col) for col in zip(*runs))
    say(f"dropoldest (libaq, N={DROPOLDEST_N}): DROP_OLDEST put on a full "
        f"FIFO {fmt(drop)} ns, try_put with room {fmt(put)} ns, ratio "
        f"{drop / put:.2f} (target <= {DROPOLDEST_TARGET})")


# ---- bench-check -----------------------------------------------------------

def callgrind_ir(workload, n, tmp):
    """Total instructions executed by `aqbench workload n` under callgrind."""
    out = os.path.join(tmp, "callgrind.out")
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
           AQBENCH, workload, str(n)]
    p = run_cmd(cmd, timeout=RUN_TIMEOUT)
    m = re.search(r"Collected\s*:\s*(\d+)", p.stderr)
    if p.returncode != 0 or not m:
        sys.stderr.write(p.stdout + p.stderr)
        die(f"{' '.join(cmd)} failed")
    return int(m.group(1))


def per_item(workload, tmp):
    n_base, n = CHECK_N_OF.get(workload, (CHECK_N_BASE, CHECK_N))
    base = callgrind_ir(workload, n_base, tmp)
    full = callgrind_ir(workload, n, tmp)
    return (full - base) / (n - n_base)


def read_budgets():
    budgets = {}
    try:
        with open(BUDGETS) as f:
            for lineno, line in enumerate(f, 1):
                line = line.split("#", 1)[0].split()
                if not line:
                    continue
                if len(line) != 2:
                    die(f"{BUDGETS}:{lineno}: want 'workload "
                        "instructions_per_item'")
                budgets[line[0]] = float(line[1])
    except (OSError, ValueError) as e:
        die(f"cannot read {BUDGETS}: {e}")
    return budgets


def check():
    if shutil.which("valgrind") is None:
        die("valgrind is not installed (apt-get install valgrind)")
    build_libaq()
    budgets = read_budgets()
    ok = True
    say(f"instructions per item under callgrind: (Ir(N={CHECK_N}) - "
        f"Ir(N={CHECK_N_BASE})) / {CHECK_N - CHECK_N_BASE}"
        + "".join(f"; {w}: N = {a} and {b}"
                  for w, (a, b) in CHECK_N_OF.items()))
    with tempfile.TemporaryDirectory() as tmp:
        for w in CHECK_WORKLOADS:
            first = per_item(w, tmp)
            # Twice: a budget is only meaningful if the count repeats.
            second = per_item(w, tmp)
            budget = budgets.get(w)
            n_base, n = CHECK_N_OF.get(w, (CHECK_N_BASE, CHECK_N))
            if abs(first - second) * (n - n_base) > SAME_IR:
                verdict, ok = (f"FAIL: not deterministic ({first:.1f} then "
                               f"{second:.1f})"), False
            elif budget is None:
                verdict, ok = "FAIL: no budget in bench/budgets.txt", False
            elif first > budget:
                verdict, ok = (f"FAIL: over budget by "
                               f"{100 * (first / budget - 1):.1f}%"), False
            else:
                verdict = "OK"
            say(f"{w:11} measured {first:8.1f}  budget "
                f"{budget if budget is not None else '-':>8}  {verdict}")
    if not ok:
        say("bench-check FAILED: an instruction count exceeds its budget in "
            "bench/budgets.txt (or could not be checked)")
        return 1
    say("bench-check OK")
    return 0


def main(argv):
    what = argv[1] if len(argv) > 1 else "bench"
    if len(argv) > 2 or what not in ("bench", "check"):
        print("usage: run.py [bench|check]", file=sys.stderr)
        return 2
    return bench() if what == "bench" else check()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
