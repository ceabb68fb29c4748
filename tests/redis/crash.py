#!/usr/bin/env python3
"""libaq-redis at-least-once under crashes: a consumer killed mid-item and
the server restarted mid-run, every item accounted for.

    crash.py CRASH_WORKER

Starts its own redis-server (persistent: an fsynced append-only file, so
the restart keeps what the server acknowledged) and passes its address to
the workers in AQ_REDIS. CONSUMERS consumer processes of TASKS tasks each
(stable names crash-c0..), then a producer putting ITEMS sequence numbers;
each item takes WORK_MS. Once a quarter of the items are processed the
server is restarted; once half are, consumer VICTIM is killed with
SIGKILL while it works on at least one item. The survivors' sweeps take
its entries back after CLAIM_IDLE_MS. The producer joins, then shuts the
queue down, and every worker must exit 0.

From the workers' logs (crash_worker.c describes them) it checks, and
prints the counts of:
- every sequence number processed (completed) at least once;
- every entry acknowledged with AQ_OK exactly once (AQ_EALREADY allowed
  and counted: that work was done twice), no other outcome;
- duplicate processings at most the items the victim had in flight at the
  kill (started, outcome of the acknowledgement not logged) plus the puts
  stored twice (a put retried across the restart; seen as a sequence
  number under two entry ids, reported apart);
- each of the victim's in-flight entries completed by a survivor within
  claim_idle + one sweep interval (claim_idle / 3) + SLACK of the kill;
- the stream and its dead-letter stream empty at the end.
Exit status 0 if all hold; the logs are kept, and their folder printed,
if not.
"""
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import RedisServer  # noqa: E402

ITEMS = 2000
CONSUMERS = 4
TASKS = 4
WORK_MS = 40
CLAIM_IDLE_MS = 1500
VICTIM = 1
# Beyond claim_idle plus a sweep interval: the survivor's get of the
# reclaimed entry, its WORK_MS, and scheduling on a loaded CI machine.
SLACK = 1.0
# Whole run, restart and recovery included, takes about 7 s; the guard
# stays under CTest's TIMEOUT of 60 s.
RUN_LIMIT = 45

FAILED = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + detail))
    if not cond:
        FAILED.append(name)


