#!/usr/bin/env python3
"""The echo benchmark (`make bench-echo`): libaq's echo server against a
plain epoll server, libuv, Go, asyncio and uvloop; syscall counts of the
libaq server under strace; memory per idle connection; I/O deadline
lateness. See bench/README.md, "Echo over loopback".

Usage:  run.py [all|load|strace|idle|deadlines]   (default: all)

Environment:
  BUILD         CMake build directory (default: build), as for `make bench`;
                the C programs are BUILD/bench/echo/*, the Go server
                BUILD/bench-echo-go/goecho.
  ECHO_SECONDS  measured seconds per server (default 3, after 2 of warm-up)
  ECHO_PASSES   passes over the servers (default 6, every other one in reverse
                order); each row keeps its best pass
  ECHO_PYTHON   the Python for asyncio and uvloop (default /usr/bin/python3:
                Debian's python3-uvloop is installed for it, not for a
                python3 earlier on PATH)

The load client runs on CPU 0 and every server on CPU 1 (taskset). Report
on stdout (Markdown), progress on stderr. Standard library only.
"""

import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import run as benchrun  # bench/run.py: the build checks, machine lines

ROOT = benchrun.ROOT
BUILD = benchrun.BUILD
BIN = os.path.join(BUILD, "bench", "echo")
GO_DIR = os.path.join(BUILD, "bench-echo-go")
PY = os.environ.get("ECHO_PYTHON", "/usr/bin/python3")
SECONDS = float(os.environ.get("ECHO_SECONDS", "3"))
WARMUP = 2.0
PASSES = int(os.environ.get("ECHO_PASSES", "6"))
CONNS = 100
IDLE_CONNS = 10000
CLIENT_CPU, SERVER_CPU = "0", "1"
PORT = 9300
TICK = os.sysconf("SC_CLK_TCK")

# name, command (PORT substituted), the target libaq's req/s must reach
# against it (libaq / peer >= ratio), or None.
SERVERS = [
    ("libaq", [os.path.join(BIN, "aq_echo"), "PORT"], None),
    ("libaq compact", [os.path.join(BIN, "aq_echo"), "PORT", "compact"],
     None),
    ("C epoll (LT)", [os.path.join(BIN, "epoll_echo"), "PORT"], 0.9),
    ("libuv", [os.path.join(BIN, "uv_echo"), "PORT"], 1.0),
    ("Go net", [os.path.join(GO_DIR, "goecho"), "PORT"], 1.2),
    ("asyncio streams", [PY, os.path.join(HERE, "asyncio_echo.py"), "PORT"],
     10.0),
    ("uvloop streams", [PY, os.path.join(HERE, "asyncio_echo.py"), "PORT",
                        "uvloop"], 3.0),
]


def say(*args):
    print(*args, flush=True)


def note(*args):
    print(*args, file=sys.stderr, flush=True)


def verdict(ok):
    return "met" if ok else "not met"


def die(msg):
    note(f"run.py: {msg}")
    sys.exit(1)


# ---- building and versions -------------------------------------------------

def build():
    benchrun.build_libaq()  # configures BUILD, refuses debug/sanitize trees
    targets = ["aq_echo", "deadline_floor", "deadlines", "epoll_echo",
               "load", "uv_echo"]
    p = benchrun.run_cmd(["cmake", "--build", BUILD, "-j2", "--target"]
                         + targets)
    if p.returncode != 0:
        sys.stderr.write(p.stdout + p.stderr)
        die("building the echo programs failed (uv_echo needs libuv1-dev)")
    if shutil.which("go") is None:
        die("go not installed (Debian: golang-go)")
    env = dict(os.environ, GOCACHE=os.path.join(GO_DIR, "gocache"),
               GOPATH=os.path.join(GO_DIR, "gopath"), GOTOOLCHAIN="local",
               GOPROXY="off", GOFLAGS="")
    p = subprocess.run(["go", "build", "-o", os.path.join(GO_DIR, "goecho"),
                        "."], cwd=os.path.join(HERE, "go"), env=env,
                       text=True, capture_output=True)
    if p.returncode != 0:
        sys.stderr.write(p.stdout + p.stderr)
        die("building the Go server failed")


