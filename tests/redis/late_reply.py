#!/usr/bin/env python3
"""A read's reply that comes after the entry it carries was taken back,
handed out and acknowledged.

    python3 tests/redis/late_reply.py LATE_READ

LATE_READ (tests/redis/late_read.c) waits in a get, its read blocked at a
real redis-server behind a relay (relay.py). An entry is added: the read
delivers it at the server, the relay holds the reply back for a second
and cuts the member's other connection. The member reconnects, its
take-back claims the entry (pending for it) and hands it to the get,
which acknowledges it. Then the late reply comes: the member must not
hold the entry again (a second get times out, nothing is acknowledged
late).

Then the same with a bad item (3 bytes where items are 8) on stream
"latebad": the take-back moves it to the dead-letter stream, and the late
reply must not move it a second time (a reviewer's reproducer: two
dead-letter entries for one, the second without its item), nor count it
in stats.dead again.
"""
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from relay import Relay  # noqa: E402
from server import RedisServer  # noqa: E402

HOLD_S = 1.0


class HoldRead:
    """Armed, holds the next reply on the reading link (the one that sent
    XREADGROUP) for HOLD_S, and cuts every other link as it does."""

    def __init__(self, relay_links):
        self.links = relay_links
        self.armed = threading.Event()
        self.held = None

    def __call__(self, link, up, data):
        if up or not self.armed.is_set() or b"XREADGROUP" not in link.sent:
            return None
        self.armed.clear()
        self.held = data
        for other in list(self.links()):
            if other is not link:
                other.close()
        return HOLD_S


def run(member, bad):
    """One scenario; returns the names of what came out wrong."""
    stream = "latebad" if bad else "late"
    with RedisServer() as srv:
        relay = None
        hold = HoldRead(lambda: relay.links)
        relay = Relay(srv.port, hold)
        p = subprocess.Popen([member, relay.addr] + (["bad"] if bad else []),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
        head = [p.stdout.readline().split() for _ in range(2)]
        hold.armed.set()
        value = "bad" if bad else "lateitem"
        srv.cli("XADD", stream, "*", "item", value)
        p.stdin.write("\n")
        p.stdin.flush()
        out, _ = p.communicate(timeout=30)
        sys.stdout.write(out)
        seen = dict(line.split(" ", 1) for line in out.splitlines()
                    if " " in line)
        seen.update(dict(x for x in head if len(x) == 2))
        seen["pending"] = srv.cli("XPENDING", stream, "aq").split()[0]
        seen["dead_entries"] = srv.cli("XLEN", stream + ":dead").strip()
    if bad:
        want = {"open": "AQ_OK", "get": "AQ_ETIMEDOUT",
                "get_again": "AQ_ETIMEDOUT", "pending": "0",
                "dead_entries": "1", "dead": "1"}
    else:
        want = {"open": "AQ_OK", "get": "AQ_OK", "task_done": "AQ_OK",
                "item": "lateitem", "get_again": "AQ_ETIMEDOUT",
                "acks": "1", "acks_late": "0", "pending": "0",
                "dead_entries": "0"}
    wrong = [k for k in want if seen.get(k) != want[k]]
    if not hold.held or value.encode() not in hold.held:
        wrong.append("held (the reply held back: %r)" % (hold.held,))
    if int(seen.get("reconnects", "0")) < 1:
        wrong.append("reconnects")
    if p.returncode != 0:
        wrong.append("exit %d" % p.returncode)
    return wrong


def main():
    for bad in (False, True):
        wrong = run(sys.argv[1], bad)
        if wrong:
            sys.exit("late_reply%s: wrong %s" % (" (bad item)" if bad else "",
                                                  wrong))
    print("late_reply: OK")


if __name__ == "__main__":
    main()
