#!/usr/bin/env python3
"""examples/resp_queue_server driven by the real redis-cli (Debian's
redis-tools), plus raw sockets for what redis-cli cannot send.

    test_resp_server.py SERVER_BINARY
    test_resp_server.py --redis-server   (the same checks against
                                          redis-server itself, to check
                                          the expectations; by hand)

Starts the server on a free loopback port (it is given port 0 and prints
the one the kernel chose), runs every check, stops it with SIGTERM and
requires exit status 0 within 5 s. Fails, never skips, when redis-cli is
missing: .ci/run installs it. AQ_EXAMPLE_RUNNER, if set, is put before
the binary (an emulator for a cross build).
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

FAILED = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + detail))
    if not cond:
        FAILED.append(name)


def start_server(argv):
    if argv[1:] == ["--redis-server"]:
        with socket.socket() as s:  # racy, but only for the manual mode
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        p = subprocess.Popen(["redis-server", "--port", str(port), "--save",
                              "", "--appendonly", "no", "--bind",
                              "127.0.0.1"], stdout=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return p, port
            except OSError:
                time.sleep(0.05)
        sys.exit("redis-server did not start")
    runner = os.environ.get("AQ_EXAMPLE_RUNNER", "").split()
    p = subprocess.Popen(runner + [argv[1], "0"], stdout=subprocess.PIPE,
                         text=True)
    line = p.stdout.readline()
    m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not m:
        p.kill()
        sys.exit("server did not start: %r" % line)
    return p, int(m.group(1))


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    if shutil.which("redis-cli") is None:
        print("FAIL redis-cli not found: install redis-tools "
              "(apt-get install redis-tools; .ci/run does)")
        return 1
    server, port = start_server(argv)
    try:
        run_checks(port)
    finally:
        # A storm of SIGTERMs, not one: the ones after the first must not
        # reach the loop aq_run frees (the example ignores them from then
        # on; under AddressSanitizer a use after free fails the exit).
        for _ in range(200):
            if server.poll() is not None:
                break
            server.send_signal(signal.SIGTERM)
            time.sleep(0.0005)
    try:
        rc = server.wait(timeout=5)
        check("sigterm_exits_0", rc == 0, "exit status %r" % rc)
    except subprocess.TimeoutExpired:
        server.kill()
        check("sigterm_exits_0", False, "still running 5 s after SIGTERM")
    print("%d failed" % len(FAILED))
    return 1 if FAILED else 0


def cli_argv(port, *args):
    return ["redis-cli", "-h", "127.0.0.1", "-p", str(port)] + list(args)


def cli(port, *args):
    """Runs one command; returns redis-cli's output lines (raw mode, as
    when stdout is not a terminal: a nil reply is an empty line)."""
    r = subprocess.run(cli_argv(port, *args), capture_output=True,
                       text=True, timeout=20)
    return r.stdout.splitlines()


def cli_bg(port, *args):
    return subprocess.Popen(cli_argv(port, *args), stdout=subprocess.PIPE,
                            text=True)


def raw(port, data, read_until_close=True, timeout=5.0):
    """Sends bytes on a fresh connection; returns what came back before
    the server closed it (or the timeout)."""
    s = socket.create_connection(("127.0.0.1", port), timeout)
    s.sendall(data)
    got = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
            if not read_until_close:
                break
    except socket.timeout:
        got += b"<timeout>"
    s.close()
    return got


def recv_exact(s, n):
    got = b""
    while len(got) < n:
        b = s.recv(n - len(got))
        if not b:
            break
        got += b
    return got


def run_checks(port):
    check("ping", cli(port, "PING") == ["PONG"], repr(cli(port, "PING")))
    check("echo", cli(port, "ECHO", "hello world") == ["hello world"])

    # RPUSH then LPOP: first in, first out; LLEN follows.
    check("rpush_len", cli(port, "RPUSH", "q", "a", "b", "c") == ["3"])
    check("llen", cli(port, "LLEN", "q") == ["3"])
    got = [cli(port, "LPOP", "q") for _ in range(3)]
    check("rpush_lpop_order", got == [["a"], ["b"], ["c"]], repr(got))
    check("llen_empty", cli(port, "LLEN", "q") == ["0"])
    check("lpop_empty_nil", cli(port, "LPOP", "q") == [""])
    # Both ends in any mix: LPUSH + LPOP is a stack, LPUSH + RPOP a queue.
    cli(port, "LPUSH", "d", "1", "2", "3")      # 3 2 1
    cli(port, "RPUSH", "d", "4")                # 3 2 1 4
    got = [cli(port, c, "d") for c in ("RPOP", "LPOP", "RPOP", "LPOP")]
    check("deque_both_ends", got == [["4"], ["3"], ["1"], ["2"]], repr(got))
    cli(port, "RPUSH", "d", *[str(i) for i in range(10)])
    check("pop_count", cli(port, "LPOP", "d", "3") == ["0", "1", "2"] and
          cli(port, "RPOP", "d", "2") == ["9", "8"] and
          cli(port, "LLEN", "d") == ["5"])
    cli(port, "DEL", "d")

    # A BLPOP that a later LPUSH from another client completes.
    b = cli_bg(port, "BLPOP", "bq", "0")
    time.sleep(0.3)
    check("blpop_blocks", b.poll() is None)
    cli(port, "LPUSH", "bq", "item1")
    out = b.communicate(timeout=10)[0].splitlines()
    check("blpop_woken_by_lpush", out == ["bq", "item1"], repr(out))
    check("blpop_took_it", cli(port, "LLEN", "bq") == ["0"])

    # BLPOP over two keys: the push to the second one completes it, and
    # the first key is left alone.
    b = cli_bg(port, "BLPOP", "k1", "k2", "0")
    time.sleep(0.3)
    cli(port, "RPUSH", "k2", "two")
    out = b.communicate(timeout=10)[0].splitlines()
    check("blpop_two_keys", out == ["k2", "two"], repr(out))
    cli(port, "RPUSH", "k1", "one")
    check("blpop_two_keys_other_untouched", cli(port, "LPOP", "k1") == ["one"])
    # Ready at once: the first non-empty key in argument order.
    cli(port, "RPUSH", "k2", "x")
    cli(port, "RPUSH", "k1", "y")
    check("blpop_first_ready_key", cli(port, "BLPOP", "k1", "k2", "1") ==
          ["k1", "y"])
    cli(port, "DEL", "k2")

    # BRPOP takes from the right end.
    cli(port, "RPUSH", "r", "a", "b")
    check("brpop_right_end", cli(port, "BRPOP", "r", "1") == ["r", "b"])
    cli(port, "DEL", "r")

    # A BLPOP that times out: a nil reply, after about the timeout.
    t0 = time.time()
    out = cli(port, "BLPOP", "none", "0.4")
    dt = time.time() - t0
    check("blpop_timeout_nil", out == [""] and 0.35 <= dt < 5,
          "%r after %.2f s" % (out, dt))

    # A client killed while blocked loses nothing: its get never
    # completed, so the item pushed next stays for the next LPOP.
    b = cli_bg(port, "BLPOP", "kq", "0")
    time.sleep(0.3)
    b.kill()
    b.wait()
    time.sleep(0.3)
    check("killed_blocked_push", cli(port, "LPUSH", "kq", "kept") == ["1"])
    check("killed_blocked_item_kept", cli(port, "LLEN", "kq") == ["1"] and
          cli(port, "LPOP", "kq") == ["kept"])

    # Pipelining and partial reads: several requests in one write, one
    # request a byte at a time, an inline command.
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.sendall(b"*3\r\n$5\r\nRPUSH\r\n$1\r\np\r\n$1\r\nx\r\n"
              b"*2\r\n$4\r\nLLEN\r\n$1\r\np\r\nPING\r\n"
              b"*2\r\n$4\r\nLPOP\r\n$1\r\np\r\n")
    want = b":1\r\n:1\r\n+PONG\r\n$1\r\nx\r\n"
    got = recv_exact(s, len(want))
    check("pipelined", got == want, repr(got))
    req = b"*2\r\n$4\r\nECHO\r\n$11\r\nbyte\r\nbyte!\r\n"
    for i in range(len(req)):
        s.sendall(req[i:i + 1])
        time.sleep(0.002)
    want = b"$11\r\nbyte\r\nbyte!\r\n"
    got = recv_exact(s, len(want))
    check("byte_by_byte", got == want, repr(got))
    # A value larger than the read chunk, in and out intact.
    big = bytes(range(256)) * 2000
    s.sendall(b"*3\r\n$5\r\nRPUSH\r\n$3\r\nbig\r\n$%d\r\n%s\r\n"
              b"*2\r\n$4\r\nLPOP\r\n$3\r\nbig\r\n" % (len(big), big))
    want = b":1\r\n$%d\r\n%s\r\n" % (len(big), big)
    got = recv_exact(s, len(want))
    check("big_value", got == want, "%d bytes back" % len(got))

    # Malformed and oversized requests: an error reply, then the server
    # closes that connection; the client held open above and a fresh
    # redis-cli are still served.
    for name, data, msg in [
            ("bad_bulk_length", b"*1\r\n$abc\r\n",
             b"-ERR Protocol error: invalid bulk length\r\n"),
            ("oversized_bulk", b"*1\r\n$600000000\r\n",
             b"-ERR Protocol error: invalid bulk length\r\n"),
            ("bad_multibulk", b"*x\r\n",
             b"-ERR Protocol error: invalid multibulk length\r\n"),
            ("expected_dollar", b"*2\r\n:1\r\n",
             b"-ERR Protocol error: expected '$', got ':'\r\n")]:
        got = raw(port, data)
        check("malformed_" + name, got == msg, repr(got))
    s.sendall(b"PING\r\n")
    check("other_client_still_served", recv_exact(s, 7) == b"+PONG\r\n")
    s.close()
    check("new_client_still_served", cli(port, "PING") == ["PONG"])

    # A blocked client and an idle one when SIGTERM comes (main checks
    # the exit): the server must not wait for them.
    global LEFT_BLOCKED
    LEFT_BLOCKED = cli_bg(port, "BLPOP", "never", "0")
    time.sleep(0.2)


LEFT_BLOCKED = None

if __name__ == "__main__":
    rc = main(sys.argv)
    if LEFT_BLOCKED is not None:
        LEFT_BLOCKED.kill()
        LEFT_BLOCKED.wait()
    sys.exit(rc)