def versions():
    cache = benchrun.cmake_cache()
    cc = cache.get("CMAKE_C_COMPILER", "cc")
    uv = benchrun.first_line(["pkg-config", "--modversion", "libuv"])
    py = benchrun.first_line([PY, "--version"])
    uvl = benchrun.first_line([PY, "-c",
                               "import uvloop; print(uvloop.__version__)"])
    return [
        f"uname -srm: {benchrun.first_line(['uname', '-srm'])}; cpu: "
        f"{benchrun.cpu_model()}",
        f"compiler: {benchrun.first_line([cc, '--version'])}"
        f" (libaq {cache.get('CMAKE_BUILD_TYPE', '?')}, programs -O2)",
        f"go: {benchrun.first_line(['go', 'version'])}, GOMAXPROCS=1",
        f"libuv: {uv}; {py} ({PY}); uvloop {uvl}",
        f"load average before: {benchrun.first_line(['uptime'])}",
    ]


# ---- processes -------------------------------------------------------------

def raise_fd_limit():
    """10,000 connections need 10,000 fds in the server and in the client:
    raise the soft limit (and, as root, the hard one) for our children."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4 * IDLE_CONNS
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def start_server(cmd, port):
    cmd = [str(port) if a == "PORT" else a for a in cmd]
    p = subprocess.Popen(["taskset", "-c", SERVER_CPU] + cmd,
                         env=dict(os.environ, GOMAXPROCS="1"))
    for _ in range(200):  # up to 10 s (Python starts slowly)
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            time.sleep(0.2)  # the probe's connection closes
            return p
        except OSError:
            if p.poll() is not None:
                die(f"{' '.join(cmd)} exited with {p.returncode}")
            time.sleep(0.05)
    p.kill()
    die(f"{' '.join(cmd)} does not listen on {port}")


def stop(p):
    p.send_signal(signal.SIGKILL)
    p.wait()


def cpu_ticks(pid):
    """(utime, stime) of pid so far, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def read_calls(pid):
    """read(2) and readv(2) calls pid has made so far: the kernel's own
    count (syscr in /proc/PID/io), with no tracer slowing the server. The
    recv family is not counted there."""
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("syscr:"):
                return int(line.split()[1])
    return 0


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def load(port, conns, warm, secs):
    return subprocess.Popen(["taskset", "-c", CLIENT_CPU,
                             os.path.join(BIN, "load"), str(port), str(conns),
                             str(warm), str(secs)],
                            stdout=subprocess.PIPE, text=True)


def load_result(p):
    out, _ = p.communicate(timeout=120)
    w = out.split()
    if p.returncode != 0 or len(w) < 12 or w[0] != "rps":
        die(f"load client failed (exit {p.returncode}): {out.strip()}")
    return {w[i]: float(w[i + 1]) for i in range(0, len(w) - 1, 2)}


# ---- closed loop, 100 connections ------------------------------------------

def one_server(i):
    name, cmd, _ = SERVERS[i]
    port = PORT + i
    note(f"{name}: {CONNS} connections, {WARMUP:g} s warm-up + "
         f"{SECONDS:g} s ...")
    srv = start_server(cmd, port)
    cl = load(port, CONNS, WARMUP, SECONDS)
    time.sleep(WARMUP)
    (u0, s0), c0 = cpu_ticks(srv.pid), sum(cpu_ticks(cl.pid))
    rd0 = read_calls(srv.pid)
    time.sleep(SECONDS)
    (u1, s1), c1 = cpu_ticks(srv.pid), sum(cpu_ticks(cl.pid))
    rd1 = read_calls(srv.pid)
    r = load_result(cl)
    stop(srv)
    user, system = (u1 - u0) / TICK, (s1 - s0) / TICK
    r["cpu_pct"] = 100 * (user + system) / SECONDS
    r["client_pct"] = 100 * (c1 - c0) / TICK / SECONDS
    n = max(r["requests"], 1)
    r["user_us"], r["sys_us"] = 1e6 * user / n, 1e6 * system / n
    # requests/s over the measured seconds stands for the requests made
    # between the two reads of syscr
    r["reads"] = (rd1 - rd0) / max(r["rps"] * SECONDS, 1)
    return r


