"""LifoQueue: the most recently added item comes out first
(twin of examples/lifo.c)."""
import asyncio


async def main():
    queue = asyncio.LifoQueue()
    for item in (1, 2, 3):
        await queue.put(item)
        print(f"Put: {item}")
    while not queue.empty():
        item = await queue.get()
        print(f"Got: {item}")


asyncio.run(main())
