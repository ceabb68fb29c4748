#!/usr/bin/python3
"""Cross-thread peer benchmark: a plain thread feeding an asyncio task.

Usage: janus_bench.py [N]   (else env N; N sets both peers).
Prints "janus_sync_to_async <peer> <ns_per_item>", median of 3 runs, for:

  janus                a plain thread puts N ints with q.sync_q.put into a
                       janus.Queue(maxsize=1024); an asyncio task gets them
                       with await q.async_q.get(). Default N 20,000: janus
                       1.0.0 costs ~100+ us per item here (each sync put
                       schedules a Task on the loop, each async get submits
                       a job to the loop's default thread pool executor), so
                       200,000 items x 3 runs would take ~80 s.
  queue_Queue_threads  the same through queue.Queue(1024) between two plain
                       threads (no event loop), for comparison. Default N
                       200,000.

Each run is timed from starting the producer thread to the consumer having
the last item. Exit 1 if a sum check fails, 2 on a bad N. Needs Debian's
python3-janus, so run it with /usr/bin/python3.
"""
import asyncio
import os
import queue
import statistics
import sys
import threading
import time

import janus


def produce(put, n):
    for i in range(n):
        put(i)


async def janus_run(n):
    q = janus.Queue(maxsize=1024)  # must be created inside the running loop
    get = q.async_q.get
    t0 = time.perf_counter_ns()
    th = threading.Thread(target=produce, args=(q.sync_q.put, n))
    th.start()
    total = 0
    for _ in range(n):
        total += await get()
    el = time.perf_counter_ns() - t0
    th.join()
    q.close()
    await q.wait_closed()
    return total, el


def janus_bench(n):
    return asyncio.run(janus_run(n))  # a fresh event loop per run


def queue_bench(n):
    q = queue.Queue(1024)
    res = []

    def consume():
        get, total = q.get, 0
        for _ in range(n):
            total += get()
        res.append(time.perf_counter_ns())
        res.append(total)

    t0 = time.perf_counter_ns()
    cons = threading.Thread(target=consume)
    prod = threading.Thread(target=produce, args=(q.put, n))
    cons.start()
    prod.start()
    prod.join()
    cons.join()
    return res[1], res[0] - t0


def main():
    s = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("N", "")
    try:
        n_arg = int(s) if s else None
    except ValueError:
        n_arg = 0
    if n_arg is not None and not 0 < n_arg <= 10**9:
        print("usage: janus_bench.py [N]  (0 < N <= 1e9)", file=sys.stderr)
        sys.exit(2)
    for peer, bench, default_n in (("janus", janus_bench, 20_000),
                                   ("queue_Queue_threads", queue_bench, 200_000)):
        n = n_arg if n_arg else default_n
        runs = []
        for _ in range(3):
            total, el = bench(n)
            if total != n * (n - 1) // 2:
                print(f"check failed: {peer} sum {total}", file=sys.stderr)
                sys.exit(1)
            runs.append(el / n)
        print(f"janus_sync_to_async {peer} {statistics.median(runs):.1f}",
              flush=True)


if __name__ == "__main__":
    main()
