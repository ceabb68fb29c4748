#!/usr/bin/env python3
"""An acknowledgement cut off by a lost connection, both ways.

    python3 tests/redis/lossy_link.py LOSSY_ACK

Runs LOSSY_ACK (tests/redis/lossy_ack.c) against a real redis-server
through a TCP relay that, once armed, cuts the link at the next request
(drop-request: the ack never reaches the server) or the next reply
(drop-reply: the server applied the ack, the member never hears). Either
way the member reconnects and resends, and must see: task_done AQ_OK, the
entry not handed out again, one ack counted and none late; the server:
nothing unacknowledged and nothing pending.
"""
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from relay import Relay  # noqa: E402
from server import RedisServer  # noqa: E402


class Cutter:
    """Armed, closes the first link that carries data in the chosen
    direction, without forwarding that data (relay.py)."""

    def __init__(self, cut_requests):
        self.cut_requests = cut_requests
        self.armed = threading.Event()
        self.cut = None

    def __call__(self, link, up, data):
        if up == self.cut_requests and self.armed.is_set():
            self.armed.clear()
            self.cut = data
            return "cut"
        return None


def run(member, mode):
    with RedisServer() as srv:
        cutter = Cutter(mode == "drop-request")
        relay = Relay(srv.port, cutter)
        p = subprocess.Popen([member, relay.addr], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        head = [p.stdout.readline().split() for _ in range(3)]
        cutter.armed.set()
        p.stdin.write("\n")
        p.stdin.flush()
        out, _ = p.communicate(timeout=30)
        seen = dict(line.split() for line in out.splitlines())
        seen.update(dict(head))
        # Not yet acknowledged: XLEN less the acknowledged entries the
        # trim has not reached yet.
        seen["unacked"] = str(int(srv.cli("XLEN", "lossy")) -
                              int(srv.cli("GET", "lossy:acked") or 0))
        seen["pending"] = srv.cli("XPENDING", "lossy", "aq").split()[0]
        seen["cut"] = repr(cutter.cut[:40]) if cutter.cut else "nothing"
        return p.returncode, seen


def main():
    want = {"open": "AQ_OK", "put": "AQ_OK", "get": "AQ_OK",
            "task_done": "AQ_OK", "get_again": "AQ_ETIMEDOUT", "acks": "1",
            "acks_late": "0", "reconnects": "1", "unacked": "0",
            "pending": "0"}
    failed = 0
    for mode in ("drop-request", "drop-reply"):
        rc, seen = run(sys.argv[1], mode)
        print("%s: cut %s" % (mode, seen["cut"]))
        for key, value in want.items():
            ok = seen.get(key) == value
            failed += not ok
            print("  %s %s = %s%s" % ("ok  " if ok else "FAIL", key,
                                      seen.get(key),
                                      "" if ok else " (want %s)" % value))
        if rc != 0 or seen["cut"] == "nothing":
            print("  FAIL member exit %d, cut %s" % (rc, seen["cut"]))
            failed += 1
    print("%d failed" % failed)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
