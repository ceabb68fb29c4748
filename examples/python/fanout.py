"""The tutorial's fan-out: one producer, three consumers C0..C2 sharing a
queue of maxsize 20 (twin of examples/fanout.c). Takes about 5 s:
30 items x 0.5 s / 3 consumers."""
import asyncio


async def consumer(name, queue):
    while True:
        item = await queue.get()
        if item is None:
            break
        print(f"[{name}] Processing: {item}")
        await asyncio.sleep(0.5)
        queue.task_done()


async def main():
    queue = asyncio.Queue(maxsize=20)
    # 1 producer, 3 consumers
    consumers = [
        asyncio.create_task(consumer(f"C{i}", queue))
        for i in range(3)
    ]
    # Produce items
    for i in range(30):
        await queue.put(i)
    # Wait for all items to be processed
    await queue.join()
    # Signal consumers to stop
    for _ in consumers:
        await queue.put(None)
    await asyncio.gather(*consumers)


asyncio.run(main())
