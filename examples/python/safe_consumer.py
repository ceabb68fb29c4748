"""The tutorial's safe consumer: task_done() is called even when processing
fails, so join() still returns (twin of examples/safe_consumer.c).

process() fails on every multiple of 3. logging.exception() logs its line
to stdout here, without the traceback that follows it, so that the output
can be compared line for line with the C port."""
import asyncio
import logging
import sys


class FirstLineFormatter(logging.Formatter):
    """The log line alone: the traceback is left out."""

    def formatException(self, exc_info):
        return ""


async def process(item):
    await asyncio.sleep(0.1)  # simulate work
    if item % 3 == 0:
        raise ValueError(f"cannot process {item}")
    print(f"Processed: {item}")


async def safe_consumer(queue):
    while True:
        item = await queue.get()
        try:
            await process(item)
        except Exception:
            logging.exception(f"Failed to process {item}")
        finally:
            queue.task_done()  # always mark as done


async def main():
    queue = asyncio.Queue()
    worker = asyncio.create_task(safe_consumer(queue))
    for item in range(1, 10):
        await queue.put(item)
    await queue.join()  # returns although items 3, 6 and 9 failed
    print("join() returned: every item was marked done")
    # safe_consumer never returns by itself: cancel it.
    worker.cancel()
    try:
        await worker
    except asyncio.CancelledError:
        pass


handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(FirstLineFormatter(logging.BASIC_FORMAT))
logging.basicConfig(handlers=[handler])
asyncio.run(main())
