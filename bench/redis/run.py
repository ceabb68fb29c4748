#!/usr/bin/env python3
"""libaq-redis against redis-benchmark and python3-redis, all on one
redis-server started here: `make bench-redis` (bench/README.md).

    BUILD=build python3 bench/redis/run.py

Runs `make` first, for BUILD/libaq.a and BUILD/libaq-redis.a (the
latter built only when pkg-config finds hiredis); needs gcc, taskset,
redis-server, redis-benchmark and redis-cli; installs Debian's
python3-redis with apt-get if /usr/bin/python3 cannot import redis
(REDIS_PYTHON names another interpreter). Builds bench/redis/aqredis.c
into BUILD/bench-redis/, starts a non-persistent redis-server on a free
port (tests/redis/server.py), pins it to CPU 0 and every client to CPU 1,
and prints a Markdown report on stdout (progress on stderr):

  1. put+get end to end (aqredis e2e: 100 producer and 100 consumer tasks
     in one process, on one loop) against `redis-benchmark XADD -c 50`,
     alternating, ROUNDS times each; one XADD -P 16 run for context
  2. draining an identically pre-filled stream: aqredis drain (100
     consumer tasks; again with prefetch 200) against
     bench/redis/py_consumer.py (one consumer, natural and batched)
  3. puts alone with 1, 10 and 100 producer tasks, and the batching
     they reached (aq_redis_queue_stats: items per command, commands per
     write)

Beside each run: redis-server's CPU time (/proc/PID/stat) over the run,
and the client's (getrusage of the children). N sets the items (default
200,000), ROUNDS the rounds of part 1 (default 5).
"""
import datetime
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
OUT = os.path.join(BUILD, "bench-redis")
AQREDIS = os.path.join(OUT, "aqredis")
PY_CONSUMER = os.path.join(ROOT, "bench", "redis", "py_consumer.py")
PYTHON = os.environ.get("REDIS_PYTHON", "/usr/bin/python3")
N = int(os.environ.get("N", "200000"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
# The natural Python consumer makes 3,500-7,000 items/s here: N would
# take a minute, so it drains the first tenth of the same stream.
N_PY = max(N // 10, 1)
PRODUCERS, CONSUMERS = 100, 100
SERVER_CPU, CLIENT_CPU = "0", "1"
PIN = ["taskset", "-c", CLIENT_CPU]
RUN_TIMEOUT = 120  # seconds; a run this long means something is stuck
TICK = os.sysconf("SC_CLK_TCK")
# One 8-byte item per entry, field "item": what libaq's gets take.
PREFILL = ("for i = 1, tonumber(ARGV[1]) do redis.call('XADD', KEYS[1], "
           "'*', 'item', string.format('%08d', i)) end")

sys.path.insert(0, os.path.join(ROOT, "tests", "redis"))
from server import RedisServer  # noqa: E402


def die(msg):
    sys.exit("bench-redis: " + msg)


def say(msg):
    print(msg, file=sys.stderr, flush=True)


def need_tools():
    for tool, pkg in (("gcc", "gcc"), ("taskset", "util-linux"),
                      ("redis-server", "redis-server"),
                      ("redis-benchmark", "redis-tools"),
                      ("redis-cli", "redis-tools")):
        if not shutil.which(tool):
            die(f"{tool} not found (apt-get install {pkg})")


def has_redis_module():
    return subprocess.run([PYTHON, "-c", "import redis"],
                          stderr=subprocess.DEVNULL).returncode == 0


def need_python_redis():
    """python3-redis for PYTHON, installed with apt-get if missing (as
    bench/peers/threads/run.sh installs its peers)."""
    if has_redis_module():
        return
    say("bench-redis: installing python3-redis")
    sudo = [] if os.getuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = sudo + ["apt-get", "install", "-y", "--no-install-recommends",
                      "python3-redis"]
    out = {"stdout": sys.stderr, "env": env}
    if subprocess.run(install, **out).returncode != 0:
        subprocess.run(sudo + ["apt-get", "update"], **out)
        subprocess.run(install, **out)
    if not has_redis_module():
        die(f"{PYTHON} cannot import redis (apt-get install python3-redis)")


def build():
    """Runs `make` (its output on stderr: stdout is the report), then
    builds aqredis against the libraries it made."""
    if subprocess.run(["make", "-C", ROOT, "all", "BUILD=" + BUILD],
                      stdout=sys.stderr).returncode != 0:
        die("`make all` failed")
    libs = [os.path.join(BUILD, "libaq-redis.a"),
            os.path.join(BUILD, "libaq.a")]
    for lib in libs:
        if not os.path.exists(lib):
            die(f"{lib} missing after `make` (libaq-redis.a is built only "
                "when pkg-config finds hiredis: apt-get install "
                "libhiredis-dev)")
    os.makedirs(OUT, exist_ok=True)
    cmd = (["gcc", "-std=c11", "-O2", "-Wall", "-Wextra",
            "-I" + os.path.join(ROOT, "include"),
            os.path.join(ROOT, "bench", "redis", "aqredis.c")] + libs +
           ["-lhiredis", "-lpthread", "-o", AQREDIS])
    if subprocess.run(cmd).returncode != 0:
        die("building aqredis failed: " + " ".join(cmd))


def with_cpu(fig, server, client, n):
    """fig, a run of n items, with the CPU seconds that redis-server and
    the client spent over it turned into shares and figures per item."""
    fig["server_us"] = server / n * 1e6
    fig["client_us"] = client / n * 1e6
    fig["server_pct"] = 100 * server / float(fig["seconds"])
    return fig


class Bench:
    """The server every client runs against, and how one run is taken."""

    def __init__(self, srv):
        self.srv = srv
        subprocess.run(["taskset", "-a", "-p", "-c", SERVER_CPU,
                        str(srv.proc.pid)], check=True,
                       stdout=subprocess.DEVNULL)

    def server_cpu(self):
        with open(f"/proc/{self.srv.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime

    def run(self, cmd):
        """Runs cmd on the client CPU; returns its stdout with the CPU
        seconds that redis-server and the client spent meanwhile."""
        s0, c0 = self.server_cpu(), resource.getrusage(
            resource.RUSAGE_CHILDREN)
        try:
            r = subprocess.run(PIN + cmd, stdout=subprocess.PIPE, text=True,
                               timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            die(f"{' '.join(cmd)} still running after {RUN_TIMEOUT} s")
        s1, c1 = self.server_cpu(), resource.getrusage(
            resource.RUSAGE_CHILDREN)
        if r.returncode != 0:
            die(f"{' '.join(cmd)} failed (exit {r.returncode})")
        client = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
        return r.stdout, s1 - s0, client

    def fresh(self, prefill=0):
        """An empty server, or one stream "s" of prefill entries."""
        self.srv.cli("FLUSHALL")
        if prefill:
            self.srv.cli("EVAL", PREFILL, "1", "s", str(prefill))
        self.srv.cli("CONFIG", "RESETSTAT")

    def client(self, cmd, n):
        """A run of aqredis or py_consumer: its key=value figures, with
        the CPU figures."""
        out, server, client = self.run(cmd)
        fig = dict(kv.split("=") for kv in out.split()[1:])
        return with_cpu(fig, server, client, n)

    def aqredis(self, mode, n, producers, consumers, prefetch=0):
        return self.client(["env", f"PREFETCH={prefetch}", AQREDIS, mode,
                            self.srv.addr, "s", str(n), str(producers),
                            str(consumers)], n)

    def py(self, mode, n):
        return self.client([PYTHON, PY_CONSUMER, mode, str(self.srv.port),
                            "s", str(n)], n)

    def xadd(self, pipeline):
        """redis-benchmark XADD, N requests from 50 connections."""
        self.fresh()
        out, server, client = self.run(
            ["redis-benchmark", "-p", str(self.srv.port), "-n", str(N),
             "-c", "50", "-P", str(pipeline), "-q", "XADD", "benchstream",
             "*", "item", "12345678"])
        m = re.findall(r"([\d.]+) requests per second", out)
        if not m:
            die("cannot read redis-benchmark's output: " + out[-200:])
        rps = float(m[-1])
        return with_cpu({"items_per_s": rps, "seconds": N / rps}, server,
                        client, N)

    def commandstats(self, n):
        """redis-server's time inside each command, per item, since the
        last fresh(): INFO commandstats."""
        stats = {}
        for line in self.srv.cli("INFO", "commandstats").splitlines():
            m = re.match(r"cmdstat_(\S+?):calls=(\d+),usec=(\d+)", line)
            if m and int(m.group(2)) >= n // 100:
                stats[m.group(1)] = int(m.group(3)) / n
        return stats


def rate(fig):
    return float(fig["items_per_s"])


def per_command(m):
    """The batching: items per command (puts and acks of one loop turn
    are one script call each) and commands per write."""
    items, cmds, writes = int(m["items"]), int(m["commands"]), int(m["writes"])
    return (f"{items / cmds:.1f} items per command, "
            f"{cmds / writes:.1f} commands per write")


def cpu(fig):
    return (f"{fig['server_pct']:.0f}% of a core, {fig['server_us']:.1f} us"
            f"/item; client {fig['client_us']:.1f} us/item")


def verdict(ratio, target):
    return f">= {target}x: " + ("met" if ratio >= target else "**NOT met**")


def end_to_end(b):
    say(f"bench-redis: put+get against XADD, {ROUNDS} rounds")
    peer, mine = [], []
    for _ in range(ROUNDS):
        peer.append(b.xadd(1))
        b.fresh()
        mine.append(b.aqredis("e2e", N, PRODUCERS, CONSUMERS))
    stats = b.commandstats(N)  # the last round's
    p16 = b.xadd(16)
    med_peer = statistics.median(rate(f) for f in peer)
    med_mine = statistics.median(rate(f) for f in mine)
    ratio = med_mine / med_peer
    rows = [f"| put+get end to end, items/s (median of {ROUNDS}) | "
            f"{med_mine:,.0f} | redis-benchmark XADD -c 50: {med_peer:,.0f} "
            f"ops/s | {ratio:.2f}x | {verdict(ratio, 0.7)} |",
            f"| (context) | | XADD -c 50 -P 16: {rate(p16):,.0f} ops/s | "
            f"{med_mine / rate(p16):.2f}x | - |"]
    detail = [f"| e2e round {i + 1} | libaq {rate(m):,.0f} items/s, XADD "
              f"{rate(p):,.0f} ops/s ({rate(m) / rate(p):.2f}x) | libaq: "
              f"{cpu(m)}, {per_command(m)}"
              f"; XADD: {cpu(p)} |" for i, (m, p) in enumerate(zip(mine,
                                                                    peer))]
    detail.append(f"| XADD -P 16 | {rate(p16):,.0f} ops/s | {cpu(p16)} |")
    detail.append("| e2e, redis-server time inside commands (INFO "
                  "commandstats, last round; EVALSHA includes the commands "
                  "its scripts run) | " + ", ".join(
                      f"{k.upper()} {v:.2f}" for k, v in sorted(
                          stats.items(), key=lambda kv: -kv[1])) +
                  " us/item | |")
    return rows, detail


def drain(b):
    say("bench-redis: draining a pre-filled stream")
    b.fresh(N)
    mine = b.aqredis("drain", N, 0, CONSUMERS)
    b.fresh(N)
    ahead = b.aqredis("drain", N, 0, CONSUMERS, prefetch=2 * CONSUMERS)
    b.fresh(N)
    natural = b.py("natural", N_PY)
    b.fresh(N)
    batched = b.py("batched", N)
    r1, r2 = rate(mine) / rate(natural), rate(mine) / rate(batched)
    rows = [f"| drain, items/s ({CONSUMERS} consumer tasks; Python: one "
            f"consumer) | {rate(mine):,.0f} | python3-redis natural: "
            f"{rate(natural):,.0f} | {r1:.1f}x | {verdict(r1, 20)} |",
            f"| (context) | | python3-redis batched: {rate(batched):,.0f} | "
            f"{r2:.2f}x | - |",
            f"| drain with prefetch {2 * CONSUMERS}, items/s | "
            f"{rate(ahead):,.0f} | python3-redis natural | "
            f"{rate(ahead) / rate(natural):.1f}x | - |"]
    detail = [f"| drain {name} | {rate(f):,.0f} items/s | {cpu(f)} |"
              for name, f in (("libaq", mine),
                              (f"libaq, prefetch {2 * CONSUMERS}", ahead),
                              ("python natural", natural),
                              ("python batched", batched))]
    return rows, detail


def pipelining(b):
    say("bench-redis: puts with 1, 10 and 100 producers")
    rows, detail = [], []
    for producers in (1, 10, 100):
        n = N_PY if producers == 1 else N  # one put per round trip: slow
        b.fresh()
        f = b.aqredis("put", n, producers, 0)
        rows.append(f"| put alone, {producers} producer task(s), items/s "
                    f"| {rate(f):,.0f} ({per_command(f)}) | - | - | - |")
        detail.append(f"| put, {producers} producer(s) | {rate(f):,.0f} "
                      f"items/s | {cpu(f)} |")
    return rows, detail


def first_line(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, text=True,
                          check=True).stdout.splitlines()[0]


def main():
    need_tools()
    need_python_redis()
    build()
    with RedisServer(persist=False) as srv:
        b = Bench(srv)
        version = first_line(["redis-server", "--version"]).split()[2][2:]
        parts = [end_to_end(b), drain(b), pipelining(b)]
    hiredis = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "libhiredis-dev"],
        stdout=subprocess.PIPE, text=True).stdout or "?"
    pyredis = subprocess.run(
        [PYTHON, "-c", "import redis; print(redis.__version__)"],
        stdout=subprocess.PIPE, text=True).stdout.strip()
    print(f"- date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"- {first_line(['uname', '-srm'])}, {os.cpu_count()} CPUs; "
          f"redis-server {version}, hiredis {hiredis}, python3-redis "
          f"{pyredis}; N = {N:,}, Python natural N = {N_PY:,}")
    print(f"- redis-server (non-persistent) on CPU {SERVER_CPU}, every "
          f"client on CPU {CLIENT_CPU}; libaq: {PRODUCERS} producer and "
          f"{CONSUMERS} consumer tasks in one process, on one loop, 8-byte "
          "items, maxsize 0")
    print()
    print("| measurement | libaq-redis | peer | libaq / peer | target |")
    print("|---|---:|---|---:|---|")
    for rows, _ in parts:
        print("\n".join(rows))
    print()
    print("| run | figure | CPU over the run: redis-server (share of its "
          "core, per item), client |")
    print("|---|---|---|")
    for _, detail in parts:
        print("\n".join(detail))


if __name__ == "__main__":
    main()