def read_log(path):
    """The log's lines, split into fields; a line cut by the kill (no
    newline yet) is left out."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return []
    return [line.split() for line in text.split("\n")[:-1]]


def completed(logs):
    return sum(1 for log in logs for r in log if r[0] == "end")


class Stopped(Exception):
    """The run cannot go on: a deadline passed or a worker quit early."""


def wait_for(what, cond, deadline, procs):
    while not cond():
        quit = [p.args[1:3] for p in procs if p.poll() is not None]
        if quit:
            raise Stopped("%s exited early, waiting for %s" % (quit, what))
        if time.monotonic() > deadline:
            raise Stopped("timed out waiting for " + what)
        time.sleep(0.02)


def unfinished(log, step):
    """Entry ids started in log and not followed by `step` ("end" or
    "ack", the acknowledgement's outcome)."""
    finished = {r[2] for r in log if r[0] == step}
    return [r[2] for r in log if r[0] == "start" and r[2] not in finished]


def run(worker, srv, logdir):
    """Runs the scenario; returns the consumers' logs, the producer's and
    the kill's time (monotonic ns, taken just before it: recovery times
    are measured from no later than the kill)."""
    env = dict(os.environ, AQ_REDIS=srv.addr)
    clog = [os.path.join(logdir, "c%d.log" % i) for i in range(CONSUMERS)]
    plog = os.path.join(logdir, "producer.log")
    consumers = [subprocess.Popen([worker, "consume", "crash-c%d" % i,
                                   str(TASKS), str(WORK_MS),
                                   str(CLAIM_IDLE_MS), clog[i]], env=env)
                 for i in range(CONSUMERS)]
    procs = list(consumers)
    try:
        producer = subprocess.Popen([worker, "produce", str(ITEMS),
                                     str(CLAIM_IDLE_MS), plog], env=env)
        procs.append(producer)
        deadline = time.monotonic() + RUN_LIMIT

        def progress(n):
            return lambda: completed(read_log(p) for p in clog) >= n

        wait_for("a quarter of the items", progress(ITEMS // 4), deadline,
                 procs)
        t0 = time.monotonic()
        srv.restart()
        print("server restarted at %d items processed (down %.2f s)"
              % (completed(read_log(p) for p in clog), time.monotonic() - t0))

        wait_for("half of the items", progress(ITEMS // 2), deadline, procs)
        wait_for("the victim mid-item",
                 lambda: unfinished(read_log(clog[VICTIM]), "end"), deadline,
                 procs)
        t_kill = time.monotonic_ns()
        consumers[VICTIM].send_signal(signal.SIGKILL)

        for i, p in enumerate(procs):
            left = max(0.0, deadline - time.monotonic())
            rc = p.wait(timeout=left)
            who = "producer" if p is producer else "consumer%d" % i
            if i == VICTIM:
                check("victim_killed", rc == -signal.SIGKILL,
                      "exit status %r" % rc)
            else:
                check(who + "_exits_0", rc == 0, "exit status %r" % rc)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return [read_log(p) for p in clog], read_log(plog), t_kill


def audit(logs, plog, t_kill, srv):
    puts = [r for r in plog if r[0] == "put"]
    check("producer_put_all",
          len(puts) == ITEMS and all(r[2] == "AQ_OK" for r in puts),
          "%d puts, outcomes %s"
          % (len(puts), collections.Counter(r[2] for r in puts)))
    check("producer_joined", ["join", "AQ_OK"] in plog, str(plog[-3:]))
    check("producer_shut_down", ["shutdown", "AQ_OK"] in plog, str(plog[-3:]))

    starts = [r for log in logs for r in log if r[0] == "start"]
    ends = [r for log in logs for r in log if r[0] == "end"]
    acks = [r for log in logs for r in log if r[0] == "ack"]
    errors = [r for log in logs for r in log if r[0] == "error"]
    check("no_worker_errors", not errors, str(errors[:5]))

    seq_ids = collections.defaultdict(set)
    id_seqs = collections.defaultdict(set)
    for r in starts:
        seq_ids[int(r[1])].add(r[2])
        id_seqs[r[2]].add(int(r[1]))
    check("one_seq_per_id", all(len(s) == 1 for s in id_seqs.values()),
          str([i for i, s in id_seqs.items() if len(s) > 1][:5]))
    stored_twice = sum(len(ids) - 1 for ids in seq_ids.values())

    done = collections.Counter(int(r[1]) for r in ends)
    missing = [s for s in range(ITEMS) if done[s] == 0]
    check("every_seq_processed", not missing,
          "%d never completed, e.g. %s" % (len(missing), missing[:10]))
    check("no_foreign_seq", set(done) <= set(range(ITEMS)),
          str(sorted(set(done) - set(range(ITEMS)))[:10]))

    # The victim's items in flight at the kill: started, the outcome of
    # their acknowledgement not logged; of them, those still being
    # processed (no end either).
    inflight = unfinished(logs[VICTIM], "ack")
    mid_item = set(unfinished(logs[VICTIM], "end"))
    # Each in-flight id completed by a survivor: seconds from the kill to
    # its first completion there.
    elsewhere = {}
    for i, log in enumerate(logs):
        for r in log:
            if i != VICTIM and r[0] == "end" and r[2] in inflight:
                t = (int(r[4]) - t_kill) / 1e9
                elsewhere[r[2]] = min(t, elsewhere.get(r[2], t))

    outcome = collections.defaultdict(collections.Counter)
    for r in acks:
        outcome[r[2]][r[5]] += 1
    ok = sum(c["AQ_OK"] for c in outcome.values())
    late = sum(c["AQ_EALREADY"] for c in outcome.values())
    other = [(i, c) for i, c in outcome.items()
             if set(c) - {"AQ_OK", "AQ_EALREADY"}]
    check("acks_only_ok_or_ealready", not other, str(other[:5]))

    # An item the victim had finished may have been acknowledged as it
    # died (the ack reached the server, its outcome never reached the
    # log): then no AQ_OK is logged for it, and no survivor gets it again
    # (were it still pending, the stream would not end empty).
    def oks_due(i):
        acked_by_victim = i in inflight and i not in mid_item and \
            i not in elsewhere
        return 0 if acked_by_victim else 1
    wrong = [(i, dict(outcome[i])) for i in id_seqs
             if outcome[i]["AQ_OK"] != oks_due(i)]
    check("every_id_acked_ok_once", not wrong,
          "%d ids, e.g. %s" % (len(wrong), wrong[:5]))

    duplicates = len(ends) - len(done)
    bound = len(inflight) + stored_twice
    # Where each twice-done item was done: consumer/task, entry id.
    where = collections.defaultdict(list)
    for i, log in enumerate(logs):
        for r in log:
            if r[0] == "end" and done[int(r[1])] > 1:
                where[int(r[1])].append("c%d/t%s %s" % (i, r[3], r[2]))
    check("kill_landed_mid_item", mid_item, "no item being processed")
    check("duplicates_bounded", duplicates <= bound,
          "%d duplicates > %d in flight + %d stored twice; e.g. %s"
          % (duplicates, len(inflight), stored_twice,
             sorted(where.items())[:3]))

    limit = CLAIM_IDLE_MS / 1000 * 4 / 3 + SLACK
    slowest = max(elsewhere.values(), default=float("nan"))
    check("in_flight_recovered", mid_item <= set(elsewhere),
          "never completed elsewhere: %s" % sorted(mid_item - set(elsewhere)))
    check("recovered_in_time", slowest <= limit,
          "slowest %.2f s > %.2f s" % (slowest, limit))

    # Acknowledged entries may stay until the head is trimmed in whole
    # nodes: what is not done is XLEN less the counter of those.
    xlen = int(srv.cli("XLEN", "crash").strip())
    acked = int(srv.cli("GET", "crash:acked").strip() or 0)
    pending = srv.cli("XPENDING", "crash", "aq").split()[0]
    dead = srv.cli("XLEN", "crash:dead").strip()
    check("nothing_unacknowledged", xlen - acked == 0 and pending == "0",
          "XLEN crash %d, crash:acked %d, pending %s" % (xlen, acked,
                                                        pending))
    check("nothing_dead", dead == "0", "XLEN crash:dead = " + dead)

    # One stats line from each survivor and from the producer.
    stats = [r for log in logs + [plog] for r in log if r[0] == "stats"]
    check("workers_saw_the_restart",
          len(stats) == CONSUMERS - 1 + 1 and
          all(int(r[7]) >= 1 for r in stats),
          "stats lines: %s" % stats)

    print("items %d, processings %d, duplicates %d, in flight at kill %d "
          "(%d mid-item, %d completed elsewhere), stored twice %d, acks OK "
          "%d / EALREADY %d, recovery %.2f s (bound %.2f s)"
          % (ITEMS, len(ends), duplicates, len(inflight), len(mid_item),
             len(elsewhere), stored_twice, ok, late, slowest, limit))


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    logdir = tempfile.mkdtemp(prefix="aq-crash-")
    with RedisServer(persist=True) as srv:
        try:
            audit(*run(argv[1], srv, logdir), srv)
        except (Stopped, subprocess.TimeoutExpired) as e:
            check("run_finished", False, str(e))
            for name in sorted(os.listdir(logdir)):
                for r in read_log(os.path.join(logdir, name)):
                    if r[0] == "error":
                        print("  %s: %s" % (name, " ".join(r)))
    if FAILED:
        print("%d failed; logs in %s" % (len(FAILED), logdir))
        return 1
    shutil.rmtree(logdir)
    print("0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
