"""The tutorial's custom backpressure: drop oldest, and sample. A fast
sensor produces readings into a small queue; a slow consumer keeps up
with only some of them. When the queue is full the oldest reading is
thrown away (asyncio has no policy for it: get_nowait, then put_nowait),
and the producer keeps only one reading in SAMPLE (twin of
examples/drop_oldest.c, where the queue's AQ_DROP_OLDEST policy does it).
"""
import asyncio

READINGS = 24  # readings the sensor makes
SAMPLE = 2     # keep one reading in SAMPLE
WORK = 4       # the consumer's ticks per reading: slower than the sensor

dropped = 0


def put_drop_oldest(queue, reading):
    global dropped
    if queue.full():
        old = queue.get_nowait()
        queue.task_done()  # a dropped reading is never waited for
        dropped += 1
        print(f"dropped reading {old}")
    queue.put_nowait(reading)


async def sensor(queue):
    sampled = 0
    for i in range(READINGS):
        reading = 100 + i
        if i % SAMPLE == 0:  # sampling: one in SAMPLE goes on
            put_drop_oldest(queue, reading)
            sampled += 1
        await asyncio.sleep(0)  # the next reading comes a tick later
    return sampled


async def consumer(queue):
    while True:
        reading = await queue.get()
        print(f"consumed reading {reading}")
        for _ in range(WORK):
            await asyncio.sleep(0)
        queue.task_done()


async def main():
    queue = asyncio.Queue(maxsize=3)
    worker = asyncio.create_task(consumer(queue))
    sampled = await asyncio.create_task(sensor(queue))
    await queue.join()
    worker.cancel()
    consumed = sampled - dropped
    print(f"readings {READINGS}, sampled {sampled}, consumed {consumed}, "
          f"dropped {dropped}")


asyncio.run(main())
