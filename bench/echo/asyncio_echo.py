#!/usr/bin/env python3
"""asyncio streams echo server for the echo benchmark (bench/README.md).

Usage:  asyncio_echo.py PORT [uvloop]

asyncio.start_server and a handler per connection: read, write, drain.
With "uvloop" the same code runs on uvloop's loop (uvloop.install()).
asyncio and uvloop set TCP_NODELAY on TCP connections themselves.
"""

import asyncio
import sys


async def handle(reader, writer):
    try:
        while True:
            data = await reader.read(4096)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()


async def main(port):
    server = await asyncio.start_server(handle, "127.0.0.1", port,
                                        backlog=8192, reuse_address=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3) or sys.argv[2:] not in ([], ["uvloop"]):
        sys.exit("usage: asyncio_echo.py PORT [uvloop]")
    if sys.argv[2:] == ["uvloop"]:
        import uvloop
        uvloop.install()
    asyncio.run(main(int(sys.argv[1])))
