"""The tutorial's producer/consumer over TCP (twin of
examples/tcp_pipeline.c): connection handlers read lines from their
sockets into one bounded queue, worker tasks consume them. When the queue
is full, a handler's put waits, so it stops reading its socket; its
reader's buffer and the kernel's fill, and the client's drain() waits in
turn: backpressure from the workers back to the clients.

Self-contained: a server on an ephemeral loopback port, NCLIENTS client
tasks sending NLINES numbered lines each; small socket buffers and
reader limits, so the kernel buffers fill early."""
import asyncio
import socket

NCLIENTS, NLINES, MAXSIZE, NWORKERS = 3, 1000, 8, 2
LINE = 64      # bytes per line, '\n' included
BUF = 4096     # socket buffers and the readers' limit

received = [0] * NCLIENTS
in_order = [True] * NCLIENTS
expected = [0] * NCLIENTS
high_water = 0
handlers_left = NCLIENTS


def line(client, seq):
    text = f"{client} {seq} "
    return (text + "." * (LINE - 1 - len(text)) + "\n").encode()


async def handle(queue, all_read, reader, writer):
    """One connection: its lines into the queue, until end of file."""
    global high_water, handlers_left
    while True:
        data = await reader.readline()
        if not data:
            break
        client, seq = map(int, data.split()[:2])
        await queue.put((client, seq))  # full: stop reading the socket
        high_water = max(high_water, queue.qsize())
    writer.close()
    await writer.wait_closed()
    handlers_left -= 1
    if handlers_left == 0:
        all_read.set()


async def worker(queue):
    while True:
        client, seq = await queue.get()
        if seq != expected[client]:
            in_order[client] = False
        expected[client] = seq + 1
        received[client] += 1
        await asyncio.sleep(0)  # simulate processing
        queue.task_done()


async def client(port, n):
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUF)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.transport.set_write_buffer_limits(0)  # drain: all in the kernel
    for seq in range(NLINES):
        writer.write(line(n, seq))
        await writer.drain()  # waits while the kernel's buffers are full
    writer.close()
    await writer.wait_closed()


async def main():
    queue = asyncio.Queue(maxsize=MAXSIZE)
    all_read = asyncio.Event()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUF)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = await asyncio.start_server(
        lambda r, w: handle(queue, all_read, r, w), sock=listener, limit=BUF)
    workers = [asyncio.create_task(worker(queue)) for _ in range(NWORKERS)]
    print(f"{NCLIENTS} clients send {NLINES} lines each; "
          f"queue maxsize {MAXSIZE}, {NWORKERS} workers")
    await asyncio.gather(*(client(port, n) for n in range(NCLIENTS)))
    await all_read.wait()
    await queue.join()
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    server.close()
    await server.wait_closed()
    for n in range(NCLIENTS):
        order = "in order" if in_order[n] else "OUT OF ORDER"
        print(f"client {n}: {received[n]} lines received, {order}")
    print(f"queue high water: {high_water} "
          f"(never above maxsize {MAXSIZE}: {high_water <= MAXSIZE})")


asyncio.run(main())
