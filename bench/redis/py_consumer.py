#!/usr/bin/python3
"""The python3-redis peer of `aqredis drain` (bench/redis/run.py runs both).

    py_consumer.py natural|batched PORT STREAM N

Drains N entries that the runner put into STREAM beforehand, through the
consumer group "py" (created at id 0, as libaq's open creates "aq"), one
consumer, doing per entry the work libaq's get + task_done does:
XREADGROUP, then XACK and XDEL (libaq's ack script does both; here the
two go in one round trip, a non-transactional pipeline).

  natural  what a Python user writes first: XREADGROUP COUNT 1 BLOCK 100,
           then XACK + XDEL of that entry: two round trips per entry
  batched  XREADGROUP COUNT 100 BLOCK 100, then one XACK and one XDEL
           naming every id got: two round trips per 100 entries

Prints one line of key=value pairs, as aqredis does: items, seconds (from
the first read to the last reply), items_per_s. Needs Debian's
python3-redis, so run it with /usr/bin/python3. Exits 1 if the stream
runs dry before N entries came, 2 on bad arguments.
"""
import sys
import time

import redis

GROUP = "py"


def check(fields):
    """The item, as a handler takes it: libaq's gets check its size too."""
    if len(fields.get(b"item", b"")) != 8:
        sys.exit("py_consumer: an entry without an 8-byte item")


def drain(r, stream, n, count):
    """Reads up to count entries, then acknowledges and deletes what it got
    (one XACK and one XDEL naming every id) in one round trip."""
    done = 0
    while done < n:
        got = r.xreadgroup(GROUP, "py-consumer", {stream: ">"}, count=count,
                           block=100)
        if not got:
            sys.exit("py_consumer: stream dry after %d entries" % done)
        for _, entries in got:
            ids = []
            for entry_id, fields in entries:
                check(fields)
                ids.append(entry_id)
            p = r.pipeline(transaction=False)
            p.xack(stream, GROUP, *ids)
            p.xdel(stream, *ids)
            p.execute()
            done += len(ids)


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("natural", "batched"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    mode, port, stream, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
        int(sys.argv[4])
    r = redis.Redis(host="127.0.0.1", port=port)
    r.xgroup_create(stream, GROUP, id="0")
    t0 = time.perf_counter()
    drain(r, stream, n, 1 if mode == "natural" else 100)
    s = time.perf_counter() - t0
    print("%s items=%d seconds=%.3f items_per_s=%.0f" % (mode, n, s, n / s))


if __name__ == "__main__":
    main()
