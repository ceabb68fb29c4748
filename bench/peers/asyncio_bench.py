#!/usr/bin/env python3
"""Peer benchmark: CPython asyncio, the reference libaq's aqbench is compared to.

Usage:  asyncio_bench.py WORKLOAD N

Prints one line on stdout, `WORKLOAD N ns_per_item` (1 decimal), except
    spawn N ns_cold ns_warm bytes_per_task
    timers N ns_per_timer mean_lateness_us
and `loop=asyncio` or `loop=uvloop` on stderr.  Unknown workload or bad N:
message on stderr, exit 2.  A failed result check: exit 1.

The workloads mirror go/main.go one for one.  Timing covers only the measured
part (from creating the tasks to the last one finishing), never interpreter or
event-loop start-up.  Differences from the Go peer that cannot be avoided:
  - switch: a yield is `await asyncio.sleep(0)` (Go: runtime.Gosched()).
  - fanout: completion is tracked with Queue.join()/task_done(); Go uses a
    sync.WaitGroup with Add(1)/Done() per item, its nearest equivalent.
  - spawn: the queue is a real unbounded asyncio.Queue; Go has no unbounded
    channel and uses an unbuffered one (see the comment there).  gc.collect()
    before each round mirrors Go's runtime.GC().
  - timers: asyncio's timer resolution is the loop's clock (time.monotonic);
    lateness is measured with perf_counter_ns, the same clock on Linux.
"""

import asyncio
import gc
import sys
import time

try:
    import uvloop  # optional: faster loop, used when installed
except ImportError:
    uvloop = None

now = time.perf_counter_ns


def lcg(n):
    """The shared pseudo-random sequence: x0=12345, x = (x*1103515245+12345) mod 2^31,
    yielding the value after each step (identical in the Go peer)."""
    x = 12345
    for _ in range(n):
        x = (x * 1103515245 + 12345) % 2**31
        yield x


def fail(what):
    print(f"check failed: {what}", file=sys.stderr)
    sys.exit(1)


def check(ok, what):
    if not ok:
        fail(what)


def vm_rss_bytes():
    """Current resident set size from /proc/self/status (VmRSS is in kB)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


# Each workload returns the line's fields after `WORKLOAD N`.

async def switch(n):
    async def yielder():
        for _ in range(n):
            await asyncio.sleep(0)  # bare yield back to the loop

    t0 = now()
    await asyncio.gather(yielder(), yielder())
    return [(now() - t0) / (2 * n)]


async def transfer(n, maxsize):
    """1 producer -> 1 consumer through a bounded FIFO; shared by handoff and bulk."""
    q = asyncio.Queue(maxsize)

    async def producer():
        for i in range(n):
            await q.put(i)

    async def consumer():
        total = 0
        for _ in range(n):
            total += await q.get()
        return total

    t0 = now()
    _, total = await asyncio.gather(producer(), consumer())
    elapsed = now() - t0
    check(total == n * (n - 1) // 2, "sum")
    return [elapsed / n]


async def handoff(n):
    return await transfer(n, 1)


async def bulk(n):
    return await transfer(n, 1024)


async def pingpong(n):
    q1, q2 = asyncio.Queue(1), asyncio.Queue(1)

    async def a():
        for i in range(n):
            await q1.put(i)
            if await q2.get() != i:  # inline test: no call per round trip
                fail("pingpong order")

    async def b():
        for _ in range(n):
            await q2.put(await q1.get())

    t0 = now()
    await asyncio.gather(a(), b())
    return [(now() - t0) / n]


async def fanout(n, consumers=8):
    q = asyncio.Queue(64)

    async def consumer():
        total = 0
        while True:
            item = await q.get()
            q.task_done()
            if item < 0:  # sentinel
                return total
            total += item

    t0 = now()
    workers = [asyncio.create_task(consumer()) for _ in range(consumers)]
    for i in range(n):
        await q.put(i)
    await q.join()  # every item consumed
    for _ in range(consumers):
        await q.put(-1)
    totals = await asyncio.gather(*workers)
    elapsed = now() - t0
    check(sum(totals) == n * (n - 1) // 2, "sum")
    return [elapsed / n]


async def priority(n):
    q = asyncio.PriorityQueue()  # unbounded, so put never waits
    prios = list(lcg(n))  # generated outside the timed part

    t0 = now()
    for p in prios:
        await q.put(p)
    prev = -1
    for _ in range(n):
        p = await q.get()
        if p < prev:  # inline test: no call per item
            fail("priority order")
        prev = p
    return [(now() - t0) / n]


async def spawn_round(n):
    """Spawn n tasks all parked on get() of one shared queue, then feed them.
    Returns (elapsed ns excluding the RSS read, VmRSS while all n are parked)."""
    gc.collect()
    q = asyncio.Queue()

    async def waiter():
        return await q.get()

    t0 = now()
    tasks = [asyncio.create_task(waiter()) for _ in range(n)]
    # One yield: our wake-up is queued behind every new task's first step,
    # so when we resume all n are parked in get().
    await asyncio.sleep(0)
    t1 = now()
    rss = vm_rss_bytes()
    t2 = now()
    for i in range(n):
        await q.put(i)
    total = 0
    for t in tasks:
        total += await t
    t3 = now()
    check(total == n * (n - 1) // 2, "sum")
    return (t1 - t0) + (t3 - t2), rss


async def spawn(n):
    _, rss_1000 = await spawn_round(1000)  # warm-up and memory baseline
    cold, rss_n = await spawn_round(n)
    warm, _ = await spawn_round(n)
    return [cold / n, warm / n, (rss_n - rss_1000) / n]


async def timers(n):
    # Durations in ns: x % 100000 microseconds, i.e. [0, 100) ms.
    durations = [(x % 100000) * 1000 for x in lcg(n)]
    lateness = 0

    async def sleeper(d):
        nonlocal lateness
        # Intended wake = when this task starts sleeping + its duration.
        start = now()
        await asyncio.sleep(d / 1e9)
        lateness += now() - start - d

    t0 = now()
    await asyncio.gather(*(sleeper(d) for d in durations))
    elapsed = now() - t0
    return [elapsed / n, lateness / n / 1000]


WORKLOADS = {f.__name__: f for f in
             (switch, handoff, pingpong, bulk, fanout, priority, spawn, timers)}


def main(argv):
    if len(argv) != 3 or argv[1] not in WORKLOADS or not argv[2].isdigit() or int(argv[2]) < 1:
        print(f"usage: {argv[0]} WORKLOAD N  (N >= 1; WORKLOAD one of: {' '.join(WORKLOADS)})",
              file=sys.stderr)
        return 2
    name, n = argv[1], int(argv[2])
    coro = WORKLOADS[name](n)
    if uvloop is None:
        fields = asyncio.run(coro)
    elif hasattr(uvloop, "run"):  # uvloop >= 0.18
        fields = uvloop.run(coro)
    else:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        fields = asyncio.run(coro)
    print("loop=" + ("asyncio" if uvloop is None else "uvloop"), file=sys.stderr)
    print(name, n, *(f"{v:.1f}" for v in fields))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
