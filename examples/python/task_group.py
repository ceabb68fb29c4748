"""The tutorial's crawler-style fan-out (twin of examples/task_group.c): a
Semaphore bounds concurrent fetches to 3, a TaskGroup runs one fetch per
URL, and an Event shuts a pool of queue workers down gracefully once their
queue is drained."""
import asyncio

NURLS, NWORKERS, NJOBS = 10, 4, 20
active = max_active = 0
sizes = {}


async def fetch(limit, url):
    global active, max_active
    async with limit:
        active += 1
        max_active = max(max_active, active)
        await asyncio.sleep((url % 3 + 1) * 5 / 1000)
        active -= 1
    sizes[url] = url * 100


async def pool_worker(jobs, stop, handled):
    while True:
        get = asyncio.ensure_future(jobs.get())
        stopped = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait(
            {get, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if get in done:  # jobs first, as the C twin's biased select
            stopped.cancel()
            handled[0] += 1
            jobs.task_done()
            continue
        get.cancel()
        return


async def main():
    limit = asyncio.Semaphore(3)
    async with asyncio.TaskGroup() as tg:
        for url in range(NURLS):
            tg.create_task(fetch(limit, url))
    print(f"fetched {NURLS} pages, {sum(sizes.values())} bytes in all")
    print(f"at most {max_active} fetches at once")

    jobs, stop, handled = asyncio.Queue(), asyncio.Event(), [0]
    async with asyncio.TaskGroup() as tg:
        workers = [tg.create_task(pool_worker(jobs, stop, handled))
                   for _ in range(NWORKERS)]
        for job in range(NJOBS):
            await jobs.put(job)
        await jobs.join()
        print(f"pool: {handled[0]} jobs handled")
        stop.set()
    print(f"pool: stopped, {sum(not w.done() for w in workers)} workers left")


asyncio.run(main())