def closed_loop():
    """PASSES passes over the servers, every other one in reverse order
    (so no server always runs first or last); each row is the pass with the most
    requests/s, the one least disturbed by whatever else ran."""
    best = [None] * len(SERVERS)
    for p in range(PASSES):
        order = range(len(SERVERS))
        for i in (order if p % 2 == 0 else reversed(order)):
            r = one_server(i)
            if best[i] is None or r["rps"] > best[i]["rps"]:
                best[i] = r
    rows = [(name, r) for (name, _, _), r in zip(SERVERS, best)]
    aq = rows[0][1]
    say("| server | req/s | p50 us | p99 us | server CPU % | server user "
        "+ sys us/req | server read(2)/req | client CPU % | libaq/peer "
        "req/s | target | verdict |")
    say("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    verdicts = []
    for (name, r), (_, _, target) in zip(rows, SERVERS):
        ratio = aq["rps"] / r["rps"]
        tgt = "" if target is None else f">= {target:g}x"
        met = "" if target is None else verdict(ratio >= target)
        say(f"| {name} | {r['rps']:.0f} | {r['p50_us']:.1f} | "
            f"{r['p99_us']:.1f} | {r['cpu_pct']:.0f} | {r['user_us']:.2f} + "
            f"{r['sys_us']:.2f} | {r['reads']:.2f} | "
            f"{r['client_pct']:.0f} | {ratio:.2f} | {tgt} | {met} |")
        if target is not None:
            verdicts.append((name, ratio, target))
    say()
    say("Server (client) CPU %: utime + stime of the server (client) "
        "process over the measured seconds, from /proc/PID/stat; us/req: "
        "the server's user and system time divided by the requests completed "
        "meanwhile (the kernel's loopback TCP is the system part); "
        "read(2)/req: the server's read and readv calls over the measured "
        "seconds (syscr in /proc/PID/io, no tracer), per request (servers "
        "that read with recv, as Python's sockets do, show 0). A "
        "server below 100% is not the bottleneck: it sleeps in its poller "
        "between batches. Each row is the best of "
        f"{PASSES} passes (every other one in reverse order).")
    return verdicts


# ---- strace ----------------------------------------------------------------

def strace_counts(path):
    counts = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if (len(w) >= 5 and re.match(r"^[\d.]+$", w[0])
                    and w[-1] != "total"):
                counts[w[-1]] = int(w[3])
    return counts


def strace(name, cmd, port):
    """The server under `strace -c -f` for a short closed-loop run (1 s
    warm-up + 3 s, 100 connections: connects and closes included); then
    again with only epoll_ctl traced, to split ADD from DEL."""
    if shutil.which("strace") is None:
        die("strace not installed")
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("c", "epoll_ctl"):
            srv = start_server(cmd, port)
            f = os.path.join(tmp, mode)
            args = (["-c"] if mode == "c" else ["-e", "trace=epoll_ctl"])
            st = subprocess.Popen(["strace", "-f", "-o", f] + args
                                  + ["-p", str(srv.pid)],
                                  stderr=subprocess.DEVNULL)
            time.sleep(1.0)  # attached
            r = load_result(load(port, CONNS, 1, 3))
            time.sleep(1.0)  # the server closes its side
            st.send_signal(signal.SIGINT)
            st.wait()
            stop(srv)
            if mode == "c":
                out["counts"], out["total"] = strace_counts(f), r["total"]
            else:
                text = open(f).read()
                out["add"] = text.count("EPOLL_CTL_ADD")
                out["del"] = text.count("EPOLL_CTL_DEL")
                out["mod"] = text.count("EPOLL_CTL_MOD")
    return out


def strace_report():
    say("| server | requests | epoll_ctl (ADD / DEL / MOD) | read / req | "
        "write+send / req | epoll waits / req | all syscalls / req |")
    say("|---|---:|---|---:|---:|---:|---:|")
    for i in (0, 2):  # libaq, and the C epoll server for reference
        name, cmd, _ = SERVERS[i]
        note(f"strace: {name} ...")
        s = strace(name, cmd, PORT + 20 + i)
        c, n = s["counts"], s["total"]
        rd = c.get("read", 0) + c.get("recvfrom", 0)
        wr = c.get("write", 0) + c.get("sendto", 0)
        # libaq waits in epoll_pwait2 (nanosecond timeouts) where the
        # kernel has it; the epoll server in epoll_wait
        ew = sum(c.get(k, 0) for k in ("epoll_wait", "epoll_pwait",
                                       "epoll_pwait2"))
        say(f"| {name} | {n:.0f} | {c.get('epoll_ctl', 0)} ({s['add']} / "
            f"{s['del']} / {s['mod']}) | {rd / n:.3f} | {wr / n:.3f} | "
            f"{ew / n:.3f} | {sum(c.values()) / n:.3f} |")
        note(f"  strace -c counts: {c}")
    say()
    say(f"`strace -c -f -p PID` over a whole client run ({CONNS} connections "
        "opened, 1 s warm-up + 3 s, closed); requests are all the client "
        "completed. ADD / DEL / MOD from a second run with `-e "
        "trace=epoll_ctl`. Under strace every call stops the server, so "
        "epoll_wait returns more events per call than it would untraced, "
        "and a read made right after an echo finds the next message "
        "already there more often: the load table's read(2)/req column "
        "counts reads untraced.")


# ---- idle connections ------------------------------------------------------

def slab_kib():
    """Kernel slab memory, machine-wide (/proc/meminfo Slab): where socket
    structures live; VmRSS does not count them."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("Slab:"):
                return int(line.split()[1])
    return 0


def idle_one(mode, port):
    cmd = [os.path.join(BIN, "aq_echo"), "PORT"] + (["compact"] if mode ==
                                                    "compact" else [])
    srv = start_server(cmd, port)
    time.sleep(0.5)
    before = status_kib(srv.pid, "VmRSS")
    kmem0 = slab_kib()
    cl = subprocess.Popen(["taskset", "-c", CLIENT_CPU,
                           os.path.join(BIN, "load"), str(port),
                           str(IDLE_CONNS), "idle"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True)
    line = cl.stdout.readline().split()
    if line != ["ready", str(IDLE_CONNS)]:
        die(f"idle client: {line}")
    time.sleep(1.0)
    after = status_kib(srv.pid, "VmRSS")
    kmem1 = slab_kib()
    cl.stdin.close()
    cl.wait()
    stop(srv)
    return before, after, (kmem1 - kmem0) * 1024 / IDLE_CONNS


def idle_report(limit):
    say(f"| mode | VmRSS before, KiB | VmRSS with {IDLE_CONNS:,} idle, KiB | "
        "bytes per connection | kernel slab per connection (both ends, "
        "machine-wide) |")
    say("|---|---:|---:|---:|---:|")
    res = {}
    for j, mode in enumerate(("default", "compact")):
        note(f"idle: {IDLE_CONNS} connections, {mode} mode ...")
        b, a, k = idle_one(mode, PORT + 40 + j)
        per = (a - b) * 1024 / IDLE_CONNS
        res[mode] = per
        say(f"| {mode} | {b} | {a} | {per:.0f} | {k:.0f} |")
    say()
    say(f"Each connection echoed one message, then idles in aq_read; fd "
        f"limit (RLIMIT_NOFILE) {limit} for both processes. Bytes per "
        "connection = VmRSS delta / connections: user memory only. The "
        "kernel's socket structures (two sockets a connection, client and "
        "server) are slab memory, outside VmRSS: the last column is the "
        "change in /proc/meminfo Slab, machine-wide, so only indicative.")
    return res


# ---- deadlines -------------------------------------------------------------

def deadlines_run(prog):
    """One run of deadlines or deadline_floor (1,000 readers x 100 reads)
    on the server CPU: its figures by name."""
    p = subprocess.run(["taskset", "-c", SERVER_CPU,
                        os.path.join(BIN, prog), "1000", "100"],
                       text=True, capture_output=True, timeout=300)
    w = p.stdout.split()
    if p.returncode != 0 or not w or w[0] != prog:
        die(f"{prog} failed (exit {p.returncode}): "
            f"{(p.stdout + p.stderr).strip()}")
    r = {w[i]: float(w[i + 1]) for i in range(2, len(w) - 1, 2)}
    r["reads"] = w[1]
    return r


def deadlines_report():
    note("deadlines: 1,000 tasks x 100 aq_read_until on idle pipes, and "
         "the same deadlines in plain C (deadline_floor) ...")
    rows = [("libaq (deadlines)", deadlines_run("deadlines")),
            ("floor (deadline_floor)", deadlines_run("deadline_floor"))]
    say("| program | reads | p50 lateness us | p99 lateness us | "
        "max lateness us | min us | later than 1 ms |")
    say("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        say(f"| {name} | {r['reads']} | {r['p50_us']:.1f} | "
            f"{r['p99_us']:.1f} | {r['max_us']:.1f} | {r['min_us']:.1f} | "
            f"{r['over_1ms']:.0f} |")
    say()
    say("Both programs make all their pipes before the first deadline is "
        "drawn (deadlines.c's tasks wait on an event for it), so neither "
        "row counts the set-up. Reads more than 1 ms late in both rows "
        "point at the machine (the process not running for a while), "
        "not at the library.")
    say()
    return rows[0][1]


# ---- main ------------------------------------------------------------------

def main(argv):
    what = argv[1] if len(argv) > 1 else "all"
    if len(argv) > 2 or what not in ("all", "load", "strace", "idle",
                                     "deadlines"):
        print("usage: run.py [all|load|strace|idle|deadlines]",
              file=sys.stderr)
        return 2
    build()
    limit = raise_fd_limit()
    say(f"## Echo over loopback ({time.strftime('%Y-%m-%d %H:%M %Z')})")
    say()
    for line in versions():
        say(f"- {line}")
    say(f"- client: bench/echo/load on CPU {CLIENT_CPU}, servers on CPU "
        f"{SERVER_CPU} (taskset); {CONNS} connections, 64-byte messages, "
        f"closed loop, {WARMUP:g} s warm-up + {SECONDS:g} s measured")
    say()
    targets = []
    if what in ("all", "load"):
        targets += [(f"libaq >= {target:g}x {name}: {ratio:.2f}x",
                     ratio >= target) for name, ratio, target in
                    closed_loop()]
        say()
    if what in ("all", "strace"):
        strace_report()
        say()
    if what in ("all", "idle"):
        per = idle_report(limit)["compact"]
        say()
        targets.append((f"compact mode <= 1 KiB per idle connection: "
                        f"{per:.0f} bytes", per <= 1024))
    if what in ("all", "deadlines"):
        r = deadlines_report()
        targets.append((f"every ETIMEDOUT within 1 ms of its deadline: max "
                        f"{r['max_us']:.1f} us, p99 {r['p99_us']:.1f} us",
                        r["max_us"] <= 1000))
    for text, ok in targets:
        say(f"- {text}: {verdict(ok)}")
    say()
    note(f"load average after: {benchrun.first_line(['uptime'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
