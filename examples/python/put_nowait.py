"""The tutorial's non-blocking operations: put_nowait() on a full queue
raises QueueFull at once, get_nowait() on an empty one QueueEmpty
(twin of examples/put_nowait.c)."""
import asyncio


async def main():
    queue = asyncio.Queue(maxsize=3)
    for item in range(5):
        try:
            queue.put_nowait(item)
            print(f"Queued: {item}")
        except asyncio.QueueFull:
            print("Queue is full, dropping item")
    while True:
        try:
            item = queue.get_nowait()
        except asyncio.QueueEmpty:
            print("Queue is empty")
            break
        print(f"Got: {item}")
        queue.task_done()


asyncio.run(main())
