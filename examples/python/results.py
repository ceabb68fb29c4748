# Results that are not pointers: a task returns an int, a tuple, a string.
# The C twin (examples/results.c) shows the three ways a C task hands back
# such results through aq_task_fn's void *.
import asyncio


async def count_words(text):
    await asyncio.sleep(0)
    return len(text.split())


async def stats(numbers):
    await asyncio.sleep(0)
    return min(numbers), max(numbers), sum(numbers) / len(numbers)


async def shout(word):
    await asyncio.sleep(0)
    return word.upper() + "!"


async def main():
    n = await asyncio.create_task(count_words("the quick brown fox"))
    print(f"words: {n}")
    lo, hi, mean = await asyncio.create_task(stats([3, 1, 4, 1, 5]))
    print(f"min {lo} max {hi} mean {mean:.2f}")
    s = await asyncio.create_task(shout("hello"))
    print(f"shout: {s}")


asyncio.run(main())
