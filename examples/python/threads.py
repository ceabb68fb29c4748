# Twin of examples/threads.c: four plain threads compute squares for two
# asyncio tasks. asyncio.Queue is not thread-safe, so each put crosses
# with call_soon_threadsafe, which cannot wait: the queue must be
# unbounded (no backpressure on the threads), and the end is a sentinel
# per consumer rather than a shutdown from the last thread.
import asyncio
import threading

NTHREADS = 4
PER_THREAD = 250


def worker(loop, q, first, running, lock):
    for i in range(first, first + PER_THREAD):
        loop.call_soon_threadsafe(q.put_nowait, i * i)
    with lock:
        running[0] -= 1
        if running[0] == 0:  # the last one out
            for _ in range(2):
                loop.call_soon_threadsafe(q.put_nowait, None)


async def consumer(q):
    total = 0
    while (v := await q.get()) is not None:
        total += v
    return total


async def main():
    q = asyncio.Queue()  # unbounded: a thread could not wait on it
    loop = asyncio.get_running_loop()
    running, lock = [NTHREADS], threading.Lock()
    tasks = [asyncio.create_task(consumer(q)) for _ in range(2)]
    pool = [threading.Thread(target=worker,
                             args=(loop, q, t * PER_THREAD, running, lock))
            for t in range(NTHREADS)]
    for th in pool:
        th.start()
    sums = await asyncio.gather(*tasks)
    for th in pool:
        th.join()
    print(f"items: {NTHREADS * PER_THREAD}")
    print(f"sum of squares: {sum(sums)}")


asyncio.run(main())
