#!/usr/bin/env python3
"""An open against a server still loading its data.

    python3 tests/redis/loading.py LOADING_OPEN

Fills a real redis-server with KEYS keys, saves them, and restarts it with
key-load-delay (a Redis setting that sleeps that many microseconds per key
loaded), so that it answers LOADING to most commands for a few seconds.
While INFO says loading:1, runs LOADING_OPEN (tests/redis/loading_open.c),
which must open the queue (the scripts' loads, refused with LOADING at
connect, made again once the load is over), put, get and acknowledge.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import RedisServer  # noqa: E402

KEYS = 2000
DELAY_US = 1000  # per key: about 2 s of LOADING


def main():
    prog = sys.argv[1]
    srv = RedisServer()
    try:
        srv.start()
        fill = "".join("SET k%d v\n" % i for i in range(KEYS))
        subprocess.run(["redis-cli", "-p", str(srv.port)], input=fill,
                       text=True, check=True, capture_output=True)
        assert srv.cli("DBSIZE").strip() == str(KEYS)
        srv.cli("SAVE")
        srv.stop()
        srv.extra = ["--key-load-delay", str(DELAY_US),
                     # answer (LOADING) while loading, not only after
                     "--loading-process-events-interval-bytes", "1024"]
        srv.start(loaded=False)
        info = srv.cli("INFO", "persistence")
        if "loading:1" not in info:
            sys.exit("the server was not loading when the member started: "
                     + info)
        out = subprocess.run([prog, srv.addr], text=True,
                             capture_output=True, timeout=60)
        sys.stdout.write(out.stdout)
        sys.stderr.write(out.stderr)
        got = dict(line.split(" ", 1) for line in out.stdout.splitlines())
        want = {"open": "AQ_OK", "put": "AQ_OK", "get": "AQ_OK",
                "item": "42", "task_done": "AQ_OK", "close": "AQ_OK"}
        bad = [k for k in want if got.get(k) != want[k]]
        if out.returncode != 0 or bad:
            sys.exit("loading: wrong %s (exit %d)" % (bad, out.returncode))
        # The open waited the load out: it cannot have ended before it.
        if int(got["open_ms"]) < 500:
            sys.exit("loading: the open took %s ms, too short to have "
                     "met LOADING" % got["open_ms"])
        print("loading: OK")
    finally:
        srv.close()


if __name__ == "__main__":
    main()
