"""A worker that takes from a work queue or a control queue, whichever has
something first (twin of examples/select.c). asyncio has no select over
queues: the worker keeps one get() task per queue and waits for the first
with asyncio.wait(FIRST_COMPLETED); control wins when both are done.

Timeline: a job every 10 ms, a status request at 25 ms, stop at 65 ms."""
import asyncio

STATUS, STOP = 1, 2


async def worker(work, control):
    done = 0
    get_cmd = asyncio.create_task(control.get())
    get_job = asyncio.create_task(work.get())
    while True:
        finished, _ = await asyncio.wait(
            {get_cmd, get_job}, return_when=asyncio.FIRST_COMPLETED)
        if get_cmd in finished:
            cmd = get_cmd.result()
            if cmd == STOP:
                print(f"worker: stopping after {done} jobs")
                get_job.cancel()  # an item arriving now would be lost
                return
            print(f"worker: status: {done} jobs done")
            get_cmd = asyncio.create_task(control.get())
        else:
            print(f"worker: job {get_job.result()}")
            done += 1
            work.task_done()
            get_job = asyncio.create_task(work.get())


async def main():
    work, control = asyncio.Queue(), asyncio.Queue()
    w = asyncio.create_task(worker(work, control))
    plan = [(0, 1, 10), (0, 2, 10), (1, STATUS, 5), (0, 3, 5),
            (0, 4, 10), (0, 5, 10), (0, 6, 10), (1, STOP, 5)]
    for is_control, value, wait_ms in plan:
        await asyncio.sleep(wait_ms / 1000)
        await (control if is_control else work).put(value)
        if not is_control:
            print(f"producer: job {value}")
    await w


asyncio.run(main())
