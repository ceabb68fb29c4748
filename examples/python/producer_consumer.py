"""The tutorial's basic producer-consumer pattern (twin of
examples/producer_consumer.c)."""
import asyncio


async def producer(queue, items):
    for item in items:
        await queue.put(item)
        print(f"Produced: {item}")
    await queue.put(None)  # sentinel to signal completion


async def consumer(queue):
    while True:
        item = await queue.get()
        if item is None:
            break
        print(f"Consumed: {item}")
        await asyncio.sleep(0.1)  # simulate processing
        queue.task_done()


async def main():
    queue = asyncio.Queue(maxsize=10)
    await asyncio.gather(
        producer(queue, range(20)),
        consumer(queue)
    )


asyncio.run(main())
