"""The tutorial's PriorityQueue snippet, completed into a program: the
jobs come out lowest number first (twin of examples/priority.c)."""
import asyncio


async def main():
    queue = asyncio.PriorityQueue()
    await queue.put((1, "urgent task"))
    await queue.put((10, "low priority task"))
    await queue.put((5, "medium task"))
    while not queue.empty():
        item = await queue.get()  # first: (1, "urgent task")
        print(item)


asyncio.run(main())
